/*
 * Sessions (see session.h): their lifetime, their state and the status
 * line, the start (one flight of HTTP/2 streams) and the status stream
 * that follows the process to its end, and `wait`. The settings a start
 * sends: session_opts.c; after the start: session_ctl.c; a lost
 * connection: session_resume.c.
 */
#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "execfs/ctl.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "metrics.h"
#include "node.h"
#include "park.h"
#include "session_internal.h"
#include "statusdoc.h"
#include "stdin.h"
#include "stream.h"
#include "stream_parent.h"

/* A parked read of `wait`. */
struct wait_read {
	struct park park; /* first */
	size_t size;
	off_t off;
};

static void status_on_response(struct h2_stream *st, int status, void *arg);
static void status_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg);
static void status_on_end(struct h2_stream *st, void *arg);
static void status_on_close(struct h2_stream *st, uint32_t error_code,
			    void *arg);

const struct h2_stream_cbs session_status_cbs = {
	.on_response = status_on_response,
	.on_data = status_on_data,
	.on_end = status_on_end,
	.on_close = status_on_close,
};

void session_touch(struct session *s)
{
	clock_gettime(CLOCK_REALTIME, &s->mtime);
}

/* What its streams need of a session (stream_parent.h). */
static void parent_get(void *arg)
{
	session_get(arg);
}

static void parent_put(void *arg)
{
	session_put(arg);
}

static void parent_lost(void *arg)
{
	session_lost(arg);
}

/* Every change of state after NEW; the mount's running gauge follows. */
static void session_set_state(struct session *s, enum session_state st)
{
	if ((s->state == SESSION_RUNNING) != (st == SESSION_RUNNING))
		fs_metrics_running(st == SESSION_RUNNING ? 1 : -1);
	s->state = st;
}

struct session *session_new(const char *container, unsigned num,
			    size_t history_cap, struct event_base *base)
{
	struct session *s = calloc(1, sizeof(*s)); /* refcounted */
	struct stream_parent parent = {
		.arg = s,
		.name = s ? s->sid : NULL,
		.get = parent_get,
		.put = parent_put,
		.lost = parent_lost,
	};
	uint8_t rnd[EXECFS_SID_LEN / 2];
	size_t i;

	if (!s)
		return NULL;
	s->refs = 1;
	s->holders = 1; /* the caller's: the session's directory */
	s->num = num;
	s->state = SESSION_NEW;
	s->base = base;
	list_init(&s->waiters);
	list_init(&s->pollers);
	list_init(&s->resume_link);
	list_init(&s->pend_sigs);
	echo_wait_init(&s->echo);
	session_touch(s);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		goto out_free;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(s->sid + 2 * i, 3, "%02x", rnd[i]);
	s->container = strdup(container);
	s->in = in_stream_new(&parent);
	s->out[SESSION_STDOUT] =
		out_stream_new(&parent, EXECFS_ST_STDOUT, history_cap, base);
	s->out[SESSION_STDERR] =
		out_stream_new(&parent, EXECFS_ST_STDERR, history_cap, base);
	if (!s->container || !s->in || !s->out[SESSION_STDOUT] ||
	    !s->out[SESSION_STDERR])
		goto out_free;
	return s;

out_free:
	out_stream_free(s->out[SESSION_STDOUT]);
	out_stream_free(s->out[SESSION_STDERR]);
	in_stream_free(s->in);
	free(s->container);
	free(s);
	return NULL;
}

void session_get(struct session *s)
{
	s->refs++;
}

/* Nobody can reach an ended session any more (its directory went, no file
 * is open on it): output still in flight would stay for good, holding its
 * history and a stream of the connection. Let the streams go. */
static void session_let_go(struct session *s)
{
	if (s->holders || !session_ended(s))
		return;
	out_stream_cancel(s->out[SESSION_STDOUT]);
	out_stream_cancel(s->out[SESSION_STDERR]);
}

void session_hold(struct session *s)
{
	s->refs++;
	s->holders++;
}

void session_unhold(struct session *s)
{
	/* The resets' on_close comes from the loop, not from here. */
	if (s->holders && --s->holders == 0)
		session_let_go(s);
}

void session_release(struct session *s)
{
	if (!s)
		return;
	session_unhold(s);
	session_put(s);
}

void session_put(struct session *s)
{
	if (!s || --s->refs > 0)
		return;
	if (s->state == SESSION_RUNNING) /* the mount goes: .metrics */
		fs_metrics_running(-1);
	/* Every HTTP/2 stream held a reference, so all are closed here. */
	park_fail_all(&s->waiters, EIO);
	poller_wake_all(&s->pollers);
	if (s->resume_ev)
		event_free(s->resume_ev);
	out_stream_free(s->out[SESSION_STDOUT]);
	out_stream_free(s->out[SESSION_STDERR]);
	in_stream_free(s->in);
	ctl_argv_free(s->opts.env);
	free(s->opts.cwd);
	free(s->opts.user);
	session_signals_send(s, NULL);
	free(s->ctl_error);
	free(s->status_body);
	free(s->message);
	free(s->container);
	node_put(s->node);
	free(s);
}

const char *session_sid(const struct session *s)
{
	return s->sid;
}

unsigned session_num(const struct session *s)
{
	return s->num;
}

enum session_state session_state(const struct session *s)
{
	return s->state;
}

bool session_resuming(const struct session *s)
{
	return s->resuming;
}

struct timespec session_mtime(const struct session *s)
{
	return s->mtime;
}

const char *session_message(const struct session *s)
{
	return s->state == SESSION_FAILED ? s->message : NULL;
}

struct out_stream *session_out(const struct session *s, int which)
{
	return s->out[which == SESSION_STDERR ? SESSION_STDERR : SESSION_STDOUT];
}

struct in_stream *session_in(const struct session *s)
{
	return s->in;
}

const char *session_ctl_error(const struct session *s)
{
	return s->ctl_error;
}

int session_set_ctl_error(struct session *s, const char *why)
{
	char *copy = why ? strdup(why) : NULL;

	if (why && !copy)
		return -ENOMEM;
	free(s->ctl_error);
	s->ctl_error = copy; /* owned by s */
	return 0;
}

bool session_ended(const struct session *s)
{
	switch (s->state) {
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		return true;
	case SESSION_NEW:
	case SESSION_STARTING:
	case SESSION_RUNNING:
		return false;
	}
	return false;
}

/* What a running session waits on: "" or " (stdout full)". */
static const char *session_blocked_on(const struct session *s)
{
	bool out, err;

	if (s->state != SESSION_RUNNING)
		return "";
	/* A history full of bytes no reader took withholds the window: the
	 * process stalls on that pipe. */
	out = out_stream_full(s->out[SESSION_STDOUT]);
	err = out_stream_full(s->out[SESSION_STDERR]);
	if (out && err)
		return " (stdout and stderr full)";
	if (out)
		return " (stdout full)";
	if (err)
		return " (stderr full)";
	return "";
}

int session_status_line(const struct session *s, char *buf, size_t len)
{
	switch (s->state) {
	case SESSION_NEW:
		return snprintf(buf, len, "new\n");
	case SESSION_STARTING:
		return snprintf(buf, len, "starting%s\n",
				s->resuming ? " (reconnecting)" : "");
	case SESSION_RUNNING:
		return snprintf(buf, len, "running%s\n",
				s->resuming ? " (reconnecting)" :
					      session_blocked_on(s));
	case SESSION_EXITED:
		return snprintf(buf, len, "exited %lld\n", s->code);
	case SESSION_KILLED:
		if (s->signame[0])
			return snprintf(buf, len, "killed SIG%s\n", s->signame);
		return snprintf(buf, len, "killed %d\n", s->signo);
	case SESSION_FAILED:
		return snprintf(buf, len, "failed: %s\n",
				s->message ? s->message : "unknown error");
	case SESSION_LOST:
		return snprintf(buf, len, "lost\n");
	}
	return snprintf(buf, len, "?\n");
}

/* Answer a read of the status line at off (wait, after the end). */
static void session_reply_line(const struct session *s, fuse_req_t req,
			       size_t size, off_t off)
{
	char line[512];
	size_t n = (size_t)session_status_line(s, line, sizeof(line));

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	if ((size_t)off >= n) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	n -= off;
	fuse_reply_buf(req, line + off, n < size ? n : size);
}

/* The session reached a final state: answer `wait`, wake pollers. */
static void session_ended_wake(struct session *s)
{
	struct list *pos, *tmp;

	session_touch(s);
	if (s->resize_st)
		h2_stream_end(s->resize_st); /* the agent ends its side too */
	list_for_each_safe(pos, tmp, &s->waiters) {
		struct wait_read *w =
			list_entry(pos, struct wait_read, park.link);

		park_take(&w->park);
		if (s->state == SESSION_LOST)
			fuse_reply_err(w->park.req, EIO);
		else
			session_reply_line(s, w->park.req, w->size, w->off);
		free(w);
	}
	poller_wake_all(&s->pollers);
	/* Nobody will read more stdin, open for writing or not. */
	in_stream_process_ended(s->in);
	session_let_go(s);
	out_stream_abandon(s->out[SESSION_STDOUT]);
	out_stream_abandon(s->out[SESSION_STDERR]);
}

static void wait_interrupted(struct park *p)
{
	park_take(p);
	fuse_reply_err(p->req, EINTR);
	free(container_of(p, struct wait_read, park));
}

void session_wait_read(struct session *s, fuse_req_t req, size_t size,
		       off_t off, bool nonblock)
{
	struct wait_read *w;

	switch (s->state) {
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
		session_reply_line(s, req, size, off);
		return;
	case SESSION_LOST:
		fuse_reply_err(req, EIO);
		return;
	case SESSION_NEW:
	case SESSION_STARTING:
	case SESSION_RUNNING:
		break;
	}
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	w = calloc(1, sizeof(*w)); /* owned by s->waiters */
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->size = size;
	w->off = off;
	park_add(&s->waiters, &w->park, req, wait_interrupted);
}

unsigned session_wait_poll(struct session *s, struct poller *pl,
			   struct fuse_pollhandle *ph)
{
	if (session_ended(s)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		return POLLIN | POLLRDNORM;
	}
	if (ph)
		poller_arm(&s->pollers, pl, ph);
	return 0;
}

/* ---- starting ----------------------------------------------------------- */

/* The start is known: tell the starter, once. */
static void session_start_answer(struct session *s, int err)
{
	session_done_fn *done = s->start_done;

	if (!done)
		return;
	s->start_done = NULL;
	done(s->start_arg, err);
}

void session_streams_give_up(struct session *s)
{
	out_stream_give_up(s->out[SESSION_STDOUT]);
	out_stream_give_up(s->out[SESSION_STDERR]);
	in_stream_give_up(s->in);
}

void session_set_lost(struct session *s)
{
	session_streams_give_up(s);
	session_set_state(s, SESSION_LOST);
	fs_metrics_inc(FSM_SESSIONS_LOST);
	session_start_answer(s, ENOTCONN);
	session_ended_wake(s);
}

static void session_set_failed(struct session *s, int err, const char *msg)
{
	fs_metrics_inc(FSM_SESSIONS_FAILED);
	session_set_state(s, SESSION_FAILED);
	s->err = err;
	session_touch(s);
	free(s->message);
	s->message = strdup(msg);
}

void session_fail(struct session *s, int err, const char *msg)
{
	switch (s->state) {
	case SESSION_NEW:
		session_set_failed(s, err, msg);
		session_ended_wake(s);
		break;
	case SESSION_STARTING:
	case SESSION_RUNNING:
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		break;
	}
}

int session_path(const struct session *s, char *buf, size_t len)
{
	return snprintf(buf, len, "%s%s", EXECFS_PATH_SESSIONS, s->sid);
}

int session_start(struct session *s, struct node *node, char *const *argv,
		  size_t argc, session_done_fn *done, void *arg)
{
	struct h2_conn *c = node ? node_session_conn(node) : NULL;
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_STATUS },
	};
	const struct h2_header resize_hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_RESIZE },
	};
	char path[sizeof(EXECFS_PATH_SESSIONS) + EXECFS_SID_LEN];
	char *body = NULL;
	int rc;

	if (s->state != SESSION_NEW)
		return -EBUSY;
	if (!c)
		return -ENOTCONN;
	if (argc == 0 || argc > EXECFS_MAX_ARGS)
		return -EINVAL;
	body = session_exec_body(s, argv, argc);
	if (!body) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (strlen(body) > EXECFS_MAX_REQUEST_BYTES) {
		rc = -E2BIG;
		goto out_free;
	}
	session_path(s, path, sizeof(path));

	/* The status stream first: the agent creates the session from it. */
	s->status_st = h2_conn_request(c, "POST", path, hdrs, 1, false,
				       &session_status_cbs, s);
	if (!s->status_st) {
		rc = -ENOTCONN;
		goto out_free;
	}
	session_get(s); /* until the status stream's on_close */
	rc = h2_stream_write(s->status_st, body, strlen(body));
	if (rc == 0)
		rc = h2_stream_end(s->status_st);
	if (rc == 0)
		rc = out_stream_request(s->out[SESSION_STDOUT], c, path);
	if (rc == 0)
		rc = out_stream_request(s->out[SESSION_STDERR], c, path);
	if (rc == 0)
		rc = in_stream_request(s->in, c, path);
	if (rc == 0 && s->opts.tty) {
		/* Opened with the flight, so a resize costs no round trip. */
		s->resize_st = h2_conn_request(c, "POST", path, resize_hdrs, 1,
					       false, &session_resize_cbs, s);
		if (s->resize_st)
			session_get(s); /* until resize_on_close */
		else
			rc = -EIO;
	}
	if (rc < 0) {
		/* Half a flight: the agent drops the session with its status
		 * stream; the other streams get 404 or close with the reset. */
		h2_stream_reset(s->status_st, H2_CANCEL);
		/* Still NEW: failed, and `wait` and pollers are told. */
		session_fail(s, EIO, "could not open the session's streams");
		rc = -EIO;
		goto out_free;
	}
	free(body);
	s->node = node;
	node_get(node); /* released with s */
	session_set_state(s, SESSION_STARTING);
	clock_gettime(CLOCK_MONOTONIC, &s->start_sent);
	session_touch(s);
	s->start_done = done;
	s->start_arg = arg;
	log_debug("session %s: exec %s in %s%s", s->sid, argv[0], s->container,
		  s->opts.tty ? " (tty)" : "");
	return 0;

out_free:
	free(body);
	return rc;
}

/* ---- the status stream -------------------------------------------------- */

/* Parse the status stream's body: a status document after 200, an error
 * document otherwise. */
static void session_parse_status(struct session *s)
{
	struct statusdoc d;

	statusdoc_parse(s->status_body, s->status_len, s->status_http, &d);
	if (!d.valid)
		log_warn("session %s: bad status document (HTTP %d)", s->sid,
			 s->status_http);
	session_touch(s);
	switch (d.state) {
	case STATUSDOC_EXITED:
		fs_metrics_inc(FSM_SESSIONS_ENDED);
		session_set_state(s, SESSION_EXITED);
		s->code = d.code;
		break;
	case STATUSDOC_KILLED:
		fs_metrics_inc(FSM_SESSIONS_ENDED);
		session_set_state(s, SESSION_KILLED);
		s->signo = d.signo;
		snprintf(s->signame, sizeof(s->signame), "%s", d.signame);
		break;
	case STATUSDOC_FAILED:
		session_set_failed(s, d.err, d.message);
		break;
	}
}

static void status_on_response(struct h2_stream *st, int status, void *arg)
{
	struct session *s = arg;

	s->status_http = status;
	if (status != 200 && s->status_resumed)
		log_warn("session %s: the agent no longer has it (%d): lost",
			 s->sid, status);
	if (s->sigs_wait_status) {
		/* The resume is answered: the agent has it, or not. */
		s->sigs_wait_status = false;
		session_signals_send(s,
				     status == 200 ? h2_stream_conn(st) : NULL);
	}
	switch (s->state) {
	case SESSION_STARTING:
		if (status == 200) {
			fs_metrics_started(&s->start_sent);
			session_set_state(s, SESSION_RUNNING);
			session_touch(s);
			session_start_answer(s, 0);
		}
		/* otherwise the error document follows: see on_end */
		break;
	case SESSION_NEW:
	case SESSION_RUNNING:
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		break;
	}
}

static void status_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct session *s = arg;
	char *nb;

	h2_stream_consume(st, len);
	if (s->status_len + len > EXECFS_MAX_REQUEST_BYTES) {
		log_warn("session %s: status document too long", s->sid);
		h2_stream_reset(st, H2_CANCEL);
		return;
	}
	nb = realloc(s->status_body, s->status_len + len + 1);
	if (!nb) {
		h2_stream_reset(st, H2_INTERNAL_ERROR);
		return;
	}
	s->status_body = nb; /* owned by s */
	memcpy(nb + s->status_len, data, len);
	s->status_len += len;
	nb[s->status_len] = '\0';
}

static void status_on_end(struct h2_stream *st, void *arg)
{
	struct session *s = arg;

	switch (s->state) {
	case SESSION_STARTING:
	case SESSION_RUNNING:
		if (s->status_resumed && s->status_http != 200) {
			/* Refused resume: what it ran is not known. */
			h2_stream_reset(st, H2_CANCEL);
			break; /* on_close makes it LOST */
		}
		session_parse_status(s);
		if (s->state == SESSION_FAILED) {
			log_info("session %s: failed: %s", s->sid, s->message);
			session_start_answer(s, s->err);
		} else {
			/* Exited before the 200 was seen can't happen (headers
			 * come first), but answer the writer either way. */
			session_start_answer(s, 0);
		}
		session_ended_wake(s);
		break;
	case SESSION_NEW:
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		break;
	}
}

static void status_on_close(struct h2_stream *st, uint32_t error_code,
			    void *arg)
{
	struct session *s = arg;

	s->status_st = NULL;
	switch (s->state) {
	case SESSION_STARTING:
	case SESSION_RUNNING:
		/* (A resume the agent did not answer yet is no refusal.) */
		if (error_code == H2_LOST && s->node &&
		    !(s->status_resumed && s->status_http != 0 &&
		      s->status_http != 200)) {
			/* The next connection asks again. */
			session_lost(s);
			break;
		}
		/* Reset, refused or lost for good before the end. */
		log_info("session %s: lost (stream closed, code %u)", s->sid,
			 error_code);
		session_set_lost(s);
		break;
	case SESSION_NEW:
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		break;
	}
	session_put(s);
}
