/*
 * The transport API: HTTP/2 connections (nghttp2) over libevent
 * sockets, plain (h2c on a Unix socket) or TLS 1.3 with ALPN "h2".
 * Used by both execfs and execfs-agent, each on its own single event loop.
 *
 * Model: a connection carries streams. A stream has callbacks for what the
 * peer sends (response headers, body bytes, end, close) and a bounded
 * outgoing buffer the application writes into. Flow control is end to end:
 * received bytes hold HTTP/2 window until the application calls
 * h2_stream_consume(), and the application learns through on_writable when
 * its outgoing buffer has room again.
 *
 * Reentrancy: callbacks run from the event loop, inside the transport. In a
 * callback you may write, end, respond, reset, consume and open streams, and
 * call h2_conn_close(); never h2_conn_free(). Output is flushed to the socket
 * after the callback returns (and from the loop after calls made elsewhere).
 */
#ifndef EXECFS_H2_H
#define EXECFS_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct evdns_base;
typedef struct ssl_ctx_st SSL_CTX;

struct h2_conn; /* opaque; one HTTP/2 connection */

/*
 * Heartbeats, for every connection made after the call: one that received
 * nothing for `seconds` sends a PING, and one that received nothing for
 * three times `seconds` is closed as lost (its on_close says why), a
 * connect or TLS handshake without an answer too. 0 turns them off.
 * Default 5 s: a silent peer is given up after 10-15 s.
 */
void h2_set_heartbeat(unsigned seconds);
#define H2_HEARTBEAT_MAX 3600
/* A command-line value for it: decimal seconds, 0..H2_HEARTBEAT_MAX.
 * 0, or -EINVAL. */
int h2_heartbeat_parse(const char *text, unsigned *seconds);
struct h2_stream; /* opaque; valid until its on_close callback returns */
struct h2_listener; /* opaque; a listening socket */

struct h2_header {
	const char *name;
	const char *value;
};

/* The outgoing buffer of a stream reports on_writable below this. */
#define H2_STREAM_LOWAT (256 * 1024)
/* h2_stream_write_space() is what fits below this, and below the window
 * the peer gives the stream plus H2_STREAM_STALLED: a stream whose reader
 * stopped holds little beyond what is on its way. */
#define H2_STREAM_HIWAT (1024 * 1024)
#define H2_STREAM_STALLED (64 * 1024)

struct h2_stream_cbs {
	/* Client side: the response headers arrived. */
	void (*on_response)(struct h2_stream *st, int status, void *arg);
	/* Body bytes from the peer. Their window is returned only by
	 * h2_stream_consume(), so a slow consumer holds the sender back. */
	void (*on_data)(struct h2_stream *st, const uint8_t *data, size_t len,
			void *arg);
	/* The peer ended its side of the stream (END_STREAM). */
	void (*on_end)(struct h2_stream *st, void *arg);
	/* There is room again (the outgoing buffer fell below
	 * H2_STREAM_LOWAT, or the peer gave window) after the buffer was
	 * above H2_STREAM_LOWAT or full. */
	void (*on_writable)(struct h2_stream *st, void *arg);
	/* The stream is gone: closed cleanly (error_code 0), reset by either
	 * side, or lost with its connection. The handle is freed after return. */
	void (*on_close)(struct h2_stream *st, uint32_t error_code, void *arg);
};

struct h2_conn_cbs {
	/* Server side: a new request stream; its method, path and headers are
	 * complete. Set its callbacks with h2_stream_set_cbs() (body bytes may
	 * follow) and answer with h2_stream_respond(). */
	void (*on_request)(struct h2_conn *c, struct h2_stream *st, void *arg);
	/* Client side: the connection is established (TLS and ALPN done). */
	void (*on_ready)(struct h2_conn *c, void *arg);
	/* The connection ended: peer closed, I/O or protocol error, failed
	 * connect or handshake, or h2_conn_close(). Every stream's on_close has
	 * already run. The connection is freed after return. */
	void (*on_close)(struct h2_conn *c, const char *reason, void *arg);
};

/* ---- TLS contexts (tls.c) ------------------------------------------------ */

/* Server context: certificate chain and key; with client_ca, clients must
 * present a certificate signed by it, for clientAuth (extended key usage),
 * naming a usable identity (see h2_conn_peer()). TLS 1.2+, ALPN h2. NULL
 * and a message in err on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert, const char *key,
			    const char *client_ca, char *err, size_t errlen);
/*
 * The server context from PEM text in memory (the reload path: the root
 * monitor reads the files, the worker builds the context, which the
 * listeners then take for new connections, h2_listener_set_tls()): a
 * certificate chain (leaf first), its key, the client CAs and, optional
 * (crl NULL), CRLs as tls_ctx_load_crl_pem() loads them. Client
 * certificates are then required as with tls_server_ctx_new() and a
 * client_ca. NULL and a message in err on failure.
 */
struct tls_server_pem {
	const char *cert, *key, *client_ca, *crl;
	size_t cert_len, key_len, client_ca_len, crl_len;
};
SSL_CTX *tls_server_ctx_from_pem(const struct tls_server_pem *pem, char *err,
				 size_t errlen);
/*
 * The certificate a server context presents, for a log line and for
 * metrics: "serial HEX, subject ..., not after ..." in buf, and its
 * notAfter as a Unix time in *not_after (may be NULL). 0, or -ENOENT when
 * the context holds no certificate. -EKEYEXPIRED when it has expired
 * (buf is filled all the same): a reload refuses such a certificate.
 */
int tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t len, long long *not_after);
/*
 * Load the CRLs of a PEM file (or text) into ctx's verify store and check
 * the peer's certificate against them from then on (X509_V_FLAG_CRL_CHECK):
 * a certificate revoked by its issuer is refused, and so is one whose
 * issuer has no CRL there, so give the CRL of every CA that issues client
 * certificates. 0, or -1 with a message in err.
 */
int tls_ctx_load_crl_file(SSL_CTX *ctx, const char *path, char *err,
			  size_t errlen);
int tls_ctx_load_crl_pem(SSL_CTX *ctx, const char *pem, size_t len, char *err,
			 size_t errlen);
/* Client context: verifies the server against ca (and that its certificate
 * is for serverAuth); presents cert/key when given. */
SSL_CTX *tls_client_ctx_new(const char *ca, const char *cert, const char *key,
			    char *err, size_t errlen);
void tls_ctx_free(SSL_CTX *ctx);

/* ---- connections (conn.c) ------------------------------------------------ */

/*
 * Connect to "unix:/path" or "host:port" ("[v6]:port"), over TLS when ctx is
 * not NULL, verifying the certificate against verify_name (DNS name or IP;
 * NULL: the host of address). verify_name "" checks the certificate's
 * chain and serverAuth usage only, for a caller that learns the name to
 * expect from the peer: it must check it with h2_conn_peer_has_name()
 * before it trusts anything the connection says or sends anything else.
 * Never blocks: on_ready or on_close comes later from the loop. Returns NULL
 * only for a malformed address (and fills err).
 */
struct h2_conn *h2_connect(struct event_base *base, struct evdns_base *dns,
			   const char *address, SSL_CTX *ctx,
			   const char *verify_name,
			   const struct h2_conn_cbs *cbs, void *arg, char *err,
			   size_t errlen);

/* Listen on "unix:/path" (an existing socket file is replaced) or
 * "host:port"; TLS when ctx is not NULL. Accepted connections call
 * cbs->on_request for their streams and cbs->on_close at their end. */
struct h2_listener *h2_listen(struct event_base *base, const char *address,
			      SSL_CTX *ctx, const struct h2_conn_cbs *cbs,
			      void *arg, char *err, size_t errlen);
/* The same with a listening socket fd that another process made (an
 * upgrade hands it over), checked to be listening and of the address's
 * family; taken on success (closed by h2_listener_free(), which also
 * removes a Unix socket's file), still the caller's on failure. fd -1: as
 * h2_listen(). */
struct h2_listener *h2_listen_fd(struct event_base *base, const char *address,
				 int fd, SSL_CTX *ctx,
				 const struct h2_conn_cbs *cbs, void *arg,
				 char *err, size_t errlen);
/* The listening socket (still the listener's). */
int h2_listener_fd(const struct h2_listener *l);
void h2_listener_free(struct h2_listener *l);
/*
 * Caps on what the connections of a listener hold; 0: no cap (the
 * default). handshakes: accepted connections whose TLS handshake is not
 * done, in all (more are closed at accept). conns_per_peer: established
 * connections of one peer identity (h2_conn_peer(); one more is closed
 * after its handshake). streams_per_peer: request streams open on every
 * connection of one peer (one more is reset with REFUSED_STREAM before
 * on_request). Each refusal is logged (at most a line every 10 s per cause
 * and peer, with the count of the others). For connections made after the
 * call.
 */
struct h2_limits {
	unsigned handshakes;
	unsigned conns_per_peer;
	unsigned streams_per_peer;
};
void h2_listener_set_limits(struct h2_listener *l, const struct h2_limits *lim);
/* New connections of a TLS listener use ctx from now on (not owned, as at
 * h2_listen()); connections already made keep theirs (each holds a
 * reference), so the old context may be freed right after. */
void h2_listener_set_tls(struct h2_listener *l, SSL_CTX *ctx);

/* Serve HTTP/2 (cleartext) on a connected stream socket the caller made,
 * e.g. one end of a socketpair: for in-process peers, tests and fuzzing.
 * Takes ownership of fd (made non-blocking). NULL when out of memory.
 * Free with h2_conn_free(). */
struct h2_conn *h2_conn_serve(struct event_base *base, int fd,
			      const struct h2_conn_cbs *cbs, void *arg);

/* Ask the connection to end after flushing what is queued (GOAWAY);
 * on_close follows from the loop. Safe inside callbacks. */
void h2_conn_close(struct h2_conn *c);
/* Drop a connection now (not inside its own callbacks). Streams get
 * on_close, the connection's on_close is not called. NULL is a no-op. */
void h2_conn_free(struct h2_conn *c);
/* Who the peer is, typed so that one kind of name never passes for
 * another: "uid:N" on a Unix socket; over TLS the verified certificate's
 * first URI SAN as "uri:...", else its first DNS SAN as "dns:...", else,
 * when it has no subjectAltName at all, its CN as "cn:...". A server never
 * serves a client whose certificate names none of these usably (the
 * handshake fails). "" when unknown. Owned by the connection. */
const char *h2_conn_peer(const struct h2_conn *c);
/* The streams open on the connection (counted: for rare questions such
 * as "does anything but the watch use it?"). */
size_t h2_conn_streams(const struct h2_conn *c);
/* Does the peer's verified certificate carry name: a DNS name, matched
 * exactly (a wildcard does not match), or an IP address? 0, -EACCES, or
 * -ENOTCONN before the TLS handshake (or without TLS). */
int h2_conn_peer_has_name(const struct h2_conn *c, const char *name);
/* The order connections were made (accepted or connected) in this
 * process: a later one has a larger serial. */
uint64_t h2_conn_serial(const struct h2_conn *c);

/* What the listeners of this process saw, for metrics: connections
 * accepted and still open, TLS handshakes completed (a client with a
 * usable identity) and failed. */
struct h2_server_stats {
	uint64_t accepted, open, handshakes, handshake_failures;
};
void h2_server_stats_get(struct h2_server_stats *out);

/* ---- streams (h2.c) ------------------------------------------------------ */

/* Client: open a request stream. extra headers follow :method/:path. With
 * end, no body follows; otherwise write it and h2_stream_end(). NULL with
 * errno set when the connection cannot take it. */
struct h2_stream *h2_conn_request(struct h2_conn *c, const char *method,
				  const char *path,
				  const struct h2_header *extra, size_t nextra,
				  bool end, const struct h2_stream_cbs *cbs,
				  void *arg);

/* Server: request metadata (valid for the stream's life). */
const char *h2_stream_method(const struct h2_stream *st);
const char *h2_stream_path(const struct h2_stream *st);
/* A request header by lower-case name, NULL if absent. */
const char *h2_stream_header(const struct h2_stream *st, const char *name);
struct h2_conn *h2_stream_conn(const struct h2_stream *st);

void h2_stream_set_cbs(struct h2_stream *st, const struct h2_stream_cbs *cbs,
		       void *arg);

/* Server: send the response headers; with end, no body follows. */
int h2_stream_respond(struct h2_stream *st, int status,
		      const struct h2_header *extra, size_t nextra, bool end);

/* Queue body bytes (copied). Callers keep to h2_stream_write_space();
 * beyond a hard cap of 4 * H2_STREAM_HIWAT it fails with -ENOBUFS.
 * -EPIPE once the stream ended or closed. */
int h2_stream_write(struct h2_stream *st, const void *buf, size_t len);
/* Read up to max bytes from fd (a pipe, a pty) straight into the
 * outgoing buffer: no copy through the caller. Bytes read, 0 at EOF,
 * -errno (-EAGAIN: nothing there), -EPIPE after the end. */
ssize_t h2_stream_read_fd(struct h2_stream *st, int fd, size_t max);
/* 0 also means on_writable is owed: it comes once there is room. */
size_t h2_stream_write_space(struct h2_stream *st);
/* Bytes queued and not yet handed to the socket. */
size_t h2_stream_buffered(const struct h2_stream *st);
/* Call on_writable once the outgoing buffer is empty (soon, if it is
 * now): for a writer that sends only its newest state. */
void h2_stream_notify_drained(struct h2_stream *st);
/* End our side after what is queued (END_STREAM). */
int h2_stream_end(struct h2_stream *st);
/* Reset the stream (RST_STREAM with this HTTP/2 error code); on_close
 * follows from the loop. */
void h2_stream_reset(struct h2_stream *st, uint32_t error_code);
/* The application is done with n received body bytes: return the window. */
void h2_stream_consume(struct h2_stream *st, size_t n);
/* A reader drains this stream: let the peer have H2_BULK_WINDOW in flight
 * instead of the initial 256 KiB, so a bulk stream stalls far less for
 * WINDOW_UPDATEs. Once per stream, and for at most 8 streams of a
 * connection at a time (later calls do nothing until one closes): what
 * streams hold beyond their readers is memory, which small windows keep
 * small. */
void h2_stream_grow_window(struct h2_stream *st);
#define H2_BULK_WINDOW (4 * 1024 * 1024)

/*
 * Resuming after a lost connection. A stream told to keep what it sends
 * holds each byte it sent until it knows the peer has it (the peer
 * returned its window, or answered a PING sent after it), at most
 * H2_BULK_WINDOW plus the initial window. When the stream is lost,
 * h2_stream_take_unacked() (in its on_close) moves what the peer may not
 * have, kept then never sent, to the front of dst (which holds what the
 * application took back earlier, all of it newer) and says how many
 * bytes that is: everything from offset "bytes written - n" on. A kept stream
 * that ends cleanly gets its on_close (error 0) only once its last bytes
 * are known to have arrived; H2_LOST if the connection ends first.
 * One copy per byte sent; call keep_sent before writing.
 */
struct evbuffer;
void h2_stream_keep_sent(struct h2_stream *st);
size_t h2_stream_take_unacked(struct h2_stream *st, struct evbuffer *dst);
/* How many bytes h2_stream_take_unacked() would take now. */
size_t h2_stream_unacked(const struct h2_stream *st);

/* HTTP/2 error codes used by callers. */
#define H2_NO_ERROR 0x0
#define H2_INTERNAL_ERROR 0x2
#define H2_PROTOCOL_ERROR 0x1
#define H2_CANCEL 0x8
#define H2_REFUSED_STREAM 0x7
#define H2_ENHANCE_YOUR_CALM 0xb
/* on_close only, never on the wire: the connection ended under the
 * stream (lost, or closed by either side), not a reset of the stream. */
#define H2_LOST 0x100

#endif
