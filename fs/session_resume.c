/*
 * A session whose connection was lost (see session.h): it waits on its
 * node's session_waitq for the next connection, for the resume time at
 * most; then every stream it still needs is asked for again at its offset
 * (status first: the agent answers 404 for a session it no longer has),
 * or it is given up and becomes LOST.
 */
#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "metrics.h"
#include "node.h"
#include "session_internal.h"
#include "stdin.h"
#include "stream.h"

struct session_waitq {
	struct list sessions; /* struct session (resume_link), a ref each */
};

struct session_waitq *session_waitq_new(void)
{
	struct session_waitq *q = malloc(sizeof(*q)); /* the node's */

	if (q)
		list_init(&q->sessions);
	return q;
}

void session_waitq_free(struct session_waitq *q, const char *why)
{
	if (!q)
		return;
	while (!list_empty(&q->sessions))
		session_give_up(list_entry(q->sessions.next, struct session,
					   resume_link),
				why);
	free(q);
}

bool session_waitq_empty(const struct session_waitq *q)
{
	return list_empty(&q->sessions);
}

static void session_resume(struct session *s, struct h2_conn *c);

unsigned session_waitq_resume(struct session_waitq *q, struct h2_conn *c)
{
	struct list *pos, *tmp;
	unsigned k = 0;

	list_for_each_safe(pos, tmp, &q->sessions) {
		session_resume(list_entry(pos, struct session, resume_link), c);
		k++;
	}
	return k;
}

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
	if (!s->node || !s->base || !node_waitq(s->node)) {
		session_give_up(s, "no node to resume on (it left the mount)");
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
	session_get(s); /* the node's waitq holds it until resumed */
	list_add_tail(&node_waitq(s->node)->sessions, &s->resume_link);
	tv.tv_sec = node_resume_seconds(s->node);
	evtimer_add(s->resume_ev, &tv);
	log_info("session %s: connection lost; resuming on the next one",
		 s->sid);
	poller_wake_all(&s->pollers); /* status changed */
}

/* Leave the node's list; drops its reference (s may go). */

/* Leave the node's waitq; drops its reference (s may go). */
static void session_resume_done(struct session *s)
{
	s->resuming = false;
	if (s->resume_ev)
		evtimer_del(s->resume_ev);
	list_del(&s->resume_link);
	session_put(s);
}

/* The node is connected again on c: re-attach what s still needs. */
static void session_resume(struct session *s, struct h2_conn *c)
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
					       &session_status_cbs, s);
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
		if (out_stream_needs_resume(s->out[i]))
			rc = out_stream_resume(s->out[i], c, path);
	if (rc == 0 && in_stream_needs_resume(s->in))
		rc = in_stream_resume(s->in, c, path);
	if (rc == 0 && s->opts.tty && !s->resize_st && !session_ended(s)) {
		s->resize_st = h2_conn_request(c, "POST", path, resize_hdrs, 1,
					       false, &session_resize_cbs, s);
		if (s->resize_st)
			session_get(s); /* until resize_on_close */
	}
	log_info("session %s: resuming on the new connection", s->sid);
	fs_metrics_inc(FSM_RESUMES);
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
