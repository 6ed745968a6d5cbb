/*
 * A session's stdin: bytes received on the stream go into the process's
 * pipe (with a tty, the pty master), and only once they are in it is
 * their window returned to the client, so a process that does not read
 * holds its writer back. Bytes that arrive before the process exists wait,
 * bounded by the stream's window.
 *
 * The end of the body closes the pipe. With a tty it types the terminal's
 * VEOF character instead (twice after a partial line), as a user who
 * types ^D does: the terminal stays.
 *
 * Resuming: a stream lost with its connection leaves stdin open. The
 * client re-sends from the offset of the first byte it may not have
 * delivered; what the agent already received is skipped, and bytes still
 * buffered from the old stream go first.
 */
#include <errno.h>
#include <inttypes.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "pty.h"
#include "metrics.h"
#include "reply.h"
#include "session_internal.h"

/* The most stdin a session buffers: what one stream's window lets through
 * and what an earlier stream left (both grown). A client cannot send past
 * its stream's window, but each stream re-attached from a new connection
 * starts with a fresh one: without this, reconnecting while the process
 * does not read would grow the buffer by a window each time. */
#define IN_BUF_MAX (2 * (H2_BULK_WINDOW + 256 * 1024))

/* Stdin bytes that must have reached the process before its stream gets
 * the bulk window: more than a grown pipe holds, so the process reads. */
#define IN_GROW_AFTER (2 * XSESSION_PIPE_BULK_BYTES)

/*
 * The client ended stdin and every byte reached the process. Without a
 * tty: close the pipe. With one: type VEOF (twice after a partial line);
 * false when the terminal's queue is full and in->ev will call again.
 */
static bool in_finish(struct xsession *s)
{
	struct xsession_in *in = &s->in;
	ssize_t n;

	if (s->tty && in->fd >= 0) {
		if (!in->eof_left)
			in->eof_left = in->line_start ? 1 : 2;
		n = pty_send_eof(in->fd, in->eof_left);
		if (n == -EAGAIN || n == 0 ||
		    (n > 0 && (size_t)n < in->eof_left)) {
			if (n > 0)
				in->eof_left -= n;
			event_add(in->ev, NULL);
			return false;
		}
		/* Other errors: the terminal is gone, and so is the
		 * reader. */
		if (n < 0)
			log_debug("session %s: VEOF: %s", s->sid, strerror(-n));
		in->eof_left = 0;
		in->line_start = true;
		log_debug("session %s: stdin ended: VEOF sent", s->sid);
	} else {
		ev_free(&in->ev);
		fd_close(&in->fd);
	}
	if (in->st)
		reply_status(in->st, 200, true);
	return true;
}

/* n bytes reached the process's pipe: their window goes back, to the
 * stream they came on (bytes of a lost stream come first). */
static void in_consumed(struct xsession_in *in, struct h2_stream *st, size_t n)
{
	size_t old = n < in->old ? n : in->old;

	in->old -= old;
	in->delivered += n;
	metrics_add(METRIC_BYTES_IN, n);
	if (!st)
		return;
	h2_stream_consume(st, n - old);
	if (in->delivered >= IN_GROW_AFTER)
		h2_stream_grow_window(st);
}

/* Move buffered input into the pipe; window goes back as it does. */
void xsession_in_flush(struct xsession *s)
{
	struct xsession_in *in = &s->in;
	size_t before, n;
	int rv;

	if (s->state < XSESSION_RUNNING)
		return;
	while (in->fd >= 0 && evbuffer_get_length(in->buf) > 0) {
		before = evbuffer_get_length(in->buf);
		rv = evbuffer_write(in->buf, in->fd);
		if (rv < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!in->bulk) {
				xsession_pipe_grow(in->fd, &in->bulk);
				continue;
			}
			event_add(in->ev, NULL);
			return;
		}
		if (rv < 0) {
			/* The process closed its stdin (EPIPE): discard. */
			evbuffer_drain(in->buf, before);
			fd_close(&in->fd);
			ev_free(&in->ev);
		}
		n = before - evbuffer_get_length(in->buf);
		in_consumed(in, in->st, n);
	}
	if (in->fd < 0 && in->st) {
		/* Nobody reads any more: take the bytes so the client is not
		 * held forever. */
		n = evbuffer_get_length(in->buf);
		evbuffer_drain(in->buf, n);
		h2_stream_consume(in->st, n);
		in->old = 0;
	}
	if (in->end && evbuffer_get_length(in->buf) == 0 && in->st &&
	    in_finish(s))
		in->end = false;
}

static void in_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	xsession_in_flush(arg);
}

static void in_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
		       void *arg)
{
	struct xsession *s = arg;
	struct xsession_in *in = &s->in;
	ssize_t k;

	k = resume_rx_take(&in->rx, len);
	if (k < 0) {
		log_warn("session %s: stdin: over 2^64 bytes: stream reset",
			 s->sid);
		h2_stream_reset(st, H2_INTERNAL_ERROR);
		return;
	}
	if (k > 0) {
		/* A resume re-sent bytes the agent already had: drop them. */
		h2_stream_consume(st, (size_t)k);
		data += k;
		len -= (size_t)k;
	}
	if (len)
		in->line_start = data[len - 1] == '\n';
	/* Nothing queued before them: the bytes go into the pipe from where
	 * they were received, and only what it does not take is copied. */
	while (len > 0 && s->state >= XSESSION_RUNNING && in->fd >= 0 &&
	       evbuffer_get_length(in->buf) == 0) {
		ssize_t n = write(in->fd, data, len);

		if (n <= 0) {
			if (n < 0 && errno == EAGAIN && !in->bulk) {
				xsession_pipe_grow(in->fd, &in->bulk);
				continue;
			}
			break; /* xsession_in_flush() handles it (or EPIPE) */
		}
		in_consumed(in, st, (size_t)n);
		data += n;
		len -= (size_t)n;
	}
	/* Bounded by the stream window: the client cannot send more than it
	 * was granted, and we grant only what reached the pipe; and, over
	 * re-attached streams, by IN_BUF_MAX. */
	if (len && evbuffer_get_length(in->buf) + len > IN_BUF_MAX) {
		log_warn("session %s: stdin: %zu bytes wait for a process that "
			 "does not read, the most a session holds: stream "
			 "reset, stdin closed",
			 s->sid, evbuffer_get_length(in->buf));
		h2_stream_reset(st, H2_ENHANCE_YOUR_CALM);
		return;
	}
	if (len && evbuffer_add(in->buf, data, len) < 0) {
		log_warn("session %s: stdin: out of memory: stream reset",
			 s->sid);
		h2_stream_reset(st, H2_INTERNAL_ERROR);
		return;
	}
	xsession_in_flush(s);
}

static void in_on_end(struct h2_stream *st, void *arg)
{
	struct xsession *s = arg;

	(void)st;
	s->in.end = true;
	xsession_in_flush(s);
}

/* May free s. */
static void in_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession *s = arg;
	struct xsession_in *in = &s->in;

	(void)st;
	in->st = NULL;
	in->old = evbuffer_get_length(in->buf);
	/* A client that went away mid-stream leaves stdin open for a
	 * resume; one that reset it means EOF. */
	if (code == H2_LOST && !in->end)
		xsession_lost_stream(s, EXECFS_ST_STDIN);
	if (code != 0 && code != H2_CANCEL && code != H2_LOST) {
		ev_free(&in->ev);
		fd_close(&in->fd);
	}
	xsession_check(s);
}

static const struct h2_stream_cbs in_cbs = {
	.on_data = in_on_data,
	.on_end = in_on_end,
	.on_close = in_on_close,
};

int xsession_in_init(struct xsession_in *in)
{
	in->fd = -1;
	resume_rx_init(&in->rx);
	/* Input may arrive before the process exists: nothing sent yet is
	 * the start of a line. */
	in->line_start = true;
	in->buf = evbuffer_new();
	return in->buf ? 0 : -ENOMEM;
}

int xsession_in_open(struct xsession *s, int fd)
{
	s->in.fd = fd;
	s->in.ev = event_new(s->t->base, fd, EV_WRITE, in_write_cb, s);
	return s->in.ev ? 0 : -ENOMEM;
}

void xsession_in_fail(struct xsession *s)
{
	ev_free(&s->in.ev);
	fd_close(&s->in.fd);
	if (s->in.st)
		xsession_reply_not_started(s->in.st);
}

void xsession_in_release(struct xsession_in *in)
{
	ev_free(&in->ev);
	fd_close(&in->fd);
	if (in->buf)
		evbuffer_free(in->buf);
	in->buf = NULL;
}

/* May free s. */
void xsession_in_attach(struct xsession *s, struct h2_stream *st)
{
	struct xsession_in *in = &s->in;
	uint64_t first;
	char msg[160];

	if (in->st && !xsession_stream_replaces(in->st, st)) {
		reply_error(st, EBUSY, "stdin is already attached");
		return;
	}
	if (s->state == XSESSION_FAILED) {
		xsession_reply_not_started(st);
		return;
	}
	/* The offset of the body's first byte: what the agent has of it
	 * already is dropped; a gap would lose bytes. */
	if (xsession_offset_header(st, &first) < 0) {
		reply_error(st, EINVAL, "bad " EXECFS_HDR_OFFSET);
		return;
	}
	/* From here on the new stream's re-sent bytes are dropped. */
	if (resume_rx_begin(&in->rx, first) < 0) {
		snprintf(msg, sizeof(msg),
			 "stdin offset %" PRIu64 " is past the %" PRIu64
			 " bytes received",
			 first, resume_rx_received(&in->rx));
		log_info("session %s: resume refused: %s", s->sid, msg);
		reply_error(st, ERANGE, msg);
		return;
	}
	if (in->st) {
		/* What is still buffered came in order before the resume's
		 * first byte and still goes to the process. */
		xsession_stream_drop(in->st);
		in->st = NULL;
		in->old = evbuffer_get_length(in->buf);
	}
	if (first)
		log_info("session %s: stdin resumed at offset %" PRIu64
			 " (%" PRIu64 " received)",
			 s->sid, first, resume_rx_received(&in->rx));
	in->end = false;
	s->lost = false;
	in->st = st;
	h2_stream_set_cbs(st, &in_cbs, s);
	xsession_check(s);
}
