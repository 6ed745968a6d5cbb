/*
 * Unit tests for agent/userdb.c: resolving NAME, UID, NAME:GROUP and
 * UID:GID against fake /etc/passwd and /etc/group contents (malformed
 * lines, comments, NIS entries, members, caps), and reading them through a
 * root directory where symlinks must not lead out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	user_creds_release(&c);

	resolve_ok("root", &c);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.ngroups, 2);
	assert_int_equal(c.groups[1], 10);
	user_creds_release(&c);

	resolve_ok("nohome", &c);
	assert_int_equal(c.uid, 1002);
	assert_null(c.home);
	user_creds_release(&c);

	resolve_ok("last", &c);
	assert_int_equal(c.uid, 1003);
	assert_string_equal(c.home, "/home/last");
	user_creds_release(&c);
}

static void test_by_number(void **state)
{
	struct user_creds c;

	/* A uid with an entry: that entry's group and memberships. */
	resolve_ok("1000", &c);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 1000);
	assert_int_equal(c.ngroups, 3);
	user_creds_release(&c);

	/* Without one: gid 0 and no supplementary groups, as runc. */
	resolve_ok("4242", &c);
	assert_int_equal(c.uid, 4242);
	assert_int_equal(c.gid, 0);
	assert_int_equal(c.ngroups, 0);
	assert_null(c.home);
	user_creds_release(&c);
}

static void test_with_group(void **state)
{
	struct user_creds c;

	resolve_ok("app:wheel", &c);
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 10);
	assert_int_equal(c.ngroups, 1);
	assert_int_equal(c.groups[0], 10);
	user_creds_release(&c);

	resolve_ok("1000:29", &c);
	assert_int_equal(c.gid, 29);
	assert_int_equal(c.ngroups, 1);
	user_creds_release(&c);

	resolve_ok("31337:31337", &c);
	assert_int_equal(c.uid, 31337);
	assert_int_equal(c.gid, 31337);
	user_creds_release(&c);
}

static void expect_einval(const char *spec, const char *message)
{
	struct user_creds c;
	char err[256] = "";

	assert_int_equal(userdb_resolve(spec, passwd, group, &c, err,
					sizeof(err)),
			 -EINVAL);
	assert_null(c.groups);
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
	user_creds_release(&c);
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
	user_creds_release(&c);
	free(grp);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A root whose /etc/passwd is a symlink pointing "outside" resolves it
 * inside the root. */
static void test_in_root(void **state)
{
	char dir[] = "/tmp/execfs-userdb.XXXXXX", path[256], err[256];
	struct user_creds c;
	int rootfd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/etc", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/etc/passwd.real", dir);
	write_file(path, "inroot:x:77:78::/in:/bin/sh\n");
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	assert_int_equal(symlink("../../../../../../etc/passwd.real", path), 0);
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);

	assert_int_equal(userdb_resolve_in_root(rootfd, "inroot", &c, err,
						sizeof(err)),
			 0);
	assert_int_equal(c.uid, 77);
	assert_int_equal(c.gid, 78);
	assert_int_equal(c.ngroups, 1); /* no etc/group: the primary only */
	user_creds_release(&c);
	/* "root" exists in the host's /etc/passwd, not in this root. */
	assert_int_equal(userdb_resolve_in_root(rootfd, "root", &c, err,
						sizeof(err)),
			 -EINVAL);

	close(rootfd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc/passwd.real", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc", dir);
	rmdir(path);
	rmdir(dir);
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
		cmocka_unit_test(test_in_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
