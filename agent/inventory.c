/*
 * The node's containers (see inventory.h). A scan expands the root
 * patterns (roots.c), lists every root, parses each container directory
 * whose files changed since the last scan (runc's state.json: ocistate.c;
 * crun's status: crunstate.c; unchanged ones are carried over, so a scan
 * of an idle node reads only /proc and a few stats), names it (naming.c),
 * works out each container's state from /proc and the runtime's files,
 * gives it its id on the node, and sorts the visible ones. The list the
 * caller sees is rebuilt on every scan; on_change runs only when what it
 * shows differs from the previous one.
 *
 * A container's id on the node is the runtime's id, unless a container of
 * another root listed it first: then "ID@ROOT" (ROOT's '/' written ':'),
 * a name no runtime id can take (runc and containerd allow neither '@'
 * nor ':'). It is fixed when the container is first listed and kept while
 * it lives, so a client's sessions never see their container renamed.
 *
 * inotify brings changes at once (a container directory appearing or
 * vanishing in a root, a root appearing under a watched directory, runc
 * renaming a new state.json into place or removing exec.fifo on start);
 * the one-second timer catches what no file records: an init that died, a
 * root whose parent could not be watched.
 *
 * The list a scan makes visible is built in inventory_view.c; its JSON
 * and the worker's mirror are inventory_json.c's.
 */
#include "inventory_internal.h"

#include "crunstate.h"
#include "hostentry.h"
#include "naming.h"
#include "ocistate.h"
#include "procstat.h"
#include "readfile.h"
#include "roots.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <execfs/log.h>
#include <execfs/proto.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define INVENTORY_RESCAN_SEC 1
#define FREEZER_STATE_MAX 64

#define ROOT_WATCH_MASK                                        \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define DIR_WATCH_MASK                                         \
	(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | \
	 IN_CLOSE_WRITE | IN_ONLYDIR)

/* --host-exec (inventory_set_host_exec). */
static bool inventory_host_exec;

void inventory_set_host_exec(bool on)
{
	inventory_host_exec = on;
}

static void rec_free(struct inventory *inv, struct inv_rec *rec)
{
	if (!rec)
		return;
	if (rec->wd >= 0 && inv->ino_fd >= 0)
		inotify_rm_watch(inv->ino_fd, rec->wd);
	oci_record_release(&rec->oci);
	free(rec->key);
	free(rec);
}

static int rec_list_push(struct rec_list *l, struct inv_rec *rec)
{
	struct inv_rec **bigger;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 64;
		bigger = realloc(l->v, cap * sizeof(*l->v));
		if (!bigger)
			return -ENOMEM;
		l->v = bigger;
		l->cap = cap;
	}
	l->v[l->n++] = rec;
	return 0;
}

static int rec_cmp_key(const char *root, const char *id,
		       const struct inv_rec *r)
{
	int c = strcmp(root, r->oci.c.root);

	return c ? c : strcmp(id, r->oci.c.runtime_id);
}

static int rec_sort_cmp(const void *a, const void *b)
{
	const struct inv_rec *ra = *(struct inv_rec *const *)a;
	const struct inv_rec *rb = *(struct inv_rec *const *)b;

	return rec_cmp_key(ra->oci.c.root, ra->oci.c.runtime_id, rb);
}

static struct inv_rec *rec_find(const struct inventory *inv, const char *root,
				const char *id)
{
	size_t lo = 0, hi = inv->nrecs, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = rec_cmp_key(root, id, inv->recs[mid]);
		if (!c)
			return inv->recs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* FROZEN in the v1 freezer, or "1" in the v2 cgroup.freeze. */
static bool rec_frozen(const struct inv_rec *rec)
{
	const char *file = rec->oci.freezer_v1 ? rec->oci.freezer_v1 :
						 rec->oci.freezer_v2;
	bool frozen;
	char *buf;

	if (!file ||
	    read_file_at(AT_FDCWD, file, FREEZER_STATE_MAX, &buf, NULL, NULL))
		return false;
	if (rec->oci.freezer_v1)
		frozen = !strncmp(buf, "FROZEN", 6);
	else
		frozen = buf[0] == '1';
	free(buf);
	return frozen;
}

/* The state runc would report: the recorded init must still be that
 * process (same start time, not a zombie); while it waits on exec.fifo
 * the container is only created. */
static enum container_state rec_state(int rootfd, const struct inv_rec *rec)
{
	const struct container *c = &rec->oci.c;
	unsigned long long start;
	char path[PATH_MAX], st;
	struct stat sb;

	if (c->pid <= 0 || proc_stat_read(c->pid, &st, &start) < 0 ||
	    start != c->start_time || st == 'Z' || st == 'X' || st == 'x')
		return CONTAINER_STOPPED;
	/* runc and crun both wait on it between create and start. */
	snprintf(path, sizeof(path), "%s/exec.fifo", c->runtime_id);
	if (fstatat(rootfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return CONTAINER_CREATED;
	if (rec_frozen(rec))
		return CONTAINER_PAUSED;
	return CONTAINER_RUNNING;
}

static void rec_watch(struct inventory *inv, struct inv_rec *rec)
{
	char path[PATH_MAX];

	if (inv->ino_fd < 0 || rec->wd >= 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", rec->oci.c.root,
		 rec->oci.c.runtime_id);
	/* Failing (ENOSPC: out of watches) only costs latency: the periodic
	 * scan still sees the change. */
	rec->wd = inotify_add_watch(inv->ino_fd, path, DIR_WATCH_MASK);
}

/* The state file of ROOT/<id>: runc's state.json, else crun's status;
 * NULL when neither is there (yet). fid: its identity. */
static const char *state_file_of(int rootfd, const char *id,
				 struct oci_file_id *fid)
{
	static const char *const files[] = { "state.json", "status" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", id, files[i]) >=
		    (int)sizeof(path))
			break;
		oci_file_id_get(rootfd, path, fid);
		if (fid->present)
			return files[i];
	}
	memset(fid, 0, sizeof(*fid));
	return NULL;
}

static bool rec_unchanged(const struct inv_rec *old, int rootfd,
			  const char *state_file,
			  const struct oci_file_id *state_id)
{
	if (old->kind == REC_PENDING || !old->oci.state_file ||
	    strcmp(old->oci.state_file, state_file))
		return false;
	if (old->kind == REC_BAD)
		return oci_file_id_equal(&old->oci.state_id, state_id);
	return oci_record_unchanged(&old->oci, rootfd);
}

/* Parse ROOT/<id> (state_file says whose format) and name it. */
static int rec_load(struct inventory *inv, struct inv_rec *rec, int rootfd,
		    const char *root, const char *id, const char *state_file)
{
	int rc;

	if (!state_file)
		return -ENOENT;
	if (!strcmp(state_file, "state.json"))
		rc = oci_record_load(&rec->oci, rootfd, root, id, &inv->host);
	else
		rc = crun_record_load(&rec->oci, rootfd, root, id, &inv->host);
	if (rc < 0)
		return rc;
	rc = naming_apply(inv->naming, &rec->oci);
	if (rc < 0)
		oci_record_release(&rec->oci);
	return rc;
}

/* The record for ROOT/<id> in this scan: the previous one if its files did
 * not change, else a freshly parsed one. */
static int scan_dir(struct inventory *inv, const char *root, int rootfd,
		    const char *id, struct rec_list *out)
{
	struct oci_file_id state_id;
	struct inv_rec *old, *rec;
	const char *state_file;
	int rc;

	old = rec_find(inv, root, id);
	state_file = state_file_of(rootfd, id, &state_id);
	if (old && state_file &&
	    rec_unchanged(old, rootfd, state_file, &state_id)) {
		rec = old;
		old->taken = true;
		goto out_push;
	}

	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->wd = -1;
	if (old) {
		/* The directory is the same: keep its watch, and the
		 * container its id on the node (a copy: until this scan
		 * succeeds, the old list still shows the old record). */
		rec->wd = old->wd;
		old->wd = -1;
		if (old->key && !(rec->key = strdup(old->key))) {
			free(rec);
			return -ENOMEM;
		}
	}
	rc = rec_load(inv, rec, rootfd, root, id, state_file);
	if (rc == -ENOMEM) {
		free(rec->key);
		free(rec);
		return rc;
	}
	if (rc < 0) {
		/* Keep what identifies it, to know when to look again. */
		rec->kind = rc == -ENOENT ? REC_PENDING : REC_BAD;
		rec->oci.c.id = strdup(id);
		rec->oci.c.runtime_id = strdup(id);
		rec->oci.c.root = strdup(root);
		if (!rec->oci.c.id || !rec->oci.c.runtime_id ||
		    !rec->oci.c.root) {
			rec_free(inv, rec);
			return -ENOMEM;
		}
		rec->oci.state_file = state_file;
		rec->oci.state_id = state_id;
	}
out_push:
	if (rec->kind == REC_GOOD)
		rec->state = rec_state(rootfd, rec);
	rec_watch(inv, rec);
	rc = rec_list_push(out, rec);
	if (rc < 0 && rec != old)
		rec_free(inv, rec);
	return rc;
}

/* Is wd held by anything but the entry at except? (inotify gives one
 * directory one watch, however often it is added.) */
static bool wd_shared(const struct inventory *inv, int wd, const void *except)
{
	size_t i;

	for (i = 0; i < inv->nroots; i++)
		if (&inv->roots[i] != except && inv->roots[i].wd == wd)
			return true;
	for (i = 0; i < inv->nparents; i++)
		if (&inv->parents[i] != except && inv->parents[i].wd == wd)
			return true;
	for (i = 0; i < inv->nrecs; i++)
		if (inv->recs[i] != except && inv->recs[i]->wd == wd)
			return true;
	return false;
}

static void watch_add(struct inventory *inv, struct inv_watch *w)
{
	int wd;

	if (inv->ino_fd < 0 || w->wd >= 0)
		return;
	wd = inotify_add_watch(inv->ino_fd, w->path, ROOT_WATCH_MASK);
	if (wd < 0) {
		/* Retried on every scan; say so only when the reason
		 * changes (a directory gone meanwhile is normal). */
		if (errno != ENOENT && errno != w->err)
			log_warn("%s: %s", w->path, strerror(errno));
		w->err = errno;
		return;
	}
	w->wd = wd;
	w->err = 0;
}

static void watch_drop(struct inventory *inv, struct inv_watch *w)
{
	if (w->wd >= 0 && inv->ino_fd >= 0 && !wd_shared(inv, w->wd, w))
		inotify_rm_watch(inv->ino_fd, w->wd);
	free(w->path);
}

/* Is s among the first n strings of v? */
static bool strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Make the table *tab hold exactly the directories want (in that order):
 * a directory still wanted keeps its watch, one no longer wanted loses
 * it, a new one is watched. */
static int watches_sync(struct inventory *inv, struct inv_watch **tab,
			size_t *n, char *const *want, size_t nwant)
{
	struct inv_watch *next, *old = *tab;
	size_t i, k, nold = *n;

	next = calloc(nwant ? nwant : 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	/* First what may fail (copies of new paths), so that a failure
	 * leaves the table as it was; then move the kept entries. */
	for (i = 0; i < nwant; i++) {
		next[i].wd = -1;
		for (k = 0; k < nold; k++)
			if (!strcmp(old[k].path, want[i]))
				break;
		/* (a path wanted twice is kept once, then copied) */
		if (k < nold && !strv_has(want, i, want[i]))
			continue;
		next[i].path = strdup(want[i]);
		if (!next[i].path) {
			for (k = 0; k < i; k++)
				free(next[k].path);
			free(next);
			return -ENOMEM;
		}
	}
	for (i = 0; i < nwant; i++) {
		if (next[i].path)
			continue;
		for (k = 0; k < nold; k++)
			if (old[k].path && !strcmp(old[k].path, want[i]))
				break;
		next[i] = old[k];
		old[k].path = NULL;
	}
	*tab = next;
	*n = nwant;
	for (k = 0; k < nold; k++)
		if (old[k].path)
			watch_drop(inv, &old[k]);
	free(old);
	for (i = 0; i < nwant; i++)
		watch_add(inv, &next[i]);
	return 0;
}

/* Expand the patterns: the roots to scan and the directories where roots
 * may appear, each watched. */
static int roots_update(struct inventory *inv)
{
	struct root_expansion x = { 0 };
	int rc;

	rc = rootset_expand(inv->rootset, &x);
	if (rc < 0)
		return rc;
	if (x.truncated && !inv->roots_truncated)
		log_warn("more than %d state roots or %d entries in a "
			 "directory: ignoring the rest",
			 ROOTS_MAX, ROOTS_MAX_DIR_ENTRIES);
	inv->roots_truncated = x.truncated;
	rc = watches_sync(inv, &inv->roots, &inv->nroots, x.roots, x.nroots);
	if (!rc)
		rc = watches_sync(inv, &inv->parents, &inv->nparents, x.watch,
				  x.nwatch);
	root_expansion_release(&x);
	return rc;
}

static int scan_root(struct inventory *inv, const struct inv_watch *root,
		     struct rec_list *out)
{
	struct dirent *de;
	struct stat sb;
	int fd, rc = 0;
	DIR *dir;

	fd = open(root->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		/* Gone since the expansion: the next scan drops it. */
		if (errno != ENOENT)
			log_warn("%s: %s", root->path, strerror(errno));
		return 0;
	}
	dir = fdopendir(fd);
	if (!dir) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_UNKNOWN ||
			    fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
			    !S_ISDIR(sb.st_mode))
				continue;
		}
		if (out->n >= INVENTORY_MAX_CONTAINERS) {
			if (!inv->over_cap)
				log_warn("more than %d containers, ignoring "
					 "the rest",
					 INVENTORY_MAX_CONTAINERS);
			inv->over_cap = true;
			break;
		}
		rc = scan_dir(inv, root->path, fd, de->d_name, out);
		if (rc < 0)
			break;
	}
	closedir(dir);
	return rc;
}

int inventory_rescan(struct inventory *inv)
{
	struct rec_list recs = { 0 };
	struct container *view;
	size_t i, nview, *by_id;
	bool changed;
	int rc = 0;

	for (i = 0; i < inv->nrecs; i++)
		inv->recs[i]->taken = false;
	rc = roots_update(inv);
	for (i = 0; i < inv->nroots && rc >= 0; i++)
		rc = scan_root(inv, &inv->roots[i], &recs);
	if (rc < 0)
		goto out_drop;
	if (recs.n < INVENTORY_MAX_CONTAINERS)
		inv->over_cap = false;
	if (recs.n)
		qsort(recs.v, recs.n, sizeof(*recs.v), rec_sort_cmp);
	rc = inventory_view_build(&recs, inv->has_node ? &inv->node : NULL,
				  &view, &nview, &by_id);
	if (rc < 0)
		goto out_drop;

	changed = nview != inv->nview;
	for (i = 0; i < nview && !changed; i++)
		changed = !inventory_container_equal(&view[i], &inv->view[i]);

	/* Only now may the old records go: the old view borrowed from them. */
	for (i = 0; i < inv->nrecs; i++)
		if (!inv->recs[i]->taken)
			rec_free(inv, inv->recs[i]);
	free(inv->recs);
	free(inv->view);
	free(inv->by_id);
	inv->recs = recs.v;
	inv->nrecs = recs.n;
	inv->view = view;
	inv->nview = nview;
	inv->by_id = by_id;
	return changed;

out_drop:
	/* Keep the previous list; drop what this scan built. */
	for (i = 0; i < recs.n; i++)
		if (!recs.v[i]->taken)
			rec_free(inv, recs.v[i]);
	free(recs.v);
	log_warn("scan failed: %s", strerror(-rc));
	return rc;
}

static void inventory_rescan_notify(struct inventory *inv)
{
	if (inventory_rescan(inv) > 0 && inv->on_change)
		inv->on_change(inv->arg);
}

static void forget_wd(struct inventory *inv, int wd)
{
	size_t i;

	for (i = 0; i < inv->nroots; i++)
		if (inv->roots[i].wd == wd)
			inv->roots[i].wd = -1;
	for (i = 0; i < inv->nparents; i++)
		if (inv->parents[i].wd == wd)
			inv->parents[i].wd = -1;
	for (i = 0; i < inv->nrecs; i++)
		if (inv->recs[i]->wd == wd)
			inv->recs[i]->wd = -1;
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	struct inventory *inv = arg;
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	/* Drain everything queued, then scan once for all of it. */
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			/* The kernel dropped the watch (directory gone):
			 * the number may be handed out again. */
			if (ev->mask & IN_IGNORED)
				forget_wd(inv, ev->wd);
		}
	}
	inventory_rescan_notify(inv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	inventory_rescan_notify(arg);
}

static int inventory_watch(struct inventory *inv)
{
	struct timeval tv = { INVENTORY_RESCAN_SEC, 0 };

	inv->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inv->ino_fd < 0) {
		log_warn("inotify: %s (changes seen within %d s only)",
			 strerror(errno), INVENTORY_RESCAN_SEC);
	} else {
		inv->ino_ev = event_new(inv->base, inv->ino_fd,
					EV_READ | EV_PERSIST, on_inotify, inv);
		if (!inv->ino_ev || event_add(inv->ino_ev, NULL))
			return -ENOMEM;
	}
	inv->timer_ev = event_new(inv->base, -1, EV_PERSIST, on_timer, inv);
	if (!inv->timer_ev || event_add(inv->timer_ev, &tv))
		return -ENOMEM;
	return 0;
}

struct inventory *inventory_new(struct event_base *base,
				const char *const *roots, size_t nroots,
				inventory_change_fn *on_change, void *arg)
{
	struct inventory *inv;
	int rc;

	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return NULL;
	inv->base = base;
	inv->on_change = on_change;
	inv->arg = arg;
	inv->ino_fd = -1;
	errno = 0;
	inv->rootset = rootset_new(roots, nroots);
	if (!inv->rootset)
		goto out_free;
	inv->naming = naming_new(NULL);
	if (!inv->naming)
		goto out_free;
	oci_host_ns_init(&inv->host);
	if (inventory_host_exec) {
		rc = host_entry_load(&inv->node, HOST_ENTRY_INIT);
		if (rc == -ENOMEM)
			goto out_free;
		if (rc < 0)
			log_warn("--host-exec: pid %d: %s: the node is not "
				 "offered",
				 HOST_ENTRY_INIT, strerror(-rc));
		inv->has_node = rc == 0;
	}
	/* Without a loop (tests) the caller scans by hand. */
	if (base && inventory_watch(inv) < 0)
		goto out_free;
	rc = inventory_rescan(inv);
	if (rc < 0) {
		errno = -rc;
		goto out_free;
	}
	return inv;

out_free:
	inventory_free(inv);
	errno = errno ? errno : ENOMEM;
	return NULL;
}

void inventory_free(struct inventory *inv)
{
	size_t i;

	if (!inv)
		return;
	if (inv->timer_ev)
		event_free(inv->timer_ev);
	if (inv->ino_ev)
		event_free(inv->ino_ev);
	for (i = 0; i < inv->nrecs; i++) {
		inv->recs[i]->wd = -1; /* closing the fd drops every watch */
		rec_free(inv, inv->recs[i]);
	}
	if (inv->ino_fd >= 0)
		close(inv->ino_fd);
	json_decref(inv->mirror);
	free(inv->recs);
	free(inv->view);
	free(inv->by_id);
	for (i = 0; i < inv->nroots; i++)
		free(inv->roots[i].path);
	for (i = 0; i < inv->nparents; i++)
		free(inv->parents[i].path);
	free(inv->roots);
	free(inv->parents);
	rootset_free(inv->rootset);
	naming_free(inv->naming);
	if (inv->has_node)
		oci_record_release(&inv->node);
	free(inv);
}

const struct container *inventory_find(const struct inventory *inv,
				       const char *id)
{
	size_t lo = 0, hi = inv->nview, mid;

	/* The first entry with this id, in by_id order. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(inv->view[inv->by_id[mid]].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < inv->nview && !strcmp(inv->view[inv->by_id[lo]].id, id))
		return &inv->view[inv->by_id[lo]];
	return NULL;
}

int inventory_find_running(const struct inventory *inv, const char *id,
			   const struct container **out, char *err,
			   size_t errlen)
{
	const struct container *c = inventory_find(inv, id);

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "no container %s on this node", id);
		return -ENOENT;
	}
	if (c->state != CONTAINER_RUNNING) {
		snprintf(err, errlen, "container %s is %s, not running", c->id,
			 container_state_name(c->state));
		return -EBUSY;
	}
	*out = c;
	return 0;
}

size_t inventory_count(const struct inventory *inv)
{
	return inv->nview;
}

const struct container *inventory_at(const struct inventory *inv, size_t i)
{
	return i < inv->nview ? &inv->view[i] : NULL;
}
