/*
 * Who may start what where: the agent's exec policy (docs/SECURITY.md).
 * Default deny. Rules match principals (the peer's verified identity) to
 * containers by namespace, pod and container name globs and by labels,
 * and grant actions: exec, exec_privileged (containers that are privileged
 * or share a host namespace), exec_node (the node itself, EXECFS_HOST_ID:
 * only exec_node reaches it, and the node is listed only to principals a
 * rule grants it). A
 * switch turns exec off for the whole node, an annotation for one
 * container. Decisions use the container's metadata as the runtime
 * reports it, never what a request claims.
 */
#ifndef EXECFS_AGENT_POLICY_H
#define EXECFS_AGENT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* The node-level gates the privileged monitor re-checks on every start,
 * whatever the worker decided (startgate.h): is exec on at all, does any
 * rule grant exec_privileged (without one, nobody may enter a privileged
 * container), and exec_node (without one, nobody may enter the node). */
void policy_node_gates(const struct policy *p, bool *exec_enabled,
		       bool *privileged, bool *node);
/* The node-level refusals for container c: exec off, or the container's
 * POLICY_DISABLE_ANNOTATION. 0, or -EACCES with the reason in why. */
int policy_node_check(bool exec_enabled, const struct container *c, char *why,
		      size_t whylen);

struct policy_query {
	const char *principal; /* "uid:0", "ops", ... */
	const struct container *c;
	const char *run_as; /* the requested user, NULL: default */
	size_t sessions; /* this principal's running sessions */
};

/*
 * Principals are typed, as the transport names peers: "uid:N" (a local
 * Unix peer), "uri:...", "dns:..." (a certificate's first URI or DNS SAN)
 * and "cn:..." (the subject CN of a certificate without SANs). A pattern
 * with one of those prefixes ("dns:*.ops.example", "uid:0") matches only
 * identities of that type, by the glob after the prefix. A bare pattern
 * ("ops.example", "spiffe://example.org/ops") matches the name of a uri:
 * or dns: identity, and never a cn: or uid: one: a certificate whose CN
 * equals a rule's DNS name gets nothing from it.
 *
 * run_as entries are user-name globs (the requested user, "default" when
 * none) and, as "uid:N", "uid:N-M", "gid:N", "gid:N-M", ranges of the ids
 * the user resolves to in the container. Names are checked here, before
 * the user is resolved; ids (and names again) with policy_run_as_allows()
 * once it is.
 */

/* 0: allowed. -EACCES: denied, with a readable reason in why. */
int policy_check(const struct policy *p, const struct policy_query *q,
		 char *why, size_t whylen);

/* May principal see c listed? Whether a rule grants it the action c
 * needs (run_as and max_sessions are the start's business). The node's
 * own entry is listed only then. */
bool policy_may_list(const struct policy *p, const char *principal,
		     const struct container *c);

/*
 * The same, and when allowed, *run_as: a malloc'ed NULL-terminated copy
 * of the deciding rule's run_as entries (NULL when it has none: any
 * user), to hand to whoever resolves the user and must then call
 * policy_run_as_allows(). Free with policy_run_as_free(). -ENOMEM too.
 */
int policy_decide(const struct policy *p, const struct policy_query *q,
		  char ***run_as, char *why, size_t whylen);
void policy_run_as_free(char **patterns);

/*
 * After the user is resolved in the container: do the run_as patterns
 * allow user `name` (NULL: the container's default) as uid:gid? Every
 * kind the patterns use must match: a name glob, a uid range, a gid range.
 * And a name the container's own files make uid 0 is refused unless the
 * patterns have a uid range with 0, or the name is "root", "default" or
 * numeric: a container cannot turn "app" into root by editing its
 * /etc/passwd. patterns NULL: allowed. 0 or -EACCES with the reason.
 */
int policy_run_as_allows(const char *const *patterns, const char *name,
			 uid_t uid, gid_t gid, char *why, size_t whylen);

/*
 * The id half of the same check, for a process about to execve that may
 * not allocate or format (spawn_child.c): run_as's uid and gid ranges
 * compiled before the fork into plain data, then checked with integer
 * comparisons. Name globs are not here: policy_decide() matched the
 * requested name already, and the name does not change.
 */
#define POLICY_RUN_AS_RANGES 64

struct policy_run_as_range {
	uint32_t lo, hi;
};

struct policy_run_as_ids {
	bool any; /* no run_as: every user */
	size_t nuid, ngid;
	struct policy_run_as_range uid[POLICY_RUN_AS_RANGES];
	struct policy_run_as_range gid[POLICY_RUN_AS_RANGES];
};

enum policy_run_as_verdict {
	POLICY_RUN_AS_OK = 0,
	POLICY_RUN_AS_UID, /* the uid is outside every uid: range */
	POLICY_RUN_AS_GID, /* the gid is outside every gid: range */
	POLICY_RUN_AS_ROOT, /* a name the container makes uid 0 */
};

/* patterns NULL: any user. 0, or -E2BIG: over POLICY_RUN_AS_RANGES of a
 * kind. */
int policy_run_as_compile(const char *const *patterns,
			  struct policy_run_as_ids *ids);
/* Async-signal-safe. name: the requested user, NULL: none asked for (the
 * container's configured user, which may be root without a uid range). */
enum policy_run_as_verdict
policy_run_as_ids_check(const struct policy_run_as_ids *ids, const char *name,
			uid_t uid, gid_t gid);
/* Async-signal-safe: is gid (a supplementary group too) inside the gid
 * ranges, when there are any? */
bool policy_run_as_gid_allowed(const struct policy_run_as_ids *ids, gid_t gid);
/* The reason for a verdict: 0 for POLICY_RUN_AS_OK, else -EACCES. */
int policy_run_as_why(enum policy_run_as_verdict v, const char *name, uid_t uid,
		      gid_t gid, char *why, size_t whylen);

/*
 * Does some rule let principal exec into c (the action c needs: exec,
 * exec_privileged for a privileged container, exec_node for the node's own
 * entry)? Only such containers are
 * shown to it (the container list, the watch) and may be named by its
 * requests: others do not exist for it. The rules alone decide, not the
 * node's exec_enabled, the container's disable annotation, run_as or
 * max_sessions: those refuse a start of a container the peer may know of,
 * with their reason. p NULL: false.
 */
bool policy_visible(const struct policy *p, const char *principal,
		    const struct container *c);

#endif
