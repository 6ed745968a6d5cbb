/*
 * h2storm: what one client with one valid certificate can throw at an
 * agent, for the caps' integration test and the memory bench
 * (tests/bench/limits.sh). On the project's own transport.
 *
 *   h2storm [options] ADDRESS
 *     --ca FILE --cert FILE --key FILE   TLS (else ADDRESS is unix:PATH)
 *     --status N    N status streams of distinct sessions on one
 *                   connection, each with a partial exec request (60 KiB
 *                   of an unfinished JSON string), never ended
 *     --watch N     N watch streams on one connection, never read (their
 *                   window stays closed once full)
 *     --conns N     N more connections at once, each with one list
 *                   request, kept open
 *     --raw N       N TCP connections that never start their handshake
 *     --hold FILE   once everything is answered, create FILE and wait
 *                   until it is removed (the bench measures meanwhile)
 *     --timeout SEC give up waiting for answers after SEC (default 60)
 *
 * Prints, once every stream was answered or reset (or the timeout):
 *     status ok A refused B reset C
 *     watch ok A refused B reset C
 *     conns ok A closed B
 * ("ok": answered 200 or still open; "refused": an error status;
 * "reset": RST_STREAM, e.g. REFUSED_STREAM). Exit 0, 1 on an error, 3 on
 * the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "execfs/h2.h"
#include "execfs/proto.h"

#define PARTIAL_BYTES (60 * 1024)

struct count {
	unsigned opened, ok, refused, reset;
};

struct storm {
	struct event_base *base;
	SSL_CTX *ctx;
	const char *address;
	struct count status, watch;
	unsigned conns, conns_ok, conns_closed;
	unsigned pending; /* streams and connections not answered yet */
	struct h2_conn **all; /* owned: every connection made, until closed */
	unsigned nall;
	bool marker_done;
};

/* Status streams are never answered while their request is incomplete:
 * only refusals come, and a list request sent after them on the same
 * connection (the marker) is answered after every one of them was seen
 * by the agent. Those neither refused nor reset by then are held. */
static void count_response(struct count *c, struct storm *s, int status)
{
	if (status == 200)
		c->ok++;
	else
		c->refused++;
	if (c != &s->status)
		s->pending--;
}

static void st_on_response(struct h2_stream *st, int status, void *arg);
static void st_on_data(struct h2_stream *st, const uint8_t *d, size_t len,
		       void *arg)
{
	(void)st;
	(void)d;
	(void)len;
	(void)arg; /* never consumed: the window closes */
}

static void st_on_close(struct h2_stream *st, uint32_t code, void *arg);

static const struct h2_stream_cbs status_cbs = {
	.on_response = st_on_response,
	.on_data = st_on_data,
	.on_close = st_on_close,
};
static const struct h2_stream_cbs watch_cbs = {
	.on_response = st_on_response,
	.on_data = st_on_data,
	.on_close = st_on_close,
};

static struct storm *g;

static void st_on_response(struct h2_stream *st, int status, void *arg)
{
	(void)st;
	count_response(arg, g, status);
}

static void st_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct count *c = arg;

	(void)st;
	/* Reset before any answer. */
	if (code && c->ok + c->refused + c->reset < c->opened) {
		c->reset++;
		if (c != &g->status)
			g->pending--;
	}
}

static void marker_on_response(struct h2_stream *st, int status, void *arg)
{
	struct storm *s = arg;

	(void)st;
	(void)status;
	if (!s->marker_done)
		s->pending--;
	s->marker_done = true;
}

static void marker_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	marker_on_response(st, (int)code, arg);
}

static const struct h2_stream_cbs marker_cbs = {
	.on_response = marker_on_response,
	.on_data = st_on_data,
	.on_close = marker_on_close,
};

static void open_streams(struct storm *s, struct h2_conn *c)
{
	static char body[PARTIAL_BYTES];
	char path[128], sid[EXECFS_SID_LEN + 1];
	struct h2_header hdr[1];
	struct h2_stream *st;
	unsigned i;

	memset(body, 'x', sizeof(body));
	memcpy(body, "{\"container\": \"", 15);
	for (i = 0; i < s->status.opened; i++) {
		snprintf(sid, sizeof(sid), "%032x", i + 1);
		snprintf(path, sizeof(path), "%s%s", EXECFS_PATH_SESSIONS, sid);
		hdr[0] = (struct h2_header){ EXECFS_HDR_STREAMTYPE,
					     EXECFS_ST_STATUS };
		st = h2_conn_request(c, "POST", path, hdr, 1, false,
				     &status_cbs, &s->status);
		if (!st) {
			fprintf(stderr, "h2storm: stream %u: %s\n", i,
				strerror(errno));
			exit(1);
		}
		h2_stream_write(st, body, sizeof(body));
	}
	for (i = 0; i < s->watch.opened; i++)
		if (!h2_conn_request(c, "GET", EXECFS_PATH_WATCH, NULL, 0, true,
				     &watch_cbs, &s->watch)) {
			fprintf(stderr, "h2storm: watch %u: %s\n", i,
				strerror(errno));
			exit(1);
		}
	if (!h2_conn_request(c, "GET", EXECFS_PATH_CONTAINERS, NULL, 0, true,
			     &marker_cbs, s))
		exit(1);
}

static void list_on_response(struct h2_stream *st, int status, void *arg)
{
	struct storm *s = arg;

	(void)st;
	(void)status;
	s->conns_ok++;
	s->pending--;
}

static const struct h2_stream_cbs list_cbs = {
	.on_response = list_on_response,
	.on_data = st_on_data,
};

static void main_on_ready(struct h2_conn *c, void *arg)
{
	open_streams(arg, c);
}

/* A closed connection is freed by the transport: forget it. */
static void forget(struct storm *s, struct h2_conn *c)
{
	unsigned i;

	for (i = 0; i < s->nall; i++)
		if (s->all[i] == c)
			s->all[i] = NULL;
}

static void main_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	forget(arg, c);
	fprintf(stderr, "h2storm: connection closed: %s\n", reason);
}

/* A connection the agent refuses may still see its handshake done: its
 * request then fails, and its close is what counts. */
static void extra_on_ready(struct h2_conn *c, void *arg)
{
	(void)h2_conn_request(c, "GET", EXECFS_PATH_CONTAINERS, NULL, 0, true,
			      &list_cbs, arg);
}

static void extra_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct storm *s = arg;

	(void)reason;
	forget(s, c);
	s->conns_closed++;
	s->pending--;
}

static const struct h2_conn_cbs main_cbs = {
	.on_ready = main_on_ready,
	.on_close = main_on_close,
};
static const struct h2_conn_cbs extra_cbs = {
	.on_ready = extra_on_ready,
	.on_close = extra_on_close,
};

static void raw_connect(const char *address, unsigned n)
{
	char host[64];
	const char *colon = strrchr(address, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned i;

	if (!colon || colon - address >= (long)sizeof(host)) {
		fprintf(stderr, "h2storm: --raw wants IPV4:PORT\n");
		exit(2);
	}
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "h2storm: --raw wants IPV4:PORT\n");
		exit(2);
	}
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0); /* kept to the end */

		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "h2storm: raw connect %u: %s\n", i,
				strerror(errno));
			exit(1);
		}
	}
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct storm *s = arg;

	(void)fd;
	(void)what;
	if (!s->pending)
		event_base_loopexit(s->base, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "status", required_argument, NULL, 's' },
		{ "watch", required_argument, NULL, 'w' },
		{ "conns", required_argument, NULL, 'n' },
		{ "raw", required_argument, NULL, 'r' },
		{ "hold", required_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = NULL, *cert = NULL, *key = NULL, *hold = NULL;
	struct storm s = { 0 };
	unsigned raw = 0, timeout = 60, i;
	struct timeval tv = { 0, 100000 };
	struct event *t;
	char err[256];
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			ca = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 's':
			s.status.opened = (unsigned)atoi(optarg);
			break;
		case 'w':
			s.watch.opened = (unsigned)atoi(optarg);
			break;
		case 'n':
			s.conns = (unsigned)atoi(optarg);
			break;
		case 'r':
			raw = (unsigned)atoi(optarg);
			break;
		case 'h':
			hold = optarg;
			break;
		case 't':
			timeout = (unsigned)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: h2storm [options] ADDRESS\n");
		return 2;
	}
	g = &s;
	/* The agent closes connections over its caps: a write to one must be
	 * an error, not the end of this process. */
	signal(SIGPIPE, SIG_IGN);
	s.address = argv[optind];
	s.base = event_base_new();
	h2_set_heartbeat(0);
	if (ca) {
		s.ctx = tls_client_ctx_new(ca, cert, key, err, sizeof(err));
		if (!s.ctx) {
			fprintf(stderr, "h2storm: %s\n", err);
			return 1;
		}
	}
	if (raw)
		raw_connect(s.address, raw);
	s.pending = s.watch.opened + s.conns +
		    (s.status.opened + s.watch.opened ? 1 : 0);
	s.all = calloc(s.conns + 1, sizeof(*s.all));
	if (!s.all)
		return 1;
	if (s.status.opened + s.watch.opened &&
	    !(s.all[s.nall++] = h2_connect(s.base, NULL, s.address, s.ctx, NULL,
					   &main_cbs, &s, err, sizeof(err)))) {
		fprintf(stderr, "h2storm: %s\n", err);
		return 1;
	}
	for (i = 0; i < s.conns; i++)
		if (!(s.all[s.nall++] = h2_connect(s.base, NULL, s.address,
						   s.ctx, NULL, &extra_cbs, &s,
						   err, sizeof(err)))) {
			fprintf(stderr, "h2storm: %s\n", err);
			return 1;
		}
	t = event_new(s.base, -1, EV_PERSIST, tick, &s);
	event_add(t, &tv);
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	event_base_loopexit(s.base, &tv);
	event_base_dispatch(s.base);
	s.status.ok = s.status.opened - s.status.refused - s.status.reset;
	printf("status ok %u refused %u reset %u\n", s.status.ok,
	       s.status.refused, s.status.reset);
	printf("watch ok %u refused %u reset %u\n", s.watch.ok, s.watch.refused,
	       s.watch.reset);
	printf("conns ok %u closed %u\n", s.conns_ok, s.conns_closed);
	fflush(stdout);
	if (hold && !s.pending) {
		FILE *f = fopen(hold, "we");

		if (f)
			fclose(f);
		while (access(hold, F_OK) == 0) {
			tv.tv_sec = 0;
			tv.tv_usec = 200000;
			event_base_loopexit(s.base, &tv);
			event_base_dispatch(s.base);
		}
	}
	for (i = 0; i < s.nall; i++)
		h2_conn_free(s.all[i]);
	free(s.all);
	event_free(t);
	event_base_free(s.base);
	tls_ctx_free(s.ctx);
	return s.pending ? 3 : 0;
}
