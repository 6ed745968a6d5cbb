/*
 * The monitor's side of an upgrade in place (docs/DEPLOY.md, "Upgrades";
 * monitor.c drives the sequence): which binary, whether it may be run,
 * and the execve() that replaces this image with it, carrying the
 * handover state (handover.h) across.
 *
 * The binary is the file at the path the agent was started from (the
 * running image is a sealed memfd copy named after it, selfexe.h). Before
 * anything is asked of the worker it must be a regular file owned by
 * root, executable, writable by nobody but root (as a binary root runs
 * must be), and it must answer `--handover-check` with the handover
 * version this agent writes: a file that is missing, a script, a binary
 * of another program or of a version without the handover fails here,
 * and the agent goes on untouched. The file is opened once; the check and
 * the execve() run what was opened, whatever replaces the path meanwhile.
 */
#ifndef EXECFS_AGENT_MONITOR_UPGRADE_H
#define EXECFS_AGENT_MONITOR_UPGRADE_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

struct event_base;
struct handover_monitor;
struct upgrade_probe;

/* The path this agent was started from, into buf. 0 or -errno. */
int upgrade_origin_path(char *buf, size_t len);

/* Open path and check the file as above (not yet the probe): the fd in
 * *fd (close-on-exec), or -errno with err. */
int upgrade_open_binary(const char *path, int *fd, char *err, size_t errlen);

/* Run `BINARY --handover-check` from exe_fd (not owned) and call done
 * from the loop: ok, or why not. NULL with errno when it cannot start
 * (done is not called). Free after done, or to cancel (the child is
 * killed and reaped). */
struct upgrade_probe *upgrade_probe_start(struct event_base *base, int exe_fd,
					  void (*done)(void *arg, bool ok,
						       const char *why),
					  void *arg);
void upgrade_probe_free(struct upgrade_probe *p);

/*
 * Replace this image: st (the job table, the worker's document and the
 * fd numbers it names) goes into a memfd whose number is passed as
 * --handover-fd; every fd st names is kept open across the exec. Runs
 * exe_fd with argv (an earlier --handover-fd pair is dropped). Returns
 * only when both that and, as a fallback, the running image itself
 * (/proc/self/exe, which resumes the same way) could not be executed:
 * -errno with err.
 */
int upgrade_exec(int exe_fd, char *const *argv,
		 const struct handover_monitor *st, char *err, size_t errlen);

/* SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 blocked (the old mask in
 * *old, may be NULL) or unblocked. Blocked from the moment the monitor
 * decides to execute its next image: the mask and what is pending
 * survive execve(), so a stop, a log rotation or a second upgrade that
 * comes meanwhile waits for the next image's loop (monitor_run() unblocks
 * them once its signal events are added) instead of being lost in the old
 * loop or ending the monitor by their default action. */
void upgrade_signals_block(sigset_t *old);
void upgrade_signals_unblock(void);

/* Every job of st not reaped names its process twice, by pid and by
 * pidfd (an fd of this process): the two must agree, a job being killed
 * by its process group, kill(-pid). 0, or -EINVAL with err (st is then
 * released). */
int upgrade_jobs_check(struct handover_monitor *st, char *err, size_t errlen);

/* The state an earlier image passed cannot be taken back: every job it
 * names (through its pidfd) and every child of this process (the jobs
 * are its children, whether st could be decoded or not) is killed with
 * its process group, so none runs on where nobody can reach it. st may
 * be NULL. The number of processes signalled. */
size_t upgrade_kill_orphans(const struct handover_monitor *st);

/* The state an earlier image passed (--handover-fd fd, closed here):
 * decoded into st, every fd it names made close-on-exec again. 0 or
 * -errno with err. */
int upgrade_state_load(int fd, struct handover_monitor *st, char *err,
		       size_t errlen);

#endif
