/*
 * The list a scan makes visible (inventory_internal.h): each record's id
 * on the node (inventory.c's opening comment says the rule), names two
 * containers contest (the older keeps it, the later is listed by its id),
 * the order clients see (namespace, pod, name) and the index by id.
 */
#include "inventory_internal.h"

#include "hostentry.h"

#include <errno.h>
#include <execfs/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3339 times as runc writes them, compared as times: Go's
 * RFC3339Nano drops the fraction's trailing zeros, so "10.5Z" comes
 * after "10.25Z" although strcmp says otherwise. */
static int created_cmp(const char *a, const char *b)
{
	size_t la = strcspn(a, ".Z"), lb = strcspn(b, ".Z");
	char da, db;
	int c;

	if (la != lb)
		return la < lb ? -1 : 1;
	c = memcmp(a, b, la);
	if (c)
		return c;
	a += la + (a[la] == '.');
	b += lb + (b[lb] == '.');
	for (;;) {
		da = *a >= '0' && *a <= '9' ? *a++ : '0';
		db = *b >= '0' && *b <= '9' ? *b++ : '0';
		if (da != db)
			return da < db ? -1 : 1;
		if ((*a < '0' || *a > '9') && (*b < '0' || *b > '9'))
			return 0;
	}
}

static int view_cmp(const void *pa, const void *pb)
{
	const struct container *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->namespace, b->namespace)) ||
	    (c = strcmp(a->pod, b->pod)) || (c = strcmp(a->name, b->name)))
		return c;
	/* The older container keeps a contested name. */
	if ((c = created_cmp(a->created, b->created)) ||
	    (c = strcmp(a->root, b->root)))
		return c;
	return strcmp(a->id, b->id);
}

static bool same_names(const struct container *a, const struct container *b)
{
	return !strcmp(a->namespace, b->namespace) && !strcmp(a->pod, b->pod) &&
	       !strcmp(a->name, b->name);
}

/* Two containers named alike both stay visible: the later one by its id
 * on the node. If even that collides, the later one is left out. */
static void view_dedup(struct container *view, size_t *n)
{
	size_t i, first, kept;

	qsort(view, *n, sizeof(*view), view_cmp);
	for (i = 1, first = 0; i < *n; i++) {
		if (!same_names(&view[i], &view[first])) {
			first = i;
		} else if (strcmp(view[i].id, view[i].name)) {
			view[i].name = view[i].id;
		} else {
			/* Its id on the node is that very name (one id
			 * under two roots): it keeps it, the other takes
			 * its own id. */
			view[first].name = view[first].id;
			first = i;
		}
	}
	qsort(view, *n, sizeof(*view), view_cmp);
	for (i = 1, kept = *n ? 1 : 0; i < *n; i++) {
		if (same_names(&view[i], &view[kept - 1])) {
			log_warn("%s/%s: same names as %s/%s, not listed",
				 view[i].root, view[i].id, view[kept - 1].root,
				 view[kept - 1].id);
			continue;
		}
		view[kept++] = view[i];
	}
	*n = kept;
}

static int by_id_cmp(const void *pa, const void *pb, void *arg)
{
	const struct container *view = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = strcmp(view[a].id, view[b].id);

	/* Same id under two roots: the first in list order wins. */
	return c ? c : (a < b ? -1 : a > b);
}

void inventory_index_by_id(size_t *by_id, size_t n, struct container *view)
{
	qsort_r(by_id, n, sizeof(*by_id), by_id_cmp, view);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || !strcmp(a, b);
}

bool inventory_container_equal(const struct container *a,
			       const struct container *b)
{
	return str_eq(a->id, b->id) && str_eq(a->runtime_id, b->runtime_id) &&
	       str_eq(a->naming, b->naming) &&
	       (a->name_sources == b->name_sources ||
		json_equal(a->name_sources, b->name_sources)) &&
	       str_eq(a->namespace, b->namespace) && str_eq(a->pod, b->pod) &&
	       str_eq(a->name, b->name) && str_eq(a->root, b->root) &&
	       str_eq(a->runtime, b->runtime) && str_eq(a->bundle, b->bundle) &&
	       str_eq(a->image, b->image) && str_eq(a->created, b->created) &&
	       a->pid == b->pid && a->start_time == b->start_time &&
	       a->state == b->state && a->privileged == b->privileged &&
	       a->host == b->host &&
	       (a->privileged_reason == b->privileged_reason ||
		(a->privileged_reason && b->privileged_reason &&
		 !strcmp(a->privileged_reason, b->privileged_reason))) &&
	       (a->labels == b->labels || json_equal(a->labels, b->labels));
}

static bool rec_visible(const struct inv_rec *rec)
{
	return rec->kind == REC_GOOD && !rec->oci.hidden;
}

/* A key being decided: the record, and the key it would take. */
struct key_cand {
	struct inv_rec *rec;
	const char *key;
	bool fresh; /* no key yet */
};

static int key_cand_cmp(const void *pa, const void *pb)
{
	const struct key_cand *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	/* A container that has the key keeps it; among new ones, the
	 * older takes it. */
	if (a->fresh != b->fresh)
		return a->fresh ? 1 : -1;
	if ((c = created_cmp(a->rec->oci.c.created, b->rec->oci.c.created)))
		return c;
	return strcmp(a->rec->oci.c.root, b->rec->oci.c.root);
}

/* "ID@ROOT" with ROOT's '/' as ':' (its first one dropped), or, if that is
 * too long a name, "ID@" and a hash of ROOT. NULL if even that is. */
static char *key_qualified(const struct inv_rec *rec)
{
	const char *id = rec->oci.c.runtime_id, *root = rec->oci.c.root;
	unsigned long long h = 0xcbf29ce484222325ULL;
	char *key, *p;
	const char *r;

	if (asprintf(&key, "%s@%s", id, root + (root[0] == '/')) < 0)
		return NULL;
	for (p = key + strlen(id) + 1; *p; p++)
		if (*p == '/')
			*p = ':';
	if (oci_name_is_safe(key, strlen(key)))
		return key;
	free(key);
	for (r = root; *r; r++)
		h = (h ^ (unsigned char)*r) * 0x100000001b3ULL;
	if (asprintf(&key, "%s@%016llx", id, h) < 0)
		return NULL;
	if (oci_name_is_safe(key, strlen(key)))
		return key;
	free(key);
	return NULL;
}

/* Give every visible record its id on the node (see the top of this file):
 * a record listed before keeps its own; a new one takes the runtime's id
 * unless another holds it, else the qualified one. A new record that can
 * have neither stays keyless and unlisted (logged). */
static int keys_assign(struct rec_list *recs)
{
	struct key_cand *cand;
	size_t i, n = 0, pass;
	char *key;

	cand = calloc(recs->n ? recs->n : 1, sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	for (i = 0; i < recs->n; i++) {
		if (!rec_visible(recs->v[i]))
			continue;
		cand[n].rec = recs->v[i];
		cand[n].fresh = !recs->v[i]->key;
		cand[n].key = cand[n].fresh ? recs->v[i]->oci.c.runtime_id :
					      recs->v[i]->key;
		n++;
	}
	/* Pass 0 settles runtime ids, pass 1 the qualified keys (which a
	 * runtime id with '@' in it could still take). */
	for (pass = 0; pass < 2; pass++) {
		qsort(cand, n, sizeof(*cand), key_cand_cmp);
		for (i = 0; i < n; i++) {
			if (!cand[i].fresh || !cand[i].key)
				continue;
			if (i == 0 || !cand[i - 1].key ||
			    strcmp(cand[i - 1].key, cand[i].key))
				continue;
			if (pass == 1) {
				log_warn("%s/%s: its id %s is taken, not "
					 "listed",
					 cand[i].rec->oci.c.root,
					 cand[i].rec->oci.c.runtime_id,
					 cand[i].key);
				if (cand[i].rec->key == cand[i].key) {
					free(cand[i].rec->key);
					cand[i].rec->key = NULL;
				}
				cand[i].key = NULL;
				continue;
			}
			key = key_qualified(cand[i].rec);
			if (!key) {
				free(cand);
				return -ENOMEM;
			}
			log_info("%s/%s: the id is listed already (%s/%s): "
				 "listing it as %s",
				 cand[i].rec->oci.c.root,
				 cand[i].rec->oci.c.runtime_id,
				 cand[i - 1].rec->oci.c.root,
				 cand[i - 1].rec->oci.c.runtime_id, key);
			cand[i].rec->key = key; /* owned by the record */
			cand[i].key = key;
		}
		/* A NULL key sorts apart from every other. */
		for (i = 0; i < n; i++)
			if (!cand[i].key)
				cand[i].key = "";
	}
	for (i = 0; i < n; i++) {
		if (!cand[i].fresh || !*cand[i].key ||
		    cand[i].rec->key == cand[i].key)
			continue;
		cand[i].rec->key = strdup(cand[i].key);
		if (!cand[i].rec->key) {
			free(cand);
			return -ENOMEM;
		}
	}
	free(cand);
	return 0;
}

int inventory_view_build(struct rec_list *recs, const struct oci_record *host,
			 struct container **pview, size_t *pn, size_t **pby_id)
{
	struct container *view;
	struct inv_rec *rec;
	size_t i, n = 0, *by_id;
	int rc;

	rc = keys_assign(recs);
	if (rc < 0)
		return rc;
	view = calloc(recs->n + 1, sizeof(*view));
	if (!view)
		return -ENOMEM;
	/* No record can take its names or id: scan_root skips dot names,
	 * naming refuses a dot namespace. */
	if (host) {
		view[n] = host->c;
		view[n].state = host_entry_state(host);
		if (view[n].state == CONTAINER_STOPPED)
			view[n].pid = 0;
		n++;
	}
	for (i = 0; i < recs->n; i++) {
		rec = recs->v[i];
		if (!rec_visible(rec) || !rec->key)
			continue;
		view[n] = rec->oci.c;
		view[n].id = rec->key;
		view[n].state = rec->state;
		if (rec->state == CONTAINER_STOPPED)
			view[n].pid = 0; /* the pid may belong to another now */
		n++;
	}
	view_dedup(view, &n);
	by_id = calloc(n ? n : 1, sizeof(*by_id));
	if (!by_id) {
		free(view);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		by_id[i] = i;
	inventory_index_by_id(by_id, n, view);
	*pview = view;
	*pn = n;
	*pby_id = by_id;
	return 0;
}
