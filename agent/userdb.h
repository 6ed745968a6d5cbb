/*
 * Who a session runs as: the exec request's "user" (NAME, UID, NAME:GROUP
 * or UID:GID) resolved in the container's own /etc/passwd and /etc/group,
 * never through the host's NSS, and the HOME a process of that user gets.
 *
 * The files belong to the container, so they are read inside it, by the
 * process that enters it (spawn_child.c), after it joined the container's
 * mount namespace and cgroups: the lookup below allocates nothing, uses no
 * stdio and no locale, and writes only into the caller's structs, so it may
 * run between fork and execve. The request's text is checked earlier, in
 * the agent (userdb_spec_parse), where a malformed one is refused at once.
 */
#ifndef EXECFS_AGENT_USERDB_H
#define EXECFS_AGENT_USERDB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The most supplementary groups a resolved user gets. */
#define USERDB_MAX_GROUPS 256
/* Larger /etc/passwd or /etc/group files are refused. */
#define USERDB_MAX_FILE (4 * 1024 * 1024)
/* The longest user or group name, and home directory, taken. */
#define USERDB_NAME_MAX 256
#define USERDB_HOME_MAX 4096

/* A request's user, parsed: which files it needs comes from here. */
struct userdb_spec {
	char user[USERDB_NAME_MAX]; /* a name, or a decimal uid */
	bool uid_numeric;
	unsigned uid; /* when uid_numeric */
	bool has_group;
	char group[USERDB_NAME_MAX]; /* "" without a group */
	bool gid_numeric;
	unsigned gid; /* when gid_numeric */
};

struct user_creds {
	uid_t uid;
	gid_t gid;
	gid_t groups[USERDB_MAX_GROUPS]; /* the supplementary groups */
	size_t ngroups;
	/* The passwd entry's home (possibly ""), when an entry was found and
	 * its home fits. */
	bool has_home;
	char home[USERDB_HOME_MAX];
};

/* What a lookup did not find. */
enum userdb_miss {
	USERDB_FOUND = 0,
	USERDB_NO_USER, /* a user name that is not in passwd */
	USERDB_NO_GROUP, /* a group name that is not in group */
};

/*
 * Parse spec: NAME, UID, X:GROUP (X a name or uid, GROUP a name or gid).
 * 0, or -EINVAL for anything else (empty parts, a second ':', a newline,
 * over-long names).
 */
int userdb_spec_parse(const char *spec, struct userdb_spec *out);

/* Whether resolving s reads /etc/group: a group by name, or the
 * memberships of a user without an explicit group. */
bool userdb_spec_needs_group(const struct userdb_spec *s);
/* Whether it reads /etc/passwd (always, except UID:GID). */
bool userdb_spec_needs_passwd(const struct userdb_spec *s);

/*
 * Resolve s against the contents of a passwd and a group file
 * (NUL-terminated; NULL for a file the container does not have):
 *   NAME        its passwd entry's uid and gid; groups: the gid and every
 *               group that lists NAME as a member
 *   UID         likewise when a passwd entry has that uid; otherwise that
 *               uid with gid 0 and no supplementary groups (as runc does)
 *   X:GROUP     the user as above with this group (a name from the group
 *               file, or a number) as gid and only group
 * 0, or -EINVAL with *miss saying what was not there. Async-signal-safe.
 */
int userdb_lookup(const struct userdb_spec *s, const char *passwd,
		  const char *group, struct user_creds *out,
		  enum userdb_miss *miss);

/*
 * The home of the first passwd entry with uid, into home (len bytes):
 * true when there is one and it fits. Async-signal-safe.
 */
bool userdb_home_of(unsigned uid, const char *passwd, char *home, size_t len);

/*
 * Parse and resolve in one call, with the reason in err ("user nosuch: no
 * such user in the container", "group g: no such group in the container",
 * "user a:: not NAME, UID, NAME:GROUP or UID:GID"): for tests and tools.
 */
int userdb_resolve(const char *spec, const char *passwd, const char *group,
		   struct user_creds *out, char *err, size_t errlen);

#endif
