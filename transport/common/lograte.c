/*
 * A token bucket for log lines a peer can trigger (see lograte.h).
 */
#include "execfs/lograte.h"

bool log_rate_due_at(struct log_rate *r, unsigned burst, unsigned seconds,
		     time_t now, unsigned *skipped)
{
	time_t periods;

	if (!r->used || now < r->refill) {
		r->used = true;
		r->tokens = burst;
		r->refill = now;
	} else if (now - r->refill >= (time_t)seconds) {
		periods = (now - r->refill) / (time_t)seconds;
		if (periods >= (time_t)burst - r->tokens)
			r->tokens = burst;
		else
			r->tokens += (unsigned)periods;
		r->refill += periods * (time_t)seconds;
	}
	if (!r->tokens) {
		r->skipped++;
		return false;
	}
	r->tokens--;
	*skipped = r->skipped;
	r->skipped = 0;
	return true;
}

bool log_rate_due(struct log_rate *r, unsigned burst, unsigned seconds,
		  unsigned *skipped)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return log_rate_due_at(r, burst, seconds, now.tv_sec, skipped);
}
