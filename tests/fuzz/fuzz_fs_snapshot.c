/*
 * libFuzzer target: the container lists an agent sends on its watch
 * stream, as the client turns them into the tree (fs/tree.c's
 * tree_snapshot, after the checks node.c makes on each line). The input is
 * a series of lines, each one snapshot, applied in order, so containers
 * appear, move, are renamed, collide and go. After each, every name in the
 * tree must be one tree_name_valid() accepts, and the levels must be what
 * they are: node / namespace / pod / container.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/log.h"
#include "execfs/proto.h"
#include "fs.h"
#include "execfs/list.h"
#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum inode_kind levels[] = { INODE_NODE, INODE_NS, INODE_POD,
					  INODE_CONTAINER };

static void check(const struct inode *dir, size_t depth)
{
	const struct list *pos;

	for (pos = dir->children.next; pos != &dir->children; pos = pos->next) {
		const struct inode *c = list_entry(pos, struct inode, sibling);

		if (c->kind == INODE_FILE)
			continue;
		if (c->kind != levels[depth] ||
		    !tree_name_valid(c->name, strlen(c->name)))
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
		json_error_t jerr;
		json_t *doc, *list;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		doc = json_loadb(p, (size_t)(nl - p), 0, &jerr);
		list = doc ? json_object_get(doc, EXECFS_J_CONTAINERS) : NULL;
		if (json_is_array(list))
			tree_snapshot(fs.tree, (struct node *)&fs, "n1", list);
		json_decref(doc);
		check(tree_root(fs.tree), 0);
	}
	tree_free(fs.tree);
	return 0;
}
