/*
 * Node connections (see node.h). State machine, one switch per input:
 *   CONNECTING --on_ready--> READY (open the watch stream, resume sessions)
 *   CONNECTING/READY --on_close--> BACKOFF (timer: 0.2 s doubling to 5 s)
 *   BACKOFF --timer--> CONNECTING
 * The watch stream carries one JSON snapshot per line; snapshot.c decodes
 * each and the node's subtree is rebuilt from it (tree.c).
 */
#include "node.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "session.h"
#include "snapshot.h"
#include "tree.h"

#define BACKOFF_MIN 0.2
#define BACKOFF_MAX 5.0
/* A snapshot of a busy node is a few MiB; anything larger is an error. */
#define SNAPSHOT_MAX (32 * 1024 * 1024)

enum node_state {
	NODE_IDLE,
	NODE_CONNECTING,
	NODE_READY,
	NODE_BACKOFF,
};

struct node {
	struct execfs *fs; /* not owned */
	struct list link; /* in fs->nodes */
	char *name; /* owned; NULL until the agent names it */
	bool named_by_agent;
	char *address; /* owned */
	char *verify_name; /* owned, or NULL */
	SSL_CTX *ctx; /* not owned */
	enum node_state state;
	struct h2_conn *conn; /* freed by the transport after on_close */
	struct h2_stream *watch;
	struct evbuffer *lines; /* owned: partial snapshot lines */
	struct event *timer; /* owned */
	double backoff;
	bool working; /* this connection delivered a container list */
	struct session_waitq *waitq; /* owned: sessions waiting for us */
	char error[256]; /* why the node is unreachable, "" when it is not */
	char logged[256]; /* the last error logged, to log each one once */
};

static void node_on_ready(struct h2_conn *c, void *arg);
static void node_on_close(struct h2_conn *c, const char *reason, void *arg);
static void watch_on_response(struct h2_stream *st, int status, void *arg);
static void watch_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
			  void *arg);
static void watch_on_end(struct h2_stream *st, void *arg);
static void watch_on_close(struct h2_stream *st, uint32_t error_code,
			   void *arg);

static const struct h2_conn_cbs node_conn_cbs = {
	.on_ready = node_on_ready,
	.on_close = node_on_close,
};

static const struct h2_stream_cbs watch_cbs = {
	.on_response = watch_on_response,
	.on_data = watch_on_data,
	.on_end = watch_on_end,
	.on_close = watch_on_close,
};

static void node_timer_cb(evutil_socket_t fd, short what, void *arg);

struct node *node_new(struct execfs *fs, const char *name, const char *address,
		      SSL_CTX *ctx, const char *verify_name)
{
	struct node *n = calloc(1, sizeof(*n)); /* owned by fs->nodes */

	if (!n)
		return NULL;
	n->fs = fs;
	n->ctx = ctx;
	n->named_by_agent = name == NULL;
	n->name = name ? strdup(name) : NULL;
	n->address = strdup(address);
	n->verify_name = verify_name ? strdup(verify_name) : NULL;
	n->lines = evbuffer_new();
	n->timer = evtimer_new(fs->base, node_timer_cb, n);
	n->backoff = BACKOFF_MIN;
	n->waitq = session_waitq_new();
	list_init(&n->link);
	if ((name && !n->name) || !n->address ||
	    (verify_name && !n->verify_name) || !n->lines || !n->timer ||
	    !n->waitq) {
		node_free(n);
		return NULL;
	}
	list_add_tail(&fs->nodes, &n->link);
	return n;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	list_del(&n->link);
	session_waitq_free(n->waitq, "its node was removed");
	n->waitq = NULL;
	/* Streams get on_close (sessions turn lost, parked requests are
	 * answered); the connection's own on_close is not called. */
	h2_conn_free(n->conn);
	n->conn = NULL;
	if (n->timer)
		event_free(n->timer);
	if (n->lines)
		evbuffer_free(n->lines);
	free(n->name);
	free(n->address);
	free(n->verify_name);
	free(n);
}

struct h2_conn *node_conn(const struct node *n)
{
	return n->state == NODE_READY ? n->conn : NULL;
}

int node_status_text(const struct node *n, char *buf, size_t len)
{
	if (n->state == NODE_READY && n->working)
		return snprintf(buf, len, "connected %s\n", n->address);
	if (n->error[0])
		return snprintf(buf, len, "error %s: %s\n", n->address,
				n->error);
	return snprintf(buf, len, "connecting %s\n", n->address);
}

const char *node_name(const struct node *n)
{
	return n->name ? n->name : n->address;
}

static void node_schedule(struct node *n)
{
	struct timeval tv;

	n->state = NODE_BACKOFF;
	tv.tv_sec = (time_t)n->backoff;
	tv.tv_usec = (suseconds_t)((n->backoff - (double)tv.tv_sec) * 1e6);
	evtimer_add(n->timer, &tv);
	n->backoff *= 2;
	if (n->backoff > BACKOFF_MAX)
		n->backoff = BACKOFF_MAX;
}

int node_start(struct node *n)
{
	char err[256];

	if (!n->named_by_agent)
		tree_node_dir(n->fs->tree, n, n->name);
	n->conn = h2_connect(n->fs->base, n->fs->dns, n->address, n->ctx,
			     n->verify_name, &node_conn_cbs, n, err,
			     sizeof(err));
	if (!n->conn) {
		log_error("node %s: %s", node_name(n), err);
		node_schedule(n);
		return -EINVAL;
	}
	n->state = NODE_CONNECTING;
	return 0;
}

void nodes_start(struct execfs *fs)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &fs->nodes)
		node_start(list_entry(pos, struct node, link));
}

void nodes_free(struct execfs *fs)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &fs->nodes)
		node_free(list_entry(pos, struct node, link));
}

static void node_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	switch (n->state) {
	case NODE_BACKOFF:
		log_debug("node %s: reconnecting", node_name(n));
		node_start(n);
		break;
	case NODE_IDLE:
	case NODE_CONNECTING:
	case NODE_READY:
		break;
	}
}

struct session_waitq *node_waitq(const struct node *n)
{
	return n->waitq;
}

unsigned node_resume_seconds(const struct node *n)
{
	return n->fs->resume_seconds;
}

static void node_on_ready(struct h2_conn *c, void *arg)
{
	struct node *n = arg;
	unsigned k;

	switch (n->state) {
	case NODE_CONNECTING:
		n->state = NODE_READY;
		log_info("node %s: connected to %s", node_name(n), n->address);
		evbuffer_drain(n->lines, evbuffer_get_length(n->lines));
		n->watch = h2_conn_request(c, "GET", EXECFS_PATH_WATCH, NULL, 0,
					   true, &watch_cbs, n);
		if (!n->watch) {
			log_error("node %s: cannot open the watch stream",
				  node_name(n));
			h2_conn_close(c);
			break;
		}
		k = session_waitq_resume(n->waitq, c);
		if (k)
			log_info("node %s: resumed %u sessions", node_name(n),
				 k);
		break;
	case NODE_IDLE:
	case NODE_READY:
	case NODE_BACKOFF:
		break;
	}
}

static void node_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct node *n = arg;

	n->conn = NULL;
	n->watch = NULL;
	snprintf(n->error, sizeof(n->error), "%s", reason);
	/* Each distinct reason once: a refused certificate retried every
	 * few seconds must not flood the log. */
	if (strcmp(n->logged, n->error)) {
		log_warn("node %s: %s %s: %s", node_name(n),
			 n->working ? "connection lost to" :
				      "cannot connect to",
			 n->address, reason);
		snprintf(n->logged, sizeof(n->logged), "%s", n->error);
	}
	switch (n->state) {
	case NODE_READY:
		/* Only a connection that worked earns a quick retry; one the
		 * peer refuses after the handshake (a TLS 1.3 client
		 * certificate) backs off like a failed connect. */
		if (n->working)
			n->backoff = BACKOFF_MIN;
		n->working = false;
		node_schedule(n);
		break;
	case NODE_CONNECTING:
		node_schedule(n);
		break;
	case NODE_IDLE:
	case NODE_BACKOFF:
		break;
	}
}

/* ---- the watch stream --------------------------------------------------- */

static void node_snapshot(struct node *n, const char *line, size_t len)
{
	struct snapshot snap;
	char why[160];
	char *copy;

	n->working = true;
	n->error[0] = 0;
	n->logged[0] = 0;
	if (snapshot_parse(line, len, &snap, why, sizeof(why)) < 0) {
		log_warn("node %s: %s", node_name(n), why);
		return;
	}
	if (snap.skipped)
		log_warn("node %s: %zu containers without a usable id",
			 node_name(n), snap.skipped);
	if (n->named_by_agent) {
		if (!snap.node) {
			log_warn("agent at %s sent no usable node name",
				 n->address);
			goto out;
		}
		if (!n->name || strcmp(n->name, snap.node) != 0) {
			copy = strdup(snap.node);
			if (!copy)
				goto out;
			free(n->name);
			n->name = copy; /* owned */
		}
	}
	tree_snapshot(n->fs->tree, n, n->name, &snap);
	log_debug("node %s: %zu containers", node_name(n), snap.n);
out:
	snapshot_release(&snap);
}

static void watch_on_response(struct h2_stream *st, int status, void *arg)
{
	struct node *n = arg;

	if (status != 200) {
		log_error("node %s: container watch answered %d", node_name(n),
			  status);
		h2_conn_close(h2_stream_conn(st));
	}
}

static void watch_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
			  void *arg)
{
	struct node *n = arg;
	char *line;
	size_t llen;

	h2_stream_consume(st, len); /* parsed at once: nothing is held */
	if (n->watch != st)
		return;
	evbuffer_add(n->lines, data, len);
	while ((line = evbuffer_readln(n->lines, &llen, EVBUFFER_EOL_LF))) {
		if (llen > 0)
			node_snapshot(n, line, llen);
		free(line);
	}
	if (evbuffer_get_length(n->lines) > SNAPSHOT_MAX) {
		log_error("node %s: snapshot line over %d bytes", node_name(n),
			  SNAPSHOT_MAX);
		evbuffer_drain(n->lines, evbuffer_get_length(n->lines));
		h2_conn_close(h2_stream_conn(st));
	}
}

static void watch_on_end(struct h2_stream *st, void *arg)
{
	struct node *n = arg;

	/* The watch never ends on a healthy agent: start over. */
	log_warn("node %s: the agent ended the container watch", node_name(n));
	h2_conn_close(h2_stream_conn(st));
}

static void watch_on_close(struct h2_stream *st, uint32_t error_code, void *arg)
{
	struct node *n = arg;

	if (n->watch != st)
		return;
	n->watch = NULL;
	if (n->state == NODE_READY && n->conn) {
		log_warn("node %s: container watch closed (%u)", node_name(n),
			 error_code);
		h2_conn_close(n->conn);
	}
}
