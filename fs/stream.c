/*
 * Output streams on the client side (see stream.h). The transport delivers
 * body bytes with their HTTP/2 window still held; we copy them into the
 * history and give the window back only as history_admit() allows, which is
 * what stops a remote process whose output nobody reads.
 */
#include "stream.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "echo_wait.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "execfs/resume.h"
#include "metrics.h"
#include "stream_parent.h"

enum out_state {
	OUT_IDLE, /* not requested yet (session not started) */
	OUT_OPEN, /* requested; bytes may still come */
	OUT_ENDED, /* the agent ended it: EOF after the last byte */
	OUT_LOST, /* reset or connection lost: EIO after the last byte */
};

struct out_stream {
	struct stream_parent parent; /* the session's, copied */
	const char *type; /* EXECFS_ST_STDOUT or EXECFS_ST_STDERR */
	enum out_state state;
	struct h2_stream *st; /* while open; freed by the transport */
	int http_status; /* 0 until the response headers came */
	bool resumed; /* st is a resume's GET: a refusal means lost */
	struct resume_rx rx; /* bytes received, across resumes */
	struct history *hist; /* owned */
	struct echo_wait *echo; /* a tty session's stdout: not owned */
	struct list parked; /* struct out_read */
	struct list pollers; /* struct poller of readers' handles */
	struct timespec mtime; /* when output last arrived */
	/* owned; at FS_PRIO_IDLE: answers parked reads with what there is
	 * once the loop has no more input to process, so while output keeps
	 * coming a read gets all it asked for in one reply, not one network
	 * read's worth. NULL (no event loop: unit tests): answer at once. */
	struct event *wake_ev;
	/* POLLs held for a key's echo (struct out_poll), and the owned timer
	 * that answers them when it does not come in time; NULL without an
	 * event loop (nothing is held). */
	struct list held;
	struct event *hold_ev;
};

/* A read parked at the tail of a stream. */
struct out_read {
	struct park park; /* first: the park owns the allocation */
	struct out_reader *r; /* the handle's reader (outlives the read:
				   release waits for outstanding reads) */
	size_t size;
	off_t off;
};

/* A POLL held for a key's echo (echo_wait.h). */
struct out_poll {
	struct park park; /* first: the park owns the allocation */
	struct out_reader *r; /* the handle's reader (outlives the POLL) */
	struct fuse_pollhandle *ph; /* owned */
	uint64_t until_ns; /* CLOCK_MONOTONIC: answer by then */
};

static void out_stream_on_response(struct h2_stream *st, int status, void *arg);
static void out_stream_on_data(struct h2_stream *st, const uint8_t *data,
			       size_t len, void *arg);
static void out_stream_on_end(struct h2_stream *st, void *arg);
static void out_stream_on_close(struct h2_stream *st, uint32_t error_code,
				void *arg);

static const struct h2_stream_cbs out_stream_cbs = {
	.on_response = out_stream_on_response,
	.on_data = out_stream_on_data,
	.on_end = out_stream_on_end,
	.on_close = out_stream_on_close,
};

static void out_stream_wake(struct out_stream *os);
static void out_poll_expire(evutil_socket_t fd, short what, void *arg);

static void out_stream_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	out_stream_wake(arg);
}

struct out_stream *out_stream_new(const struct stream_parent *parent,
				  const char *type, size_t cap,
				  struct event_base *base)
{
	struct out_stream *os = calloc(1, sizeof(*os)); /* the session's */

	if (!os)
		return NULL;
	os->parent = *parent;
	os->type = type;
	os->state = OUT_IDLE;
	resume_rx_init(&os->rx);
	list_init(&os->parked);
	list_init(&os->pollers);
	list_init(&os->held);
	clock_gettime(CLOCK_REALTIME, &os->mtime);
	os->hist = history_new(cap);
	if (!os->hist)
		goto out_free;
	if (!base)
		return os;
	os->wake_ev = event_new(base, -1, 0, out_stream_wake_cb, os);
	os->hold_ev = evtimer_new(base, out_poll_expire, os);
	if (!os->wake_ev || !os->hold_ev)
		goto out_free;
	/* A base without our priorities (a test's) keeps the default. */
	(void)event_priority_set(os->wake_ev, FS_PRIO_IDLE);
	return os;

out_free:
	out_stream_free(os);
	return NULL;
}

void out_stream_set_echo(struct out_stream *os, struct echo_wait *e)
{
	os->echo = e;
}

/* Answer a held POLL with what is true now (arming its handle if nothing
 * is ready) and free it. */
static void out_poll_finish(struct out_poll *op)
{
	struct out_stream *os = op->r->os;

	park_take(&op->park);
	/* Nothing left to time: a timer left set would take a later key's
	 * hold for a miss. */
	if (os && list_empty(&os->held) && os->hold_ev)
		evtimer_del(os->hold_ev);
	fuse_reply_poll(op->park.req, out_reader_poll(op->r, op->ph));
	free(op);
}

static void out_poll_interrupted(struct park *p)
{
	out_poll_finish(container_of(p, struct out_poll, park));
}

/* Answer the held POLLs of reader r (NULL: all) whose time is up by
 * until_ns (UINT64_MAX: all); how many. */
static unsigned out_poll_answer(struct out_stream *os, struct out_reader *r,
				uint64_t until_ns)
{
	struct list *pos, *tmp;
	unsigned n = 0;

	list_for_each_safe(pos, tmp, &os->held) {
		struct out_poll *op =
			list_entry(pos, struct out_poll, park.link);

		if ((!r || op->r == r) && op->until_ns <= until_ns) {
			out_poll_finish(op);
			n++;
		}
	}
	return n;
}

/* Have the timer go off by until_ns (held POLLs only get later ones). */
static void out_poll_time(struct out_stream *os, uint64_t until_ns)
{
	uint64_t now = echo_wait_now_ns();
	uint64_t left = until_ns > now ? until_ns - now : 0;
	struct timeval tv;

	if (evtimer_pending(os->hold_ev, NULL))
		return;
	tv.tv_sec = (time_t)(left / 1000000000u);
	tv.tv_usec = (suseconds_t)(left % 1000000000u / 1000);
	evtimer_add(os->hold_ev, &tv);
}

static void out_poll_expire(evutil_socket_t fd, short what, void *arg)
{
	struct out_stream *os = arg;

	(void)fd;
	(void)what;
	/* Those whose time is up got no output (it would have answered
	 * them): keys are not echoed in time. */
	if (out_poll_answer(os, NULL, echo_wait_now_ns()) > 0 && os->echo)
		echo_wait_missed(os->echo);
	if (!list_empty(&os->held))
		out_poll_time(os, list_entry(os->held.next, struct out_poll,
					     park.link)
					  ->until_ns);
}

void out_stream_free(struct out_stream *os)
{
	if (!os)
		return;
	park_fail_all(&os->parked, EIO);
	out_poll_answer(os, NULL, UINT64_MAX);
	poller_wake_all(&os->pollers);
	history_free(os->hist);
	if (os->wake_ev)
		event_free(os->wake_ev);
	if (os->hold_ev)
		event_free(os->hold_ev);
	free(os);
}

/* Give back the window the history can take now. Once readers made the
 * history drop bytes (it only drops what every reader is past), the stream
 * is being drained: give it the bulk window. */
static void out_stream_settle(struct out_stream *os)
{
	size_t n = history_admit(os->hist);

	if (n > 0 && os->st) {
		h2_stream_consume(os->st, n);
		if (history_start(os->hist) > 0)
			h2_stream_grow_window(os->st);
	}
}

/* GET the stream from the first byte not received on. */
static int out_stream_get(struct out_stream *os, struct h2_conn *c,
			  const char *path)
{
	char off[RESUME_OFFSET_LEN];
	uint64_t first = resume_rx_received(&os->rx);
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, os->type },
		{ EXECFS_HDR_OFFSET, resume_offset_format(first, off) },
	};

	os->http_status = 0;
	os->st = h2_conn_request(c, "GET", path, hdrs, 2, true, &out_stream_cbs,
				 os);
	if (!os->st)
		return errno ? -errno : -EIO;
	/* The agent sends from there: nothing it sends is had already. */
	(void)resume_rx_begin(&os->rx, first);
	os->parent.get(os->parent.arg); /* until on_close */
	os->state = OUT_OPEN;
	return 0;
}

int out_stream_request(struct out_stream *os, struct h2_conn *c,
		       const char *path)
{
	os->resumed = false;
	return out_stream_get(os, c, path);
}

bool out_stream_needs_resume(const struct out_stream *os)
{
	return os->state == OUT_OPEN && !os->st;
}

int out_stream_resume(struct out_stream *os, struct h2_conn *c,
		      const char *path)
{
	os->resumed = true;
	return out_stream_get(os, c, path);
}

void out_stream_give_up(struct out_stream *os)
{
	if (!out_stream_needs_resume(os))
		return;
	os->state = OUT_LOST;
	out_stream_wake(os);
}

uint64_t out_stream_size(const struct out_stream *os)
{
	return history_end(os->hist);
}

struct timespec out_stream_mtime(const struct out_stream *os)
{
	return os->mtime;
}

bool out_stream_full(const struct out_stream *os)
{
	return history_unadmitted(os->hist) > 0;
}

/* Map a kernel offset to a stream offset for r, skipping bytes that were
 * trimmed away (they can only be gone if r never asked for them while it
 * was attached: see history_reader). */
static uint64_t out_reader_abs(struct out_reader *r, off_t off)
{
	uint64_t abs = (uint64_t)off + r->delta;
	uint64_t start = history_start(r->os->hist);

	if (abs < start) {
		r->delta += start - abs;
		abs = start;
	}
	return abs;
}

/*
 * Try to answer a read. Returns true when req was answered (data, EOF or
 * error), false when it must wait for more bytes. With whole, a read is
 * answered only with all the size bytes it asked for (or at the stream's
 * end): while output keeps arriving, one reply then carries what many
 * network reads brought; out_stream_wake() answers the rest once the loop
 * is idle.
 */
static bool out_reader_try(struct out_reader *r, fuse_req_t req, size_t size,
			   off_t off, bool whole)
{
	struct out_stream *os = r->os;
	struct iovec iov[64];
	uint64_t abs = out_reader_abs(r, off);
	uint64_t end = history_end(os->hist);
	size_t n;
	int cnt, rc;

	if (whole && os->state == OUT_OPEN && abs + size > end)
		return false;
	if (abs < end) {
		n = history_iov(os->hist, abs, size, iov, 64, &cnt);
		rc = fuse_reply_iov(req, iov, cnt);
		/* -ENOENT: the request was interrupted, nobody got the bytes. */
		if (rc == 0) {
			history_delivered(os->hist, &r->hr, abs + n);
			out_stream_settle(os);
		}
		return true;
	}
	switch (os->state) {
	case OUT_IDLE:
	case OUT_OPEN:
		return false;
	case OUT_ENDED:
		fuse_reply_buf(req, NULL, 0);
		return true;
	case OUT_LOST:
		fuse_reply_err(req, EIO);
		return true;
	}
	return false;
}

static void out_read_interrupted(struct park *p)
{
	struct out_read *rd = container_of(p, struct out_read, park);

	park_take(p);
	fuse_reply_err(p->req, EINTR);
	free(rd);
}

void out_reader_read(struct out_reader *r, fuse_req_t req, size_t size,
		     off_t off, bool nonblock)
{
	struct out_read *rd;

	if (!r->os) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (out_reader_try(r, req, size, off, !nonblock))
		return;
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	rd = calloc(1, sizeof(*rd)); /* owned by the parked queue */
	if (!rd) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rd->r = r;
	rd->size = size;
	rd->off = off;
	park_add(&r->os->parked, &rd->park, req, out_read_interrupted);
	/* Part of it is there: hand that over once the loop is idle. Its
	 * own offset decides: a pread of earlier bytes by a reader that has
	 * read to the end waits for nothing. */
	if (out_reader_abs(r, off) < history_end(r->os->hist) && r->os->wake_ev)
		event_active(r->os->wake_ev, EV_TIMEOUT, 0);
}

/* Answer the parked reads that can be answered: with whatever there is,
 * or (whole) only those the history fills completely. */
static void out_stream_answer(struct out_stream *os, bool whole)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &os->parked) {
		struct out_read *rd =
			list_entry(pos, struct out_read, park.link);

		park_take(&rd->park);
		if (!out_reader_try(rd->r, rd->park.req, rd->size, rd->off,
				    whole)) {
			/* Put it back where it was and keep order. */
			list_add_tail(tmp, &rd->park.link);
			continue;
		}
		free(rd);
	}
}

/* Something changed (bytes, end, loss) and the loop is idle (or there is
 * no loop): answer what can be answered. */
static void out_stream_wake(struct out_stream *os)
{
	out_stream_answer(os, false);
	out_poll_answer(os, NULL, UINT64_MAX);
	poller_wake_all(&os->pollers);
}

void out_reader_init(struct out_reader *r)
{
	r->os = NULL;
	r->delta = 0;
	history_reader_init(&r->hr);
	poller_init(&r->poller);
}

void out_reader_attach(struct out_stream *os, struct out_reader *r)
{
	r->os = os;
	r->delta = 0;
	poller_init(&r->poller);
	history_reader_attach(os->hist, &r->hr);
}

void out_reader_detach(struct out_reader *r)
{
	struct out_stream *os = r->os;
	struct list *pos, *tmp;

	if (!os)
		return;
	/* The kernel never releases a handle with reads in flight, but a
	 * forced teardown does: answer them rather than dangle. */
	list_for_each_safe(pos, tmp, &os->parked) {
		struct out_read *rd =
			list_entry(pos, struct out_read, park.link);

		if (rd->r != r)
			continue;
		park_take(&rd->park);
		fuse_reply_err(rd->park.req, EIO);
		free(rd);
	}
	out_poll_answer(os, r, UINT64_MAX);
	poller_release(&r->poller);
	history_reader_detach(os->hist, &r->hr);
	r->os = NULL;
	out_stream_settle(os); /* that reader may have held the trim back */
}

unsigned out_reader_poll(struct out_reader *r, struct fuse_pollhandle *ph)
{
	struct out_stream *os = r->os;

	if (!os || !history_reader_at_end(os->hist, &r->hr) ||
	    os->state == OUT_ENDED || os->state == OUT_LOST) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		return POLLIN | POLLRDNORM;
	}
	if (ph)
		poller_arm(&os->pollers, &r->poller, ph);
	return 0;
}

bool out_reader_poll_hold(struct out_reader *r, fuse_req_t req,
			  struct fuse_pollhandle *ph, unsigned events)
{
	struct out_stream *os = r->os;
	struct out_poll *op;
	uint64_t until;

	if (!os || !ph || !(events & (POLLIN | POLLRDNORM)) || !os->hold_ev ||
	    !os->echo || os->state != OUT_OPEN || !os->st ||
	    !history_reader_at_end(os->hist, &r->hr) ||
	    !echo_wait_due(os->echo, &until))
		return false;
	op = malloc(sizeof(*op)); /* owned by os->held */
	if (!op)
		return false;
	op->r = r;
	op->ph = ph;
	op->until_ns = until;
	out_poll_time(os, until);
	/* Last: an interrupt that already came answers it right here. */
	park_add(&os->held, &op->park, req, out_poll_interrupted);
	return true;
}

void out_stream_cancel(struct out_stream *os)
{
	if (os->st)
		h2_stream_reset(os->st, H2_CANCEL); /* on_close follows */
}

void out_stream_abandon(struct out_stream *os)
{
	if (os->state != OUT_IDLE)
		return;
	os->state = OUT_ENDED;
	out_stream_wake(os);
}

/* ---- transport callbacks: one per input, each a switch on the state ---- */

static void out_stream_on_response(struct h2_stream *st, int status, void *arg)
{
	struct out_stream *os = arg;

	os->http_status = status;
	if (status != 200 && os->resumed)
		log_warn("%s: session %s: the agent refused the resume (%d); "
			 "output after byte %llu is lost",
			 os->type, os->parent.name, status,
			 (unsigned long long)history_end(os->hist));
	else if (status != 200)
		log_debug("%s: session %s answered %d", os->type,
			  os->parent.name, status);
}

static void out_stream_on_data(struct h2_stream *st, const uint8_t *data,
			       size_t len, void *arg)
{
	struct out_stream *os = arg;

	switch (os->state) {
	case OUT_OPEN:
		if (os->http_status != 200) {
			/* An error document (404: the session failed to
			 * start); the status stream reports why. */
			h2_stream_consume(st, len);
			return;
		}
		if (resume_rx_take(&os->rx, len) != 0 ||
		    history_append(os->hist, data, len) < 0) {
			/* (The agent sends from the offset asked for: no byte
			 * is one we had; a count that wraps is 16 EiB away.) */
			log_error("%s: session %s: out of memory or offsets, "
				  "dropping the stream",
				  os->type, os->parent.name);
			h2_stream_reset(st, H2_INTERNAL_ERROR);
			return;
		}
		clock_gettime(CLOCK_REALTIME, &os->mtime);
		fs_metrics_add(FSM_BYTES_OUT, len);
		if (os->echo)
			echo_wait_output(os->echo);
		if (os->wake_ev) {
			out_stream_answer(os, true);
			out_poll_answer(os, NULL, UINT64_MAX);
			event_active(os->wake_ev, EV_TIMEOUT, 0);
		} else {
			out_stream_wake(os);
		}
		out_stream_settle(os);
		break;
	case OUT_IDLE:
	case OUT_ENDED:
	case OUT_LOST:
		h2_stream_consume(st, len);
		break;
	}
}

static void out_stream_on_end(struct h2_stream *st, void *arg)
{
	struct out_stream *os = arg;

	switch (os->state) {
	case OUT_OPEN:
		/* A refused resume: the bytes after what we have are gone. */
		os->state = os->resumed && os->http_status != 200 ? OUT_LOST :
								    OUT_ENDED;
		clock_gettime(CLOCK_REALTIME, &os->mtime);
		out_stream_wake(os);
		break;
	case OUT_IDLE:
	case OUT_ENDED:
	case OUT_LOST:
		break;
	}
}

static void out_stream_on_close(struct h2_stream *st, uint32_t error_code,
				void *arg)
{
	struct out_stream *os = arg;

	os->st = NULL;
	switch (os->state) {
	case OUT_OPEN:
		if (error_code == H2_LOST &&
		    (os->http_status == 200 || os->http_status == 0)) {
			/* Resumed on the next connection, where it stopped;
			 * parked readers wait for it. */
			history_forget_window(os->hist);
			os->parent.lost(os->parent.arg);
			break;
		}
		/* Closed before its end: reset, or refused. */
		os->state = OUT_LOST;
		out_stream_wake(os);
		break;
	case OUT_IDLE:
	case OUT_ENDED:
	case OUT_LOST:
		break;
	}
	os->parent.put(os->parent.arg); /* last: may free os */
}
