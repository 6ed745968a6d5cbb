/*
 * Sessions: starting a process with one flight of HTTP/2 streams, following
 * its status stream to the end, and answering the ctl write that started it
 * and the readers of `wait` (see the state machine in session.h).
 */
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "execfs/ctl.h"
#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "node.h"
#include "session.h"
#include "statusdoc.h"

/* One `signal` request: its own stream, answered by the agent's status
 * and, when it fails, an error document. */
struct sig_req {
	struct session *s; /* a reference until the stream closes */
	session_done_fn *done; /* NULL once called */
	void *arg;
	int http; /* the answer's status, 0 before it */
	char body[512]; /* the error document (longer ones: cut, invalid) */
	size_t len;
};

/* A signal asked for while the session was resuming. */
struct sig_pend {
	struct list link; /* in the session's pend_sigs */
	int signo;
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

static void resize_on_response(struct h2_stream *st, int status, void *arg);
static void aux_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
			void *arg);
static void resize_on_close(struct h2_stream *st, uint32_t error_code,
			    void *arg);

static const struct h2_stream_cbs resize_cbs = {
	.on_response = resize_on_response,
	.on_data = aux_on_data,
	.on_close = resize_on_close,
};

static void sig_on_response(struct h2_stream *st, int status, void *arg);
static void sig_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
			void *arg);
static void sig_on_end(struct h2_stream *st, void *arg);
static void sig_on_close(struct h2_stream *st, uint32_t error_code, void *arg);

static const struct h2_stream_cbs sig_cbs = {
	.on_response = sig_on_response,
	.on_data = sig_on_data,
	.on_end = sig_on_end,
	.on_close = sig_on_close,
};

static void session_signals_send(struct session *s, struct h2_conn *c);

static void session_touch(struct session *s)
{
	clock_gettime(CLOCK_REALTIME, &s->mtime);
}

struct session *session_new(const char *container, unsigned num,
			    size_t history_cap, struct event_base *base)
{
	struct session *s = calloc(1, sizeof(*s)); /* refcounted */
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
	in_stream_init(&s->in, s);
	echo_wait_init(&s->echo);
	session_touch(s);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		goto out_free;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(s->sid + 2 * i, 3, "%02x", rnd[i]);
	s->container = strdup(container);
	if (!s->container)
		goto out_free;
	if (out_stream_init(&s->out[SESSION_STDOUT], s, EXECFS_ST_STDOUT,
			    history_cap, base) < 0 ||
	    out_stream_init(&s->out[SESSION_STDERR], s, EXECFS_ST_STDERR,
			    history_cap, base) < 0)
		goto out_free;
	return s;

out_free:
	for (i = 0; i < 2; i++) { /* stdout, stderr */
		history_free(s->out[i].hist);
		if (s->out[i].wake_ev)
			event_free(s->out[i].wake_ev);
		if (s->out[i].hold_ev)
			event_free(s->out[i].hold_ev);
	}
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
	out_stream_cancel(&s->out[SESSION_STDOUT]);
	out_stream_cancel(&s->out[SESSION_STDERR]);
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

static void wait_fail_all(struct session *s, int err);

void session_put(struct session *s)
{
	if (!s || --s->refs > 0)
		return;
	/* Every HTTP/2 stream held a reference, so all are closed here. */
	wait_fail_all(s, EIO);
	poller_wake_all(&s->pollers);
	if (s->resume_ev)
		event_free(s->resume_ev);
	out_stream_release(&s->out[SESSION_STDOUT]);
	out_stream_release(&s->out[SESSION_STDERR]);
	in_stream_release(&s->in);
	ctl_argv_free(s->opts.env);
	free(s->opts.cwd);
	free(s->opts.user);
	session_signals_send(s, NULL);
	free(s->ctl_error);
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
	in_stream_process_ended(&s->in);
	session_let_go(s);
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

/* The start is known: tell the starter, once. */
static void session_start_answer(struct session *s, int err)
{
	session_done_fn *done = s->start_done;

	if (!done)
		return;
	s->start_done = NULL;
	done(s->start_arg, err);
}

/* The pre-exec settings as exec request fields (docs/PROTOCOL.md). */
static int session_opts_to_json(const struct session_opts *o, json_t *doc)
{
	json_t *env;
	size_t i;
	int rc = 0;

	if (o->tty) {
		rc |= json_object_set_new(doc, EXECFS_J_TTY, json_true());
		if (o->cols) {
			rc |= json_object_set_new(doc, EXECFS_J_COLS,
						  json_integer(o->cols));
			rc |= json_object_set_new(doc, EXECFS_J_ROWS,
						  json_integer(o->rows));
		}
	} else if (o->merge) {
		/* Under a tty the terminal merges the two anyway. */
		rc |= json_object_set_new(doc, EXECFS_J_MERGE_STDERR,
					  json_true());
	}
	if (o->nenv) {
		env = json_array();
		for (i = 0; env && i < o->nenv; i++)
			rc |= json_array_append_new(env,
						    json_string(o->env[i]));
		rc |= json_object_set_new(doc, EXECFS_J_ENV, env);
	}
	if (o->cwd)
		rc |= json_object_set_new(doc, EXECFS_J_CWD,
					  json_string(o->cwd));
	if (o->user)
		rc |= json_object_set_new(doc, EXECFS_J_USER,
					  json_string(o->user));
	return rc ? -ENOMEM : 0;
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
	if (session_opts_to_json(&s->opts, doc) == 0)
		body = json_dumps(doc, JSON_COMPACT); /* owned by the caller */
	json_decref(doc);
	return body;
}

/* Streams still waiting for a resume will not get one. */
static void session_streams_give_up(struct session *s)
{
	out_stream_give_up(&s->out[SESSION_STDOUT]);
	out_stream_give_up(&s->out[SESSION_STDERR]);
	in_stream_give_up(&s->in);
}

/* Nothing more will be known of it: answer the starter and the waiters. */
static void session_set_lost(struct session *s)
{
	session_streams_give_up(s);
	s->state = SESSION_LOST;
	session_start_answer(s, ENOTCONN);
	session_ended_wake(s);
}

static void session_set_failed(struct session *s, int err, const char *msg)
{
	s->state = SESSION_FAILED;
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

static int session_path(const struct session *s, char *buf, size_t len)
{
	return snprintf(buf, len, "%s%s", EXECFS_PATH_SESSIONS, s->sid);
}

int session_start(struct session *s, struct node *node, char *const *argv,
		  size_t argc, session_done_fn *done, void *arg)
{
	struct h2_conn *c = node ? node_conn(node) : NULL;
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
	if (rc == 0 && s->opts.tty) {
		/* Opened with the flight, so a resize costs no round trip. */
		s->resize_st = h2_conn_request(c, "POST", path, resize_hdrs, 1,
					       false, &resize_cbs, s);
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
	s->state = SESSION_STARTING;
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
		s->state = SESSION_EXITED;
		s->code = d.code;
		break;
	case STATUSDOC_KILLED:
		s->state = SESSION_KILLED;
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
			s->state = SESSION_RUNNING;
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

/* ---- pre-exec settings -------------------------------------------------- */

int session_set_tty(struct session *s, unsigned cols, unsigned rows)
{
	if (s->state != SESSION_NEW)
		return -EBUSY;
	s->opts.tty = true;
	s->opts.cols = cols;
	s->opts.rows = rows;
	return 0;
}

int session_add_env(struct session *s, const char *name_value)
{
	size_t nlen = strcspn(name_value, "=") + 1, i;
	char *copy, **nv;

	if (s->state != SESSION_NEW)
		return -EBUSY;
	copy = strdup(name_value);
	if (!copy)
		return -ENOMEM;
	for (i = 0; i < s->opts.nenv; i++)
		if (strncmp(s->opts.env[i], name_value, nlen) == 0) {
			free(s->opts.env[i]);
			s->opts.env[i] = copy; /* owned by opts */
			return 0;
		}
	if (s->opts.nenv >= EXECFS_MAX_ARGS) {
		free(copy);
		return -E2BIG;
	}
	nv = realloc(s->opts.env, (s->opts.nenv + 2) * sizeof(*nv));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	s->opts.env = nv;
	nv[s->opts.nenv++] = copy; /* owned by opts */
	nv[s->opts.nenv] = NULL;
	return 0;
}

static int session_set_str(struct session *s, char **field, const char *v)
{
	char *copy;

	if (s->state != SESSION_NEW)
		return -EBUSY;
	copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy; /* owned by opts */
	return 0;
}

int session_set_cwd(struct session *s, const char *cwd)
{
	return session_set_str(s, &s->opts.cwd, cwd);
}

int session_set_user(struct session *s, const char *user)
{
	return session_set_str(s, &s->opts.user, user);
}

int session_set_merge(struct session *s)
{
	if (s->state != SESSION_NEW)
		return -EBUSY;
	s->opts.merge = true;
	return 0;
}

/* ---- after the start: resize and signal --------------------------------- */

/* Where a verb that needs a running process stands: 0 to go on. */
static int session_check_running(const struct session *s)
{
	switch (s->state) {
	case SESSION_RUNNING:
		return 0;
	case SESSION_NEW:
	case SESSION_STARTING:
		return -EBUSY;
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		return -ESRCH;
	}
	return -ESRCH;
}

int session_resize(struct session *s, unsigned cols, unsigned rows)
{
	char line[32];
	int rc = session_check_running(s), n;

	if (rc < 0)
		return rc;
	if (!s->opts.tty)
		return -ENOTTY;
	if (s->resuming) {
		/* Sent when the session is back. */
		s->pend_size = true;
		s->pend_cols = cols;
		s->pend_rows = rows;
		return 0;
	}
	if (!s->resize_st)
		return -ESRCH; /* the agent ended it: the session is ending */
	n = snprintf(line, sizeof(line), "%u %u\n", cols, rows);
	/* A line is tiny; the buffer only fills if the agent stopped
	 * reading, and then a newer size will do. */
	if (h2_stream_write_space(s->resize_st) < (size_t)n)
		return -EAGAIN;
	return h2_stream_write(s->resize_st, line, (size_t)n);
}

static void resize_on_response(struct h2_stream *st, int status, void *arg)
{
	struct session *s = arg;

	if (status != 200) {
		log_warn("session %s: the agent refused the resize stream (%d)",
			 s->sid, status);
		h2_stream_reset(st, H2_CANCEL);
	}
}

static void aux_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
			void *arg)
{
	h2_stream_consume(st, len); /* error documents: logged by status */
}

static void resize_on_close(struct h2_stream *st, uint32_t error_code,
			    void *arg)
{
	struct session *s = arg;

	if (s->resize_st == st)
		s->resize_st = NULL;
	session_put(s);
}

/* ---- resuming ----------------------------------------------------------- */

static void resume_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char why[64];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "no connection to its node for %u s",
		 s->node ? node_resume_seconds(s->node) : 0);
	session_give_up(s, why);
}

void session_lost(struct session *s)
{
	struct timeval tv = { 0, 0 };

	if (s->resuming)
		return;
	/* Lost or failed for good, or ended with nobody left to read it:
	 * nothing to resume for. */
	if (s->state == SESSION_LOST || s->state == SESSION_FAILED ||
	    (s->holders == 0 && session_ended(s))) {
		session_streams_give_up(s);
		return;
	}
	if (!s->node || !s->base) {
		session_give_up(s, "no node to resume on");
		return;
	}
	if (!s->resume_ev)
		s->resume_ev = evtimer_new(s->base, resume_timeout_cb, s);
	if (!s->resume_ev) {
		session_give_up(s, "out of memory");
		return;
	}
	s->resuming = true;
	session_touch(s);
	session_get(s); /* the node's list holds it until resumed */
	node_resume_later(s->node, s);
	tv.tv_sec = node_resume_seconds(s->node);
	evtimer_add(s->resume_ev, &tv);
	log_info("session %s: connection lost; resuming on the next one",
		 s->sid);
	poller_wake_all(&s->pollers); /* status changed */
}

/* Leave the node's list; drops its reference (s may go). */

/* Send the signals asked for while resuming, in order, on c; without c
 * (lost, ended, freed) they are dropped: the process never got them. */
static void session_signals_send(struct session *s, struct h2_conn *c)
{
	while (!list_empty(&s->pend_sigs)) {
		struct sig_pend *sp =
			list_entry(s->pend_sigs.next, struct sig_pend, link);
		int rc = c ? session_signal(s, c, sp->signo, NULL, NULL) :
			     -ESRCH;

		list_del(&sp->link);
		if (rc < 0)
			log_info("session %s: signal %d asked for while "
				 "reconnecting was not sent: %s",
				 s->sid, sp->signo, strerror(-rc));
		free(sp);
	}
}

int session_signal_later(struct session *s, int signo)
{
	struct sig_pend *sp;
	int rc = session_check_running(s);

	if (rc < 0)
		return rc;
	sp = malloc(sizeof(*sp)); /* owned by s->pend_sigs */
	if (!sp)
		return -ENOMEM;
	sp->signo = signo;
	list_add_tail(&s->pend_sigs, &sp->link);
	log_debug("session %s: signal %d sent once it is back", s->sid, signo);
	return 0;
}

static void session_resume_done(struct session *s)
{
	s->resuming = false;
	if (s->resume_ev)
		evtimer_del(s->resume_ev);
	node_resume_drop(s->node, s);
	session_put(s);
}

void session_resume(struct session *s, struct h2_conn *c)
{
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_STATUS },
	};
	const struct h2_header resize_hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_RESIZE },
	};
	char path[sizeof(EXECFS_PATH_SESSIONS) + EXECFS_SID_LEN];
	int rc = 0, i;

	if (!s->resuming)
		return;
	s->sigs_wait_status = false; /* a GET of an earlier resume is gone */
	session_get(s); /* through the calls below */
	if (s->holders == 0 && session_ended(s)) {
		/* Nobody can read it any more (forgotten while away). */
		session_resume_done(s);
		session_signals_send(s, NULL); /* it ended */
		session_streams_give_up(s);
		session_put(s);
		return;
	}
	session_path(s, path, sizeof(path));
	/* Status first, as in a start: the agent answers 404 (lost) for a
	 * session it no longer has. */
	if (!session_ended(s) && !s->status_st) {
		s->status_st = h2_conn_request(c, "GET", path, hdrs, 1, true,
					       &status_cbs, s);
		if (s->status_st) {
			session_get(s); /* until the status stream's on_close */
			s->status_resumed = true;
			s->sigs_wait_status = true;
			s->status_http = 0;
			free(s->status_body);
			s->status_body = NULL;
			s->status_len = 0;
		} else {
			rc = -EIO;
		}
	}
	for (i = 0; rc == 0 && i < 2; i++)
		if (out_stream_needs_resume(&s->out[i]))
			rc = out_stream_resume(&s->out[i], c, path);
	if (rc == 0 && in_stream_needs_resume(&s->in))
		rc = in_stream_resume(&s->in, c, path);
	if (rc == 0 && s->opts.tty && !s->resize_st && !session_ended(s)) {
		s->resize_st = h2_conn_request(c, "POST", path, resize_hdrs, 1,
					       false, &resize_cbs, s);
		if (s->resize_st)
			session_get(s); /* until resize_on_close */
	}
	log_info("session %s: resuming on the new connection", s->sid);
	session_resume_done(s);
	if (rc < 0) {
		session_give_up(s, "could not open its streams again");
	} else {
		if (s->pend_size && s->resize_st) {
			s->pend_size = false;
			session_resize(s, s->pend_cols, s->pend_rows);
		}
		/* Else when the status GET is answered: a connection that is
		 * lost again (a frozen agent still accepts) must not take them. */
		if (!s->sigs_wait_status)
			session_signals_send(s, c);
	}
	session_touch(s);
	poller_wake_all(&s->pollers);
	session_put(s);
}

void session_give_up(struct session *s, const char *why)
{
	session_get(s);
	if (s->resuming)
		session_resume_done(s);
	log_warn("session %s: lost: %s", s->sid, why);
	s->sigs_wait_status = false;
	session_signals_send(s, NULL);
	session_streams_give_up(s);
	switch (s->state) {
	case SESSION_STARTING:
	case SESSION_RUNNING:
		if (s->status_st) /* its on_close will find it LOST */
			h2_stream_reset(s->status_st, H2_CANCEL);
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

int session_signal(struct session *s, struct h2_conn *c, int signo,
		   session_done_fn *done, void *arg)
{
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_SIGNAL },
	};
	char path[sizeof(EXECFS_PATH_SESSIONS) + EXECFS_SID_LEN], body[16];
	const char *name = ctl_signal_name(signo);
	struct h2_stream *st;
	struct sig_req *sr;
	int rc = session_check_running(s);

	if (rc < 0)
		return rc;
	if (!c)
		return -ENOTCONN;
	sr = calloc(1, sizeof(*sr)); /* owned by the stream until on_close */
	if (!sr)
		return -ENOMEM;
	if (name)
		snprintf(body, sizeof(body), "%s", name);
	else
		snprintf(body, sizeof(body), "%d", signo);
	session_path(s, path, sizeof(path));
	sr->s = s;
	sr->done = done;
	sr->arg = arg;
	st = h2_conn_request(c, "POST", path, hdrs, 1, false, &sig_cbs, sr);
	if (!st) {
		free(sr);
		return -ENOTCONN;
	}
	session_get(s); /* until sig_on_close */
	if (h2_stream_write(st, body, strlen(body)) < 0 ||
	    h2_stream_end(st) < 0)
		h2_stream_reset(st, H2_CANCEL); /* on_close answers EIO */
	log_debug("session %s: signal %s", s->sid, body);
	return 0;
}

static void sig_answer(struct sig_req *sr, int err)
{
	session_done_fn *done = sr->done;

	if (!done)
		return;
	sr->done = NULL;
	done(sr->arg, err);
}

static void sig_on_response(struct h2_stream *st, int status, void *arg)
{
	struct sig_req *sr = arg;

	sr->http = status;
	if (status == 200)
		sig_answer(sr, 0);
	/* otherwise the error document follows: see on_end */
}

static void sig_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
			void *arg)
{
	struct sig_req *sr = arg;
	size_t k = sizeof(sr->body) - sr->len;

	h2_stream_consume(st, len);
	if (k > len)
		k = len;
	memcpy(sr->body + sr->len, data, k);
	sr->len += k;
}

/* A refusal: its errno is the document's (ESRCH: the process ended,
 * EINVAL: no such signal...), or its status's. */
static void sig_on_end(struct h2_stream *st, void *arg)
{
	struct sig_req *sr = arg;
	struct statusdoc d;

	if (sr->http == 200 || !sr->done)
		return;
	statusdoc_parse(sr->body, sr->len, sr->http, &d);
	log_info("session %s: signal answered %d: %s", sr->s->sid, sr->http,
		 d.message);
	/* A session the agent no longer knows is as good as ended. */
	sig_answer(sr, sr->http == 404 ? ESRCH : d.err);
}

static void sig_on_close(struct h2_stream *st, uint32_t error_code, void *arg)
{
	struct sig_req *sr = arg;

	sig_answer(sr, error_code ? EIO : ENOTCONN);
	session_put(sr->s);
	free(sr);
}

const char *session_blocked_on(const struct session *s)
{
	bool out, err;

	if (s->state != SESSION_RUNNING)
		return "";
	/* Unadmitted bytes: the history is full of bytes no reader took, so
	 * the window is withheld and the process stalls on that pipe. */
	out = history_unadmitted(s->out[SESSION_STDOUT].hist) > 0;
	err = history_unadmitted(s->out[SESSION_STDERR].hist) > 0;
	if (out && err)
		return " (stdout and stderr full)";
	if (out)
		return " (stdout full)";
	if (err)
		return " (stderr full)";
	return "";
}
