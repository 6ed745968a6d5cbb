/*
 * A read-only BoltDB lookup (see boltdb.h). The layout, all little-endian:
 *
 *   page      id u64, flags u16, count u16, overflow u32, then the body;
 *             a page with overflow N spans N + 1 pages
 *   meta      (pages 0 and 1) magic u32, version u32, page size u32,
 *             flags u32, root bucket {root u64, sequence u64}, freelist
 *             u64, high-water page u64, txid u64, checksum u64: FNV-1a 64
 *             of the 56 bytes before it
 *   branch    count elements {pos u32, ksize u32, page u64}, the key at
 *             the element's address + pos; keys sorted
 *   leaf      count elements {flags u32, pos u32, ksize u32, vsize u32},
 *             the value right after the key; flag 1: a nested bucket,
 *             whose value is {root u64, sequence u64} and, when root is
 *             0, an inline leaf page right after
 */
#include "boltdb.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_HDR 16
#define ELEM_SIZE 16
#define BUCKET_HDR 16
#define META_SUM_LEN 56

#define F_BRANCH 0x01
#define F_LEAF 0x02
#define F_META 0x04
#define LEAF_BUCKET 0x01

#define BOLT_MAGIC 0xED0CDAEDu
#define BOLT_VERSION 2
#define PAGE_MIN 512
#define PAGE_MAX 65536

struct boltdb {
	int fd; /* owned, or -1 over memory */
	const uint8_t *mem; /* borrowed */
	uint64_t size;
	uint32_t pagesize;
	uint64_t root; /* the top-level bucket's root page */
	uint64_t npages; /* pages a lookup may visit: [2, npages) */
};

/* Where a bucket's tree starts: a page, or an inline leaf page (owned). */
struct bucket_ref {
	uint64_t root;
	uint8_t *inline_page;
	size_t inline_len;
};

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static int read_at(const struct boltdb *db, uint64_t off, size_t len,
		   uint8_t *buf)
{
	size_t done = 0;
	ssize_t n;

	if (off > db->size || len > db->size - off)
		return -EINVAL;
	if (db->mem) {
		memcpy(buf, db->mem + off, len);
		return 0;
	}
	while (done < len) {
		n = pread(db->fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EINVAL;
		done += (size_t)n;
	}
	return 0;
}

static uint64_t fnv1a64(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The meta at byte offset off; true when it is valid. */
static bool meta_read(const struct boltdb *db, uint64_t off, uint32_t *psize,
		      uint64_t *root, uint64_t *hwm, uint64_t *txid)
{
	uint8_t buf[PAGE_HDR + 64];
	const uint8_t *m = buf + PAGE_HDR;
	uint32_t ps;

	if (read_at(db, off, sizeof(buf), buf) < 0)
		return false;
	if (!(get16(buf + 8) & F_META) || get32(m) != BOLT_MAGIC ||
	    get32(m + 4) != BOLT_VERSION ||
	    get64(m + META_SUM_LEN) != fnv1a64(m, META_SUM_LEN))
		return false;
	ps = get32(m + 8);
	if (ps < PAGE_MIN || ps > PAGE_MAX || (ps & (ps - 1)))
		return false;
	*psize = ps;
	*root = get64(m + 16);
	*hwm = get64(m + 40);
	*txid = get64(m + 48);
	return true;
}

static int db_init(struct boltdb *db)
{
	uint64_t root[2] = { 0 }, hwm[2] = { 0 }, txid[2] = { 0 };
	uint32_t ps[2] = { 0 };
	bool ok[2];
	int pick;

	ok[0] = meta_read(db, 0, &ps[0], &root[0], &hwm[0], &txid[0]);
	/* The second meta is one page in; without a valid first one, guess
	 * the usual page size. */
	ok[1] = meta_read(db, ok[0] ? ps[0] : 4096, &ps[1], &root[1], &hwm[1],
			  &txid[1]);
	if (ok[1] && ok[0] && ps[1] != ps[0])
		ok[1] = false;
	if (!ok[0] && !ok[1])
		return -EINVAL;
	pick = !ok[0] || (ok[1] && txid[1] > txid[0]) ? 1 : 0;
	db->pagesize = ps[pick];
	db->root = root[pick];
	db->npages = db->size / db->pagesize;
	if (hwm[pick] < db->npages)
		db->npages = hwm[pick];
	return 0;
}

int boltdb_open_mem(const void *data, size_t len, struct boltdb **out)
{
	struct boltdb *db = calloc(1, sizeof(*db));
	int rc;

	if (!db)
		return -ENOMEM;
	db->fd = -1;
	db->mem = data;
	db->size = len;
	rc = db_init(db);
	if (rc < 0) {
		free(db);
		return rc;
	}
	*out = db;
	return 0;
}

int boltdb_open(const char *path, struct boltdb **out, struct stat *pst)
{
	struct boltdb *db;
	struct stat st;
	int rc;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (db->fd < 0) {
		rc = -errno;
		free(db);
		return rc;
	}
	if (fstat(db->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	db->size = (uint64_t)st.st_size;
	if (pst)
		*pst = st;
	rc = db_init(db);
	if (rc < 0)
		goto out_close;
	*out = db;
	return 0;

out_close:
	close(db->fd);
	free(db);
	return rc;
}

void boltdb_close(struct boltdb *db)
{
	if (!db)
		return;
	if (db->fd >= 0)
		close(db->fd);
	free(db);
}

/* Page pgid with its overflow, malloc'ed into *page. */
static int page_load(const struct boltdb *db, uint64_t pgid, uint8_t **page,
		     size_t *len)
{
	uint8_t hdr[PAGE_HDR];
	uint64_t span;
	int rc;

	*page = NULL;
	if (pgid < 2 || pgid >= db->npages)
		return -EINVAL;
	rc = read_at(db, pgid * db->pagesize, sizeof(hdr), hdr);
	if (rc < 0)
		return rc;
	span = (uint64_t)get32(hdr + 12) + 1;
	if (get64(hdr) != pgid || span > db->npages - pgid ||
	    span * db->pagesize > BOLTDB_MAX_PAGE)
		return -EINVAL;
	*len = (size_t)(span * db->pagesize);
	*page = malloc(*len);
	if (!*page)
		return -ENOMEM;
	rc = read_at(db, pgid * db->pagesize, *len, *page);
	if (rc < 0) {
		free(*page);
		*page = NULL;
	}
	return rc;
}

static int key_cmp(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Element i's key in page p of len bytes (extra: the bytes that follow
 * the key and must fit too: a leaf's value). */
static int elem_key(const uint8_t *p, size_t len, size_t i, uint64_t pos,
		    uint64_t ksize, uint64_t extra, const uint8_t **key)
{
	uint64_t at = PAGE_HDR + (uint64_t)i * ELEM_SIZE + pos;

	if (at > len || ksize > len - at || extra > len - at - ksize)
		return -EINVAL;
	*key = p + at;
	return 0;
}

/* Search leaf page p for key: 0 with its flags and a copy of its value,
 * -ENOENT when absent. */
static int leaf_find(const uint8_t *p, size_t len, const char *key, size_t klen,
		     uint32_t *flags, uint8_t **val, size_t *vlen)
{
	size_t count = get16(p + 10), i;
	const uint8_t *e, *k;
	uint32_t vsize;
	int rc;

	if (PAGE_HDR + count * ELEM_SIZE > len)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		e = p + PAGE_HDR + i * ELEM_SIZE;
		vsize = get32(e + 12);
		rc = elem_key(p, len, i, get32(e + 4), get32(e + 8), vsize, &k);
		if (rc < 0)
			return rc;
		if (key_cmp(k, get32(e + 8), key, klen))
			continue;
		if (vsize > BOLTDB_MAX_VALUE)
			return -EINVAL;
		*flags = get32(e);
		*val = malloc((size_t)vsize + 1);
		if (!*val)
			return -ENOMEM;
		memcpy(*val, k + get32(e + 8), vsize);
		(*val)[vsize] = 0;
		*vlen = vsize;
		return 0;
	}
	return -ENOENT;
}

/* The child of branch page p to descend into for key. */
static int branch_child(const uint8_t *p, size_t len, const char *key,
			size_t klen, uint64_t *child)
{
	size_t count = get16(p + 10), i, pick = 0;
	const uint8_t *e, *k;
	int rc;

	if (!count || PAGE_HDR + count * ELEM_SIZE > len)
		return -EINVAL;
	/* The last element whose key is <= key (the first when none). */
	for (i = 0; i < count; i++) {
		e = p + PAGE_HDR + i * ELEM_SIZE;
		rc = elem_key(p, len, i, get32(e), get32(e + 4), 0, &k);
		if (rc < 0)
			return rc;
		if (key_cmp(k, get32(e + 4), key, klen) > 0)
			break;
		pick = i;
	}
	*child = get64(p + PAGE_HDR + pick * ELEM_SIZE + 8);
	return 0;
}

static int bucket_find(const struct boltdb *db, const struct bucket_ref *b,
		       const char *key, size_t klen, uint32_t *flags,
		       uint8_t **val, size_t *vlen)
{
	uint64_t pgid = b->root;
	uint8_t *page;
	size_t len;
	int depth, rc;

	if (!pgid) {
		if (b->inline_len < PAGE_HDR ||
		    !(get16(b->inline_page + 8) & F_LEAF))
			return -EINVAL;
		return leaf_find(b->inline_page, b->inline_len, key, klen,
				 flags, val, vlen);
	}
	for (depth = 0; depth < BOLTDB_MAX_DEPTH; depth++) {
		rc = page_load(db, pgid, &page, &len);
		if (rc < 0)
			return rc;
		if (get16(page + 8) & F_LEAF)
			rc = leaf_find(page, len, key, klen, flags, val, vlen);
		else if (get16(page + 8) & F_BRANCH)
			rc = branch_child(page, len, key, klen, &pgid);
		else
			rc = -EINVAL;
		if (rc < 0 || (get16(page + 8) & F_LEAF)) {
			free(page);
			return rc;
		}
		free(page);
	}
	return -EINVAL;
}

/* A nested bucket's value into a reference (taking val). */
static int bucket_ref_from(struct bucket_ref *b, uint8_t *val, size_t vlen)
{
	if (vlen < BUCKET_HDR) {
		free(val);
		return -EINVAL;
	}
	free(b->inline_page);
	b->root = get64(val);
	b->inline_page = NULL;
	b->inline_len = 0;
	if (b->root) {
		free(val);
		return 0;
	}
	/* Inline: the leaf page follows the header. */
	memmove(val, val + BUCKET_HDR, vlen - BUCKET_HDR);
	b->inline_page = val;
	b->inline_len = vlen - BUCKET_HDR;
	return 0;
}

int boltdb_get(struct boltdb *db, const char *const *buckets, size_t nbuckets,
	       const char *key, size_t keylen, char **out, size_t *outlen)
{
	struct bucket_ref b = { .root = db->root };
	uint8_t *val = NULL;
	uint32_t flags;
	size_t vlen, i;
	int rc = 0;

	if (nbuckets > BOLTDB_MAX_DEPTH)
		return -EINVAL;
	for (i = 0; i < nbuckets && !rc; i++) {
		rc = bucket_find(db, &b, buckets[i], strlen(buckets[i]), &flags,
				 &val, &vlen);
		if (!rc && !(flags & LEAF_BUCKET)) {
			free(val);
			rc = -ENOENT;
		}
		if (!rc)
			rc = bucket_ref_from(&b, val, vlen);
	}
	if (!rc)
		rc = bucket_find(db, &b, key, keylen, &flags, &val, &vlen);
	if (!rc && (flags & LEAF_BUCKET)) {
		free(val);
		rc = -ENOENT;
	}
	free(b.inline_page);
	if (rc < 0)
		return rc;
	*out = (char *)val;
	*outlen = vlen;
	return 0;
}
