/*
 * Output history: a list of chunks holding the retained bytes of one
 * stream, plus the trim/admit rule described in history.h. Chunks grow with
 * the history (4 KiB up to 64 KiB) so that the thousand idle sessions of a
 * mount cost little, while a busy stream is held in few large pieces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

#define CHUNK_MIN 4096
#define CHUNK_MAX (64 * 1024)

struct chunk {
	struct chunk *next;
	size_t cap, len;
	uint8_t data[];
};

struct history {
	size_t cap;
	uint64_t start; /* absolute offset of head->data[head_off] */
	uint64_t end; /* bytes received in total */
	size_t head_off; /* trimmed bytes at the front of head */
	size_t unadmitted; /* newest received bytes still holding window */
	uint64_t delivered; /* furthest offset any reader was handed */
	struct chunk *head, *tail; /* owned */
	struct list readers; /* struct history_reader, owned by file handles */
};

struct history *history_new(size_t cap)
{
	struct history *h = calloc(1, sizeof(*h)); /* owned by the caller */

	if (!h)
		return NULL;
	h->cap = cap ? cap : HISTORY_DEFAULT_CAP;
	list_init(&h->readers);
	return h;
}

void history_free(struct history *h)
{
	struct chunk *c, *next;
	struct list *pos, *tmp;

	if (!h)
		return;
	for (c = h->head; c; c = next) {
		next = c->next;
		free(c);
	}
	/* Readers belong to their handles; just unhook them. */
	list_for_each_safe(pos, tmp, &h->readers)
		list_del(pos);
	free(h);
}

int history_append(struct history *h, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		struct chunk *c = h->tail;
		size_t n;

		if (!c || c->len == c->cap) {
			size_t want = h->end - h->start;

			if (want < CHUNK_MIN)
				want = CHUNK_MIN;
			if (want > CHUNK_MAX)
				want = CHUNK_MAX;
			c = malloc(sizeof(*c) + want); /* owned by h's list */
			if (!c)
				return -ENOMEM;
			c->next = NULL;
			c->cap = want;
			c->len = 0;
			if (h->tail)
				h->tail->next = c;
			else
				h->head = c;
			h->tail = c;
		}
		n = c->cap - c->len;
		if (n > len)
			n = len;
		memcpy(c->data + c->len, p, n);
		c->len += n;
		p += n;
		len -= n;
		h->end += n;
		h->unadmitted += n;
	}
	return 0;
}

/* How far the front may be cut: delivered to someone, and every attached
 * reader is past it. */
static uint64_t history_trim_limit(const struct history *h)
{
	uint64_t lim = h->delivered;
	struct list *pos;

	for (pos = h->readers.next; pos != &h->readers; pos = pos->next) {
		struct history_reader *r =
			list_entry(pos, struct history_reader, link);

		if (r->pos < lim)
			lim = r->pos;
	}
	if (lim > h->end)
		lim = h->end;
	return lim < h->start ? h->start : lim;
}

static void history_trim(struct history *h, size_t n)
{
	while (n > 0 && h->head) {
		struct chunk *c = h->head;
		size_t avail = c->len - h->head_off;
		size_t k = n < avail ? n : avail;

		h->head_off += k;
		h->start += k;
		n -= k;
		/* Keep the tail chunk even when emptied: appends refill it. */
		if (h->head_off == c->len && c != h->tail) {
			h->head = c->next;
			h->head_off = 0;
			free(c);
		}
	}
}

size_t history_admit(struct history *h)
{
	size_t admitted = (size_t)(h->end - h->start) - h->unadmitted;
	size_t room, n;

	if (admitted + h->unadmitted > h->cap) {
		size_t need = admitted + h->unadmitted - h->cap;
		uint64_t can = history_trim_limit(h) - h->start;

		if (need > can)
			need = (size_t)can;
		/* Never trim into the unadmitted bytes: they hold the window
		 * that throttles the sender and nobody has seen them. */
		if (need > admitted)
			need = admitted;
		history_trim(h, need);
		admitted -= need;
	}
	room = h->cap > admitted ? h->cap - admitted : 0;
	n = h->unadmitted < room ? h->unadmitted : room;
	h->unadmitted -= n;
	return n;
}

uint64_t history_start(const struct history *h)
{
	return h->start;
}

uint64_t history_end(const struct history *h)
{
	return h->end;
}

size_t history_cap(const struct history *h)
{
	return h->cap;
}

void history_forget_window(struct history *h)
{
	h->unadmitted = 0;
}

size_t history_unadmitted(const struct history *h)
{
	return h->unadmitted;
}

size_t history_iov(const struct history *h, uint64_t off, size_t max,
		   struct iovec *iov, int maxiov, int *iovcnt)
{
	const struct chunk *c = h->head;
	uint64_t cpos = h->start - h->head_off; /* offset of c->data[0] */
	size_t total = 0;
	int n = 0;

	if (off < h->start || off >= h->end) {
		*iovcnt = 0;
		return 0;
	}
	while (c && cpos + c->len <= off) {
		cpos += c->len;
		c = c->next;
	}
	while (c && total < max && n < maxiov) {
		size_t from = (size_t)(off + total - cpos);
		size_t k = c->len - from;

		if (k > max - total)
			k = max - total;
		iov[n].iov_base = (void *)(c->data + from);
		iov[n].iov_len = k;
		n++;
		total += k;
		cpos += c->len;
		c = c->next;
	}
	*iovcnt = n;
	return total;
}

size_t history_copy(const struct history *h, uint64_t off, void *buf,
		    size_t len)
{
	struct iovec iov[16];
	size_t done = 0;

	while (done < len) {
		int cnt, i;
		size_t got =
			history_iov(h, off + done, len - done, iov, 16, &cnt);

		if (got == 0)
			break;
		for (i = 0; i < cnt; i++) {
			memcpy((uint8_t *)buf + done, iov[i].iov_base,
			       iov[i].iov_len);
			done += iov[i].iov_len;
		}
	}
	return done;
}

void history_reader_init(struct history_reader *r)
{
	list_init(&r->link);
	r->pos = 0;
}

bool history_reader_at_end(const struct history *h,
			   const struct history_reader *r)
{
	return r->pos >= h->end;
}

void history_reader_attach(struct history *h, struct history_reader *r)
{
	r->pos = h->start;
	list_add_tail(&h->readers, &r->link);
}

void history_reader_detach(struct history *h, struct history_reader *r)
{
	list_del(&r->link);
}

void history_delivered(struct history *h, struct history_reader *r,
		       uint64_t end)
{
	r->pos = end;
	if (end > h->delivered)
		h->delivered = end;
}
