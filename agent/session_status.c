/*
 * A session's status stream (docs/PROTOCOL.md): the POST that creates the
 * session carries the exec request as its body; the answer says whether
 * the process started (200, or an error document), and the body, once the
 * process ended, is one status document. A client that lost the stream
 * GETs it again and is answered as the first one would have been from
 * there on. The stream keeps what it sent until the client has it, so a
 * status document in flight when the connection drops is sent again.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <sys/wait.h>

#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "exec_spec.h"
#include "metrics.h"
#include "reply.h"
#include "session_internal.h"
#include "signame.h"

json_t *xsession_status_doc(const struct xsession *s)
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

/* The status stream's last words: the status document, then its end. */
void xsession_status_send_end(struct xsession *s)
{
	json_t *doc;

	if (!s->status_st)
		return;
	doc = xsession_status_doc(s);
	if (reply_json_line(s->status_st, doc) == 0)
		h2_stream_end(s->status_st);
	json_decref(doc);
}

void xsession_status_started(struct xsession *s)
{
	if (s->status_st)
		reply_status(s->status_st, 200, false);
}

void xsession_status_failed(struct xsession *s)
{
	if (s->status_st)
		reply_error(s->status_st, s->err, s->message);
}

static void status_stream_on_data(struct h2_stream *st, const uint8_t *data,
				  size_t len, void *arg)
{
	struct xsession *s = arg;

	h2_stream_consume(st, len);
	if (s->state != XSESSION_REQUEST)
		return; /* nothing more is expected; ignore */
	if (evbuffer_get_length(s->req) + len > EXECFS_MAX_REQUEST_BYTES) {
		xsession_audit_refused(s->t, s->sid, s->identity, NULL,
				       AUDIT_MALFORMED_REQUEST,
				       "exec request too large");
		xsession_fail(s, EINVAL, "exec request too large");
		return;
	}
	if (evbuffer_add(s->req, data, len) < 0)
		xsession_fail(s, ENOMEM, "out of memory");
}

static void status_stream_on_end(struct h2_stream *st, void *arg)
{
	struct xsession *s = arg;
	struct exec_spec req;
	char err[512];
	size_t len;
	int rc;

	if (s->state != XSESSION_REQUEST)
		return;
	len = evbuffer_get_length(s->req);
	rc = exec_spec_from_json((const char *)evbuffer_pullup(s->req, -1), len,
				 &req, err, sizeof(err));
	evbuffer_free(s->req);
	s->req = NULL;
	if (rc < 0) {
		if (rc == -EINVAL)
			xsession_audit_refused(s->t, s->sid, s->identity, NULL,
					       AUDIT_MALFORMED_REQUEST, err);
		xsession_fail(s, -rc, err);
		return;
	}
	log_info("session %s: peer %s: exec in %s: %s%s%s%s%s", s->sid,
		 h2_conn_peer(h2_stream_conn(st)), req.container, req.argv[0],
		 req.argv[1] ? " ..." : "", req.tty ? " (tty)" : "",
		 req.user ? " as " : "", req.user ? req.user : "");
	xsession_start(s, &req);
	exec_spec_release(&req);
}

/* May free s. */
static void status_stream_on_close(struct h2_stream *st, uint32_t code,
				   void *arg)
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
		xsession_ctl_update(s);
	}
	xsession_check(s);
}

static const struct h2_stream_cbs status_stream_cbs = {
	.on_data = status_stream_on_data,
	.on_end = status_stream_on_end,
	.on_close = status_stream_on_close,
};

void xsession_status_open(struct xsession *s, struct h2_stream *st)
{
	s->status_st = st;
	/* Its status document must not be lost in flight either. */
	h2_stream_keep_sent(st);
	h2_stream_set_cbs(st, &status_stream_cbs, s);
}

/* Answered as the first one would have been from here on (the start's
 * answer, then the end). May free s. */
void xsession_status_attach(struct xsession *s, struct h2_stream *st)
{
	if (s->status_st && !xsession_stream_replaces(s->status_st, st)) {
		reply_error(st, EBUSY, "status is already attached");
		return;
	}
	if (s->status_st)
		xsession_stream_drop(s->status_st);
	xsession_status_open(s, st);
	s->lost = false;
	log_info("session %s: status resumed by %s", s->sid, s->identity);
	metrics_inc(METRIC_RESUMES);
	switch (s->state) {
	case XSESSION_REQUEST:
	case XSESSION_SPAWNING:
		break; /* answered when the start is decided */
	case XSESSION_RUNNING:
		reply_status(st, 200, false);
		break;
	case XSESSION_EXITED:
		if (reply_status(st, 200, false) == 0)
			xsession_status_send_end(s);
		break;
	case XSESSION_FAILED:
		reply_error(st, s->err, s->message);
		break;
	}
	xsession_check(s);
}
