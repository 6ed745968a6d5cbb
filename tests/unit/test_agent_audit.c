/*
 * Unit tests for agent/audit.c: every kind of line (start with its
 * environment, spawned with the resolved ids, signal, resize, resume,
 * each refusal, end) as JSON with the fields docs/SECURITY.md names,
 * redaction of arguments and of environment values, and the required
 * mode: a line that cannot be written (a full device) fails what it
 * records, while without it the write error is only logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audit.h"
#include "inventory.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/execfs-audit-XXXXXX";

static int setup(void **state)
{
	int fd;

	(void)state;
	memcpy(path + sizeof(path) - 7, "XXXXXX", 6); /* a new name each */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* Line n (from 0) of the file, parsed. */
static json_t *line_at(size_t n)
{
	char buf[65536], *p, *nl;
	json_error_t jerr;
	json_t *doc;
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(len > 0);
	buf[len] = '\0';
	for (p = buf; n; n--) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	nl = strchr(p, '\n');
	assert_non_null(nl);
	doc = json_loadb(p, nl - p, 0, &jerr);
	if (!doc)
		fail_msg("line: %s", jerr.text);
	return doc;
}

static const char *str(json_t *line, const char *key)
{
	const char *s = json_string_value(json_object_get(line, key));

	if (!s)
		fail_msg("no string \"%s\"", key);
	return s;
}

static long long num(json_t *line, const char *key)
{
	json_t *v = json_object_get(line, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_lines(void **state)
{
	struct container c = { .id = "c1",
			       .namespace = "default",
			       .pod = "web-1",
			       .name = "app" };
	char *argv[] = { "sh", "-c", "--password=hunter2", NULL };
	char *env[] = { "TERM=xterm", "API_TOKEN=s3cr3t", "EMPTY=", NULL };
	struct audit_start s = { "s1", "dns:ops", "n1",	 &c,
				 argv, true,	  "app", "/srv" };
	const gid_t groups[] = { 5, 6 };
	struct audit_spawned sp = { .session = "s1",
				    .identity = "dns:ops",
				    .node = "n1",
				    .container_id = "c1",
				    .pid = 4242,
				    .init_pid = 77,
				    .created = "2026-01-02T03:04:05Z",
				    .ids_known = true,
				    .uid = 1000,
				    .gid = 1000,
				    .groups = groups,
				    .ngroups = 2 };
	struct audit_who w = { "s1", "dns:ops", "n1", "c1" };
	struct audit_who anon = { NULL, "cn:x", "n1", NULL };
	char err[256];
	struct audit *a;
	json_t *l, *v;

	(void)state;
	a = audit_open(path, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(
		audit_add_redaction(a, "^--password=", err, sizeof(err)), 0);
	assert_int_equal(
		audit_add_redaction(a, "^API_TOKEN=", err, sizeof(err)), 0);
	assert_int_equal(audit_session_start_env(a, &s, env), 0);
	assert_int_equal(audit_session_spawned(a, &sp), 0);
	assert_int_equal(audit_session_signal(a, &w, "INT", 0), 0);
	assert_int_equal(audit_session_signal(a, &w, "KILL", ESRCH), 0);
	assert_int_equal(audit_session_resize(a, &w, 120, 40), 0);
	assert_int_equal(audit_session_resume(a, &w, "stdout", 4096), 0);
	assert_int_equal(audit_refused(a, &anon, AUDIT_UNKNOWN_CONTAINER,
				       "no container c9"),
			 0);
	assert_int_equal(audit_refused(a, &anon, AUDIT_MALFORMED_REQUEST,
				       "bad JSON"),
			 0);
	assert_int_equal(
		audit_refused(a, &w, AUDIT_OVER_LIMIT, "4096 sessions"), 0);
	assert_int_equal(audit_refused(a, &w, AUDIT_CROSS_IDENTITY,
				       "session of another identity"),
			 0);
	assert_int_equal(audit_session_start(a, &s), 0);
	audit_close(a);

	l = line_at(0);
	assert_string_equal(str(l, "event"), "start");
	assert_string_equal(str(l, "identity"), "dns:ops");
	v = json_object_get(l, "argv");
	assert_string_equal(json_string_value(json_array_get(v, 2)),
			    "[REDACTED]");
	v = json_object_get(l, "env");
	assert_int_equal(json_array_size(v), 3);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
			    "TERM=xterm");
	assert_string_equal(json_string_value(json_array_get(v, 1)),
			    "API_TOKEN=[REDACTED]");
	assert_string_equal(json_string_value(json_array_get(v, 2)), "EMPTY=");
	assert_non_null(json_object_get(l, "time"));
	json_decref(l);

	l = line_at(1);
	assert_string_equal(str(l, "event"), "spawned");
	assert_string_equal(str(l, "container"), "c1");
	assert_int_equal(num(l, "pid"), 4242);
	assert_int_equal(num(l, "init_pid"), 77);
	assert_string_equal(str(l, "created"), "2026-01-02T03:04:05Z");
	assert_null(json_object_get(l, "ids"));
	assert_int_equal(num(l, "uid"), 1000);
	assert_int_equal(num(l, "gid"), 1000);
	v = json_object_get(l, "groups");
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 6);
	json_decref(l);

	l = line_at(2);
	assert_string_equal(str(l, "event"), "signal");
	assert_string_equal(str(l, "signal"), "INT");
	assert_true(json_is_true(json_object_get(l, "sent")));
	json_decref(l);
	l = line_at(3);
	assert_true(json_is_false(json_object_get(l, "sent")));
	assert_string_equal(str(l, "reason"), strerror(ESRCH));
	json_decref(l);

	l = line_at(4);
	assert_string_equal(str(l, "event"), "resize");
	assert_int_equal(num(l, "cols"), 120);
	assert_int_equal(num(l, "rows"), 40);
	json_decref(l);

	l = line_at(5);
	assert_string_equal(str(l, "event"), "resume");
	assert_string_equal(str(l, "stream"), "stdout");
	assert_int_equal(num(l, "offset"), 4096);
	assert_string_equal(str(l, "container"), "c1");
	json_decref(l);

	l = line_at(6);
	assert_string_equal(str(l, "event"), "refused");
	assert_string_equal(str(l, "kind"), "unknown_container");
	assert_string_equal(str(l, "reason"), "no container c9");
	assert_null(json_object_get(l, "session"));
	assert_null(json_object_get(l, "container"));
	json_decref(l);
	l = line_at(7);
	assert_string_equal(str(l, "kind"), "malformed_request");
	json_decref(l);
	l = line_at(8);
	assert_string_equal(str(l, "kind"), "over_limit");
	assert_string_equal(str(l, "session"), "s1");
	json_decref(l);
	l = line_at(9);
	assert_string_equal(str(l, "kind"), "cross_identity");
	json_decref(l);
	/* Without an environment, no "env". */
	l = line_at(10);
	assert_null(json_object_get(l, "env"));
	json_decref(l);
}

static void test_required(void **state)
{
	struct container c = {
		.id = "c1", .namespace = "default", .pod = "p", .name = "n"
	};
	char *argv[] = { "true", NULL };
	struct audit_start s = { "s1", "uid:0", "n1", &c,
				 argv, false,	NULL, NULL };
	struct audit_who w = { "s1", "uid:0", "n1", "c1" };
	char err[256];
	struct audit *a;

	(void)state;
	if (access("/dev/full", W_OK) < 0)
		skip();
	/* Every write to /dev/full fails with ENOSPC. */
	a = audit_open("/dev/full", err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(audit_session_start(a, &s), 0); /* logged only */
	audit_set_required(a, true);
	assert_int_equal(audit_session_start(a, &s), -ENOSPC);
	assert_int_equal(audit_session_denied(a, &s, "no"), -ENOSPC);
	assert_int_equal(audit_session_resize(a, &w, 1, 1), -ENOSPC);
	audit_set_required(a, false);
	assert_int_equal(audit_session_start(a, &s), 0);
	audit_close(a);
	/* No audit at all: nothing to fail. */
	audit_set_required(NULL, true);
	assert_int_equal(audit_session_start(NULL, &s), 0);
	assert_int_equal(audit_refused(NULL, &w, AUDIT_OVER_LIMIT, "x"), 0);
}

/* A process whose ids never reached the reader says so, and claims none. */
static void test_spawned_unreported(void **state)
{
	struct audit_spawned sp = { .session = "s2",
				    .identity = "dns:ops",
				    .node = "n1",
				    .container_id = "c1",
				    .pid = 99 };
	char err[256];
	struct audit *a;
	json_t *l;

	(void)state;
	a = audit_open(path, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(audit_session_spawned(a, &sp), 0);
	audit_close(a);
	l = line_at(0);
	assert_string_equal(str(l, "event"), "spawned");
	assert_string_equal(str(l, "ids"), "unreported");
	assert_null(json_object_get(l, "uid"));
	assert_null(json_object_get(l, "groups"));
	assert_null(json_object_get(l, "init_pid"));
	json_decref(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawned_unreported, setup,
						teardown),
		cmocka_unit_test(test_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
