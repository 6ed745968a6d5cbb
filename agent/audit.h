/*
 * The audit trail: one JSON line when a session starts (who, where, what,
 * how, with which environment), when its process runs (the uid, gid and
 * groups the user resolved to in the container), on each signal, resize
 * and resume, when it ends (how it ended, bytes, duration), and for every
 * refusal (the policy's, an unknown container, a malformed request, a
 * limit, a stream of another identity's session). Arguments that match a
 * redaction pattern are written as "[REDACTED]", environment entries as
 * "NAME=[REDACTED]".
 *
 * Each call returns 0, or -errno when the line could not be written whole
 * and the audit is required (audit_set_required(): --audit-required): the
 * caller then fails what it audits (a start is not made). When the audit
 * is not required a failed write is logged and 0 returned. NULL audit: 0.
 */
#ifndef EXECFS_AGENT_AUDIT_H
#define EXECFS_AGENT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct audit;
struct container;

/* path NULL: auditing off (every call below is then a no-op). */
struct audit *audit_open(const char *path, char *err, size_t errlen);
/* A POSIX extended regex; an argument that matches it is redacted. */
int audit_add_redaction(struct audit *a, const char *regex, char *err,
			size_t errlen);
void audit_close(struct audit *a);
/* A line that cannot be written fails what it records. */
void audit_set_required(struct audit *a, bool required);

struct audit_start {
	const char *session;
	const char *identity;
	const char *node;
	const struct container *c;
	char *const *argv;
	bool tty;
	const char *user; /* NULL: the container's */
	const char *cwd; /* NULL: the container's */
};

/* A running session's process, once the user is resolved. */
struct audit_spawned {
	const char *session;
	const char *identity;
	const char *node;
	const char *container_id;
	pid_t pid; /* in the agent's pid namespace */
	/* The instance it ran in: its init (agent's pid namespace) and the
	 * runtime's creation time (NULL: not known). */
	pid_t init_pid;
	const char *created;
	bool ids_known; /* false: the process did not report its ids */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};

/* Who acts on which session (signal, resize, resume, refusal). */
struct audit_who {
	const char *session; /* NULL: none (a refusal before one exists) */
	const char *identity;
	const char *node;
	const char *container_id; /* NULL: not known */
};

enum audit_refusal {
	AUDIT_UNKNOWN_CONTAINER,
	AUDIT_MALFORMED_REQUEST,
	AUDIT_OVER_LIMIT,
	AUDIT_CROSS_IDENTITY, /* a stream of another identity's session */
};

struct audit_end {
	const char *session;
	const char *identity;
	const char *node;
	const char *container_id;
	const char *state; /* "exited", "killed", "failed" */
	int code; /* exited: the code */
	const char *signame; /* killed: the signal */
	const char *reason; /* failed: why */
	unsigned long long bytes_in, bytes_out;
	double duration; /* seconds */
};

int audit_session_start(struct audit *a, const struct audit_start *s);
/* The same with the "NAME=VALUE" entries the request adds to the
 * container's environment (NULL: none given; the line then has no "env"). */
int audit_session_start_env(struct audit *a, const struct audit_start *s,
			    char *const *env);
int audit_session_spawned(struct audit *a, const struct audit_spawned *s);
int audit_session_end(struct audit *a, const struct audit_end *e);
/* A refused start (policy, bad request): recorded too. */
int audit_session_denied(struct audit *a, const struct audit_start *s,
			 const char *reason);
int audit_session_denied_env(struct audit *a, const struct audit_start *s,
			     char *const *env, const char *reason);
/* A signal asked for (signame: "TERM"); err 0 when it was sent. */
int audit_session_signal(struct audit *a, const struct audit_who *w,
			 const char *signame, int err);
int audit_session_resize(struct audit *a, const struct audit_who *w,
			 unsigned cols, unsigned rows);
/* A stream resumed from another connection, at offset. */
int audit_session_resume(struct audit *a, const struct audit_who *w,
			 const char *stream, unsigned long long offset);
/* A request refused before any session start (kind), and why. */
int audit_refused(struct audit *a, const struct audit_who *w,
		  enum audit_refusal kind, const char *reason);

#endif
