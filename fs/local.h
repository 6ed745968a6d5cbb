/*
 * The local default: `execfs MOUNTPOINT` with no configuration talks to the
 * agent on EXECFS_DEFAULT_SOCKET, starting one if nothing accepts there.
 * Runs at startup, before the mount and the event loop, so it may block
 * (bounded).
 */
#ifndef EXECFS_FS_LOCAL_H
#define EXECFS_FS_LOCAL_H

#include <stdbool.h>
#include <stddef.h>

/* Does something accept connections on this Unix socket path? */
bool local_agent_alive(const char *path);
/* Make sure the default local agent runs; 0 or -errno with err filled. */
int local_agent_ensure(char *err, size_t errlen);

#endif
