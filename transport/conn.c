/*
 * Sockets for HTTP/2 connections: connecting (with name resolution) and
 * listening on Unix and TCP addresses, and the glue between a connection's
 * wire (wire.c: the socket and its TLS) and the nghttp2 session in h2.c.
 *
 * Everything is driven by the one event loop of the process. Teardown is
 * always deferred to the loop (die_ev), so a connection never disappears
 * under a callback that is still running.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn_internal.h"
#include "execfs/log.h"
#include "tls_internal.h"
#include "wire.h"

struct h2_listener {
	struct event_base *base;
	struct evconnlistener *el; /* owned */
	SSL_CTX *ctx; /* not owned */
	const struct h2_conn_cbs *cbs;
	void *arg;
	char *unix_path; /* owned; unlinked on free */
	struct h2_conn *conns; /* accepted, still open */
	struct event *resume_ev; /* owned; accepting again after a pause */
	struct listener_limits limits; /* limits.c */
};

/* How long a listener stops accepting after accept(2) failed for want of
 * a resource (an fd, memory): a level-triggered listener would otherwise
 * be woken for the same pending connection at once, forever. */
#define LISTENER_PAUSE_MS 250

/* ---- address parsing ---------------------------------------------------- */

struct addr {
	bool is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
	int port;
};

static int addr_parse(const char *s, struct addr *a, char *err, size_t errlen)
{
	const char *colon;
	char *end;
	long port;

	memset(a, 0, sizeof(*a));
	if (!strncmp(s, "unix:", 5)) {
		if (!s[5] || strlen(s + 5) >= sizeof(a->path)) {
			snprintf(err, errlen, "bad unix socket path in '%s'",
				 s);
			return -EINVAL;
		}
		a->is_unix = true;
		strcpy(a->path, s + 5);
		return 0;
	}
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' ||
		    (size_t)(rb - s - 1) >= sizeof(a->host))
			goto bad;
		memcpy(a->host, s + 1, rb - s - 1);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s ||
		    (size_t)(colon - s) >= sizeof(a->host))
			goto bad;
		memcpy(a->host, s, colon - s);
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		goto bad;
	a->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen,
		 "bad address '%s': want unix:PATH, HOST:PORT or [V6]:PORT", s);
	return -EINVAL;
}

/* ---- connection lifecycle ----------------------------------------------- */

static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	h2_conn_flush(arg);
}

void h2_conn_schedule_flush(struct h2_conn *c)
{
	if (c->flush_ev && !c->dying)
		event_active(c->flush_ev, EV_TIMEOUT, 0);
}

/* One process, one loop: plain counters (h2_server_stats_get). */
static struct h2_server_stats server_stats;

void h2_server_stats_get(struct h2_server_stats *out)
{
	*out = server_stats;
}

static void listener_unlink(struct h2_conn *c)
{
	struct h2_listener *l = c->listener;

	if (!l)
		return;
	server_stats.open--;
	limits_conn_gone(&l->limits, c);
	c->limits = NULL;
	if (c->lprev)
		c->lprev->lnext = c->lnext;
	else
		l->conns = c->lnext;
	if (c->lnext)
		c->lnext->lprev = c->lprev;
	c->listener = NULL;
}

static void conn_release(struct h2_conn *c)
{
	h2_conn_drop_streams(c, H2_CANCEL);
	listener_unlink(c);
	if (c->dns_req) {
		struct evdns_getaddrinfo_request *req = c->dns_req;

		c->dns_req = NULL;
		evdns_getaddrinfo_cancel(req); /* its callback ignores us */
	}
	wire_free(c->wire);
	SSL_free(c->pending_ssl);
	nghttp2_session_del(c->ng);
	if (c->flush_ev)
		event_free(c->flush_ev);
	if (c->die_ev)
		event_free(c->die_ev);
	if (c->beat_ev)
		event_free(c->beat_ev);
	if (c->hs_ev)
		event_free(c->hs_ev);
	free(c->verify_name);
	free(c);
}

static void conn_die_cb(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd;
	(void)what;
	/* Stop I/O now; streams learn of the loss before the owner. */
	wire_free(c->wire);
	c->wire = NULL;
	h2_conn_drop_streams(c, H2_LOST);
	if (!c->silent && c->cbs->on_close)
		c->cbs->on_close(c, c->reason, c->arg);
	conn_release(c);
}

void h2_conn_die(struct h2_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->dying)
		return;
	c->dying = true;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	log_debug("connection %p: %s", (void *)c, c->reason);
	event_active(c->die_ev, EV_TIMEOUT, 0);
}

void h2_conn_free(struct h2_conn *c)
{
	if (!c)
		return;
	c->silent = true;
	conn_release(c);
}

const char *h2_conn_peer(const struct h2_conn *c)
{
	return c->peer;
}

int h2_conn_peer_has_name(const struct h2_conn *c, const char *name)
{
	SSL *ssl = c->wire && c->ready ? wire_ssl(c->wire) : NULL;

	return ssl ? tls_peer_has_name(ssl, name) : -ENOTCONN;
}

uint64_t h2_conn_serial(const struct h2_conn *c)
{
	return c->serial;
}

static struct h2_conn *conn_alloc(struct event_base *base, bool server,
				  const struct h2_conn_cbs *cbs, void *arg)
{
	static uint64_t serials; /* one loop per process */
	struct h2_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base = base;
	c->server = server;
	c->serial = ++serials;
	c->cbs = cbs;
	c->arg = arg;
	list_init(&c->streams);
	list_init(&c->writable);
	c->flush_ev = event_new(base, -1, 0, conn_flush_cb, c);
	c->die_ev = event_new(base, -1, 0, conn_die_cb, c);
	if (!c->flush_ev || !c->die_ev || h2_conn_session_init(c) < 0 ||
	    conn_heartbeat_start(c) < 0) {
		conn_release(c);
		return NULL;
	}
	return c;
}

/* ---- the wire's callbacks ----------------------------------------------- */

static void conn_established(struct h2_conn *c)
{
	SSL *ssl = wire_ssl(c->wire);
	int fd = wire_fd(c->wire);
	int one = 1;

	if (c->hs_ev) {
		event_free(c->hs_ev);
		c->hs_ev = NULL;
	}
	if (ssl) {
		const unsigned char *alpn = NULL;
		unsigned int alen = 0;

		SSL_get0_alpn_selected(ssl, &alpn, &alen);
		if (alen != 2 || memcmp(alpn, "h2", 2)) {
			h2_conn_die(c, "TLS: peer did not agree to ALPN h2");
			return;
		}
		/* The handshake's check refused such a client already; a
		 * server never serves one without an identity. */
		if (tls_peer_identity(ssl, c->peer, sizeof(c->peer)) < 0 &&
		    c->server) {
			server_stats.handshake_failures++;
			h2_conn_die(
				c,
				"TLS: the client's certificate names no usable identity");
			return;
		}
		if (c->server)
			server_stats.handshakes++;
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		if (!getsockname(fd, (struct sockaddr *)&ss, &sl) &&
		    ss.ss_family == AF_UNIX &&
		    !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
			snprintf(c->peer, sizeof(c->peer), "uid:%u",
				 (unsigned)cred.uid);
	}
	if (c->limits && limits_conn_up(c->limits, c) < 0) {
		h2_conn_die(c, "%s is at its limit of connections", c->peer);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ready = true;
	if (!c->server && c->cbs->on_ready)
		c->cbs->on_ready(c, c->arg);
	h2_conn_flush(c);
}

static void conn_on_up(void *arg)
{
	conn_established(arg);
}

static int conn_on_recv(void *arg, const uint8_t *data, size_t len)
{
	struct h2_conn *c = arg;

	if (c->dying || h2_conn_recv(c, data, len) < 0)
		return -1;
	c->beat_heard = true;
	/* Answers (WINDOW_UPDATE, ACKs, responses) leave after this pass. */
	h2_conn_schedule_flush(c);
	return 0;
}

static void conn_on_drain(void *arg)
{
	h2_conn_flush(arg);
}

static void conn_on_down(void *arg, const char *why)
{
	struct h2_conn *c = arg;

	if (c->server && !c->ready && wire_ssl(c->wire))
		server_stats.handshake_failures++;
	h2_conn_die(arg, "%s", why);
}

static const struct wire_cbs conn_wire_cbs = {
	.on_up = conn_on_up,
	.on_recv = conn_on_recv,
	.on_drain = conn_on_drain,
	.on_down = conn_on_down,
};

/* ---- client ------------------------------------------------------------- */

/* Start the connect to sa; the wire takes the pending SSL. */
static void conn_start(struct h2_conn *c, const struct sockaddr *sa,
		       socklen_t salen)
{
	SSL *ssl = c->pending_ssl;

	c->pending_ssl = NULL;
	c->wire = wire_connect(c->base, sa, salen, ssl, &conn_wire_cbs, c);
	if (!c->wire)
		h2_conn_die(c, "%s", strerror(errno));
}

static void conn_resolved(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct h2_conn *c = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* conn_release() cancelled: c is gone */
	c->dns_req = NULL;
	if (result) {
		h2_conn_die(c, "cannot resolve: %s",
			    evutil_gai_strerror(result));
		return;
	}
	conn_start(c, ai->ai_addr, (socklen_t)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
}

struct h2_conn *h2_connect(struct event_base *base, struct evdns_base *dns,
			   const char *address, SSL_CTX *ctx,
			   const char *verify_name,
			   const struct h2_conn_cbs *cbs, void *arg, char *err,
			   size_t errlen)
{
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC,
					 .ai_socktype = SOCK_STREAM,
					 .ai_protocol = IPPROTO_TCP,
					 .ai_flags = EVUTIL_AI_ADDRCONFIG };
	struct evdns_getaddrinfo_request *req;
	struct h2_conn *c;
	struct addr a;
	char port[8];

	if (addr_parse(address, &a, err, errlen) < 0)
		return NULL;
	c = conn_alloc(base, false, cbs, arg);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ctx) {
		const char *name = verify_name ? verify_name : a.host;

		/* Also the requests' :authority: the host when "" (the name
		 * is checked after the handshake). */
		c->verify_name = strdup(name[0]	  ? name :
					a.host[0] ? a.host :
						    "localhost");
		c->pending_ssl = tls_client_ssl_new(ctx, name);
		if (!c->verify_name || !c->pending_ssl) {
			snprintf(err, errlen, "cannot set up TLS for %s", name);
			conn_release(c);
			return NULL;
		}
		SSL_set_connect_state(c->pending_ssl);
	}
	if (a.is_unix) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		strcpy(sun.sun_path, a.path);
		conn_start(c, (struct sockaddr *)&sun, sizeof(sun));
		return c;
	}
	snprintf(port, sizeof(port), "%d", a.port);
	if (!dns) {
		/* No resolver (local mode): numeric addresses only. */
		struct evutil_addrinfo *ai = NULL;
		int rv;

		hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
		rv = evutil_getaddrinfo(a.host, port, &hints, &ai);
		conn_resolved(rv, ai, c);
		return c;
	}
	/* The callback may run before this returns (numeric hosts). */
	req = evdns_getaddrinfo(dns, a.host, port, &hints, conn_resolved, c);
	if (req)
		c->dns_req = req;
	return c;
}

/* ---- server ------------------------------------------------------------- */

/* An accepted TLS connection that has not finished its handshake in
 * conn_handshake_seconds(): a peer holding one of the listener's
 * handshake slots (--max-handshakes) without finishing, slowly or never. */
static void conn_handshake_late_cb(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd;
	(void)what;
	if (!c->dying)
		h2_conn_die(c, "TLS handshake not done in %u s",
			    conn_handshake_seconds());
}

static void listener_accept_cb(struct evconnlistener *el, evutil_socket_t fd,
			       struct sockaddr *sa, int salen, void *arg)
{
	struct h2_listener *l = arg;
	struct h2_conn *c;
	SSL *ssl = NULL;

	(void)el;
	(void)sa;
	(void)salen;
	c = conn_alloc(l->base, true, l->cbs, l->arg);
	if (c && l->ctx && !limits_accept(&l->limits, c)) {
		evutil_closesocket(fd);
		conn_release(c);
		return;
	}
	if (l->ctx) {
		ssl = SSL_new(l->ctx);
		if (ssl)
			SSL_set_accept_state(ssl);
	}
	if (c && ssl)
		c->hs_ev = evtimer_new(l->base, conn_handshake_late_cb, c);
	if (!c || (l->ctx && (!ssl || !c->hs_ev))) {
		log_warn("out of memory, dropping a connection");
		evutil_closesocket(fd);
		SSL_free(ssl);
		if (c) {
			/* Not linked yet: its handshake slot by hand. */
			limits_handshake_done(&l->limits, c);
			conn_release(c);
		}
		return;
	}
	c->wire = wire_new(l->base, fd, ssl, &conn_wire_cbs, c);
	if (!c->wire) {
		log_warn("out of memory, dropping a connection");
		limits_handshake_done(&l->limits, c);
		conn_release(c);
		return;
	}
	if (c->hs_ev) {
		struct timeval tv = { (time_t)conn_handshake_seconds(), 0 };

		evtimer_add(c->hs_ev, &tv);
	}
	c->listener = l;
	c->limits = &l->limits;
	c->lnext = l->conns;
	if (l->conns)
		l->conns->lprev = c;
	l->conns = c;
	server_stats.accepted++;
	server_stats.open++;
	/* A plain socket is up now; TLS is after its handshake (on_up). */
	if (!ssl)
		conn_established(c);
}

static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct h2_listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->el);
}

/* accept(2) failed with more than a retry (libevent retries EAGAIN,
 * EINTR and ECONNABORTED itself): EMFILE, ENFILE, ENOBUFS, ENOMEM. The
 * connection stays queued in the kernel; pause, then try it again. */
static void listener_error_cb(struct evconnlistener *el, void *arg)
{
	struct h2_listener *l = arg;
	struct timeval tv = { 0, LISTENER_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	log_warn("accept: %s: not accepting for %d ms", strerror(err),
		 LISTENER_PAUSE_MS);
	evconnlistener_disable(el);
	evtimer_add(l->resume_ev, &tv);
}

struct h2_conn *h2_conn_serve(struct event_base *base, int fd,
			      const struct h2_conn_cbs *cbs, void *arg)
{
	struct h2_conn *c = conn_alloc(base, true, cbs, arg);

	if (!c) {
		close(fd);
		return NULL;
	}
	c->wire = wire_new(base, fd, NULL, &conn_wire_cbs, c);
	if (!c->wire) {
		conn_release(c);
		return NULL;
	}
	conn_established(c);
	return c;
}

static evutil_socket_t unix_listen_fd(const char *path, char *err,
				      size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* Replace a stale socket, never another kind of file. */
	if (!lstat(path, &sb)) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
				 path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 512) < 0) {
		snprintf(err, errlen, "listen on %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct h2_listener *h2_listen(struct event_base *base, const char *address,
			      SSL_CTX *ctx, const struct h2_conn_cbs *cbs,
			      void *arg, char *err, size_t errlen)
{
	return h2_listen_fd(base, address, -1, ctx, cbs, arg, err, errlen);
}

/* A socket handed over: listening, and of the address's family. */
static int inherited_ok(int fd, const struct addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int on = 0;
	socklen_t olen = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) < 0 || !on ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family == AF_UNIX) != a->is_unix) {
		snprintf(err, errlen,
			 "listen: the socket handed over is not a listening "
			 "socket of that address");
		return -EINVAL;
	}
	return 0;
}

struct h2_listener *h2_listen_fd(struct event_base *base, const char *address,
				 int fd, SSL_CTX *ctx,
				 const struct h2_conn_cbs *cbs, void *arg,
				 char *err, size_t errlen)
{
	const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
			       LEV_OPT_REUSEABLE;
	struct h2_listener *l;
	struct addr a;

	if (errlen)
		err[0] = 0;
	if (addr_parse(address, &a, err, errlen) < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->base = base;
	l->ctx = ctx;
	l->cbs = cbs;
	l->arg = arg;
	if (fd >= 0) {
		if (inherited_ok(fd, &a, err, errlen) < 0 ||
		    evutil_make_socket_nonblocking(fd) < 0)
			goto out_free;
		if (a.is_unix)
			l->unix_path = strdup(a.path);
		l->el = evconnlistener_new(base, listener_accept_cb, l, flags,
					   -1, fd);
	} else if (a.is_unix) {
		fd = unix_listen_fd(a.path, err, errlen);
		if (fd < 0)
			goto out_free;
		l->unix_path = strdup(a.path);
		l->el = evconnlistener_new(base, listener_accept_cb, l, flags,
					   -1, fd);
		if (!l->el)
			close(fd);
	} else {
		struct evutil_addrinfo hints = {
			.ai_family = AF_UNSPEC,
			.ai_socktype = SOCK_STREAM,
			.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICHOST
		};
		struct evutil_addrinfo *ai = NULL;
		char port[8];
		int rv;

		snprintf(port, sizeof(port), "%d", a.port);
		rv = evutil_getaddrinfo(a.host, port, &hints, &ai);
		if (rv) {
			snprintf(
				err, errlen,
				"listen %s: the host must be a numeric address (%s)",
				address, evutil_gai_strerror(rv));
			goto out_free;
		}
		l->el = evconnlistener_new_bind(base, listener_accept_cb, l,
						flags, 512, ai->ai_addr,
						(int)ai->ai_addrlen);
		evutil_freeaddrinfo(ai);
	}
	if (!l->el) {
		if (!err[0])
			snprintf(err, errlen, "listen %s: %s", address,
				 strerror(errno));
		goto out_free;
	}
	l->resume_ev = evtimer_new(base, listener_resume_cb, l);
	if (!l->resume_ev) {
		snprintf(err, errlen, "out of memory");
		h2_listener_free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->el, listener_error_cb);
	return l;
out_free:
	free(l->unix_path);
	free(l);
	return NULL;
}

int h2_listener_fd(const struct h2_listener *l)
{
	return evconnlistener_get_fd(l->el);
}

void h2_listener_set_limits(struct h2_listener *l, const struct h2_limits *lim)
{
	l->limits.lim = *lim;
}

void h2_listener_set_tls(struct h2_listener *l, SSL_CTX *ctx)
{
	l->ctx = ctx;
}

void h2_listener_free(struct h2_listener *l)
{
	if (!l)
		return;
	while (l->conns)
		h2_conn_free(l->conns);
	if (l->el)
		evconnlistener_free(l->el);
	if (l->resume_ev)
		event_free(l->resume_ev);
	if (l->unix_path)
		unlink(l->unix_path);
	limits_release(&l->limits);
	free(l->unix_path);
	free(l);
}
