/*
 * The agent's open-file limit. Every session holds fds in the agent (its
 * pipes or terminal, a pidfd, a report socket), so the soft limit a
 * service starts with (often 1024) would cap a node at a few hundred
 * sessions; the agent raises it to the hard limit at start. The processes
 * it starts get the limit it was started with back, as if they had
 * inherited it.
 */
#ifndef EXECFS_AGENT_FDLIMIT_H
#define EXECFS_AGENT_FDLIMIT_H

#include <sys/resource.h>

/* Raise RLIMIT_NOFILE's soft limit to the hard one (at most the kernel's
 * nr_open), once, remembering the limit as it was. 0 or -errno. */
int fdlimit_raise(void);
/* The limit as the agent found it (the current one before
 * fdlimit_raise). */
struct rlimit fdlimit_original(void);
/* The limit as it was before an earlier image of this process raised it
 * (an upgrade in place carries it across execve()): what
 * fdlimit_original() returns from now on. */
void fdlimit_set_original(struct rlimit rl);

#endif
