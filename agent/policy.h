/*
 * Who may start what where: the agent's exec policy (docs/SECURITY.md).
 * Default deny. Rules match principals (the peer's verified identity) to
 * containers by namespace, pod and container name globs and by labels,
 * and grant actions: exec, exec_privileged (containers that are privileged
 * or share a host namespace), exec_node (the host pseudo-container). A
 * switch turns exec off for the whole node, an annotation for one
 * container. Decisions use the container's metadata as the runtime
 * reports it, never what a request claims.
 */
#ifndef EXECFS_AGENT_POLICY_H
#define EXECFS_AGENT_POLICY_H

#include <stddef.h>

struct container;
struct policy;

/* The annotation that turns remote exec off for one container. */
#define POLICY_DISABLE_ANNOTATION "execfs.io/disable-exec"

/* The policy used without --policy: root on the local Unix socket may do
 * everything, nobody else anything. */
struct policy *policy_default(void);

/* Read a policy file (at most 1 MiB) without parsing it: the privileged
 * monitor reads, the unprivileged worker parses. 0 and a malloc'ed *text,
 * or -errno with the reason in err. */
int policy_read(const char *path, char **text, size_t *len, char *err,
		size_t errlen);
/* Load and check a policy file. NULL with the reason in err. */
struct policy *policy_load(const char *path, char *err, size_t errlen);
/* The same from a JSON text (tests, fuzzing). */
struct policy *policy_parse(const char *text, size_t len, char *err,
			    size_t errlen);
void policy_free(struct policy *p);

struct policy_query {
	const char *principal; /* "uid:0", "ops", ... */
	const struct container *c;
	const char *run_as; /* the requested user, NULL: default */
	size_t sessions; /* this principal's running sessions */
};

/* 0: allowed. -EACCES: denied, with a readable reason in why. */
int policy_check(const struct policy *p, const struct policy_query *q,
		 char *why, size_t whylen);

#endif
