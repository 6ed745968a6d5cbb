/*
 * Unit tests for the transport: a client and a server on a Unix socket in
 * one event loop, exercising requests, bodies both ways, end-to-end flow
 * control (window withheld until consumed), on_writable, and connection
 * failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "execfs/h2.h"

/* Client streams of the many-streams test: bytes in, nothing consumed. */
struct many_cl {
	struct h2_stream *st; /* NULL once closed */
	size_t got;
};

struct fixture {
	struct event_base *base;
	char dir[64];
	char addr[128];
	struct h2_listener *l;
	struct h2_conn *client;
	/* server side */
	size_t srv_body; /* request body bytes received */
	bool srv_end;
	size_t srv_reply; /* response bytes to send */
	size_t srv_sent;
	struct h2_stream *srv_st;
	bool srv_consume;
	/* client side */
	int status;
	size_t got;
	bool ended, closed;
	uint32_t close_code;
	bool consume;
	char conn_reason[256];
	bool conn_closed;
	/* test_grow_cap's streams: here, so a failed test's teardown still
	 * closes them into live memory */
	struct many_cl many[10];
	/* test_kept_after_loss, server side */
	size_t kept_written;
	uint32_t kept_code;
	struct evbuffer *kept_taken;
	size_t kept_n;
	bool kept_closed;
};

static void stop_soon(struct fixture *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(f->base, &tv);
}

/*
 * Run the loop until pred(f, arg) holds (looked at every 5 ms), then
 * settle_ms more, so that a step too many has time to show before the
 * caller's checks; the test fails if the state is not reached in 60 s.
 * How long the exchange takes is the machine's business, never the
 * test's.
 */
typedef bool loop_pred(struct fixture *f, const void *arg);

struct until {
	struct fixture *f;
	loop_pred *pred;
	const void *arg;
	bool met;
};

static void until_tick(evutil_socket_t fd, short what, void *a)
{
	struct until *u = a;

	(void)fd;
	(void)what;
	if (u->pred(u->f, u->arg)) {
		u->met = true;
		event_base_loopexit(u->f->base, NULL);
	}
}

static void run_until(struct fixture *f, loop_pred *pred, const void *arg,
		      int settle_ms, const char *what)
{
	struct until u = { f, pred, arg, false };
	struct timeval tick = { 0, 5000 };
	struct event *ev = event_new(f->base, -1, EV_PERSIST, until_tick, &u);
	struct timespec t0, now;

	assert_non_null(ev);
	assert_int_equal(event_add(ev, &tick), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!u.met) {
		u.met = pred(f, arg);
		if (u.met)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 60) {
			event_free(ev);
			fail_msg("not reached in 60 s: %s", what);
		}
		event_base_dispatch(f->base);
	}
	event_free(ev);
	if (settle_ms) {
		stop_soon(f, settle_ms);
		event_base_dispatch(f->base);
	}
}

/* f->got reached *(size_t *)arg. */
static bool got_at_least(struct fixture *f, const void *arg)
{
	return f->got >= *(const size_t *)arg;
}

static bool srv_got_all(struct fixture *f, const void *arg)
{
	return f->srv_body >= *(const size_t *)arg || f->srv_end;
}

static bool client_ended(struct fixture *f, const void *arg)
{
	(void)arg;
	return f->ended || f->closed;
}

/* ---- server ---- */

static void srv_fill(struct fixture *f)
{
	static char chunk[16384];

	while (f->srv_st && f->srv_sent < f->srv_reply &&
	       h2_stream_write_space(f->srv_st) > 0) {
		size_t n = f->srv_reply - f->srv_sent;

		if (n > sizeof(chunk))
			n = sizeof(chunk);
		assert_int_equal(h2_stream_write(f->srv_st, chunk, n), 0);
		f->srv_sent += n;
	}
	if (f->srv_st && f->srv_sent == f->srv_reply)
		h2_stream_end(f->srv_st);
}

static void srv_on_data(struct h2_stream *st, const uint8_t *d, size_t n,
			void *arg)
{
	struct fixture *f = arg;

	(void)d;
	f->srv_body += n;
	if (f->srv_consume)
		h2_stream_consume(st, n);
}

static void srv_on_end(struct h2_stream *st, void *arg)
{
	struct fixture *f = arg;

	f->srv_end = true;
	h2_stream_respond(st, 200, NULL, 0, false);
	f->srv_st = st;
	srv_fill(f);
}

static void srv_on_writable(struct h2_stream *st, void *arg)
{
	(void)st;
	srv_fill(arg);
}

static void srv_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct fixture *f = arg;

	(void)st;
	(void)code;
	f->srv_st = NULL;
}

static const struct h2_stream_cbs srv_cbs = {
	.on_data = srv_on_data,
	.on_end = srv_on_end,
	.on_writable = srv_on_writable,
	.on_close = srv_on_close,
};

/* "/many": every stream is sent MANY_REPLY bytes, each with its own
 * count (freed with the stream); "/fill": FILL_REPLY bytes, a little more
 * than the initial stream window. */
#define MANY_REPLY (16 * 1024 * 1024)
#define FILL_REPLY (320 * 1024)

struct many_srv {
	size_t sent;
	size_t reply;
};

static void many_fill(struct h2_stream *st, struct many_srv *m)
{
	static char chunk[16384];

	while (m->sent < m->reply && h2_stream_write_space(st) > 0) {
		assert_int_equal(h2_stream_write(st, chunk, sizeof(chunk)), 0);
		m->sent += sizeof(chunk);
	}
}

static void many_on_end(struct h2_stream *st, void *arg)
{
	h2_stream_respond(st, 200, NULL, 0, false);
	many_fill(st, arg);
}

static void many_on_writable(struct h2_stream *st, void *arg)
{
	many_fill(st, arg);
}

static void many_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	(void)st;
	(void)code;
	free(arg);
}

static const struct h2_stream_cbs many_srv_cbs = {
	.on_end = many_on_end,
	.on_writable = many_on_writable,
	.on_close = many_on_close,
};

/* "/kept": KEPT_REPLY bytes of a known pattern on a stream that keeps
 * what it sends; its on_close takes back what the client may lack. */
#define KEPT_REPLY (32 * 1024 * 1024)

static uint8_t kept_byte(size_t off)
{
	return (uint8_t)(off * 7 % 251);
}

static void kept_fill(struct h2_stream *st, struct fixture *f)
{
	uint8_t chunk[16384];
	size_t i;

	while (f->kept_written < KEPT_REPLY && h2_stream_write_space(st) > 0) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = kept_byte(f->kept_written + i);
		assert_int_equal(h2_stream_write(st, chunk, sizeof(chunk)), 0);
		f->kept_written += sizeof(chunk);
	}
}

static void kept_on_end(struct h2_stream *st, void *arg)
{
	h2_stream_keep_sent(st);
	h2_stream_respond(st, 200, NULL, 0, false);
	kept_fill(st, arg);
}

static void kept_on_writable(struct h2_stream *st, void *arg)
{
	kept_fill(st, arg);
}

static void kept_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct fixture *f = arg;

	f->kept_code = code;
	f->kept_taken = evbuffer_new();
	assert_non_null(f->kept_taken);
	f->kept_n = h2_stream_take_unacked(st, f->kept_taken);
	f->kept_closed = true;
	event_base_loopexit(f->base, NULL);
}

static const struct h2_stream_cbs kept_srv_cbs = {
	.on_end = kept_on_end,
	.on_writable = kept_on_writable,
	.on_close = kept_on_close,
};

/* "/drained": one small write, then the end once told the buffer
 * drained (as the agent's container watch sends its newest snapshot). */
static void drained_on_end(struct h2_stream *st, void *arg)
{
	(void)arg;
	h2_stream_respond(st, 200, NULL, 0, false);
	assert_int_equal(h2_stream_write(st, "snapshot\n", 9), 0);
	assert_true(h2_stream_buffered(st) > 0);
	h2_stream_notify_drained(st);
}

static void drained_on_writable(struct h2_stream *st, void *arg)
{
	(void)arg;
	assert_int_equal(h2_stream_buffered(st), 0);
	h2_stream_end(st);
}

static const struct h2_stream_cbs drained_srv_cbs = {
	.on_end = drained_on_end,
	.on_writable = drained_on_writable,
};

/* "/sink": consumes every byte; with an x-reset header it resets the
 * stream after returning the window for the first bytes, so the client
 * reads a WINDOW_UPDATE (the stream is owed on_writable) and the reset
 * in one go. */
static void sink_on_data(struct h2_stream *st, const uint8_t *d, size_t n,
			 void *arg)
{
	(void)d;
	(void)arg;
	h2_stream_consume(st, n);
	if (h2_stream_header(st, "x-reset"))
		h2_stream_reset(st, H2_CANCEL);
}

static void sink_on_end(struct h2_stream *st, void *arg)
{
	(void)arg;
	h2_stream_respond(st, 200, NULL, 0, true);
}

static const struct h2_stream_cbs sink_srv_cbs = {
	.on_data = sink_on_data,
	.on_end = sink_on_end,
};

static void srv_on_request(struct h2_conn *c, struct h2_stream *st, void *arg)
{
	struct fixture *f = arg;

	(void)c;
	if (!strcmp(h2_stream_path(st), "/sink")) {
		h2_stream_set_cbs(st, &sink_srv_cbs, NULL);
		return;
	}
	if (!strcmp(h2_stream_path(st), "/drained")) {
		h2_stream_set_cbs(st, &drained_srv_cbs, f);
		return;
	}
	if (!strcmp(h2_stream_path(st), "/kept")) {
		h2_stream_set_cbs(st, &kept_srv_cbs, f);
		return;
	}
	if (!strcmp(h2_stream_path(st), "/many") ||
	    !strcmp(h2_stream_path(st), "/fill")) {
		struct many_srv *m = calloc(1, sizeof(*m)); /* the stream's */

		assert_non_null(m);
		m->reply = strcmp(h2_stream_path(st), "/many") ? FILL_REPLY :
								 MANY_REPLY;
		h2_stream_set_cbs(st, &many_srv_cbs, m);
		return;
	}
	if (!strcmp(h2_stream_path(st), "/missing")) {
		h2_stream_respond(st, 404, NULL, 0, true);
		return;
	}
	assert_string_equal(h2_stream_header(st, "streamtype"), "stdout");
	h2_stream_set_cbs(st, &srv_cbs, f);
}

static const struct h2_conn_cbs srv_conn_cbs = {
	.on_request = srv_on_request,
};

/* ---- client ---- */

static void cl_on_response(struct h2_stream *st, int status, void *arg)
{
	struct fixture *f = arg;

	(void)st;
	f->status = status;
}

static void cl_on_data(struct h2_stream *st, const uint8_t *d, size_t n,
		       void *arg)
{
	struct fixture *f = arg;

	(void)d;
	f->got += n;
	if (f->consume)
		h2_stream_consume(st, n);
}

static void cl_on_end(struct h2_stream *st, void *arg)
{
	struct fixture *f = arg;

	(void)st;
	f->ended = true;
}

static void cl_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct fixture *f = arg;

	(void)st;
	f->closed = true;
	f->close_code = code;
	event_base_loopexit(f->base, NULL);
}

static const struct h2_stream_cbs cl_cbs = {
	.on_response = cl_on_response,
	.on_data = cl_on_data,
	.on_end = cl_on_end,
	.on_close = cl_on_close,
};

static void cl_on_close_conn(struct h2_conn *c, const char *reason, void *arg)
{
	struct fixture *f = arg;

	(void)c;
	f->conn_closed = true;
	snprintf(f->conn_reason, sizeof(f->conn_reason), "%s", reason);
	if (c == f->client)
		f->client = NULL; /* freed by the transport after return */
	event_base_loopexit(f->base, NULL);
}

static const struct h2_conn_cbs cl_conn_cbs = {
	.on_close = cl_on_close_conn,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256] = "";

	snprintf(f->dir, sizeof(f->dir), "/tmp/execfs-h2-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->addr, sizeof(f->addr), "unix:%s/s.sock", f->dir);
	f->base = event_base_new();
	f->l = h2_listen(f->base, f->addr, NULL, &srv_conn_cbs, f, err,
			 sizeof(err));
	assert_non_null(f->l);
	f->client = h2_connect(f->base, NULL, f->addr, NULL, NULL, &cl_conn_cbs,
			       f, err, sizeof(err));
	assert_non_null(f->client);
	f->srv_consume = true;
	f->consume = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	if (f->kept_taken)
		evbuffer_free(f->kept_taken);
	h2_conn_free(f->client);
	h2_listener_free(f->l);
	event_base_free(f->base);
	snprintf(path, sizeof(path), "%s/s.sock", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct h2_stream *open_stdout(struct fixture *f, const char *body,
				     size_t len)
{
	const struct h2_header h[] = { { "streamtype", "stdout" } };
	struct h2_stream *st = h2_conn_request(f->client, "POST", "/x", h, 1,
					       false, &cl_cbs, f);

	assert_non_null(st);
	if (len)
		assert_int_equal(h2_stream_write(st, body, len), 0);
	assert_int_equal(h2_stream_end(st), 0);
	return st;
}

static void test_request_response(void **state)
{
	struct fixture *f = *state;

	f->srv_reply = 5;
	open_stdout(f, "hello", 5);
	event_base_dispatch(f->base);
	assert_true(f->closed);
	assert_int_equal(f->close_code, 0);
	assert_int_equal(f->status, 200);
	assert_int_equal(f->srv_body, 5);
	assert_true(f->srv_end);
	assert_int_equal(f->got, 5);
	assert_true(f->ended);
}

static void test_not_found(void **state)
{
	struct fixture *f = *state;

	assert_non_null(h2_conn_request(f->client, "GET", "/missing", NULL, 0,
					true, &cl_cbs, f));
	event_base_dispatch(f->base);
	assert_int_equal(f->status, 404);
	assert_true(f->ended);
	assert_int_equal(f->got, 0);
}

/* A large body in both directions: on_writable keeps the server going. */
static void test_large_bodies(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * 1024 * 1024;
	char *body = calloc(1, len);
	struct h2_stream *st;
	size_t off = 0;

	f->srv_reply = 64 * 1024 * 1024;
	st = h2_conn_request(
		f->client, "POST", "/x",
		(const struct h2_header[]){ { "streamtype", "stdout" } }, 1,
		false, &cl_cbs, f);
	assert_non_null(st);
	/* Respect write space as callers must; the rest is refused. */
	while (off < len && h2_stream_write_space(st) > 0) {
		size_t n = h2_stream_write_space(st);

		if (n > len - off)
			n = len - off;
		assert_int_equal(h2_stream_write(st, body + off, n), 0);
		off += n;
	}
	assert_int_equal(off, H2_STREAM_HIWAT);
	assert_int_equal(h2_stream_write(st, body, 4 * H2_STREAM_HIWAT),
			 -ENOBUFS);
	h2_stream_end(st);
	event_base_dispatch(f->base);
	assert_int_equal(f->srv_body, H2_STREAM_HIWAT);
	assert_int_equal(f->got, 64 * 1024 * 1024);
	assert_true(f->ended);
	free(body);
}

/* Window is only returned by consume: an idle reader holds the sender. */
static void test_flow_control(void **state)
{
	struct fixture *f = *state;
	struct h2_stream *st;
	size_t want;

	f->consume = false;
	f->srv_reply = 16 * 1024 * 1024;
	st = open_stdout(f, NULL, 0);
	want = 256 * 1024;
	run_until(f, got_at_least, &want, 100, "the first window");
	/* The initial stream window is 256 KiB; with no window left, the
	 * server may queue only a stalled stream's little. */
	assert_int_equal(f->got, 256 * 1024);
	assert_false(f->ended);
	assert_non_null(f->srv_st);
	assert_true(h2_stream_buffered(f->srv_st) <= H2_STREAM_STALLED);
	assert_int_equal(h2_stream_write_space(f->srv_st),
			 H2_STREAM_STALLED - h2_stream_buffered(f->srv_st));
	/* Grown, the window lets 4 MiB be in flight, consumed or not. */
	h2_stream_grow_window(st);
	want = H2_BULK_WINDOW;
	run_until(f, got_at_least, &want, 100, "the grown window");
	assert_int_equal(f->got, H2_BULK_WINDOW);
	assert_false(f->ended);
	f->consume = true;
	h2_stream_consume(st, f->got);
	event_base_dispatch(f->base);
	assert_int_equal(f->got, 16 * 1024 * 1024);
	assert_true(f->ended);
}

static void many_cl_data(struct h2_stream *st, const uint8_t *d, size_t n,
			 void *arg)
{
	struct many_cl *m = arg;

	(void)st;
	(void)d;
	m->got += n;
}

static void many_cl_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct many_cl *m = arg;

	(void)st;
	(void)code;
	m->st = NULL;
}

static const struct h2_stream_cbs many_cl_cbs = {
	.on_data = many_cl_data,
	.on_close = many_cl_close,
};

static size_t count_got(const struct many_cl *m, size_t n, size_t got)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += m[i].got == got;
	return k;
}

/* At least k of the n streams at m got exactly got bytes. */
struct many_want {
	const struct many_cl *m;
	size_t n, got, k;
};

static bool many_reached(struct fixture *f, const void *arg)
{
	const struct many_want *w = arg;

	(void)f;
	return count_got(w->m, w->n, w->got) >= w->k;
}

static bool many_closed(struct fixture *f, const void *arg)
{
	(void)f;
	return ((const struct many_cl *)arg)->st == NULL;
}

/* Unread streams that asked to grow: 8 of them get H2_BULK_WINDOW, the
 * rest keep 256 KiB, so what they hold beyond their readers stays within
 * half the connection's window; a grown stream's close frees its place. */
static void test_grow_cap(void **state)
{
	const struct h2_header h[] = { { "streamtype", "stdout" } };
	struct fixture *f = *state;
	struct many_cl *m = f->many;
	size_t i, first = 0;

	for (i = 0; i < 10; i++) {
		m[i].st = h2_conn_request(f->client, "POST", "/many", h, 1,
					  true, &many_cl_cbs, &m[i]);
		assert_non_null(m[i].st);
	}
	run_until(f, many_reached, &(struct many_want){ m, 10, 256 * 1024, 10 },
		  100, "10 streams at 256 KiB");
	assert_int_equal(count_got(m, 10, 256 * 1024), 10);

	for (i = 0; i < 10; i++)
		h2_stream_grow_window(m[i].st);
	run_until(f, many_reached,
		  &(struct many_want){ m, 10, H2_BULK_WINDOW, 8 }, 100,
		  "8 grown streams");
	assert_int_equal(count_got(m, 10, H2_BULK_WINDOW), 8);
	assert_int_equal(count_got(m, 10, 256 * 1024), 2);

	/* One grown stream goes; growing the two others again gives its
	 * place to one of them. */
	while (m[first].got != H2_BULK_WINDOW)
		first++;
	h2_stream_reset(m[first].st, H2_CANCEL);
	run_until(f, many_closed, &m[first], 0, "the reset stream's close");
	assert_null(m[first].st);
	for (i = 0; i < 10; i++)
		if (m[i].got == 256 * 1024)
			h2_stream_grow_window(m[i].st);
	run_until(f, many_reached,
		  &(struct many_want){ m, 10, H2_BULK_WINDOW, 9 }, 100,
		  "9 grown streams");
	assert_int_equal(count_got(m, 10, H2_BULK_WINDOW), 9);
	assert_int_equal(count_got(m, 10, 256 * 1024), 1);
}

/* Streams nobody reads hold their own window, not the connection's: with
 * 270 of them full (67.5 MiB, more than the 64 MiB connection window),
 * a new stream still gets its bytes. */
static void test_unread_streams_leave_the_connection(void **state)
{
	const struct h2_header h[] = { { "streamtype", "stdout" } };
	struct fixture *f = *state;
	struct many_cl *m = calloc(270, sizeof(*m)); /* freed below */
	size_t i;

	assert_non_null(m);
	for (i = 0; i < 270; i++)
		assert_non_null(h2_conn_request(f->client, "POST", "/fill", h,
						1, true, &many_cl_cbs, &m[i]));
	run_until(f, many_reached,
		  &(struct many_want){ m, 270, 256 * 1024, 270 }, 100,
		  "270 full streams");
	assert_int_equal(count_got(m, 270, 256 * 1024), 270);

	f->srv_reply = 100 * 1024;
	open_stdout(f, NULL, 0);
	run_until(f, client_ended, NULL, 0, "the new stream's end");
	assert_true(f->ended);
	assert_int_equal(f->got, 100 * 1024);

	/* The streams' callbacks write into m: close them while it lives. */
	h2_conn_free(f->client);
	f->client = NULL;
	free(m);
}

/* A stream that keeps what it sends hands back, when its connection is
 * lost, every byte the client may not have, and drops what it has: not
 * consumed, consumed, grown, consumed again, stalled. */
static void test_kept_after_loss(void **state)
{
	const struct h2_header h[] = { { "streamtype", "stdout" } };
	struct fixture *f = *state;
	size_t consumed = 0, start, i, want;
	struct h2_stream *st;
	uint8_t *back;

	f->consume = false;
	st = h2_conn_request(f->client, "GET", "/kept", h, 1, true, &cl_cbs, f);
	assert_non_null(st);
	want = 256 * 1024;
	run_until(f, got_at_least, &want, 100, "the first window");
	assert_int_equal(f->got, 256 * 1024);

	h2_stream_consume(st, 200 * 1024);
	consumed += 200 * 1024;
	want = consumed + 256 * 1024;
	run_until(f, got_at_least, &want, 100, "the window after a consume");
	assert_int_equal(f->got, consumed + 256 * 1024);

	h2_stream_grow_window(st);
	want = consumed + H2_BULK_WINDOW;
	run_until(f, got_at_least, &want, 100, "the grown window");
	assert_int_equal(f->got, consumed + H2_BULK_WINDOW);
	h2_stream_consume(st, f->got - consumed);
	consumed = f->got;
	want = consumed + H2_BULK_WINDOW;
	run_until(f, got_at_least, &want, 100, "the grown window again");
	assert_int_equal(f->got, consumed + H2_BULK_WINDOW);

	/* The client vanishes: the server's stream is lost, not reset. */
	h2_conn_free(f->client);
	f->client = NULL;
	while (!f->kept_closed)
		event_base_dispatch(f->base);
	assert_int_equal(f->kept_code, H2_LOST);
	assert_true(f->kept_n <= f->kept_written);
	start = f->kept_written - f->kept_n;
	/* Nothing the client lacks is gone; what it received is: the
	 * window says it consumed some, and a PING answered after the
	 * stream stalled proves it received the rest. */
	assert_true(start <= f->got);
	assert_int_equal(start, f->got);
	back = evbuffer_pullup(f->kept_taken, -1);
	assert_int_equal(evbuffer_get_length(f->kept_taken), f->kept_n);
	for (i = 0; i < f->kept_n; i++)
		if (back[i] != kept_byte(start + i))
			fail_msg("byte %zu of what was taken back is wrong",
				 start + i);
}

/* A client stream writes as fs/stdin.c does: while there is room, and
 * after a 0 only on on_writable. */
#define ROOM_TOTAL (1024 * 1024)

struct room_writer {
	struct fixture *f;
	struct h2_stream *st;
	size_t written;
	unsigned zeros; /* times write_space said 0 */
	bool closed;
};

static void room_fill(struct room_writer *w)
{
	static char chunk[16384];
	size_t space;

	while (w->st && w->written < ROOM_TOTAL) {
		space = h2_stream_write_space(w->st);
		if (space == 0) {
			w->zeros++;
			return; /* on_writable says when */
		}
		if (space > sizeof(chunk))
			space = sizeof(chunk);
		if (space > ROOM_TOTAL - w->written)
			space = ROOM_TOTAL - w->written;
		assert_int_equal(h2_stream_write(w->st, chunk, space), 0);
		w->written += space;
	}
	if (w->st && w->written == ROOM_TOTAL)
		h2_stream_end(w->st);
}

static void room_on_writable(struct h2_stream *st, void *arg)
{
	(void)st;
	room_fill(arg);
}

static void room_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct room_writer *w = arg;

	(void)st;
	(void)code;
	w->st = NULL;
	w->closed = true;
	event_base_loopexit(w->f->base, NULL);
}

static const struct h2_stream_cbs room_cbs = {
	.on_writable = room_on_writable,
	.on_close = room_on_close,
};

/* A stream filled before it opened finds less room once it has (the
 * peer's window is not known yet): a writer told 0 then is still told
 * when room comes, though no write of its own filled the stream. */
static void test_room_comes_after_a_zero(void **state)
{
	const struct h2_header h[] = { { "streamtype", "stdout" } };
	struct fixture *f = *state;
	struct room_writer w = { .f = f };
	char *pre = calloc(1, 200 * 1024);
	size_t want;
	int i;

	assert_non_null(pre);
	w.st = h2_conn_request(f->client, "POST", "/x", h, 1, false, &room_cbs,
			       &w);
	assert_non_null(w.st);
	assert_int_equal(h2_stream_write(w.st, pre, 200 * 1024), 0);
	w.written = 200 * 1024;
	free(pre);
	/* Let it open; ask for room as soon as there may be none. */
	for (i = 0; i < 2000 && w.st; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		if (w.st && h2_stream_buffered(w.st) < 200 * 1024) {
			room_fill(&w);
			break;
		}
	}
	assert_int_equal(w.zeros, 1); /* the case this test is about */
	want = ROOM_TOTAL;
	run_until(f, srv_got_all, &want, 0, "every byte at the server");
	assert_int_equal(f->srv_body, ROOM_TOTAL);
	assert_true(f->srv_end);
	if (w.st)
		h2_stream_reset(w.st, H2_CANCEL);
}

/* A writer that sends only its newest state waits for an empty buffer:
 * told so, though the buffer never went above LOWAT. */
static void test_notify_drained(void **state)
{
	struct fixture *f = *state;

	assert_non_null(h2_conn_request(f->client, "GET", "/drained", NULL, 0,
					true, &cl_cbs, f));
	run_until(f, client_ended, NULL, 0, "the stream's end");
	assert_int_equal(f->got, 9);
	assert_true(f->ended);
}

/* Streams of the lists test: one per client stream. */
#define LISTS_N 30
#define LISTS_BODY (300 * 1024) /* above LOWAT: on_writable is owed */

struct lists_st {
	struct h2_stream *st; /* NULL once closed */
	bool reset; /* the server resets it */
	unsigned writable, closes;
	uint32_t code;
};

static void lists_on_writable(struct h2_stream *st, void *arg)
{
	struct lists_st *l = arg;

	assert_ptr_equal(st, l->st);
	l->writable++;
}

static void lists_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct lists_st *l = arg;

	assert_ptr_equal(st, l->st);
	l->closes++;
	l->code = code;
	l->st = NULL;
}

static const struct h2_stream_cbs lists_cbs = {
	.on_writable = lists_on_writable,
	.on_close = lists_on_close,
};

static bool lists_settled(const struct lists_st *l)
{
	size_t i;

	for (i = 0; i < LISTS_N; i++)
		if (l[i].reset ? l[i].closes == 0 : l[i].writable == 0)
			return false;
	return true;
}

/* A connection keeps its streams, and those owed on_writable, on lists
 * it unlinks from in O(1): streams at both ends and in the middle go
 * (reset by the peer while owed on_writable), the others go on being
 * served, and at the end every remaining stream is closed exactly once. */
static void test_stream_lists(void **state)
{
	const struct h2_header h[] = { { "x-reset", "1" } };
	struct fixture *f = *state;
	struct lists_st l[LISTS_N];
	char *body = calloc(1, LISTS_BODY);
	time_t deadline = time(NULL) + 30;
	size_t i, open = 0;

	assert_non_null(body);
	memset(l, 0, sizeof(l));
	for (i = 0; i < LISTS_N; i++) {
		l[i].reset = i == 0 || i == LISTS_N / 2 || i == LISTS_N - 1;
		l[i].st = h2_conn_request(f->client, "POST", "/sink", h,
					  l[i].reset ? 1 : 0, false, &lists_cbs,
					  &l[i]);
		assert_non_null(l[i].st);
		assert_int_equal(h2_stream_write(l[i].st, body, LISTS_BODY), 0);
	}
	free(body);
	while (!lists_settled(l)) {
		if (time(NULL) > deadline)
			fail_msg("streams not served or not reset in 30 s");
		stop_soon(f, 100);
		event_base_dispatch(f->base);
	}
	for (i = 0; i < LISTS_N; i++) {
		if (l[i].reset) {
			assert_int_equal(l[i].closes, 1);
			assert_int_equal(l[i].code, H2_CANCEL);
		} else {
			assert_int_equal(l[i].closes, 0);
			open++;
		}
	}
	assert_int_equal(open, LISTS_N - 3);
	/* The rest close with the connection, each once. */
	h2_conn_free(f->client);
	f->client = NULL;
	for (i = 0; i < LISTS_N; i++) {
		assert_int_equal(l[i].closes, 1);
		assert_null(l[i].st);
	}
}

static void test_connect_refused(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct h2_conn *c;

	c = h2_connect(f->base, NULL, "unix:/nonexistent/execfs.sock", NULL,
		       NULL, &cl_conn_cbs, f, err, sizeof(err));
	assert_non_null(c);
	event_base_dispatch(f->base);
	assert_true(f->conn_closed);
	assert_non_null(strstr(f->conn_reason, "No such file"));
	assert_null(h2_connect(f->base, NULL, "nohostport", NULL, NULL,
			       &cl_conn_cbs, f, err, sizeof(err)));
	assert_non_null(strstr(err, "bad address"));
}

/* Streams learn of a lost connection through on_close. */
static void test_server_gone(void **state)
{
	struct fixture *f = *state;

	f->consume = false;
	f->srv_reply = 8 * 1024 * 1024;
	open_stdout(f, NULL, 0);
	stop_soon(f, 100);
	event_base_dispatch(f->base);
	h2_listener_free(f->l);
	f->l = NULL;
	event_base_dispatch(f->base);
	assert_true(f->closed);
	assert_int_not_equal(f->close_code, 0);
}

/* A peer that accepted the connection and then says nothing (a frozen
 * process: the socket stays open) is given up after three silent
 * heartbeat intervals; a quiet peer that answers PINGs is kept. */
static void test_heartbeat(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct h2_conn *alive, *c;
	int sv[2];

	h2_set_heartbeat(1); /* for connections made from now on */
	alive = h2_connect(f->base, NULL, f->addr, NULL, NULL, &cl_conn_cbs, f,
			   err, sizeof(err));
	assert_non_null(alive);
	/* Idle for longer than a silent peer is given: both ends PING and
	 * answer, nothing closes. */
	stop_soon(f, 4500);
	event_base_dispatch(f->base);
	assert_false(f->conn_closed);
	h2_conn_free(alive);

	/* A connection over a socket whose other end nobody reads or
	 * writes: the loop runs until the transport gives it up. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = h2_conn_serve(f->base, sv[0], &cl_conn_cbs, f);
	assert_non_null(c);
	event_base_dispatch(f->base);
	assert_true(f->conn_closed);
	assert_non_null(strstr(f->conn_reason, "silent for 3 s"));
	close(sv[1]);
	h2_set_heartbeat(5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_response, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_large_bodies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flow_control, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_grow_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unread_streams_leave_the_connection, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_kept_after_loss, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_room_comes_after_a_zero,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_drained, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stream_lists, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_server_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
