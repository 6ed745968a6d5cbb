/*
 * What the holder of a start's report_fd (spawn.h) learns from it besides
 * the outcome: the ids process B resolved for the user inside the
 * container (uid, gid, supplementary groups), reported by B itself just
 * before it takes them, so that the audit can say what actually ran.
 */
#ifndef EXECFS_AGENT_SPAWN_REPORT_H
#define EXECFS_AGENT_SPAWN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "userdb.h"

struct spawn_ids {
	bool known; /* B reported them (the first report of B's counts) */
	uid_t uid;
	gid_t gid;
	gid_t groups[USERDB_MAX_GROUPS];
	size_t ngroups;
};

/*
 * spawn_report_read() that also takes B's ids into *ids when the report
 * carries them and was sent by pid (the process the start made, in the
 * reader's pid namespace; the kernel says who sent it). A report of ids
 * from another sender, a second one, or one that is malformed is ignored
 * (-EAGAIN, as for any report that decides nothing). An end of the report
 * before B's ids came is B's death before its execve (B always sends them
 * first): -ECHILD, err says so; the wait status says how it died. ids
 * NULL: ids are ignored, and an end is taken as the execve's.
 */
int spawn_report_read_ids(int report_fd, pid_t pid, struct spawn_ids *ids,
			  char *err, size_t errlen);

#endif
