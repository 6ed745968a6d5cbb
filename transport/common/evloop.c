/*
 * Why the loops poll for a moment before they sleep.
 *
 * An interactive exchange is a relay: a keystroke goes from the reader's
 * process through FUSE to execfs, over the connection to the agent, into
 * the terminal, and back the same way, and at each stop the next message
 * comes some tens of microseconds after the last one left (the reader's
 * POLL after a write, its READ after the POLL, the terminal's echo after
 * the agent wrote the key). A daemon that sleeps in epoll_wait between
 * them pays a wakeup each time, and waking a process on another CPU is
 * slow on virtual machines whose idle CPUs halt at once (on the test VM
 * 60-90 us, against ~10 us on the same CPU): a keystroke's echo crossed
 * about ten of them.
 *
 * So after a wakeup that ran callbacks the loop goes on polling without
 * blocking (epoll_wait with a zero timeout, yielding the CPU between
 * polls to anything else runnable on it) for spin_us, and sleeps only if
 * nothing came. A busy stream never sleeps anyway and an idle daemon never
 * polls: the cost is at most spin_us of CPU per burst of work, 100 us by
 * default (`execfs -o spin=US`, `execfs-agent --spin US`; 0 turns it off).
 * On a single CPU polling would only hold off the process being waited
 * for, so the default there is 0.
 */
#include <event2/event.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "execfs/evloop.h"
#include "execfs/numparse.h"

unsigned evloop_spin_default(void)
{
	cpu_set_t set;

	/* The CPUs this process may run on (a cpuset, taskset, systemd's
	 * CPUAffinity), not the machine's. */
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return sysconf(_SC_NPROCESSORS_ONLN) > 1 ?
			       EVLOOP_SPIN_DEFAULT_US :
			       0;
	return CPU_COUNT(&set) > 1 ? EVLOOP_SPIN_DEFAULT_US : 0;
}

int evloop_spin_parse(const char *text, unsigned *us)
{
	return num_parse_unsigned(text, EVLOOP_SPIN_MAX_US, us);
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 1: the loop is to end (break, exit, nothing left), -1: failed. */
static int loop_pass(struct event_base *base, int flags)
{
	int rc = event_base_loop(base, flags);

	if (rc < 0)
		return -1;
	return rc > 0 || event_base_got_break(base) ||
	       event_base_got_exit(base);
}

int evloop_run(struct event_base *base, unsigned spin_us)
{
	long long until;
	int rc;

	if (!spin_us)
		return event_base_dispatch(base) < 0 ? -1 : 0;
	/* Sleep until something happens, and run it; then poll. */
	while (!(rc = loop_pass(base, EVLOOP_ONCE))) {
		until = now_us() + spin_us;
		do {
			sched_yield();
			rc = loop_pass(base, EVLOOP_NONBLOCK);
		} while (!rc && now_us() < until);
		if (rc)
			break;
	}
	return rc < 0 ? -1 : 0;
}
