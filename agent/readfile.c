/*
 * Whole-file reads with a cap (see readfile.h). O_NONBLOCK keeps an open of
 * a FIFO planted where a state file should be (runc's own exec.fifo lives
 * next to state.json) from blocking the agent's loop; the S_ISREG check then
 * refuses it.
 */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define READ_FILE_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Read the open file fd whole (see read_file_at); closes fd. */
static int read_file_fd(int fd, size_t max, char **buf, size_t *len,
			struct stat *st)
{
	struct stat sb;
	size_t used = 0, cap;
	char *data, *bigger;
	ssize_t n;
	int rc;

	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if ((unsigned long long)sb.st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	/* /proc files say st_size 0: start small and grow up to max. */
	cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	data = malloc(cap + 1);
	if (!data) {
		rc = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		if (used == cap) {
			if (cap > max) {
				rc = -EFBIG;
				goto out_free;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			bigger = realloc(data, cap + 1);
			if (!bigger) {
				rc = -ENOMEM;
				goto out_free;
			}
			data = bigger;
		}
		n = read(fd, data + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		used += n;
	}
	if (used > max) {
		rc = -EFBIG;
		goto out_free;
	}
	data[used] = '\0';
	*buf = data;
	if (len)
		*len = used;
	if (st)
		*st = sb;
	close(fd);
	return 0;

out_free:
	free(data);
out_close:
	close(fd);
	return rc;
}

int read_file_at(int dirfd, const char *path, size_t max, char **buf,
		 size_t *len, struct stat *st)
{
	int fd = openat(dirfd, path, READ_FILE_FLAGS);

	if (fd < 0)
		return -errno;
	return read_file_fd(fd, max, buf, len, st);
}

int read_file_in_root(int rootfd, const char *path, size_t max, char **buf,
		      size_t *len)
{
	/* Symlinks ("..", absolute targets) resolve as if rootfd were "/",
	 * and /proc magic links are refused: a file planted in a container
	 * cannot make the agent read one of the host's. */
	struct open_how how = {
		.flags = READ_FILE_FLAGS,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	if (fd < 0)
		return -errno;
	return read_file_fd(fd, max, buf, len, NULL);
}
