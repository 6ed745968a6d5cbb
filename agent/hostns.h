/*
 * The agent in a pod of its own (a DaemonSet's pod, with hostPID): it may
 * start in a cgroup namespace of its own. On cgroup v2 with nsdelegate
 * the kernel refuses to move a process, or to clone it into a cgroup
 * (CLONE_INTO_CGROUP), unless both the cgroup it leaves and the one it
 * joins are visible from the mover's cgroup namespace, so from the pod's
 * a session's process could never be placed in its container's cgroup;
 * and /proc/PID/cgroup would show paths relative to the pod's cgroup. So
 * the monitor joins the host's cgroup namespace once at start, as
 * Cilium's init step does, before it looks at any namespace or cgroup:
 * by default pid 1's (the host's, with hostPID), or the one --host-cgroupns
 * names. Everything it starts inherits that namespace until it joins the
 * container's.
 */
#ifndef EXECFS_AGENT_HOSTNS_H
#define EXECFS_AGENT_HOSTNS_H

#include <stddef.h>

/*
 * Join the cgroup namespace file ns (e.g. /proc/1/ns/cgroup) names, unless
 * ours is it or is the kernel's initial one. 0: nothing to do (or a kernel
 * without cgroup namespaces); 1: joined; -errno with the reason in err
 * (not a cgroup namespace, no CAP_SYS_ADMIN over it: the agent goes on in
 * its own namespace).
 */
int hostns_join_cgroup(const char *ns, char *err, size_t errlen);

#endif
