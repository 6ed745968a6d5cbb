/*
 * How a process entering a container must be confined, read from the
 * runtime's own record of the container's config: runc's state.json
 * `config` (the config the container was started with, which nobody edits
 * afterwards), or the copy of config.json a runtime such as crun keeps
 * under its state root; never the bundle's config.json, which anyone with
 * access to the bundle may have edited since. Fills the confinement
 * fields of struct container (inventory.h): the seccomp profile, the rest
 * of the confinement, "privileged" and why, and the reason every start
 * must be refused when the config asks for what the agent cannot
 * reproduce (SCMP_ACT_NOTIFY, an unknown architecture, ...).
 */
#ifndef EXECFS_AGENT_OCICONFINE_H
#define EXECFS_AGENT_OCICONFINE_H

#include <jansson.h>

struct container;
struct privileged_host;

/*
 * From runc's state.json `config` (libcontainer's form). c->pid and
 * c->start_time must be set: when the config has no rlimits (runc 1.1
 * records none), the init's /proc/PID/limits are read, and kept only if
 * the init's start time is still c->start_time afterwards. A config that
 * cannot be reproduced is not an error: it sets c->entry_error (and logs
 * it), so the container is listed and every start into it fails with that
 * reason. 0, or -ENOMEM (then nothing is left to release).
 */
int ociconfine_load_runc(struct container *c, const json_t *config,
			 const struct privileged_host *host);

/* The same from an OCI config.json's root object (a runtime's own copy);
 * the init's limits fill what process.rlimits leaves unset. */
int ociconfine_load_oci(struct container *c, const json_t *config,
			const struct privileged_host *host);

/* Free what the loads set (c->confine, c->seccomp, c->entry_error). */
void ociconfine_release(struct container *c);

#endif
