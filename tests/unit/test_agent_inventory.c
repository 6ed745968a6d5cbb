/*
 * Unit tests for agent/inventory.c and agent/ocistate.c: fake runc state
 * roots in a temporary directory (state.json, bundle config.json,
 * exec.fifo), no root and no real containers needed. The test process
 * itself plays a running container's init (its pid and start time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inventory.h"
#include "ocistate.h"
#include "procstat.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char root[128];
	char bundles[128];
	const char *roots[1];
	pid_t self;
	unsigned long long self_start;
	pid_t dead;
};

/* One fake container; zero fields mean "like a plain runc container". */
struct fake {
	const char *id;
	pid_t pid; /* 0: the test process */
	long long start; /* -1: the test process's */
	json_t *annotations; /* stolen; NULL: none */
	const char *created;
	bool no_config; /* no bundle config.json */
	bool host_net; /* no NEWNET namespace */
	bool sys_admin; /* CAP_SYS_ADMIN in the bounding set */
	const char *raw_state; /* written instead of a valid state */
	const char *state_label; /* an extra "k=v" state label */
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void add_container(struct fixture *fx, const struct fake *f)
{
	char dir[512], bundle[512], path[600], label[600];
	json_t *ns, *caps, *state, *config, *labels, *bounding;

	snprintf(dir, sizeof(dir), "%s/%s", fx->root, f->id);
	snprintf(bundle, sizeof(bundle), "%s/%s", fx->bundles, f->id);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkdir(bundle, 0700), 0);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	if (f->raw_state) {
		write_text(path, f->raw_state);
		json_decref(f->annotations);
		return;
	}

	ns = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
		       "type", "NEWPID", "path", "", "type", "NEWIPC", "path",
		       "", "type", "NEWUTS", "path", "", "type", "NEWNS",
		       "path", "");
	if (!f->host_net)
		json_array_append_new(ns, json_pack("{s:s, s:s}", "type",
						    "NEWNET", "path", ""));
	bounding = json_pack("[s, s]", "CAP_KILL", "CAP_NET_BIND_SERVICE");
	if (f->sys_admin)
		json_array_append_new(bounding, json_string("CAP_SYS_ADMIN"));
	caps = json_pack("{s:o, s:[s], s:[s], s:n, s:[]}", "Bounding", bounding,
			 "Effective", "CAP_KILL", "Permitted", "CAP_KILL",
			 "Inheritable", "Ambient");
	snprintf(label, sizeof(label), "bundle=%s", bundle);
	labels = json_pack("[s]", label);
	if (f->state_label)
		json_array_append_new(labels, json_string(f->state_label));
	config = json_pack("{s:o, s:o, s:o, s:b}", "namespaces", ns,
			   "capabilities", caps, "labels", labels,
			   "no_new_privileges", 1);
	state = json_pack(
		"{s:s, s:I, s:I, s:s, s:o, s:{s:s, s:s}}", "id", f->id,
		"init_process_pid", (json_int_t)(f->pid ? f->pid : fx->self),
		"init_process_start",
		(json_int_t)(f->start >= 0 ? (unsigned long long)f->start :
					     fx->self_start),
		"created",
		f->created ? f->created : "2026-11-22T18:52:10.298205843Z",
		"config", config, "cgroup_paths", "cpu", "/sys/fs/cgroup/cpu/x",
		"", "/nonexistent/unified/x");
	assert_non_null(state);
	assert_int_equal(json_dump_file(state, path, 0), 0);
	json_decref(state);

	if (f->no_config) {
		json_decref(f->annotations);
		return;
	}
	config = json_pack("{s:s, s:{s:[s, s], s:s, s:{s:i, s:i, s:[i, i]}}}",
			   "ociVersion", "1.0.2", "process", "env", "PATH=/bin",
			   "TERM=xterm", "cwd", "/srv", "user", "uid", 1000,
			   "gid", 1001, "additionalGids", 10, 20);
	assert_non_null(config);
	if (f->annotations)
		json_object_set_new(config, "annotations", f->annotations);
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	assert_int_equal(json_dump_file(config, path, 0), 0);
	json_decref(config);
}

static json_t *cri(const char *ns, const char *pod, const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}",
			 "io.kubernetes.cri.container-type", "container",
			 "io.kubernetes.cri.sandbox-namespace", ns,
			 "io.kubernetes.cri.sandbox-name", pod,
			 "io.kubernetes.cri.container-name", name,
			 "io.kubernetes.cri.image-name",
			 "docker.io/library/nginx:1.25");
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char st;
	pid_t pid;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/execfs-inv-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->root, sizeof(fx->root), "%s/runc", fx->dir);
	snprintf(fx->bundles, sizeof(fx->bundles), "%s/bundles", fx->dir);
	assert_int_equal(mkdir(fx->root, 0700), 0);
	assert_int_equal(mkdir(fx->bundles, 0700), 0);
	fx->roots[0] = fx->root;
	fx->self = getpid();
	assert_int_equal(proc_stat_read(fx->self, &st, &fx->self_start), 0);
	/* A pid that just died (and was reaped). */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	fx->dead = pid;
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

static struct inventory *scan(struct fixture *fx)
{
	struct inventory *inv = inventory_new(NULL, fx->roots, 1, NULL, NULL);

	assert_non_null(inv);
	return inv;
}

static void test_annotated(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;

	add_container(fx, &(struct fake){ .id = "c1",
					  .start = -1,
					  .annotations = cri("prod", "web-1",
							     "nginx") });
	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 1);
	c = inventory_find(inv, "c1");
	assert_non_null(c);
	assert_ptr_equal(c, inventory_at(inv, 0));
	assert_string_equal(c->namespace, "prod");
	assert_string_equal(c->pod, "web-1");
	assert_string_equal(c->name, "nginx");
	assert_string_equal(c->image, "docker.io/library/nginx:1.25");
	assert_string_equal(c->runtime, "runc");
	assert_string_equal(c->root, fx->root);
	assert_int_equal(c->state, CONTAINER_RUNNING);
	assert_int_equal(c->pid, fx->self);
	assert_false(c->privileged);
	/* What a process entering it needs, from config.json. */
	assert_string_equal(c->env[0], "PATH=/bin");
	assert_string_equal(c->env[1], "TERM=xterm");
	assert_null(c->env[2]);
	assert_string_equal(c->cwd, "/srv");
	assert_int_equal(c->uid, 1000);
	assert_int_equal(c->gid, 1001);
	assert_int_equal(c->ngroups, 2);
	assert_int_equal(c->groups[1], 20);
	/* The unified path does not exist: not a cgroup to join. */
	assert_string_equal(c->cgroups[0], "/sys/fs/cgroup/cpu/x");
	assert_null(c->cgroups[1]);
	assert_true(c->has_caps);
	assert_true(c->cap_bounding & (1ULL << CAP_KILL));
	assert_false(c->cap_bounding & (1ULL << CAP_SYS_ADMIN));
	assert_int_equal(c->cap_effective, 1ULL << CAP_KILL);
	assert_int_equal(c->cap_inheritable, 0);
	assert_true(c->no_new_privs);
	assert_null(inventory_find(inv, "nope"));
	assert_null(inventory_at(inv, 1));
	inventory_free(inv);
}

static void test_crio_and_unannotated(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;

	add_container(fx, &(struct fake){
				  .id = "crio1",
				  .start = -1,
				  .annotations = json_pack(
					  "{s:s, s:s, s:s, s:s}",
					  "io.kubernetes.pod.namespace", "kube",
					  "io.kubernetes.pod.name", "dns-1",
					  "io.kubernetes.container.name", "dns",
					  "io.kubernetes.cri-o.ContainerType",
					  "container") });
	add_container(fx, &(struct fake){ .id = "plain", .start = -1 });
	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 2);
	c = inventory_find(inv, "crio1");
	assert_string_equal(c->namespace, "kube");
	assert_string_equal(c->pod, "dns-1");
	assert_string_equal(c->name, "dns");
	assert_string_equal(c->image, "");
	c = inventory_find(inv, "plain");
	assert_string_equal(c->namespace, "default");
	assert_string_equal(c->pod, "plain");
	assert_string_equal(c->name, "plain");
	assert_int_equal(json_object_size(c->labels), 0);
	/* Sorted by namespace: default before kube. */
	assert_string_equal(inventory_at(inv, 0)->id, "plain");
	assert_string_equal(inventory_at(inv, 1)->id, "crio1");
	inventory_free(inv);
}

static void test_sandboxes_hidden(void **state)
{
	struct fixture *fx = *state;
	struct inventory *inv;
	json_t *a;

	a = cri("prod", "web-1", "POD");
	json_object_set_new(a, "io.kubernetes.cri.container-type",
			    json_string("sandbox"));
	add_container(fx, &(struct fake){
				  .id = "sb1", .start = -1, .annotations = a });
	add_container(
		fx, &(struct fake){ .id = "sb2",
				    .start = -1,
				    .annotations = json_pack(
					    "{s:s}",
					    "io.kubernetes.cri-o.ContainerType",
					    "sandbox") });
	add_container(fx, &(struct fake){ .id = "c1",
					  .start = -1,
					  .annotations = cri("prod", "web-1",
							     "nginx") });
	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 1);
	assert_null(inventory_find(inv, "sb1"));
	assert_null(inventory_find(inv, "sb2"));
	assert_non_null(inventory_find(inv, "c1"));
	inventory_free(inv);
}

static void test_malformed_skipped(void **state)
{
	struct fixture *fx = *state;
	struct inventory *inv;
	char path[512];

	add_container(fx, &(struct fake){ .id = "bad1", .raw_state = "{nope" });
	add_container(fx,
		      &(struct fake){ .id = "bad2", .raw_state = "[1, 2]" });
	add_container(fx,
		      &(struct fake){ .id = "bad3",
				      .raw_state = "{\"id\": \"other\", "
						   "\"init_process_pid\": 1, "
						   "\"init_process_start\": 1, "
						   "\"config\": {}}" });
	add_container(fx,
		      &(struct fake){ .id = "bad4",
				      .raw_state = "{\"id\": \"bad4\", "
						   "\"init_process_pid\": -5, "
						   "\"init_process_start\": 1, "
						   "\"config\": {}}" });
	add_container(fx, &(struct fake){ .id = "good", .start = -1 });
	/* A directory without state.json yet (runc is creating it), and a
	 * stray file in the root. */
	snprintf(path, sizeof(path), "%s/creating", fx->root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/stray", fx->root);
	write_text(path, "x");
	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 1);
	assert_non_null(inventory_find(inv, "good"));
	/* Unchanged broken files are not news. */
	assert_int_equal(inventory_rescan(inv), 0);
	inventory_free(inv);
}

static void test_unsafe_names(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;
	char longname[300], longid[255];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longid, 'b', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	add_container(fx, &(struct fake){ .id = "u1",
					  .start = -1,
					  .annotations =
						  cri("..", "a/b", longname) });
	add_container(fx, &(struct fake){ .id = "u2",
					  .start = -1,
					  .annotations = cri("ok", ".", "") });
	/* 254 bytes: a valid file name, but not a valid execfs name. */
	add_container(fx, &(struct fake){ .id = longid, .start = -1 });
	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 2);
	c = inventory_find(inv, "u1");
	assert_string_equal(c->namespace, "default");
	assert_string_equal(c->pod, "u1");
	assert_string_equal(c->name, "u1");
	c = inventory_find(inv, "u2");
	assert_string_equal(c->namespace, "ok");
	assert_string_equal(c->pod, "u2");
	assert_string_equal(c->name, "u2");
	assert_null(inventory_find(inv, longid));

	assert_true(oci_name_is_safe("a", 1));
	assert_true(oci_name_is_safe("...", 3));
	assert_false(oci_name_is_safe("..", 2));
	assert_false(oci_name_is_safe("", 0));
	assert_false(oci_name_is_safe("a\0b", 3));
	assert_false(oci_name_is_safe(longname, strlen(longname)));
	inventory_free(inv);
}

static void test_states(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;
	char path[512], err[128];

	add_container(fx, &(struct fake){
				  .id = "dead", .pid = fx->dead, .start = 1 });
	/* The pid is alive but it is not the init runc recorded. */
	add_container(fx, &(struct fake){ .id = "reused", .start = 1 });
	add_container(fx, &(struct fake){ .id = "created", .start = -1 });
	snprintf(path, sizeof(path), "%s/created/exec.fifo", fx->root);
	assert_int_equal(mkfifo(path, 0600), 0);
	inv = scan(fx);
	c = inventory_find(inv, "dead");
	assert_int_equal(c->state, CONTAINER_STOPPED);
	assert_int_equal(c->pid, 0);
	c = inventory_find(inv, "reused");
	assert_int_equal(c->state, CONTAINER_STOPPED);
	c = inventory_find(inv, "created");
	assert_int_equal(c->state, CONTAINER_CREATED);
	assert_int_equal(c->pid, fx->self);
	/* What a start is told: the one running check. */
	assert_int_equal(inventory_find_running(inv, "created", &c, err,
						sizeof(err)),
			 -EBUSY);
	assert_null(c);
	assert_string_equal(err, "container created is created, not running");
	assert_int_equal(inventory_find_running(inv, "dead", &c, err,
						sizeof(err)),
			 -EBUSY);
	assert_string_equal(err, "container dead is stopped, not running");
	assert_int_equal(inventory_find_running(inv, "nope", &c, err,
						sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "no container nope on this node");

	/* runc start removes exec.fifo. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(inventory_rescan(inv), 1);
	c = inventory_find(inv, "created");
	assert_int_equal(c->state, CONTAINER_RUNNING);
	assert_int_equal(inventory_find_running(inv, "created", &c, err,
						sizeof(err)),
			 0);
	assert_string_equal(c->id, "created");
	assert_int_equal(inventory_rescan(inv), 0);

	assert_string_equal(container_state_name(CONTAINER_CREATED), "created");
	assert_string_equal(container_state_name(CONTAINER_RUNNING), "running");
	assert_string_equal(container_state_name(CONTAINER_PAUSED), "paused");
	assert_string_equal(container_state_name(CONTAINER_STOPPED), "stopped");
	inventory_free(inv);
}

static void test_privileged(void **state)
{
	struct fixture *fx = *state;
	struct inventory *inv;

	add_container(fx, &(struct fake){ .id = "p-net",
					  .start = -1,
					  .host_net = true });
	add_container(fx, &(struct fake){ .id = "p-cap",
					  .start = -1,
					  .sys_admin = true });
	add_container(fx, &(struct fake){ .id = "plain", .start = -1 });
	inv = scan(fx);
	assert_true(inventory_find(inv, "p-net")->privileged);
	assert_true(inventory_find(inv, "p-cap")->privileged);
	assert_false(inventory_find(inv, "plain")->privileged);
	inventory_free(inv);
}

/* --host-exec: the node's entry, with the reserved id and names no
 * runtime's container can take (a state directory named .host is not
 * read, a dot namespace is replaced); its JSON and a mirror's copy say
 * what it is, and a privileged container's why. */
static void test_host_entry(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv, *mirror;
	json_t *doc, *item;
	char err[256], *text;
	unsigned long long start;
	char st;

	add_container(fx, &(struct fake){ .id = ".host", .start = -1 });
	add_container(fx, &(struct fake){ .id = "dot",
					  .start = -1,
					  .annotations = cri(".host", "web-1",
							     "nginx") });
	add_container(fx, &(struct fake){ .id = "p-cap",
					  .start = -1,
					  .sys_admin = true });
	inventory_set_host_exec(true);
	inv = scan(fx);
	inventory_set_host_exec(false);
	assert_int_equal(inventory_count(inv), 3);
	c = inventory_find(inv, ".host");
	assert_non_null(c);
	assert_ptr_equal(c, inventory_at(inv, 0));
	assert_true(c->host);
	assert_int_equal(c->pid, 1);
	assert_int_equal(proc_stat_read(1, &st, &start), 0);
	assert_int_equal(c->start_time, start);
	assert_int_equal(c->state, CONTAINER_RUNNING);
	assert_string_equal(c->namespace, ".host");
	assert_string_equal(c->pod, ".host");
	assert_string_equal(c->name, ".host");
	assert_string_equal(c->naming, "node");
	assert_true(c->privileged);
	assert_non_null(c->privileged_reason);
	assert_int_equal(c->uid, 0);
	assert_string_equal(c->cwd, "/");
	assert_non_null(strstr(c->env[0], "PATH=/usr/local/sbin:"));
	assert_null(c->env[1]);
	assert_non_null(c->cgroups);
	assert_false(c->has_caps);
	assert_false(c->no_new_privs);
	assert_null(c->confine);
	assert_null(c->seccomp);
	assert_null(c->entry_error);
	c = inventory_find(inv, "dot");
	assert_false(c->host);
	assert_string_equal(c->namespace, "default");
	assert_true(inventory_find(inv, "p-cap")->privileged);

	doc = inventory_to_json(inv, "n1");
	item = json_array_get(json_object_get(doc, "containers"), 0);
	assert_true(json_is_true(json_object_get(item, "host")));
	assert_string_equal(json_string_value(json_object_get(item, "id")),
			    ".host");
	assert_non_null(json_object_get(item, "privileged_reason"));
	/* (default/p-cap/p-cap, then default/web-1/nginx) */
	item = json_array_get(json_object_get(doc, "containers"), 1);
	assert_string_equal(json_string_value(json_object_get(item, "id")),
			    "p-cap");
	assert_null(json_object_get(item, "host"));
	assert_string_equal(
		json_string_value(json_object_get(item, "privileged_reason")),
		inventory_find(inv, "p-cap")->privileged_reason);
	item = json_array_get(json_object_get(doc, "containers"), 2);
	assert_string_equal(json_string_value(json_object_get(item, "id")),
			    "dot");
	assert_null(json_object_get(item, "privileged_reason"));

	text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(text);
	mirror = inventory_mirror_new(NULL, NULL);
	assert_non_null(mirror);
	assert_int_equal(inventory_mirror_load(mirror, text, strlen(text), err,
					       sizeof(err)),
			 0);
	c = inventory_find(mirror, ".host");
	assert_non_null(c);
	assert_true(c->host);
	assert_non_null(c->privileged_reason);
	assert_false(inventory_find(mirror, "dot")->host);
	assert_null(inventory_find(mirror, "dot")->privileged_reason);
	assert_string_equal(inventory_find(mirror, "p-cap")->privileged_reason,
			    inventory_find(inv, "p-cap")->privileged_reason);
	inventory_free(mirror);
	free(text);
	json_decref(doc);
	inventory_free(inv);

	/* Without --host-exec, no entry. */
	inv = scan(fx);
	assert_null(inventory_find(inv, ".host"));
	assert_int_equal(inventory_count(inv), 2);
	inventory_free(inv);
}

static void test_same_names(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;

	add_container(fx, &(struct fake){
				  .id = "new",
				  .start = -1,
				  .created = "2026-11-22T18:52:10.5Z",
				  .annotations = cri("prod", "web", "nginx") });
	add_container(fx, &(struct fake){
				  .id = "old",
				  .start = -1,
				  .created = "2026-11-22T18:52:10.25Z",
				  .annotations = cri("prod", "web", "nginx") });
	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 2);
	/* The older one keeps the name (10.25 < 10.5 though strcmp
	 * disagrees), the newer one shows under its id. */
	c = inventory_find(inv, "old");
	assert_string_equal(c->name, "nginx");
	c = inventory_find(inv, "new");
	assert_string_equal(c->name, "new");
	assert_string_equal(inventory_at(inv, 0)->id, "new");
	inventory_free(inv);
}

static void test_no_config_fallback(void **state)
{
	struct fixture *fx = *state;
	const struct container *c;
	struct inventory *inv;

	add_container(fx,
		      &(struct fake){
			      .id = "nocfg",
			      .start = -1,
			      .no_config = true,
			      .state_label =
				      "io.kubernetes.cri.container-name=app" });
	inv = scan(fx);
	c = inventory_find(inv, "nocfg");
	assert_non_null(c);
	assert_string_equal(c->name, "app");
	assert_string_equal(c->pod, "nocfg");
	assert_null(json_object_get(c->labels, "bundle"));
	assert_string_equal(c->cwd, "/");
	/* The init (us) runs with our credentials. */
	assert_int_equal(c->uid, getuid());
	assert_int_equal(c->gid, getgid());
	assert_non_null(c->env);
	inventory_free(inv);
}

static void test_json_shape(void **state)
{
	static const char *const keys[] = {
		"id",	      "runtime_id", "namespace", "pod",
		"name",	      "pid",	    "state",	 "runtime",
		"root",	      "bundle",	    "image",	 "created",
		"privileged", "labels",	    "naming",	 "name_sources",
	};
	struct fixture *fx = *state;
	struct inventory *inv;
	json_t *doc, *list, *item;
	const char *key;
	json_t *v;
	size_t i;

	add_container(fx, &(struct fake){ .id = "c1",
					  .start = -1,
					  .annotations = cri("prod", "web-1",
							     "nginx") });
	add_container(
		fx, &(struct fake){ .id = "c0", .pid = fx->dead, .start = 1 });
	inv = scan(fx);
	doc = inventory_to_json(inv, "n1");
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 2);
	assert_string_equal(json_string_value(json_object_get(doc, "node")),
			    "n1");
	list = json_object_get(doc, "containers");
	assert_int_equal(json_array_size(list), 2);
	item = json_array_get(list, 1);
	assert_int_equal(json_object_size(item), sizeof(keys) / sizeof(*keys));
	i = 0;
	json_object_foreach(item, key, v)
		assert_string_equal(key, keys[i++]);
	assert_string_equal(json_string_value(json_object_get(item, "id")),
			    "c1");
	assert_int_equal(json_integer_value(json_object_get(item, "pid")),
			 fx->self);
	assert_string_equal(json_string_value(json_object_get(item, "state")),
			    "running");
	assert_true(json_is_false(json_object_get(item, "privileged")));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(item, "labels"),
				    "io.kubernetes.cri.sandbox-name")),
			    "web-1");
	item = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(item, "state")),
			    "stopped");
	assert_int_equal(json_integer_value(json_object_get(item, "pid")), 0);
	json_decref(doc);
	inventory_free(inv);
}

static void test_rescan_changes(void **state)
{
	struct fixture *fx = *state;
	struct inventory *inv;
	char cmd[600];

	inv = scan(fx);
	assert_int_equal(inventory_count(inv), 0);
	assert_int_equal(inventory_rescan(inv), 0);
	add_container(fx, &(struct fake){ .id = "c1", .start = -1 });
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_count(inv), 1);
	assert_int_equal(inventory_rescan(inv), 0);
	/* Rewritten state.json (a new init): noticed. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/c1' '%s/c1'", fx->root,
		 fx->bundles);
	assert_int_equal(system(cmd), 0);
	add_container(
		fx, &(struct fake){ .id = "c1", .pid = fx->dead, .start = 1 });
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_find(inv, "c1")->state, CONTAINER_STOPPED);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(inventory_rescan(inv), 1);
	assert_int_equal(inventory_count(inv), 0);
	inventory_free(inv);
}

static void count_change(void *arg)
{
	(*(int *)arg)++;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

static void test_watch(void **state)
{
	struct fixture *fx = *state;
	struct timeval tv = { 3, 0 };
	struct event_base *base;
	struct inventory *inv;
	struct event *timer;
	int changes = 0, timed_out = 0;
	char late[100];

	base = event_base_new();
	assert_non_null(base);
	/* A root that does not exist yet is fine. */
	snprintf(late, sizeof(late), "%s/late", fx->dir);
	fx->roots[0] = late;
	inv = inventory_new(base, fx->roots, 1, count_change, &changes);
	fx->roots[0] = fx->root;
	assert_non_null(inv);
	assert_int_equal(inventory_count(inv), 0);
	assert_int_equal(rename(fx->root, late), 0);
	snprintf(fx->root, sizeof(fx->root), "%s", late);
	add_container(fx, &(struct fake){ .id = "c1", .start = -1 });

	timer = evtimer_new(base, on_timeout, &timed_out);
	evtimer_add(timer, &tv);
	while (!changes && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(changes, 1);
	assert_non_null(inventory_find(inv, "c1"));

	/* Once the root is watched, a new container shows up at once. */
	add_container(fx, &(struct fake){ .id = "c2", .start = -1 });
	while (changes < 2 && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(changes, 2);
	assert_non_null(inventory_find(inv, "c2"));
	event_free(timer);
	inventory_free(inv);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_annotated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crio_and_unannotated,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandboxes_hidden, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privileged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_host_entry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_same_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_config_fallback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_json_shape, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rescan_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
