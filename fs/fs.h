/*
 * The fs client's shared context: one per mount, reachable from every FUSE
 * request (fuse_req_userdata) and every node. Also fixes the libfuse API
 * version for all of fs/.
 */
#ifndef EXECFS_FS_FS_H
#define EXECFS_FS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "execfs/list.h"

struct event_base;
struct evdns_base;
struct tree;
struct notifier;
struct fleet;

struct execfs {
	struct fuse_session *se; /* owned by main.c */
	struct event_base *base; /* owned by main.c */
	struct evdns_base *dns; /* owned by main.c; NULL in local mode */
	struct tree *tree; /* owned */
	struct notifier *notifier; /* owned; kernel cache invalidations */
	struct list nodes; /* struct node, attached (node.h) */
	struct fleet *fleet; /* owned by main.c; NULL in local mode */
	struct list handles; /* open file handles (ops.c), freed at exit */
	size_t history_cap; /* per output stream, bytes */
	unsigned resume_seconds; /* a lost session waits this for its node */
	bool local; /* node dir named by the agent's snapshot */
	bool unmounting; /* teardown: kernel notifications stop */
	/* Every file's owner: the user who mounted, read once (each LOOKUP
	 * and GETATTR stats a file, and getuid is a system call). */
	uid_t uid;
	gid_t gid;
};

/* Event priorities of the mount's loop (event_base_priority_init). An
 * event at FS_PRIO_IDLE runs only in a loop pass that found no socket,
 * FUSE or timer work: output is handed to readers in as few replies as the
 * arriving data allows, and without delay once the data stops. */
#define FS_PRIORITIES 3 /* libevent's default for new events: 1 */
#define FS_PRIO_IDLE 2

/* The block size stream files report: programs sizing their reads by
 * st_blksize (cat, cp, stdio) then ask for this much in one request, which
 * stream.c fills whole while output keeps coming. One FUSE request carries
 * up to 1 MiB (libfuse's default max_pages: 256). */
#define FS_STREAM_BLKSIZE (1024 * 1024)

/* Timeouts the kernel may cache what we answer. Stream files change under
 * it all the time, so their attributes are never cached (but clone's,
 * which never change); names are stable for a second (a removed container
 * is also invalidated explicitly). */
#define FS_ENTRY_TIMEOUT 1.0
#define FS_DIR_ATTR_TIMEOUT 1.0
#define FS_FILE_ATTR_TIMEOUT 0.0
#define FS_CLONE_ATTR_TIMEOUT 1.0

/* How long a session whose connection was lost waits for its node by
 * default: the agent's default grace (execfs-agent --grace). */
#define FS_RESUME_SECONDS 60
#define FS_RESUME_MAX 86400

#endif
