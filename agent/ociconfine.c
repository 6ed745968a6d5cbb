/*
 * Filling a container's confinement from the runtime's record of its
 * config (ociconfine.h): the decoders of confine.h, seccomp_profile.h and
 * privileged.h, the init's limits, and one place that turns "cannot
 * reproduce this" into the container's entry_error.
 */
#include "ociconfine.h"

#include "confine.h"
#include "inventory.h"
#include "privileged.h"
#include "procstat.h"
#include "readfile.h"
#include "seccomp_profile.h"

#include <errno.h>
#include <execfs/log.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMITS_MAX 4096

/* The init's limits for those the config leaves unset, when the init is
 * still the one recorded (checked after the read: a pid reused meanwhile
 * would give another process's limits). */
static void limits_from_init(struct container *c)
{
	unsigned long long start;
	char path[64], err[128], state, *text;
	size_t len;

	if (c->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)c->pid);
	if (read_file_at(AT_FDCWD, path, LIMITS_MAX, &text, &len, NULL) < 0)
		return;
	if (proc_stat_read(c->pid, &state, &start) == 0 &&
	    start == c->start_time &&
	    confine_rlimits_from_proc(c->confine, text, len, err, sizeof(err)) <
		    0)
		log_warn("%s: init's %s: %s", c->id, path, err);
	free(text);
}

/* Say why no process may enter c, once. */
static int set_entry_error(struct container *c, const char *what,
			   const char *err)
{
	log_warn("%s: %s: %s: every exec into it will be refused", c->id, what,
		 err);
	if (asprintf(&c->entry_error, "%s: %s", what, err) < 0) {
		c->entry_error = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int load(struct container *c, const json_t *config, bool oci,
		const struct privileged_host *host)
{
	const json_t *sc;
	char err[512];
	int rc;

	c->privileged_reason = oci ? privileged_from_oci(config, host) :
				     privileged_from_runc(config, host);
	c->privileged = c->privileged_reason != NULL;

	c->confine = calloc(1, sizeof(*c->confine));
	if (!c->confine)
		return -ENOMEM;
	rc = oci ? confine_from_oci(config, c->confine, err, sizeof(err)) :
		   confine_from_runc(config, c->confine, err, sizeof(err));
	if (rc == -EINVAL) {
		/* Nothing half-decoded is left to apply by mistake. */
		free(c->confine);
		c->confine = NULL;
		return set_entry_error(c, "config", err);
	}
	limits_from_init(c);

	sc = oci ? json_object_get(json_object_get(config, "linux"),
				   "seccomp") :
		   json_object_get(config, "seccomp");
	rc = oci ? seccomp_profile_from_oci(sc, &c->seccomp, err, sizeof(err)) :
		   seccomp_profile_from_runc(sc, &c->seccomp, err, sizeof(err));
	if (rc == -EINVAL)
		return set_entry_error(c, "seccomp", err);
	return rc;
}

static int load_or_release(struct container *c, const json_t *config, bool oci,
			   const struct privileged_host *host)
{
	int rc = load(c, config, oci, host);

	if (rc < 0)
		ociconfine_release(c);
	return rc;
}

int ociconfine_load_runc(struct container *c, const json_t *config,
			 const struct privileged_host *host)
{
	return load_or_release(c, config, false, host);
}

int ociconfine_load_oci(struct container *c, const json_t *config,
			const struct privileged_host *host)
{
	return load_or_release(c, config, true, host);
}

void ociconfine_release(struct container *c)
{
	free(c->confine);
	seccomp_profile_free(c->seccomp);
	free(c->entry_error);
	c->confine = NULL;
	c->seccomp = NULL;
	c->entry_error = NULL;
}
