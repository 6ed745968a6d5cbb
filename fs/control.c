/*
 * ctl writes (see control.h). A write is a small state machine of its own,
 * a `struct ctl_op`: it walks its lines; a line that needs the agent (exec,
 * signal, kill) parks the FUSE request and the walk resumes from the
 * completion callback, so `printf 'tty 80 24\nexec sh\n' > ctl` answers
 * once the shell started, and an exec's failure (ENOENT...) is the write's.
 *
 *   RUN  --sync line ok--> RUN     --last line--> answered, freed
 *   RUN  --async line--> PENDING (parked)  --done(0)--> RUN
 *   any  --a line fails--> answered with its errno, freed (when not PENDING)
 *   PENDING --interrupt--> answered EINTR; the done() that follows frees it
 *
 * Which session a line acts on: N/ctl always acts on session N. The
 * container's ctl acts on its current session; pre-exec verbs and exec
 * there start a new current session unless the current one is still new
 * (not started), so `echo tty > ctl; echo sh > ctl` and one write of both
 * lines do the same.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/ctl.h"
#include "execfs/log.h"
#include "park.h"
#include "session.h"
#include "tree.h"

struct ctl_op {
	struct park park; /* first: parked while an async line runs */
	struct list q; /* park_add wants a queue */
	struct execfs *fs; /* not owned */
	fuse_req_t req;
	struct inode *ctl; /* kept alive by the kernel during the write */
	struct session *target; /* a reference while an async line runs */
	char *line; /* owned: the line in progress, for messages */
	char *buf; /* owned: the bytes written */
	size_t size, pos;
	bool pending; /* an async line runs: its done() will come */
	bool answered; /* req was answered (interrupted) */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The reason of a failed write is kept by N/ctl's session, or by the
 * container for its own ctl: why (NULL: it succeeded). */
static void error_set(struct inode *ctl, const char *why)
{
	struct session *s = inode_session_dir(ctl);
	struct ctdir *ct = inode_ctdir(ctl);

	if (s)
		(void)session_set_ctl_error(s, why); /* ENOMEM: none kept */
	else if (ct)
		(void)ctdir_set_ctl_error(ct, why);
}

static const char *error_get(const struct inode *ctl)
{
	struct session *s = inode_session_dir(ctl);
	struct ctdir *ct = inode_ctdir(ctl);

	if (s)
		return session_ctl_error(s);
	return ct ? ctdir_ctl_error(ct) : NULL;
}

static void op_free(struct ctl_op *op)
{
	session_put(op->target);
	free(op->line);
	free(op->buf);
	free(op);
}

/* Answer the write: err 0 is success. Keeps the reason for ctl reads. */
static void op_finish(struct ctl_op *op, int err, const char *why)
{
	if (err) {
		const char *ename = strerrorname_np(err);
		char msg[400];

		snprintf(msg, sizeof(msg), "%.120s: %s (%s)",
			 op->line ? op->line : "", why ? why : strerror(err),
			 ename ? ename : "?");
		error_set(op->ctl, msg);
		log_info("ctl: %s", msg);
	} else {
		error_set(op->ctl, NULL);
	}
	if (!op->answered) {
		op->answered = true;
		if (err)
			fuse_reply_err(op->req, err);
		else
			fuse_reply_write(op->req, op->size);
	}
	if (!op->pending)
		op_free(op);
}

/* The session pre-exec verbs and exec act on: N's own, or the container's
 * current one if not started yet, else a new current one. */
static int op_setup_target(struct ctl_op *op, struct session **out)
{
	struct inode *ctdir = inode_container_dir(op->ctl);
	struct ctdir *ct = ctdir ? inode_ctdir(ctdir) : NULL;
	struct session *s = inode_session_dir(op->ctl), *cur;
	int rc;

	if (s) {
		*out = s;
		return 0;
	}
	if (!ct || !inode_linked(ctdir))
		return -ENOENT;
	cur = ctdir_current(ct);
	if (cur && session_state(cur) == SESSION_NEW) {
		*out = cur;
		return 0;
	}
	rc = tree_session_new(op->fs->tree, ctdir, op->fs->history_cap, &s);
	if (rc < 0)
		return rc;
	session_hold(s);
	ctdir_set_current(ct, s); /* our holding */
	*out = s;
	return 0;
}

static void op_run(struct ctl_op *op);

static void op_interrupted(struct park *p)
{
	struct ctl_op *op = container_of(p, struct ctl_op, park);

	/* The agent's answer still comes (the process may start); only the
	 * writer stops waiting. */
	park_take(p);
	op->answered = true;
	fuse_reply_err(op->req, EINTR);
}

static void op_async_done(void *arg, int err)
{
	struct ctl_op *op = arg;

	struct session *s = op->target;

	op->pending = false;
	op->target = NULL;
	park_take(&op->park);
	if (op->answered)
		op_free(op);
	else if (err)
		/* A failed start: the agent's reason, as status shows it. */
		op_finish(op, err, session_message(s));
	else
		op_run(op);
	session_put(s);
}

/* An async line was sent: wait for its done(). */
static void op_park(struct ctl_op *op, struct session *s)
{
	session_get(s);
	op->target = s;
	op->pending = true;
	park_add(&op->q, &op->park, op->req, op_interrupted);
}

static const char *state_reason(int rc, enum ctl_verb verb)
{
	switch (rc) {
	case -EBUSY:
		switch (verb) {
		case CTL_EXEC:
		case CTL_TTY:
		case CTL_ENV:
		case CTL_CWD:
		case CTL_USER:
		case CTL_MERGE:
		case CTL_NICE:
			return "the session has started already: pre-exec verbs and exec come before the start";
		case CTL_FORGET:
			return "the session has not ended: only ended sessions can be forgotten";
		case CTL_SIGNAL:
		case CTL_KILL:
		case CTL_RESIZE:
		case CTL_EOF:
			return "the session has not started yet";
		}
		break;
	case -ESRCH:
		return "the session's process has ended (or there is no session)";
	case -ENOTTY:
		return "the session has no terminal (tty before exec)";
	case -ENOTCONN:
		return "the node is not connected";
	case -EAGAIN:
		return "too many sessions in this container";
	case -ENOENT:
		return verb == CTL_FORGET ?
			       "no such session (forgotten already?)" :
			       "the container is gone";
	default:
		break;
	}
	return NULL;
}

/* Apply one parsed line. 1: parked (async), 0: done, -errno: failed. */
static int op_apply(struct ctl_op *op, struct ctl_cmd *cmd)
{
	struct ctdir *ct = inode_ctdir(op->ctl);
	struct inode *ctdir = inode_container_dir(op->ctl);
	struct session *s = NULL;
	int rc;

	switch (cmd->verb) {
	case CTL_EXEC:
	case CTL_TTY:
	case CTL_ENV:
	case CTL_CWD:
	case CTL_USER:
	case CTL_MERGE:
	case CTL_NICE:
		rc = op_setup_target(op, &s);
		if (rc < 0)
			return rc;
		break;
	case CTL_SIGNAL:
	case CTL_KILL:
	case CTL_RESIZE:
	case CTL_EOF:
	case CTL_FORGET:
		s = inode_session(op->ctl);
		if (!s)
			return cmd->verb == CTL_FORGET ? -ENOENT : -ESRCH;
		break;
	}

	switch (cmd->verb) {
	case CTL_TTY:
		return session_set_tty(s, cmd->cols, cmd->rows);
	case CTL_ENV:
		return session_add_env(s, cmd->argv[0]);
	case CTL_CWD:
		return session_set_cwd(s, cmd->argv[0]);
	case CTL_USER:
		return session_set_user(s, cmd->argv[0]);
	case CTL_MERGE:
		return session_set_merge(s);
	case CTL_NICE:
		return session_set_nice(s, cmd->nice);
	case CTL_EXEC:
		rc = session_start(s, ct ? ctdir_node(ct) : NULL, cmd->argv,
				   cmd->argc, op_async_done, op);
		if (rc == -EBUSY)
			return rc; /* started already: nothing changes */
		if (rc < 0) {
			/* Never started: status says why. */
			session_fail(s, -rc,
				     rc == -ENOTCONN ? "node not connected" :
						       strerror(-rc));
			return rc;
		}
		op_park(op, s);
		return 1;
	case CTL_SIGNAL:
	case CTL_KILL:
		/* 0: kept while the session is resuming, sent once it is
		 * back; 1: the agent's answer comes. */
		rc = session_signal(s, cmd->signo, op_async_done, op);
		if (rc == 1)
			op_park(op, s);
		return rc;
	case CTL_RESIZE:
		return session_resize(s, cmd->cols, cmd->rows);
	case CTL_EOF:
		return session_eof(s);
	case CTL_FORGET:
		return ctdir ? tree_session_forget(op->fs->tree, ctdir, s) :
			       -ENOENT;
	}
	return -EINVAL;
}

/* Walk the lines from op->pos until one parks, fails, or all are done. */
static void op_run(struct ctl_op *op)
{
	const char *end = op->buf + op->size;
	struct ctl_cmd cmd;
	int rc;

	while (op->pos < op->size) {
		const char *p = op->buf + op->pos;
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl : end;
		const char *q;

		op->pos = (size_t)(le - op->buf) + 1;
		for (q = p; q < le && is_blank(*q); q++)
			;
		if (q == le)
			continue; /* blank line */
		free(op->line);
		op->line = strndup(q, (size_t)(le - q));
		rc = ctl_parse(p, (size_t)(le - p), &cmd);
		if (rc < 0) {
			op_finish(op, -rc, cmd.error[0] ? cmd.error : NULL);
			return;
		}
		rc = op_apply(op, &cmd);
		if (rc < 0) {
			op_finish(op, -rc, state_reason(rc, cmd.verb));
			ctl_cmd_release(&cmd);
			return;
		}
		ctl_cmd_release(&cmd);
		if (rc == 1)
			return; /* parked: op_async_done() resumes */
	}
	op_finish(op, 0, NULL);
}

void control_write(struct execfs *fs, fuse_req_t req, struct inode *ctl,
		   const char *buf, size_t size)
{
	struct ctl_op *op = calloc(1, sizeof(*op)); /* freed by op_finish */

	if (!op || !(op->buf = malloc(size ? size : 1))) {
		free(op);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(op->buf, buf, size);
	op->size = size;
	op->fs = fs;
	op->req = req;
	op->ctl = ctl;
	list_init(&op->q);
	op_run(op);
}

int control_text(const struct inode *ctl, char *buf, size_t len)
{
	struct session *s = inode_session(ctl);
	const char *why = error_get(ctl);
	size_t n;
	int k;

	if (s) {
		k = snprintf(buf, len, "%u %s ", session_num(s),
			     session_sid(s));
		n = k < 0 ? 0 : (size_t)k;
		if (n < len)
			n += (size_t)session_status_line(s, buf + n, len - n);
	} else {
		k = snprintf(buf, len, "none\n");
		n = k < 0 ? 0 : (size_t)k;
	}
	if (why && n < len)
		n += (size_t)snprintf(buf + n, len - n, "error: %s\n", why);
	return n < len ? (int)n : (int)len - 1;
}
