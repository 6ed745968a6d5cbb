/*
 * Logging for both programs: one line per event, "time prog: func: text",
 * to stderr, to the file given to log_open(), or to syslog(3). Never
 * called between fork and exec.
 */
#ifndef EXECFS_LOG_H
#define EXECFS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* prog names the lines; path NULL logs to stderr. A relative path is kept
 * absolute, for log_reopen() after a chdir. -errno on failure. */
int log_open(const char *prog, const char *path);
/* From now on, lines go to syslog (facility daemon, the time and pid are
 * syslog's): for a daemon whose stderr is /dev/null. */
void log_to_syslog(void);
/* Open the log file again at its path, in place (the fd number stays), so
 * lines go to the new file once logrotate moved the old one. A no-op
 * without a log file. Async-signal-safe: a handler may call it. On failure
 * the old file stays in use and the next line says why; -errno. */
int log_reopen(void);
/* The log file's fd (to hand to another process), or -1 without one. */
int log_file_fd(void);
/* Write to fd instead of the current log file, in place; fd is consumed
 * (closed) in every case. -EINVAL when not logging to a file. */
int log_adopt_fd(int fd);
void log_set_level(enum log_level lvl);
bool log_enabled(enum log_level lvl);
void log_write(enum log_level lvl, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Where lines go (-1 with syslog) and the name they carry, for a writer
 * that may not call log_write (a signal handler formats its own line). */
int log_fileno(void);
const char *log_progname(void);

#define log_error(...) log_write(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)                                                   \
	do {                                                             \
		if (log_enabled(LOG_LVL_DEBUG))                          \
			log_write(LOG_LVL_DEBUG, __func__, __VA_ARGS__); \
	} while (0)

#endif
