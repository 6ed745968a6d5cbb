/*
 * Output pumps of `execfs exec` (see exec_pump.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "exec_pump.h"

#define PUMP_BUF (256 * 1024)

struct exec_pump {
	pthread_t thread;
	int src, dst, done_fd;
	unsigned char id;
	int read_err; /* errno of the failed read, 0 at end of file */
	int write_err; /* errno of the failed write, 0 if none */
};

int exec_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, -1);
			continue;
		}
		if (k < 0)
			return -errno;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

static void *pump_main(void *arg)
{
	struct exec_pump *p = arg;
	char *buf = malloc(PUMP_BUF); /* owned here */
	int rc;

	if (!buf)
		p->read_err = ENOMEM;
	while (buf) {
		ssize_t n = read(p->src, buf, PUMP_BUF);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p->read_err = errno;
			break;
		}
		rc = exec_write_all(p->dst, buf, (size_t)n);
		if (rc < 0) {
			p->write_err = -rc;
			break;
		}
	}
	free(buf);
	while (write(p->done_fd, &p->id, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

struct exec_pump *exec_pump_start(int src, int dst, int done_fd,
				  unsigned char id)
{
	struct exec_pump *p = calloc(1, sizeof(*p)); /* the caller's */
	sigset_t all, old;
	int rc;

	if (!p)
		return NULL;
	p->src = src;
	p->dst = dst;
	p->done_fd = done_fd;
	p->id = id;
	/* The new thread inherits this mask: signals stay with the caller. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, pump_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(p);
		errno = rc;
		return NULL;
	}
	return p;
}

int exec_pump_finish(struct exec_pump *p, int *read_err)
{
	int rc;

	*read_err = 0;
	if (!p)
		return 0;
	pthread_join(p->thread, NULL);
	*read_err = p->read_err;
	rc = p->write_err ? -p->write_err : 0;
	free(p);
	return rc;
}
