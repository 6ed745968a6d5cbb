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

int sdnotify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t len;
	socklen_t alen;
	ssize_t n;
	int fd, rc = 0;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(sun.sun_path))
		return -EINVAL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	/* An abstract name has no terminating NUL: it is exactly len bytes. */
	if (sun.sun_path[0] == '@') {
		sun.sun_path[0] = 0;
		alen = offsetof(struct sockaddr_un, sun_path) + len;
	} else {
		alen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	}
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
