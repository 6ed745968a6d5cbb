/*
 * Unit tests for agent/pty.c: the resize line parser, and the master-side
 * operations on a real pty (posix_openpt needs no privilege): the size
 * the slave sees, VEOF ending a canonical read, the foreground group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pty.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(const char *line, unsigned short *c, unsigned short *r)
{
	return pty_parse_size(line, strlen(line), c, r);
}

static void test_parse_size(void **state)
{
	unsigned short c = 0, r = 0;

	assert_int_equal(parse("80 24", &c, &r), 0);
	assert_int_equal(c, 80);
	assert_int_equal(r, 24);
	assert_int_equal(parse("  132\t43 \r", &c, &r), 0);
	assert_int_equal(c, 132);
	assert_int_equal(r, 43);
	assert_int_equal(parse("65535 1", &c, &r), 0);
	assert_int_equal(c, 65535);
	assert_int_equal(parse("007 08", &c, &r), 0);
	assert_int_equal(c, 7);
	assert_int_equal(r, 8);
}

static void test_parse_size_refusals(void **state)
{
	static const char *const bad[] = {
		"",	     " ",      "80",	    "80 ",
		"80 24 1",   "0 24",   "80 0",	    "65536 24",
		"80 65536",  "-1 24",  "80x24",	    "80,24",
		"eighty 24", "80 24x", "1000000 1", "80\n24",
		"\r",	     "+80 24", "80 +24",    "99999999999999999999 1",
	};
	unsigned short c = 1, r = 1;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &c, &r) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(c, 1); /* untouched on failure */
	}
	/* The length counts, not a NUL. */
	assert_int_equal(pty_parse_size("80 24\0", 6, &c, &r), -EINVAL);
}

struct pair {
	int master, slave;
};

static void pair_open(struct pair *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	assert_true(p->master >= 0);
	assert_int_equal(unlockpt(p->master), 0);
	p->slave = ioctl(p->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->slave >= 0);
}

static void pair_close(struct pair *p)
{
	close(p->master);
	close(p->slave);
}

static void test_resize(void **state)
{
	struct winsize ws;
	struct pair p;

	pair_open(&p);
	assert_int_equal(pty_resize(p.master, 100, 30), 0);
	assert_int_equal(ioctl(p.slave, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_col, 100);
	assert_int_equal(ws.ws_row, 30);
	pair_close(&p);
	assert_int_equal(pty_resize(p.master, 1, 1), -EBADF);
}

/* What a canonical read on the slave returns (0 is end of file). */
static ssize_t slave_read(int slave, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = slave, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 60000), 1);
	return read(slave, buf, len);
}

static void test_send_eof(void **state)
{
	struct termios tio;
	struct pair p;
	char buf[64];

	pair_open(&p);
	/* At the start of a line one VEOF is end of file. */
	assert_int_equal(pty_send_eof(p.master, 1), 1);
	assert_int_equal(slave_read(p.slave, buf, sizeof(buf)), 0);

	/* After a partial line: the first hands the line over, the second
	 * is the end. */
	assert_int_equal(write(p.master, "abc", 3), 3);
	assert_int_equal(pty_send_eof(p.master, 2), 2);
	assert_int_equal(slave_read(p.slave, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(slave_read(p.slave, buf, sizeof(buf)), 0);

	/* The terminal's own VEOF character is used. */
	assert_int_equal(tcgetattr(p.slave, &tio), 0);
	tio.c_cc[VEOF] = 'q';
	tio.c_lflag &= ~ECHO;
	assert_int_equal(tcsetattr(p.slave, TCSANOW, &tio), 0);
	assert_int_equal(write(p.master, "xy\n", 3), 3);
	assert_int_equal(pty_send_eof(p.master, 1), 1);
	assert_int_equal(slave_read(p.slave, buf, sizeof(buf)), 3);
	assert_int_equal(slave_read(p.slave, buf, sizeof(buf)), 0);
	pair_close(&p);
}

static void test_foreground(void **state)
{
	struct pair p;

	pair_open(&p);
	/* Nobody's controlling terminal: no foreground group. */
	assert_true(pty_foreground(p.master) <= 0);
	pair_close(&p);
	assert_int_equal(pty_foreground(p.master), -EBADF);
}

/* A session leader with the slave as its controlling terminal, in the
 * foreground, waiting to be signalled; its pid. */
static pid_t session_on(const struct pair *p)
{
	int go[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setsid() < 0 || ioctl(p->slave, TIOCSCTTY, 0) < 0)
			_exit(1);
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(go[1]);
	assert_int_equal(read(go[0], &c, 1), 1);
	close(go[0]);
	return pid;
}

static int killed_by(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

static void test_signal_foreground(void **state)
{
	struct pair p;
	pid_t pid, pg = 0;

	pair_open(&p);
	assert_int_equal(pty_signal_foreground(p.master, 1, SIGTERM, &pg),
			 -ESRCH);

	/* ^C's signal goes through the terminal (TIOCSIG). */
	pid = session_on(&p);
	assert_int_equal(pty_signal_foreground(p.master, pid, SIGINT, &pg), 0);
	assert_int_equal(pg, pid);
	assert_int_equal(killed_by(pid), SIGINT);

	/* Another through the group's pinned leader, when it leads a group
	 * of the session named; a session we did not start is refused
	 * (the caller then signals its own). */
	pid = session_on(&p);
	assert_int_equal(pty_signal_foreground(p.master, pid + 100000, SIGTERM,
					       &pg),
			 -ESRCH);
	assert_int_equal(pty_signal_foreground(p.master, pid, SIGTERM, &pg), 0);
	assert_int_equal(killed_by(pid), SIGTERM);

	pair_close(&p);
}

/* Whether pid has sig pending for the whole process. */
static bool pending(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ShdPnd: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask & (1ULL << (sig - 1));
}

/*
 * The foreground group emptied while the session lives: the terminal
 * still holds the group, whose number is free for the kernel to give to
 * anyone. Nothing is signalled by that number: ^C's signal goes to the
 * (empty) group the terminal holds, another finds no leader to pin.
 */
static void test_signal_stale_foreground(void **state)
{
	struct pair p;
	pid_t leader, stale, pg = 0;
	int go[2];

	pair_open(&p);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	leader = fork();
	assert_true(leader >= 0);
	if (leader == 0) {
		pid_t c;

		if (setsid() < 0 || ioctl(p.slave, TIOCSCTTY, 0) < 0)
			_exit(1);
		c = fork();
		if (c == 0) {
			signal(SIGTTOU, SIG_IGN);
			if (setpgid(0, 0) < 0 ||
			    tcsetpgrp(p.slave, getpid()) < 0)
				_exit(1);
			_exit(0);
		}
		if (c < 0 || waitpid(c, NULL, 0) != c ||
		    write(go[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		for (;;)
			pause();
	}
	close(go[1]);
	assert_int_equal(read(go[0], &stale, sizeof(stale)), sizeof(stale));
	close(go[0]);
	assert_int_equal(pty_foreground(p.master), stale);

	assert_int_equal(pty_signal_foreground(p.master, leader, SIGTERM, &pg),
			 -ESRCH);
	assert_int_equal(pty_signal_foreground(p.master, leader, SIGINT, &pg),
			 0);
	assert_int_equal(waitpid(leader, NULL, WNOHANG), 0);
	assert_false(pending(leader, SIGINT));
	kill(leader, SIGKILL);
	assert_int_equal(killed_by(leader), SIGKILL);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_size_refusals),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_send_eof),
		cmocka_unit_test(test_foreground),
		cmocka_unit_test(test_signal_foreground),
		cmocka_unit_test(test_signal_stale_foreground),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
