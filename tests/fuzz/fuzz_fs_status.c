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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statusdoc d;
	size_t i, n;

	if (size < 1)
		return 0;
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
	for (i = 0; d.signame[i]; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-",
			    d.signame[i]))
			abort();
	if (d.state == STATUSDOC_FAILED && d.err <= 0)
		abort();
	return 0;
}
