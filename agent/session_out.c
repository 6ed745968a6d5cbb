/*
 * A session's stdout and stderr: each pipe (with a tty, the pty master)
 * goes to its stream. The pipe is read only while the stream's outgoing
 * buffer has room, and that buffer drains only as the client grants HTTP/2
 * window: a reader that stops stops the process, as a full pipe does. A
 * pty master reads EIO once every slave fd closed: that is its end.
 *
 * Resuming: the stream keeps what it sent until the client has it. A
 * stream lost with its connection hands that back (held) and the pipe is
 * not read until a stream attached at an offset the agent still holds
 * took it: nothing is lost, nothing repeated.
 */
#include <errno.h>
#include <inttypes.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "metrics.h"
#include "reply.h"
#include "session_internal.h"

/* The most one read takes from a pipe (or pty), before and after the pipe
 * grew. */
#define OUT_READ_CHUNK XSESSION_PIPE_DEFAULT_BYTES
#define OUT_READ_BULK XSESSION_PIPE_BULK_BYTES

static void out_update(struct xsession_out *o)
{
	bool want = o->fd >= 0 && o->st && o->s->state >= XSESSION_RUNNING &&
		    resume_tx_held(&o->tx) == 0 &&
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
	if (!resume_tx_pump(&o->tx, o->st)) {
		/* Room left with bytes held: a write failed. */
		if (h2_stream_write_space(o->st) > 0) {
			log_warn("session %s: %s: resending held bytes failed: "
				 "stream reset",
				 o->s->sid, o->name);
			h2_stream_reset(o->st, H2_INTERNAL_ERROR);
			return; /* its on_close detaches it */
		}
	} else if (o->fd < 0) {
		h2_stream_end(o->st);
	}
	out_update(o);
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
		if (n >= XSESSION_PIPE_DEFAULT_BYTES)
			xsession_pipe_grow(fd, &o->bulk);
		if (resume_tx_wrote(&o->tx, (size_t)n) < 0) {
			log_warn(
				"session %s: %s: over 2^64 bytes: stream reset",
				o->s->sid, o->name);
			h2_stream_reset(o->st, H2_INTERNAL_ERROR);
			return;
		}
		metrics_add(METRIC_BYTES_OUT, (uint64_t)n);
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

/* May free the session. */
static void out_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession_out *o = arg;

	if (code == H2_LOST) {
		if (resume_tx_lose(&o->tx, st) < 0)
			log_warn("session %s: %s: out of memory: bytes in "
				 "flight cannot be resent",
				 o->s->sid, o->name);
		xsession_lost_stream(o->s, o->name);
	} else {
		/* Reset by the client: nobody reads them any more. */
		resume_tx_drop(&o->tx);
	}
	o->st = NULL;
	out_update(o);
	xsession_check(o->s);
}

static const struct h2_stream_cbs out_cbs = {
	.on_writable = out_on_writable,
	.on_close = out_on_close,
};

void xsession_out_init(struct xsession_out *o, struct xsession *s,
		       const char *name)
{
	o->s = s;
	o->fd = -1;
	o->name = name;
	resume_tx_init(&o->tx);
}

int xsession_out_open(struct xsession_out *o, int fd)
{
	o->fd = fd;
	if (fd < 0)
		return 0;
	o->ev = event_new(o->s->t->base, fd, EV_READ | EV_PERSIST, out_read_cb,
			  o);
	return o->ev ? 0 : -ENOMEM;
}

/* The session started (or ended without output): answer and start
 * forwarding. */
void xsession_out_start(struct xsession_out *o)
{
	if (!o->st || reply_status(o->st, 200, false) < 0)
		return;
	out_pump(o);
}

void xsession_out_fail(struct xsession_out *o)
{
	fd_close(&o->fd);
	ev_free(&o->ev);
	if (o->st)
		xsession_reply_not_started(o->st);
}

void xsession_out_release(struct xsession_out *o)
{
	ev_free(&o->ev);
	fd_close(&o->fd);
	resume_tx_release(&o->tx);
}

/* May free s. */
void xsession_out_attach(struct xsession *s, struct xsession_out *o,
			 struct h2_stream *st)
{
	uint64_t off, first;
	char msg[160];
	int rc;

	if (o->st && !xsession_stream_replaces(o->st, st)) {
		reply_error(st, EBUSY,
			    "stream is attached on another connection");
		return;
	}
	if (xsession_offset_header(st, &off) < 0) {
		reply_error(st, EINVAL, "bad " EXECFS_HDR_OFFSET);
		return;
	}
	/* The client has everything before off: send from there, which
	 * must be among the bytes held (with those an older stream of it
	 * still has) or the next one to read. */
	first = resume_tx_first(&o->tx, o->st);
	rc = resume_tx_seek(&o->tx, off, o->st);
	if (rc == -ERANGE) {
		snprintf(msg, sizeof(msg),
			 "%s offset %" PRIu64 " is not available (the agent "
			 "has %" PRIu64 " to %" PRIu64 ")",
			 o->name, off, first, resume_tx_end(&o->tx));
		log_info("session %s: resume refused: %s", s->sid, msg);
		reply_error(st, ERANGE, msg);
		return;
	}
	if (rc < 0) {
		reply_error(st, -rc, "out of memory");
		return;
	}
	if (o->st) {
		/* Its unacked bytes were taken back by the seek. */
		xsession_stream_drop(o->st);
		o->st = NULL;
	}
	if (off != 0)
		log_info("session %s: %s resumed at offset %" PRIu64, s->sid,
			 o->name, off);
	o->st = st;
	s->lost = false;
	h2_stream_keep_sent(st);
	h2_stream_set_cbs(st, &out_cbs, o);
	if (s->state >= XSESSION_RUNNING && s->state != XSESSION_FAILED)
		xsession_out_start(o);
	else if (s->state == XSESSION_FAILED)
		xsession_reply_not_started(st);
	xsession_check(s);
}
