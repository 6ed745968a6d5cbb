/*
 * The exec request decoder (exec_spec.h). The request is JSON (jansson);
 * its limits are the protocol's: 64 KiB in all, 1 to 4096 arguments, no
 * NUL bytes in any string, environment entries of the form NAME=VALUE, an
 * absolute cwd.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_spec.h"
#include "execfs/proto.h"
#include "strv.h"

/* A string array into a NULL-terminated owned vector. */
static int strv_from_json(const json_t *a, size_t min, size_t max, bool need_eq,
			  const char *what, char ***out, char *err,
			  size_t errlen)
{
	size_t i, n;
	char **v;

	if (!json_is_array(a) || json_array_size(a) < min ||
	    json_array_size(a) > max) {
		snprintf(err, errlen,
			 "%s must be an array of %zu to %zu strings", what, min,
			 max);
		return -EINVAL;
	}
	n = json_array_size(a);
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const json_t *s = json_array_get(a, i);
		const char *str = json_string_value(s);

		if (!str || strlen(str) != json_string_length(s) ||
		    (need_eq && (!strchr(str, '=') || str[0] == '='))) {
			snprintf(err, errlen, "%s[%zu] is not a valid %s", what,
				 i, need_eq ? "NAME=VALUE string" : "string");
			strv_free(v);
			return -EINVAL;
		}
		v[i] = strdup(str);
		if (!v[i]) {
			strv_free(v);
			return -ENOMEM;
		}
	}
	*out = v;
	return 0;
}

static int str_field(const json_t *o, const char *key, bool required,
		     char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);
	const char *s;

	if (!v && !required)
		return 0;
	s = json_string_value(v);
	if (!s || !s[0] || strlen(s) != json_string_length(v)) {
		snprintf(err, errlen, "\"%s\" must be a non-empty string", key);
		return -EINVAL;
	}
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int size_field(const json_t *o, const char *key, unsigned short *out,
		      char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 65535) {
		snprintf(err, errlen, "\"%s\" must be an integer 0..65535",
			 key);
		return -EINVAL;
	}
	*out = (unsigned short)json_integer_value(v);
	return 0;
}

/* An optional integer lo..hi: *has says whether it was there. */
static int int_field(const json_t *o, const char *key, int lo, int hi,
		     bool *has, int *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		snprintf(err, errlen, "\"%s\" must be an integer %d..%d", key,
			 lo, hi);
		return -EINVAL;
	}
	*has = true;
	*out = (int)json_integer_value(v);
	return 0;
}

static int bool_field(const json_t *o, const char *key, bool *out, char *err,
		      size_t errlen)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

int exec_spec_from_json(const char *buf, size_t len, struct exec_spec *req,
			char *err, size_t errlen)
{
	json_error_t jerr;
	const json_t *env;
	json_t *o;
	int rc;

	memset(req, 0, sizeof(*req));
	if (len > EXECFS_MAX_REQUEST_BYTES) {
		snprintf(err, errlen, "request larger than %d bytes",
			 EXECFS_MAX_REQUEST_BYTES);
		return -EINVAL;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "request is not a JSON object: %s",
			 o ? "wrong type" : jerr.text);
		rc = -EINVAL;
		goto out;
	}
	rc = str_field(o, EXECFS_J_CONTAINER, true, &req->container, err,
		       errlen);
	if (!rc)
		rc = strv_from_json(json_object_get(o, EXECFS_J_ARGV), 1,
				    EXECFS_MAX_ARGS, false, EXECFS_J_ARGV,
				    &req->argv, err, errlen);
	env = json_object_get(o, EXECFS_J_ENV);
	if (!rc && env)
		rc = strv_from_json(env, 0, EXECFS_MAX_ARGS, true, EXECFS_J_ENV,
				    &req->env, err, errlen);
	if (!rc)
		rc = str_field(o, EXECFS_J_CWD, false, &req->cwd, err, errlen);
	if (!rc && req->cwd && req->cwd[0] != '/') {
		snprintf(err, errlen, "\"cwd\" must be an absolute path");
		rc = -EINVAL;
	}
	if (!rc)
		rc = str_field(o, EXECFS_J_USER, false, &req->user, err,
			       errlen);
	if (!rc)
		rc = bool_field(o, EXECFS_J_TTY, &req->tty, err, errlen);
	if (!rc)
		rc = bool_field(o, EXECFS_J_MERGE_STDERR, &req->merge_stderr,
				err, errlen);
	/* A tty merges stderr already: with one, merge_stderr changes
	 * nothing. */
	if (!rc)
		rc = size_field(o, EXECFS_J_COLS, &req->cols, err, errlen);
	if (!rc)
		rc = size_field(o, EXECFS_J_ROWS, &req->rows, err, errlen);
	if (!rc)
		rc = int_field(o, EXECFS_J_NICE, EXECFS_NICE_MIN,
			       EXECFS_NICE_MAX, &req->has_nice, &req->nice, err,
			       errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
out:
	json_decref(o);
	if (rc)
		exec_spec_release(req);
	return rc;
}

void exec_spec_release(struct exec_spec *req)
{
	free(req->container);
	strv_free(req->argv);
	strv_free(req->env);
	free(req->cwd);
	free(req->user);
	strv_free(req->run_as);
	free(req->seen_created);
	memset(req, 0, sizeof(*req));
}

bool session_id_valid(const char *sid)
{
	size_t i;

	for (i = 0; i < EXECFS_SID_LEN; i++)
		if (!((sid[i] >= '0' && sid[i] <= '9') ||
		      (sid[i] >= 'a' && sid[i] <= 'f')))
			return false;
	return sid[EXECFS_SID_LEN] == 0;
}
