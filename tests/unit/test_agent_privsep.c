/*
 * Unit tests for agent/privsep.c: the monitor/worker messages round-trip,
 * every truncation and every field over its bound is refused, the number
 * of fds must be exact, and the channel carries datagrams and fds between
 * two loops' worth of events (one base here) and fails closed on garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "privsep.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const int nofds[PRIVSEP_MAX_FDS + 1] = { -1, -1, -1, -1, -1, -1 };

static int decode(const uint8_t *buf, size_t len, size_t nfds,
		  struct privsep_msg *m)
{
	char err[256];

	return privsep_msg_decode(buf, len, nofds, nfds, m, err, sizeof(err));
}

static void encode_full_spawn(uint8_t **buf, size_t *len)
{
	static char *argv[] = { "sh", "-c", "echo hi", NULL };
	static char *env[] = { "TERM=xterm", "A=", NULL };
	static char *run_as[] = { "app", "uid:1000-1999", NULL };
	struct exec_spec req = {
		.container = "3f2a",
		.argv = argv,
		.env = env,
		.cwd = "/srv",
		.user = "app:app",
		.tty = true,
		.cols = 132,
		.rows = 43,
		.has_nice = true,
		.nice = -3,
		.run_as = run_as,
		.seen_pid = 4242,
		.seen_created = "2026-12-07T15:00:00.123456789Z",
		.seen_privileged = true,
	};

	assert_int_equal(privsep_encode_spawn(7, &req, buf, len), 0);
}

static void test_spawn_round_trip(void **state)
{
	static char *argv[] = { "true", NULL };
	struct exec_spec bare = { .container = "c1", .argv = argv };
	struct privsep_msg m;
	uint8_t *buf;
	size_t len;

	encode_full_spawn(&buf, &len);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.type, PRIVSEP_SPAWN);
	assert_true(privsep_from_worker(m.type));
	assert_int_equal(m.id, 7);
	assert_string_equal(m.spec.container, "3f2a");
	assert_string_equal(m.spec.argv[0], "sh");
	assert_string_equal(m.spec.argv[2], "echo hi");
	assert_null(m.spec.argv[3]);
	assert_string_equal(m.spec.env[0], "TERM=xterm");
	assert_string_equal(m.spec.env[1], "A=");
	assert_null(m.spec.env[2]);
	assert_string_equal(m.spec.cwd, "/srv");
	assert_string_equal(m.spec.user, "app:app");
	assert_true(m.flags & PRIVSEP_SPAWN_TTY);
	assert_false(m.flags & PRIVSEP_SPAWN_MERGE);
	assert_int_equal(m.spec.cols, 132);
	assert_int_equal(m.spec.rows, 43);
	assert_true(m.spec.has_nice);
	assert_int_equal(m.spec.nice, -3);
	assert_string_equal(m.spec.run_as[0], "app");
	assert_string_equal(m.spec.run_as[1], "uid:1000-1999");
	assert_null(m.spec.run_as[2]);
	assert_int_equal(m.spec.seen_pid, 4242);
	assert_string_equal(m.spec.seen_created,
			    "2026-12-07T15:00:00.123456789Z");
	assert_true(m.spec.seen_privileged);
	privsep_msg_release(&m);
	free(buf);

	/* Absent stays absent (NULL), not empty. */
	assert_int_equal(privsep_encode_spawn(8, &bare, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_null(m.spec.env);
	assert_null(m.spec.cwd);
	assert_null(m.spec.user);
	assert_null(m.spec.run_as);
	assert_int_equal(m.spec.seen_pid, 0);
	assert_false(m.spec.seen_privileged);
	assert_string_equal(m.spec.argv[0], "true");
	assert_false(m.spec.has_nice);
	privsep_msg_release(&m);
	free(buf);
}

/* A worker taken over sends what the decoder must refuse: a nice value
 * out of range, a has_nice that is no boolean, a value without it. */
static void test_spawn_bad_nice(void **state)
{
	static const int32_t tail[][2] = {
		{ 1, 20 }, { 1, -21 }, { 2, 0 }, { 0, 5 }
	};
	struct privsep_msg m;
	uint8_t *buf;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
		encode_full_spawn(&buf, &len);
		/* The message ends with has_nice (u32) and nice (i32). */
		memcpy(buf + len - 8, &tail[i][0], 4);
		memcpy(buf + len - 4, &tail[i][1], 4);
		assert_int_equal(decode(buf, len, 0, &m), -EINVAL);
		free(buf);
	}
	encode_full_spawn(&buf, &len);
	memcpy(buf + len - 4, &(int32_t){ 19 }, 4);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.spec.nice, 19);
	privsep_msg_release(&m);
	free(buf);
}

static void test_other_round_trips(void **state)
{
	struct privsep_msg m;
	uint8_t *buf;
	size_t len;

	assert_int_equal(privsep_encode_signal(3, 9, SIGTERM,
					       LAUNCH_SIG_FOREGROUND, &buf,
					       &len),
			 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.type, PRIVSEP_SIGNAL);
	assert_int_equal(m.id, 3);
	assert_int_equal(m.token, 9);
	assert_int_equal(m.num, SIGTERM);
	assert_int_equal(m.flags, LAUNCH_SIG_FOREGROUND);
	privsep_msg_release(&m);
	free(buf);

	assert_int_equal(privsep_encode_spawned(4, 5, 1234,
						PRIVSEP_FD_STDIN |
							PRIVSEP_FD_STDOUT |
							PRIVSEP_FD_REPORT,
						&buf, &len),
			 0);
	assert_int_equal(decode(buf, len, 3, &m), 0);
	assert_int_equal(m.type, PRIVSEP_SPAWNED);
	assert_false(privsep_from_worker(m.type));
	assert_int_equal(m.num, 1234);
	assert_int_equal(m.nfds, 3);
	privsep_msg_release(&m);
	free(buf);

	assert_int_equal(privsep_encode_spawn_failed(4, ENOENT, "exec x: gone",
						     &buf, &len),
			 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.num, ENOENT);
	assert_string_equal(m.message, "exec x: gone");
	privsep_msg_release(&m);
	free(buf);

	assert_int_equal(privsep_encode_exited(5, 7 << 8, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.token, 5);
	assert_int_equal(m.num, 7 << 8);
	privsep_msg_release(&m);
	free(buf);

	assert_int_equal(
		privsep_encode_signaled(3, 9, 0, 4321, true, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.target, 4321);
	assert_true(m.flags & PRIVSEP_SIGNALED_FG);
	privsep_msg_release(&m);
	free(buf);

	assert_int_equal(privsep_encode_chunk(PRIVSEP_INVENTORY, "{\"a\":1}", 7,
					      true, &buf, &len),
			 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.len, 7);
	assert_memory_equal(m.data, "{\"a\":1}", 7);
	assert_true(m.flags & PRIVSEP_LAST);
	privsep_msg_release(&m);
	free(buf);

	/* The TLS files come in chunks like the policy. */
	assert_int_equal(privsep_encode_chunk(PRIVSEP_TLS, "PEM", 3, false,
					      &buf, &len),
			 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.type, PRIVSEP_TLS);
	assert_false(privsep_from_worker(m.type));
	assert_false(m.flags & PRIVSEP_LAST);
	privsep_msg_release(&m);
	free(buf);

	/* PING is the worker's, PONG the monitor's answer. */
	assert_int_equal(privsep_encode_ping(PRIVSEP_PING, 11, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_true(privsep_from_worker(m.type));
	assert_int_equal(m.id, 11);
	privsep_msg_release(&m);
	free(buf);
	assert_int_equal(privsep_encode_ping(PRIVSEP_PONG, 12, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_false(privsep_from_worker(m.type));
	assert_int_equal(m.id, 12);
	privsep_msg_release(&m);
	free(buf);
	assert_int_equal(privsep_encode_ping(PRIVSEP_SPAWN, 1, &buf, &len),
			 -EINVAL);
}

/* Every prefix is refused, whether the header's length is left as it was
 * or made to agree with the cut. */
static void test_truncations(void **state)
{
	struct privsep_msg m;
	uint8_t *buf, *cut;
	size_t len, i;
	uint32_t plen;

	encode_full_spawn(&buf, &len);
	cut = malloc(len);
	assert_non_null(cut);
	for (i = 0; i < len; i++) {
		memcpy(cut, buf, i);
		assert_int_equal(decode(cut, i, 0, &m), -EINVAL);
		if (i >= PRIVSEP_HDR_LEN) {
			plen = (uint32_t)(i - PRIVSEP_HDR_LEN);
			memcpy(cut + 4, &plen, 4);
			assert_int_equal(decode(cut, i, 0, &m), -EINVAL);
		}
	}
	/* And a byte too many. */
	cut = realloc(cut, len + 1);
	assert_non_null(cut);
	memcpy(cut, buf, len);
	cut[len] = 0;
	plen = (uint32_t)(len + 1 - PRIVSEP_HDR_LEN);
	memcpy(cut + 4, &plen, 4);
	assert_int_equal(decode(cut, len + 1, 0, &m), -EINVAL);
	free(cut);
	free(buf);
}

/* A hand-built SPAWN: header, id, container, then what the test wants. */
struct raw {
	uint8_t b[PRIVSEP_MSG_MAX + 64];
	size_t n;
};

static void raw_put(struct raw *r, const void *p, size_t n)
{
	assert_true(r->n + n <= sizeof(r->b));
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void raw_u32(struct raw *r, uint32_t v)
{
	raw_put(r, &v, 4);
}

static void raw_str(struct raw *r, const char *s, size_t len)
{
	raw_u32(r, (uint32_t)len);
	raw_put(r, s, len);
}

static void raw_begin_spawn(struct raw *r)
{
	uint64_t id = 1;

	r->n = 0;
	raw_u32(r, PRIVSEP_SPAWN);
	raw_u32(r, 0);
	raw_put(r, &id, 8);
	raw_str(r, "c", 1);
}

/* env, cwd, user, flags, cols, rows, run_as: all absent. */
static int raw_end_spawn(struct raw *r, uint32_t flags)
{
	struct privsep_msg m;
	uint32_t plen;
	int rc;

	raw_u32(r, 0);
	raw_str(r, "", 0);
	raw_str(r, "", 0);
	raw_u32(r, flags);
	raw_u32(r, 80);
	raw_u32(r, 24);
	raw_u32(r, 0); /* no run_as */
	raw_u32(r, 0); /* no instance */
	raw_str(r, "", 0);
	raw_u32(r, 0); /* no nice */
	raw_u32(r, 0);
	plen = (uint32_t)(r->n - PRIVSEP_HDR_LEN);
	memcpy(r->b + 4, &plen, 4);
	rc = decode(r->b, r->n, 0, &m);
	if (!rc)
		privsep_msg_release(&m);
	return rc;
}

static void test_oversize(void **state)
{
	static char big[PRIVSEP_STRV_BYTES + 2];
	char **argv = calloc(PRIVSEP_STRV_MAX + 2, sizeof(*argv));
	struct exec_spec req = { .container = "c" };
	struct raw *r = malloc(sizeof(*r));
	uint8_t *buf;
	size_t len, i;

	assert_non_null(argv);
	assert_non_null(r);
	/* The encoder refuses what the decoder would. */
	for (i = 0; i <= PRIVSEP_STRV_MAX; i++)
		argv[i] = "x";
	req.argv = argv;
	assert_int_equal(privsep_encode_spawn(1, &req, &buf, &len), -EINVAL);
	argv[PRIVSEP_STRV_MAX] = NULL;
	assert_int_equal(privsep_encode_spawn(1, &req, &buf, &len), 0);
	free(buf);
	memset(big, 'a', PRIVSEP_STRV_BYTES + 1);
	argv[0] = big;
	argv[1] = NULL;
	assert_int_equal(privsep_encode_spawn(1, &req, &buf, &len), -EINVAL);
	big[PRIVSEP_STRV_BYTES] = 0;
	assert_int_equal(privsep_encode_spawn(1, &req, &buf, &len), 0);
	free(buf);

	/* The decoder, on hand-built datagrams. A good one first, so the
	 * refusals below are the field's, not the builder's. */
	raw_begin_spawn(r);
	raw_u32(r, 1);
	raw_str(r, "ls", 2);
	assert_int_equal(raw_end_spawn(r, 0), 0);
	/* argv: no entries; too many; a count the datagram cannot hold. */
	raw_begin_spawn(r);
	raw_u32(r, 0);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	raw_begin_spawn(r);
	raw_u32(r, PRIVSEP_STRV_MAX + 1);
	for (i = 0; i <= PRIVSEP_STRV_MAX; i++)
		raw_str(r, "x", 1);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	raw_begin_spawn(r);
	raw_u32(r, 4000);
	raw_str(r, "x", 1);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	/* Bytes over the total: two strings that are fine alone. */
	raw_begin_spawn(r);
	raw_u32(r, 2);
	raw_str(r, big, PRIVSEP_STRV_BYTES);
	raw_str(r, "y", 1);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	/* A string longer than the datagram, and one with a NUL. */
	raw_begin_spawn(r);
	raw_u32(r, 1);
	raw_u32(r, 1000);
	raw_put(r, "ab", 2);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	raw_begin_spawn(r);
	raw_u32(r, 1);
	raw_str(r, "a\0b", 3);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	/* Unknown flags; a cwd present without its flag. */
	raw_begin_spawn(r);
	raw_u32(r, 1);
	raw_str(r, "ls", 2);
	assert_int_equal(raw_end_spawn(r, 0x80), -EINVAL);
	/* A container name over its bound. */
	r->n = 0;
	raw_u32(r, PRIVSEP_SPAWN);
	raw_u32(r, 0);
	raw_put(r, &(uint64_t){ 1 }, 8);
	raw_str(r, big, PRIVSEP_STR_MAX + 1);
	raw_u32(r, 1);
	raw_str(r, "ls", 2);
	assert_int_equal(raw_end_spawn(r, 0), -EINVAL);
	/* A chunk over its bound. */
	assert_int_equal(privsep_encode_chunk(PRIVSEP_POLICY, big,
					      PRIVSEP_CHUNK_MAX + 1, true, &buf,
					      &len),
			 -EINVAL);
	/* A signal out of range, an errno out of range. */
	assert_int_equal(privsep_encode_signal(1, 2, 0, 0, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &(struct privsep_msg){ 0 }),
			 -EINVAL);
	free(buf);
	assert_int_equal(privsep_encode_signal(1, 0, SIGKILL, 0, &buf, &len),
			 0);
	assert_int_equal(decode(buf, len, 0, &(struct privsep_msg){ 0 }),
			 -EINVAL); /* token 0 names nothing */
	free(buf);
	assert_int_equal(privsep_encode_spawn_failed(1, 0, "x", &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &(struct privsep_msg){ 0 }),
			 -EINVAL);
	free(buf);
	/* An unknown type. */
	r->n = 0;
	raw_u32(r, 99);
	raw_u32(r, 0);
	assert_int_equal(decode(r->b, r->n, 0, &(struct privsep_msg){ 0 }),
			 -EINVAL);
	free(r);
	free(argv);
}

static void test_fd_counts(void **state)
{
	const uint32_t bits = PRIVSEP_FD_STDIN | PRIVSEP_FD_STDOUT |
			      PRIVSEP_FD_STDERR | PRIVSEP_FD_REPORT;
	struct privsep_msg m;
	uint8_t *buf;
	size_t len, n;

	assert_int_equal(privsep_encode_spawned(1, 2, 3, bits, &buf, &len), 0);
	for (n = 0; n <= PRIVSEP_MAX_FDS + 1; n++) {
		int rc = decode(buf, len, n, &m);

		assert_int_equal(rc, n == 4 ? 0 : -EINVAL);
		if (!rc)
			privsep_msg_release(&m);
	}
	free(buf);
	/* stdin, stdout and the report are not optional. */
	assert_int_equal(privsep_encode_spawned(1, 2, 3, PRIVSEP_FD_STDIN, &buf,
						&len),
			 0);
	assert_int_equal(decode(buf, len, 1, &m), -EINVAL);
	free(buf);
	/* LOGFILE carries exactly its one fd. */
	assert_int_equal(privsep_encode_logfile(&buf, &len), 0);
	for (n = 0; n <= 2; n++) {
		int rc = decode(buf, len, n, &m);

		assert_int_equal(rc, n == 1 ? 0 : -EINVAL);
		if (!rc) {
			assert_int_equal(m.type, PRIVSEP_LOGFILE);
			assert_false(privsep_from_worker(m.type));
			privsep_msg_release(&m);
		}
	}
	free(buf);
	/* A worker's refusal of a handover: its size, no fd. */
	assert_int_equal(
		privsep_encode_handover_refused(300ull << 20, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 0, &m), 0);
	assert_int_equal(m.type, PRIVSEP_HANDOVER_REFUSED);
	assert_true(m.id == 300ull << 20);
	assert_true(privsep_from_worker(m.type));
	privsep_msg_release(&m);
	assert_int_equal(decode(buf, len, 1, &m), -EINVAL);
	assert_int_equal(decode(buf, len - 1, 0, &m), -EINVAL);
	free(buf);
	/* A message that carries none may not come with one. */
	assert_int_equal(privsep_encode_signal(1, 2, SIGINT, 0, &buf, &len), 0);
	assert_int_equal(decode(buf, len, 1, &m), -EINVAL);
	free(buf);
}

/* ---- the channel ---- */

struct sink {
	struct event_base *base;
	int got; /* messages */
	int fd; /* the fd of the last SPAWNED */
	char why[256]; /* on_error's */
};

static void sink_msg(struct privsep_chan *ch, struct privsep_msg *m, void *arg)
{
	struct sink *k = arg;

	k->got++;
	if (m->type == PRIVSEP_SPAWNED) {
		k->fd = m->fds[0];
		m->fds[0] = -1; /* taken */
	}
	event_base_loopbreak(k->base);
}

static void sink_error(struct privsep_chan *ch, const char *why, void *arg)
{
	struct sink *k = arg;

	snprintf(k->why, sizeof(k->why), "%s", why);
	event_base_loopbreak(k->base);
}

static const struct privsep_chan_cbs sink_cbs = { sink_msg, sink_error };

static void test_channel(void **state)
{
	struct event_base *base = event_base_new();
	struct sink a = { base, 0, -1, "" }, b = { base, 0, -1, "" };
	struct privsep_chan *ca, *cb;
	int sp[2], p[2], fds[3];
	uint8_t *buf;
	size_t len;
	char c;

	assert_non_null(base);
	assert_int_equal(privsep_socketpair(sp), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ca = privsep_chan_new(base, sp[0], &sink_cbs, &a);
	cb = privsep_chan_new(base, sp[1], &sink_cbs, &b);
	assert_non_null(ca);
	assert_non_null(cb);

	/* A datagram with three fds (the channel takes them); the first is
	 * a pipe's read end. */
	fds[0] = dup(p[0]);
	fds[1] = dup(p[1]);
	fds[2] = dup(p[1]);
	assert_int_equal(privsep_encode_spawned(1, 2, 3,
						PRIVSEP_FD_STDIN |
							PRIVSEP_FD_STDOUT |
							PRIVSEP_FD_REPORT,
						&buf, &len),
			 0);
	assert_int_equal(privsep_chan_send(ca, buf, len, fds, 3), 0);
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[2], -1);
	event_base_dispatch(base);
	assert_int_equal(b.got, 1);
	assert_true(b.fd >= 0);
	assert_int_equal(fcntl(b.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(read(b.fd, &c, 1), 1);
	assert_int_equal(c, 'z');
	close(b.fd);

	/* An empty message is refused at the sender (its peer would read
	 * it as a close), and the channel goes on. */
	buf = malloc(1);
	assert_non_null(buf);
	assert_int_equal(privsep_chan_send(ca, buf, 0, NULL, 0), -EINVAL);
	assert_int_equal(
		privsep_encode_signaled(7, 8, ESRCH, 0, false, &buf, &len), 0);
	assert_int_equal(privsep_chan_send(ca, buf, len, NULL, 0), 0);
	event_base_dispatch(base);
	assert_int_equal(b.got, 2);
	assert_string_equal(b.why, "");

	/* A wrong fd count on the wire: refused, the channel fails. */
	assert_int_equal(privsep_encode_exited(5, 0, &buf, &len), 0);
	fds[0] = dup(p[0]);
	assert_int_equal(privsep_chan_send(ca, buf, len, fds, 1), 0);
	event_base_dispatch(base);
	assert_int_equal(b.got, 2);
	assert_non_null(strstr(b.why, "number of fds"));
	/* Failed is failed: nothing more is taken. */
	assert_int_equal(privsep_encode_exited(5, 0, &buf, &len), 0);
	assert_int_equal(privsep_chan_send(cb, buf, len, NULL, 0), -EPIPE);
	privsep_chan_free(cb);

	/* The peer's end closed: the other side learns it. */
	event_base_dispatch(base);
	assert_non_null(strstr(a.why, "closed"));
	privsep_chan_free(ca);
	close(p[0]);
	close(p[1]);
	event_base_free(base);
}

/* Garbage straight on the socket, as a hostile worker would write it. */
/* Fds open in this process. */
static int open_fds(void)
{
	int n = 0, fd;

	/* The test's limit: no fd is above it. */
	for (fd = 0; fd < 2 * PRIVSEP_QUEUE_FDS_MIN; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* A peer that never reads: the sender's queue stops taking fds at its
 * cap (-ENOBUFS), so it never holds more than that many open, whatever
 * the messages' bytes; the cap is half the fd limit, at least
 * PRIVSEP_QUEUE_FDS_MIN (1000 concurrent starts' replies fit). */
static void test_channel_fd_cap(void **state)
{
	struct event_base *base = event_base_new();
	struct sink k = { base, 0, -1, "" };
	struct privsep_chan *ch;
	struct rlimit rl;
	int sp[2], fds[PRIVSEP_MAX_FDS], before, i, n, rc = 0;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 2 * PRIVSEP_QUEUE_FDS_MIN) {
		skip();
		return;
	}
	/* A higher limit, a higher cap: half of it. */
	if (rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max >= 2 * PRIVSEP_QUEUE_FDS_MIN + 2) {
		rl.rlim_cur = rl.rlim_max;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
		assert_int_equal(privsep_socketpair(sp), 0);
		ch = privsep_chan_new(base, sp[0], &sink_cbs, &k);
		assert_non_null(ch);
		assert_int_equal(privsep_chan_fds_max(ch), rl.rlim_max / 2);
		privsep_chan_free(ch);
		close(sp[1]);
	}
	/* A low limit: the floor. */
	rl.rlim_cur = 2 * PRIVSEP_QUEUE_FDS_MIN;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(privsep_socketpair(sp), 0);
	ch = privsep_chan_new(base, sp[0], &sink_cbs, &k);
	assert_non_null(ch);
	assert_int_equal(privsep_chan_fds_max(ch), PRIVSEP_QUEUE_FDS_MIN);
	/* 1000 concurrent starts' replies (5 fds each) fit. */
	assert_true(privsep_chan_fds_max(ch) >= 1000 * PRIVSEP_MAX_FDS);
	before = open_fds();
	for (n = 0; n < 100000 && rc == 0; n++) {
		for (i = 0; i < PRIVSEP_MAX_FDS; i++) {
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			assert_true(fds[i] >= 0);
		}
		assert_int_equal(privsep_encode_spawned(
					 (uint64_t)n, (uint64_t)n, 1,
					 PRIVSEP_FD_STDIN | PRIVSEP_FD_STDOUT |
						 PRIVSEP_FD_STDERR |
						 PRIVSEP_FD_TTY |
						 PRIVSEP_FD_REPORT,
					 &buf, &len),
				 0);
		rc = privsep_chan_send(ch, buf, len, fds, PRIVSEP_MAX_FDS);
		if (n % 64 == 0 || rc)
			assert_true(open_fds() <=
				    before + PRIVSEP_QUEUE_FDS_MIN);
	}
	assert_int_equal(rc, -ENOBUFS);
	/* The refused message's fds were closed, not kept. */
	for (i = 0; i < PRIVSEP_MAX_FDS; i++)
		assert_int_equal(fds[i], -1);
	privsep_chan_free(ch);
	close(sp[1]);
	/* Nothing is left but what was open before the channel's two ends. */
	assert_int_equal(open_fds(), before - 2);
	event_base_free(base);
}

static void test_channel_garbage(void **state)
{
	struct event_base *base = event_base_new();
	struct sink k = { base, 0, -1, "" };
	struct privsep_chan *ch;
	int sp[2];

	assert_int_equal(privsep_socketpair(sp), 0);
	ch = privsep_chan_new(base, sp[0], &sink_cbs, &k);
	assert_non_null(ch);
	assert_int_equal(send(sp[1], "\x01\0\0\0\xff\xff\xff\xff", 8, 0), 8);
	event_base_dispatch(base);
	assert_int_equal(k.got, 0);
	assert_non_null(strstr(k.why, "malformed"));
	privsep_chan_free(ch);
	close(sp[1]);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_round_trip),
		cmocka_unit_test(test_spawn_bad_nice),
		cmocka_unit_test(test_other_round_trips),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_fd_counts),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_channel_garbage),
		cmocka_unit_test(test_channel_fd_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
