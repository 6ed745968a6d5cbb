/*
 * Logging for both programs: one line per event, "time prog: func: text",
 * to stderr or to the file given to log_open(). Never called between fork
 * and exec.
 */
#ifndef EXECFS_LOG_H
#define EXECFS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* prog names the lines; path NULL logs to stderr. -errno on failure. */
int log_open(const char *prog, const char *path);
void log_set_level(enum log_level lvl);
bool log_enabled(enum log_level lvl);
void log_write(enum log_level lvl, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)                                                   \
	do {                                                             \
		if (log_enabled(LOG_LVL_DEBUG))                          \
			log_write(LOG_LVL_DEBUG, __func__, __VA_ARGS__); \
	} while (0)

#endif
