/*
 * `execfs exec --all` (see exec_all.h): fan-out of one command to every
 * container a set of globs matches.
 *
 * One worker thread per target in flight (at most --max-parallel), each
 * doing what `execfs exec` does with blocking calls on the mount: read
 * C/clone for a session N, write `exec CMD` and `eof` to C/N/ctl in one
 * write (it returns once the process started or failed to), read
 * C/N/stdout while a second thread reads C/N/stderr (both are drained, so
 * a command flooding one never stalls), read C/N/wait, write `forget`. A
 * blocking read of a session file is one FUSE request parked in the mount
 * until bytes come, so 200 targets cost 200 threads asleep in the kernel,
 * not a poll loop re-polling 400 files; the mount answers them from its
 * one event loop, and the agents run the commands in parallel.
 *
 * The main thread starts workers, and waits in poll(2) for two pipes:
 * workers write their index when they end, signal handlers the signal
 * number. The first INT/TERM/HUP/QUIT stops new starts and sends `signal
 * NAME` to every session that started; a second one sends `kill` and
 * leaves within EXIT_GRACE_MS. Each `signal`/`kill` line is written by a
 * short thread of its own that opens C/N/ctl by path (never a worker's
 * fd, which the worker may close meanwhile), so a frozen node delays no
 * other target and never the main thread.
 *
 * Workers run with every signal blocked; only the main thread takes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "exec_all.h"
#include "exec_common.h"
#include "exec_lines.h"
#include "exec_pump.h"
#include "execfs/ctl.h"

/* The default bound on targets in flight: the 200 containers of a
 * 50-node fleet at once, with room. */
#define MAX_PARALLEL_DEFAULT 256
#define MAX_PARALLEL_MAX 4096
/* Per target: ctl, stdout, stderr; kept free for everything else. */
#define FDS_PER_TARGET 3
#define FDS_SPARE 64
/* A read of a session file; the answer comes as soon as bytes arrive. */
#define READ_SIZE (64 * 1024)
/* Workers sleep in the kernel; they need little stack. */
#define WORKER_STACK (256 * 1024)
/* After a second signal: how long the `kill` lines and the workers'
 * `forget` get before the process leaves anyway. */
#define EXIT_GRACE_MS 2000

enum target_state {
	TARGET_QUEUED,
	TARGET_RUNNING, /* its worker runs */
	TARGET_DONE, /* its worker ended and was joined */
};

struct fanout;

struct target {
	struct fanout *f; /* not owned */
	char *dir; /* owned: the container directory as matched */
	char *name; /* owned: node/namespace/pod/container */
	char *ctl_path; /* owned: C/N/ctl once cloned (under f->lock) */
	enum target_state state; /* the main thread's */
	bool started; /* the command started (under f->lock) */
	pthread_t thread;
	/* Set by the worker before it reports its end: */
	int exit_code;
	bool ok; /* exited 0 */
	bool waited; /* result is the `wait` line */
	char result[512]; /* the `wait` line, or what went wrong */
};

struct sink {
	int fd;
	pthread_mutex_t lock;
	atomic_bool broken; /* a write failed: the reader went away */
};

struct fanout {
	enum exec_lines_format fmt;
	unsigned max_parallel;
	char *ctl_msg; /* owned: "exec WORDS\neof\n" */
	struct target *t; /* owned */
	size_t n;
	pthread_mutex_t lock; /* ctl_path, started, sent */
	/* The last `signal`/`kill` line sent to every started target, or
	 * "": a target that starts after it sends it itself (under lock). */
	char sent[48];
	struct sink out, err;
	int done_pipe[2]; /* workers: their index, 4 bytes */
	atomic_int lines_pending; /* `signal`/`kill` threads not finished */
};

static int sig_fd = -1; /* caught signals, a byte each */

/* ---- options ------------------------------------------------------------ */

void exec_all_usage(FILE *f)
{
	fprintf(f,
		"usage: execfs exec --all [--max-parallel N] [--json] GLOB... -- CMD [ARGS...]\n"
		"\n"
		"Fan-out: runs CMD at once in every container directory the GLOBs match (quote\n"
		"them: the shell would expand them one by one), at most N at a time (default\n"
		"%d), with a cloned session each (forgotten when it ended), CMD's stdin\n"
		"closed. Every output line is prefixed with the container's path relative to\n"
		"the mount (NODE/NAMESPACE/POD/CONTAINER, its last four path components), as\n"
		"pdsh does; stdout lines go to stdout, stderr lines to stderr; a last line\n"
		"without a newline gets one. At the end, on stderr: how many targets exited\n"
		"0, and each other target with how it ended.\n"
		"\n"
		"  --all               fan-out (this mode)\n"
		"  --max-parallel N    targets in flight at once (1..%d)\n"
		"  --json              one JSON object per line on stdout, for scripts:\n"
		"                      {\"target\":T,\"stream\":\"stdout\"|\"stderr\",\"data\":LINE}\n"
		"                      (LINE with its newline; bytes that are not UTF-8 come as\n"
		"                      \"data_base64\"), and per target at its end\n"
		"                      {\"target\":T,\"exit\":CODE,\"status\":WAIT-LINE} or\n"
		"                      {\"target\":T,\"exit\":CODE,\"error\":REASON}; no summary\n"
		"\n"
		"A target's code is what `execfs exec` would exit with: CMD's status, 128+N\n"
		"for signal N, 127 program not found, 126 cannot run, 125 execfs's own error\n"
		"(node unreachable, session lost). The exit status is the largest target code\n"
		"(0: all exited 0), as pdsh -S; 2 for bad usage, 125 when nothing matches.\n"
		"The first INT, TERM, HUP or QUIT is sent to every started CMD as `signal` and\n"
		"no more targets start; a second one sends `kill` to each and leaves.\n"
		"\n"
		"  execfs exec --all '/exec/*/prod/*/web' -- uptime\n"
		"  execfs exec --all --json '/exec/*/*/*/*' -- uname -n | jq -r .data\n",
		MAX_PARALLEL_DEFAULT, MAX_PARALLEL_MAX);
}

bool exec_all_wanted(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			return true;
		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-')
			return false;
		if (strcmp(argv[i], "--max-parallel") == 0)
			i++; /* its value */
	}
	return false;
}

struct all_opts {
	enum exec_lines_format fmt;
	unsigned max_parallel;
	char **globs;
	int nglobs;
	char **cmd;
	int ncmd;
};

/* 0, 1 for --help, or EXEC_EXIT_USAGE after a message. */
static int parse_args(int argc, char **argv, struct all_opts *o)
{
	const char *mp = NULL;
	char *end;
	long v;
	int i;

	o->fmt = EXEC_LINES_TEXT;
	o->max_parallel = MAX_PARALLEL_DEFAULT;
	for (i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--");
	     i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		if (strcmp(a, "--all") == 0) {
			continue;
		} else if (strcmp(a, "--json") == 0) {
			o->fmt = EXEC_LINES_JSON;
		} else if (strcmp(a, "--max-parallel") == 0 && i + 1 < argc) {
			mp = argv[++i];
		} else if (strncmp(a, "--max-parallel=", 15) == 0) {
			mp = a + 15;
		} else {
			fprintf(stderr,
				"execfs exec --all: unknown option %s (no -i, -t, -e or --any with --all; try --help)\n",
				a);
			return EXEC_EXIT_USAGE;
		}
	}
	if (mp) {
		errno = 0;
		v = strtol(mp, &end, 10);
		if (errno || *end || end == mp || v < 1 ||
		    v > MAX_PARALLEL_MAX) {
			fprintf(stderr,
				"execfs exec --all: --max-parallel takes 1..%d\n",
				MAX_PARALLEL_MAX);
			return EXEC_EXIT_USAGE;
		}
		o->max_parallel = (unsigned)v;
	}
	o->globs = argv + i;
	for (; i < argc && strcmp(argv[i], "--"); i++)
		o->nglobs++;
	if (o->nglobs == 0 || i + 1 >= argc) {
		fprintf(stderr,
			"execfs exec --all: %s (GLOB... -- CMD; try --help)\n",
			o->nglobs == 0 ? "no GLOB" : "no -- CMD");
		return EXEC_EXIT_USAGE;
	}
	o->cmd = argv + i + 1;
	o->ncmd = argc - i - 1;
	for (i = 0; i < o->ncmd; i++)
		if (strchr(o->cmd[i], '\n')) {
			/* ctl is line based: a newline ends the message. */
			fprintf(stderr,
				"execfs exec --all: an argument contains a newline; use sh -c with $'...' quoting in the container's shell\n");
			return EXEC_EXIT_USAGE;
		}
	return 0;
}

/* ---- targets ------------------------------------------------------------ */

char *exec_all_target_name(const char *dir)
{
	char *path, *p, *out = NULL;
	size_t len;
	int k = 0;

	/* "." or ".." anywhere: let the kernel say where it leads. */
	if (strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0 ||
	    strncmp(dir, "./", 2) == 0 || strncmp(dir, "../", 3) == 0 ||
	    strstr(dir, "/./") || strstr(dir, "/../") ||
	    (strlen(dir) >= 2 && strcmp(dir + strlen(dir) - 2, "/.") == 0) ||
	    (strlen(dir) >= 3 && strcmp(dir + strlen(dir) - 3, "/..") == 0))
		path = realpath(dir, NULL);
	else
		path = strdup(dir);
	if (!path)
		return NULL;
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	/* Back from the end over four components. */
	for (p = path + len; p > path; p--)
		if (p[-1] == '/' && ++k == 4)
			break;
	while (*p == '/')
		p++;
	out = strdup(*p ? p : path);
	free(path);
	return out;
}

static int target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	return strcmp(x->dir, y->dir);
}

/* Every container directory the globs match, sorted, each once. 0, or an
 * exit status after a message. */
static int targets_find(struct fanout *f, const struct all_opts *o)
{
	size_t i, j, cap = 0;
	int g, rc;

	for (g = 0; g < o->nglobs; g++) {
		char **dirs;
		size_t n;

		rc = exec_glob_containers(o->globs[g], &dirs, &n);
		if (rc == -ENOENT) {
			fprintf(stderr,
				"execfs exec --all: %s matches no container directory\n",
				o->globs[g]);
			continue;
		}
		if (rc < 0)
			goto out_nomem;
		if (f->n + n > cap) {
			struct target *t;

			cap = (f->n + n) * 2;
			t = realloc(f->t, cap * sizeof(*t));
			if (!t) {
				exec_strv_free(dirs, n);
				goto out_nomem;
			}
			f->t = t;
		}
		for (i = 0; i < n; i++) {
			memset(&f->t[f->n], 0, sizeof(f->t[f->n]));
			f->t[f->n].f = f;
			f->t[f->n++].dir = dirs[i]; /* moved */
		}
		free(dirs);
	}
	if (f->n == 0) {
		fprintf(stderr, "execfs exec --all: no container to run in\n");
		return EXEC_EXIT_EXECFS;
	}
	qsort(f->t, f->n, sizeof(*f->t), target_cmp);
	for (i = 0, j = 0; i < f->n; i++) {
		if (j > 0 && strcmp(f->t[j - 1].dir, f->t[i].dir) == 0) {
			free(f->t[i].dir);
			continue;
		}
		f->t[j++] = f->t[i];
	}
	f->n = j;
	for (i = 0; i < f->n; i++) {
		f->t[i].name = exec_all_target_name(f->t[i].dir);
		if (!f->t[i].name) {
			fprintf(stderr, "execfs exec --all: %s: %s\n",
				f->t[i].dir, strerror(errno));
			return EXEC_EXIT_EXECFS;
		}
	}
	return 0;

out_nomem:
	fprintf(stderr, "execfs exec --all: out of memory\n");
	return EXEC_EXIT_EXECFS;
}

/* ---- output ------------------------------------------------------------- */

static void sink_emit(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;
	unsigned char b = SIGPIPE;

	if (atomic_load(&s->broken))
		return;
	pthread_mutex_lock(&s->lock);
	/* The reader went away (| head): tell the main thread, as a
	 * SIGPIPE would have. */
	if (exec_write_all(s->fd, buf, len) < 0 &&
	    !atomic_exchange(&s->broken, true))
		exec_signals_post(b);
	pthread_mutex_unlock(&s->lock);
}

static void sink_printf(struct sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sink_printf(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n > 0)
		sink_emit(s, text, (size_t)n);
	free(text);
}

/* ---- a worker ------------------------------------------------------------ */

struct reader {
	int fd;
	struct exec_lines *lines;
	int err; /* errno of a failed read, 0 at end of file */
};

static void reader_run(struct reader *r)
{
	char *buf = malloc(READ_SIZE);
	ssize_t n;

	if (!buf) {
		r->err = ENOMEM;
		return;
	}
	for (;;) {
		n = read(r->fd, buf, READ_SIZE);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->err = errno;
			break;
		}
		if (exec_lines_feed(r->lines, buf, (size_t)n) < 0) {
			r->err = ENOMEM;
			break;
		}
	}
	if (exec_lines_end(r->lines) < 0 && !r->err)
		r->err = ENOMEM;
	free(buf);
}

static void *reader_main(void *arg)
{
	reader_run(arg);
	return NULL;
}

/* A session directory's path fits in PATH_MAX; one of its files' paths
 * in LEAF_PATH. */
#define LEAF_PATH (PATH_MAX + 16)

static void leaf_path(char *out, const char *sdir, const char *leaf)
{
	snprintf(out, LEAF_PATH, "%.*s/%s", PATH_MAX - 1, sdir, leaf);
}

static void target_fail(struct target *t, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void target_fail(struct target *t, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->result, sizeof(t->result), fmt, ap);
	va_end(ap);
	t->exit_code = code;
}

/* Why the start failed, from N/ctl's error line, into t->result. */
static void start_failed(struct target *t, const char *sdir, int err)
{
	char path[LEAF_PATH], text[1024], *e;

	leaf_path(path, sdir, "ctl");
	if (exec_read_text(path, text, sizeof(text)) > 0 &&
	    (e = strstr(text, "error: "))) {
		e[strcspn(e, "\n")] = '\0';
		target_fail(t, exec_start_exit(-err), "failed to start: %s",
			    e + 7);
	} else {
		target_fail(t, exec_start_exit(-err), "failed to start: %s",
			    strerror(err));
	}
}

/* N/ctl's error line names `eof`: the exec before it went through. */
static bool start_went_through(const char *sdir)
{
	char path[LEAF_PATH], text[1024];

	leaf_path(path, sdir, "ctl");
	return exec_read_text(path, text, sizeof(text)) > 0 &&
	       strstr(text, "error: eof");
}

/* Both outputs, then wait. The session has started; ctl is open. */
static void target_collect(struct target *t, const char *sdir)
{
	struct fanout *f = t->f;
	struct reader out = { .fd = -1 }, err = { .fd = -1 };
	char path[LEAF_PATH], line[512];
	pthread_attr_t attr;
	pthread_t th;
	bool joined = true, ended;
	ssize_t n;

	out.lines =
		exec_lines_new(f->fmt, t->name, "stdout", sink_emit, &f->out);
	err.lines =
		exec_lines_new(f->fmt, t->name, "stderr", sink_emit,
			       f->fmt == EXEC_LINES_JSON ? &f->out : &f->err);
	if (!out.lines || !err.lines) {
		target_fail(t, EXEC_EXIT_EXECFS, "out of memory");
		goto out;
	}
	leaf_path(path, sdir, "stdout");
	out.fd = open(path, O_RDONLY | O_CLOEXEC);
	leaf_path(path, sdir, "stderr");
	err.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (out.fd < 0 || err.fd < 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	/* The new thread inherits this thread's mask: every signal blocked. */
	if (pthread_create(&th, &attr, reader_main, &err) == 0)
		joined = false;
	pthread_attr_destroy(&attr);
	reader_run(&out);
	if (joined)
		reader_run(&err); /* no thread: after stdout, here */
	else
		pthread_join(th, NULL);
	if (out.err || err.err) {
		target_fail(t, EXEC_EXIT_EXECFS, "reading %s: %s",
			    out.err ? "stdout" : "stderr",
			    strerror(out.err ? out.err : err.err));
		goto out;
	}
	leaf_path(path, sdir, "wait");
	n = exec_read_text(path, line, sizeof(line));
	if (n <= 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "wait: %s",
			    n < 0 ? strerror((int)-n) : "empty");
		goto out;
	}
	line[strcspn(line, "\n")] = '\0';
	t->exit_code = exec_status_exit(line, &ended);
	t->ok = ended && t->exit_code == 0;
	t->waited = true;
	snprintf(t->result, sizeof(t->result), "%s", line);
out:
	if (out.fd >= 0)
		close(out.fd);
	if (err.fd >= 0)
		close(err.fd);
	exec_lines_free(out.lines);
	exec_lines_free(err.lines);
}

static void target_run(struct target *t)
{
	struct fanout *f = t->f;
	char path[PATH_MAX], num[32], *ctl_path;
	size_t len = strlen(f->ctl_msg);
	ssize_t n;
	int ctl;

	snprintf(path, sizeof(path), "%s/clone", t->dir);
	n = exec_read_text(path, num, sizeof(num));
	if (n <= 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "clone: %s",
			    n < 0 ? strerror((int)-n) : "empty");
		return;
	}
	num[strcspn(num, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/%s", t->dir, num);
	if (asprintf(&ctl_path, "%s/ctl", path) < 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "out of memory");
		return;
	}
	pthread_mutex_lock(&f->lock);
	t->ctl_path = ctl_path; /* owned by t */
	pthread_mutex_unlock(&f->lock);
	ctl = open(ctl_path, O_WRONLY | O_CLOEXEC);
	if (ctl < 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "%s: %s", ctl_path,
			    strerror(errno));
		return;
	}
	/* Returns once the process started (or failed to), and its stdin
	 * was closed. */
	if (write(ctl, f->ctl_msg, len) != (ssize_t)len &&
	    !start_went_through(path)) {
		start_failed(t, path, errno);
	} else {
		char late[sizeof(f->sent)];

		/* A signal broadcast while the start was on its way did
		 * not see this target started: send it now. */
		pthread_mutex_lock(&f->lock);
		t->started = true;
		memcpy(late, f->sent, sizeof(late));
		pthread_mutex_unlock(&f->lock);
		if (late[0] && write(ctl, late, strlen(late)) < 0) {
			/* it ended already */
		}
		target_collect(t, path);
	}
	if (write(ctl, "forget\n", 7) < 0) {
		/* still running (we leave early), or lost: nothing to do */
	}
	close(ctl);
}

static void *target_main(void *arg)
{
	struct target *t = arg;
	uint32_t idx = (uint32_t)(t - t->f->t);

	target_run(t);
	while (write(t->f->done_pipe[1], &idx, sizeof(idx)) < 0 &&
	       errno == EINTR)
		;
	return NULL;
}

/* ---- signal and kill lines ---------------------------------------------- */

struct ctl_line {
	struct fanout *f;
	char *path; /* owned */
	char line[48];
};

static void *ctl_line_main(void *arg)
{
	struct ctl_line *c = arg;
	int fd = open(c->path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, c->line, strlen(c->line)) < 0) {
			/* it ended meanwhile */
		}
		close(fd);
	}
	atomic_fetch_sub(&c->f->lines_pending, 1);
	free(c->path);
	free(c);
	return NULL;
}

/* Write `line` to the ctl of every session that started and whose worker
 * has not ended, each from a detached thread; sessions starting later
 * send it themselves (f->sent). */
static void broadcast(struct fanout *f, const char *line)
{
	pthread_attr_t attr;
	pthread_t th;
	size_t i;

	pthread_mutex_lock(&f->lock);
	snprintf(f->sent, sizeof(f->sent), "%s", line);
	pthread_mutex_unlock(&f->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (i = 0; i < f->n; i++) {
		struct target *t = &f->t[i];
		struct ctl_line *c;

		if (t->state != TARGET_RUNNING)
			continue;
		pthread_mutex_lock(&f->lock);
		c = t->started ? calloc(1, sizeof(*c)) : NULL;
		if (c) {
			c->f = f;
			c->path = strdup(t->ctl_path);
		}
		pthread_mutex_unlock(&f->lock);
		if (!c)
			continue;
		snprintf(c->line, sizeof(c->line), "%s", line);
		atomic_fetch_add(&f->lines_pending, 1);
		if (!c->path || pthread_create(&th, &attr, ctl_line_main, c)) {
			atomic_fetch_sub(&f->lines_pending, 1);
			free(c->path);
			free(c);
		}
	}
	pthread_attr_destroy(&attr);
}

/* ---- the main loop ------------------------------------------------------ */

/* Room for the fds of every target in flight: raise the soft limit to the
 * hard one, and bound the parallelism by what it allows. */
static void fds_fit(struct fanout *f)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)f->max_parallel * FDS_PER_TARGET + FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want) {
		rlim_t fit =
			rl.rlim_cur > FDS_SPARE + FDS_PER_TARGET ?
				(rl.rlim_cur - FDS_SPARE) / FDS_PER_TARGET :
				1;

		if (fit < f->max_parallel)
			f->max_parallel = (unsigned)fit;
	}
}

static bool target_start(struct target *t)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, &attr, target_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		target_fail(t, EXEC_EXIT_EXECFS, "cannot start a thread: %s",
			    strerror(rc));
		t->state = TARGET_DONE;
		return false;
	}
	t->state = TARGET_RUNNING;
	return true;
}

/* With --json, say how a target ended. */
static void target_report(struct fanout *f, struct target *t)
{
	char *rec;

	if (f->fmt != EXEC_LINES_JSON)
		return;
	rec = exec_lines_json_end(t->name, t->exit_code,
				  t->waited ? t->result : NULL,
				  t->waited ? NULL : t->result);
	if (rec)
		sink_emit(&f->out, rec, strlen(rec));
	free(rec);
}

/* A worker ended: join it, and report its target. */
static void target_reap(struct fanout *f, struct target *t)
{
	pthread_join(t->thread, NULL);
	t->state = TARGET_DONE;
	target_report(f, t);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run every target. Returns 0 when all ended, or 128+SIG after a second
 * signal (targets still running then are told `kill`). *first_sig gets
 * the first signal seen (or 0).
 */
static int fanout_run(struct fanout *f, int *first_sig)
{
	size_t next = 0, running = 0, i;
	long long deadline = -1;
	int signals = 0, leave = 0;

	*first_sig = 0;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = f->done_pipe[0], .events = POLLIN },
		};
		int timeout = -1;

		while (!signals && running < f->max_parallel && next < f->n) {
			struct target *t = &f->t[next++];

			if (target_start(t))
				running++;
			else
				target_report(f, t);
		}
		if (running == 0 && (signals || next == f->n))
			break;
		if (deadline >= 0) {
			timeout = (int)(deadline - now_ms());
			if (timeout <= 0)
				break;
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			unsigned char s;

			while (read(sig_fd, &s, 1) == 1 && !leave) {
				const char *name = ctl_signal_name(s);
				char line[48];

				if (++signals == 1) {
					*first_sig = s;
					snprintf(line, sizeof(line),
						 "signal %s\n",
						 name ? name : "TERM");
					broadcast(f, line);
					continue;
				}
				if (s == SIGPIPE)
					continue; /* not a user's second */
				fprintf(stderr,
					"execfs exec --all: second signal: killing every target and leaving\n");
				broadcast(f, "kill\n");
				deadline = now_ms() + EXIT_GRACE_MS;
				leave = 128 + s;
			}
		}
		if (p[1].revents & POLLIN) {
			uint32_t idx;

			while (read(f->done_pipe[0], &idx, sizeof(idx)) ==
			       sizeof(idx)) {
				if (idx >= f->n)
					continue;
				target_reap(f, &f->t[idx]);
				running--;
			}
		}
	}
	if (leave) {
		/* Give the `kill` lines what is left of the grace. */
		while (atomic_load(&f->lines_pending) > 0 &&
		       now_ms() < deadline)
			poll(NULL, 0, 10);
	}
	for (i = 0; i < f->n; i++) {
		if (f->t[i].state != TARGET_QUEUED)
			continue;
		target_fail(&f->t[i], EXEC_EXIT_EXECFS,
			    "not started: interrupted");
		/* --json: every target gets its end record. */
		f->t[i].state = TARGET_DONE;
		target_report(f, &f->t[i]);
	}
	return leave;
}

/* Text mode: the summary on stderr. The exit status: the largest code. */
static int fanout_summary(struct fanout *f)
{
	size_t i, ok = 0;
	int code = 0;

	for (i = 0; i < f->n; i++) {
		if (f->t[i].state == TARGET_RUNNING)
			code = code > 128 + SIGKILL ? code : 128 + SIGKILL;
		else if (f->t[i].exit_code > code)
			code = f->t[i].exit_code;
		if (f->t[i].state == TARGET_DONE && f->t[i].ok)
			ok++;
	}
	if (f->fmt == EXEC_LINES_JSON)
		return code;
	sink_printf(&f->err, "execfs exec --all: %zu target%s: %zu exited 0",
		    f->n, f->n == 1 ? "" : "s", ok);
	if (ok < f->n)
		sink_printf(&f->err, ", %zu did not:", f->n - ok);
	sink_printf(&f->err, "\n");
	for (i = 0; i < f->n; i++) {
		char name[PATH_MAX];

		exec_lines_safe_name(f->t[i].name, name, sizeof(name));
		/* A worker still running (we leave after a second signal)
		 * owns its result: not read here. */
		if (f->t[i].state == TARGET_RUNNING)
			sink_printf(
				&f->err,
				"  %s: still running when execfs left: sent kill\n",
				name);
		else if (!f->t[i].ok)
			sink_printf(&f->err, "  %s: %s (%d)\n", name,
				    f->t[i].result, f->t[i].exit_code);
	}
	return code;
}

static void fanout_free(struct fanout *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->t[i].dir);
		free(f->t[i].name);
		free(f->t[i].ctl_path);
	}
	free(f->t);
	free(f->ctl_msg);
}

int exec_all_main(int argc, char **argv)
{
	const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct all_opts o;
	struct fanout f;
	char *words = NULL;
	int rc, sig = 0, leave;

	memset(&o, 0, sizeof(o));
	memset(&f, 0, sizeof(f));
	f.done_pipe[0] = f.done_pipe[1] = -1;
	pthread_mutex_init(&f.lock, NULL);
	f.out = (struct sink){ .fd = STDOUT_FILENO };
	f.err = (struct sink){ .fd = STDERR_FILENO };
	pthread_mutex_init(&f.out.lock, NULL);
	pthread_mutex_init(&f.err.lock, NULL);

	rc = parse_args(argc, argv, &o);
	if (rc == 1) {
		exec_all_usage(stdout);
		return 0;
	}
	if (rc)
		return rc;
	f.fmt = o.fmt;
	f.max_parallel = o.max_parallel;
	rc = EXEC_EXIT_EXECFS;
	words = ctl_quote(o.cmd, (size_t)o.ncmd);
	if (!words || asprintf(&f.ctl_msg, "exec %s\neof\n", words) < 0) {
		f.ctl_msg = NULL;
		fprintf(stderr, "execfs exec --all: out of memory\n");
		goto out;
	}
	sig_fd = exec_signals_catch(caught, sizeof(caught) / sizeof(caught[0]));
	if (sig_fd < 0 || pipe2(f.done_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "execfs exec --all: %s\n", strerror(errno));
		goto out;
	}
	rc = targets_find(&f, &o);
	if (rc)
		goto out;
	fds_fit(&f);
	leave = fanout_run(&f, &sig);
	rc = fanout_summary(&f);
	if (leave) {
		/* Workers may still hold the sinks' locks: leave now. */
		fflush(stderr);
		_exit(leave);
	}
	if (atomic_load(&f.out.broken) && rc < 128 + SIGPIPE)
		rc = 128 + SIGPIPE;
out:
	free(words);
	fanout_free(&f);
	return rc;
}
