/*
 * The worker's seccomp allowlist (sandbox.h), built with libseccomp and
 * loaded on the worker itself, and the SIGSYS handler that names a call
 * outside it. The handler runs in a process the filter already confines:
 * it only formats into its stack and makes calls the list allows (write,
 * clock_gettime, rt_sigaction, getpid, gettid, tgkill to itself).
 */
#include "sandbox.h"

#include <errno.h>
#include <execfs/log.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SB_NAMES 1024 /* syscall numbers named in the log line */

#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || \
	__has_feature(undefined_behavior_sanitizer)
#define SB_SANITIZER 1
#endif
#endif

/* What the worker does while it serves (strace of the integration tests;
 * docs/SECURITY.md). Names this architecture lacks are skipped. */
static const char *const allowed[] = {
	/* the event loop and its fds */
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_ctl",
	"poll",
	"ppoll",
	"read",
	"readv",
	"write",
	"writev",
	"close",
	"fcntl",
	"dup",
	"dup2",
	"dup3",
	"lseek",
	"fstat",
	"newfstatat",
	"fsync",
	"fdatasync",
	"timerfd_settime",
	"timerfd_gettime",
	/* sockets it holds: accept, TLS records, the monitor's channel with
	 * the fds it passes */
	"accept",
	"accept4",
	"recvmsg",
	"sendmsg",
	"recvfrom",
	"sendto",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	/* memory (mmap and mprotect: below, without PROT_EXEC) */
	"brk",
	"munmap",
	"mremap",
	"madvise",
	/* time, randomness, scheduling, locks */
	"clock_gettime",
	"clock_getres",
	"gettimeofday",
	"time",
	"nanosleep",
	"clock_nanosleep",
	"getrandom",
	"sched_yield",
	"futex",
	/* signals (kill and tgkill: below, to itself only) */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"restart_syscall",
	"getpid",
	"gettid",
	/* who it is */
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"getgroups",
	"uname",
	/* the end */
	"exit",
	"exit_group",
#ifdef SB_SANITIZER
	/* The sanitizers' runtime: LeakSanitizer stops the world at exit.
	 * It makes the process dumpable again (prctl), clones a tracer task
	 * (clone) that checks its parent (getppid), lists /proc/self/task
	 * (open, getdents: the old call on x86_64), attaches to each thread
	 * (ptrace, wait4) and reads the maps; reports read /proc/self/exe.
	 * The tracer runs with every signal blocked: a call of its outside
	 * this list kills it with SIGSYS without the handler's log line, and
	 * the worker then spins in sched_yield() waiting for it for ever, a
	 * worker outliving its monitor that only SIGKILL ends
	 * (tests/unit/test_agent_sandbox.c exits through the check). Test
	 * builds only. */
	"clone",
	"getppid",
	"ptrace",
	"wait4",
	"prctl",
	"getdents",
	"getdents64",
	"readlink",
	"readlinkat",
	"sched_getaffinity",
	"pipe2",
	"openat",
	"open",
	"mprotect",
	"mmap",
	"prlimit64",
	"kill",
	"tgkill",
#endif
};

/* Paths: refused without killing (libc may try one). */
static const char *const refused[] = { "open",	 "openat",   "openat2",
				       "creat",	 "unlink",   "unlinkat",
				       "rename", "renameat", "renameat2" };

/* Terminal and socket requests on fds the worker holds: resize, a
 * terminal's signal, reading the size and the mode. */
static const unsigned long ioctls[] = { TCGETS,	 TIOCGWINSZ, TIOCSWINSZ,
					TIOCSIG, FIONREAD,   FIONBIO };

/* For the SIGSYS handler, set once before the filter. */
static int sb_log_fd = -1;
static const char *sb_prog = "execfs-agent";
static uint32_t sb_arch; /* AUDIT_ARCH_* of this build */
static char *sb_names[SB_NAMES];

/* ---- the SIGSYS handler: async-signal-safe ---- */

static size_t put(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, unsigned long n,
		      int width)
{
	char tmp[24];
	int i = 0;

	do
		tmp[i++] = (char)('0' + n % 10);
	while ((n /= 10) || i < width);
	while (i && at < cap)
		buf[at++] = tmp[--i];
	return at;
}

/* Days since 1970-01-01 to a Gregorian date (gmtime_r is not
 * async-signal-safe). */
static void civil(long days, long *y, unsigned *m, unsigned *d)
{
	long era, z = days + 719468;
	unsigned doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long)yoe + era * 400 + (*m <= 2);
}

/* The log's own line shape: "TIME PROG[PID]: error: sandbox: ...". */
static size_t line_head(char *buf, size_t cap)
{
	struct timespec ts;
	unsigned long sec;
	unsigned m, d;
	size_t n = 0;
	long y;

	clock_gettime(CLOCK_REALTIME, &ts);
	sec = (unsigned long)ts.tv_sec;
	civil((long)(sec / 86400), &y, &m, &d);
	n = put_num(buf, n, cap, (unsigned long)y, 4);
	n = put(buf, n, cap, "-");
	n = put_num(buf, n, cap, m, 2);
	n = put(buf, n, cap, "-");
	n = put_num(buf, n, cap, d, 2);
	n = put(buf, n, cap, "T");
	n = put_num(buf, n, cap, sec % 86400 / 3600, 2);
	n = put(buf, n, cap, ":");
	n = put_num(buf, n, cap, sec % 3600 / 60, 2);
	n = put(buf, n, cap, ":");
	n = put_num(buf, n, cap, sec % 60, 2);
	n = put(buf, n, cap, ".");
	n = put_num(buf, n, cap, (unsigned long)ts.tv_nsec / 1000000, 3);
	n = put(buf, n, cap, "Z ");
	n = put(buf, n, cap, sb_prog);
	n = put(buf, n, cap, "[");
	n = put_num(buf, n, cap, (unsigned long)getpid(), 1);
	return put(buf, n, cap, "]: error: sandbox: ");
}

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;
	const char *name = NULL;
	char line[512];
	size_t n;
	int nr = si->si_syscall;

	(void)uc;
	if (si->si_arch == sb_arch && nr >= 0 && nr < SB_NAMES)
		name = sb_names[nr];
	n = line_head(line, sizeof(line) - 1);
	n = put(line, n, sizeof(line) - 1, "system call ");
	n = put_num(line, n, sizeof(line) - 1, (unsigned long)nr, 1);
	n = put(line, n, sizeof(line) - 1, " (");
	n = put(line, n, sizeof(line) - 1, name ? name : "unknown");
	n = put(line, n, sizeof(line) - 1,
		") is outside the worker's seccomp sandbox: killed with SIGSYS");
	line[n++] = '\n';
	if (write(sb_log_fd, line, n) < 0) {
		/* nothing else to do: the death says it too */
	}
	/* Die of SIGSYS: the default action, delivered as the handler
	 * returns (it is blocked until then). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
}

/* ---- building the filter ---- */

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name,
	       unsigned ncond, const struct scmp_arg_cmp *cond, char *err,
	       size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(name), rc;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call of this architecture */
	rc = seccomp_rule_add_array(ctx, action, nr, ncond, cond);
	if (rc < 0)
		snprintf(err, errlen, "sandbox: rule for %s: %s", name,
			 strerror(-rc));
	return rc;
}

/* libseccomp's SCMP_An() macros leave datum_b unset: spelled out. */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op,
				   scmp_datum_t a, scmp_datum_t b)
{
	return (struct scmp_arg_cmp){ arg, op, a, b };
}

static int add_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct scmp_arg_cmp no_exec =
		arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	const struct scmp_arg_cmp self =
		arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	const struct scmp_arg_cmp get_only = arg_cmp(2, SCMP_CMP_EQ, 0, 0);
	struct scmp_arg_cmp req;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !rc; i++)
		rc = add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, err, errlen);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]) && !rc; i++) {
#ifdef SB_SANITIZER
		/* The sanitizers read /proc: open is allowed above. */
		if (!strcmp(refused[i], "open") ||
		    !strcmp(refused[i], "openat"))
			continue;
#endif
		rc = add(ctx, SCMP_ACT_ERRNO(EACCES), refused[i], 0, NULL, err,
			 errlen);
	}
#ifndef SB_SANITIZER
	/* No new executable memory: data only. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, "mmap", 1, &no_exec, err, errlen);
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, "mprotect", 1, &no_exec, err,
			 errlen);
	/* abort() and the SIGSYS handler signal the worker itself. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, "kill", 1, &self, err, errlen);
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &self, err, errlen);
	/* getrlimit(), never a new limit. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &get_only, err,
			 errlen);
#else
	(void)no_exec;
	(void)self;
	(void)get_only;
#endif
	for (i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]) && !rc; i++) {
		req = arg_cmp(1, SCMP_CMP_EQ, ioctls[i], 0);
		rc = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &req, err, errlen);
	}
	return rc;
}

static void names_load(void)
{
	int nr;

	for (nr = 0; nr < SB_NAMES; nr++)
		if (!sb_names[nr])
			sb_names[nr] = seccomp_syscall_resolve_num_arch(
				SCMP_ARCH_NATIVE, nr);
}

int sandbox_worker_enter(char *err, size_t errlen)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int rc;

	/* Everything the handler reads, before the filter. */
	sb_log_fd = log_fileno();
	sb_prog = log_progname();
	sb_arch = seccomp_arch_native();
	names_load();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, errlen, "sandbox: %s", strerror(errno));
		return rc;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "sandbox: libseccomp: out of memory");
		return -ENOMEM;
	}
	/* Another architecture's calls are never the worker's. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			      SCMP_ACT_KILL_PROCESS);
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0)
		snprintf(err, errlen, "sandbox: %s", strerror(-rc));
	if (!rc)
		rc = add_rules(ctx, err, errlen);
	if (!rc) {
		rc = seccomp_load(ctx);
		if (rc < 0)
			snprintf(err, errlen, "sandbox: loading the filter: %s",
				 strerror(-rc));
	}
	seccomp_release(ctx);
	return rc;
}
