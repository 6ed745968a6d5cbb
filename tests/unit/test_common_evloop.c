/*
 * Unit tests for transport/common/evloop.c: the loop runs what libevent's
 * dispatch runs and ends when it does, with or without the busy poll, and
 * the poll is bounded: a loop waiting for something far away sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "execfs/evloop.h"

#include <errno.h>
#include <event2/event.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

struct relay {
	struct event_base *base;
	int fds[2];
	int got;
	int want;
};

static void test_parse(void **state)
{
	unsigned us = 7;

	(void)state;
	assert_int_equal(evloop_spin_parse("0", &us), 0);
	assert_int_equal(us, 0);
	assert_int_equal(evloop_spin_parse("50", &us), 0);
	assert_int_equal(us, 50);
	assert_int_equal(evloop_spin_parse("10000", &us), 0);
	assert_int_equal(us, EVLOOP_SPIN_MAX_US);
	assert_int_equal(evloop_spin_parse("10001", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse("-1", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse("", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse("5x", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse("abc", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse(" 50", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse("+50", &us), -EINVAL);
	assert_int_equal(evloop_spin_parse("50 ", &us), -EINVAL);
	assert_int_equal(us, EVLOOP_SPIN_MAX_US); /* untouched on errors */
}

/* Allowed one CPU only (taskset, a cpuset), the default is not to poll. */
static void test_default(void **state)
{
	cpu_set_t saved, one;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(evloop_spin_default(), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);
	if (CPU_COUNT(&saved) > 1)
		assert_int_equal(evloop_spin_default(), EVLOOP_SPIN_DEFAULT_US);
}

/* Each byte read is answered with the next one at once: the messages
 * that come while the loop polls are run as well as those that wake it. */
static void relay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	char c;

	(void)what;
	assert_int_equal(read(fd, &c, 1), 1);
	if (++r->got == r->want) {
		event_base_loopbreak(r->base);
		return;
	}
	assert_int_equal(write(r->fds[1], "x", 1), 1);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	assert_int_equal(write(r->fds[1], "x", 1), 1);
}

static void run_relay(unsigned spin_us)
{
	struct relay r = { .want = 1000 };
	struct event *rev, *kick;
	struct timeval tv = { 0, 20 * 1000 };

	r.base = event_base_new();
	assert_non_null(r.base);
	assert_int_equal(pipe(r.fds), 0);
	rev = event_new(r.base, r.fds[0], EV_READ | EV_PERSIST, relay_cb, &r);
	kick = evtimer_new(r.base, kick_cb, &r);
	assert_int_equal(event_add(rev, NULL), 0);
	assert_int_equal(evtimer_add(kick, &tv), 0);
	assert_int_equal(evloop_run(r.base, spin_us), 0);
	assert_int_equal(r.got, r.want);
	event_free(kick);
	event_free(rev);
	close(r.fds[0]);
	close(r.fds[1]);
	event_base_free(r.base);
}

static void test_break(void **state)
{
	(void)state;
	run_relay(0);
	run_relay(50);
	run_relay(EVLOOP_SPIN_MAX_US);
}

static void count_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

/* Nothing left to wait for ends the loop, as event_base_dispatch does;
 * so does event_base_loopexit(). */
static void test_ends(void **state)
{
	static const unsigned spins[] = { 0, 50 };
	struct timeval soon = { 0, 1000 }, later = { 0, 5000 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(spins) / sizeof(spins[0]); k++) {
		struct event_base *base = event_base_new();
		struct event *never;
		int n = 0;
		int fds[2];

		assert_non_null(base);
		assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, count_cb,
						 &n, &soon),
				 0);
		assert_int_equal(evloop_run(base, spins[k]), 0);
		assert_int_equal(n, 1);

		/* A pipe nobody writes keeps the loop; loopexit ends it. */
		assert_int_equal(pipe(fds), 0);
		never = event_new(base, fds[0], EV_READ | EV_PERSIST, count_cb,
				  &n);
		assert_int_equal(event_add(never, NULL), 0);
		assert_int_equal(event_base_loopexit(base, &later), 0);
		assert_int_equal(evloop_run(base, spins[k]), 0);
		assert_int_equal(n, 1);
		event_free(never);
		close(fds[0]);
		close(fds[1]);
		event_base_free(base);
	}
}

static double cpu_seconds(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Ends the loop at the sixth tick. */
static void six_ticks_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = event_get_base(*(struct event **)arg);
	static int n;

	(void)fd;
	(void)what;
	if (++n == 6) {
		n = 0;
		event_base_loopexit(base, NULL);
	}
}

/* After the poll the loop sleeps: six timer events 50 ms apart (ended by
 * the sixth, however late the machine runs them) cost a few poll windows
 * of CPU, not the 250 ms of wall time between them. */
static void test_sleeps(void **state)
{
	struct event_base *base = event_base_new();
	struct timeval tick = { 0, 50 * 1000 };
	struct event *t;
	double before;

	(void)state;
	assert_non_null(base);
	t = event_new(base, -1, EV_PERSIST, six_ticks_cb, &t);
	assert_int_equal(event_add(t, &tick), 0);
	before = cpu_seconds();
	assert_int_equal(evloop_run(base, 1000), 0);
	/* 6 wakeups x 1 ms of polling; the bound leaves room for slow
	 * (sanitized) builds and still fails a loop that never sleeps. */
	assert_true(cpu_seconds() - before < 0.06);
	event_free(t);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),  cmocka_unit_test(test_default),
		cmocka_unit_test(test_break),  cmocka_unit_test(test_ends),
		cmocka_unit_test(test_sleeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
