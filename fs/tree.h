/*
 * The namespace: /<node>/<namespace>/<pod>/<container>/{ctl,stdin,...}.
 * Each name is an inode whose FUSE number is its address (as in libfuse's
 * passthrough_ll.c; FUSE_ROOT_ID is the root) and whose lifetime follows
 * the kernel's lookup count: an inode removed from the tree (its container
 * went away) lives on, unlinked, until the kernel forgets it. Every inode
 * also holds a reference on its parent, so a file's container outlives it.
 *
 * Containers are keyed by their runtime id: a snapshot from the node that
 * still lists an id keeps its inodes (and its sessions).
 *
 * Sessions: every session of a container has a directory N/ (INODE_SESSION,
 * holding a reference on the session) with ctl stdin stdout stderr status
 * wait. `clone` makes one; a start through the container's own ctl makes one
 * too and it becomes the container's current session, which the
 * container-level files show. Cloned sessions never become current, so a
 * script working in N/ never disturbs someone using the container files.
 * When a session is created, ended sessions beyond the TREE_KEEP_ENDED
 * newest (not counting the current one) are forgotten, oldest first.
 *
 * Inodes and container directories (struct ctdir) are opaque: tree.c owns
 * their fields, the accessors below read them.
 */
#ifndef EXECFS_FS_TREE_H
#define EXECFS_FS_TREE_H

#include <stdint.h>
#include <time.h>

#include "fs.h"

struct ctdir; /* what a container directory stands for */
struct inode;
struct node;
struct session;
struct snapshot;

enum inode_kind {
	INODE_ROOT,
	INODE_NODE,
	INODE_NS,
	INODE_POD,
	INODE_CONTAINER,
	INODE_SESSION,
	INODE_FILE,
};

/* Ended sessions kept per container (the current one is kept besides). */
#define TREE_KEEP_ENDED 16
/* Sessions per container not yet ended (started or not): beyond this,
 * clone and exec fail with EAGAIN. */
#define TREE_MAX_LIVE 4096

enum file_kind {
	FILE_CTL,
	FILE_STDIN,
	FILE_STDOUT,
	FILE_STDERR,
	FILE_STATUS,
	FILE_WAIT,
	FILE_CLONE,
	FILE_INFO,
	FILE_NODE_STATUS, /* a node directory's .status */
	FILE_MOUNT_STATUS, /* the root's .status: every node and DNS name */
	FILE_MOUNT_METRICS, /* the root's .metrics: fs/metrics.h */
	FILE_NKINDS,
};
/* The files of a container directory are the kinds before this. */
#define FILE_CONTAINER_NKINDS FILE_NODE_STATUS

struct tree;

struct tree *tree_new(struct execfs *fs);
/* At exit: frees every inode, whatever the kernel still holds. */
void tree_free(struct tree *t);

struct inode *tree_root(struct tree *t);
/* The inode for a FUSE number; trusts the kernel's lookup counting. */
struct inode *tree_get(struct tree *t, fuse_ino_t ino);
fuse_ino_t inode_ino(const struct inode *i);
struct inode *inode_child(const struct inode *dir, const char *name);
/* The kernel learned of i (lookup reply): one more reference. */
void inode_lookup(struct inode *i);
void inode_forget(struct tree *t, struct inode *i, uint64_t n);

enum inode_kind inode_kind(const struct inode *i);
bool inode_is_dir(const struct inode *i);
/* What a file is (INODE_FILE). */
enum file_kind inode_file(const struct inode *i);
const char *inode_name(const struct inode *i);
/* st_ino: small and never reused. */
uint64_t inode_number(const struct inode *i);
struct timespec inode_mtime(const struct inode *i);
/* The directory above; NULL for the root. */
struct inode *inode_parent(const struct inode *i);
/* Still reachable from the root (a container that went is not). */
bool inode_linked(const struct inode *i);
/* dir's children in order: the first (prev NULL), then the one after
 * prev; NULL after the last. */
struct inode *inode_next_child(const struct inode *dir,
			       const struct inode *prev);
/* The node of a node directory or of a file in one (.status), or NULL. */
struct node *inode_node(const struct inode *i);

/* The container a file or session directory belongs to, or NULL. */
struct ctdir *inode_ctdir(const struct inode *i);
/* The container directory of a container or session file, or NULL. */
struct inode *inode_container_dir(const struct inode *i);
/* The session a file speaks for: N/'s own for files in N/, the
 * container's current one for container files; NULL if none. */
struct session *inode_session(const struct inode *i);
/* N/'s own session, for N/ and the files in it; NULL elsewhere. */
struct session *inode_session_dir(const struct inode *i);

/* A container directory: the runtime's id, its node, the `info` file's
 * text (NULL before there is one) and the current session. */
const char *ctdir_id(const struct ctdir *ct);
struct node *ctdir_node(const struct ctdir *ct);
const char *ctdir_info(const struct ctdir *ct, size_t *len);
struct session *ctdir_current(const struct ctdir *ct);
/* s (held by the caller, NULL for none) becomes the current session; the
 * container takes the caller's holding and releases the previous one. */
void ctdir_set_current(struct ctdir *ct, struct session *s);
/* Why the last write to the container's ctl failed, or NULL; set it (NULL
 * clears): 0 or -ENOMEM. */
const char *ctdir_ctl_error(const struct ctdir *ct);
int ctdir_set_ctl_error(struct ctdir *ct, const char *why);

/* A new session N/ in container directory ctdir (forgetting ended ones
 * beyond the limit first). 0 with *out (the tree's reference: take your
 * own), -EAGAIN (too many live sessions), -ENOMEM. */
int tree_session_new(struct tree *t, struct inode *ctdir, size_t history_cap,
		     struct session **out);
/* `forget`: drop s's N/ directory (the session must have ended: -EBUSY);
 * if it is the container's current session there is none afterwards.
 * -ENOENT if it was forgotten already. */
int tree_session_forget(struct tree *t, struct inode *ctdir, struct session *s);
const char *file_kind_name(enum file_kind k);

/* The node directory for n, created or renamed to name; NULL when the
 * name is another's (or out of memory). */
struct inode *tree_node_dir(struct tree *t, struct node *n, const char *name);
/* n leaves the mount: its directory is taken out of the tree, and every
 * inode below that the kernel still holds forgets n (a container's files
 * then say the container is gone, its .status "removed"). */
void tree_node_remove(struct tree *t, struct node *n);
/* Rebuild n's subtree (its directory named name) from a snapshot of its
 * containers; the containers' info texts are taken from snap. */
void tree_snapshot(struct tree *t, struct node *n, const char *name,
		   struct snapshot *snap);

/* Is name acceptable as a directory name from a peer? */
bool tree_name_valid(const char *name, size_t len);

#endif
