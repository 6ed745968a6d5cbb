/*
 * NULL-terminated vectors of owned strings (argv, envp, cgroup paths), as
 * the request decoder, the OCI reader, the privsep codec and the spawner
 * build them.
 */
#ifndef EXECFS_AGENT_STRV_H
#define EXECFS_AGENT_STRV_H

/* Free every string and the vector. NULL is a no-op. */
void strv_free(char **v);

#endif
