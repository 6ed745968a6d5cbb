/* An fd read into an evbuffer (see bufread.h). */
#include "bufread.h"

#include <errno.h>
#include <event2/buffer.h>
#include <sys/uio.h>

ssize_t bufread_fd(struct evbuffer *buf, int fd, size_t max)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t got;
	ssize_t n;
	int i, nv;

	nv = evbuffer_reserve_space(buf, (ev_ssize_t)max, v, 2);
	if (nv <= 0)
		return -ENOMEM;
	/* The space reserved may be larger than asked for (a chain's whole
	 * free room): read no more than max, which is the caller's cap. */
	got = max;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = got < v[i].iov_len ? got : v[i].iov_len;
		got -= iov[i].iov_len;
	}
	n = readv(fd, iov, nv);
	if (n <= 0) {
		int err = n < 0 ? errno : 0;

		evbuffer_commit_space(buf, v, 0);
		return -err;
	}
	got = (size_t)n;
	for (i = 0; i < nv; i++) {
		size_t take = got < v[i].iov_len ? got : v[i].iov_len;

		v[i].iov_len = take;
		got -= take;
	}
	evbuffer_commit_space(buf, v, nv);
	return n;
}
