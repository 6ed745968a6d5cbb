/*
 * How often a log line that a peer can trigger at will is written: a token
 * bucket per cause. Up to burst lines go out at once; after that one more
 * every `seconds`, and each line that goes out says how many were left out
 * since the last one ("N similar lines suppressed"), so a flood costs a
 * line now and then and loses no count. What must record every event (the
 * audit) does not go through here.
 */
#ifndef EXECFS_LOGRATE_H
#define EXECFS_LOGRATE_H

#include <stdbool.h>
#include <time.h>

/* Zeroed: a full bucket. */
struct log_rate {
	bool used; /* tokens and refill are valid */
	unsigned tokens; /* lines that may go out now */
	time_t refill; /* CLOCK_MONOTONIC second the tokens were counted at */
	unsigned skipped; /* lines left out since the last one */
};

/* Whether a line goes out now; if so, *skipped is the count left out
 * before it (then reset). burst >= 1, seconds >= 1. */
bool log_rate_due(struct log_rate *r, unsigned burst, unsigned seconds,
		  unsigned *skipped);
/* The same at a given CLOCK_MONOTONIC second (tests). */
bool log_rate_due_at(struct log_rate *r, unsigned burst, unsigned seconds,
		     time_t now, unsigned *skipped);

#endif
