/*
 * libFuzzer target: a container's output as `execfs exec --all` cuts it
 * into lines (fs/exec_lines.c). The first byte picks the mode and how the
 * rest is split into reads; the rest is the output. Whatever a container
 * writes:
 *   - JSON mode: every record is one line of valid JSON, and the "data"
 *     and "data_base64" of the records, joined, give back exactly the
 *     bytes written;
 *   - text mode: every line starts with the prefix, and the bytes after
 *     the prefixes, joined (less the newlines added to unended pieces),
 *     give back exactly the bytes written.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "n1/ns/pod/c: "

struct got {
	char *buf;
	size_t len;
};

static void collect(void *arg, const char *buf, size_t len)
{
	struct got *g = arg;
	char *p = realloc(g->buf, g->len + len);

	if (!p)
		abort();
	memcpy(p + g->len, buf, len);
	g->buf = p;
	g->len += len;
}

/* The bytes the JSON records carry, in order, into out (room for max
 * bytes and 3 more: EVP_DecodeBlock writes the padding's zeros). */
static size_t json_bytes(const struct got *g, char *out, size_t max)
{
	size_t off = 0, n = 0;

	while (off < g->len) {
		const char *nl = memchr(g->buf + off, '\n', g->len - off);
		json_error_t err;
		json_t *rec, *v;

		if (!nl)
			abort(); /* a record without its newline */
		rec = json_loadb(g->buf + off, (size_t)(nl - g->buf) - off,
				 JSON_ALLOW_NUL, &err);
		if (!rec ||
		    strcmp(json_string_value(json_object_get(rec, "target")),
			   "n1/ns/pod/c"))
			abort();
		if ((v = json_object_get(rec, "data"))) {
			if (json_string_length(v) > max - n)
				abort(); /* more bytes than were written */
			memcpy(out + n, json_string_value(v),
			       json_string_length(v));
			n += json_string_length(v);
		} else {
			const char *b = json_string_value(
				json_object_get(rec, "data_base64"));
			int k;

			if (!b || strlen(b) / 4 * 3 > max - n + 2)
				abort(); /* neither, or more than written */
			k = EVP_DecodeBlock((unsigned char *)out + n,
					    (const unsigned char *)b,
					    (int)strlen(b));
			if (k < 0)
				abort();
			/* EVP_DecodeBlock counts the padding's zero bytes. */
			k -= (int)(strlen(b) >= 1 && b[strlen(b) - 1] == '=');
			k -= (int)(strlen(b) >= 2 && b[strlen(b) - 2] == '=');
			n += (size_t)k;
		}
		json_decref(rec);
		off = (size_t)(nl - g->buf) + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct got g = { 0 };
	struct exec_lines *l;
	enum exec_lines_format fmt;
	size_t step, off = 0, n;
	char *back;

	if (size < 1)
		return 0;
	fmt = data[0] & 1 ? EXEC_LINES_JSON : EXEC_LINES_TEXT;
	step = (data[0] >> 1) + 1; /* reads of 1..128 bytes */
	data++;
	size--;
	l = exec_lines_new(fmt, "n1/ns/pod/c", "stdout", collect, &g);
	if (!l)
		return 0;
	while (off < size) {
		n = size - off < step ? size - off : step;
		if (exec_lines_feed(l, (const char *)data + off, n) < 0)
			abort();
		off += n;
	}
	if (exec_lines_end(l) < 0)
		abort();
	exec_lines_free(l);

	back = malloc(size + 3);
	if (!back)
		abort();
	if (fmt == EXEC_LINES_JSON) {
		n = json_bytes(&g, back, size);
	} else if (size >= EXEC_LINES_MAX) {
		/* Text cannot tell a cut piece's added newline from a
		 * line's own: the oracle holds below the cut. */
		n = size;
		memcpy(back, data, size);
	} else {
		/* Each output line: the prefix, then up to a newline. */
		size_t o = 0;

		n = 0;
		while (o < g.len) {
			const char *nl;
			size_t len;

			if (g.len - o < strlen(PREFIX) ||
			    memcmp(g.buf + o, PREFIX, strlen(PREFIX)))
				abort();
			o += strlen(PREFIX);
			nl = memchr(g.buf + o, '\n', g.len - o);
			if (!nl)
				abort(); /* text lines always end */
			len = (size_t)(nl - g.buf) - o;
			memcpy(back + n, g.buf + o, len);
			n += len;
			/* The newline was the line's own unless the line
			 * was the last and unended. */
			if (n < size && data[n] == '\n')
				back[n++] = '\n';
			o += len + 1;
		}
	}
	if (n != size || memcmp(back, data, size))
		abort();
	free(back);
	free(g.buf);
	return 0;
}
