/*
 * Output pumps of `execfs exec` (exec_cli.c): a session's stdout or stderr
 * copied to a local fd by a thread of its own doing blocking reads.
 *
 * Why a thread and not the poll(2) loop: a blocking read of a session file
 * is one FUSE request, parked in the mount until bytes come, and answered
 * with them. poll(2) costs a POLL request per session file per call, and
 * after the mount's notification the kernel polls again: with a terminal,
 * a keystroke's echo took ~8 FUSE round trips through the loop and takes
 * 2 this way (the stdin write and the read already waiting).
 */
#ifndef EXECFS_FS_EXEC_PUMP_H
#define EXECFS_FS_EXEC_PUMP_H

#include <stddef.h>

struct exec_pump;

/*
 * Start copying src (opened without O_NONBLOCK) to dst until src ends.
 * The thread runs with every signal blocked (the caller's thread handles
 * them) and, when it ends, writes the one byte `id` to done_fd. NULL and
 * errno if the thread cannot start. src and dst stay the caller's.
 */
struct exec_pump *exec_pump_start(int src, int dst, int done_fd,
				  unsigned char id);

/*
 * After its byte came: join the thread and free the pump. Returns 0, or
 * -errno when writing to dst failed (-EPIPE: the local reader went away);
 * *read_err is 0 when src reached its end, else the errno of the read
 * that failed (EIO: the session was lost). NULL: 0, *read_err 0.
 */
int exec_pump_finish(struct exec_pump *p, int *read_err);

/* write(2) all of buf, waiting out EAGAIN with poll. 0 or -errno. */
int exec_write_all(int fd, const char *buf, size_t len);

#endif
