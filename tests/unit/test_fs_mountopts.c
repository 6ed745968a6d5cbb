/*
 * Unit tests for fs/mountopts.c: the mount's command line, as execfs's own
 * and as mount(8) runs a helper (mount.fuse.execfs SOURCE DIR -o ... -t
 * fuse.execfs). What must reach libfuse, what must not, and the refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mountopts.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof(v[0]) - 1))

/* Parse, expecting success; err must stay empty. */
static void parse_ok(char **argv, int argc, struct mount_opts *o)
{
	char err[256] = "";

	assert_int_equal(mount_opts_parse(argc, argv, o, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static int parse_fails(char **argv, int argc, const char *why)
{
	struct mount_opts o;
	char err[256] = "";
	int rc;

	rc = mount_opts_parse(argc, argv, &o, err, sizeof(err));
	assert_true(rc < 0);
	assert_non_null(strstr(err, why));
	mount_opts_release(&o);
	return rc;
}

/* The libfuse arguments joined by one space. */
static const char *fuse_line(const struct mount_opts *o)
{
	static char line[1024];
	int i;

	line[0] = 0;
	for (i = 0; i < o->fuse.argc; i++) {
		if (i)
			strcat(line, " ");
		strcat(line, o->fuse.argv[i]);
	}
	return line;
}

static void test_mountpoint_only(void **state)
{
	char *v[] = { "execfs", "/exec", NULL };
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_null(o.agent);
	assert_null(o.config);
	assert_false(o.helper);
	assert_string_equal(o.source, "execfs");
	assert_string_equal(
		fuse_line(&o),
		"execfs -ofsname=execfs -osubtype=execfs -odefault_permissions /exec");
	mount_opts_release(&o);
}

static void test_long_flags_and_o_options(void **state)
{
	char *v[] = { "execfs",	      "--agent",
		      "unix:/a.sock", "-f",
		      "-o",	      "log=/l,heartbeat=2,resume=9,allow_other",
		      "--log=/m",     "prod",
		      "/exec",	      NULL };
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_string_equal(o.agent, "unix:/a.sock");
	assert_string_equal(o.log, "/m"); /* the last one given wins */
	assert_string_equal(o.heartbeat, "2");
	assert_string_equal(o.resume, "9");
	assert_string_equal(o.source, "prod");
	assert_string_equal(
		fuse_line(&o),
		"execfs -o allow_other -f -ofsname=prod -osubtype=execfs -odefault_permissions /exec");
	mount_opts_release(&o);
}

static void test_every_o_option(void **state)
{
	char *v[] = { "execfs", "-o",
		      "config=/c.json,history=2M,spin=0,echo_wait=10", "/x",
		      NULL };
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_string_equal(o.config, "/c.json");
	assert_string_equal(o.history, "2M");
	assert_string_equal(o.spin, "0");
	assert_string_equal(o.echo_wait, "10");
	mount_opts_release(&o);
}

/* What an fstab line carries for mount(8) and systemd never reaches
 * libfuse, which would refuse it. */
static void test_fstab_options_dropped(void **state)
{
	char *v[] = { "execfs", "-o",
		      "_netdev,nofail,noauto,auto,user,users,nouser,owner,group,"
		      "defaults,x-systemd.requires=execfs-agent.service,"
		      "X-mount.mkdir,comment=x,ro,agent=unix:/s",
		      "/exec", NULL };
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_string_equal(o.agent, "unix:/s");
	assert_string_equal(
		fuse_line(&o),
		"execfs -o ro -ofsname=execfs -osubtype=execfs -odefault_permissions /exec");
	mount_opts_release(&o);
}

/* mount(8)'s call: SOURCE DIR, then -o and -t (and -n, -v, -s). */
static void test_helper_convention(void **state)
{
	char *v[] = { "/sbin/mount.fuse.execfs",
		      "execfs",
		      "/exec",
		      "-n",
		      "-v",
		      "-s",
		      "-o",
		      "rw,agent=unix:/run/x.sock,nofail,x-systemd.after=y",
		      "-t",
		      "fuse.execfs",
		      NULL };
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_true(o.helper);
	assert_false(o.fake);
	assert_string_equal(o.agent, "unix:/run/x.sock");
	/* No -f: a helper's mount goes to the background. */
	assert_string_equal(
		fuse_line(&o),
		"/sbin/mount.fuse.execfs -o rw -ofsname=execfs -osubtype=execfs -odefault_permissions /exec");
	mount_opts_release(&o);
}

static void test_helper_fake_and_type(void **state)
{
	char *v[] = {
		"mount.execfs", "src", "/exec", "-f", "-t", "execfs", NULL
	};
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_true(o.fake);
	assert_string_equal(o.source, "src");
	mount_opts_release(&o);
}

static void test_helper_refusals(void **state)
{
	char *wrong_type[] = { "mount.execfs", "a",	     "/b",
			       "-t",	       "fuse.sshfs", NULL };
	char *ns[] = { "mount.execfs", "a", "/b", "-N", "/proc/1/ns/mnt", NULL };
	char *one[] = { "mount.execfs", "/b", NULL };
	char *unknown[] = { "mount.execfs", "a", "/b", "-q", NULL };

	(void)state;
	parse_fails(wrong_type, ARGC(wrong_type), "mounts execfs");
	parse_fails(ns, ARGC(ns), "-N");
	parse_fails(one, ARGC(one), "usage");
	parse_fails(unknown, ARGC(unknown), "-q");
}

static void test_refusals(void **state)
{
	char *three[] = { "execfs", "a", "b", "c", NULL };
	char *ctl[] = { "execfs", "bad\nname", "/x", NULL };

	(void)state;
	assert_int_equal(parse_fails(three, ARGC(three), "too many"), -EINVAL);
	parse_fails(ctl, ARGC(ctl), "SOURCE");
}

/* A comma in SOURCE would start another option: it is escaped. */
static void test_source_with_comma(void **state)
{
	char *v[] = { "execfs", "a,allow_other", "/x", NULL };
	struct mount_opts o;

	(void)state;
	parse_ok(v, ARGC(v), &o);
	assert_string_equal(o.source, "a,allow_other");
	assert_non_null(strstr(fuse_line(&o), "-ofsname=a\\,allow_other "));
	mount_opts_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountpoint_only),
		cmocka_unit_test(test_long_flags_and_o_options),
		cmocka_unit_test(test_every_o_option),
		cmocka_unit_test(test_fstab_options_dropped),
		cmocka_unit_test(test_helper_convention),
		cmocka_unit_test(test_helper_fake_and_type),
		cmocka_unit_test(test_helper_refusals),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_source_with_comma),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
