/*
 * Waiting for a keystroke's echo on a tty session (echo_wait.c).
 *
 * A program that writes a key to N/stdin and then select()s on N/stdout
 * pays, when the echo comes, for a poll notification, the POLL the kernel
 * sends again after it, and the READ: three hops between it and execfs,
 * each a wakeup. If the first POLL is held a moment instead (the echo is
 * usually on its way), it is answered with the echo and the notification
 * and the second POLL are saved: what ssh's client pays for a pipe.
 *
 * A POLL is held only on a tty session's stdout, right after a key-sized
 * write to its stdin, for at most the echo wait from the write, and only
 * while keys get their echo that fast: once a hold runs out, holding stops
 * until a key is echoed in time again (a no-echo program fed small writes,
 * or a slow node, never waits more than once). A multiplexing reader sees
 * at most that delay on its other files.
 */
#ifndef EXECFS_FS_ECHO_WAIT_H
#define EXECFS_FS_ECHO_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long after a key a POLL may wait for its echo (-o echo_wait=US;
 * 0: never). FUSE does not pass a poll's timeout: the kernel asks for a
 * notification (ph) when anything waits on the open file, so a timeout-0
 * poll next to an epoll set watching it can be held too, within this. */
#define ECHO_WAIT_DEFAULT_US 2000
#define ECHO_WAIT_MAX_US 10000000
/* Writes up to this size are keys (a keystroke, an escape sequence). */
#define ECHO_KEY_MAX 16

struct echo_wait {
	uint64_t key_ns; /* CLOCK_MONOTONIC of the last key, 0: none */
	bool echoes; /* keys get their echo in time (or nothing says not) */
};

/* The process-wide limit in microseconds (default ECHO_WAIT_DEFAULT_US). */
void echo_wait_set_limit(unsigned us);
void echo_wait_init(struct echo_wait *e);
/* len bytes were written to stdin. */
void echo_wait_written(struct echo_wait *e, size_t len);
/* Output came on stdout. */
void echo_wait_output(struct echo_wait *e);
/* May a POLL wait for the echo? If so, until *until_ns at most
 * (echo_wait_now_ns() time). */
bool echo_wait_due(const struct echo_wait *e, uint64_t *until_ns);
/* CLOCK_MONOTONIC in ns. */
uint64_t echo_wait_now_ns(void);
/* A POLL waited and no output came. */
void echo_wait_missed(struct echo_wait *e);

#endif
