/*
 * The agent runs from a sealed copy of its own binary, as runc does against
 * CVE-2019-5736. A process entering a container (spawn_child.c's B) is a
 * fork of the agent living in the container's pid namespace until its
 * execve, so /proc/<pid>/exe names the binary it runs; and a container
 * whose program is a symlink to /proc/self/exe makes the agent's binary
 * itself run as the container's process. Through that link a container
 * could get a handle to the binary and write it once it is no longer
 * busy: the next agent to start would run the container's code as root.
 *
 * So at start the monitor copies /proc/self/exe into a memfd, seals it
 * (no write, no shrink, no grow, no further seals) and re-executes itself
 * from it, once. Every process it forks from then on runs from the memfd;
 * /proc/<pid>/exe names "/memfd:/usr/sbin/execfs-agent (deleted)" (the
 * file it was started from), whose contents no one can change. The host's
 * file is not held by any of them.
 *
 * The alternative, a small entry program executed from a memfd at each
 * start, costs an execve per start (docs/SECURITY.md gives the numbers);
 * this costs one copy at start and the binary's size in memory.
 */
#ifndef EXECFS_AGENT_SELFEXE_H
#define EXECFS_AGENT_SELFEXE_H

#include <stdbool.h>

/* Whether this process runs from a memfd sealed as below. */
bool selfexe_sealed(void);

/*
 * Unless this process already runs from a sealed copy, re-execute it from
 * one with argv and the current environment; returns only when it did not:
 * 0 (already sealed), or -errno (no memfd, a kernel that refuses to
 * execute one, vm.memfd_noexec = 2: the caller goes on from the file, and
 * says so).
 */
int selfexe_ensure_sealed(char **argv);

#endif
