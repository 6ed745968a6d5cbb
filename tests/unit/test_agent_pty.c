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
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_size_refusals),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_send_eof),
		cmocka_unit_test(test_foreground),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
