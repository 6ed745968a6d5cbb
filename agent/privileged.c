/*
 * The privileged criteria of privileged.h over the two forms of a
 * container's config: libcontainer's (runc's state.json) and the OCI
 * runtime spec's. Each criterion reads the form's fields into the same
 * small questions (is this namespace the host's, does this set hold a
 * dangerous capability, does this rule allow every device, is this mount
 * the host's root).
 */
#include "privileged.h"

#include "jsonval.h"

#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* libcontainer's type, the OCI type, /proc/PID/ns's name, the reason. */
static const struct {
	const char *runc, *oci, *proc, *why;
} ns_kinds[PRIV_NS_COUNT] = {
	[PRIV_NS_MNT] = { "NEWNS", "mount", "mnt",
			  "shares the host's mount namespace" },
	[PRIV_NS_PID] = { "NEWPID", "pid", "pid",
			  "shares the host's pid namespace" },
	[PRIV_NS_IPC] = { "NEWIPC", "ipc", "ipc",
			  "shares the host's ipc namespace" },
	[PRIV_NS_NET] = { "NEWNET", "network", "net",
			  "shares the host's network namespace" },
	[PRIV_NS_UTS] = { "NEWUTS", "uts", "uts",
			  "shares the host's uts namespace" },
};

static const struct {
	const char *name, *why;
} dangerous_caps[] = {
	{ "CAP_SYS_ADMIN", "has CAP_SYS_ADMIN" },
	{ "CAP_SYS_PTRACE", "has CAP_SYS_PTRACE" },
	{ "CAP_SYS_MODULE", "has CAP_SYS_MODULE" },
	{ "CAP_SYS_RAWIO", "has CAP_SYS_RAWIO" },
	{ "CAP_DAC_READ_SEARCH", "has CAP_DAC_READ_SEARCH" },
	{ "CAP_BPF", "has CAP_BPF" },
	{ "CAP_PERFMON", "has CAP_PERFMON" },
	{ "CAP_SYS_BOOT", "has CAP_SYS_BOOT" },
};

static const char why_no_caps[] =
	"restricts no capability (it keeps the runtime's, a full root)";
static const char why_devices[] =
	"may read or write every device (a device cgroup rule allows all)";
static const char why_root[] = "bind-mounts the host's /";

void privileged_host_init(struct privileged_host *h)
{
	char path[64];
	struct stat st;
	size_t i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < PRIV_NS_COUNT; i++) {
		snprintf(path, sizeof(path), "/proc/1/ns/%s", ns_kinds[i].proc);
		if (stat(path, &st) < 0) {
			snprintf(path, sizeof(path), "/proc/self/ns/%s",
				 ns_kinds[i].proc);
			if (stat(path, &st) < 0)
				continue;
		}
		h->ns_known[i] = true;
		h->ns_dev[i] = st.st_dev;
		h->ns_ino[i] = st.st_ino;
	}
	if (stat("/", &st) == 0) {
		h->root_known = true;
		h->root_dev = st.st_dev;
		h->root_ino = st.st_ino;
	}
}

/* Criterion 1: namespaces is the config's list of {type, path}. */
static const char *host_namespaces(const json_t *namespaces, bool oci,
				   const struct privileged_host *h)
{
	const char *type, *path;
	struct stat st;
	bool found;
	size_t k, i;
	json_t *ns;

	for (k = 0; k < PRIV_NS_COUNT; k++) {
		found = false;
		json_array_foreach(namespaces, i, ns) {
			type = json_cstr(json_object_get(ns, "type"));
			if (!type || strcmp(type, oci ? ns_kinds[k].oci :
							ns_kinds[k].runc))
				continue;
			found = true;
			/* A path joins an existing namespace: a pod's
			 * sandbox's, or the host's. */
			path = json_cstr(json_object_get(ns, "path"));
			if (path && *path && h->ns_known[k] &&
			    stat(path, &st) == 0 && st.st_dev == h->ns_dev[k] &&
			    st.st_ino == h->ns_ino[k])
				return ns_kinds[k].why;
		}
		if (!found)
			return ns_kinds[k].why;
	}
	return NULL;
}

/* Criteria 2 and 3: caps is the object of the five sets. */
static const char *dangerous_capabilities(const json_t *caps, bool oci)
{
	static const char *const sets_runc[] = { "Bounding", "Effective",
						 "Permitted", "Inheritable",
						 "Ambient" };
	static const char *const sets_oci[] = { "bounding", "effective",
						"permitted", "inheritable",
						"ambient" };
	const char *name;
	size_t s, i, k;
	json_t *v;

	if (!json_is_object(caps))
		return why_no_caps;
	for (k = 0; k < NELEM(dangerous_caps); k++)
		for (s = 0; s < NELEM(sets_runc); s++)
			json_array_foreach(json_object_get(caps,
							   oci ? sets_oci[s] :
								 sets_runc[s]),
					   i, v) {
				name = json_cstr(v);
				if (name &&
				    !strcmp(name, dangerous_caps[k].name))
					return dangerous_caps[k].why;
			}
	return NULL;
}

/* Criterion 4, one rule: type ('a', 'b', 'c'), major and minor (-1: any),
 * access ("rwm"), allow. */
static bool all_devices(int type, long long major, long long minor,
			const char *access, bool allow)
{
	if (!allow || !access || (!strchr(access, 'r') && !strchr(access, 'w')))
		return false;
	if (type != 'a' && type != 'b' && type != 'c')
		return false;
	return type == 'a' || (major == -1 && minor == -1);
}

static long long jint_or(const json_t *v, long long dflt)
{
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *every_device(const json_t *rules, bool oci)
{
	const char *type;
	json_t *r;
	size_t i;
	int t;

	json_array_foreach(rules, i, r) {
		if (oci) {
			/* OCI: type, major and minor absent mean "all". */
			type = json_cstr(json_object_get(r, "type"));
			t = !type || !*type ? 'a' : type[1] ? 0 : type[0];
			if (all_devices(
				    t, jint_or(json_object_get(r, "major"), -1),
				    jint_or(json_object_get(r, "minor"), -1),
				    json_cstr(json_object_get(r, "access")),
				    json_is_true(json_object_get(r, "allow"))))
				return why_devices;
			continue;
		}
		/* libcontainer: type is a rune, -1 the wildcard. */
		if (all_devices((int)jint_or(json_object_get(r, "type"), 0),
				jint_or(json_object_get(r, "major"), 0),
				jint_or(json_object_get(r, "minor"), 0),
				json_cstr(json_object_get(r, "permissions")),
				json_is_true(json_object_get(r, "allow"))))
			return why_devices;
	}
	return NULL;
}

/* Is path the host's root? By identity when it exists here, else by
 * spelling: only slashes and "." components. */
static bool is_host_root(const char *path, const struct privileged_host *h)
{
	struct stat st;
	const char *p;

	if (!path || path[0] != '/')
		return false;
	if (h->root_known && stat(path, &st) == 0)
		return st.st_dev == h->root_dev && st.st_ino == h->root_ino;
	for (p = path; *p; p++)
		if (*p != '/' &&
		    !(*p == '.' && (p[-1] == '/') && (p[1] == '/' || !p[1])))
			return false;
	return true;
}

static bool has_option(const json_t *options, const char *want)
{
	const char *s;
	json_t *v;
	size_t i;

	json_array_foreach(options, i, v) {
		s = json_cstr(v);
		if (s && !strcmp(s, want))
			return true;
	}
	return false;
}

/* Criterion 5. */
static const char *host_root_mount(const json_t *mounts, bool oci,
				   const struct privileged_host *h)
{
	const char *type;
	bool bind;
	json_t *m;
	size_t i;

	json_array_foreach(mounts, i, m) {
		if (oci) {
			type = json_cstr(json_object_get(m, "type"));
			bind = (type && !strcmp(type, "bind")) ||
			       has_option(json_object_get(m, "options"),
					  "bind") ||
			       has_option(json_object_get(m, "options"),
					  "rbind");
		} else {
			bind = jint_or(json_object_get(m, "flags"), 0) &
			       MS_BIND;
		}
		if (bind &&
		    is_host_root(json_cstr(json_object_get(m, "source")), h))
			return why_root;
	}
	return NULL;
}

const char *privileged_from_runc(const json_t *config,
				 const struct privileged_host *h)
{
	const char *why;

	why = host_namespaces(json_object_get(config, "namespaces"), false, h);
	if (!why)
		why = dangerous_capabilities(
			json_object_get(config, "capabilities"), false);
	if (!why)
		why = every_device(
			json_object_get(json_object_get(config, "cgroups"),
					"devices"),
			false);
	if (!why)
		why = host_root_mount(json_object_get(config, "mounts"), false,
				      h);
	return why;
}

const char *privileged_from_oci(const json_t *config,
				const struct privileged_host *h)
{
	const json_t *linux_ = json_object_get(config, "linux");
	const char *why;

	why = host_namespaces(json_object_get(linux_, "namespaces"), true, h);
	if (!why)
		why = dangerous_capabilities(
			json_object_get(json_object_get(config, "process"),
					"capabilities"),
			true);
	if (!why)
		why = every_device(
			json_object_get(json_object_get(linux_, "resources"),
					"devices"),
			true);
	if (!why)
		why = host_root_mount(json_object_get(config, "mounts"), true,
				      h);
	return why;
}
