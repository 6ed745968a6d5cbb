/*
 * Exec sessions, the agent's side: processes started in containers and
 * the HTTP/2 streams that carry their stdin, stdout, stderr, status,
 * signals and terminal sizes (docs/PROTOCOL.md). The agent calls one
 * struct xsession (and its table struct xsession_table), so that no name
 * means two things: the client's side of a session is fs/'s struct
 * session.
 */
#ifndef EXECFS_AGENT_SESSION_H
#define EXECFS_AGENT_SESSION_H

#include <stddef.h>

struct event_base;
struct h2_stream;
struct audit;
struct inventory;
struct policy;
struct launcher;
struct launch_cbs;
struct xsession_table;

/* How long a running session with no stream attached is kept before its
 * process group is killed. */
#define XSESSION_GRACE_SECONDS 60

/* inv: the containers policy decisions are made on (the runtime's, or the
 * worker's mirror of them); launcher: how processes start. Its callbacks
 * must be xsession_launch_cbs(). Neither is owned. */
struct xsession_table *xsession_table_new(struct event_base *base,
					  struct inventory *inv,
					  struct launcher *launcher);
/* The callbacks a launcher serving the session table calls (arg: the
 * session that asked). */
const struct launch_cbs *xsession_launch_cbs(void);
/* Kills every running session's process group. NULL is a no-op. */
void xsession_table_free(struct xsession_table *t);

/* A request for /v1/sessions/<sid>: the streamtype header picks the
 * stream. Answers the request itself (errors included). */
void xsession_table_route(struct xsession_table *t, struct h2_stream *st,
			  const char *sid, const char *streamtype);

/* The policy every start is checked against (not owned; swapped on
 * reload; NULL denies everything) and where starts and ends are audited
 * (not owned; NULL: nowhere). */
void xsession_table_set_policy(struct xsession_table *t,
			       const struct policy *policy);
void xsession_table_set_audit(struct xsession_table *t, struct audit *audit,
			      const char *node);

/* At most this many running sessions per peer identity, whatever the
 * policy says (0: XSESSION_DEFAULT_PER_IDENTITY). */
#define XSESSION_DEFAULT_PER_IDENTITY 4096
void xsession_table_set_limit(struct xsession_table *t, size_t per_identity);
/* How long a running session without a client is kept (0: the default,
 * XSESSION_GRACE_SECONDS). */
void xsession_table_set_grace(struct xsession_table *t, unsigned seconds);

#endif
