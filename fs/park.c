/*
 * Parking and poll notification for FUSE requests (see park.h). libfuse
 * calls an interrupt function with the request's lock held; answering the
 * request inside it is allowed (fuse_free_req only drops a reference there).
 */
#include "park.h"

#include <stdlib.h>

static void park_interrupted(fuse_req_t req, void *data)
{
	struct park *p = data;

	p->on_interrupt(p);
}

void park_add(struct list *q, struct park *p, fuse_req_t req,
	      park_interrupt_fn *on_interrupt)
{
	p->req = req;
	p->on_interrupt = on_interrupt;
	list_add_tail(q, &p->link);
	/* Last: this may call park_interrupted() right away. */
	fuse_req_interrupt_func(req, park_interrupted, p);
}

void park_take(struct park *p)
{
	list_del(&p->link);
}

void park_fail_all(struct list *q, int err)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, q) {
		struct park *p = list_entry(pos, struct park, link);

		park_take(p);
		fuse_reply_err(p->req, err);
		free(p); /* the object it starts */
	}
}

void poller_init(struct poller *pl)
{
	list_init(&pl->link);
	pl->ph = NULL;
}

void poller_arm(struct list *q, struct poller *pl, struct fuse_pollhandle *ph)
{
	if (pl->ph)
		fuse_pollhandle_destroy(pl->ph);
	pl->ph = ph;
	list_del(&pl->link);
	list_add_tail(q, &pl->link);
}

void poller_wake_all(struct list *q)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, q) {
		struct poller *pl = list_entry(pos, struct poller, link);

		list_del(&pl->link);
		if (pl->ph) {
			/* Fails harmlessly (ENOENT) if the poller went away. */
			fuse_lowlevel_notify_poll(pl->ph);
			fuse_pollhandle_destroy(pl->ph);
			pl->ph = NULL;
		}
	}
}

void poller_release(struct poller *pl)
{
	list_del(&pl->link);
	if (pl->ph)
		fuse_pollhandle_destroy(pl->ph);
	pl->ph = NULL;
}
