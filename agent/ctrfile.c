/*
 * A container's files, opened from inside it (see ctrfile.h). Only raw
 * system calls and string functions: this runs between fork and execve.
 */
#include "ctrfile.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int ctrfile_root_open(struct ctrfile_root *r)
{
	struct statfs fs;
	int rc;

	r->procfd = -1;
	r->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->rootfd < 0)
		return -errno;
	/* O_NOFOLLOW: /proc itself is no symlink to somewhere else. */
	r->procfd =
		open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->procfd < 0) {
		rc = errno == ENOENT || errno == ENOTDIR || errno == ELOOP ?
			     -ENOTSUP :
			     -errno;
		goto out_close;
	}
	if (fstatfs(r->procfd, &fs) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (fs.f_type != PROC_SUPER_MAGIC) {
		rc = -ENOTSUP;
		goto out_close;
	}
	return 0;

out_close:
	ctrfile_root_close(r);
	return rc;
}

void ctrfile_root_close(struct ctrfile_root *r)
{
	if (r->rootfd >= 0)
		close(r->rootfd);
	if (r->procfd >= 0)
		close(r->procfd);
	r->rootfd = r->procfd = -1;
}

/* O_PATH of path under the root: openat2 where the kernel has it. */
static int open_path(const struct ctrfile_root *r, const char *path)
{
	struct open_how how;
	int fd;

	while (*path == '/')
		path++;
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, r->rootfd, path, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != E2BIG))
		return fd < 0 ? -errno : fd;
	/* Before 5.6: our root is the container's, so symlinks stay in
	 * it; a magic link could only name one of our own fds, which are
	 * pipes and sockets and fail the type check. */
	fd = openat(r->rootfd, path, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static bool kind_ok(const struct stat *st, enum ctrfile_kind kind)
{
	switch (kind) {
	case CTRFILE_REGULAR:
		return S_ISREG(st->st_mode);
	case CTRFILE_PTMX:
		return S_ISCHR(st->st_mode) &&
		       major(st->st_rdev) == CTRFILE_PTMX_MAJOR &&
		       minor(st->st_rdev) == CTRFILE_PTMX_MINOR;
	}
	return false;
}

/* "self/fd/N" without snprintf. */
static void fd_link(char *buf, int fd)
{
	char digits[12];
	size_t n = 0, i;

	do {
		digits[n++] = '0' + fd % 10;
		fd /= 10;
	} while (fd && n < sizeof(digits));
	memcpy(buf, "self/fd/", 8);
	for (i = 0; i < n; i++)
		buf[8 + i] = digits[n - 1 - i];
	buf[8 + n] = '\0';
}

int ctrfile_open(const struct ctrfile_root *r, const char *path, int flags,
		 enum ctrfile_kind kind, struct stat *st)
{
	struct stat want, got;
	char link[24];
	int pfd, fd = -1, rc;

	pfd = open_path(r, path);
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &want) < 0) {
		rc = -errno;
		goto out;
	}
	if (!kind_ok(&want, kind)) {
		rc = -EINVAL;
		goto out;
	}
	fd_link(link, pfd);
	fd = openat(r->procfd, link, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(fd, &got) < 0) {
		rc = -errno;
		goto out;
	}
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino ||
	    !kind_ok(&got, kind)) {
		rc = -EXDEV;
		goto out;
	}
	if (st)
		*st = got;
	rc = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return rc;
}

long ctrfile_read(int fd, char *buf, size_t cap)
{
	size_t used = 0;
	ssize_t n;

	if (cap == 0)
		return -EFBIG;
	for (;;) {
		if (used == cap - 1) {
			/* Full: one more byte says whether it is too big. */
			char extra;

			do
				n = read(fd, &extra, 1);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return -errno;
			if (n > 0)
				return -EFBIG;
			break;
		}
		n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		used += n;
	}
	buf[used] = '\0';
	return (long)used;
}
