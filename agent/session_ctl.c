/*
 * A session's signal and resize streams (docs/PROTOCOL.md):
 *
 *   signal:  one signal, by name or number, for the process group (with a
 *            tty, the terminal's foreground group); answered 200 once the
 *            launcher sent it;
 *   resize:  "COLS ROWS" lines for the terminal, applied as they come.
 *
 * A client sends a session's streams in one flight, so both may arrive
 * before the process exists. They wait, bounded (a signal's body is at
 * most SIGNAL_BODY_MAX bytes, a resize stream keeps only its newest size),
 * until the start is decided: xsession_ctl_update() answers what waited
 * whenever the session's state moves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "launch.h"
#include "pty.h"
#include "reply.h"
#include "session_internal.h"
#include "signame.h"

/* A signal stream's body: a name or number, and some slack for blanks. */
#define SIGNAL_BODY_MAX 32

/* May free the session. */
static void ctl_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct xsession_ctl *k = arg, **pp;
	struct xsession *s = k->s;

	(void)st;
	(void)code;
	for (pp = &s->ctl; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	free(k);
	xsession_check(s);
}

/* Refuse what the stream asked: an error answer, or a reset once it was
 * answered. Input is ignored from here on. */
static void ctl_refuse(struct xsession_ctl *k, int err, const char *msg)
{
	k->dead = true;
	if (!k->answered) {
		k->answered = true;
		reply_error(k->st, err, msg);
	} else {
		h2_stream_reset(k->st, H2_INTERNAL_ERROR);
	}
}

/* Peer input that breaks the protocol: reset the stream, log why. */
static void ctl_reset(struct xsession_ctl *k, const char *why)
{
	log_warn("session %s: %s stream: %s: reset", k->s->sid,
		 k->kind == XSESSION_CTL_SIGNAL ? EXECFS_ST_SIGNAL :
						  EXECFS_ST_RESIZE,
		 why);
	k->dead = true;
	h2_stream_reset(k->st, H2_PROTOCOL_ERROR);
}

/* ---- signal ------------------------------------------------------------- */

/* The signal stream's body is complete: deliver it, or wait for the
 * process to exist. */
static void signal_decide(struct xsession_ctl *k)
{
	struct xsession *s = k->s;
	char msg[128], name[16];
	int sig;

	if (k->dead || k->answered || !k->body_ended)
		return;
	sig = signal_parse(k->buf, k->len);
	if (sig < 0) {
		snprintf(msg, sizeof(msg), "signal %.*s: no such signal",
			 (int)k->len, k->buf);
		log_info("session %s: %s", s->sid, msg);
		xsession_audit_signal(s, msg, EINVAL);
		ctl_refuse(k, EINVAL, msg);
		return;
	}
	signal_abbrev(sig, name, sizeof(name));
	if (s->state == XSESSION_FAILED) {
		ctl_refuse(k, ENOENT, XSESSION_NOT_STARTED);
		return;
	}
	if (xsession_ended(s) || s->reaped) {
		snprintf(msg, sizeof(msg), "signal %s: the process has ended",
			 name);
		log_info("session %s: %s", s->sid, msg);
		xsession_audit_signal(s, name, ESRCH);
		ctl_refuse(k, ESRCH, msg);
		return;
	}
	if (s->pid <= 0 || !s->job || k->pending)
		return; /* wait for the start, or for the answer */
	/* With a tty the terminal's foreground group (a shell's running
	 * job), falling back to the session's group; the launcher knows
	 * which, and signals only a process it started and did not reap. */
	k->pending = ++s->t->next_cookie;
	launcher_signal(s->job, sig, LAUNCH_SIG_FOREGROUND, k->pending);
}

/* The launcher's answer to signal_decide(). Does not free s. */
void xsession_ctl_signal_answered(struct xsession *s, uint64_t cookie, int err,
				  pid_t pg, bool fg)
{
	struct xsession_ctl *k;
	char msg[128], name[16];

	for (k = s->ctl; k && k->pending != cookie; k = k->next)
		;
	if (!k)
		return; /* the stream closed meanwhile */
	k->pending = 0;
	if (k->dead || k->answered)
		return;
	signal_abbrev(signal_parse(k->buf, k->len), name, sizeof(name));
	if (err) {
		snprintf(msg, sizeof(msg), "signal %s to process group %d: %s",
			 name, (int)pg, strerror(err));
		log_warn("session %s: %s", s->sid, msg);
		xsession_audit_signal(s, name, err);
		ctl_refuse(k, err, msg);
		return;
	}
	log_info("session %s: signal %s sent to %sprocess group %d", s->sid,
		 name, fg ? "the terminal's foreground " : "", (int)pg);
	xsession_audit_signal(s, name, 0);
	k->answered = k->dead = true;
	reply_status(k->st, 200, true);
}

static void signal_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct xsession_ctl *k = arg;

	h2_stream_consume(st, len);
	if (k->dead)
		return;
	if (k->len + len > SIGNAL_BODY_MAX) {
		log_info("session %s: signal stream: body over %d bytes",
			 k->s->sid, SIGNAL_BODY_MAX);
		ctl_refuse(k, EINVAL, "signal: not a signal name or number");
		return;
	}
	memcpy(k->buf + k->len, data, len);
	k->len += len;
}

static void signal_on_end(struct h2_stream *st, void *arg)
{
	struct xsession_ctl *k = arg;

	(void)st;
	k->body_ended = true;
	signal_decide(k);
}

static const struct h2_stream_cbs signal_stream_cbs = {
	.on_data = signal_on_data,
	.on_end = signal_on_end,
	.on_close = ctl_on_close,
};

/* ---- resize ------------------------------------------------------------- */

void xsession_tty_resize(struct xsession *s, unsigned short cols,
			 unsigned short rows)
{
	int rc = pty_resize(s->tty_fd, cols, rows);

	if (rc == 0)
		xsession_audit_resize(s, cols, rows);
	if (rc < 0)
		log_warn("session %s: resize %ux%u: %s", s->sid, cols, rows,
			 strerror(-rc));
	else
		log_debug("session %s: resized to %ux%u", s->sid, cols, rows);
}

/* Apply the newest size; until the terminal exists (the start is still
 * on its way) the session keeps it, as the stream may be gone by then. */
static void resize_apply(struct xsession_ctl *k)
{
	struct xsession *s = k->s;

	if (!k->has_size || !k->answered || xsession_ended(s))
		return;
	k->has_size = false;
	if (s->tty_fd < 0) {
		s->pend_cols = k->cols;
		s->pend_rows = k->rows;
		return;
	}
	xsession_tty_resize(s, k->cols, k->rows);
}

/* Answer the resize stream once the start is decided. */
static void resize_decide(struct xsession_ctl *k)
{
	struct xsession *s = k->s;

	if (k->dead || k->answered)
		return;
	switch (s->state) {
	case XSESSION_REQUEST:
		return; /* tty or not is not known yet */
	case XSESSION_FAILED:
		ctl_refuse(k, ENOENT, XSESSION_NOT_STARTED);
		return;
	case XSESSION_EXITED:
		ctl_refuse(k, ESRCH, "resize: the process has ended");
		return;
	case XSESSION_SPAWNING:
	case XSESSION_RUNNING:
		break;
	}
	if (!s->tty) {
		log_info("session %s: resize refused: the session has no tty",
			 s->sid);
		ctl_refuse(k, EBUSY, "resize: the session has no tty");
		return;
	}
	k->answered = true;
	if (reply_status(k->st, 200, k->body_ended) < 0 || k->body_ended)
		k->dead = true;
	resize_apply(k);
}

static void resize_line(struct xsession_ctl *k)
{
	unsigned short cols, rows;

	if (pty_parse_size(k->buf, k->len, &cols, &rows) < 0) {
		k->buf[k->len] = '\0';
		ctl_reset(k, "malformed line (want \"COLS ROWS\")");
		return;
	}
	k->len = 0;
	k->cols = cols;
	k->rows = rows;
	k->has_size = true;
	resize_apply(k);
}

static void resize_on_data(struct h2_stream *st, const uint8_t *data,
			   size_t len, void *arg)
{
	struct xsession_ctl *k = arg;
	size_t i;

	h2_stream_consume(st, len);
	for (i = 0; i < len && !k->dead; i++) {
		if (data[i] == '\n')
			resize_line(k);
		else if (k->len == PTY_SIZE_LINE_MAX)
			ctl_reset(k, "line too long");
		else
			k->buf[k->len++] = data[i];
	}
}

static void resize_on_end(struct h2_stream *st, void *arg)
{
	struct xsession_ctl *k = arg;

	k->body_ended = true;
	if (k->dead)
		return;
	if (k->len)
		resize_line(k); /* a last line without its newline */
	if (k->answered && !k->dead) {
		k->dead = true;
		h2_stream_end(st);
	}
}

static const struct h2_stream_cbs resize_stream_cbs = {
	.on_data = resize_on_data,
	.on_end = resize_on_end,
	.on_close = ctl_on_close,
};

/* ---- both --------------------------------------------------------------- */

/* Answers what waited and ends the resize streams of an ended session.
 * Does not free s. */
void xsession_ctl_update(struct xsession *s)
{
	struct xsession_ctl *k, *next;

	for (k = s->ctl; k; k = next) {
		next = k->next; /* nothing here frees k (on_close is later) */
		if (k->kind == XSESSION_CTL_SIGNAL) {
			signal_decide(k);
			continue;
		}
		resize_decide(k);
		if (xsession_ended(s) && k->answered && !k->dead) {
			k->dead = true;
			h2_stream_end(k->st);
		}
	}
}

/* May free s. */
void xsession_ctl_attach(struct xsession *s, struct h2_stream *st,
			 enum xsession_ctl_kind kind)
{
	struct xsession_ctl *k = calloc(1, sizeof(*k));

	if (!k) {
		reply_error(st, ENOMEM, "out of memory");
		return;
	}
	k->s = s;
	k->st = st;
	k->kind = kind;
	k->next = s->ctl;
	s->ctl = k;
	h2_stream_set_cbs(st,
			  kind == XSESSION_CTL_SIGNAL ? &signal_stream_cbs :
							&resize_stream_cbs,
			  k);
	if (kind == XSESSION_CTL_RESIZE)
		resize_decide(k);
	xsession_check(s);
}
