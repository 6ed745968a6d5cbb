/*
 * Unit tests for transport/common/log.c: a line quoting control characters,
 * escape sequences, malformed UTF-8 or invisible and reordering code
 * points stays one line of printable text (\xHH for each such byte),
 * while printable UTF-8 passes as it is; a long message is cut without
 * cutting an escape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "execfs/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/execfs-log-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open("logtest", path), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* The message part of the file's last line (after "func: "). */
static char *last_message(char *buf, size_t cap)
{
	char *p, *nl;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(buf[n - 1], '\n');
	buf[n - 1] = '\0';
	nl = strrchr(buf, '\n');
	p = strstr(nl ? nl + 1 : buf, "info: test: ");
	assert_non_null(p);
	return p + strlen("info: test: ");
}

static void test_escapes(void **state)
{
	char buf[8192];

	(void)state;
	log_write(LOG_LVL_INFO, "test", "a\nb\rc\te\033[31mred\x7f");
	assert_string_equal(last_message(buf, sizeof(buf)),
			    "a\\x0ab\\x0dc\\x09e\\x1b[31mred\\x7f");
	/* Printable UTF-8 stays; a C1 control (NEL), a right-to-left
	 * override, a zero-width space and broken bytes do not. */
	log_write(LOG_LVL_INFO, "test",
		  "caf\xc3\xa9 \xc2\x85 \xe2\x80\xae \xe2\x80\x8b \xff \xc3");
	assert_string_equal(last_message(buf, sizeof(buf)),
			    "caf\xc3\xa9 \\xc2\\x85 \\xe2\\x80\\xae "
			    "\\xe2\\x80\\x8b \\xff \\xc3");
	/* A backslash is itself. */
	log_write(LOG_LVL_INFO, "test", "%s", "C:\\x");
	assert_string_equal(last_message(buf, sizeof(buf)), "C:\\x");
}

static void test_long_line(void **state)
{
	char big[3000], buf[16384], *msg;
	size_t len;

	(void)state;
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_write(LOG_LVL_INFO, "test", "%s", big);
	msg = last_message(buf, sizeof(buf));
	len = strlen(msg);
	/* Whole escapes only, one line. */
	assert_true(len > 1000);
	assert_int_equal(len % 4, 0);
	assert_null(strchr(msg, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
