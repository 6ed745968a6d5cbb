/*
 * Unit tests for transport/common/errname.c: the one table of errno names
 * and HTTP statuses, read both ways. Every errno the table names survives
 * name -> errno and status -> errno -> status; every status reads back as
 * an errno that is answered with that status; anything unknown is EIO or
 * 500, never a crash or a success.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "execfs/errname.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Linux errnos run from 1 to 133; look a little past them. */
#define ERRNO_MAX 160

/* Is err one the table names (rather than one it folds into EIO)? */
static bool named(int err)
{
	return err == EIO || strcmp(errno_name(err), "EIO") != 0;
}

static void test_names_round_trip(void **state)
{
	int err, n = 0;

	(void)state;
	for (err = 1; err < ERRNO_MAX; err++) {
		if (!named(err))
			continue;
		n++;
		assert_int_equal(errno_from_name(errno_name(err)), err);
	}
	/* The protocol's names (docs/PROTOCOL.md), at least. */
	assert_true(n >= 19);
	assert_string_equal(errno_name(ENOENT), "ENOENT");
	assert_string_equal(errno_name(ERANGE), "ERANGE");
	assert_int_equal(errno_from_name("ESRCH"), ESRCH);
}

static void test_status_round_trip(void **state)
{
	int err, status, back;

	(void)state;
	for (err = 1; err < ERRNO_MAX; err++) {
		if (!named(err))
			continue;
		status = errno_http_status(err);
		assert_true(status >= 400 && status <= 599);
		/* A bare status reads back as an errno answered with it. */
		back = errno_from_http_status(status);
		assert_true(named(back));
		assert_int_equal(errno_http_status(back), status);
		/* And that errno is the one its status stands for. */
		assert_int_equal(
			errno_from_http_status(errno_http_status(back)), back);
	}
}

static void test_statuses(void **state)
{
	(void)state;
	/* What each status the agent sends stands for. */
	assert_int_equal(errno_from_http_status(400), EINVAL);
	assert_int_equal(errno_from_http_status(403), EACCES);
	assert_int_equal(errno_from_http_status(404), ENOENT);
	assert_int_equal(errno_from_http_status(409), EBUSY);
	assert_int_equal(errno_from_http_status(416), ERANGE);
	assert_int_equal(errno_from_http_status(500), EIO);
	assert_int_equal(errno_from_http_status(503), EAGAIN);
	/* Errnos that share a status keep their own name. */
	assert_int_equal(errno_http_status(ESRCH), 409);
	assert_int_equal(errno_http_status(EPERM), 403);
	assert_int_equal(errno_http_status(ENOTCONN), 503);
}

static void test_unknown(void **state)
{
	(void)state;
	assert_string_equal(errno_name(0), "EIO");
	assert_string_equal(errno_name(-ENOENT), "EIO");
	assert_string_equal(errno_name(EDOM), "EIO");
	assert_string_equal(errno_name(100000), "EIO");
	assert_int_equal(errno_from_name(NULL), EIO);
	assert_int_equal(errno_from_name(""), EIO);
	assert_int_equal(errno_from_name("enoent"), EIO);
	assert_int_equal(errno_from_name("ENOENTX"), EIO);
	assert_int_equal(errno_http_status(0), 500);
	assert_int_equal(errno_http_status(EDOM), 500);
	assert_int_equal(errno_http_status(-1), 500);
	/* Not a failure the table knows: EIO, never 0. */
	assert_int_equal(errno_from_http_status(200), EIO);
	assert_int_equal(errno_from_http_status(0), EIO);
	assert_int_equal(errno_from_http_status(-404), EIO);
	assert_int_equal(errno_from_http_status(405), EIO);
	assert_int_equal(errno_from_http_status(418), EIO);
	assert_int_equal(errno_from_http_status(599), EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
