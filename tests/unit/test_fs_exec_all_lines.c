/*
 * Unit tests for the output of `execfs exec --all`: line prefixing and
 * JSON records (fs/exec_lines.c), and the names targets are shown by
 * (exec_all_target_name in fs/exec_all.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "exec_all.h"
#include "exec_lines.h"

/* What the emit callback was given, and how many calls. */
struct got {
	char *buf;
	size_t len;
	int calls;
};

static void collect(void *arg, const char *buf, size_t len)
{
	struct got *g = arg;

	g->buf = realloc(g->buf, g->len + len + 1);
	assert_non_null(g->buf);
	memcpy(g->buf + g->len, buf, len);
	g->len += len;
	g->buf[g->len] = '\0';
	g->calls++;
}

static void feed_str(struct exec_lines *l, const char *s)
{
	assert_int_equal(exec_lines_feed(l, s, strlen(s)), 0);
}

static void test_text_prefix(void **state)
{
	struct got g = { 0 };
	struct exec_lines *l;

	(void)state;
	l = exec_lines_new(EXEC_LINES_TEXT, "n3/prod/api-7/app", "stdout",
			   collect, &g);
	assert_non_null(l);
	/* A line split over reads is held until its newline; one feed
	 * completing two lines emits them in one call. */
	feed_str(l, "hel");
	assert_int_equal(g.calls, 0);
	feed_str(l, "lo\nworld\n\nlast");
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.buf, "n3/prod/api-7/app: hello\n"
				   "n3/prod/api-7/app: world\n"
				   "n3/prod/api-7/app: \n");
	/* The end flushes the partial last line, with a newline added. */
	assert_int_equal(exec_lines_end(l), 0);
	assert_string_equal(g.buf + strlen(g.buf) - 24,
			    "n3/prod/api-7/app: last\n");
	/* An end with nothing pending emits nothing. */
	g.calls = 0;
	assert_int_equal(exec_lines_end(l), 0);
	assert_int_equal(g.calls, 0);
	exec_lines_free(l);
	free(g.buf);
}

static void test_text_binary_passes(void **state)
{
	struct got g = { 0 };
	struct exec_lines *l;
	const char bytes[] = { 'a', '\0', '\xff', 'b', '\n' };

	(void)state;
	l = exec_lines_new(EXEC_LINES_TEXT, "t", "stderr", collect, &g);
	assert_non_null(l);
	assert_int_equal(exec_lines_feed(l, bytes, sizeof(bytes)), 0);
	assert_int_equal(g.len, 3 + sizeof(bytes));
	assert_memory_equal(g.buf, "t: ", 3);
	assert_memory_equal(g.buf + 3, bytes, sizeof(bytes));
	exec_lines_free(l);
	free(g.buf);
}

static void test_text_long_line(void **state)
{
	struct got g = { 0 };
	struct exec_lines *l;
	size_t n = EXEC_LINES_MAX * 2 + 10, i, lines = 0;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\n';
	l = exec_lines_new(EXEC_LINES_TEXT, "t", "stdout", collect, &g);
	assert_non_null(l);
	assert_int_equal(exec_lines_feed(l, big, n + 1), 0);
	/* Two full pieces and the rest, each with the prefix. */
	for (i = 0; i < g.len; i++)
		lines += g.buf[i] == '\n';
	assert_int_equal(lines, 3);
	assert_int_equal(g.len, n + 3 * strlen("t: ") + 3);
	assert_memory_equal(g.buf + 3 + EXEC_LINES_MAX, "\nt: x", 5);
	exec_lines_free(l);
	free(big);
	free(g.buf);
}

static void test_text_control_in_name(void **state)
{
	struct got g = { 0 };
	struct exec_lines *l;
	char safe[32];

	(void)state;
	/* A container named with a newline cannot forge another line. */
	l = exec_lines_new(EXEC_LINES_TEXT, "n1/ns/p\nn2/x/y/z", "stdout",
			   collect, &g);
	assert_non_null(l);
	feed_str(l, "hi\n");
	assert_string_equal(g.buf, "n1/ns/p?n2/x/y/z: hi\n");
	exec_lines_safe_name("a\tb\x7f", safe, sizeof(safe));
	assert_string_equal(safe, "a?b?");
	exec_lines_safe_name("abcdef", safe, 4);
	assert_string_equal(safe, "abc");
	exec_lines_free(l);
	free(g.buf);
}

/* Parse the records in g, one per line; returns how many. */
static size_t json_records(struct got *g, json_t **recs, size_t max)
{
	char *line = g->buf, *nl;
	size_t n = 0;

	while (line && *line && (nl = strchr(line, '\n'))) {
		json_error_t err;

		assert_true(n < max);
		recs[n] = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL,
				     &err);
		assert_non_null(recs[n]);
		n++;
		line = nl + 1;
	}
	return n;
}

static void test_json(void **state)
{
	struct got g = { 0 };
	struct exec_lines *l;
	json_t *r[8];
	const char bytes[] = { 'o', 'k', '\xff', '\n', 'e', '\0', 'n', 'd' };
	size_t n, i;

	(void)state;
	l = exec_lines_new(EXEC_LINES_JSON, "n1/default/web-1/nginx", "stderr",
			   collect, &g);
	assert_non_null(l);
	feed_str(l, "caf\xc3\xa9 \"q\"\n");
	assert_int_equal(exec_lines_feed(l, bytes, sizeof(bytes)), 0);
	assert_int_equal(exec_lines_end(l), 0);
	n = json_records(&g, r, 8);
	assert_int_equal(n, 3);
	assert_string_equal(json_string_value(json_object_get(r[0], "target")),
			    "n1/default/web-1/nginx");
	assert_string_equal(json_string_value(json_object_get(r[0], "stream")),
			    "stderr");
	/* UTF-8 stays text, newline included. */
	assert_string_equal(json_string_value(json_object_get(r[0], "data")),
			    "caf\xc3\xa9 \"q\"\n");
	/* Not UTF-8: base64 of the exact bytes ("ok\xff\n"). */
	assert_null(json_object_get(r[1], "data"));
	assert_string_equal(
		json_string_value(json_object_get(r[1], "data_base64")),
		"b2v/Cg==");
	/* A NUL is valid UTF-8; the last line keeps its lack of newline. */
	assert_int_equal(json_string_length(json_object_get(r[2], "data")), 4);
	assert_memory_equal(json_string_value(json_object_get(r[2], "data")),
			    "e\0nd", 4);
	for (i = 0; i < n; i++)
		json_decref(r[i]);
	exec_lines_free(l);
	free(g.buf);
}

static void test_json_end(void **state)
{
	char *s;
	json_t *v;
	json_error_t err;

	(void)state;
	s = exec_lines_json_end("n1/a/b/c", 3, "exited 3\n", NULL);
	assert_string_equal(s, "{\"target\":\"n1/a/b/c\",\"exit\":3,"
			       "\"status\":\"exited 3\"}\n");
	free(s);
	/* A reason that is not UTF-8 still gives valid JSON. */
	s = exec_lines_json_end("n1/a/b/c", 125, NULL, "bad \xff byte");
	v = json_loads(s, 0, &err);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
			    "bad ? byte");
	assert_int_equal(json_integer_value(json_object_get(v, "exit")), 125);
	assert_null(json_object_get(v, "status"));
	json_decref(v);
	free(s);
}

static void test_target_name(void **state)
{
	char *s;

	(void)state;
	s = exec_all_target_name("/exec/n3/prod/api-7/app");
	assert_string_equal(s, "n3/prod/api-7/app");
	free(s);
	s = exec_all_target_name("/mnt/deep/er/exec/n3/prod/api-7/app///");
	assert_string_equal(s, "n3/prod/api-7/app");
	free(s);
	s = exec_all_target_name("n3/prod/api-7/app");
	assert_string_equal(s, "n3/prod/api-7/app");
	free(s);
	s = exec_all_target_name("prod/api-7/app");
	assert_string_equal(s, "prod/api-7/app");
	free(s);
	/* ".." is resolved (here: a path that exists everywhere). */
	s = exec_all_target_name("/usr/share/../bin/../lib/../share");
	assert_string_equal(s, "usr/share");
	free(s);
}

static void test_wanted(void **state)
{
	char *a[] = { "exec", "--json", "--all", "g", "--", "true", NULL };
	char *b[] = { "exec", "--max-parallel", "8", "--all", "g", "--", "x",
		      NULL };
	char *c[] = { "exec", "dir", "--", "--all", NULL };
	char *d[] = { "exec", "-i", "dir", "--all", NULL };

	(void)state;
	assert_true(exec_all_wanted(6, a));
	assert_true(exec_all_wanted(7, b));
	/* --all as the command's argument is not ours. */
	assert_false(exec_all_wanted(4, c));
	assert_false(exec_all_wanted(4, d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_prefix),
		cmocka_unit_test(test_text_binary_passes),
		cmocka_unit_test(test_text_long_line),
		cmocka_unit_test(test_text_control_in_name),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_end),
		cmocka_unit_test(test_target_name),
		cmocka_unit_test(test_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
