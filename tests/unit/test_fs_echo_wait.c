/*
 * Unit tests for fs/echo_wait.c: when a stdout POLL of a tty session may
 * wait for a key's echo. Limits are chosen far from the test's own timing
 * (a second to wait, or a sleep well past a millisecond limit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "echo_wait.h"

#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int setup(void **state)
{
	(void)state;
	echo_wait_set_limit(1000000); /* 1 s */
	return 0;
}

static void test_key_then_echo(void **state)
{
	struct echo_wait e;
	uint64_t until = 0, before;

	(void)state;
	echo_wait_init(&e);
	assert_false(echo_wait_due(&e, &until)); /* no key yet */
	before = echo_wait_now_ns();
	echo_wait_written(&e, 1);
	assert_true(echo_wait_due(&e, &until));
	assert_true(until >= before + 1000000000u);
	assert_true(until <= echo_wait_now_ns() + 1000000000u);
	/* The echo came: later POLLs wait for nothing. */
	echo_wait_output(&e);
	assert_false(echo_wait_due(&e, &until));
	echo_wait_written(&e, ECHO_KEY_MAX); /* an escape sequence */
	assert_true(echo_wait_due(&e, &until));
}

static void test_not_keys(void **state)
{
	struct echo_wait e;
	uint64_t until;

	(void)state;
	echo_wait_init(&e);
	echo_wait_written(&e, ECHO_KEY_MAX + 1); /* a paste, a bulk write */
	assert_false(echo_wait_due(&e, &until));
	echo_wait_written(&e, 1);
	echo_wait_written(&e, 4096); /* the last write decides */
	assert_false(echo_wait_due(&e, &until));
	echo_wait_written(&e, 0);
	assert_false(echo_wait_due(&e, &until));
}

/* A hold that ran out stops holding until a key is echoed in time. */
static void test_missed_until_echoed(void **state)
{
	struct echo_wait e;
	uint64_t until;

	(void)state;
	echo_wait_init(&e);
	echo_wait_written(&e, 1);
	echo_wait_missed(&e);
	assert_false(echo_wait_due(&e, &until));
	echo_wait_written(&e, 1);
	assert_false(echo_wait_due(&e, &until));
	echo_wait_output(&e); /* in time: keys are echoed again */
	echo_wait_written(&e, 1);
	assert_true(echo_wait_due(&e, &until));
}

static void test_late_echo(void **state)
{
	struct echo_wait e;
	uint64_t until;

	(void)state;
	echo_wait_set_limit(1000); /* 1 ms */
	echo_wait_init(&e);
	echo_wait_written(&e, 1);
	echo_wait_missed(&e);
	echo_wait_written(&e, 1);
	sleep_ms(20);
	assert_false(echo_wait_due(&e, &until)); /* too late to wait */
	echo_wait_output(&e); /* too late to count */
	echo_wait_written(&e, 1);
	assert_false(echo_wait_due(&e, &until));
	/* Not after the limit either, with keys echoed. */
	echo_wait_init(&e);
	echo_wait_written(&e, 1);
	sleep_ms(20);
	assert_false(echo_wait_due(&e, &until));
	echo_wait_set_limit(1000000);
}

static void test_off(void **state)
{
	struct echo_wait e;
	uint64_t until;

	(void)state;
	echo_wait_set_limit(0);
	echo_wait_init(&e);
	echo_wait_written(&e, 1);
	assert_false(echo_wait_due(&e, &until));
	echo_wait_set_limit(1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_key_then_echo, setup),
		cmocka_unit_test_setup(test_not_keys, setup),
		cmocka_unit_test_setup(test_missed_until_echoed, setup),
		cmocka_unit_test_setup(test_late_echo, setup),
		cmocka_unit_test_setup(test_off, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
