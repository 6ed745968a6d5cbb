/*
 * The privileged monitor (docs/SECURITY.md, "Privilege separation"): the
 * part of the agent that keeps root. It follows the runtime's containers,
 * starts processes in them, waits for them and signals them, all at the
 * unprivileged worker's request over the privsep channel, and parses no
 * network input. It treats the worker as hostile: a malformed message, or
 * the worker's end, kills every session it started and ends the monitor.
 */
#ifndef EXECFS_AGENT_MONITOR_H
#define EXECFS_AGENT_MONITOR_H

#include <stddef.h>
#include <sys/types.h>

#include "tlsfiles.h"

struct handover_monitor;

struct monitor_opts {
	const char *node;
	const char *const *roots;
	size_t nroots;
	const char *policy; /* re-read on SIGHUP and sent; NULL: built in */
	const char *pidfile; /* the monitor's pid, removed at exit */
	/* With a TCP listener: the TLS files, read here (the key may be
	 * root's alone) on SIGHUP and when their directories change, and
	 * sent to the worker when they changed. cert NULL: no TLS. */
	struct tls_paths tls;
	/* The --listen addresses: the worker binds them, but cannot remove
	 * its Unix sockets at the end (their directory is root's); the
	 * monitor does. */
	const char *const *listen;
	size_t nlisten;
	const char *metrics; /* --metrics, likewise; NULL: none */
	pid_t worker; /* the worker process (our child) */
	int fd; /* our end of the channel; owned */
	/* SIGUSR2, an upgrade in place (docs/DEPLOY.md, "Upgrades"): the
	 * binary at exe_path (NULL: no upgrade; the path the agent was
	 * started from) is executed with argv (the agent's own). */
	const char *exe_path;
	char *const *argv;
	/* The state an earlier image handed over (upgrade_state_load), or
	 * NULL: its jobs are taken back and the worker gets its sessions.
	 * Emptied by monitor_run (its fds taken). */
	struct handover_monitor *adopt;
	/* A take-over (takeover.h, docs/DEPLOY.md "Upgrades"):
	 * handover_socket, where a new agent may connect and take every
	 * session (NULL: none); takeover_fd, connected to an older agent's
	 * socket, whose sessions this one takes (owned; -1: none). */
	const char *handover_socket;
	int takeover_fd;
};

/* SIGUSR1 reopens the log (log_reopen()) and hands the worker the new
 * file. SIGUSR2 upgrades in place: the worker hands every session over,
 * and this process execve()s the binary at exe_path, keeping its pid and
 * with it every session's process (monitor_upgrade.h). */
/* Runs until SIGTERM/SIGINT (forwarded to the worker; 0 once it ended) or
 * until the worker ends or misbehaves (1). Every session is killed before
 * it returns. */
int monitor_run(const struct monitor_opts *o);

#endif
