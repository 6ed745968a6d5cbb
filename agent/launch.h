/*
 * How sessions start and steer their processes. One interface, two
 * implementations, so session.c has one code path:
 *
 *   local  (launch.c):   spawn.c in this process; it waits for the
 *                        processes (pidfds) and signals them. Used by the
 *                        privileged monitor, and by --no-privsep.
 *   remote (worker.c):   the unprivileged worker's side: every start and
 *                        signal is a message to the monitor (privsep.h),
 *                        whose local launcher does the work.
 *   relay  (launch_relay.c): after a take-over (takeover.h), the jobs
 *                        the old agent's monitor still holds: it starts
 *                        nothing; signals and exit statuses cross the
 *                        take-over socket.
 *
 * Everything is asynchronous: launcher_start() returns a job at once and
 * the outcome comes later from the loop, never from inside the call that
 * asked for it (except on_signal of the local launcher, which is called
 * before launcher_signal() returns). The local launcher's start waits on
 * nothing of the container's: spawn.h hands back a start in progress,
 * whose report socket the loop watches.
 *
 * Who reaps a session's process, and how its exit status reaches the
 * agent, is the local launcher's alone: the process is the launcher's
 * process's direct child (spawn.h, CLONE_PARENT), the job holds a pidfd,
 * and the status goes out as on_exit (the monitor forwards it as one
 * EXITED message; the worker and session.c see only that). A later
 * upgrade that lets a new agent take over running sessions without
 * losing a status has three ways, all behind this interface:
 *
 *   re-exec in place   the monitor execve()s the new binary (from a new
 *                      sealed memfd, selfexe.h): its pid, and with it
 *                      every child, stays; unreaped children keep their
 *                      pids, so the new image pidfd_open()s them again
 *                      from a job table passed across the exec (pid,
 *                      token, the terminal's dup). Starts in progress
 *                      finish or are abandoned first. Easiest here: the
 *                      job table is all the monitor knows of a process.
 *   a reaper per       each session's process gets a small parent of its
 *   session            own (PR_SET_CHILD_SUBREAPER) that keeps the status
 *                      and tells whoever connects: no handover needed,
 *                      at a process and a hop per session; spawn_child.c
 *                      would clone the reaper instead of CLONE_PARENT.
 *   the old monitor    the new agent starts beside the old one, which
 *   as a relay         hands its jobs over (fds by SCM_RIGHTS) and stays
 *                      their parent, forwarding each EXITED until its last
 *                      child is reaped, then exits.
 *
 * The session's streams and their buffered bytes live in the worker
 * (session.c); handing those over is the worker's part of such an
 * upgrade, and none of the above touches it.
 */
#ifndef EXECFS_AGENT_LAUNCH_H
#define EXECFS_AGENT_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct inventory;
struct spawner;
struct launcher;
struct launch_job;
struct exec_spec;

/* A started process; every fd is O_CLOEXEC and passes to the callee. */
struct launch_started {
	pid_t pid;
	int stdin_fd, stdout_fd, stderr_fd; /* as spawn_result */
	int tty_fd; /* the pty master, -1 without a tty */
	int report_fd; /* see spawn_report_read() */
};

/* Signal flags. */
#define LAUNCH_SIG_FOREGROUND 1u /* with a tty: its foreground group */

struct launch_cbs {
	/*
	 * The start was decided: err 0 and st (whose fds the callee owns), or
	 * a positive errno and a reason. After a failure the job is gone.
	 */
	void (*on_start)(void *arg, int err, const char *message,
			 const struct launch_started *st);
	/* The process was reaped (status as waitpid's); the job is gone. */
	void (*on_exit)(void *arg, int wstatus);
	/* A signal asked for with this cookie was delivered (err 0) to
	 * process group target, or not (positive errno). */
	void (*on_signal)(void *arg, uint64_t cookie, int err, pid_t target,
			  bool foreground);
};

struct launcher_ops {
	struct launch_job *(*start)(struct launcher *l,
				    const struct exec_spec *spec, void *arg);
	void (*signal)(struct launch_job *j, int sig, unsigned flags,
		       uint64_t cookie);
	void (*drop)(struct launch_job *j);
	void (*free)(struct launcher *l);
};

/* Implementations embed these first. */
struct launcher {
	const struct launcher_ops *ops;
	const struct launch_cbs *cbs;
};

struct launch_job {
	struct launcher *l;
	void *arg; /* the caller's; NULL once dropped */
};

/* Start spec (not kept: the launcher copies what it needs before it
 * returns). The container is named by id and looked up, and checked to be
 * running, by whoever holds the runtime's inventory. NULL with errno set
 * when it cannot even be asked (out of memory, the monitor is gone):
 * nothing was started, no callback comes. */
static inline struct launch_job *
launcher_start(struct launcher *l, const struct exec_spec *spec, void *arg)
{
	return l->ops->start(l, spec, arg);
}

/* Send sig to the job's process group (with LAUNCH_SIG_FOREGROUND and a
 * tty: the terminal's foreground group when it has one); on_signal answers
 * with cookie. Cookie 0 asks for no answer. */
void launcher_signal(struct launch_job *j, int sig, unsigned flags,
		     uint64_t cookie);

/* The caller is gone: no more callbacks for j. A process still running
 * has its group killed (and is still reaped). */
void launcher_job_drop(struct launch_job *j);

/* Every remaining job's process group is killed. NULL is a no-op. */
void launcher_free(struct launcher *l);

/* The local launcher: spawn.c with the runtime's inventory (both not
 * owned). */
struct launcher *launcher_local_new(struct event_base *base,
				    struct inventory *inv, struct spawner *sp,
				    const struct launch_cbs *cbs);

/*
 * For an upgrade in place (monitor_upgrade.c). launcher_local_adopt(): a
 * job for a process of ours that an earlier image of this process started
 * (pid, its pidfd and the terminal's dup, all taken), running: on_exit
 * comes as for any other, at once for one that ended meanwhile.
 * launcher_local_job_fds(): a running job's pid and the fds it holds
 * (still the job's), or -EBUSY while it is entering. launcher_local_
 * entering(): whether its start is still undecided.
 */
struct launch_job *launcher_local_adopt(struct launcher *l, pid_t pid,
					int pidfd, int tty_fd, void *arg);
int launcher_local_job_fds(const struct launch_job *j, pid_t *pid, int *pidfd,
			   int *tty_fd);
bool launcher_local_entering(const struct launch_job *j);

/*
 * The relay launcher (launch_relay.c) on fd, the connected take-over
 * socket (owned, closed on failure too). on_state(arg, rx) comes once:
 * the relay's handover state as it arrived (its fds and document are the
 * callee's to take; the rx is released after), or NULL when the relay
 * refused or broke before it was complete. launcher_relay_adopt(): a job
 * the relay holds under token (pid and its pidfd, taken, -1 for none: used
 * only to kill it should the relay be lost). launcher_relay_count(): the
 * jobs it still holds.
 */
struct handover_rx;
struct launcher *launcher_relay_new(
	struct event_base *base, int fd, const struct launch_cbs *cbs,
	void (*on_state)(void *arg, struct handover_rx *rx), void *arg);
struct launch_job *launcher_relay_adopt(struct launcher *l, uint64_t token,
					pid_t pid, int pidfd, void *arg);
size_t launcher_relay_count(const struct launcher *l);

#endif
