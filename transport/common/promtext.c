/*
 * Writing the Prometheus text format (promtext.h). Values are printed as
 * integers when they are whole (counters), else with %.9g.
 */
#include "execfs/promtext.h"

#include <event2/buffer.h>
#include <stdio.h>

static const double bounds[PROM_HIST_BUCKETS] = { 0.005, 0.01, 0.025, 0.05,
						  0.1,	 0.25, 0.5,   1,
						  2.5,	 5,    10 };

void prom_family(struct evbuffer *b, const char *name, const char *type,
		 const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			    type);
}

static void sample_head(struct evbuffer *b, const char *name,
			const char *labels)
{
	if (labels && labels[0])
		evbuffer_add_printf(b, "%s{%s} ", name, labels);
	else
		evbuffer_add_printf(b, "%s ", name);
}

void prom_sample(struct evbuffer *b, const char *name, const char *labels,
		 double value)
{
	sample_head(b, name, labels);
	if (value > -1e15 && value < 1e15 && value == (double)(long long)value)
		evbuffer_add_printf(b, "%.0f\n", value);
	else
		evbuffer_add_printf(b, "%.9g\n", value);
}

void prom_sample_u64(struct evbuffer *b, const char *name, const char *labels,
		     uint64_t value)
{
	sample_head(b, name, labels);
	evbuffer_add_printf(b, "%llu\n", (unsigned long long)value);
}

void prom_hist_observe(struct prom_hist *h, double seconds)
{
	size_t i;

	if (!(seconds >= 0))
		seconds = 0;
	for (i = 0; i < PROM_HIST_BUCKETS && seconds > bounds[i]; i++)
		;
	if (i < PROM_HIST_BUCKETS)
		h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

void prom_hist_write(struct evbuffer *b, const char *name, const char *help,
		     const struct prom_hist *h)
{
	uint64_t cum = 0;
	size_t i;

	prom_family(b, name, "histogram", help);
	for (i = 0; i < PROM_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
				    bounds[i], (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)h->count);
	evbuffer_add_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum,
			    name, (unsigned long long)h->count);
}
