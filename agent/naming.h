/*
 * Naming a container as its orchestrator shows it: the namespace, pod and
 * container name of the tree, the image, which rule named it and from
 * what. The rules, first match wins:
 *
 *   kubernetes  CRI annotations (containerd, then CRI-O); sandboxes hidden
 *   podman      Podman's store (io.container.manager=libpod): the name in
 *               c/storage's containers.json, the pod from libpod's
 *               database (names_podman.c); infra containers hidden
 *   docker      Docker's own metadata, <docker root>/containers/<id>/
 *               config.v2.json (names_docker.c), which also knows Compose
 *               projects ("compose") and Nomad allocations ("nomad")
 *   containerd  the containerd namespace, from the bundle path containerd
 *               gives every container (.../io.containerd.runtime.v2.task/
 *               <namespace>/<id>)
 *   runtime     none of these: "default", and the id as pod and name
 *
 * Every name is checked with oci_name_is_safe(); one that fails is
 * replaced by the rule's fallback (the id) and logged. docs/FILES.md
 * holds the mapping as users see it.
 */
#ifndef EXECFS_AGENT_NAMING_H
#define EXECFS_AGENT_NAMING_H

#include "ocistate.h"

#include <stdbool.h>
#include <sys/stat.h>

#define NAMING_DEFAULT_DOCKER_ROOT "/var/lib/docker"

struct naming;

/* docker_root: Docker's data root (copied); NULL: the default. */
struct naming *naming_new(const char *docker_root);
void naming_free(struct naming *nm);

/* The process-wide Docker root, set once from the command line before any
 * inventory exists (NULL: the default); naming_new(NULL) uses it. */
void naming_set_docker_root(const char *dir);

/*
 * Name rec (loaded by a runtime reader): sets c.namespace, c.pod, c.name,
 * c.image, c.naming, c.name_sources and rec->hidden; Docker's labels join
 * c.labels (annotations keep their values); the files read become rec's
 * sources, so that their change renames the container. 0 or -ENOMEM.
 */
int naming_apply(struct naming *nm, struct oci_record *rec);

/* ---- for the rules (names_*.c) ------------------------------------------ */

/* What a rule found; strings borrowed. NULL names take the fallback. */
struct name_choice {
	const char *naming;
	const char *ns, *pod, *name;
	const char *ns_fallback, *pod_fallback, *name_fallback;
	const char *image;
	bool hidden;
};

/* Apply a choice to rec (validating each name) and add source (a path or a
 * word such as "annotations", may be NULL) to c.name_sources. */
int naming_set(struct oci_record *rec, const struct name_choice *ch);
int naming_add_source(struct oci_record *rec, const char *source);

/* Metadata files are believed only when root (or the agent's own user)
 * wrote them and nobody else may: owned so, not writable by group or
 * others. False (logged) otherwise. */
bool naming_file_trusted(const char *path, const struct stat *st);

/* The rules outside naming.c: 1 when the rule named rec, 0 when it does not
 * apply, -ENOMEM. */
int names_docker(struct naming *nm, const char *docker_root,
		 struct oci_record *rec);
int names_podman(struct naming *nm, struct oci_record *rec);

#endif
