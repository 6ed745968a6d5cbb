/*
 * The agent's exec sessions: the table, a session's lifetime and its state
 * machine (session_internal.h draws it and states the may-free rule). A
 * session is created by its status stream (session_status.c), starts its
 * process once the exec request is complete and admitted (admit.c), and
 * connects the process to its other streams: stdout and stderr
 * (session_out.c), stdin (session_in.c), signal and resize
 * (session_ctl.c). This file routes each request stream to its session,
 * takes the launcher's news (started, failed, reaped) to every stream, and
 * decides when a session goes.
 *
 * A session lives until its process ended and every stream of it closed. A
 * running session left without streams is killed after a grace period.
 *
 * Resuming (docs/PROTOCOL.md): output streams keep what they sent until
 * the client consumed it, and a stream lost with its connection hands
 * back what the client may lack. The client re-attaches each stream on a
 * new connection: stdout/stderr at the offset it has, stdin with the
 * offset of its first byte, status with a GET. A session that lost a
 * stream is kept for the grace period even after its process ended, for
 * its output and its status.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "exec_spec.h"
#include "launch.h"
#include "metrics.h"
#include "reply.h"
#include "signame.h"
#include "session_internal.h"
#include "spawn.h"
#include "spawn_report.h"

/* ---- lifetime ----------------------------------------------------------- */

bool xsession_ended(const struct xsession *s)
{
	return s->state == XSESSION_EXITED || s->state == XSESSION_FAILED;
}

static bool xsession_attached(const struct xsession *s)
{
	return s->status_st || s->in.st || s->out[0].st || s->out[1].st ||
	       s->ctl;
}

static void xsession_free(struct xsession *s)
{
	struct xsession **pp;
	int i;

	log_debug("session %s: forgotten", s->sid);
	for (pp = &s->t->head; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	for (i = 0; i < 2; i++)
		xsession_out_release(&s->out[i]);
	xsession_in_release(&s->in);
	launcher_job_drop(s->job);
	ev_free(&s->report_ev);
	fd_close(&s->report_fd);
	free(s->ids);
	ev_free(&s->grace_ev);
	fd_close(&s->tty_fd);
	if (s->req)
		evbuffer_free(s->req);
	free(s);
}

bool xsession_holds_output(const struct xsession *s)
{
	int i;

	for (i = 0; i < 2; i++)
		if (resume_tx_held(&s->out[i].tx) > 0)
			return true;
	return false;
}

/* Called whenever a stream detaches or the process ends. May free s. */
void xsession_check(struct xsession *s)
{
	if (xsession_attached(s)) {
		if (s->grace_ev)
			event_del(s->grace_ev);
		return;
	}
	/* A failed start leaves nothing to resume: a client that comes
	 * back is told it is gone (and reports it lost). An ended one
	 * goes once nobody may come back for it or for its output. */
	if (s->state == XSESSION_FAILED || s->state == XSESSION_REQUEST ||
	    (xsession_ended(s) && !s->lost && !xsession_holds_output(s))) {
		xsession_free(s);
		return;
	}
	/* Running with nobody listening, or lost by its client: keep it for
	 * a while. */
	if (s->grace_ev && !evtimer_pending(s->grace_ev, NULL)) {
		struct timeval tv = { s->t->grace, 0 };

		evtimer_add(s->grace_ev, &tv);
	}
}

/* Frees s when its process ended. */
static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsession *s = arg;

	(void)fd;
	(void)what;
	/* Nobody comes back for it: its end will free it. */
	s->lost = false;
	if (s->job && s->pid > 0 && !xsession_ended(s)) {
		log_info(
			"session %s: no client for %u s, killing process group %d",
			s->sid, s->t->grace, (int)s->pid);
		launcher_signal(s->job, SIGKILL, 0, 0);
		return;
	}
	if (xsession_ended(s)) {
		log_info("session %s: its client did not come back in %u s",
			 s->sid, s->t->grace);
		xsession_free(s);
		return;
	}
	if (s->state == XSESSION_SPAWNING)
		log_info("session %s: no client for %u s while its start is "
			 "under way: it gets a period of its own once it runs",
			 s->sid, s->t->grace);
}

void xsession_lost_stream(struct xsession *s, const char *what)
{
	if (s->state == XSESSION_REQUEST || s->state == XSESSION_FAILED)
		return;
	if (!s->lost)
		log_info("session %s: %s lost with its connection; kept %u s "
			 "for a resume",
			 s->sid, what, s->t->grace);
	s->lost = true;
}

/* ---- streams on the wire ------------------------------------------------ */

/* A stream this session no longer uses (a client's earlier connection,
 * replaced by a resume): whatever still comes on it is dropped. */
static void dropped_on_data(struct h2_stream *st, const uint8_t *data,
			    size_t len, void *arg)
{
	(void)data;
	(void)arg;
	h2_stream_consume(st, len);
}

static const struct h2_stream_cbs dropped_cbs = {
	.on_data = dropped_on_data,
};

void xsession_stream_drop(struct h2_stream *st)
{
	h2_stream_set_cbs(st, &dropped_cbs, NULL);
	h2_stream_reset(st, H2_CANCEL);
}

void xsession_reply_not_started(struct h2_stream *st)
{
	reply_error(st, ENOENT, XSESSION_NOT_STARTED);
}

/* Only from a newer connection (the client resumes; its old connection is
 * gone for it even if not yet for us). A second one on the same
 * connection is refused, and so is one from an older connection: after
 * a freeze, connections the client gave up may be read after the one
 * it resumed on. */
bool xsession_stream_replaces(struct h2_stream *old, struct h2_stream *st)
{
	return h2_conn_serial(h2_stream_conn(st)) >
	       h2_conn_serial(h2_stream_conn(old));
}

int xsession_offset_header(struct h2_stream *st, uint64_t *off)
{
	return resume_offset_parse(h2_stream_header(st, EXECFS_HDR_OFFSET),
				   off);
}

/* Best effort (a pty has no such size; the owner's pipe budget may be
 * spent): the pipe keeps working at its old size. */
void xsession_pipe_grow(int fd, bool *grown)
{
	if (*grown)
		return;
	*grown = true;
	(void)fcntl(fd, F_SETPIPE_SZ, XSESSION_PIPE_BULK_BYTES);
}

/* ---- the state machine -------------------------------------------------- */

void xsession_fail(struct xsession *s, int err, const char *message)
{
	int i;

	s->state = XSESSION_FAILED;
	s->err = err;
	snprintf(s->message, sizeof(s->message), "%s", message);
	/* One that was never admitted is a client's doing (a refusal, a bad
	 * request): rate-limited like the refusal lines. */
	if (s->audited)
		log_info("session %s: start failed: %s", s->sid, message);
	else
		xsession_log_refused(XSESSION_LOG_UNADMITTED, s->identity,
				     "session %s: start failed: %s", s->sid,
				     message);
	if (s->audited) /* admitted: not a denial */
		metrics_session_failed(err);
	xsession_audit_end(s);
	xsession_status_failed(s);
	for (i = 0; i < 2; i++)
		xsession_out_fail(&s->out[i]);
	xsession_in_fail(s);
	xsession_ctl_update(s);
}

void xsession_start(struct xsession *s, struct exec_spec *spec)
{
	char err[512];
	int e;

	if (xsession_admit(s, spec) < 0)
		return;
	s->job = launcher_start(s->t->launcher, spec, s);
	if (!s->job) {
		e = errno ? errno : EIO;
		snprintf(err, sizeof(err), "cannot start: %s", strerror(e));
		xsession_fail(s, e, err);
		return;
	}
	s->tty = spec->tty;
	s->state = XSESSION_SPAWNING;
	xsession_ctl_update(s);
}

/* Both facts are in: the process was reaped and its start was decided.
 * May free s. */
static void xsession_exited(struct xsession *s)
{
	json_t *doc;

	if (s->state == XSESSION_FAILED) {
		xsession_check(s);
		return;
	}
	s->state = XSESSION_EXITED;
	metrics_session_ended();
	xsession_audit_end(s);
	doc = xsession_status_doc(s);
	log_info("session %s: pid %d ended: %s", s->sid, (int)s->pid,
		 json_string_value(json_object_get(doc, EXECFS_J_STATE)));
	json_decref(doc);
	xsession_status_send_end(s);
	xsession_ctl_update(s);
	xsession_check(s);
}

static void xsession_decided(struct xsession *s, int rc, const char *msg);

/* The launcher reaped the process. May free s. */
static void launch_on_exit(void *arg, int wstatus)
{
	struct xsession *s = arg;

	s->job = NULL;
	s->wstatus = wstatus;
	s->reaped = true;
	/* While the start report is pending, it decides what the exit means
	 * (a failed execve also ends the process). */
	if (s->died_early)
		xsession_decided(s, -ECHILD, NULL);
	else if (s->report_fd < 0)
		xsession_exited(s);
}

static void xsession_running(struct xsession *s)
{
	int i;

	s->state = XSESSION_RUNNING;
	metrics_session_started(&s->started);
	log_info("session %s: pid %d running in %s", s->sid, (int)s->pid,
		 s->container);
	xsession_status_started(s);
	for (i = 0; i < 2; i++)
		xsession_out_start(&s->out[i]);
	xsession_in_flush(s);
}

/* The start was decided: rc 0 (execve succeeded) or -errno and why;
 * -ECHILD: the process died before its execve, and was reaped. May free
 * s. */
static void xsession_decided(struct xsession *s, int rc, const char *msg)
{
	char why[512], name[16];

	s->died_early = false;
	if (rc == -ECHILD) {
		if (WIFSIGNALED(s->wstatus))
			snprintf(why, sizeof(why),
				 "the entering process died before its "
				 "execve: killed by SIG%s",
				 signal_abbrev(WTERMSIG(s->wstatus), name,
					       sizeof(name)));
		else
			snprintf(why, sizeof(why),
				 "the entering process died before its "
				 "execve: exit status %d",
				 WEXITSTATUS(s->wstatus));
		msg = why;
		rc = -EIO;
	}
	if (rc == 0)
		xsession_audit_spawned(s);
	free(s->ids);
	s->ids = NULL;
	if (rc == 0)
		xsession_running(s);
	else
		xsession_fail(s, -rc, msg); /* exit_cb still reaps it */
	if (s->reaped)
		xsession_exited(s);
}

/* The start report: did execve succeed? May free s. */
static void report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsession *s = arg;
	char msg[512];
	int rc;

	(void)what;
	rc = spawn_report_read_ids(fd, s->pid, s->ids, msg, sizeof(msg));
	if (rc == -EAGAIN)
		return;
	ev_free(&s->report_ev);
	fd_close(&s->report_fd);
	/* Died before its execve: how, its wait status says, once reaped
	 * (launch_on_exit decides then). */
	if (rc == -ECHILD && !s->reaped) {
		s->died_early = true;
		return;
	}
	xsession_decided(s, rc, msg);
}

struct event *xsession_report_event(struct xsession *s)
{
	return event_new(s->t->base, s->report_fd, EV_READ | EV_PERSIST,
			 report_cb, s);
}

/* The launcher decided the start: the process runs (its execve may still
 * fail: report_fd says), or it never did. May free s. */
static void launch_on_start(void *arg, int err, const char *message,
			    const struct launch_started *st)
{
	struct xsession *s = arg;
	int i, rc;

	if (err) {
		s->job = NULL;
		xsession_fail(s, err, message);
		/* Its client may have gone while it started: then nobody
		 * will ever close a stream of it. */
		xsession_check(s);
		return;
	}
	s->pid = st->pid;
	s->tty_fd = st->tty_fd;
	s->report_fd = st->report_fd;
	s->report_ev = xsession_report_event(s);
	s->ids = calloc(1, sizeof(*s->ids)); /* NULL: the ids go unaudited */
	/* Each takes its fd, whatever it returns. */
	rc = xsession_in_open(s, st->stdin_fd);
	for (i = 0; i < 2; i++)
		if (xsession_out_open(&s->out[i],
				      i ? st->stderr_fd : st->stdout_fd) < 0)
			rc = -ENOMEM;
	/* Without ids, an end of the report could not tell B's death
	 * before its execve from the execve (spawn_report.h). */
	if (!s->report_ev || !s->ids || rc < 0) {
		/* The job stays: its exit still comes and is reaped. */
		launcher_signal(s->job, SIGKILL, 0, 0);
		ev_free(&s->report_ev);
		fd_close(&s->report_fd);
		xsession_fail(s, ENOMEM, "out of memory");
		xsession_check(s);
		return;
	}
	event_add(s->report_ev, NULL);
	if (s->tty_fd >= 0 && s->pend_cols)
		xsession_tty_resize(s, s->pend_cols, s->pend_rows);
	xsession_ctl_update(s);
	/* A grace period that ran out while the start was queued found no
	 * process to kill: the process gets one of its own. */
	xsession_check(s);
}

static void launch_on_signal(void *arg, uint64_t cookie, int err, pid_t pg,
			     bool fg)
{
	xsession_ctl_signal_answered(arg, cookie, err, pg, fg);
}

static const struct launch_cbs xsession_cbs = {
	.on_start = launch_on_start,
	.on_exit = launch_on_exit,
	.on_signal = launch_on_signal,
};

const struct launch_cbs *xsession_launch_cbs(void)
{
	return &xsession_cbs;
}

/* ---- the table ---------------------------------------------------------- */

struct xsession *xsession_find(struct xsession_table *t, const char *sid)
{
	struct xsession *s;

	for (s = t->head; s; s = s->next)
		if (!strcmp(s->sid, sid))
			return s;
	return NULL;
}

struct xsession *xsession_new(struct xsession_table *t, const char *sid)
{
	struct xsession *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return NULL;
	s->t = t;
	snprintf(s->sid, sizeof(s->sid), "%s", sid);
	s->report_fd = s->tty_fd = -1;
	for (i = 0; i < 2; i++)
		xsession_out_init(&s->out[i], s,
				  i ? EXECFS_ST_STDERR : EXECFS_ST_STDOUT);
	s->req = evbuffer_new();
	s->grace_ev = evtimer_new(t->base, grace_cb, s);
	if (xsession_in_init(&s->in) < 0 || !s->req || !s->grace_ev) {
		xsession_free(s);
		return NULL;
	}
	s->next = t->head;
	t->head = s;
	return s;
}

void xsession_table_route(struct xsession_table *t, struct h2_stream *st,
			  const char *sid, const char *streamtype)
{
	const char *peer = h2_conn_peer(h2_stream_conn(st));
	struct xsession *s;
	char why[512];

	if (!session_id_valid(sid) || !streamtype) {
		snprintf(why, sizeof(why), "%s",
			 streamtype ? "bad session id" :
				      "missing streamtype header");
		xsession_audit_refused(t, NULL, peer, NULL,
				       AUDIT_MALFORMED_REQUEST, why);
		reply_error(st, EINVAL, why);
		return;
	}
	s = xsession_find(t, sid);
	if (!strcmp(streamtype, EXECFS_ST_STATUS) &&
	    strcmp(h2_stream_method(st), "GET")) {
		if (s) {
			reply_error(st, EEXIST, "session id in use");
			return;
		}
		/* It counts against the limit from here, while its request
		 * is still coming. */
		if (xsession_admit_new(t, sid, peer, why, sizeof(why)) < 0) {
			reply_error(st, EAGAIN, why);
			return;
		}
		s = xsession_new(t, sid);
		if (!s) {
			reply_error(st, ENOMEM, "out of memory");
			return;
		}
		snprintf(s->identity, sizeof(s->identity), "%s", peer);
		s->conn_serial = h2_conn_serial(h2_stream_conn(st));
		xsession_status_open(s, st);
		return;
	}
	if (!s) {
		reply_error(st, ENOENT, "no such session");
		return;
	}
	/* Every stream is checked, not only the start: a session's streams
	 * belong to the peer that started it. */
	if (strcmp(peer, s->identity)) {
		snprintf(why, sizeof(why), "%s stream from %s (started by %s)",
			 streamtype, peer, s->identity);
		xsession_log_refused(AUDIT_CROSS_IDENTITY, peer,
				     "session %s: %s refused", s->sid, why);
		xsession_audit_refused(t, s->sid, peer,
				       s->container[0] ? s->container : NULL,
				       AUDIT_CROSS_IDENTITY, why);
		reply_error(st, EACCES, "session belongs to another peer");
		return;
	}
	/* A stream from another connection than the start's: a resume. */
	if (h2_conn_serial(h2_stream_conn(st)) != s->conn_serial)
		xsession_audit_resume(s, st, streamtype);
	/* Each may free s: the last use of it here. */
	if (!strcmp(streamtype, EXECFS_ST_STATUS))
		xsession_status_attach(s, st);
	else if (!strcmp(streamtype, EXECFS_ST_STDOUT))
		xsession_out_attach(s, &s->out[0], st);
	else if (!strcmp(streamtype, EXECFS_ST_STDERR))
		xsession_out_attach(s, &s->out[1], st);
	else if (!strcmp(streamtype, EXECFS_ST_STDIN))
		xsession_in_attach(s, st);
	else if (!strcmp(streamtype, EXECFS_ST_SIGNAL))
		xsession_ctl_attach(s, st, XSESSION_CTL_SIGNAL);
	else if (!strcmp(streamtype, EXECFS_ST_RESIZE))
		xsession_ctl_attach(s, st, XSESSION_CTL_RESIZE);
	else
		reply_error(st, EINVAL, "unknown streamtype");
}

struct xsession_table *xsession_table_new(struct event_base *base,
					  struct inventory *inv,
					  struct launcher *launcher)
{
	struct xsession_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->base = base;
	t->inv = inv;
	t->launcher = launcher;
	t->per_identity = XSESSION_DEFAULT_PER_IDENTITY;
	t->grace = XSESSION_GRACE_SECONDS;
	return t;
}

void xsession_table_set_policy(struct xsession_table *t,
			       const struct policy *policy)
{
	t->policy = policy;
}

void xsession_table_set_audit(struct xsession_table *t, struct audit *audit,
			      const char *node)
{
	t->audit = audit;
	snprintf(t->node, sizeof(t->node), "%s", node);
}

void xsession_table_set_limit(struct xsession_table *t, size_t per_identity)
{
	t->per_identity = per_identity ? per_identity :
					 XSESSION_DEFAULT_PER_IDENTITY;
}

void xsession_table_set_grace(struct xsession_table *t, unsigned seconds)
{
	t->grace = seconds ? seconds : XSESSION_GRACE_SECONDS;
}

void xsession_table_free(struct xsession_table *t)
{
	if (!t)
		return;
	while (t->head) {
		struct xsession *s = t->head;

		if (s->pid > 0 && !xsession_ended(s)) {
			/* xsession_free() drops the job: the launcher kills
			 * the process group. */
			/* Not reaped (the loop is over), but its end is known:
			 * the audit trail must not have a start without one. */
			s->wstatus = SIGKILL;
			s->state = XSESSION_EXITED;
			xsession_audit_end(s);
		}
		xsession_free(s);
	}
	free(t);
}
