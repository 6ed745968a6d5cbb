/*
 * The log file's hand-over from the monitor to the worker (see logchan.h).
 * A message is one byte with exactly one fd; anything else is dropped with
 * a log line. Only the monitor writes: its end is shut for reading, and the
 * worker's for writing.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "execfs/log.h"
#include "logchan.h"

struct logchan {
	struct event *ev;
	int fd; /* owned: the worker's end */
};

/* The monitor's end, for the handler; -1: no worker to tell. */
static int monitor_chan = -1;

int logchan_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	shutdown(fds[0], SHUT_RD);
	shutdown(fds[1], SHUT_WR);
	return 0;
}

/* Async-signal-safe: open, dup3, sendmsg, close. */
static void on_sigusr1(int sig)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	char byte = 'L';
	int saved = errno, fd;

	(void)sig;
	if (log_reopen() < 0 || monitor_chan < 0)
		goto out;
	fd = log_file_fd();
	if (fd < 0)
		goto out;
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	/* A worker that is gone or not reading keeps its old file. */
	(void)!sendmsg(monitor_chan, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
out:
	errno = saved;
}

int logchan_reopen_on_sigusr1(int chan)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	monitor_chan = chan;
	return sigaction(SIGUSR1, &sa, NULL) < 0 ? -errno : 0;
}

static void logchan_readable(evutil_socket_t fd, short what, void *arg)
{
	struct logchan *lc = arg;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	int fds[4], nfds = 0, i, rc;
	char byte;
	ssize_t n;

	(void)what;
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < (int)k && nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
	}
	if (n <= 0) {
		/* The monitor is gone: the privsep channel says so too. */
		event_del(lc->ev);
	} else if (nfds != 1 || byte != 'L' || (mh.msg_flags & MSG_CTRUNC)) {
		log_error("malformed message from the monitor: ignored");
	} else {
		rc = log_adopt_fd(fds[0]);
		nfds = 0;
		if (rc < 0)
			log_error("cannot switch to the reopened log: %s",
				  strerror(-rc));
		else
			log_info("log file reopened");
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

struct logchan *logchan_new(struct event_base *base, int fd)
{
	struct logchan *lc = calloc(1, sizeof(*lc));

	if (!lc) {
		close(fd);
		return NULL;
	}
	lc->fd = fd;
	lc->ev =
		event_new(base, fd, EV_READ | EV_PERSIST, logchan_readable, lc);
	if (!lc->ev || event_add(lc->ev, NULL) < 0) {
		logchan_free(lc);
		return NULL;
	}
	return lc;
}

void logchan_free(struct logchan *lc)
{
	if (!lc)
		return;
	if (lc->ev)
		event_free(lc->ev);
	close(lc->fd);
	free(lc);
}
