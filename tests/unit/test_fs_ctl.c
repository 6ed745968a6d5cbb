/*
 * Unit tests for the ctl grammar (fs/ctl.c): shell-like splitting without
 * expansion, and the verb table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
