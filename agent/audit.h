/*
 * The audit trail: one JSON line when a session starts (who, where, what,
 * how) and one when it ends (how it ended, bytes, duration). Arguments that
 * match a redaction pattern are written as "[REDACTED]".
 */
#ifndef EXECFS_AGENT_AUDIT_H
#define EXECFS_AGENT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

struct audit;
struct container;

/* path NULL: auditing off (every call below is then a no-op). */
struct audit *audit_open(const char *path, char *err, size_t errlen);
/* A POSIX extended regex; an argument that matches it is redacted. */
int audit_add_redaction(struct audit *a, const char *regex, char *err,
			size_t errlen);
void audit_close(struct audit *a);

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

void audit_session_start(struct audit *a, const struct audit_start *s);
void audit_session_end(struct audit *a, const struct audit_end *e);
/* A refused start (policy, bad request): recorded too. */
void audit_session_denied(struct audit *a, const struct audit_start *s,
			  const char *reason);

#endif
