/*
 * Parked FUSE requests and poll handles: how a FUSE op waits without
 * blocking. A request that cannot be answered yet (a read at the tail, a
 * wait, a ctl write starting a process, a stdin write with no window) is
 * kept on a queue with its fuse_req_t and answered from the event loop
 * later. Every parked request is interruptible: Ctrl-C on a blocked reader
 * answers EINTR at once (a FUSE fact: without an interrupt
 * handler a blocked cat survives even SIGKILL).
 */
#ifndef EXECFS_FS_PARK_H
#define EXECFS_FS_PARK_H

#include "fs.h"

struct park;

/* Called when the kernel interrupts the request: must unlink p (list_del),
 * answer p->req, and free what embeds p. */
typedef void park_interrupt_fn(struct park *p);

struct park {
	struct list link; /* in the queue it waits on */
	fuse_req_t req;
	park_interrupt_fn *on_interrupt;
};

/*
 * Queue p (embedded in a caller-allocated object) on q and register the
 * interrupt handler. If the request was already interrupted, on_interrupt
 * runs before this returns: the caller must not touch p afterwards.
 */
void park_add(struct list *q, struct park *p, fuse_req_t req,
	      park_interrupt_fn *on_interrupt);

/* Unlink p: the caller answers p->req and frees its object. */
void park_take(struct park *p);
/* Answer every request parked on q with err and free the objects they
 * are embedded in, which must start with their struct park (malloc'ed,
 * the park first: freeing the park frees the object). */
void park_fail_all(struct list *q, int err);

/* A poll waiter: one per file handle that asked to be notified. */
struct poller {
	struct list link; /* in the object it watches, or self */
	struct fuse_pollhandle *ph; /* owned; NULL when not armed */
};

void poller_init(struct poller *pl);
/* Arm pl on q with ph (taking ownership; a previous handle is dropped). */
void poller_arm(struct list *q, struct poller *pl, struct fuse_pollhandle *ph);
/* Tell the kernel every armed poller on q is ready, and disarm them. */
void poller_wake_all(struct list *q);
/* Drop pl's handle and unlink it (handle release). */
void poller_release(struct poller *pl);

#endif
