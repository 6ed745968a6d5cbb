/*
 * Decoding the exec request a client sends on a session's status stream
 * (docs/PROTOCOL.md). Everything here is peer input: bounded and checked
 * before the spawner sees it.
 */
#ifndef EXECFS_AGENT_REQUEST_H
#define EXECFS_AGENT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

struct exec_request {
	char *container; /* owned */
	char **argv; /* owned, NULL-terminated, at least one entry */
	char **env; /* owned, NULL-terminated or NULL */
	char *cwd; /* owned or NULL */
	char *user; /* owned or NULL */
	bool tty;
	unsigned short cols, rows;
	bool merge_stderr; /* stderr into stdout (implied by tty) */
};

/* 0, or -EINVAL with a reason in err. On failure req holds nothing. */
int exec_request_parse(const char *buf, size_t len, struct exec_request *req,
		       char *err, size_t errlen);
void exec_request_release(struct exec_request *req);

/* A session id is EXECFS_SID_LEN lower-case hex digits. */
bool session_id_valid(const char *sid);

#endif
