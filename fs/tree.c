/*
 * Inodes of the mount and the rebuild of a node's subtree from a container
 * snapshot (see tree.h; snapshot.c decodes the agent's JSON). Nothing here
 * talks to the network or answers FUSE requests; ops.c does that on top.
 */
#include "tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/log.h"
#include "execfs/proto.h"
#include "notify.h"
#include "session.h"
#include "snapshot.h"

/* What a container directory stands for. Owned by its inode. */
struct ctdir {
	char *id; /* owned */
	char *info; /* owned: the list's JSON object, pretty */
	size_t info_len;
	struct node *node; /* not owned; NULL once the node left the mount */
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
		struct ctdir *ct; /* INODE_CONTAINER: owned */
		struct session *sess; /* INODE_SESSION: a reference */
	} u;
};

struct tree {
	struct execfs *fs; /* not owned */
	struct inode *root; /* owned, as is every inode on `all` */
	struct list all;
	uint64_t next_number;
};

static const char *const file_names[FILE_NKINDS] = {
	[FILE_CTL] = "ctl",
	[FILE_STDIN] = "stdin",
	[FILE_STDOUT] = "stdout",
	[FILE_STDERR] = "stderr",
	[FILE_STATUS] = "status",
	[FILE_WAIT] = "wait",
	[FILE_CLONE] = "clone",
	[FILE_INFO] = "info",
	[FILE_NODE_STATUS] = ".status",
	[FILE_MOUNT_STATUS] = ".status",
	[FILE_MOUNT_METRICS] = ".metrics",
};

const char *file_kind_name(enum file_kind k)
{
	return k < FILE_NKINDS ? file_names[k] : "?";
}

bool tree_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > EXECFS_MAX_NAME_LEN || strlen(name) != len)
		return false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strchr(name, '/') == NULL;
}

static void ctdir_free(struct ctdir *ct)
{
	if (!ct)
		return;
	session_release(ct->current);
	free(ct->ctl_error);
	free(ct->id);
	free(ct->info);
	free(ct);
}

static struct inode *inode_new(struct tree *t, struct inode *parent,
			       enum inode_kind kind, const char *name)
{
	struct inode *i = calloc(1, sizeof(*i)); /* owned by t->all */

	if (!i)
		return NULL;
	i->name = strdup(name);
	if (!i->name) {
		free(i);
		return NULL;
	}
	i->kind = kind;
	i->number = ++t->next_number;
	list_init(&i->children);
	list_init(&i->sibling);
	list_add_tail(&t->all, &i->all);
	clock_gettime(CLOCK_REALTIME, &i->mtime);
	i->linked = true;
	i->refs = 1; /* the link */
	if (parent) {
		i->parent = parent;
		parent->refs++;
		list_add_tail(&parent->children, &i->sibling);
		parent->mtime = i->mtime;
	}
	return i;
}

static void inode_destroy(struct inode *i)
{
	list_del(&i->all);
	list_del(&i->sibling);
	if (i->kind == INODE_CONTAINER)
		ctdir_free(i->u.ct);
	if (i->kind == INODE_SESSION)
		session_put(i->u.sess); /* held until inode_unlink */
	free(i->name);
	free(i);
}

/* Free i if neither the tree nor the kernel nor a child needs it. */
static void inode_maybe_free(struct inode *i)
{
	while (i && i->refs == 0 && i->nlookup == 0) {
		struct inode *parent = i->parent;

		inode_destroy(i);
		if (parent)
			parent->refs--;
		i = parent;
	}
}

/* Take i (and everything below) out of the tree; the kernel may still
 * hold them. notify: tell the kernel the name is gone. */
static void inode_unlink(struct tree *t, struct inode *i, bool notify)
{
	struct list *pos, *tmp;

	if (!i->linked)
		return;
	list_for_each_safe(pos, tmp, &i->children)
		inode_unlink(t, list_entry(pos, struct inode, sibling), false);
	i->linked = false;
	list_del(&i->sibling);
	if (i->kind == INODE_SESSION) {
		/* Never started, and now it never will: its `wait` and
		 * readers must not wait for good. */
		session_fail(i->u.sess, ENOENT, "the container is gone");
		session_unhold(i->u.sess);
	}
	if (i->parent) {
		clock_gettime(CLOCK_REALTIME, &i->parent->mtime);
		if (notify && !t->fs->unmounting)
			notifier_inval_entry(t->fs->notifier,
					     inode_ino(i->parent), i->name);
	}
	i->refs--;
	inode_maybe_free(i);
}

struct tree *tree_new(struct execfs *fs)
{
	struct tree *t = calloc(1, sizeof(*t)); /* owned by fs */
	struct inode *f;

	if (!t)
		return NULL;
	t->fs = fs;
	list_init(&t->all);
	t->root = inode_new(t, NULL, INODE_ROOT, "");
	if (!t->root) {
		free(t);
		return NULL;
	}
	t->root->nlookup = 1; /* the kernel never forgets the root */
	/* The mount's .status: no node is named so (tree_node_dir). */
	f = inode_new(t, t->root, INODE_FILE, file_names[FILE_MOUNT_STATUS]);
	if (!f) {
		tree_free(t);
		return NULL;
	}
	f->file = FILE_MOUNT_STATUS;
	f = inode_new(t, t->root, INODE_FILE, file_names[FILE_MOUNT_METRICS]);
	if (!f) {
		tree_free(t);
		return NULL;
	}
	f->file = FILE_MOUNT_METRICS;
	return t;
}

void tree_free(struct tree *t)
{
	struct list *pos, *tmp;

	if (!t)
		return;
	/* Unhook every inode from its parent first, so that freeing in any
	 * order never touches a freed parent's list head. */
	for (pos = t->all.next; pos != &t->all; pos = pos->next) {
		struct inode *i = list_entry(pos, struct inode, all);

		list_init(&i->sibling);
		list_init(&i->children);
	}
	list_for_each_safe(pos, tmp, &t->all)
		inode_destroy(list_entry(pos, struct inode, all));
	free(t);
}

struct inode *tree_root(struct tree *t)
{
	return t->root;
}

struct inode *tree_get(struct tree *t, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return t->root;
	return (struct inode *)(uintptr_t)ino;
}

fuse_ino_t inode_ino(const struct inode *i)
{
	if (i->kind == INODE_ROOT)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)i;
}

struct inode *inode_child(const struct inode *dir, const char *name)
{
	struct list *pos;

	for (pos = dir->children.next; pos != &dir->children; pos = pos->next) {
		struct inode *c = list_entry(pos, struct inode, sibling);

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

void inode_lookup(struct inode *i)
{
	i->nlookup++;
}

void inode_forget(struct tree *t, struct inode *i, uint64_t n)
{
	if (i == t->root)
		return;
	i->nlookup = n > i->nlookup ? 0 : i->nlookup - n;
	inode_maybe_free(i);
}

struct inode *inode_container_dir(const struct inode *i)
{
	const struct inode *d = i;

	if (d->kind == INODE_FILE)
		d = d->parent;
	if (d && d->kind == INODE_SESSION)
		d = d->parent;
	return d && d->kind == INODE_CONTAINER ? (struct inode *)d : NULL;
}

struct ctdir *inode_ctdir(const struct inode *i)
{
	struct inode *d = inode_container_dir(i);

	return d ? d->u.ct : NULL;
}

struct session *inode_session(const struct inode *i)
{
	const struct inode *d = i->kind == INODE_FILE ? i->parent : i;

	if (d && d->kind == INODE_SESSION)
		return d->u.sess;
	if (d && d->kind == INODE_CONTAINER)
		return d->u.ct->current;
	return NULL;
}

struct session *inode_session_dir(const struct inode *i)
{
	const struct inode *d = i->kind == INODE_FILE ? i->parent : i;

	return d && d->kind == INODE_SESSION ? d->u.sess : NULL;
}

enum inode_kind inode_kind(const struct inode *i)
{
	return i->kind;
}

bool inode_is_dir(const struct inode *i)
{
	return i->kind != INODE_FILE;
}

enum file_kind inode_file(const struct inode *i)
{
	return i->file;
}

const char *inode_name(const struct inode *i)
{
	return i->name;
}

uint64_t inode_number(const struct inode *i)
{
	return i->number;
}

struct timespec inode_mtime(const struct inode *i)
{
	return i->mtime;
}

struct inode *inode_parent(const struct inode *i)
{
	return i->parent;
}

bool inode_linked(const struct inode *i)
{
	return i->linked;
}

struct inode *inode_next_child(const struct inode *dir,
			       const struct inode *prev)
{
	const struct list *next = prev ? prev->sibling.next :
					 dir->children.next;

	return next == &dir->children ? NULL :
					list_entry(next, struct inode, sibling);
}

struct node *inode_node(const struct inode *i)
{
	const struct inode *d = i->kind == INODE_FILE ? i->parent : i;

	return d && d->kind == INODE_NODE ? d->u.node : NULL;
}

/* ---- container directories ---------------------------------------------- */

const char *ctdir_id(const struct ctdir *ct)
{
	return ct->id;
}

struct node *ctdir_node(const struct ctdir *ct)
{
	return ct->node;
}

const char *ctdir_info(const struct ctdir *ct, size_t *len)
{
	*len = ct->info ? ct->info_len : 0;
	return ct->info;
}

struct session *ctdir_current(const struct ctdir *ct)
{
	return ct->current;
}

void ctdir_set_current(struct ctdir *ct, struct session *s)
{
	session_release(ct->current);
	ct->current = s; /* the caller's holding */
}

const char *ctdir_ctl_error(const struct ctdir *ct)
{
	return ct->ctl_error;
}

int ctdir_set_ctl_error(struct ctdir *ct, const char *why)
{
	char *copy = why ? strdup(why) : NULL;

	if (why && !copy)
		return -ENOMEM;
	free(ct->ctl_error);
	ct->ctl_error = copy; /* owned by ct */
	return 0;
}

/* ---- sessions ----------------------------------------------------------- */

/* The files of a session directory. */
static const enum file_kind session_files[] = {
	FILE_CTL, FILE_STDIN, FILE_STDOUT, FILE_STDERR, FILE_STATUS, FILE_WAIT,
};

/* Forget the oldest ended sessions beyond TREE_KEEP_ENDED (the children
 * list is in creation order); count the live ones. */
static size_t tree_sessions_trim(struct tree *t, struct inode *ctdir)
{
	struct ctdir *ct = ctdir->u.ct;
	struct list *pos, *tmp;
	size_t ended = 0, live = 0;

	for (pos = ctdir->children.next; pos != &ctdir->children;
	     pos = pos->next) {
		struct inode *d = list_entry(pos, struct inode, sibling);

		if (d->kind != INODE_SESSION)
			continue;
		if (!session_ended(d->u.sess))
			live++;
		else if (d->u.sess != ct->current)
			ended++;
	}
	list_for_each_safe(pos, tmp, &ctdir->children) {
		struct inode *d = list_entry(pos, struct inode, sibling);

		if (ended < TREE_KEEP_ENDED)
			break;
		if (d->kind != INODE_SESSION || !session_ended(d->u.sess) ||
		    d->u.sess == ct->current)
			continue;
		log_debug("container %s: forgetting ended session %s", ct->id,
			  d->name);
		inode_unlink(t, d, true);
		ended--;
	}
	return live;
}

int tree_session_new(struct tree *t, struct inode *ctdir, size_t history_cap,
		     struct session **out)
{
	struct ctdir *ct = ctdir->u.ct;
	struct session *s;
	struct inode *d;
	char name[16];
	size_t k;

	if (tree_sessions_trim(t, ctdir) >= TREE_MAX_LIVE)
		return -EAGAIN;
	s = session_new(ct->id, ct->next_num, history_cap, t->fs->base);
	if (!s)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%u", ct->next_num);
	d = inode_new(t, ctdir, INODE_SESSION, name);
	if (!d) {
		session_release(s);
		return -ENOMEM;
	}
	d->u.sess = s; /* the directory's reference */
	for (k = 0; k < sizeof(session_files) / sizeof(session_files[0]); k++) {
		struct inode *f = inode_new(t, d, INODE_FILE,
					    file_names[session_files[k]]);

		if (!f) {
			inode_unlink(t, d, false);
			return -ENOMEM;
		}
		f->file = session_files[k];
	}
	ct->next_num++;
	*out = s;
	return 0;
}

int tree_session_forget(struct tree *t, struct inode *ctdir, struct session *s)
{
	struct ctdir *ct = ctdir->u.ct;
	struct list *pos;

	if (!session_ended(s))
		return -EBUSY;
	for (pos = ctdir->children.next; pos != &ctdir->children;
	     pos = pos->next) {
		struct inode *d = list_entry(pos, struct inode, sibling);

		if (d->kind != INODE_SESSION || d->u.sess != s)
			continue;
		if (ct->current == s) {
			ct->current = NULL;
			session_release(s);
		}
		inode_unlink(t, d, true);
		return 0;
	}
	return -ENOENT;
}

/* ---- node subtrees ------------------------------------------------------ */

static struct inode *tree_find_node_dir(struct tree *t, struct node *n)
{
	struct list *pos;

	for (pos = t->root->children.next; pos != &t->root->children;
	     pos = pos->next) {
		struct inode *c = list_entry(pos, struct inode, sibling);

		if (c->kind == INODE_NODE && c->u.node == n)
			return c;
	}
	return NULL;
}

/* Every inode below i forgets its node. */
static void tree_forget_node(struct inode *i)
{
	struct list *pos;

	if (i->kind == INODE_NODE)
		i->u.node = NULL;
	if (i->kind == INODE_CONTAINER)
		i->u.ct->node = NULL;
	for (pos = i->children.next; pos != &i->children; pos = pos->next)
		tree_forget_node(list_entry(pos, struct inode, sibling));
}

void tree_node_remove(struct tree *t, struct node *n)
{
	struct inode *dir = tree_find_node_dir(t, n);

	if (!dir)
		return;
	tree_forget_node(dir);
	inode_unlink(t, dir, true);
}

struct inode *tree_node_dir(struct tree *t, struct node *n, const char *name)
{
	struct inode *dir = tree_find_node_dir(t, n);

	if (dir && strcmp(dir->name, name) == 0)
		return dir;
	if (dir) {
		log_info("node %s now calls itself %s", dir->name, name);
		inode_unlink(t, dir, true);
	}
	if (inode_child(t->root, name)) {
		log_warn("two nodes named %s; ignoring the second", name);
		return NULL;
	}
	dir = inode_new(t, t->root, INODE_NODE, name);
	if (dir) {
		struct inode *f;

		dir->u.node = n;
		/* A dot name: Kubernetes namespaces cannot start with one. */
		f = inode_new(t, dir, INODE_FILE, file_names[FILE_NODE_STATUS]);
		if (f)
			f->file = FILE_NODE_STATUS;
	}
	return dir;
}

static struct inode *dir_get(struct tree *t, struct inode *parent,
			     enum inode_kind kind, const char *name)
{
	struct inode *d = inode_child(parent, name);

	if (d)
		return d->kind == kind ? d : NULL;
	return inode_new(t, parent, kind, name);
}

static struct inode *ctdir_new(struct tree *t, struct inode *pod,
			       const char *name, const char *id, struct node *n)
{
	struct ctdir *ct = calloc(1, sizeof(*ct)); /* owned by dir */
	struct inode *dir;
	int k;

	if (!ct)
		return NULL;
	ct->id = strdup(id);
	ct->node = n;
	ct->next_num = 1;
	dir = ct->id ? inode_new(t, pod, INODE_CONTAINER, name) : NULL;
	if (!dir) {
		ctdir_free(ct);
		return NULL;
	}
	dir->u.ct = ct;
	for (k = 0; k < FILE_CONTAINER_NKINDS; k++) {
		struct inode *f = inode_new(t, dir, INODE_FILE, file_names[k]);

		if (!f) {
			inode_unlink(t, dir, false);
			return NULL;
		}
		f->file = k;
	}
	return dir;
}

/* Find n's container directory for id (linear: a node lists hundreds). */
static struct inode *tree_find_ctdir(struct inode *ndir, const char *id)
{
	struct list *a, *b, *c;

	for (a = ndir->children.next; a != &ndir->children; a = a->next) {
		struct inode *ns = list_entry(a, struct inode, sibling);

		if (ns->kind != INODE_NS)
			continue; /* the node's .status */
		for (b = ns->children.next; b != &ns->children; b = b->next) {
			struct inode *pod =
				list_entry(b, struct inode, sibling);

			for (c = pod->children.next; c != &pod->children;
			     c = c->next) {
				struct inode *ci =
					list_entry(c, struct inode, sibling);

				if (ci->kind == INODE_CONTAINER &&
				    strcmp(ci->u.ct->id, id) == 0)
					return ci;
			}
		}
	}
	return NULL;
}

/* The node's own entry: a container directory right under the node's,
 * <node>/.host. */
static struct inode *tree_host_dir(struct tree *t, struct inode *ndir,
				   struct node *n, const char *id)
{
	struct inode *ci = inode_child(ndir, EXECFS_HOST_ID);

	if (ci)
		return ci->kind == INODE_CONTAINER ? ci : NULL;
	return ctdir_new(t, ndir, EXECFS_HOST_ID, id, n);
}

static void tree_snapshot_one(struct tree *t, struct inode *ndir,
			      struct node *n, struct snapshot_ct *c)
{
	const char *name = c->name;
	struct inode *ci, *nsdir, *poddir;

	if (c->host) {
		ci = tree_host_dir(t, ndir, n, c->id);
		if (!ci)
			return;
		goto out_info;
	}
	ci = tree_find_ctdir(ndir, c->id);
	if (ci && !(strcmp(ci->name, name) == 0 &&
		    strcmp(ci->parent->name, c->pod) == 0 &&
		    strcmp(ci->parent->parent->name, c->ns) == 0)) {
		inode_unlink(t, ci, true); /* renamed: a new path */
		ci = NULL;
	}
	if (!ci) {
		nsdir = dir_get(t, ndir, INODE_NS, c->ns);
		poddir = nsdir ? dir_get(t, nsdir, INODE_POD, c->pod) : NULL;
		if (!poddir)
			return;
		if (inode_child(poddir, name)) {
			log_warn("node %s: %s/%s/%s named twice; listing %s "
				 "under its id",
				 ndir->name, c->ns, c->pod, name, c->id);
			name = c->id;
			if (inode_child(poddir, name))
				return;
		}
		ci = ctdir_new(t, poddir, name, c->id, n);
		if (!ci)
			return;
	}
out_info:
	ci->seen = true;
	free(ci->u.ct->info);
	ci->u.ct->info = c->info; /* taken: owned by the container */
	ci->u.ct->info_len = c->info_len;
	c->info = NULL;
}

void tree_snapshot(struct tree *t, struct node *n, const char *name,
		   struct snapshot *snap)
{
	struct inode *ndir = tree_node_dir(t, n, name);
	struct list *a, *atmp, *b, *btmp, *c, *ctmp;
	size_t i;

	if (!ndir)
		return;
	for (a = ndir->children.next; a != &ndir->children; a = a->next) {
		struct inode *ns = list_entry(a, struct inode, sibling);

		ns->seen = false; /* the node's .host */
		if (ns->kind != INODE_NS)
			continue;
		for (b = ns->children.next; b != &ns->children; b = b->next) {
			struct inode *pod =
				list_entry(b, struct inode, sibling);

			for (c = pod->children.next; c != &pod->children;
			     c = c->next)
				list_entry(c, struct inode, sibling)->seen =
					false;
		}
	}
	for (i = 0; i < snap->n; i++)
		tree_snapshot_one(t, ndir, n, &snap->cts[i]);
	/* Sweep: containers not listed go, then pods and namespaces left
	 * empty by that. */
	list_for_each_safe(a, atmp, &ndir->children) {
		struct inode *ns = list_entry(a, struct inode, sibling);

		if (ns->kind == INODE_CONTAINER) { /* the node's .host */
			if (!ns->seen)
				inode_unlink(t, ns, true); /* may free ns */
			continue;
		}
		if (ns->kind != INODE_NS)
			continue;
		list_for_each_safe(b, btmp, &ns->children) {
			struct inode *pod =
				list_entry(b, struct inode, sibling);

			list_for_each_safe(c, ctmp, &pod->children) {
				struct inode *ci =
					list_entry(c, struct inode, sibling);

				if (!ci->seen)
					inode_unlink(t, ci, true);
			}
			if (list_empty(&pod->children))
				inode_unlink(t, pod, true);
		}
		if (list_empty(&ns->children))
			inode_unlink(t, ns, true);
	}
}
