/*
 * The spawner (spawn.h) and a start in progress. The spawner owns what
 * every start shares: the cache of pinned inits (initpin.h), helper A's
 * stack, the host's /proc and /dev/null that B uses for a moment, whether
 * clone3 may be used, and the list of processes of ours it reaps: A after
 * each start, and B of every start that failed or was abandoned before it
 * was handed over. It reaps them on SIGCHLD with waitpid(pid, WNOHANG),
 * never waitpid(-1): a started session's process is its caller's to reap,
 * through the pidfd.
 *
 * A start is a struct spawn_entry from spawn_start() until it is handed
 * over: once B exists, or with a tty once B's READY brought the terminal
 * through the report socket; spawn_entry_step() reads it without blocking.
 * When A forked (spawn_plan.c), A's PID report comes too, and B's reports
 * may come before it: they are kept until B's pid is known, and taken
 * only if their sender (SO_PASSCRED) is that pid.
 */
#include "spawn_internal.h"

#include "initpin.h"
#include "readfile.h"
#include "signame.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ctrfile.h"
#include "execfs/log.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- reaping ---------------------------------------------------------- */

int spawner_track(struct spawner *sp, pid_t pid)
{
	pid_t *bigger;
	size_t cap;

	if (sp->nreap == sp->cap) {
		cap = sp->cap ? sp->cap * 2 : 8;
		bigger = realloc(sp->reap, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		sp->reap = bigger;
		sp->cap = cap;
	}
	sp->reap[sp->nreap++] = pid;
	return 0;
}

static void spawner_reap(struct spawner *sp, bool block)
{
	size_t i = 0;
	pid_t r;

	while (i < sp->nreap) {
		r = waitpid(sp->reap[i], NULL, block ? 0 : WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			i++;
			continue;
		}
		sp->reap[i] = sp->reap[--sp->nreap];
	}
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	spawner_reap(arg, false);
}

/* Kill pid (a child of ours) and reap it later. With no memory to track
 * it, it stays a zombie until the agent exits: logged. */
static void kill_and_track(struct spawner *sp, pid_t pid)
{
	kill(pid, SIGKILL);
	if (spawner_track(sp, pid) < 0)
		log_warn("pid %d: out of memory: left unreaped", (int)pid);
}

/* ---- a start in progress ---------------------------------------------- */

static void entry_release(struct spawn_entry *e)
{
	int i;

	close_fd(&e->report);
	close_fd(&e->pidfd);
	close_fd(&e->master);
	for (i = 0; i < 3; i++)
		close_fd(&e->fds[i]);
	if (e->ev)
		event_free(e->ev);
	free(e->id);
	free(e);
}

/* Whether pid is a child of ours (exited or not) that nobody reaped. */
static bool is_our_child(pid_t pid)
{
	siginfo_t si;

	return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* The start failed or was abandoned: B is killed, and reaped by us. */
static void entry_kill(struct spawn_entry *e)
{
	/* A died between its clone and its report (it was killed): B is
	 * known only as the sender of its own early report, and only taken
	 * for ours if it is our child. */
	if (!e->pid && e->early_sender > 0 && is_our_child(e->early_sender))
		e->pid = e->early_sender;
	if (e->pid > 0)
		kill_and_track(e->sp, e->pid);
	e->pid = 0;
	entry_release(e);
}

int spawn_entry_fd(const struct spawn_entry *e)
{
	return e->report;
}

/* A pty master, as B must send it: the multiplexer device, and a
 * master (only masters answer TIOCGPTN). */
static bool is_master(int fd)
{
	struct stat st;
	unsigned n;

	return fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	       major(st.st_rdev) == CTRFILE_PTMX_MAJOR &&
	       minor(st.st_rdev) == CTRFILE_PTMX_MINOR &&
	       ioctl(fd, TIOCGPTN, &n) == 0;
}

static int entry_have_pid(struct spawn_entry *e, pid_t pid, char *err,
			  size_t errlen)
{
	e->pid = pid;
	/* B is our unreaped child: its pid cannot be reused yet. */
	e->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (e->pidfd < 0) {
		snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int entry_ready(struct spawn_entry *e, struct spawn_result *res,
		       char *err, size_t errlen)
{
	int in = e->fds[0], out = e->fds[1];

	if (e->tty && !is_master(e->master)) {
		snprintf(err, errlen,
			 "pty: the entering process sent no "
			 "terminal");
		return -EIO;
	}
	if (e->tty) {
		/* Separate descriptions would do as well; dups keep one
		 * O_NONBLOCK master the session reads and writes apart. */
		in = fcntl(e->master, F_DUPFD_CLOEXEC, 3);
		out = in < 0 ? -1 : fcntl(e->master, F_DUPFD_CLOEXEC, 3);
		if (out < 0) {
			snprintf(err, errlen, "pty: dup: %s", strerror(errno));
			if (in >= 0)
				close(in);
			return -EIO;
		}
	}
	res->pid = e->pid;
	res->pidfd = e->pidfd;
	res->stdin_fd = in;
	res->stdout_fd = out;
	res->stderr_fd = e->fds[2];
	res->tty_fd = e->master;
	res->report_fd = e->report;
	e->pidfd = e->master = e->report = e->fds[2] = -1;
	if (!e->tty)
		e->fds[0] = e->fds[1] = -1;
	e->pid = 0;
	return 0;
}

/* B's report ended before its READY: B died. How, if it is a zombie
 * already (its end of the report closes a moment before; it is not
 * waited for). */
static void entry_death(const struct spawn_entry *e, char *err, size_t errlen)
{
	siginfo_t si;
	char name[16];

	memset(&si, 0, sizeof(si));
	if (e->pidfd < 0 ||
	    waitid(P_PIDFD, e->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid == 0)
		snprintf(err, errlen, "the entering process died");
	else if (si.si_code == CLD_EXITED)
		snprintf(err, errlen,
			 "the entering process died: exit status %d",
			 si.si_status);
	else
		snprintf(err, errlen,
			 "the entering process died: killed by SIG%s",
			 signal_abbrev(si.si_status, name, sizeof(name)));
}

/* One message in; 1: go on reading, 0: ready, -errno: failed (err says
 * why). fd is the one the message carried. */
static int entry_take(struct spawn_entry *e, const struct spawn_msg *m, int fd,
		      pid_t from, char *err, size_t errlen)
{
	bool early = !e->pid; /* before A's PID report */

	switch (m->type) {
	case SPAWN_MSG_PID:
		if (!e->helper || from != e->helper || m->pid <= 0)
			break;
		e->helper = 0;
		if (entry_have_pid(e, m->pid, err, errlen) < 0)
			return -EIO;
		if (e->early_sender && e->early_sender != e->pid)
			break; /* an early report that was not B's */
		if (e->failure.magic)
			return -EIO;
		return e->ready || !e->tty ? 0 : 1;
	case SPAWN_MSG_READY:
		if (e->ready || (early ? !from : from != e->pid))
			break;
		if (early)
			e->early_sender = from;
		e->ready = true;
		if (e->tty) {
			e->master = fd;
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
		return early ? 1 : 0;
	case SPAWN_MSG_ERROR:
		if (fd >= 0)
			close(fd);
		if (e->helper && from == e->helper) {
			e->failure = *m; /* A's: there is no B */
			e->helper = 0;
			return -EIO;
		}
		if (early ? !from : from != e->pid)
			break;
		e->failure = *m;
		if (early) {
			e->early_sender = from;
			return 1; /* B is still to be reaped */
		}
		return -EIO;
	case SPAWN_MSG_IDS:
		/* B's ids, read here only when B got that far before A's
		 * PID was read (cut to its header): the holder of
		 * report_fd then has no ids to audit. */
		if (early ? !from : from != e->pid)
			break;
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen, "spawn: a malformed report");
	return -EIO;
}

int spawn_entry_step(struct spawn_entry *e, struct spawn_result *res, char *err,
		     size_t errlen)
{
	struct spawn_msg m;
	pid_t from;
	ssize_t n;
	int fd, rc;

	/* Without a tty, B is handed over as soon as it exists: what it
	 * reports from then on (READY, or a failure) is the session's to
	 * read. With one, its READY brings the terminal. */
	while (!e->pid || e->tty) {
		n = spawn_msg_recv(e->report, &m, &fd, &from);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "report: %s", strerror(-rc));
			goto out_fail;
		}
		if (n == 0) {
			if (e->failure.magic && !e->helper)
				goto out_failed;
			if (e->helper)
				snprintf(err, errlen, "spawn helper died");
			else
				entry_death(e, err, errlen);
			rc = -EIO;
			goto out_fail;
		}
		if (n != sizeof(m) || !spawn_msg_valid(&m)) {
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "spawn: a malformed report");
			rc = -EIO;
			goto out_fail;
		}
		rc = entry_take(e, &m, fd, from, err, errlen);
		if (rc == 0)
			break;
		if (rc < 0 && e->failure.magic)
			goto out_failed;
		if (rc < 0)
			goto out_fail;
	}
	rc = entry_ready(e, res, err, errlen);
	if (rc < 0)
		goto out_fail;
	entry_release(e);
	return 0;

out_failed:
	spawn_msg_format(&e->failure, err, errlen);
	rc = -spawn_msg_errno(&e->failure);
	/* A cgroup or namespace that failed may be the cached view of the
	 * init (a cgroup gone, a namespace it left): look again next time.
	 * What the container holds (users, files, programs) is no reason.
	 * (B's failures after the handover are the session's: they fail
	 * that start, closed, and the entry goes when the init does.) */
	if (e->failure.stage == STAGE_SETNS ||
	    e->failure.stage == STAGE_CLONE ||
	    e->failure.stage == STAGE_CGROUP ||
	    e->failure.stage == STAGE_CGROUPNS)
		initpin_forget(e->sp->pins, e->id);
out_fail:
	entry_kill(e);
	return rc;
}

/* An abandoned entry whose A has not said B's pid yet: read on until it
 * does (or ends), then kill B. */
static void abandoned_step(struct spawn_entry *e)
{
	struct spawner *sp = e->sp;
	struct spawn_entry **pp;
	struct spawn_msg m;
	pid_t from;
	ssize_t n;
	int fd;

	for (;;) {
		n = spawn_msg_recv(e->report, &m, &fd, &from);
		if (fd >= 0)
			close(fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n > 0 && n == sizeof(m) && spawn_msg_valid(&m) &&
		    m.type == SPAWN_MSG_PID && from == e->helper && m.pid > 0) {
			e->pid = m.pid;
			break;
		}
		if (n > 0 && !(n == sizeof(m) && spawn_msg_valid(&m) &&
			       m.type == SPAWN_MSG_ERROR && from == e->helper))
			continue; /* B's, early */
		break; /* EOF, an error, or A failed: there is no B */
	}
	for (pp = &sp->abandoned; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	entry_kill(e);
}

static void abandoned_cb(evutil_socket_t fd, short what, void *arg)
{
	abandoned_step(arg);
}

void spawn_entry_abandon(struct spawn_entry *e)
{
	struct spawner *sp = e->sp;

	if (!e->helper) {
		entry_kill(e);
		return;
	}
	e->next = sp->abandoned;
	sp->abandoned = e;
	if (sp->base) {
		e->ev = event_new(sp->base, e->report, EV_READ | EV_PERSIST,
				  abandoned_cb, e);
		if (e->ev && event_add(e->ev, NULL) == 0) {
			abandoned_step(e);
			return;
		}
		log_error("spawn: out of memory: waiting for helper %d",
			  (int)e->helper);
	}
	/* No loop (tests), or no event: A reports at once, so waiting for
	 * it here is bounded. */
	fcntl(e->report, F_SETFL, 0);
	abandoned_step(e);
}

void spawner_settle(struct spawner *sp)
{
	struct spawn_entry *e;

	if (!sp)
		return;
	/* A reports at once (spawn_entry_abandon): bounded. */
	while ((e = sp->abandoned)) {
		if (e->ev)
			event_del(e->ev);
		fcntl(e->report, F_SETFL, 0);
		abandoned_step(e);
	}
	spawner_reap(sp, true);
}

/* ---- the spawner ------------------------------------------------------ */

/* A's stack and B's, each with a guard page below it; NULL (every start
 * forks) when they cannot be had. */
static char *spawner_stack_new(void)
{
	char *stack;

	if (!SPAWN_SHARED_STACK)
		return NULL;
	stack = mmap(NULL, 2 * SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED)
		return NULL;
	if (mprotect(stack, getpagesize(), PROT_NONE) < 0 ||
	    mprotect(stack + SPAWN_STACK_SIZE, getpagesize(), PROT_NONE) < 0) {
		munmap(stack, 2 * SPAWN_STACK_SIZE);
		return NULL;
	}
	return stack;
}

/* Whether clone3 can be called: a seccomp profile may answer it with
 * ENOSYS (Docker's and containerd's defaults do) or EPERM. A call with
 * no arguments is refused with EINVAL by a kernel that has it, and
 * creates nothing. */
static bool clone3_usable(void)
{
	long rc = syscall(SYS_clone3, NULL, 0);

	return rc < 0 && errno == EINVAL;
}

struct spawner *spawner_new(struct event_base *base)
{
	struct spawner *sp;
	char *buf;
	long v;
	int rc;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->base = base;
	sp->last_cap = CAP_LAST_CAP;
	sp->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	sp->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Ours, read again at each start (spawn_plan.c): what B inherits. */
	sp->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	sp->limits_fd = open("/proc/self/limits", O_RDONLY | O_CLOEXEC);
	sp->clone3 = clone3_usable();
	if (!sp->clone3)
		log_info("clone3 is not available (%s): processes are placed "
			 "in their cgroup v2 by a cgroup.procs write",
			 strerror(errno));
	sp->pins = initpin_cache_new();
	if (!sp->pins) {
		spawner_free(sp);
		return NULL;
	}
	sp->stack = spawner_stack_new();
	rc = sp->stack ? spawn_mem_scan(&sp->mem) : 0;
	if (rc < 0)
		log_info("spawn: each process entering a container gets a "
			 "copy of all our memory: %s",
			 rc == -ENOTSUP ? "symbols are bound lazily" :
			 rc == -EPERM	? "a library is preloaded" :
					  strerror(-rc));
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
	while (sp->abandoned) {
		/* A reports at once: waiting for it is bounded. */
		if (sp->abandoned->ev) {
			event_free(sp->abandoned->ev);
			sp->abandoned->ev = NULL;
		}
		fcntl(sp->abandoned->report, F_SETFL, 0);
		abandoned_step(sp->abandoned);
	}
	/* Everything here was killed, or is a helper that lives for
	 * microseconds: waiting for them is bounded. */
	spawner_reap(sp, true);
	free(sp->reap);
	if (sp->proc_fd >= 0)
		close(sp->proc_fd);
	if (sp->null_fd >= 0)
		close(sp->null_fd);
	if (sp->status_fd >= 0)
		close(sp->status_fd);
	if (sp->limits_fd >= 0)
		close(sp->limits_fd);
	if (sp->stack)
		munmap(sp->stack, 2 * SPAWN_STACK_SIZE);
	spawn_arena_free(&sp->arena);
	initpin_cache_free(sp->pins);
	free(sp);
}

void spawner_prune(struct spawner *sp)
{
	if (sp)
		initpin_cache_prune(sp->pins);
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
