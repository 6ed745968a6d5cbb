/*
 * Entering a container and starting a process in it (see spawn.h).
 *
 * Everything that can allocate or fail slowly happens before fork: the
 * argv/envp, the execve candidates from the container's PATH, the
 * cgroup files, the pidfd of the container's init (checked against the
 * start time the runtime recorded, so a recycled pid is refused), and
 * which namespaces differ from the agent's; the last three are kept from
 * one start to the next while that init lives (initpin.h). Then two
 * processes, as runc's nsexec does:
 *
 *   helper A (a child of the agent): joins the v1 cgroups while the
 *     host's cgroupfs is still visible, setns()es into the init's
 *     namespaces but the cgroup one through the pidfd, and clones B with
 *     CLONE_PARENT, into the v2 cgroup: B is the agent's child (the agent
 *     can hold a pidfd for it and reap it) and, being forked after
 *     setns(CLONE_NEWPID), lives in the container's pid namespace. A
 *     reports B's pid and exits.
 *   process B: the container's cgroup namespace and oom score, new
 *     session, pipes on 0-2, every other fd closed but the report socket
 *     (close-on-exec), the container's capabilities and user, cwd, umask,
 *     signals back to defaults, then execve of each candidate.
 *
 * No start writes a cgroup.procs file. A write there takes the kernel's
 * global cgroup_threadgroup_rwsem for writing, which waits for an RCU
 * grace period unless another migration ran moments before: 7-15 ms on
 * the test machine for a start after a pause, most of a start's cost (a
 * burst of starts pays it once). A v1 hierarchy's `tasks` file moves one
 * thread, the writer itself when it writes "0", without that lock, and A
 * is one thread; v2 moves only whole processes, so B is born in its v2
 * cgroup instead (clone3's CLONE_INTO_CGROUP, which takes the lock only
 * for reading, as every fork does). B joins the cgroup namespace itself
 * because under nsdelegate a cgroup outside the caller's namespace root
 * (the agent's, A's) cannot be migrated from.
 *
 * A is started the way posix_spawn starts its child: clone(CLONE_VM |
 * CLONE_VFORK) on a stack of the spawner's, so the agent's page tables are
 * copied once (for B) instead of twice, and the agent sleeps only while A
 * runs, which is a few kernel calls that no container can stall. Two
 * cases keep a plain fork, waited for with a timeout: a tty (A opens the
 * container's ptmx, a path the container controls and could make hang),
 * and a time namespace to join (setns(CLONE_NEWTIME) refuses a caller that
 * shares its memory). Sharing the agent's memory means A writes nothing
 * but its own stack: the per-process settings that would leak into the
 * agent are B's to make (oom_score_adj, which the kernel copies to every
 * process sharing the mm) or restored by the agent (dumpable, a property
 * of the mm that B's copy must be created with).
 *
 * With a tty, A allocates the pseudo-terminal after joining the mount
 * namespace, from the container's own devpts (/dev/pts/ptmx), sets its
 * size, and hands the master to the agent with SCM_RIGHTS on the report
 * socket (a SOCK_SEQPACKET socketpair for that reason); B makes the slave
 * its controlling terminal and its 0-2. So the pty belongs to the
 * container (its /dev/pts shows it, `tty` names it) and the size is right
 * before the program's first ioctl.
 *
 * Between fork and execve only async-signal-safe calls and raw syscalls
 * run: no malloc, no stdio. B's credentials are changed with raw syscalls
 * because glibc's set*id wrappers would try to synchronise threads that
 * exist only in the agent. A failure on either side is one fixed-size
 * message on the report socket; a successful execve closes B's end of it.
 */
#include "spawn.h"

#include "exec_spec.h"
#include "fdlimit.h"
#include "initpin.h"
#include "inventory.h"
#include "procstat.h"
#include "readfile.h"
#include "strv.h"
#include "userdb.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define log_warn(fmt, ...) \
	fprintf(stderr, "execfs-agent: %s: " fmt "\n", __func__, __VA_ARGS__)

#define SPAWN_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_MAX_PATH_DIRS 256
#define SPAWN_HELPER_TIMEOUT_MS 5000
#define SPAWN_MSG_MAGIC 0x65786673u /* "exfs" */
#define SPAWN_TTY_COLS 80
#define SPAWN_TTY_ROWS 24
/* A's stack in the vfork case; B runs on its copy until execve. Only the
 * pages touched are ever backed. */
#define SPAWN_STACK_SIZE (256 * 1024)
/* ASan cannot follow a process onto a stack it did not make (it warns,
 * and may report false errors: google/sanitizers#189), so sanitized
 * builds always fork. */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_SHARED_STACK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_SHARED_STACK 0
#endif
#endif
#ifndef SPAWN_SHARED_STACK
#define SPAWN_SHARED_STACK 1
#endif
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
/* Every devpts instance's ptmx node is this device. */
#define PTMX_MAJOR 5
#define PTMX_MINOR 2

enum spawn_msg_type {
	SPAWN_MSG_PID = 1, /* from A: B's pid, in the agent's pid namespace */
	SPAWN_MSG_ERROR, /* from A or B: a stage failed */
};

enum spawn_stage {
	STAGE_CGROUP,
	STAGE_SETNS,
	STAGE_PTY,
	STAGE_CLONE,
	STAGE_SETSID,
	STAGE_CTTY,
	STAGE_STDIO,
	STAGE_FDS,
	STAGE_CAPS,
	STAGE_GROUPS,
	STAGE_GID,
	STAGE_UID,
	STAGE_NNP,
	STAGE_CWD,
	STAGE_EXEC,
};

static const char *const stage_names[] = {
	[STAGE_CGROUP] = "cgroup",     [STAGE_SETNS] = "setns",
	[STAGE_PTY] = "pty",	       [STAGE_CLONE] = "clone",
	[STAGE_SETSID] = "setsid",     [STAGE_CTTY] = "controlling tty",
	[STAGE_STDIO] = "stdio",       [STAGE_FDS] = "close fds",
	[STAGE_CAPS] = "capabilities", [STAGE_GROUPS] = "setgroups",
	[STAGE_GID] = "setgid",	       [STAGE_UID] = "setuid",
	[STAGE_NNP] = "no_new_privs",  [STAGE_CWD] = "cwd",
	[STAGE_EXEC] = "exec",
};

/* One report: one datagram of the SOCK_SEQPACKET report socket, so each
 * read of sizeof(struct spawn_msg) returns exactly one message. The PID
 * message of a tty session carries the pty master (SCM_RIGHTS). */
struct spawn_msg {
	uint32_t magic;
	uint32_t type;
	int32_t stage;
	int32_t err;
	int32_t pid;
	char subject[236]; /* what the stage worked on: a path, argv[0] */
};

_Static_assert(sizeof(struct spawn_msg) <= PIPE_BUF, "one small datagram");

struct spawner {
	struct event_base *base;
	struct event *sigchld;
	pid_t *helpers; /* helper processes not reaped yet */
	size_t nhelpers, cap;
	int last_cap;
	/* The host's /proc (O_PATH), for B's "self/oom_score_adj" once its
	 * own root is the container's; -1: B keeps the agent's score. */
	int proc_fd;
	/* Owned mmap: A's stack when it shares our memory (guard page at
	 * the low end); NULL: every start forks. */
	char *stack;
	struct initpin_cache *pins; /* owned */
};

/* Everything the two children need, prepared before fork. */
struct spawn_plan {
	const struct container *c;
	char *const *argv;
	char **envp; /* pointers borrowed from c->env and env_extra */
	char **paths; /* execve candidates, owned */
	const char *cwd;
	/* Credentials: the container's process user, or the request's. */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	bool tty;
	struct winsize ws;
	const struct initpin *pin; /* the init, its namespaces, its cgroups */
	int proc_fd; /* the spawner's */
	char oom[16]; /* init's oom_score_adj, "" if unknown */
	int child_fd[3]; /* B's 0-2 without a tty */
	int report_w;
	int last_cap;
	int max_fd; /* for when close_range is missing */
	struct rlimit nofile; /* the open-file limit the agent started with */
	sigset_t empty_mask;
};

/* ---- the children: async-signal-safe from here to the agent side ---- */

static void msg_subject(struct spawn_msg *m, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i < sizeof(m->subject) - 1; i++)
		m->subject[i] = s[i];
	m->subject[i] = '\0';
}

static void report_write(int fd, const struct spawn_msg *m)
{
	ssize_t n;

	/* MSG_NOSIGNAL: an agent that gave up waiting must not turn a
	 * report into a SIGPIPE death. */
	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

/* The PID report, with the pty master attached when there is one. */
static void report_pid(int fd, const struct spawn_msg *m, int master)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (master >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &master, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

static _Noreturn void child_fail(const struct spawn_plan *p, int stage, int err,
				 const char *subject, int code)
{
	struct spawn_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = SPAWN_MSG_MAGIC;
	m.type = SPAWN_MSG_ERROR;
	m.stage = stage;
	m.err = err ? err : EIO;
	msg_subject(&m, subject);
	report_write(p->report_w, &m);
	_exit(code);
}

static void child_close_fds(const struct spawn_plan *p)
{
	int fd;

	/* Only 0-2 reach the container; the report pipe (close-on-exec)
	 * stays until execve tells the agent by closing it. */
	if (p->report_w > 3 && syscall(SYS_close_range, 3, p->report_w - 1, 0))
		goto fallback;
	if (syscall(SYS_close_range, p->report_w + 1, ~0U, 0))
		goto fallback;
	return;
fallback:
	for (fd = 3; fd < p->max_fd; fd++)
		if (fd != p->report_w)
			close(fd);
}

static void child_caps_bounding(const struct spawn_plan *p)
{
	const struct container *c = p->c;
	int cap;

	for (cap = 0; cap <= p->last_cap; cap++) {
		if (c->cap_bounding & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(p, STAGE_CAPS, errno, "bounding set", 127);
	}
	/* Keep the permitted set across setresuid; capset trims it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		child_fail(p, STAGE_CAPS, errno, "keepcaps", 127);
}

static void child_caps_apply(const struct spawn_plan *p)
{
	const struct container *c = p->c;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
						0 };
	struct __user_cap_data_struct data[2];
	int cap;

	data[0].effective = c->cap_effective;
	data[1].effective = c->cap_effective >> 32;
	data[0].permitted = c->cap_permitted;
	data[1].permitted = c->cap_permitted >> 32;
	data[0].inheritable = c->cap_inheritable;
	data[1].inheritable = c->cap_inheritable >> 32;
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(p, STAGE_CAPS, errno, "capset", 127);
	/* As runc: an ambient capability that cannot be raised is skipped. */
	for (cap = 0; cap <= p->last_cap; cap++)
		if (c->cap_ambient & (1ULL << cap))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/* The agent may protect itself from the OOM killer; B gets the
 * container's score instead. Through the host's /proc: B's root is the
 * container's already. */
static void child_oom(const struct spawn_plan *p)
{
	int fd;

	if (!p->oom[0] || p->proc_fd < 0)
		return;
	fd = openat(p->proc_fd, "self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, p->oom, strlen(p->oom)) < 0) {
		/* best effort: keep the agent's score */
	}
	close(fd);
}

static _Noreturn void child_exec(const struct spawn_plan *p, int slave)
{
	int i, err = ENOENT, cwd_err;
	bool eacces = false;

	if ((p->pin->nsflags & CLONE_NEWCGROUP) &&
	    setns(p->pin->pidfd, CLONE_NEWCGROUP) < 0)
		child_fail(p, STAGE_SETNS, errno, "cgroup namespace", 127);
	child_oom(p);
	for (i = 1; i < NSIG; i++) {
		struct sigaction sa;

		if (i == SIGKILL || i == SIGSTOP)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(i, &sa, NULL); /* glibc's internal ones fail: fine */
	}
	if (setsid() < 0)
		child_fail(p, STAGE_SETSID, errno, NULL, 127);
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
	child_close_fds(p);

	/* Root may reach a cwd the user cannot: try first as root, and again
	 * as the user (as runc does). */
	cwd_err = chdir(p->cwd) < 0 ? errno : 0;
	if (p->c->has_caps)
		child_caps_bounding(p);
	if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0)
		child_fail(p, STAGE_GROUPS, errno, NULL, 127);
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		child_fail(p, STAGE_GID, errno, NULL, 127);
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		child_fail(p, STAGE_UID, errno, NULL, 127);
	if (p->c->has_caps)
		child_caps_apply(p);
	if (cwd_err && chdir(p->cwd) < 0)
		child_fail(p, STAGE_CWD, errno, p->cwd, 127);
	umask(022);
	/* The agent's raised fd limit is its own (fdlimit.h). Lowering the
	 * soft limit needs no privilege; a failure keeps the raised one. */
	if (setrlimit(RLIMIT_NOFILE, &p->nofile) < 0) {
		/* best effort */
	}
	if (p->c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(p, STAGE_NNP, errno, NULL, 127);
	sigprocmask(SIG_SETMASK, &p->empty_mask, NULL);

	/* execvp's search, by hand: the container's PATH, inside its root. */
	for (i = 0; p->paths[i]; i++) {
		execve(p->paths[i], p->argv, p->envp);
		switch (errno) {
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
			err = errno;
			goto out_fail;
		}
	}
	if (eacces)
		err = EACCES;
out_fail:
	child_fail(p, STAGE_EXEC, err, p->argv[0], 127);
}

/*
 * In A, inside the container's mount namespace: a pty from the devpts
 * mounted there. The master goes to the agent; the slave (close-on-exec,
 * above 2 so B's dup2 onto 0-2 clears the flag) is B's.
 */
static int helper_open_pty(const struct spawn_plan *p, int *slave)
{
	static const char *const ptmx[] = { "/dev/pts/ptmx", "/dev/ptmx" };
	const char *path = ptmx[0];
	struct stat st;
	int master = -1, unlock = 0, fd;
	size_t i;

	for (i = 0; i < 2 && master < 0; i++) {
		path = ptmx[i];
		master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (master < 0 && errno != ENOENT)
			break;
	}
	if (master < 0)
		child_fail(p, STAGE_PTY, errno, path, 1);
	/* The container owns its /dev: make sure this is a pty
	 * multiplexer, not a file or a FIFO planted in its place. */
	if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != PTMX_MAJOR || minor(st.st_rdev) != PTMX_MINOR)
		child_fail(p, STAGE_PTY, ENOTTY, path, 1);
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		child_fail(p, STAGE_PTY, errno, "unlockpt", 1);
	/* Before B exists: the program's first TIOCGWINSZ sees the size
	 * the client asked for (kubectl #47990 is the bug this avoids). */
	if (ioctl(master, TIOCSWINSZ, &p->ws) < 0)
		child_fail(p, STAGE_PTY, errno, "TIOCSWINSZ", 1);
	/* TIOCGPTPEER opens the slave through the master, not by a path
	 * the container could swap. */
	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		child_fail(p, STAGE_PTY, errno, "TIOCGPTPEER", 1);
	if (fd < 3) {
		*slave = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (*slave < 0)
			child_fail(p, STAGE_PTY, errno, "slave fd", 1);
		close(fd);
	} else {
		*slave = fd;
	}
	return master;
}

/* B: a fork of A, born in the container's v2 cgroup if it has one
 * (CLONE_INTO_CGROUP). No stack argument: like fork, B runs on a copy of
 * ours. B's exit signal is ours (SIGCHLD) under CLONE_PARENT, which is
 * why clone3 wants exit_signal 0. */
static pid_t helper_clone(const struct spawn_plan *p)
{
	struct spawn_clone_args args;

	if (p->pin->cgroup2_fd < 0)
		return syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PARENT | SPAWN_CLONE_INTO_CGROUP;
	args.cgroup = (uint64_t)p->pin->cgroup2_fd;
	return syscall(SYS_clone3, &args, sizeof(args));
}

static _Noreturn void helper_main(const struct spawn_plan *p)
{
	struct spawn_msg m;
	int master = -1, slave = -1, nsflags;
	size_t i;
	pid_t pid;

	/* Non-dumpable (inherited by B until execve): a process in the
	 * container cannot ptrace B or open its fds, which are the agent's
	 * until they are closed. Sharing our memory, A sets it for the
	 * agent too, which restores its own after A ends. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (i = 0; i < p->pin->ncgroups; i++)
		if (p->pin->cgroup_fds[i] >= 0 &&
		    write(p->pin->cgroup_fds[i], "0", 1) != 1)
			child_fail(p, STAGE_CGROUP, errno, p->pin->cgroups[i],
				   1);
	/* One call joins them all, the user namespace first (the kernel
	 * orders it), so the others are checked against the container's
	 * user namespace. All but the cgroup namespace: B joins that once
	 * it is in the container's cgroups, which the namespace's root may
	 * otherwise hide from the clone. */
	nsflags = p->pin->nsflags & ~CLONE_NEWCGROUP;
	if (nsflags && setns(p->pin->pidfd, nsflags) < 0)
		child_fail(p, STAGE_SETNS, errno, NULL, 1);
	if (p->tty)
		master = helper_open_pty(p, &slave);
	pid = helper_clone(p);
	if (pid < 0)
		child_fail(p, STAGE_CLONE, errno, NULL, 1);
	if (pid == 0)
		child_exec(p, slave);
	memset(&m, 0, sizeof(m));
	m.magic = SPAWN_MSG_MAGIC;
	m.type = SPAWN_MSG_PID;
	m.pid = pid;
	report_pid(p->report_w, &m, master);
	_exit(0);
}

static int helper_vfork_main(void *arg)
{
	helper_main(arg);
}

/* ---- the agent side ---- */

static void format_report(const struct spawn_msg *m, char *err, size_t errlen)
{
	const char *stage = "spawn";

	if (m->stage >= 0 &&
	    (size_t)m->stage < sizeof(stage_names) / sizeof(stage_names[0]))
		stage = stage_names[m->stage];
	if (m->subject[0])
		snprintf(err, errlen, "%s %.*s: %s", stage,
			 (int)sizeof(m->subject), m->subject, strerror(m->err));
	else
		snprintf(err, errlen, "%s: %s", stage, strerror(m->err));
}

static bool msg_valid(const struct spawn_msg *m)
{
	return m->magic == SPAWN_MSG_MAGIC &&
	       (m->type == SPAWN_MSG_PID || m->type == SPAWN_MSG_ERROR) &&
	       m->subject[sizeof(m->subject) - 1] == '\0';
}

static int spawner_track(struct spawner *sp, pid_t pid)
{
	pid_t *bigger;
	size_t cap;

	if (sp->nhelpers == sp->cap) {
		cap = sp->cap ? sp->cap * 2 : 8;
		bigger = realloc(sp->helpers, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		sp->helpers = bigger;
		sp->cap = cap;
	}
	sp->helpers[sp->nhelpers++] = pid;
	return 0;
}

/* Reap helpers that exited; never waitpid(-1): the session processes are
 * the session's to reap, through their pidfds. */
static void spawner_reap(struct spawner *sp, bool block)
{
	size_t i = 0;
	pid_t r;

	while (i < sp->nhelpers) {
		r = waitpid(sp->helpers[i], NULL, block ? 0 : WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			i++;
			continue;
		}
		sp->helpers[i] = sp->helpers[--sp->nhelpers];
	}
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	spawner_reap(arg, false);
}

/* A's stack, with a guard page below it; NULL (every start forks) when
 * it cannot be had. */
static char *spawner_stack_new(void)
{
	char *stack;

	if (!SPAWN_SHARED_STACK)
		return NULL;
	stack = mmap(NULL, SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED)
		return NULL;
	if (mprotect(stack, getpagesize(), PROT_NONE) < 0) {
		munmap(stack, SPAWN_STACK_SIZE);
		return NULL;
	}
	return stack;
}

struct spawner *spawner_new(struct event_base *base)
{
	struct spawner *sp;
	char *buf;
	long v;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->base = base;
	sp->last_cap = CAP_LAST_CAP;
	sp->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	sp->pins = initpin_cache_new();
	if (!sp->pins) {
		spawner_free(sp);
		return NULL;
	}
	sp->stack = spawner_stack_new();
	if (!read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &buf,
			  NULL, NULL)) {
		v = strtol(buf, NULL, 10);
		if (v > 0 && v < 64)
			sp->last_cap = v;
		free(buf);
	}
	if (base) {
		sp->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, sp);
		if (!sp->sigchld || evsignal_add(sp->sigchld, NULL)) {
			spawner_free(sp);
			return NULL;
		}
	}
	return sp;
}

void spawner_free(struct spawner *sp)
{
	if (!sp)
		return;
	if (sp->sigchld)
		event_free(sp->sigchld);
	/* Helpers live for microseconds: waiting for them is bounded. */
	spawner_reap(sp, true);
	free(sp->helpers);
	if (sp->proc_fd >= 0)
		close(sp->proc_fd);
	if (sp->stack)
		munmap(sp->stack, SPAWN_STACK_SIZE);
	initpin_cache_free(sp->pins);
	free(sp);
}

void spawner_prune(struct spawner *sp)
{
	if (sp)
		initpin_cache_prune(sp->pins);
}

/* Put entry ("NAME=VALUE") into envp (n entries, room for one more),
 * replacing one of the same name. */
static void env_set(char **envp, size_t *n, char *entry)
{
	size_t i, len = strchr(entry, '=') - entry + 1;

	for (i = 0; i < *n; i++)
		if (!strncmp(envp[i], entry, len))
			break;
	envp[i] = entry;
	if (i == *n)
		(*n)++;
}

/* The container's environment, then home ("HOME=..." of a user the
 * request named, or NULL), then env_extra's entries, each replacing one of
 * the same name. The strings are borrowed. */
static int build_env(const struct container *c, char *home, char *const *extra,
		     char ***out, char *err, size_t errlen)
{
	size_t n = 0, m = 0, k;
	const char *eq;
	char **envp;

	while (c->env && c->env[n])
		n++;
	while (extra && extra[m])
		m++;
	for (k = 0; k < m; k++) {
		eq = strchr(extra[k], '=');
		if (!eq || eq == extra[k]) {
			snprintf(err, errlen, "env %s: not NAME=VALUE",
				 extra[k]);
			return -EINVAL;
		}
	}
	envp = calloc(n + m + 2, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	if (n)
		memcpy(envp, c->env, n * sizeof(*envp));
	if (home)
		env_set(envp, &n, home);
	for (k = 0; k < m; k++)
		env_set(envp, &n, extra[k]);
	*out = envp;
	return 0;
}

/* Where execvp would look for argv[0], resolved later inside the
 * container's root. */
static int build_paths(const char *file, char **envp, char ***out)
{
	const char *path = SPAWN_DEFAULT_PATH, *dir, *end;
	char **paths;
	size_t n = 0, i, dlen;

	for (i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	paths = calloc(SPAWN_MAX_PATH_DIRS + 1, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	if (strchr(file, '/')) {
		paths[0] = strdup(file);
		if (!paths[0])
			goto out_nomem;
		*out = paths;
		return 0;
	}
	if (!*file || strlen(file) > NAME_MAX) {
		*out = paths; /* nothing to try: ENOENT */
		return 0;
	}
	for (dir = path; n < SPAWN_MAX_PATH_DIRS; dir = end + 1) {
		end = strchrnul(dir, ':');
		dlen = end - dir;
		if (dlen < PATH_MAX - NAME_MAX - 2) {
			/* An empty entry means the current directory. */
			if (asprintf(&paths[n], "%.*s/%s", (int)dlen,
				     dlen ? dir : ".", file) < 0) {
				paths[n] = NULL;
				goto out_nomem;
			}
			n++;
		}
		if (!*end)
			break;
	}
	*out = paths;
	return 0;

out_nomem:
	strv_free(paths);
	return -ENOMEM;
}

static void read_oom(struct spawn_plan *p)
{
	char path[64], *buf;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)p->c->pid);
	if (read_file_at(AT_FDCWD, path, sizeof(p->oom) - 1, &buf, &len, NULL))
		return;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	memcpy(p->oom, buf, len);
	p->oom[len] = '\0';
	free(buf);
}

/* A pipe whose child end is not 0-2 (B dup2()s onto those) and whose
 * agent end is non-blocking. */
static int make_pipe(int fds[2], int child_end)
{
	int fd;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fds[child_end] < 3) {
		fd = fcntl(fds[child_end], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			fd = -errno;
			close(fds[0]);
			close(fds[1]);
			return fd;
		}
		close(fds[child_end]);
		fds[child_end] = fd;
	}
	if (fcntl(fds[!child_end], F_SETFL, O_NONBLOCK) < 0) {
		fd = -errno;
		close(fds[0]);
		close(fds[1]);
		return fd;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* One message from the report socket; a passed fd lands in *fd (-1 if
 * none). Returns what recvmsg returned. */
static ssize_t report_recv(int sock, struct spawn_msg *m, int *fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			if (*fd >= 0)
				close(*fd);
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
		}
	/* A cut control message (MSG_CTRUNC) dropped what it carried. */
	return n;
}

/*
 * Wait (bounded) for A's message with B's pid (and, with a tty, the pty
 * master in *master). B may report a failure before A reports the pid
 * (they race once B exists): then the failure is returned here, after B
 * was reaped.
 */
static int read_pid(pid_t helper, int fd, bool tty, pid_t *pid, int *master,
		    char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct spawn_msg m, failure = { 0 };
	struct timespec deadline;
	int rc, passed;
	ssize_t n;

	*pid = -1;
	*master = -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SPAWN_HELPER_TIMEOUT_MS / 1000;
	while (*pid < 0) {
		rc = poll(&pfd, 1, ms_left(&deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			kill(helper, SIGKILL);
			snprintf(err, errlen, "spawn helper timed out");
			return -EIO;
		}
		n = report_recv(fd, &m, &passed);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0)
			break;
		if (n != sizeof(m) || !msg_valid(&m)) {
			if (passed >= 0)
				close(passed);
			snprintf(err, errlen, "spawn helper: bad report");
			rc = -EIO;
			goto out_reap;
		}
		if (m.type == SPAWN_MSG_PID && m.pid > 0 && tty) {
			*pid = m.pid;
			*master = passed;
		} else if (m.type == SPAWN_MSG_PID && m.pid > 0) {
			*pid = m.pid;
			if (passed >= 0)
				close(passed);
		} else {
			if (passed >= 0)
				close(passed);
			if (m.type == SPAWN_MSG_ERROR && !failure.magic)
				failure = m;
		}
	}
	if (failure.magic) {
		format_report(&failure, err, errlen);
		/* A pty that could not be made is the agent's failure, not
		 * a missing program: the message has the real reason. */
		rc = failure.stage == STAGE_PTY ? -EIO : -failure.err;
		goto out_reap;
	}
	if (*pid < 0) {
		snprintf(err, errlen, "spawn helper died");
		return -EIO;
	}
	if (tty && *master < 0) {
		snprintf(err, errlen, "pty: the helper sent no terminal");
		rc = -EIO;
		goto out_reap;
	}
	return 0;

out_reap:
	if (*master >= 0)
		close_fd(master);
	if (*pid > 0) {
		/* B is exiting; SIGKILL makes sure of it. */
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return rc;
}

/*
 * Start A, sharing our memory when it can (see the top of the file), else
 * as a fork. -1 with errno when neither worked. When it shared, A has
 * released our memory by the time this returns: it made its report and is
 * exiting.
 */
static pid_t helper_start(struct spawner *sp, struct spawn_plan *p)
{
	sigset_t all, old;
	int dumpable = -1, saved;
	bool shared;
	pid_t pid;

	shared = sp->stack && !p->tty && !(p->pin->nsflags & CLONE_NEWTIME);
	/* No agent signal handler may run in the children before they reset
	 * the dispositions (libevent's would write to the agent's socket,
	 * and, in A, run on our memory). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (shared) {
		dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		pid = clone(helper_vfork_main, sp->stack + SPAWN_STACK_SIZE,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, p);
		saved = errno;
		/* A made the mm non-dumpable for B's copy; ours again. */
		if (dumpable == 1)
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		errno = saved;
	} else {
		pid = fork();
		if (pid == 0)
			helper_main(p);
	}
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return pid;
}

/* A socketpair for the reports: the children's end is not 0-2 (B keeps
 * it across its dup2()s), the agent's is non-blocking. */
static int make_report_socket(int fds[2])
{
	int fd, rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	if (fds[1] < 3) {
		fd = fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			goto out_close;
		close(fds[1]);
		fds[1] = fd;
	}
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0)
		goto out_close;
	return 0;

out_close:
	rc = -errno;
	close_fd(&fds[0]);
	close_fd(&fds[1]);
	return rc;
}

/* The request's user, from the files of the pinned init's root. */
static int resolve_user(const struct container *c, const char *user,
			struct user_creds *creds, char *err, size_t errlen)
{
	char path[64];
	int rootfd, rc;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)c->pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "container %s: root: %s", c->id,
			 strerror(-rc));
		return rc == -ENOENT || rc == -ESRCH ? -ENOENT : rc;
	}
	rc = userdb_resolve_in_root(rootfd, user, creds, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	close(rootfd);
	return rc;
}

int spawn_start(struct spawner *sp, const struct container *c,
		const struct exec_spec *req, struct spawn_result *res,
		char *err, size_t errlen)
{
	struct user_creds creds = { 0 };
	struct spawn_plan p;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int rep[2] = { -1, -1 }, master = -1, pidfd = -1;
	int fd_in = -1, fd_out = -1;
	pid_t helper = -1, pid = -1;
	char *home = NULL;
	size_t i;
	int rc;

	memset(&p, 0, sizeof(p));
	snprintf(err, errlen, "%s", "");
	if (!c || !req->argv || !req->argv[0]) {
		snprintf(err, errlen, "no command");
		return -EINVAL;
	}

	/* The init pinned and checked to be the one runc started (see
	 * initpin.h), with its namespaces and cgroups. */
	rc = initpin_get(sp->pins, c, &p.pin, err, errlen);
	if (rc < 0)
		return rc;
	if (req->user) {
		rc = resolve_user(c, req->user, &creds, err, errlen);
		/* Again: the files looked at must have been the init's. */
		if (!rc)
			rc = initpin_check(c, err, errlen);
	}
	if (rc < 0)
		goto out;

	p.c = c;
	p.argv = req->argv;
	p.cwd = req->cwd ? req->cwd : c->cwd ? c->cwd : "/";
	if (req->user) {
		p.uid = creds.uid;
		p.gid = creds.gid;
		p.groups = creds.groups;
		p.ngroups = creds.ngroups;
		if (creds.home && asprintf(&home, "HOME=%s", creds.home) < 0) {
			home = NULL;
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	} else {
		p.uid = c->uid;
		p.gid = c->gid;
		p.groups = c->groups;
		p.ngroups = c->ngroups;
	}
	p.tty = req->tty;
	p.ws.ws_col = req->cols ? req->cols : SPAWN_TTY_COLS;
	p.ws.ws_row = req->rows ? req->rows : SPAWN_TTY_ROWS;
	p.last_cap = sp->last_cap;
	p.proc_fd = sp->proc_fd;
	p.max_fd = sysconf(_SC_OPEN_MAX) > 0 ? sysconf(_SC_OPEN_MAX) : 1024;
	p.nofile = fdlimit_original();
	sigemptyset(&p.empty_mask);
	rc = build_env(c, home, req->env, &p.envp, err, errlen);
	if (!rc)
		rc = build_paths(req->argv[0], p.envp, &p.paths);
	if (rc < 0)
		goto out;
	read_oom(&p);

	if (!req->tty) {
		rc = make_pipe(in, 0);
		if (!rc)
			rc = make_pipe(out, 1);
		if (!rc && !req->merge_stderr)
			rc = make_pipe(errp, 1);
		if (rc < 0)
			goto out;
		p.child_fd[0] = in[0];
		p.child_fd[1] = out[1];
		p.child_fd[2] = req->merge_stderr ? out[1] : errp[1];
	}
	rc = make_report_socket(rep);
	if (rc < 0)
		goto out;
	p.report_w = rep[1];

	helper = helper_start(sp, &p);
	if (helper < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		goto out;
	}
	close_fd(&rep[1]);
	if (!sp->sigchld || spawner_track(sp, helper) < 0) {
		/* No loop to reap it later: it exits right after its one
		 * report, so waiting after reading that is bounded. */
		rc = read_pid(helper, rep[0], req->tty, &pid, &master, err,
			      errlen);
		while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
			;
	} else {
		rc = read_pid(helper, rep[0], req->tty, &pid, &master, err,
			      errlen);
	}
	if (rc < 0) {
		pid = -1; /* read_pid reaped it */
		goto out;
	}

	/* B is our unreaped child: its pid cannot be reused yet. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "pidfd_open: %s", strerror(-rc));
		goto out;
	}
	if (req->tty) {
		/* Separate descriptions would do as well; dups keep one
		 * O_NONBLOCK master the session reads and writes apart. */
		fd_in = fcntl(master, F_DUPFD_CLOEXEC, 3);
		fd_out = fd_in < 0 ? -1 : fcntl(master, F_DUPFD_CLOEXEC, 3);
		if (fd_out < 0) {
			rc = -errno;
			snprintf(err, errlen, "pty: dup: %s", strerror(-rc));
			goto out;
		}
	} else {
		fd_in = in[1];
		fd_out = out[0];
		in[1] = out[0] = -1;
	}
	res->pid = pid;
	res->pidfd = pidfd;
	res->stdin_fd = fd_in;
	res->stdout_fd = fd_out;
	res->stderr_fd = errp[0];
	res->tty_fd = master;
	res->report_fd = rep[0];
	errp[0] = master = rep[0] = pidfd = fd_in = fd_out = -1;
	pid = -1;
	rc = 0;

out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&pidfd);
	close_fd(&master);
	close_fd(&fd_in);
	close_fd(&fd_out);
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	for (i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&errp[i]);
	}
	strv_free(p.paths);
	free(p.envp);
	free(home);
	user_creds_release(&creds);
	/* What failed in the helpers may have been the cached view of the
	 * init (a cgroup gone, a namespace it left): the next start looks
	 * again. */
	if (rc < 0 && helper > 0)
		initpin_drop(sp->pins, p.pin);
	return rc;
}

int spawn_report_read(int report_fd, char *err, size_t errlen)
{
	struct spawn_msg m;
	ssize_t n;

	n = read(report_fd, &m, sizeof(m));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return -EAGAIN;
		snprintf(err, errlen, "report: %s", strerror(errno));
		return -EIO;
	}
	if (n == 0)
		return 0; /* B's copy closed at execve */
	if (n != sizeof(m) || !msg_valid(&m)) {
		snprintf(err, errlen, "report: malformed");
		return -EIO;
	}
	if (m.type != SPAWN_MSG_ERROR)
		return -EAGAIN;
	format_report(&m, err, errlen);
	return m.err > 0 ? -m.err : -EIO;
}

int spawn_reap(int pidfd, int *status)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, pidfd, &si, WEXITED | WNOHANG) < 0)
		return -errno;
	if (si.si_pid == 0)
		return -EAGAIN;
	switch (si.si_code) {
	case CLD_EXITED:
		*status = (si.si_status & 0xff) << 8;
		return 0;
	case CLD_KILLED:
		*status = si.si_status & 0x7f;
		return 0;
	case CLD_DUMPED:
		*status = (si.si_status & 0x7f) | 0x80;
		return 0;
	}
	return -EIO;
}
