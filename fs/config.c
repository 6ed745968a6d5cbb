/*
 * Loading the fleet configuration (see config.h). Everything is checked
 * before the mount exists, so a bad file is a clear message and exit 1,
 * never a half-mounted fleet.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tree.h"

void config_free(struct config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].name);
		free(c->nodes[i].address);
		free(c->nodes[i].server_name);
	}
	free(c->nodes);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c);
}

char *config_address_host(const char *address)
{
	const char *colon;

	if (strncmp(address, "unix:", 5) == 0)
		return strdup("localhost");
	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (!close)
			return NULL;
		return strndup(address + 1, close - address - 1);
	}
	colon = strrchr(address, ':');
	return colon ? strndup(address, colon - address) : strdup(address);
}

/* A string member, copied; NULL (and no error) when absent and optional. */
static int config_string(json_t *obj, const char *key, bool required,
			 char **out, const char *where, char *err,
			 size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: \"%s\" is missing", where, key);
		return -EINVAL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s: \"%s\" must be a non-empty string",
			 where, key);
		return -EINVAL;
	}
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct config *c = NULL;
	json_error_t jerr;
	json_t *doc, *nodes;
	size_t i, j;
	int rc;

	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c)); /* owned by *out */
	if (!c) {
		rc = -ENOMEM;
		goto out_free;
	}
	nodes = json_object_get(doc, "nodes");
	if (!json_is_array(nodes) || json_array_size(nodes) == 0) {
		snprintf(err, errlen, "%s: \"nodes\" must be a non-empty array",
			 path);
		rc = -EINVAL;
		goto out_free;
	}
	rc = config_string(doc, "ca", true, &c->ca, path, err, errlen);
	if (rc == 0)
		rc = config_string(doc, "cert", false, &c->cert, path, err,
				   errlen);
	if (rc == 0)
		rc = config_string(doc, "key", false, &c->key, path, err,
				   errlen);
	if (rc < 0)
		goto out_free;
	if (!c->cert != !c->key) {
		snprintf(err, errlen, "%s: \"cert\" and \"key\" go together",
			 path);
		rc = -EINVAL;
		goto out_free;
	}
	c->nodes = calloc(json_array_size(nodes), sizeof(*c->nodes));
	if (!c->nodes) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < json_array_size(nodes); i++) {
		json_t *n = json_array_get(nodes, i);
		struct config_node *cn = &c->nodes[i];
		char where[64];

		snprintf(where, sizeof(where), "%s: nodes[%zu]", path, i);
		if (!json_is_object(n)) {
			snprintf(err, errlen, "%s: not an object", where);
			rc = -EINVAL;
			goto out_free;
		}
		c->nnodes++;
		rc = config_string(n, "name", true, &cn->name, where, err,
				   errlen);
		if (rc == 0)
			rc = config_string(n, "address", true, &cn->address,
					   where, err, errlen);
		if (rc == 0)
			rc = config_string(n, "server_name", false,
					   &cn->server_name, where, err,
					   errlen);
		if (rc < 0)
			goto out_free;
		if (!tree_name_valid(cn->name, strlen(cn->name))) {
			snprintf(err, errlen, "%s: bad name \"%s\"", where,
				 cn->name);
			rc = -EINVAL;
			goto out_free;
		}
		for (j = 0; j < i; j++)
			if (strcmp(c->nodes[j].name, cn->name) == 0) {
				snprintf(err, errlen,
					 "%s: name \"%s\" used twice", where,
					 cn->name);
				rc = -EINVAL;
				goto out_free;
			}
		if (!cn->server_name) {
			cn->server_name = config_address_host(cn->address);
			if (!cn->server_name || !cn->server_name[0]) {
				snprintf(err, errlen, "%s: bad address \"%s\"",
					 where, cn->address);
				rc = -EINVAL;
				goto out_free;
			}
		}
	}
	json_decref(doc);
	*out = c;
	return 0;

out_free:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	config_free(c);
	json_decref(doc);
	return rc;
}
