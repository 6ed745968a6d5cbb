/*
 * Decoding the confinement settings of a container's config (confine.h)
 * from libcontainer's form (runc's state.json) or the OCI runtime spec's,
 * and the init's limits from /proc/PID/limits; and applying them in the
 * child. The decoders refuse what the kernel would refuse later (a soft
 * limit above the hard one, a score outside -1000..1000) so a bad record
 * is a clear error when the container is read, not a failed start.
 */
#include "confine.h"

#include "jsonval.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const rlimit_names[CONFINE_NLIMITS] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",
	[RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",
	[RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",
	[RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",
	[RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
	[RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",
	[RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
	[RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
	[RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

/* The rows of /proc/PID/limits, as fs/proc/base.c names them. */
static const char *const proc_limit_names[CONFINE_NLIMITS] = {
	[RLIMIT_CPU] = "Max cpu time",
	[RLIMIT_FSIZE] = "Max file size",
	[RLIMIT_DATA] = "Max data size",
	[RLIMIT_STACK] = "Max stack size",
	[RLIMIT_CORE] = "Max core file size",
	[RLIMIT_RSS] = "Max resident set",
	[RLIMIT_NPROC] = "Max processes",
	[RLIMIT_NOFILE] = "Max open files",
	[RLIMIT_MEMLOCK] = "Max locked memory",
	[RLIMIT_AS] = "Max address space",
	[RLIMIT_LOCKS] = "Max file locks",
	[RLIMIT_SIGPENDING] = "Max pending signals",
	[RLIMIT_MSGQUEUE] = "Max msgqueue size",
	[RLIMIT_NICE] = "Max nice priority",
	[RLIMIT_RTPRIO] = "Max realtime priority",
	[RLIMIT_RTTIME] = "Max realtime timeout",
};

/* The keys of each form, and where they sit. */
struct confine_keys {
	const char *oom, *umask, *apparmor, *selinux, *rlimits, *personality;
	bool process; /* OCI: under "process" (umask under process.user) */
};

static const struct confine_keys keys_runc = {
	"oom_score_adj", "umask",   "apparmor_profile",
	"process_label", "rlimits", "personality",
	false,
};

static const struct confine_keys keys_oci = {
	"oomScoreAdj", "umask", "apparmorProfile", "selinuxLabel", "rlimits",
	"personality", true,
};

const char *confine_rlimit_name(int resource)
{
	return resource >= 0 && resource < CONFINE_NLIMITS ?
		       rlimit_names[resource] :
		       NULL;
}

static bool absent(const json_t *v)
{
	return !v || json_is_null(v);
}

/* jansson holds integers up to INT64_MAX; rlimits above that (RLIM_INFINITY
 * is 2^64-1) cannot reach here: such a file does not parse. */
static int get_int(const json_t *v, long long lo, long long hi, long long *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return -EINVAL;
	*out = n;
	return 0;
}

/* A label for the kernel: a C string without control characters. */
static int get_label(const json_t *v, const char *what, char *dst, size_t cap,
		     const char *prefix, char *err, size_t errlen)
{
	const char *s;
	size_t i, len;

	if (absent(v))
		return 0;
	if (!json_is_string(v))
		return json_refuse(err, errlen, "%s: not a string", what);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len != strlen(s) || len > CONFINE_LABEL_MAX)
		return json_refuse(err, errlen,
				   "%s: has a NUL or is over %d bytes", what,
				   CONFINE_LABEL_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return json_refuse(err, errlen,
					   "%s: has a control character", what);
	if (len)
		snprintf(dst, cap, "%s%s", prefix, s);
	return 0;
}

static int decode_rlimits(const json_t *list, bool oci, struct confine *cf,
			  char *err, size_t errlen)
{
	const char *name;
	long long type, soft, hard;
	json_t *v;
	size_t i;
	int k;

	if (absent(list))
		return 0;
	if (!json_is_array(list))
		return json_refuse(err, errlen, "rlimits: not a list");
	json_array_foreach(list, i, v) {
		if (!json_is_object(v))
			return json_refuse(err, errlen,
					   "rlimits[%zu]: not an object", i);
		if (oci) {
			name = json_string_value(json_object_get(v, "type"));
			for (k = 0; name && k < CONFINE_NLIMITS; k++)
				if (!strcmp(name, rlimit_names[k]))
					break;
			if (!name || k == CONFINE_NLIMITS)
				return json_refuse(
					err, errlen,
					"rlimits[%zu]: unknown type %.32s", i,
					name ? name : "(not a string)");
			type = k;
		} else if (get_int(json_object_get(v, "type"), 0,
				   CONFINE_NLIMITS - 1, &type) < 0) {
			return json_refuse(
				err, errlen,
				"rlimits[%zu]: type is not an RLIMIT_* number",
				i);
		}
		if (get_int(json_object_get(v, "soft"), 0, LLONG_MAX, &soft) <
			    0 ||
		    get_int(json_object_get(v, "hard"), 0, LLONG_MAX, &hard) <
			    0)
			return json_refuse(
				err, errlen,
				"rlimits[%zu] (%s): want soft and hard numbers",
				i, rlimit_names[type]);
		if (soft > hard)
			return json_refuse(
				err, errlen,
				"rlimits[%zu] (%s): soft %lld above hard %lld",
				i, rlimit_names[type], soft, hard);
		if (cf->rlimits[type].source)
			return json_refuse(err, errlen,
					   "rlimits: %s given twice",
					   rlimit_names[type]);
		cf->rlimits[type].source = CONFINE_FROM_CONFIG;
		cf->rlimits[type].lim.rlim_cur = (rlim_t)soft;
		cf->rlimits[type].lim.rlim_max = (rlim_t)hard;
	}
	return 0;
}

static int decode_personality(const json_t *p, bool oci, struct confine *cf,
			      char *err, size_t errlen)
{
	const json_t *flags;
	const char *domain;
	long long n;

	if (absent(p))
		return 0;
	if (!json_is_object(p))
		return json_refuse(err, errlen, "personality: not an object");
	if (oci) {
		domain = json_string_value(json_object_get(p, "domain"));
		if (domain && !strcmp(domain, "LINUX"))
			n = PER_LINUX;
		else if (domain && !strcmp(domain, "LINUX32"))
			n = PER_LINUX32;
		else
			return json_refuse(
				err, errlen,
				"personality: domain must be LINUX or LINUX32");
	} else if (get_int(json_object_get(p, "domain"), 0, INT_MAX, &n) < 0 ||
		   (n != PER_LINUX && n != PER_LINUX32)) {
		return json_refuse(
			err, errlen,
			"personality: domain must be %d (LINUX) or %d (LINUX32)",
			PER_LINUX, PER_LINUX32);
	}
	/* The spec defines no flags; runc refuses any. */
	flags = json_object_get(p, "flags");
	if (!absent(flags) && (!json_is_array(flags) || json_array_size(flags)))
		return json_refuse(
			err, errlen,
			"personality: flags are not supported (none is defined)");
	cf->has_personality = true;
	cf->personality = (unsigned long)n;
	return 0;
}

static int decode(const json_t *config, const struct confine_keys *k,
		  struct confine *cf, char *err, size_t errlen)
{
	const json_t *proc, *linux_, *user, *v;
	long long n;
	int rc;

	memset(cf, 0, sizeof(*cf));
	if (!json_is_object(config))
		return json_refuse(err, errlen, "the config is not an object");
	proc = k->process ? json_object_get(config, "process") : config;
	linux_ = k->process ? json_object_get(config, "linux") : config;
	user = k->process ? json_object_get(proc, "user") : config;

	v = json_object_get(proc, k->oom);
	if (!absent(v)) {
		if (get_int(v, -1000, 1000, &n) < 0)
			return json_refuse(err, errlen,
					   "%s: not a number in -1000..1000",
					   k->oom);
		cf->has_oom = true;
		cf->oom_score_adj = (int)n;
		snprintf(cf->oom_text, sizeof(cf->oom_text), "%d", (int)n);
	}
	v = json_object_get(user, k->umask);
	if (!absent(v)) {
		if (get_int(v, 0, 0777, &n) < 0)
			return json_refuse(err, errlen,
					   "umask: not in 0..0777");
		cf->has_umask = true;
		cf->umask = (mode_t)n;
	}
	/* aa_change_onexec()'s text: "exec PROFILE". */
	rc = get_label(json_object_get(proc, k->apparmor), k->apparmor,
		       cf->apparmor_exec, sizeof(cf->apparmor_exec), "exec ",
		       err, errlen);
	if (!rc)
		rc = get_label(json_object_get(proc, k->selinux), k->selinux,
			       cf->selinux_label, sizeof(cf->selinux_label), "",
			       err, errlen);
	if (!rc)
		rc = decode_rlimits(json_object_get(proc, k->rlimits),
				    k->process, cf, err, errlen);
	if (!rc)
		rc = decode_personality(json_object_get(linux_, k->personality),
					k->process, cf, err, errlen);
	return rc;
}

int confine_from_runc(const json_t *config, struct confine *cf, char *err,
		      size_t errlen)
{
	return decode(config, &keys_runc, cf, err, errlen);
}

int confine_from_oci(const json_t *config, struct confine *cf, char *err,
		     size_t errlen)
{
	return decode(config, &keys_oci, cf, err, errlen);
}

/* "unlimited" or a decimal number, then blanks; *p moves past them. */
static int proc_value(const char **p, const char *end, rlim_t *out)
{
	const char *s = *p;
	unsigned long long n = 0;

	while (s < end && *s == ' ')
		s++;
	if (end - s >= 9 && !memcmp(s, "unlimited", 9)) {
		*out = RLIM_INFINITY;
		s += 9;
	} else {
		if (s == end || *s < '0' || *s > '9')
			return -EINVAL;
		for (; s < end && *s >= '0' && *s <= '9'; s++) {
			if (n > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
				return -EINVAL;
			n = n * 10 + (unsigned)(*s - '0');
		}
		*out = (rlim_t)n;
	}
	if (s < end && *s != ' ')
		return -EINVAL;
	*p = s;
	return 0;
}

int confine_rlimits_from_proc(struct confine *cf, const char *text, size_t len,
			      char *err, size_t errlen)
{
	const char *line = text, *end = text + len, *eol, *p;
	struct rlimit found[CONFINE_NLIMITS];
	bool seen[CONFINE_NLIMITS] = { false };
	size_t nlen;
	int k;

	for (; line < end; line = eol + 1) {
		eol = memchr(line, '\n', end - line);
		if (!eol)
			eol = end;
		for (k = 0; k < CONFINE_NLIMITS; k++) {
			nlen = strlen(proc_limit_names[k]);
			if ((size_t)(eol - line) > nlen &&
			    !memcmp(line, proc_limit_names[k], nlen) &&
			    line[nlen] == ' ')
				break;
		}
		if (k == CONFINE_NLIMITS)
			continue; /* the header, or a row a newer kernel added */
		p = line + nlen;
		if (seen[k] || proc_value(&p, eol, &found[k].rlim_cur) < 0 ||
		    proc_value(&p, eol, &found[k].rlim_max) < 0 ||
		    found[k].rlim_cur > found[k].rlim_max)
			return json_refuse(err, errlen,
					   "limits: bad row \"%s\"",
					   proc_limit_names[k]);
		seen[k] = true;
	}
	for (k = 0; k < CONFINE_NLIMITS; k++)
		if (!seen[k])
			return json_refuse(err, errlen, "limits: no row \"%s\"",
					   proc_limit_names[k]);
	for (k = 0; k < CONFINE_NLIMITS; k++) {
		if (cf->rlimits[k].source)
			continue;
		cf->rlimits[k].source = CONFINE_FROM_INIT;
		cf->rlimits[k].lim = found[k];
	}
	return 0;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int confine_check(const struct confine *cf)
{
	int k;

	for (k = 0; k < CONFINE_NLIMITS; k++) {
		if (cf->rlimits[k].source > CONFINE_FROM_INIT)
			return -EINVAL;
		if (cf->rlimits[k].source &&
		    cf->rlimits[k].lim.rlim_cur > cf->rlimits[k].lim.rlim_max)
			return -EINVAL;
	}
	if (cf->has_oom &&
	    (cf->oom_score_adj < -1000 || cf->oom_score_adj > 1000 ||
	     !terminated(cf->oom_text, sizeof(cf->oom_text))))
		return -EINVAL;
	if (cf->has_umask && cf->umask > 0777)
		return -EINVAL;
	if (cf->has_personality && cf->personality != PER_LINUX &&
	    cf->personality != PER_LINUX32)
		return -EINVAL;
	if (!terminated(cf->apparmor_exec, sizeof(cf->apparmor_exec)) ||
	    !terminated(cf->selinux_label, sizeof(cf->selinux_label)))
		return -EINVAL;
	if (cf->apparmor_exec[0] && strncmp(cf->apparmor_exec, "exec ", 5))
		return -EINVAL;
	return 0;
}

/* ---- the child's side: async-signal-safe from here on ---- */

int confine_apply_rlimits(const struct confine *cf, const struct rlimit *have,
			  const char **what)
{
	struct rlimit lim, cur;
	int k;

	for (k = 0; k < CONFINE_NLIMITS; k++) {
		if (!cf->rlimits[k].source)
			continue;
		lim = cf->rlimits[k].lim;
		if (have && have[k].rlim_cur == lim.rlim_cur &&
		    have[k].rlim_max == lim.rlim_max)
			continue;
		if (!setrlimit(k, &lim))
			continue;
		/* A limit copied from the init, higher than this process may
		 * raise to without CAP_SYS_RESOURCE: keep as much as it can. */
		if (errno == EPERM &&
		    cf->rlimits[k].source == CONFINE_FROM_INIT &&
		    !getrlimit(k, &cur) && lim.rlim_max > cur.rlim_max) {
			lim.rlim_max = cur.rlim_max;
			if (lim.rlim_cur > lim.rlim_max)
				lim.rlim_cur = lim.rlim_max;
			if (!setrlimit(k, &lim))
				continue;
		}
		*what = rlimit_names[k];
		return -errno;
	}
	return 0;
}

/* One whole write of s to the file at path under dirfd. */
static int write_attr(int dirfd, const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, rc = 0;

	fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	close(fd);
	return rc;
}

int confine_apply_oom(const struct confine *cf, int proc_fd, const char **what)
{
	int rc;

	if (!cf->has_oom)
		return 0;
	rc = write_attr(proc_fd, "self/oom_score_adj", cf->oom_text);
	if (rc)
		*what = "/proc/self/oom_score_adj";
	return rc;
}

void confine_apply_umask(const struct confine *cf)
{
	if (cf->has_umask)
		umask(cf->umask);
}

int confine_apply_personality(const struct confine *cf, const char **what)
{
	if (!cf->has_personality)
		return 0;
	if (syscall(SYS_personality, cf->personality) < 0) {
		*what = "personality";
		return -errno;
	}
	return 0;
}

int confine_open_attr(const struct confine *cf, int proc_fd, int *attr_fd,
		      const char **what)
{
	*attr_fd = -1;
	if (!cf->selinux_label[0] && !cf->apparmor_exec[0])
		return 0;
	*attr_fd = openat(proc_fd, "thread-self/attr",
			  O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*attr_fd < 0) {
		*what = "/proc/thread-self/attr";
		return -errno;
	}
	return 0;
}

int confine_apply_selinux(const struct confine *cf, int attr_fd,
			  const char **what)
{
	if (!cf->selinux_label[0])
		return 0;
	*what = "/proc/thread-self/attr/exec";
	return write_attr(attr_fd, "exec", cf->selinux_label);
}

int confine_apply_apparmor(const struct confine *cf, int attr_fd,
			   const char **what)
{
	int rc;

	if (!cf->apparmor_exec[0])
		return 0;
	/* Since Linux 5.8 each LSM has its own directory; before, and with
	 * no AppArmor directory, the shared file. */
	*what = "/proc/thread-self/attr/apparmor/exec";
	rc = write_attr(attr_fd, "apparmor/exec", cf->apparmor_exec);
	if (rc == -ENOENT) {
		*what = "/proc/thread-self/attr/exec";
		rc = write_attr(attr_fd, "exec", cf->apparmor_exec);
	}
	return rc;
}
