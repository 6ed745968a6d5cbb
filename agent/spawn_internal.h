/*
 * What the files of the spawner share, and nothing else includes:
 *
 *   spawn_plan.c    the agent's side of a start: the plan built before any
 *                   fork, and the start of helper A
 *   spawn_child.c   helper A and process B: from fork to execve, only
 *                   async-signal-safe calls
 *   spawn_report.c  the report socket's messages, both sides
 *   spawn_copy.c    the plan's copy that B is born with, and the heap
 *                   left out of B
 *   spawner.c       the spawner (reaping, A's stack, the init cache) and
 *                   a start in progress (struct spawn_entry) until READY
 */
#ifndef EXECFS_AGENT_SPAWN_INTERNAL_H
#define EXECFS_AGENT_SPAWN_INTERNAL_H

#include "confine.h"
#include "policy.h"
#include "spawn.h"
#include "userdb.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <termios.h>

struct container;
struct event;
struct initpin;
struct initpin_cache;

/* A's stack when it shares the agent's memory; B runs on its copy until
 * execve. Only the pages touched are ever backed. */
#define SPAWN_STACK_SIZE (256 * 1024)
/* Whether B can start on a stack of its own (spawn_child.c: the clone's
 * child needs a few instructions of assembly to call into C there). */
#if defined(__x86_64__)
#define SPAWN_OWN_STACK 1
#else
#define SPAWN_OWN_STACK 0
#endif
/* Fds A keeps for B (see spawn_child.c): the report socket, three stdio
 * ends, the init's pidfd, the host's /proc, the v2 cgroup, and one per v1
 * hierarchy. */
#define SPAWN_MAX_KEEP (8 + 64)

/* ---- the report socket ------------------------------------------------- */

#define SPAWN_MSG_MAGIC 0x65786673u /* "exfs" */

enum spawn_msg_type {
	SPAWN_MSG_PID = 1, /* from A when it forked: B's pid (ours) */
	SPAWN_MSG_READY, /* from B: entered; with a tty, the master rides */
	SPAWN_MSG_ERROR, /* from A or B: a stage failed */
	/* from B, once its user is resolved and before it takes those ids:
	 * struct spawn_ids_msg below */
	SPAWN_MSG_IDS,
};

enum spawn_stage {
	STAGE_SETNS, /* A: the namespaces but the cgroup one */
	STAGE_CLONE, /* A: B */
	STAGE_CGROUP, /* B: a cgroup (subject: its directory) */
	STAGE_CGROUPNS, /* B: the cgroup namespace */
	STAGE_PROC, /* B: the container's /proc, for reopening its files */
	STAGE_PTY, /* B: the container's pty (subject: a path or a step) */
	STAGE_FILE, /* B: a database file (subject: its path) */
	STAGE_USER, /* B: no such user (subject: the name) */
	STAGE_GROUP, /* B: no such group (subject: the name) */
	STAGE_SETSID,
	STAGE_CTTY,
	STAGE_STDIO,
	STAGE_CAPS,
	STAGE_GROUPS,
	STAGE_GID,
	STAGE_UID,
	STAGE_NNP,
	STAGE_CWD,
	STAGE_NICE,
	STAGE_EXEC,
	STAGE_OOM, /* B: oom_score_adj (subject: the file) */
	STAGE_RLIMIT, /* B: a resource limit (subject: RLIMIT_*) */
	STAGE_LSM, /* B: an LSM exec label (subject: the file) */
	STAGE_PERSONALITY,
	STAGE_SECCOMP, /* B: the container's seccomp filter */
	STAGE_RUN_AS, /* B: the policy's run_as (subject: the user) */
	STAGE_COUNT,
};

/* One report: one datagram of the SOCK_SEQPACKET report socket, so each
 * read of sizeof(struct spawn_msg) returns exactly one message. */
struct spawn_msg {
	uint32_t magic;
	uint32_t type;
	int32_t stage;
	int32_t err;
	int32_t pid;
	char subject[236]; /* what the stage worked on: a path, argv[0] */
};

/* SPAWN_MSG_IDS: the header (pid and subject unused), then the ids. A
 * reader of sizeof(struct spawn_msg) gets the header alone (the datagram
 * is cut), which it may take as a report it has no use for. */
struct spawn_ids_msg {
	struct spawn_msg hdr;
	uint32_t uid, gid, ngroups;
	uint32_t groups[USERDB_MAX_GROUPS];
};

/* Child side (async-signal-safe): one message, with fd attached when it
 * is >= 0. Errors are ignored: an agent that gave up is no reason to
 * stop, and the exit tells it anyway. */
void spawn_msg_send(int sock, uint32_t type, int stage, int err,
		    const char *subject, pid_t pid, int fd);

/* Agent side: one message from sock (O_NONBLOCK), with the fd it carried
 * in *fd (-1 if none; close-on-exec) and its sender's pid (SO_PASSCRED;
 * 0 when the socket has no credentials) in *sender. What recvmsg
 * returned: 0 at EOF, -1 with errno. */
ssize_t spawn_msg_recv(int sock, struct spawn_msg *m, int *fd, pid_t *sender);
bool spawn_msg_valid(const struct spawn_msg *m);
/* B's SPAWN_MSG_IDS (async-signal-safe; errors ignored, as above). */
void spawn_ids_send(int sock, uid_t uid, gid_t gid, const gid_t *groups,
		    size_t ngroups);
/* The reason for an ERROR message, and the errno to fail with. */
void spawn_msg_format(const struct spawn_msg *m, char *err, size_t errlen);
int spawn_msg_errno(const struct spawn_msg *m);

/* ---- the plan --------------------------------------------------------- */

/* A's answer when it shares our memory: B's pid, or the stage that failed
 * and its errno. */
struct spawn_answer {
	pid_t child;
	int a_stage, a_err;
};

/* What B writes of its own, apart from the plan: its user lookup and
 * HOME. With the plan's copy it lives at the end of the arena, which we
 * never write (spawn_copy.c), so that copying the plan touches fewer
 * pages; otherwise it is the agent's, zeroed, for the forked A and B. */
struct spawn_b_out {
	struct user_creds creds;
	char home_env[5 + USERDB_HOME_MAX]; /* "HOME=..." */
};

/* Everything A and B need, prepared before fork. B runs on a copy of it
 * and writes only its own copy (the creds it looks up, HOME). */
struct spawn_plan {
	/* The container's capability sets and no_new_privs (inventory.h). */
	bool has_caps, no_new_privs;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable,
		cap_ambient;
	char *const *argv;
	char **envp; /* borrowed strings; room for HOME at home_slot */
	size_t home_slot; /* HOME's slot: an empty HOME=, or the end */
	bool need_home; /* the env lacks HOME: B sets it, as runc does */
	char **paths; /* execve candidates, owned by the agent */
	const char *cwd;
	/* Credentials: the container's process user, or (has_user) the
	 * request's, which B looks up in the container's files. */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	bool has_user;
	struct userdb_spec user;
	struct spawn_b_out *out; /* B's lookup and HOME */
	/* B4's buffers, NULL: B maps them; with the plan's copy, at the end
	 * of the arena (spawn_copy.c). */
	char *db_buf[2];
	/* The policy's run_as (exec_spec.h), checked by B against the ids
	 * the user resolved to; run_as_name: the requested user, NULL for
	 * the container's own. */
	struct policy_run_as_ids run_as;
	const char *run_as_name;
	bool tty;
	struct winsize ws;
	bool has_nice; /* the request's nice value, set at B14 */
	int nice;
	const struct initpin *pin; /* the init, its namespaces, cgroups */
	int nsflags; /* pin's, for A's setns */
	/* B's v2 cgroup: with clone3, the directory (CLONE_INTO_CGROUP);
	 * without (a seccomp filter answers ENOSYS), its cgroup.procs,
	 * which B writes itself. -1: no v2 cgroup. */
	bool clone3;
	int cgroup2_fd;
	int cgroup2_procs_fd; /* owned by the agent */
	const char *cgroup2_dir; /* its path, for messages */
	int proc_fd; /* the host's /proc (the spawner's), -1 if none */
	int null_fd; /* the host's /dev/null (the spawner's): B's 0-2 until
			it has its own */
	char oom[16]; /* init's oom_score_adj, "" if unknown */
	/* The container's confinement (ociconfine.h): cf is NULL when the
	 * runtime recorded none; seccomp is its filter, compiled here before
	 * the fork (owned by the container's profile), NULL: no filter. */
	const struct confine *cf;
	const struct seccomp_prog *seccomp;
	int attr_fd; /* B's: its attr directory in the host's /proc */
	int child_fd[3]; /* B's 0-2 without a tty */
	int report_w; /* the children's end of the report socket */
	int keep[SPAWN_MAX_KEEP]; /* the fds above, sorted: A keeps these */
	size_t nkeep;
	int last_cap;
	int max_fd; /* for when close_range is missing */
	struct rlimit nofile; /* the open-file limit the agent started with */
	/* What B inherits, read from the agent's /proc before the fork: the
	 * signals whose disposition is not SIG_DFL (bit n-1 for signal n;
	 * all when unknown), which B9 resets; and its resource limits
	 * (limits_known), which B5 does not set again. */
	uint64_t sig_reset;
	bool limits_known;
	struct rlimit limits[CONFINE_NLIMITS];
	/* A shares our memory (shared): it answers in *answer, the
	 * spawner's, which B's copy of our memory leaves out (A's writes to
	 * it are then no copy-on-write faults); and B runs on a stack of its
	 * own, b_stack (its top; NULL: on its copy of A's stack), so that A's
	 * stack too is left out of B. */
	bool shared;
	struct spawn_answer *answer;
	char *b_stack;
};

/* ---- the plan's copy (spawn_copy.c) --------------------------------------- */

/* One mapping of the spawner's, reused by every start, that holds the
 * copy of the plan A and B run on. */
struct spawn_arena {
	char *base; /* owned mmap; NULL until the first start */
	size_t size, used;
};

/* B's address space (spawn_copy.c): what it keeps of the agent's, found
 * once, and what is left out of it while A clones it. */
#define SPAWN_MAX_KEPT 32
#define SPAWN_MAX_EXTRA 4
/* Above the highest user address: [vsyscall] is no mapping of ours. */
#define SPAWN_USER_TOP 0x800000000000UL

struct spawn_range {
	uintptr_t lo, hi; /* [lo, hi), page-aligned */
};

struct spawn_mem {
	/* The mappings of the program, libc, the dynamic linker, the
	 * thread's TLS and the vDSO, sorted, adjacent ones merged; none:
	 * nothing is ever left out. */
	struct spawn_range kept[SPAWN_MAX_KEPT];
	size_t nkept;
	uintptr_t bottom, top; /* the lowest mapping's start, the highest's
				  end */
	/* Left out now (MADV_DONTFORK): the gaps between what B keeps. */
	struct spawn_range out[SPAWN_MAX_KEPT + SPAWN_MAX_EXTRA + 1];
	size_t nout;
};

/* Copy p, and everything it points to that A and B read, into a (the
 * previous copy is gone): *out is the copy. 0, -ENOMEM or -E2BIG. */
int spawn_plan_copy(struct spawn_arena *a, const struct spawn_plan *p,
		    struct spawn_plan **out);
void spawn_arena_free(struct spawn_arena *a);
/* Find what B keeps of our address space (once: the objects it runs
 * are loaded for good). 0 or -errno; on failure nothing is left out. */
int spawn_mem_scan(struct spawn_mem *m);
/* Leave out of the processes cloned from now on everything but what B
 * keeps and the nextra ranges (sorted, page-aligned: A's stack, the
 * arena), until spawn_mem_restore(), which is due whatever happened. */
void spawn_mem_exclude(struct spawn_mem *m, const struct spawn_range *extra,
		       size_t nextra);
void spawn_mem_restore(struct spawn_mem *m);

/* A, in spawn_child.c: the entry point for clone(CLONE_VM) and for a
 * plain fork. */
int spawn_helper_shared(void *plan);
_Noreturn void spawn_helper_main(struct spawn_plan *p);

/* ---- the spawner and a start in progress ------------------------------ */

struct spawner {
	struct event_base *base;
	struct event *sigchld;
	pid_t *reap; /* processes of ours to reap when they exit */
	size_t nreap, cap;
	int last_cap;
	bool clone3; /* the kernel (and any seccomp filter) lets us */
	/* The host's /proc (O_PATH), for B's own oom_score_adj once its
	 * root is the container's; -1: B keeps the agent's score. */
	int proc_fd;
	int null_fd; /* /dev/null, owned */
	/* Our /proc/self/status and limits, owned, -1 if not opened: read
	 * at each start for what B inherits (spawn_plan.c). */
	int status_fd, limits_fd;
	/* Owned mmap: A's stack when it shares our memory, then B's (each
	 * SPAWN_STACK_SIZE with a guard page at its low end); NULL: every
	 * start forks. */
	char *stack;
	struct spawn_answer answer; /* A's, when it shares our memory */
	/* With that stack: the copy of the plan A and B run on, and what
	 * B keeps of our memory (spawn_copy.c). */
	struct spawn_arena arena;
	struct spawn_mem mem;
	struct initpin_cache *pins; /* owned */
	struct spawn_entry *abandoned; /* waiting for A's report */
};

struct spawn_entry {
	struct spawner *sp;
	char *id; /* the container's, for dropping its pin on failure */
	pid_t helper; /* A when it forked and its PID report is awaited */
	pid_t pid; /* B, once known; 0 before */
	int pidfd; /* B's, once known */
	int report; /* our end of the report socket; SO_PASSCRED */
	int fds[3]; /* stdin write, stdout read, stderr read ends */
	bool tty;
	/* Reports of B's that came before A's PID report (they race). */
	bool ready;
	int master;
	pid_t early_sender;
	struct spawn_msg failure; /* magic 0: none */
	struct event *ev; /* when abandoned */
	struct spawn_entry *next; /* the spawner's abandoned list */
};

/* Add pid (a child of ours) to what the spawner reaps. */
int spawner_track(struct spawner *sp, pid_t pid);

#endif
