/*
 * Unit tests for agent/spawn_report.c's ids report: what process B sends
 * once its user is resolved (uid, gid, supplementary groups) is read back
 * whole by the holder of report_fd, only from the process the start made
 * (the kernel's SCM_CREDENTIALS say who sent it), only once, and never
 * when cut or over its bounds; a failure after it is still the start's
 * outcome, and EOF (execve) success only after B's ids: before them, EOF is
 * B's death before its execve (a signal), a failed start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spawn_internal.h"
#include "spawn_report.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A report socket as spawn_plan.c makes it: the reader's end passes
 * credentials. p[0] reads, p[1] is B's. */
static void report_pair(int p[2])
{
	int on = 1;

	assert_int_equal(
		socketpair(AF_UNIX,
			   SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p),
		0);
	assert_int_equal(
		setsockopt(p[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
}

static void test_ids_read(void **state)
{
	const gid_t groups[] = { 10, 20, 4242 };
	const gid_t other[] = { 0 };
	struct spawn_ids ids = { 0 };
	char err[256];
	int p[2];

	(void)state;
	report_pair(p);
	spawn_ids_send(p[1], 1000, 1001, groups, 3);
	/* A second report (a process that got B's end) changes nothing. */
	spawn_ids_send(p[1], 0, 0, other, 1);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EAGAIN);
	assert_true(ids.known);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.gid, 1001);
	assert_int_equal(ids.ngroups, 3);
	assert_int_equal(ids.groups[2], 4242);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EAGAIN);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.ngroups, 3);
	close(p[1]);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 0);
	close(p[0]);
}

/* Ids sent by another process than the one the start made are not B's. */
static void test_ids_other_sender(void **state)
{
	const gid_t groups[] = { 5 };
	struct spawn_ids ids = { 0 };
	char err[256];
	pid_t child;
	int p[2], st;

	(void)state;
	report_pair(p);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		spawn_ids_send(p[1], 0, 0, groups, 1);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EAGAIN);
	assert_false(ids.known);
	/* The old reader takes it as a report that decides nothing. */
	spawn_ids_send(p[1], 0, 0, groups, 1);
	assert_int_equal(spawn_report_read(p[0], err, sizeof(err)), -EAGAIN);
	close(p[1]);
	close(p[0]);
}

static void test_ids_malformed(void **state)
{
	struct spawn_ids_msg m;
	struct spawn_ids ids = { 0 };
	char err[256];
	int p[2];

	(void)state;
	report_pair(p);
	memset(&m, 0, sizeof(m));
	m.hdr.magic = SPAWN_MSG_MAGIC;
	m.hdr.type = SPAWN_MSG_IDS;
	m.ngroups = USERDB_MAX_GROUPS + 1;
	/* Too many groups: not taken. */
	assert_int_equal(send(p[1], &m, sizeof(m), 0), (ssize_t)sizeof(m));
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EAGAIN);
	assert_false(ids.known);
	/* Cut short: not taken either. */
	m.ngroups = 1;
	assert_int_equal(send(p[1], &m, sizeof(m) - 4, 0),
			 (ssize_t)sizeof(m) - 4);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EAGAIN);
	assert_false(ids.known);
	/* Shorter than any report: malformed. */
	assert_int_equal(send(p[1], &m, 8, 0), 8);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EIO);
	/* A failure after the ids is the start's outcome. */
	spawn_ids_send(p[1], 7, 7, NULL, 0);
	spawn_msg_send(p[1], SPAWN_MSG_ERROR, STAGE_EXEC, ENOENT, "nosuch", 0,
		       -1);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -EAGAIN);
	assert_true(ids.known);
	assert_int_equal(ids.ngroups, 0);
	assert_int_equal(spawn_report_read_ids(p[0], getpid(), &ids, err,
					       sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "nosuch"));
	close(p[1]);
	close(p[0]);
}

/* B dies by a signal before its execve (before its ids): the report ends
 * as after an execve, and that is a failed start, not a successful one. */
static void test_death_before_ids(void **state)
{
	struct spawn_ids ids = { 0 };
	int p[2], st;
	char err[256];
	pid_t child;

	(void)state;
	report_pair(p);
	if ((child = fork()) == 0) {
		close(p[0]);
		signal(SIGSEGV, SIG_DFL); /* cmocka catches it */
		raise(SIGSEGV);
		_exit(0);
	}
	assert_true(child > 0);
	close(p[1]);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(spawn_report_read_ids(p[0], child, &ids, err,
					       sizeof(err)),
			 -ECHILD);
	assert_non_null(strstr(err, "died before its execve"));
	assert_false(ids.known);
	close(p[0]);
}

/* Ids from another sender do not count: the end is still B's death. */
static void test_death_after_foreign_ids(void **state)
{
	struct spawn_ids ids = { 0 };
	char err[256];
	int p[2];

	(void)state;
	report_pair(p);
	spawn_ids_send(p[1], 0, 0, NULL, 0); /* from us, not from pid 1 */
	close(p[1]);
	assert_int_equal(spawn_report_read_ids(p[0], 1, &ids, err, sizeof(err)),
			 -EAGAIN);
	assert_int_equal(spawn_report_read_ids(p[0], 1, &ids, err, sizeof(err)),
			 -ECHILD);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_read),
		cmocka_unit_test(test_ids_other_sender),
		cmocka_unit_test(test_ids_malformed),
		cmocka_unit_test(test_death_before_ids),
		cmocka_unit_test(test_death_after_foreign_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
