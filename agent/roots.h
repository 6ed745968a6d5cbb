/*
 * The OCI runtime state roots the inventory scans, given as patterns: an
 * absolute path whose components may hold shell wildcards (fnmatch(3), a
 * leading dot matched only by a dot), so that "/run/containerd/runc/ *" is
 * every containerd namespace and "/run/docker/runtime- * /moby" every
 * runtime Docker was given (without the blanks, which keep this a comment).
 * A pattern
 * is expanded again on every scan, so roots that appear after the agent
 * started (a new containerd namespace, a runtime's first container) are
 * found; the expansion also names the directories to watch for that: the
 * nearest existing directory of a path not there yet, and the directory a
 * wildcard is matched in.
 */
#ifndef EXECFS_AGENT_ROOTS_H
#define EXECFS_AGENT_ROOTS_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many roots in one expansion, and entries looked at in one
 * directory a wildcard is matched in: a bound on a scan's work. */
#define ROOTS_MAX 256
#define ROOTS_MAX_DIR_ENTRIES 4096

struct rootset;

/* The expansion of a rootset now. Every string is owned. */
struct root_expansion {
	char **roots; /* existing directories, pattern order, each once */
	size_t nroots;
	char **watch; /* directories whose entries decide the expansion */
	size_t nwatch;
	bool truncated; /* a bound above was hit; the rest is left out */
};

/* Copy the patterns; NULL with errno EINVAL for a pattern that is not
 * absolute or holds a "." or ".." component, ENOMEM. */
struct rootset *rootset_new(const char *const *patterns, size_t n);
void rootset_free(struct rootset *rs);

/* Expand every pattern now into out (zeroed by the caller). 0 or -ENOMEM
 * (out then holds nothing). Directories are followed through symlinks, as
 * /var/run is /run; one directory reached twice is listed once. */
int rootset_expand(const struct rootset *rs, struct root_expansion *out);
void root_expansion_release(struct root_expansion *x);

/* Whether a pattern component holds a wildcard. */
bool roots_is_wild(const char *component);

#endif
