/*
 * The container list as JSON (docs/PROTOCOL.md), and the worker's mirror:
 * an inventory loaded from that JSON, whose view borrows the document's
 * strings (inventory_internal.h). The document is the monitor's, so the
 * mirror checks every entry's shape before it replaces the list.
 */
#include "inventory_internal.h"

#include <errno.h>
#include <execfs/proto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *container_state_name(enum container_state s)
{
	switch (s) {
	case CONTAINER_CREATED:
		return "created";
	case CONTAINER_RUNNING:
		return "running";
	case CONTAINER_PAUSED:
		return "paused";
	case CONTAINER_STOPPED:
		return "stopped";
	}
	return "unknown";
}

static json_t *container_to_json(const struct container *c)
{
	json_t *sources = c->name_sources ? json_incref(c->name_sources) :
					    json_array();
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, "
		      "s:s, s:s, s:b, s:O, s:s, s:o}",
		      EXECFS_J_ID, c->id, EXECFS_J_RUNTIME_ID,
		      c->runtime_id ? c->runtime_id : c->id, EXECFS_J_NAMESPACE,
		      c->namespace, EXECFS_J_POD, c->pod, EXECFS_J_NAME,
		      c->name, EXECFS_J_PID, (int)c->pid, EXECFS_J_STATE,
		      container_state_name(c->state), EXECFS_J_RUNTIME,
		      c->runtime, EXECFS_J_ROOT, c->root, EXECFS_J_BUNDLE,
		      c->bundle, EXECFS_J_IMAGE, c->image, EXECFS_J_CREATED,
		      c->created, EXECFS_J_PRIVILEGED, (int)c->privileged,
		      EXECFS_J_LABELS, c->labels, EXECFS_J_NAMING,
		      c->naming ? c->naming : "runtime", EXECFS_J_NAME_SOURCES,
		      sources);
	/* Only when they say something, so the common entry stays short. */
	if (o && c->privileged && c->privileged_reason &&
	    json_object_set_new(o, EXECFS_J_PRIVILEGED_REASON,
				json_string(c->privileged_reason))) {
		json_decref(o);
		return NULL;
	}
	if (o && c->host &&
	    json_object_set_new(o, EXECFS_J_HOST, json_true())) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *inventory_to_json(const struct inventory *inv, const char *node)
{
	return inventory_to_json_only(inv, node, NULL, NULL);
}

json_t *inventory_to_json_only(const struct inventory *inv, const char *node,
			       inventory_keep_fn *keep, void *arg)
{
	json_t *doc, *list, *item;
	size_t i;

	list = json_array();
	if (!list)
		return NULL;
	for (i = 0; i < inv->nview; i++) {
		if (keep && !keep(&inv->view[i], arg))
			continue;
		item = container_to_json(&inv->view[i]);
		if (!item || json_array_append_new(list, item)) {
			json_decref(list);
			return NULL;
		}
	}
	doc = json_pack("{s:s, s:o}", EXECFS_J_NODE, node ? node : "",
			EXECFS_J_CONTAINERS, list);
	return doc;
}

/* ---- mirror ------------------------------------------------------------- */

struct inventory *inventory_mirror_new(inventory_change_fn *on_change,
				       void *arg)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (!inv)
		return NULL;
	inv->on_change = on_change;
	inv->arg = arg;
	inv->ino_fd = -1;
	return inv;
}

static int mirror_state(const char *name, enum container_state *out)
{
	enum container_state s;

	for (s = CONTAINER_CREATED; s <= CONTAINER_STOPPED; s++)
		if (!strcmp(name, container_state_name(s))) {
			*out = s;
			return 0;
		}
	return -EINVAL;
}

/* One entry of the document; its strings stay owned by the document. */
static int mirror_container(json_t *o, struct container *c)
{
	const char *id, *ns, *pod, *name, *state, *runtime, *root, *bundle;
	const char *image, *created, *runtime_id, *naming, *reason = NULL;
	json_t *labels, *sources;
	json_int_t pid;
	int priv, host = 0;

	if (json_unpack(o,
			"{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, "
			"s:s, s:s, s:b, s:o, s:s, s:o, s?s, s?b}",
			EXECFS_J_ID, &id, EXECFS_J_RUNTIME_ID, &runtime_id,
			EXECFS_J_NAMESPACE, &ns, EXECFS_J_POD, &pod,
			EXECFS_J_NAME, &name, EXECFS_J_PID, &pid,
			EXECFS_J_STATE, &state, EXECFS_J_RUNTIME, &runtime,
			EXECFS_J_ROOT, &root, EXECFS_J_BUNDLE, &bundle,
			EXECFS_J_IMAGE, &image, EXECFS_J_CREATED, &created,
			EXECFS_J_PRIVILEGED, &priv, EXECFS_J_LABELS, &labels,
			EXECFS_J_NAMING, &naming, EXECFS_J_NAME_SOURCES,
			&sources, EXECFS_J_PRIVILEGED_REASON, &reason,
			EXECFS_J_HOST, &host) < 0 ||
	    !json_is_object(labels) || !json_is_array(sources) || pid < 0 ||
	    pid > INT32_MAX || mirror_state(state, &c->state) < 0)
		return -EINVAL;
	/* The fields are not const only because the scanner owns its
	 * strings; nothing writes through them. */
	c->id = (char *)id;
	c->runtime_id = (char *)runtime_id;
	c->namespace = (char *)ns;
	c->pod = (char *)pod;
	c->name = (char *)name;
	c->naming = (char *)naming;
	c->name_sources = sources;
	c->runtime = (char *)runtime;
	c->root = (char *)root;
	c->bundle = (char *)bundle;
	c->image = (char *)image;
	c->created = (char *)created;
	c->pid = (pid_t)pid;
	c->privileged = priv;
	c->privileged_reason = reason;
	c->host = host;
	c->labels = labels;
	return 0;
}

int inventory_mirror_load(struct inventory *inv, const char *text, size_t len,
			  char *err, size_t errlen)
{
	struct container *view = NULL;
	size_t i, n = 0, *by_id = NULL;
	json_error_t jerr;
	json_t *doc, *list;
	bool changed;
	int rc = -EINVAL;

	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	list = json_object_get(doc, EXECFS_J_CONTAINERS);
	if (!json_is_array(list) ||
	    json_array_size(list) > INVENTORY_MAX_CONTAINERS) {
		snprintf(err, errlen, "inventory: not a container list: %s",
			 doc ? "wrong shape" : jerr.text);
		goto out;
	}
	n = json_array_size(list);
	view = calloc(n ? n : 1, sizeof(*view));
	by_id = calloc(n ? n : 1, sizeof(*by_id));
	if (!view || !by_id) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (mirror_container(json_array_get(list, i), &view[i]) < 0) {
			snprintf(err, errlen, "inventory: entry %zu is bad", i);
			goto out;
		}
		by_id[i] = i;
	}
	inventory_index_by_id(by_id, n, view);
	changed = n != inv->nview;
	for (i = 0; i < n && !changed; i++)
		changed = !inventory_container_equal(&view[i], &inv->view[i]);
	free(inv->view);
	free(inv->by_id);
	json_decref(inv->mirror);
	inv->view = view;
	inv->by_id = by_id;
	inv->nview = n;
	inv->mirror = doc;
	view = NULL;
	by_id = NULL;
	doc = NULL;
	rc = 0;
	if (changed && inv->on_change)
		inv->on_change(inv->arg);
out:
	free(view);
	free(by_id);
	json_decref(doc);
	return rc;
}
