/*
 * The monitor's own checks of a start (startgate.h): the policy's
 * node-level gates and the container instance the worker decided on.
 */
#include "startgate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_spec.h"
#include "inventory.h"
#include "policy.h"

void start_gate_from_policy(struct start_gate *g, const struct policy *p)
{
	g->exec_enabled = g->privileged = g->node = false;
	if (p)
		policy_node_gates(p, &g->exec_enabled, &g->privileged,
				  &g->node);
}

int start_gate_check(const struct start_gate *g, const struct container *c,
		     const struct exec_spec *spec, char *why, size_t whylen)
{
	if (policy_node_check(g->exec_enabled, c, why, whylen) < 0)
		return -EACCES;
	if (c->host && !g->node) {
		snprintf(why, whylen,
			 "%s is the node itself and no rule grants exec_node",
			 c->id);
		return -EACCES;
	}
	if (!c->host && c->privileged && !g->privileged) {
		snprintf(why, whylen,
			 "container %s is privileged (%s) and no rule grants "
			 "exec_privileged",
			 c->id,
			 c->privileged_reason ? c->privileged_reason :
						"runtime");
		return -EACCES;
	}
	/* An unbound request (the worker always binds) is refused: the
	 * monitor cannot know what was decided on. */
	if (spec->seen_pid <= 0 || !spec->seen_created ||
	    spec->seen_pid != c->pid ||
	    strcmp(spec->seen_created, c->created ? c->created : "") ||
	    spec->seen_privileged != c->privileged) {
		snprintf(why, whylen,
			 "container %s changed since the request was decided "
			 "(replaced, or its privileges changed): try again",
			 c->id);
		return -ESTALE;
	}
	return 0;
}

int start_gate_bind(struct exec_spec *spec, const struct container *c)
{
	free(spec->seen_created);
	spec->seen_created = strdup(c->created ? c->created : "");
	if (!spec->seen_created)
		return -ENOMEM;
	spec->seen_pid = c->pid;
	spec->seen_privileged = c->privileged;
	return 0;
}
