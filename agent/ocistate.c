/*
 * Parsing a runc container directory (see ocistate.h). state.json is
 * runc's libcontainer state: the init's pid and start time, the cgroup
 * directories it created, and its libcontainer config (namespaces,
 * capabilities, labels such as "bundle=/path"). The bundle's config.json
 * (OCI runtime spec) holds what state.json lacks and a process entering
 * the container needs: env, cwd, user, and the annotations that carry the
 * Kubernetes names. Everything read here comes from files root wrote, but
 * is still bounded and checked: a malformed file costs one log line and
 * that container, never the agent. Naming the container from what was
 * read is naming.c's.
 */
#include "ocistate.h"

#include "jsonval.h"
#include "ociconfine.h"
#include "procstat.h"
#include "readfile.h"
#include "strv.h"

#include <errno.h>
#include <execfs/log.h>
#include <execfs/proto.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OCI_MAX_CGROUPS 64
#define OCI_MAX_GROUPS 65536
#define OCI_MAX_ENV 65536

#define CAP(x) [x] = #x
static const char *const cap_names[] = {
	CAP(CAP_CHOWN),
	CAP(CAP_DAC_OVERRIDE),
	CAP(CAP_DAC_READ_SEARCH),
	CAP(CAP_FOWNER),
	CAP(CAP_FSETID),
	CAP(CAP_KILL),
	CAP(CAP_SETGID),
	CAP(CAP_SETUID),
	CAP(CAP_SETPCAP),
	CAP(CAP_LINUX_IMMUTABLE),
	CAP(CAP_NET_BIND_SERVICE),
	CAP(CAP_NET_BROADCAST),
	CAP(CAP_NET_ADMIN),
	CAP(CAP_NET_RAW),
	CAP(CAP_IPC_LOCK),
	CAP(CAP_IPC_OWNER),
	CAP(CAP_SYS_MODULE),
	CAP(CAP_SYS_RAWIO),
	CAP(CAP_SYS_CHROOT),
	CAP(CAP_SYS_PTRACE),
	CAP(CAP_SYS_PACCT),
	CAP(CAP_SYS_ADMIN),
	CAP(CAP_SYS_BOOT),
	CAP(CAP_SYS_NICE),
	CAP(CAP_SYS_RESOURCE),
	CAP(CAP_SYS_TIME),
	CAP(CAP_SYS_TTY_CONFIG),
	CAP(CAP_MKNOD),
	CAP(CAP_LEASE),
	CAP(CAP_AUDIT_WRITE),
	CAP(CAP_AUDIT_CONTROL),
	CAP(CAP_SETFCAP),
	CAP(CAP_MAC_OVERRIDE),
	CAP(CAP_MAC_ADMIN),
	CAP(CAP_SYSLOG),
	CAP(CAP_WAKE_ALARM),
	CAP(CAP_BLOCK_SUSPEND),
	CAP(CAP_AUDIT_READ),
	CAP(CAP_PERFMON),
	CAP(CAP_BPF),
	CAP(CAP_CHECKPOINT_RESTORE),
};
#undef CAP

bool oci_name_is_safe(const char *s, size_t len)
{
	if (!s || len == 0 || len > EXECFS_MAX_NAME_LEN)
		return false;
	if (strlen(s) != len || memchr(s, '/', len))
		return false;
	return strcmp(s, ".") && strcmp(s, "..");
}

const char *oci_jstr(const json_t *v)
{
	return json_cstr(v);
}

void oci_host_ns_init(struct oci_host_ns *host)
{
	privileged_host_init(&host->priv);
}

static void file_id_from_stat(struct oci_file_id *fid, const struct stat *st)
{
	fid->present = true;
	fid->dev = st->st_dev;
	fid->ino = st->st_ino;
	fid->size = st->st_size;
	fid->mtime = st->st_mtim;
}

void oci_file_id_get(int dirfd, const char *path, struct oci_file_id *fid)
{
	struct stat st;

	memset(fid, 0, sizeof(*fid));
	if (fstatat(dirfd, path, &st, 0) == 0)
		file_id_from_stat(fid, &st);
}

bool oci_file_id_equal(const struct oci_file_id *a, const struct oci_file_id *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static json_t *load_json(int dirfd, const char *path, size_t max,
			 struct oci_file_id *fid, int *err)
{
	json_error_t jerr;
	struct stat st;
	json_t *doc;
	char *buf;
	size_t len;
	int rc;

	rc = read_file_at(dirfd, path, max, &buf, &len, &st);
	if (rc < 0) {
		*err = rc;
		return NULL;
	}
	file_id_from_stat(fid, &st);
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!doc) {
		log_warn("%s: line %d: %s", path, jerr.line, jerr.text);
		*err = -EINVAL;
		return NULL;
	}
	if (!json_is_object(doc)) {
		log_warn("%s: not a JSON object", path);
		json_decref(doc);
		*err = -EINVAL;
		return NULL;
	}
	return doc;
}

json_t *oci_load_json(int dirfd, const char *path, size_t max,
		      struct oci_file_id *fid, int *err)
{
	return load_json(dirfd, path, max, fid, err);
}

static int set_str(char **dst, const char *s)
{
	*dst = strdup(s ? s : "");
	return *dst ? 0 : -ENOMEM;
}

int oci_set_str(char **dst, const char *s)
{
	return set_str(dst, s);
}

static int set_path(char **dst, const char *dir, const char *file)
{
	return asprintf(dst, "%s/%s", dir, file) < 0 ? -ENOMEM : 0;
}

/* libcontainer capability lists ("CAP_SYS_ADMIN", ...) to a bit mask. */
static uint64_t cap_mask(const json_t *list)
{
	uint64_t mask = 0;
	const char *s;
	json_t *v;
	size_t i, k;

	json_array_foreach(list, i, v) {
		s = json_cstr(v);
		if (!s)
			continue;
		for (k = 0; k < sizeof(cap_names) / sizeof(cap_names[0]); k++) {
			if (cap_names[k] && !strcmp(s, cap_names[k])) {
				mask |= 1ULL << k;
				break;
			}
		}
	}
	return mask;
}

uint64_t oci_cap_mask(const json_t *list)
{
	return cap_mask(list);
}

static void set_caps(struct container *c, const json_t *caps)
{
	/* libcontainer leaves the capabilities alone when none are named. */
	if (!json_is_object(caps)) {
		c->has_caps = false;
		return;
	}
	c->has_caps = true;
	c->cap_bounding = cap_mask(json_object_get(caps, "Bounding"));
	c->cap_effective = cap_mask(json_object_get(caps, "Effective"));
	c->cap_permitted = cap_mask(json_object_get(caps, "Permitted"));
	c->cap_inheritable = cap_mask(json_object_get(caps, "Inheritable"));
	c->cap_ambient = cap_mask(json_object_get(caps, "Ambient"));
}

static int set_cgroups(struct oci_record *rec, const json_t *paths)
{
	struct container *c = &rec->c;
	const char *key, *dir;
	struct stat st;
	size_t n = 0, i;
	json_t *v;
	int rc;

	c->cgroups = calloc(1, sizeof(*c->cgroups));
	if (!c->cgroups)
		return -ENOMEM;
	json_object_foreach((json_t *)paths, key, v) {
		dir = json_cstr(v);
		if (!dir || dir[0] != '/')
			continue;
		/* On a hybrid host runc records a unified directory that
		 * it may not have created. */
		if (!*key && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(c->cgroups[i], dir))
				break;
		if (i < n)
			continue;
		if (n == OCI_MAX_CGROUPS) {
			log_warn("%s: more than %d cgroups, ignoring the rest",
				 c->id, OCI_MAX_CGROUPS);
			break;
		}
		rc = strv_push(&c->cgroups, &n, dir);
		if (rc < 0)
			return rc;
		if (!strcmp(key, "freezer") && !rec->freezer_v1) {
			rc = set_path(&rec->freezer_v1, dir, "freezer.state");
			if (rc < 0)
				return rc;
		}
		if (!*key && !rec->freezer_v2) {
			rc = set_path(&rec->freezer_v2, dir, "cgroup.freeze");
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* state.json: identity, init, cgroups, capabilities, privileged. Returns
 * the bundle path (borrowed from st) in *bundle, "" when not recorded. */
static int parse_state(struct oci_record *rec, json_t *st, const char *id,
		       const struct oci_host_ns *host, const char **bundle)
{
	struct container *c = &rec->c;
	json_t *config, *labels, *v, *nnp;
	const char *s;
	json_int_t pid, start;
	size_t i;
	int rc;

	s = json_cstr(json_object_get(st, "id"));
	if (!s || strcmp(s, id)) {
		log_warn("%s: state.json names another id", id);
		return -EINVAL;
	}
	v = json_object_get(st, "init_process_pid");
	pid = json_integer_value(v);
	if (!json_is_integer(v) || pid < 0 || pid > INT_MAX) {
		log_warn("%s: bad init_process_pid", id);
		return -EINVAL;
	}
	v = json_object_get(st, "init_process_start");
	start = json_integer_value(v);
	if (!json_is_integer(v) || start < 0) {
		log_warn("%s: bad init_process_start", id);
		return -EINVAL;
	}
	config = json_object_get(st, "config");
	if (!json_is_object(config)) {
		log_warn("%s: state.json has no config", id);
		return -EINVAL;
	}
	c->pid = pid;
	c->start_time = start;
	rc = set_str(&c->id, id);
	if (!rc)
		rc = set_str(&c->runtime_id, id);
	if (!rc)
		rc = set_str(&c->created,
			     json_cstr(json_object_get(st, "created")));
	if (!rc)
		rc = set_str(&c->runtime, "runc");
	if (!rc)
		rc = set_cgroups(rec, json_object_get(st, "cgroup_paths"));
	if (rc < 0)
		return rc;

	set_caps(c, json_object_get(config, "capabilities"));
	nnp = json_object_get(config, "no_new_privileges");
	c->no_new_privs = json_is_true(nnp);
	/* Privileged, seccomp, rlimits, ...: from this snapshot of the
	 * config, never the bundle's file (ociconfine.h). */
	rc = ociconfine_load_runc(c, config, &host->priv);
	if (rc < 0)
		return rc;

	*bundle = "";
	labels = json_object_get(config, "labels");
	json_array_foreach(labels, i, v) {
		s = json_cstr(v);
		if (s && !strncmp(s, "bundle=", 7)) {
			*bundle = s + 7;
			break;
		}
	}
	return 0;
}

/* The annotations from state.json's "k=v" labels, when config.json is not
 * there to give them; runc's own "bundle" label is not an annotation. */
static json_t *labels_from_state(json_t *st)
{
	json_t *labels, *out, *v;
	const char *s, *eq;
	char *key;
	size_t i;

	out = json_object();
	if (!out)
		return NULL;
	labels = json_object_get(json_object_get(st, "config"), "labels");
	json_array_foreach(labels, i, v) {
		s = json_cstr(v);
		eq = s ? strchr(s, '=') : NULL;
		if (!eq || eq == s || !strncmp(s, "bundle=", 7))
			continue;
		key = strndup(s, eq - s);
		if (!key ||
		    json_object_set_new(out, key, json_string(eq + 1))) {
			free(key);
			json_decref(out);
			return NULL;
		}
		free(key);
	}
	return out;
}

static int parse_user(struct container *c, const json_t *user)
{
	json_t *v, *gids;
	json_int_t n;
	size_t i;

	v = json_object_get(user, "uid");
	n = json_integer_value(v);
	if (v && (!json_is_integer(v) || n < 0 || n >= UINT_MAX))
		return -EINVAL;
	c->uid = n;
	v = json_object_get(user, "gid");
	n = json_integer_value(v);
	if (v && (!json_is_integer(v) || n < 0 || n >= UINT_MAX))
		return -EINVAL;
	c->gid = n;
	gids = json_object_get(user, "additionalGids");
	if (!json_is_array(gids) || !json_array_size(gids))
		return 0;
	if (json_array_size(gids) > OCI_MAX_GROUPS)
		return -EINVAL;
	c->groups = calloc(json_array_size(gids), sizeof(*c->groups));
	if (!c->groups)
		return -ENOMEM;
	json_array_foreach(gids, i, v) {
		n = json_integer_value(v);
		if (!json_is_integer(v) || n < 0 || n >= UINT_MAX)
			return -EINVAL;
		c->groups[c->ngroups++] = n;
	}
	return 0;
}

/* config.json (OCI runtime spec): env, cwd, user, annotations. */
int oci_config_parse(struct oci_record *rec, json_t *cfg)
{
	struct container *c = &rec->c;
	json_t *process, *env, *v, *ann;
	const char *s, *key;
	size_t i, n = 0;
	int rc;

	process = json_object_get(cfg, "process");
	c->env = calloc(1, sizeof(*c->env));
	if (!c->env)
		return -ENOMEM;
	env = json_object_get(process, "env");
	json_array_foreach(env, i, v) {
		s = json_cstr(v);
		if (!s || !strchr(s, '=') || *s == '=')
			continue;
		if (n == OCI_MAX_ENV)
			break;
		rc = strv_push(&c->env, &n, s);
		if (rc < 0)
			return rc;
	}
	s = json_cstr(json_object_get(process, "cwd"));
	rc = set_str(&c->cwd, s && *s ? s : "/");
	if (rc < 0)
		return rc;
	rc = parse_user(c, json_object_get(process, "user"));
	if (rc < 0) {
		if (rc == -EINVAL)
			log_warn("%s: bad process.user", c->id);
		return rc;
	}
	c->labels = json_object();
	if (!c->labels)
		return -ENOMEM;
	ann = json_object_get(cfg, "annotations");
	json_object_foreach(ann, key, v) {
		if (!json_cstr(v))
			continue;
		if (json_object_set(c->labels, key, v))
			return -ENOMEM;
	}
	return 0;
}

/* No config.json: annotations from state.json, and (when the init is
 * alive) the user and environment it actually runs with. */
static int parse_fallback(struct oci_record *rec, json_t *st)
{
	struct container *c = &rec->c;
	unsigned long long start;
	char state;
	int rc;

	c->labels = labels_from_state(st);
	if (!c->labels)
		return -ENOMEM;
	rc = set_str(&c->cwd, "/");
	if (rc < 0)
		return rc;
	if (proc_stat_read(c->pid, &state, &start) == 0 &&
	    start == c->start_time) {
		rc = proc_status_creds(c->pid, &c->uid, &c->gid, &c->groups,
				       &c->ngroups);
		if (rc == -ENOMEM)
			return rc;
		rc = proc_environ_read(c->pid, &c->env);
		if (rc == -ENOMEM)
			return rc;
	}
	if (!c->env) {
		c->env = calloc(1, sizeof(*c->env));
		if (!c->env)
			return -ENOMEM;
	}
	return 0;
}

int oci_record_load(struct oci_record *rec, int rootfd, const char *root,
		    const char *id, const struct oci_host_ns *host)
{
	char path[PATH_MAX], *config_path = NULL;
	json_t *st, *cfg = NULL;
	const char *bundle;
	int rc, err = 0;

	if (!oci_name_is_safe(id, strlen(id))) {
		log_warn("%s/%.64s...: unsafe container id, skipped", root, id);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/state.json", id);
	st = load_json(rootfd, path, OCI_STATE_MAX, &rec->state_id, &err);
	if (!st) {
		if (err == -ENOENT)
			return err;
		if (err != -EINVAL)
			log_warn("%s/%s: %s", root, path, strerror(-err));
		return err;
	}
	rc = parse_state(rec, st, id, host, &bundle);
	if (!rc)
		rc = set_str(&rec->c.root, root);
	if (!rc)
		rc = set_str(&rec->c.bundle, bundle);
	if (rc < 0)
		goto out_release;

	if (*bundle == '/') {
		if (asprintf(&config_path, "%s/config.json", bundle) < 0) {
			rc = -ENOMEM;
			goto out_release;
		}
		cfg = load_json(AT_FDCWD, config_path, OCI_CONFIG_MAX,
				&rec->config_id, &err);
		if (!cfg && err != -EINVAL)
			log_warn("%s: %s: %s", id, config_path, strerror(-err));
	} else {
		log_warn("%s: no bundle recorded", id);
	}
	rc = cfg ? oci_config_parse(rec, cfg) : parse_fallback(rec, st);
	if (rc < 0)
		goto out_release;
	rec->state_file = "state.json";
	/* The record's now, also when the file is missing: its appearance
	 * is a change. NULL without a bundle. */
	rec->config_path = config_path;
	json_decref(cfg);
	json_decref(st);
	return 0;

out_release:
	if (rc == -ENOMEM)
		log_warn("%s: %s", id, strerror(ENOMEM));
	oci_record_release(rec);
	json_decref(cfg);
	free(config_path);
	json_decref(st);
	return rc;
}

void oci_record_release(struct oci_record *rec)
{
	struct container *c = &rec->c;
	size_t i;

	free(c->id);
	free(c->runtime_id);
	free(c->naming);
	json_decref(c->name_sources);
	free(c->namespace);
	free(c->pod);
	free(c->name);
	free(c->runtime);
	free(c->root);
	free(c->bundle);
	free(c->image);
	free(c->created);
	json_decref(c->labels);
	strv_free(c->env);
	free(c->cwd);
	free(c->groups);
	strv_free(c->cgroups);
	ociconfine_release(c);
	free(rec->freezer_v1);
	free(rec->freezer_v2);
	free(rec->config_path);
	for (i = 0; i < rec->nsources; i++)
		free(rec->sources[i].path);
	memset(rec, 0, sizeof(*rec));
}

int oci_record_add_source(struct oci_record *rec, const char *path)
{
	struct oci_source *src;
	size_t i;

	for (i = 0; i < rec->nsources; i++)
		if (!strcmp(rec->sources[i].path, path))
			return 0;
	if (rec->nsources == OCI_MAX_SOURCES)
		return 0;
	src = &rec->sources[rec->nsources];
	src->path = strdup(path);
	if (!src->path)
		return -ENOMEM;
	oci_file_id_get(AT_FDCWD, path, &src->id);
	rec->nsources++;
	return 0;
}

bool oci_record_unchanged(const struct oci_record *rec, int rootfd)
{
	struct oci_file_id now;
	char path[PATH_MAX];
	size_t i;

	if (snprintf(path, sizeof(path), "%s/%s", rec->c.runtime_id,
		     rec->state_file) >= (int)sizeof(path))
		return false;
	oci_file_id_get(rootfd, path, &now);
	if (!oci_file_id_equal(&rec->state_id, &now))
		return false;
	if (rec->config_path) {
		oci_file_id_get(AT_FDCWD, rec->config_path, &now);
		if (!oci_file_id_equal(&rec->config_id, &now))
			return false;
	}
	for (i = 0; i < rec->nsources; i++) {
		oci_file_id_get(AT_FDCWD, rec->sources[i].path, &now);
		if (!oci_file_id_equal(&rec->sources[i].id, &now))
			return false;
	}
	return true;
}
