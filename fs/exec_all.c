/*
 * `execfs exec --all` (see exec_all.h): the command line of a fan-out, the
 * targets its globs name, and the summary at its end. exec_fanout.c runs
 * the targets.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "exec_all.h"
#include "exec_common.h"
#include "exec_fanout.h"
#include "exec_lines.h"
#include "execfs/ctl.h"

/* The default bound on targets in flight: the 200 containers of a
 * 50-node fleet at once, with room. */
#define MAX_PARALLEL_DEFAULT 256
#define MAX_PARALLEL_MAX 4096
/* Per target: ctl, stdout, stderr; kept free for everything else. */
#define FDS_PER_TARGET 3
#define FDS_SPARE 64

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
	const struct fanout_target *x = a, *y = b;

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
			struct fanout_target *t;

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

/* ---- the summary ---------------------------------------------------------- */

static void sink_printf(struct fanout_sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sink_printf(struct fanout_sink *s, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n > 0)
		fanout_sink_emit(s, text, (size_t)n);
	free(text);
}

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

/* Text mode: the summary on stderr. The exit status: the largest code. */
static int fanout_summary(struct fanout *f)
{
	size_t i, ok = 0;
	int code = 0;

	for (i = 0; i < f->n; i++) {
		if (f->t[i].state == FANOUT_RUNNING)
			code = code > 128 + SIGKILL ? code : 128 + SIGKILL;
		else if (f->t[i].exit_code > code)
			code = f->t[i].exit_code;
		if (f->t[i].state == FANOUT_DONE && f->t[i].ok)
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
		if (f->t[i].state == FANOUT_RUNNING)
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

int exec_all_main(int argc, char **argv)
{
	const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct all_opts o;
	struct fanout f;
	char *words = NULL;
	int rc, sig = 0, leave;

	memset(&o, 0, sizeof(o));
	memset(&f, 0, sizeof(f));
	f.out.fd = STDOUT_FILENO;
	f.err.fd = STDERR_FILENO;
	f.sig_fd = -1;
	if (fanout_init(&f) < 0) {
		fprintf(stderr, "execfs exec --all: %s\n", strerror(errno));
		fanout_release(&f);
		return EXEC_EXIT_EXECFS;
	}

	rc = parse_args(argc, argv, &o);
	if (rc == 1) {
		exec_all_usage(stdout);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	f.fmt = o.fmt;
	f.max_parallel = o.max_parallel;
	rc = EXEC_EXIT_EXECFS;
	words = ctl_quote(o.cmd, (size_t)o.ncmd);
	if (!words || asprintf(&f.ctl_msg, "exec %s\neof\n", words) < 0) {
		f.ctl_msg = NULL;
		fprintf(stderr, "execfs exec --all: out of memory\n");
		goto out;
	}
	f.sig_fd =
		exec_signals_catch(caught, sizeof(caught) / sizeof(caught[0]));
	if (f.sig_fd < 0) {
		fprintf(stderr, "execfs exec --all: %s\n", strerror(-f.sig_fd));
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
	fanout_release(&f);
	return rc;
}
