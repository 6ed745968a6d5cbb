/*
 * Unit tests for fs/metrics.c: the mount's .metrics text carries the
 * gauges it is given (nodes by state, containers) and the running
 * sessions its state changes kept, every family typed once before its
 * samples (counters named _total, gauges not), and the running gauge
 * never goes below zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of the sample "NAME_AND_LABELS VALUE" in text; -1: none. */
static long long sample(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

static char *render(const struct fs_metrics_gauges *g)
{
	size_t len = 0;
	char *text = fs_metrics_text(g, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_gauges(void **state)
{
	const struct fs_metrics_gauges g = { .nodes_connected = 2,
					     .nodes_connecting = 1,
					     .nodes_unreachable = 3,
					     .containers = 7 };
	char *text;

	(void)state;
	text = render(&g);
	assert_int_equal(
		sample(text, "execfs_mount_nodes{state=\"connected\"}"), 2);
	assert_int_equal(
		sample(text, "execfs_mount_nodes{state=\"connecting\"}"), 1);
	assert_int_equal(
		sample(text, "execfs_mount_nodes{state=\"unreachable\"}"), 3);
	assert_int_equal(sample(text, "execfs_mount_containers"), 7);
	assert_non_null(strstr(text, "# TYPE execfs_mount_nodes gauge\n"));
	assert_non_null(strstr(text, "# TYPE execfs_mount_containers gauge\n"));
	assert_non_null(
		strstr(text, "# TYPE execfs_mount_sessions_running gauge\n"));
	assert_non_null(strstr(
		text, "# TYPE execfs_mount_sessions_started_total counter\n"));
	free(text);
}

static void test_running(void **state)
{
	const struct fs_metrics_gauges g = { 0 };
	struct timespec sent;
	long long started;
	char *text;

	(void)state;
	text = render(&g);
	started = sample(text, "execfs_mount_sessions_started_total");
	assert_int_equal(sample(text, "execfs_mount_sessions_running"), 0);
	free(text);

	clock_gettime(CLOCK_MONOTONIC, &sent);
	fs_metrics_started(&sent);
	fs_metrics_running(1);
	fs_metrics_running(1);
	text = render(&g);
	assert_int_equal(sample(text, "execfs_mount_sessions_running"), 2);
	assert_int_equal(sample(text, "execfs_mount_sessions_started_total"),
			 started + 1);
	assert_int_equal(
		sample(text, "execfs_mount_session_start_seconds_count"), 1);
	free(text);

	fs_metrics_running(-1);
	fs_metrics_running(-1);
	fs_metrics_running(-1); /* one more end than starts: stays 0 */
	text = render(&g);
	assert_int_equal(sample(text, "execfs_mount_sessions_running"), 0);
	free(text);
	fs_metrics_running(1);
	text = render(&g);
	assert_int_equal(sample(text, "execfs_mount_sessions_running"), 1);
	free(text);
	fs_metrics_running(-1);
}

/* The family a sample belongs to: its name without labels and, for a
 * histogram's series, without _bucket, _sum or _count. */
static void family_of(const char *line, char *fam, size_t cap, const char *hist)
{
	size_t n = strcspn(line, "{ ");

	snprintf(fam, cap, "%.*s", (int)n, line);
	if (hist && !strncmp(fam, hist, strlen(hist)))
		snprintf(fam, cap, "%s", hist);
}

static void test_every_family_typed(void **state)
{
	const struct fs_metrics_gauges g = { 1, 1, 1, 1 };
	char *text, *line, *save = NULL, typed[64][96], fam[96], type[16];
	char hist[96] = "";
	size_t ntyped = 0, i;
	bool found;

	(void)state;
	text = render(&g);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (sscanf(line, "# TYPE %95s %15s", fam, type) == 2) {
			for (i = 0; i < ntyped; i++)
				if (!strcmp(typed[i], fam))
					fail_msg("%s typed twice", fam);
			assert_true(ntyped < 64);
			snprintf(typed[ntyped++], sizeof(typed[0]), "%s", fam);
			if (!strcmp(type, "histogram"))
				snprintf(hist, sizeof(hist), "%s", fam);
			/* Counters end in _total; nothing else does. */
			if ((strcmp(type, "counter") == 0) !=
			    (strlen(fam) > 6 &&
			     !strcmp(fam + strlen(fam) - 6, "_total")))
				fail_msg("%s is a %s", fam, type);
			continue;
		}
		family_of(line, fam, sizeof(fam), hist[0] ? hist : NULL);
		found = false;
		for (i = 0; i < ntyped; i++)
			found = found || !strcmp(typed[i], fam);
		if (!found)
			fail_msg("sample before its # TYPE: %s", line);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gauges),
		cmocka_unit_test(test_running),
		cmocka_unit_test(test_every_family_typed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
