/*
 * The Podman naming rule (see names_podman.h and naming.h):
 *
 *   podman   podman/<pod>/<container>     a container in a pod
 *            podman/<name>/<name>         a container in no pod
 *
 * and a pod's infra container is hidden, as Kubernetes sandboxes are.
 * Where the files are is learnt from the container's bundle, which Podman
 * puts at <graph root>/<driver>-containers/<id>/userdata, so a Podman run
 * with --root anywhere is named without configuration.
 */
#include "names_podman.h"

#include "boltdb.h"
#include "naming.h"
#include "readfile.h"

#include <errno.h>
#include <execfs/log.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A_MANAGER "io.container.manager"
#define PODMAN_CONFIG_MAX (4 * 1024 * 1024)

int podman_store_find(const char *text, size_t len, const char *id, char **name,
		      char **image)
{
	json_t *doc, *c, *meta, *names;
	const char *s;
	json_error_t jerr;
	size_t i;
	int rc = -ENOENT;

	*name = *image = NULL;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_array(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	json_array_foreach(doc, i, c) {
		s = oci_jstr(json_object_get(c, "id"));
		if (!s || strcmp(s, id))
			continue;
		names = json_object_get(c, "names");
		s = oci_jstr(json_array_get(names, 0));
		if (s && !(*name = strdup(s))) {
			rc = -ENOMEM;
			break;
		}
		/* metadata is a JSON document in a string. */
		s = oci_jstr(json_object_get(c, "metadata"));
		meta = s ? json_loads(s, JSON_REJECT_DUPLICATES, &jerr) : NULL;
		s = oci_jstr(json_object_get(meta, "image-name"));
		if (s && !(*image = strdup(s)))
			rc = -ENOMEM;
		else
			rc = 0;
		json_decref(meta);
		break;
	}
	json_decref(doc);
	if (rc < 0) {
		free(*name);
		free(*image);
		*name = *image = NULL;
	}
	return rc;
}

int podman_ctr_config_parse(const char *text, size_t len, char **pod_id,
			    bool *infra)
{
	json_error_t jerr;
	const char *pod;
	json_t *doc;
	int rc = 0;

	*pod_id = NULL;
	*infra = false;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	/* libpod's ContainerConfig: IsInfra is serialized as "pause". */
	*infra = json_is_true(json_object_get(doc, "pause"));
	pod = oci_jstr(json_object_get(doc, "pod"));
	if (pod && *pod && !(*pod_id = strdup(pod)))
		rc = -ENOMEM;
	json_decref(doc);
	return rc;
}

/* dir of path (the part before the last '/') into out. */
static bool dir_of(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path || (size_t)(slash - path) >= outlen)
		return false;
	memcpy(out, path, slash - path);
	out[slash - path] = 0;
	return true;
}

/* The store's containers directory from the bundle
 * <graph>/<driver>-containers/<id>/userdata. */
static bool store_dirs(const char *bundle, const char *id, char *ctrs,
		       char *graph)
{
	char dir[PATH_MAX];
	const char *base;
	size_t blen;

	if (!dir_of(bundle, dir, sizeof(dir)) ||
	    strcmp(bundle + strlen(dir), "/userdata"))
		return false;
	base = strrchr(dir, '/');
	if (!base || strcmp(base + 1, id) || !dir_of(dir, ctrs, PATH_MAX))
		return false;
	base = strrchr(ctrs, '/');
	blen = base ? strlen(base + 1) : 0;
	if (blen <= strlen("-containers") ||
	    strcmp(base + 1 + blen - strlen("-containers"), "-containers"))
		return false;
	return dir_of(ctrs, graph, PATH_MAX);
}

/* The pod (malloc'ed name, NULL if none) and infra flag from libpod's
 * database; a missing or unreadable database is only logged. */
static int pod_lookup(const char *db_path, const char *id, char **pod_name,
		      bool *infra)
{
	static const char *const pods_bucket[] = { "allPods" };
	const char *path[2] = { "ctr", id };
	char *text = NULL, *pod_id = NULL;
	struct boltdb *db;
	struct stat st;
	size_t len;
	int rc;

	*pod_name = NULL;
	*infra = false;
	rc = boltdb_open(db_path, &db, &st);
	if (rc < 0) {
		if (rc != -ENOENT && rc != -ENOMEM)
			log_warn("%s: %s", db_path, strerror(-rc));
		return rc == -ENOMEM ? rc : 0;
	}
	if (!naming_file_trusted(db_path, &st)) {
		boltdb_close(db);
		return 0;
	}
	rc = boltdb_get(db, path, 2, "config", 6, &text, &len);
	if (!rc)
		rc = podman_ctr_config_parse(text, len, &pod_id, infra);
	free(text);
	if (!rc && pod_id)
		rc = boltdb_get(db, pods_bucket, 1, pod_id, strlen(pod_id),
				pod_name, &len);
	if (rc < 0 && rc != -ENOMEM && rc != -ENOENT)
		log_warn("%s: container %s: %s", db_path, id, strerror(-rc));
	free(pod_id);
	boltdb_close(db);
	return rc == -ENOMEM ? rc : 0;
}

int names_podman(struct naming *nm, struct oci_record *rec)
{
	char ctrs[PATH_MAX], graph[PATH_MAX], path[PATH_MAX], *text = NULL;
	char *name = NULL, *image = NULL, *pod = NULL;
	struct container *c = &rec->c;
	struct name_choice ch = { .naming = "podman", .ns = "podman" };
	const char *manager;
	bool infra = false;
	struct stat st;
	size_t len;
	int rc;

	(void)nm;
	manager = oci_jstr(json_object_get(c->labels, A_MANAGER));
	if (!manager || strcmp(manager, "libpod") ||
	    !store_dirs(c->bundle, c->runtime_id, ctrs, graph))
		return 0;
	if (snprintf(path, sizeof(path), "%s/containers.json", ctrs) >=
	    (int)sizeof(path))
		return 0;
	rc = oci_record_add_source(rec, path);
	if (!rc)
		rc = naming_add_source(rec, path);
	if (rc < 0)
		return rc;
	rc = read_file_at(AT_FDCWD, path, PODMAN_STORE_MAX, &text, &len, &st);
	if (!rc && !naming_file_trusted(path, &st)) {
		rc = -ENOENT; /* as if there were none */
	} else if (!rc) {
		rc = podman_store_find(text, len, c->runtime_id, &name, &image);
		if (rc == -EINVAL)
			log_warn("%s: not a container list", path);
	} else if (rc != -ENOENT && rc != -ENOMEM) {
		log_warn("%s: %s", path, strerror(-rc));
	}
	free(text);
	if (rc == -ENOMEM)
		return rc;

	if (snprintf(path, sizeof(path), "%s/libpod/bolt_state.db", graph) <
	    (int)sizeof(path)) {
		rc = oci_record_add_source(rec, path);
		if (!rc)
			rc = naming_add_source(rec, path);
		if (!rc)
			rc = pod_lookup(path, c->runtime_id, &pod, &infra);
		if (rc < 0)
			goto out;
	}
	ch.name = name;
	ch.pod = pod ? pod : name;
	ch.pod_fallback = name;
	ch.image = image;
	ch.hidden = infra;
	rc = naming_set(rec, &ch);
out:
	free(name);
	free(image);
	free(pod);
	return rc < 0 ? rc : 1;
}
