/*
 * A container's init as a start sees it, kept from one start to the next
 * (spawn.c): a pidfd pinning the process the runtime recorded, which of
 * its namespaces are not the agent's, and open files of its cgroups.
 * Finding these costs some thirty /proc and cgroupfs lookups; none of
 * them changes while that init lives.
 *
 * An entry is made only for an init that passed the start-time check
 * after it was pinned (and again after its namespaces were looked at), so
 * its pidfd names that process for good: a recycled pid can never match
 * it. An entry is dropped when its pidfd polls readable (the init exited),
 * when the container's record no longer agrees with it (another init,
 * other cgroups: a container replaced under the same id), when a start
 * through it failed, and, least recently used first, beyond a small cap.
 */
#ifndef EXECFS_AGENT_INITPIN_H
#define EXECFS_AGENT_INITPIN_H

#include <stddef.h>
#include <sys/types.h>

struct container;
struct initpin_cache;

#define INITPIN_MAX_CGROUPS 64

struct initpin {
	char *id; /* the container's */
	pid_t pid;
	unsigned long long start_time; /* as the runtime recorded it */
	int pidfd; /* of the init */
	int nsflags; /* CLONE_NEW* of its namespaces that are not ours */
	/* Each of the container's cgroups, in the order of the directories
	 * in cgroups: a v1 hierarchy's `tasks` file (O_WRONLY), or -1 for
	 * the v2 (unified) one, whose directory is cgroup2_fd (O_RDONLY, -1
	 * if the container has none). Why not cgroup.procs: spawn.c. */
	int cgroup_fds[INITPIN_MAX_CGROUPS];
	int cgroup2_fd;
	char **cgroups;
	size_t ncgroups;
};

/* The agent's own namespaces are looked at once, here. NULL: no memory. */
struct initpin_cache *initpin_cache_new(void);
/* Closes every fd of every entry. NULL is a no-op. */
void initpin_cache_free(struct initpin_cache *pc);

/*
 * c's init, pinned: from the cache after the start-time check (the init
 * is still that process, not a zombie), else pinned and looked at now.
 * 0 and *out (the cache's; valid until the next call on pc); -ENOENT when
 * the init is gone or replaced; another negative errno (-ENOMEM, a cgroup
 * that cannot be opened) with a reason in err.
 */
int initpin_get(struct initpin_cache *pc, const struct container *c,
		const struct initpin **out, char *err, size_t errlen);

/* Drop the entries whose init exited (their pidfds poll readable): one
 * poll for all of them. initpin_get does it first; an owner that hears of
 * stopped containers may do it then, to close their fds sooner. */
void initpin_cache_prune(struct initpin_cache *pc);

/* The start-time check alone: c's init is still the process the runtime
 * recorded, and not a zombie (-ENOENT with a reason if not). */
int initpin_check(const struct container *c, char *err, size_t errlen);

/* Forget pin (from initpin_get), e.g. after a start through it failed:
 * the next start looks again. */
void initpin_drop(struct initpin_cache *pc, const struct initpin *pin);
/* The same by container id, for a failure learnt later (a pin pointer is
 * valid only until the next call on pc). No entry: a no-op. */
void initpin_forget(struct initpin_cache *pc, const char *id);

#endif
