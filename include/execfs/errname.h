/*
 * Errno values travel by name in the protocol ("ENOENT"), because numbers
 * are not portable across architectures, and a failed request is answered
 * with the HTTP status of its errno. One table (transport/common/errname.c)
 * serves both programs and both directions.
 */
#ifndef EXECFS_ERRNAME_H
#define EXECFS_ERRNAME_H

/* "ENOENT" for ENOENT; "EIO" for anything without a name here. */
const char *errno_name(int err);
/* ENOENT for "ENOENT"; EIO for an unknown name. Positive. */
int errno_from_name(const char *name);
/* The HTTP status a request that failed with err is answered with; 500
 * for an errno without a name here. */
int errno_http_status(int err);
/* The errno a failed answer's status stands for when no errno name came
 * with it: the first one the table lists for that status (404 ENOENT, 409
 * EBUSY, 503 EAGAIN...); EIO for a status the table does not use. */
int errno_from_http_status(int status);

#endif
