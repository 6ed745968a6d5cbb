/*
 * Unit tests for what reads runtimes other than runc and names containers:
 * root patterns (roots.c), cgroup lines onto mounts (proccgroup.c), crun's
 * status (crunstate.c), Docker's metadata (names_docker.c), Podman's store
 * (names_podman.c) and BoltDB files (boltdb.c, on files built here page by
 * page), and the inventory over them: crun directories, one id under two
 * roots, Docker, Podman and containerd names. Fake state in a temporary
 * directory; the test process plays every container's init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boltdb.h"
#include "crunstate.h"
#include "inventory.h"
#include "names_docker.h"
#include "names_podman.h"
#include "naming.h"
#include "proccgroup.h"
#include "procstat.h"
#include "roots.h"
#include "strv.h"

#include <endian.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOCKER_ID \
	"66390e403ed58af7b14e35beb077179d0fa1e504095929db5de8631c55f500da"
#define PODMAN_ID \
	"3afe615bb7feb5c8e42b627c7ba261e46071fc78a8d55da1acb55c3efdf2bdde"
/* A string literal and its length. */
#define S(lit) lit, strlen(lit)

#define POD_ID \
	"1a57ae4a6f38e6a6e6b1a347840823bcb26dfc31a71d1418529007bba2334dc7"

struct fixture {
	char dir[64];
	pid_t self;
	unsigned long long self_start;
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char st;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/execfs-rt-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->self = getpid();
	assert_int_equal(proc_stat_read(fx->self, &st, &fx->self_start), 0);
	naming_set_docker_root(NULL);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* An OCI config with these annotations (stolen; NULL: none). */
static void write_config(const char *path, json_t *annotations)
{
	json_t *cfg;

	cfg = json_pack(
		"{s:s, s:{s:[s], s:s, s:{s:i, s:i}, s:{s:[s], s:[s], "
		"s:[s], s:[], s:[]}, s:b}, s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, "
		"{s:s}]}}",
		"ociVersion", "1.0.2", "process", "env", "PATH=/bin", "cwd",
		"/", "user", "uid", 0, "gid", 0, "capabilities", "bounding",
		"CAP_KILL", "effective", "CAP_KILL", "permitted", "CAP_KILL",
		"inheritable", "ambient", "noNewPrivileges", 1, "linux",
		"namespaces", "type", "pid", "type", "ipc", "type", "network",
		"type", "uts", "type", "mount");
	assert_non_null(cfg);
	if (annotations)
		json_object_set_new(cfg, "annotations", annotations);
	assert_int_equal(json_dump_file(cfg, path, 0), 0);
	json_decref(cfg);
}

/* ROOT/<id> as crun keeps it (status + config.json); bundle may be NULL. */
static void add_crun(struct fixture *fx, const char *root, const char *id,
		     const char *bundle, json_t *annotations)
{
	char dir[512], path[600], status[1024];

	snprintf(dir, sizeof(dir), "%s/%s", root, id);
	mkdirs(dir);
	snprintf(status, sizeof(status),
		 "{\"pid\": %d, \"process-start-time\": %llu, "
		 "\"cgroup-path\": \"/%s\", \"bundle\": \"%s\", "
		 "\"created\": \"2026-12-07T11:42:57.724807Z\", "
		 "\"owner\": \"root\"}",
		 (int)fx->self, fx->self_start, id, bundle ? bundle : "/b");
	snprintf(path, sizeof(path), "%s/status", dir);
	write_text(path, status);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	write_config(path, annotations);
}

/* ROOT/<id>/state.json as runc keeps it, with its bundle. */
static void add_runc(struct fixture *fx, const char *root, const char *id,
		     const char *bundle, const char *created,
		     json_t *annotations)
{
	char dir[512], path[600], label[600];
	json_t *st;

	snprintf(dir, sizeof(dir), "%s/%s", root, id);
	mkdirs(dir);
	mkdirs(bundle);
	snprintf(label, sizeof(label), "bundle=%s", bundle);
	st = json_pack("{s:s, s:i, s:I, s:s, s:{s:[{s:s}, {s:s}, {s:s}, "
		       "{s:s}, {s:s}], s:{s:[s]}, s:[s]}, s:{}}",
		       "id", id, "init_process_pid", (int)fx->self,
		       "init_process_start", (json_int_t)fx->self_start,
		       "created", created, "config", "namespaces", "type",
		       "NEWPID", "type", "NEWIPC", "type", "NEWNET", "type",
		       "NEWUTS", "type", "NEWNS", "capabilities", "Bounding",
		       "CAP_KILL", "labels", label, "cgroup_paths");
	assert_non_null(st);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(json_dump_file(st, path, 0), 0);
	json_decref(st);
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	write_config(path, annotations);
}

static struct inventory *scan_roots(const char *const *roots, size_t n)
{
	struct inventory *inv = inventory_new(NULL, roots, n, NULL, NULL);

	assert_non_null(inv);
	return inv;
}

static const struct container *by_names(const struct inventory *inv,
					const char *ns, const char *pod,
					const char *name)
{
	const struct container *c;
	size_t i;

	for (i = 0; (c = inventory_at(inv, i)); i++)
		if (!strcmp(c->namespace, ns) && !strcmp(c->pod, pod) &&
		    !strcmp(c->name, name))
			return c;
	return NULL;
}

/* ---- roots ---------------------------------------------------------------- */

static void test_roots_patterns(void **state)
{
	struct fixture *fx = *state;
	struct root_expansion x = { 0 };
	const char *pats[3];
	char p0[128], p1[128], p2[128], path[256];
	struct rootset *rs;

	snprintf(p0, sizeof(p0), "%s/containerd/runc/*", fx->dir);
	snprintf(p1, sizeof(p1), "%s/docker/runtime-*/moby", fx->dir);
	/* The same directory as the first match, by another name. */
	snprintf(p2, sizeof(p2), "%s/alias/*", fx->dir);
	pats[0] = p0;
	pats[1] = p1;
	pats[2] = p2;
	rs = rootset_new(pats, 3);
	assert_non_null(rs);

	/* Nothing exists: each pattern's nearest existing directory is
	 * watched. */
	assert_int_equal(rootset_expand(rs, &x), 0);
	assert_int_equal(x.nroots, 0);
	assert_int_equal(x.nwatch, 1);
	assert_string_equal(x.watch[0], fx->dir);
	root_expansion_release(&x);

	snprintf(path, sizeof(path), "%s/containerd/runc/k8s.io", fx->dir);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/containerd/runc/.hidden", fx->dir);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/docker/runtime-runc/moby", fx->dir);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/docker/runtime-crun", fx->dir);
	mkdirs(path); /* no moby yet */
	snprintf(path, sizeof(path), "%s/containerd/runc", fx->dir);
	snprintf(p2, sizeof(p2), "%s/alias", fx->dir);
	assert_int_equal(symlink(path, p2), 0);
	assert_int_equal(rootset_expand(rs, &x), 0);
	assert_int_equal(x.nroots, 2);
	snprintf(path, sizeof(path), "%s/containerd/runc/k8s.io", fx->dir);
	assert_string_equal(x.roots[0], path);
	snprintf(path, sizeof(path), "%s/docker/runtime-runc/moby", fx->dir);
	assert_string_equal(x.roots[1], path);
	assert_false(x.truncated);
	root_expansion_release(&x);
	rootset_free(rs);

	pats[0] = "relative/path";
	assert_null(rootset_new(pats, 1));
	assert_int_equal(errno, EINVAL);
	pats[0] = "/run/../etc";
	assert_null(rootset_new(pats, 1));
	assert_true(roots_is_wild("runtime-*"));
	assert_false(roots_is_wild("moby"));
	rootset_free(NULL);
}

/* ---- cgroups ---------------------------------------------------------------- */

static void test_proc_cgroup(void **state)
{
	/* This machine's kind of hybrid layout, a bind mount of a subtree,
	 * and a line no mount shows. */
	static const char mountinfo[] =
		"30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
		"31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
		"rw,cpu,cpuacct\n"
		"32 30 0:28 / /sys/fs/cgroup/freezer rw - cgroup cgroup "
		"rw,freezer\n"
		"33 30 0:29 / /sys/fs/cgroup/systemd rw shared:9 - cgroup "
		"cgroup rw,xattr,name=systemd\n"
		"34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
		"35 30 0:31 /kube /srv/my\\040pids rw - cgroup cgroup rw,pids\n";
	static const char cgroup[] = "4:pids:/kube/pod1\n"
				     "3:name=systemd:/c1\n"
				     "2:freezer:/c1\n"
				     "1:cpu,cpuacct:/c1\n"
				     "5:memory:/c1\n"
				     "0::/c1\n";
	char **dirs, *f1, *f2;

	assert_int_equal(proc_cgroup_dirs_parse(cgroup, mountinfo, 0, &dirs,
						&f1, &f2),
			 0);
	assert_string_equal(dirs[0], "/srv/my pids/pod1");
	assert_string_equal(dirs[1], "/sys/fs/cgroup/systemd/c1");
	assert_string_equal(dirs[2], "/sys/fs/cgroup/freezer/c1");
	assert_string_equal(dirs[3], "/sys/fs/cgroup/cpu,cpuacct/c1");
	assert_string_equal(dirs[4], "/sys/fs/cgroup/unified/c1");
	assert_null(dirs[5]);
	assert_string_equal(f1, "/sys/fs/cgroup/freezer/c1/freezer.state");
	assert_string_equal(f2, "/sys/fs/cgroup/unified/c1/cgroup.freeze");
	strv_free(dirs);
	free(f1);
	free(f2);

	/* Garbage is left out, never guessed. */
	assert_int_equal(proc_cgroup_dirs_parse("x\n::\n9:cpu:relative\n",
						"garbage\n- cgroup\n", 0, &dirs,
						&f1, &f2),
			 0);
	assert_null(dirs[0]);
	assert_null(f1);
	assert_null(f2);
	strv_free(dirs);

	/* Seen from a cgroup namespace one level down: a mount made above
	 * it shows its root as "/..", a cgroup outside the namespace's root
	 * as "/../other"; a mount made inside it never shows that one. */
	assert_int_equal(
		proc_cgroup_dirs_parse(
			"2:freezer:/../c2\n1:cpu,cpuacct:/../c2\n0::/../c2\n",
			"31 30 0:27 /.. /sys/fs/cgroup/cpu,cpuacct rw - cgroup "
			"cgroup rw,cpu,cpuacct\n"
			"32 30 0:28 / /sys/fs/cgroup/freezer rw - cgroup cgroup "
			"rw,freezer\n"
			"34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 "
			"rw\n",
			0, &dirs, &f1, &f2),
		0);
	assert_string_equal(dirs[0], "/sys/fs/cgroup/cpu,cpuacct/c2");
	assert_null(dirs[1]);
	assert_null(f1);
	assert_null(f2);
	strv_free(dirs);

	/* The test process's own cgroups exist. */
	assert_int_equal(proc_cgroup_dirs(getpid(), &dirs, &f1, &f2), 0);
	strv_free(dirs);
	free(f1);
	free(f2);
	assert_int_equal(proc_cgroup_dirs(0, &dirs, &f1, &f2), -ENOENT);
}

/* ---- crun ------------------------------------------------------------------- */

static void test_crun_status(void **state)
{
	struct oci_record rec = { 0 };
	char err[128];

	assert_int_equal(
		crun_status_parse(&rec,
				  S("{\"pid\": 42, \"process-start-time"
				    "\": 7, \"bundle\": \"/b\", "
				    "\"created\": \"2026-01-01T00:00:00Z\"}"),
				  err, sizeof(err)),
		0);
	assert_int_equal(rec.c.pid, 42);
	assert_int_equal(rec.c.start_time, 7);
	assert_string_equal(rec.c.bundle, "/b");
	oci_record_release(&rec);
	assert_int_equal(crun_status_parse(&rec, S("{\"pid\": -1}"), err,
					   sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "status: bad pid");
	assert_int_equal(crun_status_parse(&rec, S("[1]"), err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
		crun_status_parse(&rec,
				  S("{\"pid\": 1, \"process-start-time\": "
				    "\"x\"}"),
				  err, sizeof(err)),
		-EINVAL);
	/* A relative bundle is no bundle. */
	assert_int_equal(crun_status_parse(&rec,
					   S("{\"pid\": 1, \"process-start-time"
					     "\": 1, \"bundle\": \"rel\"}"),
					   err, sizeof(err)),
			 0);
	assert_string_equal(rec.c.bundle, "");
	oci_record_release(&rec);
}

static void test_crun_inventory(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;
	char root[128], path[256];
	const char *roots[1] = { root };

	snprintf(root, sizeof(root), "%s/crun", fx->dir);
	add_crun(fx, root, "c1", NULL, NULL);
	add_crun(fx, root, "created", NULL, NULL);
	snprintf(path, sizeof(path), "%s/created/exec.fifo", root);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* A status without its config yet: pending, not bad. */
	snprintf(path, sizeof(path), "%s/half", root);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/half/status", root);
	write_text(path, "{\"pid\": 1, \"process-start-time\": 1}");
	inv = scan_roots(roots, 1);
	assert_int_equal(inventory_count(inv), 2);
	c = inventory_find(inv, "c1");
	assert_non_null(c);
	assert_string_equal(c->runtime, "crun");
	assert_string_equal(c->root, root);
	assert_string_equal(c->naming, "runtime");
	assert_string_equal(c->namespace, "default");
	assert_int_equal(c->state, CONTAINER_RUNNING);
	assert_true(c->has_caps);
	assert_true(c->no_new_privs);
	assert_false(c->privileged);
	assert_non_null(c->cgroups);
	assert_non_null(c->cgroups[0]); /* the test process's own */
	assert_int_equal(inventory_find(inv, "created")->state,
			 CONTAINER_CREATED);

	/* The config appears: the half-made one is listed. */
	snprintf(path, sizeof(path), "%s/half/status", root);
	unlink(path);
	add_crun(fx, root, "half", NULL, NULL);
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_count(inv), 3);
	inventory_free(inv);
}

/* ---- one id under two roots -------------------------------------------------- */

static void test_same_id_two_roots(void **state)
{
	struct fixture *fx = *state;
	const struct container *a, *b;
	struct inventory *inv;
	char r1[128], r2[128], bundle[256], key[256], path[256];
	const char *roots[2] = { r1, r2 };

	snprintf(r1, sizeof(r1), "%s/runc", fx->dir);
	snprintf(r2, sizeof(r2), "%s/crun", fx->dir);
	snprintf(bundle, sizeof(bundle), "%s/bundles/dup", fx->dir);
	mkdirs(r1);
	add_crun(fx, r2, "dup", NULL, NULL);
	inv = scan_roots(roots, 2);
	assert_int_equal(inventory_count(inv), 1);
	assert_string_equal(inventory_at(inv, 0)->id, "dup");

	/* The same id appears under the first root later: both listed;
	 * the one listed first keeps the bare id. */
	add_runc(fx, r1, "dup", bundle, "2020-01-01T00:00:00Z", NULL);
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_count(inv), 2);
	a = inventory_find(inv, "dup");
	assert_string_equal(a->runtime, "crun");
	snprintf(key, sizeof(key), "dup@%s", r1 + 1);
	for (char *p = strchr(key, '@'); *p; p++)
		if (*p == '/')
			*p = ':';
	b = inventory_find(inv, key);
	assert_non_null(b);
	assert_string_equal(b->runtime, "runc");
	assert_string_equal(b->runtime_id, "dup");
	/* Named alike: the later one under its id on the node. */
	assert_string_equal(a->name, "dup");
	assert_string_equal(b->name, key);

	/* The first goes: the second keeps its id (a client's sessions
	 * name it so). */
	snprintf(path, sizeof(path), "rm -rf '%s/dup'", r2);
	assert_int_equal(system(path), 0);
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_count(inv), 1);
	assert_non_null(inventory_find(inv, key));
	assert_null(inventory_find(inv, "dup"));
	inventory_free(inv);

	/* Both new at once: the older takes the bare id. */
	add_crun(fx, r2, "dup", NULL, NULL); /* created 2026 */
	inv = scan_roots(roots, 2);
	assert_string_equal(inventory_find(inv, "dup")->runtime, "runc");
	inventory_free(inv);
}

/* ---- Docker ------------------------------------------------------------------ */

static json_t *docker_doc(const char *name, json_t *labels, json_t *env)
{
	return json_pack("{s:s, s:s, s:{s:s, s:o, s:o}}", "ID", DOCKER_ID,
			 "Name", name, "Config", "Image", "busybox:1", "Labels",
			 labels ? labels : json_object(), "Env",
			 env ? env : json_array());
}

/* The choice for a document, as "naming ns/pod/name" (NULL parts as -). */
static void choose(json_t *doc, char *out, size_t outlen)
{
	char *text = json_dumps(doc, 0), podbuf[2 * DOCKER_POD_BUF], err[64];
	struct docker_meta m;
	struct name_choice ch;

	assert_int_equal(
		docker_meta_parse(text, strlen(text), &m, err, sizeof(err)), 0);
	docker_meta_choice(&m, &ch, podbuf);
	snprintf(out, outlen, "%s %s/%s/%s", ch.naming, ch.ns ? ch.ns : "-",
		 ch.pod ? ch.pod : "-", ch.name ? ch.name : "-");
	docker_meta_release(&m);
	free(text);
	json_decref(doc);
}

static void test_docker_meta(void **state)
{
	struct docker_meta m;
	char out[256], err[64];

	choose(docker_doc("/web", NULL, NULL), out, sizeof(out));
	assert_string_equal(out, "docker docker/web/web");
	choose(docker_doc("/shop-web-1",
			  json_pack("{s:s, s:s, s:s, s:s}",
				    "com.docker.compose.project", "shop",
				    "com.docker.compose.service", "web",
				    "com.docker.compose.container-number", "1",
				    "com.docker.compose.oneoff", "False"),
			  NULL),
	       out, sizeof(out));
	assert_string_equal(out, "compose shop/web-1/web");
	choose(docker_doc("/shop-web-run-3f2a",
			  json_pack("{s:s, s:s, s:s, s:s}",
				    "com.docker.compose.project", "shop",
				    "com.docker.compose.service", "web",
				    "com.docker.compose.container-number", "1",
				    "com.docker.compose.oneoff", "True"),
			  NULL),
	       out, sizeof(out));
	assert_string_equal(out, "compose shop/web-run-3f2a/web");
	/* Nomad: the labels of extra_labels... */
	choose(docker_doc("/redis-6f3c",
			  json_pack("{s:s, s:s, s:s, s:s, s:s}",
				    "com.hashicorp.nomad.alloc_id",
				    "6f3c2a9e-1b7d-4c2e-9a55-0d3e2c1b7a10",
				    "com.hashicorp.nomad.job_name", "cache",
				    "com.hashicorp.nomad.task_group_name", "kv",
				    "com.hashicorp.nomad.task_name", "redis",
				    "com.hashicorp.nomad.namespace",
				    "platform"),
			  json_pack("[s]", "NOMAD_ALLOC_INDEX=2")),
	       out, sizeof(out));
	assert_string_equal(out, "nomad platform/cache.kv[2]/redis");
	/* ...or only alloc_id and the task's environment. */
	choose(docker_doc("/redis-6f3c",
			  json_pack("{s:s}", "com.hashicorp.nomad.alloc_id",
				    "6f3c2a9e-1b7d-4c2e-9a55-0d3e2c1b7a10"),
			  json_pack("[s, s, s]", "NOMAD_ALLOC_NAME=cache.kv[0]",
				    "NOMAD_TASK_NAME=redis", "X")),
	       out, sizeof(out));
	assert_string_equal(out, "nomad -/cache.kv[0]/redis");
	/* Nothing to build the allocation's name from: its short id is
	 * the fallback. */
	choose(docker_doc("/redis-6f3c",
			  json_pack("{s:s}", "com.hashicorp.nomad.alloc_id",
				    "6f3c2a9e-1b7d"),
			  NULL),
	       out, sizeof(out));
	assert_string_equal(out, "nomad -/-/-");

	assert_int_equal(docker_meta_parse("{}", 2, &m, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(docker_meta_parse("[", 1, &m, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(docker_meta_parse(S("{\"ID\": \"x\", \"Config\": 5}"),
					   &m, err, sizeof(err)),
			 0);
	assert_null(m.name);
	assert_null(m.labels);
	docker_meta_release(&m);
}

static void test_docker_inventory(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;
	char root[128], droot[128], bundle[256], path[512];
	const char *roots[1] = { root };
	json_t *doc;

	snprintf(root, sizeof(root), "%s/moby", fx->dir);
	snprintf(droot, sizeof(droot), "%s/docker", fx->dir);
	snprintf(bundle, sizeof(bundle), "%s/bundles/" DOCKER_ID, fx->dir);
	add_runc(fx, root, DOCKER_ID, bundle, "2026-01-01T00:00:00Z",
		 json_pack("{s:s}", "a", "from-annotation"));
	snprintf(path, sizeof(path), "%s/containers/" DOCKER_ID, droot);
	mkdirs(path);
	snprintf(path, sizeof(path),
		 "%s/containers/" DOCKER_ID "/config.v2.json", droot);
	doc = docker_doc("/web",
			 json_pack("{s:s, s:s}", "a", "label", "b", "label"),
			 NULL);
	assert_int_equal(json_dump_file(doc, path, 0), 0);
	json_decref(doc);

	naming_set_docker_root(droot);
	inv = scan_roots(roots, 1);
	c = by_names(inv, "docker", "web", "web");
	assert_non_null(c);
	assert_string_equal(c->naming, "docker");
	assert_string_equal(c->image, "busybox:1");
	assert_string_equal(
		json_string_value(json_array_get(c->name_sources, 0)), path);
	/* Annotations keep their values; Docker's labels join them. */
	assert_string_equal(json_string_value(json_object_get(c->labels, "a")),
			    "from-annotation");
	assert_string_equal(json_string_value(json_object_get(c->labels, "b")),
			    "label");

	/* docker rename: config.v2.json changes, the name follows. */
	doc = docker_doc("/web2", NULL, NULL);
	assert_int_equal(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
	assert_int_equal(inventory_rescan(inv), 1);
	assert_non_null(by_names(inv, "docker", "web2", "web2"));

	/* A file others may write is not believed. */
	doc = docker_doc("/web3", NULL, NULL);
	assert_int_equal(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(inventory_rescan(inv), 1);
	assert_string_equal(inventory_at(inv, 0)->naming, "runtime");
	assert_int_equal(chmod(path, 0600), 0);

	/* A file that names another container is not believed. */
	doc = json_pack("{s:s, s:s}", "ID", "other", "Name", "/x");
	assert_int_equal(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
	assert_int_equal(inventory_rescan(inv), 0); /* still unnamed */
	c = inventory_at(inv, 0);
	assert_string_equal(c->naming, "runtime");
	assert_string_equal(c->name, DOCKER_ID);
	inventory_free(inv);
	naming_set_docker_root(NULL);
}

/* ---- containerd --------------------------------------------------------------- */

static void test_containerd_namespace(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;
	char pattern[128], root[128], bundle[256];
	const char *roots[1] = { pattern };

	snprintf(pattern, sizeof(pattern), "%s/runc/*", fx->dir);
	snprintf(root, sizeof(root), "%s/runc/team-b", fx->dir);
	snprintf(bundle, sizeof(bundle),
		 "%s/state/io.containerd.runtime.v2.task/team-b/c1", fx->dir);
	add_runc(fx, root, "c1", bundle, "2026-01-01T00:00:00Z", NULL);
	inv = scan_roots(roots, 1);
	c = inventory_find(inv, "c1");
	assert_non_null(c);
	assert_string_equal(c->naming, "containerd");
	assert_string_equal(c->namespace, "team-b");
	assert_string_equal(c->pod, "c1");
	assert_string_equal(c->name, "c1");
	assert_string_equal(c->root, root);
	inventory_free(inv);
}

/* ---- BoltDB --------------------------------------------------------------------- */

#define PS 4096

struct kv {
	const char *key;
	const void *val;
	size_t vlen;
	uint32_t flags;
};

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* A leaf page of the given pairs at p (room: cap); returns its size. */
static size_t leaf_page(uint8_t *p, size_t cap, uint64_t id,
			const struct kv *kvs, size_t n)
{
	size_t data = 16 + n * 16, i;

	memset(p, 0, cap);
	put64(p, id);
	put16(p + 8, 0x02);
	put16(p + 10, (uint16_t)n);
	for (i = 0; i < n; i++) {
		uint8_t *e = p + 16 + i * 16;
		size_t klen = strlen(kvs[i].key);

		assert_true(data + klen + kvs[i].vlen <= cap);
		put32(e, kvs[i].flags);
		put32(e + 4, (uint32_t)(data - (16 + i * 16)));
		put32(e + 8, (uint32_t)klen);
		put32(e + 12, (uint32_t)kvs[i].vlen);
		memcpy(p + data, kvs[i].key, klen);
		memcpy(p + data + klen, kvs[i].val, kvs[i].vlen);
		data += klen + kvs[i].vlen;
	}
	return data;
}

/* A bucket value: inline (root 0, the leaf after it) or at a page. */
static size_t bucket_value(uint8_t *out, size_t cap, uint64_t root,
			   const struct kv *kvs, size_t n)
{
	memset(out, 0, 16);
	put64(out, root);
	if (root)
		return 16;
	return 16 + leaf_page(out + 16, cap - 16, 0, kvs, n);
}

static void meta_page(uint8_t *p, uint64_t id, uint64_t root, uint64_t hwm,
		      uint64_t txid)
{
	uint8_t *m = p + 16;
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	memset(p, 0, PS);
	put64(p, id);
	put16(p + 8, 0x04);
	put32(m, 0xED0CDAED);
	put32(m + 4, 2);
	put32(m + 8, PS);
	put64(m + 16, root);
	put64(m + 40, hwm);
	put64(m + 48, txid);
	for (i = 0; i < 56; i++)
		h = (h ^ m[i]) * 0x100000001b3ULL;
	put64(m + 56, h);
}

/* Podman's layout: meta 1 (newer) -> branch page 5 -> leaves 2
 * ("allPods") and 3 ("ctr" -> page 4: one container bucket, inline);
 * meta 0 (older) -> page 2 alone. */
static uint8_t *podman_db(size_t *len)
{
	static const char config[] = "{\"pod\": \"" POD_ID "\", \"pause\": "
				     "false, \"name\": \"shop-api\"}";
	uint8_t *db = calloc(6, PS), inl[1024], pods[1024], ctr[32];
	struct kv kv;
	size_t n;

	assert_non_null(db);
	meta_page(db, 0, 2, 6, 1);
	meta_page(db + PS, 1, 5, 6, 2);
	kv = (struct kv){ POD_ID, "shop", 4, 0 };
	n = bucket_value(pods, sizeof(pods), 0, &kv, 1);
	kv = (struct kv){ "allPods", pods, n, 1 };
	leaf_page(db + 2 * PS, PS, 2, &kv, 1);
	n = bucket_value(ctr, sizeof(ctr), 4, NULL, 0);
	kv = (struct kv){ "ctr", ctr, n, 1 };
	leaf_page(db + 3 * PS, PS, 3, &kv, 1);
	{
		struct kv in[2] = { { "config", config, strlen(config), 0 },
				    { "pod-id", POD_ID, strlen(POD_ID), 0 } };

		n = bucket_value(inl, sizeof(inl), 0, in, 2);
	}
	kv = (struct kv){ PODMAN_ID, inl, n, 1 };
	leaf_page(db + 4 * PS, PS, 4, &kv, 1);
	/* The branch: keys "allPods" -> 2, "ctr" -> 3. */
	{
		uint8_t *p = db + 5 * PS;

		put64(p, 5);
		put16(p + 8, 0x01);
		put16(p + 10, 2);
		put32(p + 16, 32); /* key at 16 + 32 = 48 */
		put32(p + 20, 7);
		put64(p + 24, 2);
		put32(p + 32, 16 + 7); /* at 32 + 23 = 55 */
		put32(p + 36, 3);
		put64(p + 40, 3);
		memcpy(p + 48, "allPods", 7);
		memcpy(p + 55, "ctr", 3);
	}
	*len = 6 * PS;
	return db;
}

static void test_boltdb(void **state)
{
	const char *ctr_path[2] = { "ctr", PODMAN_ID };
	const char *pods[1] = { "allPods" };
	struct boltdb *db;
	uint8_t *data;
	size_t len, vlen;
	char *val;

	data = podman_db(&len);
	assert_int_equal(boltdb_open_mem(data, len, &db), 0);
	assert_int_equal(boltdb_get(db, pods, 1, POD_ID, strlen(POD_ID), &val,
				    &vlen),
			 0);
	assert_string_equal(val, "shop");
	free(val);
	assert_int_equal(boltdb_get(db, ctr_path, 2, "config", 6, &val, &vlen),
			 0);
	assert_non_null(strstr(val, "shop-api"));
	free(val);
	assert_int_equal(boltdb_get(db, ctr_path, 2, "pod-id", 6, &val, &vlen),
			 0);
	assert_string_equal(val, POD_ID);
	free(val);
	/* Missing keys and buckets; a bucket is no value. */
	assert_int_equal(boltdb_get(db, ctr_path, 2, "nope", 4, &val, &vlen),
			 -ENOENT);
	assert_int_equal(boltdb_get(db, pods, 1, "zz", 2, &val, &vlen),
			 -ENOENT);
	assert_int_equal(boltdb_get(db, NULL, 0, "ctr", 3, &val, &vlen),
			 -ENOENT);
	boltdb_close(db);

	/* A bad newer meta: the older one's tree (without "ctr"). */
	data[PS + 16 + 60] ^= 1;
	assert_int_equal(boltdb_open_mem(data, len, &db), 0);
	assert_int_equal(boltdb_get(db, ctr_path, 2, "config", 6, &val, &vlen),
			 -ENOENT);
	assert_int_equal(boltdb_get(db, pods, 1, POD_ID, strlen(POD_ID), &val,
				    &vlen),
			 0);
	free(val);
	boltdb_close(db);
	data[PS + 16 + 60] ^= 1;

	/* A page that is not where it says: corrupt. */
	put64(data + 4 * PS, 9);
	assert_int_equal(boltdb_open_mem(data, len, &db), 0);
	assert_int_equal(boltdb_get(db, ctr_path, 2, "config", 6, &val, &vlen),
			 -EINVAL);
	boltdb_close(db);
	/* Truncated after its meta: no page to read. */
	assert_int_equal(boltdb_open_mem(data, 100, &db), 0);
	assert_int_equal(boltdb_get(db, pods, 1, POD_ID, strlen(POD_ID), &val,
				    &vlen),
			 -EINVAL);
	boltdb_close(db);
	/* Not a bolt file at all. */
	assert_int_equal(boltdb_open_mem(data, 10, &db), -EINVAL);
	memset(data, 0, 2 * PS);
	assert_int_equal(boltdb_open_mem(data, len, &db), -EINVAL);
	free(data);
	assert_int_equal(boltdb_open("/nonexistent/db", &db, NULL), -ENOENT);
	boltdb_close(NULL);
}

/* ---- Podman -------------------------------------------------------------------- */

static void test_podman_store(void **state)
{
	static const char store[] =
		"[{\"id\": \"a\", \"names\": [\"web\"], \"metadata\": "
		"\"{\\\"image-name\\\": \\\"localhost/img:1\\\"}\"}, "
		"{\"id\": \"b\", \"names\": []}]";
	char *name, *image, *pod;
	bool infra;

	assert_int_equal(
		podman_store_find(store, strlen(store), "a", &name, &image), 0);
	assert_string_equal(name, "web");
	assert_string_equal(image, "localhost/img:1");
	free(name);
	free(image);
	assert_int_equal(
		podman_store_find(store, strlen(store), "b", &name, &image), 0);
	assert_null(name);
	assert_null(image);
	assert_int_equal(podman_store_find(store, strlen(store), "c", &name,
					   &image),
			 -ENOENT);
	assert_int_equal(podman_store_find("{}", 2, "a", &name, &image),
			 -EINVAL);

	assert_int_equal(
		podman_ctr_config_parse(S("{\"pod\": \"p\", \"pause\": "
					  "true}"),
					&pod, &infra),
		0);
	assert_string_equal(pod, "p");
	assert_true(infra);
	free(pod);
	assert_int_equal(podman_ctr_config_parse("{}", 2, &pod, &infra), 0);
	assert_null(pod);
	assert_false(infra);
	assert_int_equal(podman_ctr_config_parse("x", 1, &pod, &infra),
			 -EINVAL);
}

static void test_podman_inventory(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;
	char root[128], graph[128], bundle[256], path[512], store[1024];
	const char *roots[1] = { root };
	uint8_t *db;
	size_t len;
	FILE *f;

	snprintf(root, sizeof(root), "%s/crun", fx->dir);
	snprintf(graph, sizeof(graph), "%s/storage", fx->dir);
	snprintf(bundle, sizeof(bundle),
		 "%s/overlay-containers/" PODMAN_ID "/userdata", graph);
	mkdirs(bundle);
	add_crun(fx, root, PODMAN_ID, bundle,
		 json_pack("{s:s}", "io.container.manager", "libpod"));
	snprintf(path, sizeof(path), "%s/overlay-containers/containers.json",
		 graph);
	snprintf(
		store, sizeof(store),
		"[{\"id\": \"" PODMAN_ID "\", \"names\": [\"shop-api\"], "
		"\"metadata\": \"{\\\"image-name\\\": \\\"localhost/b:1\\\"}\"}]");
	write_text(path, store);
	snprintf(path, sizeof(path), "%s/libpod", graph);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/libpod/bolt_state.db", graph);
	db = podman_db(&len);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(db, 1, len, f), len);
	assert_int_equal(fclose(f), 0);

	inv = scan_roots(roots, 1);
	c = by_names(inv, "podman", "shop", "shop-api");
	assert_non_null(c);
	assert_string_equal(c->naming, "podman");
	assert_string_equal(c->image, "localhost/b:1");
	assert_int_equal(json_array_size(c->name_sources), 2);

	/* The container becomes its pod's infra container: hidden. */
	{
		static const char cfg[] = "{\"pod\": \"" POD_ID
					  "\", \"pause\": true}";
		uint8_t inl[512];
		struct kv kv[2] = { { "config", cfg, strlen(cfg), 0 },
				    { "pod-id", POD_ID, strlen(POD_ID), 0 } };
		struct kv outer;
		size_t n = bucket_value(inl, sizeof(inl), 0, kv, 2);

		outer = (struct kv){ PODMAN_ID, inl, n, 1 };
		leaf_page(db + 4 * PS, PS, 4, &outer, 1);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(db, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_count(inv), 0);
	free(db);
	inventory_free(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roots_patterns, setup,
						teardown),
		cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test(test_crun_status),
		cmocka_unit_test_setup_teardown(test_crun_inventory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_same_id_two_roots, setup,
						teardown),
		cmocka_unit_test(test_docker_meta),
		cmocka_unit_test_setup_teardown(test_docker_inventory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_containerd_namespace,
						setup, teardown),
		cmocka_unit_test(test_boltdb),
		cmocka_unit_test(test_podman_store),
		cmocka_unit_test_setup_teardown(test_podman_inventory, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
