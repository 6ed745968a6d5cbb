/*
 * Unit tests for the plan's copy (agent/spawn_copy.c): everything A and B
 * read is in the arena, equal to the plan's, and nothing of the copy
 * points elsewhere; the arena grows for a plan that needs it and a second
 * copy replaces the first; and a process cloned while the heap is left out
 * has no heap at all (a read of it is a SIGSEGV, never zeroes), while one
 * cloned after has it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "confine.h"
#include "initpin.h"
#include "seccomp_profile.h"
#include "spawn_internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct spawn_arena *arena_of_test;

static void assert_in_arena(const void *ptr)
{
	const char *p = ptr, *base = arena_of_test->base;

	assert_non_null(p);
	assert_true(p >= base && p < base + arena_of_test->used);
}

static void assert_strv_copied(char *const *copy, char *const *orig)
{
	size_t i;

	assert_in_arena(copy);
	for (i = 0; orig[i]; i++) {
		assert_in_arena(copy[i]);
		assert_ptr_not_equal(copy[i], orig[i]);
		assert_string_equal(copy[i], orig[i]);
	}
	assert_null(copy[i]);
}

struct fixture {
	struct spawn_plan p;
	struct initpin pin;
	struct confine cf;
	struct seccomp_prog *prog;
	char *cgroups[3];
	gid_t groups[2];
};

/* A plan as spawn_start makes one: every pointer into the heap. */
static void fixture_init(struct fixture *f, char **argv, char **envp,
			 size_t nenv)
{
	static char *paths[] = { "/usr/bin/x", "/bin/x", NULL };
	size_t i;

	memset(f, 0, sizeof(*f));
	f->p.argv = argv;
	f->p.envp = calloc(nenv + 2, sizeof(char *));
	assert_non_null(f->p.envp);
	for (i = 0; i < nenv; i++)
		f->p.envp[i] = envp[i];
	f->p.need_home = true;
	f->p.home_slot = nenv; /* B appends HOME */
	f->p.paths = paths;
	f->p.cwd = "/srv/app";
	f->groups[0] = 10;
	f->groups[1] = 20;
	f->p.groups = f->groups;
	f->p.ngroups = 2;
	f->p.run_as_name = "app";
	f->p.has_caps = true;
	f->p.cap_bounding = 0x1234;
	f->p.report_w = 7;
	f->p.keep[0] = 7;
	f->p.nkeep = 1;
	f->cgroups[0] = strdup("/sys/fs/cgroup/cpu/c1");
	f->cgroups[1] = strdup("/sys/fs/cgroup/unified/c1");
	f->pin.cgroups = f->cgroups;
	f->pin.ncgroups = 2;
	f->pin.pidfd = 5;
	f->pin.cgroup_fds[0] = 9;
	f->pin.cgroup_fds[1] = -1;
	f->pin.cgroup2_fd = 10;
	f->pin.id = "c1";
	f->p.pin = &f->pin;
	f->p.cgroup2_dir = f->cgroups[1];
	f->cf.has_oom = true;
	f->cf.oom_score_adj = 500;
	strcpy(f->cf.selinux_label, "system_u:system_r:container_t:s0");
	f->p.cf = &f->cf;
	f->prog = calloc(1, sizeof(*f->prog) + 3 * sizeof(struct sock_filter));
	assert_non_null(f->prog);
	f->prog->len = 3;
	f->prog->insns[2].k = 0x7fff0000;
	f->p.seccomp = f->prog;
}

static void fixture_free(struct fixture *f)
{
	free(f->p.envp);
	free(f->cgroups[0]);
	free(f->cgroups[1]);
	free(f->prog);
}

static void test_copy_complete(void **state)
{
	char *argv[] = { "sh", "-c", "echo hi", NULL };
	char *envp[] = { "PATH=/bin", "TERM=xterm", NULL };
	struct spawn_arena a = { 0 };
	struct spawn_plan *q = NULL;
	struct fixture f;

	fixture_init(&f, argv, envp, 2);
	assert_int_equal(spawn_plan_copy(&a, &f.p, &q), 0);
	arena_of_test = &a;
	assert_in_arena(q);
	assert_strv_copied(q->argv, argv);
	assert_strv_copied(q->envp, envp);
	/* HOME's slot is there to be written, and the list still ends. */
	assert_null(q->envp[q->home_slot]);
	assert_null(q->envp[q->home_slot + 1]);
	assert_strv_copied(q->paths, f.p.paths);
	assert_in_arena(q->cwd);
	assert_string_equal(q->cwd, "/srv/app");
	assert_in_arena(q->run_as_name);
	assert_string_equal(q->run_as_name, "app");
	assert_in_arena(q->groups);
	assert_int_equal(q->groups[1], 20);
	assert_int_equal(q->ngroups, 2);
	assert_true(q->has_caps);
	assert_int_equal(q->cap_bounding, 0x1234);
	assert_int_equal(q->report_w, 7);
	assert_int_equal(q->keep[0], 7);
	/* The pin: its fds as they are, its names copied, no id. */
	assert_in_arena(q->pin);
	assert_int_equal(q->pin->pidfd, 5);
	assert_int_equal(q->pin->cgroup_fds[0], 9);
	assert_int_equal(q->pin->cgroup2_fd, 10);
	assert_null(q->pin->id);
	assert_strv_copied(q->pin->cgroups, f.cgroups);
	assert_ptr_equal(q->cgroup2_dir, q->pin->cgroups[1]);
	assert_in_arena(q->cf);
	assert_int_equal(q->cf->oom_score_adj, 500);
	assert_string_equal(q->cf->selinux_label, f.cf.selinux_label);
	assert_in_arena(q->seccomp);
	assert_int_equal(q->seccomp->len, 3);
	assert_int_equal(q->seccomp->insns[2].k, 0x7fff0000);
	/* The plan itself is untouched. */
	assert_ptr_equal(f.p.pin, &f.pin);
	assert_ptr_equal(f.p.argv, argv);

	/* A plan without confinement, filter, groups or run_as. */
	f.p.cf = NULL;
	f.p.seccomp = NULL;
	f.p.ngroups = 0;
	f.p.run_as_name = NULL;
	assert_int_equal(spawn_plan_copy(&a, &f.p, &q), 0);
	assert_null(q->cf);
	assert_null(q->seccomp);
	assert_null(q->groups);
	assert_null(q->run_as_name);
	assert_strv_copied(q->argv, argv);
	spawn_arena_free(&a);
	fixture_free(&f);
}

/* An argv larger than the arena's first size: it grows, and holds it. */
static void test_copy_grows(void **state)
{
	enum { N = 40000 };
	char **argv = calloc(N + 1, sizeof(char *));
	char *envp[] = { NULL };
	struct spawn_arena a = { 0 };
	struct spawn_plan *q = NULL;
	struct fixture f;
	size_t first;
	int i;

	assert_non_null(argv);
	for (i = 0; i < N; i++)
		assert_true(asprintf(&argv[i], "argument-%d", i) > 0);
	fixture_init(&f, (char *[]){ "true", NULL }, envp, 0);
	assert_int_equal(spawn_plan_copy(&a, &f.p, &q), 0);
	first = a.size;
	f.p.argv = argv;
	assert_int_equal(spawn_plan_copy(&a, &f.p, &q), 0);
	assert_true(a.size > first);
	arena_of_test = &a;
	assert_strv_copied(q->argv, argv);
	/* And a small one again: the same arena, from its start. */
	f.p.argv = (char *[]){ "true", NULL };
	assert_int_equal(spawn_plan_copy(&a, &f.p, &q), 0);
	assert_ptr_equal(q, a.base);
	assert_string_equal(q->argv[0], "true");
	spawn_arena_free(&a);
	for (i = 0; i < N; i++)
		free(argv[i]);
	free(argv);
	fixture_free(&f);
}

/* A fork's child reads *p and exits 0 with what it read, or dies. */
static int child_reads(volatile const char *p)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(*p == 'h' ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_heap_left_out(void **state)
{
	struct spawn_heap h = { .lo = spawn_heap_start() };
	char *p = malloc(64);
	int status;

	assert_non_null(p);
	/* Sanitizers' allocators are not the brk heap: nothing to show. */
	if (!h.lo || p < h.lo || p >= (char *)sbrk(0)) {
		free(p);
		skip();
	}
	strcpy(p, "heap");
	assert_int_equal(spawn_heap_exclude(&h), 0);
	assert_true(h.len > 0);
	status = child_reads(p);
	spawn_heap_restore(&h);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	assert_int_equal(h.len, 0);
	/* Back in: the next child has the heap, and this one kept it. */
	status = child_reads(p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(p, "heap");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_complete),
		cmocka_unit_test(test_copy_grows),
		cmocka_unit_test(test_heap_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
