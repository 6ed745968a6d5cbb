/*
 * Unit tests for the agent's stdin half (agent/session_in.c), through the
 * agent test bench (harness/agent_harness.h): real h2 streams to the real
 * router and session table, a fake launcher whose process's stdin is a
 * real pipe the test reads.
 *
 *   - bytes sent before the process exists wait, and reach it in order;
 *   - the end of the body closes the pipe, and is answered once it did;
 *   - resume: bytes re-sent on a new connection that the agent already
 *     had are skipped, so the process gets each byte once; an offset past
 *     what it received is refused (416, ERANGE); a second stdin on the
 *     same connection is refused (409);
 *   - a process that stops reading holds its writer back: the agent takes
 *     no more than the pipe and the stream's window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "execfs/h2.h"
#include "execfs/proto.h"

#define SID "00112233445566778899aabbccddeeff"

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

/* What the process read from its stdin so far; *eof once it read the
 * end. */
struct reader {
	char buf[4096];
	size_t len;
	bool eof;
};

static void read_stdin(struct fake_job *j, struct reader *r)
{
	ssize_t n;

	while (!r->eof && r->len < sizeof(r->buf) - 1) {
		n = read(j->in_rd, r->buf + r->len,
			 sizeof(r->buf) - 1 - r->len);
		if (n < 0 && errno == EAGAIN)
			break;
		assert_true(n >= 0);
		if (n == 0)
			r->eof = true;
		r->len += (size_t)n;
	}
	r->buf[r->len] = '\0';
}

/* Run the loop until the process read want (and the end, with eof). */
static void until_read(struct harness *h, struct fake_job *j, struct reader *r,
		       const char *want, bool eof)
{
	harness_wait_begin(h);
	for (;;) {
		read_stdin(j, r);
		if (r->len >= strlen(want) && (!eof || r->eof))
			break;
		harness_step(h, want);
	}
	harness_wait_end(h);
	assert_string_equal(r->buf, want);
	assert_int_equal(r->eof, eof);
}

static struct fake_job *start(struct harness *h, struct hstream **status)
{
	struct fake_job *j;

	*status = harness_exec(h, SID, "cat", false);
	HARNESS_UNTIL(h, h->njobs == 1);
	j = harness_job(h);
	fake_job_start(j);
	fake_job_exec_ok(j);
	HARNESS_UNTIL(h, (*status)->status == 200);
	return j;
}

/* Sent in the same flight as the exec request: bytes wait for the
 * process, then come in order; the end closes the pipe. */
static void test_before_start_and_end(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *in;
	struct reader r = { .len = 0 };
	struct fake_job *j;

	status = harness_exec(h, SID, "cat", false);
	in = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, -1, false);
	hstream_send(in, "early ", 6);
	HARNESS_UNTIL(h, h->njobs == 1);
	j = harness_job(h);
	hstream_send(in, "bytes\n", 6);
	harness_settle(h);
	assert_int_equal(in->status, 0);
	fake_job_start(j);
	fake_job_exec_ok(j);
	HARNESS_UNTIL(h, status->status == 200);
	until_read(h, j, &r, "early bytes\n", false);

	hstream_end(in);
	until_read(h, j, &r, "early bytes\n", true);
	HARNESS_UNTIL(h, in->ended);
	assert_int_equal(in->status, 200);
}

/* The connection goes; the client comes back on a new one and sends
 * again from the first byte it was not sure of: the agent skips what it
 * had, the process reads every byte once. */
static void test_resume_skips_what_arrived(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *in, *in2;
	struct reader r = { .len = 0 };
	struct fake_job *j;

	j = start(h, &status);
	in = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, -1, false);
	hstream_send(in, "0123456789", 10);
	until_read(h, j, &r, "0123456789", false);
	harness_drop_client(h);
	harness_settle(h);

	/* It was sure of the first 4 bytes only; it sends 4.. again, in
	 * two pieces, and more. */
	harness_connect(h);
	in2 = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, 4, false);
	hstream_send(in2, "456", 3);
	harness_settle(h);
	hstream_send(in2, "789ab", 5);
	hstream_send(in2, "cd", 2);
	hstream_end(in2);
	until_read(h, j, &r, "0123456789abcd", true);
	HARNESS_UNTIL(h, in2->ended);
	assert_int_equal(in2->status, 200);
}

/* A gap would lose bytes: an offset past what the agent received is
 * refused, and so is a second stdin on the same connection. */
static void test_resume_refused(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *in, *gap, *dup, *in2;
	struct reader r = { .len = 0 };
	struct fake_job *j;

	j = start(h, &status);
	in = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, -1, false);
	hstream_send(in, "abc", 3);
	until_read(h, j, &r, "abc", false);
	dup = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, 3, true);
	HARNESS_UNTIL(h, dup->closed);
	assert_int_equal(dup->status, 409);

	harness_connect(h);
	gap = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, 4, true);
	HARNESS_UNTIL(h, gap->closed);
	assert_int_equal(gap->status, 416);
	assert_non_null(strstr(hstream_text(gap), "past the 3 bytes received"));

	/* From a newer connection the old stream is replaced. */
	in2 = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, 3, false);
	hstream_send(in2, "d", 1);
	hstream_end(in2);
	until_read(h, j, &r, "abcd", true);
	HARNESS_UNTIL(h, in->closed && in2->ended);
	assert_int_equal(in->code, H2_CANCEL);
}

/* A process that does not read: the agent takes what the pipe holds and
 * the stream's window, no more; everything arrives once it reads. */
static void test_flow_control(void **state)
{
	struct harness *h = *state;
	const size_t total = 4 * 1024 * 1024;
	size_t sent = 0, got = 0, i;
	bool end_sent = false;
	struct hstream *status, *in;
	char chunk[16384];
	struct fake_job *j;
	int inpipe, cap;

	j = start(h, &status);
	in = harness_open(h, "POST", NULL, SID, EXECFS_ST_STDIN, -1, false);
	memset(chunk, 'x', sizeof(chunk));
	/* Write while the stream has room. */
	for (;;) {
		size_t room = h2_stream_write_space(in->st);

		if (room == 0 || sent == total) {
			harness_settle(h);
			if (h2_stream_write_space(in->st) == 0)
				break;
			continue;
		}
		if (room > sizeof(chunk))
			room = sizeof(chunk);
		hstream_send(in, chunk, room);
		sent += room;
	}
	assert_true(sent < total);
	assert_int_equal(ioctl(j->in_rd, FIONREAD, &inpipe), 0);
	cap = fcntl(j->in_rd, F_GETPIPE_SZ);
	assert_true(cap > 0);
	/* Beyond the full pipe, the agent holds at most the stream's window
	 * and the client what a stalled stream holds. */
	assert_true((size_t)inpipe <= (size_t)cap);
	assert_true(sent <= (size_t)inpipe + 256 * 1024 + H2_STREAM_STALLED);

	/* The process reads: the rest goes through. */
	while (got < total) {
		char buf[65536];
		ssize_t n = read(j->in_rd, buf, sizeof(buf));

		if (n > 0) {
			for (i = 0; i < (size_t)n; i++)
				assert_int_equal(buf[i], 'x');
			got += (size_t)n;
			continue;
		}
		assert_true(n < 0 && errno == EAGAIN);
		while (sent < total && h2_stream_write_space(in->st) > 0) {
			size_t room = h2_stream_write_space(in->st);

			if (room > sizeof(chunk))
				room = sizeof(chunk);
			if (room > total - sent)
				room = total - sent;
			hstream_send(in, chunk, room);
			sent += room;
		}
		if (sent == total && !end_sent) {
			hstream_end(in);
			end_sent = true;
		}
		harness_wait_begin(h);
		harness_step(h, "stdin moving");
		harness_wait_end(h);
	}
	assert_int_equal(got, total);
	HARNESS_UNTIL(h, in->ended);
	assert_int_equal(in->status, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_before_start_and_end,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_skips_what_arrived,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flow_control, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
