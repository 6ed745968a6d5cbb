/*
 * libFuzzer target: the request heads the agent's --metrics endpoint
 * parses (agent/metrics_http.c). Whatever a local client sends: no read
 * outside the bytes given, a complete head only when it holds a blank
 * line within METRICS_HTTP_HEAD_MAX, a path that starts with '/', fits
 * its buffer and has no control character, and the same answer for the
 * same bytes (no state).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	char path[64], again[64];
	int head = -1, head2 = -1, rc, rc2;
	size_t i;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	rc = metrics_http_parse(buf, size, path, sizeof(path), &head);
	if (rc == 1) {
		if (path[0] != '/' || strlen(path) >= sizeof(path) ||
		    (head != 0 && head != 1))
			abort();
		for (i = 0; path[i]; i++)
			if ((unsigned char)path[i] < 0x20)
				abort();
	} else if (rc != 0 && rc != -EINVAL && rc != -E2BIG && rc != -ENOSYS) {
		abort();
	}
	if (rc == 0 && size > METRICS_HTTP_HEAD_MAX + 2)
		abort();
	rc2 = metrics_http_parse(buf, size, again, sizeof(again), &head2);
	if (rc2 != rc || (rc == 1 && (strcmp(again, path) || head2 != head)))
		abort();
	free(buf);
	return 0;
}
