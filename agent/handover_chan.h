/*
 * The worker's handover document (handover.h) and its fds on the privsep
 * channel: sent as HANDOVER_FDS messages (up to PRIVSEP_MAX_FDS fds each,
 * in order) followed by HANDOVER_DATA chunks, the last one marked; and
 * gathered back on the other side. Used by the old worker (to the
 * monitor) and by the monitor (to the new worker).
 */
#ifndef EXECFS_AGENT_HANDOVER_CHAN_H
#define EXECFS_AGENT_HANDOVER_CHAN_H

#include <stddef.h>
#include <stdint.h>

struct privsep_chan;
struct privsep_msg;

/* Send doc and fds (every fd taken: sent or closed), waiting until the
 * peer took them (they may exceed the channel's queue). 0 or -errno. */
int handover_chan_send(struct privsep_chan *ch, const uint8_t *doc, size_t len,
		       int *fds, size_t nfds);

/* What arrived so far. Zero-initialised before use. */
struct handover_rx {
	int *fds; /* owned */
	size_t nfds, fds_cap;
	uint8_t *doc; /* owned */
	size_t len, doc_cap;
};

/* A HANDOVER_FDS or HANDOVER_DATA message (its fds taken): 1 once the
 * last chunk came, 0 while more are due, -E2BIG past handover.h's bounds,
 * -EBADF when fds were lost on the way (the receiver was out of fd
 * slots), -ENOMEM, -EPROTO for data before fds' end... any other type. */
int handover_rx_add(struct handover_rx *rx, struct privsep_msg *m);
/* Closes the fds still held and frees the document. */
void handover_rx_release(struct handover_rx *rx);

#endif
