/*
 * Request routing for execfs-agent. Paths are few and fixed
 * (docs/PROTOCOL.md); anything else is answered 404 or 405. Watchers of the
 * container list get a fresh snapshot line after every change; a watcher
 * that does not read is sent only the newest snapshot once it drains, so
 * a stalled client costs one buffer, not a growing queue.
 *
 * A peer is shown only the containers some rule of the policy lets it
 * exec into (policy_visible()): the list and every line of its watch are
 * made for its identity, and again for every watcher when the policy
 * changes. Another container does not exist for it.
 *
 * A watcher holds up to a whole list (megabytes on a large node) while its
 * reader does not read, so a connection may have SERVER_WATCHES_PER_CONN
 * watches (a client needs one); more are answered 503.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "inventory.h"
#include "policy.h"
#include "reply.h"
#include "server.h"
#include "session.h"

#define SERVER_WATCHES_PER_CONN 2

struct watcher {
	struct server *srv;
	struct h2_stream *st;
	struct evbuffer *line; /* owned; what is left of the line being sent */
	bool stale; /* a snapshot is owed once the line and stream drained */
	struct watcher *next;
};

struct server {
	struct event_base *base;
	char *node; /* owned */
	struct inventory *inv; /* not owned */
	struct xsession_table *sessions; /* not owned */
	const struct policy *policy; /* not owned; NULL: none */
	struct watcher *watchers;
};

static void watcher_free(struct watcher *w)
{
	evbuffer_free(w->line);
	free(w);
}

struct visible_to {
	const struct policy *policy;
	const char *peer;
};

static bool visible(const struct container *c, void *arg)
{
	const struct visible_to *v = arg;

	return policy_visible(v->policy, v->peer, c);
}

/* The container list as peer may see it (the node's own entry, with
 * --host-exec, only when a rule grants it exec_node). */
static char *snapshot(struct server *srv, const char *peer)
{
	struct visible_to v = { srv->policy, peer };
	json_t *doc = inventory_to_json_only(srv->inv, srv->node, visible, &v);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	return text;
}

static void respond_status(struct h2_stream *st, int status, const char *msg)
{
	json_t *doc = json_pack("{s:s}", EXECFS_J_MESSAGE, msg);

	reply_json(st, status, doc, true);
	json_decref(doc);
}

/* ---- container watch ---------------------------------------------------- */

/* Send the newest snapshot line, unless one is still on its way: then
 * it is sent once that one drained, so a watcher that does not read holds
 * one line, not a queue. */
static void watcher_send(struct watcher *w)
{
	char *text;

	if (evbuffer_get_length(w->line) > 0 || h2_stream_buffered(w->st) > 0) {
		/* A small buffer earns no on_writable of its own: ask for
		 * one. */
		w->stale = true;
		h2_stream_notify_drained(w->st);
		return;
	}
	text = snapshot(w->srv, h2_conn_peer(h2_stream_conn(w->st)));
	if (!text)
		return;
	w->stale = false;
	/* A line may be larger than what a stream takes in one write:
	 * it goes as there is room. */
	if (evbuffer_add(w->line, text, strlen(text)) < 0 ||
	    evbuffer_add(w->line, "\n", 1) < 0) {
		log_warn("watcher %s: out of memory: stream reset",
			 h2_conn_peer(h2_stream_conn(w->st)));
		h2_stream_reset(w->st, H2_INTERNAL_ERROR);
	} else {
		reply_pump(w->st, w->line);
	}
	free(text);
}

static void watcher_on_writable(struct h2_stream *st, void *arg)
{
	struct watcher *w = arg;

	if (reply_pump(st, w->line) != 0)
		return; /* more room to come, or reset */
	if (w->stale)
		watcher_send(w);
}

static void watcher_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct watcher *w = arg;
	struct watcher **pp;

	(void)st;
	(void)code;
	for (pp = &w->srv->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	watcher_free(w);
}

static const struct h2_stream_cbs watcher_cbs = {
	.on_writable = watcher_on_writable,
	.on_close = watcher_on_close,
};

static void watch_start(struct server *srv, struct h2_stream *st)
{
	static const struct h2_header ct[] = {
		{ "content-type", "application/x-ndjson" },
	};
	struct h2_conn *c = h2_stream_conn(st);
	struct watcher *w;
	unsigned n = 0;
	int rc;

	for (w = srv->watchers; w; w = w->next)
		n += h2_stream_conn(w->st) == c;
	if (n >= SERVER_WATCHES_PER_CONN) {
		log_warn("watcher %s: %u watches on one connection, the limit: "
			 "refused",
			 h2_conn_peer(c), n);
		reply_error(st, EAGAIN, "too many watches on this connection");
		return;
	}
	w = calloc(1, sizeof(*w));

	if (!w || !(w->line = evbuffer_new())) {
		free(w);
		log_warn("watcher %s: out of memory: stream reset",
			 h2_conn_peer(h2_stream_conn(st)));
		h2_stream_reset(st, H2_INTERNAL_ERROR);
		return;
	}
	w->srv = srv;
	w->st = st;
	w->next = srv->watchers;
	srv->watchers = w;
	h2_stream_set_cbs(st, &watcher_cbs, w);
	rc = h2_stream_respond(st, 200, ct, 1, false);
	if (rc < 0) {
		log_warn("watcher %s: %s: stream reset",
			 h2_conn_peer(h2_stream_conn(st)), strerror(-rc));
		h2_stream_reset(st, H2_INTERNAL_ERROR);
		return;
	}
	watcher_send(w);
}

void server_set_policy(struct server *srv, const struct policy *policy)
{
	srv->policy = policy;
	server_inventory_changed(srv);
}

void server_inventory_changed(struct server *srv)
{
	struct watcher *w;

	for (w = srv->watchers; w; w = w->next)
		watcher_send(w);
}

/* ---- routing ------------------------------------------------------------ */

static void on_request(struct h2_conn *c, struct h2_stream *st, void *arg)
{
	struct server *srv = arg;
	const char *method = h2_stream_method(st);
	const char *path = h2_stream_path(st);
	const size_t plen = strlen(EXECFS_PATH_SESSIONS);

	log_debug("%s %s %s (%s)", h2_conn_peer(c), method, path,
		  h2_stream_header(st, EXECFS_HDR_STREAMTYPE) ?: "-");
	if (!strncmp(path, EXECFS_PATH_SESSIONS, plen)) {
		xsession_table_route(srv->sessions, st, path + plen,
				     h2_stream_header(st,
						      EXECFS_HDR_STREAMTYPE));
		return;
	}
	if (!strcmp(path, EXECFS_PATH_CONTAINERS) ||
	    !strcmp(path, EXECFS_PATH_WATCH)) {
		char *text;

		if (strcmp(method, "GET")) {
			respond_status(st, 405, "method not allowed");
			return;
		}
		if (!strcmp(path, EXECFS_PATH_WATCH)) {
			watch_start(srv, st);
			return;
		}
		text = snapshot(srv, h2_conn_peer(c));
		if (!text) {
			respond_status(st, 500, "out of memory");
			return;
		}
		/* Megabytes with many containers: sent as the client reads. */
		reply_document(st, "application/json", text);
		return;
	}
	respond_status(st, 404, "no such path");
}

static void on_conn_close(struct h2_conn *c, const char *reason, void *arg)
{
	(void)arg;
	log_info("connection from %s closed: %s",
		 h2_conn_peer(c)[0] ? h2_conn_peer(c) : "unknown peer", reason);
}

static const struct h2_conn_cbs conn_cbs = {
	.on_request = on_request,
	.on_close = on_conn_close,
};

const struct h2_conn_cbs *server_conn_cbs(void)
{
	return &conn_cbs;
}

struct server *server_new(struct event_base *base, const char *node,
			  struct inventory *inv,
			  struct xsession_table *sessions)
{
	struct server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->base = base;
	srv->inv = inv;
	srv->sessions = sessions;
	srv->node = strdup(node);
	if (!srv->node) {
		free(srv);
		return NULL;
	}
	return srv;
}

/* Connections (and so watcher streams) must be gone before this. */
void server_free(struct server *srv)
{
	if (!srv)
		return;
	while (srv->watchers) {
		struct watcher *w = srv->watchers;

		srv->watchers = w->next;
		watcher_free(w);
	}
	free(srv->node);
	free(srv);
}
