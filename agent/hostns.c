/*
 * Joining the host's cgroup namespace at start (see hostns.h).
 */
#include "hostns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The inode of the kernel's initial cgroup namespace, fixed
 * (PROC_CGROUP_INIT_INO in <linux/proc_ns.h>). */
#define HOSTNS_CGROUP_INIT_INO 0xEFFFFFFBU

int hostns_join_cgroup(const char *ns, char *err, size_t errlen)
{
	struct stat self, init;
	int fd, rc = 1;

	if (stat("/proc/self/ns/cgroup", &self) < 0)
		return 0; /* a kernel without cgroup namespaces */
	/* Already at the top: nothing above to join (and a pid 1 that we
	 * may not look at need not be asked). */
	if (self.st_ino == HOSTNS_CGROUP_INIT_INO)
		return 0;
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &init) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", ns, strerror(-rc));
		goto out;
	}
	if (self.st_dev == init.st_dev && self.st_ino == init.st_ino) {
		rc = 0;
		goto out;
	}
	if (setns(fd, CLONE_NEWCGROUP) < 0) {
		rc = -errno;
		snprintf(err, errlen, "setns to %s: %s", ns, strerror(-rc));
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
