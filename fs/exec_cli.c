/*
 * `execfs exec [-i] [-t] [-e CHAR|none] [--any] DIR -- CMD [ARGS...]`
 * (see exec_cli.h and `execfs exec --help`). It proves the files suffice:
 * it reads DIR/clone for a session N, writes `tty`/`env TERM=`/`exec` lines
 * to N/ctl (the write returns once the process started, or fails with its
 * errno), then copies N/stdout and N/stderr out with a blocking reader
 * thread each (exec_pump.h says why), and with one poll(2) loop pumps
 * local stdin into N/stdin, forwards SIGWINCH as `resize` and signals as
 * `signal`, and leaves with the status N/wait reports.
 *
 * The local terminal is put in raw mode only with a remote tty and a local
 * terminal on stdin; it is restored on every way out: normal exit and
 * exit() through atexit, caught signals through the loop, fatal signals
 * through a handler that restores and re-raises.
 */
#include "exec_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "exec_all.h"
#include "exec_common.h"
#include "exec_escape.h"
#include "exec_pump.h"
#include "execfs/ctl.h"

#define EXIT_USAGE EXEC_EXIT_USAGE
#define EXIT_EXECFS EXEC_EXIT_EXECFS
#define EXIT_ESCAPE 255 /* ~. closed the session, as ssh */

#define BUF_SIZE (64 * 1024)

enum tri { TRI_DEFAULT = -1, TRI_OFF = 0, TRI_ON = 1 };

struct exec_opts {
	enum tri interactive;
	enum tri tty;
	int escape; /* a byte, or -1: none */
	bool any;
	const char *dir;
	char **cmd;
	int ncmd;
};

/* ---- the local terminal ------------------------------------------------- */

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;
static int sig_fd = -1; /* caught signals, a byte each */

static void tty_restore(void)
{
	if (tio_saved) {
		/* async-signal-safe: also called from fatal signal handlers */
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
		tio_saved = 0;
	}
}

static void on_fatal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int tty_raw(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	raw = saved_tio;
	cfmakeraw(&raw);
	tio_saved = 1;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0) {
		tio_saved = 0;
		return -errno;
	}
	return 0;
}

/* The local window size, from whichever of stdin/stdout is a terminal. */
static bool local_size(unsigned *cols, unsigned *rows)
{
	struct winsize ws;

	if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
	     ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) &&
	    ws.ws_col > 0 && ws.ws_row > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
		return true;
	}
	return false;
}

static int signals_setup(void)
{
	const int caught[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct sigaction sa;
	size_t i;

	/* A blocked read of a session file returns EINTR (FUSE interrupts
	 * it) and the loop looks at the signal. */
	sig_fd = exec_signals_catch(caught, sizeof(caught) / sizeof(caught[0]));
	if (sig_fd < 0)
		return sig_fd;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	atexit(tty_restore);
	return 0;
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: execfs exec [-i|-i=false] [-t|-t=false] [-e CHAR|none] [--any] DIR [--] CMD [ARGS...]\n"
		"\n"
		"Runs CMD in the container whose execfs directory is DIR, using only its files\n"
		"(clone, N/ctl, N/stdin, N/stdout, N/stderr, N/wait), and exits with CMD's\n"
		"status (128+N when a signal N ended it). CMD's words reach the container as\n"
		"they are: nothing is expanded there, so use `sh -c '...'` for a shell.\n"
		"\n"
		"  -i, --interactive   stream local stdin to CMD (default on; -i=false or\n"
		"                      --no-stdin: CMD's stdin is closed at once)\n"
		"  -t, --tty           allocate a terminal for CMD, sized as the local one, and\n"
		"                      put the local terminal in raw mode (default: on when\n"
		"                      local stdin is a terminal; -t=false or --no-tty: off)\n"
		"  -e CHAR|none        escape character with a terminal (default ~): at the start\n"
		"                      of a line, ~. closes the session (status 255), ~~ sends\n"
		"                      one ~; `none` makes the session fully transparent\n"
		"  --any               DIR is a glob matching several containers: pick one at\n"
		"                      random (without it, DIR must match exactly one)\n"
		"  -h, --help          this text\n"
		"\n"
		"The four modes (DC/OS task exec's; -i is on unless turned off):\n"
		"  execfs exec -i=false -t=false DIR -- CMD   output only: stdout and stderr\n"
		"                      come back separately, as raw bytes; CMD's stdin is closed\n"
		"  execfs exec -t=false DIR -- CMD   (-i) also streams local stdin, raw bytes:\n"
		"                      pipes and heredocs; the default when stdin is not a tty\n"
		"  execfs exec -i=false -t DIR -- CMD   a remote terminal, local raw mode,\n"
		"                      output only: watch top, keys are not sent\n"
		"  execfs exec -it DIR -- CMD   a remote terminal with your keys (vim, a\n"
		"                      shell); the default when stdin is a terminal\n"
		"\n"
		"Signals: SIGWINCH becomes `resize`; INT, TERM, HUP and QUIT are sent to CMD\n"
		"as `signal`, and a second one ends execfs exec at once (CMD keeps running).\n"
		"\n"
		"Examples:\n"
		"  execfs exec /exec/n1/default/web-1/nginx -- cat /etc/resolv.conf\n"
		"  execfs exec -it /exec/n1/default/web-1/nginx -- /bin/sh\n"
		"  execfs exec --any '/exec/*/prod/api-*/app' -- /bin/sh -c 'echo $HOSTNAME'\n"
		"  # a script through stdin, expanded in the container, not here:\n"
		"  execfs exec /exec/n1/default/web-1/nginx -- /bin/sh <<'EOF'\n"
		"  echo $HOSTNAME\n"
		"  EOF\n");
}

static int parse_bool_opt(const char *arg, const char *name, enum tri *out)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return 0;
	if (arg[n] == '\0' || strcmp(arg + n, "=true") == 0) {
		*out = TRI_ON;
		return 1;
	}
	if (strcmp(arg + n, "=false") == 0) {
		*out = TRI_OFF;
		return 1;
	}
	return 0;
}

static int parse_escape(const char *v, int *out)
{
	if (strcmp(v, "none") == 0) {
		*out = -1;
		return 0;
	}
	if (strlen(v) != 1)
		return -EINVAL;
	*out = (unsigned char)v[0];
	return 0;
}

/* 0, or EXIT_USAGE with a message; 1 for --help. */
static int parse_args(int argc, char **argv, struct exec_opts *o)
{
	int i;

	o->interactive = TRI_DEFAULT;
	o->tty = TRI_DEFAULT;
	o->escape = '~';
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		if (parse_bool_opt(a, "-i", &o->interactive) ||
		    parse_bool_opt(a, "--interactive", &o->interactive) ||
		    parse_bool_opt(a, "-t", &o->tty) ||
		    parse_bool_opt(a, "--tty", &o->tty))
			continue;
		if (strcmp(a, "--no-stdin") == 0) {
			o->interactive = TRI_OFF;
		} else if (strcmp(a, "--no-tty") == 0) {
			o->tty = TRI_OFF;
		} else if (strcmp(a, "-it") == 0 || strcmp(a, "-ti") == 0) {
			o->interactive = TRI_ON;
			o->tty = TRI_ON;
		} else if (strcmp(a, "--any") == 0) {
			o->any = true;
		} else if (strcmp(a, "-e") == 0 || strcmp(a, "--escape") == 0) {
			if (i + 1 >= argc ||
			    parse_escape(argv[++i], &o->escape) < 0)
				goto out_escape;
		} else if (strncmp(a, "-e=", 3) == 0 ||
			   strncmp(a, "--escape=", 9) == 0) {
			if (parse_escape(strchr(a, '=') + 1, &o->escape) < 0)
				goto out_escape;
		} else if (strcmp(a, "--") == 0) {
			fprintf(stderr, "execfs exec: no DIR before --\n");
			return EXIT_USAGE;
		} else if (a[0] == '-') {
			fprintf(stderr,
				"execfs exec: unknown option %s (try --help)\n",
				a);
			return EXIT_USAGE;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "execfs exec: no DIR (try --help)\n");
		return EXIT_USAGE;
	}
	o->dir = argv[i++];
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fprintf(stderr, "execfs exec: no command (try --help)\n");
		return EXIT_USAGE;
	}
	o->cmd = argv + i;
	o->ncmd = argc - i;
	for (; i < argc; i++)
		if (strchr(argv[i], '\n')) {
			/* ctl is line based: a newline ends the message. */
			fprintf(stderr,
				"execfs exec: an argument contains a newline; pass a script on stdin instead\n");
			return EXIT_USAGE;
		}
	return 0;

out_escape:
	fprintf(stderr, "execfs exec: -e takes one character or `none`\n");
	return EXIT_USAGE;
}

/* ---- the container directory -------------------------------------------- */

/* The one directory DIR names (a glob allowed), malloc'd; NULL after a
 * message. */
static char *resolve_dir(const char *dir, bool any)
{
	char **match = NULL;
	size_t n = 0, i;
	uint32_t r;
	char *out = NULL;
	int rc;

	rc = exec_glob_containers(dir, &match, &n);
	if (rc == -ENOENT && !strpbrk(dir, "*?[")) {
		fprintf(stderr,
			"execfs exec: %s: not a container directory of an execfs mount (no clone file)\n",
			dir);
	} else if (rc == -ENOENT) {
		fprintf(stderr,
			"execfs exec: %s matches no container directory\n",
			dir);
	} else if (rc < 0) {
		fprintf(stderr, "execfs exec: %s: %s\n", dir, strerror(-rc));
	} else if (n > 1 && !any) {
		fprintf(stderr,
			"execfs exec: %s matches %zu containers (use --any to pick one at random, --all for every one):\n",
			dir, n);
		for (i = 0; i < n && i < 10; i++)
			fprintf(stderr, "  %s\n", match[i]);
		if (n > 10)
			fprintf(stderr, "  ...\n");
	} else {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)getpid();
		out = strdup(match[r % n]);
	}
	exec_strv_free(match, n);
	return out;
}

/* ---- small I/O helpers -------------------------------------------------- */

/* Write one ctl line, ignoring a failure (resize, signal, eof: best
 * effort; the session may have ended meanwhile). */
static void ctl_line(int ctl, const char *line)
{
	if (write(ctl, line, strlen(line)) < 0) {
		/* nothing left to steer */
	}
}

/* `signal NAME` for a local signal number. */
static void ctl_signal(int ctl, int sig)
{
	char line[48];
	const char *name = ctl_signal_name(sig);

	if (name)
		snprintf(line, sizeof(line), "signal %s\n", name);
	else
		snprintf(line, sizeof(line), "signal %d\n", sig);
	ctl_line(ctl, line);
}

/* ---- the session -------------------------------------------------------- */

struct run {
	const struct exec_opts *o;
	bool tty;
	bool interactive;
	int ctl; /* N/ctl, O_WRONLY */
	int in; /* N/stdin, or -1 */
	int out, err; /* N/stdout, N/stderr (-1 under a tty, or at EOF) */
	int wait; /* N/wait, opened once the outputs ended */
	struct exec_pump *pump[2]; /* copying out and err; NULL once ended */
	int pump_done[2]; /* pipe: each pump writes its index when it ends */
	bool local_eof; /* local stdin ended */
	struct exec_escape esc; /* with a tty; the byte is -1 without */
	char inbuf[BUF_SIZE]; /* local stdin bytes not yet in N/stdin */
	size_t inlen;
	int signals; /* INT/TERM/HUP/QUIT seen */
};

/* Exit status from a `wait` line. */
static int status_to_exit(const char *line)
{
	bool ended;
	int rc = exec_status_exit(line, &ended);

	if (!ended && strncmp(line, "failed", 6) == 0)
		fprintf(stderr, "execfs exec: %s", line);
	else if (!ended)
		fprintf(stderr, "execfs exec: session %s", line);
	return rc;
}

/* Move local stdin bytes into inbuf, applying the escape. Returns 1 when
 * the escape asked to close the session. The caller reads at most the
 * room less one byte (a held escape comes out with the next byte). */
static int take_input(struct run *r, const char *buf, size_t n)
{
	size_t k;
	int rc;

	rc = exec_escape_feed(&r->esc, buf, n, r->inbuf + r->inlen,
			      sizeof(r->inbuf) - r->inlen, &k);
	r->inlen += k;
	return rc == 1;
}

static void close_remote_stdin(struct run *r)
{
	if (r->in >= 0) {
		close(r->in); /* the last writer: the remote stdin gets EOF */
		r->in = -1;
	}
	r->inlen = 0;
}

/* A caught signal: 0 to go on, or an exit status. */
static int handle_signal(struct run *r, int sig)
{
	unsigned cols, rows;

	if (sig == SIGWINCH) {
		if (r->tty && local_size(&cols, &rows)) {
			char line[48];

			snprintf(line, sizeof(line), "resize %u %u\n", cols,
				 rows);
			ctl_line(r->ctl, line);
		}
		return 0;
	}
	if (r->signals++ > 0) {
		fprintf(stderr,
			"\r\nexecfs exec: second signal, leaving; the command may still run\r\n");
		return 128 + sig;
	}
	ctl_signal(r->ctl, sig);
	return 0;
}

/* Move what local stdin gave into N/stdin now; what N/stdin does not take
 * (EAGAIN: the remote side is not reading) waits for POLLOUT. */
static void stdin_flush(struct run *r)
{
	while (r->in >= 0 && r->inlen > 0) {
		ssize_t n = write(r->in, r->inbuf, r->inlen);

		if (n > 0) {
			memmove(r->inbuf, r->inbuf + n, r->inlen - (size_t)n);
			r->inlen -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			/* EPIPE: the command stopped reading stdin. */
			close_remote_stdin(r);
		}
	}
	if (r->inlen == 0 && r->local_eof)
		close_remote_stdin(r);
}

/* Pump `id` said it ended: 0 to go on, or the exit status to leave with. */
static int pump_ended(struct run *r, unsigned char id)
{
	int *fd = id == 0 ? &r->out : &r->err;
	int read_err, rc;

	if (id > 1 || !r->pump[id])
		return 0;
	rc = exec_pump_finish(r->pump[id], &read_err);
	r->pump[id] = NULL;
	close(*fd);
	*fd = -1;
	if (id == 0 && rc < 0) {
		/* Our reader went away: the command would have got SIGPIPE
		 * writing to it. */
		ctl_signal(r->ctl, SIGPIPE);
		return 128 + SIGPIPE;
	}
	if (id == 0 && read_err)
		fprintf(stderr, "execfs exec: stdout: %s\n",
			strerror(read_err));
	return 0;
}

static int pumps_start(struct run *r)
{
	const int src[2] = { r->out, r->err };
	const int dst[2] = { STDOUT_FILENO, STDERR_FILENO };
	unsigned char i;

	if (pipe2(r->pump_done, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		if (src[i] < 0)
			continue;
		r->pump[i] =
			exec_pump_start(src[i], dst[i], r->pump_done[1], i);
		if (!r->pump[i])
			return -errno;
	}
	return 0;
}

/* Pump bytes until both outputs ended and the session did. */
static int run_loop(struct run *r)
{
	static char buf[BUF_SIZE];
	struct pollfd p[5];
	int np, rc, ix_sig, ix_stdin, ix_in, ix_done, ix_wait;
	ssize_t n;

	rc = pumps_start(r);
	if (rc < 0) {
		fprintf(stderr, "execfs exec: output threads: %s\n",
			strerror(-rc));
		return EXIT_EXECFS;
	}
	for (;;) {
		if (!r->pump[0] && !r->pump[1] && r->wait < 0) {
			r->wait =
				open("wait", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (r->wait < 0) {
				fprintf(stderr, "execfs exec: wait: %s\n",
					strerror(errno));
				return EXIT_EXECFS;
			}
		}
		np = 0;
		ix_stdin = ix_in = ix_done = ix_wait = -1;
		ix_sig = np;
		p[np++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		if (r->in >= 0 && !r->local_eof &&
		    r->inlen + 2 <= sizeof(r->inbuf)) {
			ix_stdin = np;
			p[np++] = (struct pollfd){ .fd = STDIN_FILENO,
						   .events = POLLIN };
		}
		if (r->in >= 0 && r->inlen > 0) {
			ix_in = np;
			p[np++] = (struct pollfd){ .fd = r->in,
						   .events = POLLOUT };
		}
		if (r->pump[0] || r->pump[1]) {
			ix_done = np;
			p[np++] = (struct pollfd){ .fd = r->pump_done[0],
						   .events = POLLIN };
		}
		if (r->wait >= 0) {
			ix_wait = np;
			p[np++] = (struct pollfd){ .fd = r->wait,
						   .events = POLLIN };
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "execfs exec: poll: %s\n",
				strerror(errno));
			return EXIT_EXECFS;
		}
		if (p[ix_sig].revents & POLLIN) {
			unsigned char s;

			while (read(sig_fd, &s, 1) == 1)
				if ((rc = handle_signal(r, s)) != 0)
					return rc;
		}
		if (ix_stdin >= 0 && p[ix_stdin].revents) {
			size_t room = sizeof(r->inbuf) - r->inlen - 1;

			n = read(STDIN_FILENO, buf, room);
			if (n > 0 && take_input(r, buf, (size_t)n)) {
				tty_restore();
				fprintf(stderr,
					"\r\nexecfs exec: closed by the escape; the session was sent SIGHUP\r\n");
				ctl_signal(r->ctl, SIGHUP);
				return EXIT_ESCAPE;
			}
			if (n == 0 ||
			    (n < 0 && errno != EINTR && errno != EAGAIN))
				r->local_eof = true;
			stdin_flush(r);
		}
		if (ix_in >= 0 && p[ix_in].revents)
			stdin_flush(r);
		if (ix_done >= 0 && p[ix_done].revents) {
			unsigned char id;

			while (read(r->pump_done[0], &id, 1) == 1)
				if ((rc = pump_ended(r, id)) != 0)
					return rc;
		}
		if (ix_wait >= 0 && p[ix_wait].revents) {
			n = read(r->wait, buf, sizeof(buf) - 1);
			if (n > 0) {
				buf[n] = '\0';
				return status_to_exit(buf);
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr,
					"execfs exec: wait: %s (session lost?)\n",
					strerror(errno));
				return 255;
			}
		}
	}
}

/* Start the command: one write of tty/env/exec lines to N/ctl. */
static int start(struct run *r, const char *sdir)
{
	char *words = ctl_quote(r->o->cmd, (size_t)r->o->ncmd);
	char *term_q = NULL, *msg = NULL, reason[1024], *e;
	const char *term = getenv("TERM");
	unsigned cols = 0, rows = 0;
	char ttyline[64] = "";
	int rc = 0, len;

	if (!words)
		return -ENOMEM;
	if (r->tty) {
		if (local_size(&cols, &rows))
			snprintf(ttyline, sizeof(ttyline), "tty %u %u\n", cols,
				 rows);
		else
			snprintf(ttyline, sizeof(ttyline), "tty\n");
		if (term && *term && !strchr(term, '\n')) {
			char *kv = NULL;

			if (asprintf(&kv, "TERM=%s", term) > 0) {
				term_q = ctl_quote(&kv, 1);
				free(kv);
			}
		}
	}
	len = asprintf(&msg, "%s%s%s%sexec %s\n", ttyline, term_q ? "env " : "",
		       term_q ? term_q : "", term_q ? "\n" : "", words);
	if (len < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (write(r->ctl, msg, (size_t)len) != len) {
		rc = -errno;
		/* The reason is in N/ctl's error line. */
		if (exec_read_text("ctl", reason, sizeof(reason)) > 0 &&
		    (e = strstr(reason, "error: ")))
			fprintf(stderr, "execfs exec: %s", e + 7);
		else
			fprintf(stderr, "execfs exec: %s: %s\n", r->o->cmd[0],
				strerror(-rc));
	}
out:
	free(msg);
	free(term_q);
	free(words);
	return rc;
}

/* Open what the session needs and run it; r->ctl is open. */
static int exec_session(struct run *r, const char *sdir)
{
	sigset_t block, old;
	int rc;

	/* A signal during the start would interrupt the ctl write (EINTR)
	 * while the process may start anyway: hold signals until the write
	 * is answered, then the loop sees them. */
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	rc = start(r, sdir);
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (rc < 0) {
		ctl_line(r->ctl, "forget\n");
		return exec_start_exit(rc);
	}
	/* Blocking: the output threads' reads wait in the mount. */
	r->out = open("stdout", O_RDONLY | O_CLOEXEC);
	if (!r->tty)
		r->err = open("stderr", O_RDONLY | O_CLOEXEC);
	if (r->interactive)
		r->in = open("stdin", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	else if (!r->tty)
		ctl_line(r->ctl, "eof\n");
	if (r->out < 0 || (!r->tty && r->err < 0) ||
	    (r->interactive && r->in < 0)) {
		fprintf(stderr, "execfs exec: %s: %s\n", sdir, strerror(errno));
		return EXIT_EXECFS;
	}
	if (r->tty && isatty(STDIN_FILENO) && tty_raw() < 0) {
		fprintf(stderr, "execfs exec: raw mode: %s\n", strerror(errno));
		return EXIT_EXECFS;
	}
	rc = run_loop(r);
	tty_restore();
	return rc;
}

static void run_close(struct run *r)
{
	int *fds[] = { &r->ctl,	 &r->in,	   &r->out,	    &r->err,
		       &r->wait, &r->pump_done[0], &r->pump_done[1] };
	size_t i, n = sizeof(fds) / sizeof(fds[0]);

	/* A pump still running (we are leaving early) owns its src and
	 * writes to the pipe when it ends: the exit closes those, never a
	 * close here that would let the numbers be reused under it. */
	if (r->pump[0] || r->pump[1])
		n = 1;
	for (i = 0; i < n; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

int exec_main(int argc, char **argv)
{
	struct exec_opts o;
	struct run *r = NULL;
	char *dir = NULL, num[32], sdir[4200];
	ssize_t n;
	int rc;

	if (exec_all_wanted(argc, argv))
		return exec_all_main(argc, argv);
	memset(&o, 0, sizeof(o));
	rc = parse_args(argc, argv, &o);
	if (rc == 1) {
		usage(stdout);
		fprintf(stdout, "\n");
		exec_all_usage(stdout);
		return 0;
	}
	if (rc)
		return rc;
	rc = EXIT_EXECFS;
	r = calloc(1, sizeof(*r)); /* owned here */
	if (!r)
		goto out;
	r->o = &o;
	r->tty = o.tty == TRI_DEFAULT ? isatty(STDIN_FILENO) : o.tty == TRI_ON;
	r->interactive = o.interactive != TRI_OFF;
	r->ctl = r->in = r->out = r->err = r->wait = -1;
	r->pump_done[0] = r->pump_done[1] = -1;
	exec_escape_init(&r->esc, r->tty ? o.escape : -1);
	if (signals_setup() < 0) {
		fprintf(stderr, "execfs exec: %s\n", strerror(errno));
		goto out;
	}
	dir = resolve_dir(o.dir, o.any);
	if (!dir)
		goto out;
	snprintf(sdir, sizeof(sdir), "%s/clone", dir);
	n = exec_read_text(sdir, num, sizeof(num));
	if (n <= 0) {
		fprintf(stderr, "execfs exec: %s: %s\n", sdir,
			n < 0 ? strerror((int)-n) : "empty");
		goto out;
	}
	num[strcspn(num, "\n")] = '\0';
	snprintf(sdir, sizeof(sdir), "%s/%s", dir, num);
	/* Work inside N/ so every path below is short and relative. */
	if (chdir(sdir) < 0) {
		fprintf(stderr, "execfs exec: %s: %s\n", sdir, strerror(errno));
		goto out;
	}
	r->ctl = open("ctl", O_WRONLY | O_CLOEXEC);
	if (r->ctl < 0) {
		fprintf(stderr, "execfs exec: %s/ctl: %s\n", sdir,
			strerror(errno));
		goto out;
	}
	rc = exec_session(r, sdir);
out:
	if (r)
		run_close(r);
	free(r);
	free(dir);
	return rc;
}
