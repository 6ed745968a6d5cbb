/*
 * Parsing a crun container directory (see crunstate.h). The status file
 * is small JSON crun writes at create ({"pid": 4242, "process-start-time":
 * 56501, "cgroup-path": "/c1", "bundle": "/b", "created": "...Z", ...});
 * the start time is the init's field 22 of /proc/PID/stat, as runc's
 * init_process_start, so the inventory tells a live init from a recycled
 * pid the same way for both. Files are bounded and checked like runc's.
 */
#include "crunstate.h"

#include "ociconfine.h"
#include "proccgroup.h"
#include "procstat.h"
#include "readfile.h"

#include <errno.h>
#include <execfs/log.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int crun_status_parse(struct oci_record *rec, const char *text, size_t len,
		      char *err, size_t errlen)
{
	struct container *c = &rec->c;
	json_int_t pid, start;
	json_error_t jerr;
	const char *bundle, *created;
	json_t *st, *v;
	int rc = -EINVAL;

	st = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(st)) {
		snprintf(err, errlen, "status: %s",
			 st ? "not a JSON object" : jerr.text);
		goto out;
	}
	v = json_object_get(st, "pid");
	pid = json_integer_value(v);
	if (!json_is_integer(v) || pid < 0 || pid > INT_MAX) {
		snprintf(err, errlen, "status: bad pid");
		goto out;
	}
	v = json_object_get(st, "process-start-time");
	start = json_integer_value(v);
	if (!json_is_integer(v) || start < 0) {
		snprintf(err, errlen, "status: bad process-start-time");
		goto out;
	}
	bundle = oci_jstr(json_object_get(st, "bundle"));
	created = oci_jstr(json_object_get(st, "created"));
	c->pid = pid;
	c->start_time = start;
	rc = oci_set_str(&c->bundle, bundle && bundle[0] == '/' ? bundle : "");
	if (!rc)
		rc = oci_set_str(&c->created, created);
out:
	json_decref(st);
	return rc;
}

int crun_config_confinement(struct oci_record *rec, const json_t *cfg,
			    const struct oci_host_ns *host)
{
	const json_t *process = json_object_get(cfg, "process");
	const json_t *caps = json_object_get(process, "capabilities");
	struct container *c = &rec->c;

	/* As for runc: capabilities named nowhere are left as they are. */
	c->has_caps = json_is_object(caps);
	if (c->has_caps) {
		c->cap_bounding =
			oci_cap_mask(json_object_get(caps, "bounding"));
		c->cap_effective =
			oci_cap_mask(json_object_get(caps, "effective"));
		c->cap_permitted =
			oci_cap_mask(json_object_get(caps, "permitted"));
		c->cap_inheritable =
			oci_cap_mask(json_object_get(caps, "inheritable"));
		c->cap_ambient = oci_cap_mask(json_object_get(caps, "ambient"));
	}
	c->no_new_privs =
		json_is_true(json_object_get(process, "noNewPrivileges"));
	/* Privileged, seccomp, rlimits, ... (ociconfine.h). */
	return ociconfine_load_oci(c, cfg, &host->priv);
}

/* The status file into rec; the file's identity into rec->state_id. */
static int load_status(struct oci_record *rec, int rootfd, const char *root,
		       const char *id)
{
	char path[PATH_MAX], err[256], *buf;
	struct stat st;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/status", id);
	rc = read_file_at(rootfd, path, CRUN_STATUS_MAX, &buf, &len, &st);
	if (rc < 0) {
		if (rc != -ENOENT)
			log_warn("%s/%s: %s", root, path, strerror(-rc));
		return rc;
	}
	rec->state_id.present = true;
	rec->state_id.dev = st.st_dev;
	rec->state_id.ino = st.st_ino;
	rec->state_id.size = st.st_size;
	rec->state_id.mtime = st.st_mtim;
	rc = crun_status_parse(rec, buf, len, err, sizeof(err));
	free(buf);
	if (rc == -EINVAL)
		log_warn("%s/%s: %s", root, id, err);
	return rc;
}

/* crun's copy of the config, else the bundle's; -ENOENT when neither is
 * there (yet). */
static json_t *load_config(struct oci_record *rec, const char *root,
			   const char *id, int *err)
{
	json_t *cfg;

	if (asprintf(&rec->config_path, "%s/%s/config.json", root, id) < 0) {
		rec->config_path = NULL;
		*err = -ENOMEM;
		return NULL;
	}
	cfg = oci_load_json(AT_FDCWD, rec->config_path, OCI_CONFIG_MAX,
			    &rec->config_id, err);
	if (cfg || *err != -ENOENT || !rec->c.bundle[0])
		return cfg;
	free(rec->config_path);
	if (asprintf(&rec->config_path, "%s/config.json", rec->c.bundle) < 0) {
		rec->config_path = NULL;
		*err = -ENOMEM;
		return NULL;
	}
	return oci_load_json(AT_FDCWD, rec->config_path, OCI_CONFIG_MAX,
			     &rec->config_id, err);
}

int crun_record_load(struct oci_record *rec, int rootfd, const char *root,
		     const char *id, const struct oci_host_ns *host)
{
	struct container *c = &rec->c;
	unsigned long long start;
	json_t *cfg = NULL;
	int rc, err = 0;
	char state;

	if (!oci_name_is_safe(id, strlen(id))) {
		log_warn("%s/%.64s...: unsafe container id, skipped", root, id);
		return -EINVAL;
	}
	rc = load_status(rec, rootfd, root, id);
	if (!rc)
		rc = oci_set_str(&c->id, id);
	if (!rc)
		rc = oci_set_str(&c->runtime_id, id);
	if (!rc)
		rc = oci_set_str(&c->runtime, "crun");
	if (!rc)
		rc = oci_set_str(&c->root, root);
	if (rc < 0)
		goto out_release;

	cfg = load_config(rec, root, id, &err);
	if (!cfg) {
		rc = err;
		if (rc != -ENOENT && rc != -EINVAL && rc != -ENOMEM)
			log_warn("%s: %s: %s", id, rec->config_path,
				 strerror(-rc));
		goto out_release;
	}
	rc = oci_config_parse(rec, cfg);
	if (rc < 0)
		goto out_release;
	rc = crun_config_confinement(rec, cfg, host);
	if (rc < 0)
		goto out_release;
	rec->state_file = "status";

	/* The cgroups the init is in, while it is the recorded one. */
	if (proc_stat_read(c->pid, &state, &start) == 0 &&
	    start == c->start_time) {
		rc = proc_cgroup_dirs(c->pid, &c->cgroups, &rec->freezer_v1,
				      &rec->freezer_v2);
		if (rc == -ENOMEM)
			goto out_release;
	}
	if (!c->cgroups) {
		c->cgroups = calloc(1, sizeof(*c->cgroups));
		if (!c->cgroups) {
			rc = -ENOMEM;
			goto out_release;
		}
	}
	json_decref(cfg);
	return 0;

out_release:
	if (rc == -ENOMEM)
		log_warn("%s: %s", id, strerror(ENOMEM));
	oci_record_release(rec);
	json_decref(cfg);
	return rc;
}
