/*
 * The mount's own figures, read from MOUNTPOINT/.metrics in the Prometheus
 * text format (docs/FILES.md): counters bumped where things happen, one
 * call each, the running sessions kept by their state changes, and the
 * gauges the caller counts at each read (nodes by connection state,
 * containers listed), rendered whole at each read from offset 0. Plain
 * globals: one loop per mount.
 */
#ifndef EXECFS_FS_METRICS_H
#define EXECFS_FS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum fs_metric {
	FSM_SESSIONS_STARTED, /* the agent said 200: the process runs */
	FSM_SESSIONS_FAILED, /* a start that failed (refusals included) */
	FSM_SESSIONS_ENDED, /* exited or killed, as the agent reported */
	FSM_SESSIONS_LOST, /* given up after a lost connection */
	FSM_RESUMES, /* a session re-attached on a new connection */
	FSM_BYTES_IN, /* stdin bytes sent to agents */
	FSM_BYTES_OUT, /* stdout and stderr bytes received */
	FSM_CONNECTS, /* connections to agents made (TLS done) */
	FSM_CONNECT_FAILURES, /* connects or handshakes that failed */
	FSM_CONNECTIONS_LOST, /* working connections that ended */
	FSM_COUNT
};

void fs_metrics_add(enum fs_metric m, uint64_t n);
#define fs_metrics_inc(m) fs_metrics_add((m), 1)
/* A start the agent answered 200: counted, and its latency from sent
 * (CLOCK_MONOTONIC) observed. */
void fs_metrics_started(const struct timespec *sent);
/* A session's process began (+1) or stopped (-1) being one that runs as
 * far as the mount knows (resuming ones included): the running gauge. */
void fs_metrics_running(int delta);

/* What the caller counts when .metrics is read. */
struct fs_metrics_gauges {
	/* Attached nodes by the first word of their .status: connected;
	 * connecting (no error yet); error (unreachable: the last attempt
	 * or connection failed, it retries). */
	unsigned nodes_connected, nodes_connecting, nodes_unreachable;
	size_t containers; /* in the nodes' last listings */
};

/* The text with g's gauges, malloc'ed (*len bytes, NUL-terminated); NULL
 * when out of memory. */
char *fs_metrics_text(const struct fs_metrics_gauges *g, size_t *len);

#endif
