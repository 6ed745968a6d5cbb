/*
 * The handover document and its fds on the privsep channel
 * (handover_chan.h).
 */
#include "handover_chan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handover.h"
#include "privsep.h"

int handover_chan_send(struct privsep_chan *ch, const uint8_t *doc, size_t len,
		       int *fds, size_t nfds)
{
	size_t off = 0, n, i, k;
	uint8_t *buf = NULL;
	size_t blen = 0;
	int rc = 0;

	for (i = 0; i < nfds; i += n) {
		n = nfds - i > PRIVSEP_MAX_FDS ? PRIVSEP_MAX_FDS : nfds - i;
		if (!rc)
			rc = privsep_encode_handover_fds(n, &buf, &blen);
		if (!rc) {
			/* Takes the fds, sent or closed. */
			rc = privsep_chan_send(ch, buf, blen, fds + i, n);
			privsep_chan_flush(ch);
			continue;
		}
		for (k = i; k < i + n; k++)
			if (fds[k] >= 0) {
				close(fds[k]);
				fds[k] = -1;
			}
	}
	do {
		n = len - off > PRIVSEP_CHUNK_MAX ? PRIVSEP_CHUNK_MAX :
						    len - off;
		if (!rc)
			rc = privsep_encode_chunk(PRIVSEP_HANDOVER_DATA,
						  doc + off, n, off + n == len,
						  &buf, &blen);
		if (!rc)
			rc = privsep_chan_send(ch, buf, blen, NULL, 0);
		privsep_chan_flush(ch); /* past the queue's cap, if need be */
		off += n;
	} while (!rc && off < len);
	return rc;
}

static int rx_fds(struct handover_rx *rx, struct privsep_msg *m)
{
	size_t i, cap;
	int *bigger;

	if (m->fds_lost)
		return -EBADF;
	if (rx->len)
		return -EPROTO; /* fds come first */
	if (rx->nfds + m->nfds > HANDOVER_MAX_FDS)
		return -E2BIG;
	if (rx->nfds + m->nfds > rx->fds_cap) {
		cap = rx->fds_cap ? rx->fds_cap * 2 : 64;
		bigger = realloc(rx->fds, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		rx->fds = bigger;
		rx->fds_cap = cap;
	}
	for (i = 0; i < m->nfds; i++) {
		rx->fds[rx->nfds++] = m->fds[i];
		m->fds[i] = -1;
	}
	return 0;
}

static int rx_data(struct handover_rx *rx, struct privsep_msg *m)
{
	size_t cap;
	uint8_t *bigger;

	if (rx->len + m->len > HANDOVER_DOC_MAX)
		return -E2BIG;
	if (rx->len + m->len > rx->doc_cap) {
		cap = rx->doc_cap ? rx->doc_cap : 64 * 1024;
		while (cap < rx->len + m->len)
			cap *= 2;
		bigger = realloc(rx->doc, cap);
		if (!bigger)
			return -ENOMEM;
		rx->doc = bigger;
		rx->doc_cap = cap;
	}
	if (m->len)
		memcpy(rx->doc + rx->len, m->data, m->len);
	rx->len += m->len;
	return (m->flags & PRIVSEP_LAST) ? 1 : 0;
}

int handover_rx_add(struct handover_rx *rx, struct privsep_msg *m)
{
	if (m->type == PRIVSEP_HANDOVER_FDS)
		return rx_fds(rx, m);
	if (m->type == PRIVSEP_HANDOVER_DATA)
		return rx_data(rx, m);
	return -EPROTO;
}

void handover_rx_release(struct handover_rx *rx)
{
	size_t i;

	for (i = 0; i < rx->nfds; i++)
		if (rx->fds[i] >= 0)
			close(rx->fds[i]);
	free(rx->fds);
	free(rx->doc);
	memset(rx, 0, sizeof(*rx));
}
