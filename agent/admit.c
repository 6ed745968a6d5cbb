/*
 * Whether a session's start may happen, and its audit lines
 * (docs/SECURITY.md). A start is admitted when the container it names is
 * running (the inventory decides, as the runtime describes it), its peer
 * identity is below the agent's limit of running sessions, and the policy
 * allows the identity to exec there as the requested user. Every refusal
 * is logged and audited; an admitted start gets its audit start line
 * before anything runs, and its end line when it ends or fails.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "execfs/log.h"
#include "audit.h"
#include "exec_spec.h"
#include "inventory.h"
#include "metrics.h"
#include "policy.h"
#include "session_internal.h"
#include "startgate.h"
#include "strv.h"

/* The sessions of identity that count against its limit. */
static size_t admit_running_of(const struct xsession_table *t,
			       const char *identity)
{
	const struct xsession *o;
	size_t n = 0;

	/* Ended ones kept for a resume count too: they hold output. */
	for (o = t->head; o; o = o->next)
		if ((o->state == XSESSION_SPAWNING ||
		     o->state == XSESSION_RUNNING || o->lost ||
		     xsession_holds_output(o)) &&
		    !strcmp(o->identity, identity))
			n++;
	return n;
}

static int admit_refuse(struct xsession *s, const struct audit_start *a,
			int err, const char *why)
{
	log_warn("session %s: denied: %s", s->sid, why);
	metrics_session_denied(err == EAGAIN ? "limit" : "policy");
	audit_session_denied(s->t->audit, a, why);
	xsession_fail(s, err, why);
	return -err;
}

/* The policy decides, on the container as the runtime describes it. An
 * allowed start is audited here, before anything runs. */
static int admit_check(struct xsession *s, const struct container *c,
		       struct exec_spec *spec)
{
	struct policy_query q = { s->identity, c, spec->user,
				  admit_running_of(s->t, s->identity) };
	struct audit_start a = {
		s->sid,	    s->identity, s->t->node, c,
		spec->argv, spec->tty,	 spec->user, spec->cwd
	};
	char why[512] = "no policy";

	if (q.sessions >= s->t->per_identity) {
		snprintf(why, sizeof(why),
			 "%s has %zu running sessions, the agent's limit",
			 s->identity, q.sessions);
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
	audit_session_start(s->t->audit, &a);
	s->audited = true;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	return 0;
}

int xsession_admit(struct xsession *s, struct exec_spec *spec)
{
	const struct container *c;
	char err[512] = "";
	int rc;

	rc = inventory_find_running(s->t->inv, spec->container, &c, err,
				    sizeof(err));
	if (rc < 0) {
		metrics_session_denied("container");
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
