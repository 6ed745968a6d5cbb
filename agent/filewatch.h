/*
 * Noticing that files were replaced, the way a Kubernetes Secret volume
 * replaces them: the volume's entries are symlinks through "..data", a
 * symlink the kubelet swaps (a rename) to a new timestamped directory, so
 * the files themselves never change and a watch on them would see
 * nothing. So each file's directory is watched (inotify): an entry made,
 * renamed in or out, written and closed, or removed there. Events come in
 * bursts (a swap is several; an editor writes, renames, changes modes);
 * the callback runs once per burst, from the loop, FILEWATCH_DELAY_MS
 * after its first event. What changed is for the callback to find out
 * (a directory holds other files too).
 */
#ifndef EXECFS_AGENT_FILEWATCH_H
#define EXECFS_AGENT_FILEWATCH_H

#include <stddef.h>

struct event_base;
struct filewatch;

#define FILEWATCH_DELAY_MS 300

/* Watch the directories of paths (NULL entries skipped; relative paths
 * against the current directory). NULL with the reason in err. */
struct filewatch *filewatch_new(struct event_base *base,
				const char *const *paths, size_t n,
				void (*cb)(void *arg), void *arg, char *err,
				size_t errlen);
void filewatch_free(struct filewatch *w);

#endif
