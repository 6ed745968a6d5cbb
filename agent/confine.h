/*
 * The rest of what runc applies to a process it starts with `runc exec`,
 * beyond namespaces, cgroups, capabilities, user and seccomp: resource
 * limits, the OOM score, the umask, the AppArmor profile, the SELinux
 * label and the execution domain (personality). One plain struct, decoded
 * from the runtime's own record of the container's config (runc's
 * state.json `config`, or an OCI config.json the runtime keeps, as crun
 * does), never from a bundle someone may have edited since; and one apply
 * function per setting for the child, async-signal-safe: no allocation, no
 * stdio, only the prepared data and raw system calls.
 *
 * What runc 1.1.5 writes in state.json (libcontainer's configs.Config):
 * "oom_score_adj": 500, "umask": 23 (decimal; 0027), "apparmor_profile"
 * and "process_label" (strings, omitted when empty), "rlimits" (a list of
 * {"type": RLIMIT_* number, "hard", "soft"}, omitted: runc 1.1 gives the
 * spec's process.rlimits to the init only, so state.json has none), and
 * from runc 1.2 on "personality": {"domain": 8}. When the record carries
 * no rlimits, confine_rlimits_from_proc() takes them from the init's
 * /proc/PID/limits: the limits the runtime set on the init, which is what
 * runc exec itself reads from the bundle. Each source is marked: a limit
 * from the config must be set exactly (a failure fails the start, as in
 * runc); a limit copied from the init is lowered to what this process may
 * set when it lacks CAP_SYS_RESOURCE to raise a hard limit.
 *
 * The order in the child (runc's nsexec.c, process_linux.go and
 * setns_init_linux.go for `runc exec`; seccomp's place is in
 * seccomp_profile.h):
 *   1. confine_apply_oom(): first, in a process that does not share its
 *      memory with the agent (the kernel gives a new score to every
 *      process of the mm), while it is still dumpable and root in the
 *      host's user namespace (runc writes it in nsexec's first stage,
 *      before joining anything: once non-dumpable inside a user
 *      namespace the file is no longer writable); through the HOST's
 *      /proc. Lowering the score needs CAP_SYS_RESOURCE, raising does not;
 *   2. confine_apply_rlimits(): before joining the container's user
 *      namespace (inside it a hard limit can no longer be raised: runc's
 *      parent sets them on the child before it goes on) and before
 *      changing the user; inherited by the forked child;
 *   3. (join the namespaces and cgroups; fork into the pid namespace)
 *   4. PR_SET_NO_NEW_PRIVS when the container asks for it;
 *   5. confine_apply_umask() (runc 1.2 does it here; runc 1.1 never did
 *      for exec, leaving its own 0022: we follow the config);
 *   6. confine_apply_selinux(): the label for the coming execve;
 *   7. the seccomp filter when no_new_privs is NOT set (it needs
 *      CAP_SYS_ADMIN then);
 *   8. capabilities' bounding set, keep-caps, groups, gid, uid, cwd,
 *      capabilities (runc's finalizeNamespace);
 *   9. confine_apply_apparmor(): after the user change, as runc does;
 *  10. confine_apply_personality();
 *  11. the seccomp filter when no_new_privs IS set, as late as possible;
 *  12. execve.
 *
 * The LSM labels: runc writes them whatever the host runs, and a write the
 * kernel refuses fails the start ("write /proc/self/attr/exec: invalid
 * argument" is what runc 1.1.5 reports for an AppArmor profile on this
 * kernel without AppArmor); runc refuses to create a container with an
 * SELinux label when SELinux is off, so such a container exists only
 * where SELinux is on. We do the same: a profile or label that is set is
 * written, and a refused write fails the start with the file and errno;
 * one that is not set writes nothing.
 */
#ifndef EXECFS_AGENT_CONFINE_H
#define EXECFS_AGENT_CONFINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define CONFINE_NLIMITS 16 /* RLIMIT_CPU .. RLIMIT_RTTIME */
#define CONFINE_LABEL_MAX 1024 /* an AppArmor profile or SELinux label */

enum confine_source {
	CONFINE_UNSET = 0,
	CONFINE_FROM_CONFIG, /* the runtime's config: set exactly */
	CONFINE_FROM_INIT, /* copied from the init: best effort upward */
};

/* Everything prepared: the child reads this and nothing else. Plain data
 * (no pointers), so it can be copied to another process as bytes. */
struct confine {
	/* Indexed by RLIMIT_*; source CONFINE_UNSET: left as inherited. */
	struct {
		enum confine_source source;
		struct rlimit lim;
	} rlimits[CONFINE_NLIMITS];
	bool has_oom;
	int oom_score_adj; /* -1000..1000 */
	char oom_text[8]; /* its decimal text, for the write */
	bool has_umask;
	mode_t umask;
	bool has_personality;
	unsigned long personality; /* domain | flags */
	/* "exec PROFILE" as written to attr/exec, "" when none. */
	char apparmor_exec[CONFINE_LABEL_MAX + 6];
	char selinux_label[CONFINE_LABEL_MAX + 1]; /* "" when none */
};

/*
 * Decode into cf (zeroed first). config is state.json's "config" object
 * (libcontainer) or an OCI config.json's root object. 0, or -EINVAL with
 * a readable reason in err: a value out of range, a duplicate rlimit, an
 * unknown rlimit type or personality domain, a label over
 * CONFINE_LABEL_MAX or with a NUL or newline. Absent keys leave their
 * setting unset.
 */
int confine_from_runc(const json_t *config, struct confine *cf, char *err,
		      size_t errlen);
int confine_from_oci(const json_t *config, struct confine *cf, char *err,
		     size_t errlen);

/*
 * Fill the limits cf has none of from the text of a /proc/PID/limits file
 * (len bytes), marked CONFINE_FROM_INIT. 0, or -EINVAL with the reason in
 * err (a file that does not read as the kernel writes it).
 */
int confine_rlimits_from_proc(struct confine *cf, const char *text, size_t len,
			      char *err, size_t errlen);

/* Is cf (as received from another process) well-formed? 0 or -EINVAL. */
int confine_check(const struct confine *cf);

/* ---- in the child: async-signal-safe; 0 or -errno, *what set on failure
 * to a static string or one inside cf ---- */

/* Each limit that is set, in RLIMIT_* order. have: the limits the
 * process has now (CONFINE_NLIMITS of them), or NULL if unknown; a limit
 * equal to the one it has is not set again (setting it would change
 * nothing). */
int confine_apply_rlimits(const struct confine *cf, const struct rlimit *have,
			  const char **what);
/* Writes "self/oom_score_adj" under proc_fd, the host's /proc. */
int confine_apply_oom(const struct confine *cf, int proc_fd, const char **what);
void confine_apply_umask(const struct confine *cf);
int confine_apply_personality(const struct confine *cf, const char **what);
/*
 * The LSM labels are written through attr_fd, the calling thread's
 * /proc/thread-self/attr directory in the HOST's /proc (O_PATH), opened
 * with confine_open_attr() before entering the container, whose own /proc
 * it may have mounted over; only that directory is kept, not the host's
 * /proc: a thread may write only its own attr files (the kernel refuses
 * any other writer), so the fd gives nothing to whoever else would hold
 * it. The label applies at the next execve, wherever it is written.
 */
/* 0 and *attr_fd (-1 when cf sets no label: nothing is opened), or
 * -errno with *what set. */
int confine_open_attr(const struct confine *cf, int proc_fd, int *attr_fd,
		      const char **what);
/* "exec" under attr_fd. */
int confine_apply_selinux(const struct confine *cf, int attr_fd,
			  const char **what);
/* "apparmor/exec", or "exec" where the kernel has no per-LSM directory,
 * as libapparmor's aa_change_onexec. */
int confine_apply_apparmor(const struct confine *cf, int attr_fd,
			   const char **what);

/* The name of an RLIMIT_* value ("RLIMIT_NOFILE"), NULL if unknown. */
const char *confine_rlimit_name(int resource);

#endif
