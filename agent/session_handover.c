/*
 * Every session to handover.h's worker document and back: the old
 * worker's half of an upgrade in place (export) and the new worker's
 * (import). docs/DEPLOY.md, "Upgrades", tells the whole sequence.
 *
 * Export takes back what every attached output stream's client may lack
 * (as a lost connection does: resume_tx_lose), so that the bytes held, the
 * offsets and the pipes' fds say everything; it changes nothing else,
 * because the worker exits right after, without reading another byte
 * from a pipe or a client. Import rebuilds each session as one whose
 * streams all went with their connection: the client's resume (by
 * offset, docs/PROTOCOL.md) brings every stream back, and the grace
 * period runs as for any lost session.
 *
 * A session whose exec request was still arriving, or whose start failed,
 * is not carried: its client sees the session gone (a start that never
 * happened, not half of one).
 */
#include "session_handover.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "execfs/log.h"
#include "handover.h"
#include "launch.h"
#include "metrics.h"
#include "session_internal.h"
#include "worker.h"

/* ---- export ------------------------------------------------------------- */

struct fdlist {
	int *fds;
	size_t n, cap;
};

/* A dup of fd appended (its index in *idx), or -1 for none. */
static int fd_add(struct fdlist *l, int fd, int32_t *idx)
{
	int *bigger;
	int copy;

	*idx = -1;
	if (fd < 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		bigger = realloc(l->fds, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		l->fds = bigger;
		l->cap = cap;
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	*idx = (int32_t)l->n;
	l->fds[l->n++] = copy;
	return 0;
}

static void *copy_bytes(struct evbuffer *b, size_t *len)
{
	uint8_t *p;

	*len = b ? evbuffer_get_length(b) : 0;
	if (!*len)
		return NULL;
	p = malloc(*len);
	if (p && evbuffer_copyout(b, p, *len) != (ev_ssize_t)*len) {
		free(p);
		p = NULL;
	}
	return p;
}

static int export_one(struct xsession *s, struct handover_session *h,
		      struct fdlist *fl)
{
	int i, rc = 0;

	snprintf(h->sid, sizeof(h->sid), "%s", s->sid);
	snprintf(h->identity, sizeof(h->identity), "%s", s->identity);
	snprintf(h->container, sizeof(h->container), "%s", s->container);
	h->state = s->state == XSESSION_EXITED ? HANDOVER_EXITED :
		   s->report_fd >= 0	       ? HANDOVER_SPAWNING :
						 HANDOVER_RUNNING;
	h->flags = (s->tty ? HANDOVER_TTY : 0) |
		   (s->reaped ? HANDOVER_REAPED : 0) |
		   (s->audited ? HANDOVER_AUDITED : 0) |
		   (s->in.end ? HANDOVER_IN_END : 0) |
		   (s->in.line_start ? HANDOVER_IN_LINE_START : 0) |
		   (s->in.bulk ? HANDOVER_IN_BULK : 0) |
		   (s->out[0].bulk ? HANDOVER_OUT0_BULK : 0) |
		   (s->out[1].bulk ? HANDOVER_OUT1_BULK : 0);
	h->token = s->job ? worker_job_token(s->job) : 0;
	h->pid = s->pid;
	h->wstatus = s->wstatus;
	h->started_sec = s->started.tv_sec;
	h->started_nsec = s->started.tv_nsec;
	h->audit_cols = s->audit_cols;
	h->audit_rows = s->audit_rows;
	if (!rc)
		rc = fd_add(fl, s->in.fd, &h->fd_in);
	if (!rc)
		rc = fd_add(fl, s->tty_fd, &h->fd_tty);
	if (!rc)
		rc = fd_add(fl, s->report_fd, &h->fd_report);
	for (i = 0; i < 2 && !rc; i++) {
		struct xsession_out *o = &s->out[i];

		if (o->st && resume_tx_lose(&o->tx, o->st) < 0)
			log_warn("session %s: %s: out of memory: bytes in "
				 "flight are not handed over",
				 s->sid, o->name);
		h->out[i].end = resume_tx_end(&o->tx);
		h->out[i].held_len = resume_tx_held(&o->tx);
		h->out[i].held =
			h->out[i].held_len ? malloc(h->out[i].held_len) : NULL;
		if (h->out[i].held_len &&
		    (!h->out[i].held ||
		     resume_tx_copy_held(&o->tx, h->out[i].held,
					 h->out[i].held_len) < 0))
			rc = -ENOMEM;
		if (!rc)
			rc = fd_add(fl, o->fd, &h->out[i].fd);
	}
	h->in_received = resume_rx_received(&s->in.rx);
	h->in_buf = copy_bytes(s->in.buf, &h->in_len);
	if (h->in_len && !h->in_buf)
		rc = -ENOMEM;
	h->in_eof_left = s->in.eof_left;
	h->in_delivered = s->in.delivered;
	return rc;
}

/* Whether s is carried: it has a process, reachable or reaped. */
static bool exportable(const struct xsession *s)
{
	if (s->state == XSESSION_REQUEST || s->state == XSESSION_FAILED ||
	    s->pid <= 0)
		return false;
	/* Started but not yet known to the monitor by a token: cannot
	 * happen (the monitor finishes every start before it asks), but a
	 * process nobody could reach is not carried. */
	return s->reaped || (s->job && worker_job_token(s->job));
}

uint64_t xsession_table_export_size(struct xsession_table *t)
{
	struct xsession *s;
	uint64_t held = 0;
	size_t n = 0;
	int i;

	for (s = t->head; s; s = s->next) {
		if (!exportable(s))
			continue;
		n++;
		/* What resume_tx_lose() will hold: the stream's unacked
		 * bytes too. */
		for (i = 0; i < 2; i++)
			held += resume_tx_end(&s->out[i].tx) -
				resume_tx_first(&s->out[i].tx, s->out[i].st);
		held += s->in.buf ? evbuffer_get_length(s->in.buf) : 0;
	}
	return handover_doc_size(n, held);
}

int xsession_table_export(struct xsession_table *t, struct handover_doc *d,
			  int **fds, size_t *nfds)
{
	struct fdlist fl = { 0 };
	struct xsession *s;
	size_t n = 0, skipped = 0;
	int rc = 0;

	for (s = t->head; s; s = s->next)
		n++;
	d->sessions = n ? calloc(n, sizeof(*d->sessions)) : NULL;
	if (n && !d->sessions)
		return -ENOMEM;
	for (s = t->head; s && !rc; s = s->next) {
		if (!exportable(s)) {
			skipped++;
			continue;
		}
		rc = export_one(s, &d->sessions[d->nsessions++], &fl);
	}
	if (skipped)
		log_info("handover: %zu session(s) not yet started or failed "
			 "are not carried",
			 skipped);
	*fds = fl.fds;
	*nfds = fl.n;
	return rc;
}

/* ---- import ------------------------------------------------------------- */

/* fds[i], taken (-1 left in the slot), or -1 for index -1. */
static int fd_take(int *fds, int32_t i)
{
	int fd;

	if (i < 0)
		return -1;
	fd = fds[i];
	fds[i] = -1;
	return fd;
}

static int import_fill(struct xsession *s, const struct handover_session *h,
		       int *fds)
{
	int i, rc = 0;

	snprintf(s->identity, sizeof(s->identity), "%s", h->identity);
	snprintf(s->container, sizeof(s->container), "%s", h->container);
	s->conn_serial = 0; /* every stream from now on is a resume */
	s->tty = h->flags & HANDOVER_TTY;
	s->pid = h->pid;
	s->wstatus = h->wstatus;
	s->reaped = h->flags & HANDOVER_REAPED;
	s->audited = h->flags & HANDOVER_AUDITED;
	s->audit_cols = (unsigned short)h->audit_cols;
	s->audit_rows = (unsigned short)h->audit_rows;
	s->started.tv_sec = h->started_sec;
	s->started.tv_nsec = h->started_nsec;
	s->state = h->state == HANDOVER_EXITED	? XSESSION_EXITED :
		   h->state == HANDOVER_RUNNING ? XSESSION_RUNNING :
						  XSESSION_SPAWNING;
	s->lost = true;
	if (s->req) {
		evbuffer_free(s->req);
		s->req = NULL;
	}
	s->tty_fd = fd_take(fds, h->fd_tty);
	s->report_fd = fd_take(fds, h->fd_report);
	if (s->report_fd >= 0) {
		s->report_ev = xsession_report_event(s);
		if (!s->report_ev || event_add(s->report_ev, NULL) < 0)
			rc = -ENOMEM;
	}
	i = fd_take(fds, h->fd_in);
	if (i >= 0 && xsession_in_open(s, i) < 0)
		rc = -ENOMEM;
	resume_rx_restore(&s->in.rx, h->in_received);
	if (h->in_len && evbuffer_add(s->in.buf, h->in_buf, h->in_len) < 0)
		rc = -ENOMEM;
	s->in.old = h->in_len;
	s->in.end = h->flags & HANDOVER_IN_END;
	s->in.line_start = h->flags & HANDOVER_IN_LINE_START;
	s->in.bulk = h->flags & HANDOVER_IN_BULK;
	s->in.eof_left = h->in_eof_left;
	s->in.delivered = h->in_delivered;
	for (i = 0; i < 2; i++) {
		struct xsession_out *o = &s->out[i];

		if (xsession_out_open(o, fd_take(fds, h->out[i].fd)) < 0 ||
		    resume_tx_restore(&o->tx, h->out[i].end, h->out[i].held,
				      h->out[i].held_len) < 0)
			rc = -ENOMEM;
		o->bulk = h->flags &
			  (i ? HANDOVER_OUT1_BULK : HANDOVER_OUT0_BULK);
	}
	if (!s->reaped) {
		s->job = worker_launcher_adopt(s->t->launcher, h->token, s);
		if (!s->job)
			rc = -ENOMEM;
	}
	return rc;
}

int xsession_table_import(struct xsession_table *t,
			  const struct handover_session *h, int *fds)
{
	struct xsession *s;

	if (xsession_find(t, h->sid)) {
		log_warn("handover: session %s twice: the second is dropped",
			 h->sid);
		return -EEXIST;
	}
	s = xsession_new(t, h->sid);
	if (!s)
		return -ENOMEM;
	if (import_fill(s, h, fds) < 0) {
		/* Its process (if any) is killed by the drop: a session
		 * that cannot be served is not left running unseen. */
		log_error("handover: session %s: out of memory: ended", h->sid);
		s->lost = false;
		s->state = XSESSION_FAILED;
		xsession_check(s);
		return -ENOMEM;
	}
	if (s->state == XSESSION_RUNNING)
		metrics_session_adopted();
	log_info("session %s: handed over (%s, pid %d, stdout at %llu, "
		 "stdin at %llu)",
		 s->sid,
		 s->state == XSESSION_EXITED  ? "ended" :
		 s->state == XSESSION_RUNNING ? "running" :
						"starting",
		 (int)s->pid, (unsigned long long)resume_tx_end(&s->out[0].tx),
		 (unsigned long long)resume_rx_received(&s->in.rx));
	/* Bytes of stdin that waited for the pipe go on. */
	xsession_in_flush(s);
	xsession_check(s); /* nobody attached: the grace period runs */
	return 0;
}
