/*
 * The writer side of a session's stdin (see stdin.h).
 *
 * The stream keeps what it sent until the agent took it (resume.h's
 * sender: what a lost stream may not have delivered is held, writes park
 * behind it, and the next connection's stream starts with it, saying its
 * offset; the agent skips what it already had).
 */
#include "stdin.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_wait.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "execfs/resume.h"
#include "metrics.h"
#include "park.h"
#include "stream_parent.h"

enum in_state {
	IN_IDLE, /* not requested yet */
	IN_OPEN, /* bytes may be written */
	IN_ENDED, /* END_STREAM queued: the process saw (or will see) EOF */
	IN_CLOSED, /* the stream is gone (reset or connection lost) */
};

struct in_stream {
	struct stream_parent parent; /* the session's, copied */
	enum in_state state;
	struct h2_stream *st; /* while open; freed by the transport */
	struct echo_wait *echo; /* a tty session's: not owned */
	unsigned writers; /* handles open for writing */
	bool eof_wanted; /* end once the parked writes drained */
	struct list parked; /* struct in_write */
	struct list pollers; /* writers waiting for room (poll POLLOUT) */
	int http_status; /* of the current stream; 200: EOF delivered */
	/* bytes put into streams, and what a lost one may not have
	 * delivered: sent first on the next */
	struct resume_tx tx;
};

/* A write waiting for room in the stream's outgoing buffer. */
struct in_write {
	struct park park; /* first: the park owns the allocation */
	size_t size, done;
	char data[]; /* the caller's bytes, copied */
};

static void in_stream_on_response(struct h2_stream *st, int status, void *arg);
static void in_stream_on_data(struct h2_stream *st, const uint8_t *data,
			      size_t len, void *arg);
static void in_stream_on_writable(struct h2_stream *st, void *arg);
static void in_stream_on_close(struct h2_stream *st, uint32_t error_code,
			       void *arg);

static const struct h2_stream_cbs in_stream_cbs = {
	.on_response = in_stream_on_response,
	.on_data = in_stream_on_data,
	.on_writable = in_stream_on_writable,
	.on_close = in_stream_on_close,
};

struct in_stream *in_stream_new(const struct stream_parent *parent)
{
	struct in_stream *in = calloc(1, sizeof(*in)); /* the session's */

	if (!in)
		return NULL;
	in->parent = *parent;
	in->state = IN_IDLE;
	resume_tx_init(&in->tx);
	list_init(&in->parked);
	list_init(&in->pollers);
	return in;
}

void in_stream_set_echo(struct in_stream *in, struct echo_wait *e)
{
	in->echo = e;
}

/* What a lost stream may not have delivered is still to go out. */
static bool in_held(const struct in_stream *in)
{
	return resume_tx_held(&in->tx) > 0;
}

/* User bytes into the stream, counted. */
static int in_put(struct in_stream *in, const void *buf, size_t len)
{
	int rc = resume_tx_write(&in->tx, in->st, buf, len);

	if (rc >= 0)
		fs_metrics_add(FSM_BYTES_IN, len);
	return rc;
}

static void in_write_fail_all(struct in_stream *in, int err)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &in->parked) {
		struct in_write *w =
			list_entry(pos, struct in_write, park.link);

		park_take(&w->park);
		if (w->done > 0)
			fuse_reply_write(w->park.req, w->done);
		else
			fuse_reply_err(w->park.req, err);
		free(w);
	}
}

void in_stream_free(struct in_stream *in)
{
	if (!in)
		return;
	in_write_fail_all(in, EIO);
	poller_wake_all(&in->pollers);
	resume_tx_release(&in->tx);
	free(in);
}

/* POST the stream; its body starts with what is held, or new bytes. */
static int in_stream_post(struct in_stream *in, struct h2_conn *c,
			  const char *path)
{
	char off[RESUME_OFFSET_LEN];
	uint64_t first = resume_tx_resend_from(&in->tx);
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_STDIN },
		{ EXECFS_HDR_OFFSET, resume_offset_format(first, off) },
	};

	in->http_status = 0;
	in->st = h2_conn_request(c, "POST", path, hdrs, first ? 2 : 1, false,
				 &in_stream_cbs, in);
	if (!in->st)
		return errno ? -errno : -EIO;
	h2_stream_keep_sent(in->st);
	in->parent.get(in->parent.arg); /* until on_close */
	in->state = IN_OPEN;
	return 0;
}

int in_stream_request(struct in_stream *in, struct h2_conn *c, const char *path)
{
	return in_stream_post(in, c, path);
}

/* Move parked bytes into the stream while it has room; end it when asked
 * and drained. */
static void in_stream_pump(struct in_stream *in)
{
	struct list *pos, *tmp;

	if (in->state != IN_OPEN || !in->st)
		return;
	/* What a lost stream may not have delivered goes first. */
	if (!resume_tx_pump(&in->tx, in->st))
		return;
	list_for_each_safe(pos, tmp, &in->parked) {
		struct in_write *w =
			list_entry(pos, struct in_write, park.link);
		size_t space = h2_stream_write_space(in->st);
		size_t k = w->size - w->done;
		int rc;

		if (space == 0)
			return;
		if (k > space)
			k = space;
		rc = k ? in_put(in, w->data + w->done, k) : 0;
		if (rc < 0) {
			park_take(&w->park);
			fuse_reply_err(w->park.req, -rc);
			free(w);
			continue;
		}
		w->done += k;
		if (w->done < w->size)
			return;
		park_take(&w->park);
		fuse_reply_write(w->park.req, w->size);
		free(w);
	}
	if (in->eof_wanted) {
		in->eof_wanted = false;
		in->state = IN_ENDED;
		h2_stream_end(in->st);
	}
}

static void in_write_interrupted(struct park *p)
{
	struct in_write *w = container_of(p, struct in_write, park);

	park_take(p);
	/* Bytes already queued cannot be taken back: report them. */
	if (w->done > 0)
		fuse_reply_write(p->req, w->done);
	else
		fuse_reply_err(p->req, EINTR);
	free(w);
}

void in_stream_write(struct in_stream *in, fuse_req_t req, const char *buf,
		     size_t size, bool nonblock)
{
	struct in_write *w;
	size_t space;
	int rc;

	switch (in->state) {
	case IN_OPEN:
		break;
	case IN_IDLE:
	case IN_ENDED:
	case IN_CLOSED:
		/* Nobody reads this stdin (any more): like a widowed pipe. */
		fuse_reply_err(req, EPIPE);
		return;
	}
	if (in->echo)
		echo_wait_written(in->echo, size);
	/* Resuming (no stream, or held bytes still going out): writes wait
	 * behind them. */
	space = list_empty(&in->parked) && in->st && !in_held(in) ?
			h2_stream_write_space(in->st) :
			0;
	if (space >= size || (nonblock && space > 0)) {
		/* Non-blocking: what fits now, like a pipe's short write. */
		if (size > space)
			size = space;
		rc = in_put(in, buf, size);
		if (rc < 0)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_write(req, size);
		return;
	}
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	if (list_empty(&in->parked) && space > 0) {
		/* Take the whole write into the stream now (one copy, no
		 * staging buffer: the stream's hard cap is 4 x HIWAT, and at
		 * most HIWAT plus one write is queued) and hold only the reply
		 * until the stream drains below HIWAT, as a full pipe would. */
		rc = in_put(in, buf, size);
		if (rc < 0) {
			fuse_reply_err(req, -rc);
			return;
		}
		w = malloc(sizeof(*w)); /* owned by the parked queue */
		if (!w) {
			fuse_reply_write(req, size); /* accepted; don't hold */
			return;
		}
		w->size = size;
		w->done = size;
		park_add(&in->parked, &w->park, req, in_write_interrupted);
		in_stream_pump(in); /* replies now if there is room again */
		return;
	}
	w = malloc(sizeof(*w) + size); /* owned by the parked queue */
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->size = size;
	w->done = 0;
	memcpy(w->data, buf, size);
	park_add(&in->parked, &w->park, req, in_write_interrupted);
	in_stream_pump(in);
}

int in_stream_eof(struct in_stream *in)
{
	switch (in->state) {
	case IN_OPEN:
		in->eof_wanted = true;
		in_stream_pump(in);
		return 0;
	case IN_IDLE:
		return -ENOTCONN;
	case IN_ENDED:
	case IN_CLOSED:
		return 0;
	}
	return 0;
}

void in_stream_process_ended(struct in_stream *in)
{
	if (in->state != IN_OPEN)
		return;
	if (!in->st) {
		/* Lost and not resumed yet: nothing to resume for. */
		in->state = IN_CLOSED;
		resume_tx_drop(&in->tx);
		in_write_fail_all(in, EPIPE);
		poller_wake_all(&in->pollers);
		return;
	}
	/* Nobody reads any more (the agent drops what still comes): parked
	 * writes fail, later ones too (IN_ENDED), as on a widowed pipe. */
	in_write_fail_all(in, EPIPE);
	in->eof_wanted = true;
	in_stream_pump(in);
	poller_wake_all(&in->pollers);
}

void in_stream_writer_open(struct in_stream *in)
{
	in->writers++;
}

void in_stream_writer_close(struct in_stream *in)
{
	if (in->writers > 0 && --in->writers == 0)
		in_stream_eof(in);
}

/* ---- resuming ----------------------------------------------------------- */

/* st is lost: hold what the agent may lack; an ended stdin ends again. */
static int in_stream_lose(struct in_stream *in, struct h2_stream *st)
{
	if (resume_tx_lose(&in->tx, st) < 0) {
		log_error("session %s: stdin: out of memory: cannot resume",
			  in->parent.name);
		return -ENOMEM;
	}
	if (in->state == IN_ENDED) {
		in->state = IN_OPEN;
		in->eof_wanted = true;
	}
	return 0;
}

bool in_stream_needs_resume(const struct in_stream *in)
{
	return in->state == IN_OPEN && !in->st;
}

int in_stream_resume(struct in_stream *in, struct h2_conn *c, const char *path)
{
	int rc = in_stream_post(in, c, path);

	if (rc == 0)
		in_stream_pump(in);
	/* Writers polled for room while it was gone (execfs exec does):
	 * the stream may never fill, so no on_writable would tell them. */
	if (rc == 0 && list_empty(&in->parked))
		poller_wake_all(&in->pollers);
	return rc;
}

void in_stream_give_up(struct in_stream *in)
{
	if (!in_stream_needs_resume(in))
		return;
	in->state = IN_CLOSED;
	resume_tx_drop(&in->tx);
	in_write_fail_all(in, EIO);
	poller_wake_all(&in->pollers);
}

/* ---- transport callbacks ------------------------------------------------ */

static void in_stream_on_response(struct h2_stream *st, int status, void *arg)
{
	struct in_stream *in = arg;

	in->http_status = status;
	switch (in->state) {
	case IN_OPEN:
		if (status == 200)
			break;
		/* The session did not start: nobody will read. End our side so
		 * the stream closes. */
		in->state = IN_CLOSED;
		in_write_fail_all(in, EPIPE);
		poller_wake_all(&in->pollers);
		h2_stream_end(st);
		break;
	case IN_IDLE:
	case IN_ENDED:
	case IN_CLOSED:
		break;
	}
}

static void in_stream_on_data(struct h2_stream *st, const uint8_t *data,
			      size_t len, void *arg)
{
	h2_stream_consume(st, len); /* error documents only; not used */
}

static void in_stream_on_writable(struct h2_stream *st, void *arg)
{
	struct in_stream *in = arg;

	in_stream_pump(in);
	if (list_empty(&in->parked))
		poller_wake_all(&in->pollers);
}

unsigned in_stream_poll(struct in_stream *in, struct poller *pl,
			struct fuse_pollhandle *ph)
{
	switch (in->state) {
	case IN_OPEN:
		if (list_empty(&in->parked) && in->st && !in_held(in) &&
		    h2_stream_write_space(in->st) > 0)
			break;
		if (ph)
			poller_arm(&in->pollers, pl, ph);
		return 0;
	case IN_IDLE:
		/* Not started: a write would fail at once (EPIPE). */
	case IN_ENDED:
	case IN_CLOSED:
		if (ph)
			fuse_pollhandle_destroy(ph);
		return POLLERR;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	return POLLOUT | POLLWRNORM;
}

static void in_stream_on_close(struct h2_stream *st, uint32_t error_code,
			       void *arg)
{
	struct in_stream *in = arg;

	/* Lost with its connection before the agent delivered all (its 200
	 * says it did): resumed on the next, from what it may lack. */
	if (error_code == H2_LOST && in->http_status != 200 &&
	    (in->state == IN_OPEN || in->state == IN_ENDED) &&
	    in_stream_lose(in, st) == 0) {
		in->st = NULL;
		in->parent.lost(in->parent.arg);
		in->parent.put(in->parent.arg); /* may free in */
		return;
	}
	in->st = NULL;
	switch (in->state) {
	case IN_OPEN:
	case IN_ENDED:
		in->state = IN_CLOSED;
		resume_tx_drop(&in->tx);
		in_write_fail_all(in, error_code ? EIO : EPIPE);
		poller_wake_all(&in->pollers);
		break;
	case IN_IDLE:
	case IN_CLOSED:
		break;
	}
	in->parent.put(in->parent.arg); /* last: may free in */
}
