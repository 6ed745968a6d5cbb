/*
 * The one table of errno names and HTTP statuses the protocol uses, read in
 * both directions: an errno travels as its name and answers a request with
 * its status; a status without a name (an answer from something that is
 * not the agent, or a document that lost its "errno") reads back as the
 * errno listed first for it. Only errnos a user can act on are named;
 * everything else travels as EIO.
 */
#include <errno.h>
#include <string.h>

#include "execfs/errname.h"

/* The first entry of each status is the errno that status reads back as
 * (errno_from_http_status), so order matters within a status. */
static const struct {
	int err;
	const char *name;
	int http;
} errnames[] = {
	{ ENOENT, "ENOENT", 404 },
	{ ENOTDIR, "ENOTDIR", 404 },
	{ ELOOP, "ELOOP", 404 },
	{ EACCES, "EACCES", 403 },
	{ EPERM, "EPERM", 403 },
	{ ENOEXEC, "ENOEXEC", 403 },
	{ EINVAL, "EINVAL", 400 },
	{ E2BIG, "E2BIG", 400 },
	{ ENAMETOOLONG, "ENAMETOOLONG", 400 },
	{ EBUSY, "EBUSY", 409 },
	{ EEXIST, "EEXIST", 409 },
	{ ESRCH, "ESRCH", 409 },
	{ ETXTBSY, "ETXTBSY", 409 },
	{ EAGAIN, "EAGAIN", 503 },
	{ ENOMEM, "ENOMEM", 503 },
	{ EMFILE, "EMFILE", 503 },
	{ ENOTCONN, "ENOTCONN", 503 },
	{ EIO, "EIO", 500 },
	{ ERANGE, "ERANGE", 416 },
};

#define NERRNAMES (sizeof(errnames) / sizeof(errnames[0]))

const char *errno_name(int err)
{
	size_t i;

	for (i = 0; i < NERRNAMES; i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	return "EIO";
}

int errno_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < NERRNAMES; i++)
		if (!strcmp(errnames[i].name, name))
			return errnames[i].err;
	return EIO;
}

int errno_http_status(int err)
{
	size_t i;

	for (i = 0; i < NERRNAMES; i++)
		if (errnames[i].err == err)
			return errnames[i].http;
	return 500;
}

int errno_from_http_status(int status)
{
	size_t i;

	for (i = 0; i < NERRNAMES; i++)
		if (errnames[i].http == status)
			return errnames[i].err;
	return EIO;
}
