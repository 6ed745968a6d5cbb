/*
 * Answers on the agent's request streams (reply.h): the one place that
 * turns a JSON document or an errno into response headers and body bytes,
 * and the one that decides what a failed write means (the stream is reset,
 * with a log line). Shared by the router (server.c) and the session
 * streams (session*.c).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "reply.h"

/* The stream cannot take its answer: nothing it carries may be trusted
 * any more, so it goes. */
static int reply_failed(struct h2_stream *st, const char *what, int rc)
{
	log_warn("answer to %s: %s: %s: stream reset",
		 h2_conn_peer(h2_stream_conn(st)), what, strerror(-rc));
	h2_stream_reset(st, H2_INTERNAL_ERROR);
	return rc;
}

int reply_status(struct h2_stream *st, int status, bool end)
{
	int rc = h2_stream_respond(st, status, NULL, 0, end);

	return rc < 0 ? reply_failed(st, "response headers", rc) : 0;
}

/* text and a newline, as one line of the body. */
static int reply_line(struct h2_stream *st, const char *text)
{
	int rc = h2_stream_write(st, text, strlen(text));

	if (rc == 0)
		rc = h2_stream_write(st, "\n", 1);
	return rc < 0 ? reply_failed(st, "body", rc) : 0;
}

int reply_json(struct h2_stream *st, int status, const json_t *doc, bool end)
{
	static const struct h2_header ct[] = {
		{ "content-type", "application/json" },
	};
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc;

	rc = h2_stream_respond(st, status, ct, 1, !text && end);
	if (rc < 0) {
		rc = reply_failed(st, "response headers", rc);
		goto out;
	}
	if (!text)
		goto out;
	rc = reply_line(st, text);
	if (rc == 0 && end)
		h2_stream_end(st);
out:
	free(text);
	return rc;
}

int reply_error(struct h2_stream *st, int err, const char *message)
{
	json_t *doc = json_pack("{s:s, s:s, s:s}", EXECFS_J_STATE, "failed",
				EXECFS_J_ERRNO, errno_name(err),
				EXECFS_J_MESSAGE, message);
	int rc = reply_json(st, errno_http_status(err), doc, true);

	json_decref(doc);
	return rc;
}

int reply_json_line(struct h2_stream *st, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	if (!text)
		return reply_failed(st, "body", -ENOMEM);
	rc = reply_line(st, text);
	free(text);
	return rc;
}

int reply_pump(struct h2_stream *st, struct evbuffer *buf)
{
	size_t k, space;
	int rc;

	while ((k = evbuffer_get_length(buf)) > 0) {
		space = h2_stream_write_space(st);
		if (space == 0)
			return 1;
		if (k > space)
			k = space;
		rc = h2_stream_write(st, evbuffer_pullup(buf, (ssize_t)k), k);
		if (rc < 0)
			return reply_failed(st, "body", rc);
		evbuffer_drain(buf, k);
	}
	return 0;
}

/* ---- documents of any size ---------------------------------------------- */

/* What reply_document() has still to send. Lives until the stream's
 * on_close. */
struct reply_doc {
	struct evbuffer *rest; /* owned */
};

static void doc_send(struct h2_stream *st, struct reply_doc *d)
{
	if (reply_pump(st, d->rest) == 0)
		h2_stream_end(st);
}

static void doc_on_writable(struct h2_stream *st, void *arg)
{
	doc_send(st, arg);
}

static void doc_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct reply_doc *d = arg;

	(void)st;
	(void)code;
	evbuffer_free(d->rest);
	free(d);
}

static const struct h2_stream_cbs doc_cbs = {
	.on_writable = doc_on_writable,
	.on_close = doc_on_close,
};

static void doc_text_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

void reply_document(struct h2_stream *st, const char *content_type, char *text)
{
	const struct h2_header ct[] = { { "content-type", content_type } };
	struct reply_doc *d = calloc(1, sizeof(*d));
	int rc;

	if (!d || !(d->rest = evbuffer_new())) {
		free(d);
		free(text);
		reply_failed(st, "document", -ENOMEM);
		return;
	}
	h2_stream_set_cbs(st, &doc_cbs, d);
	/* No copy of what may be megabytes: the buffer frees text. */
	if (evbuffer_add_reference(d->rest, text, strlen(text), doc_text_free,
				   NULL) < 0) {
		free(text);
		reply_failed(st, "document", -ENOMEM);
		return;
	}
	if (evbuffer_add(d->rest, "\n", 1) < 0) {
		reply_failed(st, "document", -ENOMEM);
		return;
	}
	rc = h2_stream_respond(st, 200, ct, 1, false);
	if (rc < 0) {
		reply_failed(st, "response headers", rc);
		return;
	}
	doc_send(st, d);
}
