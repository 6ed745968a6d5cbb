/*
 * What the inventory's files share, and nothing else includes:
 *
 *   inventory.c        scanning the state roots, the records, inotify and
 *                      the timer, lookups
 *   inventory_view.c   the list a scan makes visible: ids on the node,
 *                      contested names, the order, the by-id index
 *   inventory_json.c   the list as JSON (docs/PROTOCOL.md) and the
 *                      worker's mirror of it
 */
#ifndef EXECFS_AGENT_INVENTORY_INTERNAL_H
#define EXECFS_AGENT_INVENTORY_INTERNAL_H

#include "inventory.h"
#include "ocistate.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define INVENTORY_MAX_CONTAINERS 65536

enum rec_kind {
	REC_GOOD,
	REC_PENDING, /* a directory without state.json (yet) */
	REC_BAD, /* a state.json that failed to parse */
};

/* One container directory, kept across scans while its files stay the
 * same: a bad one too, so an unchanged broken file is logged only once.
 * oci.c.root and oci.c.runtime_id say where it is, whatever its kind. */
struct inv_rec {
	struct oci_record oci;
	enum rec_kind kind;
	int wd; /* inotify watch on the directory, or -1 */
	bool taken; /* carried into the list being built */
	enum container_state state; /* as of the last scan */
	char *key; /* its id on the node once listed (owned), or NULL */
};

/* A watched directory: a root, or where a root may appear. */
struct inv_watch {
	char *path; /* owned */
	int wd; /* inotify watch, or -1 */
	int err; /* last watch errno, to log changes only */
};

struct inventory {
	struct event_base *base;
	struct rootset *rootset;
	struct naming *naming;
	struct inv_watch *roots; /* the roots of the last scan */
	size_t nroots;
	struct inv_watch *parents; /* where roots may appear */
	size_t nparents;
	bool roots_truncated; /* logged once until it clears */
	inventory_change_fn *on_change;
	void *arg;
	struct oci_host_ns host;

	struct inv_rec **recs; /* sorted by (root, id) */
	size_t nrecs;
	struct container *view; /* visible ones, by namespace/pod/name */
	size_t nview;
	size_t *by_id; /* indices into view, sorted by id */
	bool over_cap;

	int ino_fd;
	struct event *ino_ev, *timer_ev;

	json_t *mirror; /* a mirror: the document view borrows from */
	struct oci_record node; /* the node's entry (hostentry.h) */
	bool has_node; /* node is loaded and listed */
};

/* A list of records under construction. */
struct rec_list {
	struct inv_rec **v;
	size_t n, cap;
};

/* ---- inventory_view.c --------------------------------------------------- */

/* Give each visible record its id on the node and build the list a scan
 * shows: the node's entry first when host is not NULL, contested names
 * settled, sorted by namespace/pod/name, with *pby_id an index by id.
 * The view borrows the records' strings. 0 or -ENOMEM. */
int inventory_view_build(struct rec_list *recs, const struct oci_record *host,
			 struct container **pview, size_t *pn, size_t **pby_id);
/* Sort by_id[0..n) (indices into view) by the containers' ids. */
void inventory_index_by_id(size_t *by_id, size_t n, struct container *view);
/* Whether a listener could tell a from b (the JSON document). */
bool inventory_container_equal(const struct container *a,
			       const struct container *b);

#endif
