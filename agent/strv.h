/*
 * NULL-terminated vectors of owned strings (argv, envp, cgroup paths), as
 * the request decoder, the OCI reader, the privsep codec and the spawner
 * build them.
 */
#ifndef EXECFS_AGENT_STRV_H
#define EXECFS_AGENT_STRV_H

#include <stddef.h>

/* Free every string and the vector. NULL is a no-op. */
void strv_free(char **v);

/* Append a copy of s to the vector *v of *n strings (growing it, still
 * NULL-terminated). 0 or -ENOMEM (*v unchanged). */
int strv_push(char ***v, size_t *n, const char *s);

#endif
