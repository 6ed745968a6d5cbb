/*
 * Answers on the agent's request streams: response headers, JSON documents
 * (one line each, as docs/PROTOCOL.md writes them), error documents, and
 * documents of any size sent as the stream takes them.
 *
 * Every call checks what the transport says. A stream that cannot take
 * its answer (out of memory, a response it already had, the stream ended)
 * is reset and the failure logged, so a client never gets a status whose
 * body is cut or missing; the stream's on_close follows from the loop as
 * for any reset. Each returns 0, or the -errno after which it reset the
 * stream (the caller writes nothing more to it).
 */
#ifndef EXECFS_AGENT_REPLY_H
#define EXECFS_AGENT_REPLY_H

#include <jansson.h>
#include <stdbool.h>

struct evbuffer;
struct h2_stream;

/* Response headers without a content type; with end, no body follows. */
int reply_status(struct h2_stream *st, int status, bool end);

/* Response headers (content-type application/json), doc as one line, and
 * with end END_STREAM. doc NULL (it could not be built): the headers
 * alone. For answers and status documents, which are small; a document
 * that may be large goes through reply_document(). */
int reply_json(struct h2_stream *st, int status, const json_t *doc, bool end);

/* The error document {"state":"failed","errno":NAME,"message":...} with
 * the HTTP status of err (positive), then END_STREAM. */
int reply_error(struct h2_stream *st, int err, const char *message);

/* doc as one more line on a stream already answered. */
int reply_json_line(struct h2_stream *st, const json_t *doc);

/* Write as much of buf as the stream has room for, draining what went.
 * 0: buf is empty; 1: bytes are left, and on_writable comes once there is
 * room; -errno: the stream was reset. */
int reply_pump(struct h2_stream *st, struct evbuffer *buf);

/* Answer 200 with content_type and text plus a newline, then END_STREAM,
 * however long text is: what the stream cannot take yet waits for room.
 * Takes text (freed here) and st's callbacks (the answer is the stream's
 * last use). */
void reply_document(struct h2_stream *st, const char *content_type, char *text);

#endif
