/*
 * Resuming a byte stream after its connection was lost (docs/PROTOCOL.md,
 * "Resuming"): the offset bookkeeping both ends of a resumable stream keep,
 * written once for the agent's stdout and stderr, the client's stdin (the
 * senders) and the client's stdout and stderr, the agent's stdin (the
 * receivers).
 *
 * The bytes of a stream are numbered from 0 across every HTTP/2 stream that
 * carries them; a stream opened on a new connection names the offset of its
 * body's first byte (the x-execfs-offset header, resume_offset_parse).
 *
 * Sender (struct resume_tx). It counts every byte it puts into a stream
 * (end). When a stream is lost, the bytes the peer may lack come back from
 * the transport (h2_stream_take_unacked: bytes sent but not known to have
 * arrived, then bytes never sent) and are held; the next stream carries
 * them first, from resume_tx_resend_from(), and new bytes only after them.
 * A peer that asks to resume at offset N has every byte before N:
 *
 *      0 ........ first ........................ end
 *                   [ held + attached stream's unacked )
 *      N < first: those bytes are gone, -ERANGE
 *      N > end: never sent, -ERANGE
 *      first <= N <= end: bytes first..N are dropped, N..end sent again.
 *
 * Receiver (struct resume_rx). It counts what it has (received: the offset
 * a resume asks for). Given a stream whose body starts at offset N, a gap
 * (N past received) is refused with -ERANGE, and the first received - N
 * bytes of the body are ones it has already: resume_rx_take() says how many
 * of each arriving chunk to drop, so nothing is delivered twice.
 *
 * Offsets are 64-bit: a count that would wrap is refused (-EOVERFLOW), and
 * so is an offset header beyond 2^64 - 1 (-EINVAL). Both structs are
 * embedded in their owner (init/release); their fields belong to resume.c.
 * Nothing here blocks or owns a stream.
 */
#ifndef EXECFS_RESUME_H
#define EXECFS_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct evbuffer;
struct h2_stream;

/* Room for "18446744073709551615" and its NUL. */
#define RESUME_OFFSET_LEN 21

/* An offset header's value: decimal digits only (no sign, no blanks),
 * 0..UINT64_MAX; NULL (no header) is 0. 0 with *off set, or -EINVAL. */
int resume_offset_parse(const char *text, uint64_t *off);
/* The header value for off into buf (RESUME_OFFSET_LEN bytes); returns buf. */
char *resume_offset_format(uint64_t off, char *buf);

/* ---- sender ------------------------------------------------------------- */

struct resume_tx {
	uint64_t end; /* bytes put into streams, in all */
	/* owned, or NULL: bytes [end - length, end) the peer may lack, taken
	 * back from lost streams; sent again before anything new */
	struct evbuffer *held;
};

void resume_tx_init(struct resume_tx *tx);
/* Frees what is held. */
void resume_tx_release(struct resume_tx *tx);

/* Bytes put into streams, in all: the offset of the next new byte. */
uint64_t resume_tx_end(const struct resume_tx *tx);
/* Bytes held for the next stream. */
size_t resume_tx_held(const struct resume_tx *tx);
/* The offset of the first byte the next stream carries (the oldest held
 * byte, or end): the offset header of a resumed stream. */
uint64_t resume_tx_resend_from(const struct resume_tx *tx);

/* Put new bytes into st and count them (h2_stream_write). -EBUSY while
 * held bytes still wait for st (they go first: resume_tx_pump), -EOVERFLOW
 * when the count would wrap, else h2_stream_write's result. */
int resume_tx_write(struct resume_tx *tx, struct h2_stream *st, const void *buf,
		    size_t len);
/* Count n new bytes the caller put into its stream itself (for instance
 * with h2_stream_read_fd). 0, or -EOVERFLOW (nothing counted). */
int resume_tx_wrote(struct resume_tx *tx, size_t n);

/* Send held bytes on st while it has room. True once nothing is held (new
 * bytes may follow); false while some wait for on_writable. */
bool resume_tx_pump(struct resume_tx *tx, struct h2_stream *st);

/* st (which kept what it sent: h2_stream_keep_sent) is lost: hold what the
 * peer may lack. 0, or -ENOMEM (those bytes are gone: a resume behind them
 * is refused). */
int resume_tx_lose(struct resume_tx *tx, struct h2_stream *st);
/* Nobody will resume: forget what is held. */
void resume_tx_drop(struct resume_tx *tx);
/* The state of a sender carried over from another process (an agent's
 * upgrade): end bytes sent in all, the last len of them (held) held. 0,
 * -EINVAL (len > end) or -ENOMEM; what was held before is dropped. */
int resume_tx_restore(struct resume_tx *tx, uint64_t end, const void *held,
		      size_t len);
/* Copy what is held (exactly resume_tx_held() bytes) into buf. 0, or
 * -EINVAL when len is not that. */
int resume_tx_copy_held(const struct resume_tx *tx, void *buf, size_t len);

/* The oldest offset a resume may start at, with attached the stream still
 * carrying the bytes (its unacked bytes count as held), or NULL. */
uint64_t resume_tx_first(const struct resume_tx *tx,
			 const struct h2_stream *attached);
/*
 * The peer has every byte before off and asks for the rest (a new stream,
 * while attached, or NULL, may still carry some). 0: attached's unacked
 * bytes were taken back (the caller drops that stream), and what is held
 * starts at off. -ERANGE: off is before resume_tx_first() or past end;
 * -ENOMEM. Nothing changes on an error.
 */
int resume_tx_seek(struct resume_tx *tx, uint64_t off,
		   struct h2_stream *attached);

/* ---- receiver ----------------------------------------------------------- */

struct resume_rx {
	uint64_t received; /* bytes had, in all: where a resume starts */
	uint64_t skip; /* bytes of the current stream the receiver had */
};

void resume_rx_init(struct resume_rx *rx);
/* A receiver carried over from another process that had received bytes
 * in all, between streams. */
void resume_rx_restore(struct resume_rx *rx, uint64_t received);
/* Bytes had, in all: the offset to ask a resumed stream for. */
uint64_t resume_rx_received(const struct resume_rx *rx);
/* A stream whose body starts at offset first takes over. 0, or -ERANGE
 * when first is past what was received (bytes would be missing). */
int resume_rx_begin(struct resume_rx *rx, uint64_t first);
/* len bytes arrived on the current stream: how many of the leading ones
 * the receiver had already (drop them; the rest are new and counted), or
 * -EOVERFLOW (nothing counted) when the count would wrap. */
ssize_t resume_rx_take(struct resume_rx *rx, size_t len);

#endif
