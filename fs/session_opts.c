/*
 * What a session is started with (see session.h): the pre-exec settings
 * (tty, env, cwd, user, merge, nice), each accepted only while the session is
 * NEW, and the exec request they become on the status stream
 * (docs/PROTOCOL.md).
 */
#include "session.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/ctl.h"
#include "session_internal.h"
#include "stdin.h"
#include "stream.h"

/* The pre-exec settings as exec request fields (docs/PROTOCOL.md). */
static int session_opts_to_json(const struct session_opts *o, json_t *doc)
{
	json_t *env;
	size_t i;
	int rc = 0;

	if (o->tty) {
		rc |= json_object_set_new(doc, EXECFS_J_TTY, json_true());
		if (o->cols) {
			rc |= json_object_set_new(doc, EXECFS_J_COLS,
						  json_integer(o->cols));
			rc |= json_object_set_new(doc, EXECFS_J_ROWS,
						  json_integer(o->rows));
		}
	} else if (o->merge) {
		/* Under a tty the terminal merges the two anyway. */
		rc |= json_object_set_new(doc, EXECFS_J_MERGE_STDERR,
					  json_true());
	}
	if (o->nenv) {
		env = json_array();
		for (i = 0; env && i < o->nenv; i++)
			rc |= json_array_append_new(env,
						    json_string(o->env[i]));
		rc |= json_object_set_new(doc, EXECFS_J_ENV, env);
	}
	if (o->cwd)
		rc |= json_object_set_new(doc, EXECFS_J_CWD,
					  json_string(o->cwd));
	if (o->user)
		rc |= json_object_set_new(doc, EXECFS_J_USER,
					  json_string(o->user));
	if (o->has_nice)
		rc |= json_object_set_new(doc, EXECFS_J_NICE,
					  json_integer(o->nice));
	return rc ? -ENOMEM : 0;
}

char *session_exec_body(const struct session *s, char *const *argv, size_t argc)
{
	json_t *doc, *args;
	char *body = NULL;
	size_t i;

	args = json_array();
	if (!args)
		return NULL;
	for (i = 0; i < argc; i++)
		if (json_array_append_new(args, json_string(argv[i])) < 0) {
			json_decref(args);
			return NULL;
		}
	doc = json_pack("{s:s, s:o}", EXECFS_J_CONTAINER, s->container,
			EXECFS_J_ARGV, args); /* steals args */
	if (!doc)
		return NULL;
	if (session_opts_to_json(&s->opts, doc) == 0)
		body = json_dumps(doc, JSON_COMPACT); /* owned by the caller */
	json_decref(doc);
	return body;
}

int session_set_tty(struct session *s, unsigned cols, unsigned rows)
{
	if (s->state != SESSION_NEW)
		return -EBUSY;
	s->opts.tty = true;
	s->opts.cols = cols;
	s->opts.rows = rows;
	/* Keys go in on stdin, their echo comes out on stdout. */
	in_stream_set_echo(s->in, &s->echo);
	out_stream_set_echo(s->out[SESSION_STDOUT], &s->echo);
	return 0;
}

int session_add_env(struct session *s, const char *name_value)
{
	size_t nlen = strcspn(name_value, "=") + 1, i;
	char *copy, **nv;

	if (s->state != SESSION_NEW)
		return -EBUSY;
	copy = strdup(name_value);
	if (!copy)
		return -ENOMEM;
	for (i = 0; i < s->opts.nenv; i++)
		if (strncmp(s->opts.env[i], name_value, nlen) == 0) {
			free(s->opts.env[i]);
			s->opts.env[i] = copy; /* owned by opts */
			return 0;
		}
	if (s->opts.nenv >= EXECFS_MAX_ARGS) {
		free(copy);
		return -E2BIG;
	}
	nv = realloc(s->opts.env, (s->opts.nenv + 2) * sizeof(*nv));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	s->opts.env = nv;
	nv[s->opts.nenv++] = copy; /* owned by opts */
	nv[s->opts.nenv] = NULL;
	return 0;
}

static int session_set_str(struct session *s, char **field, const char *v)
{
	char *copy;

	if (s->state != SESSION_NEW)
		return -EBUSY;
	copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy; /* owned by opts */
	return 0;
}

int session_set_cwd(struct session *s, const char *cwd)
{
	return session_set_str(s, &s->opts.cwd, cwd);
}

int session_set_user(struct session *s, const char *user)
{
	return session_set_str(s, &s->opts.user, user);
}

int session_set_merge(struct session *s)
{
	if (s->state != SESSION_NEW)
		return -EBUSY;
	s->opts.merge = true;
	return 0;
}

int session_set_nice(struct session *s, int nice)
{
	if (s->state != SESSION_NEW)
		return -EBUSY;
	s->opts.has_nice = true;
	s->opts.nice = nice;
	return 0;
}
