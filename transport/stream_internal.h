/*
 * A stream as h2.c (frames, flow control, callbacks) and kept.c (the bytes
 * it keeps for a resume) share it. Private to transport/: the rest of the
 * tree sees struct h2_stream only through include/execfs/h2.h.
 */
#ifndef EXECFS_TRANSPORT_STREAM_INTERNAL_H
#define EXECFS_TRANSPORT_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_internal.h"
#include "execfs/list.h"

struct evbuffer;

struct h2_stream_header {
	char *name; /* owned */
	char *value; /* owned */
};

struct h2_stream {
	struct h2_conn *c;
	int32_t id;
	const struct h2_stream_cbs *cbs;
	void *arg;
	struct evbuffer *out; /* owned; body bytes not yet framed */
	bool out_end; /* h2_stream_end() was called */
	bool out_attached; /* a data provider feeds from out */
	bool out_deferred; /* the provider said DEFERRED */
	bool want_writable; /* went above LOWAT: on_writable owed */
	bool want_drained; /* h2_stream_notify_drained(): owed when empty */
	bool closed; /* nghttp2 closed it; on_close ran */
	bool request_done; /* server: on_request delivered */
	bool counted; /* in its peer's streams (limits.c) */
	bool over_limit; /* its peer was over its cap: refused */
	size_t unconsumed; /* received bytes not yet consumed */
	bool grown; /* h2_stream_grow_window() ran */
	/* h2_stream_keep_sent(): owned; bytes sent that the peer may not
	 * have yet (see kept_trim), oldest first. NULL when not kept. */
	struct evbuffer *kept;
	int32_t grant_max; /* largest WINDOW_UPDATE the peer sent us */
	uint64_t kept_last; /* conn's kept_seq after our last DATA */
	/* Closed by nghttp2 (id -1 since) with kept bytes: on_close waits
	 * for the PING that proves they arrived (or the connection's end,
	 * which makes it H2_LOST), so an end in flight is not lost. */
	bool lingering;
	int status; /* client: response :status */
	char *method, *path; /* server: owned */
	struct h2_stream_header hdrs[H2_MAX_HEADERS];
	size_t nhdrs;
	size_t header_bytes;
	/* In the connection's lists: every stream is on streams, one owed
	 * on_writable also on writable. Up to H2_MAX_CONCURRENT of them:
	 * unlinking must not walk the list. */
	struct list link;
	struct list wlink; /* self-linked while not on writable */
};

/* h2.c: the stream is gone: tell the application (on_close), unlink it
 * and free it. */
void h2_stream_closed(struct h2_stream *st, uint32_t error_code);

/* kept.c */
/* The next len bytes of st->out are about to be sent: keep a copy. 0 or
 * -ENOMEM, -EIO (the connection must end). */
int kept_add(struct h2_stream *st, size_t len);
/* The peer returned increment bytes of window on st: drop what it has. */
void kept_window_update(struct h2_stream *st, int32_t increment);
/* From the flush: send the PING whose answer proves kept bytes arrived,
 * when one is owed and none is out. True when one was queued. */
bool kept_ping(struct h2_conn *c);
/* A PING's answer arrived: was it kept_ping()'s? Then what was sent
 * before it arrived: streams drop those bytes, and lingering streams
 * close (their on_close runs here). */
bool kept_ping_is_ours(struct h2_conn *c, const uint8_t opaque[8]);
void kept_ping_answered(struct h2_conn *c);

#endif
