/*
 * The exec policy: parsing (strict: an unknown key, a wrong type or an
 * unknown action makes the whole file invalid, so a typo can never widen
 * access) and evaluation (first rule that grants the needed action wins;
 * none means deny). Principals are typed ("uri:", "dns:", "cn:", "uid:",
 * see policy.h), so a certificate's CN never passes for a SAN; run_as
 * patterns name users and, as "uid:" and "gid:" ranges, the ids a name
 * resolves to in the container, checked once it is resolved.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "policy.h"

#define POLICY_MAX_BYTES (1024 * 1024)
#define POLICY_MAX_RULES 1024

enum policy_action {
	ACT_EXEC = 1 << 0,
	ACT_EXEC_PRIVILEGED = 1 << 1,
	ACT_EXEC_NODE = 1 << 2,
};

struct rule {
	json_t *principals; /* array of glob strings */
	json_t *namespaces; /* array or NULL (any) */
	json_t *pods;
	json_t *containers;
	json_t *labels; /* object name -> glob, or NULL */
	json_t *run_as; /* array or NULL (any) */
	unsigned actions;
	long long max_sessions; /* 0: no limit */
};

struct policy {
	json_t *doc; /* owned; the rules' arrays point into it */
	bool exec_enabled;
	struct rule *rules; /* owned */
	size_t nrules;
};

static const struct {
	const char *name;
	unsigned bit;
} action_names[] = {
	{ "exec", ACT_EXEC },
	{ "exec_privileged", ACT_EXEC_PRIVILEGED },
	{ "exec_node", ACT_EXEC_NODE },
};

static const char *policy_action_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (action_names[i].bit == bit)
			return action_names[i].name;
	return "?";
}

static int globs_check(json_t *a, const char *what, size_t i, char *err,
		       size_t errlen)
{
	size_t k;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		snprintf(err, errlen,
			 "rules[%zu].%s must be a non-empty array of strings",
			 i, what);
		return -EINVAL;
	}
	json_array_foreach(a, k, v) {
		if (!json_is_string(v) || !json_string_length(v)) {
			snprintf(
				err, errlen,
				"rules[%zu].%s[%zu] must be a non-empty string",
				i, what, k);
			return -EINVAL;
		}
	}
	return 0;
}

/* The kinds of identity a principal pattern may name. */
static const char *const principal_types[] = { "uri:", "dns:", "cn:", "uid:" };

static const char *principal_type(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(principal_types) / sizeof(principal_types[0]);
	     i++)
		if (!strncmp(s, principal_types[i], strlen(principal_types[i])))
			return principal_types[i];
	return NULL;
}

static int principals_check(const json_t *a, size_t i, char *err, size_t errlen)
{
	const char *s, *type;
	size_t k;
	json_t *v;

	json_array_foreach(a, k, v) {
		s = json_string_value(v);
		type = principal_type(s);
		if (type && !s[strlen(type)]) {
			snprintf(
				err, errlen,
				"rules[%zu].principals[%zu]: \"%s\" names no one",
				i, k, s);
			return -EINVAL;
		}
	}
	return 0;
}

/* "uid:N", "uid:N-M", "gid:N", "gid:N-M": the range, else -EINVAL. A
 * pattern without one of those prefixes is a name glob (1). */
static int id_range(const char *s, const char *prefix, uintmax_t *lo,
		    uintmax_t *hi)
{
	char *end;

	if (strncmp(s, prefix, 4))
		return 1;
	s += 4;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*lo = strtoumax(s, &end, 10);
	*hi = *lo;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return -EINVAL;
		*hi = strtoumax(end + 1, &end, 10);
	}
	if (*end || *lo > *hi || *hi >= UINT32_MAX)
		return -EINVAL;
	return 0;
}

static int run_as_check(const json_t *a, size_t i, char *err, size_t errlen)
{
	uintmax_t lo, hi;
	const char *s;
	size_t k;
	json_t *v;

	json_array_foreach(a, k, v) {
		s = json_string_value(v);
		if (id_range(s, "uid:", &lo, &hi) < 0 ||
		    id_range(s, "gid:", &lo, &hi) < 0) {
			snprintf(
				err, errlen,
				"rules[%zu].run_as[%zu]: \"%s\": uid: and gid: want N or N-M",
				i, k, s);
			return -EINVAL;
		}
	}
	return 0;
}

static int rule_parse(json_t *o, size_t i, struct rule *r, char *err,
		      size_t errlen)
{
	static const char *const optional_globs[] = { "namespaces", "pods",
						      "containers", "run_as" };
	json_t **slots[] = { &r->namespaces, &r->pods, &r->containers,
			     &r->run_as };
	const char *key;
	json_t *v;
	size_t k, n;
	int rc;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "rules[%zu] must be an object", i);
		return -EINVAL;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "principals") && strcmp(key, "namespaces") &&
		    strcmp(key, "pods") && strcmp(key, "containers") &&
		    strcmp(key, "labels") && strcmp(key, "actions") &&
		    strcmp(key, "run_as") && strcmp(key, "max_sessions")) {
			snprintf(err, errlen, "rules[%zu]: unknown key \"%s\"",
				 i, key);
			return -EINVAL;
		}
	}
	r->principals = json_object_get(o, "principals");
	rc = globs_check(r->principals, "principals", i, err, errlen);
	if (!rc)
		rc = principals_check(r->principals, i, err, errlen);
	if (rc)
		return rc;
	for (k = 0; k < 4; k++) {
		*slots[k] = json_object_get(o, optional_globs[k]);
		if (*slots[k]) {
			rc = globs_check(*slots[k], optional_globs[k], i, err,
					 errlen);
			if (rc)
				return rc;
		}
	}
	if (r->run_as) {
		rc = run_as_check(r->run_as, i, err, errlen);
		if (rc)
			return rc;
	}
	r->labels = json_object_get(o, "labels");
	if (r->labels) {
		if (!json_is_object(r->labels)) {
			snprintf(err, errlen,
				 "rules[%zu].labels must be an object", i);
			return -EINVAL;
		}
		json_object_foreach(r->labels, key, v) {
			if (!json_is_string(v)) {
				snprintf(
					err, errlen,
					"rules[%zu].labels.%s must be a string",
					i, key);
				return -EINVAL;
			}
		}
	}
	v = json_object_get(o, "actions");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		snprintf(err, errlen,
			 "rules[%zu].actions must be a non-empty array", i);
		return -EINVAL;
	}
	for (k = 0; k < json_array_size(v); k++) {
		const char *name = json_string_value(json_array_get(v, k));

		for (n = 0; n < sizeof(action_names) / sizeof(action_names[0]);
		     n++)
			if (name && !strcmp(name, action_names[n].name))
				break;
		if (n == sizeof(action_names) / sizeof(action_names[0])) {
			snprintf(
				err, errlen,
				"rules[%zu].actions[%zu]: unknown action (want exec, exec_privileged or exec_node)",
				i, k);
			return -EINVAL;
		}
		r->actions |= action_names[n].bit;
	}
	v = json_object_get(o, "max_sessions");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			snprintf(
				err, errlen,
				"rules[%zu].max_sessions must be a positive integer",
				i);
			return -EINVAL;
		}
		r->max_sessions = json_integer_value(v);
	}
	return 0;
}

struct policy *policy_parse(const char *text, size_t len, char *err,
			    size_t errlen)
{
	struct policy *p = calloc(1, sizeof(*p));
	json_error_t jerr;
	json_t *rules, *v;
	const char *key;
	size_t i;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!p->doc) {
		snprintf(err, errlen, "line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		goto out_free;
	}
	if (!json_is_object(p->doc)) {
		snprintf(err, errlen, "the policy must be a JSON object");
		goto out_free;
	}
	json_object_foreach(p->doc, key, v) {
		if (strcmp(key, "exec_enabled") && strcmp(key, "rules")) {
			snprintf(err, errlen, "unknown key \"%s\"", key);
			goto out_free;
		}
	}
	v = json_object_get(p->doc, "exec_enabled");
	if (v && !json_is_boolean(v)) {
		snprintf(err, errlen, "exec_enabled must be true or false");
		goto out_free;
	}
	p->exec_enabled = !v || json_is_true(v);
	rules = json_object_get(p->doc, "rules");
	if (!json_is_array(rules) ||
	    json_array_size(rules) > POLICY_MAX_RULES) {
		snprintf(err, errlen,
			 "rules must be an array of at most %d rules",
			 POLICY_MAX_RULES);
		goto out_free;
	}
	p->nrules = json_array_size(rules);
	p->rules = calloc(p->nrules + 1, sizeof(*p->rules));
	if (!p->rules) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (i = 0; i < p->nrules; i++)
		if (rule_parse(json_array_get(rules, i), i, &p->rules[i], err,
			       errlen) < 0)
			goto out_free;
	return p;
out_free:
	policy_free(p);
	return NULL;
}

int policy_read(const char *path, char **text, size_t *len, char *err,
		size_t errlen)
{
	char *buf = NULL;
	size_t n = 0;
	int rc = -EIO;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	buf = malloc(POLICY_MAX_BYTES + 1);
	if (buf)
		n = fread(buf, 1, POLICY_MAX_BYTES + 1, f);
	if (!buf || ferror(f)) {
		snprintf(err, errlen, "%s: cannot read", path);
	} else if (n > POLICY_MAX_BYTES) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: larger than %d bytes", path,
			 POLICY_MAX_BYTES);
	} else {
		*text = buf;
		*len = n;
		buf = NULL;
		rc = 0;
	}
	fclose(f);
	free(buf);
	return rc;
}

struct policy *policy_load(const char *path, char *err, size_t errlen)
{
	struct policy *p;
	char inner[400];
	char *buf;
	size_t len;

	if (policy_read(path, &buf, &len, err, errlen) < 0)
		return NULL;
	p = policy_parse(buf, len, inner, sizeof(inner));
	if (!p)
		snprintf(err, errlen, "%s: %s", path, inner);
	free(buf);
	return p;
}

struct policy *policy_default(void)
{
	static const char builtin[] =
		"{\"exec_enabled\": true, \"rules\": [{\"principals\": [\"uid:0\"],"
		" \"actions\": [\"exec\", \"exec_privileged\", \"exec_node\"]}]}";
	char err[200];

	return policy_parse(builtin, sizeof(builtin) - 1, err, sizeof(err));
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	json_decref(p->doc);
	free(p->rules);
	free(p);
}

/* ---- evaluation --------------------------------------------------------- */

static bool globs_match(const json_t *globs, const char *s)
{
	size_t i;
	json_t *v;

	if (!globs)
		return true;
	if (!s)
		return false;
	json_array_foreach(globs, i, v) {
		if (fnmatch(json_string_value(v), s, 0) == 0)
			return true;
	}
	return false;
}

static bool labels_match(const json_t *want, const json_t *have)
{
	const char *key;
	json_t *v;

	if (!want)
		return true;
	json_object_foreach((json_t *)want, key, v) {
		const char *val = json_string_value(json_object_get(have, key));

		if (!val || fnmatch(json_string_value(v), val, 0) != 0)
			return false;
	}
	return true;
}

/* A principal pattern against a typed identity (policy.h): a typed
 * pattern matches identities of its type by name; a bare one matches the
 * name of a uri: or dns: identity, never a cn: or uid: one. */
static bool principal_match(const char *pattern, const char *identity)
{
	const char *type = principal_type(pattern);
	const char *itype = principal_type(identity);

	if (type)
		return itype == type &&
		       fnmatch(pattern + strlen(type), identity + strlen(itype),
			       0) == 0;
	if (!itype || (strcmp(itype, "uri:") && strcmp(itype, "dns:")))
		return false;
	return fnmatch(pattern, identity + strlen(itype), 0) == 0;
}

static bool principals_match(const json_t *patterns, const char *identity)
{
	size_t i;
	json_t *v;

	if (!identity)
		return false;
	json_array_foreach(patterns, i, v) {
		if (principal_match(json_string_value(v), identity))
			return true;
	}
	return false;
}

/* The name part of run_as: its name globs, when it has any. */
static bool run_as_name_match(const json_t *run_as, const char *name)
{
	uintmax_t lo, hi;
	bool any = false;
	const char *s;
	size_t i;
	json_t *v;

	json_array_foreach(run_as, i, v) {
		s = json_string_value(v);
		if (id_range(s, "uid:", &lo, &hi) != 1 ||
		    id_range(s, "gid:", &lo, &hi) != 1)
			continue;
		any = true;
		if (fnmatch(s, name, 0) == 0)
			return true;
	}
	return !any;
}

/* A copy of the rule's run_as (NULL: none) for the caller. */
static int grant_copy(const json_t *run_as, char ***out)
{
	size_t i, n = json_array_size(run_as);
	char **v;

	*out = NULL;
	if (!run_as)
		return 0;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v[i] = strdup(json_string_value(json_array_get(run_as, i)));
		if (!v[i]) {
			policy_run_as_free(v);
			return -ENOMEM;
		}
	}
	*out = v;
	return 0;
}

void policy_run_as_free(char **patterns)
{
	size_t i;

	for (i = 0; patterns && patterns[i]; i++)
		free(patterns[i]);
	free(patterns);
}

int policy_node_check(bool exec_enabled, const struct container *c, char *why,
		      size_t whylen)
{
	const char *off;

	if (!exec_enabled) {
		snprintf(why, whylen, "remote exec is disabled on this node");
		return -EACCES;
	}
	off = json_string_value(
		json_object_get(c->labels, POLICY_DISABLE_ANNOTATION));
	if (off && !strcmp(off, "true")) {
		snprintf(why, whylen,
			 "remote exec is disabled for container %s (%s)", c->id,
			 POLICY_DISABLE_ANNOTATION);
		return -EACCES;
	}
	return 0;
}

void policy_node_gates(const struct policy *p, bool *exec_enabled,
		       bool *privileged, bool *node)
{
	size_t i;

	*exec_enabled = p->exec_enabled;
	*privileged = *node = false;
	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].actions & ACT_EXEC_PRIVILEGED)
			*privileged = true;
		if (p->rules[i].actions & ACT_EXEC_NODE)
			*node = true;
	}
}

/* listing: policy_may_list(). */
static int decide(const struct policy *p, const struct policy_query *q,
		  bool listing, char ***run_as, char *why, size_t whylen)
{
	const struct container *c = q->c;
	unsigned need;
	bool matched = false;
	size_t i;

	if (policy_node_check(p->exec_enabled, c, why, whylen) < 0)
		return -EACCES;
	/* The node itself needs exec_node, whatever else a rule grants. */
	need = c->host	     ? ACT_EXEC_NODE :
	       c->privileged ? ACT_EXEC_PRIVILEGED :
			       ACT_EXEC;
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (!principals_match(r->principals, q->principal) ||
		    !globs_match(r->namespaces, c->namespace) ||
		    !globs_match(r->pods, c->pod) ||
		    !globs_match(r->containers, c->name) ||
		    !labels_match(r->labels, c->labels))
			continue;
		matched = true;
		if (!(r->actions & need))
			continue;
		if (listing)
			return 0;
		if (r->run_as &&
		    !run_as_name_match(r->run_as,
				       q->run_as ? q->run_as : "default"))
			continue;
		if (r->max_sessions &&
		    (long long)q->sessions >= r->max_sessions) {
			snprintf(
				why, whylen,
				"%s already has %zu sessions (rule %zu allows %lld)",
				q->principal, q->sessions, i, r->max_sessions);
			return -EACCES;
		}
		if (run_as && grant_copy(r->run_as, run_as) < 0) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	if (matched)
		snprintf(why, whylen, "%s may not %s in %s/%s/%s%s%s",
			 q->principal, policy_action_name(need), c->namespace,
			 c->pod, c->name, q->run_as ? " as " : "",
			 q->run_as ? q->run_as : "");
	else
		snprintf(why, whylen, "no rule allows %s in %s/%s/%s",
			 q->principal[0] ? q->principal :
					   "an unidentified peer",
			 c->namespace, c->pod, c->name);
	return -EACCES;
}

int policy_check(const struct policy *p, const struct policy_query *q,
		 char *why, size_t whylen)
{
	return decide(p, q, false, NULL, why, whylen);
}

int policy_decide(const struct policy *p, const struct policy_query *q,
		  char ***run_as, char *why, size_t whylen)
{
	return decide(p, q, false, run_as, why, whylen);
}

bool policy_may_list(const struct policy *p, const char *principal,
		     const struct container *c)
{
	struct policy_query q = { principal, c, NULL, 0 };
	char why[256];

	return decide(p, &q, true, NULL, why, sizeof(why)) == 0;
}

/* Is name all digits (a uid given as a number, or "uid:gid")? */
static bool numeric_user(const char *name)
{
	const char *p = name;

	if (!*p)
		return false;
	for (; *p; p++)
		if ((*p < '0' || *p > '9') && *p != ':')
			return false;
	return true;
}

int policy_run_as_compile(const char *const *patterns,
			  struct policy_run_as_ids *ids)
{
	uintmax_t lo, hi;
	size_t i;

	memset(ids, 0, sizeof(*ids));
	ids->any = !patterns;
	for (i = 0; patterns && patterns[i]; i++) {
		if (id_range(patterns[i], "uid:", &lo, &hi) == 0) {
			if (ids->nuid == POLICY_RUN_AS_RANGES)
				return -E2BIG;
			ids->uid[ids->nuid].lo = lo;
			ids->uid[ids->nuid++].hi = hi;
		} else if (id_range(patterns[i], "gid:", &lo, &hi) == 0) {
			if (ids->ngid == POLICY_RUN_AS_RANGES)
				return -E2BIG;
			ids->gid[ids->ngid].lo = lo;
			ids->gid[ids->ngid++].hi = hi;
		}
		/* A malformed uid:/gid: the parser refused; names are
		 * policy_run_as_allows()'s. */
	}
	return 0;
}

static bool in_ranges(const struct policy_run_as_range *r, size_t n,
		      uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (id >= r[i].lo && id <= r[i].hi)
			return true;
	return false;
}

enum policy_run_as_verdict
policy_run_as_ids_check(const struct policy_run_as_ids *ids, const char *name,
			uid_t uid, gid_t gid)
{
	if (ids->any)
		return POLICY_RUN_AS_OK;
	if (ids->nuid && !in_ranges(ids->uid, ids->nuid, uid))
		return POLICY_RUN_AS_UID;
	if (ids->ngid && !in_ranges(ids->gid, ids->ngid, gid))
		return POLICY_RUN_AS_GID;
	/* A name the container's own files turn into root: only when the
	 * rule says uid 0 in so many words, or asked for root by name. The
	 * container's configured user (no name asked for) is its own
	 * config; a user asked for by the name "default" is a name like any
	 * other, looked up in files the container controls. */
	if (uid == 0 && !ids->nuid && name && strcmp(name, "root") &&
	    !numeric_user(name))
		return POLICY_RUN_AS_ROOT;
	return POLICY_RUN_AS_OK;
}

bool policy_run_as_gid_allowed(const struct policy_run_as_ids *ids, gid_t gid)
{
	return ids->any || !ids->ngid || in_ranges(ids->gid, ids->ngid, gid);
}

int policy_run_as_why(enum policy_run_as_verdict v, const char *name, uid_t uid,
		      gid_t gid, char *why, size_t whylen)
{
	if (!name)
		name = "default";
	switch (v) {
	case POLICY_RUN_AS_OK:
		return 0;
	case POLICY_RUN_AS_UID:
		snprintf(
			why, whylen,
			"run_as does not allow uid %u (user %s in the container)",
			(unsigned)uid, name);
		break;
	case POLICY_RUN_AS_GID:
		snprintf(
			why, whylen,
			"run_as does not allow gid %u (user %s in the container)",
			(unsigned)gid, name);
		break;
	case POLICY_RUN_AS_ROOT:
		snprintf(
			why, whylen,
			"user %s is uid 0 in the container; run_as names no uid:0",
			name);
		break;
	}
	return -EACCES;
}

int policy_run_as_allows(const char *const *patterns, const char *name,
			 uid_t uid, gid_t gid, char *why, size_t whylen)
{
	struct policy_run_as_ids ids;
	const char *shown = name ? name : "default";
	bool named = false, name_ok = false;
	size_t i;

	if (!patterns)
		return 0;
	for (i = 0; patterns[i]; i++) {
		if (!strncmp(patterns[i], "uid:", 4) ||
		    !strncmp(patterns[i], "gid:", 4))
			continue;
		named = true;
		name_ok |= fnmatch(patterns[i], shown, 0) == 0;
	}
	if (named && !name_ok) {
		snprintf(why, whylen, "run_as does not allow user %s", shown);
		return -EACCES;
	}
	if (policy_run_as_compile(patterns, &ids) < 0) {
		snprintf(why, whylen, "run_as has over %d id ranges",
			 POLICY_RUN_AS_RANGES);
		return -EACCES;
	}
	return policy_run_as_why(policy_run_as_ids_check(&ids, name, uid, gid),
				 name, uid, gid, why, whylen);
}

bool policy_visible(const struct policy *p, const char *principal,
		    const struct container *c)
{
	unsigned need = c->host	      ? ACT_EXEC_NODE :
			c->privileged ? ACT_EXEC_PRIVILEGED :
					ACT_EXEC;
	size_t i;

	/* The rules alone: exec_enabled, the annotation, run_as and
	 * max_sessions say when, not where, and a refused start names
	 * them. */
	for (i = 0; p && i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if ((r->actions & need) &&
		    principals_match(r->principals, principal) &&
		    globs_match(r->namespaces, c->namespace) &&
		    globs_match(r->pods, c->pod) &&
		    globs_match(r->containers, c->name) &&
		    labels_match(r->labels, c->labels))
			return true;
	}
	return false;
}
