/*
 * One runc container directory (ROOT/<id>/state.json and the bundle's OCI
 * config.json) turned into a struct container: what the runtime recorded
 * when it started the container, which does not change until runc rewrites
 * the file. What does change (is the init still alive, frozen, waiting on
 * exec.fifo) is the inventory's job, on every scan; naming the container
 * is naming.c's. crunstate.c reads crun's directories into the same
 * record, with the helpers declared at the end.
 */
#ifndef EXECFS_AGENT_OCISTATE_H
#define EXECFS_AGENT_OCISTATE_H

#include "inventory.h"
#include "privileged.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#define OCI_STATE_MAX (4 * 1024 * 1024)
#define OCI_CONFIG_MAX (4 * 1024 * 1024)

/* Enough of a file's stat to tell that it was rewritten. */
struct oci_file_id {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* The host's namespaces and root, for "privileged" (privileged.h). */
struct oci_host_ns {
	struct privileged_host priv;
};

/* Files besides the state and config whose change means the record must
 * be read again (the metadata the names came from). */
#define OCI_MAX_SOURCES 4

struct oci_source {
	char *path; /* absolute; owned */
	struct oci_file_id id;
};

struct oci_record {
	struct container c; /* everything but c.state; c.pid is init's */
	bool hidden; /* a pod sandbox or a Podman pod's infra container */
	char *freezer_v1; /* the v1 freezer.state file, or NULL */
	char *freezer_v2; /* the v2 cgroup.freeze file, or NULL */
	const char *state_file; /* "state.json" (runc) or "status" (crun) */
	char *config_path; /* the OCI config read (absolute), or NULL */
	struct oci_file_id state_id, config_id;
	struct oci_source sources[OCI_MAX_SOURCES];
	size_t nsources;
};

void oci_host_ns_init(struct oci_host_ns *host);

/*
 * Parse ROOT/<id>/state.json (rootfd is ROOT) and its bundle's config.json
 * into rec (zeroed by the caller). root is the root's path, copied into
 * rec->c.root. On a negative errno the reason was logged and rec holds
 * nothing to release; -ENOENT means there is no state.json (yet).
 */
int oci_record_load(struct oci_record *rec, int rootfd, const char *root,
		    const char *id, const struct oci_host_ns *host);
void oci_record_release(struct oci_record *rec);

/* A file's identity now (present false when it does not exist). */
void oci_file_id_get(int dirfd, const char *path, struct oci_file_id *fid);
bool oci_file_id_equal(const struct oci_file_id *a,
		       const struct oci_file_id *b);

/* A name usable as one path component: 1 to 253 bytes, no '/', no NUL,
 * not "." or "..". */
bool oci_name_is_safe(const char *s, size_t len);

/* Remember path's identity now as one of rec's sources (up to
 * OCI_MAX_SOURCES; more are ignored). 0 or -ENOMEM. */
int oci_record_add_source(struct oci_record *rec, const char *path);
/* Whether every file the record was read from is as it was. */
bool oci_record_unchanged(const struct oci_record *rec, int rootfd);

/* ---- shared by the runtime readers -------------------------------------- */

/* path (relative to dirfd) parsed as a JSON object of at most max bytes;
 * fid gets the file's identity. NULL with *err set (-EINVAL for bad JSON,
 * logged; other errors are the caller's to log). */
json_t *oci_load_json(int dirfd, const char *path, size_t max,
		      struct oci_file_id *fid, int *err);
/* A JSON string usable as a C string (no NUL inside), else NULL. */
const char *oci_jstr(const json_t *v);
/* *dst = a copy of s ("" for NULL). 0 or -ENOMEM. */
int oci_set_str(char **dst, const char *s);
/* Capability names ("CAP_SYS_ADMIN", ...) to a bit mask. */
uint64_t oci_cap_mask(const json_t *list);
/* An OCI config's process.env, cwd, user and its annotations (c.labels). */
int oci_config_parse(struct oci_record *rec, json_t *cfg);

#endif
