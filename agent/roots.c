/*
 * Expanding state root patterns (see roots.h). A pattern is walked one
 * component at a time from "/": a plain component keeps the directories
 * where it exists, a wildcard component is matched against the entries of
 * each directory reached so far. Where a plain component is missing, the
 * directory above it is what to watch: its appearance is the event that
 * can make the pattern match. Nothing here keeps state between
 * expansions, so a root that vanished is simply not listed the next time.
 */
#include "roots.h"

#include "strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rootset {
	char **patterns; /* owned, NULL-terminated */
	size_t n;
};

/* A growing list of owned strings, plus the directories' identities for
 * the roots list (one directory reached by two paths is listed once). */
struct strlist {
	char **v;
	size_t n, cap;
	dev_t *dev;
	ino_t *ino;
};

bool roots_is_wild(const char *component)
{
	return strpbrk(component, "*?[") != NULL;
}

static bool pattern_valid(const char *p)
{
	const char *c = p;
	size_t len;

	if (p[0] != '/' || strlen(p) >= PATH_MAX)
		return false;
	while (*c) {
		while (*c == '/')
			c++;
		len = strcspn(c, "/");
		if ((len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += len;
	}
	return true;
}

struct rootset *rootset_new(const char *const *patterns, size_t n)
{
	struct rootset *rs;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!pattern_valid(patterns[i])) {
			errno = EINVAL;
			return NULL;
		}
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->patterns = calloc(n + 1, sizeof(*rs->patterns));
	if (!rs->patterns)
		goto out_free;
	for (i = 0; i < n; i++) {
		rs->patterns[i] = strdup(patterns[i]);
		if (!rs->patterns[i])
			goto out_free;
		rs->n++;
	}
	return rs;

out_free:
	rootset_free(rs);
	errno = ENOMEM;
	return NULL;
}

void rootset_free(struct rootset *rs)
{
	if (!rs)
		return;
	strv_free(rs->patterns);
	free(rs);
}

static void strlist_release(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->dev);
	free(l->ino);
	memset(l, 0, sizeof(*l));
}

static bool strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* Append a copy of s (st: its directory's identity, or NULL). */
static int strlist_add(struct strlist *l, const char *s, const struct stat *st)
{
	size_t cap;
	void *p;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		p = realloc(l->v, cap * sizeof(*l->v));
		if (!p)
			return -ENOMEM;
		l->v = p;
		p = realloc(l->dev, cap * sizeof(*l->dev));
		if (!p)
			return -ENOMEM;
		l->dev = p;
		p = realloc(l->ino, cap * sizeof(*l->ino));
		if (!p)
			return -ENOMEM;
		l->ino = p;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -ENOMEM;
	l->dev[l->n] = st ? st->st_dev : 0;
	l->ino[l->n] = st ? st->st_ino : 0;
	l->n++;
	return 0;
}

static int watch_add(struct strlist *watch, const char *dir)
{
	if (strlist_has(watch, dir))
		return 0;
	return strlist_add(watch, dir, NULL);
}

static bool is_dir(const char *path, struct stat *st)
{
	return stat(path, st) == 0 && S_ISDIR(st->st_mode);
}

/* dir + "/" + name into out; false when it does not fit. */
static bool path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") ? dir : "",
			 name);

	return n > 0 && n < PATH_MAX;
}

/* The entries of dir matching the wildcard component comp that are
 * directories, appended to next. */
static int match_dir(const char *dir, const char *comp, struct strlist *next,
		     bool *truncated)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t seen = 0;
	int rc = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return 0; /* gone meanwhile, or unreadable: nothing matches */
	while ((de = readdir(d))) {
		if (++seen > ROOTS_MAX_DIR_ENTRIES) {
			*truncated = true;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fnmatch(comp, de->d_name, FNM_PERIOD) != 0)
			continue;
		if (!path_join(path, dir, de->d_name) || !is_dir(path, &st))
			continue;
		if (next->n >= ROOTS_MAX) {
			*truncated = true;
			break;
		}
		rc = strlist_add(next, path, &st);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

/* One pattern: the directories it matches go to roots, the directories to
 * watch for it to watch. */
static int expand_one(const char *pattern, struct strlist *roots,
		      struct strlist *watch, bool *truncated)
{
	struct strlist cur = { 0 }, next = { 0 };
	char comp[NAME_MAX + 1], path[PATH_MAX];
	const char *c = pattern;
	struct stat st;
	size_t len, i, k;
	int rc;

	rc = strlist_add(&cur, "/", NULL);
	while (!rc && *c) {
		while (*c == '/')
			c++;
		len = strcspn(c, "/");
		if (!len)
			break;
		if (len > NAME_MAX) {
			/* No directory can match it. */
			strlist_release(&cur);
			return 0;
		}
		memcpy(comp, c, len);
		comp[len] = 0;
		c += len;
		for (i = 0; i < cur.n && !rc; i++) {
			if (roots_is_wild(comp)) {
				rc = watch_add(watch, cur.v[i]);
				if (!rc)
					rc = match_dir(cur.v[i], comp, &next,
						       truncated);
				continue;
			}
			if (!path_join(path, cur.v[i], comp))
				continue;
			if (is_dir(path, &st))
				rc = strlist_add(&next, path, &st);
			else
				rc = watch_add(watch, cur.v[i]);
		}
		strlist_release(&cur);
		cur = next;
		memset(&next, 0, sizeof(next));
	}
	for (i = 0; i < cur.n && !rc; i++) {
		if (!is_dir(cur.v[i], &st))
			continue;
		for (k = 0; k < roots->n; k++)
			if (roots->dev[k] == st.st_dev &&
			    roots->ino[k] == st.st_ino)
				break;
		if (k < roots->n)
			continue;
		if (roots->n >= ROOTS_MAX) {
			*truncated = true;
			break;
		}
		rc = strlist_add(roots, cur.v[i], &st);
	}
	strlist_release(&cur);
	strlist_release(&next);
	return rc;
}

int rootset_expand(const struct rootset *rs, struct root_expansion *out)
{
	struct strlist roots = { 0 }, watch = { 0 };
	bool truncated = false;
	size_t i;
	int rc = 0;

	for (i = 0; i < rs->n && !rc; i++)
		rc = expand_one(rs->patterns[i], &roots, &watch, &truncated);
	if (rc < 0) {
		strlist_release(&roots);
		strlist_release(&watch);
		return rc;
	}
	out->roots = roots.v;
	out->nroots = roots.n;
	out->watch = watch.v;
	out->nwatch = watch.n;
	out->truncated = truncated;
	free(roots.dev);
	free(roots.ino);
	free(watch.dev);
	free(watch.ino);
	return 0;
}

void root_expansion_release(struct root_expansion *x)
{
	size_t i;

	for (i = 0; i < x->nroots; i++)
		free(x->roots[i]);
	for (i = 0; i < x->nwatch; i++)
		free(x->watch[i]);
	free(x->roots);
	free(x->watch);
	memset(x, 0, sizeof(*x));
}
