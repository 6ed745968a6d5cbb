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

/* The terminal's foreground process group, or -errno. Only a number, for
 * a log line: it may name a group that has emptied since, and a number
 * freed that way may already be another process's (see below). */
pid_t pty_foreground(int master);

/*
 * Send sig to the terminal's foreground process group, for a session
 * whose leader is sid (its pid in our pid namespace; a child of ours not
 * yet reaped). Never by the group's number, which the container chooses
 * and which, once the group emptied, the kernel may give to a process of
 * the host:
 *   SIGINT, SIGQUIT, SIGTSTP  TIOCSIG on the master: the kernel signals
 *                             the group the terminal holds (a reference,
 *                             never a number), as a typed ^C would.
 *   any other                 the group's leader pinned with a pidfd and
 *                             checked to be alive, leading its group, in
 *                             session sid; then pidfd_send_signal with
 *                             PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9),
 *                             which signals the group through the pin.
 * 0 (*pgrp: the group's number, for the log), or -ESRCH when there is no
 * foreground group that can be reached this way (none, its leader gone, a
 * leader outside the session, an older kernel): the caller then signals
 * the session's own group, whose number sid holds. Another -errno when
 * the signal could not be sent.
 */
int pty_signal_foreground(int master, pid_t sid, int sig, pid_t *pgrp);

#endif
