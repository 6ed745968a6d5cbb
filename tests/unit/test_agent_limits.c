/*
 * Unit tests of what one peer identity can see and hold in the agent
 * (agent/server.c, agent/admit.c, agent/session_in.c), through the agent
 * test bench (harness/agent_harness.h): real h2 streams to the real router
 * and session table, a fake launcher.
 *
 *   - the container list and the watch show only the containers a rule
 *     lets the peer exec into; a start in another one is answered as for
 *     a container that does not exist (404); a policy change reaches the
 *     watch;
 *   - sessions count against the identity's limit from their first
 *     stream: status streams whose request never completes hold the
 *     limit, and one that goes frees its place;
 *   - a stdin re-attached from new connections, for a process that does
 *     not read, cannot grow the agent's buffer past its cap: the stream
 *     is reset;
 *   - the listener's caps (transport/limits.c): connections of one peer
 *     beyond the cap are closed, streams beyond it reset with
 *     REFUSED_STREAM, and a place frees when one goes; watches per
 *     connection and exec requests under way per identity are capped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_harness.h"
#include "execfs/h2.h"
#include "execfs/proto.h"
#include "session.h"

#define SID "00112233445566778899aabbccddeeff"

/* Only the container named c1 (in pod c1). */
static const char only_c1[] =
	"{\"rules\": [{\"principals\": [\"uid:*\"], \"containers\": [\"c1\"], "
	"\"actions\": [\"exec\"]}]}";
/* A rule for another identity only. */
static const char nobody[] =
	"{\"rules\": [{\"principals\": [\"dns:ops.example\"], "
	"\"actions\": [\"exec\"]}]}";

static int setup(void **state)
{
	char *inv = harness_inventory_text(
		json_pack("[o, o, o]", harness_container_json("c1", NULL),
			  harness_container_json("c2", NULL),
			  harness_container_json("c3", NULL)));

	*state = harness_new(inv);
	free(inv);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

/* The ids of one list document, comma-separated: "c1,c2". */
static void list_ids(const char *line, size_t len, char *out, size_t outlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(line, len, 0, &jerr), *c;
	size_t i, n = 0;

	if (!doc)
		fail_msg("not JSON: %s", jerr.text);
	out[0] = '\0';
	json_array_foreach(json_object_get(doc, EXECFS_J_CONTAINERS), i, c)
		n += (size_t)snprintf(
			out + n, outlen - n, "%s%s", n ? "," : "",
			json_string_value(json_object_get(c, EXECFS_J_ID)));
	json_decref(doc);
}

/* The exec request of sh in container, and the end of the body. */
static void send_exec(struct hstream *st, const char *container)
{
	char req[128];

	snprintf(req, sizeof(req),
		 "{\"container\": \"%s\", \"argv\": [\"sh\"]}", container);
	hstream_send(st, req, strlen(req));
	hstream_end(st);
}

static void get_list(struct harness *h, char *ids, size_t len)
{
	struct hstream *s = harness_open(h, "GET", EXECFS_PATH_CONTAINERS, NULL,
					 NULL, -1, true);

	HARNESS_UNTIL(h, s->ended);
	assert_int_equal(s->status, 200);
	list_ids(hstream_text(s), hstream_len(s), ids, len);
}

/* The n-th line of a watch (0 first), once it came. */
static void watch_line(struct harness *h, struct hstream *w, unsigned n,
		       char *ids, size_t len)
{
	const char *text, *line;
	unsigned i;

	for (;;) {
		text = hstream_text(w);
		line = text;
		for (i = 0; i < n && line; i++) {
			line = strchr(line, '\n');
			line = line ? line + 1 : NULL;
		}
		if (line && strchr(line, '\n'))
			break;
		harness_wait_begin(h);
		harness_step(h, "a watch line");
		harness_wait_end(h);
	}
	list_ids(line, (size_t)(strchr(line, '\n') - line), ids, len);
}

static void test_list_shows_what_may_be_entered(void **state)
{
	struct harness *h = *state;
	struct hstream *w, *st;
	char ids[128];

	harness_set_policy(h, only_c1);
	get_list(h, ids, sizeof(ids));
	assert_string_equal(ids, "c1");

	w = harness_open(h, "GET", EXECFS_PATH_WATCH, NULL, NULL, -1, true);
	watch_line(h, w, 0, ids, sizeof(ids));
	assert_string_equal(ids, "c1");

	/* c2 exists, but not for this peer: answered as unknown. */
	st = harness_open(h, "POST", NULL, SID, EXECFS_ST_STATUS, -1, false);
	send_exec(st, "c2");
	HARNESS_UNTIL(h, st->ended || st->closed);
	assert_int_equal(st->status, 404);
	assert_non_null(strstr(hstream_text(st), "no container c2"));
	assert_int_equal(h->njobs, 0);

	/* A reload that takes every rule away empties the watch; one that
	 * gives them back fills it. */
	harness_set_policy(h, nobody);
	watch_line(h, w, 1, ids, sizeof(ids));
	assert_string_equal(ids, "");
	get_list(h, ids, sizeof(ids));
	assert_string_equal(ids, "");
	harness_set_policy(h, "{\"rules\": [{\"principals\": [\"uid:*\"], "
			      "\"actions\": [\"exec\"]}]}");
	watch_line(h, w, 2, ids, sizeof(ids));
	assert_string_equal(ids, "c1,c2,c3");
}

/* A privileged container needs exec_privileged to be seen. */
static void test_privileged_needs_its_action(void **state)
{
	struct harness *h = *state;
	json_t *c = harness_container_json("p1", NULL);
	char *inv, ids[128];

	json_object_set_new(c, EXECFS_J_PRIVILEGED, json_true());
	inv = harness_inventory_text(
		json_pack("[o, o]", harness_container_json("c1", NULL), c));
	harness_free(h);
	*state = h = harness_new(inv);
	free(inv);
	get_list(h, ids, sizeof(ids));
	assert_string_equal(ids, "c1");
	harness_set_policy(h, "{\"rules\": [{\"principals\": [\"uid:*\"], "
			      "\"actions\": [\"exec_privileged\"]}]}");
	get_list(h, ids, sizeof(ids));
	assert_string_equal(ids, "p1");
}

static void sid_of(unsigned i, char *sid)
{
	snprintf(sid, EXECFS_SID_LEN + 1, "%032x", i + 1);
}

/* Status streams whose request never completes count: the limit is
 * reached without a single start. */
static void test_limit_from_first_stream(void **state)
{
	struct harness *h = *state;
	struct hstream *st[4], *over, *again;
	char sid[EXECFS_SID_LEN + 1];
	unsigned i;

	xsession_table_set_limit(h->table, 3);
	for (i = 0; i < 3; i++) {
		sid_of(i, sid);
		st[i] = harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1,
				     false);
		hstream_send(st[i], "{\"container\"", 12);
	}
	harness_settle(h);
	sid_of(3, sid);
	over = harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1, false);
	HARNESS_UNTIL(h, over->closed || over->ended);
	assert_int_equal(over->status, 503);
	assert_non_null(strstr(hstream_text(over), "the agent's limit"));
	assert_int_equal(h->njobs, 0);

	/* One goes: its place is free again. */
	h2_stream_reset(st[0]->st, H2_CANCEL);
	HARNESS_UNTIL(h, st[0]->closed);
	sid_of(4, sid);
	again = harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1, false);
	send_exec(again, "c1");
	HARNESS_UNTIL(h, h->njobs == 1);
	for (i = 1; i < 3; i++)
		assert_false(st[i]->closed);
}

/* Stdin for a process that never reads, sent again and again from new
 * connections, each with a fresh window: the agent's buffer stops at its
 * cap (two grown windows and two initial ones, 8.5 MiB) and the stream
 * is reset. */
static void test_stdin_resume_bounded(void **state)
{
	struct harness *h = *state;
	const size_t cap = 2 * (H2_BULK_WINDOW + 256 * 1024);
	unsigned long long offset = 0;
	struct hstream *status, *in = NULL;
	static char chunk[16384];
	struct fake_job *j;
	unsigned round;
	size_t room;

	memset(chunk, 'x', sizeof(chunk));
	status = harness_exec(h, SID, "cat", false);
	HARNESS_UNTIL(h, h->njobs == 1);
	j = harness_job(h);
	fake_job_start(j);
	fake_job_exec_ok(j);
	HARNESS_UNTIL(h, status->status == 200);
	/* Each round sends what the new stream's window takes. Enough
	 * rounds to pass the cap many times over if nothing stopped it. */
	for (round = 0; round < 200; round++) {
		in = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN,
				  (long long)offset, false);
		for (;;) {
			room = in->st && !in->status ?
				       h2_stream_write_space(in->st) :
				       0;
			if (room == 0) {
				harness_settle(h);
				room = in->st ? h2_stream_write_space(in->st) :
						0;
				if (room == 0)
					break;
			}
			if (room > sizeof(chunk))
				room = sizeof(chunk);
			hstream_send(in, chunk, room);
			offset += room;
		}
		harness_settle(h);
		if (in->closed || in->status)
			break;
		/* What the client still holds never left: the next stream
		 * starts there. */
		offset -= h2_stream_buffered(in->st);
		harness_drop_client(h);
		harness_settle(h);
		harness_connect(h);
	}
	assert_true(in->closed);
	assert_int_equal(in->code, H2_ENHANCE_YOUR_CALM);
	/* The pipe (at most 1 MiB grown) and the cap hold what got in. */
	assert_true(offset <= cap + 1024 * 1024 + 2 * H2_BULK_WINDOW);
}

struct raw_client {
	bool closed;
};

static void raw_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct raw_client *r = arg;

	(void)c;
	(void)reason;
	r->closed = true;
}

static const struct h2_conn_cbs raw_cbs = { .on_close = raw_on_close };

static void test_conns_per_peer(void **state)
{
	struct harness *h = *state;
	struct h2_limits lim = { .conns_per_peer = 2 };
	struct raw_client r = { false };
	struct h2_conn *third;
	struct hstream *st;
	char err[256];

	h2_listener_set_limits(h->l, &lim);
	harness_connect(h); /* the second */
	third = h2_connect(h->base, NULL, h->addr, NULL, NULL, &raw_cbs, &r,
			   err, sizeof(err));
	assert_non_null(third);
	HARNESS_UNTIL(h, r.closed);
	/* The two are served. */
	st = harness_open(h, "GET", EXECFS_PATH_CONTAINERS, NULL, NULL, -1,
			  true);
	HARNESS_UNTIL(h, st->ended);
	assert_int_equal(st->status, 200);
	/* One goes: another may come. */
	harness_drop_client(h);
	harness_settle(h);
	harness_connect(h);
	st = harness_open(h, "GET", EXECFS_PATH_CONTAINERS, NULL, NULL, -1,
			  true);
	HARNESS_UNTIL(h, st->ended);
	assert_int_equal(st->status, 200);
}

static void test_streams_per_peer(void **state)
{
	struct harness *h = *state;
	struct h2_limits lim = { .streams_per_peer = 3 };
	struct hstream *st[3], *over, *again;
	char sid[EXECFS_SID_LEN + 1];
	unsigned i;

	h2_listener_set_limits(h->l, &lim);
	for (i = 0; i < 3; i++) {
		sid_of(i, sid);
		st[i] = harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1,
				     false);
	}
	harness_settle(h);
	over = harness_open(h, "GET", EXECFS_PATH_CONTAINERS, NULL, NULL, -1,
			    true);
	HARNESS_UNTIL(h, over->closed);
	assert_int_equal(over->code, H2_REFUSED_STREAM);
	assert_int_equal(over->status, 0);
	h2_stream_reset(st[0]->st, H2_CANCEL);
	HARNESS_UNTIL(h, st[0]->closed);
	again = harness_open(h, "GET", EXECFS_PATH_CONTAINERS, NULL, NULL, -1,
			     true);
	HARNESS_UNTIL(h, again->ended);
	assert_int_equal(again->status, 200);
}

static void test_watches_and_requests(void **state)
{
	struct harness *h = *state;
	struct hstream *w[3], *st = NULL;
	char sid[EXECFS_SID_LEN + 1];
	unsigned i;

	for (i = 0; i < 3; i++)
		w[i] = harness_open(h, "GET", EXECFS_PATH_WATCH, NULL, NULL, -1,
				    true);
	HARNESS_UNTIL(h, w[2]->closed);
	assert_int_equal(w[2]->status, 503);
	assert_int_equal(w[0]->status, 200);
	assert_int_equal(w[1]->status, 200);

	/* Requests that never complete: at most 256 at a time. */
	for (i = 0; i < 257; i++) {
		sid_of(i, sid);
		st = harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1,
				  false);
		hstream_send(st, "{", 1);
	}
	HARNESS_UNTIL(h, st->ended || st->closed);
	assert_int_equal(st->status, 503);
	assert_non_null(strstr(hstream_text(st), "requests under way"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_list_shows_what_may_be_entered, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_privileged_needs_its_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_from_first_stream,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin_resume_bounded,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_conns_per_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_streams_per_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watches_and_requests,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
