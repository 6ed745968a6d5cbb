/*
 * The agent's sessions. A session is created by its status stream, starts
 * its process once the exec request body is complete, and connects the
 * process's pipes to the session's other streams:
 *
 *   stdout/stderr: the pipe is read only while the stream's outgoing buffer
 *                  has room, and that buffer drains only as the client grants
 *                  HTTP/2 window: a reader that stops stops the process, as
 *                  a full pipe does;
 *   stdin:         received bytes are written to the pipe and only then
 *                  returned to the client as window;
 *   status:        answers whether the process started, then carries the
 *                  exit status.
 *
 * A session lives until its process ended and every stream of it closed. A
 * running session left without streams is killed after a grace period.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "inventory.h"
#include "request.h"
#include "session.h"
#include "spawn.h"

#define OUT_READ_CHUNK (64 * 1024)

enum session_state {
	SESSION_REQUEST, /* receiving the exec request */
	SESSION_SPAWNING, /* forked; waiting to learn whether execve worked */
	SESSION_RUNNING,
	SESSION_EXITED, /* reaped; wstatus is valid */
	SESSION_FAILED, /* never ran; err and message say why */
};

struct session;

/* One output pipe (stdout or stderr) and the stream it is sent on. */
struct outstream {
	struct session *s;
	const char *name;
	int fd; /* owned; pipe read end, -1 once at EOF */
	struct event *ev; /* owned; EV_READ on fd */
	struct h2_stream *st; /* attached client stream, or NULL */
	unsigned long long sent;
	bool ev_added;
};

struct session {
	struct session_table *t;
	char sid[EXECFS_SID_LEN + 1];
	enum session_state state;
	char container[EXECFS_MAX_NAME_LEN + 1];

	struct h2_stream *status_st; /* NULL once closed */
	struct evbuffer *req; /* owned; request body while REQUEST */

	struct outstream out[2]; /* stdout, stderr */

	struct h2_stream *in_st; /* stdin stream or NULL */
	struct evbuffer *inbuf; /* owned; received, not yet in the pipe */
	int in_fd; /* owned; pipe write end, -1 when closed */
	struct event *in_ev; /* owned; EV_WRITE on in_fd */
	bool in_end; /* client ended stdin */

	pid_t pid;
	int pidfd; /* owned */
	struct event *exit_ev; /* owned; EV_READ on pidfd */
	int report_fd; /* owned; spawn report pipe */
	struct event *report_ev; /* owned */
	int wstatus;
	bool reaped; /* wstatus is valid */
	int err; /* SESSION_FAILED: positive errno */
	char message[512]; /* SESSION_FAILED: why */

	struct event *grace_ev; /* owned; kills an abandoned process */
	struct session *next;
};

struct session_table {
	struct event_base *base;
	struct inventory *inv; /* not owned */
	struct spawner *sp; /* not owned */
	struct session *head;
	size_t count;
};

static const struct h2_stream_cbs status_cbs, out_cbs, in_cbs;

/* ---- lifetime ----------------------------------------------------------- */

static void ev_free(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}

static void fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static bool session_ended(const struct session *s)
{
	return s->state == SESSION_EXITED || s->state == SESSION_FAILED;
}

static bool session_attached(const struct session *s)
{
	return s->status_st || s->in_st || s->out[0].st || s->out[1].st;
}

static void session_free(struct session *s)
{
	struct session **pp;
	int i;

	for (pp = &s->t->head; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			s->t->count--;
			break;
		}
	for (i = 0; i < 2; i++) {
		ev_free(&s->out[i].ev);
		fd_close(&s->out[i].fd);
	}
	ev_free(&s->in_ev);
	fd_close(&s->in_fd);
	ev_free(&s->exit_ev);
	fd_close(&s->pidfd);
	ev_free(&s->report_ev);
	fd_close(&s->report_fd);
	ev_free(&s->grace_ev);
	if (s->req)
		evbuffer_free(s->req);
	if (s->inbuf)
		evbuffer_free(s->inbuf);
	free(s);
}

/* Called whenever a stream detaches or the process ends. */
static void session_check(struct session *s)
{
	if (session_attached(s)) {
		if (s->grace_ev)
			event_del(s->grace_ev);
		return;
	}
	if (session_ended(s) || s->state == SESSION_REQUEST) {
		session_free(s);
		return;
	}
	/* Running with nobody listening: keep it for a while. */
	if (s->grace_ev && !evtimer_pending(s->grace_ev, NULL)) {
		struct timeval tv = { SESSION_GRACE_SECONDS, 0 };

		evtimer_add(s->grace_ev, &tv);
	}
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->pid > 0 && !session_ended(s)) {
		log_info(
			"session %s: no client for %d s, killing process group %d",
			s->sid, SESSION_GRACE_SECONDS, (int)s->pid);
		kill(-s->pid, SIGKILL);
	}
}

/* ---- answering ---------------------------------------------------------- */

static void respond_json(struct h2_stream *st, int status, json_t *doc,
			 bool end)
{
	static const struct h2_header ct[] = {
		{ "content-type", "application/json" },
	};
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	h2_stream_respond(st, status, ct, 1, !text && end);
	if (text) {
		h2_stream_write(st, text, strlen(text));
		h2_stream_write(st, "\n", 1);
		if (end)
			h2_stream_end(st);
	}
	free(text);
}

static void respond_error(struct h2_stream *st, int err, const char *message)
{
	json_t *doc = json_pack("{s:s, s:s, s:s}", EXECFS_J_STATE, "failed",
				EXECFS_J_ERRNO, errno_name(err),
				EXECFS_J_MESSAGE, message);

	respond_json(st, errno_http_status(err), doc, true);
	json_decref(doc);
}

static json_t *status_doc(const struct session *s)
{
	int sig;

	if (s->state == SESSION_FAILED)
		return json_pack("{s:s, s:s, s:s}", EXECFS_J_STATE, "failed",
				 EXECFS_J_ERRNO, errno_name(s->err),
				 EXECFS_J_MESSAGE, s->message);
	if (s->state != SESSION_EXITED)
		return json_pack("{s:s, s:i}", EXECFS_J_STATE, "running",
				 EXECFS_J_PROCESS_PID, (int)s->pid);
	if (WIFEXITED(s->wstatus))
		return json_pack("{s:s, s:i}", EXECFS_J_STATE, "exited",
				 EXECFS_J_CODE, WEXITSTATUS(s->wstatus));
	sig = WTERMSIG(s->wstatus);
	return json_pack("{s:s, s:i, s:s}", EXECFS_J_STATE, "killed",
			 EXECFS_J_SIGNAL, sig, EXECFS_J_SIGNAME,
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "UNKNOWN");
}

/* ---- output streams ----------------------------------------------------- */

static void out_update(struct outstream *o)
{
	bool want = o->fd >= 0 && o->st && o->s->state >= SESSION_RUNNING &&
		    h2_stream_write_space(o->st) > 0;

	if (want && !o->ev_added) {
		event_add(o->ev, NULL);
		o->ev_added = true;
	} else if (!want && o->ev_added) {
		event_del(o->ev);
		o->ev_added = false;
	}
}

static void out_eof(struct outstream *o)
{
	if (o->ev_added)
		event_del(o->ev);
	o->ev_added = false;
	ev_free(&o->ev);
	fd_close(&o->fd);
	if (o->st)
		h2_stream_end(o->st);
}

static void out_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outstream *o = arg;
	char buf[OUT_READ_CHUNK];
	size_t space;
	ssize_t n;

	(void)what;
	if (!o->st)
		return;
	space = h2_stream_write_space(o->st);
	if (space > sizeof(buf))
		space = sizeof(buf);
	if (!space) {
		out_update(o);
		return;
	}
	n = read(fd, buf, space);
	if (n > 0) {
		if (h2_stream_write(o->st, buf, n) < 0) {
			log_warn("session %s: %s: stream refused output",
				 o->s->sid, o->name);
			h2_stream_reset(o->st, H2_INTERNAL_ERROR);
			return;
		}
		o->sent += n;
		out_update(o);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0)
		log_warn("session %s: read %s: %s", o->s->sid, o->name,
			 strerror(errno));
	out_eof(o);
}

static void out_on_writable(struct h2_stream *st, void *arg)
{
	(void)st;
	out_update(arg);
}

static void out_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct outstream *o = arg;

	(void)st;
	(void)code;
	o->st = NULL;
	out_update(o);
	session_check(o->s);
}

static const struct h2_stream_cbs out_cbs = {
	.on_writable = out_on_writable,
	.on_close = out_on_close,
};

/* The session started (or ended without output): answer and start
 * forwarding. */
static void out_start(struct outstream *o)
{
	if (!o->st)
		return;
	h2_stream_respond(o->st, 200, NULL, 0, false);
	if (o->fd < 0)
		h2_stream_end(o->st);
	out_update(o);
}

static void out_attach(struct session *s, struct outstream *o,
		       struct h2_stream *st)
{
	const char *off = h2_stream_header(st, EXECFS_HDR_OFFSET);

	if (o->st) {
		respond_error(st, EBUSY, "stream is already attached");
		return;
	}
	/* Resuming at an older offset needs the history that comes with
	 * reconnection; until then only the next byte can be asked for. */
	if (off && strtoull(off, NULL, 10) != o->sent) {
		respond_error(st, EINVAL, "offset is not available");
		return;
	}
	o->st = st;
	h2_stream_set_cbs(st, &out_cbs, o);
	if (s->state >= SESSION_RUNNING && s->state != SESSION_FAILED)
		out_start(o);
	else if (s->state == SESSION_FAILED)
		respond_error(st, ENOENT, "session failed to start");
	session_check(s);
}

/* ---- stdin -------------------------------------------------------------- */

static void in_finish(struct session *s)
{
	ev_free(&s->in_ev);
	fd_close(&s->in_fd);
	if (s->in_st) {
		h2_stream_respond(s->in_st, 200, NULL, 0, true);
	}
}

/* Move buffered input into the pipe; window goes back as it does. */
static void in_flush(struct session *s)
{
	size_t before, n;
	int rv;

	if (s->state < SESSION_RUNNING)
		return;
	while (s->in_fd >= 0 && evbuffer_get_length(s->inbuf) > 0) {
		before = evbuffer_get_length(s->inbuf);
		rv = evbuffer_write(s->inbuf, s->in_fd);
		if (rv < 0 && (errno == EAGAIN || errno == EINTR)) {
			event_add(s->in_ev, NULL);
			return;
		}
		if (rv < 0) {
			/* The process closed its stdin (EPIPE): discard. */
			evbuffer_drain(s->inbuf, before);
			fd_close(&s->in_fd);
			ev_free(&s->in_ev);
		}
		n = before - evbuffer_get_length(s->inbuf);
		if (s->in_st)
			h2_stream_consume(s->in_st, n);
	}
	if (s->in_fd < 0 && s->in_st) {
		/* Nobody reads any more: take the bytes so the client is not
		 * held forever. */
		n = evbuffer_get_length(s->inbuf);
		evbuffer_drain(s->inbuf, n);
		h2_stream_consume(s->in_st, n);
	}
	if (s->in_end && evbuffer_get_length(s->inbuf) == 0 && s->in_st) {
		in_finish(s);
		s->in_end = false;
	}
}

static void in_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	in_flush(arg);
}

static void in_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
		       void *arg)
{
	struct session *s = arg;

	(void)st;
	/* Bounded by the stream window: the client cannot send more than it
	 * was granted, and we grant only what reached the pipe. */
	evbuffer_add(s->inbuf, data, len);
	in_flush(s);
}

static void in_on_end(struct h2_stream *st, void *arg)
{
	struct session *s = arg;

	(void)st;
	s->in_end = true;
	in_flush(s);
}

static void in_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct session *s = arg;

	(void)st;
	s->in_st = NULL;
	/* A client that went away mid-stream leaves stdin open for a
	 * resume; one that reset it means EOF. */
	if (code != 0 && code != H2_CANCEL) {
		ev_free(&s->in_ev);
		fd_close(&s->in_fd);
	}
	session_check(s);
}

static const struct h2_stream_cbs in_cbs = {
	.on_data = in_on_data,
	.on_end = in_on_end,
	.on_close = in_on_close,
};

static void in_attach(struct session *s, struct h2_stream *st)
{
	if (s->in_st) {
		respond_error(st, EBUSY, "stdin is already attached");
		return;
	}
	if (s->state == SESSION_FAILED) {
		respond_error(st, ENOENT, "session failed to start");
		return;
	}
	s->in_st = st;
	h2_stream_set_cbs(st, &in_cbs, s);
	session_check(s);
}

/* ---- the process -------------------------------------------------------- */

static void session_fail(struct session *s, int err, const char *message)
{
	int i;

	s->state = SESSION_FAILED;
	s->err = err;
	snprintf(s->message, sizeof(s->message), "%s", message);
	log_info("session %s: start failed: %s", s->sid, message);
	if (s->status_st)
		respond_error(s->status_st, err, message);
	for (i = 0; i < 2; i++) {
		fd_close(&s->out[i].fd);
		ev_free(&s->out[i].ev);
		if (s->out[i].st)
			respond_error(s->out[i].st, ENOENT,
				      "session failed to start");
	}
	ev_free(&s->in_ev);
	fd_close(&s->in_fd);
	if (s->in_st)
		respond_error(s->in_st, ENOENT, "session failed to start");
}

/* Both facts are in: the process was reaped and its start was decided. */
static void session_exited(struct session *s)
{
	json_t *doc;

	if (s->state == SESSION_FAILED) {
		session_check(s);
		return;
	}
	s->state = SESSION_EXITED;
	doc = status_doc(s);
	log_info("session %s: pid %d ended: %s", s->sid, (int)s->pid,
		 json_string_value(json_object_get(doc, EXECFS_J_STATE)));
	if (s->status_st) {
		char *text = json_dumps(doc, JSON_COMPACT);

		if (text) {
			h2_stream_write(s->status_st, text, strlen(text));
			h2_stream_write(s->status_st, "\n", 1);
		}
		h2_stream_end(s->status_st);
		free(text);
	}
	json_decref(doc);
	session_check(s);
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int rc;

	(void)fd;
	(void)what;
	rc = spawn_reap(s->pidfd, &s->wstatus);
	if (rc == -EAGAIN)
		return;
	ev_free(&s->exit_ev);
	fd_close(&s->pidfd);
	if (rc < 0) {
		log_warn("session %s: reap %d: %s", s->sid, (int)s->pid,
			 strerror(-rc));
		s->wstatus = W_EXITCODE(255, 0);
	}
	s->reaped = true;
	/* While the start report is pending, it decides what the exit means
	 * (a failed execve also ends the process). */
	if (s->report_fd < 0)
		session_exited(s);
}

static void session_running(struct session *s)
{
	int i;

	s->state = SESSION_RUNNING;
	log_info("session %s: pid %d running in %s", s->sid, (int)s->pid,
		 s->container);
	if (s->status_st)
		h2_stream_respond(s->status_st, 200, NULL, 0, false);
	for (i = 0; i < 2; i++)
		out_start(&s->out[i]);
	in_flush(s);
}

static void report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char msg[512];
	int rc;

	(void)what;
	rc = spawn_report_read(fd, msg, sizeof(msg));
	if (rc == -EAGAIN)
		return;
	ev_free(&s->report_ev);
	fd_close(&s->report_fd);
	if (rc == 0)
		session_running(s);
	else
		session_fail(s, -rc, msg); /* exit_cb still reaps it */
	if (s->reaped)
		session_exited(s);
}

static int session_spawn(struct session *s, const struct exec_request *req)
{
	const struct container *c = inventory_find(s->t->inv, req->container);
	struct spawn_request sr = { 0 };
	struct spawn_result res;
	char err[512] = "";
	int rc, i;

	if (!c) {
		snprintf(err, sizeof(err), "no container %s on this node",
			 req->container);
		session_fail(s, ENOENT, err);
		return -ENOENT;
	}
	if (c->state != CONTAINER_RUNNING) {
		snprintf(err, sizeof(err), "container %s is %s, not running",
			 c->id, container_state_name(c->state));
		session_fail(s, EBUSY, err);
		return -EBUSY;
	}
	snprintf(s->container, sizeof(s->container), "%s", c->id);
	sr.c = c;
	sr.argv = req->argv;
	sr.env_extra = req->env;
	sr.cwd = req->cwd;
	sr.tty = req->tty;
	sr.cols = req->cols;
	sr.rows = req->rows;
	rc = spawn_start(s->t->sp, &sr, &res, err, sizeof(err));
	if (rc < 0) {
		session_fail(s, -rc, err[0] ? err : strerror(-rc));
		return rc;
	}
	s->pid = res.pid;
	s->pidfd = res.pidfd;
	s->in_fd = res.stdin_fd;
	s->out[0].fd = res.stdout_fd;
	s->out[1].fd = res.stderr_fd;
	s->report_fd = res.report_fd;
	s->exit_ev = event_new(s->t->base, s->pidfd, EV_READ | EV_PERSIST,
			       exit_cb, s);
	s->report_ev = event_new(s->t->base, s->report_fd, EV_READ | EV_PERSIST,
				 report_cb, s);
	s->in_ev = event_new(s->t->base, s->in_fd, EV_WRITE, in_write_cb, s);
	for (i = 0; i < 2; i++)
		if (s->out[i].fd >= 0)
			s->out[i].ev = event_new(s->t->base, s->out[i].fd,
						 EV_READ | EV_PERSIST,
						 out_read_cb, &s->out[i]);
	if (!s->exit_ev || !s->report_ev || !s->in_ev ||
	    (s->out[0].fd >= 0 && !s->out[0].ev) ||
	    (s->out[1].fd >= 0 && !s->out[1].ev)) {
		kill(-s->pid, SIGKILL);
		kill(s->pid, SIGKILL);
		session_fail(s, ENOMEM, "out of memory");
		/* exit_ev, if it exists, still reaps the process. */
		if (s->exit_ev)
			event_add(s->exit_ev, NULL);
		return -ENOMEM;
	}
	s->state = SESSION_SPAWNING;
	event_add(s->exit_ev, NULL);
	event_add(s->report_ev, NULL);
	return 0;
}

/* ---- the status stream -------------------------------------------------- */

static void status_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct session *s = arg;

	h2_stream_consume(st, len);
	if (s->state != SESSION_REQUEST)
		return; /* nothing more is expected; ignore */
	if (evbuffer_get_length(s->req) + len > EXECFS_MAX_REQUEST_BYTES) {
		session_fail(s, EINVAL, "exec request too large");
		return;
	}
	evbuffer_add(s->req, data, len);
}

static void status_on_end(struct h2_stream *st, void *arg)
{
	struct session *s = arg;
	struct exec_request req;
	char err[512];
	size_t len;
	int rc;

	(void)st;
	if (s->state != SESSION_REQUEST)
		return;
	len = evbuffer_get_length(s->req);
	rc = exec_request_parse((const char *)evbuffer_pullup(s->req, -1), len,
				&req, err, sizeof(err));
	evbuffer_free(s->req);
	s->req = NULL;
	if (rc < 0) {
		session_fail(s, -rc, err);
		return;
	}
	log_info("session %s: peer %s: exec in %s: %s%s", s->sid,
		 h2_conn_peer(h2_stream_conn(st)), req.container, req.argv[0],
		 req.argv[1] ? " ..." : "");
	session_spawn(s, &req);
	exec_request_release(&req);
}

static void status_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct session *s = arg;

	(void)st;
	(void)code;
	s->status_st = NULL;
	if (s->state == SESSION_REQUEST)
		s->state = SESSION_FAILED; /* the request never completed */
	session_check(s);
}

static const struct h2_stream_cbs status_cbs = {
	.on_data = status_on_data,
	.on_end = status_on_end,
	.on_close = status_on_close,
};

/* ---- the table ---------------------------------------------------------- */

static struct session *session_find(struct session_table *t, const char *sid)
{
	struct session *s;

	for (s = t->head; s; s = s->next)
		if (!strcmp(s->sid, sid))
			return s;
	return NULL;
}

static struct session *session_new(struct session_table *t, const char *sid)
{
	struct session *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return NULL;
	s->t = t;
	snprintf(s->sid, sizeof(s->sid), "%s", sid);
	s->in_fd = s->pidfd = s->report_fd = -1;
	for (i = 0; i < 2; i++) {
		s->out[i].s = s;
		s->out[i].fd = -1;
		s->out[i].name = i ? EXECFS_ST_STDERR : EXECFS_ST_STDOUT;
	}
	s->req = evbuffer_new();
	s->inbuf = evbuffer_new();
	s->grace_ev = evtimer_new(t->base, grace_cb, s);
	if (!s->req || !s->inbuf || !s->grace_ev) {
		session_free(s);
		return NULL;
	}
	s->next = t->head;
	t->head = s;
	t->count++;
	return s;
}

void session_table_route(struct session_table *t, struct h2_stream *st,
			 const char *sid, const char *streamtype)
{
	struct session *s;

	if (!session_id_valid(sid)) {
		respond_error(st, EINVAL, "bad session id");
		return;
	}
	if (!streamtype) {
		respond_error(st, EINVAL, "missing streamtype header");
		return;
	}
	s = session_find(t, sid);
	if (!strcmp(streamtype, EXECFS_ST_STATUS)) {
		if (s) {
			respond_error(st, EEXIST, "session id in use");
			return;
		}
		s = session_new(t, sid);
		if (!s) {
			respond_error(st, ENOMEM, "out of memory");
			return;
		}
		s->status_st = st;
		h2_stream_set_cbs(st, &status_cbs, s);
		return;
	}
	if (!s) {
		respond_error(st, ENOENT, "no such session");
		return;
	}
	if (!strcmp(streamtype, EXECFS_ST_STDOUT))
		out_attach(s, &s->out[0], st);
	else if (!strcmp(streamtype, EXECFS_ST_STDERR))
		out_attach(s, &s->out[1], st);
	else if (!strcmp(streamtype, EXECFS_ST_STDIN))
		in_attach(s, st);
	else
		respond_error(st, EINVAL, "unknown streamtype");
}

struct session_table *session_table_new(struct event_base *base,
					struct inventory *inv,
					struct spawner *sp)
{
	struct session_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->base = base;
	t->inv = inv;
	t->sp = sp;
	return t;
}

size_t session_table_count(const struct session_table *t)
{
	return t->count;
}

void session_table_free(struct session_table *t)
{
	if (!t)
		return;
	while (t->head) {
		struct session *s = t->head;

		if (s->pid > 0 && !session_ended(s))
			kill(-s->pid, SIGKILL);
		session_free(s);
	}
	free(t);
}
