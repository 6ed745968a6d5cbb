/*
 * Heartbeats (docs/PROTOCOL.md): a peer that is gone without closing the
 * connection (a frozen process, a host that lost power, a cable pulled) is
 * found in seconds, not after TCP's hours. Every interval a connection
 * checks whether it received anything since the last look; after one
 * silent interval it sends a PING (nghttp2 answers the peer's PINGs on its
 * own), and after HEARTBEAT_SILENT_MAX silent intervals in a row it dies,
 * as if the peer had closed: the client's sessions turn `lost` and it
 * reconnects; the agent's sessions get their grace period.
 *
 * The count starts with the connection, not with its handshake: a connect
 * or a TLS handshake that gets no answer (a host gone mid-way, a port that
 * accepts and never speaks) is given up after the same three intervals,
 * on both sides, instead of TCP's minutes or never.
 *
 * Silence is counted, never timed: any bytes received, not only the PING's
 * answer, prove the peer alive, so a busy connection sends no PINGs.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

#include "conn_internal.h"
#include "execfs/log.h"
#include "execfs/numparse.h"

/* Intervals without a byte received before the connection is given up:
 * one before the PING, two more for its answer. */
#define HEARTBEAT_SILENT_MAX 3

static unsigned heartbeat_interval = H2_HEARTBEAT_DEFAULT;

void h2_set_heartbeat(unsigned seconds)
{
	heartbeat_interval = seconds;
}

int h2_heartbeat_parse(const char *text, unsigned *seconds)
{
	return num_parse_unsigned(text, H2_HEARTBEAT_MAX, seconds);
}

static void beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->dying)
		return;
	if (c->beat_heard) {
		c->beat_heard = false;
		c->beat_silent = 0;
		return;
	}
	if (++c->beat_silent >= HEARTBEAT_SILENT_MAX) {
		unsigned secs = c->beat_silent * c->beat_interval;

		log_warn("connection to %s: nothing received for %u s",
			 c->peer[0] ? c->peer : "peer", secs);
		if (c->ready)
			h2_conn_die(c,
				    "peer silent for %u s (no answer to PING)",
				    secs);
		else
			h2_conn_die(
				c,
				"no answer in %u s (name lookup, connect or TLS handshake)",
				secs);
		return;
	}
	if (c->beat_silent == 1 && c->ready) {
		/* Opaque data NULL: eight zero bytes. Fails only without
		 * memory; the next interval then counts as silent. */
		if (nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, NULL) == 0)
			h2_conn_schedule_flush(c);
	}
}

unsigned conn_handshake_seconds(void)
{
	return heartbeat_interval ? HEARTBEAT_SILENT_MAX * heartbeat_interval :
				    H2_HANDSHAKE_SECONDS;
}

int conn_heartbeat_start(struct h2_conn *c)
{
	struct timeval tv = { .tv_sec = (time_t)heartbeat_interval };

	if (!heartbeat_interval || c->beat_ev)
		return 0;
	c->beat_interval = heartbeat_interval;
	c->beat_ev = event_new(c->base, -1, EV_PERSIST, beat_cb, c);
	if (!c->beat_ev || event_add(c->beat_ev, &tv) < 0)
		return -ENOMEM;
	return 0;
}
