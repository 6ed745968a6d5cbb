/*
 * Decoding the agent's container snapshots (see snapshot.h). The only
 * place in fs/ that reads the watch stream's JSON; node.c feeds it lines
 * and hands what comes out to the tree.
 */
#include "snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/proto.h"
#include "tree.h"

/* A name from the peer, or dflt when it is missing or not one the tree
 * takes. */
static const char *json_name(json_t *obj, const char *key, const char *dflt)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	if (!s || !tree_name_valid(s, json_string_length(v)))
		return dflt;
	return s;
}

/* The container as the info file shows it. NULL when out of memory. */
static char *info_text(json_t *c, size_t *len)
{
	char *info = json_dumps(c, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *nl;
	size_t n;

	if (!info)
		return NULL;
	n = strlen(info);
	nl = realloc(info, n + 2);
	if (!nl) {
		free(info);
		return NULL;
	}
	nl[n] = '\n';
	nl[n + 1] = '\0';
	*len = n + 1;
	return nl; /* owned by the caller */
}

static int snapshot_ct_fill(struct snapshot_ct *ct, json_t *c, const char *id)
{
	const char *ns = json_name(c, EXECFS_J_NAMESPACE, "default");

	ct->host = json_is_true(json_object_get(c, EXECFS_J_HOST)) &&
		   !strcmp(id, EXECFS_HOST_ID);
	/* Dot names under a node are the mount's (.status, .host). */
	if (ns[0] == '.' && !ct->host)
		ns = "default";
	ct->id = strdup(id);
	/* The agent lists bad names under the id already; be as strict. */
	ct->ns = strdup(ns);
	ct->pod = strdup(json_name(c, EXECFS_J_POD, id));
	ct->name = strdup(json_name(c, EXECFS_J_NAME, id));
	ct->info = info_text(c, &ct->info_len);
	return ct->id && ct->ns && ct->pod && ct->name && ct->info ? 0 :
								     -ENOMEM;
}

int snapshot_parse(const char *line, size_t len, struct snapshot *snap,
		   char *why, size_t whylen)
{
	json_t *doc, *list, *jnode;
	json_error_t jerr;
	const char *name;
	size_t i;
	int rc = 0;

	memset(snap, 0, sizeof(*snap));
	doc = json_loadb(line, len, 0, &jerr);
	if (!doc || !json_is_object(doc)) {
		snprintf(why, whylen, "bad snapshot: %s",
			 doc ? "not an object" : jerr.text);
		rc = -EINVAL;
		goto out;
	}
	list = json_object_get(doc, EXECFS_J_CONTAINERS);
	if (!json_is_array(list)) {
		snprintf(why, whylen, "snapshot without containers");
		rc = -EINVAL;
		goto out;
	}
	jnode = json_object_get(doc, EXECFS_J_NODE);
	name = json_string_value(jnode);
	if (name && tree_name_valid(name, json_string_length(jnode)) &&
	    !(snap->node = strdup(name)))
		goto out_nomem;
	snap->cts = calloc(json_array_size(list) ? json_array_size(list) : 1,
			   sizeof(*snap->cts)); /* owned by snap */
	if (!snap->cts)
		goto out_nomem;
	for (i = 0; i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		json_t *jid = json_object_get(c, EXECFS_J_ID);
		const char *id = json_string_value(jid);

		if (!json_is_object(c))
			continue;
		if (!id || !tree_name_valid(id, json_string_length(jid))) {
			snap->skipped++;
			continue;
		}
		/* Counted first: a half-filled entry is released too. */
		if (snapshot_ct_fill(&snap->cts[snap->n++], c, id) < 0)
			goto out_nomem;
	}
	goto out;

out_nomem:
	snprintf(why, whylen, "out of memory");
	rc = -ENOMEM;
out:
	if (rc < 0)
		snapshot_release(snap);
	json_decref(doc);
	return rc;
}

void snapshot_release(struct snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->n; i++) {
		free(snap->cts[i].id);
		free(snap->cts[i].ns);
		free(snap->cts[i].pod);
		free(snap->cts[i].name);
		free(snap->cts[i].info);
	}
	free(snap->cts);
	free(snap->node);
	memset(snap, 0, sizeof(*snap));
}
