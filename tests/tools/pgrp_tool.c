/*
 * pgrp_tool: process groups for an integration test of terminal signals
 * (tests/integration/test_agent_ttysig.sh). Linked statically: one of its
 * modes runs inside a busybox container, which has no libc.
 *
 *   pgrp_tool steal FIFO
 *     Run as a session's program on its terminal (stdin). Forks a child
 *     that makes a process group of its own the terminal's foreground
 *     group and exits; prints "zombie PID" (PID as the container numbers
 *     it) while the child is not reaped yet, reads a line from FIFO (made
 *     if missing: once the terminal is another group's, a read of it
 *     would stop us), reaps the child and prints "reaped": the terminal's
 *     foreground group is then empty and its number free. Another line
 *     that says "again" does it all again; anything else, and it waits
 *     for a signal.
 *   pgrp_tool hold PID
 *     On the host: start a process whose pid is exactly PID (clone3
 *     set_tid, which needs root), leading a process group of its own, and
 *     print "held PID" once it does; it then waits for a signal. Exits 3
 *     when PID is taken.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls, set_tid, set_tid_size, cgroup;
};

static int steal(const char *fifo)
{
	char line[64];
	siginfo_t si;
	pid_t child;
	FILE *ctl;

	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST)
		return 1;
	ctl = fopen(fifo, "r+"); /* read-write: it never sees EOF */
	if (!ctl)
		return 1;
	for (;;) {
		child = fork();
		if (child < 0)
			return 1;
		if (child == 0) {
			/* A background group asking for the terminal would
			 * be stopped by SIGTTOU. */
			signal(SIGTTOU, SIG_IGN);
			if (setpgid(0, 0) < 0 || tcsetpgrp(0, getpid()) < 0)
				_exit(1);
			_exit(0);
		}
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, child, &si, WEXITED | WNOWAIT) < 0 ||
		    si.si_code != CLD_EXITED || si.si_status != 0)
			return 1;
		printf("zombie %d\n", (int)child);
		fflush(stdout);
		if (!fgets(line, sizeof(line), ctl))
			break;
		waitpid(child, NULL, 0);
		printf("reaped\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), ctl) ||
		    strncmp(line, "again", 5))
			break;
	}
	for (;;)
		pause();
}

static int hold(pid_t pid)
{
	struct clone_args_v2 args;
	pid_t want = pid, got;
	int go[2];
	char c;

	if (pipe(go) < 0)
		return 1;
	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uint64_t)(uintptr_t)&want;
	args.set_tid_size = 1;
	got = syscall(SYS_clone3, &args, sizeof(args));
	if (got < 0)
		return errno == EEXIST ? 3 : 1;
	if (got == 0) {
		close(go[0]);
		if (setpgid(0, 0) < 0 || write(go[1], "x", 1) != 1)
			_exit(1);
		close(go[1]);
		for (;;)
			pause();
	}
	close(go[1]);
	if (read(go[0], &c, 1) != 1)
		return 1;
	printf("held %d\n", (int)got);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "steal"))
		return steal(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold((pid_t)atoi(argv[2]));
	fprintf(stderr, "usage: pgrp_tool steal FIFO | pgrp_tool hold PID\n");
	return 2;
}
