/*
 * libFuzzer target: the agent's status documents as the client reads them
 * (fs/statusdoc.c). The first byte picks the HTTP status they came with,
 * the rest is the body. Whatever the agent sends, what reaches `status`,
 * terminals and the log is one line of printable text of bounded length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statusdoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int https[] = { 200, 400, 403, 404, 409, 500, 502, 0 };

/* Is s (NUL-terminated) printable text, checked the long way: ASCII
 * 0x20-0x7e, or a UTF-8 sequence of the right length for its lead byte,
 * decoding to U+00A0.. without surrogates, above U+10FFFF, overlong forms
 * or U+202E. */
static void check_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned cp, len, k;

		if (*p >= 0x20 && *p < 0x7f) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			len = 2;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			len = 3;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			len = 4;
			cp = *p & 0x07;
		} else {
			abort();
		}
		for (k = 1; k < len; k++) {
			if ((p[k] & 0xc0) != 0x80)
				abort();
			cp = cp << 6 | (p[k] & 0x3f);
		}
		if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp > 0x10ffff || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp == 0x202e)
			abort();
		p += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statusdoc d;
	char raw[64];
	size_t i, n;

	if (size < 1)
		return 0;
	/* Raw bytes straight to the sanitizer (jansson would refuse
	 * malformed UTF-8 before it got there). */
	statusdoc_printable(raw, sizeof(raw), (const char *)data + 1, size - 1);
	if (strlen(raw) >= sizeof(raw))
		abort();
	check_printable(raw);
	statusdoc_parse(size > 1 ? (const char *)data + 1 : NULL, size - 1,
			https[data[0] % (sizeof(https) / sizeof(https[0]))],
			&d);
	n = strlen(d.message);
	if (n > STATUSDOC_MESSAGE_MAX)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)d.message[i] < 0x20 ||
		    (unsigned char)d.message[i] == 0x7f)
			abort();
	check_printable(d.message);
	for (i = 0; d.signame[i]; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-",
			    d.signame[i]))
			abort();
	if (d.state == STATUSDOC_FAILED && d.err <= 0)
		abort();
	return 0;
}
