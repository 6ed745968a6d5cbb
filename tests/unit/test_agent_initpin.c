/*
 * Unit tests for agent/initpin.c: a pinned init is kept and handed out
 * again while its record agrees and it lives; a record that changed (a
 * replaced init under the same id, other cgroups), an init that exited and
 * a dropped entry are looked at anew. The "containers" are the test
 * process and children of it (same namespaces: no flags), with cgroup
 * directories that do not exist to see a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "initpin.h"
#include "inventory.h"
#include "procstat.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void as_container(struct container *c, const char *id, pid_t pid)
{
	char st;

	memset(c, 0, sizeof(*c));
	c->id = (char *)id;
	c->state = CONTAINER_RUNNING;
	c->pid = pid;
	assert_int_equal(proc_stat_read(pid, &st, &c->start_time), 0);
}

static void test_kept_while_it_agrees(void **state)
{
	struct initpin_cache *pc = initpin_cache_new();
	const struct initpin *a, *b;
	struct container c;
	char err[256];

	(void)state;
	assert_non_null(pc);
	as_container(&c, "self", getpid());
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), 0);
	assert_true(a->pidfd >= 0);
	assert_int_equal(a->nsflags, 0); /* our own namespaces */
	assert_int_equal(a->ncgroups, 0);
	assert_int_equal(initpin_get(pc, &c, &b, err, sizeof(err)), 0);
	assert_ptr_equal(a, b);

	/* Dropped: pinned anew. */
	initpin_drop(pc, b);
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), 0);
	assert_true(a->pidfd >= 0);

	/* Another start time under the same id: not that init. */
	c.start_time++;
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "container self is gone");
	c.start_time--;
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), 0);
	initpin_cache_free(pc);
	initpin_cache_free(NULL);
}

static void test_cgroups(void **state)
{
	struct initpin_cache *pc = initpin_cache_new();
	char *none[] = { "/nonexistent/execfs-test", NULL };
	const struct initpin *a;
	struct container c;
	char err[256];

	(void)state;
	as_container(&c, "self", getpid());
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), 0);
	/* The record now names a cgroup the cached entry does not have. */
	c.cgroups = none;
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cgroup /nonexistent/execfs-test: "
				 "No such file or directory");
	initpin_cache_free(pc);
}

static void test_exited_init(void **state)
{
	struct initpin_cache *pc = initpin_cache_new();
	const struct initpin *a;
	struct container c;
	char err[256];
	int fds[2];
	pid_t pid;
	char ch;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &ch, 1) < 0) {
			/* the end of the test */
		}
		_exit(0);
	}
	close(fds[0]);
	as_container(&c, "child", pid);
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), 0);
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), 0);
	close(fds[1]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	/* Its pidfd polls readable: pruned (here or by the get), and
	 * pinning anew fails. */
	initpin_cache_prune(pc);
	assert_int_equal(initpin_get(pc, &c, &a, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "container child is gone");
	initpin_cache_free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_while_it_agrees),
		cmocka_unit_test(test_cgroups),
		cmocka_unit_test(test_exited_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
