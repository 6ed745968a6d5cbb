/*
 * Who a session runs as: the exec request's "user" (NAME, UID, NAME:GROUP
 * or UID:GID) resolved in the container's own /etc/passwd and /etc/group,
 * never through the host's NSS. Resolution happens in the agent before
 * fork (the children may not allocate); the files are read through the
 * container's root with openat2(RESOLVE_IN_ROOT) and a size cap.
 */
#ifndef EXECFS_AGENT_USERDB_H
#define EXECFS_AGENT_USERDB_H

#include <stddef.h>
#include <sys/types.h>

/* The most supplementary groups a resolved user gets. */
#define USERDB_MAX_GROUPS 256
/* Larger /etc/passwd or /etc/group files are refused. */
#define USERDB_MAX_FILE (4 * 1024 * 1024)

struct user_creds {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* owned; the supplementary groups (setgroups) */
	size_t ngroups;
	char *home; /* owned; the passwd entry's home, NULL without one */
};

/*
 * Resolve spec against the contents of a passwd and a group file
 * (NUL-terminated; NULL for a file the container does not have):
 *   NAME        its passwd entry's uid and gid; groups: the gid and every
 *               group that lists NAME as a member
 *   UID         likewise when a passwd entry has that uid; otherwise that
 *               uid with gid 0 and no supplementary groups (as runc does)
 *   X:GROUP     the user as above with this group (a name from the group
 *               file, or a number) as gid and only group
 * -EINVAL with a reason in err ("user nosuch: no such user in the
 * container") for a malformed spec or a name that is not there; -ENOMEM.
 */
int userdb_resolve(const char *spec, const char *passwd, const char *group,
		   struct user_creds *out, char *err, size_t errlen);

/* The same, reading etc/passwd and etc/group inside the root directory
 * rootfd (missing files are empty databases; unreadable ones fail). */
int userdb_resolve_in_root(int rootfd, const char *spec, struct user_creds *out,
			   char *err, size_t errlen);

void user_creds_release(struct user_creds *c);

#endif
