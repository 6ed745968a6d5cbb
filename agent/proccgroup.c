/*
 * Mapping a process's cgroup lines onto the agent's cgroup mounts (see
 * proccgroup.h). Both texts are the kernel's, but a container's cgroup
 * path may be named by its user (a cgroup it created itself, a name with
 * blanks), so the parser is bounded and tolerant: a line it cannot place
 * is left out, never guessed.
 *
 * mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE
 * SOURCE SUPEROPTS", blanks in paths escaped as \040 (octal). A v1
 * hierarchy's SUPEROPTS name its controllers ("rw,cpu,cpuacct",
 * "rw,name=systemd"); the cgroup line "4:cpu,cpuacct:/x" is in it.
 */
#include "proccgroup.h"

#include "readfile.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROC_CGROUP_FILE_MAX (256 * 1024)
#define MOUNTINFO_MAX (4 * 1024 * 1024)
#define MOUNT_FIELD_MAX 1024
#define CG_MOUNTS_MAX 256

struct cg_mount {
	bool v2;
	char root[MOUNT_FIELD_MAX]; /* the mount's root in its hierarchy */
	char point[MOUNT_FIELD_MAX]; /* where it is mounted */
	char opts[MOUNT_FIELD_MAX]; /* super options, ',' at both ends */
};

/* The next blank-separated field of the line at *p, unescaped, into out;
 * false at the end of the line or when it does not fit. */
static bool next_field(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	if (!*s || *s == '\n')
		return false;
	while (*s && *s != ' ' && *s != '\n') {
		char ch = *s;

		if (ch == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			ch = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				    (s[3] - '0'));
			s += 3;
		}
		if (n + 1 >= outlen || !ch)
			return false;
		out[n++] = ch;
		s++;
	}
	out[n] = 0;
	*p = s;
	return true;
}

/* One mountinfo line; true when it is a cgroup mount, filled into m. */
static bool parse_mount(const char *line, struct cg_mount *m)
{
	char field[MOUNT_FIELD_MAX];
	const char *p = line;
	int i;

	/* ID PARENT MAJ:MIN */
	for (i = 0; i < 3; i++)
		if (!next_field(&p, field, sizeof(field)))
			return false;
	if (!next_field(&p, m->root, sizeof(m->root)) ||
	    !next_field(&p, m->point, sizeof(m->point)) || m->root[0] != '/' ||
	    m->point[0] != '/')
		return false;
	/* OPTS and the optional tags, up to the "-" separator. */
	do {
		if (!next_field(&p, field, sizeof(field)))
			return false;
	} while (strcmp(field, "-"));
	if (!next_field(&p, field, sizeof(field)))
		return false;
	if (!strcmp(field, "cgroup2"))
		m->v2 = true;
	else if (!strcmp(field, "cgroup"))
		m->v2 = false;
	else
		return false;
	/* SOURCE, then SUPEROPTS wrapped in commas for whole-word search. */
	if (!next_field(&p, field, sizeof(field)) ||
	    !next_field(&p, field, sizeof(field)))
		return false;
	return snprintf(m->opts, sizeof(m->opts), ",%s,", field) <
	       (int)sizeof(m->opts);
}

/* Every controller of the list ctrls ("cpu,cpuacct") is among m's. */
static bool mount_has(const struct cg_mount *m, const char *ctrls)
{
	char want[NAME_MAX + 3];
	const char *c = ctrls;
	size_t len;

	if (!*ctrls)
		return false;
	while (*c) {
		len = strcspn(c, ",");
		if (!len || len > NAME_MAX)
			return false;
		snprintf(want, sizeof(want), ",%.*s,", (int)len, c);
		if (!strstr(m->opts, want))
			return false;
		c += len + (c[len] == ',');
	}
	return true;
}

/* Whether path has a ".." component. */
static bool has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "..")) != NULL) {
		if ((p == path || p[-1] == '/') && (!p[2] || p[2] == '/'))
			return true;
		p += 2;
	}
	return false;
}

/* The directory of cgroup path cg in mount m, or false when the mount
 * does not show it (its root is elsewhere in the hierarchy). Both are
 * relative to the reader's cgroup namespace: from inside one, a mount
 * made above it has a root such as "/../..", and a cgroup outside the
 * namespace a path such as "/../other"; what is left once the mount's
 * root is taken off must not climb out of the mount. */
static bool mount_dir(const struct cg_mount *m, const char *cg, char *out)
{
	size_t rlen = strlen(m->root);
	int n;

	if (strcmp(m->root, "/")) {
		if (strncmp(cg, m->root, rlen) || (cg[rlen] && cg[rlen] != '/'))
			return false;
		cg += rlen;
	}
	if (has_dotdot(cg))
		return false;
	while (*cg == '/')
		cg++;
	n = snprintf(out, PATH_MAX, "%s%s%s", m->point, *cg ? "/" : "", cg);
	return n > 0 && n < PATH_MAX;
}

/* The cgroup mounts of a mountinfo text, malloc'ed into *out. */
static int mounts_parse(const char *mountinfo, struct cg_mount **out, size_t *n)
{
	struct cg_mount *v = NULL, *bigger, m;
	const char *line = mountinfo;
	size_t cap = 0;

	*n = 0;
	while (line && *line) {
		memset(&m, 0, sizeof(m));
		if (parse_mount(line, &m)) {
			if (*n == cap) {
				if (cap == CG_MOUNTS_MAX)
					break;
				cap = cap ? cap * 2 : 16;
				bigger = realloc(v, cap * sizeof(*v));
				if (!bigger) {
					free(v);
					return -ENOMEM;
				}
				v = bigger;
			}
			v[(*n)++] = m;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	*out = v;
	return 0;
}

static int set_file(char **dst, const char *dir, const char *file)
{
	if (*dst)
		return 0;
	return asprintf(dst, "%s/%s", dir, file) < 0 ? -ENOMEM : 0;
}

int proc_cgroup_dirs_parse(const char *cgroup, const char *mountinfo,
			   int check_exists, char ***dirs, char **freezer_v1,
			   char **freezer_v2)
{
	char ctrls[MOUNT_FIELD_MAX], cg[PATH_MAX], dir[PATH_MAX];
	char v2dir[PATH_MAX] = "";
	const char *line = cgroup, *c1, *c2, *nl;
	struct cg_mount *mounts = NULL;
	size_t nmounts, n = 0, i, len;
	char **v = NULL;
	struct stat st;
	int rc;

	*dirs = NULL;
	*freezer_v1 = *freezer_v2 = NULL;
	rc = mounts_parse(mountinfo, &mounts, &nmounts);
	if (rc < 0)
		return rc;
	v = calloc(1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		c1 = memchr(line, ':', len);
		c2 = c1 ? memchr(c1 + 1, ':', len - (c1 + 1 - line)) : NULL;
		if (!c2 || (size_t)(c2 - c1 - 1) >= sizeof(ctrls) ||
		    (size_t)(line + len - c2 - 1) >= sizeof(cg))
			continue;
		memcpy(ctrls, c1 + 1, c2 - c1 - 1);
		ctrls[c2 - c1 - 1] = 0;
		memcpy(cg, c2 + 1, line + len - c2 - 1);
		cg[line + len - c2 - 1] = 0;
		if (cg[0] != '/' || strlen(cg) != (size_t)(line + len - c2 - 1))
			continue;
		for (i = 0; i < nmounts; i++) {
			bool v2line = !*ctrls && c1 - line == 1 &&
				      line[0] == '0';

			if (mounts[i].v2 != v2line ||
			    (!v2line && !mount_has(&mounts[i], ctrls)) ||
			    !mount_dir(&mounts[i], cg, dir))
				continue;
			if (check_exists &&
			    (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
				continue;
			if (v2line) {
				snprintf(v2dir, sizeof(v2dir), "%s", dir);
				break;
			}
			if (n >= PROC_CGROUP_MAX)
				break;
			rc = strv_push(&v, &n, dir);
			if (!rc && mount_has(&mounts[i], "freezer"))
				rc = set_file(freezer_v1, dir, "freezer.state");
			if (rc < 0)
				goto out;
			break;
		}
	}
	if (*v2dir && n < PROC_CGROUP_MAX) {
		rc = strv_push(&v, &n, v2dir);
		if (!rc)
			rc = set_file(freezer_v2, v2dir, "cgroup.freeze");
		if (rc < 0)
			goto out;
	}
	*dirs = v;
	v = NULL;
	rc = 0;
out:
	strv_free(v);
	free(mounts);
	if (rc < 0) {
		free(*freezer_v1);
		free(*freezer_v2);
		*freezer_v1 = *freezer_v2 = NULL;
	}
	return rc;
}

int proc_cgroup_dirs(pid_t pid, char ***dirs, char **freezer_v1,
		     char **freezer_v2)
{
	char path[64], *cgroup = NULL, *mountinfo = NULL;
	int rc;

	if (pid <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	rc = read_file_at(AT_FDCWD, path, PROC_CGROUP_FILE_MAX, &cgroup, NULL,
			  NULL);
	if (rc == -ESRCH)
		rc = -ENOENT;
	if (rc < 0)
		return rc;
	rc = read_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX,
			  &mountinfo, NULL, NULL);
	if (!rc)
		rc = proc_cgroup_dirs_parse(cgroup, mountinfo, 1, dirs,
					    freezer_v1, freezer_v2);
	free(cgroup);
	free(mountinfo);
	return rc;
}
