/*
 * The mount's counters and their text (metrics.h), in the format the
 * agent's /metrics uses (include/execfs/promtext.h).
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/promtext.h"
#include "execfs/version.h"

static struct {
	uint64_t c[FSM_COUNT];
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

char *fs_metrics_text(size_t *len)
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
