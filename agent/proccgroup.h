/*
 * The cgroups a live process is in, as directories under the agent's own
 * cgroup mounts: for each line of /proc/PID/cgroup, the v1 hierarchy whose
 * mount carries exactly those controllers (or the cgroup2 mount for "0::"),
 * joined with the line's path. It is how the agent learns the cgroups of a
 * runtime that records them in its own notation (crun's cgroup-path is
 * relative and, under systemd, a "slice:prefix:name" triple): the init's
 * own view is exact whatever the notation, the cgroup version or a hybrid
 * layout.
 */
#ifndef EXECFS_AGENT_PROCCGROUP_H
#define EXECFS_AGENT_PROCCGROUP_H

#include <stddef.h>
#include <sys/types.h>

/* At most this many directories (one per hierarchy). */
#define PROC_CGROUP_MAX 64

/*
 * The existing cgroup directories of pid, as a malloc'ed NULL-terminated
 * list of malloc'ed paths, v1 hierarchies first in /proc/PID/cgroup order,
 * then the v2 one. *freezer_v1 / *freezer_v2 (malloc'ed, NULL when none)
 * are its v1 freezer.state file and v2 cgroup.freeze file. -ENOENT when
 * the process is gone, -ENOMEM.
 */
int proc_cgroup_dirs(pid_t pid, char ***dirs, char **freezer_v1,
		     char **freezer_v2);

/*
 * The same from the texts of /proc/PID/cgroup and /proc/self/mountinfo
 * (the parser, apart for tests and fuzzing); directories are not checked
 * for existence when check_exists is 0.
 */
int proc_cgroup_dirs_parse(const char *cgroup, const char *mountinfo,
			   int check_exists, char ***dirs, char **freezer_v1,
			   char **freezer_v2);

#endif
