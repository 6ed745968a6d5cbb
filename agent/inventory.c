/*
 * The node's containers (see inventory.h). A scan lists every root,
 * parses each container directory whose state.json changed since the last
 * scan (ocistate.c; unchanged ones are carried over, so a scan of an idle
 * node reads only /proc and a few stats), works out each container's state
 * from /proc and the runtime's files, names it, and sorts the visible ones.
 * The list the caller sees is rebuilt on every scan; on_change runs only
 * when what it shows differs from the previous one.
 *
 * inotify brings changes at once (a container directory appearing or
 * vanishing in a root, runc renaming a new state.json into place or
 * removing exec.fifo on start); the one-second timer catches what no file
 * records: an init that died, a root that did not exist before.
 */
#include "inventory.h"

#include "ocistate.h"
#include "procstat.h"
#include "readfile.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <execfs/proto.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define log_warn(fmt, ...) \
	fprintf(stderr, "execfs-agent: %s: " fmt "\n", __func__, __VA_ARGS__)

#define INVENTORY_MAX_CONTAINERS 65536
#define INVENTORY_RESCAN_SEC 1
#define FREEZER_STATE_MAX 64

#define ROOT_WATCH_MASK                                        \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define DIR_WATCH_MASK                                         \
	(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | \
	 IN_CLOSE_WRITE | IN_ONLYDIR)

enum rec_kind {
	REC_GOOD,
	REC_PENDING, /* a directory without state.json (yet) */
	REC_BAD, /* a state.json that failed to parse */
};

/* One container directory, kept across scans while its files stay the
 * same: a bad one too, so an unchanged broken file is logged only once. */
struct inv_rec {
	struct oci_record oci;
	enum rec_kind kind;
	size_t root; /* index into inventory.roots */
	int wd; /* inotify watch on the directory, or -1 */
	bool taken; /* carried into the list being built */
	enum container_state state; /* as of the last scan */
};

struct inventory {
	struct event_base *base;
	char **roots;
	int *root_wds; /* per root: inotify watch, or -1 */
	int *root_errs; /* per root: last watch errno, to log changes only */
	size_t nroots;
	inventory_change_fn *on_change;
	void *arg;
	struct oci_host_ns host;

	struct inv_rec **recs; /* sorted by (root, id) */
	size_t nrecs;
	struct container *view; /* visible ones, by namespace/pod/name */
	size_t nview;
	size_t *by_id; /* indices into view, sorted by id */
	bool over_cap;

	int ino_fd;
	struct event *ino_ev, *timer_ev;

	json_t *mirror; /* a mirror: the document view borrows from */
};

/* A list of records under construction. */
struct rec_list {
	struct inv_rec **v;
	size_t n, cap;
};

static void rec_free(struct inventory *inv, struct inv_rec *rec)
{
	if (!rec)
		return;
	if (rec->wd >= 0 && inv->ino_fd >= 0)
		inotify_rm_watch(inv->ino_fd, rec->wd);
	oci_record_release(&rec->oci);
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

static int rec_cmp_key(size_t root, const char *id, const struct inv_rec *r)
{
	if (root != r->root)
		return root < r->root ? -1 : 1;
	return strcmp(id, r->oci.c.id);
}

static int rec_sort_cmp(const void *a, const void *b)
{
	const struct inv_rec *ra = *(struct inv_rec *const *)a;
	const struct inv_rec *rb = *(struct inv_rec *const *)b;

	return rec_cmp_key(ra->root, ra->oci.c.id, rb);
}

static struct inv_rec *rec_find(const struct inventory *inv, size_t root,
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
	snprintf(path, sizeof(path), "%s/exec.fifo", c->id);
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
	snprintf(path, sizeof(path), "%s/%s", inv->roots[rec->root],
		 rec->oci.c.id);
	/* Failing (ENOSPC: out of watches) only costs latency: the periodic
	 * scan still sees the change. */
	rec->wd = inotify_add_watch(inv->ino_fd, path, DIR_WATCH_MASK);
}

static bool rec_unchanged(const struct inv_rec *old, int rootfd,
			  const struct oci_file_id *state_id)
{
	struct oci_file_id cfg;
	char path[PATH_MAX];

	if (!oci_file_id_equal(&old->oci.state_id, state_id))
		return false;
	if (old->kind != REC_GOOD || !*old->oci.c.bundle)
		return true;
	snprintf(path, sizeof(path), "%s/config.json", old->oci.c.bundle);
	oci_file_id_get(AT_FDCWD, path, &cfg);
	return oci_file_id_equal(&old->oci.config_id, &cfg);
}

/* The record for ROOT/<id> in this scan: the previous one if its files did
 * not change, else a freshly parsed one. */
static int scan_dir(struct inventory *inv, size_t root, int rootfd,
		    const char *id, struct rec_list *out)
{
	struct oci_file_id state_id;
	struct inv_rec *old, *rec;
	char path[PATH_MAX];
	int rc;

	old = rec_find(inv, root, id);
	if (snprintf(path, sizeof(path), "%s/state.json", id) >= PATH_MAX)
		return 0;
	oci_file_id_get(rootfd, path, &state_id);
	if (old && old->kind != REC_PENDING && state_id.present &&
	    rec_unchanged(old, rootfd, &state_id)) {
		rec = old;
		old->taken = true;
		goto out_push;
	}

	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->root = root;
	rec->wd = -1;
	if (old) {
		/* The directory is the same: keep its watch. */
		rec->wd = old->wd;
		old->wd = -1;
	}
	rc = state_id.present ?
		     oci_record_load(&rec->oci, rootfd, inv->roots[root], id,
				     &inv->host) :
		     -ENOENT;
	if (rc == -ENOMEM) {
		free(rec);
		return rc;
	}
	if (rc < 0) {
		/* Keep what identifies it, to know when to look again. */
		rec->kind = rc == -ENOENT ? REC_PENDING : REC_BAD;
		rec->oci.c.id = strdup(id);
		if (!rec->oci.c.id) {
			free(rec);
			return -ENOMEM;
		}
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

static void root_watch(struct inventory *inv, size_t r)
{
	int wd;

	if (inv->ino_fd < 0 || inv->root_wds[r] >= 0)
		return;
	wd = inotify_add_watch(inv->ino_fd, inv->roots[r], ROOT_WATCH_MASK);
	if (wd < 0) {
		/* A root that does not exist yet is normal: retried on
		 * every scan; say so only when the reason changes. */
		if (errno != ENOENT && errno != inv->root_errs[r])
			log_warn("%s: %s", inv->roots[r], strerror(errno));
		inv->root_errs[r] = errno;
		return;
	}
	inv->root_wds[r] = wd;
	inv->root_errs[r] = 0;
}

static int scan_root(struct inventory *inv, size_t r, struct rec_list *out)
{
	struct dirent *de;
	struct stat sb;
	int fd, rc = 0;
	DIR *dir;

	root_watch(inv, r);
	fd = open(inv->roots[r], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT && errno != inv->root_errs[r])
			log_warn("%s: %s", inv->roots[r], strerror(errno));
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
		rc = scan_dir(inv, r, fd, de->d_name, out);
		if (rc < 0)
			break;
	}
	closedir(dir);
	return rc;
}

/* RFC 3339 times as runc writes them, compared as times: Go's
 * RFC3339Nano drops the fraction's trailing zeros, so "10.5Z" comes
 * after "10.25Z" although strcmp says otherwise. */
static int created_cmp(const char *a, const char *b)
{
	size_t la = strcspn(a, ".Z"), lb = strcspn(b, ".Z");
	char da, db;
	int c;

	if (la != lb)
		return la < lb ? -1 : 1;
	c = memcmp(a, b, la);
	if (c)
		return c;
	a += la + (a[la] == '.');
	b += lb + (b[lb] == '.');
	for (;;) {
		da = *a >= '0' && *a <= '9' ? *a++ : '0';
		db = *b >= '0' && *b <= '9' ? *b++ : '0';
		if (da != db)
			return da < db ? -1 : 1;
		if ((*a < '0' || *a > '9') && (*b < '0' || *b > '9'))
			return 0;
	}
}

static int view_cmp(const void *pa, const void *pb)
{
	const struct container *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->namespace, b->namespace)) ||
	    (c = strcmp(a->pod, b->pod)) || (c = strcmp(a->name, b->name)))
		return c;
	/* The older container keeps a contested name. */
	if ((c = created_cmp(a->created, b->created)) ||
	    (c = strcmp(a->root, b->root)))
		return c;
	return strcmp(a->id, b->id);
}

static bool same_names(const struct container *a, const struct container *b)
{
	return !strcmp(a->namespace, b->namespace) && !strcmp(a->pod, b->pod) &&
	       !strcmp(a->name, b->name);
}

/* Two containers named alike both stay visible: the later one by its id.
 * If even that collides (one id under two roots), the later one is left
 * out. */
static void view_dedup(struct container *view, size_t *n)
{
	size_t i, first, kept;

	qsort(view, *n, sizeof(*view), view_cmp);
	for (i = 1, first = 0; i < *n; i++) {
		if (same_names(&view[i], &view[first]))
			view[i].name = view[i].id;
		else
			first = i;
	}
	qsort(view, *n, sizeof(*view), view_cmp);
	for (i = 1, kept = *n ? 1 : 0; i < *n; i++) {
		if (same_names(&view[i], &view[kept - 1])) {
			log_warn("%s/%s: same names as %s/%s, not listed",
				 view[i].root, view[i].id, view[kept - 1].root,
				 view[kept - 1].id);
			continue;
		}
		view[kept++] = view[i];
	}
	*n = kept;
}

static int by_id_cmp(const void *pa, const void *pb, void *arg)
{
	const struct container *view = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = strcmp(view[a].id, view[b].id);

	/* Same id under two roots: the first in list order wins. */
	return c ? c : (a < b ? -1 : a > b);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || !strcmp(a, b);
}

/* What a listener can see of a container (the JSON document). */
static bool container_equal(const struct container *a,
			    const struct container *b)
{
	return str_eq(a->id, b->id) && str_eq(a->namespace, b->namespace) &&
	       str_eq(a->pod, b->pod) && str_eq(a->name, b->name) &&
	       str_eq(a->root, b->root) && str_eq(a->runtime, b->runtime) &&
	       str_eq(a->bundle, b->bundle) && str_eq(a->image, b->image) &&
	       str_eq(a->created, b->created) && a->pid == b->pid &&
	       a->start_time == b->start_time && a->state == b->state &&
	       a->privileged == b->privileged &&
	       (a->labels == b->labels || json_equal(a->labels, b->labels));
}

static int view_build(struct rec_list *recs, struct container **pview,
		      size_t *pn, size_t **pby_id)
{
	struct container *view;
	struct inv_rec *rec;
	size_t i, n = 0, *by_id;

	view = calloc(recs->n ? recs->n : 1, sizeof(*view));
	if (!view)
		return -ENOMEM;
	for (i = 0; i < recs->n; i++) {
		rec = recs->v[i];
		if (rec->kind != REC_GOOD || rec->oci.hidden)
			continue;
		view[n] = rec->oci.c;
		view[n].state = rec->state;
		if (rec->state == CONTAINER_STOPPED)
			view[n].pid = 0; /* the pid may belong to another now */
		n++;
	}
	view_dedup(view, &n);
	by_id = calloc(n ? n : 1, sizeof(*by_id));
	if (!by_id) {
		free(view);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		by_id[i] = i;
	qsort_r(by_id, n, sizeof(*by_id), by_id_cmp, view);
	*pview = view;
	*pn = n;
	*pby_id = by_id;
	return 0;
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
	for (i = 0; i < inv->nroots && rc >= 0; i++)
		rc = scan_root(inv, i, &recs);
	if (rc < 0)
		goto out_drop;
	if (recs.n < INVENTORY_MAX_CONTAINERS)
		inv->over_cap = false;
	if (recs.n)
		qsort(recs.v, recs.n, sizeof(*recs.v), rec_sort_cmp);
	rc = view_build(&recs, &view, &nview, &by_id);
	if (rc < 0)
		goto out_drop;

	changed = nview != inv->nview;
	for (i = 0; i < nview && !changed; i++)
		changed = !container_equal(&view[i], &inv->view[i]);

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
		if (inv->root_wds[i] == wd)
			inv->root_wds[i] = -1;
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
	size_t i;
	int rc;

	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return NULL;
	inv->base = base;
	inv->on_change = on_change;
	inv->arg = arg;
	inv->ino_fd = -1;
	inv->roots = calloc(nroots ? nroots : 1, sizeof(*inv->roots));
	inv->root_wds = calloc(nroots ? nroots : 1, sizeof(*inv->root_wds));
	inv->root_errs = calloc(nroots ? nroots : 1, sizeof(*inv->root_errs));
	if (!inv->roots || !inv->root_wds || !inv->root_errs)
		goto out_free;
	for (i = 0; i < nroots; i++) {
		inv->roots[i] = strdup(roots[i]);
		if (!inv->roots[i])
			goto out_free;
		inv->nroots++;
		inv->root_wds[i] = -1;
	}
	oci_host_ns_init(&inv->host);
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
		free(inv->roots[i]);
	free(inv->roots);
	free(inv->root_wds);
	free(inv->root_errs);
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

const char *container_state_name(enum container_state s)
{
	switch (s) {
	case CONTAINER_CREATED:
		return "created";
	case CONTAINER_RUNNING:
		return "running";
	case CONTAINER_PAUSED:
		return "paused";
	case CONTAINER_STOPPED:
		return "stopped";
	}
	return "unknown";
}

static json_t *container_to_json(const struct container *c)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, "
			 "s:s, s:b, s:O}",
			 EXECFS_J_ID, c->id, EXECFS_J_NAMESPACE, c->namespace,
			 EXECFS_J_POD, c->pod, EXECFS_J_NAME, c->name,
			 EXECFS_J_PID, (int)c->pid, EXECFS_J_STATE,
			 container_state_name(c->state), EXECFS_J_RUNTIME,
			 c->runtime, EXECFS_J_ROOT, c->root, EXECFS_J_BUNDLE,
			 c->bundle, EXECFS_J_IMAGE, c->image, EXECFS_J_CREATED,
			 c->created, EXECFS_J_PRIVILEGED, (int)c->privileged,
			 EXECFS_J_LABELS, c->labels);
}

json_t *inventory_to_json(const struct inventory *inv, const char *node)
{
	json_t *doc, *list, *item;
	size_t i;

	list = json_array();
	if (!list)
		return NULL;
	for (i = 0; i < inv->nview; i++) {
		item = container_to_json(&inv->view[i]);
		if (!item || json_array_append_new(list, item)) {
			json_decref(list);
			return NULL;
		}
	}
	doc = json_pack("{s:s, s:o}", EXECFS_J_NODE, node ? node : "",
			EXECFS_J_CONTAINERS, list);
	return doc;
}

/* ---- mirror ------------------------------------------------------------- */

struct inventory *inventory_mirror_new(inventory_change_fn *on_change,
				       void *arg)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (!inv)
		return NULL;
	inv->on_change = on_change;
	inv->arg = arg;
	inv->ino_fd = -1;
	return inv;
}

static int mirror_state(const char *name, enum container_state *out)
{
	enum container_state s;

	for (s = CONTAINER_CREATED; s <= CONTAINER_STOPPED; s++)
		if (!strcmp(name, container_state_name(s))) {
			*out = s;
			return 0;
		}
	return -EINVAL;
}

/* One entry of the document; its strings stay owned by the document. */
static int mirror_container(json_t *o, struct container *c)
{
	const char *id, *ns, *pod, *name, *state, *runtime, *root, *bundle;
	const char *image, *created;
	json_t *labels;
	json_int_t pid;
	int priv;

	if (json_unpack(o,
			"{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, "
			"s:s, s:b, s:o}",
			EXECFS_J_ID, &id, EXECFS_J_NAMESPACE, &ns, EXECFS_J_POD,
			&pod, EXECFS_J_NAME, &name, EXECFS_J_PID, &pid,
			EXECFS_J_STATE, &state, EXECFS_J_RUNTIME, &runtime,
			EXECFS_J_ROOT, &root, EXECFS_J_BUNDLE, &bundle,
			EXECFS_J_IMAGE, &image, EXECFS_J_CREATED, &created,
			EXECFS_J_PRIVILEGED, &priv, EXECFS_J_LABELS,
			&labels) < 0 ||
	    !json_is_object(labels) || pid < 0 || pid > INT32_MAX ||
	    mirror_state(state, &c->state) < 0)
		return -EINVAL;
	/* The fields are not const only because the scanner owns its
	 * strings; nothing writes through them. */
	c->id = (char *)id;
	c->namespace = (char *)ns;
	c->pod = (char *)pod;
	c->name = (char *)name;
	c->runtime = (char *)runtime;
	c->root = (char *)root;
	c->bundle = (char *)bundle;
	c->image = (char *)image;
	c->created = (char *)created;
	c->pid = (pid_t)pid;
	c->privileged = priv;
	c->labels = labels;
	return 0;
}

int inventory_mirror_load(struct inventory *inv, const char *text, size_t len,
			  char *err, size_t errlen)
{
	struct container *view = NULL;
	size_t i, n = 0, *by_id = NULL;
	json_error_t jerr;
	json_t *doc, *list;
	bool changed;
	int rc = -EINVAL;

	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	list = json_object_get(doc, EXECFS_J_CONTAINERS);
	if (!json_is_array(list) ||
	    json_array_size(list) > INVENTORY_MAX_CONTAINERS) {
		snprintf(err, errlen, "inventory: not a container list: %s",
			 doc ? "wrong shape" : jerr.text);
		goto out;
	}
	n = json_array_size(list);
	view = calloc(n ? n : 1, sizeof(*view));
	by_id = calloc(n ? n : 1, sizeof(*by_id));
	if (!view || !by_id) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (mirror_container(json_array_get(list, i), &view[i]) < 0) {
			snprintf(err, errlen, "inventory: entry %zu is bad", i);
			goto out;
		}
		by_id[i] = i;
	}
	qsort_r(by_id, n, sizeof(*by_id), by_id_cmp, view);
	changed = n != inv->nview;
	for (i = 0; i < n && !changed; i++)
		changed = !container_equal(&view[i], &inv->view[i]);
	free(inv->view);
	free(inv->by_id);
	json_decref(inv->mirror);
	inv->view = view;
	inv->by_id = by_id;
	inv->nview = n;
	inv->mirror = doc;
	view = NULL;
	by_id = NULL;
	doc = NULL;
	rc = 0;
	if (changed && inv->on_change)
		inv->on_change(inv->arg);
out:
	free(view);
	free(by_id);
	json_decref(doc);
	return rc;
}
