/*
 * The offset bookkeeping of a resumable stream, sender and receiver (see
 * include/execfs/resume.h). The only transport calls are the h2_stream
 * ones that put bytes into a stream, ask what room it has and take back
 * what it did not deliver; the arithmetic is here and nowhere else.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "execfs/h2.h"
#include "execfs/resume.h"

/* strtoull's range is the offsets' range. */
_Static_assert(ULLONG_MAX == UINT64_MAX, "unsigned long long is 64-bit");

int resume_offset_parse(const char *text, uint64_t *off)
{
	unsigned long long v;
	char *end;

	if (!text) {
		*off = 0;
		return 0;
	}
	/* Digits only: strtoull would also take blanks, a sign (and wrap a
	 * minus around) and a 0x prefix. */
	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*off = (uint64_t)v;
	return 0;
}

char *resume_offset_format(uint64_t off, char *buf)
{
	snprintf(buf, RESUME_OFFSET_LEN, "%" PRIu64, off);
	return buf;
}

/* ---- sender ------------------------------------------------------------- */

void resume_tx_init(struct resume_tx *tx)
{
	tx->end = 0;
	tx->held = NULL;
}

void resume_tx_drop(struct resume_tx *tx)
{
	if (tx->held)
		evbuffer_free(tx->held);
	tx->held = NULL;
}

void resume_tx_release(struct resume_tx *tx)
{
	resume_tx_drop(tx);
}

uint64_t resume_tx_end(const struct resume_tx *tx)
{
	return tx->end;
}

size_t resume_tx_held(const struct resume_tx *tx)
{
	return tx->held ? evbuffer_get_length(tx->held) : 0;
}

uint64_t resume_tx_resend_from(const struct resume_tx *tx)
{
	return tx->end - resume_tx_held(tx);
}

int resume_tx_wrote(struct resume_tx *tx, size_t n)
{
	if (n > UINT64_MAX - tx->end)
		return -EOVERFLOW;
	tx->end += n;
	return 0;
}

int resume_tx_write(struct resume_tx *tx, struct h2_stream *st, const void *buf,
		    size_t len)
{
	int rc;

	if (resume_tx_held(tx) > 0)
		return -EBUSY;
	if (len > UINT64_MAX - tx->end)
		return -EOVERFLOW;
	rc = h2_stream_write(st, buf, len);
	if (rc == 0)
		tx->end += len;
	return rc;
}

bool resume_tx_pump(struct resume_tx *tx, struct h2_stream *st)
{
	size_t k, room;

	while ((k = resume_tx_held(tx)) > 0) {
		room = h2_stream_write_space(st);
		if (room == 0)
			return false; /* on_writable is owed */
		if (k > room)
			k = room;
		if (h2_stream_write(st, evbuffer_pullup(tx->held, (ssize_t)k),
				    k) < 0)
			return false; /* the stream is going: its close says */
		evbuffer_drain(tx->held, k);
	}
	resume_tx_drop(tx); /* nothing held: no buffer kept either */
	return true;
}

static int held_alloc(struct resume_tx *tx)
{
	if (!tx->held)
		tx->held = evbuffer_new(); /* owned by tx */
	return tx->held ? 0 : -ENOMEM;
}

int resume_tx_lose(struct resume_tx *tx, struct h2_stream *st)
{
	if (held_alloc(tx) < 0)
		return -ENOMEM;
	/* In front of what is held: the stream's bytes are older. */
	h2_stream_take_unacked(st, tx->held);
	return 0;
}

int resume_tx_restore(struct resume_tx *tx, uint64_t end, const void *held,
		      size_t len)
{
	if (len > end)
		return -EINVAL;
	resume_tx_drop(tx);
	if (len &&
	    (held_alloc(tx) < 0 || evbuffer_add(tx->held, held, len) < 0))
		return -ENOMEM;
	tx->end = end;
	return 0;
}

int resume_tx_copy_held(const struct resume_tx *tx, void *buf, size_t len)
{
	size_t n = resume_tx_held(tx);

	if (len != n)
		return -EINVAL;
	if (n && evbuffer_copyout(tx->held, buf, n) != (ev_ssize_t)n)
		return -EIO;
	return 0;
}

uint64_t resume_tx_first(const struct resume_tx *tx,
			 const struct h2_stream *attached)
{
	uint64_t back = resume_tx_held(tx);

	if (attached)
		back += h2_stream_unacked(attached);
	/* held and unacked are bytes that were counted: never more than end
	 * unless a caller put bytes in without counting them. */
	return back < tx->end ? tx->end - back : 0;
}

int resume_tx_seek(struct resume_tx *tx, uint64_t off,
		   struct h2_stream *attached)
{
	uint64_t first = resume_tx_first(tx, attached);
	size_t have;

	if (off < first || off > tx->end)
		return -ERANGE;
	if (attached && resume_tx_lose(tx, attached) < 0)
		return -ENOMEM;
	/* What is held now is [end - have, end): drop what the peer has. */
	have = resume_tx_held(tx);
	if (have > tx->end - off)
		evbuffer_drain(tx->held, have - (size_t)(tx->end - off));
	return 0;
}

/* ---- receiver ----------------------------------------------------------- */

void resume_rx_init(struct resume_rx *rx)
{
	rx->received = 0;
	rx->skip = 0;
}

void resume_rx_restore(struct resume_rx *rx, uint64_t received)
{
	rx->received = received;
	rx->skip = 0;
}

uint64_t resume_rx_received(const struct resume_rx *rx)
{
	return rx->received;
}

int resume_rx_begin(struct resume_rx *rx, uint64_t first)
{
	if (first > rx->received)
		return -ERANGE;
	rx->skip = rx->received - first;
	return 0;
}

ssize_t resume_rx_take(struct resume_rx *rx, size_t len)
{
	size_t k = len < rx->skip ? len : (size_t)rx->skip;

	if (len - k > UINT64_MAX - rx->received)
		return -EOVERFLOW;
	rx->skip -= k;
	rx->received += len - k;
	return (ssize_t)k;
}
