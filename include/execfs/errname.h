/*
 * Errno values travel by name in the protocol ("ENOENT"), because numbers
 * are not portable across architectures. Shared by both programs.
 */
#ifndef EXECFS_ERRNAME_H
#define EXECFS_ERRNAME_H

/* "ENOENT" for ENOENT; "EIO" for anything without a name here. */
const char *errno_name(int err);
/* ENOENT for "ENOENT"; EIO for an unknown name. Positive. */
int errno_from_name(const char *name);
/* The HTTP status the agent answers a failed start with. */
int errno_http_status(int err);

#endif
