/*
 * Unit tests for agent/ociconfine.c and its hook in agent/ocistate.c: a
 * state.json read as the inventory reads it carries its config's
 * confinement (never the bundle's config.json, which is edited here to
 * say otherwise), the init's limits when the config has none (only while
 * the init is the recorded one), "privileged" with its reason, and an
 * entry error instead of a profile the agent cannot reproduce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "confine.h"
#include "ociconfine.h"
#include "ocistate.h"
#include "procstat.h"
#include "seccomp_profile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char root[64], bundle[80];
	int rootfd;
	struct oci_host_ns host;
	unsigned long long start; /* ours: the fake init is this process */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char st;

	snprintf(fx->root, sizeof(fx->root), "/tmp/execfs-ociconf-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	snprintf(fx->bundle, sizeof(fx->bundle), "%s/bundle", fx->root);
	assert_int_equal(mkdir(fx->bundle, 0700), 0);
	fx->rootfd = open(fx->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fx->rootfd >= 0);
	oci_host_ns_init(&fx->host);
	assert_int_equal(proc_stat_read(getpid(), &st, &fx->start), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	close(fx->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void write_json(const char *path, json_t *doc)
{
	assert_int_equal(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
}

/* ROOT/ID/state.json with this config (stolen), its init this process
 * (or start: another start time), and a bundle whose config.json says
 * something else. */
static void add(struct fixture *fx, const char *id, json_t *config,
		unsigned long long start)
{
	char path[256], label[128];

	snprintf(path, sizeof(path), "%s/%s", fx->root, id);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(label, sizeof(label), "bundle=%s", fx->bundle);
	json_object_set_new(config, "labels", json_pack("[s]", label));
	snprintf(path, sizeof(path), "%s/%s/state.json", fx->root, id);
	write_json(path, json_pack("{s:s, s:I, s:I, s:s, s:o, s:{}}", "id", id,
				   "init_process_pid", (json_int_t)getpid(),
				   "init_process_start", (json_int_t)start,
				   "created", "2026-12-07T11:41:36Z", "config",
				   config, "cgroup_paths"));
	snprintf(path, sizeof(path), "%s/config.json", fx->bundle);
	/* Edited after the start: none of this may count. */
	write_json(path,
		   json_pack("{s:{s:i, s:{s:i, s:i, s:i}, s:[{s:s, s:i, s:i}]},"
			     " s:{s:n}}",
			     "process", "oomScoreAdj", -999, "user", "uid", 0,
			     "gid", 0, "umask", 0, "rlimits", "type",
			     "RLIMIT_NOFILE", "soft", 1, "hard", 1, "linux",
			     "seccomp"));
}

static json_t *plain_config(void)
{
	return json_pack(
		"{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}], s:{s:[s], s:[s], s:[s], "
		"s:[], s:[]}, s:i, s:i}",
		"namespaces", "type", "NEWPID", "type", "NEWNET", "type",
		"NEWIPC", "type", "NEWUTS", "type", "NEWNS", "capabilities",
		"Bounding", "CAP_KILL", "Effective", "CAP_KILL", "Permitted",
		"CAP_KILL", "Inheritable", "Ambient", "oom_score_adj", 500,
		"umask", 23);
}

static void load(struct fixture *fx, const char *id, struct oci_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	assert_int_equal(
		oci_record_load(rec, fx->rootfd, fx->root, id, &fx->host), 0);
}

static void test_snapshot_not_bundle(void **state)
{
	struct fixture *fx = *state;
	const struct seccomp_prog *prog;
	struct oci_record rec;
	struct rlimit nofile;
	json_t *config;
	char err[256];

	config = plain_config();
	json_object_set_new(config, "seccomp",
			    json_pack("{s:i, s:[{s:s, s:i, s:i}]}",
				      "default_action", 4, "syscalls", "name",
				      "unshare", "action", 2, "errnoRet", 1));
	add(fx, "c1", config, fx->start);
	load(fx, "c1", &rec);
	assert_null(rec.c.entry_error);
	assert_false(rec.c.privileged);
	assert_null(rec.c.privileged_reason);
	assert_non_null(rec.c.confine);
	assert_int_equal(rec.c.confine->oom_score_adj, 500);
	assert_int_equal(rec.c.confine->umask, 027);
	/* The config has no rlimits (runc 1.1): the init's, all of them. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	assert_int_equal(rec.c.confine->rlimits[RLIMIT_NOFILE].source,
			 CONFINE_FROM_INIT);
	assert_true(rec.c.confine->rlimits[RLIMIT_NOFILE].lim.rlim_max ==
		    nofile.rlim_max);
	assert_non_null(rec.c.seccomp);
	assert_int_equal(seccomp_profile_program(rec.c.seccomp, &prog, err,
						 sizeof(err)),
			 0);
	oci_record_release(&rec);
	assert_null(rec.c.confine);
}

static void test_init_replaced(void **state)
{
	struct fixture *fx = *state;
	struct oci_record rec;
	int k;

	/* The pid now belongs to a process that started at another time:
	 * its limits are not the container's. */
	add(fx, "c2", plain_config(), fx->start + 1);
	load(fx, "c2", &rec);
	for (k = 0; k < CONFINE_NLIMITS; k++)
		assert_int_equal(rec.c.confine->rlimits[k].source,
				 CONFINE_UNSET);
	oci_record_release(&rec);
}

static void test_config_rlimits_win(void **state)
{
	struct fixture *fx = *state;
	struct oci_record rec;
	json_t *config = plain_config();

	json_object_set_new(config, "rlimits",
			    json_pack("[{s:i, s:i, s:i}]", "type", 6, "soft",
				      77, "hard", 77));
	add(fx, "c3", config, fx->start);
	load(fx, "c3", &rec);
	assert_int_equal(rec.c.confine->rlimits[RLIMIT_NPROC].source,
			 CONFINE_FROM_CONFIG);
	assert_int_equal(rec.c.confine->rlimits[RLIMIT_NPROC].lim.rlim_max, 77);
	assert_int_equal(rec.c.confine->rlimits[RLIMIT_CPU].source,
			 CONFINE_FROM_INIT);
	oci_record_release(&rec);
}

static void test_entry_error(void **state)
{
	struct fixture *fx = *state;
	struct oci_record rec;
	json_t *config;

	config = plain_config();
	json_object_set_new(config, "seccomp",
			    json_pack("{s:i, s:[{s:s, s:i}]}", "default_action",
				      4, "syscalls", "name", "connect",
				      "action", 7));
	add(fx, "c4", config, fx->start);
	/* Listed (loads), but no process may enter. */
	load(fx, "c4", &rec);
	assert_non_null(rec.c.entry_error);
	assert_non_null(strstr(rec.c.entry_error,
			       "seccomp: SCMP_ACT_NOTIFY (syscall connect)"));
	assert_null(rec.c.seccomp);
	oci_record_release(&rec);

	config = plain_config();
	json_object_set_new(config, "oom_score_adj", json_integer(5000));
	add(fx, "c5", config, fx->start);
	load(fx, "c5", &rec);
	assert_non_null(strstr(rec.c.entry_error, "config: oom_score_adj"));
	assert_null(rec.c.confine);
	oci_record_release(&rec);
}

static void test_privileged_reason(void **state)
{
	struct fixture *fx = *state;
	struct oci_record rec;
	json_t *config;

	config = plain_config();
	json_array_remove(json_object_get(config, "namespaces"), 1);
	add(fx, "c6", config, fx->start);
	load(fx, "c6", &rec);
	assert_true(rec.c.privileged);
	assert_string_equal(rec.c.privileged_reason,
			    "shares the host's network namespace");
	oci_record_release(&rec);

	config = plain_config();
	json_array_append_new(
		json_object_get(json_object_get(config, "capabilities"),
				"Ambient"),
		json_string("CAP_BPF"));
	add(fx, "c7", config, fx->start);
	load(fx, "c7", &rec);
	assert_true(rec.c.privileged);
	assert_string_equal(rec.c.privileged_reason, "has CAP_BPF");
	oci_record_release(&rec);
}

static void test_oci_copy(void **state)
{
	struct fixture *fx = *state;
	struct container c;
	json_t *config;

	(void)fx;
	/* A runtime's own copy of config.json (crun's). */
	memset(&c, 0, sizeof(c));
	c.id = "crun1";
	c.pid = getpid();
	c.start_time = fx->start;
	config = json_pack(
		"{s:{s:i, s:[{s:s, s:i, s:i}], s:{s:[s]}}, s:{s:[{s:s}, {s:s}, "
		"{s:s}, {s:s}, {s:s}], s:{s:s, s:[{s:[s], s:s}]}}}",
		"process", "oomScoreAdj", 100, "rlimits", "type",
		"RLIMIT_NPROC", "soft", 5, "hard", 6, "capabilities",
		"bounding", "CAP_KILL", "linux", "namespaces", "type", "pid",
		"type", "network", "type", "ipc", "type", "uts", "type",
		"mount", "seccomp", "defaultAction", "SCMP_ACT_ALLOW",
		"syscalls", "names", "mount", "action", "SCMP_ACT_ERRNO");
	assert_int_equal(ociconfine_load_oci(&c, config, &fx->host.priv), 0);
	json_decref(config);
	assert_null(c.entry_error);
	assert_false(c.privileged);
	assert_int_equal(c.confine->oom_score_adj, 100);
	assert_int_equal(c.confine->rlimits[RLIMIT_NPROC].lim.rlim_cur, 5);
	assert_int_equal(c.confine->rlimits[RLIMIT_NOFILE].source,
			 CONFINE_FROM_INIT);
	assert_non_null(c.seccomp);
	ociconfine_release(&c);
	ociconfine_release(&c); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_not_bundle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_init_replaced, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_config_rlimits_win, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_entry_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_privileged_reason, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oci_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
