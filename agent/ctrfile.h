/*
 * Opening a file of a container from inside it, without letting the
 * container choose what is opened. The caller is the process entering the
 * container (spawn_child.c), after it joined the container's mount
 * namespace and cgroups, so its root is the container's and what it opens
 * is subject to the container's device cgroup; and it runs between fork
 * and execve: everything here is raw system calls, no allocation.
 *
 * An open of a path the container controls could otherwise land on a
 * FIFO (releasing a writer the container left waiting, or blocking
 * forever), a socket, or a device node (a driver's open has side effects).
 * So a path is first opened with O_PATH, which opens nothing (no FIFO
 * wait, no driver call), resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) where the kernel has it (no /proc/.../fd/N or
 * /proc/N/root link can lead to one of the host's files); its type is
 * checked with fstat; then the same inode is opened for real through the
 * container's procfs (/proc/self/fd/N, checked to be a procfs), and the
 * result is checked to be that inode.
 */
#ifndef EXECFS_AGENT_CTRFILE_H
#define EXECFS_AGENT_CTRFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Every devpts instance's multiplexer is this character device. */
#define CTRFILE_PTMX_MAJOR 5
#define CTRFILE_PTMX_MINOR 2

enum ctrfile_kind {
	CTRFILE_REGULAR, /* S_ISREG */
	CTRFILE_PTMX, /* S_ISCHR, major 5, minor 2 */
};

/* The caller's root and procfs, opened once for several files. */
struct ctrfile_root {
	int rootfd; /* "/", O_PATH */
	int procfd; /* "/proc", O_PATH, a procfs (statfs checked) */
};

/*
 * Open "/" and "/proc" of the caller's mount namespace. 0, -ENOTSUP when
 * /proc is missing or not a procfs (nothing could be reopened safely), or
 * another -errno. Both fds are -1 on failure.
 */
int ctrfile_root_open(struct ctrfile_root *r);
void ctrfile_root_close(struct ctrfile_root *r);

/*
 * Open path (absolute, inside the root) if it is of the kind asked for,
 * with flags (O_CLOEXEC and O_NOCTTY are added). The fd, or -ENOENT (no
 * such file), -EINVAL (it is not of that kind: a FIFO, socket, device or
 * directory), -EXDEV (the reopen found another inode: the container swapped
 * it), or another -errno of the opens. st (may be NULL) receives the fstat
 * of the opened file.
 */
int ctrfile_open(const struct ctrfile_root *r, const char *path, int flags,
		 enum ctrfile_kind kind, struct stat *st);

/*
 * Read the regular file fd whole into buf (cap bytes; NUL-terminated, so
 * at most cap - 1 bytes of content): the length, or -EFBIG when it holds
 * more, or -errno.
 */
long ctrfile_read(int fd, char *buf, size_t cap);

#endif
