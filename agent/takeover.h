/*
 * The socket of a take-over (docs/DEPLOY.md, "Upgrades"): a new agent,
 * started as a process of its own (a DaemonSet's rolling update), takes
 * the running one's sessions through a Unix socket. The running agent's
 * monitor listens on it (--handover-socket); the new one connects
 * (--take-over). The socket's directory is made root's, 0700, and the
 * socket 0600; whatever its mode, a peer is taken only if the kernel says
 * it runs as uid 0 (SO_PEERCRED) and the binary it runs answers
 * --handover-check with this agent's handover version (monitor.c runs
 * that probe on takeover_peer_exe()'s fd).
 *
 * On the socket (SOCK_SEQPACKET) the messages are privsep.h's, framed by
 * its channel: the old monitor sends the new one its handover state
 * (handover_chan.h: HANDOVER_FDS and HANDOVER_DATA, the document being
 * handover.h's monitor state, every fd named by its index in the list
 * that travelled with it), then stays as a relay: EXITED for each of its
 * processes as it reaps them, SIGNALED for each SIGNAL the new monitor
 * asks of them.
 */
#ifndef EXECFS_AGENT_TAKEOVER_H
#define EXECFS_AGENT_TAKEOVER_H

#include <stddef.h>
#include <sys/types.h>

#define TAKEOVER_SOCKET_DEFAULT "/run/execfs/handover.sock"

/* Listen on path (its directory created 0700 if missing, an old socket
 * replaced): the fd (non-blocking, close-on-exec), or -errno with err. */
int takeover_listen(const char *path, char *err, size_t errlen);

/* Connect to path: the fd (close-on-exec, blocking), or -errno with err. */
int takeover_connect(const char *path, char *err, size_t errlen);

/* The connected peer must run as uid 0: 0 with its pid, or -EPERM (or
 * -errno) with err saying who it is. */
int takeover_peer_check(int fd, pid_t *pid, char *err, size_t errlen);

/* The peer's binary, opened through /proc/PID/exe (close-on-exec): an fd
 * or -errno. */
int takeover_peer_exe(pid_t pid);

#endif
