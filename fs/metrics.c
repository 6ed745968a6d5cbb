/*
 * The mount's counters, its running-sessions gauge and their text
 * (metrics.h), in the format the agent's /metrics uses
 * (include/execfs/promtext.h). The gauges counted at a read come in
 * struct fs_metrics_gauges, so the rendering needs no mount (unit test:
 * tests/unit/test_fs_metrics.c).
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/promtext.h"
#include "execfs/version.h"

static struct {
	uint64_t c[FSM_COUNT];
	uint64_t running;
	struct prom_hist latency;
} m;

void fs_metrics_add(enum fs_metric which, uint64_t n)
{
	if (which < FSM_COUNT)
		m.c[which] += n;
}

void fs_metrics_started(const struct timespec *sent)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	m.c[FSM_SESSIONS_STARTED]++;
	prom_hist_observe(&m.latency,
			  (double)(now.tv_sec - sent->tv_sec) +
				  (double)(now.tv_nsec - sent->tv_nsec) / 1e9);
}

void fs_metrics_running(int delta)
{
	if (delta > 0)
		m.running++;
	else if (m.running)
		m.running--;
}

static const struct {
	enum fs_metric which;
	const char *name, *labels, *help;
} counters[] = {
	{ FSM_SESSIONS_STARTED, "execfs_mount_sessions_started_total", NULL,
	  "Sessions whose process started." },
	{ FSM_SESSIONS_FAILED, "execfs_mount_sessions_failed_total", NULL,
	  "Sessions that failed to start (refusals included)." },
	{ FSM_SESSIONS_ENDED, "execfs_mount_sessions_ended_total", NULL,
	  "Sessions whose process exited or was killed." },
	{ FSM_SESSIONS_LOST, "execfs_mount_sessions_lost_total", NULL,
	  "Sessions given up after their connection was lost." },
	{ FSM_RESUMES, "execfs_mount_session_resumes_total", NULL,
	  "Sessions re-attached on a new connection." },
	{ FSM_BYTES_IN, "execfs_mount_session_bytes_total", "direction=\"in\"",
	  "Session bytes: in to stdin, out of stdout and stderr." },
	{ FSM_BYTES_OUT, "execfs_mount_session_bytes_total",
	  "direction=\"out\"", NULL },
	{ FSM_CONNECTS, "execfs_mount_connections_total", "result=\"ok\"",
	  "Connections to agents, by result (TLS handshakes included)." },
	{ FSM_CONNECT_FAILURES, "execfs_mount_connections_total",
	  "result=\"failed\"", NULL },
	{ FSM_CONNECTIONS_LOST, "execfs_mount_connections_lost_total", NULL,
	  "Working connections to agents that ended." },
};

static void gauge(struct evbuffer *b, const char *name, const char *help,
		  uint64_t v)
{
	prom_family(b, name, "gauge", help);
	prom_sample_u64(b, name, NULL, v);
}

char *fs_metrics_text(const struct fs_metrics_gauges *g, size_t *len)
{
	struct evbuffer *b = evbuffer_new();
	char *text = NULL;
	size_t i, n;

	if (!b)
		return NULL;
	prom_family(b, "execfs_mount_build_info", "gauge",
		    "The mount's version (always 1).");
	evbuffer_add_printf(b, "execfs_mount_build_info{version=\"%s\"} 1\n",
			    EXECFS_VERSION);
	gauge(b, "execfs_mount_sessions_running",
	      "Sessions started and not ended (resuming ones included).",
	      m.running);
	prom_family(b, "execfs_mount_nodes", "gauge",
		    "Nodes by connection state (as their .status says).");
	prom_sample_u64(b, "execfs_mount_nodes", "state=\"connected\"",
			g->nodes_connected);
	prom_sample_u64(b, "execfs_mount_nodes", "state=\"connecting\"",
			g->nodes_connecting);
	prom_sample_u64(b, "execfs_mount_nodes", "state=\"unreachable\"",
			g->nodes_unreachable);
	gauge(b, "execfs_mount_containers",
	      "Containers in the nodes' last listings (a disconnected "
	      "node's last-known one included).",
	      g->containers);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (counters[i].help)
			prom_family(b, counters[i].name, "counter",
				    counters[i].help);
		prom_sample_u64(b, counters[i].name, counters[i].labels,
				m.c[counters[i].which]);
	}
	prom_hist_write(b, "execfs_mount_session_start_seconds",
			"From a start sent to the agent's answer that it runs.",
			&m.latency);
	n = evbuffer_get_length(b);
	text = malloc(n + 1);
	if (text) {
		evbuffer_remove(b, text, n);
		text[n] = 0;
		*len = n;
	}
	evbuffer_free(b);
	return text;
}
