/*
 * What h2.c (the nghttp2 session: streams, frames, flow control) and conn.c
 * (sockets, TLS, the event loop) share about a connection. Private to
 * transport/.
 */
#ifndef EXECFS_TRANSPORT_CONN_INTERNAL_H
#define EXECFS_TRANSPORT_CONN_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <time.h>

#include "execfs/h2.h"
#include "execfs/list.h"
#include "execfs/lograte.h"

struct event;
struct evdns_getaddrinfo_request;
struct wire;

/* Frames we accept up to this size (we announce it); what we send is
 * bounded by the peer's setting and H2_MAX_DATA_FRAME below. */
#define H2_MAX_FRAME (1024 * 1024)
/* HTTP/2 settings we announce. A stream starts with a 256 KiB window and
 * gets H2_BULK_WINDOW once its application says a reader drains it
 * (h2_stream_grow_window). The window is the most a stream holds beyond
 * its reader. The connection's window is handed back as soon as bytes
 * arrive, so streams nobody reads never stall the others (with it held
 * until consumed, 256 unread streams at 256 KiB stopped every stream of
 * the connection); what bounds memory is each stream's window. */
#define H2_INITIAL_WINDOW (256 * 1024)
/* At most this many streams of a connection hold H2_BULK_WINDOW at once,
 * so unread bulk streams hold at most 32 MiB of a connection. */
#define H2_MAX_GROWN (H2_CONN_WINDOW / 2 / H2_BULK_WINDOW)
#define H2_CONN_WINDOW (64 * 1024 * 1024)
/* The most a stream keeps of what it sent (h2_stream_keep_sent). */
#define H2_KEPT_MAX (H2_BULK_WINDOW + H2_INITIAL_WINDOW)
/* A stream keeping this much asks for a PING whose answer proves the peer
 * received it (one in flight at a time). */
#define H2_KEPT_PING_AT (64 * 1024)
/* The most one DATA frame we send carries: a keystroke queued behind a
 * bulk stream waits for at most one such frame. */
#define H2_MAX_DATA_FRAME (256 * 1024)
/* A session holds up to five streams: 1,000+ sessions per connection. */
#define H2_MAX_CONCURRENT 8192
#define H2_MAX_HEADER_BYTES (64 * 1024)
#define H2_MAX_HEADERS 32
#define H2_MAX_OUTBOUND_ACK 1000
#define H2_MAX_SETTINGS 32
#define H2_RESET_BURST 1000
#define H2_RESET_RATE 33
#define H2_MAX_CONTINUATIONS 8
/* Seconds between heartbeat checks unless h2_set_heartbeat() says. */
#define H2_HEARTBEAT_DEFAULT 5
/* With the heartbeat off, an accepted TLS connection must still finish
 * its handshake within this many seconds (conn_handshake_seconds). */
#define H2_HANDSHAKE_SECONDS 15

/* limits.c: what one listener's connections may hold (h2_limits). */
struct peer_load;
struct listener_limits {
	struct h2_limits lim;
	unsigned pending; /* accepted connections still in their handshake */
	struct peer_load *loads; /* owned; one per peer with a connection */
	struct log_rate log; /* of handshake refusals */
};

struct h2_conn {
	struct event_base *base;
	struct wire *wire; /* owned; NULL until the connect started */
	SSL *pending_ssl; /* owned; client TLS until the connect starts */
	struct evdns_getaddrinfo_request *dns_req; /* while resolving */
	nghttp2_session *ng; /* owned */
	bool server;
	uint64_t serial; /* h2_conn_serial() */
	bool ready; /* transport established (TLS done) */
	bool dying; /* teardown scheduled */
	bool silent; /* h2_conn_free: no on_close callback */
	const struct h2_conn_cbs *cbs;
	void *arg;
	struct event *flush_ev; /* owned; deferred output flush */
	struct event *die_ev; /* owned; deferred teardown */
	char reason[256]; /* why it is dying */
	char peer[256]; /* peer identity, "" if unknown */
	char *verify_name; /* owned; client TLS name to check */
	struct list streams; /* every live stream (h2_stream.link) */
	struct list writable; /* streams owed on_writable (.wlink) */
	struct h2_listener *listener; /* server conns: who accepted us */
	struct listener_limits *limits; /* the listener's, while linked */
	struct peer_load *load; /* counted in limits, once established */
	bool handshaking; /* counted in limits->pending */
	/* owned; accepted TLS: the handshake's deadline, whatever the
	 * heartbeat says (bytes trickling in do not extend it); NULL once
	 * established */
	struct event *hs_ev;
	struct h2_conn *lnext, *lprev; /* listener's list */
	struct event *beat_ev; /* owned; heartbeat.c, NULL when off */
	unsigned beat_interval; /* seconds, as when the connection began */
	unsigned beat_silent; /* heartbeat intervals without a byte in */
	bool beat_heard; /* bytes came in since the last interval */
	unsigned grown; /* live streams with H2_BULK_WINDOW */
	/* Kept bytes (h2.c): DATA bytes of keeping streams handed to the
	 * wire, in all; the count when the PING in flight was sent. */
	uint64_t kept_seq;
	uint64_t kept_ping_mark;
	bool kept_ping_out; /* a PING for kept bytes is unanswered */
	bool kept_ping_want; /* one is owed */
};

/* heartbeat.c: start checking c's peer (from the connection's creation:
 * connect and handshake included). 0 or -ENOMEM. Received bytes set
 * c->beat_heard. */
int conn_heartbeat_start(struct h2_conn *c);
/* heartbeat.c: the seconds an accepted TLS connection has to finish its
 * handshake: three heartbeat intervals, as silence would give it, but
 * not extended by bytes trickling in; H2_HANDSHAKE_SECONDS with the
 * heartbeat off. */
unsigned conn_handshake_seconds(void);

/* h2.c */
int h2_conn_session_init(struct h2_conn *c);
/* Feed received bytes; 0 or -EPROTO (the connection must end). */
int h2_conn_recv(struct h2_conn *c, const uint8_t *data, size_t len);
/* Move frames into the socket buffer and run owed on_writable callbacks. */
void h2_conn_flush(struct h2_conn *c);
/* Fail every stream (on_close with error_code) and free them. */
void h2_conn_drop_streams(struct h2_conn *c, uint32_t error_code);
bool h2_conn_finished(const struct h2_conn *c);

/* limits.c. May a new connection begin (a handshake)? false: close it
 * (logged). */
bool limits_accept(struct listener_limits *ll, struct h2_conn *c);
void limits_handshake_done(struct listener_limits *ll, struct h2_conn *c);
/* c is established and knows its peer: 0, or -EMFILE when the peer is at
 * its cap of connections (logged; c must die), -ENOMEM. */
int limits_conn_up(struct listener_limits *ll, struct h2_conn *c);
void limits_conn_gone(struct listener_limits *ll, struct h2_conn *c);
/* A request stream of c begins: counted; false when its peer is over its
 * cap (logged): refuse it. */
bool limits_stream_begin(struct h2_conn *c, struct h2_stream *st);
void limits_stream_end(struct h2_conn *c, struct h2_stream *st);
void limits_release(struct listener_limits *ll);

/* conn.c */
void h2_conn_schedule_flush(struct h2_conn *c);
void h2_conn_die(struct h2_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
