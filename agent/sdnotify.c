/*
 * sd_notify(3) in one function (see sdnotify.h). The whole protocol is one
 * datagram of "KEY=VALUE" lines to the Unix socket named by $NOTIFY_SOCKET;
 * linking libsystemd for it would add a dependency for twenty lines.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* The socket sdnotify_prepare() connected, kept for every later call; -1:
 * none, each call makes its own. */
static int notify_fd = -1;

/* $NOTIFY_SOCKET's address. 1 and *sun, *alen; 0 when there is none;
 * -EINVAL for a bad one. */
static int notify_addr(struct sockaddr_un *sun, socklen_t *alen)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(sun->sun_path))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	/* An abstract name has no terminating NUL: it is exactly len bytes. */
	if (sun->sun_path[0] == '@') {
		sun->sun_path[0] = 0;
		*alen = offsetof(struct sockaddr_un, sun_path) + len;
	} else {
		*alen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	}
	return 1;
}

int sdnotify_prepare(void)
{
	struct sockaddr_un sun;
	socklen_t alen;
	int fd, rc;

	rc = notify_addr(&sun, &alen);
	if (rc <= 0 || notify_fd >= 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, alen) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	notify_fd = fd;
	return 0;
}

int sdnotify(const char *state)
{
	struct sockaddr_un sun;
	socklen_t alen;
	ssize_t n;
	int fd, rc;

	if (notify_fd >= 0) {
		n = send(notify_fd, state, strlen(state), MSG_NOSIGNAL);
		if (n < 0)
			return -errno;
		return (size_t)n == strlen(state) ? 0 : -EMSGSIZE;
	}
	rc = notify_addr(&sun, &alen);
	if (rc <= 0)
		return rc;
	rc = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sun, alen);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != strlen(state))
		rc = -EMSGSIZE;
	close(fd);
	return rc;
}
