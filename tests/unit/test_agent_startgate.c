/*
 * The monitor's own checks of a start (agent/startgate.c): the policy's
 * node-level gates, and the container instance the worker decided on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "exec_spec.h"
#include "inventory.h"
#include "policy.h"
#include "startgate.h"

static struct policy *parse(const char *text)
{
	char err[256];
	struct policy *p = policy_parse(text, strlen(text), err, sizeof(err));

	assert_non_null(p);
	return p;
}

static void gate_of(struct start_gate *g, const char *text)
{
	struct policy *p = parse(text);

	start_gate_from_policy(g, p);
	policy_free(p);
}

static void test_gates(void **state)
{
	struct container c = { .id = "c1", .pid = 100, .created = "t1" };
	struct exec_spec spec = { 0 };
	struct start_gate g;
	char why[256];

	(void)state;
	c.labels = json_object();
	assert_int_equal(start_gate_bind(&spec, &c), 0);

	gate_of(&g, "{\"rules\": [{\"principals\": [\"uid:0\"], "
		    "\"actions\": [\"exec\"]}]}");
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)), 0);

	/* exec_enabled false: nothing, whatever the worker decided. */
	gate_of(&g, "{\"exec_enabled\": false, \"rules\": [{\"principals\": "
		    "[\"uid:0\"], \"actions\": [\"exec\"]}]}");
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)),
			 -EACCES);
	assert_string_equal(why, "remote exec is disabled on this node");

	/* The annotation. */
	gate_of(&g, "{\"rules\": [{\"principals\": [\"uid:0\"], "
		    "\"actions\": [\"exec\"]}]}");
	json_object_set_new(c.labels, POLICY_DISABLE_ANNOTATION,
			    json_string("true"));
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)),
			 -EACCES);
	assert_non_null(strstr(why, POLICY_DISABLE_ANNOTATION));
	json_object_set_new(c.labels, POLICY_DISABLE_ANNOTATION,
			    json_string("false"));
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)), 0);

	/* A privileged container needs some rule granting exec_privileged. */
	c.privileged = true;
	c.privileged_reason = "has CAP_SYS_ADMIN";
	assert_int_equal(start_gate_bind(&spec, &c), 0);
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)),
			 -EACCES);
	assert_string_equal(why, "container c1 is privileged (has "
				 "CAP_SYS_ADMIN) and no rule grants "
				 "exec_privileged");
	gate_of(&g, "{\"rules\": [{\"principals\": [\"uid:0\"], "
		    "\"actions\": [\"exec_privileged\"]}]}");
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)), 0);

	/* The node itself needs a rule granting exec_node, whatever else. */
	c.host = true;
	assert_int_equal(start_gate_bind(&spec, &c), 0);
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)),
			 -EACCES);
	assert_string_equal(
		why, "c1 is the node itself and no rule grants exec_node");
	gate_of(&g, "{\"rules\": [{\"principals\": [\"uid:0\"], "
		    "\"actions\": [\"exec_node\"]}]}");
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)), 0);
	c.host = false;

	/* No policy: closed. */
	start_gate_from_policy(&g, NULL);
	assert_int_equal(start_gate_check(&g, &c, &spec, why, sizeof(why)),
			 -EACCES);
	exec_spec_release(&spec);
	json_decref(c.labels);
}

static void test_instance(void **state)
{
	struct container seen = { .id = "c1", .pid = 100, .created = "t1" };
	struct container now = seen;
	struct exec_spec spec = { 0 };
	struct start_gate g = { true, true, true };
	char why[256];

	(void)state;
	seen.labels = now.labels = json_object();
	assert_int_equal(start_gate_bind(&spec, &seen), 0);
	assert_int_equal(start_gate_check(&g, &now, &spec, why, sizeof(why)),
			 0);
	/* Replaced under the same id: another init. */
	now.pid = 200;
	now.created = "t2";
	assert_int_equal(start_gate_check(&g, &now, &spec, why, sizeof(why)),
			 -ESTALE);
	assert_non_null(strstr(why, "container c1 changed"));
	/* The same pid again (recycled), but another creation. */
	now.pid = 100;
	assert_int_equal(start_gate_check(&g, &now, &spec, why, sizeof(why)),
			 -ESTALE);
	/* The same instance, privileged now (its record changed). */
	now.created = "t1";
	now.privileged = true;
	assert_int_equal(start_gate_check(&g, &now, &spec, why, sizeof(why)),
			 -ESTALE);
	now.privileged = false;
	assert_int_equal(start_gate_check(&g, &now, &spec, why, sizeof(why)),
			 0);
	/* A request bound to nothing: refused. */
	exec_spec_release(&spec);
	assert_int_equal(start_gate_check(&g, &now, &spec, why, sizeof(why)),
			 -ESTALE);
	json_decref(seen.labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gates),
		cmocka_unit_test(test_instance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
