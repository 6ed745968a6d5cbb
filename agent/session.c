/*
 * The agent's sessions. A session is created by its status stream, starts
 * its process once the exec request body is complete, and connects the
 * process's pipes to the session's other streams:
 *
 *   stdout/stderr: the pipe is read only while the stream's outgoing buffer
 *                  has room, and that buffer drains only as the client grants
 *                  HTTP/2 window: a reader that stops stops the process, as
 *                  a full pipe does;
 *   stdin:         received bytes are written to the pipe and only then
 *                  returned to the client as window;
 *   status:        answers whether the process started, then carries the
 *                  exit status;
 *   signal:        one signal for the process group (with a tty, the
 *                  terminal's foreground group);
 *   resize:        "COLS ROWS" lines for the terminal.
 *
 * With a tty the process's stdin and stdout are the pty master (dups of
 * it): output ends with EIO once every slave fd closed, and the end of
 * stdin is the terminal's VEOF character, not a close (the terminal stays,
 * as it does for a user who types ^D).
 *
 * Signal and resize streams may arrive before the process exists (a
 * client sends a session's streams in one flight); they wait, bounded,
 * until the start is decided.
 *
 * A session lives until its process ended and every stream of it closed. A
 * running session left without streams is killed after a grace period.
 *
 * Resuming (docs/PROTOCOL.md): output streams keep what they sent until
 * the client consumed it, and a stream lost with its connection hands
 * back what the client may lack (held). The client re-attaches each stream
 * on a new connection: stdout/stderr at the offset it has, stdin with the
 * offset of its first byte (bytes the agent already has are skipped),
 * status with a GET. A session that lost a stream is kept for the grace
 * period even after its process ended, for its output and its status.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "audit.h"
#include "exec_spec.h"
#include "inventory.h"
#include "launch.h"
#include "policy.h"
#include "pty.h"
#include "reply.h"
#include "session.h"
#include "signame.h"
#include "spawn.h"

/* A pipe starts with 64 KiB of room. One that fills up is given the most
 * an unprivileged process may ask for (fs.pipe-max-size, 1 MiB by
 * default): a bulk transfer then moves in steps of up to 1 MiB, a
 * sixteenth of the wakeups; interactive sessions keep the default. */
#define PIPE_DEFAULT_BYTES (64 * 1024)
#define PIPE_BULK_BYTES (1024 * 1024)
/* The most one read takes from a pipe (or pty), before and after. */
#define OUT_READ_CHUNK PIPE_DEFAULT_BYTES
#define OUT_READ_BULK PIPE_BULK_BYTES
/* Stdin bytes that must have reached the process before its stream gets
 * the bulk window: more than a grown pipe holds, so the process reads. */
#define IN_GROW_AFTER (2 * PIPE_BULK_BYTES)
/* A signal stream's body: a name or number, and some slack for blanks. */
#define SIGNAL_BODY_MAX 32

enum xsession_state {
	XSESSION_REQUEST, /* receiving the exec request */
	XSESSION_SPAWNING, /* asked the launcher; waiting for the start */
	XSESSION_RUNNING,
	XSESSION_EXITED, /* reaped; wstatus is valid */
	XSESSION_FAILED, /* never ran; err and message say why */
};

struct xsession;

enum ctl_kind { CTL_SIGNAL, CTL_RESIZE };

/*
 * A signal or resize stream. Lives until the stream's on_close (the
 * session counts it as attached until then).
 */
struct xsession_ctl {
	struct xsession *s;
	struct h2_stream *st;
	enum ctl_kind kind;
	char buf[PTY_SIZE_LINE_MAX + 1]; /* a partial line, or the signal */
	size_t len;
	bool answered; /* response headers sent */
	uint64_t pending; /* signal: the launcher's answer is awaited */
	bool body_ended; /* the peer's END_STREAM came */
	bool dead; /* answered with an error or reset: ignore input */
	bool has_size; /* resize: a size waits for the terminal */
	unsigned short cols, rows;
	struct xsession_ctl *next;
};

/* One output pipe (stdout or stderr) and the stream it is sent on. */
struct xsession_out {
	struct xsession *s;
	const char *name;
	int fd; /* owned; pipe read end, -1 once at EOF */
	struct event *ev; /* owned; EV_READ on fd */
	struct h2_stream *st; /* attached client stream, or NULL */
	unsigned long long sent; /* bytes read from the pipe, in all */
	/* owned, or NULL: bytes from offset sent - length on, which the
	 * client may lack: taken back from a stream that was lost. Sent
	 * before anything more is read from the pipe. */
	struct evbuffer *held;
	bool ev_added;
	bool bulk; /* the pipe filled up once: grown (pipe_grow) */
};

struct xsession {
	struct xsession_table *t;
	char sid[EXECFS_SID_LEN + 1];
	enum xsession_state state;
	char container[EXECFS_MAX_NAME_LEN + 1];

	struct h2_stream *status_st; /* NULL once closed */
	struct evbuffer *req; /* owned; request body while REQUEST */

	struct xsession_out out[2]; /* stdout, stderr */

	struct h2_stream *in_st; /* stdin stream or NULL */
	struct evbuffer *inbuf; /* owned; received, not yet in the pipe */
	int in_fd; /* owned; pipe write end, -1 when closed */
	struct event *in_ev; /* owned; EV_WRITE on in_fd */
	bool in_end; /* client ended stdin */
	bool in_line_start; /* tty: the last byte sent was '\n' (or none) */
	bool in_bulk; /* the stdin pipe filled up once: grown */
	unsigned long long in_received; /* stdin bytes received, in all */
	size_t in_skip; /* re-sent stdin bytes still to drop */
	size_t in_old; /* bytes of inbuf that came on an earlier stream */
	size_t in_eof_left; /* tty: VEOF characters still to send */

	bool tty;
	int tty_fd; /* owned; the pty master, -1 without a tty */
	unsigned short pend_cols, pend_rows; /* a size for the coming tty */
	struct xsession_ctl *ctl; /* signal and resize streams */

	pid_t pid; /* 0 until the launcher reported the start */
	struct launch_job *job; /* until reaped or failed (then NULL) */
	int report_fd; /* owned; spawn report pipe */
	struct event *report_ev; /* owned */
	int wstatus;
	bool reaped; /* wstatus is valid */
	int err; /* XSESSION_FAILED: positive errno */
	char message[512]; /* XSESSION_FAILED: why */

	struct event *grace_ev; /* owned; kills an abandoned process */
	bool lost; /* a stream went with its connection: wait for the
		      client to come back (grace), ended or not */

	char identity[256]; /* the peer that started it */
	bool audited; /* a start line was written; an end line is owed */
	struct timespec started; /* CLOCK_MONOTONIC at the start */
	unsigned long long bytes_in; /* stdin bytes that reached the process */
	struct xsession *next;
};

struct xsession_table {
	struct event_base *base;
	struct inventory *inv; /* not owned */
	struct launcher *launcher; /* not owned */
	uint64_t next_cookie; /* for signal answers */
	const struct policy *policy; /* not owned; NULL denies everything */
	struct audit *audit; /* not owned; NULL: no audit */
	char node[256];
	size_t per_identity; /* running sessions allowed per identity */
	unsigned grace; /* seconds a session without a client is kept */
	struct xsession *head;
};

static const struct h2_stream_cbs status_cbs, out_cbs, in_cbs;

/* ---- lifetime ----------------------------------------------------------- */

static void ev_free(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}

static void fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static bool xsession_ended(const struct xsession *s)
{
	return s->state == XSESSION_EXITED || s->state == XSESSION_FAILED;
}

static bool xsession_attached(const struct xsession *s)
{
	return s->status_st || s->in_st || s->out[0].st || s->out[1].st ||
	       s->ctl;
}

static void xsession_free(struct xsession *s)
{
	struct xsession **pp;
	int i;

	log_debug("session %s: forgotten", s->sid);
	for (pp = &s->t->head; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	for (i = 0; i < 2; i++) {
		ev_free(&s->out[i].ev);
		fd_close(&s->out[i].fd);
		if (s->out[i].held)
			evbuffer_free(s->out[i].held);
	}
	ev_free(&s->in_ev);
	fd_close(&s->in_fd);
	launcher_job_drop(s->job);
	ev_free(&s->report_ev);
	fd_close(&s->report_fd);
	ev_free(&s->grace_ev);
	fd_close(&s->tty_fd);
	if (s->req)
		evbuffer_free(s->req);
	if (s->inbuf)
		evbuffer_free(s->inbuf);
	free(s);
}

/* Bytes of a lost output stream wait for their client. */
static bool xsession_holds_output(const struct xsession *s)
{
	int i;

	for (i = 0; i < 2; i++)
		if (s->out[i].held && evbuffer_get_length(s->out[i].held))
			return true;
	return false;
}

/* Called whenever a stream detaches or the process ends. */
static void xsession_check(struct xsession *s)
{
	if (xsession_attached(s)) {
		if (s->grace_ev)
			event_del(s->grace_ev);
		return;
	}
	/* A failed start leaves nothing to resume: a client that comes
	 * back is told it is gone (and reports it lost). An ended one
	 * goes once nobody may come back for it or for its output. */
	if (s->state == XSESSION_FAILED || s->state == XSESSION_REQUEST ||
	    (xsession_ended(s) && !s->lost && !xsession_holds_output(s))) {
		xsession_free(s);
		return;
	}
	/* Running with nobody listening, or lost by its client: keep it for
	 * a while. */
	if (s->grace_ev && !evtimer_pending(s->grace_ev, NULL)) {
		struct timeval tv = { s->t->grace, 0 };

		evtimer_add(s->grace_ev, &tv);
	}
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsession *s = arg;

	(void)fd;
	(void)what;
	/* Nobody comes back for it: its end will free it. */
	s->lost = false;
	if (s->job && s->pid > 0 && !xsession_ended(s)) {
		log_info(
			"session %s: no client for %u s, killing process group %d",
			s->sid, s->t->grace, (int)s->pid);
		launcher_signal(s->job, SIGKILL, 0, 0);
		return;
	}
	if (xsession_ended(s)) {
		log_info("session %s: its client did not come back in %u s",
			 s->sid, s->t->grace);
		xsession_free(s);
		return;
	}
	if (s->state == XSESSION_SPAWNING)
		log_info("session %s: no client for %u s while its start is "
			 "under way: it gets a period of its own once it runs",
			 s->sid, s->t->grace);
}

/* A stream this session no longer uses (a client's earlier connection,
 * replaced by a resume): whatever still comes on it is dropped. */
static void dropped_on_data(struct h2_stream *st, const uint8_t *data,
			    size_t len, void *arg)
{
	(void)data;
	(void)arg;
	h2_stream_consume(st, len);
}

static const struct h2_stream_cbs dropped_cbs = {
	.on_data = dropped_on_data,
};

static void stream_drop(struct h2_stream *st)
{
	h2_stream_set_cbs(st, &dropped_cbs, NULL);
	h2_stream_reset(st, H2_CANCEL);
}

/* May st replace old, a stream of the same kind still attached? Only
 * from a newer connection (the client resumes; its old connection is
 * gone for it even if not yet for us). A second one on the same
 * connection is refused, and so is one from an older connection: after
 * a freeze, connections the client gave up may be read after the one
 * it resumed on. */
static bool stream_replaces(struct h2_stream *old, struct h2_stream *st)
{
	return h2_conn_serial(h2_stream_conn(st)) >
	       h2_conn_serial(h2_stream_conn(old));
}

/* A resume's offset header: decimal, or absent (0). */
static int offset_header(struct h2_stream *st, unsigned long long *off)
{
	const char *v = h2_stream_header(st, EXECFS_HDR_OFFSET);
	char *end;

	*off = 0;
	if (!v)
		return 0;
	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	*off = strtoull(v, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* ---- answering ---------------------------------------------------------- */

static json_t *status_doc(const struct xsession *s)
{
	char name[16];
	int sig;

	if (s->state == XSESSION_FAILED)
		return json_pack("{s:s, s:s, s:s}", EXECFS_J_STATE, "failed",
				 EXECFS_J_ERRNO, errno_name(s->err),
				 EXECFS_J_MESSAGE, s->message);
	if (s->state != XSESSION_EXITED)
		return json_pack("{s:s, s:i}", EXECFS_J_STATE, "running",
				 EXECFS_J_PROCESS_PID, (int)s->pid);
	if (WIFEXITED(s->wstatus))
		return json_pack("{s:s, s:i}", EXECFS_J_STATE, "exited",
				 EXECFS_J_CODE, WEXITSTATUS(s->wstatus));
	sig = WTERMSIG(s->wstatus);
	return json_pack("{s:s, s:i, s:s}", EXECFS_J_STATE, "killed",
			 EXECFS_J_SIGNAL, sig, EXECFS_J_SIGNAME,
			 signal_abbrev(sig, name, sizeof(name)));
}

/* ---- output streams ----------------------------------------------------- */

static void out_update(struct xsession_out *o)
{
	bool want = o->fd >= 0 && o->st && o->s->state >= XSESSION_RUNNING &&
		    (!o->held || evbuffer_get_length(o->held) == 0) &&
		    h2_stream_write_space(o->st) > 0;

	if (want && !o->ev_added) {
		event_add(o->ev, NULL);
		o->ev_added = true;
	} else if (!want && o->ev_added) {
		event_del(o->ev);
		o->ev_added = false;
	}
}

/* Send held bytes while the stream has room; end it once the pipe is at
 * its end and nothing is held; read the pipe when there is room left. */
static void out_pump(struct xsession_out *o)
{
	if (!o->st || o->s->state < XSESSION_RUNNING ||
	    o->s->state == XSESSION_FAILED)
		return;
	if (o->held && reply_pump(o->st, o->held) < 0)
		return; /* reset: its on_close detaches it */
	if (o->fd < 0 && (!o->held || evbuffer_get_length(o->held) == 0))
		h2_stream_end(o->st);
	out_update(o);
}

/* The stream goes: what the client may lack is held for a resume. */
static int out_take_back(struct xsession_out *o, struct h2_stream *st)
{
	if (!o->held && !(o->held = evbuffer_new()))
		return -ENOMEM;
	h2_stream_take_unacked(st, o->held);
	return 0;
}

static void out_eof(struct xsession_out *o)
{
	if (o->ev_added)
		event_del(o->ev);
	o->ev_added = false;
	ev_free(&o->ev);
	fd_close(&o->fd);
	out_pump(o);
}

/* Best effort (a pty has no such size; the owner's pipe budget may be
 * spent): the pipe keeps working at its old size. */
static void pipe_grow(int fd, bool *grown)
{
	if (*grown)
		return;
	*grown = true;
	(void)fcntl(fd, F_SETPIPE_SZ, PIPE_BULK_BYTES);
}

static void out_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsession_out *o = arg;
	size_t space;
	ssize_t n;

	(void)what;
	if (!o->st) {
		out_update(o); /* nobody to send to: stop reading */
		return;
	}
	space = h2_stream_write_space(o->st);
	if (space > (o->bulk ? OUT_READ_BULK : OUT_READ_CHUNK))
		space = o->bulk ? OUT_READ_BULK : OUT_READ_CHUNK;
	if (!space) {
		out_update(o);
		return;
	}
	n = h2_stream_read_fd(o->st, fd, space);
	if (n > 0) {
		if (n >= PIPE_DEFAULT_BYTES)
			pipe_grow(fd, &o->bulk);
		o->sent += n;
		out_update(o);
		return;
	}
	if (n == -EAGAIN || n == -EINTR)
		return;
	/* A pty master reads EIO once no slave fd is left: its EOF. */
	if (n < 0 && !(n == -EIO && o->s->tty)) {
		log_warn("session %s: read %s: %s", o->s->sid, o->name,
			 strerror((int)-n));
		if (n == -ENOMEM || n == -EPIPE || n == -ENOBUFS) {
			h2_stream_reset(o->st, H2_INTERNAL_ERROR);
			return;
		}
	}
	out_eof(o);
}

static void out_on_writable(struct h2_stream *st, void *arg)
{
	(void)st;
	out_pump(arg);
}

/* A stream of s went with its connection: s waits for a resume. */
static void xsession_lost_stream(struct xsession *s, const char *what)
{
	if (s->state == XSESSION_REQUEST || s->state == XSESSION_FAILED)
		return;
	if (!s->lost)
		log_info("session %s: %s lost with its connection; kept %u s "
			 "for a resume",
			 s->sid, what, s->t->grace);
	s->lost = true;
}

static void out_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession_out *o = arg;

	if (code == H2_LOST) {
		if (out_take_back(o, st) < 0)
			log_warn("session %s: %s: out of memory: bytes in "
				 "flight cannot be resent",
				 o->s->sid, o->name);
		xsession_lost_stream(o->s, o->name);
	} else if (o->held) {
		/* Reset by the client: nobody reads them any more. */
		evbuffer_free(o->held);
		o->held = NULL;
	}
	o->st = NULL;
	out_update(o);
	xsession_check(o->s);
}

static const struct h2_stream_cbs out_cbs = {
	.on_writable = out_on_writable,
	.on_close = out_on_close,
};

/* The session started (or ended without output): answer and start
 * forwarding. */
static void out_start(struct xsession_out *o)
{
	if (!o->st || reply_status(o->st, 200, false) < 0)
		return;
	out_pump(o);
}

static void out_attach(struct xsession *s, struct xsession_out *o,
		       struct h2_stream *st)
{
	unsigned long long off, first;
	char msg[160];

	if (o->st && !stream_replaces(o->st, st)) {
		reply_error(st, EBUSY,
			    "stream is attached on another connection");
		return;
	}
	if (offset_header(st, &off) < 0) {
		reply_error(st, EINVAL, "bad " EXECFS_HDR_OFFSET);
		return;
	}
	/* The client has everything before off: send from there, which
	 * must be among the bytes held (with those an older stream of it
	 * still has) or the next one to read. */
	first = o->sent - (o->held ? evbuffer_get_length(o->held) : 0) -
		(o->st ? h2_stream_unacked(o->st) : 0);
	if (off < first || off > o->sent) {
		snprintf(msg, sizeof(msg),
			 "%s offset %llu is not available (the agent has "
			 "%llu to %llu)",
			 o->name, off, first, o->sent);
		log_info("session %s: resume refused: %s", s->sid, msg);
		reply_error(st, ERANGE, msg);
		return;
	}
	if (o->st) {
		if (out_take_back(o, o->st) < 0) {
			reply_error(st, ENOMEM, "out of memory");
			return;
		}
		stream_drop(o->st);
		o->st = NULL;
	}
	if (o->held)
		evbuffer_drain(o->held, off - first);
	if (off != 0)
		log_info("session %s: %s resumed at offset %llu", s->sid,
			 o->name, off);
	o->st = st;
	s->lost = false;
	h2_stream_keep_sent(st);
	h2_stream_set_cbs(st, &out_cbs, o);
	if (s->state >= XSESSION_RUNNING && s->state != XSESSION_FAILED)
		out_start(o);
	else if (s->state == XSESSION_FAILED)
		reply_error(st, ENOENT, "session failed to start");
	xsession_check(s);
}

/* ---- stdin -------------------------------------------------------------- */

/*
 * The client ended stdin and every byte reached the process. Without a
 * tty: close the pipe. With one: type VEOF (twice after a partial line);
 * false when the terminal's queue is full and in_ev will call again.
 */
static bool in_finish(struct xsession *s)
{
	ssize_t n;

	if (s->tty && s->in_fd >= 0) {
		if (!s->in_eof_left)
			s->in_eof_left = s->in_line_start ? 1 : 2;
		n = pty_send_eof(s->in_fd, s->in_eof_left);
		if (n == -EAGAIN || n == 0 ||
		    (n > 0 && (size_t)n < s->in_eof_left)) {
			if (n > 0)
				s->in_eof_left -= n;
			event_add(s->in_ev, NULL);
			return false;
		}
		/* Other errors: the terminal is gone, and so is the
		 * reader. */
		if (n < 0)
			log_debug("session %s: VEOF: %s", s->sid, strerror(-n));
		s->in_eof_left = 0;
		s->in_line_start = true;
		log_debug("session %s: stdin ended: VEOF sent", s->sid);
	} else {
		ev_free(&s->in_ev);
		fd_close(&s->in_fd);
	}
	if (s->in_st)
		reply_status(s->in_st, 200, true);
	return true;
}

/* n bytes reached the process's pipe: their window goes back, to the
 * stream they came on (bytes of a lost stream come first). */
static void in_consumed(struct xsession *s, struct h2_stream *st, size_t n)
{
	size_t old = n < s->in_old ? n : s->in_old;

	s->in_old -= old;
	s->bytes_in += n;
	if (!st)
		return;
	h2_stream_consume(st, n - old);
	if (s->bytes_in >= IN_GROW_AFTER)
		h2_stream_grow_window(st);
}

/* Move buffered input into the pipe; window goes back as it does. */
static void in_flush(struct xsession *s)
{
	size_t before, n;
	int rv;

	if (s->state < XSESSION_RUNNING)
		return;
	while (s->in_fd >= 0 && evbuffer_get_length(s->inbuf) > 0) {
		before = evbuffer_get_length(s->inbuf);
		rv = evbuffer_write(s->inbuf, s->in_fd);
		if (rv < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!s->in_bulk) {
				pipe_grow(s->in_fd, &s->in_bulk);
				continue;
			}
			event_add(s->in_ev, NULL);
			return;
		}
		if (rv < 0) {
			/* The process closed its stdin (EPIPE): discard. */
			evbuffer_drain(s->inbuf, before);
			fd_close(&s->in_fd);
			ev_free(&s->in_ev);
		}
		n = before - evbuffer_get_length(s->inbuf);
		in_consumed(s, s->in_st, n);
	}
	if (s->in_fd < 0 && s->in_st) {
		/* Nobody reads any more: take the bytes so the client is not
		 * held forever. */
		n = evbuffer_get_length(s->inbuf);
		evbuffer_drain(s->inbuf, n);
		h2_stream_consume(s->in_st, n);
		s->in_old = 0;
	}
	if (s->in_end && evbuffer_get_length(s->inbuf) == 0 && s->in_st &&
	    in_finish(s))
		s->in_end = false;
}

static void in_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	in_flush(arg);
}

static void in_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
		       void *arg)
{
	struct xsession *s = arg;

	s->in_received += len;
	if (s->in_skip) {
		/* A resume re-sent bytes the agent already had: drop them. */
		size_t k = len < s->in_skip ? len : s->in_skip;

		s->in_received -= k;
		s->in_skip -= k;
		h2_stream_consume(st, k);
		data += k;
		len -= k;
	}
	if (len)
		s->in_line_start = data[len - 1] == '\n';
	/* Nothing queued before them: the bytes go into the pipe from where
	 * they were received, and only what it does not take is copied. */
	while (len > 0 && s->state >= XSESSION_RUNNING && s->in_fd >= 0 &&
	       evbuffer_get_length(s->inbuf) == 0) {
		ssize_t n = write(s->in_fd, data, len);

		if (n <= 0) {
			if (n < 0 && errno == EAGAIN && !s->in_bulk) {
				pipe_grow(s->in_fd, &s->in_bulk);
				continue;
			}
			break; /* in_flush() handles it (or EPIPE) */
		}
		in_consumed(s, st, (size_t)n);
		data += n;
		len -= (size_t)n;
	}
	/* Bounded by the stream window: the client cannot send more than it
	 * was granted, and we grant only what reached the pipe. */
	if (len)
		evbuffer_add(s->inbuf, data, len);
	in_flush(s);
}

static void in_on_end(struct h2_stream *st, void *arg)
{
	struct xsession *s = arg;

	(void)st;
	s->in_end = true;
	in_flush(s);
}

static void in_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession *s = arg;

	(void)st;
	s->in_st = NULL;
	s->in_old = evbuffer_get_length(s->inbuf);
	/* A client that went away mid-stream leaves stdin open for a
	 * resume; one that reset it means EOF. */
	if (code == H2_LOST && !s->in_end)
		xsession_lost_stream(s, EXECFS_ST_STDIN);
	if (code != 0 && code != H2_CANCEL && code != H2_LOST) {
		ev_free(&s->in_ev);
		fd_close(&s->in_fd);
	}
	xsession_check(s);
}

static const struct h2_stream_cbs in_cbs = {
	.on_data = in_on_data,
	.on_end = in_on_end,
	.on_close = in_on_close,
};

static void in_attach(struct xsession *s, struct h2_stream *st)
{
	unsigned long long first;
	char msg[160];

	if (s->in_st && !stream_replaces(s->in_st, st)) {
		reply_error(st, EBUSY, "stdin is already attached");
		return;
	}
	if (s->state == XSESSION_FAILED) {
		reply_error(st, ENOENT, "session failed to start");
		return;
	}
	/* The offset of the body's first byte: what the agent has of it
	 * already is dropped; a gap would lose bytes. */
	if (offset_header(st, &first) < 0) {
		reply_error(st, EINVAL, "bad " EXECFS_HDR_OFFSET);
		return;
	}
	if (first > s->in_received) {
		snprintf(msg, sizeof(msg),
			 "stdin offset %llu is past the %llu bytes received",
			 first, s->in_received);
		log_info("session %s: resume refused: %s", s->sid, msg);
		reply_error(st, ERANGE, msg);
		return;
	}
	if (s->in_st) {
		/* What is still buffered came in order before the resume's
		 * first byte and still goes to the process. */
		stream_drop(s->in_st);
		s->in_st = NULL;
		s->in_old = evbuffer_get_length(s->inbuf);
	}
	if (first)
		log_info("session %s: stdin resumed at offset %llu (%llu "
			 "received)",
			 s->sid, first, s->in_received);
	s->in_skip = (size_t)(s->in_received - first);
	s->in_end = false;
	s->lost = false;
	s->in_st = st;
	h2_stream_set_cbs(st, &in_cbs, s);
	xsession_check(s);
}

/* ---- signal and resize streams ------------------------------------------ */

static void ctl_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession_ctl *k = arg, **pp;
	struct xsession *s = k->s;

	(void)st;
	(void)code;
	for (pp = &s->ctl; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	free(k);
	xsession_check(s);
}

static void ctl_error(struct xsession_ctl *k, int err, const char *msg)
{
	k->dead = true;
	if (!k->answered) {
		k->answered = true;
		reply_error(k->st, err, msg);
	} else {
		h2_stream_reset(k->st, H2_INTERNAL_ERROR);
	}
}

/* Peer input that breaks the protocol: reset the stream, log why. */
static void ctl_reset(struct xsession_ctl *k, const char *why)
{
	log_warn("session %s: %s stream: %s: reset", k->s->sid,
		 k->kind == CTL_SIGNAL ? EXECFS_ST_SIGNAL : EXECFS_ST_RESIZE,
		 why);
	k->dead = true;
	h2_stream_reset(k->st, H2_PROTOCOL_ERROR);
}

/* The signal stream's body is complete: deliver it, or wait for the
 * process to exist. */
static void signal_decide(struct xsession_ctl *k)
{
	struct xsession *s = k->s;
	char msg[128], name[16];
	int sig;

	if (k->dead || k->answered || !k->body_ended)
		return;
	sig = signal_parse(k->buf, k->len);
	if (sig < 0) {
		snprintf(msg, sizeof(msg), "signal %.*s: no such signal",
			 (int)k->len, k->buf);
		log_info("session %s: %s", s->sid, msg);
		ctl_error(k, EINVAL, msg);
		return;
	}
	signal_abbrev(sig, name, sizeof(name));
	if (s->state == XSESSION_FAILED) {
		ctl_error(k, ENOENT, "session failed to start");
		return;
	}
	if (xsession_ended(s) || s->reaped) {
		snprintf(msg, sizeof(msg), "signal %s: the process has ended",
			 name);
		log_info("session %s: %s", s->sid, msg);
		ctl_error(k, ESRCH, msg);
		return;
	}
	if (s->pid <= 0 || !s->job || k->pending)
		return; /* wait for the start, or for the answer */
	/* With a tty the terminal's foreground group (a shell's running
	 * job), falling back to the session's group; the launcher knows
	 * which, and signals only a process it started and did not reap. */
	k->pending = ++s->t->next_cookie;
	launcher_signal(s->job, sig, LAUNCH_SIG_FOREGROUND, k->pending);
}

/* The launcher's answer to signal_decide(). */
static void signal_answered(struct xsession *s, uint64_t cookie, int err,
			    pid_t pg, bool fg)
{
	struct xsession_ctl *k;
	char msg[128], name[16];

	for (k = s->ctl; k && k->pending != cookie; k = k->next)
		;
	if (!k)
		return; /* the stream closed meanwhile */
	k->pending = 0;
	if (k->dead || k->answered)
		return;
	signal_abbrev(signal_parse(k->buf, k->len), name, sizeof(name));
	if (err) {
		snprintf(msg, sizeof(msg), "signal %s to process group %d: %s",
			 name, (int)pg, strerror(err));
		log_warn("session %s: %s", s->sid, msg);
		ctl_error(k, err, msg);
		return;
	}
	log_info("session %s: signal %s sent to %sprocess group %d", s->sid,
		 name, fg ? "the terminal's foreground " : "", (int)pg);
	k->answered = k->dead = true;
	reply_status(k->st, 200, true);
}

static void signal_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct xsession_ctl *k = arg;

	h2_stream_consume(st, len);
	if (k->dead)
		return;
	if (k->len + len > SIGNAL_BODY_MAX) {
		log_info("session %s: signal stream: body over %d bytes",
			 k->s->sid, SIGNAL_BODY_MAX);
		ctl_error(k, EINVAL, "signal: not a signal name or number");
		return;
	}
	memcpy(k->buf + k->len, data, len);
	k->len += len;
}

static void signal_on_end(struct h2_stream *st, void *arg)
{
	struct xsession_ctl *k = arg;

	(void)st;
	k->body_ended = true;
	signal_decide(k);
}

static void xsession_resize(struct xsession *s, unsigned short cols,
			    unsigned short rows)
{
	int rc = pty_resize(s->tty_fd, cols, rows);

	if (rc < 0)
		log_warn("session %s: resize %ux%u: %s", s->sid, cols, rows,
			 strerror(-rc));
	else
		log_debug("session %s: resized to %ux%u", s->sid, cols, rows);
}

/* Apply the newest size; until the terminal exists (the start is still
 * on its way) the session keeps it, as the stream may be gone by then. */
static void resize_apply(struct xsession_ctl *k)
{
	struct xsession *s = k->s;

	if (!k->has_size || !k->answered || xsession_ended(s))
		return;
	k->has_size = false;
	if (s->tty_fd < 0) {
		s->pend_cols = k->cols;
		s->pend_rows = k->rows;
		return;
	}
	xsession_resize(s, k->cols, k->rows);
}

/* Answer the resize stream once the start is decided. */
static void resize_decide(struct xsession_ctl *k)
{
	struct xsession *s = k->s;

	if (k->dead || k->answered)
		return;
	switch (s->state) {
	case XSESSION_REQUEST:
		return; /* tty or not is not known yet */
	case XSESSION_FAILED:
		ctl_error(k, ENOENT, "session failed to start");
		return;
	case XSESSION_EXITED:
		ctl_error(k, ESRCH, "resize: the process has ended");
		return;
	case XSESSION_SPAWNING:
	case XSESSION_RUNNING:
		break;
	}
	if (!s->tty) {
		log_info("session %s: resize refused: the session has no tty",
			 s->sid);
		ctl_error(k, EBUSY, "resize: the session has no tty");
		return;
	}
	k->answered = true;
	if (reply_status(k->st, 200, k->body_ended) < 0 || k->body_ended)
		k->dead = true;
	resize_apply(k);
}

static void resize_line(struct xsession_ctl *k)
{
	unsigned short cols, rows;

	if (pty_parse_size(k->buf, k->len, &cols, &rows) < 0) {
		k->buf[k->len] = '\0';
		ctl_reset(k, "malformed line (want \"COLS ROWS\")");
		return;
	}
	k->len = 0;
	k->cols = cols;
	k->rows = rows;
	k->has_size = true;
	resize_apply(k);
}

static void resize_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct xsession_ctl *k = arg;
	size_t i;

	h2_stream_consume(st, len);
	for (i = 0; i < len && !k->dead; i++) {
		if (data[i] == '\n')
			resize_line(k);
		else if (k->len == PTY_SIZE_LINE_MAX)
			ctl_reset(k, "line too long");
		else
			k->buf[k->len++] = data[i];
	}
}

static void resize_on_end(struct h2_stream *st, void *arg)
{
	struct xsession_ctl *k = arg;

	k->body_ended = true;
	if (k->dead)
		return;
	if (k->len)
		resize_line(k); /* a last line without its newline */
	if (k->answered && !k->dead) {
		k->dead = true;
		h2_stream_end(st);
	}
}

static const struct h2_stream_cbs signal_cbs = {
	.on_data = signal_on_data,
	.on_end = signal_on_end,
	.on_close = ctl_on_close,
};

static const struct h2_stream_cbs resize_cbs = {
	.on_data = resize_on_data,
	.on_end = resize_on_end,
	.on_close = ctl_on_close,
};

/* The start was decided, or the process ended: answer what waited, end
 * resize streams of an ended session. */
static void ctl_update(struct xsession *s)
{
	struct xsession_ctl *k, *next;

	for (k = s->ctl; k; k = next) {
		next = k->next; /* nothing here frees k (on_close is later) */
		if (k->kind == CTL_SIGNAL) {
			signal_decide(k);
			continue;
		}
		resize_decide(k);
		if (xsession_ended(s) && k->answered && !k->dead) {
			k->dead = true;
			h2_stream_end(k->st);
		}
	}
}

static void ctl_attach(struct xsession *s, struct h2_stream *st,
		       enum ctl_kind kind)
{
	struct xsession_ctl *k = calloc(1, sizeof(*k));

	if (!k) {
		reply_error(st, ENOMEM, "out of memory");
		return;
	}
	k->s = s;
	k->st = st;
	k->kind = kind;
	k->next = s->ctl;
	s->ctl = k;
	h2_stream_set_cbs(st, kind == CTL_SIGNAL ? &signal_cbs : &resize_cbs,
			  k);
	if (kind == CTL_RESIZE)
		resize_decide(k);
	xsession_check(s);
}

/* ---- the process -------------------------------------------------------- */

static void xsession_audit_end(struct xsession *s)
{
	struct audit_end e = { 0 };
	struct timespec now;

	if (!s->audited)
		return;
	s->audited = false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	e.session = s->sid;
	e.identity = s->identity;
	e.node = s->t->node;
	e.container_id = s->container;
	if (s->state == XSESSION_FAILED) {
		e.state = "failed";
		e.reason = s->message;
	} else if (WIFEXITED(s->wstatus)) {
		e.state = "exited";
		e.code = WEXITSTATUS(s->wstatus);
	} else {
		e.state = "killed";
		e.signame = sigabbrev_np(WTERMSIG(s->wstatus));
	}
	e.bytes_in = s->bytes_in;
	e.bytes_out = s->out[0].sent + s->out[1].sent;
	e.duration = (double)(now.tv_sec - s->started.tv_sec) +
		     (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
	audit_session_end(s->t->audit, &e);
}

static void xsession_fail(struct xsession *s, int err, const char *message)
{
	int i;

	s->state = XSESSION_FAILED;
	s->err = err;
	snprintf(s->message, sizeof(s->message), "%s", message);
	log_info("session %s: start failed: %s", s->sid, message);
	xsession_audit_end(s);
	if (s->status_st)
		reply_error(s->status_st, err, message);
	for (i = 0; i < 2; i++) {
		fd_close(&s->out[i].fd);
		ev_free(&s->out[i].ev);
		if (s->out[i].st)
			reply_error(s->out[i].st, ENOENT,
				    "session failed to start");
	}
	ev_free(&s->in_ev);
	fd_close(&s->in_fd);
	if (s->in_st)
		reply_error(s->in_st, ENOENT, "session failed to start");
	ctl_update(s);
}

/* The status stream's last words: the status document, then its end. */
static void status_send_end(struct xsession *s)
{
	json_t *doc;

	if (!s->status_st)
		return;
	doc = status_doc(s);
	if (reply_json_line(s->status_st, doc) == 0)
		h2_stream_end(s->status_st);
	json_decref(doc);
}

/* Both facts are in: the process was reaped and its start was decided. */
static void xsession_exited(struct xsession *s)
{
	json_t *doc;

	if (s->state == XSESSION_FAILED) {
		xsession_check(s);
		return;
	}
	s->state = XSESSION_EXITED;
	xsession_audit_end(s);
	doc = status_doc(s);
	log_info("session %s: pid %d ended: %s", s->sid, (int)s->pid,
		 json_string_value(json_object_get(doc, EXECFS_J_STATE)));
	json_decref(doc);
	status_send_end(s);
	ctl_update(s);
	xsession_check(s);
}

/* The launcher reaped the process. */
static void launch_on_exit(void *arg, int wstatus)
{
	struct xsession *s = arg;

	s->job = NULL;
	s->wstatus = wstatus;
	s->reaped = true;
	/* While the start report is pending, it decides what the exit means
	 * (a failed execve also ends the process). */
	if (s->report_fd < 0)
		xsession_exited(s);
}

static void xsession_running(struct xsession *s)
{
	int i;

	s->state = XSESSION_RUNNING;
	log_info("session %s: pid %d running in %s", s->sid, (int)s->pid,
		 s->container);
	if (s->status_st)
		reply_status(s->status_st, 200, false);
	for (i = 0; i < 2; i++)
		out_start(&s->out[i]);
	in_flush(s);
}

static void report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsession *s = arg;
	char msg[512];
	int rc;

	(void)what;
	rc = spawn_report_read(fd, msg, sizeof(msg));
	if (rc == -EAGAIN)
		return;
	ev_free(&s->report_ev);
	fd_close(&s->report_fd);
	if (rc == 0)
		xsession_running(s);
	else
		xsession_fail(s, -rc, msg); /* exit_cb still reaps it */
	if (s->reaped)
		xsession_exited(s);
}

static size_t xsessions_running_of(const struct xsession_table *t,
				   const char *identity)
{
	const struct xsession *o;
	size_t n = 0;

	/* Ended ones kept for a resume count too: they hold output. */
	for (o = t->head; o; o = o->next)
		if ((o->state == XSESSION_SPAWNING ||
		     o->state == XSESSION_RUNNING || o->lost ||
		     xsession_holds_output(o)) &&
		    !strcmp(o->identity, identity))
			n++;
	return n;
}

/* The policy decides, on the container as the runtime describes it. An
 * allowed start is audited here, before anything runs. */
static bool xsession_allowed(struct xsession *s, const struct container *c,
			     const struct exec_spec *req)
{
	struct policy_query q = { s->identity, c, req->user,
				  xsessions_running_of(s->t, s->identity) };
	struct audit_start a = { s->sid,    s->identity, s->t->node, c,
				 req->argv, req->tty,	 req->user,  req->cwd };
	char why[512] = "no policy";

	if (q.sessions >= s->t->per_identity) {
		snprintf(why, sizeof(why),
			 "%s has %zu running sessions, the agent's limit",
			 s->identity, q.sessions);
		log_warn("session %s: denied: %s", s->sid, why);
		audit_session_denied(s->t->audit, &a, why);
		xsession_fail(s, EAGAIN, why);
		return false;
	}
	if (!s->t->policy ||
	    policy_check(s->t->policy, &q, why, sizeof(why)) < 0) {
		log_warn("session %s: denied: %s", s->sid, why);
		audit_session_denied(s->t->audit, &a, why);
		xsession_fail(s, EACCES, why);
		return false;
	}
	audit_session_start(s->t->audit, &a);
	s->audited = true;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	return true;
}

/* The launcher decided the start: the process runs (its execve may still
 * fail: report_fd says), or it never did. */
static void launch_on_start(void *arg, int err, const char *message,
			    const struct launch_started *st)
{
	struct xsession *s = arg;
	int i;

	if (err) {
		s->job = NULL;
		xsession_fail(s, err, message);
		/* Its client may have gone while it started: then nobody
		 * will ever close a stream of it. */
		xsession_check(s);
		return;
	}
	s->pid = st->pid;
	s->in_fd = st->stdin_fd;
	s->out[0].fd = st->stdout_fd;
	s->out[1].fd = st->stderr_fd;
	s->tty_fd = st->tty_fd;
	s->report_fd = st->report_fd;
	s->report_ev = event_new(s->t->base, s->report_fd, EV_READ | EV_PERSIST,
				 report_cb, s);
	s->in_ev = event_new(s->t->base, s->in_fd, EV_WRITE, in_write_cb, s);
	for (i = 0; i < 2; i++)
		if (s->out[i].fd >= 0)
			s->out[i].ev = event_new(s->t->base, s->out[i].fd,
						 EV_READ | EV_PERSIST,
						 out_read_cb, &s->out[i]);
	if (!s->report_ev || !s->in_ev ||
	    (s->out[0].fd >= 0 && !s->out[0].ev) ||
	    (s->out[1].fd >= 0 && !s->out[1].ev)) {
		/* The job stays: its exit still comes and is reaped. */
		launcher_signal(s->job, SIGKILL, 0, 0);
		ev_free(&s->report_ev);
		fd_close(&s->report_fd);
		xsession_fail(s, ENOMEM, "out of memory");
		xsession_check(s);
		return;
	}
	event_add(s->report_ev, NULL);
	if (s->tty_fd >= 0 && s->pend_cols)
		xsession_resize(s, s->pend_cols, s->pend_rows);
	ctl_update(s);
	/* A grace period that ran out while the start was queued found no
	 * process to kill: the process gets one of its own. */
	xsession_check(s);
}

static void launch_on_signal(void *arg, uint64_t cookie, int err, pid_t pg,
			     bool fg)
{
	signal_answered(arg, cookie, err, pg, fg);
}

static const struct launch_cbs xsession_cbs = {
	.on_start = launch_on_start,
	.on_exit = launch_on_exit,
	.on_signal = launch_on_signal,
};

const struct launch_cbs *xsession_launch_cbs(void)
{
	return &xsession_cbs;
}

static int xsession_spawn(struct xsession *s, const struct exec_spec *req)
{
	const struct container *c;
	char err[512] = "";
	int rc;

	rc = inventory_find_running(s->t->inv, req->container, &c, err,
				    sizeof(err));
	if (rc < 0) {
		xsession_fail(s, -rc, err);
		return rc;
	}
	snprintf(s->container, sizeof(s->container), "%s", c->id);
	if (!xsession_allowed(s, c, req))
		return -EACCES;
	s->job = launcher_start(s->t->launcher, req, s);
	if (!s->job) {
		int e = errno ? errno : EIO;

		snprintf(err, sizeof(err), "cannot start: %s", strerror(e));
		xsession_fail(s, e, err);
		return -e;
	}
	s->tty = req->tty;
	s->state = XSESSION_SPAWNING;
	ctl_update(s);
	return 0;
}

/* ---- the status stream -------------------------------------------------- */

static void status_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct xsession *s = arg;

	h2_stream_consume(st, len);
	if (s->state != XSESSION_REQUEST)
		return; /* nothing more is expected; ignore */
	if (evbuffer_get_length(s->req) + len > EXECFS_MAX_REQUEST_BYTES) {
		xsession_fail(s, EINVAL, "exec request too large");
		return;
	}
	evbuffer_add(s->req, data, len);
}

static void status_on_end(struct h2_stream *st, void *arg)
{
	struct xsession *s = arg;
	struct exec_spec req;
	char err[512];
	size_t len;
	int rc;

	(void)st;
	if (s->state != XSESSION_REQUEST)
		return;
	len = evbuffer_get_length(s->req);
	rc = exec_spec_from_json((const char *)evbuffer_pullup(s->req, -1), len,
				 &req, err, sizeof(err));
	evbuffer_free(s->req);
	s->req = NULL;
	if (rc < 0) {
		xsession_fail(s, -rc, err);
		return;
	}
	log_info("session %s: peer %s: exec in %s: %s%s%s%s%s", s->sid,
		 h2_conn_peer(h2_stream_conn(st)), req.container, req.argv[0],
		 req.argv[1] ? " ..." : "", req.tty ? " (tty)" : "",
		 req.user ? " as " : "", req.user ? req.user : "");
	xsession_spawn(s, &req);
	exec_spec_release(&req);
}

static void status_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession *s = arg;

	(void)st;
	s->status_st = NULL;
	if (code == H2_LOST)
		xsession_lost_stream(s, EXECFS_ST_STATUS);
	if (s->state == XSESSION_REQUEST) {
		s->state = XSESSION_FAILED; /* the request never completed */
		snprintf(s->message, sizeof(s->message),
			 "the exec request was not completed");
		s->err = EINVAL;
		ctl_update(s);
	}
	xsession_check(s);
}

static const struct h2_stream_cbs status_cbs = {
	.on_data = status_on_data,
	.on_end = status_on_end,
	.on_close = status_on_close,
};

/* A resume's GET of the status stream: answered as the first one would
 * have been from here on (the start's answer, then the end). */
static void status_attach(struct xsession *s, struct h2_stream *st)
{
	if (s->status_st && !stream_replaces(s->status_st, st)) {
		reply_error(st, EBUSY, "status is already attached");
		return;
	}
	if (s->status_st)
		stream_drop(s->status_st);
	s->status_st = st;
	s->lost = false;
	h2_stream_keep_sent(st);
	h2_stream_set_cbs(st, &status_cbs, s);
	log_info("session %s: status resumed by %s", s->sid, s->identity);
	switch (s->state) {
	case XSESSION_REQUEST:
	case XSESSION_SPAWNING:
		break; /* answered when the start is decided */
	case XSESSION_RUNNING:
		reply_status(st, 200, false);
		break;
	case XSESSION_EXITED:
		if (reply_status(st, 200, false) == 0)
			status_send_end(s);
		break;
	case XSESSION_FAILED:
		reply_error(st, s->err, s->message);
		break;
	}
	xsession_check(s);
}

/* ---- the table ---------------------------------------------------------- */

static struct xsession *xsession_find(struct xsession_table *t, const char *sid)
{
	struct xsession *s;

	for (s = t->head; s; s = s->next)
		if (!strcmp(s->sid, sid))
			return s;
	return NULL;
}

static struct xsession *xsession_new(struct xsession_table *t, const char *sid)
{
	struct xsession *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return NULL;
	s->t = t;
	snprintf(s->sid, sizeof(s->sid), "%s", sid);
	s->in_fd = s->report_fd = s->tty_fd = -1;
	/* Input may arrive before the process exists: nothing sent yet is
	 * the start of a line. */
	s->in_line_start = true;
	for (i = 0; i < 2; i++) {
		s->out[i].s = s;
		s->out[i].fd = -1;
		s->out[i].name = i ? EXECFS_ST_STDERR : EXECFS_ST_STDOUT;
	}
	s->req = evbuffer_new();
	s->inbuf = evbuffer_new();
	s->grace_ev = evtimer_new(t->base, grace_cb, s);
	if (!s->req || !s->inbuf || !s->grace_ev) {
		xsession_free(s);
		return NULL;
	}
	s->next = t->head;
	t->head = s;
	return s;
}

void xsession_table_route(struct xsession_table *t, struct h2_stream *st,
			  const char *sid, const char *streamtype)
{
	struct xsession *s;

	if (!session_id_valid(sid)) {
		reply_error(st, EINVAL, "bad session id");
		return;
	}
	if (!streamtype) {
		reply_error(st, EINVAL, "missing streamtype header");
		return;
	}
	s = xsession_find(t, sid);
	if (!strcmp(streamtype, EXECFS_ST_STATUS) &&
	    strcmp(h2_stream_method(st), "GET")) {
		if (s) {
			reply_error(st, EEXIST, "session id in use");
			return;
		}
		s = xsession_new(t, sid);
		if (!s) {
			reply_error(st, ENOMEM, "out of memory");
			return;
		}
		s->status_st = st;
		snprintf(s->identity, sizeof(s->identity), "%s",
			 h2_conn_peer(h2_stream_conn(st)));
		/* Its status document must not be lost in flight either. */
		h2_stream_keep_sent(st);
		h2_stream_set_cbs(st, &status_cbs, s);
		return;
	}
	if (!s) {
		reply_error(st, ENOENT, "no such session");
		return;
	}
	/* Every stream is checked, not only the start: a session's streams
	 * belong to the peer that started it. */
	if (strcmp(h2_conn_peer(h2_stream_conn(st)), s->identity)) {
		log_warn(
			"session %s: %s stream from %s refused (started by %s)",
			s->sid, streamtype, h2_conn_peer(h2_stream_conn(st)),
			s->identity);
		reply_error(st, EACCES, "session belongs to another peer");
		return;
	}
	if (!strcmp(streamtype, EXECFS_ST_STATUS))
		status_attach(s, st);
	else if (!strcmp(streamtype, EXECFS_ST_STDOUT))
		out_attach(s, &s->out[0], st);
	else if (!strcmp(streamtype, EXECFS_ST_STDERR))
		out_attach(s, &s->out[1], st);
	else if (!strcmp(streamtype, EXECFS_ST_STDIN))
		in_attach(s, st);
	else if (!strcmp(streamtype, EXECFS_ST_SIGNAL))
		ctl_attach(s, st, CTL_SIGNAL);
	else if (!strcmp(streamtype, EXECFS_ST_RESIZE))
		ctl_attach(s, st, CTL_RESIZE);
	else
		reply_error(st, EINVAL, "unknown streamtype");
}

struct xsession_table *xsession_table_new(struct event_base *base,
					  struct inventory *inv,
					  struct launcher *launcher)
{
	struct xsession_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->base = base;
	t->inv = inv;
	t->launcher = launcher;
	t->per_identity = XSESSION_DEFAULT_PER_IDENTITY;
	t->grace = XSESSION_GRACE_SECONDS;
	return t;
}

void xsession_table_set_policy(struct xsession_table *t,
			       const struct policy *policy)
{
	t->policy = policy;
}

void xsession_table_set_audit(struct xsession_table *t, struct audit *audit,
			      const char *node)
{
	t->audit = audit;
	snprintf(t->node, sizeof(t->node), "%s", node);
}

void xsession_table_set_limit(struct xsession_table *t, size_t per_identity)
{
	t->per_identity = per_identity ? per_identity :
					 XSESSION_DEFAULT_PER_IDENTITY;
}

void xsession_table_set_grace(struct xsession_table *t, unsigned seconds)
{
	t->grace = seconds ? seconds : XSESSION_GRACE_SECONDS;
}

void xsession_table_free(struct xsession_table *t)
{
	if (!t)
		return;
	while (t->head) {
		struct xsession *s = t->head;

		if (s->pid > 0 && !xsession_ended(s)) {
			/* xsession_free() drops the job: the launcher kills
			 * the process group. */
			/* Not reaped (the loop is over), but its end is known:
			 * the audit trail must not have a start without one. */
			s->wstatus = SIGKILL;
			s->state = XSESSION_EXITED;
			xsession_audit_end(s);
		}
		xsession_free(s);
	}
	free(t);
}
