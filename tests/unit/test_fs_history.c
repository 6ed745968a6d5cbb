/*
 * Unit tests for the output history (fs/history.c): bytes are addressed
 * from 0, nothing undelivered is dropped, a byte is trimmed only after one
 * reader got it and every attached reader is past it, and window is
 * returned only while the history is under its cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "history.h"

#define CAP 8192

static void fill(uint8_t *buf, size_t len, uint64_t from)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)((from + i) * 7);
}

static void append(struct history *h, size_t len)
{
	uint8_t buf[CAP * 2];

	assert_true(len <= sizeof(buf));
	fill(buf, len, history_end(h));
	assert_int_equal(history_append(h, buf, len), 0);
}

/* Read like a file handle: copy at r's position, mark delivered. */
static size_t read_some(struct history *h, struct history_reader *r, size_t max)
{
	uint8_t buf[CAP * 2], want[CAP * 2];
	size_t n = history_copy(h, r->pos, buf, max);

	fill(want, n, r->pos);
	assert_memory_equal(buf, want, n);
	history_delivered(h, r, r->pos + n);
	return n;
}

static void test_append_admit_under_cap(void **state)
{
	struct history *h = history_new(CAP);

	append(h, 1000);
	assert_int_equal(history_unadmitted(h), 1000);
	assert_int_equal(history_admit(h), 1000);
	assert_int_equal(history_unadmitted(h), 0);
	assert_int_equal(history_start(h), 0);
	assert_int_equal(history_end(h), 1000);
	history_free(h);
}

static void test_full_of_undelivered_admits_nothing(void **state)
{
	struct history *h = history_new(CAP);

	append(h, CAP);
	assert_int_equal(history_admit(h), CAP);
	append(h, 500); /* the sender's window allowed these */
	/* Nobody read anything: nothing trimmed, no window back. */
	assert_int_equal(history_admit(h), 0);
	assert_int_equal(history_start(h), 0);
	assert_int_equal(history_end(h), CAP + 500);
	history_free(h);
}

static void test_no_reader_delivered_trims_for_room(void **state)
{
	struct history *h = history_new(CAP);
	struct history_reader r;

	append(h, CAP);
	assert_int_equal(history_admit(h), CAP);
	history_reader_attach(h, &r);
	assert_int_equal(read_some(h, &r, 1000), 1000);
	history_reader_detach(h, &r);
	append(h, 3000);
	/* Only the 1000 delivered bytes may go: 1000 admitted. */
	assert_int_equal(history_admit(h), 1000);
	assert_int_equal(history_start(h), 1000);
	assert_int_equal(history_unadmitted(h), 2000);
	history_free(h);
}

static void test_history_kept_under_cap(void **state)
{
	struct history *h = history_new(CAP);
	struct history_reader r;

	append(h, 4000);
	history_admit(h);
	history_reader_attach(h, &r);
	assert_int_equal(read_some(h, &r, 4000), 4000);
	history_reader_detach(h, &r);
	/* Under the cap nothing is trimmed: a new reader sees it all. */
	assert_int_equal(history_admit(h), 0);
	history_reader_attach(h, &r);
	assert_int_equal(r.pos, 0);
	assert_int_equal(read_some(h, &r, CAP), 4000);
	history_reader_detach(h, &r);
	history_free(h);
}

static void test_slow_reader_holds_trim(void **state)
{
	struct history *h = history_new(CAP);
	struct history_reader fast, slow;

	history_reader_attach(h, &fast);
	history_reader_attach(h, &slow);
	append(h, CAP);
	history_admit(h);
	assert_int_equal(read_some(h, &fast, CAP), CAP);
	assert_int_equal(read_some(h, &slow, 100), 100);
	append(h, 2000);
	/* Only what the slow reader is past may go. */
	assert_int_equal(history_admit(h), 100);
	assert_int_equal(history_start(h), 100);
	assert_int_equal(read_some(h, &slow, CAP * 2), CAP - 100 + 2000);
	assert_int_equal(history_admit(h), 1900);
	history_reader_detach(h, &fast);
	history_reader_detach(h, &slow);
	history_free(h);
}

static void test_readers_all_get_everything(void **state)
{
	struct history *h = history_new(CAP);
	struct history_reader a, b;
	uint64_t total = 0;
	int round;

	history_reader_attach(h, &a);
	history_reader_attach(h, &b);
	/* Stream 10 caps' worth through two readers in lockstep. */
	for (round = 0; round < 40; round++) {
		append(h, 2048);
		history_admit(h);
		total += 2048;
		while (a.pos < history_end(h))
			read_some(h, &a, 1500);
		while (b.pos < history_end(h))
			read_some(h, &b, 700);
		history_admit(h);
	}
	assert_int_equal(a.pos, total);
	assert_int_equal(b.pos, total);
	assert_true(history_end(h) - history_start(h) <= CAP);
	history_reader_detach(h, &a);
	history_reader_detach(h, &b);
	history_free(h);
}

static void test_new_reader_starts_at_oldest(void **state)
{
	struct history *h = history_new(CAP);
	struct history_reader r, late;

	history_reader_attach(h, &r);
	append(h, CAP);
	history_admit(h);
	read_some(h, &r, CAP);
	append(h, 4096);
	assert_int_equal(history_admit(h), 4096);
	assert_int_equal(history_start(h), 4096);
	history_reader_attach(h, &late);
	assert_int_equal(late.pos, 4096);
	assert_int_equal(read_some(h, &late, CAP * 2), CAP);
	history_reader_detach(h, &r);
	history_reader_detach(h, &late);
	history_free(h);
}

static void test_iov_spans_chunks(void **state)
{
	struct history *h = history_new(1 << 20);
	struct iovec iov[4];
	size_t n;
	int cnt;

	append(h, 5000);
	append(h, 5000);
	append(h, 5000);
	n = history_iov(h, 100, 20000, iov, 4, &cnt);
	assert_true(cnt >= 2);
	assert_int_equal(n, 14900);
	n = history_iov(h, 15000, 10, iov, 4, &cnt);
	assert_int_equal(n, 0);
	assert_int_equal(cnt, 0);
	history_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_admit_under_cap),
		cmocka_unit_test(test_full_of_undelivered_admits_nothing),
		cmocka_unit_test(test_no_reader_delivered_trims_for_room),
		cmocka_unit_test(test_history_kept_under_cap),
		cmocka_unit_test(test_slow_reader_holds_trim),
		cmocka_unit_test(test_readers_all_get_everything),
		cmocka_unit_test(test_new_reader_starts_at_oldest),
		cmocka_unit_test(test_iov_spans_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
