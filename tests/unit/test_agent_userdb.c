/*
 * Unit tests for agent/userdb.c: resolving NAME, UID, NAME:GROUP and
 * UID:GID against fake /etc/passwd and /etc/group contents (malformed
 * lines, comments, NIS entries, members, caps), which files a spec needs,
 * and the HOME of a uid. (Reading the files inside a container's root is
 * ctrfile.c's, tested in test_agent_ctrfile.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "userdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char passwd[] =
	"# a comment\n"
	"root:x:0:0:root:/root:/bin/sh\n"
	"+nisuser::::::\n"
	"broken:x:notanumber:5:::\n"
	"short:x:7\n"
	"app:x:1000:1000:App:/home/app:/bin/sh\n"
	"app:x:2000:2000:a second app is ignored:/nowhere:/bin/sh\n"
	"nohome:x:1002:1002:::/bin/sh\n"
	"big:x:4294967295:1:::\n"
	"last:x:1003:1003::/home/last:/bin/sh"; /* no final newline */

static const char group[] = "root:x:0:\n"
			    "wheel:x:10:root\n"
			    "audio:x:29:other,app\n"
			    "staff:x:50:apple,app\n"
			    "bad:x:oops:app\n"
			    "appgrp:x:1000:\n"
			    "-nis:x:77:app\n"
			    "dup:x:29:app\n";

static void resolve_ok(const char *spec, struct user_creds *c)
{
	char err[256] = "";
	int rc = userdb_resolve(spec, passwd, group, c, err, sizeof(err));

	if (rc)
		fail_msg("%s: %d %s", spec, rc, err);
}

static void test_by_name(void **state)
{
	struct user_creds c;

	resolve_ok("app", &c);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 1000);
	assert_string_equal(c.home, "/home/app");
	/* The primary group, then each group listing app once (not
	 * "apple", not the malformed or NIS lines). */
	assert_int_equal(c.ngroups, 3);
	assert_int_equal(c.groups[0], 1000);
	assert_int_equal(c.groups[1], 29);
	assert_int_equal(c.groups[2], 50);

	resolve_ok("root", &c);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.ngroups, 2);
	assert_int_equal(c.groups[1], 10);

	/* An empty home field is a home: runc sets HOME to it. */
	resolve_ok("nohome", &c);
	assert_int_equal(c.uid, 1002);
	assert_true(c.has_home);
	assert_string_equal(c.home, "");

	resolve_ok("last", &c);
	assert_int_equal(c.uid, 1003);
	assert_string_equal(c.home, "/home/last");
}

static void test_by_number(void **state)
{
	struct user_creds c;

	/* A uid with an entry: that entry's group and memberships. */
	resolve_ok("1000", &c);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 1000);
	assert_int_equal(c.ngroups, 3);

	/* Without one: gid 0 and no supplementary groups, as runc. */
	resolve_ok("4242", &c);
	assert_int_equal(c.uid, 4242);
	assert_int_equal(c.gid, 0);
	assert_int_equal(c.ngroups, 0);
	assert_false(c.has_home);
}

static void test_with_group(void **state)
{
	struct user_creds c;

	resolve_ok("app:wheel", &c);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 10);
	assert_int_equal(c.ngroups, 1);
	assert_int_equal(c.groups[0], 10);

	resolve_ok("1000:29", &c);
	assert_int_equal(c.gid, 29);
	assert_int_equal(c.ngroups, 1);

	resolve_ok("31337:31337", &c);
	assert_int_equal(c.uid, 31337);
	assert_int_equal(c.gid, 31337);
}

static void expect_einval(const char *spec, const char *message)
{
	struct user_creds c;
	char err[256] = "";

	assert_int_equal(userdb_resolve(spec, passwd, group, &c, err,
					sizeof(err)),
			 -EINVAL);
	assert_int_equal(c.ngroups, 0);
	if (message)
		assert_string_equal(err, message);
	else
		assert_true(err[0] != '\0');
}

static void test_refusals(void **state)
{
	expect_einval("nosuch", "user nosuch: no such user in the container");
	expect_einval("app:nosuch",
		      "group nosuch: no such group in the container");
	/* Malformed or NIS entries are no users. */
	expect_einval("broken", "user broken: no such user in the container");
	expect_einval("short", NULL);
	expect_einval("+nisuser", NULL);
	/* (uid_t)-1 means "unchanged" to the kernel: never a user. */
	expect_einval("big", NULL);
	expect_einval("4294967295", NULL);
	expect_einval("", NULL);
	expect_einval(":0", NULL);
	expect_einval("app:", NULL);
	expect_einval("app:0:0", NULL);
	expect_einval("app\nroot", NULL);
}

static void test_no_files(void **state)
{
	struct user_creds c;
	char err[256];

	/* No /etc/passwd: numbers still work, names do not. */
	assert_int_equal(
		userdb_resolve("0:0", NULL, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(c.uid, 0);
	assert_int_equal(userdb_resolve("app", NULL, NULL, &c, err,
					sizeof(err)),
			 -EINVAL);
}

static void test_many_groups(void **state)
{
	size_t len = 0, cap = 64 * (USERDB_MAX_GROUPS + 10);
	char *grp = malloc(cap), err[256];
	struct user_creds c;
	int i;

	assert_non_null(grp);
	for (i = 0; i < USERDB_MAX_GROUPS + 10; i++)
		len += snprintf(grp + len, cap - len, "g%d:x:%d:app\n", i,
				3000 + i);
	assert_int_equal(
		userdb_resolve("app", passwd, grp, &c, err, sizeof(err)), 0);
	assert_int_equal(c.ngroups, USERDB_MAX_GROUPS);
	free(grp);
}

static void test_spec(void **state)
{
	struct userdb_spec s;

	assert_int_equal(userdb_spec_parse("app", &s), 0);
	assert_string_equal(s.user, "app");
	assert_false(s.uid_numeric);
	assert_false(s.has_group);
	assert_true(userdb_spec_needs_passwd(&s));
	assert_true(userdb_spec_needs_group(&s)); /* memberships */

	assert_int_equal(userdb_spec_parse("1000:wheel", &s), 0);
	assert_true(s.uid_numeric);
	assert_int_equal(s.uid, 1000);
	assert_string_equal(s.group, "wheel");
	assert_false(s.gid_numeric);
	assert_true(userdb_spec_needs_group(&s));

	/* UID:GID needs no file at all. */
	assert_int_equal(userdb_spec_parse("1000:50", &s), 0);
	assert_true(s.gid_numeric);
	assert_int_equal(s.gid, 50);
	assert_false(userdb_spec_needs_passwd(&s));
	assert_false(userdb_spec_needs_group(&s));

	assert_int_equal(userdb_spec_parse("app:1", &s), 0);
	assert_true(userdb_spec_needs_passwd(&s));
	assert_false(userdb_spec_needs_group(&s));
}

static void test_home_of(void **state)
{
	char home[64];

	assert_true(userdb_home_of(1000, passwd, home, sizeof(home)));
	assert_string_equal(home, "/home/app");
	assert_true(userdb_home_of(0, passwd, home, sizeof(home)));
	assert_string_equal(home, "/root");
	assert_true(userdb_home_of(1002, passwd, home, sizeof(home)));
	assert_string_equal(home, "");
	assert_false(userdb_home_of(4242, passwd, home, sizeof(home)));
	assert_false(userdb_home_of(0, NULL, home, sizeof(home)));
	/* A home that does not fit is no home. */
	assert_false(userdb_home_of(1000, passwd, home, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_by_number),
		cmocka_unit_test(test_with_group),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_no_files),
		cmocka_unit_test(test_many_groups),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_home_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
