/*
 * A container's users and groups (see userdb.h). The files are the
 * container's, so they are peer input: lines are parsed with lengths, never
 * trusted to be well formed; a malformed line is skipped the way glibc's
 * files backend skips it, and the first matching entry wins.
 *
 * Everything but userdb_resolve() runs in the process entering the
 * container, between fork and execve: no allocation, no stdio, only string
 * functions that are async-signal-safe (POSIX.1-2016 lists them).
 */
#include "userdb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A passwd line has 7 fields, a group line 4. */
#define USERDB_MAX_FIELDS 7

struct field {
	const char *p;
	size_t n;
};

/* Split line [p, p+len) at ':' into at most max fields; the count, or
 * -1 when it has more than max. */
static int split_fields(const char *p, size_t len, struct field *f, int max)
{
	const char *end = p + len, *colon;
	int n = 0;

	for (;;) {
		if (n == max)
			return -1;
		colon = memchr(p, ':', end - p);
		f[n].p = p;
		f[n].n = (colon ? colon : end) - p;
		n++;
		if (!colon)
			return n;
		p = colon + 1;
	}
}

static bool field_eq(const struct field *f, const char *s)
{
	return f->n == strlen(s) && !memcmp(f->p, s, f->n);
}

/* A decimal id, 0 .. 2^32-2 ((uid_t)-1 means "unchanged" to the kernel). */
static bool parse_id(const char *p, size_t n, unsigned *out)
{
	unsigned long long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (v >= 0xffffffffULL)
		return false;
	*out = (unsigned)v;
	return true;
}

/*
 * Call fn for each well-formed line of db with nfields fields; stop at the
 * first call returning true (and return true).
 */
static bool db_each(const char *db, int nfields,
		    bool (*fn)(const struct field *f, void *arg), void *arg)
{
	struct field f[USERDB_MAX_FIELDS];
	const char *line, *nl;
	size_t len;

	for (line = db; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		/* Comments and NIS compat entries ("+", "-") are not users. */
		if (len == 0 || line[0] == '#' || line[0] == '+' ||
		    line[0] == '-')
			continue;
		if (split_fields(line, len, f, nfields) != nfields ||
		    f[0].n == 0)
			continue;
		if (fn(f, arg))
			return true;
	}
	return false;
}

struct pw_query {
	const char *name; /* match by name, or */
	unsigned uid; /* by uid when name is NULL */
	/* the match */
	char name_buf[USERDB_NAME_MAX];
	unsigned m_uid, m_gid;
	struct field home;
};

static bool pw_match(const struct field *f, void *arg)
{
	struct pw_query *q = arg;
	unsigned uid, gid;

	if (!parse_id(f[2].p, f[2].n, &uid) || !parse_id(f[3].p, f[3].n, &gid))
		return false;
	if (q->name ? !field_eq(&f[0], q->name) : uid != q->uid)
		return false;
	if (f[0].n >= sizeof(q->name_buf))
		return false;
	memcpy(q->name_buf, f[0].p, f[0].n);
	q->name_buf[f[0].n] = '\0';
	q->m_uid = uid;
	q->m_gid = gid;
	q->home = f[5];
	return true;
}

struct gr_query {
	const char *name; /* find this group's gid, or */
	const char *member; /* collect every group listing this member */
	unsigned gid;
	struct user_creds *out;
};

static bool member_of(const struct field *list, const char *member)
{
	const char *p = list->p, *end = list->p + list->n, *comma;
	size_t mlen = strlen(member);

	while (p < end) {
		comma = memchr(p, ',', end - p);
		if (!comma)
			comma = end;
		if ((size_t)(comma - p) == mlen && !memcmp(p, member, mlen))
			return true;
		p = comma + 1;
	}
	return false;
}

static void groups_add(struct user_creds *c, gid_t gid)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return;
	if (c->ngroups < USERDB_MAX_GROUPS)
		c->groups[c->ngroups++] = gid;
}

static bool gr_match(const struct field *f, void *arg)
{
	struct gr_query *q = arg;
	unsigned gid;

	if (!parse_id(f[2].p, f[2].n, &gid))
		return false;
	if (q->name) {
		if (!field_eq(&f[0], q->name))
			return false;
		q->gid = gid;
		return true;
	}
	if (member_of(&f[3], q->member))
		groups_add(q->out, gid);
	return false; /* all of them */
}

/* Copy a home field into home (len bytes) if it fits. */
static bool home_copy(const struct field *f, char *home, size_t len)
{
	if (f->n >= len)
		return false;
	memcpy(home, f->p, f->n);
	home[f->n] = '\0';
	return true;
}

int userdb_spec_parse(const char *spec, struct userdb_spec *out)
{
	const char *colon = strchr(spec, ':'), *grp = colon ? colon + 1 : NULL;
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);

	memset(out, 0, sizeof(*out));
	if (ulen == 0 || ulen >= sizeof(out->user) || (grp && !*grp) ||
	    (grp && strchr(grp, ':')) || strchr(spec, '\n') ||
	    (grp && strlen(grp) >= sizeof(out->group)))
		return -EINVAL;
	memcpy(out->user, spec, ulen);
	out->user[ulen] = '\0';
	out->uid_numeric = parse_id(out->user, ulen, &out->uid);
	if (grp) {
		out->has_group = true;
		memcpy(out->group, grp, strlen(grp) + 1);
		out->gid_numeric = parse_id(grp, strlen(grp), &out->gid);
	}
	return 0;
}

bool userdb_spec_needs_group(const struct userdb_spec *s)
{
	return s->has_group ? !s->gid_numeric : true;
}

bool userdb_spec_needs_passwd(const struct userdb_spec *s)
{
	return !(s->uid_numeric && s->has_group && s->gid_numeric);
}

int userdb_lookup(const struct userdb_spec *s, const char *passwd,
		  const char *group, struct user_creds *out,
		  enum userdb_miss *miss)
{
	struct pw_query pq;
	struct gr_query gq;
	bool found;

	memset(&pq, 0, sizeof(pq));
	memset(&gq, 0, sizeof(gq));
	out->ngroups = 0;
	out->has_home = false;
	out->home[0] = '\0';
	*miss = USERDB_FOUND;
	if (s->uid_numeric)
		pq.uid = s->uid;
	else
		pq.name = s->user;
	found = db_each(passwd, 7, pw_match, &pq);
	if (!found && !s->uid_numeric) {
		*miss = USERDB_NO_USER;
		return -EINVAL;
	}
	out->uid = found ? pq.m_uid : s->uid;
	out->gid = found ? pq.m_gid : 0;
	if (found)
		out->has_home =
			home_copy(&pq.home, out->home, sizeof(out->home));

	if (s->has_group) {
		if (s->gid_numeric) {
			out->gid = s->gid;
		} else {
			gq.name = s->group;
			if (!db_each(group, 4, gr_match, &gq)) {
				*miss = USERDB_NO_GROUP;
				return -EINVAL;
			}
			out->gid = gq.gid;
		}
		groups_add(out, out->gid);
		return 0;
	}
	if (found) {
		/* As initgroups(3): the primary group, then memberships. */
		groups_add(out, out->gid);
		gq.member = pq.name_buf;
		gq.out = out;
		db_each(group, 4, gr_match, &gq);
	}
	return 0;
}

bool userdb_home_of(unsigned uid, const char *passwd, char *home, size_t len)
{
	struct pw_query pq;

	memset(&pq, 0, sizeof(pq));
	pq.uid = uid;
	return db_each(passwd, 7, pw_match, &pq) &&
	       home_copy(&pq.home, home, len);
}

int userdb_resolve(const char *spec, const char *passwd, const char *group,
		   struct user_creds *out, char *err, size_t errlen)
{
	struct userdb_spec s;
	enum userdb_miss miss;
	int rc;

	memset(out, 0, sizeof(*out));
	if (userdb_spec_parse(spec, &s) < 0) {
		snprintf(err, errlen,
			 "user %s: not NAME, UID, NAME:GROUP or UID:GID", spec);
		return -EINVAL;
	}
	rc = userdb_lookup(&s, passwd, group, out, &miss);
	if (miss == USERDB_NO_USER)
		snprintf(err, errlen, "user %s: no such user in the container",
			 s.user);
	else if (miss == USERDB_NO_GROUP)
		snprintf(err, errlen,
			 "group %s: no such group in the container", s.group);
	return rc;
}
