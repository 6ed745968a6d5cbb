/*
 * One runc container directory (ROOT/<id>/state.json and the bundle's OCI
 * config.json) turned into a struct container: what the runtime recorded
 * when it started the container, which does not change until runc rewrites
 * the file. What does change (is the init still alive, frozen, waiting on
 * exec.fifo) is the inventory's job, on every scan.
 */
#ifndef EXECFS_AGENT_OCISTATE_H
#define EXECFS_AGENT_OCISTATE_H

#include "inventory.h"

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

/* The host's pid, ipc and net namespaces, for "privileged". */
struct oci_host_ns {
	bool known[3];
	dev_t dev[3];
	ino_t ino[3];
};

struct oci_record {
	struct container c; /* everything but c.state; c.pid is init's */
	bool hidden; /* a pod sandbox */
	char *freezer_v1; /* the v1 freezer.state file, or NULL */
	char *freezer_v2; /* the v2 cgroup.freeze file, or NULL */
	struct oci_file_id state_id, config_id;
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

#endif
