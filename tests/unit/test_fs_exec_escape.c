/*
 * Unit tests for the escape of `execfs exec -t` (fs/exec_escape.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "exec_escape.h"

/* Feed text in one call; out gets what passes, NUL-terminated. */
static int feed(struct exec_escape *e, const char *text, char *out,
		size_t outsize)
{
	size_t k;
	int rc = exec_escape_feed(e, text, strlen(text), out, outsize - 1, &k);

	out[k] = '\0';
	return rc;
}

static void test_rules(void **state)
{
	struct exec_escape e;
	char out[64];

	(void)state;
	exec_escape_init(&e, '~');
	assert_int_equal(feed(&e, "ls\n", out, sizeof(out)), 0);
	assert_string_equal(out, "ls\n");
	/* At a line start: ~~ sends one, ~x both. */
	assert_int_equal(feed(&e, "~~a\n~x\n", out, sizeof(out)), 0);
	assert_string_equal(out, "~a\n~x\n");
	/* Mid-line it is an ordinary byte. */
	assert_int_equal(feed(&e, "a~.\n", out, sizeof(out)), 0);
	assert_string_equal(out, "a~.\n");
	/* ~. at a line start closes; what came before it passes. */
	assert_int_equal(feed(&e, "echo\r~.rest", out, sizeof(out)), 1);
	assert_string_equal(out, "echo\r");

	/* Held back across calls. */
	exec_escape_init(&e, '~');
	assert_int_equal(feed(&e, "a\n~", out, sizeof(out)), 0);
	assert_string_equal(out, "a\n");
	assert_int_equal(feed(&e, "b", out, sizeof(out)), 0);
	assert_string_equal(out, "~b");
	assert_int_equal(feed(&e, "\n~", out, sizeof(out)), 0);
	assert_int_equal(feed(&e, ".", out, sizeof(out)), 1);
	assert_string_equal(out, "");

	/* No escape: every byte passes. */
	exec_escape_init(&e, -1);
	assert_int_equal(feed(&e, "~.\n~~", out, sizeof(out)), 0);
	assert_string_equal(out, "~.\n~~");
}

/* A read that fills the room exactly after a held escape loses nothing
 * (the last byte used to be dropped), and too little room is refused. */
static void test_room(void **state)
{
	enum { ROOM = 65536 };
	struct exec_escape e;
	char *in = malloc(ROOM), *out = malloc(ROOM);
	size_t k, i;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	memset(in, 'x', ROOM);
	in[ROOM - 3] = '\n';
	in[ROOM - 2] = '~';
	exec_escape_init(&e, '~');
	/* The caller reads at most the room less one. */
	assert_int_equal(exec_escape_feed(&e, in, ROOM - 1, out, ROOM, &k), 0);
	assert_int_equal(k, ROOM - 2); /* the ~ is held */
	memset(in, 'y', ROOM);
	assert_int_equal(exec_escape_feed(&e, in, ROOM - 1, out, ROOM, &k), 0);
	assert_int_equal(k, ROOM);
	assert_int_equal(out[0], '~');
	for (i = 1; i < ROOM; i++)
		assert_int_equal(out[i], 'y');
	assert_int_equal(exec_escape_feed(&e, in, 10, out, 10, &k), -1);
	assert_int_equal(k, 0);
	free(in);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
