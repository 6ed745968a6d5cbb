/*
 * libFuzzer target: a container's /etc/passwd and /etc/group, which the
 * process entering the container parses (agent/userdb.c) between fork and
 * execve, and the exec request's user. The input is three parts separated
 * by NUL bytes: the user spec, the passwd text, the group text. Whatever
 * resolves must be within bounds; nothing may read past the texts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "userdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of data[0..n) in a buffer of exactly n + 1 bytes,
 * so ASan sees any read past it. */
static char *part(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, data, n);
		s[n] = '\0';
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size, *a, *b;
	char *spec, *passwd, *group, err[512], home[64];
	struct user_creds *c = malloc(sizeof(*c));
	unsigned uid;

	a = memchr(data, 0, size);
	b = a ? memchr(a + 1, 0, end - a - 1) : NULL;
	spec = part(data, a ? (size_t)(a - data) : size);
	passwd = a ? part(a + 1, (b ? b : end) - a - 1) : NULL;
	group = b ? part(b + 1, end - b - 1) : NULL;
	if (c && spec) {
		if (userdb_resolve(spec, passwd, group, c, err, sizeof(err)) ==
		    0) {
			if (c->ngroups > USERDB_MAX_GROUPS ||
			    (c->has_home && strlen(c->home) >= sizeof(c->home)))
				abort();
		} else if (!err[0]) {
			abort(); /* a refusal always says why */
		}
		uid = size ? data[0] : 0;
		if (userdb_home_of(uid, passwd, home, sizeof(home)) &&
		    strlen(home) >= sizeof(home))
			abort();
	}
	free(spec);
	free(passwd);
	free(group);
	free(c);
	return 0;
}
