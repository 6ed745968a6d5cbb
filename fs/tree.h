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
 */
#ifndef EXECFS_FS_TREE_H
#define EXECFS_FS_TREE_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "fs.h"

struct node;
struct session;

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
	FILE_NKINDS,
};
/* The files of a container directory are the kinds before this. */
#define FILE_CONTAINER_NKINDS FILE_NODE_STATUS

/* What a container directory stands for. Owned by its inode. */
struct container {
	char *id; /* owned */
	char *info; /* owned: the list's JSON object, pretty */
	size_t info_len;
	struct node *node; /* not owned: nodes live as long as the fs */
	struct session *current; /* a reference, or NULL */
	unsigned next_num; /* the next session's N (from 1, never reused) */
	char *ctl_error; /* owned: why the last write to ctl failed */
};

struct inode {
	enum inode_kind kind;
	enum file_kind file; /* INODE_FILE */
	char *name; /* owned; "" for the root */
	uint64_t number; /* st_ino: small and never reused */
	struct inode *parent; /* a reference (parent->refs) */
	struct list children; /* linked children */
	struct list sibling; /* in parent->children while linked */
	struct list all; /* in the tree's list of every inode */
	bool linked; /* reachable from the root */
	bool seen; /* snapshot mark */
	uint64_t nlookup; /* the kernel's references */
	unsigned refs; /* linked (1) + live children */
	struct timespec mtime;
	union {
		struct node *node; /* INODE_NODE: not owned */
		struct container *ct; /* INODE_CONTAINER: owned */
		struct session *sess; /* INODE_SESSION: a reference */
	} u;
};

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

/* The container a file or session directory belongs to, or NULL. */
struct container *inode_container(const struct inode *i);
/* The container directory of a container or session file, or NULL. */
struct inode *inode_container_dir(const struct inode *i);
/* The session a file speaks for: N/'s own for files in N/, the
 * container's current one for container files; NULL if none. */
struct session *inode_session(const struct inode *i);

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

/* The node directory for n, created or renamed to name. */
struct inode *tree_node_dir(struct tree *t, struct node *n, const char *name);
/* Rebuild n's subtree from the list of containers (a JSON array). */
void tree_snapshot(struct tree *t, struct node *n, const char *name,
		   json_t *containers);

/* Is name acceptable as a directory name from a peer? */
bool tree_name_valid(const char *name, size_t len);

#endif
