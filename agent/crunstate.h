/*
 * One crun container directory turned into the same record as a runc one
 * (ocistate.h). crun keeps ROOT/<id>/status (the init's pid and start
 * time, the bundle, the creation time, its cgroup path in its own
 * notation) and ROOT/<id>/config.json, its copy of the bundle's OCI config
 * as it was at create time. The copy is what crun itself enters the
 * container with, so it is read rather than the bundle's, which may have
 * changed since. crun records no cgroup directories: they are read from
 * the init's /proc/PID/cgroup (proccgroup.h).
 */
#ifndef EXECFS_AGENT_CRUNSTATE_H
#define EXECFS_AGENT_CRUNSTATE_H

#include "ocistate.h"

#define CRUN_STATUS_MAX (1024 * 1024)

/*
 * Parse ROOT/<id>/status and the config next to it (rootfd is ROOT) into
 * rec (zeroed by the caller), as oci_record_load does for runc: a negative
 * errno was logged and rec holds nothing; -ENOENT: no status (yet).
 */
int crun_record_load(struct oci_record *rec, int rootfd, const char *root,
		     const char *id, const struct oci_host_ns *host);

/*
 * The status document alone (for tests and fuzzing): fills c.pid,
 * c.start_time, c.created and c.bundle of rec from text. 0 or -EINVAL
 * (reason in err) / -ENOMEM.
 */
int crun_status_parse(struct oci_record *rec, const char *text, size_t len,
		      char *err, size_t errlen);

/* An OCI config's capabilities and noNewPrivileges into rec->c, and its
 * confinement, privileged and why (ociconfine_load_oci()): c->pid and
 * c->start_time set first. 0 or -ENOMEM. */
int crun_config_confinement(struct oci_record *rec, const json_t *cfg,
			    const struct oci_host_ns *host);

#endif
