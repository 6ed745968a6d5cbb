/*
 * Unit tests for the agent's stdout/stderr half (agent/session_out.c),
 * through the agent test bench (harness/agent_harness.h): real h2
 * streams to the real router and session table, a fake launcher whose
 * process output is a real pipe the test writes.
 *
 *   - flow control: a client that stops reading stops the pipe, with at
 *     most H2_STREAM_STALLED bytes beyond what reached it; every byte
 *     arrives once and in order when it reads again;
 *   - resume: bytes a lost connection may not have delivered are held and
 *     sent again from the client's offset, from a new connection, whether
 *     the agent saw the old one go or not; offsets it no longer has are
 *     refused (416, ERANGE); a second stream on the same connection is
 *     refused (409);
 *   - a session goes once its process ended and its streams closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "execfs/h2.h"
#include "execfs/proto.h"

#define SID "0123456789abcdef0123456789abcdef"
/* The initial window a client stream gives the agent (no WINDOW_UPDATE
 * until the client consumes). */
#define WINDOW (256 * 1024)

/* The process's output: no short period, so a byte in the wrong place
 * shows. */
static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 10) + (i >> 20));
}

/* Write pattern bytes [*off, end) into fd until it is full. */
static size_t write_pattern(int fd, size_t *off, size_t end)
{
	uint8_t buf[16384];
	size_t n, i, put = 0;
	ssize_t w;

	while (*off < end) {
		n = end - *off < sizeof(buf) ? end - *off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pat(*off + i);
		w = write(fd, buf, n);
		if (w < 0 && errno == EAGAIN)
			break;
		assert_true(w > 0);
		*off += (size_t)w;
		put += (size_t)w;
	}
	return put;
}

/* All of the pattern's bytes [*off, end) into the process's stdout,
 * running the loop while the pipe is full. */
static void put_pattern(struct harness *h, struct fake_job *j, size_t *off,
			size_t end)
{
	while (*off < end)
		if (write_pattern(j->out_wr, off, end) == 0) {
			harness_wait_begin(h);
			harness_step(h, "room in the stdout pipe");
			harness_wait_end(h);
		}
}

/* body holds the pattern's bytes [from, from + length). */
static void assert_pattern(struct hstream *s, size_t from)
{
	size_t n = hstream_len(s), i;
	const uint8_t *b = evbuffer_pullup(s->body, -1);

	for (i = 0; i < n; i++)
		if (b[i] != pat(from + i))
			fail_msg("byte %zu of the output is wrong", from + i);
}

static int setup(void **state)
{
	*state = harness_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

/* Start SID running, with a stdout stream attached before the start. */
static struct fake_job *start(struct harness *h, struct hstream **status,
			      struct hstream **out)
{
	struct fake_job *j;

	*status = harness_exec(h, SID, "prog", false);
	*out = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, -1, true);
	HARNESS_UNTIL(h, h->njobs == 1);
	j = harness_job(h);
	assert_string_equal(j->argv0, "prog");
	fake_job_start(j);
	fake_job_exec_ok(j);
	HARNESS_UNTIL(h, (*status)->status == 200 && (*out)->status == 200);
	return j;
}

/* The process closes its output and exits 0: the streams end. */
static void finish(struct harness *h, struct fake_job *j,
		   struct hstream *status, struct hstream *out)
{
	close(j->out_wr);
	j->out_wr = -1;
	close(j->err_wr);
	j->err_wr = -1;
	HARNESS_UNTIL(h, out->ended);
	fake_job_exit(j, W_EXITCODE(0, 0));
	HARNESS_UNTIL(h, status->ended);
	assert_string_equal(hstream_text(status),
			    "{\"state\":\"exited\",\"code\":0}\n");
}

static void test_flow_control(void **state)
{
	struct harness *h = *state;
	const size_t total = 8 * 1024 * 1024;
	struct hstream *status, *out;
	size_t written = 0, got, rounds;
	struct fake_job *j;
	int inpipe;

	j = start(h, &status, &out);
	out->consume = false;
	/* Write until the pipe stays full: the agent stopped reading. */
	for (rounds = 0;; rounds++) {
		size_t put = write_pattern(j->out_wr, &written, total);

		if (put == 0 && rounds > 0)
			break;
		assert_true(written < total);
		harness_settle(h);
	}
	assert_int_equal(ioctl(j->out_wr, FIONREAD, &inpipe), 0);
	got = hstream_len(out);
	assert_int_equal(got, WINDOW);
	/* What the agent took from the pipe and did not deliver is what a
	 * stalled stream may hold. */
	assert_true(written - (size_t)inpipe - got <= H2_STREAM_STALLED);

	/* It reads again: everything comes, in order. */
	while (hstream_len(out) < total) {
		hstream_consume_all(out);
		write_pattern(j->out_wr, &written, total);
		harness_wait_begin(h);
		harness_step(h, "the rest of the output");
		harness_wait_end(h);
	}
	hstream_consume_all(out);
	finish(h, j, status, out);
	assert_int_equal(hstream_len(out), total);
	assert_pattern(out, 0);
}

/* Lost with its connection before the client had everything: the held
 * bytes come again from its offset, then the rest of the pipe. */
static void test_resume_after_loss(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *out, *status2, *out2;
	size_t written = 0;
	struct fake_job *j;

	j = start(h, &status, &out);
	out->consume = false; /* nothing proves arrival: all is kept */
	put_pattern(h, j, &written, 32 * 1024);
	HARNESS_UNTIL(h, hstream_len(out) == 32 * 1024);
	/* More output, and the connection goes before the agent could
	 * send it. */
	put_pattern(h, j, &written, 48 * 1024);
	harness_drop_client(h);
	assert_true(out->closed && status->closed);
	harness_settle(h); /* the agent reads the end of the connection */

	/* The client had only 10 KiB when it crashed, say. */
	harness_connect(h);
	status2 = harness_open(h, "GET", NULL, SID, EXECFS_ST_STATUS, -1, true);
	out2 = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, 10 * 1024,
			    true);
	HARNESS_UNTIL(h, status2->status && out2->status);
	assert_int_equal(status2->status, 200);
	assert_int_equal(out2->status, 200);
	put_pattern(h, j, &written, 64 * 1024);
	finish(h, j, status2, out2);
	assert_int_equal(hstream_len(out2), 64 * 1024 - 10 * 1024);
	assert_pattern(out2, 10 * 1024);
}

/* The same from a newer connection while the agent still believes the
 * old stream is attached: the old one is dropped (CANCEL), what it may
 * not have delivered is sent on the new one. A second stream on the same
 * connection is refused. */
static void test_resume_replaces(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *out, *dup, *out2;
	size_t written = 0;
	struct fake_job *j;

	j = start(h, &status, &out);
	out->consume = false;
	put_pattern(h, j, &written, 20 * 1024);
	HARNESS_UNTIL(h, hstream_len(out) == 20 * 1024);

	dup = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, 0, true);
	HARNESS_UNTIL(h, dup->closed);
	assert_int_equal(dup->status, 409);
	assert_non_null(strstr(hstream_text(dup), "\"EBUSY\""));

	harness_connect(h); /* the old connection stays up */
	out2 = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, 5 * 1024,
			    true);
	HARNESS_UNTIL(h, out2->status && out->closed);
	assert_int_equal(out2->status, 200);
	assert_int_equal(out->code, H2_CANCEL);
	put_pattern(h, j, &written, 30 * 1024);
	finish(h, j, status, out2);
	assert_int_equal(hstream_len(out2), 25 * 1024);
	assert_pattern(out2, 5 * 1024);
}

/* Offsets the agent does not have are refused: past what it read, and
 * before what it still holds (the client consumed those and the window
 * it returned said so, so they were let go). */
static void test_resume_out_of_range(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *out, *late, *early, *ok;
	const size_t sent = 160 * 1024;
	size_t written = 0;
	struct fake_job *j;

	j = start(h, &status, &out);
	put_pattern(h, j, &written, sent);
	HARNESS_UNTIL(h, hstream_len(out) == sent);
	harness_settle(h); /* the window it returned reaches the agent */
	harness_drop_client(h);
	harness_settle(h);
	harness_connect(h);

	late = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, sent + 1,
			    true);
	early = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, 16 * 1024,
			     true);
	HARNESS_UNTIL(h, late->closed && early->closed);
	assert_int_equal(late->status, 416);
	assert_int_equal(early->status, 416);
	assert_non_null(strstr(hstream_text(late), "\"ERANGE\""));
	assert_non_null(strstr(hstream_text(early), "to 163840)"));

	ok = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, sent, true);
	status = harness_open(h, "GET", NULL, SID, EXECFS_ST_STATUS, -1, true);
	HARNESS_UNTIL(h, ok->status == 200);
	put_pattern(h, j, &written, sent + 8 * 1024);
	finish(h, j, status, ok);
	assert_int_equal(hstream_len(ok), 8 * 1024);
	assert_pattern(ok, sent);
}

/* A session goes once its process ended and every stream closed: a
 * later stream of it finds nothing. */
static void test_forgotten_after_end(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *out, *again;
	struct fake_job *j;

	j = start(h, &status, &out);
	fake_job_write_out(j, "bye\n", 4);
	finish(h, j, status, out);
	assert_string_equal(hstream_text(out), "bye\n");
	HARNESS_UNTIL(h, status->closed && out->closed);
	harness_settle(h);
	assert_true(j->dropped || j->exited);

	again = harness_open(h, "GET", NULL, SID, EXECFS_ST_STATUS, -1, true);
	HARNESS_UNTIL(h, again->closed);
	assert_int_equal(again->status, 404);
}

/* An output stream of a session whose start failed is told so. */
static void test_failed_start(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *out, *err;

	status = harness_exec(h, SID, "nosuch", false);
	out = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, -1, true);
	HARNESS_UNTIL(h, h->njobs == 1);
	fake_job_fail(harness_job(h), ENOENT, "exec nosuch: not found");
	HARNESS_UNTIL(h, status->closed && out->closed);
	assert_int_equal(status->status, 404);
	assert_non_null(strstr(hstream_text(status), "exec nosuch"));
	assert_int_equal(out->status, 404);
	/* Nothing is left of it. */
	err = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDERR, -1, true);
	HARNESS_UNTIL(h, err->closed);
	assert_int_equal(err->status, 404);
	assert_non_null(strstr(hstream_text(err), "no such session"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flow_control, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_loss, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resume_replaces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resume_out_of_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forgotten_after_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_start, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
