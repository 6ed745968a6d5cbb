/*
 * Is a container "privileged", in the sense a host admin means: can what
 * runs in it reach the host? Decided from the runtime's own record of the
 * container's config (runc's state.json `config`, or an OCI config.json
 * the runtime keeps), and answered with the criterion that matched, so the
 * container list and a refusal can say why. The criteria, tried in this
 * order:
 *   1. it shares one of the host's mount, pid, ipc, network or uts
 *      namespaces: the config does not ask for a new one, or joins one by
 *      a path that is the host's;
 *   2. its config restricts no capability (runc then leaves the
 *      runtime's own, a full root);
 *   3. it has, in any of its capability sets, CAP_SYS_ADMIN,
 *      CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_DAC_READ_SEARCH,
 *      CAP_BPF, CAP_PERFMON or CAP_SYS_BOOT;
 *   4. a device cgroup rule allows reading or writing every device, or
 *      every block or character device (type a, b or c, any major, any
 *      minor), as `docker run --privileged` asks;
 *   5. it bind-mounts the host's root directory (a source that is the
 *      host's / by its device and inode, or spelled "/").
 * A container in a user namespace is judged the same way: the issue is
 * what the config grants, which a policy reads without knowing the maps.
 */
#ifndef EXECFS_AGENT_PRIVILEGED_H
#define EXECFS_AGENT_PRIVILEGED_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

enum privileged_ns {
	PRIV_NS_MNT,
	PRIV_NS_PID,
	PRIV_NS_IPC,
	PRIV_NS_NET,
	PRIV_NS_UTS,
	PRIV_NS_COUNT,
};

/* The host's namespaces and root directory, looked at once. */
struct privileged_host {
	bool ns_known[PRIV_NS_COUNT];
	dev_t ns_dev[PRIV_NS_COUNT];
	ino_t ns_ino[PRIV_NS_COUNT];
	bool root_known;
	dev_t root_dev;
	ino_t root_ino;
};

/* From /proc/1/ns (the host's when the agent sees the host's pids;
 * /proc/self/ns when it may not look) and "/". */
void privileged_host_init(struct privileged_host *h);

/*
 * NULL when the container is not privileged, else a static sentence that
 * names the first criterion it meets ("shares the host's pid namespace",
 * "has CAP_SYS_ADMIN", ...). config: state.json's "config" object
 * (libcontainer) or an OCI config.json's root object. A value of the wrong
 * type counts as the safe reading (a capabilities entry that is not an
 * object restricts nothing, so it is privileged).
 */
const char *privileged_from_runc(const json_t *config,
				 const struct privileged_host *h);
const char *privileged_from_oci(const json_t *config,
				const struct privileged_host *h);

#endif
