/*
 * Unit tests for DNS discovery (fs/discovery.c) against a tiny DNS
 * responder run by the test itself: a UDP and a TCP socket on 127.0.0.1
 * served from the same event loop, answering crafted replies (records
 * with TTLs, NXDOMAIN, NODATA, SERVFAIL, truncated and malformed replies,
 * silence). UDP answers are cut as a server cuts them: to 512 bytes, or to
 * the EDNS0 payload the query offers, with TC set; TCP answers are whole
 * (200 A records and 56 AAAA records come that way). No network beyond
 * loopback, no resolv.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery.h"

#define NAME "agents.test"

enum mode {
	ANSWER, /* the records below (none for a type: NODATA) */
	NXDOMAIN,
	SERVFAIL,
	TRUNCATED, /* TC set, the first record only, and TCP hangs up */
	MALFORMED, /* says 2 answers, carries half of one */
	SILENT, /* never answers */
};

#define MAX_RECORDS 256

struct responder {
	int fd; /* UDP */
	struct event *ev;
	int lfd; /* TCP listener */
	struct event *lev;
	struct event_base *base;
	enum mode mode;
	const char *v4[MAX_RECORDS + 1];
	const char *v6[MAX_RECORDS + 1];
	uint32_t ttl;
	int queries;
	int tcp_queries;
	int edns_payload; /* of the last UDP query: 0 without OPT */
	struct tcpconn *conns; /* open TCP connections */
};

/* One TCP connection of the responder: a query, an answer, closed. */
struct tcpconn {
	struct tcpconn *next, **prev;
	struct responder *r;
	int fd;
	struct event *ev;
	uint8_t buf[514];
	size_t len;
};

struct fixture {
	struct event_base *base;
	struct responder r;
	struct discovery *d;
	char server[64];
	int changes;
	/* The last change, copied. */
	char added[MAX_RECORDS * 2][DISCOVERY_ADDR_LEN];
	char removed[MAX_RECORDS * 2][DISCOVERY_ADDR_LEN];
	size_t nadded, nremoved;
	int error;
	int in_cb; /* discovery_addresses() inside the last callback */
	const char *remove_in_cb; /* discovery_remove() this from the callback */
};

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
	return 4;
}

/* Append one answer record of type qtype for address text a. */
static size_t put_record(uint8_t *p, uint16_t qtype, uint32_t ttl,
			 const char *a)
{
	size_t off = 0, len = qtype == 1 ? 4 : 16;

	off += put16(p + off, 0xc00c); /* the question's name */
	off += put16(p + off, qtype);
	off += put16(p + off, 1);
	off += put32(p + off, ttl);
	off += put16(p + off, (uint16_t)len);
	assert_int_equal(inet_pton(qtype == 1 ? AF_INET : AF_INET6, a, p + off),
			 1);
	return off + len;
}

/* The answer to query q (n bytes) into a, at most max bytes (a UDP
 * limit: TC set and records left out beyond it). Its length, or 0 for no
 * answer. */
static size_t answer(struct responder *r, const uint8_t *q, size_t n,
		     uint8_t *a, size_t max, bool tcp)
{
	size_t qend = 12, off, i, count = 0;
	uint16_t qtype, flags = 0x8180; /* QR RD RA */
	const char *const *list;

	if (n < 17)
		return 0;
	r->queries++;
	if (tcp)
		r->tcp_queries++;
	if (r->mode == SILENT)
		return 0;
	while (qend < n && q[qend])
		qend += q[qend] + 1u;
	qend += 5; /* the root label, QTYPE, QCLASS */
	assert_true(qend <= n);
	qtype = (uint16_t)(q[qend - 4] << 8 | q[qend - 3]);
	/* An OPT record after the question offers a larger UDP payload. */
	if (!tcp) {
		r->edns_payload = 0;
		if (n >= qend + 11 && q[qend] == 0 && q[qend + 1] == 0 &&
		    q[qend + 2] == 41)
			r->edns_payload = q[qend + 3] << 8 | q[qend + 4];
		if (r->edns_payload > 512 && (size_t)r->edns_payload < max)
			max = (size_t)r->edns_payload;
		else if (r->edns_payload <= 512)
			max = 512;
	}
	list = qtype == 1 ? r->v4 : r->v6;
	memcpy(a, q, qend);
	if (r->mode == NXDOMAIN)
		flags |= 3;
	else if (r->mode == SERVFAIL)
		flags |= 2;
	off = qend;
	for (i = 0; r->mode != NXDOMAIN && r->mode != SERVFAIL && list[i];
	     i++) {
		size_t rlen = qtype == 1 ? 16 : 28;

		if ((r->mode == TRUNCATED && count == 1) || off + rlen > max) {
			flags |= 0x0200; /* TC */
			break;
		}
		off += put_record(a + off, qtype, r->ttl, list[i]);
		count++;
	}
	if (r->mode == MALFORMED && count > 0) {
		count = 2;
		off -= 9; /* cut the first record in its middle */
	}
	put16(a + 2, flags);
	put16(a + 4, 1);
	put16(a + 6, (uint16_t)count);
	put16(a + 8, 0);
	put16(a + 10, 0);
	return off;
}

static void on_query(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	uint8_t q[512], a[65536];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n =
		recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
	size_t len;

	if (n <= 0)
		return;
	len = answer(r, q, (size_t)n, a, 65507, false);
	if (len)
		sendto(fd, a, len, 0, (struct sockaddr *)&from, flen);
}

static void tcpconn_free(struct tcpconn *t)
{
	*t->prev = t->next;
	if (t->next)
		t->next->prev = t->prev;
	event_free(t->ev);
	close(t->fd);
	free(t);
}

/* Queries come length-prefixed, several on one connection (c-ares sends
 * the A and AAAA queries of a round on one). */
static void on_tcp_data(evutil_socket_t fd, short what, void *arg)
{
	struct tcpconn *t = arg;
	uint8_t a[65536 + 2];
	ssize_t n = read(fd, t->buf + t->len, sizeof(t->buf) - t->len);
	size_t qlen, len;

	if (n <= 0) {
		tcpconn_free(t);
		return;
	}
	t->len += (size_t)n;
	while (t->len >= 2) {
		qlen = (size_t)(t->buf[0] << 8 | t->buf[1]);
		if (qlen > sizeof(t->buf) - 2) {
			tcpconn_free(t);
			return;
		}
		if (t->len < qlen + 2)
			return;
		len = answer(t->r, t->buf + 2, qlen, a + 2, 65535, true);
		/* TRUNCATED: the server hangs up instead (TCP is broken). */
		if (t->r->mode == TRUNCATED) {
			tcpconn_free(t);
			return;
		}
		if (len) {
			put16(a, (uint16_t)len);
			assert_int_equal(write(fd, a, len + 2),
					 (ssize_t)(len + 2));
		}
		memmove(t->buf, t->buf + qlen + 2, t->len - qlen - 2);
		t->len -= qlen + 2;
	}
}

static void on_tcp_accept(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	struct tcpconn *t;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->r = r;
	t->fd = c;
	t->next = r->conns;
	if (t->next)
		t->next->prev = &t->next;
	t->prev = &r->conns;
	r->conns = t;
	t->ev = event_new(r->base, c, EV_READ | EV_PERSIST, on_tcp_data, t);
	event_add(t->ev, NULL);
}

static void on_change(void *arg, const struct discovery_change *chg)
{
	struct fixture *f = arg;
	size_t i;

	assert_string_equal(chg->name, NAME);
	f->changes++;
	/* The new set is in place already. */
	f->in_cb = discovery_addresses(f->d, chg->name, NULL, 0);
	f->nadded = chg->nadded;
	f->nremoved = chg->nremoved;
	f->error = chg->error;
	assert_true(chg->nadded <= MAX_RECORDS * 2 &&
		    chg->nremoved <= MAX_RECORDS * 2);
	for (i = 0; i < chg->nadded; i++)
		snprintf(f->added[i], DISCOVERY_ADDR_LEN, "%s", chg->added[i]);
	for (i = 0; i < chg->nremoved; i++)
		snprintf(f->removed[i], DISCOVERY_ADDR_LEN, "%s",
			 chg->removed[i]);
	if (chg->error)
		assert_non_null(chg->reason);
	if (f->remove_in_cb)
		assert_int_equal(discovery_remove(f->d, f->remove_in_cb), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct discovery_opts o = { 0 };
	int tries;

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->r.base = f->base;
	/* A UDP port whose TCP twin is free too (c-ares asks both on one
	 * port). */
	for (tries = 0; tries < 100; tries++) {
		sin.sin_port = 0;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->r.fd = socket(AF_INET,
				 SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(f->r.fd >= 0);
		assert_int_equal(
			bind(f->r.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		len = sizeof(sin);
		assert_int_equal(
			getsockname(f->r.fd, (struct sockaddr *)&sin, &len), 0);
		f->r.lfd = socket(
			AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(f->r.lfd >= 0);
		if (bind(f->r.lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(f->r.lfd, 8) == 0)
			break;
		close(f->r.lfd);
		close(f->r.fd);
	}
	assert_true(tries < 100);
	f->r.ev = event_new(f->base, f->r.fd, EV_READ | EV_PERSIST, on_query,
			    &f->r);
	event_add(f->r.ev, NULL);
	f->r.lev = event_new(f->base, f->r.lfd, EV_READ | EV_PERSIST,
			     on_tcp_accept, &f->r);
	event_add(f->r.lev, NULL);
	snprintf(f->server, sizeof(f->server), "127.0.0.1:%u",
		 ntohs(sin.sin_port));
	/* Short intervals and timeouts: the test waits for events, never
	 * for a time; these only keep it quick. */
	o.dns_server = f->server;
	o.min_interval_ms = 20;
	o.max_interval_ms = 200;
	o.timeout_ms = 200;
	o.attempts = 1;
	f->d = discovery_new(f->base, &o, on_change, f);
	assert_non_null(f->d);
	*state = f;
	return 0;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

/* Run the loop until the callback ran `want` times in all; fail after a
 * generous 20 s. */
static void wait_changes(struct fixture *f, int want)
{
	bool late = false;
	struct event *t = evtimer_new(f->base, on_deadline, &late);
	struct timeval tv = { 20, 0 };

	evtimer_add(t, &tv);
	while (f->changes < want && !late)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
	assert_int_equal(f->changes, want);
}

/* Run the loop until the responder saw `want` queries in all. */
static void wait_queries(struct fixture *f, int want)
{
	bool late = false;
	struct event *t = evtimer_new(f->base, on_deadline, &late);
	struct timeval tv = { 20, 0 };

	evtimer_add(t, &tv);
	while (f->r.queries < want && !late)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
	assert_true(f->r.queries >= want);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	discovery_free(f->d);
	event_free(f->r.ev);
	close(f->r.fd);
	event_free(f->r.lev);
	close(f->r.lfd);
	while (f->r.conns)
		tcpconn_free(f->r.conns);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void set_records(struct fixture *f, const char *a1, const char *a2,
			const char *v6)
{
	memset(f->r.v4, 0, sizeof(f->r.v4));
	memset(f->r.v6, 0, sizeof(f->r.v6));
	f->r.v4[0] = a1;
	f->r.v4[1] = a2;
	f->r.v6[0] = v6;
	f->r.mode = ANSWER;
}

static void test_records_and_changes(void **state)
{
	struct fixture *f = *state;
	char out[8][DISCOVERY_ADDR_LEN];

	set_records(f, "10.0.0.2", "10.0.0.1", "fd00::1");
	f->r.ttl = 0;
	assert_int_equal(discovery_add(f->d, NAME), 0);
	assert_int_equal(discovery_add(f->d, NAME), -EEXIST);
	wait_changes(f, 1);
	assert_int_equal(f->error, 0);
	assert_int_equal(f->nadded, 3);
	assert_int_equal(f->nremoved, 0);
	assert_string_equal(f->added[0], "10.0.0.1");
	assert_string_equal(f->added[1], "10.0.0.2");
	assert_string_equal(f->added[2], "fd00::1");
	assert_int_equal(discovery_addresses(f->d, NAME, out, 8), 3);
	assert_int_equal(f->in_cb, 3);

	/* TTL 0: re-resolved at the floor; the difference is reported. No
	 * AAAA any more: NODATA empties that family. */
	set_records(f, "10.0.0.2", "10.0.0.3", NULL);
	wait_changes(f, 2);
	assert_int_equal(f->error, 0);
	assert_int_equal(f->nadded, 1);
	assert_string_equal(f->added[0], "10.0.0.3");
	assert_int_equal(f->nremoved, 2);
	assert_string_equal(f->removed[0], "10.0.0.1");
	assert_string_equal(f->removed[1], "fd00::1");

	/* NXDOMAIN: the service has no endpoints left. */
	f->r.mode = NXDOMAIN;
	wait_changes(f, 3);
	assert_int_equal(f->error, 0);
	assert_int_equal(f->nadded, 0);
	assert_int_equal(f->nremoved, 2);
	assert_int_equal(discovery_addresses(f->d, NAME, out, 8), 0);
	assert_int_equal(discovery_addresses(f->d, "other", out, 8), -ENOENT);
}

/* A failed resolve keeps the set, says why, and retries. */
static void check_failure_keeps_set(struct fixture *f, enum mode mode)
{
	char out[8][DISCOVERY_ADDR_LEN];
	int q;

	set_records(f, "10.0.0.1", NULL, NULL);
	f->r.ttl = 0;
	assert_int_equal(discovery_add(f->d, NAME), 0);
	wait_changes(f, 1);
	assert_int_equal(f->nadded, 1);
	f->r.v4[1] = "10.0.0.9";
	f->r.mode = mode;
	wait_changes(f, 2);
	assert_int_not_equal(f->error, 0);
	assert_int_equal(f->nadded, 0);
	assert_int_equal(f->nremoved, 0);
	assert_int_equal(discovery_addresses(f->d, NAME, out, 8), 1);
	assert_string_equal(out[0], "10.0.0.1");
	/* Retried, and the next good answer is taken. */
	q = f->r.queries;
	f->r.mode = ANSWER;
	wait_queries(f, q + 2);
	while (f->nadded == 0 || f->error)
		wait_changes(f, f->changes + 1);
	assert_int_equal(f->nadded, 1);
	assert_string_equal(f->added[0], "10.0.0.9");
}

static void test_servfail(void **state)
{
	check_failure_keeps_set(*state, SERVFAIL);
}

static void test_truncated(void **state)
{
	check_failure_keeps_set(*state, TRUNCATED);
}

static void test_malformed(void **state)
{
	check_failure_keeps_set(*state, MALFORMED);
}

static void test_silent(void **state)
{
	check_failure_keeps_set(*state, SILENT);
}

/* n4 A records (10.1.0.0, 10.1.0.1, ...) and n6 AAAA records (fd00::1,
 * ...), TTL 30. */
static void many_records(struct fixture *f, int n4, int n6)
{
	static char v4[MAX_RECORDS][DISCOVERY_ADDR_LEN];
	static char v6[MAX_RECORDS][DISCOVERY_ADDR_LEN];
	int i;

	memset(f->r.v4, 0, sizeof(f->r.v4));
	memset(f->r.v6, 0, sizeof(f->r.v6));
	for (i = 0; i < n4 && i < MAX_RECORDS; i++) {
		snprintf(v4[i], sizeof(v4[i]), "10.1.%d.%d", i / 100, i % 100);
		f->r.v4[i] = v4[i];
	}
	for (i = 0; i < n6 && i < MAX_RECORDS; i++) {
		snprintf(v6[i], sizeof(v6[i]), "fd00::%x", i + 1);
		f->r.v6[i] = v6[i];
	}
	f->r.mode = ANSWER;
	f->r.ttl = 30;
}

/* A name with 200 A and 56 AAAA records (a 200-node headless Service):
 * asked with EDNS0, cut over UDP, whole over TCP. */
static void test_large_answer(void **state)
{
	struct fixture *f = *state;
	static char out[MAX_RECORDS * 2][DISCOVERY_ADDR_LEN];

	many_records(f, 200, 56);
	assert_int_equal(discovery_add(f->d, NAME), 0);
	wait_changes(f, 1);
	assert_int_equal(f->error, 0);
	assert_int_equal(f->nadded, 256);
	assert_int_equal(discovery_addresses(f->d, NAME, out, MAX_RECORDS * 2),
			 256);
	/* Sorted as text, both families. */
	assert_string_equal(out[0], "10.1.0.0");
	assert_string_equal(out[199], "10.1.1.99");
	assert_string_equal(out[200], "fd00::1");
	/* Asked with EDNS0 for a large UDP payload, then over TCP. */
	assert_true(f->r.edns_payload >= 1232);
	assert_true(f->r.tcp_queries >= 2);

	/* The next round: one address gone, found over TCP again. */
	f->r.v4[199] = NULL;
	f->r.ttl = 0;
	discovery_refresh(f->d);
	wait_changes(f, 2);
	assert_int_equal(f->error, 0);
	assert_int_equal(f->nadded, 0);
	assert_int_equal(f->nremoved, 1);
	assert_string_equal(f->removed[0], "10.1.1.99");
}

/* Fifty records fit in one EDNS0 answer: no TCP needed. */
static void test_edns_udp(void **state)
{
	struct fixture *f = *state;
	many_records(f, 50, 0);
	assert_int_equal(discovery_add(f->d, NAME), 0);
	wait_changes(f, 1);
	assert_int_equal(f->nadded, 50);
	assert_int_equal(f->r.tcp_queries, 0);
}

/* The callback may remove the name it reports; no callback after that. */
static void test_remove_in_callback(void **state)
{
	struct fixture *f = *state;
	int q;

	set_records(f, "10.0.0.1", NULL, NULL);
	f->r.ttl = 0;
	f->remove_in_cb = NAME;
	assert_int_equal(discovery_add(f->d, NAME), 0);
	wait_changes(f, 1);
	f->remove_in_cb = NULL;
	/* Added again: it starts over (all addresses new). */
	q = f->r.queries;
	assert_int_equal(discovery_add(f->d, NAME), 0);
	wait_changes(f, 2);
	assert_int_equal(f->nadded, 1);
	assert_true(f->r.queries >= q + 2);
	assert_int_equal(discovery_remove(f->d, "nosuch"), -ENOENT);
}

/* Removed and freed with queries in flight: their callbacks, still to
 * come from the loop, touch nothing freed (ASan). */
static void test_free_in_flight(void **state)
{
	struct fixture *f = *state;

	f->r.mode = SILENT;
	assert_int_equal(discovery_add(f->d, NAME), 0);
	assert_int_equal(discovery_add(f->d, "other.test"), 0);
	wait_queries(f, 4);
	assert_int_equal(discovery_remove(f->d, "other.test"), 0);
	discovery_refresh(f->d);
	/* teardown frees d with NAME's queries in flight. */
}

static void test_interval(void **state)
{
	(void)state;
	assert_int_equal(discovery_interval_ms(0, 1000, 30000), 1000);
	assert_int_equal(discovery_interval_ms(-1, 1000, 30000), 1000);
	assert_int_equal(discovery_interval_ms(5, 1000, 30000), 5000);
	assert_int_equal(discovery_interval_ms(3600, 1000, 30000), 30000);
	assert_int_equal(discovery_interval_ms(0x7fffffffL, 1000, 30000),
			 30000);
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct discovery_opts o = { .dns_server = "not an address" };
	char longname[300];

	errno = 0;
	assert_null(discovery_new(f->base, &o, on_change, f));
	assert_int_equal(errno, EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(discovery_add(f->d, longname), -EINVAL);
	assert_int_equal(discovery_add(f->d, ""), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_and_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_servfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_edns_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_in_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup,
						teardown),
		cmocka_unit_test(test_interval),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
