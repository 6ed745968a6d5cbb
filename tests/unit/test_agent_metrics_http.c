/*
 * Unit tests for agent/metrics_http.c's request parser: what a complete
 * head is, which methods and paths pass, and every malformed first line
 * refused (the endpoint itself is shown by test_deploy_metrics.sh; the
 * parser is fuzzed by fuzz_agent_metrics_http).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics_http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, char *path, int *head)
{
	return metrics_http_parse(s, strlen(s), path, 64, head);
}

static void test_complete(void **state)
{
	char path[64];
	int head = -1;

	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", path,
			       &head),
			 1);
	assert_string_equal(path, "/metrics");
	assert_int_equal(head, 0);
	assert_int_equal(
		parse("HEAD /healthz?verbose=1 HTTP/1.0\n\n", path, &head), 1);
	assert_string_equal(path, "/healthz");
	assert_int_equal(head, 1);
	/* Not yet a whole head. */
	assert_int_equal(
		parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", path, &head), 0);
	assert_int_equal(parse("", path, &head), 0);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"GET metrics HTTP/1.1\r\n\r\n", /* no slash */
		"GET  /metrics HTTP/1.1\r\n\r\n", /* empty path */
		"GET /metrics\r\n\r\n", /* no version */
		"GET /metrics HTTP/2.0\r\n\r\n",
		"GET /metrics HTTP/1.1x\r\n\r\n",
		"GET /met\rrics HTTP/1.1\r\n\r\n", /* a CR inside */
		"GET /met\x01rics HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
	};
	char path[64], big[METRICS_HTTP_HEAD_MAX + 16];
	size_t i;
	int head;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], path, &head), -EINVAL);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", path, &head),
			 -ENOSYS);
	/* A path longer than its buffer. */
	memset(big, 'a', 200);
	memcpy(big, "GET /", 5);
	strcpy(big + 200, " HTTP/1.1\r\n\r\n");
	assert_int_equal(parse(big, path, &head), -EINVAL);
	/* A head that never ends within the cap. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(parse(big, path, &head), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
