/*
 * The monitor/worker messages (privsep.h): encoding, a decoder that checks
 * every length against the datagram and every field against its bound
 * before anything is allocated from it, and the channel that moves
 * datagrams and fds over the socketpair from the event loop.
 */
#include "privsep.h"
#include "execfs/proto.h"
#include "strv.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- encoding ----------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err; /* sticky: -ENOMEM or -EINVAL */
};

static void w_put(struct wbuf *w, const void *data, size_t len)
{
	uint8_t *bigger;
	size_t cap;

	if (w->err || !len)
		return;
	if (w->len + len > PRIVSEP_MSG_MAX) {
		w->err = -EINVAL;
		return;
	}
	if (w->len + len > w->cap) {
		cap = w->cap ? w->cap : 256;
		while (cap < w->len + len)
			cap *= 2;
		bigger = realloc(w->p, cap);
		if (!bigger) {
			w->err = -ENOMEM;
			return;
		}
		w->p = bigger;
		w->cap = cap;
	}
	memcpy(w->p + w->len, data, len);
	w->len += len;
}

static void w_u32(struct wbuf *w, uint32_t v)
{
	w_put(w, &v, sizeof(v));
}

static void w_u64(struct wbuf *w, uint64_t v)
{
	w_put(w, &v, sizeof(v));
}

static void w_i32(struct wbuf *w, int32_t v)
{
	w_put(w, &v, sizeof(v));
}

static void w_str(struct wbuf *w, const char *s, size_t max)
{
	size_t len = s ? strlen(s) : 0;

	if (len > max) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	w_u32(w, (uint32_t)len);
	w_put(w, s, len);
}

static void w_strv(struct wbuf *w, char *const *v)
{
	size_t n = 0, bytes = 0;

	while (v && v[n]) {
		bytes += strlen(v[n]);
		n++;
	}
	if (n > PRIVSEP_STRV_MAX || bytes > PRIVSEP_STRV_BYTES) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	w_u32(w, (uint32_t)n);
	for (n = 0; v && v[n]; n++)
		w_str(w, v[n], PRIVSEP_STRV_BYTES);
}

static void w_begin(struct wbuf *w, uint32_t type)
{
	memset(w, 0, sizeof(*w));
	w_u32(w, type);
	w_u32(w, 0); /* the length, filled in by w_end */
}

static int w_end(struct wbuf *w, uint8_t **out, size_t *outlen)
{
	uint32_t len;

	if (w->err) {
		free(w->p);
		return w->err;
	}
	len = (uint32_t)(w->len - PRIVSEP_HDR_LEN);
	memcpy(w->p + 4, &len, sizeof(len));
	*out = w->p;
	*outlen = w->len;
	return 0;
}

int privsep_encode_spawn(uint64_t id, const struct exec_spec *req,
			 uint8_t **out, size_t *outlen)
{
	uint32_t flags = 0;
	struct wbuf w;

	if (req->tty)
		flags |= PRIVSEP_SPAWN_TTY;
	if (req->merge_stderr)
		flags |= PRIVSEP_SPAWN_MERGE;
	if (req->env)
		flags |= PRIVSEP_SPAWN_HAS_ENV;
	if (req->cwd)
		flags |= PRIVSEP_SPAWN_HAS_CWD;
	if (req->user)
		flags |= PRIVSEP_SPAWN_HAS_USER;
	if (req->run_as)
		flags |= PRIVSEP_SPAWN_HAS_RUN_AS;
	if (req->seen_privileged)
		flags |= PRIVSEP_SPAWN_SEEN_PRIVILEGED;
	w_begin(&w, PRIVSEP_SPAWN);
	w_u64(&w, id);
	w_str(&w, req->container, PRIVSEP_STR_MAX);
	w_strv(&w, req->argv);
	w_strv(&w, req->env);
	w_str(&w, req->cwd, PRIVSEP_STR_MAX);
	w_str(&w, req->user, PRIVSEP_STR_MAX);
	w_u32(&w, flags);
	w_u32(&w, req->cols);
	w_u32(&w, req->rows);
	w_strv(&w, req->run_as);
	w_u32(&w, req->seen_pid > 0 ? (uint32_t)req->seen_pid : 0);
	w_str(&w, req->seen_created, PRIVSEP_STR_MAX);
	/* Last, where the tests of its bounds find it. */
	w_u32(&w, req->has_nice);
	w_i32(&w, req->nice);
	return w_end(&w, out, outlen);
}

int privsep_encode_signal(uint64_t id, uint64_t token, int sig, unsigned flags,
			  uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_SIGNAL);
	w_u64(&w, id);
	w_u64(&w, token);
	w_i32(&w, sig);
	w_u32(&w, flags);
	return w_end(&w, out, outlen);
}

int privsep_encode_chunk(uint32_t type, const void *data, size_t len, bool last,
			 uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, type);
	w_u32(&w, last ? PRIVSEP_LAST : 0);
	if (len > PRIVSEP_CHUNK_MAX)
		w.err = -EINVAL;
	w_u32(&w, (uint32_t)len);
	w_put(&w, data, len);
	return w_end(&w, out, outlen);
}

int privsep_encode_spawned(uint64_t id, uint64_t token, pid_t pid, uint32_t fds,
			   uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_SPAWNED);
	w_u64(&w, id);
	w_u64(&w, token);
	w_i32(&w, pid);
	w_u32(&w, fds);
	return w_end(&w, out, outlen);
}

int privsep_encode_spawn_failed(uint64_t id, int err, const char *message,
				uint8_t **out, size_t *outlen)
{
	char cut[PRIVSEP_MESSAGE_MAX + 1];
	struct wbuf w;

	snprintf(cut, sizeof(cut), "%s", message ? message : "");
	w_begin(&w, PRIVSEP_SPAWN_FAILED);
	w_u64(&w, id);
	w_i32(&w, err);
	w_str(&w, cut, PRIVSEP_MESSAGE_MAX);
	return w_end(&w, out, outlen);
}

int privsep_encode_exited(uint64_t token, int wstatus, uint8_t **out,
			  size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_EXITED);
	w_u64(&w, token);
	w_i32(&w, wstatus);
	return w_end(&w, out, outlen);
}

int privsep_encode_ping(uint32_t type, uint64_t id, uint8_t **out,
			size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, type);
	if (type != PRIVSEP_PING && type != PRIVSEP_PONG)
		w.err = -EINVAL;
	w_u64(&w, id);
	return w_end(&w, out, outlen);
}

int privsep_encode_handover(uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_HANDOVER);
	w_u32(&w, 0);
	return w_end(&w, out, outlen);
}

int privsep_encode_handover_fds(size_t nfds, uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	if (nfds < 1 || nfds > PRIVSEP_MAX_FDS)
		return -EINVAL;
	w_begin(&w, PRIVSEP_HANDOVER_FDS);
	w_u32(&w, (uint32_t)nfds);
	return w_end(&w, out, outlen);
}

int privsep_encode_handover_refused(uint64_t bytes, uint8_t **out,
				    size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_HANDOVER_REFUSED);
	w_u64(&w, bytes);
	return w_end(&w, out, outlen);
}

int privsep_encode_logfile(uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_LOGFILE);
	w_u32(&w, 0);
	return w_end(&w, out, outlen);
}

int privsep_encode_signaled(uint64_t id, uint64_t token, int err, pid_t target,
			    bool foreground, uint8_t **out, size_t *outlen)
{
	struct wbuf w;

	w_begin(&w, PRIVSEP_SIGNALED);
	w_u64(&w, id);
	w_u64(&w, token);
	w_i32(&w, err);
	w_i32(&w, target);
	w_u32(&w, foreground ? PRIVSEP_SIGNALED_FG : 0);
	return w_end(&w, out, outlen);
}

/* ---- decoding ----------------------------------------------------------- */

struct rbuf {
	const uint8_t *p;
	size_t left;
	const char *bad; /* the first problem, or NULL */
};

static bool r_get(struct rbuf *r, void *out, size_t len, const char *what)
{
	if (r->bad)
		return false;
	if (r->left < len) {
		r->bad = what;
		return false;
	}
	memcpy(out, r->p, len);
	r->p += len;
	r->left -= len;
	return true;
}

static uint32_t r_u32(struct rbuf *r, const char *what)
{
	uint32_t v = 0;

	r_get(r, &v, sizeof(v), what);
	return v;
}

static uint64_t r_u64(struct rbuf *r, const char *what)
{
	uint64_t v = 0;

	r_get(r, &v, sizeof(v), what);
	return v;
}

static int32_t r_i32(struct rbuf *r, const char *what)
{
	int32_t v = 0;

	r_get(r, &v, sizeof(v), what);
	return v;
}

/* A string of at most max bytes, no NUL; *budget (if given) is what the
 * vector it belongs to may still use. NULL when bad (r->bad set). */
static char *r_str(struct rbuf *r, size_t max, size_t *budget, const char *what)
{
	uint32_t len = r_u32(r, what);
	char *s;

	if (r->bad)
		return NULL;
	if (len > max || len > r->left || (budget && len > *budget) ||
	    memchr(r->p, '\0', len)) {
		r->bad = what;
		return NULL;
	}
	s = strndup((const char *)r->p, len);
	if (!s) {
		r->bad = "out of memory";
		return NULL;
	}
	if (budget)
		*budget -= len;
	r->p += len;
	r->left -= len;
	return s;
}

static char **r_strv(struct rbuf *r, size_t min, const char *what)
{
	size_t budget = PRIVSEP_STRV_BYTES, i;
	uint32_t n = r_u32(r, what);
	char **v;

	if (r->bad)
		return NULL;
	/* Every entry needs at least its 4-byte length: a count the datagram
	 * cannot hold is refused before anything is allocated. */
	if (n < min || n > PRIVSEP_STRV_MAX || n > r->left / 4) {
		r->bad = what;
		return NULL;
	}
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		r->bad = "out of memory";
		return NULL;
	}
	for (i = 0; i < n; i++) {
		v[i] = r_str(r, PRIVSEP_STRV_BYTES, &budget, what);
		if (!v[i]) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

bool privsep_from_worker(uint32_t type)
{
	return type == PRIVSEP_SPAWN || type == PRIVSEP_SIGNAL ||
	       type == PRIVSEP_PING || type == PRIVSEP_HANDOVER_FDS ||
	       type == PRIVSEP_HANDOVER_DATA ||
	       type == PRIVSEP_HANDOVER_REFUSED;
}

static size_t popcount5(uint32_t bits)
{
	size_t n = 0;

	for (; bits; bits &= bits - 1)
		n++;
	return n;
}

static void decode_spawn(struct rbuf *r, struct privsep_msg *m)
{
	const uint32_t known = PRIVSEP_SPAWN_TTY | PRIVSEP_SPAWN_MERGE |
			       PRIVSEP_SPAWN_HAS_ENV | PRIVSEP_SPAWN_HAS_CWD |
			       PRIVSEP_SPAWN_HAS_USER |
			       PRIVSEP_SPAWN_HAS_RUN_AS |
			       PRIVSEP_SPAWN_SEEN_PRIVILEGED;
	struct exec_spec *sp = &m->spec;
	uint32_t cols, rows, has_nice, seen_pid;
	int32_t nice;
	size_t envn;

	m->id = r_u64(r, "spawn id");
	sp->container = r_str(r, PRIVSEP_STR_MAX, NULL, "container");
	sp->argv = r_strv(r, 1, "argv");
	sp->env = r_strv(r, 0, "env");
	sp->cwd = r_str(r, PRIVSEP_STR_MAX, NULL, "cwd");
	sp->user = r_str(r, PRIVSEP_STR_MAX, NULL, "user");
	m->flags = r_u32(r, "spawn flags");
	cols = r_u32(r, "cols");
	rows = r_u32(r, "rows");
	sp->run_as = r_strv(r, 0, "run_as");
	seen_pid = r_u32(r, "seen pid");
	sp->seen_created = r_str(r, PRIVSEP_STR_MAX, NULL, "seen created");
	has_nice = r_u32(r, "has nice");
	nice = r_i32(r, "nice");
	if (r->bad)
		return;
	for (envn = 0; sp->env[envn]; envn++)
		;
	if (m->flags & ~known)
		r->bad = "spawn flags";
	else if (!sp->container[0])
		r->bad = "container";
	else if (cols > 65535 || rows > 65535)
		r->bad = "terminal size";
	else if (has_nice > 1 || (!has_nice && nice) ||
		 nice < EXECFS_NICE_MIN || nice > EXECFS_NICE_MAX)
		r->bad = "nice";
	else if (seen_pid > INT32_MAX)
		r->bad = "seen pid";
	else if (!(m->flags & PRIVSEP_SPAWN_HAS_ENV) && envn)
		r->bad = "env";
	else if (!(m->flags & PRIVSEP_SPAWN_HAS_CWD) && sp->cwd[0])
		r->bad = "cwd";
	else if (!(m->flags & PRIVSEP_SPAWN_HAS_USER) && sp->user[0])
		r->bad = "user";
	else if (!(m->flags & PRIVSEP_SPAWN_HAS_RUN_AS) && sp->run_as[0])
		r->bad = "run_as";
	if (r->bad)
		return;
	sp->tty = m->flags & PRIVSEP_SPAWN_TTY;
	sp->merge_stderr = m->flags & PRIVSEP_SPAWN_MERGE;
	sp->cols = (unsigned short)cols;
	sp->rows = (unsigned short)rows;
	sp->has_nice = has_nice;
	sp->nice = nice;
	sp->seen_pid = (int)seen_pid;
	sp->seen_privileged = m->flags & PRIVSEP_SPAWN_SEEN_PRIVILEGED;
	/* Absent is NULL, as in the decoded request. */
	if (!(m->flags & PRIVSEP_SPAWN_HAS_ENV)) {
		strv_free(sp->env);
		sp->env = NULL;
	}
	if (!(m->flags & PRIVSEP_SPAWN_HAS_CWD)) {
		free(sp->cwd);
		sp->cwd = NULL;
	}
	if (!(m->flags & PRIVSEP_SPAWN_HAS_USER)) {
		free(sp->user);
		sp->user = NULL;
	}
	if (!(m->flags & PRIVSEP_SPAWN_HAS_RUN_AS)) {
		strv_free(sp->run_as);
		sp->run_as = NULL;
	}
}

static void decode_chunk(struct rbuf *r, struct privsep_msg *m)
{
	uint32_t len;

	m->flags = r_u32(r, "chunk flags");
	len = r_u32(r, "chunk length");
	if (r->bad)
		return;
	if ((m->flags & ~PRIVSEP_LAST) || len > PRIVSEP_CHUNK_MAX ||
	    len > r->left) {
		r->bad = "chunk";
		return;
	}
	m->data = malloc(len ? len : 1);
	if (!m->data) {
		r->bad = "out of memory";
		return;
	}
	r_get(r, m->data, len, "chunk");
	m->len = len;
}

static bool errno_ok(int32_t e)
{
	return e > 0 && e <= PRIVSEP_ERRNO_MAX;
}

/* fds_lost: the datagram came with fewer fds than it was sent with (the
 * receiver had no room for them; they are closed and nfds is 0). */
static int msg_decode(const uint8_t *buf, size_t len, const int *fds,
		      size_t nfds, bool fds_lost, struct privsep_msg *m,
		      char *err, size_t errlen)
{
	struct rbuf r = { buf, len, NULL };
	const uint32_t fd_known = PRIVSEP_FD_STDIN | PRIVSEP_FD_STDOUT |
				  PRIVSEP_FD_STDERR | PRIVSEP_FD_TTY |
				  PRIVSEP_FD_REPORT;
	size_t want_fds = 0, i;
	uint32_t plen;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < PRIVSEP_MAX_FDS; i++)
		m->fds[i] = -1;
	if (len > PRIVSEP_MSG_MAX)
		r.bad = "too long";
	m->type = r_u32(&r, "header");
	plen = r_u32(&r, "header");
	if (!r.bad && plen != r.left)
		r.bad = "length";
	if (r.bad)
		goto out;
	switch (m->type) {
	case PRIVSEP_SPAWN:
		decode_spawn(&r, m);
		break;
	case PRIVSEP_SIGNAL:
		m->id = r_u64(&r, "signal id");
		m->token = r_u64(&r, "token");
		m->num = r_i32(&r, "signal");
		m->flags = r_u32(&r, "signal flags");
		if (!r.bad && (m->num < 1 || m->num >= NSIG || !m->token ||
			       (m->flags & ~LAUNCH_SIG_FOREGROUND)))
			r.bad = "signal";
		break;
	case PRIVSEP_PING:
	case PRIVSEP_PONG:
		m->id = r_u64(&r, "ping id");
		break;
	case PRIVSEP_INVENTORY:
	case PRIVSEP_POLICY:
	case PRIVSEP_TLS:
	case PRIVSEP_HANDOVER_DATA:
		decode_chunk(&r, m);
		break;
	case PRIVSEP_HANDOVER:
		m->flags = r_u32(&r, "handover flags");
		if (!r.bad && m->flags)
			r.bad = "handover flags";
		break;
	case PRIVSEP_HANDOVER_REFUSED:
		m->id = r_u64(&r, "handover size");
		break;
	case PRIVSEP_HANDOVER_FDS:
		m->flags = r_u32(&r, "handover fds");
		if (!r.bad && (m->flags < 1 || m->flags > PRIVSEP_MAX_FDS))
			r.bad = "handover fds";
		want_fds = r.bad ? 0 : m->flags;
		break;
	case PRIVSEP_LOGFILE:
		m->flags = r_u32(&r, "logfile flags");
		if (!r.bad && m->flags)
			r.bad = "logfile flags";
		want_fds = 1;
		break;
	case PRIVSEP_SPAWNED:
		m->id = r_u64(&r, "spawned id");
		m->token = r_u64(&r, "token");
		m->num = r_i32(&r, "pid");
		m->flags = r_u32(&r, "fds");
		if (!r.bad &&
		    (!m->token || m->num <= 0 || (m->flags & ~fd_known) ||
		     !(m->flags & PRIVSEP_FD_STDIN) ||
		     !(m->flags & PRIVSEP_FD_STDOUT) ||
		     !(m->flags & PRIVSEP_FD_REPORT)))
			r.bad = "spawned";
		want_fds = popcount5(m->flags & fd_known);
		break;
	case PRIVSEP_SPAWN_FAILED:
		m->id = r_u64(&r, "failed id");
		m->num = r_i32(&r, "errno");
		m->message =
			r_str(&r, PRIVSEP_MESSAGE_MAX, NULL, "failure message");
		if (!r.bad && !errno_ok(m->num))
			r.bad = "errno";
		break;
	case PRIVSEP_EXITED:
		m->token = r_u64(&r, "token");
		m->num = r_i32(&r, "wait status");
		if (!r.bad && !m->token)
			r.bad = "token";
		break;
	case PRIVSEP_SIGNALED:
		m->id = r_u64(&r, "signaled id");
		m->token = r_u64(&r, "token");
		m->num = r_i32(&r, "errno");
		m->target = r_i32(&r, "target");
		m->flags = r_u32(&r, "signaled flags");
		if (!r.bad && ((m->num && !errno_ok(m->num)) || !m->token ||
			       (m->flags & ~PRIVSEP_SIGNALED_FG)))
			r.bad = "signaled";
		break;
	default:
		r.bad = "type";
		break;
	}
	if (!r.bad && r.left)
		r.bad = "trailing bytes";
	if (!r.bad && (fds_lost ? want_fds == 0 : nfds != want_fds))
		r.bad = "number of fds";
out:
	if (r.bad) {
		snprintf(err, errlen, "malformed message (type %u): %s",
			 (unsigned)m->type, r.bad);
		privsep_msg_release(m); /* holds no fds yet */
		return -EINVAL;
	}
	for (i = 0; i < nfds; i++)
		m->fds[i] = fds[i];
	m->nfds = nfds;
	m->fds_lost = fds_lost;
	return 0;
}

int privsep_msg_decode(const uint8_t *buf, size_t len, const int *fds,
		       size_t nfds, struct privsep_msg *m, char *err,
		       size_t errlen)
{
	return msg_decode(buf, len, fds, nfds, false, m, err, errlen);
}

void privsep_msg_release(struct privsep_msg *m)
{
	size_t i;

	exec_spec_release(&m->spec);
	free(m->message);
	free(m->data);
	for (i = 0; i < PRIVSEP_MAX_FDS; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	memset(m, 0, sizeof(*m));
	for (i = 0; i < PRIVSEP_MAX_FDS; i++)
		m->fds[i] = -1;
}

/* ---- the channel -------------------------------------------------------- */

/* What may wait in the send queue: snapshots for a worker that does not
 * read, for instance. Beyond it the peer is considered stuck. */
#define PRIVSEP_QUEUE_MAX (64u * 1024 * 1024)

struct qmsg {
	uint8_t *buf;
	size_t len;
	int fds[PRIVSEP_MAX_FDS];
	size_t nfds;
	struct qmsg *next;
};

struct privsep_chan {
	int fd; /* owned */
	struct event *rev, *wev; /* owned */
	const struct privsep_chan_cbs *cbs;
	void *arg;
	struct qmsg *head, **tail;
	size_t queued; /* bytes in the queue */
	size_t queued_fds; /* fds in the queue, open here */
	size_t fds_max; /* their cap */
	bool failed; /* on_error was called */
	uint8_t rbuf[PRIVSEP_MSG_MAX + 1];
};

static void qmsg_free(struct qmsg *q)
{
	size_t i;

	for (i = 0; i < q->nfds; i++)
		close(q->fds[i]);
	free(q->buf);
	free(q);
}

static void chan_fail(struct privsep_chan *ch, const char *why)
{
	if (ch->failed)
		return;
	ch->failed = true;
	event_del(ch->rev);
	event_del(ch->wev);
	ch->cbs->on_error(ch, why, ch->arg);
}

/* One datagram; 0 sent, -EAGAIN, or another -errno. */
static int send_one(int fd, const struct qmsg *q)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * PRIVSEP_MAX_FDS)];
	} ctl;
	struct iovec iov = { q->buf, q->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (q->nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * q->nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * q->nfds);
		memcpy(CMSG_DATA(cm), q->fds, sizeof(int) * q->nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN :
								 -errno;
	return 0;
}

static void chan_write(struct privsep_chan *ch)
{
	struct qmsg *q;
	int rc;

	while ((q = ch->head)) {
		rc = send_one(ch->fd, q);
		if (rc == -EAGAIN) {
			event_add(ch->wev, NULL);
			return;
		}
		if (rc < 0) {
			chan_fail(ch, strerror(-rc));
			return;
		}
		ch->head = q->next;
		if (!ch->head)
			ch->tail = &ch->head;
		ch->queued -= q->len;
		ch->queued_fds -= q->nfds;
		qmsg_free(q);
	}
	event_del(ch->wev);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chan_write(arg);
}

static void close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* One datagram in: 1 handled, 0 nothing to read, -1 the channel failed. */
static int chan_read_one(struct privsep_chan *ch)
{
	union {
		struct cmsghdr hdr;
		/* Room for one fd more than any message carries, so a
		 * datagram with too many shows up as a count, not as a cut. */
		char buf[CMSG_SPACE(sizeof(int) * (PRIVSEP_MAX_FDS + 1))];
	} ctl;
	struct iovec iov = { ch->rbuf, sizeof(ch->rbuf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	int fds[PRIVSEP_MAX_FDS + 1];
	struct privsep_msg msg;
	struct cmsghdr *cm;
	size_t nfds = 0, k, i;
	bool extra = false, lost;
	char err[256];
	ssize_t n;

	memset(fds, 0xff, sizeof(fds));
	n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0) {
		chan_fail(ch, strerror(errno));
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			extra = true;
			continue;
		}
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(fd));
			if (nfds < PRIVSEP_MAX_FDS + 1)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0) {
		close_fds(fds, nfds);
		chan_fail(ch, "the peer closed the channel");
		return -1;
	}
	if (mh.msg_flags & MSG_TRUNC || extra) {
		close_fds(fds, nfds);
		chan_fail(ch, "malformed message: too long");
		return -1;
	}
	/* The kernel delivers the message but drops its fds when we have
	 * no slot for them (EMFILE): the message stands, without any of
	 * them; the receiver decides what that means (a start whose stdio
	 * never arrived is killed, not the channel). */
	lost = mh.msg_flags & MSG_CTRUNC;
	if (lost) {
		close_fds(fds, nfds);
		nfds = 0;
	}
	if (msg_decode(ch->rbuf, (size_t)n, fds, nfds, lost, &msg, err,
		       sizeof(err)) < 0) {
		close_fds(fds, nfds);
		chan_fail(ch, err);
		return -1;
	}
	ch->cbs->on_msg(ch, &msg, ch->arg);
	privsep_msg_release(&msg);
	return ch->failed ? -1 : 1;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct privsep_chan *ch = arg;
	int i;

	(void)fd;
	(void)what;
	/* A bounded batch, so a chatty peer does not starve the loop. */
	for (i = 0; i < 64; i++)
		if (chan_read_one(ch) <= 0)
			return;
}

size_t privsep_chan_fds_max(const struct privsep_chan *ch)
{
	return ch->fds_max;
}

struct privsep_chan *privsep_chan_new(struct event_base *base, int fd,
				      const struct privsep_chan_cbs *cbs,
				      void *arg)
{
	struct privsep_chan *ch = calloc(1, sizeof(*ch));
	struct rlimit rl;

	if (!ch || fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		goto out_free;
	ch->fd = fd;
	ch->cbs = cbs;
	ch->arg = arg;
	ch->tail = &ch->head;
	ch->fds_max = PRIVSEP_QUEUE_FDS_MIN;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 2 > ch->fds_max)
		ch->fds_max = rl.rlim_cur == RLIM_INFINITY ?
				      (size_t)1 << 30 :
				      (size_t)(rl.rlim_cur / 2);
	ch->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, ch);
	ch->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, ch);
	if (!ch->rev || !ch->wev || event_add(ch->rev, NULL) < 0)
		goto out_free;
	return ch;

out_free:
	if (ch) {
		ch->fd = -1;
		privsep_chan_free(ch);
	}
	close(fd);
	return NULL;
}

void privsep_chan_free(struct privsep_chan *ch)
{
	struct qmsg *q;

	if (!ch)
		return;
	while ((q = ch->head)) {
		ch->head = q->next;
		qmsg_free(q);
	}
	if (ch->rev)
		event_free(ch->rev);
	if (ch->wev)
		event_free(ch->wev);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

int privsep_chan_send(struct privsep_chan *ch, uint8_t *buf, size_t len,
		      int *fds, size_t nfds)
{
	struct qmsg *q;
	size_t i;
	int rc = 0;

	if (ch->failed) {
		rc = -EPIPE;
		goto out_free;
	}
	/* Every message has a header; an empty datagram would read as the
	 * peer's close (recvmsg returns 0 for both). */
	if (len == 0 || nfds > PRIVSEP_MAX_FDS) {
		rc = -EINVAL;
		goto out_free;
	}
	if (ch->queued + len > PRIVSEP_QUEUE_MAX ||
	    ch->queued_fds + nfds > ch->fds_max) {
		rc = -ENOBUFS;
		goto out_free;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		rc = -ENOMEM;
		goto out_free;
	}
	q->buf = buf;
	q->len = len;
	/* Taken, not duplicated: a send must not fail for want of an fd
	 * slot while the process is short of them. */
	for (; q->nfds < nfds; q->nfds++) {
		q->fds[q->nfds] = fds[q->nfds];
		fds[q->nfds] = -1;
	}
	*ch->tail = q;
	ch->tail = &q->next;
	ch->queued += len;
	ch->queued_fds += nfds;
	if (ch->head == q)
		chan_write(ch);
	return 0;

out_free:
	free(buf);
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	return rc;
}

void privsep_chan_flush(struct privsep_chan *ch)
{
	if (!ch || ch->failed || !ch->head)
		return;
	if (fcntl(ch->fd, F_SETFL, 0) == 0) {
		chan_write(ch);
		fcntl(ch->fd, F_SETFL, O_NONBLOCK);
	}
}

void privsep_chan_wait_close(struct privsep_chan *ch)
{
	uint8_t buf[256];
	ssize_t n;

	if (!ch || fcntl(ch->fd, F_SETFL, 0) < 0)
		return;
	/* Whatever still comes is dropped (fds too: no room for them). */
	do
		n = recv(ch->fd, buf, sizeof(buf), MSG_TRUNC);
	while (n > 0 || (n < 0 && errno == EINTR));
}

int privsep_socketpair(int fds[2])
{
	int size = PRIVSEP_MSG_MAX * 2, i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	/* A datagram must fit in the sender's buffer whole. The kernel
	 * doubles the value and caps it at wmem_max; the default cap
	 * (212992) already holds PRIVSEP_MSG_MAX. */
	for (i = 0; i < 2; i++)
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return 0;
}
