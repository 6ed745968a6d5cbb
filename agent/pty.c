/*
 * Pseudo-terminal operations on the master (see pty.h). The ioctls on a
 * pty master act on the pair: TIOCSWINSZ resizes the slave and signals its
 * foreground group, tcgetattr reads the slave's termios, and tcgetpgrp
 * returns the slave's foreground process group.
 */
#include "pty.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

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
