/*
 * What the connections of one listener may hold (h2_listener_set_limits):
 * connections whose TLS handshake is not done yet, in all; connections and
 * request streams of one peer identity. A connection over a cap is closed
 * right after its handshake (or, for handshakes, at accept), a stream over
 * one is reset with REFUSED_STREAM before the application sees it; each
 * with a log line, at most one every LIMITS_LOG_SECONDS per cause (and
 * peer), counting the refusals it did not log, so a storm does not flood
 * the log either. Peers are counted by h2_conn_peer(): one certificate
 * name, or one local uid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_internal.h"
#include "execfs/log.h"
#include "stream_internal.h"

#define LIMITS_LOG_SECONDS 10

struct peer_load {
	char peer[256];
	unsigned conns, streams;
	struct log_rate log;
	struct peer_load *next;
};

/* Log now, or count the refusal for the next line? One line per cause
 * every LIMITS_LOG_SECONDS. */
static bool limits_log_due(struct log_rate *lg, unsigned *skipped)
{
	return log_rate_due(lg, 1, LIMITS_LOG_SECONDS, skipped);
}

bool limits_accept(struct listener_limits *ll, struct h2_conn *c)
{
	unsigned skipped;

	if (ll->lim.handshakes && ll->pending >= ll->lim.handshakes) {
		if (limits_log_due(&ll->log, &skipped))
			log_warn(
				"%u TLS handshakes under way, the limit: a new "
				"connection closed (%u more since the last "
				"such line)",
				ll->pending, skipped);
		return false;
	}
	ll->pending++;
	c->handshaking = true;
	return true;
}

void limits_handshake_done(struct listener_limits *ll, struct h2_conn *c)
{
	if (!c->handshaking)
		return;
	c->handshaking = false;
	ll->pending--;
}

int limits_conn_up(struct listener_limits *ll, struct h2_conn *c)
{
	struct peer_load *p;
	unsigned skipped;

	limits_handshake_done(ll, c);
	for (p = ll->loads; p && strcmp(p->peer, c->peer); p = p->next)
		;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		snprintf(p->peer, sizeof(p->peer), "%s", c->peer);
		p->next = ll->loads;
		ll->loads = p;
	}
	if (ll->lim.conns_per_peer && p->conns >= ll->lim.conns_per_peer) {
		if (limits_log_due(&p->log, &skipped))
			log_warn("%s has %u connections, the limit: a new one "
				 "closed (%u more since the last such line)",
				 c->peer, p->conns, skipped);
		return -EMFILE;
	}
	p->conns++;
	c->load = p;
	return 0;
}

void limits_conn_gone(struct listener_limits *ll, struct h2_conn *c)
{
	struct peer_load **pp, *p = c->load;

	limits_handshake_done(ll, c);
	if (!p)
		return;
	c->load = NULL;
	if (--p->conns || p->streams)
		return;
	for (pp = &ll->loads; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p);
}

bool limits_stream_begin(struct h2_conn *c, struct h2_stream *st)
{
	unsigned cap = c->limits ? c->limits->lim.streams_per_peer : 0;
	unsigned skipped;

	if (!c->load)
		return true;
	st->counted = true;
	c->load->streams++;
	if (!cap || c->load->streams <= cap)
		return true;
	if (limits_log_due(&c->load->log, &skipped))
		log_warn("%s has %u streams open, the limit: a new one refused "
			 "(%u more since the last such line)",
			 c->peer, c->load->streams - 1, skipped);
	return false;
}

void limits_stream_end(struct h2_conn *c, struct h2_stream *st)
{
	if (!st->counted || !c->load)
		return;
	st->counted = false;
	c->load->streams--;
}

void limits_release(struct listener_limits *ll)
{
	while (ll->loads) {
		struct peer_load *p = ll->loads;

		ll->loads = p->next;
		free(p);
	}
}
