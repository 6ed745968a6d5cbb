/*
 * Unit tests for the agent's router (agent/server.c) and its answers
 * (agent/reply.c), through the agent test bench (harness/agent_harness.h)
 * with a mirror inventory of many containers with large annotations: a
 * container list of megabytes, more than a stream takes in one write.
 *
 *   - GET /v1/containers delivers the whole document, never a 200 with
 *     an empty or cut body;
 *   - the watch sends it whole too, and a watcher that does not read is
 *     sent only the newest list once it reads again, never a queue;
 *   - unknown paths and methods are answered 404 and 405.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "execfs/h2.h"
#include "execfs/proto.h"
#include "inventory.h"
#include "server.h"

/* 80 containers with a 64 KiB annotation each: over 5 MiB, where a
 * stream's outgoing buffer takes at most 4 MiB. */
#define BIG_COUNT 80
#define BIG_LABEL (64 * 1024)

/* A container list of n containers; tag goes into each annotation, so
 * two lists can be told apart. */
static char *big_inventory(size_t n, char tag)
{
	json_t *list = json_array();
	char *label = malloc(BIG_LABEL + 1), *text;
	size_t i;

	assert_non_null(label);
	memset(label, tag, BIG_LABEL);
	label[BIG_LABEL] = '\0';
	for (i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "c%zu", i);
		json_array_append_new(
			list, harness_container_json(
				      id, json_pack("{s:s}", "big", label)));
	}
	text = harness_inventory_text(list);
	free(label);
	return text;
}

/* One document of the body, starting at *pos: its containers, all
 * annotated with tag; *pos moves past its newline. */
static void assert_list(const char *body, size_t *pos, size_t n, char tag)
{
	const char *line = body + *pos, *nl = strchr(line, '\n');
	json_error_t jerr;
	json_t *doc, *list;
	size_t i;

	assert_non_null(nl);
	doc = json_loadb(line, (size_t)(nl - line), 0, &jerr);
	if (!doc)
		fail_msg("not JSON: %s", jerr.text);
	list = json_object_get(doc, EXECFS_J_CONTAINERS);
	assert_int_equal(json_array_size(list), n);
	for (i = 0; i < n; i++) {
		const char *l = json_string_value(
			json_object_get(json_object_get(json_array_get(list, i),
							EXECFS_J_LABELS),
					"big"));

		assert_non_null(l);
		assert_int_equal(strlen(l), BIG_LABEL);
		assert_int_equal(l[0], tag);
		assert_int_equal(l[BIG_LABEL - 1], tag);
	}
	json_decref(doc);
	*pos = (size_t)(nl + 1 - body);
}

static int setup(void **state)
{
	char *inv = big_inventory(BIG_COUNT, 'a');

	*state = harness_new(inv);
	free(inv);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

static void test_list_whole(void **state)
{
	struct harness *h = *state;
	struct hstream *s;
	size_t pos = 0;

	s = harness_open(h, "GET", EXECFS_PATH_CONTAINERS, NULL, NULL, -1,
			 true);
	HARNESS_UNTIL(h, s->closed);
	assert_int_equal(s->code, 0);
	assert_int_equal(s->status, 200);
	assert_true(s->ended);
	assert_true(hstream_len(s) > 4 * (size_t)H2_STREAM_HIWAT);
	assert_list(hstream_text(s), &pos, BIG_COUNT, 'a');
	assert_int_equal(pos, hstream_len(s));
}

/* The watch: the whole list, then, for a watcher that stopped reading
 * while the list changed twice, the newest list only. */
static void test_watch_newest_only(void **state)
{
	struct harness *h = *state;
	char *inv, err[256];
	struct hstream *s;
	size_t pos = 0, first;
	const char *body;

	s = harness_open(h, "GET", EXECFS_PATH_WATCH, NULL, NULL, -1, true);
	s->consume = false;
	HARNESS_UNTIL(h, s->status == 200 && hstream_len(s) > 0);
	harness_settle(h);
	first = hstream_len(s);
	assert_true(first < 4 * (size_t)H2_STREAM_HIWAT);

	inv = big_inventory(BIG_COUNT + 1, 'b');
	assert_int_equal(inventory_mirror_load(h->inv, inv, strlen(inv), err,
					       sizeof(err)),
			 0);
	free(inv);
	server_inventory_changed(h->srv);
	inv = big_inventory(BIG_COUNT + 2, 'c');
	assert_int_equal(inventory_mirror_load(h->inv, inv, strlen(inv), err,
					       sizeof(err)),
			 0);
	free(inv);
	server_inventory_changed(h->srv);
	harness_settle(h);
	assert_int_equal(hstream_len(s), first);

	/* It reads again: the first list, whole, then the newest. */
	harness_wait_begin(h);
	for (;;) {
		body = hstream_text(s);
		if (strchr(body, '\n') && strchr(strchr(body, '\n') + 1, '\n'))
			break;
		hstream_consume_all(s);
		harness_step(h, "two lines of the watch");
	}
	harness_wait_end(h);
	hstream_consume_all(s);
	harness_settle(h);
	body = hstream_text(s);
	assert_list(body, &pos, BIG_COUNT, 'a');
	assert_list(body, &pos, BIG_COUNT + 2, 'c');
	assert_int_equal(pos, hstream_len(s));
	assert_false(s->closed);
}

static void test_bad_requests(void **state)
{
	struct harness *h = *state;
	struct hstream *post, *nopath;

	post = harness_open(h, "POST", EXECFS_PATH_CONTAINERS, NULL, NULL, -1,
			    true);
	nopath = harness_open(h, "GET", "/v1/nothing", NULL, NULL, -1, true);
	HARNESS_UNTIL(h, post->closed && nopath->closed);
	assert_int_equal(post->status, 405);
	assert_int_equal(nopath->status, 404);
	assert_string_equal(hstream_text(nopath),
			    "{\"message\":\"no such path\"}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_whole, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch_newest_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
