/*
 * Looking up one key in a BoltDB file (the format of go.etcd.io/bbolt),
 * read-only: where Podman 4 keeps what no plain file holds (which pod a
 * container is in, the pod's name, whether a container is a pod's infra
 * container). Only what a lookup needs is implemented: the two meta pages
 * (the valid one with the newer transaction), branch and leaf pages,
 * nested and inline buckets, overflow pages. Reads go through pread, page
 * by page, so a large database costs a few pages per lookup, and a writer
 * that never overwrites pages in place (bbolt's copy-on-write) cannot show
 * a half-written tree through the meta we picked. Every offset, size and
 * page number is checked against the page and the file: a corrupt or
 * hostile file gives -EINVAL, never a read out of bounds.
 */
#ifndef EXECFS_AGENT_BOLTDB_H
#define EXECFS_AGENT_BOLTDB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Bounds on one lookup: nested buckets and tree depth, one page's size
 * (with its overflow), the value returned. */
#define BOLTDB_MAX_DEPTH 32
#define BOLTDB_MAX_PAGE (16 * 1024 * 1024)
#define BOLTDB_MAX_VALUE (4 * 1024 * 1024)

struct boltdb;

/* Open path (O_RDONLY, O_NONBLOCK: never a FIFO) and read its meta; st
 * (may be NULL) gets the opened file's fstat. 0, -ENOENT, -EINVAL (not a
 * bolt file, or both metas bad), -ENOMEM. */
int boltdb_open(const char *path, struct boltdb **out, struct stat *st);
/* The same over a buffer (borrowed until boltdb_close; tests, fuzzing). */
int boltdb_open_mem(const void *data, size_t len, struct boltdb **out);
void boltdb_close(struct boltdb *db);

/*
 * The value of key in the bucket reached through buckets[0..nbuckets-1]
 * (each nested in the one before, the first at the top level), as a
 * malloc'ed copy with a NUL after it (*len excludes it). -ENOENT when a
 * bucket or the key is missing (or the key names a bucket), -EINVAL for a
 * corrupt file, -ENOMEM.
 */
int boltdb_get(struct boltdb *db, const char *const *buckets, size_t nbuckets,
	       const char *key, size_t keylen, char **val, size_t *len);

#endif
