/*
 * Lines of `execfs exec --all` (see exec_lines.h). A stream's bytes are
 * gathered in `part` until a newline (or EXEC_LINES_MAX bytes) completes a
 * line; the records of one feed are formatted into `out` and handed to
 * emit once, so a writer shared by many targets takes its lock once per
 * read, not per line.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "exec_lines.h"

struct exec_lines {
	enum exec_lines_format fmt;
	char *target; /* owned; as shown (text: control bytes as '?') */
	char *stream; /* owned */
	exec_lines_emit_fn emit;
	void *arg;
	char *part; /* owned, EXEC_LINES_MAX bytes: the line so far */
	size_t plen;
	char *out; /* owned: records not emitted yet */
	size_t olen, ocap;
};

void exec_lines_safe_name(const char *target, char *out, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; target[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)target[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[i] = '\0';
}

struct exec_lines *exec_lines_new(enum exec_lines_format fmt,
				  const char *target, const char *stream,
				  exec_lines_emit_fn emit, void *arg)
{
	struct exec_lines *l = calloc(1, sizeof(*l)); /* the caller's */

	if (!l)
		return NULL;
	l->fmt = fmt;
	l->emit = emit;
	l->arg = arg;
	l->target = strdup(target);
	l->stream = strdup(stream);
	l->part = malloc(EXEC_LINES_MAX);
	if (!l->target || !l->stream || !l->part) {
		exec_lines_free(l);
		return NULL;
	}
	if (fmt == EXEC_LINES_TEXT)
		exec_lines_safe_name(target, l->target, strlen(target) + 1);
	return l;
}

void exec_lines_free(struct exec_lines *l)
{
	if (!l)
		return;
	free(l->target);
	free(l->stream);
	free(l->part);
	free(l->out);
	free(l);
}

/* A JSON string of text we did not write (a name, an agent's reason):
 * as it is if it is UTF-8, else with every byte above 0x7f as '?'. */
static json_t *json_text(const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	char *copy;
	size_t i;

	if (v)
		return v;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	for (i = 0; i < len; i++)
		if ((unsigned char)copy[i] > 0x7f)
			copy[i] = '?';
	v = json_stringn(copy, len);
	free(copy);
	return v;
}

static int out_add(struct exec_lines *l, const char *buf, size_t len)
{
	if (l->olen + len > l->ocap) {
		size_t cap = l->ocap ? l->ocap : 4096;
		char *p;

		while (cap < l->olen + len)
			cap *= 2;
		p = realloc(l->out, cap);
		if (!p)
			return -ENOMEM;
		l->out = p;
		l->ocap = cap;
	}
	memcpy(l->out + l->olen, buf, len);
	l->olen += len;
	return 0;
}

/* The JSON value of a line: a "data" string if it is UTF-8, else
 * "data_base64". */
static int json_data(json_t *obj, const char *buf, size_t len)
{
	json_t *s = json_stringn(buf, len);
	unsigned char *b64;
	int rc;

	if (s)
		return json_object_set_new(obj, "data", s) == 0 ? 0 : -ENOMEM;
	/* 4 output bytes per 3 input bytes, and a NUL. */
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64)
		return -ENOMEM;
	EVP_EncodeBlock(b64, (const unsigned char *)buf, (int)len);
	rc = json_object_set_new(obj, "data_base64", json_string((char *)b64));
	free(b64);
	return rc == 0 ? 0 : -ENOMEM;
}

static int add_json(struct exec_lines *l, json_t *obj)
{
	char *text;
	int rc;

	text = json_dumps(obj, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	rc = out_add(l, text, strlen(text));
	if (rc == 0)
		rc = out_add(l, "\n", 1);
	free(text);
	return rc;
}

/* One line (or a piece of an overlong one) into out. */
static int add_line(struct exec_lines *l, const char *buf, size_t len)
{
	json_t *obj;
	int rc;

	if (l->fmt == EXEC_LINES_TEXT) {
		rc = out_add(l, l->target, strlen(l->target));
		if (rc == 0)
			rc = out_add(l, ": ", 2);
		if (rc == 0)
			rc = out_add(l, buf, len);
		if (rc == 0 && (len == 0 || buf[len - 1] != '\n'))
			rc = out_add(l, "\n", 1);
		return rc;
	}
	obj = json_object();
	if (!obj)
		return -ENOMEM;
	rc = json_object_set_new(obj, "target",
				 json_text(l->target, strlen(l->target)));
	if (rc == 0)
		rc = json_object_set_new(obj, "stream", json_string(l->stream));
	rc = rc == 0 ? json_data(obj, buf, len) : -ENOMEM;
	if (rc == 0)
		rc = add_json(l, obj);
	json_decref(obj);
	return rc;
}

static int flush_out(struct exec_lines *l, int rc)
{
	if (rc == 0 && l->olen > 0)
		l->emit(l->arg, l->out, l->olen);
	l->olen = 0;
	return rc;
}

int exec_lines_feed(struct exec_lines *l, const char *buf, size_t n)
{
	int rc = 0;

	while (rc == 0 && n > 0) {
		const char *nl = memchr(buf, '\n', n);
		size_t take = nl ? (size_t)(nl - buf) + 1 : n;
		size_t room = EXEC_LINES_MAX - l->plen;
		bool whole = nl != NULL;

		if (take > room) {
			take = room;
			whole = false;
		}
		memcpy(l->part + l->plen, buf, take);
		l->plen += take;
		buf += take;
		n -= take;
		if (whole || l->plen == EXEC_LINES_MAX) {
			rc = add_line(l, l->part, l->plen);
			l->plen = 0;
		}
	}
	return flush_out(l, rc);
}

int exec_lines_end(struct exec_lines *l)
{
	int rc = 0;

	if (l->plen > 0)
		rc = add_line(l, l->part, l->plen);
	l->plen = 0;
	return flush_out(l, rc);
}

char *exec_lines_json_end(const char *target, int exit_code, const char *status,
			  const char *error)
{
	json_t *obj = json_object();
	char *text = NULL, *out = NULL;
	int rc;

	if (!obj)
		return NULL;
	rc = json_object_set_new(obj, "target",
				 json_text(target, strlen(target)));
	if (rc == 0)
		rc = json_object_set_new(obj, "exit", json_integer(exit_code));
	if (rc == 0 && status)
		rc = json_object_set_new(obj, "status",
					 json_text(status,
						   strcspn(status, "\n")));
	if (rc == 0 && error)
		rc = json_object_set_new(
			obj, "error", json_text(error, strcspn(error, "\n")));
	if (rc == 0)
		text = json_dumps(obj, JSON_COMPACT);
	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	json_decref(obj);
	return out;
}
