/*
 * A container's seccomp profile: one description decoded from either of the
 * two forms a runtime keeps it in, compiled once with libseccomp into a
 * BPF program, and installed in a process about to execve into the
 * container with one system call.
 *
 * The forms:
 *   - libcontainer's, in runc's state.json (config.seccomp): numeric
 *     actions (1 kill, 2 errno, 3 trap, 4 allow, 5 trace, 6 log, 7 notify,
 *     8 kill_thread, 9 kill_process) and operators (1 eq, 2 ne, 3 gt,
 *     4 ge, 5 lt, 6 le, 7 masked_eq), architectures as libseccomp-golang
 *     names ("amd64", "x86", "x32", ...), one rule per syscall name,
 *     snake_case keys (default_action, default_errno_ret, value_two);
 *   - the OCI runtime spec's (linux.seccomp of a config.json, which crun
 *     keeps a copy of): SCMP_ACT_* / SCMP_CMP_* / SCMP_ARCH_* names, rules
 *     naming several syscalls, camelCase keys.
 *
 * Compiling follows runc (libcontainer/seccomp/seccomp_linux.go) step for
 * step, so a process entering the container gets the filter a `runc exec`
 * by runc 1.1 gets, instruction for instruction (with two kernel
 * architectures, up to the order of their -ENOSYS sections, see 6.):
 *   1. the filter's default action is defaultAction (with defaultErrnoRet
 *      for SCMP_ACT_ERRNO and SCMP_ACT_TRACE; EPERM when absent); KILL is
 *      KILL_THREAD, as in libseccomp;
 *   2. each architecture is added (one already there is fine);
 *   3. flags: SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW
 *      become filter flags, failing when the kernel or libseccomp lacks
 *      them (as runc fails); SECCOMP_FILTER_FLAG_TSYNC is accepted and
 *      ignored (the installing process has one thread);
 *      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is accepted and ignored: it
 *      only changes how a notify listener's target waits, and the kernel
 *      refuses it without SECCOMP_FILTER_FLAG_NEW_LISTENER, which a
 *      profile without SCMP_ACT_NOTIFY never asks for;
 *   4. no binary tree: runc 1.2 turns on libseccomp's binary-tree
 *      optimisation above 32 rules, runc 1.1 (Debian 12's 1.1.5) does
 *      not; we follow 1.1, so the program is the one the node's runc
 *      loads, and compiling a Docker-sized profile takes half the time.
 *      The decisions are the same; since Linux 5.11 the kernel caches the
 *      allow decisions that do not depend on arguments, so the linear
 *      shape costs little after a syscall's first call;
 *   5. one libseccomp rule per syscall: a rule whose action equals the
 *      default is skipped, a name libseccomp does not know is skipped (a
 *      syscall this kernel's tables lack), conditions go in one rule
 *      unless two of them test the same argument, in which case each
 *      condition is a rule of its own;
 *   6. runc's -ENOSYS stub (libcontainer/seccomp/patchbpf) is put in front
 *      of the program: unless the default action is allow, log or trace,
 *      a syscall number above the largest one the profile names (per
 *      architecture; x32 apart) returns ENOSYS instead of the default
 *      action, so a program probing for a syscall newer than the profile
 *      (clone3, openat2, ...) falls back as it would on an older kernel
 *      instead of failing with EPERM. We do it because runc does: without
 *      it the same binary behaves differently under `runc exec` and under
 *      execfs. The architectures' sections are laid out in the order the
 *      profile lists them (runc's order is that of a Go map, so with two
 *      architectures of different AUDIT_ARCH its layout varies from run to
 *      run; the decisions do not).
 *
 * SCMP_ACT_NOTIFY (as the default or for any syscall) and listenerPath are
 * refused when decoding, with an error that names them: the notification
 * fd would have to go to a seccomp agent the agent does not run, and a
 * filter without it would not be the container's.
 *
 * Where the filter goes in the sequence of a process entering a container
 * (runc's setns_init_linux.go; the order a spawn must follow):
 *   - without no_new_privs, installing a filter is a privileged operation
 *     (CAP_SYS_ADMIN): install it BEFORE the capabilities are dropped and
 *     the user is changed;
 *   - with no_new_privs: set PR_SET_NO_NEW_PRIVS first, then install the
 *     filter as late as possible, right before execve, so the fewest
 *     system calls run under it.
 * Nothing between fork and execve may call libseccomp: the child gets a
 * compiled program (struct seccomp_prog) and seccomp_prog_install().
 */
#ifndef EXECFS_AGENT_SECCOMP_PROFILE_H
#define EXECFS_AGENT_SECCOMP_PROFILE_H

#include <jansson.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

struct seccomp_profile;

/* A compiled filter, ready for seccomp(2). Plain bytes: seccomp_prog_size()
 * of them can be copied to another process of the same binary (and checked
 * there with seccomp_prog_check()). */
struct seccomp_prog {
	uint32_t flags; /* SECCOMP_FILTER_FLAG_*; 0: prctl(PR_SET_SECCOMP) */
	uint32_t len; /* instructions, 1..BPF_MAXINSNS */
	struct sock_filter insns[];
};

#define SECCOMP_MAX_RULES 16384
#define SECCOMP_MAX_ARGS 64 /* conditions of one rule */

/*
 * Decode a profile. seccomp is the JSON value at config.seccomp (runc's
 * state.json) or linux.seccomp (an OCI config.json). *out is NULL when the
 * value means "no filter" (null or absent; for the OCI form also an object
 * with neither defaultAction nor syscalls, as runc reads it). 0, or
 * -EINVAL with a readable reason in err (-ENOMEM: out of memory).
 */
int seccomp_profile_from_runc(const json_t *seccomp,
			      struct seccomp_profile **out, char *err,
			      size_t errlen);
int seccomp_profile_from_oci(const json_t *seccomp,
			     struct seccomp_profile **out, char *err,
			     size_t errlen);
void seccomp_profile_free(struct seccomp_profile *p);

/* How many syscall rules the profile holds (after splitting the OCI
 * form's name lists), and its default action as libseccomp spells it. */
size_t seccomp_profile_rules(const struct seccomp_profile *p);
uint32_t seccomp_profile_default_action(const struct seccomp_profile *p);

/*
 * The compiled program, compiled on the first call and kept in p (as is a
 * failure, with its reason): compile once per container, not per start.
 * Not thread-safe; the monitor has one thread. *prog is owned by p and
 * valid until seccomp_profile_free(p): copy it into what outlives that.
 * 0, or -errno with the reason in err.
 */
int seccomp_profile_program(struct seccomp_profile *p,
			    const struct seccomp_prog **prog, char *err,
			    size_t errlen);

/* The bytes of a program (header and instructions). */
size_t seccomp_prog_size(const struct seccomp_prog *prog);
/* Is buf (len bytes) a whole, well-formed program? 0 or -EINVAL. */
int seccomp_prog_check(const void *buf, size_t len);

/*
 * In the child, between fork and execve: install prog on the calling
 * thread, as runc's patchbpf does (prctl(PR_SET_SECCOMP) without flags,
 * seccomp(SECCOMP_SET_MODE_FILTER) with them). Async-signal-safe: one
 * system call, no allocation. 0 or -errno (EACCES: neither no_new_privs
 * nor CAP_SYS_ADMIN; see the order above).
 */
int seccomp_prog_install(const struct seccomp_prog *prog);

#endif
