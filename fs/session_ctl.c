/*
 * A session after its start (see session.h): signals, each on a stream of
 * its own and answered by the agent (kept while the session is resuming
 * and sent once the agent answered the resume), terminal sizes on the
 * resize stream opened with the start, and the end of stdin.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/ctl.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "node.h"
#include "session_internal.h"
#include "statusdoc.h"
#include "stdin.h"

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

static void resize_on_response(struct h2_stream *st, int status, void *arg);
static void resize_on_body(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg);
static void resize_on_close(struct h2_stream *st, uint32_t error_code,
			    void *arg);

const struct h2_stream_cbs session_resize_cbs = {
	.on_response = resize_on_response,
	.on_data = resize_on_body,
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
		/* Sent when the session is back (session_resume.c). */
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

static void resize_on_body(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	/* Only a refusal has a body, its error document: resize_on_response
	 * logged the refusal, and the stream is reset. */
	h2_stream_consume(st, len);
}

static void resize_on_close(struct h2_stream *st, uint32_t error_code,
			    void *arg)
{
	struct session *s = arg;

	if (s->resize_st == st)
		s->resize_st = NULL;
	session_put(s);
}

int session_eof(struct session *s)
{
	int rc;

	switch (s->state) {
	case SESSION_NEW:
	case SESSION_STARTING:
		return -EBUSY;
	case SESSION_RUNNING:
		rc = in_stream_eof(s->in);
		return rc == -ENOTCONN ? -EBUSY : rc;
	case SESSION_EXITED:
	case SESSION_KILLED:
	case SESSION_FAILED:
	case SESSION_LOST:
		break; /* nobody reads that stdin any more */
	}
	return 0;
}

/* ---- signals ------------------------------------------------------------ */

/* signo on a stream of its own on c: 0, or -errno. */
static int sig_send(struct session *s, struct h2_conn *c, int signo,
		    session_done_fn *done, void *arg)
{
	const struct h2_header hdrs[] = {
		{ EXECFS_HDR_STREAMTYPE, EXECFS_ST_SIGNAL },
	};
	char path[sizeof(EXECFS_PATH_SESSIONS) + EXECFS_SID_LEN], body[16];
	const char *name = ctl_signal_name(signo);
	struct h2_stream *st;
	struct sig_req *sr;

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

/* Keep signo for the agent's answer to the resume. */
static int sig_later(struct session *s, int signo)
{
	struct sig_pend *sp;

	sp = malloc(sizeof(*sp)); /* owned by s->pend_sigs */
	if (!sp)
		return -ENOMEM;
	sp->signo = signo;
	list_add_tail(&s->pend_sigs, &sp->link);
	log_debug("session %s: signal %d sent once it is back", s->sid, signo);
	return 0;
}

/* Send the signals asked for while resuming, in order, on c; without c
 * (lost, ended, freed) they are dropped: the process never got them. */
void session_signals_send(struct session *s, struct h2_conn *c)
{
	while (!list_empty(&s->pend_sigs)) {
		struct sig_pend *sp =
			list_entry(s->pend_sigs.next, struct sig_pend, link);
		int rc = c ? sig_send(s, c, sp->signo, NULL, NULL) : -ESRCH;

		list_del(&sp->link);
		if (rc < 0)
			log_info("session %s: signal %d asked for while "
				 "reconnecting was not sent: %s",
				 s->sid, sp->signo, strerror(-rc));
		free(sp);
	}
}

int session_signal(struct session *s, int signo, session_done_fn *done,
		   void *arg)
{
	int rc = session_check_running(s);

	if (rc < 0)
		return rc;
	/* While resuming, and after a reconnect until the agent answered the
	 * resume: a connection to a frozen agent connects and is lost again,
	 * and must not take the signal along. Kept ones go out in order. */
	if (s->resuming || s->sigs_wait_status)
		return sig_later(s, signo);
	rc = sig_send(s, s->node ? node_conn(s->node) : NULL, signo, done, arg);
	return rc < 0 ? rc : 1;
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
