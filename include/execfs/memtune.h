/*
 * malloc settings for a process that streams: both daemons allocate and
 * free MiB-sized buffers all the time while bytes flow.
 */
#ifndef EXECFS_MEMTUNE_H
#define EXECFS_MEMTUNE_H

/* Call once, early, before the event loop starts. */
void memtune_for_streaming(void);

#endif
