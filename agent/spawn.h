/*
 * Starting a process inside a container, the way runc exec does: pin the
 * container's init with a pidfd (refusing a replaced init), join its
 * cgroups, join its namespaces with setns (a fork puts the process in the
 * pid namespace), apply the container's user and environment, chdir, keep
 * only fds 0-2, execve a binary found in the container's own PATH.
 *
 * Who does what (spawn_plan.c, spawn_child.c, spawner.c; the order, the
 * fds each step holds and why: spawn_child.c):
 *
 *   the agent   spawn_start(): everything that needs memory or the host's
 *               view, none of it a path the container controls (the
 *               pinned init, its namespaces and cgroups, argv/envp, the
 *               PATH candidates, pipes); then helper A. Returns at once.
 *   helper A    shares the agent's memory for a few kernel calls (close
 *               every fd the entry does not need, setns, one clone) and
 *               exits; it never touches a container path, so no container
 *               can make it, and with it the agent, wait.
 *   process B   A's child but the agent's (CLONE_PARENT), born in the
 *               container's pid namespace and v2 cgroup: joins the rest,
 *               reports READY (with a tty: with the terminal's master),
 *               then does everything that reads the container (its
 *               /etc/passwd and /etc/group, its cwd and PATH) and execs.
 *               It may block there: only B waits.
 *
 * A start is a struct spawn_entry until it is handed over
 * (spawn_entry_step): as soon as B exists, or with a tty once B's READY
 * brought the terminal; the agent reads those from the report socket on
 * its loop. After that, what B reports (a failure, or EOF once its execve
 * succeeded) is read from report_fd (spawn_report_read). Nothing here
 * polls or waits in a callback.
 *
 * Who reaps the process, and how its exit status reaches the agent: B is
 * a direct child of the process that called spawn_start() (CLONE_PARENT),
 * so that process holds a pidfd for it (spawn_result.pidfd) and reaps it
 * with spawn_reap() when it polls readable. launch.h's local launcher is
 * the only caller; see there for what a later upgrade handover may change.
 */
#ifndef EXECFS_AGENT_SPAWN_H
#define EXECFS_AGENT_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct container;
struct event_base;
struct exec_spec;
struct spawner;
struct spawn_entry;

struct spawn_result {
	pid_t pid; /* the process, in the agent's pid namespace */
	int pidfd; /* pidfd of pid: readable when it exited */
	int stdin_fd; /* write end of its stdin; O_NONBLOCK|O_CLOEXEC */
	int stdout_fd; /* read end of its stdout; O_NONBLOCK|O_CLOEXEC */
	int stderr_fd; /* read end of its stderr (-1 with tty or merge) */
	/* With a tty: the pty master (O_NONBLOCK|O_CLOEXEC), for resize,
	 * VEOF and signals; stdin_fd and stdout_fd are dups of it. -1
	 * without a tty. */
	int tty_fd;
	int report_fd; /* O_NONBLOCK|O_CLOEXEC; see spawn_report_read() */
};

/* The spawner reaps its short-lived helpers, and the processes of starts
 * it gave up, from the loop (SIGCHLD); base NULL (tests): it waits for
 * them in spawner_free() instead. One per agent. */
struct spawner *spawner_new(struct event_base *base);
void spawner_free(struct spawner *sp);

/* Let go of what is kept about containers whose init has exited (see
 * initpin.h); for when the inventory changed. NULL is a no-op. */
void spawner_prune(struct spawner *sp);
/* Before this image is replaced (an upgrade in place): every abandoned
 * start is finished and killed, and every process the spawner owes a
 * reap (helpers, abandoned starts) reaped, waiting for them; the next
 * image would not know them. NULL is a no-op. */
void spawner_settle(struct spawner *sp);

/*
 * Start spec in container c, which the caller found running in its
 * inventory (inventory_find_running()). Fails at once (negative errno,
 * reason in err) when its init is gone or replaced (-ENOENT), the request
 * is malformed (-EINVAL: a user that is not NAME, UID, NAME:GROUP or
 * UID:GID, an env entry without '='), or the entry could not begin (fork,
 * pipes, setns, clone: the message says). On 0, *out is the start in
 * progress: see spawn_entry_step().
 */
int spawn_start(struct spawner *sp, const struct container *c,
		const struct exec_spec *spec, struct spawn_entry **out,
		char *err, size_t errlen);

/* The fd to watch for reading while spawn_entry_step() says -EAGAIN. */
int spawn_entry_fd(const struct spawn_entry *e);

/*
 * Call once after spawn_start() (without a tty the start is decided
 * then), and again whenever spawn_entry_fd() is readable. -EAGAIN: not
 * decided yet, e stays. Otherwise e is freed: 0 and res filled (the
 * caller owns every fd in it; B exists and, with a tty, made the terminal
 * in the container; it may still fail to enter or to exec: watch
 * report_fd), or a negative errno with the reason in err (whatever was
 * started is killed and reaped by the spawner).
 */
int spawn_entry_step(struct spawn_entry *e, struct spawn_result *res, char *err,
		     size_t errlen);

/* The caller is gone: the start is killed, and its processes reaped by
 * the spawner. Frees e. */
void spawn_entry_abandon(struct spawn_entry *e);

/*
 * Call when report_fd is readable. Returns -EAGAIN: not decided yet (wait
 * again); 0: execve succeeded (the fd reached EOF); a negative errno: the
 * process failed before or at execve, with a readable reason in err such as
 * "exec nosuch: No such file or directory" or "user nosuch: no such user
 * in the container". Close report_fd after a result other than -EAGAIN.
 */
int spawn_report_read(int report_fd, char *err, size_t errlen);

/* After pidfd became readable: reap the process. *status as waitpid's. */
int spawn_reap(int pidfd, int *status);

#endif
