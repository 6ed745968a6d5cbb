/*
 * Unit tests for the exec policy: the example file as written,
 * default deny, privileged containers, the node switch, the per-container
 * annotation, run_as and session limits, and strict parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "inventory.h"
#include "policy.h"

static const char example[] =
	"{\"exec_enabled\": true,\n"
	" \"rules\": [\n"
	"   {\"principals\": [\"ops\"],   \"namespaces\": [\"default\"], \"pods\": [\"*\"], \"actions\": [\"exec\"]},\n"
	"   {\"principals\": [\"admin*\"], \"namespaces\": [\"*\"],       \"pods\": [\"*\"], \"actions\": [\"exec\", \"exec_privileged\", \"exec_node\"]}\n"
	" ]}";

static struct container make(const char *ns, const char *pod, bool priv)
{
	struct container c = { 0 };

	c.id = "c1";
	c.namespace = (char *)ns;
	c.pod = (char *)pod;
	c.name = "app";
	c.privileged = priv;
	c.labels = json_object();
	return c;
}

static int check(const struct policy *p, const char *who, struct container *c,
		 const char *run_as, size_t sessions, char *why)
{
	struct policy_query q = { who, c, run_as, sessions };
	int rc = policy_check(p, &q, why, 256);

	return rc;
}

static struct policy *parse(const char *text)
{
	char err[256];
	struct policy *p = policy_parse(text, strlen(text), err, sizeof(err));

	if (!p)
		print_error("policy: %s\n", err);
	return p;
}

static void test_example(void **state)
{
	struct policy *p = parse(example);
	struct container def = make("default", "web-1", false);
	struct container prod = make("prod", "api-7", false);
	struct container priv = make("default", "web-1", true);
	char why[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(check(p, "ops", &def, NULL, 0, why), 0);
	assert_int_equal(check(p, "ops", &prod, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, "no rule allows ops in prod/api-7/app"));
	assert_int_equal(check(p, "ops", &priv, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, "exec_privileged"));
	assert_int_equal(check(p, "admin-jo", &prod, NULL, 0, why), 0);
	assert_int_equal(check(p, "admin-jo", &priv, NULL, 0, why), 0);
	assert_int_equal(check(p, "nobody", &def, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "", &def, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, "unidentified"));
	policy_free(p);
	json_decref(def.labels);
	json_decref(prod.labels);
	json_decref(priv.labels);
}

static void test_switches(void **state)
{
	struct policy *off =
		parse("{\"exec_enabled\": false, \"rules\": "
		      "[{\"principals\": [\"*\"], \"actions\": [\"exec\"]}]}");
	struct policy *on = parse("{\"rules\": [{\"principals\": [\"*\"], "
				  "\"actions\": [\"exec\"]}]}");
	struct container c = make("default", "web-1", false);
	char why[256];

	(void)state;
	assert_int_equal(check(off, "ops", &c, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, "disabled on this node"));
	assert_int_equal(check(on, "ops", &c, NULL, 0, why), 0);
	json_object_set_new(c.labels, POLICY_DISABLE_ANNOTATION,
			    json_string("true"));
	assert_int_equal(check(on, "ops", &c, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, POLICY_DISABLE_ANNOTATION));
	policy_free(off);
	policy_free(on);
	json_decref(c.labels);
}

static void test_run_as_labels_limits(void **state)
{
	struct policy *p =
		parse("{\"rules\": [{\"principals\": [\"dev\"], \"labels\": "
		      "{\"team\": \"a*\"}, \"run_as\": [\"app\", \"1000\"], "
		      "\"max_sessions\": 2, \"actions\": [\"exec\"]}]}");
	struct container c = make("default", "web-1", false);
	char why[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(check(p, "dev", &c, "app", 0, why), -EACCES);
	json_object_set_new(c.labels, "team", json_string("alpha"));
	assert_int_equal(check(p, "dev", &c, "app", 0, why), 0);
	assert_int_equal(check(p, "dev", &c, "1000", 1, why), 0);
	assert_int_equal(check(p, "dev", &c, "root", 0, why), -EACCES);
	assert_int_equal(check(p, "dev", &c, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "dev", &c, "app", 2, why), -EACCES);
	assert_non_null(strstr(why, "2 sessions"));
	policy_free(p);
	json_decref(c.labels);
}

static void test_default_policy(void **state)
{
	struct policy *p = policy_default();
	struct container priv = make("kube-system", "x", true);
	char why[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(check(p, "uid:0", &priv, NULL, 0, why), 0);
	assert_int_equal(check(p, "uid:1000", &priv, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "ops", &priv, NULL, 0, why), -EACCES);
	policy_free(p);
	json_decref(priv.labels);
}

static void test_strict_parsing(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"rules\": {}}",
		"{\"rule\": []}",
		"{\"exec_enabled\": \"yes\", \"rules\": []}",
		"{\"rules\": [{\"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"actions\": [\"exe\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"actions\": []}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"pod\": [\"x\"], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"pods\": [1], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"labels\": {\"k\": 1}, \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"max_sessions\": 0, \"actions\": [\"exec\"]}]}",
		"{\"rules\": [], \"rules\": []}",
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_null(
			policy_parse(bad[i], strlen(bad[i]), err, sizeof(err)));
		assert_true(err[0] != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_run_as_labels_limits),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_strict_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
