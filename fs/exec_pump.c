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

/* As much as a read of a session file is answered with at once (the files'
 * st_blksize): bulk output comes in few reads. */
#define PUMP_BUF (1024 * 1024)
/* Reads ask for this much after short answers: a read of the mount pins
 * the pages it asks for (direct I/O), which a terminal's one-byte echoes
 * should not pay for 1 MiB at a time. Full answers double it again. */
#define PUMP_MIN (16 * 1024)

struct exec_pump {
	struct exec_pump *next; /* in `running` */
	pthread_t thread;
	char *buf; /* owned; the thread's */
	int src, dst, done_fd;
	unsigned char id;
	int read_err; /* errno of the failed read, 0 at end of file */
	int write_err; /* errno of the failed write, 0 if none */
};

/* Every pump not finished yet. A caller that leaves early (the escape, a
 * second signal) exits with its pumps still blocked in a read of the
 * mount, which may never answer: the exit ends them, and until then they
 * are owned here (not leaked), by the only thread that starts and
 * finishes pumps. */
static struct exec_pump *running;

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
	size_t want = PUMP_BUF;
	int rc;

	p->buf = malloc(PUMP_BUF);
	if (!p->buf)
		p->read_err = ENOMEM;
	while (p->buf) {
		ssize_t n = read(p->src, p->buf, want);

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p->read_err = errno;
			break;
		}
		if ((size_t)n == want && want < PUMP_BUF)
			want *= 2;
		else if ((size_t)n < want / 2 && want > PUMP_MIN)
			want /= 2;
		rc = exec_write_all(p->dst, p->buf, (size_t)n);
		if (rc < 0) {
			p->write_err = -rc;
			break;
		}
	}
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
	p->next = running;
	running = p;
	return p;
}

int exec_pump_finish(struct exec_pump *p, int *read_err)
{
	struct exec_pump **pp;
	int rc;

	*read_err = 0;
	if (!p)
		return 0;
	pthread_join(p->thread, NULL);
	for (pp = &running; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	*read_err = p->read_err;
	rc = p->write_err ? -p->write_err : 0;
	free(p->buf);
	free(p);
	return rc;
}
