/*
 * Reading a small file whole, with a size cap, without following a FIFO or
 * a device into a blocking open: the agent reads runtime state files and
 * /proc files that other processes may replace at any moment.
 */
#ifndef EXECFS_AGENT_READFILE_H
#define EXECFS_AGENT_READFILE_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Read path (relative to dirfd, or absolute) into a malloc'ed buffer with a
 * terminating NUL (*len excludes it). Fails with -EFBIG beyond max bytes,
 * -EINVAL if it is not a regular file. st (may be NULL) receives the
 * fstat of the file that was read, so callers can tell a rewrite later.
 */
int read_file_at(int dirfd, const char *path, size_t max, char **buf,
		 size_t *len, struct stat *st);

/*
 * The same for a file of another root (a container's, through
 * /proc/PID/root): path is resolved with openat2(RESOLVE_IN_ROOT), so no
 * symlink in it can lead outside rootfd.
 */
int read_file_in_root(int rootfd, const char *path, size_t max, char **buf,
		      size_t *len);

#endif
