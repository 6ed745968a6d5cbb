/*
 * libFuzzer target: the container lists an agent sends on its watch
 * stream, as the client turns them into the tree: fs/snapshot.c decodes
 * each line (as node.c has it do) and fs/tree.c's tree_snapshot applies
 * it. The input is a series of lines, each one snapshot, applied in order,
 * so containers appear, move, are renamed, collide and go. After each,
 * every name in the tree must be one tree_name_valid() accepts, and the
 * levels must be what they are: node / namespace / pod / container.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/log.h"
#include "fs.h"
#include "snapshot.h"
#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum inode_kind levels[] = { INODE_NODE, INODE_NS, INODE_POD,
					  INODE_CONTAINER };

static void check(const struct inode *dir, size_t depth)
{
	const struct inode *c = NULL;

	while ((c = inode_next_child(dir, c))) {
		const char *name = inode_name(c);

		if (inode_kind(c) == INODE_FILE)
			continue;
		if (inode_kind(c) != levels[depth] ||
		    !tree_name_valid(name, strlen(name)))
			abort();
		if (depth + 1 < sizeof(levels) / sizeof(levels[0]))
			check(c, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	static struct execfs fs;
	const char *p = (const char *)data, *end = p + size, *nl;

	if (!quiet) {
		log_set_level(LOG_LVL_ERROR);
		quiet = 1;
	}
	memset(&fs, 0, sizeof(fs));
	fs.unmounting = true;
	fs.history_cap = 4096;
	fs.tree = tree_new(&fs);
	if (!fs.tree)
		return 0;
	for (; p < end; p = nl + 1) {
		struct snapshot snap;
		char why[160];
		size_t i;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (snapshot_parse(p, (size_t)(nl - p), &snap, why,
				   sizeof(why)) == 0) {
			/* What comes out is what the tree takes. */
			for (i = 0; i < snap.n; i++)
				if (!tree_name_valid(snap.cts[i].ns,
						     strlen(snap.cts[i].ns)) ||
				    !tree_name_valid(snap.cts[i].pod,
						     strlen(snap.cts[i].pod)) ||
				    !tree_name_valid(snap.cts[i].name,
						     strlen(snap.cts[i].name)))
					abort();
			tree_snapshot(fs.tree, (struct node *)&fs, "n1", &snap);
			snapshot_release(&snap);
		}
		check(tree_root(fs.tree), 0);
	}
	tree_free(fs.tree);
	return 0;
}
