/*
 * The engine of `execfs exec --all` (see exec_fanout.h).
 *
 * One worker thread per target in flight (at most max_parallel), each
 * doing what `execfs exec` does with blocking calls on the mount: read
 * C/clone for a session N, write `exec CMD` and `eof` to C/N/ctl in one
 * write (it returns once the process started or failed to), read
 * C/N/stdout while a second thread reads C/N/stderr (both are drained, so
 * a command flooding one never stalls), take the end from C/N/ctl (or
 * C/N/wait), write `forget`. A blocking read of a session file is one
 * FUSE request parked in the mount until bytes come, so 200 targets cost
 * 200 threads asleep in the kernel, not a poll loop re-polling 400 files;
 * the mount answers them from its one event loop, and the agents run the
 * commands in parallel.
 *
 * Every FUSE request costs this process a blocked system call and the
 * mount a read, a reply and two context switches, so a target asks for
 * few: files are opened relative to C and C/N held open with O_PATH (a
 * path from the root would look every directory above up again once the
 * kernel's entries expired, as they do in a fan-out longer than a
 * second); ctl is opened for reading too, so its line gives the end
 * status when the session ended by the time both outputs did (as it
 * usually has), and `wait` is opened only when it has not.
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
#include "exec_fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec_common.h"
#include "exec_pump.h"
#include "execfs/ctl.h"

/* A read of a session file; the answer comes as soon as bytes arrive.
 * Reads start at READ_MIN and double after full answers: a read of the
 * mount pins (and so faults in) every page it asks for (direct I/O), which
 * the empty or short outputs of most fan-outs should not pay 64 KiB for. */
#define READ_SIZE (64 * 1024)
#define READ_MIN (4 * 1024)
/* Workers sleep in the kernel; they need little stack (their buffers are
 * on the heap), and small stacks stay in glibc's cache of stacks. */
#define WORKER_STACK (64 * 1024)
/* After a second signal: how long the `kill` lines and the workers'
 * `forget` get before the process leaves anyway. */
#define EXIT_GRACE_MS 2000

/* ---- output ------------------------------------------------------------- */

void fanout_sink_emit(void *arg, const char *buf, size_t len)
{
	struct fanout_sink *s = arg;
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

/* ---- a worker ------------------------------------------------------------ */

struct reader {
	int fd;
	struct exec_lines *lines;
	int err; /* errno of a failed read, 0 at end of file */
};

static void reader_run(struct reader *r)
{
	char *buf = malloc(READ_SIZE);
	size_t want = READ_MIN;
	ssize_t n;

	if (!buf) {
		r->err = ENOMEM;
		return;
	}
	for (;;) {
		n = read(r->fd, buf, want);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->err = errno;
			break;
		}
		if ((size_t)n == want && want < READ_SIZE)
			want *= 2;
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

static void target_fail(struct fanout_target *t, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void target_fail(struct fanout_target *t, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->result, sizeof(t->result), fmt, ap);
	va_end(ap);
	t->exit_code = code;
}

/* What reading ctl (open for reading too) gives now, NUL-ended: the byte
 * count or -errno. */
static ssize_t ctl_text(int ctl, char *buf, size_t len)
{
	ssize_t n;

	do
		n = pread(ctl, buf, len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* Why the start failed, from ctl's error line, into t->result. */
static void start_failed(struct fanout_target *t, int ctl, int err)
{
	char text[1024], *e;

	if (ctl_text(ctl, text, sizeof(text)) > 0 &&
	    (e = strstr(text, "error: "))) {
		e[strcspn(e, "\n")] = '\0';
		target_fail(t, exec_start_exit(-err), "failed to start: %s",
			    e + 7);
	} else {
		target_fail(t, exec_start_exit(-err), "failed to start: %s",
			    strerror(err));
	}
}

/* ctl's error line names `eof`: the exec before it went through. */
static bool start_went_through(int ctl)
{
	char text[1024];

	return ctl_text(ctl, text, sizeof(text)) > 0 &&
	       strstr(text, "error: eof");
}

/* The end status from ctl's first line (`N SID LINE`) into line, if the
 * session has ended: true; false while it runs (or ctl cannot be read). */
static bool ctl_ended(int ctl, char *line, size_t len)
{
	char text[1024], *p;
	bool ended;

	if (ctl_text(ctl, text, sizeof(text)) <= 0)
		return false;
	text[strcspn(text, "\n")] = '\0';
	p = strchr(text, ' ');
	p = p ? strchr(p + 1, ' ') : NULL;
	if (!p)
		return false;
	exec_status_exit(p + 1, &ended);
	if (ended)
		snprintf(line, len, "%s", p + 1);
	return ended;
}

/* Both outputs, then the end. The session has started; sdir is C/N
 * (O_PATH), ctl its ctl, open for reading and writing. */
static void target_collect(struct fanout_target *t, int sdir, int ctl)
{
	struct fanout *f = t->f;
	struct reader out = { .fd = -1 }, err = { .fd = -1 };
	char line[512];
	pthread_attr_t attr;
	pthread_t th;
	bool joined = true, ended;
	ssize_t n;

	out.lines = exec_lines_new(f->fmt, t->name, "stdout", fanout_sink_emit,
				   &f->out);
	err.lines =
		exec_lines_new(f->fmt, t->name, "stderr", fanout_sink_emit,
			       f->fmt == EXEC_LINES_JSON ? &f->out : &f->err);
	if (!out.lines || !err.lines) {
		target_fail(t, EXEC_EXIT_EXECFS, "out of memory");
		goto out;
	}
	out.fd = openat(sdir, "stdout", O_RDONLY | O_CLOEXEC);
	if (out.fd >= 0)
		err.fd = openat(sdir, "stderr", O_RDONLY | O_CLOEXEC);
	if (out.fd < 0 || err.fd < 0) {
		/* C/N/ctl without its "ctl" is C/N/. */
		target_fail(t, EXEC_EXIT_EXECFS, "%.*s%s: %s",
			    (int)strlen(t->ctl_path) - 3, t->ctl_path,
			    out.fd < 0 ? "stdout" : "stderr", strerror(errno));
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
	/* Both outputs ended: so has the session, mostly; wait only if not. */
	if (!ctl_ended(ctl, line, sizeof(line))) {
		n = exec_read_text_at(sdir, "wait", line, sizeof(line));
		if (n <= 0) {
			target_fail(t, EXEC_EXIT_EXECFS, "wait: %s",
				    n < 0 ? strerror((int)-n) : "empty");
			goto out;
		}
		line[strcspn(line, "\n")] = '\0';
	}
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

static void target_run(struct fanout_target *t)
{
	struct fanout *f = t->f;
	char num[32], *ctl_path;
	size_t len = strlen(f->ctl_msg);
	int cdir, sdir = -1, ctl = -1;
	ssize_t n;

	cdir = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cdir < 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "%s: %s", t->dir,
			    strerror(errno));
		return;
	}
	n = exec_read_text_at(cdir, "clone", num, sizeof(num));
	if (n <= 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "clone: %s",
			    n < 0 ? strerror((int)-n) : "empty");
		goto out;
	}
	num[strcspn(num, "\n")] = '\0';
	if (asprintf(&ctl_path, "%s/%s/ctl", t->dir, num) < 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	t->ctl_path = ctl_path; /* owned by t */
	pthread_mutex_unlock(&f->lock);
	sdir = openat(cdir, num, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Read too: the error line of a failed start, the end status. */
	ctl = sdir < 0 ? -1 : openat(sdir, "ctl", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		target_fail(t, EXEC_EXIT_EXECFS, "%s: %s", ctl_path,
			    strerror(errno));
		goto out;
	}
	/* Returns once the process started (or failed to), and its stdin
	 * was closed. */
	if (write(ctl, f->ctl_msg, len) != (ssize_t)len &&
	    !start_went_through(ctl)) {
		start_failed(t, ctl, errno);
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
		target_collect(t, sdir, ctl);
	}
	if (write(ctl, "forget\n", 7) < 0) {
		/* still running (we leave early), or lost: nothing to do */
	}
out:
	if (ctl >= 0)
		close(ctl);
	if (sdir >= 0)
		close(sdir);
	close(cdir);
}

static void *target_main(void *arg)
{
	struct fanout_target *t = arg;
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
		struct fanout_target *t = &f->t[i];
		struct ctl_line *c;

		if (t->state != FANOUT_RUNNING)
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

static bool target_start(struct fanout_target *t)
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
		t->state = FANOUT_DONE;
		return false;
	}
	t->state = FANOUT_RUNNING;
	return true;
}

/* With --json, say how a target ended. */
static void target_report(struct fanout *f, struct fanout_target *t)
{
	char *rec;

	if (f->fmt != EXEC_LINES_JSON)
		return;
	rec = exec_lines_json_end(t->name, t->exit_code,
				  t->waited ? t->result : NULL,
				  t->waited ? NULL : t->result);
	if (rec)
		fanout_sink_emit(&f->out, rec, strlen(rec));
	free(rec);
}

/* A worker ended: join it, and report its target. */
static void target_reap(struct fanout *f, struct fanout_target *t)
{
	pthread_join(t->thread, NULL);
	t->state = FANOUT_DONE;
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
int fanout_run(struct fanout *f, int *first_sig)
{
	size_t next = 0, running = 0, i;
	long long deadline = -1;
	int signals = 0, leave = 0;

	*first_sig = 0;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = f->sig_fd, .events = POLLIN },
			{ .fd = f->done_pipe[0], .events = POLLIN },
		};
		int timeout = -1;

		while (!signals && running < f->max_parallel && next < f->n) {
			struct fanout_target *t = &f->t[next++];

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

			while (read(f->sig_fd, &s, 1) == 1 && !leave) {
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
		if (f->t[i].state != FANOUT_QUEUED)
			continue;
		target_fail(&f->t[i], EXEC_EXIT_EXECFS,
			    "not started: interrupted");
		/* --json: every target gets its end record. */
		f->t[i].state = FANOUT_DONE;
		target_report(f, &f->t[i]);
	}
	return leave;
}

/* Text mode: the summary on stderr. The exit status: the largest code. */
int fanout_init(struct fanout *f)
{
	f->done_pipe[0] = f->done_pipe[1] = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->out.lock, NULL);
	pthread_mutex_init(&f->err.lock, NULL);
	if (pipe2(f->done_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

void fanout_release(struct fanout *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->t[i].dir);
		free(f->t[i].name);
		free(f->t[i].ctl_path);
	}
	free(f->t);
	free(f->ctl_msg);
	if (f->done_pipe[0] >= 0)
		close(f->done_pipe[0]);
	if (f->done_pipe[1] >= 0)
		close(f->done_pipe[1]);
}
