/*
 * HTTP/2 streams on top of an nghttp2 session. Bytes come in through
 * h2_conn_recv(); h2_conn_flush() moves frames into the connection's wire
 * (wire.c) and has it write them.
 *
 * Flow control is end to end. Incoming: automatic WINDOW_UPDATE is off, so
 * the peer may only send on a stream what the application returned with
 * h2_stream_consume(); the connection's window is returned on arrival, so
 * one stream's unread bytes never hold back another's. Outgoing: each
 * stream's body waits in an evbuffer that nghttp2 pulls from as the peer
 * grants window; the application keeps that buffer under H2_STREAM_HIWAT
 * and hears on_writable when it drains.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufread.h"
#include "conn_internal.h"
#include "execfs/log.h"
#include "stream_internal.h"
#include "wire.h"

static struct h2_stream *stream_new(struct h2_conn *c)
{
	struct h2_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->out = evbuffer_new();
	if (!st->out) {
		free(st);
		return NULL;
	}
	st->c = c;
	list_init(&st->wlink);
	list_add_tail(&c->streams, &st->link);
	return st;
}

static void stream_unlink(struct h2_stream *st)
{
	list_del(&st->link);
	list_del(&st->wlink); /* harmless when not on it */
}

static void stream_free(struct h2_stream *st)
{
	size_t i;

	evbuffer_free(st->out);
	if (st->kept)
		evbuffer_free(st->kept);
	free(st->method);
	free(st->path);
	for (i = 0; i < st->nhdrs; i++) {
		free(st->hdrs[i].name);
		free(st->hdrs[i].value);
	}
	free(st);
}

void h2_stream_closed(struct h2_stream *st, uint32_t error_code)
{
	struct h2_conn *c = st->c;

	stream_unlink(st);
	limits_stream_end(c, st);
	st->closed = true;
	if (st->grown)
		c->grown--;
	if (c->ng && st->id > 0)
		nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
	if (st->cbs && st->cbs->on_close)
		st->cbs->on_close(st, error_code, st->arg);
	stream_free(st);
}

void h2_conn_drop_streams(struct h2_conn *c, uint32_t error_code)
{
	struct list *first;

	while ((first = list_first(&c->streams)))
		h2_stream_closed(list_entry(first, struct h2_stream, link),
				 error_code);
}

/* ---- outgoing bodies ---------------------------------------------------- */

/* Queue an on_writable for st if it is owed one and its buffer drained. */
static void stream_check_writable(struct h2_stream *st)
{
	struct h2_conn *c = st->c;

	if (st->want_writable && list_empty(&st->wlink) &&
	    evbuffer_get_length(st->out) < H2_STREAM_LOWAT &&
	    h2_stream_write_space(st) > 0)
		list_add_tail(&c->writable, &st->wlink);
}

/* The peer returned window on st (already counted by nghttp2): the
 * application may write more (see h2_stream_write_space). */
static void stream_window_update(struct h2_stream *st)
{
	if (st->want_writable) {
		stream_check_writable(st);
		h2_conn_schedule_flush(st->c);
	}
}

/*
 * How much of st's buffer the next DATA frame carries. The bytes are not
 * copied here (NO_COPY): send_data_cb moves them from the stream's buffer
 * to the wire when nghttp2 sends the frame.
 */
static ssize_t data_read_cb(nghttp2_session *ng, int32_t id, uint8_t *buf,
			    size_t length, uint32_t *flags,
			    nghttp2_data_source *src, void *user)
{
	struct h2_stream *st = src->ptr;
	size_t have = evbuffer_get_length(st->out);
	size_t n = have < length ? have : length;

	(void)ng;
	(void)id;
	(void)buf;
	(void)user;
	if (n == have && st->out_end)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (n == 0 && !(*flags & NGHTTP2_DATA_FLAG_EOF)) {
		st->out_deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n > 0)
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	return (ssize_t)n;
}

static int send_data_cb(nghttp2_session *ng, nghttp2_frame *frame,
			const uint8_t *framehd, size_t length,
			nghttp2_data_source *src, void *user)
{
	struct h2_stream *st = src->ptr;
	struct h2_conn *c = user;

	(void)ng;
	if (frame->data.padlen > 0) /* we never ask for padding */
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (st->kept && kept_add(st, length) < 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (wire_write_frame(c->wire, framehd, 9, st->out, length) < 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (st->want_drained && evbuffer_get_length(st->out) == 0) {
		st->want_drained = false;
		st->want_writable = true;
	}
	stream_check_writable(st);
	return 0;
}

static void stream_kick(struct h2_stream *st)
{
	if (st->out_attached && st->out_deferred && !st->closed && st->id > 0) {
		st->out_deferred = false;
		nghttp2_session_resume_data(st->c->ng, st->id);
	}
	h2_conn_schedule_flush(st->c);
}

int h2_stream_write(struct h2_stream *st, const void *buf, size_t len)
{
	size_t have = evbuffer_get_length(st->out);

	if (st->closed || st->out_end)
		return -EPIPE;
	if (have + len > 4 * (size_t)H2_STREAM_HIWAT)
		return -ENOBUFS;
	if (evbuffer_add(st->out, buf, len) < 0)
		return -ENOMEM;
	if (have + len >= H2_STREAM_LOWAT || !h2_stream_write_space(st))
		st->want_writable = true;
	stream_kick(st);
	return 0;
}

ssize_t h2_stream_read_fd(struct h2_stream *st, int fd, size_t max)
{
	ssize_t n;

	if (st->closed || st->out_end)
		return -EPIPE;
	if (max == 0)
		return -ENOBUFS;
	n = bufread_fd(st->out, fd, max);
	if (n <= 0)
		return n;
	if (evbuffer_get_length(st->out) >= H2_STREAM_LOWAT ||
	    !h2_stream_write_space(st))
		st->want_writable = true;
	stream_kick(st);
	return n;
}

size_t h2_stream_write_space(struct h2_stream *st)
{
	size_t have = evbuffer_get_length(st->out), cap = H2_STREAM_HIWAT;
	int32_t w;

	/* A stream nghttp2 has not opened yet (its HEADERS are queued) has
	 * its whole initial window ahead. */
	if (!st->closed && st->id > 0 &&
	    nghttp2_session_find_stream(st->c->ng, st->id)) {
		w = nghttp2_session_get_stream_remote_window_size(st->c->ng,
								  st->id);
		if (w < 0)
			w = 0;
		if ((size_t)w + H2_STREAM_STALLED < cap)
			cap = (size_t)w + H2_STREAM_STALLED;
	}
	if (have >= cap) {
		/* Full without a write having filled it (the stream opened
		 * with a smaller window, or the peer lowered it): whoever
		 * asked is owed the news of room all the same. */
		st->want_writable = true;
		return 0;
	}
	return cap - have;
}

size_t h2_stream_buffered(const struct h2_stream *st)
{
	return evbuffer_get_length(st->out);
}

int h2_stream_end(struct h2_stream *st)
{
	if (st->closed)
		return -EPIPE;
	st->out_end = true;
	stream_kick(st);
	return 0;
}

void h2_stream_notify_drained(struct h2_stream *st)
{
	if (st->closed)
		return;
	if (evbuffer_get_length(st->out) > 0) {
		st->want_drained = true;
		return;
	}
	st->want_writable = true;
	stream_check_writable(st);
	h2_conn_schedule_flush(st->c);
}

void h2_stream_reset(struct h2_stream *st, uint32_t error_code)
{
	if (st->closed || st->id <= 0)
		return;
	nghttp2_submit_rst_stream(st->c->ng, NGHTTP2_FLAG_NONE, st->id,
				  error_code);
	h2_conn_schedule_flush(st->c);
}

void h2_stream_consume(struct h2_stream *st, size_t n)
{
	if (st->closed || st->id <= 0)
		return;
	if (n > st->unconsumed)
		n = st->unconsumed;
	if (!n)
		return;
	st->unconsumed -= n;
	nghttp2_session_consume_stream(st->c->ng, st->id, n);
	h2_conn_schedule_flush(st->c);
}

void h2_stream_grow_window(struct h2_stream *st)
{
	if (st->closed || st->grown || st->id <= 0 ||
	    st->c->grown >= H2_MAX_GROWN)
		return;
	st->grown = true;
	st->c->grown++;
	/* Raises the window without touching the count of received bytes
	 * not yet acknowledged: a WINDOW_UPDATE of the difference. */
	if (nghttp2_session_set_local_window_size(st->c->ng, NGHTTP2_FLAG_NONE,
						  st->id, H2_BULK_WINDOW) == 0)
		h2_conn_schedule_flush(st->c);
}

/* ---- requests and responses --------------------------------------------- */

#define NV(n, v)                                                      \
	{                                                             \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), \
			NGHTTP2_NV_FLAG_NONE                          \
	}

static nghttp2_nv *nv_build(const struct h2_header *base, size_t nbase,
			    const struct h2_header *extra, size_t nextra)
{
	nghttp2_nv *nva = calloc(nbase + nextra + 1, sizeof(*nva));
	size_t i, k = 0;

	if (!nva)
		return NULL;
	for (i = 0; i < nbase + nextra; i++) {
		const struct h2_header *h = i < nbase ? &base[i] :
							&extra[i - nbase];
		nghttp2_nv nv = NV(h->name, h->value);

		nva[k++] = nv;
	}
	return nva;
}

struct h2_stream *h2_conn_request(struct h2_conn *c, const char *method,
				  const char *path,
				  const struct h2_header *extra, size_t nextra,
				  bool end, const struct h2_stream_cbs *cbs,
				  void *arg)
{
	const struct h2_header base[] = {
		{ ":method", method },
		{ ":scheme", c->verify_name ? "https" : "http" },
		{ ":authority", c->verify_name ? c->verify_name : "localhost" },
		{ ":path", path },
	};
	nghttp2_data_provider prd;
	struct h2_stream *st;
	nghttp2_nv *nva;
	int32_t id;

	if (c->dying || c->server) {
		errno = ENOTCONN;
		return NULL;
	}
	st = stream_new(c);
	nva = nv_build(base, 4, extra, nextra);
	if (!st || !nva) {
		if (st) {
			stream_unlink(st);
			stream_free(st);
		}
		free(nva);
		errno = ENOMEM;
		return NULL;
	}
	st->cbs = cbs;
	st->arg = arg;
	prd.source.ptr = st;
	prd.read_callback = data_read_cb;
	st->out_attached = !end;
	id = nghttp2_submit_request(c->ng, NULL, nva, 4 + nextra,
				    end ? NULL : &prd, st);
	free(nva);
	if (id < 0) {
		log_warn("submit request %s: %s", path, nghttp2_strerror(id));
		stream_unlink(st);
		stream_free(st);
		errno = id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? EAGAIN :
								    ENOTCONN;
		return NULL;
	}
	st->id = id;
	h2_conn_schedule_flush(c);
	return st;
}

int h2_stream_respond(struct h2_stream *st, int status,
		      const struct h2_header *extra, size_t nextra, bool end)
{
	char code[8];
	const struct h2_header base[] = { { ":status", code } };
	nghttp2_data_provider prd;
	nghttp2_nv *nva;
	int rv;

	if (st->closed)
		return -EPIPE;
	snprintf(code, sizeof(code), "%d", status);
	nva = nv_build(base, 1, extra, nextra);
	if (!nva)
		return -ENOMEM;
	if (end)
		st->out_end = true;
	prd.source.ptr = st;
	prd.read_callback = data_read_cb;
	st->out_attached = !end;
	rv = nghttp2_submit_response(st->c->ng, st->id, nva, 1 + nextra,
				     end ? NULL : &prd);
	free(nva);
	if (rv < 0) {
		log_warn("stream %d: %s", st->id, nghttp2_strerror(rv));
		return -EPROTO;
	}
	h2_conn_schedule_flush(st->c);
	return 0;
}

const char *h2_stream_method(const struct h2_stream *st)
{
	return st->method ? st->method : "";
}

const char *h2_stream_path(const struct h2_stream *st)
{
	return st->path ? st->path : "";
}

const char *h2_stream_header(const struct h2_stream *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nhdrs; i++)
		if (!strcmp(st->hdrs[i].name, name))
			return st->hdrs[i].value;
	return NULL;
}

struct h2_conn *h2_stream_conn(const struct h2_stream *st)
{
	return st->c;
}

void h2_stream_set_cbs(struct h2_stream *st, const struct h2_stream_cbs *cbs,
		       void *arg)
{
	st->cbs = cbs;
	st->arg = arg;
}

/* ---- nghttp2 callbacks -------------------------------------------------- */

static struct h2_stream *stream_of(struct h2_conn *c, int32_t id)
{
	return nghttp2_session_get_stream_user_data(c->ng, id);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame,
			    void *user)
{
	struct h2_conn *c = user;
	struct h2_stream *st;

	if (!c->server || frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = stream_new(c);
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->over_limit = !limits_stream_begin(c, st);
	st->id = frame->hd.stream_id;
	nghttp2_session_set_stream_user_data(ng, st->id, st);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame,
		     const uint8_t *name, size_t namelen, const uint8_t *value,
		     size_t valuelen, uint8_t flags, void *user)
{
	struct h2_conn *c = user;
	struct h2_stream *st = stream_of(c, frame->hd.stream_id);
	char **slot = NULL;

	(void)ng;
	(void)flags;
	if (!st || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	st->header_bytes += namelen + valuelen + 32;
	if (st->header_bytes > H2_MAX_HEADER_BYTES)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets it */
	if (!c->server) {
		if (namelen == 7 && !memcmp(name, ":status", 7))
			st->status = atoi((const char *)value);
		return 0;
	}
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers: not used by this protocol */
	if (namelen == 7 && !memcmp(name, ":method", 7))
		slot = &st->method;
	else if (namelen == 5 && !memcmp(name, ":path", 5))
		slot = &st->path;
	if (slot) {
		free(*slot);
		*slot = strndup((const char *)value, valuelen);
		return *slot ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (name[0] == ':')
		return 0;
	if (st->nhdrs == H2_MAX_HEADERS)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->hdrs[st->nhdrs].name = strndup((const char *)name, namelen);
	st->hdrs[st->nhdrs].value = strndup((const char *)value, valuelen);
	st->nhdrs++;
	if (!st->hdrs[st->nhdrs - 1].name || !st->hdrs[st->nhdrs - 1].value)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame,
			 void *user)
{
	struct h2_conn *c = user;
	struct h2_stream *st;
	struct list *pos;

	(void)ng;
	if (frame->hd.type == NGHTTP2_PING &&
	    (frame->hd.flags & NGHTTP2_FLAG_ACK) &&
	    kept_ping_is_ours(c, frame->ping.opaque_data)) {
		kept_ping_answered(c);
		h2_conn_schedule_flush(c);
		return 0;
	}
	if (frame->hd.type == NGHTTP2_SETTINGS &&
	    !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
		/* A new initial window moves every stream's room. */
		for (pos = c->streams.next; pos != &c->streams; pos = pos->next)
			stream_window_update(
				list_entry(pos, struct h2_stream, link));
		return 0;
	}
	if (frame->hd.type == NGHTTP2_WINDOW_UPDATE &&
	    frame->hd.stream_id > 0) {
		int32_t inc = frame->window_update.window_size_increment;

		st = stream_of(c, frame->hd.stream_id);
		if (!st)
			return 0;
		kept_window_update(st, inc);
		stream_window_update(st);
		return 0;
	}
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	st = stream_of(c, frame->hd.stream_id);
	if (!st)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_HEADERS)) {
		if (c->server && !st->request_done) {
			st->request_done = true;
			if (!st->method || !st->path) {
				h2_stream_reset(st, NGHTTP2_PROTOCOL_ERROR);
				return 0;
			}
			if (st->over_limit) {
				h2_stream_reset(st, NGHTTP2_REFUSED_STREAM);
				return 0;
			}
			if (c->cbs->on_request)
				c->cbs->on_request(c, st, c->arg);
			else
				h2_stream_reset(st, NGHTTP2_REFUSED_STREAM);
		} else if (!c->server &&
			   frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
			if (st->cbs && st->cbs->on_response)
				st->cbs->on_response(st, st->status, st->arg);
		}
	}
	/* The application may have reset (and so closed) nothing yet: closing
	 * happens in on_stream_close, so st is still valid here. */
	if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && st->cbs &&
	    st->cbs->on_end)
		st->cbs->on_end(st, st->arg);
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id,
			 const uint8_t *data, size_t len, void *user)
{
	struct h2_conn *c = user;
	struct h2_stream *st = stream_of(c, id);

	(void)flags;
	if (!st) {
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	/* The connection's share at once; the stream's when consumed. */
	nghttp2_session_consume_connection(ng, len);
	st->unconsumed += len;
	if (st->cbs && st->cbs->on_data)
		st->cbs->on_data(st, data, len, st->arg);
	else
		h2_stream_consume(st, len);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code,
			   void *user)
{
	struct h2_conn *c = user;
	struct h2_stream *st = stream_of(c, id);

	(void)ng;
	/* H2_LOST is ours to say: a peer's RST_STREAM with that code is
	 * a reset like any other. */
	if (error_code == H2_LOST)
		error_code = H2_INTERNAL_ERROR;
	if (st && error_code == 0 && st->kept &&
	    evbuffer_get_length(st->kept) > 0) {
		/* Ended cleanly on our side of the wire; its last bytes may
		 * still be on their way (see lingering). */
		nghttp2_session_set_stream_user_data(ng, id, NULL);
		st->id = -1;
		st->lingering = true;
		c->kept_ping_want = true;
		return 0;
	}
	if (st)
		h2_stream_closed(st, error_code);
	return 0;
}

/* nghttp2 caps DATA frames at 16 KiB unless told: send as much as the
 * window and the peer's frame size allow. */
static ssize_t data_read_length(nghttp2_session *ng, uint8_t frame_type,
				int32_t id, int32_t session_window,
				int32_t stream_window, uint32_t peer_max_frame,
				void *user)
{
	ssize_t n = stream_window < session_window ? stream_window :
						     session_window;

	(void)frame_type;
	(void)id;
	(void)user;
	(void)ng;
	if (n > (ssize_t)peer_max_frame)
		n = peer_max_frame;
	if (n > H2_MAX_DATA_FRAME)
		n = H2_MAX_DATA_FRAME;
	return n > 0 ? n : 1;
}

int h2_conn_session_init(struct h2_conn *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_CONCURRENT },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_INITIAL_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_BYTES },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, H2_MAX_FRAME },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	int rv;

	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(
		cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
		cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
							       on_stream_close);
	nghttp2_session_callbacks_set_data_source_read_length_callback(
		cb, data_read_length);
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
	/* Window is returned by h2_stream_consume(): end-to-end flow control. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_send_header_block_length(opt,
							H2_MAX_HEADER_BYTES);
	/* Flood limits, set explicitly rather than trusted to defaults: queued
	 * PING/SETTINGS acknowledgements, entries per SETTINGS frame, the
	 * rate of stream resets a peer may cause (CVE-2023-44487), and
	 * CONTINUATION frames per header block (CVE-2024-27316 class). */
	nghttp2_option_set_max_outbound_ack(opt, H2_MAX_OUTBOUND_ACK);
	nghttp2_option_set_max_settings(opt, H2_MAX_SETTINGS);
	nghttp2_option_set_stream_reset_rate_limit(opt, H2_RESET_BURST,
						   H2_RESET_RATE);
	nghttp2_option_set_max_continuations(opt, H2_MAX_CONTINUATIONS);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
	if (c->server)
		rv = nghttp2_session_server_new2(&c->ng, cb, c, opt);
	else
		rv = nghttp2_session_client_new2(&c->ng, cb, c, opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rv)
		return -ENOMEM;
	rv = nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv,
				     sizeof(iv) / sizeof(iv[0]) - c->server);
	if (!rv)
		rv = nghttp2_session_set_local_window_size(
			c->ng, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW);
	return rv ? -EPROTO : 0;
}

int h2_conn_recv(struct h2_conn *c, const uint8_t *data, size_t len)
{
	ssize_t rv = nghttp2_session_mem_recv(c->ng, data, len);

	if (rv < 0) {
		h2_conn_die(c, "HTTP/2: %s", nghttp2_strerror((int)rv));
		return -EPROTO;
	}
	return 0;
}

size_t h2_conn_streams(const struct h2_conn *c)
{
	const struct list *pos;
	size_t n = 0;

	for (pos = c->streams.next; pos != &c->streams; pos = pos->next)
		n++;
	return n;
}

bool h2_conn_finished(const struct h2_conn *c)
{
	return !nghttp2_session_want_read(c->ng) &&
	       !nghttp2_session_want_write(c->ng);
}

void h2_conn_flush(struct h2_conn *c)
{
	bool again;

	if (!c->wire || c->dying || !c->ready)
		return;
	do {
		again = false;
		while (wire_pending(c->wire) < WIRE_HIWAT) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->ng, &data);

			if (n < 0) {
				h2_conn_die(c, "HTTP/2 send: %s",
					    nghttp2_strerror((int)n));
				return;
			}
			if (n == 0)
				break;
			if (wire_write(c->wire, data, (size_t)n) < 0) {
				h2_conn_die(c, "out of memory");
				return;
			}
		}
		/* Stopped at the mark: more frames once the socket took
		 * these. */
		again = wire_pending(c->wire) >= WIRE_HIWAT;
		if (!again && kept_ping(c))
			again = true;
		/* Streams whose buffers drained may now write more. */
		while (!list_empty(&c->writable) && !c->dying) {
			struct h2_stream *st = list_entry(
				c->writable.next, struct h2_stream, wlink);

			list_del(&st->wlink);
			/* Listed while a DATA frame was being sent, before
			 * nghttp2 took its window: still owed, and listed
			 * again when room comes. */
			if (h2_stream_write_space(st) == 0)
				continue;
			st->want_writable = false;
			if (st->cbs && st->cbs->on_writable)
				st->cbs->on_writable(st, st->arg);
			again = true;
		}
		if (c->dying)
			return;
		wire_flush(c->wire);
		if (c->dying)
			return;
	} while (again && wire_pending(c->wire) < WIRE_HIWAT);
	if (h2_conn_finished(c) && wire_pending(c->wire) == 0)
		h2_conn_die(c, "connection closed");
}

void h2_conn_close(struct h2_conn *c)
{
	if (c->dying)
		return;
	nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
	h2_conn_schedule_flush(c);
}
