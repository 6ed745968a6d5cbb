/*
 * The agent's figures for Prometheus (docs/DEPLOY.md, "Metrics"): counters
 * the session code, the reloads and the transport bump from where things
 * happen, one call each, and their rendering in the text format with the
 * gauges the caller knows at scrape time. The process that serves
 * /metrics keeps them: the worker (or the one process with
 * --no-privsep). Plain globals: one loop per process.
 */
#ifndef EXECFS_AGENT_METRICS_H
#define EXECFS_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evbuffer;

enum metric {
	METRIC_BYTES_IN, /* stdin bytes that reached a session's process */
	METRIC_BYTES_OUT, /* output bytes read from sessions' processes */
	METRIC_RESUMES, /* a session's status stream re-attached */
	METRIC_POLICY_RELOADS,
	METRIC_POLICY_RELOAD_FAILURES,
	METRIC_CERT_RELOADS,
	METRIC_CERT_RELOAD_FAILURES,
	METRIC_COUNT
};

void metrics_add(enum metric m, uint64_t n);
#define metrics_inc(m) metrics_add((m), 1)

/* A start refused before anything ran: reason "policy", "limit" or
 * "container" (not running, unknown). */
void metrics_session_denied(const char *reason);
/* An admitted start that did not run: counted by errno name. */
void metrics_session_failed(int err);
/* A process runs: started and running count it, the start latency is
 * from admitted (CLOCK_MONOTONIC) to now. */
void metrics_session_started(const struct timespec *admitted);
/* A running session's process ended. */
void metrics_session_ended(void);
/* A running session handed over by the worker before this one (an
 * upgrade): running again, not started again. */
void metrics_session_adopted(void);

struct metrics_gauges {
	size_t containers;
	long long cert_not_after; /* 0: no TLS */
	bool ready, healthy;
};
/* Everything, in the Prometheus text format. */
void metrics_render(struct evbuffer *b, const struct metrics_gauges *g);

#endif
