/*
 * Unit test of the session code's refusal log (agent/admit.c,
 * xsession_log_refused()) through the agent test bench: a client that
 * sends start after start into a container no rule lets it see (refused
 * as unknown) gets XSESSION_LOG_BURST log
 * lines, not one each, while the audit still has a line for every one.
 * The buckets are per identity: another peer's first refusal is written
 * whatever the first one did, and a peer pushed out of the small table
 * has its suppressed count written then.
 * (The bucket's later lines, with their "N similar lines suppressed",
 * are test_common_lograte's: no test here waits for a period.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_harness.h"
#include "execfs/log.h"
#include "session_internal.h"

#define FLOOD 40

static size_t count_lines(const char *path, const char *needle)
{
	char line[8192];
	FILE *f = fopen(path, "re");
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void test_refusals_flood(void **state)
{
	struct harness *h = harness_new(NULL);
	struct hstream *st[FLOOD];
	char audit[256], logpath[256], sid[40];
	int i;

	(void)state;
	snprintf(audit, sizeof(audit), "%s/audit.log", h->dir);
	snprintf(logpath, sizeof(logpath), "%s/agent.log", h->dir);
	harness_set_audit(h, audit, false);
	assert_int_equal(log_open("lograte", logpath), 0);
	log_set_level(LOG_LVL_WARN); /* the bench keeps it at errors */
	harness_set_policy(h, "{\"rules\": []}");
	for (i = 0; i < FLOOD; i++) {
		snprintf(sid, sizeof(sid), "%032x", i + 1);
		st[i] = harness_exec(h, sid, "true", false);
		HARNESS_UNTIL(h, st[i]->status != 0);
		/* No rule lets it see the container: unknown to it. */
		assert_int_equal(st[i]->status, 404);
	}
	assert_int_equal(count_lines(logpath, "refused as unknown"),
			 XSESSION_LOG_BURST);
	/* Each refused start's failure line too. */
	assert_int_equal(count_lines(logpath, "start failed"),
			 XSESSION_LOG_BURST);
	assert_int_equal(count_lines(audit, "\"unknown_container\""), FLOOD);
	log_open("lograte", NULL);
	unlink(logpath);
	unlink(audit);
	harness_free(h);
}

/* One identity's flood leaves another's refusal in the log; a table full
 * of other identities pushes the first out with its count. */
static void test_refusals_per_identity(void **state)
{
	char logpath[] = "/tmp/execfs-lograte-XXXXXX";
	char who[64];
	int fd, i;

	(void)state;
	fd = mkstemp(logpath);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open("lograte", logpath), 0);
	log_set_level(LOG_LVL_WARN);
	for (i = 0; i < FLOOD; i++)
		xsession_log_refused(XSESSION_LOG_DENIED, "uri:flooder",
				     "flooder refusal %d", i);
	xsession_log_refused(XSESSION_LOG_DENIED, "uri:other", "other refusal");
	assert_int_equal(count_lines(logpath, "flooder refusal"),
			 XSESSION_LOG_BURST);
	assert_int_equal(count_lines(logpath, "other refusal"), 1);
	/* 64 more identities: the flooder's slot is the oldest. */
	for (i = 0; i < 64; i++) {
		snprintf(who, sizeof(who), "uri:peer-%d", i);
		xsession_log_refused(XSESSION_LOG_DENIED, who, "peer refusal");
	}
	assert_int_equal(count_lines(logpath, "refusals of uri:flooder: 30 "
					      "similar lines suppressed"),
			 1);
	assert_int_equal(count_lines(logpath, "peer refusal"), 64);
	log_open("lograte", NULL);
	unlink(logpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals_flood),
		cmocka_unit_test(test_refusals_per_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
