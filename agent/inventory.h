/*
 * The node's containers, read from OCI runtime state (runc's state.json,
 * crun's status) under state roots such as /run/runc, /run/crun and every
 * /run/containerd/runc/<namespace> (roots.h: patterns, followed as they
 * appear), named as their orchestrator names them (naming.h). The
 * inventory follows containers as they start and stop (inotify on the
 * roots plus a periodic rescan, since a dying process touches no file) and
 * tells its owner when the list changed.
 */
#ifndef EXECFS_AGENT_INVENTORY_H
#define EXECFS_AGENT_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct confine;
struct event_base;
struct inventory;
struct seccomp_profile;

enum container_state {
	CONTAINER_CREATED,
	CONTAINER_RUNNING,
	CONTAINER_PAUSED,
	CONTAINER_STOPPED,
};

/* One container, as the runtime describes it. Owned by the inventory;
 * valid until the next rescan (copy what must live longer). */
struct container {
	/* Unique on the node: the runtime's id, or "ID@ROOT" (ROOT's '/' as
	 * ':') for a container whose id another root listed first. Requests
	 * name the container by it. */
	char *id;
	char *runtime_id; /* the runtime's own id (its directory) */
	char *namespace, *pod, *name; /* see docs/PROTOCOL.md */
	char *naming; /* the rule that named it: "kubernetes", "docker", ... */
	json_t *name_sources; /* array of strings: what the names came from */
	char *runtime; /* "runc" or "crun" */
	char *root; /* the state root it was found under */
	char *bundle, *image, *created;
	pid_t pid; /* init pid, agent's pid namespace */
	unsigned long long start_time; /* init's start time (clock ticks,
					     field 22 of /proc/PID/stat) */
	enum container_state state;
	bool privileged;
	bool host; /* the node itself (hostentry.h), never a runtime's */
	json_t *labels; /* object: every OCI annotation; owned */

	/* What a process entering the container needs (from the OCI config). */
	char **env; /* NULL-terminated "NAME=VALUE" list */
	char *cwd; /* process.cwd, "/" when absent */
	uid_t uid; /* process.user */
	gid_t gid;
	gid_t *groups; /* process.user.additionalGids */
	size_t ngroups;
	char **cgroups; /* NULL-terminated cgroup directories to join */

	/* The init's capability sets (bit n = capability n) and no_new_privs,
	 * from the runtime config; a process entering the container gets the
	 * same. has_caps false: the config names none, so (as runc does) the
	 * capabilities are left as they are. */
	bool has_caps;
	uint64_t cap_bounding, cap_effective, cap_permitted;
	uint64_t cap_inheritable, cap_ambient;
	bool no_new_privs;

	/* The rest of the confinement, from the runtime's own record of the
	 * config (ociconfine.h; owned by the record, NULL: none): rlimits,
	 * OOM score, umask, LSM labels, personality; the seccomp profile
	 * (compiled once, on the first start). entry_error, when set, is why
	 * no process may enter: the config asks for what the agent cannot
	 * reproduce; a start checks it first (confine and seccomp are then
	 * not to be used). privileged_reason: a static sentence naming the
	 * criterion that made the container privileged (privileged.h). */
	struct confine *confine;
	struct seccomp_profile *seccomp;
	char *entry_error;
	const char *privileged_reason;
};

typedef void inventory_change_fn(void *arg);

/* Offer the node itself as a container (execfs-agent --host-exec,
 * hostentry.h): set once from the command line before any inventory
 * exists; inventories made afterwards list it. Off by default. */
void inventory_set_host_exec(bool on);

/* Watch these state roots (patterns, see roots.h; missing ones are fine:
 * they may appear later). on_change runs from the loop whenever the list
 * or a state changed. NULL with errno EINVAL for a bad pattern. */
struct inventory *inventory_new(struct event_base *base,
				const char *const *roots, size_t nroots,
				inventory_change_fn *on_change, void *arg);
void inventory_free(struct inventory *inv);

/* Re-read every root now. Returns 1 if anything changed, 0 if not. */
int inventory_rescan(struct inventory *inv);

/*
 * A mirror: the unprivileged worker's copy of the monitor's inventory,
 * loaded from the JSON document of inventory_to_json() (which carries what
 * policy decisions and the container list need, not what entering a
 * container needs: the monitor does that with its own inventory). Empty
 * until the first load; on_change runs when a load changed it.
 */
struct inventory *inventory_mirror_new(inventory_change_fn *on_change,
				       void *arg);
/* 0, or -EINVAL / -ENOMEM with the reason in err (the old list stays). */
int inventory_mirror_load(struct inventory *inv, const char *text, size_t len,
			  char *err, size_t errlen);

const struct container *inventory_find(const struct inventory *inv,
				       const char *id);
/*
 * The container a start names, at the moment of the start: 0 and *out
 * when it is running; -ENOENT (no such container) or -EBUSY (created,
 * paused or stopped) with the reason in err, which is what the client is
 * told. The one place that decides whether a container can be entered.
 */
int inventory_find_running(const struct inventory *inv, const char *id,
			   const struct container **out, char *err,
			   size_t errlen);
size_t inventory_count(const struct inventory *inv);
const struct container *inventory_at(const struct inventory *inv, size_t i);

/* {"node": node, "containers": [...]} as docs/PROTOCOL.md says; a new
 * reference. Pod sandboxes are not in it. */
json_t *inventory_to_json(const struct inventory *inv, const char *node);
/* The same with only the containers keep(c, arg) is true for. */
typedef bool inventory_keep_fn(const struct container *c, void *arg);
json_t *inventory_to_json_only(const struct inventory *inv, const char *node,
			       inventory_keep_fn *keep, void *arg);

const char *container_state_name(enum container_state s);

#endif
