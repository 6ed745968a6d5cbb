/*
 * stallfs: a FUSE file system of one file whose reads wait until the test
 * lets them go, so an integration test can hold a process that reads it
 * (the agent's entering process reading a container's /etc/passwd) for as
 * long as it likes, without timing.
 *
 *   stallfs CONTENT CONTROL MOUNTPOINT
 *
 * serves CONTENT's bytes as MOUNTPOINT/file (a regular file, mode 0644).
 * A test steers it through the FIFO CONTROL (opened read-write, so it
 * never sees EOF): the byte 'h' holds every read of the file that comes
 * after it, 'r' lets them go (the held one, and those after it). A read
 * takes what was written before it first, so "write h, then start what
 * reads" holds that read. Runs in the foreground, single-threaded (a held
 * read holds every request), until unmounted (fusermount3 -u) or its
 * connection is aborted.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *content;
static size_t content_len;
static int control = -1;
static bool held;

/* Take the control bytes written so far; while held, wait for more. */
static int control_take(void)
{
	struct pollfd pfd = { .events = POLLIN };
	char c;
	ssize_t n;

	for (;;) {
		n = read(control, &c, 1);
		if (n == 1) {
			held = c == 'h' ? true : c == 'r' ? false : held;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -EIO;
		if (!held)
			return 0;
		pfd.fd = control;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -EIO;
	}
}

static int sf_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/file"))
		return -ENOENT;
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = (off_t)content_len;
	return 0;
}

static int sf_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "file", NULL, 0, 0);
	return 0;
}

static int sf_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/file"))
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	fi->direct_io = 1; /* every read comes here */
	return 0;
}

static int sf_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	if (control_take() < 0)
		return -EIO;
	if ((size_t)off >= content_len)
		return 0;
	if (size > content_len - (size_t)off)
		size = content_len - (size_t)off;
	memcpy(buf, content + off, size);
	return (int)size;
}

static const struct fuse_operations ops = {
	.getattr = sf_getattr,
	.readdir = sf_readdir,
	.open = sf_open,
	.read = sf_read,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0],
			  "-f",
			  "-s",
			  "-o",
			  "fsname=stallfs",
			  argc == 4 ? argv[3] : NULL,
			  NULL };
	FILE *f;
	long len;

	if (argc != 4) {
		fprintf(stderr, "usage: stallfs CONTENT CONTROL MOUNTPOINT\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		perror(argv[1]);
		return 1;
	}
	content_len = (size_t)len;
	content = malloc(content_len + 1);
	if (!content || fread(content, 1, content_len, f) != content_len) {
		perror(argv[1]);
		return 1;
	}
	fclose(f);
	control = open(argv[2], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (control < 0) {
		perror(argv[2]);
		return 1;
	}
	return fuse_main(6, fargv, &ops, NULL);
}
