/*
 * The output of `execfs exec --all` (exec_all.c): each target's stdout and
 * stderr cut into lines, and each line written as pdsh and dshbak do,
 * prefixed with the target's name,
 *
 *     n3/prod/api-7/app: the line
 *
 * or, with --json, as one JSON object per line:
 *
 *     {"target":"n3/prod/api-7/app","stream":"stdout","data":"the line\n"}
 *
 * Text mode: a last line without a newline gets one (as pdsh does); a line
 * longer than EXEC_LINES_MAX comes out in pieces of that size, each with
 * the prefix; the bytes of a line pass through as they are. JSON mode:
 * "data" holds the exact bytes of the line, its newline included when it
 * had one (so the pieces of a stream, joined, are the stream); bytes that
 * are not valid UTF-8 come as "data_base64" (RFC 4648) instead of "data".
 * Control characters in a target name are shown as `?` in text mode.
 *
 * Pure: bytes in, records out through a callback; no I/O, no threads (one
 * struct exec_lines is used by one thread at a time).
 */
#ifndef EXECFS_FS_EXEC_LINES_H
#define EXECFS_FS_EXEC_LINES_H

#include <stdbool.h>
#include <stddef.h>

enum exec_lines_format {
	EXEC_LINES_TEXT,
	EXEC_LINES_JSON,
};

/* The longest line kept whole. */
#define EXEC_LINES_MAX (64 * 1024)

/* Records ready to be written (one or more whole lines of output). The
 * buffer is the callee's to read during the call only. */
typedef void (*exec_lines_emit_fn)(void *arg, const char *buf, size_t len);

struct exec_lines;

/* target: the prefix; stream: "stdout" or "stderr" (copied). NULL: ENOMEM. */
struct exec_lines *exec_lines_new(enum exec_lines_format fmt,
				  const char *target, const char *stream,
				  exec_lines_emit_fn emit, void *arg);
void exec_lines_free(struct exec_lines *l);

/* Bytes of the stream: every line they complete is emitted, in one call
 * of emit. 0, or -ENOMEM (nothing emitted, the bytes are lost). */
int exec_lines_feed(struct exec_lines *l, const char *buf, size_t n);

/* The stream ended: a partial last line is emitted. 0 or -ENOMEM. */
int exec_lines_end(struct exec_lines *l);

/*
 * A target's last record, malloc'd and newline-ended, or NULL (ENOMEM):
 *   {"target":T,"exit":CODE,"status":"exited 0"}     the session's end
 *   {"target":T,"exit":125,"error":"REASON"}         it did not run
 * status or error may be NULL (left out); a trailing newline in them is
 * dropped.
 */
char *exec_lines_json_end(const char *target, int exit_code, const char *status,
			  const char *error);

/* The target as the text prefix shows it (control bytes as '?'), into
 * out (size len, NUL-ended, cut if short). */
void exec_lines_safe_name(const char *target, char *out, size_t len);

#endif
