/*
 * Audit lines, JSON (jansson), one write(2) each on an O_APPEND file so
 * lines never interleave and a crash loses at most the line being written.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
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
	regex_t redact[AUDIT_MAX_REDACTIONS];
	size_t nredact;
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

static void audit_emit(struct audit *a, json_t *line)
{
	struct timespec ts;
	struct tm tm;
	char when[96];
	char *text;
	size_t len;

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
		return;
	}
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: written by length */
	if (write(a->fd, text, len + 1) != (ssize_t)(len + 1))
		log_error("audit: write failed: %s", strerror(errno));
	free(text);
}

static json_t *argv_json(const struct audit *a, char *const *argv)
{
	json_t *arr = json_array();
	size_t i, k;

	for (i = 0; argv && argv[i]; i++) {
		bool hide = false;

		for (k = 0; k < a->nredact && !hide; k++)
			hide = regexec(&a->redact[k], argv[i], 0, NULL, 0) == 0;
		json_array_append_new(arr, json_string(hide ? "[REDACTED]" :
							      argv[i]));
	}
	return arr;
}

static json_t *start_json(const struct audit *a, const char *event,
			  const struct audit_start *s)
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
	return line;
}

void audit_session_start(struct audit *a, const struct audit_start *s)
{
	if (a)
		audit_emit(a, start_json(a, "start", s));
}

void audit_session_denied(struct audit *a, const struct audit_start *s,
			  const char *reason)
{
	json_t *line;

	if (!a)
		return;
	line = start_json(a, "denied", s);
	json_object_set_new(line, "reason", json_string(reason));
	audit_emit(a, line);
}

void audit_session_end(struct audit *a, const struct audit_end *e)
{
	json_t *line;

	if (!a)
		return;
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
	audit_emit(a, line);
}
