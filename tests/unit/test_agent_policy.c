/*
 * Unit tests for the exec policy: the example file as written,
 * default deny, privileged containers, the node switch, the per-container
 * annotation, run_as and session limits, typed principals (a CN never
 * passes for a SAN), run_as checked against the resolved ids, and strict
 * parsing, and the node itself (exec_node, listing).
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
	assert_int_equal(check(p, "dns:ops", &def, NULL, 0, why), 0);
	assert_int_equal(check(p, "dns:ops", &prod, NULL, 0, why), -EACCES);
	assert_non_null(
		strstr(why, "no rule allows dns:ops in prod/api-7/app"));
	assert_int_equal(check(p, "dns:ops", &priv, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, "exec_privileged"));
	assert_int_equal(check(p, "dns:admin-jo", &prod, NULL, 0, why), 0);
	assert_int_equal(check(p, "dns:admin-jo", &priv, NULL, 0, why), 0);
	assert_int_equal(check(p, "dns:nobody", &def, NULL, 0, why), -EACCES);
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
	assert_int_equal(check(off, "dns:ops", &c, NULL, 0, why), -EACCES);
	assert_non_null(strstr(why, "disabled on this node"));
	assert_int_equal(check(on, "dns:ops", &c, NULL, 0, why), 0);
	json_object_set_new(c.labels, POLICY_DISABLE_ANNOTATION,
			    json_string("true"));
	assert_int_equal(check(on, "dns:ops", &c, NULL, 0, why), -EACCES);
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
	assert_int_equal(check(p, "uri:dev", &c, "app", 0, why), -EACCES);
	json_object_set_new(c.labels, "team", json_string("alpha"));
	assert_int_equal(check(p, "uri:dev", &c, "app", 0, why), 0);
	assert_int_equal(check(p, "uri:dev", &c, "1000", 1, why), 0);
	assert_int_equal(check(p, "uri:dev", &c, "root", 0, why), -EACCES);
	assert_int_equal(check(p, "uri:dev", &c, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "uri:dev", &c, "app", 2, why), -EACCES);
	assert_non_null(strstr(why, "2 sessions"));
	policy_free(p);
	json_decref(c.labels);
}

static void test_typed_principals(void **state)
{
	struct policy *p = parse(
		"{\"rules\": ["
		" {\"principals\": [\"dns:ops.example\"], \"pods\": [\"a\"], \"actions\": [\"exec\"]},"
		" {\"principals\": [\"uri:spiffe://example.org/*\"], \"pods\": [\"b\"], \"actions\": [\"exec\"]},"
		" {\"principals\": [\"cn:alice\"], \"pods\": [\"c\"], \"actions\": [\"exec\"]},"
		" {\"principals\": [\"bare.example\"], \"pods\": [\"d\"], \"actions\": [\"exec\"]},"
		" {\"principals\": [\"*\"], \"pods\": [\"e\"], \"actions\": [\"exec\"]},"
		" {\"principals\": [\"uid:10*\"], \"pods\": [\"f\"], \"actions\": [\"exec\"]}]}");
	struct container a = make("default", "a", false),
			 b = make("default", "b", false),
			 c = make("default", "c", false),
			 d = make("default", "d", false),
			 e = make("default", "e", false),
			 f = make("default", "f", false);
	char why[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(check(p, "dns:ops.example", &a, NULL, 0, why), 0);
	/* A CN equal to a rule's DNS name gets nothing; nor a URI. */
	assert_int_equal(check(p, "cn:ops.example", &a, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "uri:ops.example", &a, NULL, 0, why),
			 -EACCES);
	assert_int_equal(
		check(p, "uri:spiffe://example.org/ops", &b, NULL, 0, why), 0);
	assert_int_equal(check(p, "dns:spiffe://example.org/ops", &b, NULL, 0,
			       why),
			 -EACCES);
	assert_int_equal(check(p, "cn:alice", &c, NULL, 0, why), 0);
	assert_int_equal(check(p, "dns:alice", &c, NULL, 0, why), -EACCES);
	/* A bare pattern: a URI or DNS SAN's name, never a CN or a uid. */
	assert_int_equal(check(p, "dns:bare.example", &d, NULL, 0, why), 0);
	assert_int_equal(check(p, "uri:bare.example", &d, NULL, 0, why), 0);
	assert_int_equal(check(p, "cn:bare.example", &d, NULL, 0, why),
			 -EACCES);
	assert_int_equal(check(p, "cn:anyone", &e, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "uid:0", &e, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "dns:anyone", &e, NULL, 0, why), 0);
	/* An identity without a type (none is made so) matches nothing. */
	assert_int_equal(check(p, "bare.example", &d, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "uid:1000", &f, NULL, 0, why), 0);
	assert_int_equal(check(p, "uid:2000", &f, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "dns:uid:1000", &f, NULL, 0, why), -EACCES);
	policy_free(p);
	json_decref(a.labels);
	json_decref(b.labels);
	json_decref(c.labels);
	json_decref(d.labels);
	json_decref(e.labels);
	json_decref(f.labels);
}

static void test_run_as_resolved(void **state)
{
	struct policy *p = parse(
		"{\"rules\": [{\"principals\": [\"uid:0\"], \"run_as\": "
		"[\"app\", \"uid:1000-1999\", \"gid:1000\"], \"actions\": [\"exec\"]}]}");
	const char *const names_only[] = { "app", "web*", NULL };
	const char *const any_name[] = { "*", NULL };
	const char *const with_root[] = { "*", "uid:0", NULL };
	struct container c = make("default", "web-1", false);
	struct policy_query q = { "uid:0", &c, "app", 0 };
	char why[256], **run_as = NULL;

	(void)state;
	assert_non_null(p);
	/* The deciding rule's run_as, for the check after resolution. */
	assert_int_equal(policy_decide(p, &q, &run_as, why, sizeof(why)), 0);
	assert_non_null(run_as);
	assert_string_equal(run_as[0], "app");
	assert_string_equal(run_as[1], "uid:1000-1999");
	assert_string_equal(run_as[2], "gid:1000");
	assert_null(run_as[3]);
	assert_int_equal(policy_run_as_allows((const char *const *)run_as,
					      "app", 1000, 1000, why,
					      sizeof(why)),
			 0);
	/* The container's /etc/passwd made "app" someone else. */
	assert_int_equal(policy_run_as_allows((const char *const *)run_as,
					      "app", 0, 0, why, sizeof(why)),
			 -EACCES);
	assert_string_equal(
		why, "run_as does not allow uid 0 (user app in the container)");
	assert_int_equal(policy_run_as_allows((const char *const *)run_as,
					      "app", 1500, 50, why,
					      sizeof(why)),
			 -EACCES);
	assert_non_null(strstr(why, "gid 50"));
	assert_int_equal(policy_run_as_allows((const char *const *)run_as,
					      "other", 1000, 1000, why,
					      sizeof(why)),
			 -EACCES);
	policy_run_as_free(run_as);

	/* Names only: any id but a disguised root. */
	assert_int_equal(policy_run_as_allows(names_only, "web1", 33, 33, why,
					      sizeof(why)),
			 0);
	assert_int_equal(policy_run_as_allows(names_only, "app", 0, 0, why,
					      sizeof(why)),
			 -EACCES);
	assert_string_equal(
		why,
		"user app is uid 0 in the container; run_as names no uid:0");
	/* Root asked for as such: by name, as a number, or the default. */
	assert_int_equal(policy_run_as_allows(any_name, "root", 0, 0, why,
					      sizeof(why)),
			 0);
	assert_int_equal(policy_run_as_allows(any_name, "0:0", 0, 0, why,
					      sizeof(why)),
			 0);
	assert_int_equal(policy_run_as_allows(any_name, NULL, 0, 0, why,
					      sizeof(why)),
			 0);
	assert_int_equal(policy_run_as_allows(any_name, "app", 0, 0, why,
					      sizeof(why)),
			 -EACCES);
	assert_int_equal(policy_run_as_allows(with_root, "app", 0, 0, why,
					      sizeof(why)),
			 0);
	/* No run_as in the rule: anyone. */
	assert_int_equal(
		policy_run_as_allows(NULL, "app", 0, 0, why, sizeof(why)), 0);
	/* Without name globs, the name check before resolution passes. */
	policy_free(p);
	p = parse("{\"rules\": [{\"principals\": [\"uid:0\"], \"run_as\": "
		  "[\"uid:1000\"], \"actions\": [\"exec\"]}]}");
	q.run_as = "anyone";
	assert_int_equal(policy_decide(p, &q, &run_as, why, sizeof(why)), 0);
	assert_int_equal(policy_run_as_allows((const char *const *)run_as,
					      "anyone", 1001, 1001, why,
					      sizeof(why)),
			 -EACCES);
	policy_run_as_free(run_as);
	policy_free(p);
	json_decref(c.labels);
}

/* The compiled id ranges a spawning process checks without allocating. */
static void test_run_as_compiled(void **state)
{
	static const char *const ranges[] = { "app", "uid:1000-1999", "uid:33",
					      "gid:1000", NULL };
	static const char *const names[] = { "app", "web*", NULL };
	const char *many[2 * POLICY_RUN_AS_RANGES + 2];
	char buf[POLICY_RUN_AS_RANGES + 1][16], why[256];
	struct policy_run_as_ids ids;
	size_t i;

	(void)state;
	assert_int_equal(policy_run_as_compile(ranges, &ids), 0);
	assert_false(ids.any);
	assert_int_equal(ids.nuid, 2);
	assert_int_equal(ids.ngid, 1);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 1000, 1000),
			 POLICY_RUN_AS_OK);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 33, 1000),
			 POLICY_RUN_AS_OK);
	/* "app" made uid 0 (or 5000) by the container's /etc/passwd. */
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 0, 1000),
			 POLICY_RUN_AS_UID);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 5000, 1000),
			 POLICY_RUN_AS_UID);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 1000, 0),
			 POLICY_RUN_AS_GID);
	/* The gid ranges bound supplementary groups too. */
	assert_true(policy_run_as_gid_allowed(&ids, 1000));
	assert_false(policy_run_as_gid_allowed(&ids, 0));
	assert_int_equal(policy_run_as_why(POLICY_RUN_AS_UID, "app", 0, 1000,
					   why, sizeof(why)),
			 -EACCES);
	assert_string_equal(
		why, "run_as does not allow uid 0 (user app in the container)");

	/* Names only: a disguised root is refused, a named or default one
	 * is not. */
	assert_int_equal(policy_run_as_compile(names, &ids), 0);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 0, 0),
			 POLICY_RUN_AS_ROOT);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 1000, 0),
			 POLICY_RUN_AS_OK);
	assert_int_equal(policy_run_as_ids_check(&ids, NULL, 0, 0),
			 POLICY_RUN_AS_OK);
	assert_int_equal(policy_run_as_ids_check(&ids, "0:0", 0, 0),
			 POLICY_RUN_AS_OK);
	/* "default" asked for by name is a name the container's passwd
	 * resolves, not the container's configured user. */
	assert_int_equal(policy_run_as_ids_check(&ids, "default", 0, 0),
			 POLICY_RUN_AS_ROOT);
	assert_int_equal(policy_run_as_ids_check(&ids, "root", 0, 0),
			 POLICY_RUN_AS_OK);
	/* Without gid ranges every supplementary group is allowed. */
	assert_true(policy_run_as_gid_allowed(&ids, 0));

	/* No run_as: anyone, root by any name included. */
	assert_int_equal(policy_run_as_compile(NULL, &ids), 0);
	assert_true(ids.any);
	assert_int_equal(policy_run_as_ids_check(&ids, "app", 0, 0),
			 POLICY_RUN_AS_OK);

	/* More ranges than the compiled form holds: refused, not cut. */
	for (i = 0; i <= POLICY_RUN_AS_RANGES; i++) {
		snprintf(buf[i], sizeof(buf[i]), "uid:%zu", i);
		many[i] = buf[i];
	}
	many[i] = NULL;
	assert_int_equal(policy_run_as_compile(many, &ids), -E2BIG);
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
	assert_int_equal(check(p, "dns:ops", &priv, NULL, 0, why), -EACCES);
	policy_free(p);
	json_decref(priv.labels);
}

/* The node itself (--host-exec): only exec_node reaches it, whatever else
 * a rule grants; a rule's names must match its .host names; listing asks
 * only for the action, run_as and limits being the start's. */
static void test_exec_node(void **state)
{
	struct policy *p = parse(
		"{\"rules\": ["
		" {\"principals\": [\"ops\"], \"actions\": [\"exec\", "
		"\"exec_privileged\"]},"
		" {\"principals\": [\"team\"], \"namespaces\": [\"prod\"], "
		"\"actions\": [\"exec\", \"exec_node\"]},"
		" {\"principals\": [\"root*\"], \"namespaces\": [\".host\"], "
		"\"run_as\": [\"daemon\"], \"max_sessions\": 1, "
		"\"actions\": [\"exec_node\"]}]}");
	struct container host = make(".host", ".host", true);
	struct container plain = make("default", "web-1", true);
	char why[256];

	(void)state;
	assert_non_null(p);
	host.id = ".host";
	host.name = ".host";
	host.host = true;
	/* exec and exec_privileged never reach the node. */
	assert_int_equal(check(p, "dns:ops", &plain, NULL, 0, why), 0);
	assert_int_equal(check(p, "dns:ops", &host, NULL, 0, why), -EACCES);
	assert_non_null(
		strstr(why, "dns:ops may not exec_node in .host/.host/.host"));
	assert_false(policy_may_list(p, "dns:ops", &host));
	assert_true(policy_may_list(p, "dns:ops", &plain));
	/* exec_node in a rule for namespace prod is not the node's. */
	assert_int_equal(check(p, "dns:team", &host, NULL, 0, why), -EACCES);
	assert_false(policy_may_list(p, "dns:team", &host));
	/* A rule for .host: listed whatever the user and the count; a start
	 * as another user, or beyond the limit, refused. */
	assert_true(policy_may_list(p, "dns:root-1", &host));
	assert_int_equal(check(p, "dns:root-1", &host, "daemon", 0, why), 0);
	assert_int_equal(check(p, "dns:root-1", &host, NULL, 0, why), -EACCES);
	assert_int_equal(check(p, "dns:root-1", &host, "daemon", 1, why),
			 -EACCES);
	assert_non_null(strstr(why, "rule 2 allows 1"));
	assert_false(policy_may_list(p, "dns:nobody", &host));
	policy_free(p);
	json_decref(host.labels);
	json_decref(plain.labels);
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
		"{\"rules\": [{\"principals\": [\"dns:\"], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\", \"cn:\"], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"run_as\": [\"uid:x\"], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"run_as\": [\"uid:5-3\"], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"run_as\": [\"gid:1-\"], \"actions\": [\"exec\"]}]}",
		"{\"rules\": [{\"principals\": [\"a\"], \"run_as\": [\"uid:4294967295\"], \"actions\": [\"exec\"]}]}",
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
		cmocka_unit_test(test_typed_principals),
		cmocka_unit_test(test_run_as_resolved),
		cmocka_unit_test(test_run_as_compiled),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_exec_node),
		cmocka_unit_test(test_strict_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
