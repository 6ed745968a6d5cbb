/*
 * The escape of `execfs exec -t`, with ssh's rules: the escape byte (~ by
 * default) at the start of a line is held back; a '.' after it closes the
 * session, a second escape byte sends one, anything else sends both.
 */
#ifndef EXECFS_FS_EXEC_ESCAPE_H
#define EXECFS_FS_EXEC_ESCAPE_H

#include <stddef.h>

enum exec_escape_state {
	EXEC_ESC_LINE_START, /* the next byte starts a line */
	EXEC_ESC_MID_LINE,
	EXEC_ESC_PENDING, /* an escape byte at a line start, held back */
};

struct exec_escape {
	int byte; /* the escape byte, or -1: none */
	enum exec_escape_state state;
};

void exec_escape_init(struct exec_escape *e, int byte);

/*
 * Pass n input bytes to out, which must have room for n + 1 (a byte held
 * back by the previous call comes out with the next one). *outlen gets the
 * bytes written. 1 when the escape asked to close the session (the bytes
 * before it are in out; the rest of in is not used), 0 otherwise, -1 when
 * room is short (nothing is written then).
 */
int exec_escape_feed(struct exec_escape *e, const char *in, size_t n, char *out,
		     size_t room, size_t *outlen);

#endif
