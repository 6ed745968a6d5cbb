/*
 * Whether a session may exist and start, and its audit lines
 * (docs/SECURITY.md). A session counts against its peer identity's limit
 * from its first stream (the status POST that creates it), while its
 * request is still coming, not only once it runs: a peer that opens
 * status streams and never finishes them holds at most its limit of
 * sessions. A start is admitted when the container it names is one the
 * identity may see (policy_visible(): another container does not exist
 * for it) and is running (the inventory decides, as the runtime describes
 * it), and the policy allows the identity to exec there as the requested
 * user. Every refusal is logged and audited; an admitted start gets its
 * audit start line before anything runs (with --audit-required, a start
 * whose line cannot be written is refused), and its end line when it
 * ends or fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "execfs/log.h"
#include "execfs/lograte.h"
#include "audit.h"
#include "exec_spec.h"
#include "inventory.h"
#include "metrics.h"
#include "policy.h"
#include "session_internal.h"
#include "spawn_report.h"
#include "startgate.h"
#include "strv.h"

/* The sessions of identity, but except, that count against its limit:
 * every one but those that are over (ended, and no client may come back
 * for them). Ended ones kept for a resume count too: they hold output. */
static size_t admit_held_by(const struct xsession_table *t,
			    const char *identity, const struct xsession *except)
{
	const struct xsession *o;
	size_t n = 0;

	for (o = t->head; o; o = o->next)
		if (o != except && !strcmp(o->identity, identity) &&
		    !(o->state == XSESSION_FAILED && !o->lost) &&
		    !(o->state == XSESSION_EXITED && !o->lost &&
		      !xsession_holds_output(o)))
			n++;
	return n;
}

/* A bucket of the refusal log: one per kind and identity, so one peer's
 * flood never hides another's refusals. The table is small and fixed: a
 * peer new to it takes a free slot or the one used longest ago, whose
 * suppressed count is written out first, so no count is lost. */
struct refusal_rate {
	bool in_use;
	int kind;
	char identity[256];
	unsigned long long last; /* the log's turn it was last used at */
	struct log_rate rate;
};
#define REFUSAL_RATE_SLOTS 64

static struct refusal_rate *refusal_rate_slot(int kind, const char *identity)
{
	/* One process, one table of sessions: the buckets are the
	 * process's. */
	static struct refusal_rate slots[REFUSAL_RATE_SLOTS];
	static unsigned long long turn;
	struct refusal_rate *r, *pick = NULL;
	size_t i;

	turn++;
	for (i = 0; i < REFUSAL_RATE_SLOTS; i++) {
		r = &slots[i];
		if (r->in_use && r->kind == kind &&
		    !strncmp(r->identity, identity, sizeof(r->identity) - 1)) {
			r->last = turn;
			return r;
		}
		if (!r->in_use) {
			if (!pick || pick->in_use)
				pick = r; /* a free slot before any used one */
		} else if (!pick || (pick->in_use && r->last < pick->last)) {
			pick = r;
		}
	}
	if (pick->in_use && pick->rate.skipped)
		log_warn("refusals of %s: %u similar lines suppressed",
			 pick->identity, pick->rate.skipped);
	memset(pick, 0, sizeof(*pick));
	pick->in_use = true;
	pick->kind = kind;
	snprintf(pick->identity, sizeof(pick->identity), "%s", identity);
	pick->last = turn;
	return pick;
}

void xsession_log_refused(int kind, const char *identity, const char *fmt, ...)
{
	struct refusal_rate *r;
	unsigned skipped;
	char line[1024];
	va_list ap;

	if (kind < 0 || kind >= XSESSION_LOG_KINDS)
		return;
	r = refusal_rate_slot(kind, identity ? identity : "");
	if (!log_rate_due(&r->rate, XSESSION_LOG_BURST, XSESSION_LOG_SECONDS,
			  &skipped))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (skipped)
		log_warn("%s (%u similar lines suppressed)", line, skipped);
	else
		log_warn("%s", line);
}

void xsession_audit_refused(struct xsession_table *t, const char *sid,
			    const char *identity, const char *container,
			    enum audit_refusal kind, const char *reason)
{
	struct audit_who w = { sid, identity, t->node, container };

	audit_refused(t->audit, &w, kind, reason);
}

int xsession_admit_new(struct xsession_table *t, const char *sid,
		       const char *identity, char *why, size_t whylen)
{
	size_t n = admit_held_by(t, identity, NULL), coming = 0;
	const struct xsession *o;

	for (o = t->head; o; o = o->next)
		coming += o->state == XSESSION_REQUEST &&
			  !strcmp(o->identity, identity);
	if (n < t->per_identity && coming < XSESSION_REQUESTS_PER_IDENTITY)
		return 0;
	if (n >= t->per_identity)
		snprintf(why, whylen, "%s has %zu sessions, the agent's limit",
			 identity, n);
	else
		snprintf(why, whylen,
			 "%s has %zu exec requests under way, the agent's "
			 "limit",
			 identity, coming);
	xsession_log_refused(AUDIT_OVER_LIMIT, identity,
			     "session %s: refused: %s", sid, why);
	xsession_audit_refused(t, sid, identity, NULL, AUDIT_OVER_LIMIT, why);
	return -EAGAIN;
}

static int admit_refuse(struct xsession *s, const struct audit_start *a,
			int err, const char *why)
{
	xsession_log_refused(
		err == EAGAIN ? AUDIT_OVER_LIMIT : XSESSION_LOG_DENIED,
		s->identity, "session %s: denied: %s", s->sid, why);
	if (err == EAGAIN) {
		metrics_session_denied("limit");
		xsession_audit_refused(s->t, s->sid, s->identity, a->c->id,
				       AUDIT_OVER_LIMIT, why);
	} else {
		metrics_session_denied("policy");
		audit_session_denied(s->t->audit, a, why);
	}
	xsession_fail(s, err, why);
	return -err;
}

/* The policy decides, on the container as the runtime describes it. An
 * allowed start is audited here, before anything runs. */
static int admit_check(struct xsession *s, const struct container *c,
		       struct exec_spec *spec)
{
	struct policy_query q = { s->identity, c, spec->user,
				  admit_held_by(s->t, s->identity, s) };
	struct audit_start a = {
		s->sid,	    s->identity, s->t->node, c,
		spec->argv, spec->tty,	 spec->user, spec->cwd
	};
	char why[512] = "no policy";
	int rc;

	if (q.sessions >= s->t->per_identity) {
		snprintf(why, sizeof(why),
			 "%s has %zu sessions, the agent's limit", s->identity,
			 q.sessions);
		return admit_refuse(s, &a, EAGAIN, why);
	}
	/* The rule's run_as goes with the start: the spawn checks it against
	 * the ids the user resolves to in the container. */
	strv_free(spec->run_as);
	spec->run_as = NULL;
	if (!s->t->policy || policy_decide(s->t->policy, &q, &spec->run_as, why,
					   sizeof(why)) < 0)
		return admit_refuse(s, &a, EACCES, why);
	/* The monitor starts it only in this very instance (startgate.h). */
	if (start_gate_bind(spec, c) < 0)
		return admit_refuse(s, &a, ENOMEM, "out of memory");
	rc = audit_session_start_env(s->t->audit, &a, spec->env);
	if (rc < 0) {
		/* --audit-required: what is not recorded does not run. */
		snprintf(why, sizeof(why),
			 "the audit line could not be written: %s",
			 strerror(-rc));
		log_error("session %s: start refused: %s", s->sid, why);
		xsession_fail(s, EIO, why);
		return -EIO;
	}
	s->audited = true;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	return 0;
}

int xsession_admit(struct xsession *s, struct exec_spec *spec)
{
	const struct container *c = inventory_find(s->t->inv, spec->container);
	char err[512] = "";
	int rc;

	/* A container the identity may not see is answered as one that
	 * does not exist: its state is nobody else's business either. The
	 * node's own entry (--host-exec) is the node's configuration, not a
	 * secret: the policy refuses it with its reason. */
	if (c && !c->host && !policy_visible(s->t->policy, s->identity, c)) {
		snprintf(err, sizeof(err), "no container %s on this node",
			 spec->container);
		xsession_log_refused(AUDIT_UNKNOWN_CONTAINER, s->identity,
				     "session %s: %s may not see container %s: "
				     "refused as unknown",
				     s->sid, s->identity, c->id);
		rc = -ENOENT;
	} else {
		rc = inventory_find_running(s->t->inv, spec->container, &c, err,
					    sizeof(err));
	}
	if (rc < 0) {
		metrics_session_denied("container");
		if (rc == -ENOENT)
			xsession_audit_refused(s->t, s->sid, s->identity,
					       spec->container,
					       AUDIT_UNKNOWN_CONTAINER, err);
		xsession_fail(s, -rc, err);
		return rc;
	}
	snprintf(s->container, sizeof(s->container), "%s", c->id);
	return admit_check(s, c, spec);
}

void xsession_audit_end(struct xsession *s)
{
	struct audit_end e = { 0 };
	struct timespec now;

	if (!s->audited)
		return;
	s->audited = false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	e.session = s->sid;
	e.identity = s->identity;
	e.node = s->t->node;
	e.container_id = s->container;
	if (s->state == XSESSION_FAILED) {
		e.state = "failed";
		e.reason = s->message;
	} else if (WIFEXITED(s->wstatus)) {
		e.state = "exited";
		e.code = WEXITSTATUS(s->wstatus);
	} else {
		e.state = "killed";
		e.signame = sigabbrev_np(WTERMSIG(s->wstatus));
	}
	e.bytes_in = s->in.delivered;
	e.bytes_out =
		resume_tx_end(&s->out[0].tx) + resume_tx_end(&s->out[1].tx);
	e.duration = (double)(now.tv_sec - s->started.tv_sec) +
		     (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
	audit_session_end(s->t->audit, &e);
}

void xsession_audit_spawned(struct xsession *s)
{
	const struct container *c = inventory_find(s->t->inv, s->container);
	struct audit_spawned a = { 0 };

	a.session = s->sid;
	a.identity = s->identity;
	a.node = s->t->node;
	a.container_id = s->container;
	a.pid = s->pid;
	/* The instance the monitor bound the start to, as the inventory
	 * has it now: a container replaced since has another init. */
	if (c) {
		a.init_pid = c->pid;
		a.created = c->created;
	}
	if (s->ids && s->ids->known) {
		a.ids_known = true;
		a.uid = s->ids->uid;
		a.gid = s->ids->gid;
		a.groups = s->ids->groups;
		a.ngroups = s->ids->ngroups;
	}
	audit_session_spawned(s->t->audit, &a);
}

static void admit_who(const struct xsession *s, struct audit_who *w)
{
	w->session = s->sid;
	w->identity = s->identity;
	w->node = s->t->node;
	w->container_id = s->container[0] ? s->container : NULL;
}

void xsession_audit_resume(struct xsession *s, struct h2_stream *st,
			   const char *streamtype)
{
	uint64_t off = 0;
	struct audit_who w;

	admit_who(s, &w);
	(void)xsession_offset_header(st, &off); /* a bad one is refused */
	audit_session_resume(s->t->audit, &w, streamtype,
			     (unsigned long long)off);
}

void xsession_audit_signal(struct xsession *s, const char *signame, int err)
{
	struct audit_who w;

	admit_who(s, &w);
	audit_session_signal(s->t->audit, &w, signame, err);
}

void xsession_audit_resize(struct xsession *s, unsigned short cols,
			   unsigned short rows)
{
	struct audit_who w;

	/* A client that repeats a size does not grow the trail. */
	if (s->audit_cols == cols && s->audit_rows == rows)
		return;
	s->audit_cols = cols;
	s->audit_rows = rows;
	admit_who(s, &w);
	audit_session_resize(s->t->audit, &w, cols, rows);
}
