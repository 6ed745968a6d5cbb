/*
 * /proc readers (see procstat.h). The stat line's second field is the
 * command name in parentheses, which may itself hold spaces and ')': the
 * fields that follow are found from the last ')'.
 */
#include "procstat.h"

#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROC_STAT_MAX 4096
#define PROC_STATUS_MAX (64 * 1024)
#define PROC_ENVIRON_MAX (1024 * 1024)
#define PROC_MAX_GROUPS 65536

static int proc_read(pid_t pid, const char *what, size_t max, char **buf,
		     size_t *len)
{
	char path[64];
	int rc;

	if (pid <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	rc = read_file_at(AT_FDCWD, path, max, buf, len, NULL);
	/* A process that exited while we read it looks like ESRCH. */
	if (rc == -ESRCH)
		rc = -ENOENT;
	return rc;
}

/* The number in field n (3 or more) of a stat line, whose third field
 * starts at p (after the last ')'). */
static int stat_field(const char *p, int n, long long *v)
{
	char *end;
	int field;

	for (field = 3; field < n; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	errno = 0;
	*v = strtoll(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\n' && *end))
		return -EINVAL;
	return 0;
}

/* /proc/PID/stat, from its third field on (in a malloc'ed *buf). */
static int stat_read(pid_t pid, char **buf, const char **fields)
{
	const char *p;
	int rc;

	rc = proc_read(pid, "stat", PROC_STAT_MAX, buf, NULL);
	if (rc < 0)
		return rc;
	p = strrchr(*buf, ')');
	if (!p || p[1] != ' ' || !p[2]) {
		free(*buf);
		return -EINVAL;
	}
	*fields = p + 2;
	return 0;
}

int proc_stat_read(pid_t pid, char *state, unsigned long long *start)
{
	const char *p;
	long long v;
	char *buf;
	int rc;

	rc = stat_read(pid, &buf, &p);
	if (rc < 0)
		return rc;
	*state = *p;
	rc = stat_field(p, 22, &v);
	if (!rc)
		*start = (unsigned long long)v;
	free(buf);
	return rc;
}

int proc_stat_ids(pid_t pid, pid_t *pgrp, pid_t *session)
{
	long long g, s;
	const char *p;
	char *buf;
	int rc;

	rc = stat_read(pid, &buf, &p);
	if (rc < 0)
		return rc;
	rc = stat_field(p, 5, &g);
	if (!rc)
		rc = stat_field(p, 6, &s);
	if (!rc) {
		*pgrp = (pid_t)g;
		*session = (pid_t)s;
	}
	free(buf);
	return rc;
}

/* The first number after "Key:" on its line. */
static int status_first_id(const char *buf, const char *key, unsigned *id)
{
	const char *p = buf;
	size_t klen = strlen(key);
	unsigned long v;
	char *end;

	while (p && *p) {
		if (!strncmp(p, key, klen)) {
			errno = 0;
			v = strtoul(p + klen, &end, 10);
			if (errno || end == p + klen || v > UINT_MAX)
				return -EINVAL;
			*id = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

int proc_status_creds(pid_t pid, uid_t *uid, gid_t *gid, gid_t **groups,
		      size_t *ngroups)
{
	char *buf, *line, *p, *end;
	gid_t *list = NULL, *bigger;
	size_t n = 0, cap = 0;
	unsigned u, g;
	unsigned long v;
	int rc;

	rc = proc_read(pid, "status", PROC_STATUS_MAX, &buf, NULL);
	if (rc < 0)
		return rc;
	rc = status_first_id(buf, "Uid:", &u);
	if (!rc)
		rc = status_first_id(buf, "Gid:", &g);
	if (rc)
		goto out_free;
	line = strstr(buf, "\nGroups:");
	if (line) {
		p = line + strlen("\nGroups:");
		for (;;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				break;
			errno = 0;
			v = strtoul(p, &end, 10);
			if (errno || v > UINT_MAX || n >= PROC_MAX_GROUPS) {
				rc = -EINVAL;
				goto out_list;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				bigger = realloc(list, cap * sizeof(*list));
				if (!bigger) {
					rc = -ENOMEM;
					goto out_list;
				}
				list = bigger;
			}
			list[n++] = v;
			p = end;
		}
	}
	*uid = u;
	*gid = g;
	*groups = list;
	*ngroups = n;
	free(buf);
	return 0;

out_list:
	free(list);
out_free:
	free(buf);
	return rc;
}

int proc_environ_read(pid_t pid, char ***env)
{
	char *buf, *p, **list;
	size_t len, n = 0, i = 0;
	int rc;

	rc = proc_read(pid, "environ", PROC_ENVIRON_MAX, &buf, &len);
	if (rc < 0)
		return rc;
	for (p = buf; p < buf + len; p += strlen(p) + 1)
		n++;
	list = calloc(n + 1, sizeof(*list));
	if (!list) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (!strchr(p, '='))
			continue;
		list[i] = strdup(p);
		if (!list[i]) {
			rc = -ENOMEM;
			goto out_list;
		}
		i++;
	}
	*env = list;
	free(buf);
	return 0;

out_list:
	while (i > 0)
		free(list[--i]);
	free(list);
out_free:
	free(buf);
	return rc;
}
