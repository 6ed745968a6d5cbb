/*
 * The network worker's own seccomp sandbox, in the model of OpenSSH's
 * sandbox-seccomp-filter.c: once the worker has dropped to its user (and
 * set no_new_privs), an allowlist of the system calls it makes while it
 * serves (the event loop, reads and writes on the sockets, terminals,
 * pipes and files it already holds, accept on its listeners, fds passed
 * over the monitor's channel, memory without PROT_EXEC, time, signals to
 * itself, TLS's getrandom) and nothing else: no execve, no socket,
 * connect or bind, no clone or fork, no ptrace, no mount. A call outside
 * the list traps: a SIGSYS handler writes one line to the agent's log
 * ("sandbox: system call 59 (execve) is outside the worker's seccomp
 * sandbox: killed with SIGSYS") and the worker dies of SIGSYS (the monitor
 * then ends every session and exits, as for any death of the worker).
 * Opening a path (open, openat, unlink) fails with EACCES instead, as in
 * OpenSSH: libc may try one, and refusing it is enough. A call from
 * another architecture (i386, x32) kills the process at once.
 *
 * The list comes from strace of the worker in the integration tests
 * (docs/SECURITY.md lists it). A sanitizer build (ASan, UBSan) also allows
 * what the sanitizer runtime needs at exit (LeakSanitizer's clone, ptrace
 * and reading /proc): those builds are for tests only.
 */
#ifndef EXECFS_AGENT_SANDBOX_H
#define EXECFS_AGENT_SANDBOX_H

#include <stddef.h>

/*
 * Enter the sandbox: for the calling process, for good. Call it after
 * worker_drop_privileges() and before serving; it sets no_new_privs
 * itself too. Violations are logged to log_fileno() (execfs/log.h). 0, or
 * -errno with the reason in err (the worker must then not serve).
 */
int sandbox_worker_enter(char *err, size_t errlen);

#endif
