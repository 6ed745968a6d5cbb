/*
 * Unit tests for agent/privileged.c: every criterion, in libcontainer's
 * form (runc's state.json config) and the OCI spec's, turns an ordinary
 * container privileged and is named in the answer; near misses (a rule
 * that allows only mknod, a bind mount of another directory, a namespace
 * path that is not the host's) do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "privileged.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An ordinary container as runc 1.1.5 records it (trimmed). */
static const char runc_plain[] =
	"{\"namespaces\": [{\"type\": \"NEWPID\", \"path\": \"\"},"
	"  {\"type\": \"NEWNET\", \"path\": \"\"}, {\"type\": \"NEWIPC\", \"path\": \"\"},"
	"  {\"type\": \"NEWUTS\", \"path\": \"\"}, {\"type\": \"NEWNS\", \"path\": \"\"}],"
	" \"capabilities\": {\"Bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_MKNOD\"],"
	"  \"Effective\": [\"CAP_CHOWN\"], \"Inheritable\": [], \"Permitted\": [\"CAP_CHOWN\"],"
	"  \"Ambient\": []},"
	" \"cgroups\": {\"devices\": [{\"type\": 97, \"major\": -1, \"minor\": -1,"
	"   \"permissions\": \"rwm\", \"allow\": false},"
	"  {\"type\": 99, \"major\": -1, \"minor\": -1, \"permissions\": \"m\", \"allow\": true},"
	"  {\"type\": 98, \"major\": -1, \"minor\": -1, \"permissions\": \"m\", \"allow\": true},"
	"  {\"type\": 99, \"major\": 1, \"minor\": 3, \"permissions\": \"rwm\", \"allow\": true},"
	"  {\"type\": 99, \"major\": 136, \"minor\": -1, \"permissions\": \"rwm\", \"allow\": true}]},"
	" \"mounts\": [{\"source\": \"proc\", \"destination\": \"/proc\", \"device\": \"proc\", \"flags\": 0},"
	"  {\"source\": \"/tmp\", \"destination\": \"/data\", \"device\": \"bind\", \"flags\": 20480}]}";

static const char oci_plain[] =
	"{\"process\": {\"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"],"
	"  \"effective\": [\"CAP_CHOWN\"], \"permitted\": [\"CAP_CHOWN\"]}},"
	" \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
	"  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/tmp\", \"options\": [\"rbind\"]}],"
	" \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"},"
	"  {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"}],"
	"  \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
	"   {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rwm\"},"
	"   {\"allow\": true, \"type\": \"c\", \"access\": \"m\"}]}}}";

static struct privileged_host host;

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s", jerr.text);
	return v;
}

static const char *judge(bool oci, json_t *config)
{
	return oci ? privileged_from_oci(config, &host) :
		     privileged_from_runc(config, &host);
}

static void expect(bool oci, json_t *config, const char *want)
{
	const char *got = judge(oci, config);

	if (!want && got)
		fail_msg("%s: privileged (%s), want not", oci ? "oci" : "runc",
			 got);
	if (want && (!got || strcmp(got, want)))
		fail_msg("%s: \"%s\", want \"%s\"", oci ? "oci" : "runc",
			 got ? got : "not privileged", want);
	json_decref(config);
}

static int setup(void **state)
{
	(void)state;
	privileged_host_init(&host);
	return 0;
}

static void test_plain(void **state)
{
	(void)state;
	assert_true(host.root_known);
	expect(false, parse(runc_plain), NULL);
	expect(true, parse(oci_plain), NULL);
}

/* Drop namespace `type` from the config's list. */
static json_t *without_ns(bool oci, const char *type)
{
	json_t *c = parse(oci ? oci_plain : runc_plain), *list, *ns;
	size_t i;

	list = oci ? json_object_get(json_object_get(c, "linux"),
				     "namespaces") :
		     json_object_get(c, "namespaces");
	json_array_foreach(list, i, ns)
		if (!strcmp(json_string_value(json_object_get(ns, "type")),
			    type)) {
			json_array_remove(list, i);
			break;
		}
	return c;
}

static void test_host_namespaces(void **state)
{
	static const struct {
		const char *runc, *oci, *why;
	} kinds[] = {
		{ "NEWNS", "mount", "shares the host's mount namespace" },
		{ "NEWPID", "pid", "shares the host's pid namespace" },
		{ "NEWIPC", "ipc", "shares the host's ipc namespace" },
		{ "NEWNET", "network", "shares the host's network namespace" },
		{ "NEWUTS", "uts", "shares the host's uts namespace" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		expect(false, without_ns(false, kinds[i].runc), kinds[i].why);
		expect(true, without_ns(true, kinds[i].oci), kinds[i].why);
	}
}

static void test_namespace_path(void **state)
{
	struct privileged_host saved = host;
	char path[] = "/tmp/execfs-privns-XXXXXX", text[256];
	struct stat st;
	int fd;

	(void)state;
	/* A file stands for the host's network namespace. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	host.ns_known[PRIV_NS_NET] = true;
	host.ns_dev[PRIV_NS_NET] = st.st_dev;
	host.ns_ino[PRIV_NS_NET] = st.st_ino;

	snprintf(
		text, sizeof(text),
		"{\"namespaces\": [{\"type\": \"NEWPID\"}, {\"type\": \"NEWNET\", "
		"\"path\": \"%s\"}, {\"type\": \"NEWIPC\"}, {\"type\": "
		"\"NEWUTS\"}, {\"type\": \"NEWNS\"}], \"capabilities\": {}}",
		path);
	expect(false, parse(text), "shares the host's network namespace");
	snprintf(
		text, sizeof(text),
		"{\"process\": {\"capabilities\": {}}, \"linux\": "
		"{\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", "
		"\"path\": \"%s\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, "
		"{\"type\": \"mount\"}]}}",
		path);
	expect(true, parse(text), "shares the host's network namespace");
	/* Another namespace's path (a pod sandbox's) is not the host's. */
	host.ns_ino[PRIV_NS_NET] = st.st_ino + 1;
	expect(true, parse(text), NULL);
	unlink(path);
	host = saved;
}

static void test_no_capabilities(void **state)
{
	json_t *c;

	(void)state;
	c = parse(runc_plain);
	json_object_set_new(c, "capabilities", json_null());
	expect(false, c,
	       "restricts no capability (it keeps the runtime's, a full root)");
	c = parse(oci_plain);
	json_object_del(json_object_get(c, "process"), "capabilities");
	expect(true, c,
	       "restricts no capability (it keeps the runtime's, a full root)");
}

static void test_dangerous_capabilities(void **state)
{
	static const char *const caps[] = {
		"CAP_SYS_ADMIN", "CAP_SYS_PTRACE",	"CAP_SYS_MODULE",
		"CAP_SYS_RAWIO", "CAP_DAC_READ_SEARCH", "CAP_BPF",
		"CAP_PERFMON",	 "CAP_SYS_BOOT",
	};
	static const char *const sets_runc[] = { "Bounding", "Effective",
						 "Permitted", "Inheritable",
						 "Ambient" };
	static const char *const sets_oci[] = { "bounding", "effective",
						"permitted", "inheritable",
						"ambient" };
	char why[64];
	json_t *c, *set;
	size_t i, s;

	(void)state;
	for (i = 0; i < 8; i++)
		for (s = 0; s < 5; s++) {
			snprintf(why, sizeof(why), "has %s", caps[i]);
			c = parse(runc_plain);
			set = json_array();
			json_array_append_new(set, json_string(caps[i]));
			json_object_set_new(json_object_get(c, "capabilities"),
					    sets_runc[s], set);
			expect(false, c, why);
			c = parse(oci_plain);
			set = json_array();
			json_array_append_new(set, json_string(caps[i]));
			json_object_set_new(
				json_object_get(json_object_get(c, "process"),
						"capabilities"),
				sets_oci[s], set);
			expect(true, c, why);
		}
}

static void test_every_device(void **state)
{
	static const char why[] =
		"may read or write every device (a device cgroup rule allows all)";
	static const struct {
		const char *rule;
		bool privileged;
	} runc_rules[] = {
		{ "{\"type\": 97, \"major\": -1, \"minor\": -1, \"permissions\": \"rwm\", \"allow\": true}",
		  true },
		{ "{\"type\": 97, \"major\": 5, \"minor\": 0, \"permissions\": \"rw\", \"allow\": true}",
		  true },
		{ "{\"type\": 98, \"major\": -1, \"minor\": -1, \"permissions\": \"r\", \"allow\": true}",
		  true },
		{ "{\"type\": 99, \"major\": -1, \"minor\": -1, \"permissions\": \"w\", \"allow\": true}",
		  true },
		{ "{\"type\": 99, \"major\": -1, \"minor\": -1, \"permissions\": \"m\", \"allow\": true}",
		  false },
		{ "{\"type\": 97, \"major\": -1, \"minor\": -1, \"permissions\": \"rwm\", \"allow\": false}",
		  false },
		{ "{\"type\": 98, \"major\": 8, \"minor\": -1, \"permissions\": \"rwm\", \"allow\": true}",
		  false },
	};
	static const struct {
		const char *rule;
		bool privileged;
	} oci_rules[] = {
		{ "{\"allow\": true, \"access\": \"rwm\"}", true },
		{ "{\"allow\": true, \"type\": \"a\", \"access\": \"r\"}",
		  true },
		{ "{\"allow\": true, \"type\": \"b\", \"access\": \"rw\"}",
		  true },
		{ "{\"allow\": true, \"type\": \"c\", \"major\": 1, \"access\": \"rw\"}",
		  false },
		{ "{\"allow\": true, \"access\": \"m\"}", false },
		{ "{\"allow\": false, \"access\": \"rwm\"}", false },
	};
	json_t *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(runc_rules) / sizeof(runc_rules[0]); i++) {
		c = parse(runc_plain);
		json_array_append_new(
			json_object_get(json_object_get(c, "cgroups"),
					"devices"),
			parse(runc_rules[i].rule));
		expect(false, c, runc_rules[i].privileged ? why : NULL);
	}
	for (i = 0; i < sizeof(oci_rules) / sizeof(oci_rules[0]); i++) {
		c = parse(oci_plain);
		json_array_append_new(
			json_object_get(
				json_object_get(json_object_get(c, "linux"),
						"resources"),
				"devices"),
			parse(oci_rules[i].rule));
		expect(true, c, oci_rules[i].privileged ? why : NULL);
	}
}

static void test_host_root_mount(void **state)
{
	static const char why[] = "bind-mounts the host's /";
	static const struct {
		const char *mount;
		bool oci, privileged;
	} mounts[] = {
		{ "{\"source\": \"/\", \"destination\": \"/host\", \"device\": \"bind\", \"flags\": 20480}",
		  false, true },
		{ "{\"source\": \"//./\", \"destination\": \"/host\", \"device\": \"bind\", \"flags\": 4096}",
		  false, true },
		{ "{\"source\": \"/\", \"destination\": \"/x\", \"device\": \"tmpfs\", \"flags\": 0}",
		  false, false },
		{ "{\"source\": \"/etc\", \"destination\": \"/x\", \"device\": \"bind\", \"flags\": 4096}",
		  false, false },
		{ "{\"destination\": \"/host\", \"type\": \"bind\", \"source\": \"/\"}",
		  true, true },
		{ "{\"destination\": \"/host\", \"type\": \"none\", \"source\": \"/\", \"options\": [\"rbind\", \"ro\"]}",
		  true, true },
		{ "{\"destination\": \"/host\", \"source\": \"/.\", \"options\": [\"bind\"]}",
		  true, true },
		{ "{\"destination\": \"/x\", \"type\": \"tmpfs\", \"source\": \"/\"}",
		  true, false },
		{ "{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"/usr\"}",
		  true, false },
	};
	json_t *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		c = parse(mounts[i].oci ? oci_plain : runc_plain);
		json_array_append_new(json_object_get(c, "mounts"),
				      parse(mounts[i].mount));
		expect(mounts[i].oci, c, mounts[i].privileged ? why : NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_host_namespaces),
		cmocka_unit_test(test_namespace_path),
		cmocka_unit_test(test_no_capabilities),
		cmocka_unit_test(test_dangerous_capabilities),
		cmocka_unit_test(test_every_device),
		cmocka_unit_test(test_host_root_mount),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
