/*
 * Podman's store, read for names. Podman 4 keeps a container's name in
 * c/storage's containers.json (<graph root>/<driver>-containers/, the
 * directory above every container's bundle), and pods only in libpod's
 * BoltDB (<graph root>/libpod/bolt_state.db): bucket "ctr" holds a
 * sub-bucket per container whose "config" is the container's JSON config
 * ("pod": its pod's id, "pause": true for a pod's infra container), and
 * bucket "allPods" maps a pod's id to its name. The OCI annotation
 * io.container.manager=libpod says a container is Podman's. Both files are
 * root's; the names in them are the users', checked as any other.
 */
#ifndef EXECFS_AGENT_NAMES_PODMAN_H
#define EXECFS_AGENT_NAMES_PODMAN_H

#include <stdbool.h>
#include <stddef.h>

#define PODMAN_STORE_MAX (16 * 1024 * 1024)

/* The entry for id in a containers.json text: its first name and image
 * name (malloc'ed; NULL when absent). 0, -ENOENT (no such entry), -EINVAL
 * (not a container list), -ENOMEM. */
int podman_store_find(const char *text, size_t len, const char *id, char **name,
		      char **image);

/* A container's libpod config (JSON): its pod's id (malloc'ed, NULL when
 * in no pod) and whether it is the pod's infra container. 0, -EINVAL,
 * -ENOMEM. */
int podman_ctr_config_parse(const char *text, size_t len, char **pod_id,
			    bool *infra);

#endif
