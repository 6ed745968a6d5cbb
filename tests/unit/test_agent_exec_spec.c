/*
 * Unit tests for the exec request decoder: what a client may send on a
 * session's status stream, and every way it can be wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "exec_spec.h"

static int parse(const char *json, struct exec_spec *req, char *err)
{
	return exec_spec_from_json(json, strlen(json), req, err, 256);
}

static void test_full_request(void **state)
{
	struct exec_spec req;
	char err[256];

	(void)state;
	assert_int_equal(
		parse("{\"container\":\"c1\",\"argv\":[\"sh\",\"-c\",\"echo hi\"],"
		      "\"tty\":true,\"cols\":80,\"rows\":24,"
		      "\"env\":[\"A=1\"],\"cwd\":\"/tmp\",\"user\":\"1000:1000\"}",
		      &req, err),
		0);
	assert_string_equal(req.container, "c1");
	assert_string_equal(req.argv[0], "sh");
	assert_string_equal(req.argv[2], "echo hi");
	assert_null(req.argv[3]);
	assert_string_equal(req.env[0], "A=1");
	assert_null(req.env[1]);
	assert_string_equal(req.cwd, "/tmp");
	assert_string_equal(req.user, "1000:1000");
	assert_true(req.tty);
	assert_int_equal(req.cols, 80);
	assert_int_equal(req.rows, 24);
	assert_false(req.merge_stderr);
	exec_spec_release(&req);

	assert_int_equal(parse("{\"container\":\"c1\",\"argv\":[\"a\"],"
			       "\"merge_stderr\":true}",
			       &req, err),
			 0);
	assert_true(req.merge_stderr);
	assert_false(req.has_nice);
	exec_spec_release(&req);

	assert_int_equal(parse("{\"container\":\"c1\",\"argv\":[\"a\"],"
			       "\"nice\":-20}",
			       &req, err),
			 0);
	assert_true(req.has_nice);
	assert_int_equal(req.nice, -20);
	exec_spec_release(&req);
}

static void test_minimal_request(void **state)
{
	struct exec_spec req;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"container\":\"c1\",\"argv\":[\"date\"]}",
			       &req, err),
			 0);
	assert_null(req.env);
	assert_null(req.cwd);
	assert_false(req.tty);
	exec_spec_release(&req);
}

static void test_bad_requests(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"argv\":[\"date\"]}",
		"{\"container\":\"\",\"argv\":[\"date\"]}",
		"{\"container\":\"c\",\"argv\":[]}",
		"{\"container\":\"c\",\"argv\":\"date\"}",
		"{\"container\":\"c\",\"argv\":[1]}",
		"{\"container\":\"c\",\"argv\":[\"a\\u0000b\"]}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"env\":[\"NOEQ\"]}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"env\":[\"=x\"]}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"cwd\":\"rel\"}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"tty\":1}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"merge_stderr\":\"yes\"}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"cols\":-1}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"rows\":70000}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"nice\":20}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"nice\":-21}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"nice\":1.5}",
		"{\"container\":\"c\",\"argv\":[\"a\"],\"nice\":\"5\"}",
		"{\"container\":\"c\",\"container\":\"d\",\"argv\":[\"a\"]}",
	};
	struct exec_spec req;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(bad[i], &req, err), -EINVAL);
		assert_true(err[0] != 0);
		assert_null(req.argv);
	}
}

static void test_too_large(void **state)
{
	static char big[70000];
	struct exec_spec req;
	char err[256];

	(void)state;
	memset(big, ' ', sizeof(big));
	assert_int_equal(exec_spec_from_json(big, sizeof(big), &req, err,
					     sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "larger"));
}

static void test_session_ids(void **state)
{
	(void)state;
	assert_true(session_id_valid("0123456789abcdef0123456789abcdef"));
	assert_false(session_id_valid("0123456789abcdef0123456789abcde"));
	assert_false(session_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(session_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(session_id_valid("../../../../../../../../../../etc"));
	assert_false(session_id_valid(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_request),
		cmocka_unit_test(test_minimal_request),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_session_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
