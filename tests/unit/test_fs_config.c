/*
 * Unit tests for the fleet configuration file (fs/config.c): static nodes,
 * discover names, server_name templates, and the files it refuses, each
 * with the reason it gives. Files are written to a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

/* Load text as a config file: the result, and err. */
static int load(const char *text, struct config **c, char *err, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/execfs-config-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	*c = NULL;
	err[0] = 0;
	return config_load(path, c, err, len);
}

static void test_static_and_discover(void **state)
{
	struct config *c;
	char err[512];

	(void)state;
	assert_int_equal(
		load("{\"nodes\": [{\"name\": \"n1\", \"address\": \"10.0.0.1:7443\"},"
		     " {\"name\": \"n2\", \"address\": \"[fd00::2]:7443\","
		     "  \"server_name\": \"{node}.nodes.example\"}],"
		     " \"discover\": [{\"dns\": \"agents.example\", \"port\": 7443,"
		     "  \"server_name\": \"{node}.nodes.example\"},"
		     "  {\"dns\": \"more.example\", \"port\": 7444}],"
		     " \"dns_server\": \"127.0.0.1:5353\", \"ca\": \"ca.pem\"}",
		     &c, err, sizeof(err)),
		0);
	assert_int_equal(c->nnodes, 2);
	assert_string_equal(c->nodes[0].server_name, "10.0.0.1");
	/* A static node's template names it at once. */
	assert_string_equal(c->nodes[1].server_name, "n2.nodes.example");
	assert_int_equal(c->ndiscover, 2);
	assert_string_equal(c->discover[0].dns, "agents.example");
	assert_int_equal(c->discover[0].port, 7443);
	assert_string_equal(c->discover[0].server_name, "{node}.nodes.example");
	assert_null(c->discover[1].server_name);
	assert_string_equal(c->dns_server, "127.0.0.1:5353");
	config_free(c);
	unlink(path);

	/* discover alone is a fleet. */
	assert_int_equal(load("{\"discover\": [{\"dns\": \"a.example\", "
			      "\"port\": 1}], \"ca\": \"ca.pem\"}",
			      &c, err, sizeof(err)),
			 0);
	assert_int_equal(c->nnodes, 0);
	config_free(c);
	unlink(path);
}

/* Each bad file: -EINVAL and a reason naming what is wrong. */
static void test_refused(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "{\"ca\": \"ca.pem\"}", "\"nodes\" or \"discover\"" },
		{ "{\"nodes\": [], \"discover\": [], \"ca\": \"c\"}",
		  "\"nodes\" or \"discover\"" },
		{ "{\"discover\": [{\"dns\": \"a\", \"port\": 0}], \"ca\": \"c\"}",
		  "\"port\" must be 1 to 65535" },
		{ "{\"discover\": [{\"dns\": \"a\", \"port\": 70000}], \"ca\": \"c\"}",
		  "\"port\" must be 1 to 65535" },
		{ "{\"discover\": [{\"dns\": \"a\"}], \"ca\": \"c\"}",
		  "\"port\" must be 1 to 65535" },
		{ "{\"discover\": [{\"port\": 1}], \"ca\": \"c\"}",
		  "\"dns\" is missing" },
		{ "{\"discover\": [{\"dns\": \"a\", \"port\": 1, \"server_name\": "
		  "\"{node}.{node}\"}], \"ca\": \"c\"}",
		  "bad server_name" },
		{ "{\"discover\": [{\"dns\": \"a\", \"port\": 1}, {\"dns\": \"a\", "
		  "\"port\": 1}], \"ca\": \"c\"}",
		  "listed twice" },
		{ "{\"discover\": [{\"dns\": \"a\", \"port\": 1, \"prot\": 2}], "
		  "\"ca\": \"c\"}",
		  "unknown key \"prot\"" },
		{ "{\"nodes\": [{\"name\": \"n\", \"address\": \"a:1\"}], "
		  "\"ca\": \"c\", \"dns_sever\": \"x\"}",
		  "unknown key \"dns_sever\"" },
		{ "{\"nodes\": [{\"name\": \"n\", \"address\": \"a:1\"}, "
		  "{\"name\": \"n\", \"address\": \"b:1\"}], \"ca\": \"c\"}",
		  "used twice" },
		{ "{\"nodes\": [{\"name\": \"..\", \"address\": \"a:1\"}], "
		  "\"ca\": \"c\"}",
		  "bad name" },
		{ "{\"nodes\": [{\"name\": \"n\", \"address\": \"a:1\"}]}",
		  "\"ca\" is missing" },
		{ "[1]", "not a JSON object" },
		{ "{\"nodes\": [", "" },
	};
	struct config *c;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(cases[i].text, &c, err, sizeof(err)),
				 -EINVAL);
		assert_null(c);
		if (!strstr(err, cases[i].why))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].text,
				 err, cases[i].why);
		unlink(path);
	}
}

static void test_expand(void **state)
{
	char out[64];

	(void)state;
	assert_true(config_is_template("{node}.nodes.example"));
	assert_false(config_is_template("agent.example"));
	assert_int_equal(config_expand_name("{node}.nodes.example", "n7", out,
					    sizeof(out)),
			 0);
	assert_string_equal(out, "n7.nodes.example");
	assert_int_equal(
		config_expand_name("pre-{node}", "n7", out, sizeof(out)), 0);
	assert_string_equal(out, "pre-n7");
	assert_int_equal(
		config_expand_name("fixed.example", "n7", out, sizeof(out)), 0);
	assert_string_equal(out, "fixed.example");
	assert_int_equal(config_expand_name("{node}.nodes.example",
					    "a-node-name-that-is-far-too-long-"
					    "for-this-small-buffer",
					    out, sizeof(out)),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_and_discover),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_expand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
