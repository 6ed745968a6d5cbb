/*
 * Reading what /proc says about one process: its state and start time (the
 * pair that tells a container's init from a later process that reused its
 * pid), and, for containers whose OCI config is gone, the credentials and
 * environment the init runs with. Shared by the inventory and the spawner.
 */
#ifndef EXECFS_AGENT_PROCSTAT_H
#define EXECFS_AGENT_PROCSTAT_H

#include <stddef.h>
#include <sys/types.h>

/* Field 3 (state letter) and field 22 (start time, clock ticks after boot)
 * of /proc/PID/stat. -ENOENT when there is no such process. */
int proc_stat_read(pid_t pid, char *state, unsigned long long *start);

/* Fields 5 and 6 of /proc/PID/stat: its process group and session, as
 * the agent's pid namespace numbers them. -ENOENT when there is no such
 * process. */
int proc_stat_ids(pid_t pid, pid_t *pgrp, pid_t *session);

/* The real uid and gid and the supplementary groups of PID, from
 * /proc/PID/status. *groups is malloc'ed (NULL when there are none). */
int proc_status_creds(pid_t pid, uid_t *uid, gid_t *gid, gid_t **groups,
		      size_t *ngroups);

/* PID's initial environment (/proc/PID/environ) as a malloc'ed
 * NULL-terminated list of malloc'ed "NAME=VALUE" strings. */
int proc_environ_read(pid_t pid, char ***env);

#endif
