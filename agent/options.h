/*
 * execfs-agent's command line: every option (agent_opts_usage prints
 * them, as --help does), checked and given its default, into one struct
 * agent_opts that main.c runs the agent with.
 */
#ifndef EXECFS_AGENT_OPTIONS_H
#define EXECFS_AGENT_OPTIONS_H

#include "execfs/h2.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The worker's own user, which the installer creates; nobody (shared with
 * other daemons) is the fallback. */
#define AGENT_USER "execfs"

#define MAX_LISTEN 16
#define MAX_ROOTS 32
#define MAX_REDACT 32

struct agent_opts {
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *roots[MAX_ROOTS];
	size_t nroots;
	const char *node;
	const char *docker_root;
	bool host_exec; /* offer the node itself, EXECFS_HOST_ID */
	const char *cert, *key, *client_ca, *crl;
	const char *log, *pidfile;
	const char *metrics; /* --metrics ADDR; NULL: none */
	const char *policy, *audit;
	bool audit_required; /* a start whose audit line is lost fails */
	struct h2_limits caps; /* per listener; see h2_listener_set_limits */
	size_t max_sessions;
	unsigned grace; /* seconds; 0: XSESSION_GRACE_SECONDS */
	long heartbeat; /* seconds; -1: the transport's default */
	unsigned spin_us; /* busy poll after a wakeup (transport/common/evloop.c) */
	const char *redact[MAX_REDACT];
	size_t nredact;
	const char *user; /* the worker's */
	const char *host_cgroupns; /* hostns.h; "none": stay in ours */
	bool no_privsep;
	int worker_fd; /* --privsep-worker: this is the worker; else -1 */
	int handover_fd; /* --handover-fd: an upgrade's state; else -1 */
	const char *handover_socket; /* --handover-socket; NULL: none */
	const char *take_over; /* --take-over: the socket to take over */
	bool debug;
};

/* Parse argv into o (whose caps, worker_fd, heartbeat and spin_us the
 * caller set to their defaults): 0, or -1 after a usage error (printed).
 * --help and --version print and exit 0. Sets the naming's Docker root
 * and whether the node is offered, as the options say. */
int agent_opts_parse(int argc, char **argv, struct agent_opts *o);

#endif
