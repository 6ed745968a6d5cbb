/*
 * The Prometheus text exposition format (version 0.0.4), written into an
 * evbuffer: for the agent's /metrics and the mount's .metrics. Names and
 * label values are the caller's constants (no escaping is done: pass none
 * holding '"', '\\' or a newline).
 */
#ifndef EXECFS_PROMTEXT_H
#define EXECFS_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP" and "# TYPE" lines; type is counter, gauge or histogram. */
void prom_family(struct evbuffer *b, const char *name, const char *type,
		 const char *help);
/* One sample: name{labels} value; labels NULL or "k=\"v\",...". */
void prom_sample(struct evbuffer *b, const char *name, const char *labels,
		 double value);
void prom_sample_u64(struct evbuffer *b, const char *name, const char *labels,
		     uint64_t value);

/* A histogram of seconds with fixed buckets (5 ms .. 10 s). */
#define PROM_HIST_BUCKETS 11
struct prom_hist {
	uint64_t bucket[PROM_HIST_BUCKETS]; /* not cumulative */
	uint64_t count;
	double sum;
};
void prom_hist_observe(struct prom_hist *h, double seconds);
/* The family and its _bucket (cumulative, then +Inf), _sum, _count. */
void prom_hist_write(struct evbuffer *b, const char *name, const char *help,
		     const struct prom_hist *h);

#endif
