/*
 * Unit tests for transport/common/lograte.c: a burst of lines goes out,
 * then one per period; each line that goes out after some were left out
 * counts them; a long quiet refills the bucket to its burst, never more;
 * a clock that went back starts over rather than lock the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "execfs/lograte.h"

static void test_burst_then_period(void **state)
{
	struct log_rate r = { 0 };
	unsigned skipped = 99;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_true(log_rate_due_at(&r, 3, 10, 100, &skipped));
		assert_int_equal(skipped, 0);
	}
	for (i = 0; i < 5; i++)
		assert_false(log_rate_due_at(&r, 3, 10, 109, &skipped));
	/* A period later: one line, saying five were left out. */
	assert_true(log_rate_due_at(&r, 3, 10, 110, &skipped));
	assert_int_equal(skipped, 5);
	assert_false(log_rate_due_at(&r, 3, 10, 111, &skipped));
	/* Two periods: two lines. */
	assert_true(log_rate_due_at(&r, 3, 10, 130, &skipped));
	assert_int_equal(skipped, 1);
	assert_true(log_rate_due_at(&r, 3, 10, 130, &skipped));
	assert_int_equal(skipped, 0);
	assert_false(log_rate_due_at(&r, 3, 10, 130, &skipped));
}

static void test_refill_capped(void **state)
{
	struct log_rate r = { 0 };
	unsigned skipped;
	int i;

	(void)state;
	assert_true(log_rate_due_at(&r, 2, 10, 5, &skipped));
	/* An hour of quiet: the burst, not 360 lines. */
	for (i = 0; i < 2; i++)
		assert_true(log_rate_due_at(&r, 2, 10, 3605, &skipped));
	assert_false(log_rate_due_at(&r, 2, 10, 3605, &skipped));
}

static void test_clock_back(void **state)
{
	struct log_rate r = { 0 };
	unsigned skipped;

	(void)state;
	assert_true(log_rate_due_at(&r, 1, 10, 1000, &skipped));
	assert_false(log_rate_due_at(&r, 1, 10, 1001, &skipped));
	assert_true(log_rate_due_at(&r, 1, 10, 50, &skipped));
	assert_int_equal(skipped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_period),
		cmocka_unit_test(test_refill_capped),
		cmocka_unit_test(test_clock_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
