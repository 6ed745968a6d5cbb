/*
 * Unit tests for agent/sandbox.c: a forked child enters the worker's
 * sandbox and does what the worker does (its event loop, pipes, a
 * socketpair passing an fd, accept, memory, time, randomness, a terminal
 * ioctl), then one forbidden call: it dies of SIGSYS and the log names the
 * call. Opening a path fails with EACCES without killing. Run as root, the
 * child first drops to nobody as the worker drops to its user; a child
 * that leaves through exit() must end (a sanitizer build runs
 * LeakSanitizer's check there, whose tracer task the filter must let
 * work).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sandbox.h"

#include <errno.h>
#include <execfs/log.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || \
	__has_feature(undefined_behavior_sanitizer)
#define SANITIZED 1
#endif
#endif

enum forbidden {
	F_NONE,
	F_SOCKET,
	F_EXECVE,
	F_EXEC_MMAP,
	F_KILL_OTHER,
	F_CONNECT,
	F_EXIT
};

#define EXIT_WAIT_S 60 /* a busy machine's sanitized exit included */

/* The worker's kind of work, each step checked; exit code = failed step. */
static int serve_like_a_worker(int listener)
{
	int pipefd[2], sp[2], ep, fd, passed = -1, avail = 0;
	struct epoll_event ev = { .events = EPOLLIN }, got;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char byte = 'x', buf[64];
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	struct timespec ts;
	char *big;

	/* Made before the sandbox, as the worker's are. */
	if (pipe2(pipefd, O_CLOEXEC) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
		return 2;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 3;
	/* As the worker: its own user, not root (nobody here). */
	if (getuid() == 0 &&
	    (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	     setresuid(65534, 65534, 65534)))
		return 13;
	char err[256];
	if (sandbox_worker_enter(err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	/* The event loop over a pipe. */
	ev.data.fd = pipefd[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) ||
	    write(pipefd[1], "x", 1) != 1 ||
	    epoll_wait(ep, &got, 1, 1000) != 1 ||
	    ioctl(pipefd[0], FIONREAD, &avail) || avail != 1 ||
	    read(pipefd[0], buf, sizeof(buf)) != 1)
		return 5;
	/* An fd over the channel (SCM_RIGHTS), as SPAWNED brings them. */
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pipefd[1], sizeof(int));
	if (sendmsg(sp[0], &mh, 0) != 1)
		return 6;
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_controllen = sizeof(ctl.buf);
	if (recvmsg(sp[1], &mh, MSG_CMSG_CLOEXEC) != 1)
		return 7;
	memcpy(&passed, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	if (passed < 0 || close(passed))
		return 8;
	/* Accept on a listener it holds (nobody connects: EAGAIN). */
	fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0 || errno != EAGAIN)
		return 9;
	/* Memory, time, randomness. */
	big = malloc(8 << 20);
	if (!big)
		return 10;
	memset(big, 1, 8 << 20);
	free(big);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) ||
	    getrandom(buf, 16, 0) != 16 || sched_yield())
		return 11;
	/* A path: refused, not fatal. */
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
#ifndef SANITIZED
	if (fd >= 0 || errno != EACCES)
		return 12;
#endif
	log_write(LOG_LVL_INFO, "child", "served");
	return 0;
}

/* Reap PID within EXIT_WAIT_S seconds: true, with its status. */
static bool wait_ended(pid_t pid, int *status)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	long i;

	for (i = 0; i < EXIT_WAIT_S * 100L; i++) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got == pid)
			return true;
		if (got < 0)
			fail_msg("waitpid: %s", strerror(errno));
		nanosleep(&tick, NULL);
	}
	return false;
}

static void run(enum forbidden f, int want_status, int want_signal,
		const char *want_log)
{
	char logpath[] = "/tmp/execfs-sandbox-log-XXXXXX", text[4096] = "";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int status, lfd, listener, rc;
	ssize_t n;
	pid_t pid;

	lfd = mkstemp(logpath);
	assert_true(lfd >= 0);
	close(lfd);
	listener =
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(listener >= 0);
	/* An abstract name: nothing to clean up. */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
		 "execfs-sandbox-%d", (int)getpid());
	assert_int_equal(bind(listener, (struct sockaddr *)&sun, sizeof(sun)),
			 0);
	assert_int_equal(listen(listener, 4), 0);
	fflush(NULL); /* the child's exit() must not repeat our output */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (log_open("execfs-agent[worker]", logpath) < 0)
			_exit(1);
		rc = serve_like_a_worker(listener);
		if (rc)
			_exit(rc);
		switch (f) {
		case F_NONE:
			break;
		case F_SOCKET:
			socket(AF_INET, SOCK_STREAM, 0);
			break;
		case F_CONNECT:
			connect(listener, (struct sockaddr *)&sun, sizeof(sun));
			break;
		case F_EXECVE:
			execl("/bin/true", "true", (char *)NULL);
			break;
		case F_EXEC_MMAP:
			mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case F_KILL_OTHER:
			kill(1, 0);
			break;
		case F_EXIT:
			/* The whole way out: atexit, stdio, the sanitizers'
			 * checks. */
			exit(0);
		}
		_exit(f == F_NONE ? 0 : 50); /* the forbidden call returned */
	}
	close(listener);
	if (!wait_ended(pid, &status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the sandboxed child did not end within %d s",
			 EXIT_WAIT_S);
	}
	lfd = open(logpath, O_RDONLY | O_CLOEXEC);
	n = read(lfd, text, sizeof(text) - 1);
	close(lfd);
	unlink(logpath);
	text[n > 0 ? n : 0] = '\0';
	if (want_signal) {
		if (!WIFSIGNALED(status) || WTERMSIG(status) != want_signal)
			fail_msg(
				"status %#x, want killed by signal %d; log: %s",
				status, want_signal, text);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != want_status) {
		fail_msg("status %#x, want exit %d; log: %s", status,
			 want_status, text);
	}
	assert_non_null(strstr(text, "child: served"));
	if (want_log && !strstr(text, want_log))
		fail_msg("log lacks \"%s\": %s", want_log, text);
}

static void test_allowed(void **state)
{
	(void)state;
	run(F_NONE, 0, 0, NULL);
}

static void test_exit_ends(void **state)
{
	(void)state;
	run(F_EXIT, 0, 0, NULL);
}

static void test_socket_killed(void **state)
{
	(void)state;
	run(F_SOCKET, 0, SIGSYS, "execfs-agent[worker][");
	run(F_SOCKET, 0, SIGSYS,
	    "]: error: sandbox: system call 41 (socket) is outside the worker's seccomp sandbox: killed with SIGSYS\n");
}

static void test_connect_killed(void **state)
{
	(void)state;
	run(F_CONNECT, 0, SIGSYS, "system call 42 (connect)");
}

static void test_execve_killed(void **state)
{
	(void)state;
	run(F_EXECVE, 0, SIGSYS, "system call 59 (execve)");
}

static void test_exec_memory_killed(void **state)
{
	(void)state;
#ifdef SANITIZED
	skip(); /* the sanitizers' runtime maps freely */
#endif
	run(F_EXEC_MMAP, 0, SIGSYS, "system call 9 (mmap)");
}

static void test_kill_other_killed(void **state)
{
	(void)state;
#ifdef SANITIZED
	skip();
#endif
	run(F_KILL_OTHER, 0, SIGSYS, "system call 62 (kill)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_exit_ends),
		cmocka_unit_test(test_socket_killed),
		cmocka_unit_test(test_connect_killed),
		cmocka_unit_test(test_execve_killed),
		cmocka_unit_test(test_exec_memory_killed),
		cmocka_unit_test(test_kill_other_killed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
