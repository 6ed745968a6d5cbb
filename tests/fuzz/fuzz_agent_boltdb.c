/*
 * libFuzzer target: BoltDB files as the agent reads Podman's database
 * (boltdb.c): any file, however corrupt, gives a value, -ENOENT or
 * -EINVAL, never a read outside it, a loop or an unbounded allocation.
 * The lookups are Podman's (a container's config and pod, a pod's name)
 * and one for a key taken from the input's last bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boltdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void get(struct boltdb *db, const char *const *buckets, size_t n,
		const char *key, size_t klen)
{
	char *val;
	size_t len;

	if (boltdb_get(db, buckets, n, key, klen, &val, &len) == 0) {
		if (len > BOLTDB_MAX_VALUE || val[len] != 0)
			abort();
		free(val);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctr[] = { "ctr", "a" };
	static const char *const pods[] = { "allPods" };
	struct boltdb *db;
	size_t klen = size < 8 ? size : 8;

	if (boltdb_open_mem(data, size, &db) < 0)
		return 0;
	get(db, ctr, 2, "config", 6);
	get(db, ctr, 1, "a", 1);
	get(db, pods, 1, "p", 1);
	get(db, NULL, 0, (const char *)data + size - klen, klen);
	boltdb_close(db);
	return 0;
}
