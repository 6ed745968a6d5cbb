/*
 * The agent's container snapshots (docs/PROTOCOL.md, the container watch):
 * one JSON object a line, decoded into what the tree needs. Everything in
 * it comes from the network, so only names the tree accepts
 * (tree_name_valid) come out; a missing or unusable namespace, pod or
 * container name takes its default ("default", the id, the id), and a
 * container without a usable id is left out. A dot namespace is the
 * mount's own: only the node's entry ("host": true, id EXECFS_HOST_ID)
 * shows there, as <node>/.host. Fuzzed by
 * tests/fuzz/fuzz_fs_snapshot.c.
 */
#ifndef EXECFS_FS_SNAPSHOT_H
#define EXECFS_FS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

/* One listed container. Every string is owned by the snapshot. */
struct snapshot_ct {
	char *id;
	char *ns, *pod, *name; /* where it shows: /<node>/<ns>/<pod>/<name> */
	bool host; /* the node itself: it shows as /<node>/.host */
	char *info; /* its JSON object, pretty, one '\n' at the end */
	size_t info_len;
};

struct snapshot {
	char *node; /* the agent's name for its node; NULL: none usable */
	struct snapshot_ct *cts; /* owned, n of them */
	size_t n;
	size_t skipped; /* listed without a usable id */
};

/*
 * Decode one line of len bytes. 0 with *snap filled (release it), or
 * -EINVAL (not an object with a "containers" array: why says what) or
 * -ENOMEM; *snap is empty then.
 */
int snapshot_parse(const char *line, size_t len, struct snapshot *snap,
		   char *why, size_t whylen);
void snapshot_release(struct snapshot *snap);

#endif
