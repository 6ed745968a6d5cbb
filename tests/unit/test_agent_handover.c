/*
 * Unit tests for agent/handover.c: the worker's document and the monitor's
 * state round-trip; every truncation, a wrong magic or version, an fd
 * index out of range or used twice, inconsistent fields and bytes left
 * over are refused; and agent/handover_chan.c carries a document and its
 * fds across a privsep channel in order, and refuses fds after the data,
 * fds lost on the way and messages of another type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "handover.h"
#include "handover_chan.h"
#include "privsep.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t held0[] = "last bytes of stdout";
static uint8_t inbuf[] = "stdin not yet in the pipe";

static void fill(struct handover_session *s, const char *sid, bool ended)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->sid, sid);
	strcpy(s->identity, "uri:spiffe://execfs.test/client");
	strcpy(s->container, "ctr-1");
	s->state = ended ? HANDOVER_EXITED : HANDOVER_RUNNING;
	s->flags = HANDOVER_AUDITED | HANDOVER_IN_LINE_START |
		   (ended ? HANDOVER_REAPED : 0);
	s->token = ended ? 0 : 7;
	s->pid = 4242;
	s->wstatus = ended ? 7 << 8 : 0;
	s->started_sec = 100;
	s->started_nsec = 5;
	s->fd_in = s->fd_tty = s->fd_report = -1;
	s->out[0].fd = s->out[1].fd = -1;
	s->out[0].end = 1000;
	s->out[0].held = held0;
	s->out[0].held_len = sizeof(held0);
	s->out[1].end = 3;
	s->in_received = 500;
	s->in_buf = inbuf;
	s->in_len = sizeof(inbuf);
}

/* Two sessions (one with fds 0..2, one ended) and a listener (fd 3). */
static void make_doc(uint8_t **buf, size_t *len)
{
	struct handover_session ss[2];
	struct handover_listener l = { .address = "127.0.0.1:9000", .fd = 3 };
	struct handover_doc d = { ss, 2, &l, 1 };

	fill(&ss[0], "0123456789abcdef0123456789abcdef", false);
	ss[0].fd_in = 0;
	ss[0].out[0].fd = 1;
	ss[0].out[1].fd = 2;
	fill(&ss[1], "fedcba9876543210fedcba9876543210", true);
	assert_int_equal(handover_encode(&d, 4, buf, len), 0);
}

static void test_roundtrip(void **state)
{
	struct handover_doc d;
	uint8_t *buf, *again;
	size_t len, len2;
	char err[128];

	(void)state;
	make_doc(&buf, &len);
	assert_int_equal(handover_decode(buf, len, 4, &d, err, sizeof(err)), 0);
	assert_int_equal(d.nsessions, 2);
	assert_int_equal(d.nlisteners, 1);
	assert_string_equal(d.listeners[0].address, "127.0.0.1:9000");
	assert_int_equal(d.listeners[0].fd, 3);
	assert_string_equal(d.sessions[0].identity,
			    "uri:spiffe://execfs.test/client");
	assert_int_equal(d.sessions[0].token, 7);
	assert_int_equal(d.sessions[0].out[0].end, 1000);
	assert_int_equal(d.sessions[0].out[0].held_len, sizeof(held0));
	assert_memory_equal(d.sessions[0].out[0].held, held0, sizeof(held0));
	assert_int_equal(d.sessions[0].in_received, 500);
	assert_memory_equal(d.sessions[0].in_buf, inbuf, sizeof(inbuf));
	assert_int_equal(d.sessions[1].state, HANDOVER_EXITED);
	assert_int_equal(d.sessions[1].wstatus, 7 << 8);
	/* What decodes encodes back to the same bytes. */
	assert_int_equal(handover_encode(&d, 4, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	free(again);
	handover_doc_release(&d);
	handover_doc_release(&d); /* released twice: a no-op */
	free(buf);
}

static void test_truncated(void **state)
{
	struct handover_doc d;
	uint8_t *buf;
	size_t len, i;
	char err[128];

	(void)state;
	make_doc(&buf, &len);
	for (i = 0; i < len; i++)
		assert_int_equal(handover_decode(buf, i, 4, &d, err,
						 sizeof(err)),
				 -EINVAL);
	free(buf);
}

/* What a worker reads while root: the header and the listeners, nothing
 * of the sessions (bytes after the listeners are not looked at). */
static void test_listeners_only(void **state)
{
	struct handover_doc d;
	uint8_t *buf;
	size_t len, head = 4 * 4 + 4 + 14 + 4; /* up to the listener's fd */
	char err[128];

	(void)state;
	make_doc(&buf, &len);
	assert_int_equal(handover_decode_listeners(buf, len, 4, &d, err,
						   sizeof(err)),
			 0);
	assert_int_equal(d.nsessions, 0);
	assert_int_equal(d.nlisteners, 1);
	assert_string_equal(d.listeners[0].address, "127.0.0.1:9000");
	assert_int_equal(d.listeners[0].fd, 3);
	handover_doc_release(&d);
	/* The sessions cut off or garbled: the listeners still read. */
	memset(buf + head, 0xff, len - head);
	assert_int_equal(handover_decode_listeners(buf, head, 4, &d, err,
						   sizeof(err)),
			 0);
	assert_int_equal(d.nlisteners, 1);
	handover_doc_release(&d);
	assert_int_equal(handover_decode(buf, len, 4, &d, err, sizeof(err)),
			 -EINVAL);
	/* The header or a listener cut short, a wrong count of fds. */
	assert_int_equal(handover_decode_listeners(buf, head - 1, 4, &d, err,
						   sizeof(err)),
			 -EINVAL);
	assert_int_equal(d.nlisteners, 0);
	assert_int_equal(handover_decode_listeners(buf, head, 3, &d, err,
						   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "malformed"));
	free(buf);
}

/* The size a worker checks before it copies anything: exact for a session
 * and a listener at their bounds, and over the bound for many sessions
 * holding their streams' full windows (the upgrade is then refused). */
static void test_size(void **state)
{
	struct handover_session s;
	struct handover_listener l = { .fd = 0 };
	struct handover_doc d = { &s, 1, &l, 1 };
	uint64_t held = sizeof(held0) + sizeof(inbuf);
	uint8_t *buf;
	size_t len;

	(void)state;
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	memset(s.identity, 'i', HANDOVER_IDENTITY_MAX);
	s.identity[HANDOVER_IDENTITY_MAX] = 0;
	memset(s.container, 'c', EXECFS_MAX_NAME_LEN);
	s.container[EXECFS_MAX_NAME_LEN] = 0;
	memset(l.address, 'a', HANDOVER_ADDR_MAX);
	l.address[HANDOVER_ADDR_MAX] = 0;
	assert_int_equal(handover_encode(&d, 1, &buf, &len), 0);
	assert_int_equal(len, handover_doc_size(1, held) - HANDOVER_HEAD_MAX +
				      20 + 8 + HANDOVER_ADDR_MAX);
	assert_true(len <= handover_doc_size(1, held));
	free(buf);
	/* 1000 sessions, two outputs each holding 1 MiB: refused. */
	assert_true(handover_doc_size(1000, 2000ull << 20) > HANDOVER_DOC_MAX);
	assert_true(handover_doc_size(1000, 0) < HANDOVER_DOC_MAX);
	/* The monitor's state around the largest document still fits the
	 * bound its next image reads. */
	assert_true(HANDOVER_STATE_MAX > HANDOVER_DOC_MAX + 4 +
						 28ull * HANDOVER_MAX_SESSIONS +
						 4ull * HANDOVER_MAX_FDS);
}

/* The same session id twice: refused whole (the new worker then exits
 * and the monitor ends every session), never half taken over. */
static void test_duplicate_sid(void **state)
{
	struct handover_session ss[3];
	struct handover_doc d = { ss, 3, NULL, 0 };
	uint8_t *buf;
	size_t len;
	char err[128];

	(void)state;
	fill(&ss[0], "0123456789abcdef0123456789abcdef", true);
	fill(&ss[1], "fedcba9876543210fedcba9876543210", true);
	fill(&ss[2], "0123456789abcdef0123456789abcdef", true);
	assert_int_equal(handover_encode(&d, 0, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 0, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "a session id twice"));
	assert_int_equal(d.nsessions, 0);
	free(buf);
	d.sessions = ss;
	d.nsessions = 2;
	assert_int_equal(handover_encode(&d, 0, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 0, &d, err, sizeof(err)), 0);
	handover_doc_release(&d);
	free(buf);
}

static void test_refused(void **state)
{
	struct handover_doc d;
	uint8_t *buf, *more;
	size_t len;
	char err[128];

	(void)state;
	make_doc(&buf, &len);
	/* Another number of fds than the document names. */
	assert_int_equal(handover_decode(buf, len, 5, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "number of fds"));
	/* Bytes left over. */
	more = malloc(len + 1);
	memcpy(more, buf, len);
	more[len] = 0;
	assert_int_equal(handover_decode(more, len + 1, 4, &d, err,
					 sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "trailing"));
	free(more);
	/* Another version. */
	buf[4] = 99;
	assert_int_equal(handover_decode(buf, len, 4, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "version"));
	buf[0] ^= 1;
	assert_int_equal(handover_decode(buf, len, 4, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "magic"));
	free(buf);
}

static int encode_one(struct handover_session *s, size_t nfds, uint8_t **buf,
		      size_t *len)
{
	struct handover_doc d = { s, 1, NULL, 0 };

	return handover_encode(&d, nfds, buf, len);
}

/* Fields the encoder writes but the decoder must refuse together. */
static void test_inconsistent(void **state)
{
	struct handover_session s;
	struct handover_doc d;
	uint8_t *buf;
	size_t len;
	char err[128];

	(void)state;
	/* An fd index used twice. */
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	s.fd_in = 0;
	s.out[0].fd = 0;
	assert_int_equal(encode_one(&s, 1, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 1, &d, err, sizeof(err)),
			 -EINVAL);
	free(buf);
	/* An index past the fds: the encoder refuses it too. */
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	s.fd_in = 1;
	assert_int_equal(encode_one(&s, 1, &buf, &len), -EINVAL);
	/* Running without a token: nothing could reach the process. */
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	s.token = 0;
	assert_int_equal(encode_one(&s, 0, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 0, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "token"));
	free(buf);
	/* Ended but not reaped. */
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	s.state = HANDOVER_EXITED;
	assert_int_equal(encode_one(&s, 0, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 0, &d, err, sizeof(err)),
			 -EINVAL);
	free(buf);
	/* A tty flag without the terminal's fd. */
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	s.flags |= HANDOVER_TTY;
	assert_int_equal(encode_one(&s, 0, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 0, &d, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "tty"));
	free(buf);
	/* A session id that is not one. */
	fill(&s, "../../etc", false);
	assert_int_equal(encode_one(&s, 0, &buf, &len), 0);
	assert_int_equal(handover_decode(buf, len, 0, &d, err, sizeof(err)),
			 -EINVAL);
	free(buf);
	/* More bytes held than were ever sent. */
	fill(&s, "0123456789abcdef0123456789abcdef", false);
	s.out[0].end = 2;
	assert_int_equal(encode_one(&s, 0, &buf, &len), -EINVAL);
}

static void test_monitor_state(void **state)
{
	struct handover_job jobs[2] = {
		{ .token = 3, .pid = 100, .pidfd = 10, .tty_fd = -1 },
		{ .token = 5,
		  .pid = 1,
		  .pidfd = -1,
		  .tty_fd = -1,
		  .exited = true,
		  .wstatus = 9 },
	};
	int32_t fds[3] = { 20, 21, 22 };
	uint8_t doc[] = "the worker's document";
	struct handover_monitor m = { .next_token = 5,
				      .nofile_cur = 1024,
				      .nofile_max = 4096,
				      .jobs = jobs,
				      .njobs = 2,
				      .fds = fds,
				      .nfds = 3,
				      .doc = doc,
				      .doc_len = sizeof(doc) };
	struct handover_monitor got;
	uint8_t *buf;
	size_t len, i;
	char err[128];

	(void)state;
	assert_int_equal(handover_monitor_encode(&m, &buf, &len), 0);
	assert_int_equal(
		handover_monitor_decode(buf, len, &got, err, sizeof(err)), 0);
	assert_int_equal(got.next_token, 5);
	assert_int_equal(got.nofile_cur, 1024);
	assert_int_equal(got.nofile_max, 4096);
	assert_int_equal(got.njobs, 2);
	assert_int_equal(got.jobs[0].pidfd, 10);
	assert_true(got.jobs[1].exited);
	assert_int_equal(got.jobs[1].wstatus, 9);
	assert_int_equal(got.nfds, 3);
	assert_int_equal(got.fds[2], 22);
	assert_memory_equal(got.doc, doc, sizeof(doc));
	handover_monitor_release(&got);
	for (i = 0; i < len; i++)
		assert_int_equal(handover_monitor_decode(buf, i, &got, err,
							 sizeof(err)),
				 -EINVAL);
	free(buf);
	/* A token beyond the next one: not a table this monitor wrote. */
	m.next_token = 4;
	assert_int_equal(handover_monitor_encode(&m, &buf, &len), 0);
	assert_int_equal(handover_monitor_decode(buf, len, &got, err,
						 sizeof(err)),
			 -EINVAL);
	free(buf);
	/* A running job as pid 1: its group's kill would be everyone's. */
	m.next_token = 5;
	jobs[0].pid = 1;
	assert_int_equal(handover_monitor_encode(&m, &buf, &len), 0);
	assert_int_equal(handover_monitor_decode(buf, len, &got, err,
						 sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "job"));
	free(buf);
}

/* ---- the channel -------------------------------------------------------- */

struct rx_ctx {
	struct handover_rx rx;
	int done;
};

static void rx_on_msg(struct privsep_chan *ch, struct privsep_msg *m, void *arg)
{
	struct rx_ctx *c = arg;
	int rc = handover_rx_add(&c->rx, m);

	(void)ch;
	assert_true(rc >= 0);
	if (rc == 1)
		c->done = 1;
}

static void rx_on_error(struct privsep_chan *ch, const char *why, void *arg)
{
	(void)ch;
	(void)why;
	(void)arg;
	fail();
}

static const struct privsep_chan_cbs rx_cbs = { rx_on_msg, rx_on_error };

static void test_channel(void **state)
{
	struct event_base *base = event_base_new();
	struct privsep_chan *a, *b;
	struct rx_ctx c = { 0 };
	int sp[2], fds[7], i;
	struct stat st0, st1;
	size_t len = 200 * 1024; /* more than three chunks */
	uint8_t *doc = malloc(len);

	(void)state;
	for (i = 0; i < (int)len; i++)
		doc[i] = (uint8_t)(i * 7);
	assert_int_equal(privsep_socketpair(sp), 0);
	a = privsep_chan_new(base, sp[0], &rx_cbs, NULL);
	b = privsep_chan_new(base, sp[1], &rx_cbs, &c);
	for (i = 0; i < 7; i++)
		fds[i] = open(i % 2 ? "/dev/null" : "/", O_RDONLY | O_CLOEXEC);
	assert_int_equal(fstat(fds[6], &st0), 0);
	assert_int_equal(handover_chan_send(a, doc, len, fds, 7), 0);
	for (i = 0; i < 7; i++)
		assert_int_equal(fds[i], -1); /* taken */
	while (!c.done)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(c.rx.nfds, 7);
	assert_int_equal(c.rx.len, len);
	assert_memory_equal(c.rx.doc, doc, len);
	/* In order: the last one is the directory sent last. */
	assert_int_equal(fstat(c.rx.fds[6], &st1), 0);
	assert_int_equal(st0.st_ino, st1.st_ino);
	handover_rx_release(&c.rx);
	privsep_chan_free(a);
	privsep_chan_free(b);
	event_base_free(base);
	free(doc);
}

/* The gathering side refuses fds after data, lost fds and other types. */
static void test_rx_order(void **state)
{
	struct handover_rx rx = { 0 };
	struct privsep_msg m;
	uint8_t data[4] = { 1, 2, 3, 4 };

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_HANDOVER_DATA;
	m.data = data;
	m.len = sizeof(data);
	assert_int_equal(handover_rx_add(&rx, &m), 0); /* not the last */
	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_HANDOVER_FDS;
	m.nfds = 1;
	m.fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(handover_rx_add(&rx, &m), -EPROTO);
	close(m.fds[0]);
	handover_rx_release(&rx);
	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_HANDOVER_FDS;
	m.fds_lost = true;
	assert_int_equal(handover_rx_add(&rx, &m), -EBADF);
	m.type = PRIVSEP_SPAWN;
	assert_int_equal(handover_rx_add(&rx, &m), -EPROTO);
	m.type = PRIVSEP_HANDOVER_DATA;
	m.data = data;
	m.len = sizeof(data);
	m.flags = PRIVSEP_LAST;
	assert_int_equal(handover_rx_add(&rx, &m), 1);
	assert_int_equal(rx.len, sizeof(data));
	handover_rx_release(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_listeners_only),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duplicate_sid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_inconsistent),
		cmocka_unit_test(test_monitor_state),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_rx_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
