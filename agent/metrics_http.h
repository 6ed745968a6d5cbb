/*
 * The agent's health and metrics endpoint (--metrics ADDR): a tiny
 * HTTP/1.1 server on a loopback TCP address or a Unix socket, on the
 * loop of the process that serves sessions (the worker), answering
 *
 *   GET /healthz   200 while the worker's loop turns and the monitor
 *                  answers it; 503 when the monitor stopped answering. A
 *                  stopped worker answers nothing: a probe's timeout is
 *                  its failure.
 *   GET /readyz    200 once the agent serves (listening, policy in force)
 *                  and is healthy; 503 before and while it stops
 *   GET /metrics   the Prometheus text format (metrics.h)
 *
 * One request per connection (the answer closes it), a request head of at
 * most METRICS_HTTP_HEAD_MAX bytes, METRICS_HTTP_CLIENTS connections at
 * once, each given METRICS_HTTP_TIMEOUT seconds; a connection beyond them
 * closes the oldest one still to send its request, so idle connections
 * cannot keep a probe out. Nothing it reads reaches anything but the path
 * comparison.
 */
#ifndef EXECFS_AGENT_METRICS_HTTP_H
#define EXECFS_AGENT_METRICS_HTTP_H

#include <stddef.h>

#include "metrics.h"

struct event_base;
struct metrics_http;

#define METRICS_HTTP_HEAD_MAX 4096
#define METRICS_HTTP_CLIENTS 16
#define METRICS_HTTP_TIMEOUT 5

/*
 * Parse a request head, buf[0..len): 0 while incomplete, 1 when complete
 * (the method was GET or HEAD, *head says which, and the path is copied to
 * path, its query string cut off), -EINVAL for a malformed head, -E2BIG
 * for one over METRICS_HTTP_HEAD_MAX, -ENOSYS for another method.
 */
int metrics_http_parse(const char *buf, size_t len, char *path, size_t pathlen,
		       int *head);

/* The gauges at the time of a request. */
typedef void (*metrics_gauges_fn)(void *arg, struct metrics_gauges *g);

/* Listen on addr ("unix:PATH", mode 0660, or a loopback "HOST:PORT";
 * other addresses are refused). NULL with the reason in err. */
struct metrics_http *metrics_http_new(struct event_base *base, const char *addr,
				      metrics_gauges_fn fn, void *arg,
				      char *err, size_t errlen);
/* Closes the listener and every client; NULL is a no-op. The socket file
 * stays (its directory may be root's: the monitor removes it). */
void metrics_http_free(struct metrics_http *h);

#endif
