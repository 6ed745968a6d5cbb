/*
 * Unit tests for agent/ctrfile.c, with a temporary directory as the
 * container's root: a regular file is read; a FIFO is refused without
 * being opened (a writer waiting on it stays blocked, and the call does
 * not block either); a symlink pointing "out" resolves inside the root; a
 * magic link is refused; the ptmx check; the size cap. As root, a device
 * node is refused too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctrfile.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	struct ctrfile_root root;
};

static void put(const struct fixture *f, const char *name, const char *text)
{
	char path[256];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/execfs-ctrfile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/etc", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	f->root.rootfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	f->root.procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->root.rootfd >= 0 && f->root.procfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	ctrfile_root_close(&f->root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_regular(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	int fd;

	put(*state, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	fd = ctrfile_open(&f->root, "/etc/passwd", O_RDONLY, CTRFILE_REGULAR,
			  NULL);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(ctrfile_read(fd, buf, sizeof(buf)), 26);
	assert_string_equal(buf, "root:x:0:0::/root:/bin/sh\n");
	close(fd);

	/* One byte over the cap is too big; exactly the cap is fine. */
	fd = ctrfile_open(&f->root, "etc/passwd", O_RDONLY, CTRFILE_REGULAR,
			  NULL);
	assert_int_equal(ctrfile_read(fd, buf, 26), -EFBIG);
	close(fd);
	fd = ctrfile_open(&f->root, "etc/passwd", O_RDONLY, CTRFILE_REGULAR,
			  NULL);
	assert_int_equal(ctrfile_read(fd, buf, 27), 26);
	close(fd);

	assert_int_equal(ctrfile_open(&f->root, "/etc/group", O_RDONLY,
				      CTRFILE_REGULAR, NULL),
			 -ENOENT);
	/* A directory, or a regular file where the ptmx should be. */
	assert_int_equal(ctrfile_open(&f->root, "/etc", O_RDONLY,
				      CTRFILE_REGULAR, NULL),
			 -EINVAL);
	assert_int_equal(ctrfile_open(&f->root, "/etc/passwd", O_RDWR,
				      CTRFILE_PTMX, NULL),
			 -EINVAL);
}

/* Whether pid sleeps in a FIFO's open, waiting for a reader. An open
 * for reading wakes it (it is runnable before it ever runs again), so
 * this is no longer true the moment one happened. */
static bool waits_for_reader(pid_t pid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strcmp(buf, "wait_for_partner");
}

/* A FIFO with a writer waiting: the writer must stay blocked. */
static void test_fifo(void **state)
{
	struct fixture *f = *state;
	char path[256];
	pid_t writer;
	int i;

	snprintf(path, sizeof(path), "%s/etc/group", f->dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		int fd = open(path, O_WRONLY); /* blocks for a reader */

		_exit(fd >= 0 ? 0 : 1);
	}
	for (i = 0; i < 3000 && !waits_for_reader(writer); i++)
		usleep(10 * 1000);
	assert_true(waits_for_reader(writer));
	assert_int_equal(ctrfile_open(&f->root, "/etc/group", O_RDONLY,
				      CTRFILE_REGULAR, NULL),
			 -EINVAL);
	assert_int_equal(ctrfile_open(&f->root, "/etc/group",
				      O_RDONLY | O_NONBLOCK, CTRFILE_REGULAR,
				      NULL),
			 -EINVAL);
	assert_true(waits_for_reader(writer));
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
}

static void test_links(void **state)
{
	struct fixture *f = *state;
	char path[256], target[64];
	int fd;

	/* "Out" of the root is the root: this finds the root's own file,
	 * never the host's /etc/passwd. */
	put(*state, "etc/real", "in the root\n");
	snprintf(path, sizeof(path), "%s/etc/passwd", f->dir);
	assert_int_equal(symlink("../../../../../../etc/real", path), 0);
	fd = ctrfile_open(&f->root, "/etc/passwd", O_RDONLY, CTRFILE_REGULAR,
			  NULL);
	assert_true(fd >= 0);
	close(fd);

	/* A magic link to one of our own fds. */
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	snprintf(path, sizeof(path), "%s/etc/magic", f->dir);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/proc", f->dir);
	assert_int_equal(symlink("/proc", path), 0);
	assert_true(ctrfile_open(&f->root, "/etc/magic", O_RDONLY,
				 CTRFILE_REGULAR, NULL) < 0);
	close(fd);
}

static void test_ptmx(void **state)
{
	struct ctrfile_root host;
	struct stat st;
	int fd;

	/* The host's own root and procfs, as a process inside sees them. */
	assert_int_equal(ctrfile_root_open(&host), 0);
	fd = ctrfile_open(&host, "/dev/ptmx", O_RDWR | O_NONBLOCK, CTRFILE_PTMX,
			  &st);
	assert_true(fd >= 0);
	assert_int_equal(major(st.st_rdev), CTRFILE_PTMX_MAJOR);
	close(fd);
	assert_int_equal(ctrfile_open(&host, "/dev/null", O_RDWR, CTRFILE_PTMX,
				      NULL),
			 -EINVAL);
	ctrfile_root_close(&host);
}

static void test_device(void **state)
{
	struct fixture *f = *state;
	char path[256];

	if (geteuid() != 0)
		skip(); /* mknod */
	snprintf(path, sizeof(path), "%s/etc/passwd", f->dir);
	assert_int_equal(mknod(path, S_IFCHR | 0644, makedev(1, 3)), 0);
	assert_int_equal(ctrfile_open(&f->root, "/etc/passwd", O_RDONLY,
				      CTRFILE_REGULAR, NULL),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test(test_ptmx),
		cmocka_unit_test_setup_teardown(test_device, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
