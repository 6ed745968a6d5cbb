/*
 * Unit tests for fs/statusdoc.c: the agent's status documents become what
 * the status and wait files show, and nothing the agent sends can make
 * that more than one line of printable text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "statusdoc.h"

#include <errno.h>
#include <string.h>

static void parse(const char *body, int http, struct statusdoc *d)
{
	statusdoc_parse(body, body ? strlen(body) : 0, http, d);
}

static void test_ends(void **state)
{
	struct statusdoc d;

	(void)state;
	parse("{\"state\": \"exited\", \"code\": 7}", 200, &d);
	assert_true(d.valid);
	assert_int_equal(d.state, STATUSDOC_EXITED);
	assert_int_equal(d.code, 7);
	parse("{\"state\": \"exited\", \"code\": 4294967296}", 200, &d);
	assert_int_equal(d.code, 4294967296LL); /* not cut to 8 bits */
	parse("{\"state\": \"killed\", \"signal\": 9, \"signame\": \"KILL\"}",
	      200, &d);
	assert_int_equal(d.state, STATUSDOC_KILLED);
	assert_int_equal(d.signo, 9);
	assert_string_equal(d.signame, "KILL");
	parse("{\"state\": \"killed\", \"signal\": 36, \"signame\": \"RTMIN+2\"}",
	      200, &d);
	assert_string_equal(d.signame, "RTMIN+2");
}

static void test_failures(void **state)
{
	struct statusdoc d;

	(void)state;
	parse("{\"state\": \"failed\", \"errno\": \"ENOENT\", \"message\": "
	      "\"exec nosuch: No such file or directory\"}",
	      404, &d);
	assert_int_equal(d.state, STATUSDOC_FAILED);
	assert_int_equal(d.err, ENOENT);
	assert_string_equal(d.message,
			    "exec nosuch: No such file or directory");
	/* No errno name: the HTTP status decides. */
	parse("{\"state\": \"failed\", \"message\": \"denied\"}", 403, &d);
	assert_int_equal(d.err, EACCES);
	parse("{\"state\": \"failed\"}", 409, &d);
	assert_int_equal(d.err, EBUSY);
	assert_string_equal(d.message, "agent answered 409");
	/* Not a document at all, or none. */
	parse("<html>bad gateway</html>", 502, &d);
	assert_false(d.valid);
	assert_int_equal(d.state, STATUSDOC_FAILED);
	assert_int_equal(d.err, EIO);
	assert_string_equal(d.message, "agent answered 502");
	parse(NULL, 400, &d);
	assert_int_equal(d.err, EINVAL);
	/* Every status the agent answers with reads back through the one
	 * errno table, the name the document carries first. */
	parse(NULL, 503, &d);
	assert_int_equal(d.err, EAGAIN);
	parse(NULL, 416, &d);
	assert_int_equal(d.err, ERANGE);
	parse("{\"state\": \"failed\", \"errno\": \"ESRCH\"}", 409, &d);
	assert_int_equal(d.err, ESRCH);
	/* An end is only an end with a 200. */
	parse("{\"state\": \"exited\", \"code\": 0}", 500, &d);
	assert_int_equal(d.state, STATUSDOC_FAILED);
	assert_int_equal(d.err, EIO);
	parse("{\"state\": \"sleeping\"}", 200, &d);
	assert_int_equal(d.state, STATUSDOC_FAILED);
	/* An error document without a state still says why. */
	parse("{\"message\": \"no such session\"}", 404, &d);
	assert_true(d.valid);
	assert_int_equal(d.err, ENOENT);
	assert_string_equal(d.message, "no such session");
	/* Wrong types: not valid, a failure. */
	parse("{\"state\": 3}", 200, &d);
	assert_false(d.valid);
	assert_int_equal(d.state, STATUSDOC_FAILED);
}

/* A message comes from the agent (and may quote a user's argv): it ends up
 * in `status`, in terminals and in the log, so it is made one printable
 * line, cut to fit. */
static void test_printable(void **state)
{
	struct statusdoc d;
	char big[2048];

	(void)state;
	parse("{\"state\": \"failed\", \"errno\": \"ENOENT\", \"message\": "
	      "\"exec a\\nb\\u001b[31mred\\u0007\\u007f: x\"}",
	      404, &d);
	assert_string_equal(d.message, "exec a?b?[31mred??: x");
	/* UTF-8 text stays; a C1 control (U+009B, CSI) does not. */
	parse("{\"state\": \"failed\", \"message\": \"cwd /donn\\u00e9es "
	      "\\u009b2J \\u2603\"}",
	      404, &d);
	assert_string_equal(d.message, "cwd /donn\xc3\xa9"
				       "es ??2J \xe2\x98\x83");
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"state\": \"failed\", \"message\": \"", 32);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	parse(big, 500, &d);
	assert_int_equal(strlen(d.message), STATUSDOC_MESSAGE_MAX);
	/* Signal names: the agent's abbreviations only. */
	parse("{\"state\": \"killed\", \"signal\": 9, \"signame\": \"KI\\nLL\"}",
	      200, &d);
	assert_int_equal(d.state, STATUSDOC_KILLED);
	assert_string_equal(d.signame, "");
	parse("{\"state\": \"killed\", \"signal\": -4, \"signame\": "
	      "\"VERYVERYLONGSIGNAME\"}",
	      200, &d);
	assert_int_equal(d.signo, 0);
	assert_string_equal(d.signame, "");
}

static void test_printable_raw(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		/* Not UTF-8: overlong, truncated, a surrogate. */
		{ "\xc0\xaf\xe2\x98", "????" },
		{ "\xed\xa0\x80", "???" },
		/* Above U+10FFFF, overlong 3- and 4-byte forms, raw C1, bytes
		 * that never start a character. */
		{ "\xf4\x90\x80\x80", "????" },
		{ "\xe0\x80\x80", "???" },
		{ "\xf0\x80\x80\x80", "????" },
		{ "\xc2\x80\xc2\x9f", "????" },
		{ "\xf5\xff\x80", "???" },
		/* Invisible and reordering: RLO, ZWSP. */
		{ "\xe2\x80\xae", "???" },
		{ "a\xe2\x80\x8b", "a???" },
		/* Cut at a character boundary (8 bytes with the NUL), never
		 * inside one. */
		{ "abcde\xe2\x98\x83", "abcde" },
	};
	char out[8];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		assert_string_equal(statusdoc_printable(out, sizeof(out),
							cases[k].in,
							strlen(cases[k].in)),
				    cases[k].want);
	assert_string_equal(statusdoc_printable(out, 1, "abc", 3), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_printable_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
