/*
 * A node: one agent, one HTTP/2 connection, the watch stream that keeps
 * the node's container list, and reconnection with backoff when the
 * connection drops (its sessions wait and are resumed on the next
 * connection; the directory stays, with its last-known tree, marked stale
 * in `.status`, and is rebuilt from the next snapshot).
 *
 * Nothing uses a new connection before its first snapshot was accepted:
 * that snapshot says which node the agent is, and a node named by its
 * agent (discovered by DNS, or the local agent) is checked then: its
 * certificate must carry the server_name template's name for it, and no
 * other node may hold that name already (the second is refused, with a
 * line in both `.status` files and in the log). Only then do sessions
 * start or resume on it.
 *
 * Lifetime: a node is reference counted. The mount holds one while it is
 * attached (listed in fs->nodes, its directory in the tree); each session
 * started on it holds one (session.c), so a removed node's sessions can
 * still ask for its connection (there is none) and its name.
 * node_remove() detaches it: connection closed, directory taken out of
 * the tree (open files keep working, they find no node), sessions waiting
 * for it given up.
 */
#ifndef EXECFS_FS_NODE_H
#define EXECFS_FS_NODE_H

#include "fs.h"

struct fs_metrics_gauges;
struct h2_conn;
typedef struct ssl_ctx_st SSL_CTX;
struct node;
struct session_waitq;

/* What a node is asked to be (fleet.c, main.c); every string is copied. */
struct node_params {
	/* The directory name, or NULL to take the name the agent reports
	 * (a discovered or the local agent). */
	const char *name;
	/* "host:port", "[v6]:port" or "unix:/path". */
	const char *address;
	/* The name the agent's certificate must carry: fixed, or (with
	 * name NULL) a template holding {node}, or NULL for the host of
	 * address. */
	const char *server_name;
	/* Where it was found ("dns NAME"), for `.status`; or NULL. */
	const char *source;
	/* TLS context (not owned: its owner keeps it until node_set_tls()
	 * gives another) or NULL for h2c. */
	SSL_CTX *ctx;
};

/* A node attached to fs (not connecting yet: node_start). NULL: ENOMEM. */
struct node *node_new(struct execfs *fs, const struct node_params *p);
void node_get(struct node *n);
/* Drop a reference; NULL is fine. The last one frees n. */
void node_put(struct node *n);
/* Detach n now (see above) and drop the mount's reference. */
void node_remove(struct node *n);
/* Connect now (from the loop; never blocks). */
int node_start(struct node *n);
/* Every node of fs: connect; remove (at exit). */
void nodes_start(struct execfs *fs);
void nodes_free(struct execfs *fs);
/* fs's attached nodes in order: the first (prev NULL), then the one after
 * prev; NULL after the last. */
struct node *node_next(const struct execfs *fs, const struct node *prev);

/*
 * New parameters (a re-read configuration): they take effect for the
 * next connection. When the address or the name to verify changed and no
 * session uses the node (node_in_use), it reconnects at once; otherwise
 * the running connection and its sessions stay. The name (static or
 * not) never changes. 0 or -ENOMEM.
 */
int node_update(struct node *n, const struct node_params *p);
/* The TLS context for the next connections (a reloaded one). */
void node_set_tls(struct node *n, SSL_CTX *ctx);
/* n is out of the desired set (why, copied) and goes once nothing uses
 * it; it takes no new session meanwhile. NULL: it is wanted again. */
int node_set_leaving(struct node *n, const char *why);
/* Sessions use it: a stream besides the watch, or sessions waiting to
 * resume on it. */
bool node_in_use(const struct node *n);
/* Detached by node_remove. */
bool node_removed(const struct node *n);

/* The connection, if established and verified; NULL otherwise. */
struct h2_conn *node_conn(const struct node *n);
/* The connection for a new session: as node_conn, but NULL while the
 * node is leaving. */
struct h2_conn *node_session_conn(const struct node *n);
/* The directory name; before there is one, the address. */
const char *node_name(const struct node *n);
/* The static name, or NULL for a node named by its agent. */
const char *node_static_name(const struct node *n);
const char *node_address(const struct node *n);
/* The node's `.status` text: its state and address on the first line
 * (connected, connecting, error ADDRESS: why, removed), then a line each
 * for what else is true (stale, leaving, conflict, source). n may be NULL
 * (the directory of a removed node): "removed". Its length. */
int node_status_text(const struct node *n, char *buf, size_t len);
/* One line for the mount's `.status`: NAME (or -) STATE ADDRESS ... */
int node_status_line(const struct node *n, char *buf, size_t len);
/* fs's nodes by their state word (connected, connecting, error) and the
 * containers of their listings, into g's node and container gauges. */
void nodes_count(const struct execfs *fs, struct fs_metrics_gauges *g);

/* The sessions that lost their streams with the connection wait here
 * for the next one (session.h); the node owns it and gives them up when
 * it is removed. NULL once removed. */
struct session_waitq *node_waitq(const struct node *n);
/* How long a session waits for the node to come back. */
unsigned node_resume_seconds(const struct node *n);

#endif
