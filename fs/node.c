/*
 * Node connections (see node.h). State machine, one switch per input:
 *   IDLE --node_start--> CONNECTING
 *   CONNECTING --on_ready--> WATCHING (the watch stream only)
 *   WATCHING --first snapshot accepted--> READY (sessions resume, start)
 *   WATCHING --first snapshot refused--> (closed) BACKOFF
 *   CONNECTING/WATCHING/READY --on_close--> BACKOFF (timer: 0.2 s doubling
 *                                           to 5 s)
 *   BACKOFF --timer--> CONNECTING
 *   any --node_remove--> REMOVED (kept while sessions hold it)
 * The watch stream carries one JSON snapshot per line; snapshot.c decodes
 * each and the node's subtree is rebuilt from it (tree.c).
 */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "metrics.h"
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
	NODE_WATCHING,
	NODE_READY,
	NODE_BACKOFF,
	NODE_REMOVED,
};

struct node {
	struct execfs *fs; /* not owned */
	struct list link; /* in fs->nodes while attached */
	unsigned refs; /* the mount's (while attached) + sessions' */
	char *name; /* owned; NULL until the agent names it */
	bool named_by_agent;
	bool has_dir; /* its directory is in the tree, named name */
	char *address; /* owned */
	char *server_name; /* owned: fixed, a template, or NULL */
	char *source; /* owned, or NULL */
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
	char *claimed; /* owned: the name refused to it (another has it) */
	char *leaving; /* owned: why it leaves, or NULL */
	time_t listed; /* the last snapshot taken into the tree, or 0 */
	size_t containers; /* in that snapshot (the node's .host not) */
	bool stale; /* the tree is the last-known one: not connected */
	bool refused; /* we closed the connection; error says why */
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

/* *dst = a copy of src (NULL stays NULL): 0 or -ENOMEM (*dst kept). */
static int str_set(char **dst, const char *src)
{
	char *copy = src ? strdup(src) : NULL;

	if (src && !copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy; /* owned by the node */
	return 0;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

struct node *node_new(struct execfs *fs, const struct node_params *p)
{
	struct node *n = calloc(1, sizeof(*n)); /* the mount's reference */

	if (!n)
		return NULL;
	n->fs = fs;
	n->refs = 1;
	n->ctx = p->ctx;
	n->named_by_agent = p->name == NULL;
	n->lines = evbuffer_new();
	n->timer = evtimer_new(fs->base, node_timer_cb, n);
	n->backoff = BACKOFF_MIN;
	n->waitq = session_waitq_new();
	list_init(&n->link);
	if (str_set(&n->name, p->name) < 0 ||
	    str_set(&n->address, p->address) < 0 ||
	    str_set(&n->server_name, p->server_name) < 0 ||
	    str_set(&n->source, p->source) < 0 || !n->lines || !n->timer ||
	    !n->waitq) {
		node_put(n);
		return NULL;
	}
	list_add_tail(&fs->nodes, &n->link);
	return n;
}

void node_get(struct node *n)
{
	n->refs++;
}

void node_put(struct node *n)
{
	if (!n || --n->refs > 0)
		return;
	session_waitq_free(n->waitq, "its node was removed");
	if (n->timer)
		event_free(n->timer);
	if (n->lines)
		evbuffer_free(n->lines);
	free(n->name);
	free(n->address);
	free(n->server_name);
	free(n->source);
	free(n->claimed);
	free(n->leaving);
	free(n);
}

void node_remove(struct node *n)
{
	if (n->state == NODE_REMOVED)
		return;
	n->state = NODE_REMOVED;
	list_del(&n->link);
	list_init(&n->link);
	evtimer_del(n->timer);
	/* Streams get on_close (sessions turn lost, parked requests are
	 * answered); the connection's own on_close is not called. */
	h2_conn_free(n->conn);
	n->conn = NULL;
	n->watch = NULL;
	session_waitq_free(n->waitq, "its node left the mount");
	n->waitq = NULL;
	if (n->has_dir)
		tree_node_remove(n->fs->tree, n);
	n->has_dir = false;
	log_info("node %s (%s): removed", node_name(n), n->address);
	node_put(n);
}

bool node_removed(const struct node *n)
{
	return n->state == NODE_REMOVED;
}

struct h2_conn *node_conn(const struct node *n)
{
	return n->state == NODE_READY ? n->conn : NULL;
}

struct h2_conn *node_session_conn(const struct node *n)
{
	return n->leaving ? NULL : node_conn(n);
}

const char *node_name(const struct node *n)
{
	return n->name ? n->name : n->address;
}

const char *node_static_name(const struct node *n)
{
	return n->named_by_agent ? NULL : n->name;
}

const char *node_address(const struct node *n)
{
	return n->address;
}

bool node_in_use(const struct node *n)
{
	if (n->waitq && !session_waitq_empty(n->waitq))
		return true;
	return n->conn && h2_conn_streams(n->conn) > (n->watch ? 1u : 0u);
}

/* ---- status ------------------------------------------------------------- */

/* The first word of its status; .metrics counts nodes by it. */
enum node_word { WORD_REMOVED, WORD_CONNECTED, WORD_ERROR, WORD_CONNECTING };

static enum node_word state_word(const struct node *n)
{
	if (n->state == NODE_REMOVED)
		return WORD_REMOVED;
	if (n->state == NODE_READY && n->working)
		return WORD_CONNECTED;
	return n->error[0] ? WORD_ERROR : WORD_CONNECTING;
}

/* The first line's words: "connected ADDR", "error ADDR: why", ... */
static int state_text(const struct node *n, char *buf, size_t len)
{
	switch (state_word(n)) {
	case WORD_REMOVED:
		return snprintf(buf, len, "removed %s", n->address);
	case WORD_CONNECTED:
		return snprintf(buf, len, "connected %s", n->address);
	case WORD_ERROR:
		return snprintf(buf, len, "error %s: %s", n->address, n->error);
	case WORD_CONNECTING:
		break;
	}
	return snprintf(buf, len, "connecting %s", n->address);
}

void nodes_count(const struct execfs *fs, struct fs_metrics_gauges *g)
{
	const struct node *n = NULL;

	while ((n = node_next(fs, n))) {
		switch (state_word(n)) {
		case WORD_CONNECTED:
			g->nodes_connected++;
			break;
		case WORD_ERROR:
			g->nodes_unreachable++;
			break;
		case WORD_CONNECTING:
			g->nodes_connecting++;
			break;
		case WORD_REMOVED: /* not attached: not listed */
			break;
		}
		if (n->has_dir)
			g->containers += n->containers;
	}
}

static int clock_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return snprintf(buf, len, "?");
	return (int)strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Appends with snprintf's rules; *off may pass len (then nothing more is
 * written, and the length says how much was wanted). */
static void add(char *buf, size_t len, int *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t len, int *off, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf((size_t)*off < len ? buf + *off : NULL,
		      (size_t)*off < len ? len - (size_t)*off : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		*off += k;
}

int node_status_text(const struct node *n, char *buf, size_t len)
{
	const struct list *pos;
	char when[32];
	int off = 0;

	if (!n)
		return snprintf(buf, len, "removed\n");
	off = state_text(n, buf, len);
	add(buf, len, &off, "\n");
	if (n->stale && n->listed) {
		clock_text(n->listed, when, sizeof(when));
		add(buf, len, &off, "stale: the listing is as of %s\n", when);
	}
	if (n->leaving)
		add(buf, len, &off, "leaving: %s\n", n->leaving);
	for (pos = n->fs->nodes.next; n->has_dir && pos != &n->fs->nodes;
	     pos = pos->next) {
		const struct node *o = list_entry(pos, struct node, link);

		if (o != n && o->claimed && strcmp(o->claimed, n->name) == 0)
			add(buf, len, &off,
			    "conflict: %s also reports node %s: refused\n",
			    o->address, n->name);
	}
	if (n->source)
		add(buf, len, &off, "found: %s\n", n->source);
	return off;
}

int node_status_line(const struct node *n, char *buf, size_t len)
{
	char when[32], state[320];
	int off = 0;

	state_text(n, state, sizeof(state));
	add(buf, len, &off, "%s %s", n->has_dir ? n->name : "-", state);
	if (n->stale && n->listed) {
		clock_text(n->listed, when, sizeof(when));
		add(buf, len, &off, "; stale: the listing is as of %s", when);
	}
	if (n->leaving)
		add(buf, len, &off, "; leaving: %s", n->leaving);
	if (n->source)
		add(buf, len, &off, "; found: %s", n->source);
	add(buf, len, &off, "\n");
	return off;
}

/* ---- parameters --------------------------------------------------------- */

int node_update(struct node *n, const struct node_params *p)
{
	bool changed = !str_same(n->address, p->address) ||
		       !str_same(n->server_name, p->server_name);

	n->ctx = p->ctx;
	if (str_set(&n->source, p->source) < 0)
		return -ENOMEM;
	if (!changed)
		return 0;
	if (str_set(&n->address, p->address) < 0 ||
	    str_set(&n->server_name, p->server_name) < 0)
		return -ENOMEM;
	log_info("node %s: now %s%s%s", node_name(n), n->address,
		 n->server_name ? ", certificate name " : "",
		 n->server_name ? n->server_name : "");
	/* A connection nothing uses starts over on the new address now;
	 * one that sessions use stays until it drops. */
	if (n->conn && !node_in_use(n)) {
		n->backoff = BACKOFF_MIN;
		h2_conn_close(n->conn);
	}
	return 0;
}

void node_set_tls(struct node *n, SSL_CTX *ctx)
{
	n->ctx = ctx;
}

int node_set_leaving(struct node *n, const char *why)
{
	if (str_same(n->leaving, why))
		return 0;
	if (why)
		log_info("node %s (%s): leaving: %s", node_name(n), n->address,
			 why);
	else if (n->leaving)
		log_info("node %s (%s): wanted again", node_name(n),
			 n->address);
	return str_set(&n->leaving, why);
}

/* ---- connecting --------------------------------------------------------- */

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

/* The name to check at the handshake: fixed, the host of the address
 * (NULL), or none yet ("": a template, checked at the first snapshot). */
static const char *handshake_name(const struct node *n)
{
	if (n->server_name && config_is_template(n->server_name))
		return "";
	return n->server_name;
}

int node_start(struct node *n)
{
	char err[256];

	if (n->state == NODE_REMOVED)
		return -ENODEV;
	/* A static node's directory shows from the start (unless a node
	 * named by its agent holds the name: then at its first snapshot,
	 * refused). */
	if (!n->named_by_agent && !n->has_dir)
		n->has_dir = tree_node_dir(n->fs->tree, n, n->name) != NULL;
	n->conn = h2_connect(n->fs->base, n->fs->dns, n->address, n->ctx,
			     handshake_name(n), &node_conn_cbs, n, err,
			     sizeof(err));
	if (!n->conn) {
		log_error("node %s: %s", node_name(n), err);
		snprintf(n->error, sizeof(n->error), "%s", err);
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
		node_remove(list_entry(pos, struct node, link));
}

struct node *node_next(const struct execfs *fs, const struct node *prev)
{
	const struct list *next = prev ? prev->link.next : fs->nodes.next;

	return next == &fs->nodes ? NULL : list_entry(next, struct node, link);
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
	case NODE_WATCHING:
	case NODE_READY:
	case NODE_REMOVED:
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

	fs_metrics_inc(FSM_CONNECTS);
	switch (n->state) {
	case NODE_CONNECTING:
		/* The watch only, until its first snapshot says who the
		 * agent is and that is accepted (node_accept). */
		n->state = NODE_WATCHING;
		evbuffer_drain(n->lines, evbuffer_get_length(n->lines));
		n->watch = h2_conn_request(c, "GET", EXECFS_PATH_WATCH, NULL, 0,
					   true, &watch_cbs, n);
		if (!n->watch) {
			log_error("node %s: cannot open the watch stream",
				  node_name(n));
			h2_conn_close(c);
		}
		break;
	case NODE_IDLE:
	case NODE_WATCHING:
	case NODE_READY:
	case NODE_BACKOFF:
	case NODE_REMOVED:
		break;
	}
}

static void node_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct node *n = arg;

	fs_metrics_inc(n->working ? FSM_CONNECTIONS_LOST :
				    FSM_CONNECT_FAILURES);
	n->conn = NULL;
	n->watch = NULL;
	n->stale = n->listed != 0;
	/* A refusal of ours (node_refuse) said why already. */
	if (!n->refused)
		snprintf(n->error, sizeof(n->error), "%s", reason);
	n->refused = false;
	/* Each distinct reason once: a refused certificate retried every
	 * few seconds must not flood the log. */
	if (strcmp(n->logged, n->error)) {
		log_warn("node %s: %s %s: %s", node_name(n),
			 n->working ? "connection lost to" :
				      "cannot connect to",
			 n->address, n->error);
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
	case NODE_WATCHING:
		node_schedule(n);
		break;
	case NODE_IDLE:
	case NODE_BACKOFF:
	case NODE_REMOVED:
		break;
	}
}

/* ---- the first snapshot: who the agent is ------------------------------- */

/* Refuse this connection (why: for .status and the log) and close it. */
static void node_refuse(struct node *n, const char *why)
{
	snprintf(n->error, sizeof(n->error), "%s", why);
	n->refused = true;
	n->watch = NULL; /* nothing more is read from it */
	h2_conn_close(n->conn);
}

/* The attached node, other than self, whose directory is name. */
static struct node *node_holding(struct execfs *fs, const char *name,
				 const struct node *self)
{
	struct list *pos;

	for (pos = fs->nodes.next; pos != &fs->nodes; pos = pos->next) {
		struct node *o = list_entry(pos, struct node, link);

		if (o != self && o->has_dir && strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

/* The name the agent reports is its own? 0 with the directory in place,
 * or -EACCES (refused: the connection is closed). */
static int node_accept(struct node *n, const char *reported)
{
	const char *name = n->named_by_agent ? reported : n->name;
	char want[CONFIG_NAME_MAX + 1], why[sizeof(n->error)];
	struct node *holder;

	if (!name) {
		node_refuse(n, "the agent sent no usable node name");
		return -EACCES;
	}
	if (n->server_name && config_is_template(n->server_name)) {
		if (config_expand_name(n->server_name, name, want,
				       sizeof(want)) < 0 ||
		    h2_conn_peer_has_name(n->conn, want) < 0) {
			snprintf(why, sizeof(why),
				 "certificate verify failed: the agent reports "
				 "node %.60s, and its certificate does not "
				 "carry %.100s",
				 name, want);
			node_refuse(n, why);
			return -EACCES;
		}
	}
	if (n->named_by_agent && n->name && strcmp(n->name, name) != 0) {
		/* The address answers as another node now: what waited for
		 * the old one must not resume here. */
		log_warn("node %s (%s): the agent there is node %s now",
			 n->name, n->address, name);
		session_waitq_free(n->waitq, "its address belongs to another "
					     "node now");
		n->waitq = session_waitq_new();
		if (n->has_dir)
			tree_node_remove(n->fs->tree, n);
		n->has_dir = false;
		n->listed = 0;
		if (!n->waitq) {
			node_refuse(n, "out of memory");
			return -EACCES;
		}
	}
	if (!n->has_dir) {
		holder = node_holding(n->fs, name, n);
		if (holder) {
			snprintf(
				why, sizeof(why),
				"refused: it reports node %.100s, which %.100s "
				"is",
				name, holder->address);
			if (!str_same(n->claimed, name) &&
			    str_set(&n->claimed, name) == 0)
				log_warn("node %s at %s: %s", name, n->address,
					 why);
			node_refuse(n, why);
			return -EACCES;
		}
		if (str_set(&n->name, name) < 0 ||
		    !tree_node_dir(n->fs->tree, n, name)) {
			node_refuse(n, "cannot make its directory (a name "
				       "the mount uses, or out of memory)");
			return -EACCES;
		}
		n->has_dir = true;
	}
	str_set(&n->claimed, NULL);
	return 0;
}

static void node_snapshot(struct node *n, const char *line, size_t len)
{
	struct snapshot snap;
	char why[160];
	unsigned k;
	size_t i;

	if (snapshot_parse(line, len, &snap, why, sizeof(why)) < 0) {
		log_warn("node %s: %s", node_name(n), why);
		if (n->state == NODE_WATCHING)
			node_refuse(n, why);
		return;
	}
	if (snap.skipped)
		log_warn("node %s: %zu containers without a usable id",
			 node_name(n), snap.skipped);
	switch (n->state) {
	case NODE_WATCHING:
		if (node_accept(n, snap.node) < 0)
			goto out;
		n->state = NODE_READY;
		n->working = true;
		n->error[0] = 0;
		n->logged[0] = 0;
		log_info("node %s: connected to %s", node_name(n), n->address);
		k = session_waitq_resume(n->waitq, n->conn);
		if (k)
			log_info("node %s: resumed %u sessions", node_name(n),
				 k);
		break;
	case NODE_READY:
		/* One agent process keeps one name: a change means another
		 * agent; the next connection finds out which. */
		if (n->named_by_agent &&
		    (!snap.node || strcmp(snap.node, n->name) != 0)) {
			node_refuse(n, "the agent changed its node name");
			goto out;
		}
		break;
	case NODE_IDLE:
	case NODE_CONNECTING:
	case NODE_BACKOFF:
	case NODE_REMOVED:
		goto out;
	}
	tree_snapshot(n->fs->tree, n, n->name, &snap);
	n->listed = time(NULL);
	n->containers = 0;
	for (i = 0; i < snap.n; i++)
		n->containers += !snap.cts[i].host;
	n->stale = false;
	log_debug("node %s: %zu containers", node_name(n), snap.n);
out:
	snapshot_release(&snap);
}

/* ---- the watch stream --------------------------------------------------- */

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
	while (n->watch == st &&
	       (line = evbuffer_readln(n->lines, &llen, EVBUFFER_EOL_LF))) {
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
	if ((n->state == NODE_READY || n->state == NODE_WATCHING) && n->conn) {
		log_warn("node %s: container watch closed (%u)", node_name(n),
			 error_code);
		h2_conn_close(n->conn);
	}
}
