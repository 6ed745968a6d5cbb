/*
 * Reading a file descriptor straight into an evbuffer's memory. libevent's
 * evbuffer_read() takes at most 4 KiB per call (EVBUFFER_MAX_READ); this
 * takes up to max in one readv(2). Private to transport/.
 */
#ifndef EXECFS_TRANSPORT_BUFREAD_H
#define EXECFS_TRANSPORT_BUFREAD_H

#include <stddef.h>
#include <sys/types.h>

struct evbuffer;

/* Bytes read (appended to buf), 0 at EOF, -errno (-EAGAIN: nothing
 * there; -ENOMEM: no room could be reserved). */
ssize_t bufread_fd(struct evbuffer *buf, int fd, size_t max);

#endif
