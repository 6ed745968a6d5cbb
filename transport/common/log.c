/*
 * The log sink shared by execfs and execfs-agent. Lines are written whole
 * with one write(2) so concurrent writers (the agent and its helpers) do
 * not interleave within a line. A daemon without a terminal logs to
 * syslog(3) instead; a log file is reopened in place for logrotate
 * (log_reopen() is async-signal-safe: it may run in a signal handler).
 * What a line quotes (a client's argv, a certificate's subject, a
 * container's names) cannot add a line or drive the terminal of whoever
 * reads the log: control characters, malformed UTF-8 and invisible or
 * reordering code points are written as \xHH.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "execfs/log.h"
#include "execfs/text.h"

static const char *log_prog = "execfs";
static int log_fd = STDERR_FILENO;
static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;
/* The file's absolute path ("" when not logging to a file): a daemon
 * chdirs to / before logrotate asks it to reopen. */
static char log_path[PATH_MAX];
/* Set by a failed log_reopen(), which cannot log itself; reported by the
 * next line. */
static volatile sig_atomic_t log_reopen_errno;

int log_open(const char *prog, const char *path)
{
	char cwd[PATH_MAX];
	int fd, n;

	log_prog = prog;
	if (!path)
		return 0;
	if (path[0] == '/')
		n = snprintf(log_path, sizeof(log_path), "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(log_path, sizeof(log_path), "%s/%s", cwd, path);
	else
		return -errno;
	if (n < 0 || n >= (int)sizeof(log_path)) {
		log_path[0] = 0;
		return -ENAMETOOLONG;
	}
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		n = -errno;
		log_path[0] = 0;
		return n;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void log_to_syslog(void)
{
	openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = true;
}

int log_reopen(void)
{
	int fd, rc = 0;

	if (!log_path[0])
		return 0;
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	/* dup3 swaps the file under the same fd number at once: a line
	 * being written goes whole to the old file or to the new one. */
	if (fd < 0 || dup3(fd, log_fd, O_CLOEXEC) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	log_reopen_errno = -rc;
	return rc;
}

int log_file_fd(void)
{
	return log_path[0] ? log_fd : -1;
}

int log_adopt_fd(int fd)
{
	int rc = 0;

	if (log_fd == STDERR_FILENO) {
		close(fd);
		return -EINVAL;
	}
	if (dup3(fd, log_fd, O_CLOEXEC) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= log_level;
}

int log_fileno(void)
{
	return log_syslog ? -1 : log_fd;
}

const char *log_progname(void)
{
	return log_prog;
}

/* src (len bytes) into dst (cap bytes), escaped; the bytes written. A
 * character is never cut. */
static size_t log_escape(char *dst, size_t cap, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k;

	while (i < len) {
		k = s[i] >= 0x20 && s[i] < 0x7f ?
			    1 :
			    text_utf8_printable(s + i, len - i);
		if (k) {
			if (o + k > cap)
				break;
			memcpy(dst + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		if (o + 4 > cap)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[s[i] >> 4];
		dst[o++] = hex[s[i] & 0xf];
		i++;
	}
	return o;
}

static void log_vwrite(enum log_level lvl, const char *func, const char *fmt,
		       va_list ap) __attribute__((format(printf, 3, 0)));

static void log_vwrite(enum log_level lvl, const char *func, const char *fmt,
		       va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	static const int prios[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
				     LOG_DEBUG };
	char line[2048], msg[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;

	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof(msg))
		m = sizeof(msg) - 1;
	if (log_syslog) {
		/* syslog stamps the time, the name and the pid itself. */
		n = snprintf(line, sizeof(line), "%s: %s: ", names[lvl], func);
		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
		n += log_escape(line + n, sizeof(line) - n - 1, msg, m);
		line[n] = '\0';
		syslog(prios[lvl], "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d]: %s: %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_prog,
		     (int)getpid(), names[lvl], func);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	n += log_escape(line + n, sizeof(line) - n - 1, msg, m);
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}

static void log_line(enum log_level lvl, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_line(enum log_level lvl, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(lvl, func, fmt, ap);
	va_end(ap);
}

void log_write(enum log_level lvl, const char *func, const char *fmt, ...)
{
	va_list ap;
	int err = log_reopen_errno;

	if (err) {
		log_reopen_errno = 0;
		log_line(LOG_LVL_ERROR, "log_reopen",
			 "cannot reopen %s: %s (still writing to the old file)",
			 log_path, strerror(err));
	}
	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	log_vwrite(lvl, func, fmt, ap);
	va_end(ap);
}
