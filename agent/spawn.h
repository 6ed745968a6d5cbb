/*
 * Starting a process inside a container, the way runc exec does: pin the
 * container's init with a pidfd (refusing a replaced init), join its
 * cgroups, join its namespaces with setns (a fork puts the process in the
 * pid namespace), apply the container's user and environment, chdir, keep
 * only fds 0-2, execve a binary found in the container's own PATH.
 *
 * The started process is a direct child of the agent (CLONE_PARENT from a
 * short-lived helper), so the agent waits for it with a pidfd. Whether the
 * execve succeeded is known asynchronously from report_fd: see
 * spawn_report_read().
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

struct spawn_result {
	pid_t pid; /* the process, in the agent's pid namespace */
	int pidfd; /* pidfd of pid: readable when it exited */
	int stdin_fd; /* write end of its stdin; O_NONBLOCK|O_CLOEXEC */
	int stdout_fd; /* read end of its stdout; O_NONBLOCK|O_CLOEXEC */
	int stderr_fd; /* read end of its stderr (-1 with tty or merge) */
	/* With a tty: the pty master (O_NONBLOCK|O_CLOEXEC), for resize,
	 * VEOF and the foreground process group; stdin_fd and stdout_fd are
	 * dups of it. -1 without a tty. */
	int tty_fd;
	int report_fd; /* O_NONBLOCK|O_CLOEXEC; see spawn_report_read() */
};

/* The spawner reaps its short-lived helper processes from the loop
 * (SIGCHLD). One per agent. */
struct spawner *spawner_new(struct event_base *base);
void spawner_free(struct spawner *sp);

/* Let go of what is kept about containers whose init has exited (see
 * initpin.h); for when the inventory changed. NULL is a no-op. */
void spawner_prune(struct spawner *sp);

/*
 * Start spec in container c, which the caller found running in its
 * inventory (inventory_find_running()). Fails at once (negative errno,
 * reason in err) when its init is gone or replaced (-ENOENT), the user is
 * unknown (-EINVAL), or fork/pipe fail. On 0, res is filled and the caller
 * owns every fd in it; the exec itself may still fail: watch report_fd.
 */
int spawn_start(struct spawner *sp, const struct container *c,
		const struct exec_spec *spec, struct spawn_result *res,
		char *err, size_t errlen);

/*
 * Call when report_fd is readable. Returns -EAGAIN: not decided yet (wait
 * again); 0: execve succeeded (the fd reached EOF); a negative errno: the
 * process failed before or at execve, with a readable reason in err such as
 * "exec nosuch: No such file or directory". Close report_fd after a result
 * other than -EAGAIN.
 */
int spawn_report_read(int report_fd, char *err, size_t errlen);

/* After pidfd became readable: reap the process. *status as waitpid's. */
int spawn_reap(int pidfd, int *status);

#endif
