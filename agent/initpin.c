/*
 * Pinned container inits, kept between starts (see initpin.h). The cache
 * is a short array in most-recently-used order: a node has few containers
 * that are entered often, and each entry holds a dozen fds.
 */
#include "initpin.h"

#include "inventory.h"
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Entries kept; each holds a pidfd and one fd per cgroup hierarchy. */
#define INITPIN_CACHE_MAX 16

/* The namespaces a process entering a container may need to join. */
static const struct {
	const char *self, *target;
	int flag;
} ns_kinds[] = {
	{ "user", "user", CLONE_NEWUSER },
	{ "mnt", "mnt", CLONE_NEWNS },
	{ "pid", "pid", CLONE_NEWPID },
	{ "uts", "uts", CLONE_NEWUTS },
	{ "ipc", "ipc", CLONE_NEWIPC },
	{ "net", "net", CLONE_NEWNET },
	{ "cgroup", "cgroup", CLONE_NEWCGROUP },
	/* Our children get time_for_children; B would get the target's. */
	{ "time_for_children", "time", CLONE_NEWTIME },
};

#define NS_KINDS (sizeof(ns_kinds) / sizeof(ns_kinds[0]))

struct initpin_cache {
	/* Our namespaces (the agent never changes them); a kind we could
	 * not stat is one the kernel lacks. */
	bool self_known[NS_KINDS];
	struct stat self[NS_KINDS];
	struct initpin *pins[INITPIN_CACHE_MAX]; /* owned; most recent first */
	size_t npins;
};

static void pin_free(struct initpin *pin)
{
	size_t i;

	if (!pin)
		return;
	for (i = 0; i < pin->ncgroups; i++) {
		if (pin->cgroup_fds[i] >= 0)
			close(pin->cgroup_fds[i]);
		free(pin->cgroups[i]);
	}
	free(pin->cgroups);
	if (pin->cgroup2_fd >= 0)
		close(pin->cgroup2_fd);
	free(pin->id);
	if (pin->pidfd >= 0)
		close(pin->pidfd);
	free(pin);
}

static void cache_remove(struct initpin_cache *pc, size_t i)
{
	pin_free(pc->pins[i]);
	pc->npins--;
	memmove(&pc->pins[i], &pc->pins[i + 1],
		(pc->npins - i) * sizeof(pc->pins[0]));
}

/* Put pin first (most recently used), moving the i entries before it. */
static void cache_front(struct initpin_cache *pc, size_t i, struct initpin *pin)
{
	memmove(&pc->pins[1], &pc->pins[0], i * sizeof(pc->pins[0]));
	pc->pins[0] = pin;
}

struct initpin_cache *initpin_cache_new(void)
{
	struct initpin_cache *pc = calloc(1, sizeof(*pc));
	char path[64];
	size_t i;

	if (!pc)
		return NULL;
	for (i = 0; i < NS_KINDS; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s",
			 ns_kinds[i].self);
		pc->self_known[i] = stat(path, &pc->self[i]) == 0;
	}
	return pc;
}

void initpin_cache_free(struct initpin_cache *pc)
{
	if (!pc)
		return;
	while (pc->npins)
		cache_remove(pc, pc->npins - 1);
	free(pc);
}

int initpin_check(const struct container *c, char *err, size_t errlen)
{
	unsigned long long start;
	char state;

	if (proc_stat_read(c->pid, &state, &start) < 0 ||
	    start != c->start_time || state == 'Z' || state == 'X') {
		snprintf(err, errlen, "container %s is gone", c->id);
		return -ENOENT;
	}
	return 0;
}

/* Which of the init's namespaces are not already ours. */
static int ns_flags(const struct initpin_cache *pc, pid_t pid, int *flags,
		    char *err, size_t errlen)
{
	struct stat target;
	char path[64];
	size_t i;

	*flags = 0;
	for (i = 0; i < NS_KINDS; i++) {
		if (!pc->self_known[i])
			continue; /* a kernel without it */
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid,
			 ns_kinds[i].target);
		if (stat(path, &target) < 0) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -errno;
		}
		if (pc->self[i].st_dev != target.st_dev ||
		    pc->self[i].st_ino != target.st_ino)
			*flags |= ns_kinds[i].flag;
	}
	return 0;
}

/* One of the container's cgroups, dir: the v2 directory itself (kept as
 * pin->cgroup2_fd, *fd = -1), or a v1 hierarchy's `tasks` file. */
static int open_cgroup(struct initpin *pin, const char *dir, int *fd)
{
	struct statfs fs;
	int dfd, rc = 0;

	*fd = -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstatfs(dfd, &fs) < 0) {
		rc = -errno;
		goto out;
	}
	if (fs.f_type == CGROUP2_SUPER_MAGIC) {
		if (pin->cgroup2_fd >= 0) {
			rc = -EEXIST; /* one v2 hierarchy per host */
			goto out;
		}
		pin->cgroup2_fd = dfd;
		return 0;
	}
	*fd = openat(dfd, "tasks", O_WRONLY | O_CLOEXEC);
	if (*fd < 0)
		rc = -errno;
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int open_cgroups(struct initpin *pin, char *const *dirs, char *err,
			size_t errlen)
{
	size_t n = 0;
	int fd, rc;

	while (dirs && dirs[n] && n < INITPIN_MAX_CGROUPS)
		n++;
	pin->cgroups = calloc(n + 1, sizeof(*pin->cgroups));
	if (!pin->cgroups)
		goto out_nomem;
	for (; pin->ncgroups < n; pin->ncgroups++) {
		rc = open_cgroup(pin, dirs[pin->ncgroups], &fd);
		if (rc < 0) {
			snprintf(err, errlen, "cgroup %s: %s",
				 dirs[pin->ncgroups],
				 rc == -EEXIST ? "a second cgroup2 directory" :
						 strerror(-rc));
			return rc;
		}
		pin->cgroup_fds[pin->ncgroups] = fd;
		pin->cgroups[pin->ncgroups] = strdup(dirs[pin->ncgroups]);
		if (!pin->cgroups[pin->ncgroups]) {
			if (fd >= 0)
				close(fd);
			goto out_nomem;
		}
	}
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Pin c's init and look at it: the pidfd first, then the check that the
 * pinned process is the one the runtime started (a pid checked first
 * could be recycled before the open), and again after its namespaces
 * were looked at by pid. */
static int pin_new(const struct initpin_cache *pc, const struct container *c,
		   struct initpin **out, char *err, size_t errlen)
{
	struct initpin *pin = calloc(1, sizeof(*pin));
	int rc;

	if (!pin) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pin->cgroup2_fd = -1;
	pin->pid = c->pid;
	pin->start_time = c->start_time;
	pin->id = strdup(c->id);
	pin->pidfd = pin->id ? syscall(SYS_pidfd_open, c->pid, 0) : -1;
	if (!pin->id) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out_free;
	}
	if (pin->pidfd < 0) {
		rc = -errno;
		if (rc == -ESRCH) {
			snprintf(err, errlen, "container %s is gone", c->id);
			rc = -ENOENT;
		} else {
			snprintf(err, errlen, "pidfd_open %d: %s", (int)c->pid,
				 strerror(-rc));
		}
		goto out_free;
	}
	rc = initpin_check(c, err, errlen);
	if (!rc)
		rc = ns_flags(pc, c->pid, &pin->nsflags, err, errlen);
	if (!rc)
		rc = open_cgroups(pin, c->cgroups, err, errlen);
	if (!rc)
		rc = initpin_check(c, err, errlen);
	if (rc < 0)
		goto out_free;
	*out = pin;
	return 0;

out_free:
	pin_free(pin);
	return rc;
}

/* Does the container's record still describe the pinned init? */
static bool pin_matches(const struct initpin *pin, const struct container *c)
{
	size_t i;

	if (pin->pid != c->pid || pin->start_time != c->start_time)
		return false;
	for (i = 0; i < pin->ncgroups; i++)
		if (!c->cgroups || !c->cgroups[i] ||
		    strcmp(c->cgroups[i], pin->cgroups[i]))
			return false;
	return i == INITPIN_MAX_CGROUPS || !c->cgroups || !c->cgroups[i];
}

void initpin_cache_prune(struct initpin_cache *pc)
{
	struct pollfd pfds[INITPIN_CACHE_MAX];
	size_t i;

	for (i = 0; i < pc->npins; i++) {
		pfds[i].fd = pc->pins[i]->pidfd;
		pfds[i].events = POLLIN;
		pfds[i].revents = 0;
	}
	if (!pc->npins || poll(pfds, pc->npins, 0) <= 0)
		return;
	for (i = pc->npins; i-- > 0;)
		if (pfds[i].revents)
			cache_remove(pc, i);
}

int initpin_get(struct initpin_cache *pc, const struct container *c,
		const struct initpin **out, char *err, size_t errlen)
{
	struct initpin *pin = NULL;
	size_t i;
	int rc;

	initpin_cache_prune(pc);
	for (i = 0; i < pc->npins; i++)
		if (!strcmp(pc->pins[i]->id, c->id))
			break;
	if (i < pc->npins && !pin_matches(pc->pins[i], c)) {
		cache_remove(pc, i); /* another init under the same id */
		i = pc->npins;
	}
	if (i < pc->npins) {
		/* The pidfd names that process for good; the check says it
		 * has not become a zombie since the prune. */
		rc = initpin_check(c, err, errlen);
		if (rc < 0) {
			cache_remove(pc, i);
			return rc;
		}
		pin = pc->pins[i];
		cache_front(pc, i, pin);
		*out = pin;
		return 0;
	}

	rc = pin_new(pc, c, &pin, err, errlen);
	if (rc < 0)
		return rc;
	if (pc->npins == INITPIN_CACHE_MAX)
		cache_remove(pc, pc->npins - 1);
	cache_front(pc, pc->npins++, pin);
	*out = pin;
	return 0;
}

void initpin_drop(struct initpin_cache *pc, const struct initpin *pin)
{
	size_t i;

	for (i = 0; i < pc->npins; i++)
		if (pc->pins[i] == pin) {
			cache_remove(pc, i);
			return;
		}
}

void initpin_forget(struct initpin_cache *pc, const char *id)
{
	size_t i;

	for (i = 0; i < pc->npins; i++)
		if (!strcmp(pc->pins[i]->id, id)) {
			cache_remove(pc, i);
			return;
		}
}
