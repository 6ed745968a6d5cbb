/*
 * Telling systemd how the agent is doing (sd_notify(3)'s protocol, by hand:
 * it is one datagram). A unit of Type=notify waits for "READY=1" before it
 * counts the agent as started, so units ordered after it (the mount) find
 * the socket listening; "STATUS=..." is what `systemctl status` shows.
 */
#ifndef EXECFS_AGENT_SDNOTIFY_H
#define EXECFS_AGENT_SDNOTIFY_H

/* Send state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET: a path,
 * or an abstract socket written "@name". 0 when sent or when there is no
 * $NOTIFY_SOCKET (not started by systemd); -errno otherwise. Never blocks. */
int sdnotify(const char *state);

/* Connect a socket to $NOTIFY_SOCKET now and send every later state
 * through it: for a process that will not be able to make sockets (the
 * worker, in its seccomp sandbox). 0 (also without $NOTIFY_SOCKET) or
 * -errno; sdnotify() makes its own socket each time until it succeeded. */
int sdnotify_prepare(void);

#endif
