/*
 * The agent's side of a session's pseudo-terminal: the master fd handed
 * back by the spawner (spawn.h). Resizing, end of input, and who is in
 * the foreground.
 */
#ifndef EXECFS_AGENT_PTY_H
#define EXECFS_AGENT_PTY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The longest line a resize stream may send ("65535 65535\n" and some
 * blanks). */
#define PTY_SIZE_LINE_MAX 32

/*
 * One line of a resize stream without its newline: "COLS ROWS", decimal,
 * each 1..65535, separated by blanks (a trailing '\r' is tolerated).
 * 0, or -EINVAL.
 */
int pty_parse_size(const char *line, size_t len, unsigned short *cols,
		   unsigned short *rows);

/* TIOCSWINSZ on the master: the foreground process group gets SIGWINCH. */
int pty_resize(int master, unsigned short cols, unsigned short rows);

/*
 * End of input, as a user at the terminal would type it: count (1 or 2)
 * of the terminal's VEOF character (^D by default). In canonical mode VEOF
 * ends the input only at the start of a line, so after a partial line the
 * caller sends two: the first hands over the line, the second is the EOF.
 * The number of characters written (short when the terminal's input queue
 * is full: send the rest later), or -errno.
 */
ssize_t pty_send_eof(int master, size_t count);

/* The terminal's foreground process group, or -errno. */
pid_t pty_foreground(int master);

#endif
