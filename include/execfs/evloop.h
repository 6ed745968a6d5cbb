/*
 * The event loop both daemons run: libevent's, plus a short busy poll
 * after each wakeup (see transport/common/evloop.c for why).
 */
#ifndef EXECFS_EVLOOP_H
#define EXECFS_EVLOOP_H

struct event_base;

/* The busy poll after a wakeup, in microseconds, for a process that may
 * run on more than one CPU (on one CPU polling would only hold off the
 * very process being waited for: 0 there). */
#define EVLOOP_SPIN_DEFAULT_US 100
#define EVLOOP_SPIN_MAX_US 10000

/* The default here: EVLOOP_SPIN_DEFAULT_US, or 0 when this process may
 * run on one CPU only. */
unsigned evloop_spin_default(void);

/* A command-line value: decimal microseconds, 0..EVLOOP_SPIN_MAX_US.
 * 0, or -EINVAL. */
int evloop_spin_parse(const char *text, unsigned *us);

/*
 * Run base until event_base_loopbreak()/loopexit() (called from a
 * callback: the flags are read after each pass) or until no event is
 * left, as event_base_dispatch() does; after each wakeup that ran
 * callbacks, keep polling without sleeping for spin_us before blocking
 * again (0: event_base_dispatch() itself). 0, or -1 when libevent failed.
 */
int evloop_run(struct event_base *base, unsigned spin_us);

#endif
