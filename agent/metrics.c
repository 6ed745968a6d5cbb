/*
 * The agent's counters and their rendering (metrics.h). Denials have a
 * fixed set of reasons and failures are keyed by errno name (a bounded
 * table), so no label set can grow with what a client sends.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "execfs/errname.h"
#include "execfs/h2.h"
#include "execfs/promtext.h"
#include "execfs/version.h"

static const char *const deny_reasons[] = { "policy", "limit", "container" };
#define NDENY (sizeof(deny_reasons) / sizeof(deny_reasons[0]))
/* Distinct errno names kept; more go to "other". */
#define NFAIL 32

static struct {
	uint64_t c[METRIC_COUNT];
	uint64_t started, running, denied[NDENY];
	struct {
		const char *name; /* errno_name()'s, static */
		uint64_t n;
	} failed[NFAIL + 1];
	struct prom_hist latency;
} m;

void metrics_add(enum metric which, uint64_t n)
{
	if (which < METRIC_COUNT)
		m.c[which] += n;
}

void metrics_session_denied(const char *reason)
{
	size_t i;

	for (i = 0; i < NDENY; i++)
		if (!strcmp(reason, deny_reasons[i]))
			m.denied[i]++;
}

void metrics_session_failed(int err)
{
	const char *name = errno_name(err);
	size_t i;

	if (!name)
		name = "other";
	for (i = 0; i < NFAIL && m.failed[i].name; i++)
		if (!strcmp(m.failed[i].name, name))
			break;
	if (i < NFAIL && !m.failed[i].name)
		m.failed[i].name = name;
	if (i == NFAIL)
		m.failed[NFAIL].name = "other";
	m.failed[i].n++;
}

void metrics_session_started(const struct timespec *admitted)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	m.started++;
	m.running++;
	prom_hist_observe(&m.latency,
			  (double)(now.tv_sec - admitted->tv_sec) +
				  (double)(now.tv_nsec - admitted->tv_nsec) /
					  1e9);
}

void metrics_session_adopted(void)
{
	m.running++;
}

void metrics_session_ended(void)
{
	if (m.running)
		m.running--;
}

static void counter(struct evbuffer *b, const char *name, const char *help,
		    uint64_t v)
{
	prom_family(b, name, "counter", help);
	prom_sample_u64(b, name, NULL, v);
}

static void gauge(struct evbuffer *b, const char *name, const char *help,
		  double v)
{
	prom_family(b, name, "gauge", help);
	prom_sample(b, name, NULL, v);
}

void metrics_render(struct evbuffer *b, const struct metrics_gauges *g)
{
	struct h2_server_stats hs;
	char labels[128];
	size_t i;

	h2_server_stats_get(&hs);
	prom_family(b, "execfs_agent_build_info", "gauge",
		    "The agent's version (always 1).");
	snprintf(labels, sizeof(labels), "version=\"%s\"", EXECFS_VERSION);
	prom_sample(b, "execfs_agent_build_info", labels, 1);
	gauge(b, "execfs_agent_up",
	      "1 while the monitor answers the worker (what /healthz says).",
	      g->healthy);
	gauge(b, "execfs_agent_ready",
	      "1 once the agent serves (what /readyz says).", g->ready);
	gauge(b, "execfs_agent_containers", "Containers the agent serves.",
	      (double)g->containers);
	gauge(b, "execfs_agent_sessions_running",
	      "Sessions whose process runs.", (double)m.running);
	counter(b, "execfs_agent_sessions_started_total",
		"Sessions whose process started.", m.started);
	prom_family(b, "execfs_agent_sessions_failed_total", "counter",
		    "Admitted starts that did not run, by errno.");
	for (i = 0; i <= NFAIL; i++)
		if (m.failed[i].name) {
			snprintf(labels, sizeof(labels), "errno=\"%s\"",
				 m.failed[i].name);
			prom_sample_u64(b, "execfs_agent_sessions_failed_total",
					labels, m.failed[i].n);
		}
	prom_family(b, "execfs_agent_sessions_denied_total", "counter",
		    "Starts refused before anything ran, by reason.");
	for (i = 0; i < NDENY; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
			 deny_reasons[i]);
		prom_sample_u64(b, "execfs_agent_sessions_denied_total", labels,
				m.denied[i]);
	}
	prom_hist_write(b, "execfs_agent_session_start_seconds",
			"From an admitted start to its process running.",
			&m.latency);
	counter(b, "execfs_agent_session_resumes_total",
		"Sessions a client re-attached to after a lost connection.",
		m.c[METRIC_RESUMES]);
	prom_family(b, "execfs_agent_session_bytes_total", "counter",
		    "Session bytes: in to processes' stdin, out of their "
		    "stdout and stderr.");
	prom_sample_u64(b, "execfs_agent_session_bytes_total",
			"direction=\"in\"", m.c[METRIC_BYTES_IN]);
	prom_sample_u64(b, "execfs_agent_session_bytes_total",
			"direction=\"out\"", m.c[METRIC_BYTES_OUT]);
	counter(b, "execfs_agent_connections_accepted_total",
		"Connections accepted on the agent's listeners.", hs.accepted);
	gauge(b, "execfs_agent_connections_open",
	      "Accepted connections still open.", (double)hs.open);
	prom_family(b, "execfs_agent_tls_handshakes_total", "counter",
		    "TLS handshakes on the listeners, by result.");
	prom_sample_u64(b, "execfs_agent_tls_handshakes_total", "result=\"ok\"",
			hs.handshakes);
	prom_sample_u64(b, "execfs_agent_tls_handshakes_total",
			"result=\"failed\"", hs.handshake_failures);
	prom_family(b, "execfs_agent_policy_reloads_total", "counter",
		    "Policy files reloaded, by result.");
	prom_sample_u64(b, "execfs_agent_policy_reloads_total", "result=\"ok\"",
			m.c[METRIC_POLICY_RELOADS]);
	prom_sample_u64(b, "execfs_agent_policy_reloads_total",
			"result=\"failed\"",
			m.c[METRIC_POLICY_RELOAD_FAILURES]);
	prom_family(b, "execfs_agent_cert_reloads_total", "counter",
		    "TLS files reloaded, by result.");
	prom_sample_u64(b, "execfs_agent_cert_reloads_total", "result=\"ok\"",
			m.c[METRIC_CERT_RELOADS]);
	prom_sample_u64(b, "execfs_agent_cert_reloads_total",
			"result=\"failed\"", m.c[METRIC_CERT_RELOAD_FAILURES]);
	if (g->cert_not_after)
		gauge(b, "execfs_agent_cert_expiry_timestamp_seconds",
		      "When the certificate new connections get expires.",
		      (double)g->cert_not_after);
}
