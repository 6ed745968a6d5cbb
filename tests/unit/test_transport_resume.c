/*
 * Unit tests for transport/resume.c: the offset header, the receiver's
 * and the sender's arithmetic on their own (resume behind, at and past
 * what was sent; duplicates; 64-bit overflow), then both ends together
 * over real HTTP/2 connections on a Unix socket: a stream lost with its
 * connection is resumed on the next one and the receiver ends up with
 * every byte once, in order; a newer stream takes over from one still
 * attached at any offset the sender can serve, and at no other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "execfs/h2.h"
#include "execfs/resume.h"

/* ---- the offset header -------------------------------------------------- */

static void test_offset_header(void **state)
{
	char buf[RESUME_OFFSET_LEN];
	uint64_t off = 7;

	(void)state;
	assert_int_equal(resume_offset_parse(NULL, &off), 0);
	assert_true(off == 0);
	assert_int_equal(resume_offset_parse("0", &off), 0);
	assert_true(off == 0);
	assert_int_equal(resume_offset_parse("4096", &off), 0);
	assert_true(off == 4096);
	assert_int_equal(resume_offset_parse("18446744073709551615", &off), 0);
	assert_true(off == UINT64_MAX);
	/* Refused, *off untouched: 2^64, signs, blanks, hex, empty. */
	off = 9;
	assert_int_equal(resume_offset_parse("18446744073709551616", &off),
			 -EINVAL);
	assert_int_equal(resume_offset_parse("99999999999999999999999", &off),
			 -EINVAL);
	assert_int_equal(resume_offset_parse("-1", &off), -EINVAL);
	assert_int_equal(resume_offset_parse("+1", &off), -EINVAL);
	assert_int_equal(resume_offset_parse(" 1", &off), -EINVAL);
	assert_int_equal(resume_offset_parse("1 ", &off), -EINVAL);
	assert_int_equal(resume_offset_parse("0x10", &off), -EINVAL);
	assert_int_equal(resume_offset_parse("", &off), -EINVAL);
	assert_true(off == 9);

	assert_string_equal(resume_offset_format(0, buf), "0");
	assert_string_equal(resume_offset_format(UINT64_MAX, buf),
			    "18446744073709551615");
	assert_int_equal(
		resume_offset_parse(resume_offset_format(12345, buf), &off), 0);
	assert_true(off == 12345);
}

/* ---- the receiver ------------------------------------------------------- */

static void test_rx_offsets(void **state)
{
	struct resume_rx rx;

	(void)state;
	resume_rx_init(&rx);
	assert_true(resume_rx_received(&rx) == 0);
	assert_int_equal(resume_rx_begin(&rx, 0), 0);
	assert_int_equal(resume_rx_take(&rx, 100), 0);
	assert_true(resume_rx_received(&rx) == 100);

	/* At what it has: nothing dropped. */
	assert_int_equal(resume_rx_begin(&rx, 100), 0);
	assert_int_equal(resume_rx_take(&rx, 10), 0);
	assert_true(resume_rx_received(&rx) == 110);

	/* Past it: a gap, refused, and nothing changes. */
	assert_int_equal(resume_rx_begin(&rx, 111), -ERANGE);
	assert_int_equal(resume_rx_begin(&rx, UINT64_MAX), -ERANGE);
	assert_int_equal(resume_rx_take(&rx, 5), 0);
	assert_true(resume_rx_received(&rx) == 115);

	/* Behind it: the first 115 - 15 = 100 bytes are duplicates, however
	 * they are cut into chunks. */
	assert_int_equal(resume_rx_begin(&rx, 15), 0);
	assert_int_equal(resume_rx_take(&rx, 30), 30);
	assert_int_equal(resume_rx_take(&rx, 0), 0);
	assert_int_equal(resume_rx_take(&rx, 69), 69);
	assert_true(resume_rx_received(&rx) == 115);
	assert_int_equal(resume_rx_take(&rx, 8), 1); /* 1 old, 7 new */
	assert_true(resume_rx_received(&rx) == 122);
	assert_int_equal(resume_rx_take(&rx, 8), 0);
	assert_true(resume_rx_received(&rx) == 130);

	/* A newer stream replaces one whose duplicates were not all in:
	 * only the newer one's count matters. */
	assert_int_equal(resume_rx_begin(&rx, 0), 0);
	assert_int_equal(resume_rx_take(&rx, 10), 10);
	assert_int_equal(resume_rx_begin(&rx, 130), 0);
	assert_int_equal(resume_rx_take(&rx, 10), 0);
	assert_true(resume_rx_received(&rx) == 140);
}

static void test_rx_overflow(void **state)
{
	struct resume_rx rx;

	(void)state;
	resume_rx_init(&rx);
	/* Count up to the last offset there is, in chunks. */
	while (resume_rx_received(&rx) < UINT64_MAX - (uint64_t)SIZE_MAX / 2)
		assert_int_equal(resume_rx_take(&rx, SIZE_MAX / 2), 0);
	assert_int_equal(resume_rx_take(&rx, (size_t)(UINT64_MAX -
						      resume_rx_received(&rx))),
			 0);
	assert_true(resume_rx_received(&rx) == UINT64_MAX);
	/* One more byte would wrap: refused, nothing counted. */
	assert_int_equal(resume_rx_take(&rx, 1), -EOVERFLOW);
	assert_true(resume_rx_received(&rx) == UINT64_MAX);
	assert_int_equal(resume_rx_take(&rx, 0), 0);
	/* Duplicates still drop at the top: they are not new. */
	assert_int_equal(resume_rx_begin(&rx, UINT64_MAX - 4), 0);
	assert_int_equal(resume_rx_take(&rx, 4), 4);
	assert_int_equal(resume_rx_take(&rx, 2), -EOVERFLOW);
	assert_true(resume_rx_received(&rx) == UINT64_MAX);
}

/* ---- the sender, without streams ---------------------------------------- */

static void test_tx_counting(void **state)
{
	struct resume_tx tx;

	(void)state;
	resume_tx_init(&tx);
	assert_true(resume_tx_end(&tx) == 0);
	assert_int_equal(resume_tx_held(&tx), 0);
	assert_int_equal(resume_tx_wrote(&tx, 1000), 0);
	assert_true(resume_tx_end(&tx) == 1000);
	assert_true(resume_tx_resend_from(&tx) == 1000);
	assert_true(resume_tx_first(&tx, NULL) == 1000);

	/* Nothing held: a resume can start only where new bytes start. */
	assert_int_equal(resume_tx_seek(&tx, 1000, NULL), 0);
	assert_int_equal(resume_tx_seek(&tx, 999, NULL), -ERANGE);
	assert_int_equal(resume_tx_seek(&tx, 0, NULL), -ERANGE);
	assert_int_equal(resume_tx_seek(&tx, 1001, NULL), -ERANGE);
	assert_int_equal(resume_tx_seek(&tx, UINT64_MAX, NULL), -ERANGE);
	assert_true(resume_tx_end(&tx) == 1000);
	assert_int_equal(resume_tx_held(&tx), 0);

	/* The count never wraps. */
	while (resume_tx_end(&tx) < UINT64_MAX - (uint64_t)SIZE_MAX / 2)
		assert_int_equal(resume_tx_wrote(&tx, SIZE_MAX / 2), 0);
	assert_int_equal(
		resume_tx_wrote(&tx, (size_t)(UINT64_MAX - resume_tx_end(&tx))),
		0);
	assert_true(resume_tx_end(&tx) == UINT64_MAX);
	assert_int_equal(resume_tx_wrote(&tx, 1), -EOVERFLOW);
	assert_int_equal(resume_tx_write(&tx, NULL, "x", 1), -EOVERFLOW);
	assert_true(resume_tx_end(&tx) == UINT64_MAX);
	assert_int_equal(resume_tx_seek(&tx, UINT64_MAX, NULL), 0);
	resume_tx_release(&tx);
}

/* ---- both ends over HTTP/2 ---------------------------------------------- */

#define TOTAL (3 * 1024 * 1024 + 777)
#define CHUNK 16384

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 13 % 251);
}

struct fixture {
	struct event_base *base;
	struct event *tick; /* owned: keeps the loop turning */
	char dir[64];
	char addr[128];
	struct h2_listener *l;
	struct h2_conn *client; /* NULL once freed or closed */
	struct h2_conn *srv_conn; /* the newest stream's */
	bool ready;
	/* receiver (the server side) */
	struct resume_rx rx;
	struct evbuffer *got; /* owned: every new byte, in order */
	uint64_t dropped; /* duplicates resume_rx_take said to drop */
	int begin_rc; /* resume_rx_begin() of the newest stream */
	uint64_t had_at_begin; /* what it had when that stream came */
	struct h2_stream *srv_st; /* the newest stream; others are dropped */
	uint64_t consume_below; /* return window while received is below */
	uint64_t stop_at; /* break the loop once this much was received */
	bool srv_end;
	/* sender (the client side) */
	struct resume_tx tx;
	struct h2_stream *st; /* the sender's stream, NULL once closed */
	uint32_t st_code;
	bool st_closed;
	bool fill; /* write new bytes up to TOTAL, then end */
};

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until done(f), for 30 s at most. */
static void run_until(struct fixture *f, bool (*done)(struct fixture *f),
		      const char *what)
{
	time_t deadline = time(NULL) + 30;

	while (!done(f)) {
		if (time(NULL) > deadline)
			fail_msg("timed out waiting for %s", what);
		event_base_loop(f->base, EVLOOP_ONCE);
	}
}

/* ---- receiver ---- */

static void srv_on_data(struct h2_stream *st, const uint8_t *d, size_t n,
			void *arg)
{
	struct fixture *f = arg;
	ssize_t k;

	if (st != f->srv_st) {
		/* An older stream, still delivering what its connection had
		 * buffered after a newer one took over: not ours any more. */
		h2_stream_consume(st, n);
		return;
	}
	k = resume_rx_take(&f->rx, n);
	assert_true(k >= 0);
	f->dropped += (uint64_t)k;
	evbuffer_add(f->got, d + k, n - (size_t)k);
	if (resume_rx_received(&f->rx) - (n - (size_t)k) < f->consume_below)
		h2_stream_consume(st, n);
	if (f->stop_at && resume_rx_received(&f->rx) >= f->stop_at) {
		f->stop_at = 0;
		/* Out before the PING that would prove these arrived is
		 * even answered: the sender must still hold them. */
		event_base_loopbreak(f->base);
	}
}

static void srv_on_end(struct h2_stream *st, void *arg)
{
	struct fixture *f = arg;

	f->srv_end = true;
	h2_stream_respond(st, 200, NULL, 0, true);
}

static const struct h2_stream_cbs srv_cbs = {
	.on_data = srv_on_data,
	.on_end = srv_on_end,
};

static void srv_on_request(struct h2_conn *c, struct h2_stream *st, void *arg)
{
	struct fixture *f = arg;
	uint64_t first;

	f->srv_conn = c;
	assert_int_equal(resume_offset_parse(h2_stream_header(st, "x-offset"),
					     &first),
			 0);
	f->had_at_begin = resume_rx_received(&f->rx);
	f->begin_rc = resume_rx_begin(&f->rx, first);
	if (f->begin_rc < 0) {
		h2_stream_respond(st, 416, NULL, 0, true);
		return;
	}
	f->srv_st = st;
	h2_stream_set_cbs(st, &srv_cbs, f);
}

static const struct h2_conn_cbs srv_conn_cbs = {
	.on_request = srv_on_request,
};

/* ---- sender ---- */

static void cl_fill(struct fixture *f)
{
	uint8_t chunk[CHUNK];
	size_t room, n, i;
	uint64_t at;

	if (!f->st || !resume_tx_pump(&f->tx, f->st) || !f->fill)
		return;
	while ((at = resume_tx_end(&f->tx)) < TOTAL &&
	       (room = h2_stream_write_space(f->st)) > 0) {
		n = TOTAL - at < sizeof(chunk) ? (size_t)(TOTAL - at) :
						 sizeof(chunk);
		if (n > room)
			n = room;
		for (i = 0; i < n; i++)
			chunk[i] = pattern(at + i);
		assert_int_equal(resume_tx_write(&f->tx, f->st, chunk, n), 0);
	}
	if (resume_tx_end(&f->tx) == TOTAL)
		h2_stream_end(f->st);
}

static void cl_on_writable(struct h2_stream *st, void *arg)
{
	(void)st;
	cl_fill(arg);
}

static void cl_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct fixture *f = arg;

	if (st != f->st)
		return;
	f->st_code = code;
	f->st_closed = true;
	f->st = NULL;
	if (code == H2_LOST)
		assert_int_equal(resume_tx_lose(&f->tx, st), 0);
}

/* The receiver answered and ended (a refusal): end our side too. */
static void cl_on_end(struct h2_stream *st, void *arg)
{
	(void)arg;
	h2_stream_end(st);
}

static const struct h2_stream_cbs cl_cbs = {
	.on_end = cl_on_end,
	.on_writable = cl_on_writable,
	.on_close = cl_on_close,
};

static void cl_on_ready(struct h2_conn *c, void *arg)
{
	struct fixture *f = arg;

	(void)c;
	f->ready = true;
}

static void cl_on_close_conn(struct h2_conn *c, const char *reason, void *arg)
{
	struct fixture *f = arg;

	(void)reason;
	if (c == f->client)
		f->client = NULL; /* freed by the transport after return */
}

static const struct h2_conn_cbs cl_conn_cbs = {
	.on_ready = cl_on_ready,
	.on_close = cl_on_close_conn,
};

static bool is_ready(struct fixture *f)
{
	return f->ready;
}

static void connect_client(struct fixture *f)
{
	char err[256] = "";

	f->ready = false;
	f->client = h2_connect(f->base, NULL, f->addr, NULL, NULL, &cl_conn_cbs,
			       f, err, sizeof(err));
	assert_non_null(f->client);
	run_until(f, is_ready, "the connection");
}

/* Open the sender's stream, its body starting at the sender's resend
 * offset. */
static struct h2_stream *open_stream(struct fixture *f, uint64_t first)
{
	char off[RESUME_OFFSET_LEN];
	const struct h2_header h[] = {
		{ "x-offset", resume_offset_format(first, off) },
	};
	struct h2_stream *st = h2_conn_request(f->client, "POST", "/in", h, 1,
					       false, &cl_cbs, f);

	assert_non_null(st);
	h2_stream_keep_sent(st);
	return st;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct timeval tv = { 0, 100 * 1000 };
	char err[256] = "";

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/execfs-resume-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->addr, sizeof(f->addr), "unix:%s/s.sock", f->dir);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->tick = event_new(f->base, -1, EV_PERSIST, tick_cb, f);
	assert_non_null(f->tick);
	event_add(f->tick, &tv);
	f->l = h2_listen(f->base, f->addr, NULL, &srv_conn_cbs, f, err,
			 sizeof(err));
	assert_non_null(f->l);
	f->got = evbuffer_new();
	assert_non_null(f->got);
	resume_rx_init(&f->rx);
	resume_tx_init(&f->tx);
	connect_client(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	h2_conn_free(f->client);
	h2_listener_free(f->l);
	resume_tx_release(&f->tx);
	evbuffer_free(f->got);
	event_free(f->tick);
	event_base_free(f->base);
	snprintf(path, sizeof(path), "%s/s.sock", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The bytes of buf follow the pattern from offset first on. */
static void assert_pattern(struct evbuffer *buf, uint64_t first)
{
	size_t n = evbuffer_get_length(buf), i;
	const uint8_t *p = evbuffer_pullup(buf, -1);

	for (i = 0; i < n; i++)
		if (p[i] != pattern(first + i))
			fail_msg("byte at offset %llu is wrong",
				 (unsigned long long)(first + i));
}

static bool st_closed(struct fixture *f);

static bool srv_stopped(struct fixture *f)
{
	return f->stop_at == 0;
}

static bool st_closed(struct fixture *f)
{
	return f->st_closed;
}

static bool srv_ended(struct fixture *f)
{
	return f->srv_end;
}

/* A stream lost with its connection goes on, on the next connection, from
 * what the sender held: the receiver drops what it had and ends up with
 * every byte once. */
static void test_lost_and_resumed(void **state)
{
	struct fixture *f = *state;
	uint64_t first, had;

	/* The receiver takes 100 KiB without returning window for them. */
	f->consume_below = 0;
	f->stop_at = 100 * 1024;
	f->fill = true;
	f->st = open_stream(f, resume_tx_resend_from(&f->tx));
	cl_fill(f);
	run_until(f, srv_stopped, "100 KiB at the receiver");
	had = resume_rx_received(&f->rx);
	assert_true(resume_tx_end(&f->tx) >= had);

	/* The receiver's end of the connection goes (with the answer to
	 * any PING still unsent): the sender's stream is lost. */
	h2_conn_free(f->srv_conn);
	f->srv_conn = NULL;
	run_until(f, st_closed, "the sender to see the loss");
	assert_int_equal(f->st_code, H2_LOST);
	first = resume_tx_resend_from(&f->tx);
	/* Nothing the receiver lacks was let go, and what it received last
	 * (not acknowledged by window or PING) is still held. */
	assert_true(first < had);
	assert_true(resume_tx_held(&f->tx) > 0);
	assert_true(first + resume_tx_held(&f->tx) == resume_tx_end(&f->tx));
	/* New bytes wait behind the held ones. */
	assert_int_equal(resume_tx_write(&f->tx, NULL, "x", 1), -EBUSY);

	/* The next connection: the same bytes from first on. */
	f->consume_below = UINT64_MAX;
	f->st_closed = false;
	connect_client(f);
	f->st = open_stream(f, first);
	cl_fill(f);
	run_until(f, srv_ended, "the whole stream at the receiver");
	assert_int_equal(f->begin_rc, 0);
	/* (The old connection may have delivered a little more before the
	 * new stream came: the receiver counted it, the sender held it.) */
	assert_true(f->had_at_begin >= had);
	assert_true(f->dropped == f->had_at_begin - first);
	assert_true(resume_rx_received(&f->rx) == TOTAL);
	assert_int_equal(evbuffer_get_length(f->got), TOTAL);
	assert_pattern(f->got, 0);
	assert_int_equal(resume_tx_held(&f->tx), 0);
}

/* A sender that starts a stream past what the receiver has is refused. */
static void test_gap_refused(void **state)
{
	struct fixture *f = *state;

	f->consume_below = UINT64_MAX;
	f->st = open_stream(f, 5);
	run_until(f, st_closed, "the refused stream to close");
	assert_int_equal(f->begin_rc, -ERANGE);
	assert_true(resume_rx_received(&f->rx) == 0);
}

static bool kept_and_acknowledged(struct fixture *f)
{
	return resume_tx_first(&f->tx, f->st) > 0 &&
	       h2_stream_unacked(f->st) >= 2;
}

/* A new stream takes over from one still attached (the agent's output
 * when a client comes back on a new connection before the old one is seen
 * to go): at any offset from the oldest byte the sender still has to the
 * end, and at no other. */
static void test_seek_from_attached(void **state)
{
	struct fixture *f = *state;
	uint8_t chunk[CHUNK];
	struct h2_stream *old;
	uint64_t first, end, mid, at;
	size_t unacked, i;

	/* 1 MiB goes into the stream; the receiver returns window for the
	 * first 300 KiB only, so the sender learns that the oldest bytes
	 * arrived while the newest cannot even be sent. */
	f->consume_below = 300 * 1024;
	f->fill = false;
	f->st = open_stream(f, 0);
	while ((at = resume_tx_end(&f->tx)) < 1024 * 1024) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(at + i);
		assert_int_equal(resume_tx_write(&f->tx, f->st, chunk,
						 sizeof(chunk)),
				 0);
	}
	run_until(f, kept_and_acknowledged, "acknowledged bytes");
	old = f->st;
	first = resume_tx_first(&f->tx, old);
	end = resume_tx_end(&f->tx);
	unacked = h2_stream_unacked(old);
	assert_true(first + unacked == end);
	assert_true(first <= resume_rx_received(&f->rx));

	/* Behind the oldest byte kept, past the end: refused, unchanged. */
	assert_int_equal(resume_tx_seek(&f->tx, first - 1, old), -ERANGE);
	assert_int_equal(resume_tx_seek(&f->tx, end + 1, old), -ERANGE);
	assert_int_equal(resume_tx_seek(&f->tx, UINT64_MAX, old), -ERANGE);
	assert_int_equal(resume_tx_held(&f->tx), 0);
	assert_int_equal(h2_stream_unacked(old), unacked);

	/* In between: the old stream's bytes come back, those before mid
	 * are dropped. */
	mid = first + (end - first) / 2;
	assert_true(mid > first && mid < end);
	assert_int_equal(resume_tx_seek(&f->tx, mid, old), 0);
	assert_int_equal(h2_stream_unacked(old), 0);
	assert_true(resume_tx_held(&f->tx) == end - mid);
	assert_true(resume_tx_resend_from(&f->tx) == mid);
	assert_pattern(f->tx.held, mid);
	assert_true(resume_tx_first(&f->tx, NULL) == mid);
	/* At the end: nothing more to send. */
	assert_int_equal(resume_tx_seek(&f->tx, end, NULL), 0);
	assert_int_equal(resume_tx_held(&f->tx), 0);
	assert_true(resume_tx_resend_from(&f->tx) == end);
	h2_stream_reset(old, H2_CANCEL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_header),
		cmocka_unit_test(test_rx_offsets),
		cmocka_unit_test(test_rx_overflow),
		cmocka_unit_test(test_tx_counting),
		cmocka_unit_test_setup_teardown(test_lost_and_resumed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gap_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_seek_from_attached, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
