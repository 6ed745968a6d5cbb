/*
 * The naming rules (see naming.h): the order, the Kubernetes and
 * containerd rules, which need nothing but the record, and the checks
 * every name passes whatever rule found it.
 */
#include "naming.h"

#include <errno.h>
#include <execfs/log.h>
#include <execfs/proto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CRI annotations: containerd, then CRI-O. */
#define A_CD_NAMESPACE "io.kubernetes.cri.sandbox-namespace"
#define A_CD_POD "io.kubernetes.cri.sandbox-name"
#define A_CD_NAME "io.kubernetes.cri.container-name"
#define A_CD_TYPE "io.kubernetes.cri.container-type"
#define A_CD_IMAGE "io.kubernetes.cri.image-name"
#define A_CRIO_NAMESPACE "io.kubernetes.pod.namespace"
#define A_CRIO_POD "io.kubernetes.pod.name"
#define A_CRIO_NAME "io.kubernetes.container.name"
#define A_CRIO_TYPE "io.kubernetes.cri-o.ContainerType"
#define A_CRIO_IMAGE "io.kubernetes.cri-o.ImageName"

#define DEFAULT_NAMESPACE "default"

/* containerd's task directories: <state>/<this>/<namespace>/<id>. */
static const char *const containerd_task_dirs[] = {
	"io.containerd.runtime.v2.task",
	"io.containerd.runtime.v1.linux",
};

struct naming {
	char *docker_root; /* owned */
};

static const char *process_docker_root;

void naming_set_docker_root(const char *dir)
{
	process_docker_root = dir;
}

struct naming *naming_new(const char *docker_root)
{
	struct naming *nm = calloc(1, sizeof(*nm));

	if (!docker_root)
		docker_root = process_docker_root ? process_docker_root :
						    NAMING_DEFAULT_DOCKER_ROOT;
	if (!nm)
		return NULL;
	nm->docker_root = strdup(docker_root);
	if (!nm->docker_root) {
		free(nm);
		return NULL;
	}
	return nm;
}

void naming_free(struct naming *nm)
{
	if (!nm)
		return;
	free(nm->docker_root);
	free(nm);
}

bool naming_file_trusted(const char *path, const struct stat *st)
{
	if ((st->st_uid == 0 || st->st_uid == geteuid()) &&
	    !(st->st_mode & (S_IWGRP | S_IWOTH)))
		return true;
	log_warn("%s: owned by uid %u, mode %04o: not used for names", path,
		 (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
	return false;
}

static const char *label(const struct container *c, const char *key)
{
	return oci_jstr(json_object_get(c->labels, key));
}

int naming_add_source(struct oci_record *rec, const char *source)
{
	struct container *c = &rec->c;

	if (!source)
		return 0;
	if (!c->name_sources) {
		c->name_sources = json_array();
		if (!c->name_sources)
			return -ENOMEM;
	}
	return json_array_append_new(c->name_sources, json_string(source)) ?
		       -ENOMEM :
		       0;
}

static int pick_name(char **dst, const char *want, const char *dflt,
		     const char *id, const char *what)
{
	if (want && !oci_name_is_safe(want, strlen(want))) {
		log_warn("%s: unsafe %s name, using \"%s\"", id, what, dflt);
		want = NULL;
	}
	return oci_set_str(dst, want ? want : dflt);
}

int naming_set(struct oci_record *rec, const struct name_choice *ch)
{
	struct container *c = &rec->c;
	const char *id = c->runtime_id, *ns = ch->ns;
	int rc;

	rec->hidden = ch->hidden;
	/* A dot namespace is the mount's own (.status, the node's .host):
	 * no orchestrator makes one (Kubernetes, containerd and Nomad
	 * namespaces, Compose projects start with a letter or digit). */
	if (ch->ns && ch->ns[0] == '.') {
		log_warn("%s: reserved namespace name %s, using \"%s\"", id,
			 ch->ns,
			 ch->ns_fallback ? ch->ns_fallback : DEFAULT_NAMESPACE);
		ns = NULL;
	}
	rc = pick_name(&c->namespace, ns,
		       ch->ns_fallback ? ch->ns_fallback : DEFAULT_NAMESPACE,
		       id, "namespace");
	if (!rc)
		rc = pick_name(&c->pod, ch->pod,
			       ch->pod_fallback ? ch->pod_fallback : id, id,
			       "pod");
	if (!rc)
		rc = pick_name(&c->name, ch->name,
			       ch->name_fallback ? ch->name_fallback : id, id,
			       "container");
	if (!rc)
		rc = oci_set_str(&c->image, ch->image);
	if (!rc)
		rc = oci_set_str(&c->naming, ch->naming);
	return rc;
}

/* Kubernetes: CRI annotations. */
static int names_cri(struct oci_record *rec)
{
	const struct container *c = &rec->c;
	struct name_choice ch = { .naming = "kubernetes" };
	const char *type;

	type = label(c, A_CD_TYPE);
	if (!type)
		type = label(c, A_CRIO_TYPE);
	ch.ns = label(c, A_CD_NAMESPACE);
	ch.pod = label(c, A_CD_POD);
	ch.name = label(c, A_CD_NAME);
	if (!ch.ns && !ch.pod && !ch.name) {
		ch.ns = label(c, A_CRIO_NAMESPACE);
		ch.pod = label(c, A_CRIO_POD);
		ch.name = label(c, A_CRIO_NAME);
	}
	ch.hidden = type && !strcmp(type, "sandbox");
	/* Podman marks its pods' members with CRI-O's type alone. */
	if (!ch.ns && !ch.pod && !ch.name && !ch.hidden)
		return 0;
	ch.image = label(c, A_CD_IMAGE);
	if (!ch.image)
		ch.image = label(c, A_CRIO_IMAGE);
	if (naming_set(rec, &ch) < 0 ||
	    naming_add_source(rec, "annotations") < 0)
		return -ENOMEM;
	return 1;
}

/* containerd: the namespace is the bundle's parent directory, under one of
 * containerd's task directories. */
static int names_containerd(struct oci_record *rec)
{
	struct name_choice ch = { .naming = "containerd" };
	const char *bundle = rec->c.bundle, *id = rec->c.runtime_id;
	size_t blen = strlen(bundle), idlen = strlen(id), k, tlen;
	char ns[EXECFS_MAX_NAME_LEN + 1];
	const char *end, *start, *task;

	/* ".../<task dir>/<ns>/<id>" */
	if (blen <= idlen + 1 || strcmp(bundle + blen - idlen, id) ||
	    bundle[blen - idlen - 1] != '/')
		return 0;
	end = bundle + blen - idlen - 1;
	start = end;
	while (start > bundle && start[-1] != '/')
		start--;
	if (start == end || start == bundle ||
	    (size_t)(end - start) >= sizeof(ns))
		return 0;
	for (k = 0;
	     k < sizeof(containerd_task_dirs) / sizeof(containerd_task_dirs[0]);
	     k++) {
		/* The component before "/<ns>/" is the task directory. */
		tlen = strlen(containerd_task_dirs[k]);
		if ((size_t)(start - 1 - bundle) < tlen)
			continue;
		task = start - 1 - tlen;
		if (!strncmp(task, containerd_task_dirs[k], tlen) &&
		    (task == bundle || task[-1] == '/'))
			break;
	}
	if (k == sizeof(containerd_task_dirs) / sizeof(containerd_task_dirs[0]))
		return 0;
	memcpy(ns, start, end - start);
	ns[end - start] = 0;
	ch.ns = ns;
	if (naming_set(rec, &ch) < 0 || naming_add_source(rec, bundle) < 0)
		return -ENOMEM;
	return 1;
}

int naming_apply(struct naming *nm, struct oci_record *rec)
{
	struct name_choice ch = { .naming = "runtime" };
	int rc;

	rc = names_cri(rec);
	if (!rc)
		rc = names_podman(nm, rec);
	if (!rc)
		rc = names_docker(nm, nm->docker_root, rec);
	if (!rc)
		rc = names_containerd(rec);
	if (!rc)
		rc = naming_set(rec, &ch);
	return rc < 0 ? rc : 0;
}
