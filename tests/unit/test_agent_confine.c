/*
 * Unit tests for agent/confine.c: libcontainer's and the OCI spec's forms
 * decode to the same settings; bad values are refused with a reason;
 * /proc/PID/limits is read as the kernel writes it; and each apply
 * function does its one thing in a forked child: rlimits (a config's
 * exactly, an init's lowered when it cannot be raised), the OOM score, the
 * umask, the personality, and the LSM labels written to a fake /proc
 * directory (this kernel runs no LSM; the real one is tried too and must
 * refuse as the kernel does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What runc 1.1.5 wrote in state.json's config for process.user.umask
 * 0027 and oomScoreAdj 500, with the keys later runcs add. */
static const char runc_config[] =
	"{\"oom_score_adj\": 500, \"umask\": 23,"
	" \"apparmor_profile\": \"docker-default\","
	" \"process_label\": \"system_u:system_r:container_t:s0:c1,c2\","
	" \"rlimits\": [{\"type\": 7, \"hard\": 512, \"soft\": 256},"
	"              {\"type\": 6, \"hard\": 77, \"soft\": 77}],"
	" \"personality\": {\"domain\": 8}, \"hostname\": \"x\"}";

static const char oci_config[] =
	"{\"ociVersion\": \"1.0.2\", \"process\": {"
	"  \"user\": {\"uid\": 1000, \"gid\": 1000, \"umask\": 23},"
	"  \"oomScoreAdj\": 500, \"apparmorProfile\": \"docker-default\","
	"  \"selinuxLabel\": \"system_u:system_r:container_t:s0:c1,c2\","
	"  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 512, \"soft\": 256},"
	"               {\"type\": \"RLIMIT_NPROC\", \"hard\": 77, \"soft\": 77}]},"
	" \"linux\": {\"personality\": {\"domain\": \"LINUX32\", \"flags\": []}}}";

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

static int decode(bool oci, const char *text, struct confine *cf, char *err,
		  size_t errlen)
{
	json_t *v = parse(text);
	int rc;

	err[0] = '\0';
	rc = oci ? confine_from_oci(v, cf, err, errlen) :
		   confine_from_runc(v, cf, err, errlen);
	json_decref(v);
	return rc;
}

static void must_decode(bool oci, const char *text, struct confine *cf)
{
	char err[256];

	if (decode(oci, text, cf, err, sizeof(err)) < 0)
		fail_msg("decode: %s", err);
	assert_int_equal(confine_check(cf), 0);
}

static void test_runc_form(void **state)
{
	struct confine cf;
	int k;

	(void)state;
	must_decode(false, runc_config, &cf);
	assert_true(cf.has_oom);
	assert_int_equal(cf.oom_score_adj, 500);
	assert_string_equal(cf.oom_text, "500");
	assert_true(cf.has_umask);
	assert_int_equal(cf.umask, 027);
	assert_string_equal(cf.apparmor_exec, "exec docker-default");
	assert_string_equal(cf.selinux_label,
			    "system_u:system_r:container_t:s0:c1,c2");
	assert_true(cf.has_personality);
	assert_int_equal(cf.personality, PER_LINUX32);
	for (k = 0; k < CONFINE_NLIMITS; k++)
		if (k != RLIMIT_NOFILE && k != RLIMIT_NPROC)
			assert_int_equal(cf.rlimits[k].source, CONFINE_UNSET);
	assert_int_equal(cf.rlimits[RLIMIT_NOFILE].source, CONFINE_FROM_CONFIG);
	assert_int_equal(cf.rlimits[RLIMIT_NOFILE].lim.rlim_cur, 256);
	assert_int_equal(cf.rlimits[RLIMIT_NOFILE].lim.rlim_max, 512);
	assert_int_equal(cf.rlimits[RLIMIT_NPROC].lim.rlim_cur, 77);
}

static void test_forms_agree(void **state)
{
	struct confine a, b;

	(void)state;
	must_decode(false, runc_config, &a);
	must_decode(true, oci_config, &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_absent_is_unset(void **state)
{
	struct confine cf, zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	/* What runc 1.1.5 writes for a spec without any of these. */
	must_decode(false,
		    "{\"rlimits\": null, \"umask\": null, \"hostname\": \"x\"}",
		    &cf);
	assert_memory_equal(&cf, &zero, sizeof(cf));
	must_decode(true, "{\"process\": {\"user\": {\"uid\": 0}}}", &cf);
	assert_memory_equal(&cf, &zero, sizeof(cf));
	must_decode(false, "{\"apparmor_profile\": \"\"}", &cf);
	assert_memory_equal(&cf, &zero, sizeof(cf));
}

static void test_refusals(void **state)
{
	static const struct {
		bool oci;
		const char *text, *want;
	} bad[] = {
		{ false, "[]", "not an object" },
		{ false, "{\"oom_score_adj\": 1001}", "-1000..1000" },
		{ false, "{\"oom_score_adj\": \"5\"}", "-1000..1000" },
		{ true, "{\"process\": {\"oomScoreAdj\": -1001}}",
		  "-1000..1000" },
		{ false, "{\"umask\": 512}", "umask" },
		{ true, "{\"process\": {\"user\": {\"umask\": -1}}}", "umask" },
		{ false, "{\"rlimits\": {}}", "not a list" },
		{ false,
		  "{\"rlimits\": [{\"type\": 16, \"soft\": 1, \"hard\": 1}]}",
		  "RLIMIT_* number" },
		{ true,
		  "{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_FOO\", "
		  "\"soft\": 1, \"hard\": 1}]}}",
		  "unknown type RLIMIT_FOO" },
		{ false,
		  "{\"rlimits\": [{\"type\": 7, \"soft\": 9, \"hard\": 8}]}",
		  "soft 9 above hard 8" },
		{ false,
		  "{\"rlimits\": [{\"type\": 7, \"soft\": -1, \"hard\": 8}]}",
		  "want soft and hard" },
		{ false,
		  "{\"rlimits\": [{\"type\": 7, \"soft\": 1, \"hard\": 8}, "
		  "{\"type\": 7, \"soft\": 2, \"hard\": 8}]}",
		  "RLIMIT_NOFILE given twice" },
		{ false, "{\"apparmor_profile\": \"a\\nb\"}",
		  "control character" },
		{ false, "{\"process_label\": \"a\\u0000b\"}", "has a NUL" },
		{ false, "{\"process_label\": 5}", "not a string" },
		{ false, "{\"personality\": {\"domain\": 3}}",
		  "domain must be" },
		{ true,
		  "{\"linux\": {\"personality\": {\"domain\": \"LINUX64\"}}}",
		  "LINUX or LINUX32" },
		{ true,
		  "{\"linux\": {\"personality\": {\"domain\": \"LINUX\", "
		  "\"flags\": [\"X\"]}}}",
		  "flags are not supported" },
	};
	char err[256], big[CONFINE_LABEL_MAX + 64];
	struct confine cf;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode(bad[i].oci, bad[i].text, &cf, err,
					sizeof(err)),
				 -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].text,
				 err, bad[i].want);
	}
	snprintf(big, sizeof(big), "{\"apparmor_profile\": \"%0*d\"}",
		 CONFINE_LABEL_MAX + 1, 0);
	assert_int_equal(decode(false, big, &cf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "over 1024 bytes"));
}

static const char proc_limits[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max cpu time              unlimited            unlimited            seconds   \n"
	"Max file size             unlimited            unlimited            bytes     \n"
	"Max data size             unlimited            unlimited            bytes     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max core file size        0                    unlimited            bytes     \n"
	"Max resident set          unlimited            unlimited            bytes     \n"
	"Max processes             77                   77                   processes \n"
	"Max open files            256                  512                  files     \n"
	"Max locked memory         8388608              8388608              bytes     \n"
	"Max address space         unlimited            unlimited            bytes     \n"
	"Max file locks            unlimited            unlimited            locks     \n"
	"Max pending signals       96367                96367                signals   \n"
	"Max msgqueue size         819200               819200               bytes     \n"
	"Max nice priority         0                    0                    \n"
	"Max realtime priority     0                    0                    \n"
	"Max realtime timeout      unlimited            unlimited            us        \n";

static void test_proc_limits(void **state)
{
	struct confine cf;
	char err[256];

	(void)state;
	memset(&cf, 0, sizeof(cf));
	/* A limit the config set is not replaced by the init's. */
	cf.rlimits[RLIMIT_NPROC].source = CONFINE_FROM_CONFIG;
	cf.rlimits[RLIMIT_NPROC].lim.rlim_cur = 5;
	cf.rlimits[RLIMIT_NPROC].lim.rlim_max = 6;
	assert_int_equal(confine_rlimits_from_proc(&cf, proc_limits,
						   strlen(proc_limits), err,
						   sizeof(err)),
			 0);
	assert_int_equal(cf.rlimits[RLIMIT_NOFILE].source, CONFINE_FROM_INIT);
	assert_int_equal(cf.rlimits[RLIMIT_NOFILE].lim.rlim_cur, 256);
	assert_int_equal(cf.rlimits[RLIMIT_NOFILE].lim.rlim_max, 512);
	assert_true(cf.rlimits[RLIMIT_CPU].lim.rlim_cur == RLIM_INFINITY);
	assert_true(cf.rlimits[RLIMIT_STACK].lim.rlim_max == RLIM_INFINITY);
	assert_int_equal(cf.rlimits[RLIMIT_STACK].lim.rlim_cur, 8388608);
	assert_int_equal(cf.rlimits[RLIMIT_NICE].lim.rlim_max, 0);
	assert_int_equal(cf.rlimits[RLIMIT_NPROC].source, CONFINE_FROM_CONFIG);
	assert_int_equal(cf.rlimits[RLIMIT_NPROC].lim.rlim_cur, 5);
	assert_int_equal(confine_check(&cf), 0);
}

static void test_proc_limits_self(void **state)
{
	struct rlimit want;
	struct confine cf;
	char buf[4096], err[256];
	ssize_t n;
	int fd, k;

	(void)state;
	fd = open("/proc/self/limits", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_true(n > 0);
	memset(&cf, 0, sizeof(cf));
	assert_int_equal(confine_rlimits_from_proc(&cf, buf, (size_t)n, err,
						   sizeof(err)),
			 0);
	for (k = 0; k < CONFINE_NLIMITS; k++) {
		assert_int_equal(getrlimit(k, &want), 0);
		assert_true(cf.rlimits[k].lim.rlim_cur == want.rlim_cur);
		assert_true(cf.rlimits[k].lim.rlim_max == want.rlim_max);
	}
}

static void test_proc_limits_malformed(void **state)
{
	char text[sizeof(proc_limits)], err[256];
	struct confine cf;
	char *row;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	/* A missing row. */
	row = strstr(proc_limits, "Max open files");
	assert_int_equal(confine_rlimits_from_proc(&cf, proc_limits,
						   row - proc_limits, err,
						   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "no row \"Max open files\""));
	/* A value that is not a number; soft above hard. */
	memcpy(text, proc_limits, sizeof(text));
	memcpy(strstr(text, "Max open files") + 26, "25x", 3);
	assert_int_equal(confine_rlimits_from_proc(&cf, text, strlen(text), err,
						   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "bad row \"Max open files\""));
	memcpy(text, proc_limits, sizeof(text));
	memcpy(strstr(text, "Max open files") + 26, "999", 3);
	assert_int_equal(confine_rlimits_from_proc(&cf, text, strlen(text), err,
						   sizeof(err)),
			 -EINVAL);
	/* Nothing was taken from a bad file. */
	assert_int_equal(cf.rlimits[RLIMIT_CPU].source, CONFINE_UNSET);
}

/* Run fn in a child; the child's exit status is fn's return value. */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Without any capability: raising a hard limit is refused. */
static void drop_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
						0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		_exit(90);
}

static int rlimits_child(void *arg)
{
	const struct confine *cf = arg;
	const char *what = NULL;
	struct rlimit got;
	int rc;

	drop_caps();
	rc = confine_apply_rlimits(cf, NULL, &what);
	if (rc == -EPERM && what && !strcmp(what, "RLIMIT_NOFILE"))
		return 3; /* the config's limit could not be set */
	if (rc)
		return 2;
	if (getrlimit(RLIMIT_NPROC, &got) || got.rlim_cur != 77 ||
	    got.rlim_max != 77)
		return 4;
	if (getrlimit(RLIMIT_CORE, &got) || got.rlim_cur != 1 ||
	    got.rlim_max != 100)
		return 5;
	return 0;
}

static void test_apply_rlimits(void **state)
{
	struct rlimit nofile;
	struct confine cf;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	memset(&cf, 0, sizeof(cf));
	cf.rlimits[RLIMIT_NPROC].source = CONFINE_FROM_CONFIG;
	cf.rlimits[RLIMIT_NPROC].lim = (struct rlimit){ 77, 77 };
	cf.rlimits[RLIMIT_CORE].source = CONFINE_FROM_INIT;
	cf.rlimits[RLIMIT_CORE].lim = (struct rlimit){ 1, 100 };
	assert_int_equal(in_child(rlimits_child, &cf), 0);

	/* An init's hard limit above ours is lowered to ours... */
	cf.rlimits[RLIMIT_NOFILE].source = CONFINE_FROM_INIT;
	cf.rlimits[RLIMIT_NOFILE].lim =
		(struct rlimit){ nofile.rlim_max, nofile.rlim_max + 1 };
	assert_true(nofile.rlim_max != RLIM_INFINITY);
	assert_int_equal(in_child(rlimits_child, &cf), 0);
	/* ... a config's fails the start, naming the limit. */
	cf.rlimits[RLIMIT_NOFILE].source = CONFINE_FROM_CONFIG;
	assert_int_equal(in_child(rlimits_child, &cf), 3);
}

/* The limits the child has, as the spawner reads them for B: a limit it
 * already has is not set again, one it lacks is. */
static int rlimits_have_child(void *arg)
{
	const struct confine *cf = arg;
	struct rlimit have[CONFINE_NLIMITS], core, got;
	const char *what = NULL;
	int k;

	for (k = 0; k < CONFINE_NLIMITS; k++)
		if (getrlimit(k, &have[k]))
			return 2;
	/* Told it has the config's RLIMIT_CORE, which it does not: it must
	 * believe it and leave RLIMIT_CORE alone. */
	have[RLIMIT_CORE] = cf->rlimits[RLIMIT_CORE].lim;
	if (getrlimit(RLIMIT_CORE, &core))
		return 2;
	if (confine_apply_rlimits(cf, have, &what))
		return 3;
	if (getrlimit(RLIMIT_NPROC, &got) || got.rlim_cur != 77 ||
	    got.rlim_max != 77)
		return 4;
	if (getrlimit(RLIMIT_CORE, &got) || got.rlim_cur != core.rlim_cur ||
	    got.rlim_max != core.rlim_max)
		return 5;
	return 0;
}

static void test_apply_rlimits_have(void **state)
{
	struct confine cf;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.rlimits[RLIMIT_NPROC].source = CONFINE_FROM_CONFIG;
	cf.rlimits[RLIMIT_NPROC].lim = (struct rlimit){ 77, 77 };
	cf.rlimits[RLIMIT_CORE].source = CONFINE_FROM_CONFIG;
	cf.rlimits[RLIMIT_CORE].lim = (struct rlimit){ 1, 1 };
	assert_int_equal(in_child(rlimits_have_child, &cf), 0);
}

static int misc_child(void *arg)
{
	const struct confine *cf = arg;
	const char *what = NULL;
	mode_t old;

	confine_apply_umask(cf);
	old = umask(0);
	if (old != 027)
		return 2;
	if (confine_apply_personality(cf, &what))
		return 3;
	if (personality(0xffffffff) != PER_LINUX32)
		return 4;
	return 0;
}

static void test_apply_umask_personality(void **state)
{
	struct confine cf;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.has_umask = true;
	cf.umask = 027;
	cf.has_personality = true;
	cf.personality = PER_LINUX32;
	assert_int_equal(in_child(misc_child, &cf), 0);
}

static int oom_child(void *arg)
{
	const struct confine *cf = arg;
	const char *what = NULL;
	char buf[16] = "";
	int proc, fd;
	ssize_t n;

	proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (confine_apply_oom(cf, proc, &what))
		return 2;
	fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 3;
	return strcmp(buf, "500\n") ? 4 : 0;
}

static void test_apply_oom(void **state)
{
	struct confine cf;
	char err[256];

	(void)state;
	/* Raising the score needs no privilege. */
	assert_int_equal(decode(false, "{\"oom_score_adj\": 500}", &cf, err,
				sizeof(err)),
			 0);
	assert_int_equal(in_child(oom_child, &cf), 0);
}

/* A fake /proc: DIR/thread-self/attr/{exec,apparmor/exec}. */
static char *fake_proc(bool apparmor_dir)
{
	char *dir = strdup("/tmp/execfs-confine-XXXXXX"), path[256];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/thread-self", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/thread-self/attr", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/thread-self/attr/exec", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	if (apparmor_dir) {
		snprintf(path, sizeof(path), "%s/thread-self/attr/apparmor",
			 dir);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path),
			 "%s/thread-self/attr/apparmor/exec", dir);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	return dir;
}

static void expect_file(const char *dir, const char *rel, const char *want)
{
	char path[256], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void remove_fake(char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static void test_lsm_fake_proc(void **state)
{
	const char *what = NULL;
	struct confine cf;
	char *dir;
	int fd, fd2, proc;

	(void)state;
	must_decode(false, runc_config, &cf);

	/* A kernel with a per-LSM directory: AppArmor's own file. */
	dir = fake_proc(true);
	proc = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(confine_open_attr(&cf, proc, &fd, &what), 0);
	assert_true(fd >= 0);
	close(proc);
	assert_int_equal(confine_apply_apparmor(&cf, fd, &what), 0);
	expect_file(dir, "thread-self/attr/apparmor/exec",
		    "exec docker-default");
	expect_file(dir, "thread-self/attr/exec", "");
	assert_int_equal(confine_apply_selinux(&cf, fd, &what), 0);
	expect_file(dir, "thread-self/attr/exec",
		    "system_u:system_r:container_t:s0:c1,c2");
	close(fd);
	remove_fake(dir);

	/* Before Linux 5.8 (or no AppArmor directory): the shared file. */
	dir = fake_proc(false);
	proc = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(confine_open_attr(&cf, proc, &fd, &what), 0);
	assert_true(fd >= 0);
	assert_int_equal(confine_apply_apparmor(&cf, fd, &what), 0);
	expect_file(dir, "thread-self/attr/exec", "exec docker-default");

	/* Nothing set: nothing written, not even a missing file noticed. */
	memset(&cf, 0, sizeof(cf));
	what = NULL;
	assert_int_equal(confine_open_attr(&cf, proc, &fd2, &what), 0);
	assert_int_equal(fd2, -1);
	close(proc);
	assert_int_equal(confine_apply_apparmor(&cf, -1, &what), 0);
	assert_int_equal(confine_apply_selinux(&cf, -1, &what), 0);
	assert_null(what);
	expect_file(dir, "thread-self/attr/exec", "exec docker-default");
	close(fd);

	/* A file that is not there fails, naming it. */
	must_decode(false, "{\"process_label\": \"x\"}", &cf);
	proc = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(confine_open_attr(&cf, proc, &fd2, &what), -ENOENT);
	assert_int_equal(fd2, -1);
	assert_string_equal(what, "/proc/thread-self/attr");
	close(proc);
	fd = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(confine_apply_selinux(&cf, fd, &what), -ENOENT);
	assert_string_equal(what, "/proc/thread-self/attr/exec");
	close(fd);
	remove_fake(dir);
}

static int real_lsm_child(void *arg)
{
	const struct confine *cf = arg;
	const char *what = NULL;
	int proc, attr, rc;

	proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (confine_open_attr(cf, proc, &attr, &what) < 0)
		return 1;
	close(proc);
	rc = confine_apply_apparmor(cf, attr, &what);
	if (rc == -EINVAL && what &&
	    !strcmp(what, "/proc/thread-self/attr/exec"))
		return 0;
	return 1;
}

/* This kernel runs no LSM: a profile that is set must fail the start, as
 * runc's own write does ("write /proc/self/attr/exec: invalid argument"). */
static void test_lsm_real_proc_without_lsm(void **state)
{
	struct confine cf;
	char buf[64];
	int fd;

	(void)state;
	fd = open("/proc/self/attr/current", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) >= 0 || errno != EINVAL) {
		if (fd >= 0)
			close(fd);
		skip(); /* an LSM is active: nothing to show here */
	}
	close(fd);
	must_decode(false, runc_config, &cf);
	assert_int_equal(in_child(real_lsm_child, &cf), 0);
}

static void test_check(void **state)
{
	struct confine cf, bad;

	(void)state;
	must_decode(false, runc_config, &cf);
	bad = cf;
	bad.rlimits[3].source = 7;
	assert_int_equal(confine_check(&bad), -EINVAL);
	bad = cf;
	bad.rlimits[RLIMIT_NOFILE].lim.rlim_cur = 1000;
	assert_int_equal(confine_check(&bad), -EINVAL);
	bad = cf;
	bad.oom_score_adj = 2000;
	assert_int_equal(confine_check(&bad), -EINVAL);
	bad = cf;
	memset(bad.selinux_label, 'a', sizeof(bad.selinux_label));
	assert_int_equal(confine_check(&bad), -EINVAL);
	bad = cf;
	memcpy(bad.apparmor_exec, "change", 6);
	assert_int_equal(confine_check(&bad), -EINVAL);
	bad = cf;
	bad.personality = 0x123;
	assert_int_equal(confine_check(&bad), -EINVAL);
	assert_string_equal(confine_rlimit_name(RLIMIT_RTTIME),
			    "RLIMIT_RTTIME");
	assert_null(confine_rlimit_name(16));
	assert_null(confine_rlimit_name(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc_form),
		cmocka_unit_test(test_forms_agree),
		cmocka_unit_test(test_absent_is_unset),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_proc_limits),
		cmocka_unit_test(test_proc_limits_self),
		cmocka_unit_test(test_proc_limits_malformed),
		cmocka_unit_test(test_apply_rlimits),
		cmocka_unit_test(test_apply_rlimits_have),
		cmocka_unit_test(test_apply_umask_personality),
		cmocka_unit_test(test_apply_oom),
		cmocka_unit_test(test_lsm_fake_proc),
		cmocka_unit_test(test_lsm_real_proc_without_lsm),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
