/*
 * The output history of one session stream (stdout or stderr): the bytes
 * received from the agent, addressed by their absolute offset in the stream,
 * and the rule that decides when a byte may be forgotten and when the
 * sender may send more. Pure data structure: no FUSE, no network, so the
 * rule is unit-tested on its own (tests/unit/test_fs_history.c).
 *
 * The rule (docs/FILES.md, memory is bounded everywhere):
 *  - a byte leaves the history only after at least one reader got it and
 *    every attached reader is past it, and only when newer bytes need the
 *    room (so a history under its cap stays readable from the start);
 *  - received bytes hold transport window until admitted; bytes are
 *    admitted while the admitted part of the history is under the cap. A
 *    history full of undelivered bytes admits nothing, so the sender stops,
 *    the way a full pipe stops its writer.
 * Memory is bounded by cap plus the transport's per-stream window.
 */
#ifndef EXECFS_FS_HISTORY_H
#define EXECFS_FS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "execfs/list.h"

#define HISTORY_DEFAULT_CAP (1024 * 1024)

struct history;

/* A reader's cursor, embedded in its owner (a file handle). */
struct history_reader {
	struct list link; /* in the history's reader list */
	uint64_t pos; /* absolute offset of the next byte it wants */
};

struct history *history_new(size_t cap);
void history_free(struct history *h);

/* Store received bytes (copied). They count as unadmitted until
 * history_admit() lets them in. 0 or -ENOMEM. */
int history_append(struct history *h, const void *data, size_t len);

/* Trim what the rule allows and is needed for room, then return how many
 * received bytes the caller may now hand back to the transport as window. */
size_t history_admit(struct history *h);

uint64_t history_start(const struct history *h); /* oldest retained byte */
uint64_t history_end(const struct history *h); /* bytes received */
size_t history_cap(const struct history *h);
/* Received bytes not yet admitted (window still held from the sender). */
size_t history_unadmitted(const struct history *h);
/* The stream the unadmitted bytes held window on is gone: they count as
 * admitted (they are here; nobody sends them again). */
void history_forget_window(struct history *h);

/* Point iov at up to max bytes from absolute offset off (>= start). Returns
 * the byte count; *iovcnt gets the number of entries used (<= maxiov). */
size_t history_iov(const struct history *h, uint64_t off, size_t max,
		   struct iovec *iov, int maxiov, int *iovcnt);
/* Copy up to len bytes from off into buf; returns the count. */
size_t history_copy(const struct history *h, uint64_t off, void *buf,
		    size_t len);

/* A reader's fields are history.c's: init, then attach. */
void history_reader_init(struct history_reader *r);
/* A new reader starts at the oldest retained byte. */
void history_reader_attach(struct history *h, struct history_reader *r);
/* Has r been handed every byte received? */
bool history_reader_at_end(const struct history *h,
			   const struct history_reader *r);
void history_reader_detach(struct history *h, struct history_reader *r);
/* r was handed bytes up to end (exclusive). */
void history_delivered(struct history *h, struct history_reader *r,
		       uint64_t end);

#endif
