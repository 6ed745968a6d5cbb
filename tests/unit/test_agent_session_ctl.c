/*
 * Unit tests for the agent's signal and resize streams
 * (agent/session_ctl.c), through the agent test bench
 * (harness/agent_harness.h): real h2 streams to the real router and
 * session table, a fake launcher that records the signals asked for, and
 * a real pty for tty sessions.
 *
 *   - both may come before the exec request is complete, and wait: a
 *     signal until the process exists (then the launcher is asked, for the
 *     terminal's foreground group), a size until the terminal exists (then
 *     it is applied);
 *   - a failed start answers what waited with 404; a resize of a session
 *     without a tty is refused (409); a signal after the end too (409);
 *   - the launcher's refusal reaches the client; bad input resets only
 *     its stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "agent_harness.h"
#include "execfs/h2.h"
#include "execfs/proto.h"
#include "launch.h"

#define SID "ffeeddccbbaa99887766554433221100"

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

static struct hstream *ctl(struct harness *h, const char *type,
			   const char *body, bool end)
{
	struct hstream *s = harness_open(h, "POST", NULL, SID, type, -1, false);

	if (body)
		hstream_send(s, body, strlen(body));
	if (end)
		hstream_end(s);
	return s;
}

/* The client's flight: the exec request still coming, a signal and a
 * size already there. Neither is answered before the start is decided;
 * then the size reaches the terminal and the signal the launcher. */
static void test_queued_before_start(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *sig, *rsz;
	const char *req = "{\"container\": \"" HARNESS_CONTAINER
			  "\", \"argv\": [\"sh\"], \"tty\": true}";
	struct winsize ws;
	struct fake_job *j;

	status =
		harness_open(h, "POST", NULL, SID, EXECFS_ST_STATUS, -1, false);
	hstream_send(status, req, 20); /* the request is not complete */
	sig = ctl(h, EXECFS_ST_SIGNAL, "TERM", true);
	rsz = ctl(h, EXECFS_ST_RESIZE, "100 40\n", false);
	harness_settle(h);
	assert_int_equal(h->njobs, 0);
	assert_int_equal(sig->status, 0);
	assert_int_equal(rsz->status, 0); /* tty or not is not known */

	hstream_send(status, req + 20, strlen(req) - 20);
	hstream_end(status);
	HARNESS_UNTIL(h, h->njobs == 1);
	j = harness_job(h);
	assert_true(j->tty);
	/* Spawning: the size is taken (kept for the terminal), the signal
	 * waits for a process. */
	HARNESS_UNTIL(h, rsz->status == 200);
	assert_int_equal(j->nsignals, 0);
	assert_int_equal(sig->status, 0);
	hstream_send(rsz, "120 50\n", 7); /* the newest size wins */
	harness_settle(h);

	fake_job_start(j);
	assert_int_equal(ioctl(j->tty_master, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_col, 120);
	assert_int_equal(ws.ws_row, 50);
	assert_int_equal(j->nsignals, 1);
	assert_int_equal(j->sig, SIGTERM);
	assert_true(j->sig_flags & LAUNCH_SIG_FOREGROUND);
	fake_job_answer_signal(j, 0);
	HARNESS_UNTIL(h, sig->ended);
	assert_int_equal(sig->status, 200);

	/* Sizes after the start are applied as they come. */
	hstream_send(rsz, "90 30\n", 6);
	HARNESS_UNTIL(h, ioctl(j->tty_master, TIOCGWINSZ, &ws) == 0 &&
				 ws.ws_col == 90 && ws.ws_row == 30);

	/* The end of the process ends the resize stream. */
	fake_job_exec_ok(j);
	HARNESS_UNTIL(h, status->status == 200);
	fake_job_exit(j, W_EXITCODE(0, SIGTERM));
	HARNESS_UNTIL(h, rsz->ended && status->ended);
	assert_string_equal(
		hstream_text(status),
		"{\"state\":\"killed\",\"signal\":15,\"signame\":\"TERM\"}\n");
}

/* A start that fails answers what waited for it. */
static void test_failed_start(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *sig, *rsz;

	status = harness_exec(h, SID, "nosuch", true);
	sig = ctl(h, EXECFS_ST_SIGNAL, "INT", true);
	rsz = ctl(h, EXECFS_ST_RESIZE, NULL, true);
	HARNESS_UNTIL(h, h->njobs == 1 && rsz->status == 200);
	fake_job_fail(harness_job(h), ENOENT, "exec nosuch: not found");
	HARNESS_UNTIL(h, status->closed && sig->closed);
	assert_int_equal(status->status, 404);
	assert_int_equal(sig->status, 404);
	assert_non_null(strstr(hstream_text(sig), "session failed to start"));
	assert_int_equal(harness_job(h)->nsignals, 0);
}

static void start(struct harness *h, bool tty, struct hstream **status,
		  struct fake_job **j)
{
	*status = harness_exec(h, SID, "sh", tty);
	HARNESS_UNTIL(h, h->njobs == 1);
	*j = harness_job(h);
	fake_job_start(*j);
	fake_job_exec_ok(*j);
	HARNESS_UNTIL(h, (*status)->status == 200);
}

/* No terminal, nothing to resize; an ended process, nothing to signal;
 * the launcher's error is the client's. */
static void test_refusals(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *rsz, *sig, *late, *out;
	struct fake_job *j;

	start(h, false, &status, &j);
	rsz = ctl(h, EXECFS_ST_RESIZE, "80 24\n", true);
	HARNESS_UNTIL(h, rsz->closed);
	assert_int_equal(rsz->status, 409);
	assert_non_null(strstr(hstream_text(rsz), "no tty"));

	sig = ctl(h, EXECFS_ST_SIGNAL, "SIGKILL", true);
	HARNESS_UNTIL(h, j->nsignals == 1);
	assert_int_equal(j->sig, SIGKILL);
	fake_job_answer_signal(j, EPERM);
	HARNESS_UNTIL(h, sig->closed);
	assert_int_equal(sig->status, 403);
	assert_non_null(strstr(hstream_text(sig), "\"EPERM\""));

	/* Its output is still open: the session stays after the end. */
	out = harness_open(h, "GET", NULL, SID, EXECFS_ST_STDOUT, -1, true);
	HARNESS_UNTIL(h, out->status == 200);
	fake_job_exit(j, W_EXITCODE(3, 0));
	HARNESS_UNTIL(h, status->ended);
	late = ctl(h, EXECFS_ST_SIGNAL, "TERM", true);
	HARNESS_UNTIL(h, late->closed);
	assert_int_equal(late->status, 409);
	assert_non_null(strstr(hstream_text(late), "\"ESRCH\""));
	assert_int_equal(j->nsignals, 1);
}

/* Bad input costs its stream only. */
static void test_bad_input(void **state)
{
	struct harness *h = *state;
	struct hstream *status, *sig, *rsz, *ok;
	struct fake_job *j;

	start(h, true, &status, &j);
	sig = ctl(h, EXECFS_ST_SIGNAL, "NOSUCHSIG", true);
	HARNESS_UNTIL(h, sig->closed);
	assert_int_equal(sig->status, 400);

	sig = ctl(h, EXECFS_ST_SIGNAL, "TERM                              ",
		  true);
	HARNESS_UNTIL(h, sig->closed);
	assert_int_equal(sig->status, 400);

	rsz = ctl(h, EXECFS_ST_RESIZE, "80 24\nwide\n", false);
	HARNESS_UNTIL(h, rsz->closed);
	assert_int_equal(rsz->code, H2_PROTOCOL_ERROR);

	ok = ctl(h, EXECFS_ST_SIGNAL, "2", true);
	HARNESS_UNTIL(h, j->nsignals == 1);
	assert_int_equal(j->sig, SIGINT);
	fake_job_answer_signal(j, 0);
	HARNESS_UNTIL(h, ok->closed);
	assert_int_equal(ok->status, 200);
	assert_int_equal(status->status, 200);
	assert_false(status->closed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queued_before_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
