/*
 * Pseudo-terminal operations on the master (see pty.h). The ioctls on a
 * pty master act on the pair: TIOCSWINSZ resizes the slave and signals its
 * foreground group, tcgetattr reads the slave's termios, tcgetpgrp
 * returns the slave's foreground process group, and TIOCSIG signals it.
 */
#include "pty.h"

#include "procstat.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A decimal 1..65535 at *p; advances *p past it. */
static int parse_dim(const char **p, const char *end, unsigned short *out)
{
	unsigned long v = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9' && s - *p < 6)
		v = v * 10 + (*s++ - '0');
	if (s == *p || (s < end && *s >= '0' && *s <= '9') || v < 1 ||
	    v > 65535)
		return -EINVAL;
	*out = (unsigned short)v;
	*p = s;
	return 0;
}

int pty_parse_size(const char *line, size_t len, unsigned short *cols,
		   unsigned short *rows)
{
	const char *p = line, *end = line + len;
	unsigned short c, r;

	if (len && end[-1] == '\r')
		end--;
	while (p < end && is_blank(*p))
		p++;
	if (parse_dim(&p, end, &c) < 0)
		return -EINVAL;
	if (p == end || !is_blank(*p))
		return -EINVAL;
	while (p < end && is_blank(*p))
		p++;
	if (parse_dim(&p, end, &r) < 0)
		return -EINVAL;
	while (p < end && is_blank(*p))
		p++;
	if (p != end)
		return -EINVAL;
	*cols = c;
	*rows = r;
	return 0;
}

int pty_resize(int master, unsigned short cols, unsigned short rows)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

ssize_t pty_send_eof(int master, size_t count)
{
	struct termios tio;
	char eof[2];
	ssize_t w;

	if (count > sizeof(eof))
		count = sizeof(eof);
	if (tcgetattr(master, &tio) < 0)
		return -errno;
	eof[0] = eof[1] = tio.c_cc[VEOF];
	/* A terminal with VEOF disabled has no way to say "end of input";
	 * ^D is what a user would type anyway. */
	if (eof[0] == _POSIX_VDISABLE)
		eof[0] = eof[1] = 0x04;
	do
		w = write(master, eof, count);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : w;
}

pid_t pty_foreground(int master)
{
	pid_t pg = tcgetpgrp(master);

	return pg < 0 ? -errno : pg;
}

/* pidfd of the live process pid, leading its group in session sid. */
static int pin_leader(pid_t pid, pid_t sid)
{
	struct pollfd pfd;
	pid_t pgrp, session;
	int fd;

	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -ESRCH;
	/* /proc/PID is that process's only while the pidfd says it has
	 * not exited after the read. */
	if (proc_stat_ids(pid, &pgrp, &session) < 0 || pgrp != pid ||
	    session != sid)
		goto out_close;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0)
		goto out_close;
	return fd;

out_close:
	close(fd);
	return -ESRCH;
}

int pty_signal_foreground(int master, pid_t sid, int sig, pid_t *pgrp)
{
	pid_t pg = pty_foreground(master);
	int fd, rc;

	if (pg <= 0)
		return -ESRCH;
	*pgrp = pg;
	if (sig == SIGINT || sig == SIGQUIT || sig == SIGTSTP)
		return ioctl(master, TIOCSIG, sig) < 0 ? -errno : 0;
	fd = pin_leader(pg, sid);
	if (fd < 0)
		return fd;
	rc = syscall(SYS_pidfd_send_signal, fd, sig, NULL,
		     PIDFD_SIGNAL_PROCESS_GROUP);
	rc = rc < 0 ? (errno == EINVAL ? -ESRCH : -errno) : 0;
	close(fd);
	return rc;
}
