/*
 * The agent's HTTP/2 front: routes each request stream to the container
 * list, the container watch, or the session table.
 */
#ifndef EXECFS_AGENT_SERVER_H
#define EXECFS_AGENT_SERVER_H

struct event_base;
struct inventory;
struct xsession_table;
struct server;
struct h2_conn_cbs;
struct policy;

struct server *server_new(struct event_base *base, const char *node,
			  struct inventory *inv,
			  struct xsession_table *sessions);
void server_free(struct server *srv);

/* The callbacks listeners hand to their connections (arg: the server). */
const struct h2_conn_cbs *server_conn_cbs(void);

/* The policy the list is shown by (not owned; NULL: none): a peer sees
 * only the containers a rule lets it exec into (policy_visible()), the
 * node's own entry (--host-exec) only with exec_node. Watchers get a
 * fresh line. */
void server_set_policy(struct server *srv, const struct policy *policy);

/* The inventory changed: every watcher gets the list it may see now. */
void server_inventory_changed(struct server *srv);

#endif
