/*
 * A node: one agent, one HTTP/2 connection, the watch stream that keeps
 * the node's container list, and reconnection with backoff when the
 * connection drops (its sessions wait and are resumed on the next
 * connection; the directory stays and is rebuilt from the next snapshot).
 */
#ifndef EXECFS_FS_NODE_H
#define EXECFS_FS_NODE_H

#include "fs.h"

struct h2_conn;
typedef struct ssl_ctx_st SSL_CTX;
struct node;
struct session_waitq;

/*
 * name: the directory name, or NULL to take the agent's own name from its
 * snapshots (local mode). ctx: TLS context (not owned) or NULL for h2c.
 * verify_name: the name the agent's certificate must carry.
 */
struct node *node_new(struct execfs *fs, const char *name, const char *address,
		      SSL_CTX *ctx, const char *verify_name);
void node_free(struct node *n);
/* Connect now (from the loop; never blocks). */
int node_start(struct node *n);
/* Every node of fs: connect; free (at exit). */
void nodes_start(struct execfs *fs);
void nodes_free(struct execfs *fs);
/* The connection, if established; NULL otherwise. */
struct h2_conn *node_conn(const struct node *n);
const char *node_name(const struct node *n);
/* The node's `.status` line: connected, connecting, or error and why. */
int node_status_text(const struct node *n, char *buf, size_t len);

/* The sessions that lost their streams with the connection wait here
 * for the next one (session.h); the node owns it and gives them up when
 * it is freed. */
struct session_waitq *node_waitq(const struct node *n);
/* How long a session waits for the node to come back. */
unsigned node_resume_seconds(const struct node *n);

#endif
