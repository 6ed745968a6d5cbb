/*
 * Audit lines, JSON (jansson), one write(2) each on an O_APPEND file so
 * lines never interleave and a crash loses at most the line being written.
 * A write that does not take the whole line (a full disk, an I/O error) is
 * an error the caller sees when the audit is required.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "execfs/log.h"
#include "inventory.h"

#define AUDIT_MAX_REDACTIONS 32

struct audit {
	int fd; /* owned */
	bool required; /* a failed write fails what it records */
	regex_t redact[AUDIT_MAX_REDACTIONS];
	size_t nredact;
};

static const char *const refusal_names[] = {
	[AUDIT_UNKNOWN_CONTAINER] = "unknown_container",
	[AUDIT_MALFORMED_REQUEST] = "malformed_request",
	[AUDIT_OVER_LIMIT] = "over_limit",
	[AUDIT_CROSS_IDENTITY] = "cross_identity",
};

struct audit *audit_open(const char *path, char *err, size_t errlen)
{
	struct audit *a;

	if (!path)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		snprintf(err, errlen, "audit file %s: %s", path,
			 strerror(errno));
		free(a);
		return NULL;
	}
	return a;
}

int audit_add_redaction(struct audit *a, const char *regex, char *err,
			size_t errlen)
{
	int rc;

	if (!a) {
		snprintf(err, errlen, "--audit-redact needs --audit");
		return -EINVAL;
	}
	if (a->nredact == AUDIT_MAX_REDACTIONS) {
		snprintf(err, errlen, "at most %d redaction patterns",
			 AUDIT_MAX_REDACTIONS);
		return -EINVAL;
	}
	rc = regcomp(&a->redact[a->nredact], regex, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[200];

		regerror(rc, &a->redact[a->nredact], msg, sizeof(msg));
		snprintf(err, errlen, "redaction pattern '%s': %s", regex, msg);
		return -EINVAL;
	}
	a->nredact++;
	return 0;
}

void audit_set_required(struct audit *a, bool required)
{
	if (a)
		a->required = required;
}

void audit_close(struct audit *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nredact; i++)
		regfree(&a->redact[i]);
	close(a->fd);
	free(a);
}

/* Write line (consumed) with the time; 0 or, when required, -errno. */
static int audit_emit(struct audit *a, json_t *line)
{
	struct timespec ts;
	struct tm tm;
	char when[96];
	char *text;
	ssize_t n;
	size_t len;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	json_object_set_new(line, "time", json_string(when));
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (!text) {
		log_error("audit: cannot encode a line");
		return a->required ? -ENOMEM : 0;
	}
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: written by length */
	do
		n = write(a->fd, text, len + 1);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(len + 1)) {
		/* A part of a line is no line: the reader sees it cut. */
		rc = n < 0 ? -errno : -EIO;
		log_error("audit: write failed: %s%s", strerror(-rc),
			  a->required ? " (required: refused)" : "");
	}
	free(text);
	return a->required ? rc : 0;
}

static bool redacted(const struct audit *a, const char *s)
{
	size_t k;

	for (k = 0; k < a->nredact; k++)
		if (regexec(&a->redact[k], s, 0, NULL, 0) == 0)
			return true;
	return false;
}

static json_t *argv_json(const struct audit *a, char *const *argv)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		json_array_append_new(arr, json_string(redacted(a, argv[i]) ?
							       "[REDACTED]" :
							       argv[i]));
	return arr;
}

/* NAME=VALUE entries; a redacted one keeps its name. */
static json_t *env_json(const struct audit *a, char *const *env)
{
	json_t *arr = json_array();
	const char *eq;
	size_t i;

	for (i = 0; env[i]; i++) {
		if (!redacted(a, env[i])) {
			json_array_append_new(arr, json_string(env[i]));
			continue;
		}
		eq = strchr(env[i], '=');
		json_array_append_new(
			arr, json_sprintf("%.*s=[REDACTED]",
					  eq ? (int)(eq - env[i]) : 0, env[i]));
	}
	return arr;
}

/* The fields every line of a session carries. */
static json_t *who_json(const char *event, const char *session,
			const char *identity, const char *node)
{
	json_t *line = json_object();

	json_object_set_new(line, "event", json_string(event));
	if (session)
		json_object_set_new(line, "session", json_string(session));
	json_object_set_new(line, "identity", json_string(identity));
	json_object_set_new(line, "node", json_string(node));
	return line;
}

static json_t *start_json(const struct audit *a, const char *event,
			  const struct audit_start *s, char *const *env)
{
	json_t *line = json_object();

	json_object_set_new(line, "event", json_string(event));
	json_object_set_new(line, "session", json_string(s->session));
	json_object_set_new(line, "identity", json_string(s->identity));
	json_object_set_new(line, "node", json_string(s->node));
	json_object_set_new(line, "container",
			    json_pack("{s:s, s:s, s:s, s:s}", "id", s->c->id,
				      "namespace", s->c->namespace, "pod",
				      s->c->pod, "name", s->c->name));
	json_object_set_new(line, "argv", argv_json(a, s->argv));
	json_object_set_new(line, "tty", json_boolean(s->tty));
	json_object_set_new(line, "user",
			    s->user ? json_string(s->user) : json_null());
	json_object_set_new(line, "cwd",
			    s->cwd ? json_string(s->cwd) : json_null());
	if (env)
		json_object_set_new(line, "env", env_json(a, env));
	return line;
}

int audit_session_start(struct audit *a, const struct audit_start *s)
{
	return audit_session_start_env(a, s, NULL);
}

int audit_session_start_env(struct audit *a, const struct audit_start *s,
			    char *const *env)
{
	return a ? audit_emit(a, start_json(a, "start", s, env)) : 0;
}

int audit_session_denied(struct audit *a, const struct audit_start *s,
			 const char *reason)
{
	return audit_session_denied_env(a, s, NULL, reason);
}

int audit_session_denied_env(struct audit *a, const struct audit_start *s,
			     char *const *env, const char *reason)
{
	json_t *line;

	if (!a)
		return 0;
	line = start_json(a, "denied", s, env);
	json_object_set_new(line, "reason", json_string(reason));
	return audit_emit(a, line);
}

int audit_session_spawned(struct audit *a, const struct audit_spawned *s)
{
	json_t *line, *groups;
	size_t i;

	if (!a)
		return 0;
	line = who_json("spawned", s->session, s->identity, s->node);
	json_object_set_new(line, "container", json_string(s->container_id));
	json_object_set_new(line, "pid", json_integer(s->pid));
	if (s->init_pid > 0)
		json_object_set_new(line, "init_pid",
				    json_integer(s->init_pid));
	if (s->created)
		json_object_set_new(line, "created", json_string(s->created));
	if (!s->ids_known) {
		/* B's report of them was read by the monitor before the
		 * handover (a kernel without pidfd_open, spawn_child.c B0):
		 * the start line's user says what was asked for. */
		json_object_set_new(line, "ids", json_string("unreported"));
		return audit_emit(a, line);
	}
	json_object_set_new(line, "uid", json_integer(s->uid));
	json_object_set_new(line, "gid", json_integer(s->gid));
	groups = json_array();
	for (i = 0; i < s->ngroups; i++)
		json_array_append_new(groups, json_integer(s->groups[i]));
	json_object_set_new(line, "groups", groups);
	return audit_emit(a, line);
}

static json_t *action_json(const char *event, const struct audit_who *w)
{
	json_t *line = who_json(event, w->session, w->identity, w->node);

	if (w->container_id)
		json_object_set_new(line, "container",
				    json_string(w->container_id));
	return line;
}

int audit_session_signal(struct audit *a, const struct audit_who *w,
			 const char *signame, int err)
{
	json_t *line;

	if (!a)
		return 0;
	line = action_json("signal", w);
	json_object_set_new(line, "signal", json_string(signame));
	json_object_set_new(line, "sent", json_boolean(!err));
	if (err)
		json_object_set_new(line, "reason", json_string(strerror(err)));
	return audit_emit(a, line);
}

int audit_session_resize(struct audit *a, const struct audit_who *w,
			 unsigned cols, unsigned rows)
{
	json_t *line;

	if (!a)
		return 0;
	line = action_json("resize", w);
	json_object_set_new(line, "cols", json_integer(cols));
	json_object_set_new(line, "rows", json_integer(rows));
	return audit_emit(a, line);
}

int audit_session_resume(struct audit *a, const struct audit_who *w,
			 const char *stream, unsigned long long offset)
{
	json_t *line;

	if (!a)
		return 0;
	line = action_json("resume", w);
	json_object_set_new(line, "stream", json_string(stream));
	json_object_set_new(line, "offset", json_integer((json_int_t)offset));
	return audit_emit(a, line);
}

int audit_refused(struct audit *a, const struct audit_who *w,
		  enum audit_refusal kind, const char *reason)
{
	json_t *line;

	if (!a)
		return 0;
	line = action_json("refused", w);
	json_object_set_new(line, "kind", json_string(refusal_names[kind]));
	json_object_set_new(line, "reason", json_string(reason));
	return audit_emit(a, line);
}

int audit_session_end(struct audit *a, const struct audit_end *e)
{
	json_t *line;

	if (!a)
		return 0;
	line = json_object();
	json_object_set_new(line, "event", json_string("end"));
	json_object_set_new(line, "session", json_string(e->session));
	json_object_set_new(line, "identity", json_string(e->identity));
	json_object_set_new(line, "node", json_string(e->node));
	json_object_set_new(line, "container", json_string(e->container_id));
	json_object_set_new(line, "state", json_string(e->state));
	if (!strcmp(e->state, "exited"))
		json_object_set_new(line, "code", json_integer(e->code));
	if (e->signame)
		json_object_set_new(line, "signal", json_string(e->signame));
	if (e->reason)
		json_object_set_new(line, "reason", json_string(e->reason));
	json_object_set_new(line, "bytes_in", json_integer(e->bytes_in));
	json_object_set_new(line, "bytes_out", json_integer(e->bytes_out));
	json_object_set_new(line, "duration", json_real(e->duration));
	return audit_emit(a, line);
}
