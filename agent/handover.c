/*
 * The upgrade's two documents (handover.h): encoders and the decoders
 * that accept exactly what they write.
 */
#include "handover.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_spec.h"

#define HANDOVER_MAGIC 0x31484658u /* "XFH1" */
#define HANDOVER_MONITOR_MAGIC 0x314d4658u /* "XFM1" */

/* ---- writing ------------------------------------------------------------ */

struct hw {
	struct evbuffer *b; /* owned */
	int err; /* sticky */
	size_t max; /* the document's bound */
};

static void hw_put(struct hw *w, const void *data, size_t len)
{
	if (w->err || !len)
		return;
	if (!w->b && !(w->b = evbuffer_new()))
		w->err = -ENOMEM;
	else if (evbuffer_get_length(w->b) + len > w->max)
		w->err = -EINVAL;
	else if (evbuffer_add(w->b, data, len) < 0)
		w->err = -ENOMEM;
}

#define HW_INT(name, type)                          \
	static void hw_##name(struct hw *w, type v) \
	{                                           \
		hw_put(w, &v, sizeof(v));           \
	}
HW_INT(u32, uint32_t)
HW_INT(u64, uint64_t)
HW_INT(i32, int32_t)
HW_INT(i64, int64_t)

static void hw_bytes(struct hw *w, const void *p, size_t len, size_t max)
{
	if (len > max) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	hw_u32(w, (uint32_t)len);
	hw_put(w, p, len);
}

static void hw_str(struct hw *w, const char *s, size_t max)
{
	hw_bytes(w, s, strlen(s), max);
}

static int hw_end(struct hw *w, uint8_t **out, size_t *outlen)
{
	size_t len = w->b ? evbuffer_get_length(w->b) : 0;

	*out = NULL;
	if (!w->err && !(*out = malloc(len ? len : 1)))
		w->err = -ENOMEM;
	if (!w->err && len && evbuffer_remove(w->b, *out, len) != (int)len)
		w->err = -EIO;
	if (w->b)
		evbuffer_free(w->b);
	if (w->err) {
		free(*out);
		*out = NULL;
		return w->err;
	}
	*outlen = len;
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

struct hr {
	const uint8_t *p;
	size_t left;
	const char *bad; /* the first problem */
};

static void hr_get(struct hr *r, void *out, size_t len, const char *what)
{
	if (r->bad)
		return;
	if (r->left < len) {
		r->bad = what;
		return;
	}
	memcpy(out, r->p, len);
	r->p += len;
	r->left -= len;
}

#define HR_INT(name, type)                                    \
	static type hr_##name(struct hr *r, const char *what) \
	{                                                     \
		type v = 0;                                   \
                                                              \
		hr_get(r, &v, sizeof(v), what);               \
		return v;                                     \
	}
HR_INT(u32, uint32_t)
HR_INT(u64, uint64_t)
HR_INT(i32, int32_t)
HR_INT(i64, int64_t)

/* A string of at most max bytes without NUL into buf (max + 1 bytes). */
static void hr_str(struct hr *r, char *buf, size_t max, const char *what)
{
	uint32_t len = hr_u32(r, what);

	buf[0] = 0;
	if (r->bad)
		return;
	if (len > max || len > r->left || memchr(r->p, 0, len)) {
		r->bad = what;
		return;
	}
	memcpy(buf, r->p, len);
	buf[len] = 0;
	r->p += len;
	r->left -= len;
}

/* Bytes of at most max into a malloc'ed *out (NULL when empty). */
static void hr_bytes(struct hr *r, uint8_t **out, size_t *outlen, size_t max,
		     const char *what)
{
	uint32_t len = hr_u32(r, what);

	*out = NULL;
	*outlen = 0;
	if (r->bad || !len)
		return;
	if (len > max || len > r->left) {
		r->bad = what;
		return;
	}
	*out = malloc(len);
	if (!*out) {
		r->bad = "out of memory";
		return;
	}
	hr_get(r, *out, len, what);
	*outlen = len;
}

/* An fd index: -1, or below nfds and not seen before (used: a bitmap). */
static void hr_fd(struct hr *r, int32_t *fd, size_t nfds, uint8_t *used,
		  const char *what)
{
	*fd = hr_i32(r, what);
	if (r->bad || *fd == -1)
		return;
	if (*fd < 0 || (size_t)*fd >= nfds ||
	    used[*fd / 8] & (1u << (*fd % 8))) {
		r->bad = what;
		return;
	}
	used[*fd / 8] |= (uint8_t)(1u << (*fd % 8));
}

/* ---- the worker's document ---------------------------------------------- */

static bool fd_ok(int32_t fd, size_t nfds)
{
	return fd == -1 || (fd >= 0 && (size_t)fd < nfds);
}

static void put_session(struct hw *w, const struct handover_session *s,
			size_t nfds)
{
	int i;

	if (!fd_ok(s->fd_in, nfds) || !fd_ok(s->fd_tty, nfds) ||
	    !fd_ok(s->fd_report, nfds) || !fd_ok(s->out[0].fd, nfds) ||
	    !fd_ok(s->out[1].fd, nfds))
		w->err = w->err ? w->err : -EINVAL;
	hw_str(w, s->sid, EXECFS_SID_LEN);
	hw_str(w, s->identity, HANDOVER_IDENTITY_MAX);
	hw_str(w, s->container, EXECFS_MAX_NAME_LEN);
	hw_u32(w, s->state);
	hw_u32(w, s->flags);
	hw_u64(w, s->token);
	hw_i32(w, s->pid);
	hw_i32(w, s->wstatus);
	hw_i64(w, s->started_sec);
	hw_i64(w, s->started_nsec);
	hw_u32(w, s->audit_cols);
	hw_u32(w, s->audit_rows);
	hw_i32(w, s->fd_in);
	hw_i32(w, s->fd_tty);
	hw_i32(w, s->fd_report);
	for (i = 0; i < 2; i++) {
		if (s->out[i].held_len > s->out[i].end)
			w->err = w->err ? w->err : -EINVAL;
		hw_u64(w, s->out[i].end);
		hw_bytes(w, s->out[i].held, s->out[i].held_len,
			 HANDOVER_HELD_MAX);
		hw_i32(w, s->out[i].fd);
	}
	hw_u64(w, s->in_received);
	hw_bytes(w, s->in_buf, s->in_len, HANDOVER_HELD_MAX);
	hw_u64(w, s->in_eof_left);
	hw_u64(w, s->in_delivered);
}

uint64_t handover_doc_size(size_t nsessions, uint64_t held)
{
	return HANDOVER_HEAD_MAX +
	       (uint64_t)nsessions * HANDOVER_SESSION_FIXED + held;
}

int handover_encode(const struct handover_doc *d, size_t nfds, uint8_t **out,
		    size_t *outlen)
{
	struct hw w = { .max = HANDOVER_DOC_MAX };
	size_t i;

	if (d->nsessions > HANDOVER_MAX_SESSIONS ||
	    d->nlisteners > HANDOVER_MAX_LISTENERS || nfds > HANDOVER_MAX_FDS)
		return -EINVAL;
	hw_u32(&w, HANDOVER_MAGIC);
	hw_u32(&w, HANDOVER_VERSION);
	hw_u32(&w, (uint32_t)nfds);
	hw_u32(&w, (uint32_t)d->nlisteners);
	for (i = 0; i < d->nlisteners; i++) {
		if (!fd_ok(d->listeners[i].fd, nfds) || d->listeners[i].fd < 0)
			w.err = -EINVAL;
		hw_str(&w, d->listeners[i].address, HANDOVER_ADDR_MAX);
		hw_i32(&w, d->listeners[i].fd);
	}
	hw_u32(&w, (uint32_t)d->nsessions);
	for (i = 0; i < d->nsessions; i++)
		put_session(&w, &d->sessions[i], nfds);
	return hw_end(&w, out, outlen);
}

static void get_session(struct hr *r, struct handover_session *s, size_t nfds,
			uint8_t *used)
{
	int i;

	hr_str(r, s->sid, EXECFS_SID_LEN, "session id");
	hr_str(r, s->identity, HANDOVER_IDENTITY_MAX, "identity");
	hr_str(r, s->container, EXECFS_MAX_NAME_LEN, "container");
	s->state = hr_u32(r, "state");
	s->flags = hr_u32(r, "flags");
	s->token = hr_u64(r, "token");
	s->pid = hr_i32(r, "pid");
	s->wstatus = hr_i32(r, "wait status");
	s->started_sec = hr_i64(r, "start time");
	s->started_nsec = hr_i64(r, "start time");
	s->audit_cols = hr_u32(r, "audited size");
	s->audit_rows = hr_u32(r, "audited size");
	hr_fd(r, &s->fd_in, nfds, used, "stdin fd");
	hr_fd(r, &s->fd_tty, nfds, used, "tty fd");
	hr_fd(r, &s->fd_report, nfds, used, "report fd");
	for (i = 0; i < 2; i++) {
		s->out[i].end = hr_u64(r, "output offset");
		hr_bytes(r, &s->out[i].held, &s->out[i].held_len,
			 HANDOVER_HELD_MAX, "held output");
		hr_fd(r, &s->out[i].fd, nfds, used, "output fd");
		if (!r->bad && s->out[i].held_len > s->out[i].end)
			r->bad = "held output";
	}
	s->in_received = hr_u64(r, "stdin offset");
	hr_bytes(r, &s->in_buf, &s->in_len, HANDOVER_HELD_MAX, "stdin bytes");
	s->in_eof_left = hr_u64(r, "stdin eof");
	s->in_delivered = hr_u64(r, "stdin delivered");
	if (r->bad)
		return;
	if (!session_id_valid(s->sid) || !s->identity[0] || !s->container[0])
		r->bad = "session names";
	else if (s->state < HANDOVER_SPAWNING || s->state > HANDOVER_EXITED ||
		 (s->flags & ~HANDOVER_FLAGS_ALL))
		r->bad = "state";
	else if (s->pid <= 0 || s->started_nsec < 0 ||
		 s->started_nsec >= 1000000000 || s->audit_cols > 0xffff ||
		 s->audit_rows > 0xffff || s->in_eof_left > 2 ||
		 s->in_len > s->in_received)
		r->bad = "session fields";
	/* A process not reaped has a token to reach it by; an ended one
	 * has a status and nothing left to reach. */
	else if ((s->flags & HANDOVER_REAPED) ? s->token != 0 : s->token == 0)
		r->bad = "token";
	else if (s->state == HANDOVER_EXITED && !(s->flags & HANDOVER_REAPED))
		r->bad = "exit status";
	else if ((s->state == HANDOVER_SPAWNING) != (s->fd_report >= 0))
		r->bad = "report fd";
	else if (((s->flags & HANDOVER_TTY) != 0) != (s->fd_tty >= 0))
		r->bad = "tty fd";
}

/* The header and the listeners, the part of the document a worker takes
 * before its privilege drop; d->listeners filled, used marks their fds. */
static void get_head(struct hr *r, size_t nfds, struct handover_doc *d,
		     uint8_t **used)
{
	uint32_t n;
	size_t i;

	if (hr_u32(r, "magic") != HANDOVER_MAGIC && !r->bad)
		r->bad = "magic";
	if (hr_u32(r, "version") != HANDOVER_VERSION && !r->bad)
		r->bad = "version";
	if (hr_u32(r, "fds") != nfds && !r->bad)
		r->bad = "number of fds";
	if (!r->bad && nfds > HANDOVER_MAX_FDS)
		r->bad = "number of fds";
	if (!r->bad && !(*used = calloc(nfds / 8 + 1, 1)))
		r->bad = "out of memory";
	n = hr_u32(r, "listeners");
	if (!r->bad && n > HANDOVER_MAX_LISTENERS)
		r->bad = "listeners";
	if (!r->bad && n && !(d->listeners = calloc(n, sizeof(*d->listeners))))
		r->bad = "out of memory";
	for (i = 0; !r->bad && i < n; i++) {
		hr_str(r, d->listeners[i].address, HANDOVER_ADDR_MAX,
		       "listener address");
		hr_fd(r, &d->listeners[i].fd, nfds, *used, "listener fd");
		if (!r->bad &&
		    (d->listeners[i].fd < 0 || !d->listeners[i].address[0]))
			r->bad = "listener";
		d->nlisteners = i + 1;
	}
}

static int decode_end(struct hr *r, struct handover_doc *d, uint8_t *used,
		      char *err, size_t errlen)
{
	free(used);
	if (r->bad) {
		snprintf(err, errlen, "handover state: malformed: %s", r->bad);
		handover_doc_release(d);
		return -EINVAL;
	}
	return 0;
}

static int sid_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether a session id comes twice (the second could not be taken over,
 * and its process would run on unreachable). */
static const char *sids_unique(const struct handover_doc *d)
{
	const char **ids;
	const char *bad = NULL;
	size_t i;

	if (d->nsessions < 2)
		return NULL;
	ids = calloc(d->nsessions, sizeof(*ids));
	if (!ids)
		return "out of memory";
	for (i = 0; i < d->nsessions; i++)
		ids[i] = d->sessions[i].sid;
	qsort(ids, d->nsessions, sizeof(*ids), sid_cmp);
	for (i = 1; i < d->nsessions && !bad; i++)
		if (!strcmp(ids[i - 1], ids[i]))
			bad = "a session id twice";
	free(ids);
	return bad;
}

int handover_decode_listeners(const uint8_t *buf, size_t len, size_t nfds,
			      struct handover_doc *d, char *err, size_t errlen)
{
	struct hr r = { buf, len, NULL };
	uint8_t *used = NULL;

	memset(d, 0, sizeof(*d));
	get_head(&r, nfds, d, &used);
	return decode_end(&r, d, used, err, errlen);
}

int handover_decode(const uint8_t *buf, size_t len, size_t nfds,
		    struct handover_doc *d, char *err, size_t errlen)
{
	struct hr r = { buf, len, NULL };
	uint8_t *used = NULL;
	uint32_t n;
	size_t i;

	memset(d, 0, sizeof(*d));
	get_head(&r, nfds, d, &used);
	n = hr_u32(&r, "sessions");
	/* Each session takes far more than 64 bytes: a count the bytes
	 * cannot hold is refused before anything is allocated. */
	if (!r.bad && (n > HANDOVER_MAX_SESSIONS || n > r.left / 64))
		r.bad = "sessions";
	if (!r.bad && n && !(d->sessions = calloc(n, sizeof(*d->sessions))))
		r.bad = "out of memory";
	for (i = 0; !r.bad && i < n; i++) {
		d->nsessions = i + 1;
		get_session(&r, &d->sessions[i], nfds, used);
	}
	if (!r.bad && r.left)
		r.bad = "trailing bytes";
	if (!r.bad)
		r.bad = sids_unique(d);
	return decode_end(&r, d, used, err, errlen);
}

void handover_doc_release(struct handover_doc *d)
{
	size_t i;

	for (i = 0; i < d->nsessions; i++) {
		free(d->sessions[i].out[0].held);
		free(d->sessions[i].out[1].held);
		free(d->sessions[i].in_buf);
	}
	free(d->sessions);
	free(d->listeners);
	memset(d, 0, sizeof(*d));
}

/* ---- the monitor's state ------------------------------------------------ */

int handover_monitor_encode(const struct handover_monitor *m, uint8_t **out,
			    size_t *outlen)
{
	struct hw w = { .max = HANDOVER_STATE_MAX };
	size_t i;

	if (m->njobs > HANDOVER_MAX_SESSIONS || m->nfds > HANDOVER_MAX_FDS)
		return -EINVAL;
	hw_u32(&w, HANDOVER_MONITOR_MAGIC);
	hw_u32(&w, HANDOVER_VERSION);
	hw_u64(&w, m->next_token);
	hw_u64(&w, m->nofile_cur);
	hw_u64(&w, m->nofile_max);
	hw_u32(&w, (uint32_t)m->njobs);
	for (i = 0; i < m->njobs; i++) {
		hw_u64(&w, m->jobs[i].token);
		hw_i32(&w, m->jobs[i].pid);
		hw_i32(&w, m->jobs[i].pidfd);
		hw_i32(&w, m->jobs[i].tty_fd);
		hw_u32(&w, m->jobs[i].exited);
		hw_i32(&w, m->jobs[i].wstatus);
	}
	hw_u32(&w, (uint32_t)m->nfds);
	for (i = 0; i < m->nfds; i++)
		hw_i32(&w, m->fds[i]);
	hw_bytes(&w, m->doc, m->doc_len, HANDOVER_DOC_MAX);
	return hw_end(&w, out, outlen);
}

int handover_monitor_decode(const uint8_t *buf, size_t len,
			    struct handover_monitor *m, char *err,
			    size_t errlen)
{
	struct hr r = { buf, len, NULL };
	uint32_t n, exited;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (hr_u32(&r, "magic") != HANDOVER_MONITOR_MAGIC && !r.bad)
		r.bad = "magic";
	if (hr_u32(&r, "version") != HANDOVER_VERSION && !r.bad)
		r.bad = "version";
	m->next_token = hr_u64(&r, "token");
	m->nofile_cur = hr_u64(&r, "file limit");
	m->nofile_max = hr_u64(&r, "file limit");
	if (!r.bad && m->nofile_cur > m->nofile_max)
		r.bad = "file limit";
	n = hr_u32(&r, "jobs");
	if (!r.bad && (n > HANDOVER_MAX_SESSIONS || n > r.left / 28))
		r.bad = "jobs";
	if (!r.bad && n && !(m->jobs = calloc(n, sizeof(*m->jobs))))
		r.bad = "out of memory";
	for (i = 0; !r.bad && i < n; i++) {
		struct handover_job *j = &m->jobs[i];

		m->njobs = i + 1;
		j->token = hr_u64(&r, "job token");
		j->pid = hr_i32(&r, "job pid");
		j->pidfd = hr_i32(&r, "job pidfd");
		j->tty_fd = hr_i32(&r, "job tty");
		exited = hr_u32(&r, "job exited");
		j->wstatus = hr_i32(&r, "job status");
		j->exited = exited == 1;
		/* pid 1 would make the kill of its group, kill(-pid),
		 * everyone's. */
		if (!r.bad &&
		    (!j->token || j->token > m->next_token ||
		     (!j->exited && j->pid <= 1) || j->pid <= 0 || exited > 1 ||
		     (!j->exited && j->pidfd < 0) || j->tty_fd < -1))
			r.bad = "job";
	}
	n = hr_u32(&r, "fds");
	if (!r.bad && (n > HANDOVER_MAX_FDS || n > r.left / 4))
		r.bad = "fds";
	if (!r.bad && n && !(m->fds = calloc(n, sizeof(*m->fds))))
		r.bad = "out of memory";
	for (i = 0; !r.bad && i < n; i++) {
		m->nfds = i + 1;
		m->fds[i] = hr_i32(&r, "fd");
		if (!r.bad && m->fds[i] < 0)
			r.bad = "fd";
	}
	hr_bytes(&r, &m->doc, &m->doc_len, HANDOVER_DOC_MAX, "worker state");
	if (!r.bad && r.left)
		r.bad = "trailing bytes";
	if (r.bad) {
		snprintf(err, errlen, "monitor state: malformed: %s", r.bad);
		handover_monitor_release(m);
		return -EINVAL;
	}
	return 0;
}

void handover_monitor_release(struct handover_monitor *m)
{
	free(m->jobs);
	free(m->fds);
	free(m->doc);
	memset(m, 0, sizeof(*m));
}
