/*
 * Unit tests for the ctl grammar (fs/ctl.c): shell-like splitting without
 * expansion, and the verb table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "execfs/ctl.h"

static void assert_split(const char *line, int want, const char *const *words)
{
	char **argv = NULL;
	int n, i;

	n = ctl_split(line, strlen(line), 64, &argv);
	assert_int_equal(n, want);
	for (i = 0; i < want; i++)
		assert_string_equal(argv[i], words[i]);
	assert_null(argv[want]);
	ctl_argv_free(argv);
}

static void test_split_plain(void **state)
{
	const char *w[] = { "echo", "a", "b" };

	assert_split("echo a b", 3, w);
	assert_split("  echo\ta   b \n", 3, w);
}

static void test_split_empty(void **state)
{
	assert_split("", 0, NULL);
	assert_split("   \t ", 0, NULL);
}

static void test_split_single_quotes(void **state)
{
	const char *w[] = { "sh", "-c", "echo \"$HOME\" \\n; exit 7" };

	assert_split("sh -c 'echo \"$HOME\" \\n; exit 7'", 3, w);
}

static void test_split_double_quotes(void **state)
{
	const char *w[] = { "a b\"c\\$d`e\\f$HOME" };

	/* \\ \" \$ \` are escapes inside "...", other backslashes stay. */
	assert_split("\"a b\\\"c\\\\$d\\`e\\f$HOME\"", 1, w);
}

static void test_split_backslash(void **state)
{
	const char *w[] = { "a b", "'x'", "c" };

	assert_split("a\\ b \\'x\\' c", 3, w);
}

static void test_split_adjacent(void **state)
{
	const char *w[] = { "abcdef", "" };

	assert_split("ab'cd'\"ef\" ''", 2, w);
}

static void test_split_no_expansion(void **state)
{
	const char *w[] = { "*", "$X", "~", "a;b", "|" };

	assert_split("* $X ~ a;b |", 5, w);
}

static void test_split_errors(void **state)
{
	char **argv = NULL;

	assert_int_equal(ctl_split("echo 'abc", 9, 64, &argv), -EINVAL);
	assert_int_equal(ctl_split("echo \"abc", 9, 64, &argv), -EINVAL);
	assert_int_equal(ctl_split("echo abc\\", 9, 64, &argv), -EINVAL);
	assert_int_equal(ctl_split("a\0b", 3, 64, &argv), -EINVAL);
	assert_int_equal(ctl_split("a b c", 5, 2, &argv), -E2BIG);
}

static void test_parse_exec_implicit(void **state)
{
	struct ctl_cmd cmd;
	const char *line = "date -u";

	assert_int_equal(ctl_parse(line, strlen(line), &cmd), 0);
	assert_int_equal(cmd.verb, CTL_EXEC);
	assert_int_equal(cmd.argc, 2);
	assert_string_equal(cmd.argv[0], "date");
	assert_string_equal(cmd.argv[1], "-u");
	ctl_cmd_release(&cmd);
}

static void test_parse_exec_explicit(void **state)
{
	struct ctl_cmd cmd;
	const char *line = "exec sh -c 'echo hi'";

	assert_int_equal(ctl_parse(line, strlen(line), &cmd), 0);
	assert_int_equal(cmd.verb, CTL_EXEC);
	assert_int_equal(cmd.argc, 3);
	assert_string_equal(cmd.argv[0], "sh");
	assert_string_equal(cmd.argv[2], "echo hi");
	assert_null(cmd.argv[3]);
	ctl_cmd_release(&cmd);
}

static void test_parse_verbs(void **state)
{
	struct ctl_cmd cmd;

	assert_int_equal(ctl_parse("eof", 3, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_EOF);
	assert_int_equal(cmd.argc, 0);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("resize 80 24", 12, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_RESIZE);
	assert_string_equal(cmd.argv[1], "24");
	ctl_cmd_release(&cmd);
	/* Wrong arity. */
	assert_int_equal(ctl_parse("exec", 4, &cmd), -EINVAL);
	assert_int_equal(ctl_parse("kill 9", 6, &cmd), -EINVAL);
	assert_int_equal(ctl_parse("resize 80", 9, &cmd), -EINVAL);
	/* Blank and unbalanced lines. */
	assert_int_equal(ctl_parse("  ", 2, &cmd), -EINVAL);
	assert_int_equal(ctl_parse("echo 'x", 7, &cmd), -EINVAL);
	/* A quoted verb name is still that word. */
	assert_int_equal(ctl_parse("'eof'", 5, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_EOF);
	ctl_cmd_release(&cmd);
}

static void test_parse_args_checked(void **state)
{
	struct ctl_cmd cmd;
	const char *bad[] = {
		"tty 0 24",	"tty 80",   "tty 80 65536", "tty x y",
		"resize 80 -1", "env NOEQ", "env =v",	    "cwd rel/dir",
		"user a:b:c",	"user :1",  "user 1:",	    "user 'a b'",
		"signal NOPE",	"signal 0", "signal 65",    "merge x",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_parse(bad[i], strlen(bad[i]), &cmd),
				 -EINVAL);
		/* Every refusal says why. */
		assert_true(cmd.error[0] != '\0');
		assert_null(cmd.argv);
	}
	assert_int_equal(ctl_parse("tty 80 24", 9, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_TTY);
	assert_int_equal(cmd.cols, 80);
	assert_int_equal(cmd.rows, 24);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("tty", 3, &cmd), 0);
	assert_int_equal(cmd.cols, 0);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("env 'A=b c'", 11, &cmd), 0);
	assert_string_equal(cmd.argv[0], "A=b c");
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("user app:0", 10, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_USER);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("merge", 5, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_MERGE);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice 19", 7, &cmd), 0);
	assert_int_equal(cmd.verb, CTL_NICE);
	assert_int_equal(cmd.nice, 19);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice -20", 8, &cmd), 0);
	assert_int_equal(cmd.nice, -20);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice +3", 7, &cmd), 0);
	assert_int_equal(cmd.nice, 3);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice 20", 7, &cmd), -EINVAL);
	assert_string_equal(cmd.error,
			    "nice: want a number from -20 to 19, got \"20\"");
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice -", 6, &cmd), -EINVAL);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice 0x1", 8, &cmd), -EINVAL);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("nice 007", 8, &cmd), -EINVAL);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("kill", 4, &cmd), 0);
	assert_int_equal(cmd.signo, 9);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("signal sigterm", 14, &cmd), 0);
	assert_int_equal(cmd.signo, 15);
	ctl_cmd_release(&cmd);
	assert_int_equal(ctl_parse("kill 9", 6, &cmd), -EINVAL);
	assert_string_equal(cmd.error, "kill takes 0 arguments, got 1");
}

static void test_signals(void **state)
{
	assert_int_equal(ctl_signal_parse("TERM"), 15);
	assert_int_equal(ctl_signal_parse("SIGKILL"), 9);
	assert_int_equal(ctl_signal_parse("usr1"), 10);
	assert_int_equal(ctl_signal_parse("2"), 2);
	assert_int_equal(ctl_signal_parse("64"), 64);
	assert_int_equal(ctl_signal_parse("SIG"), -EINVAL);
	assert_int_equal(ctl_signal_parse("15x"), -EINVAL);
	assert_int_equal(ctl_signal_parse(""), -EINVAL);
	assert_string_equal(ctl_signal_name(15), "TERM");
	assert_string_equal(ctl_signal_name(28), "WINCH");
	assert_null(ctl_signal_name(40));
}

/* ctl_quote() is what execfs exec writes: ctl_split() must undo it. */
static void test_quote_round_trip(void **state)
{
	char *const words[] = {
		"sh",	"-c",	     "echo \"$HOME\" 'x' \\n", "", "a b",
		"it's", "tab\there", "plain/path-1.2_x=y",     "*"
	};
	size_t n = sizeof(words) / sizeof(words[0]), i;
	char *q = ctl_quote(words, n), **argv = NULL;

	assert_non_null(q);
	assert_int_equal(ctl_split(q, strlen(q), 64, &argv), (int)n);
	for (i = 0; i < n; i++)
		assert_string_equal(argv[i], words[i]);
	/* Safe words stay bare, others are single-quoted. */
	assert_non_null(strstr(q, " plain/path-1.2_x=y "));
	assert_non_null(strstr(q, "'it'\\''s'"));
	ctl_argv_free(argv);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_plain),
		cmocka_unit_test(test_split_empty),
		cmocka_unit_test(test_split_single_quotes),
		cmocka_unit_test(test_split_double_quotes),
		cmocka_unit_test(test_split_backslash),
		cmocka_unit_test(test_split_adjacent),
		cmocka_unit_test(test_split_no_expansion),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_parse_exec_implicit),
		cmocka_unit_test(test_parse_exec_explicit),
		cmocka_unit_test(test_parse_verbs),
		cmocka_unit_test(test_parse_args_checked),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_quote_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
