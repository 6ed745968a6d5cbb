/*
 * Unit tests for session directories in the tree (fs/tree.c): clone-style
 * creation with numbers from 1, the bound on ended sessions (oldest
 * forgotten first, the current one always kept), forget's EBUSY/ENOENT,
 * and which session a file speaks for; the node's own entry, .host. No FUSE session: the tree runs with
 * `unmounting` set, so it sends no kernel notifications.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"
#include "snapshot.h"
#include "tree.h"

struct fixture {
	struct execfs fs;
	struct inode *ctdir;
};

static int setup(void **state)
{
	static const char line[] = "{\"node\": \"n1\", \"containers\": "
				   "[{\"id\": \"c1\", \"namespace\": "
				   "\"default\", \"pod\": \"web-1\", "
				   "\"name\": \"box\"}]}";
	static struct fixture f;
	struct snapshot snap;
	struct inode *n, *ns, *pod;
	char why[64];

	memset(&f, 0, sizeof(f));
	f.fs.unmounting = true;
	f.fs.history_cap = 4096;
	f.fs.tree = tree_new(&f.fs);
	assert_non_null(f.fs.tree);
	assert_int_equal(
		snapshot_parse(line, strlen(line), &snap, why, sizeof(why)), 0);
	assert_int_equal(snap.n, 1);
	tree_snapshot(f.fs.tree, (struct node *)&f, "n1", &snap);
	snapshot_release(&snap);
	n = inode_child(tree_root(f.fs.tree), "n1");
	ns = n ? inode_child(n, "default") : NULL;
	pod = ns ? inode_child(ns, "web-1") : NULL;
	f.ctdir = pod ? inode_child(pod, "box") : NULL;
	assert_non_null(f.ctdir);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tree_free(f->fs.tree);
	return 0;
}

static size_t count_sessions(struct inode *ctdir)
{
	const struct inode *c = NULL;
	size_t n = 0;

	while ((c = inode_next_child(ctdir, c)))
		if (inode_kind(c) == INODE_SESSION)
			n++;
	return n;
}

static struct session *new_session(struct fixture *f)
{
	struct session *s = NULL;

	assert_int_equal(tree_session_new(f->fs.tree, f->ctdir,
					  f->fs.history_cap, &s),
			 0);
	assert_non_null(s);
	return s;
}

static void test_numbers_and_files(void **state)
{
	struct fixture *f = *state;
	struct session *s1 = new_session(f), *s2 = new_session(f);
	struct inode *d1 = inode_child(f->ctdir, "1"), *d2;
	struct inode *out;

	assert_int_equal(session_num(s1), 1);
	assert_int_equal(session_num(s2), 2);
	d2 = inode_child(f->ctdir, "2");
	assert_non_null(d1);
	assert_non_null(d2);
	assert_ptr_equal(inode_session(d1), s1);
	assert_ptr_equal(inode_session_dir(d1), s1);
	out = inode_child(d2, "stdout");
	assert_non_null(out);
	assert_null(inode_child(d2, "clone"));
	assert_null(inode_child(d2, "info"));
	/* N/'s files speak for N; container files for the current one. */
	assert_ptr_equal(inode_session(out), s2);
	assert_ptr_equal(inode_container_dir(out), f->ctdir);
	assert_null(inode_session(inode_child(f->ctdir, "stdout")));
	assert_null(inode_session_dir(inode_child(f->ctdir, "stdout")));
	assert_string_equal(ctdir_id(inode_ctdir(out)), "c1");
}

/* Feed one snapshot line for node n1. */
static void feed(struct fixture *f, const char *line)
{
	struct snapshot snap;
	char why[64];

	assert_int_equal(
		snapshot_parse(line, strlen(line), &snap, why, sizeof(why)), 0);
	tree_snapshot(f->fs.tree, (struct node *)f, "n1", &snap);
	snapshot_release(&snap);
}

/* The node's own entry is <node>/.host, a container directory; only the
 * entry marked "host" with the id .host goes there (another claiming a
 * dot namespace shows under default), and it goes when it leaves the
 * list. */
static void test_host_dir(void **state)
{
	struct fixture *f = *state;
	struct inode *n = inode_child(tree_root(f->fs.tree), "n1"), *h;
	const struct inode *c = NULL;
	size_t files = 0;

	feed(f, "{\"node\": \"n1\", \"containers\": ["
		"{\"id\": \".host\", \"host\": true, \"namespace\": "
		"\".host\", \"pod\": \".host\", \"name\": \".host\"},"
		"{\"id\": \"c2\", \"host\": true, \"namespace\": "
		"\".host\", \"pod\": \"p\", \"name\": \"x\"},"
		"{\"id\": \"c1\", \"namespace\": \"default\", "
		"\"pod\": \"web-1\", \"name\": \"box\"}]}");
	h = inode_child(n, ".host");
	assert_non_null(h);
	assert_int_equal(inode_kind(h), INODE_CONTAINER);
	assert_string_equal(ctdir_id(inode_ctdir(h)), ".host");
	while ((c = inode_next_child(h, c)))
		files += inode_kind(c) == INODE_FILE;
	assert_int_equal(files, FILE_CONTAINER_NKINDS);
	assert_non_null(inode_child(h, "ctl"));
	assert_non_null(
		inode_child(inode_child(inode_child(n, "default"), "p"), "x"));
	assert_ptr_equal(
		inode_child(inode_child(inode_child(n, "default"), "web-1"),
			    "box"),
		f->ctdir);
	/* Listed again: the same directory. */
	feed(f, "{\"node\": \"n1\", \"containers\": ["
		"{\"id\": \".host\", \"host\": true},"
		"{\"id\": \"c1\", \"namespace\": \"default\", "
		"\"pod\": \"web-1\", \"name\": \"box\"}]}");
	assert_ptr_equal(inode_child(n, ".host"), h);
	assert_null(inode_child(inode_child(n, "default"), "p"));
	/* Without "host", .host is an ordinary id; gone from the list, the
	 * node's directory goes. */
	feed(f, "{\"node\": \"n1\", \"containers\": ["
		"{\"id\": \".host\", \"namespace\": \"default\", "
		"\"pod\": \"a\", \"name\": \"b\"},"
		"{\"id\": \"c1\", \"namespace\": \"default\", "
		"\"pod\": \"web-1\", \"name\": \"box\"}]}");
	assert_null(inode_child(n, ".host"));
	assert_non_null(
		inode_child(inode_child(inode_child(n, "default"), "a"), "b"));
	assert_non_null(inode_child(n, ".status"));
}

static void test_forget(void **state)
{
	struct fixture *f = *state;
	struct session *s = new_session(f);
	char name[16];

	snprintf(name, sizeof(name), "%u", session_num(s));
	session_get(s);
	assert_int_equal(tree_session_forget(f->fs.tree, f->ctdir, s), -EBUSY);
	session_fail(s, EIO, "ended for the test");
	assert_true(session_ended(s));
	assert_int_equal(tree_session_forget(f->fs.tree, f->ctdir, s), 0);
	assert_null(inode_child(f->ctdir, name));
	assert_int_equal(tree_session_forget(f->fs.tree, f->ctdir, s), -ENOENT);
	session_put(s);
}

static void test_ended_bounded(void **state)
{
	struct fixture *f = *state;
	struct ctdir *ct = inode_ctdir(f->ctdir);
	struct session *cur = new_session(f), *running = new_session(f), *s;
	unsigned first = 0;
	int i;

	/* The oldest session is current and ended: it is kept throughout. */
	session_hold(cur);
	ctdir_set_current(ct, cur);
	session_fail(cur, EIO, "ended for the test");
	for (i = 0; i < 40; i++) {
		s = new_session(f);
		if (!first)
			first = session_num(s);
		session_fail(s, EIO, "ended for the test");
	}
	/* Each creation trimmed the ended ones to 15 before adding one: 16
	 * ended, plus the current and the running one. */
	assert_int_equal(count_sessions(f->ctdir), 16 + 1 + 1);
	assert_non_null(inode_child(f->ctdir, "1"));
	assert_non_null(inode_child(f->ctdir, "2"));
	assert_int_equal(session_state(running), SESSION_NEW);
	{
		char name[16];

		snprintf(name, sizeof(name), "%u", first);
		assert_null(inode_child(f->ctdir, name));
		snprintf(name, sizeof(name), "%u", session_num(s));
		assert_non_null(inode_child(f->ctdir, name));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numbers_and_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ended_bounded, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
