/*
 * What the privileged monitor checks itself before every start the
 * worker asks for, so that a worker taken over through the network cannot
 * enter a container the node forbids, nor one other than the container it
 * decided on:
 *   - the node-level gates of the policy (which the monitor parses itself
 *     from the root-owned file, at start and on SIGHUP): exec_enabled, the
 *     execfs.io/disable-exec annotation of the container, and, for a
 *     privileged container, that some rule grants exec_privileged at all
 *     (for the node itself, .host, exec_node);
 *   - the container instance: the worker's request names the init pid,
 *     the runtime's creation time and the privileged flag it saw; a
 *     container replaced under the same id since (another init, another
 *     creation) or whose privileged flag changed is refused. The monitor's
 *     own record is then checked against the live init's start time by
 *     initpin.h, so the chain reaches the running process.
 * Pure: the caller supplies the container from its own inventory.
 */
#ifndef EXECFS_AGENT_STARTGATE_H
#define EXECFS_AGENT_STARTGATE_H

#include <stdbool.h>
#include <stddef.h>

struct container;
struct exec_spec;
struct policy;

struct start_gate {
	bool exec_enabled;
	bool privileged; /* some rule grants exec_privileged */
	bool node; /* some rule grants exec_node */
};

/* The gates of policy p (NULL: closed, every start refused). */
void start_gate_from_policy(struct start_gate *g, const struct policy *p);

/* 0, or -EACCES (a gate) / -ESTALE (another instance) with the reason in
 * why. */
int start_gate_check(const struct start_gate *g, const struct container *c,
		     const struct exec_spec *spec, char *why, size_t whylen);

/* Bind spec to the instance c it was decided on. -ENOMEM. */
int start_gate_bind(struct exec_spec *spec, const struct container *c);

#endif
