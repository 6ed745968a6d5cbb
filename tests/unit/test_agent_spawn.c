/*
 * Unit tests for the spawner (agent/spawn*.c, spawner.c) that need no
 * container: the refusals made before any fork (container not running,
 * init gone or replaced, bad request), the report decoding, reaping
 * through a pidfd, and, when run as root, a whole spawn into a "container"
 * that is the test process itself (same namespaces, so nothing is joined),
 * which exercises helper A, CLONE_PARENT, the entry's READY, the user
 * lookup and HOME in B, PATH search, env, cwd and the failure reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inventory.h"
#include "procstat.h"
#include "exec_spec.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *self_env[] = { "PATH=/nonexistent:/usr/bin:/bin", "FOO=1", "BAR=2",
			    NULL };

/* A container whose init is the test process. */
static void self_container(struct container *c)
{
	char st;

	memset(c, 0, sizeof(*c));
	c->id = "self";
	c->state = CONTAINER_RUNNING;
	c->pid = getpid();
	assert_int_equal(proc_stat_read(c->pid, &st, &c->start_time), 0);
	c->env = self_env;
	c->cwd = "/";
	c->uid = getuid();
	c->gid = getgid();
}

static void test_refusals(void **state)
{
	struct spawner *sp = spawner_new(NULL);
	char *argv[] = { "true", NULL }, *bad_env[] = { "NOEQUALS", NULL };
	struct exec_spec req = { .argv = argv };
	struct spawn_entry *res = NULL;
	struct container c;
	char err[256];
	pid_t pid;

	assert_non_null(sp);
	self_container(&c);

	/* The pid is alive, but it is not the init runc recorded. */
	c.start_time++;
	assert_int_equal(spawn_start(sp, &c, &req, &res, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "container self is gone");

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	c.pid = pid;
	assert_int_equal(spawn_start(sp, &c, &req, &res, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "container self is gone");

	self_container(&c);
	req.env = bad_env;
	assert_int_equal(spawn_start(sp, &c, &req, &res, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "env NOEQUALS: not NAME=VALUE");

	req.env = NULL;
	req.user = "app:";
	assert_int_equal(spawn_start(sp, &c, &req, &res, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "user app:: not NAME, UID, NAME:GROUP or UID:GID");

	req.user = NULL;
	req.argv = NULL;
	assert_int_equal(spawn_start(sp, &c, &req, &res, err, sizeof(err)),
			 -EINVAL);
	assert_null(res);
	spawner_free(sp);
}

static void test_report_read(void **state)
{
	char err[128];
	int p[2];

	assert_int_equal(
		socketpair(AF_UNIX,
			   SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p),
		0);
	assert_int_equal(spawn_report_read(p[0], err, sizeof(err)), -EAGAIN);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(spawn_report_read(p[0], err, sizeof(err)), -EIO);
	close(p[1]);
	assert_int_equal(spawn_report_read(p[0], err, sizeof(err)), 0);
	close(p[0]);
}

static void wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 60000), 1);
}

static void test_reap(void **state)
{
	int pidfd, status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(3);
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	wait_readable(pidfd);
	assert_int_equal(spawn_reap(pidfd, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	close(pidfd);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	assert_int_equal(spawn_reap(pidfd, &status), -EAGAIN);
	kill(pid, SIGKILL);
	wait_readable(pidfd);
	assert_int_equal(spawn_reap(pidfd, &status), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	close(pidfd);
}

struct outcome {
	int rc, report, status;
	char err[256], rerr[256], out[4096], errout[4096];
};

/* spawn_start and the entry's steps until B said READY. */
static int start(struct spawner *sp, const struct container *c,
		 const struct exec_spec *req, struct spawn_result *res,
		 char *err, size_t errlen)
{
	struct spawn_entry *e;
	int rc;

	rc = spawn_start(sp, c, req, &e, err, errlen);
	while (rc == 0) {
		rc = spawn_entry_step(e, res, err, errlen);
		if (rc != -EAGAIN)
			break;
		wait_readable(spawn_entry_fd(e));
		rc = 0;
	}
	return rc;
}

/* Start argv in the self container and collect everything. */
static void run(struct spawner *sp, const struct container *c, char **argv,
		char **env, const char *cwd, const char *user,
		struct outcome *o)
{
	struct exec_spec req = { .argv = argv,
				 .env = env,
				 .cwd = (char *)cwd,
				 .user = (char *)user };
	struct spawn_result res;
	size_t nout = 0, nerr = 0;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	o->rc = start(sp, c, &req, &res, o->err, sizeof(o->err));
	if (o->rc < 0)
		return;
	assert_true(fcntl(res.stdout_fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(res.stdout_fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(res.report_fd, F_GETFL) & O_NONBLOCK);
	close(res.stdin_fd);
	do {
		wait_readable(res.report_fd);
		o->report = spawn_report_read(res.report_fd, o->rerr,
					      sizeof(o->rerr));
	} while (o->report == -EAGAIN);
	wait_readable(res.pidfd);
	assert_int_equal(spawn_reap(res.pidfd, &o->status), 0);
	/* It exited: the pipes hold all it wrote. */
	while ((n = read(res.stdout_fd, o->out + nout,
			 sizeof(o->out) - 1 - nout)) > 0)
		nout += n;
	while ((n = read(res.stderr_fd, o->errout + nerr,
			 sizeof(o->errout) - 1 - nerr)) > 0)
		nerr += n;
	close(res.stdout_fd);
	close(res.stderr_fd);
	close(res.report_fd);
	close(res.pidfd);
}

static void test_spawn_self(void **state)
{
	char *sh[] = { "sh", "-c",
		       "echo $FOO $BAR; pwd; echo err >&2; ls /proc/self/fd; "
		       "exit 5",
		       NULL };
	char *nosuch[] = { "nosuch-execfs", NULL };
	char *ls[] = { "ls", NULL };
	char *home[] = { "sh", "-c", "echo \"[$HOME]\"", NULL };
	char *sigign[] = { "grep", "SigIgn", "/proc/self/status", NULL };
	char *extra[] = { "BAR=3", "NEW=4", NULL };
	char *homeset[] = { "HOME=/set", NULL },
	     *homeempty[] = { "HOME=", NULL };
	struct spawner *sp;
	struct container c;
	struct outcome o;

	if (geteuid() != 0)
		skip(); /* setgroups needs CAP_SETGID */
	sp = spawner_new(NULL);
	assert_non_null(sp);
	self_container(&c);

	run(sp, &c, sh, extra, "/tmp", NULL, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.report, 0);
	assert_true(WIFEXITED(o.status));
	assert_int_equal(WEXITSTATUS(o.status), 5);
	/* env_extra overrides BAR; only 0-2 (and ls's own fd) are open. */
	assert_string_equal(o.out, "1 3\n/tmp\n0\n1\n2\n3\n");
	assert_string_equal(o.errout, "err\n");

	run(sp, &c, nosuch, NULL, NULL, NULL, &o);
	assert_true(o.rc == -ENOENT || o.report == -ENOENT);
	assert_string_equal(o.rc ? o.err : o.rerr,
			    "exec nosuch-execfs: No such file or directory");

	run(sp, &c, ls, NULL, "/nonexistent-execfs", NULL, &o);
	assert_true(o.rc == -ENOENT || o.report == -ENOENT);
	assert_string_equal(
		o.rc ? o.err : o.rerr,
		"cwd /nonexistent-execfs: No such file or directory");

	/* HOME as runc sets it: from the passwd entry of the uid (the
	 * test's own /etc/passwd here: root's is /root) when the env has
	 * none or an empty one, never over one it has. */
	run(sp, &c, home, NULL, NULL, NULL, &o);
	assert_int_equal(o.report, 0);
	assert_string_equal(o.out, "[/root]\n");
	run(sp, &c, home, homeempty, NULL, NULL, &o);
	assert_string_equal(o.out, "[/root]\n");
	run(sp, &c, home, homeset, NULL, NULL, &o);
	assert_string_equal(o.out, "[/set]\n");
	/* A user the files do not have fails in B, after READY. */
	run(sp, &c, home, NULL, NULL, "nosuch-execfs-user", &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.report, -EINVAL);
	assert_string_equal(
		o.rerr,
		"user nosuch-execfs-user: no such user in the container");
	run(sp, &c, home, NULL, NULL, "0:0", &o);
	assert_int_equal(o.report, 0);
	assert_string_equal(o.out, "[/root]\n");
	/* A signal we ignore (which execve would keep ignored) is back to
	 * its default in the process: B resets what is not SIG_DFL. */
	signal(SIGUSR2, SIG_IGN);
	run(sp, &c, sigign, NULL, NULL, NULL, &o);
	signal(SIGUSR2, SIG_DFL);
	assert_int_equal(o.report, 0);
	assert_string_equal(o.out, "SigIgn:\t0000000000000000\n");
	spawner_free(sp);
}

/* A start given up before it was handed over is killed, and the spawner
 * reaps everything it started: nothing is left, nothing waited on. */
static void test_abandon(void **state)
{
	char *argv[] = { "sleep", "1000", NULL };
	struct exec_spec req = { .argv = argv };
	struct spawn_entry *e;
	struct spawner *sp;
	struct container c;
	char err[256];
	siginfo_t si;

	if (geteuid() != 0)
		skip();
	sp = spawner_new(NULL);
	assert_non_null(sp);
	self_container(&c);
	assert_int_equal(spawn_start(sp, &c, &req, &e, err, sizeof(err)), 0);
	spawn_entry_abandon(e);
	spawner_free(sp);
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_report_read),
		cmocka_unit_test(test_reap),
		cmocka_unit_test(test_spawn_self),
		cmocka_unit_test(test_abandon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
