/*
 * Loading the fleet configuration (see config.h). Everything is checked
 * before anything uses it, so a bad file is a clear message (and exit 1
 * at mount, the old configuration kept on SIGHUP), never a half-mounted
 * fleet.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tree.h"

#define PLACEHOLDER "{node}"

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
	for (i = 0; i < c->ndiscover; i++) {
		free(c->discover[i].dns);
		free(c->discover[i].server_name);
	}
	free(c->discover);
	free(c->dns_server);
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

int config_is_template(const char *server_name)
{
	return strstr(server_name, PLACEHOLDER) != NULL;
}

int config_expand_name(const char *server_name, const char *node, char *out,
		       size_t len)
{
	const char *p = strstr(server_name, PLACEHOLDER);
	int n;

	if (!p)
		n = snprintf(out, len, "%s", server_name);
	else
		n = snprintf(out, len, "%.*s%s%s", (int)(p - server_name),
			     server_name, node, p + strlen(PLACEHOLDER));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A server_name: at most one placeholder; a template only where allowed.
 * 0 or -EINVAL with err. */
static int check_server_name(const char *name, const char *where, char *err,
			     size_t errlen)
{
	const char *p = strstr(name, PLACEHOLDER);

	if (strlen(name) > CONFIG_NAME_MAX ||
	    (p && strstr(p + 1, PLACEHOLDER)) || strchr(name, '/')) {
		snprintf(err, errlen,
			 "%s: bad server_name \"%s\" (a DNS name or an IP, "
			 "with %s at most once)",
			 where, name, PLACEHOLDER);
		return -EINVAL;
	}
	return 0;
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

/* One entry of "nodes". 0 or -errno with err. */
static int config_node_load(struct config *c, json_t *n, size_t i,
			    const char *path, char *err, size_t errlen)
{
	struct config_node *cn = &c->nodes[i];
	char where[64], expanded[CONFIG_NAME_MAX + 1];
	size_t j;
	int rc;

	snprintf(where, sizeof(where), "%s: nodes[%zu]", path, i);
	if (!json_is_object(n)) {
		snprintf(err, errlen, "%s: not an object", where);
		return -EINVAL;
	}
	c->nnodes++;
	rc = config_string(n, "name", true, &cn->name, where, err, errlen);
	if (rc == 0)
		rc = config_string(n, "address", true, &cn->address, where, err,
				   errlen);
	if (rc == 0)
		rc = config_string(n, "server_name", false, &cn->server_name,
				   where, err, errlen);
	if (rc < 0)
		return rc;
	if (!tree_name_valid(cn->name, strlen(cn->name))) {
		snprintf(err, errlen, "%s: bad name \"%s\"", where, cn->name);
		return -EINVAL;
	}
	for (j = 0; j < i; j++)
		if (strcmp(c->nodes[j].name, cn->name) == 0) {
			snprintf(err, errlen, "%s: name \"%s\" used twice",
				 where, cn->name);
			return -EINVAL;
		}
	if (cn->server_name) {
		/* A template names this node: it is known already. */
		if (check_server_name(cn->server_name, where, err, errlen) <
			    0 ||
		    config_expand_name(cn->server_name, cn->name, expanded,
				       sizeof(expanded)) < 0) {
			snprintf(err, errlen, "%s: bad server_name \"%s\"",
				 where, cn->server_name);
			return -EINVAL;
		}
		free(cn->server_name);
		cn->server_name = strdup(expanded);
		return cn->server_name ? 0 : -ENOMEM;
	}
	cn->server_name = config_address_host(cn->address);
	if (!cn->server_name || !cn->server_name[0]) {
		snprintf(err, errlen, "%s: bad address \"%s\"", where,
			 cn->address);
		return -EINVAL;
	}
	return 0;
}

/* One entry of "discover". 0 or -errno with err. */
static int config_discover_load(struct config *c, json_t *d, size_t i,
				const char *path, char *err, size_t errlen)
{
	struct config_discover *cd = &c->discover[i];
	char where[64];
	json_t *port;
	size_t j;
	int rc;

	snprintf(where, sizeof(where), "%s: discover[%zu]", path, i);
	if (!json_is_object(d)) {
		snprintf(err, errlen, "%s: not an object", where);
		return -EINVAL;
	}
	c->ndiscover++;
	rc = config_string(d, "dns", true, &cd->dns, where, err, errlen);
	if (rc == 0)
		rc = config_string(d, "server_name", false, &cd->server_name,
				   where, err, errlen);
	if (rc < 0)
		return rc;
	if (strlen(cd->dns) > CONFIG_NAME_MAX || strchr(cd->dns, '/') ||
	    strchr(cd->dns, ' ')) {
		snprintf(err, errlen, "%s: bad dns name \"%s\"", where,
			 cd->dns);
		return -EINVAL;
	}
	port = json_object_get(d, "port");
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535) {
		snprintf(err, errlen, "%s: \"port\" must be 1 to 65535", where);
		return -EINVAL;
	}
	cd->port = (unsigned)json_integer_value(port);
	if (cd->server_name &&
	    check_server_name(cd->server_name, where, err, errlen) < 0)
		return -EINVAL;
	for (j = 0; j < i; j++)
		if (strcmp(c->discover[j].dns, cd->dns) == 0 &&
		    c->discover[j].port == cd->port) {
			snprintf(err, errlen, "%s: %s port %u listed twice",
				 where, cd->dns, cd->port);
			return -EINVAL;
		}
	return 0;
}

/* Only the keys we know: a typo must not pass for a default. */
static int config_check_keys(json_t *obj, const char *const *keys,
			     const char *where, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	size_t k;

	json_object_foreach(obj, key, v) {
		for (k = 0; keys[k]; k++)
			if (strcmp(keys[k], key) == 0)
				break;
		if (!keys[k]) {
			snprintf(err, errlen, "%s: unknown key \"%s\"", where,
				 key);
			return -EINVAL;
		}
	}
	return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	static const char *const top_keys[] = {
		"nodes", "discover", "dns_server", "ca", "cert", "key", NULL
	};
	static const char *const node_keys[] = { "name", "address",
						 "server_name", NULL };
	static const char *const discover_keys[] = { "dns", "port",
						     "server_name", NULL };
	struct config *c = NULL;
	json_error_t jerr;
	json_t *doc, *nodes, *discover;
	size_t i;
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
	rc = json_is_object(doc) ?
		     config_check_keys(doc, top_keys, path, err, errlen) :
		     -EINVAL;
	if (rc < 0) {
		if (!json_is_object(doc))
			snprintf(err, errlen, "%s: not a JSON object", path);
		goto out_free;
	}
	nodes = json_object_get(doc, "nodes");
	discover = json_object_get(doc, "discover");
	if ((nodes && !json_is_array(nodes)) ||
	    (discover && !json_is_array(discover)) ||
	    json_array_size(nodes) + json_array_size(discover) == 0) {
		snprintf(err, errlen,
			 "%s: \"nodes\" or \"discover\" must be a non-empty "
			 "array",
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
	if (rc == 0)
		rc = config_string(doc, "dns_server", false, &c->dns_server,
				   path, err, errlen);
	if (rc < 0)
		goto out_free;
	if (!c->cert != !c->key) {
		snprintf(err, errlen, "%s: \"cert\" and \"key\" go together",
			 path);
		rc = -EINVAL;
		goto out_free;
	}
	c->nodes = calloc(json_array_size(nodes) + 1, sizeof(*c->nodes));
	c->discover =
		calloc(json_array_size(discover) + 1, sizeof(*c->discover));
	if (!c->nodes || !c->discover) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < json_array_size(nodes); i++) {
		rc = config_check_keys(json_array_get(nodes, i), node_keys,
				       path, err, errlen);
		if (rc == 0)
			rc = config_node_load(c, json_array_get(nodes, i), i,
					      path, err, errlen);
		if (rc < 0)
			goto out_free;
	}
	for (i = 0; i < json_array_size(discover); i++) {
		rc = config_check_keys(json_array_get(discover, i),
				       discover_keys, path, err, errlen);
		if (rc == 0)
			rc = config_discover_load(c,
						  json_array_get(discover, i),
						  i, path, err, errlen);
		if (rc < 0)
			goto out_free;
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
