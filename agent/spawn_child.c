/*
 * Helper A and process B, from the fork to the execve (see spawn.h for who
 * they are). Only async-signal-safe calls and raw system calls run here:
 * no malloc, no stdio, no logging. Credentials change with raw syscalls
 * because glibc's set*id wrappers would try to synchronise threads that
 * exist only in the agent. A failure is one ERROR message on the report
 * socket (spawn_report.c) and an exit; a successful execve closes B's end.
 *
 * The order is runc's (nsexec.c, then setns_init_linux.go), and each step
 * says which fds the process holds once it is done. "keep" is the plan's
 * sorted list: the report socket's child end, B's three stdio ends (none
 * with a tty), the init's pidfd, the host's /proc, the v2 cgroup (its
 * directory, or its cgroup.procs without clone3), one `tasks` file per v1
 * hierarchy.
 *
 * A (clone(CLONE_VM | CLONE_VFORK) on the spawner's stack, so the agent
 *   waits while it runs; or a plain fork under ASan and for a time
 *   namespace, see spawn_plan.c). Nothing here waits on the container:
 *   A1 PR_SET_DUMPABLE 0: B's copy of the mm is born non-dumpable, so no
 *      process of the container can ptrace B or open its /proc files
 *      (fds, exe, maps) without CAP_SYS_PTRACE over the host.
 *   A2 0-2 become /dev/null and every fd not in keep is closed: what the
 *      agent holds (sessions' pipes, its channel, the inventory's files)
 *      never reaches the container's pid namespace.   holds: keep
 *   A3 setns(pidfd) into every namespace of the init but the user and
 *      the cgroup ones, in one call. The host's root may join them
 *      whatever user namespace owns them; the pid namespace applies to
 *      A's children only.                                  holds: keep
 *   A4 clone B with CLONE_PARENT (B is the agent's child, so the agent
 *      can hold a pidfd for it and reap it), into the container's v2
 *      cgroup when clone3 is there (CLONE_INTO_CGROUP takes the cgroup
 *      lock only for reading; a write to cgroup.procs would wait 7-15 ms
 *      for the global one, see docs/BENCHMARKS.md). B is born with a
 *      private copy of only what it runs on: the agent's code, libc, the
 *      dynamic linker, its TLS, the plan's copy (A and B run on it) and,
 *      on x86_64, a stack of its own, where it starts in b_main();
 *      everything else is left out for the clone (spawn_copy.c).
 *   A5 B's pid into the plan the agent reads (shared memory), or a PID
 *      report when A forked; exit. When A forked, it opened a pidfd of
 *      itself before A4, which B waits on first (B0): A's PID report is
 *      then on the socket before anything of B's, so the agent hands the
 *      start over before B's reports (B's ids, for the audit, among them)
 *      and their reader gets them.
 *
 * B (born in the container's pid namespace, still the host's root; holds
 * keep). B0 (when A forked) A's exit awaited on A's pidfd, closed.
 * Until B6 it is the host's root on purpose: a write to
 * cgroup.procs, a lowered oom_score_adj and a raised hard rlimit are all
 * checked against the host's user namespace.
 *   B1 v2 cgroup: born in it, or, without clone3, writes "0" to its
 *      cgroup.procs itself. Before the cgroup namespace: under nsdelegate
 *      a move is refused unless both cgroups are visible from the
 *      mover's namespace.
 *   B2 each v1 hierarchy: writes "0" to its `tasks` (moves B alone,
 *      without the global lock). B, not A: a frozen freezer cgroup would
 *      freeze the writer, and A's writer is the agent. Every cgroup fd
 *      is then closed, a close_range per run of them.
 *                          holds: /dev/null, report, stdio, pidfd, /proc
 *   B3 the host's /proc: B's own oom_score_adj is written (the
 *      config's oomScoreAdj, which must succeed, as in runc; without
 *      one, the init's, best effort), through the host's /proc because
 *      the container's is the container's to fake; when the config sets
 *      an LSM label, B's own attr directory is opened there (O_PATH: a
 *      thread may write only its own attr files, so it gives nothing to
 *      anyone else); the host's /proc closed.
 *                            holds: 0-2, report, stdio, pidfd, [attr]
 *   B4 the buffers of the user database mapped, if B will read it: from
 *      here on its address space does not grow, whatever RLIMIT_AS says
 *      (they go with B's memory at its execve).
 *   B5 RLIMIT_NOFILE back to what the agent started with (fdlimit.h),
 *      then the container's rlimits (confine.h: the config's exactly,
 *      or the init's), as the host's root; a limit B already has (the
 *      agent's, which the plan read before the fork) is not set again.
 *   B6 setns(pidfd, CLONE_NEWUSER | CLONE_NEWCGROUP), what of them the
 *      init has that we do not (the kernel joins the user namespace
 *      first); pidfd closed. B now holds nothing of the host's but
 *      /dev/null on 0-2, the report socket and the pipes that will be its
 *      stdio.                        holds: 0-2, report, stdio, [attr]
 *   B7 with a tty: a pseudo-terminal from the container's own devpts
 *      (its ptmx opened through ctrfile.h: O_PATH, checked to be the
 *      ptmx device, reopened), sized, the slave through TIOCGPTPEER.
 *   B8 READY to the agent, the master attached; the master closed. With
 *      a tty the agent hands the start over now (without one it did when
 *      B was born, and the session reads this); all that follows may
 *      block on the container and only B waits.
 *                                      holds: 0-2, report, stdio | slave
 *   B9 every signal back to its default disposition (all are still
 *      blocked): those the agent ignored or handled when the plan was
 *      made (its /proc status), the others being there already.
 *   B10 the user database, if the request names a user or the env lacks
 *      HOME: the container's /etc/passwd and /etc/group through
 *      ctrfile.h, parsed by userdb.h; then the creds, and HOME as runc
 *      sets it (the user's passwd home when the env has none, "/" when
 *      there is no entry). The policy's run_as id ranges checked against
 *      the uid and gid the user is in the container (policy.h).
 *   B11 setsid; the slave becomes the controlling terminal, owned by the
 *      user; stdio dup2()ed onto 0-2; every fd but 0-2 and the report
 *      socket and the attr directory (close-on-exec) closed.
 *                                              holds: 0-2, report, [attr]
 *   B12 no_new_privs when the config sets it (runc sets it first, before
 *      the LSM label and the credentials); umask (the config's, else
 *      0022); the SELinux exec label; the seccomp filter when the config
 *      does not set no_new_privs: loading a filter then needs
 *      CAP_SYS_ADMIN, which B still has.
 *   B13 cwd tried as root; bounding set; keepcaps; setgroups, setresgid,
 *      setresuid; cwd again as the user if root could not; capset;
 *      ambient capabilities.
 *   B14 the AppArmor exec profile (after the user change, as runc);
 *      the attr directory closed; personality; the request's nice
 *      value, with the container's privileges (lowering it needs its
 *      CAP_SYS_NICE, as `nice -n -5` inside would); signal mask emptied;
 *      the seccomp filter with no_new_privs: last before execve, as runc,
 *      so that the fewest syscalls run under the container's filter.
 *                                                   holds: 0-2, report
 *   B15 execve of each PATH candidate; the failure is reported.
 */
#include "spawn_internal.h"

#include "confine.h"
#include "ctrfile.h"
#include "initpin.h"
#include "inventory.h"
#include "seccomp_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* clone3's arguments up to the cgroup (CLONE_ARGS_SIZE_VER2), spelled
 * out: glibc has no wrapper and <linux/sched.h> clashes with <sched.h>. */
struct spawn_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define SPAWN_CLONE_INTO_CGROUP 0x200000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* ---- common ----------------------------------------------------------- */

/* A system call made by B itself, -errno on failure: for the calls of B's
 * last steps, each of which would otherwise run a libc wrapper on a page
 * of libc's text of its own (and read errno through another): a page B
 * faults in, after its clone, on every start. */
static long b_syscall(long nr, long a0, long a1, long a2, long a3)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = a3;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#else
	long ret = syscall(nr, a0, a1, a2, a3);

	return ret < 0 ? -errno : ret;
#endif
}

/* The kernel's struct sigaction (x86_64's and most others' layout): for
 * SIG_DFL only the handler matters, and every field is 0. */
struct b_sigaction {
	unsigned long handler, flags, restorer, mask;
};

static _Noreturn void child_fail(const struct spawn_plan *p, int stage, int err,
				 const char *subject, int code)
{
	spawn_msg_send(p->report_w, SPAWN_MSG_ERROR, stage, err ? err : EIO,
		       subject, 0, -1);
	_exit(code);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Close every fd from lo up but the sorted keep[n]. */
static void close_all_but(int lo, const int *keep, size_t n, int max_fd)
{
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		if (keep[i] < lo)
			continue;
		if (keep[i] > lo &&
		    syscall(SYS_close_range, lo, keep[i] - 1, 0) < 0)
			goto fallback;
		lo = keep[i] + 1;
	}
	if (syscall(SYS_close_range, lo, ~0U, 0) == 0)
		return;
fallback:
	for (fd = 3; fd < max_fd; fd++) {
		for (i = 0; i < n && keep[i] != fd; i++)
			;
		if (i == n)
			close(fd);
	}
}

/* ---- helper A ----------------------------------------------------------- */

static bool kept(const struct spawn_plan *p, int fd)
{
	size_t i;

	for (i = 0; i < p->nkeep; i++)
		if (p->keep[i] == fd)
			return true;
	return false;
}

static _Noreturn void a_fail(struct spawn_plan *p, int stage, int err)
{
	if (p->shared) {
		/* The agent reads this once we are gone. */
		p->answer->a_stage = stage;
		p->answer->a_err = err ? err : EIO;
		_exit(1);
	}
	child_fail(p, stage, err, NULL, 1);
}

static _Noreturn void b_main(struct spawn_plan *p);

#if SPAWN_OWN_STACK
/* The clone or clone3 system call nr (arguments a0, a1), whose child
 * starts on the new stack the arguments give it and calls b_main(p) there:
 * it cannot return from this function, whose frame is on A's stack. */
static long clone_onto(long nr, long a0, long a1, struct spawn_plan *p)
{
	register long rdx __asm__("rdx") = 0;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	void (*fn)(struct spawn_plan *) = b_main;
	long ret;

	/* The syscall keeps every register but rax, rcx and r11: the child
	 * finds fn and p where the parent left them, and takes them before
	 * it clears rbp (the compiler may have put one there; rax is free
	 * once tested). The stack's top is 16-byte aligned, as a call wants
	 * it. */
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov %[fn], %%rax\n\t"
			 "mov %[p], %%rdi\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%%rax\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "0"(nr), "D"(a0), "S"(a1), "r"(rdx), "r"(r10),
			   "r"(r8), [fn] "r"(fn), [p] "r"(p)
			 : "rcx", "r11", "memory");
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#endif

/* B: a fork of A. B's exit signal is A's (SIGCHLD) under CLONE_PARENT,
 * which is why clone3 wants exit_signal 0. Without a stack of B's own
 * (b_stack), B runs, like a fork, on its copy of ours, and returns here;
 * with one, it starts in b_main() on it. */
static pid_t a_clone(struct spawn_plan *p)
{
	struct spawn_clone_args args;
	bool cgroup = p->clone3 && p->cgroup2_fd >= 0;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PARENT | SPAWN_CLONE_INTO_CGROUP;
	args.cgroup = (uint64_t)p->cgroup2_fd;
#if SPAWN_OWN_STACK
	if (p->b_stack && cgroup) {
		args.stack =
			(uint64_t)(uintptr_t)(p->b_stack - SPAWN_STACK_SIZE +
					      getpagesize());
		args.stack_size = SPAWN_STACK_SIZE - getpagesize();
		return clone_onto(SYS_clone3, (long)&args, sizeof(args), p);
	}
	if (p->b_stack)
		return clone_onto(SYS_clone, CLONE_PARENT | SIGCHLD,
				  (long)p->b_stack, p);
#endif
	if (!cgroup)
		return syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	return syscall(SYS_clone3, &args, sizeof(args));
}

/* A forked (not sharing the agent's memory): a pidfd of A, for B0. Set
 * in A's own copy only, so the agent's stays -1. */
static int a_pidfd = -1;

_Noreturn void spawn_helper_main(struct spawn_plan *p)
{
	int i, nsflags;
	pid_t pid;

	/* A1. Sharing our memory, A sets it for the agent too, which
	 * restores its own after A ends. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* A2. (An fd the entry needs is left where it is, should the agent
	 * have been started with 0-2 closed: B uses and closes it before
	 * its own dup2()s onto 0-2.) */
	for (i = 0; i < 3; i++)
		if (p->null_fd >= 0 && !kept(p, i) && dup2(p->null_fd, i) < 0)
			a_fail(p, STAGE_SETNS, errno);
	close_all_but(3, p->keep, p->nkeep, p->max_fd);
	/* A3. The user and cgroup namespaces are B's to join (B6), once it
	 * is in the container's cgroups, which the cgroup namespace's root
	 * might otherwise hide, and has done what needs the host's root. */
	nsflags = p->nsflags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (nsflags && setns(p->pin->pidfd, nsflags) < 0)
		a_fail(p, STAGE_SETNS, errno);
	/* For B0: B's reports come after A's PID report, so that the
	 * holder of report_fd gets B's ids, without which it takes the
	 * start for failed (spawn_report.h). The agent needs pidfds for
	 * every start anyway. */
	if (!p->shared) {
		a_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		if (a_pidfd < 0)
			a_fail(p, STAGE_CLONE, errno);
	}
	/* A4 */
	pid = a_clone(p);
	if (pid < 0)
		a_fail(p, STAGE_CLONE, errno);
	if (pid == 0)
		b_main(p);
	/* A5 */
	if (p->shared) {
		p->answer->child = pid;
		_exit(0);
	}
	spawn_msg_send(p->report_w, SPAWN_MSG_PID, 0, 0, NULL, pid, -1);
	_exit(0);
}

int spawn_helper_shared(void *plan)
{
	spawn_helper_main(plan);
}

/* ---- process B: entering -------------------------------------------- */

/* Whether fd is one of the cgroup fds B1 and B2 are done with. */
static bool is_cgroup_fd(const struct spawn_plan *p, int fd)
{
	size_t i;

	if (fd == p->cgroup2_fd || fd == p->cgroup2_procs_fd)
		return true;
	for (i = 0; i < p->pin->ncgroups; i++)
		if (fd == p->pin->cgroup_fds[i])
			return true;
	return false;
}

/* Close the cgroup fds: one close_range per run of them among the fds B
 * holds (keep, sorted), rather than one close each. A run may span fd
 * numbers B does not hold: closing those closes nothing. */
static void close_cgroup_fds(const struct spawn_plan *p)
{
	size_t i = 0, j;

	while (i < p->nkeep) {
		if (!is_cgroup_fd(p, p->keep[i])) {
			i++;
			continue;
		}
		for (j = i; j + 1 < p->nkeep && is_cgroup_fd(p, p->keep[j + 1]);
		     j++)
			;
		if (syscall(SYS_close_range, p->keep[i], p->keep[j], 0) < 0) {
			for (; i <= j; i++)
				close(p->keep[i]);
		}
		i = j + 1;
	}
}

/* B1, B2 */
static void b_cgroups(struct spawn_plan *p)
{
	const struct initpin *pin = p->pin;
	size_t i;

	if (p->cgroup2_procs_fd >= 0 && write(p->cgroup2_procs_fd, "0", 1) != 1)
		child_fail(p, STAGE_CGROUP, errno, p->cgroup2_dir, 127);
	for (i = 0; i < pin->ncgroups; i++) {
		if (pin->cgroup_fds[i] < 0)
			continue;
		if (write(pin->cgroup_fds[i], "0", 1) != 1)
			child_fail(p, STAGE_CGROUP, errno, pin->cgroups[i],
				   127);
	}
	close_cgroup_fds(p);
	p->cgroup2_fd = p->cgroup2_procs_fd = -1;
}

/* B3. The agent may protect itself from the OOM killer; B gets the
 * container's score instead: the config's, as runc writes it (a failure
 * fails the start, as in runc), or else the init's, best effort. */
static void b_host_proc(struct spawn_plan *p)
{
	const char *what = NULL;
	int fd, rc;

	if (p->cf && p->cf->has_oom) {
		rc = confine_apply_oom(p->cf, p->proc_fd, &what);
		if (rc < 0)
			child_fail(p, STAGE_OOM, -rc, what, 127);
	}
	/* Only the attr directory stays: B writes its labels where runc
	 * does (B12, B14), long after it closed the host's /proc. */
	if (p->cf) {
		rc = confine_open_attr(p->cf, p->proc_fd, &p->attr_fd, &what);
		if (rc < 0)
			child_fail(p, STAGE_LSM, -rc, what, 127);
	}
	if (p->proc_fd < 0)
		return;
	if (p->oom[0]) {
		fd = openat(p->proc_fd, "thread-self/oom_score_adj",
			    O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, p->oom, strlen(p->oom)) < 0) {
				/* best effort: lowering it needs
				 * CAP_SYS_RESOURCE */
			}
			close(fd);
		}
	}
	close_fd(&p->proc_fd);
}

/* B4: the buffer for one database file, its cap and a NUL; only the
 * pages the read touches are ever backed. */
static char *b_db_buffer(const struct spawn_plan *p, const char *path)
{
	char *buf = mmap(NULL, USERDB_MAX_FILE + 1, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (buf == MAP_FAILED)
		child_fail(p, STAGE_FILE, ENOMEM, path, 127);
	return buf;
}

/* B5 */
static void b_limits(struct spawn_plan *p)
{
	const char *what = NULL;
	int rc;

	struct rlimit *have = &p->limits[RLIMIT_NOFILE];

	/* The agent's raised fd limit is its own (fdlimit.h). Lowering the
	 * soft limit needs no privilege; a failure keeps the raised one,
	 * and B no longer knows what it has. */
	if (!p->limits_known || have->rlim_cur != p->nofile.rlim_cur ||
	    have->rlim_max != p->nofile.rlim_max) {
		if (setrlimit(RLIMIT_NOFILE, &p->nofile) == 0)
			*have = p->nofile;
		else
			p->limits_known = false;
	}
	/* The container's limits, here while B is the host's root (raising
	 * a hard limit needs CAP_SYS_RESOURCE over the host's user
	 * namespace); what B execs inherits them. Those B inherited already
	 * (the agent's, read before the fork) are not set again. */
	if (p->cf) {
		rc = confine_apply_rlimits(
			p->cf, p->limits_known ? p->limits : NULL, &what);
		if (rc < 0)
			child_fail(p, STAGE_RLIMIT, -rc, what, 127);
	}
}

/* B6 */
static void b_userns_cgroupns(struct spawn_plan *p)
{
	int pidfd = p->pin->pidfd,
	    flags = p->nsflags & (CLONE_NEWUSER | CLONE_NEWCGROUP);

	if (flags && setns(pidfd, flags) < 0)
		child_fail(p,
			   flags & CLONE_NEWUSER ? STAGE_SETNS : STAGE_CGROUPNS,
			   errno, NULL, 127);
	close(pidfd);
}

/* B7: a pty from the devpts mounted in the container. The slave
 * (close-on-exec, above 2 so the dup2 onto 0-2 clears the flag) is B's;
 * the master is returned, for the agent. */
static int b_pty(const struct spawn_plan *p, const struct ctrfile_root *r,
		 int *slave)
{
	const char *path = "/dev/pts/ptmx";
	int master, unlock = 0, fd;

	master = ctrfile_open(r, path, O_RDWR | O_NONBLOCK, CTRFILE_PTMX, NULL);
	if (master == -ENOENT) {
		path = "/dev/ptmx";
		master = ctrfile_open(r, path, O_RDWR | O_NONBLOCK,
				      CTRFILE_PTMX, NULL);
	}
	if (master < 0)
		child_fail(p, STAGE_PTY, -master, path, 1);
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		child_fail(p, STAGE_PTY, errno, "unlockpt", 1);
	/* Before the program runs: its first TIOCGWINSZ sees the size the
	 * client asked for (kubectl #47990 is the bug this avoids). */
	if (ioctl(master, TIOCSWINSZ, &p->ws) < 0)
		child_fail(p, STAGE_PTY, errno, "TIOCSWINSZ", 1);
	/* TIOCGPTPEER opens the slave through the master, not by a path
	 * the container could swap. */
	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		child_fail(p, STAGE_PTY, errno, "TIOCGPTPEER", 1);
	*slave = fd;
	if (fd < 3) {
		*slave = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (*slave < 0)
			child_fail(p, STAGE_PTY, errno, "slave fd", 1);
		close(fd);
	}
	return master;
}

/* ---- process B: the container's user -------------------------------- */

/* A database file of the container into buf (B4's), NUL-terminated;
 * NULL when the container has none (an empty database). */
static char *b_read_db(const struct spawn_plan *p, const struct ctrfile_root *r,
		       const char *path, char *buf)
{
	long n;
	int fd;

	fd = ctrfile_open(r, path, O_RDONLY | O_NONBLOCK, CTRFILE_REGULAR,
			  NULL);
	if (fd == -ENOENT)
		return NULL;
	if (fd < 0)
		child_fail(p, STAGE_FILE, -fd, path, 127);
	n = ctrfile_read(fd, buf, USERDB_MAX_FILE + 1);
	if (n < 0)
		child_fail(p, STAGE_FILE, (int)-n, path, 127);
	close(fd);
	return buf;
}

static void b_set_home(struct spawn_plan *p, const char *home)
{
	size_t n = strlen(home);

	memcpy(p->out->home_env, "HOME=", 5);
	memcpy(p->out->home_env + 5, home, n + 1);
	p->envp[p->home_slot] = p->out->home_env;
}

/* Which database files B reads. */
static bool b_needs_passwd(const struct spawn_plan *p)
{
	return p->need_home ||
	       (p->has_user && userdb_spec_needs_passwd(&p->user));
}

static bool b_needs_group(const struct spawn_plan *p)
{
	return p->has_user && userdb_spec_needs_group(&p->user);
}

/* B10, with B4's buffers (NULL for a file not needed). */
static void b_users(struct spawn_plan *p, const struct ctrfile_root *r,
		    char *pwbuf, char *grbuf)
{
	char *pw = NULL, *gr = NULL;
	enum userdb_miss miss;

	if (pwbuf)
		pw = b_read_db(p, r, "/etc/passwd", pwbuf);
	if (grbuf)
		gr = b_read_db(p, r, "/etc/group", grbuf);
	if (p->has_user) {
		if (userdb_lookup(&p->user, pw, gr, &p->out->creds, &miss) < 0)
			child_fail(p,
				   miss == USERDB_NO_GROUP ? STAGE_GROUP :
							     STAGE_USER,
				   EINVAL,
				   miss == USERDB_NO_GROUP ? p->user.group :
							     p->user.user,
				   127);
		p->uid = p->out->creds.uid;
		p->gid = p->out->creds.gid;
		p->groups = p->out->creds.groups;
		p->ngroups = p->out->creds.ngroups;
	} else if (p->need_home) {
		p->out->creds.has_home =
			pw && userdb_home_of(p->uid, pw, p->out->creds.home,
					     sizeof(p->out->creds.home));
	}
	/* runc's setupUser: HOME from the user's entry when the env has
	 * none (or an empty one), "/" when there is no entry. */
	if (p->need_home)
		b_set_home(p,
			   p->out->creds.has_home ? p->out->creds.home : "/");
}

/* ---- process B: becoming the container's process ---------------------- */

static void b_caps_bounding(const struct spawn_plan *p)
{
	int cap;

	for (cap = 0; cap <= p->last_cap; cap++) {
		if (p->cap_bounding & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(p, STAGE_CAPS, errno, "bounding set", 127);
	}
	/* Keep the permitted set across setresuid; capset trims it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		child_fail(p, STAGE_CAPS, errno, "keepcaps", 127);
}

static void b_caps_apply(const struct spawn_plan *p)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
						0 };
	struct __user_cap_data_struct data[2];
	int cap;

	data[0].effective = p->cap_effective;
	data[1].effective = p->cap_effective >> 32;
	data[0].permitted = p->cap_permitted;
	data[1].permitted = p->cap_permitted >> 32;
	data[0].inheritable = p->cap_inheritable;
	data[1].inheritable = p->cap_inheritable >> 32;
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(p, STAGE_CAPS, errno, "capset", 127);
	/* As runc: an ambient capability that cannot be raised is skipped. */
	for (cap = 0; cap <= p->last_cap; cap++)
		if (p->cap_ambient & (1ULL << cap))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/* B11 */
static void b_session(const struct spawn_plan *p, int slave)
{
	long rc = b_syscall(SYS_setsid, 0, 0, 0, 0);
	int i, keep[2];

	if (rc < 0)
		child_fail(p, STAGE_SETSID, (int)-rc, NULL, 127);
	/* A session leader without a terminal acquires the first one it
	 * asks for: the slave becomes B's controlling terminal, and B's
	 * process group its foreground. */
	if (p->tty && ioctl(slave, TIOCSCTTY, 0) < 0)
		child_fail(p, STAGE_CTTY, errno, NULL, 127);
	/* The terminal belongs to the user the program runs as, so it can
	 * reopen it by path (as runc's fixStdioPermissions does). EINVAL
	 * and EPERM: the uid or the inode's owner is not mapped in the
	 * container's user namespace; the fds 0-2 work regardless. */
	if (p->tty && fchown(slave, p->uid, -1) < 0 && errno != EINVAL &&
	    errno != EPERM)
		child_fail(p, STAGE_CTTY, errno, "chown", 127);
	for (i = 0; i < 3; i++)
		if (dup2(p->tty ? slave : p->child_fd[i], i) < 0)
			child_fail(p, STAGE_STDIO, errno, NULL, 127);
	/* Only 0-2 reach the container; the report socket (close-on-exec)
	 * stays until execve tells the agent by closing it, the attr
	 * directory (close-on-exec) until B14 wrote the labels. */
	keep[0] = p->report_w;
	keep[1] = p->attr_fd;
	if (keep[1] >= 0 && keep[1] < keep[0]) {
		keep[1] = keep[0];
		keep[0] = p->attr_fd;
	}
	close_all_but(3, keep, p->attr_fd >= 0 ? 2 : 1, p->max_fd);
}

static void b_seccomp(const struct spawn_plan *p)
{
	int rc;

	if (!p->seccomp)
		return;
	rc = seccomp_prog_install(p->seccomp);
	if (rc < 0)
		child_fail(p, STAGE_SECCOMP, -rc, NULL, 127);
}

/* B12, B13 */
static void b_credentials(const struct spawn_plan *p)
{
	const char *what = NULL;
	int cwd_err, rc;

	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(p, STAGE_NNP, errno, NULL, 127);
	/* The config's umask, or runc's own 0022 when it has none. */
	umask(022);
	if (p->cf)
		confine_apply_umask(p->cf);
	if (p->cf) {
		rc = confine_apply_selinux(p->cf, p->attr_fd, &what);
		if (rc < 0)
			child_fail(p, STAGE_LSM, -rc, what, 127);
	}
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which
	 * B has until the capset below: load it now, as runc does. Every
	 * call from here to execve then runs under the container's filter:
	 * a profile that refuses one of them (setgroups, setresuid, capset,
	 * chdir, prctl) fails the start at that stage, as it fails runc
	 * exec, and a profile that refuses sendmsg and write loses the
	 * report (the start then ends as a process exiting 127). */
	if (!p->no_new_privs)
		b_seccomp(p);

	/* Root may reach a cwd the user cannot: try first as root, and again
	 * as the user (as runc does). */
	cwd_err = chdir(p->cwd) < 0 ? errno : 0;
	if (p->has_caps)
		b_caps_bounding(p);
	if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0)
		child_fail(p, STAGE_GROUPS, errno, NULL, 127);
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		child_fail(p, STAGE_GID, errno, NULL, 127);
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		child_fail(p, STAGE_UID, errno, NULL, 127);
	if (cwd_err && chdir(p->cwd) < 0)
		child_fail(p, STAGE_CWD, errno, p->cwd, 127);
	if (p->has_caps)
		b_caps_apply(p);
}

/* B14, B15 */
static _Noreturn void b_exec(const struct spawn_plan *p)
{
	uint64_t empty_mask = 0;
	int i, err = ENOENT;
	bool eacces = false;

	const char *what = NULL;
	int rc;

	/* After the user change, as runc writes it. */
	if (p->cf) {
		rc = confine_apply_apparmor(p->cf, p->attr_fd, &what);
		if (rc < 0)
			child_fail(p, STAGE_LSM, -rc, what, 127);
		if (p->attr_fd >= 0)
			close(p->attr_fd);
		rc = confine_apply_personality(p->cf, &what);
		if (rc < 0)
			child_fail(p, STAGE_PERSONALITY, -rc, what, 127);
	}
	if (p->has_nice && setpriority(PRIO_PROCESS, 0, p->nice) < 0)
		child_fail(p, STAGE_NICE, errno, NULL, 127);
	b_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty_mask, 0,
		  sizeof(empty_mask));
	/* With no_new_privs the filter comes last, so that the fewest of
	 * our own calls run under it: only execve (one per PATH candidate)
	 * and, when they all fail, the report and _exit. */
	if (p->no_new_privs)
		b_seccomp(p);

	/* execvp's search, by hand: the container's PATH, inside its root. */
	for (i = 0; p->paths[i]; i++) {
		err = (int)-b_syscall(SYS_execve, (long)p->paths[i],
				      (long)p->argv, (long)p->envp, 0);
		switch (err) {
		case EACCES:
			eacces = true;
			/* fall through */
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
			continue;
		default:
			goto out_fail;
		}
	}
	err = eacces ? EACCES : ENOENT;
out_fail:
	child_fail(p, STAGE_EXEC, err, p->argv[0], 127);
}

static _Noreturn void b_main(struct spawn_plan *p)
{
	struct ctrfile_root root = { -1, -1 };
	char *pwbuf = NULL, *grbuf = NULL;
	int master = -1, slave = -1, i, rc;

	/* B0: A's PID report first (A exits right after sending it). */
	if (a_pidfd >= 0) {
		struct pollfd pf = { .fd = a_pidfd, .events = POLLIN };

		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
		close_fd(&a_pidfd);
	}
	b_cgroups(p);
	b_host_proc(p);
	if (b_needs_passwd(p))
		pwbuf = p->db_buf[0] ? p->db_buf[0] :
				       b_db_buffer(p, "/etc/passwd");
	if (b_needs_group(p))
		grbuf = p->db_buf[1] ? p->db_buf[1] :
				       b_db_buffer(p, "/etc/group");
	b_limits(p);
	b_userns_cgroupns(p);
	if (p->tty || pwbuf || grbuf) {
		rc = ctrfile_root_open(&root);
		if (rc < 0)
			child_fail(p, STAGE_PROC, -rc, NULL, 1);
	}
	if (p->tty)
		master = b_pty(p, &root, &slave);
	/* B8 */
	spawn_msg_send(p->report_w, SPAWN_MSG_READY, 0, 0, NULL, 0, master);
	close_fd(&master);
	/* B9: those not at SIG_DFL when the agent forked (sig_reset), the
	 * others being there already. */
	for (i = 1; i < NSIG; i++) {
		struct b_sigaction sa = { 0 };

		if (i == SIGKILL || i == SIGSTOP)
			continue;
		if (i <= 64 && !(p->sig_reset & (1ULL << (i - 1))))
			continue;
		b_syscall(SYS_rt_sigaction, i, (long)&sa, 0, sizeof(sa.mask));
	}
	if (p->has_user || p->need_home)
		b_users(p, &root, pwbuf, grbuf);
	/* The rule that allowed the start may bound the ids: what the
	 * container's files made of the name must be inside them. */
	if (policy_run_as_ids_check(&p->run_as, p->run_as_name, p->uid,
				    p->gid) != POLICY_RUN_AS_OK)
		child_fail(p, STAGE_RUN_AS, EACCES,
			   p->run_as_name ? p->run_as_name : "default", 127);
	/* gid ranges bound the supplementary groups too: /etc/group is the
	 * container's, and may list the user in group 0 or disk. */
	for (i = 0; i < (int)p->ngroups; i++)
		if (!policy_run_as_gid_allowed(&p->run_as, p->groups[i]))
			child_fail(p, STAGE_RUN_AS, EACCES,
				   p->run_as_name ? p->run_as_name : "default",
				   127);
	/* What the process will run as, for the audit (spawn_report.h). */
	spawn_ids_send(p->report_w, p->uid, p->gid, p->groups, p->ngroups);
	/* B4's buffers stay mapped: the execve (or the exit) drops them
	 * with the rest of B's memory, and an munmap of its own would only
	 * add a TLB flush. */
	ctrfile_root_close(&root);
	b_session(p, slave);
	b_credentials(p);
	b_exec(p);
}
