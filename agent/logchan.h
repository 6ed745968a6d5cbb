/*
 * Reopening --log for logrotate across the privilege split. SIGUSR1 goes to
 * the monitor (root), which reopens the file at its path; the worker runs
 * as --user and may not be able to open a root-owned log file again, so the
 * monitor hands it the new file over a socketpair made for that alone (the
 * worker's end is fd 4 with --privsep-log). The send runs in the monitor's
 * signal handler (its loop is monitor.c's), so it is async-signal-safe; the
 * worker receives on its event loop.
 */
#ifndef EXECFS_AGENT_LOGCHAN_H
#define EXECFS_AGENT_LOGCHAN_H

struct event_base;
struct logchan;

/* The pair, both ends close-on-exec: [0] the monitor's, [1] the worker's.
 * 0 or -errno. */
int logchan_pair(int fds[2]);
/* Monitor: on SIGUSR1, reopen the log and, with chan >= 0, send it down
 * chan (the monitor's end). Installs a handler; 0 or -errno. */
int logchan_reopen_on_sigusr1(int chan);
/* Worker: adopt every log file that arrives on fd (its end; owned by the
 * result). NULL on failure (fd is closed). */
struct logchan *logchan_new(struct event_base *base, int fd);
void logchan_free(struct logchan *lc);

#endif
