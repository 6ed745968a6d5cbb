/*
 * One exec request, from the wire to execve. A client's exec request (JSON
 * on a session's status stream, docs/PROTOCOL.md) is decoded here into a
 * struct exec_spec; the worker passes that same struct to its launcher,
 * privsep.c carries it to the monitor as one SPAWN message, and the
 * monitor hands it to spawn.c together with the container it names. No
 * layer copies it field by field, so an option added to the struct
 * reaches the spawn once the decoder below, privsep.c's codec and spawn.c
 * know it.
 *
 * Everything here is peer input: bounded and checked before the spawner
 * sees it.
 */
#ifndef EXECFS_AGENT_EXEC_SPEC_H
#define EXECFS_AGENT_EXEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>

struct exec_spec {
	char *container; /* owned: the container's id */
	char **argv; /* owned, NULL-terminated, at least one entry */
	char **env; /* owned "NAME=VALUE" entries, NULL-terminated, or NULL:
		       added to the container's environment, replacing */
	char *cwd; /* owned absolute path, or NULL: the container's */
	/* owned, or NULL: the container's process user. Otherwise NAME,
	 * UID, NAME:GROUP or UID:GID, resolved in the container's
	 * /etc/passwd and /etc/group. */
	char *user;
	/* A pseudo-terminal from the container's devpts, sized cols x rows
	 * (0: 80 x 24), the process its session leader. */
	bool tty;
	unsigned short cols, rows;
	bool merge_stderr; /* stderr into stdout (a tty does it anyway) */
	/* The process's nice value (EXECFS_NICE_MIN..MAX), set with the
	 * container's privileges just before execve; unset: inherited. */
	bool has_nice;
	int nice;
	/* owned, or NULL: any user. Never the client's: the run_as entries
	 * of the policy rule that allowed the start (policy_decide()), for
	 * the spawn to check against the uid and gid the user resolves to
	 * in the container. */
	char **run_as;
	/* Never the client's: the container instance the worker decided on
	 * (startgate.h), its init pid (0: not bound), the runtime's creation
	 * time (owned) and privileged flag. */
	int seen_pid;
	char *seen_created;
	bool seen_privileged;
};

/*
 * Decode a client's exec request (JSON, at most EXECFS_MAX_REQUEST_BYTES).
 * 0, or -EINVAL with a reason in err (-ENOMEM: "out of memory"). On
 * failure spec holds nothing.
 */
int exec_spec_from_json(const char *buf, size_t len, struct exec_spec *spec,
			char *err, size_t errlen);
/* Frees what spec owns and zeroes it; a zeroed spec is fine. */
void exec_spec_release(struct exec_spec *spec);

/* A session id is EXECFS_SID_LEN lower-case hex digits. */
bool session_id_valid(const char *sid);

#endif
