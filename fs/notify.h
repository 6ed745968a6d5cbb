/*
 * Kernel cache invalidations, sent from a helper thread. The kernel takes
 * the parent directory's lock exclusively to invalidate an entry, while a
 * lookup or readdir in that directory holds it shared and waits for our
 * answer: sending the notification from the event loop itself can deadlock
 * the mount. So the loop only queues (parent, name) pairs here.
 */
#ifndef EXECFS_FS_NOTIFY_H
#define EXECFS_FS_NOTIFY_H

#include "fs.h"

struct notifier;

struct notifier *notifier_new(struct fuse_session *se);
/* Stops the thread (bounded wait) and frees what is queued. */
void notifier_free(struct notifier *nf);
/* Queue: the kernel should forget name in parent. Never blocks. */
void notifier_inval_entry(struct notifier *nf, fuse_ino_t parent,
			  const char *name);

#endif
