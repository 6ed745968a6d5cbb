/*
 * Unit tests of the audit lines the session code writes (agent/admit.c,
 * agent/session*.c), through the agent test bench
 * (harness/agent_harness.h) with a real audit file:
 *
 *   - a start line with the request's environment, signal (sent and
 *     refused), resize (a repeated size once), resume (a stream from
 *     another connection than the start's), end;
 *   - refused lines for an unknown container, a malformed request, the
 *     identity's limit;
 *   - with the audit required, a start whose line cannot be written
 *     (/dev/full) fails with EIO and nothing is started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_harness.h"
#include "execfs/h2.h"
#include "execfs/proto.h"
#include "session.h"

#define SID "00112233445566778899aabbccddeeff"

struct fixture {
	struct harness *h;
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = harness_new(NULL);
	snprintf(f->path, sizeof(f->path), "%s/audit.log", f->h->dir);
	harness_set_audit(f->h, f->path, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	harness_free(f->h);
	free(f);
	return 0;
}

/* The audit lines of event (and, kind not NULL, of that "kind"), in
 * order: a new array. */
static json_t *lines_of(const char *path, const char *event, const char *kind)
{
	json_t *out = json_array();
	char line[8192];
	FILE *f = fopen(path, "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t jerr;
		json_t *doc = json_loads(line, 0, &jerr);

		if (!doc)
			fail_msg("audit line is not JSON: %s", line);
		if (!strcmp(json_string_value(json_object_get(doc, "event")),
			    event) &&
		    (!kind ||
		     !strcmp(json_string_value(json_object_get(doc, "kind")) ?:
									       "",
			     kind)))
			json_array_append(out, doc);
		json_decref(doc);
	}
	fclose(f);
	return out;
}

static const char *field(json_t *line, const char *name)
{
	return json_string_value(json_object_get(line, name));
}

static struct hstream *exec_raw(struct harness *h, const char *sid,
				const char *body)
{
	struct hstream *st =
		harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1, false);

	hstream_send(st, body, strlen(body));
	hstream_end(st);
	return st;
}

static struct hstream *ctl(struct harness *h, const char *type,
			   const char *body)
{
	struct hstream *s = harness_open(h, "POST", NULL, SID, type, -1, false);

	hstream_send(s, body, strlen(body));
	hstream_end(s);
	return s;
}

static void test_session_lines(void **state)
{
	struct fixture *f = *state;
	struct harness *h = f->h;
	struct hstream *st, *sig, *bad, *rsz, *again;
	struct fake_job *j;
	json_t *l;

	st = exec_raw(
		h, SID,
		"{\"container\": \"c1\", \"argv\": [\"sh\"], \"tty\": true, "
		"\"env\": [\"TERM=xterm\", \"A=1\"]}");
	HARNESS_UNTIL(h, h->njobs == 1);
	j = harness_job(h);
	fake_job_start(j);
	fake_job_exec_ok(j);
	HARNESS_UNTIL(h, st->status == 200);
	l = lines_of(f->path, "start", NULL);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(
		json_string_value(json_array_get(
			json_object_get(json_array_get(l, 0), "env"), 1)),
		"A=1");
	json_decref(l);

	sig = ctl(h, EXECFS_ST_SIGNAL, "TERM");
	HARNESS_UNTIL(h, j->nsignals == 1);
	fake_job_answer_signal(j, 0);
	HARNESS_UNTIL(h, sig->ended);
	bad = ctl(h, EXECFS_ST_SIGNAL, "NOSUCH");
	HARNESS_UNTIL(h, bad->ended || bad->closed);
	l = lines_of(f->path, "signal", NULL);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(field(json_array_get(l, 0), "signal"), "TERM");
	assert_true(
		json_is_true(json_object_get(json_array_get(l, 0), "sent")));
	assert_true(
		json_is_false(json_object_get(json_array_get(l, 1), "sent")));
	json_decref(l);

	rsz = ctl(h, EXECFS_ST_RESIZE, "100 40\n100 40\n120 50\n");
	HARNESS_UNTIL(h, rsz->ended || rsz->closed);
	l = lines_of(f->path, "resize", NULL);
	assert_int_equal(json_array_size(l), 2);
	assert_int_equal(json_integer_value(
				 json_object_get(json_array_get(l, 1), "cols")),
			 120);
	json_decref(l);

	/* From a new connection: a resume. */
	harness_connect(h);
	again = harness_open(h, "GET", NULL, SID, EXECFS_ST_STATUS, -1, true);
	HARNESS_UNTIL(h, again->status == 200);
	l = lines_of(f->path, "resume", NULL);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(field(json_array_get(l, 0), "stream"),
			    EXECFS_ST_STATUS);
	assert_string_equal(field(json_array_get(l, 0), "session"), SID);
	json_decref(l);

	fake_job_exit(j, SIGKILL);
	HARNESS_UNTIL(h, again->ended);
	l = lines_of(f->path, "end", NULL);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(field(json_array_get(l, 0), "state"), "killed");
	json_decref(l);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct harness *h = f->h;
	struct hstream *st[4];
	json_t *l;

	st[0] = exec_raw(h, "00000000000000000000000000000001",
			 "{\"container\": \"nosuch\", \"argv\": [\"sh\"]}");
	st[1] = exec_raw(h, "00000000000000000000000000000002",
			 "{\"container\": 7}");
	HARNESS_UNTIL(h, st[0]->closed && st[1]->closed);
	assert_int_equal(st[0]->status, 404);
	assert_int_equal(st[1]->status, 400);
	xsession_table_set_limit(h->table, 1);
	st[2] = harness_open(h, "POST", NULL,
			     "00000000000000000000000000000003",
			     EXECFS_ST_STATUS, -1, false);
	harness_settle(h);
	st[3] = exec_raw(h, "00000000000000000000000000000004",
			 "{\"container\": \"c1\", \"argv\": [\"sh\"]}");
	HARNESS_UNTIL(h, st[3]->closed);
	assert_int_equal(st[3]->status, 503);
	assert_int_equal(h->njobs, 0);

	l = lines_of(f->path, "refused", "unknown_container");
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(field(json_array_get(l, 0), "container"), "nosuch");
	json_decref(l);
	l = lines_of(f->path, "refused", "malformed_request");
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	l = lines_of(f->path, "refused", "over_limit");
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(field(json_array_get(l, 0), "session"),
			    "00000000000000000000000000000004");
	json_decref(l);
	/* Nothing started, nothing ended. */
	l = lines_of(f->path, "start", NULL);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
}

/* A start line that cannot be written: the start is not made. */
static void test_required(void **state)
{
	struct fixture *f = *state;
	struct harness *h = f->h;
	struct hstream *st;

	harness_set_audit(h, "/dev/full", true);
	st = harness_exec(h, SID, "sh", false);
	HARNESS_UNTIL(h, st->closed);
	assert_int_equal(st->status, 500);
	assert_non_null(strstr(hstream_text(st), "audit"));
	assert_int_equal(h->njobs, 0);

	/* Not required: the start goes on, the failure is a log line. */
	harness_set_audit(h, "/dev/full", false);
	st = harness_exec(h, "00000000000000000000000000000001", "sh", false);
	HARNESS_UNTIL(h, h->njobs == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_required, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
