/*
 * Socket and in-memory TLS under an HTTP/2 connection (see wire.h).
 *
 * States: CONNECTING (waiting for the socket to become writable), then over
 * TLS HANDSHAKE, then UP; DOWN after on_down. Reading: the read event
 * fires, one pass reads the socket until it is empty or WIRE_PASS bytes
 * came (then the event is activated again, so other connections get
 * their turn and nothing stays unread). Writing: wire_write queues,
 * wire_flush writes at once; only a full socket arms the write event.
 */
#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/sslerr.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bufread.h"
#include "execfs/log.h"
#include "wire.h"

/* One read(2) or SSL_read batch. */
#define WIRE_CHUNK (256 * 1024)
/* The most plaintext one TLS record carries. */
#define WIRE_RECORD 16384

enum wire_state { W_CONNECTING, W_HANDSHAKE, W_UP, W_DOWN };

struct wire {
	struct event_base *base;
	int fd; /* owned */
	SSL *ssl; /* owned; NULL on a plain socket */
	enum wire_state state;
	struct event *rev; /* owned; persistent read event */
	struct event *wev; /* owned; armed while the socket is full */
	struct evbuffer *out; /* owned; bytes for the socket (ciphertext
				 over TLS) */
	struct evbuffer *in; /* owned; TLS only: ciphertext not yet
				decrypted */
	bool peer_eof; /* the socket read 0 */
	bool full; /* the socket refused output: on_drain owed */
	const struct wire_cbs *cbs;
	void *arg;
};

/*
 * Plaintext scratch for reads. One event loop per process and on_recv
 * consumes before returning, so one buffer serves every connection.
 */
static uint8_t wire_scratch[WIRE_CHUNK];

static void wire_down(struct wire *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void wire_down(struct wire *w, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	if (w->state == W_DOWN)
		return;
	/* Best effort, without waiting: a TLS alert tells the peer why. */
	if (w->ssl && w->state != W_CONNECTING)
		(void)evbuffer_write(w->out, w->fd);
	w->state = W_DOWN;
	event_del(w->rev);
	event_del(w->wev);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	w->cbs->on_down(w->arg, why);
}

/* ---- the BIO OpenSSL reads and writes ciphertext through ---------------- */

static int bio_write(BIO *b, const char *data, int len)
{
	struct wire *w = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	return evbuffer_add(w->out, data, (size_t)len) < 0 ? -1 : len;
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct wire *w = BIO_get_data(b);
	int n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = evbuffer_remove(w->in, buf, (size_t)len);
	if (n > 0)
		return n;
	if (w->peer_eof)
		return 0;
	BIO_set_retry_read(b);
	return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct wire *w = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1; /* wire_flush() sends, from the loop */
	case BIO_CTRL_PENDING:
		return w ? (long)evbuffer_get_length(w->in) : 0;
	case BIO_CTRL_WPENDING:
		return w ? (long)evbuffer_get_length(w->out) : 0;
	case BIO_CTRL_EOF:
		return w && w->peer_eof && !evbuffer_get_length(w->in);
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* Made once, kept for the life of the process. */
static BIO_METHOD *bio_method(void)
{
	static BIO_METHOD *m;

	if (m)
		return m;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
			 "execfs wire");
	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, bio_write) ||
	    !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl) ||
	    !BIO_meth_set_create(m, bio_create)) {
		BIO_meth_free(m);
		m = NULL;
	}
	return m;
}

/* Why a TLS operation that returned ret failed, for on_down. Call it
 * right away: the error state is the thread's, the next call changes it. */
static void tls_reason(struct wire *w, int ret, char *why, size_t len)
{
	int e = SSL_get_error(w->ssl, ret);
	unsigned long code = ERR_peek_last_error();
	long vr = SSL_get_verify_result(w->ssl);
	char buf[200];

	if (w->state == W_HANDSHAKE && vr != X509_V_OK)
		snprintf(why, len, "TLS: certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
	else if (code &&
		 !(w->peer_eof && ERR_GET_REASON(code) ==
					  SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		ERR_error_string_n(code, buf, sizeof(buf));
		snprintf(why, len, "TLS: %s", buf);
	} else if (e == SSL_ERROR_ZERO_RETURN || w->peer_eof) {
		snprintf(why, len, "peer closed the connection");
	} else {
		snprintf(why, len, "TLS: error %d", e);
	}
	ERR_clear_error();
}

static void tls_failure(struct wire *w, int ret)
{
	char why[300];

	tls_reason(w, ret, why, sizeof(why));
	wire_down(w, "%s", why);
}

/* ---- reading ------------------------------------------------------------- */

/* Decrypt what has arrived and hand it on. 0, or -1 once down. */
static int tls_pump(struct wire *w)
{
	size_t used = 0;
	int r;

	if (w->state == W_HANDSHAKE) {
		ERR_clear_error();
		r = SSL_do_handshake(w->ssl);
		if (r != 1) {
			if (SSL_get_error(w->ssl, r) != SSL_ERROR_WANT_READ) {
				tls_failure(w, r);
				return -1;
			}
			wire_flush(w);
			return 0;
		}
		w->state = W_UP;
		wire_flush(w);
		w->cbs->on_up(w->arg);
		if (w->state != W_UP)
			return -1;
	}
	for (;;) {
		int err = SSL_ERROR_NONE;
		char why[300];

		ERR_clear_error();
		r = SSL_read(w->ssl, wire_scratch + used,
			     (int)(sizeof(wire_scratch) - used));
		if (r > 0) {
			used += (size_t)r;
			if (used < sizeof(wire_scratch))
				continue;
		} else {
			/* Now: on_recv may run OpenSSL calls of its own. */
			err = SSL_get_error(w->ssl, r);
			if (err != SSL_ERROR_WANT_READ)
				tls_reason(w, r, why, sizeof(why));
		}
		if (used) {
			if (w->cbs->on_recv(w->arg, wire_scratch, used) < 0 ||
			    w->state != W_UP)
				return -1;
			used = 0;
		}
		if (r > 0)
			continue;
		if (err == SSL_ERROR_WANT_READ)
			break;
		wire_down(w, "%s", why);
		return -1;
	}
	/* OpenSSL may have answered something (a key update). */
	if (evbuffer_get_length(w->out))
		wire_flush(w);
	return 0;
}

/* One read(2) into the right place. > 0 bytes, 0 at EOF, -errno. */
static ssize_t wire_read_once(struct wire *w)
{
	ssize_t n;

	if (w->ssl)
		return bufread_fd(w->in, w->fd, WIRE_CHUNK);
	n = read(w->fd, wire_scratch, sizeof(wire_scratch));
	return n < 0 ? -errno : n;
}

static void wire_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wire *w = arg;
	size_t total = 0;
	ssize_t n;

	(void)fd;
	(void)what;
	if (w->state == W_CONNECTING || w->state == W_DOWN)
		return;
	while (total < WIRE_PASS) {
		n = wire_read_once(w);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n < 0) {
			wire_down(w, "read: %s", strerror((int)-n));
			return;
		}
		if (n == 0)
			w->peer_eof = true;
		total += (size_t)n;
		if (w->ssl) {
			if (tls_pump(w) < 0)
				return;
		} else if (n > 0 && w->cbs->on_recv(w->arg, wire_scratch,
						    (size_t)n) < 0) {
			return;
		}
		if (w->state == W_DOWN)
			return;
		if (w->peer_eof) {
			wire_down(w, "peer closed the connection");
			return;
		}
		if ((size_t)n < WIRE_CHUNK)
			return; /* the socket is (most likely) empty */
	}
	/* More may be waiting: come back after the others had a turn. */
	event_active(w->rev, EV_READ, 0);
}

/* ---- writing ------------------------------------------------------------- */

int wire_write(struct wire *w, const void *data, size_t len)
{
	size_t done = 0;
	int r;

	if (w->state == W_DOWN)
		return -EPIPE;
	if (!w->ssl)
		return evbuffer_add(w->out, data, len) < 0 ? -ENOMEM : 0;
	if (w->state != W_UP)
		return -EAGAIN; /* the owner writes only once on_up came */
	while (done < len) {
		size_t n = len - done > (size_t)INT32_MAX ? (size_t)INT32_MAX :
							    len - done;

		ERR_clear_error();
		r = SSL_write(w->ssl, (const uint8_t *)data + done, (int)n);
		if (r <= 0) {
			tls_failure(w, r);
			return -EPIPE;
		}
		done += (size_t)r;
	}
	return 0;
}

/* Over TLS: encrypt len bytes moved out of body, in full records. */
static int tls_write_body(struct wire *w, const uint8_t *head, size_t hlen,
			  struct evbuffer *body, size_t len)
{
	uint8_t stage[WIRE_RECORD];
	size_t used = hlen;
	int r = 0;

	/* The frame header rides in the first record with body bytes. */
	memcpy(stage, head, hlen);
	for (;;) {
		struct evbuffer_iovec v;
		size_t take;

		if (used > 0) {
			take = len < sizeof(stage) - used ?
				       len :
				       sizeof(stage) - used;
			evbuffer_remove(body, stage + used, take);
			len -= take;
			used += take;
			ERR_clear_error();
			r = SSL_write(w->ssl, stage, (int)used);
			if (r <= 0)
				goto fail;
			used = 0;
		}
		if (len == 0)
			return 0;
		/* Whole records straight from the buffer's memory; a short
		 * tail goes through stage with what follows it. */
		if (evbuffer_peek(body, (ev_ssize_t)len, NULL, &v, 1) < 1)
			return -EIO;
		take = v.iov_len < len ? v.iov_len : len;
		if (take < len)
			take -= take % WIRE_RECORD;
		if (take == 0) {
			take = len < sizeof(stage) ? len : sizeof(stage);
			evbuffer_remove(body, stage, take);
			len -= take;
			ERR_clear_error();
			r = SSL_write(w->ssl, stage, (int)take);
			if (r <= 0)
				goto fail;
			continue;
		}
		ERR_clear_error();
		r = SSL_write(w->ssl, v.iov_base, (int)take);
		if (r <= 0)
			goto fail;
		evbuffer_drain(body, take);
		len -= take;
	}
fail:
	tls_failure(w, r);
	return -EPIPE;
}

int wire_write_frame(struct wire *w, const uint8_t *head, size_t hlen,
		     struct evbuffer *body, size_t len)
{
	if (w->state == W_DOWN)
		return -EPIPE;
	if (hlen > WIRE_RECORD / 2 || evbuffer_get_length(body) < len)
		return -EINVAL;
	if (w->ssl) {
		if (w->state != W_UP)
			return -EAGAIN;
		return tls_write_body(w, head, hlen, body, len);
	}
	if (evbuffer_add(w->out, head, hlen) < 0 ||
	    evbuffer_remove_buffer(body, w->out, len) != (int)len)
		return -ENOMEM;
	return 0;
}

size_t wire_pending(const struct wire *w)
{
	return evbuffer_get_length(w->out);
}

void wire_flush(struct wire *w)
{
	size_t sent = 0;
	int n;

	if (w->state == W_CONNECTING || w->state == W_DOWN)
		return;
	while (evbuffer_get_length(w->out) > 0) {
		if (sent >= WIRE_PASS) {
			/* Fair share done; the write event continues. */
			event_add(w->wev, NULL);
			return;
		}
		n = evbuffer_write_atmost(w->out, w->fd, WIRE_PASS - sent);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				w->full = true;
				event_add(w->wev, NULL);
				return;
			}
			wire_down(w, "write: %s", strerror(errno));
			return;
		}
		sent += (size_t)n;
	}
	event_del(w->wev);
}

static void wire_connected(struct wire *w)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		wire_down(w, "%s", strerror(err));
		return;
	}
	event_del(w->wev);
	if (event_add(w->rev, NULL) < 0) {
		wire_down(w, "out of memory");
		return;
	}
	if (w->ssl) {
		w->state = W_HANDSHAKE;
		tls_pump(w); /* the client speaks first */
		return;
	}
	w->state = W_UP;
	w->cbs->on_up(w->arg);
}

static void wire_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wire *w = arg;

	(void)fd;
	(void)what;
	if (w->state == W_CONNECTING) {
		wire_connected(w);
		return;
	}
	wire_flush(w);
	if (w->state != W_DOWN && w->full &&
	    evbuffer_get_length(w->out) < WIRE_LOWAT) {
		w->full = false;
		w->cbs->on_drain(w->arg);
	}
}

/* ---- life ---------------------------------------------------------------- */

static struct wire *wire_alloc(struct event_base *base, int fd, SSL *ssl,
			       const struct wire_cbs *cbs, void *arg)
{
	struct wire *w = calloc(1, sizeof(*w)); /* owned by the caller */
	BIO *bio;

	if (!w) {
		close(fd);
		SSL_free(ssl);
		return NULL;
	}
	w->base = base;
	w->fd = fd;
	w->ssl = ssl;
	w->cbs = cbs;
	w->arg = arg;
	w->rev = event_new(base, fd, EV_READ | EV_PERSIST, wire_read_cb, w);
	w->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, wire_write_cb, w);
	w->out = evbuffer_new();
	w->in = ssl ? evbuffer_new() : NULL;
	if (!w->rev || !w->wev || !w->out || (ssl && !w->in))
		goto fail;
	if (ssl) {
		BIO_METHOD *m = bio_method();

		bio = m ? BIO_new(m) : NULL;
		if (!bio)
			goto fail;
		BIO_set_data(bio, w);
		SSL_set_bio(ssl, bio, bio); /* the SSL owns bio */
	}
	return w;
fail:
	wire_free(w);
	return NULL;
}

struct wire *wire_new(struct event_base *base, int fd, SSL *ssl,
		      const struct wire_cbs *cbs, void *arg)
{
	struct wire *w;

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		close(fd);
		SSL_free(ssl);
		return NULL;
	}
	w = wire_alloc(base, fd, ssl, cbs, arg);
	if (!w)
		return NULL;
	if (event_add(w->rev, NULL) < 0) {
		wire_free(w);
		return NULL;
	}
	if (ssl) {
		w->state = W_HANDSHAKE;
		/* A client speaks first; a server waits for its hello. */
		if (!SSL_is_server(ssl))
			tls_pump(w);
		return w;
	}
	w->state = W_UP;
	return w;
}

struct wire *wire_connect(struct event_base *base, const struct sockaddr *sa,
			  socklen_t salen, SSL *ssl, const struct wire_cbs *cbs,
			  void *arg)
{
	struct wire *w;
	int fd, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = errno;
		SSL_free(ssl);
		errno = err;
		return NULL;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		err = errno;
		close(fd);
		SSL_free(ssl);
		errno = err;
		return NULL;
	}
	w = wire_alloc(base, fd, ssl, cbs, arg);
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->state = W_CONNECTING;
	if (event_add(w->wev, NULL) < 0) {
		wire_free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

void wire_free(struct wire *w)
{
	if (!w)
		return;
	if (w->rev)
		event_free(w->rev);
	if (w->wev)
		event_free(w->wev);
	SSL_free(w->ssl); /* and its BIO */
	if (w->out)
		evbuffer_free(w->out);
	if (w->in)
		evbuffer_free(w->in);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int wire_fd(const struct wire *w)
{
	return w->fd;
}

SSL *wire_ssl(const struct wire *w)
{
	return w->ssl;
}
