/*
 * Sessions: starting a process with one flight of HTTP/2 streams, following
 * its status stream to the end, and answering the ctl write that started it
 * and the readers of `wait` (see the state machine in session.h).
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "session.h"

/* The ctl write that started the session, parked until the agent answers. */
struct start_park {
	struct park park; /* first: the park owns the allocation */
	struct session *s;
};

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

static const struct h2_stream_cbs status_cbs = {
	.on_response = status_on_response,
	.on_data = status_on_data,
	.on_end = status_on_end,
	.on_close = status_on_close,
};

struct session *session_new(const char *container, unsigned num,
			    size_t history_cap)
{
	struct session *s = calloc(1, sizeof(*s)); /* refcounted */
	uint8_t rnd[EXECFS_SID_LEN / 2];
	size_t i;

	if (!s)
		return NULL;
	s->refs = 1;
	s->num = num;
	s->state = SESSION_NEW;
	list_init(&s->waiters);
	list_init(&s->pollers);
	list_init(&s->start_q);
	in_stream_init(&s->in, s);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		goto out_free;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(s->sid + 2 * i, 3, "%02x", rnd[i]);
	s->container = strdup(container);
	if (!s->container)
		goto out_free;
	if (out_stream_init(&s->out[SESSION_STDOUT], s, EXECFS_ST_STDOUT,
			    history_cap) < 0 ||
	    out_stream_init(&s->out[SESSION_STDERR], s, EXECFS_ST_STDERR,
			    history_cap) < 0)
		goto out_free;
	return s;

out_free:
	history_free(s->out[SESSION_STDOUT].hist);
	history_free(s->out[SESSION_STDERR].hist);
	free(s->container);
	free(s);
	return NULL;
}

void session_get(struct session *s)
{
	s->refs++;
}

static void wait_fail_all(struct session *s, int err);

void session_put(struct session *s)
{
	if (!s || --s->refs > 0)
		return;
	/* Every HTTP/2 stream held a reference, so all are closed here. */
	wait_fail_all(s, EIO);
	poller_wake_all(&s->pollers);
	out_stream_release(&s->out[SESSION_STDOUT]);
	out_stream_release(&s->out[SESSION_STDERR]);
	in_stream_release(&s->in);
	free(s->status_body);
	free(s->message);
	free(s->container);
	free(s);
}

const char *session_sid(const struct session *s)
{
	return s->sid;
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

int session_status_line(const struct session *s, char *buf, size_t len)
{
	switch (s->state) {
	case SESSION_NEW:
		return snprintf(buf, len, "new\n");
	case SESSION_STARTING:
		return snprintf(buf, len, "starting\n");
	case SESSION_RUNNING:
		return snprintf(buf, len, "running\n");
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

static void wait_fail_all(struct session *s, int err)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &s->waiters) {
		struct wait_read *w =
			list_entry(pos, struct wait_read, park.link);

		park_take(&w->park);
		fuse_reply_err(w->park.req, err);
		free(w);
	}
}

/* The session reached a final state: answer `wait`, wake pollers. */
static void session_ended_wake(struct session *s)
{
	struct list *pos, *tmp;

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
	/* Nobody will read more stdin; release the stream if unused. */
	if (s->in.writers == 0)
		in_stream_eof(&s->in);
	out_stream_abandon(&s->out[SESSION_STDOUT]);
	out_stream_abandon(&s->out[SESSION_STDERR]);
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

static void start_interrupted(struct park *p)
{
	struct start_park *sp = container_of(p, struct start_park, park);

	/* The process may still start; only the writer stops waiting. */
	sp->s->start = NULL;
	park_take(p);
	fuse_reply_err(p->req, EINTR);
	free(sp);
}

/* Answer the parked ctl write: err 0 means success. */
static void session_start_answer(struct session *s, int err)
{
	struct park *p = s->start;

	if (!p)
		return;
	s->start = NULL;
	park_take(p);
	if (err)
		fuse_reply_err(p->req, err);
	else
		fuse_reply_write(p->req, s->start_count);
	free(container_of(p, struct start_park, park));
}

static char *session_exec_body(const struct session *s, char *const *argv,
			       size_t argc)
{
	json_t *doc, *args;
	char *body = NULL;
	size_t i;

	args = json_array();
	if (!args)
		return NULL;
	for (i = 0; i < argc; i++)
		if (json_array_append_new(args, json_string(argv[i])) < 0) {
			json_decref(args);
			return NULL;
		}
	doc = json_pack("{s:s, s:o}", EXECFS_J_CONTAINER, s->container,
			EXECFS_J_ARGV, args); /* steals args */
	if (!doc)
		return NULL;
	body = json_dumps(doc, JSON_COMPACT); /* owned by the caller */
	json_decref(doc);
	return body;
}

static void session_set_failed(struct session *s, int err, const char *msg)
{
	s->state = SESSION_FAILED;
	s->err = err;
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

int session_start(struct session *s, struct h2_conn *c, char *const *argv,
		  size_t argc, fuse_req_t req, size_t count)
{
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_STATUS },
	};
	char path[sizeof(EXECFS_PATH_SESSIONS) + EXECFS_SID_LEN];
	struct start_park *sp = NULL;
	char *body = NULL;
	int rc;

	if (s->state != SESSION_NEW)
		return -EBUSY;
	if (!c)
		return -ENOTCONN;
	if (argc == 0 || argc > EXECFS_MAX_ARGS)
		return -EINVAL;
	body = session_exec_body(s, argv, argc);
	sp = calloc(1, sizeof(*sp)); /* owned by s->start once parked */
	if (!body || !sp) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (strlen(body) > EXECFS_MAX_REQUEST_BYTES) {
		rc = -E2BIG;
		goto out_free;
	}
	snprintf(path, sizeof(path), "%s%s", EXECFS_PATH_SESSIONS, s->sid);

	/* The status stream first: the agent creates the session from it. */
	s->status_st = h2_conn_request(c, "POST", path, hdrs, 1, false,
				       &status_cbs, s);
	if (!s->status_st) {
		rc = -ENOTCONN;
		goto out_free;
	}
	session_get(s); /* until the status stream's on_close */
	rc = h2_stream_write(s->status_st, body, strlen(body));
	if (rc == 0)
		rc = h2_stream_end(s->status_st);
	if (rc == 0)
		rc = out_stream_request(&s->out[SESSION_STDOUT], c, path);
	if (rc == 0)
		rc = out_stream_request(&s->out[SESSION_STDERR], c, path);
	if (rc == 0)
		rc = in_stream_request(&s->in, c, path);
	if (rc < 0) {
		/* Half a flight: the agent drops the session with its status
		 * stream; the other streams get 404 or close with the reset. */
		h2_stream_reset(s->status_st, H2_CANCEL);
		session_set_failed(s, EIO,
				   "could not open the session's streams");
		out_stream_abandon(&s->out[SESSION_STDOUT]);
		out_stream_abandon(&s->out[SESSION_STDERR]);
		rc = -EIO;
		goto out_free;
	}
	free(body);
	s->state = SESSION_STARTING;
	s->start_count = count;
	sp->s = s;
	s->start = &sp->park;
	log_debug("session %s: exec %s in %s", s->sid, argv[0], s->container);
	park_add(&s->start_q, &sp->park, req, start_interrupted);
	return 0;

out_free:
	free(sp);
	free(body);
	return rc;
}

/* ---- the status stream -------------------------------------------------- */

/* Parse the status stream's body: a status document after 200, an error
 * document otherwise. */
static void session_parse_status(struct session *s)
{
	json_error_t jerr;
	json_t *doc = NULL;
	const char *state = NULL, *msg = NULL, *ename = NULL, *signame = NULL;
	json_int_t code = 0, signo = 0;

	if (s->status_body)
		doc = json_loadb(s->status_body, s->status_len, 0, &jerr);
	if (!doc ||
	    json_unpack(doc, "{s:s, s?I, s?I, s?s, s?s, s?s}", EXECFS_J_STATE,
			&state, EXECFS_J_CODE, &code, EXECFS_J_SIGNAL, &signo,
			EXECFS_J_SIGNAME, &signame, EXECFS_J_ERRNO, &ename,
			EXECFS_J_MESSAGE, &msg) < 0) {
		log_warn("session %s: bad status document (HTTP %d)", s->sid,
			 s->status_http);
		state = NULL;
	}
	if (s->status_http == 200 && state && strcmp(state, "exited") == 0) {
		s->state = SESSION_EXITED;
		s->code = code;
	} else if (s->status_http == 200 && state &&
		   strcmp(state, "killed") == 0) {
		s->state = SESSION_KILLED;
		s->signo = (int)signo;
		snprintf(s->signame, sizeof(s->signame), "%s",
			 signame ? signame : "");
	} else {
		int err = ename ? errno_from_name(ename) : EIO;
		char fallback[64];

		if (!ename && s->status_http != 200)
			switch (s->status_http) {
			case 400:
				err = EINVAL;
				break;
			case 403:
				err = EACCES;
				break;
			case 404:
				err = ENOENT;
				break;
			case 409:
				err = EBUSY;
				break;
			default:
				err = EIO;
				break;
			}
		snprintf(fallback, sizeof(fallback), "agent answered %d",
			 s->status_http);
		session_set_failed(s, err, msg ? msg : fallback);
	}
	json_decref(doc);
}

static void status_on_response(struct h2_stream *st, int status, void *arg)
{
	struct session *s = arg;

	s->status_http = status;
	switch (s->state) {
	case SESSION_STARTING:
		if (status == 200) {
			s->state = SESSION_RUNNING;
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
		/* Reset or connection lost before the end. */
		log_info("session %s: lost (stream closed, code %u)", s->sid,
			 error_code);
		s->state = SESSION_LOST;
		session_start_answer(s, ENOTCONN);
		session_ended_wake(s);
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
