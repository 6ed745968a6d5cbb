/*
 * Docker's metadata for one container: <data root>/containers/<id>/
 * config.v2.json, which Docker writes when it creates the container and
 * again on every change (a rename, a start, a stop). Its Name, labels and
 * environment say how Docker, Docker Compose and Nomad's docker driver
 * show the container. The file is root's, but the labels and environment
 * in it are whatever the container's creator chose: every field is
 * checked, and names go through the same validation as any other.
 */
#ifndef EXECFS_AGENT_NAMES_DOCKER_H
#define EXECFS_AGENT_NAMES_DOCKER_H

#include "naming.h"

#include <jansson.h>
#include <stddef.h>

#define DOCKER_CONFIG_MAX (8 * 1024 * 1024)
/* Room for a Nomad allocation name built from its parts. */
#define DOCKER_POD_BUF 512

struct docker_meta {
	json_t *doc; /* owned; the pointers below borrow from it */
	const char *id;
	const char *name; /* without Docker's leading '/'; NULL if none */
	const char *image; /* Config.Image, as the user gave it */
	json_t *labels; /* Config.Labels (object) or NULL */
	json_t *env; /* Config.Env (array) or NULL */
};

/* Parse a config.v2.json text. 0, or -EINVAL with the reason in err. */
int docker_meta_parse(const char *text, size_t len, struct docker_meta *m,
		      char *err, size_t errlen);
void docker_meta_release(struct docker_meta *m);

/* The names Docker, Compose or Nomad show for m: ch's strings point into m
 * or into podbuf (2 * DOCKER_POD_BUF bytes). */
void docker_meta_choice(const struct docker_meta *m, struct name_choice *ch,
			char *podbuf);

#endif
