/*
 * The node itself as an entry of the inventory (execfs-agent --host-exec):
 * a pseudo-container with the reserved id EXECFS_HOST_ID whose "init" is
 * pid 1 as the agent sees it. A start there goes through the same path as
 * any container's: it joins the namespaces of that init that are not the
 * agent's (with hostPID, pid 1 is the host's init: a DaemonSet agent in a
 * mount namespace of its own lands in the host's) and its cgroups (the
 * root of every v1 hierarchy, /init.scope under systemd on v2: neither the
 * agent's unit nor its pod, whose limits and lifetime a node shell should
 * not share). It has no confinement: no capability set (root keeps its
 * own), no seccomp profile, no rlimits, no LSM label; root by default, or
 * the requested user from the host's /etc/passwd. Who may start one is
 * the policy's exec_node (policy.h).
 */
#ifndef EXECFS_AGENT_HOSTENTRY_H
#define EXECFS_AGENT_HOSTENTRY_H

#include "ocistate.h"

#include <sys/types.h>

/* The init the node's entry follows: the host's, with hostPID. */
#define HOST_ENTRY_INIT 1

/*
 * Fill rec (zeroed by the caller) with the node's entry, following init:
 * its start time and cgroups as /proc shows them now. 0, or -errno (the
 * init cannot be looked at, -ENOMEM) with rec holding nothing to release.
 */
int host_entry_load(struct oci_record *rec, pid_t init);

/* Running while init is the process host_entry_load saw, else stopped. */
enum container_state host_entry_state(const struct oci_record *rec);

#endif
