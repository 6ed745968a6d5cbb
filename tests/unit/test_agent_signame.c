/*
 * Unit tests for agent/signame.c: the signal names and numbers a client
 * may send on a signal stream, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "signame.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static int parse(const char *s)
{
	return signal_parse(s, strlen(s));
}

static void test_names(void **state)
{
	assert_int_equal(parse("TERM"), SIGTERM);
	assert_int_equal(parse("SIGTERM"), SIGTERM);
	assert_int_equal(parse("term"), SIGTERM);
	assert_int_equal(parse("sigTerm"), SIGTERM);
	assert_int_equal(parse("KILL"), SIGKILL);
	assert_int_equal(parse("INT\n"), SIGINT);
	assert_int_equal(parse("  hup \r\n"), SIGHUP);
	assert_int_equal(parse("WINCH"), SIGWINCH);
	assert_int_equal(parse("USR1"), SIGUSR1);
	assert_int_equal(parse("CONT"), SIGCONT);
	assert_int_equal(parse("IOT"), SIGABRT);
	assert_int_equal(parse("CLD"), SIGCHLD);
	assert_int_equal(parse("RTMIN"), SIGRTMIN);
	assert_int_equal(parse("SIGRTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(parse("rtmax-1"), SIGRTMAX - 1);
	assert_int_equal(parse("RTMAX"), SIGRTMAX);
}

static void test_numbers(void **state)
{
	assert_int_equal(parse("9"), 9);
	assert_int_equal(parse("15\n"), 15);
	assert_int_equal(parse("1"), 1);
	assert_int_equal(signal_parse("64", 2), SIGRTMAX == 64 ? 64 : -EINVAL);
}

static void test_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"0",
		"-9",
		"+9",
		"9x",
		"1000",
		"SIG",
		"NOSUCH",
		"TERM9",
		"TE RM",
		"SIGSIGTERM",
		"RTMIN+",
		"RTMIN+99",
		"RTMAX+1",
		"RTMIN-1",
		"VERYLONGSIGNALNAMETHATISNOTONE",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	/* The length counts: a NUL inside is not the end. */
	assert_int_equal(signal_parse("TERM\0X", 6), -EINVAL);
	assert_int_equal(signal_parse("TERMINATE", 4), SIGTERM);
}

static void test_abbrev(void **state)
{
	char buf[16];

	assert_string_equal(signal_abbrev(SIGTERM, buf, sizeof(buf)), "TERM");
	assert_string_equal(signal_abbrev(SIGKILL, buf, sizeof(buf)), "KILL");
	assert_string_equal(signal_abbrev(SIGRTMIN, buf, sizeof(buf)), "RTMIN");
	assert_string_equal(signal_abbrev(SIGRTMIN + 3, buf, sizeof(buf)),
			    "RTMIN+3");
	assert_string_equal(signal_abbrev(0, buf, sizeof(buf)), "UNKNOWN");
	/* Every name round-trips. */
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		assert_int_equal(parse(signal_abbrev(sig, buf, sizeof(buf))) ==
						 sig ||
					 !strcmp(buf, "UNKNOWN"),
				 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_abbrev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
