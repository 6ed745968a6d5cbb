/*
 * The echo predictor behind held POLLs (see echo_wait.h).
 */
#include <time.h>

#include "echo_wait.h"

static uint64_t limit_ns = (uint64_t)ECHO_WAIT_DEFAULT_US * 1000;

void echo_wait_set_limit(unsigned us)
{
	limit_ns = (uint64_t)us * 1000;
}

uint64_t echo_wait_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void echo_wait_init(struct echo_wait *e)
{
	e->key_ns = 0;
	e->echoes = true;
}

void echo_wait_written(struct echo_wait *e, size_t len)
{
	e->key_ns = len > 0 && len <= ECHO_KEY_MAX ? echo_wait_now_ns() : 0;
}

void echo_wait_output(struct echo_wait *e)
{
	if (e->key_ns == 0)
		return;
	if (echo_wait_now_ns() - e->key_ns <= limit_ns)
		e->echoes = true;
	e->key_ns = 0; /* answered: later output is not its echo */
}

bool echo_wait_due(const struct echo_wait *e, uint64_t *until_ns)
{
	uint64_t until = e->key_ns + limit_ns;

	if (e->key_ns == 0 || !e->echoes || limit_ns == 0 ||
	    echo_wait_now_ns() >= until)
		return false;
	*until_ns = until;
	return true;
}

void echo_wait_missed(struct echo_wait *e)
{
	e->echoes = false;
}
