/*
 * The bytes a stream keeps for a resume (h2_stream_keep_sent): a copy of
 * every DATA byte it sends, dropped once the peer is known to have it, and
 * handed back with the bytes never sent when the stream is lost
 * (h2_stream_take_unacked). What "known to have it" means is below; how a
 * resume uses the bytes is include/execfs/resume.h's.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <string.h>

#include "stream_internal.h"

/*
 * Kept bytes (h2_stream_keep_sent). The peer returns window only for bytes
 * its application consumed, so of what was sent, all but the last
 * "capacity - remote window" bytes are known to have arrived, where the
 * capacity is the window the peer gives the stream: its initial window,
 * or more once it grew the stream (a WINDOW_UPDATE larger than the
 * initial window: an overestimate of it only keeps more). Never more than
 * H2_KEPT_MAX: a peer granting more than that may find its oldest bytes
 * gone, which the application sees in what h2_stream_take_unacked()
 * returns. And a PING answered proves that every frame sent before it was
 * received and handed to the peer's application (frames are processed in
 * order): a stream that sent nothing since then keeps nothing (kept_ping),
 * so one whose reader stalled does not hold its window's worth for good.
 */
static void kept_trim(struct h2_stream *st)
{
	nghttp2_session *ng = st->c->ng;
	int64_t init = (int64_t)nghttp2_session_get_remote_settings(
		ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
	int64_t cap = init + (st->grant_max > init ? st->grant_max : 0);
	int64_t w = nghttp2_session_get_stream_remote_window_size(ng, st->id);
	int64_t keep = w < 0 ? cap : cap - w;
	size_t have = evbuffer_get_length(st->kept);

	if (keep < 0)
		keep = 0;
	if (keep > H2_KEPT_MAX)
		keep = H2_KEPT_MAX;
	if (have > (size_t)keep)
		evbuffer_drain(st->kept, have - (size_t)keep);
}

int kept_add(struct h2_stream *st, size_t len)
{
	struct evbuffer_iovec v[8];
	struct evbuffer_ptr at;
	size_t left = len;
	int n, i;

	evbuffer_ptr_set(st->out, &at, 0, EVBUFFER_PTR_SET);
	while (left > 0) {
		n = evbuffer_peek(st->out, (ev_ssize_t)left, &at, v, 8);
		if (n <= 0)
			return -EIO;
		for (i = 0; i < n && i < 8 && left > 0; i++) {
			size_t k = v[i].iov_len < left ? v[i].iov_len : left;

			if (evbuffer_add(st->kept, v[i].iov_base, k) < 0)
				return -ENOMEM;
			left -= k;
			evbuffer_ptr_set(st->out, &at, k, EVBUFFER_PTR_ADD);
		}
	}
	if (evbuffer_get_length(st->kept) > H2_KEPT_MAX)
		evbuffer_drain(st->kept,
			       evbuffer_get_length(st->kept) - H2_KEPT_MAX);
	st->c->kept_seq += len;
	st->kept_last = st->c->kept_seq;
	if (evbuffer_get_length(st->kept) >= H2_KEPT_PING_AT)
		st->c->kept_ping_want = true;
	return 0;
}

/* The PING tag of kept_ping(), told from heartbeats' (all zeros). */
static const uint8_t kept_ping_tag[8] = { 'e', 'x', 'k', 'e', 'p', 't' };

/* One PING of ours at a time, so at most one a round trip. */
bool kept_ping(struct h2_conn *c)
{
	if (!c->kept_ping_want || c->kept_ping_out)
		return false;
	if (nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, kept_ping_tag))
		return false;
	c->kept_ping_want = false;
	c->kept_ping_out = true;
	c->kept_ping_mark = c->kept_seq;
	return true;
}

bool kept_ping_is_ours(struct h2_conn *c, const uint8_t opaque[8])
{
	return c->kept_ping_out &&
	       !memcmp(opaque, kept_ping_tag, sizeof(kept_ping_tag));
}

void kept_ping_answered(struct h2_conn *c)
{
	struct list *pos, *tmp;

	c->kept_ping_out = false;
	list_for_each_safe(pos, tmp, &c->streams) {
		struct h2_stream *st = list_entry(pos, struct h2_stream, link);

		if (!st->kept)
			continue;
		if (st->kept_last <= c->kept_ping_mark) {
			evbuffer_drain(st->kept, evbuffer_get_length(st->kept));
			if (st->lingering)
				h2_stream_closed(st, 0); /* frees st */
		} else if (st->lingering ||
			   evbuffer_get_length(st->kept) >= H2_KEPT_PING_AT) {
			c->kept_ping_want = true;
		}
	}
}

void kept_window_update(struct h2_stream *st, int32_t increment)
{
	if (!st->kept)
		return;
	if (increment > st->grant_max)
		st->grant_max = increment;
	kept_trim(st);
}

void h2_stream_keep_sent(struct h2_stream *st)
{
	if (!st->kept)
		st->kept = evbuffer_new(); /* NULL: nothing kept, as before */
}

size_t h2_stream_unacked(const struct h2_stream *st)
{
	return (st->kept ? evbuffer_get_length(st->kept) : 0) +
	       evbuffer_get_length(st->out);
}

size_t h2_stream_take_unacked(struct h2_stream *st, struct evbuffer *dst)
{
	size_t n = h2_stream_unacked(st);

	/* In front of what dst holds: kept (oldest), then never sent. */
	evbuffer_prepend_buffer(dst, st->out);
	if (st->kept)
		evbuffer_prepend_buffer(dst, st->kept);
	return n;
}
