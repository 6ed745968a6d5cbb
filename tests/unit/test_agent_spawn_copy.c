/*
 * Unit tests for the plan's copy (agent/spawn_copy.c): everything A and B
 * read is in the arena, equal to the plan's, and nothing of the copy
 * points elsewhere; the arena grows for a plan that needs it and a second
 * copy replaces the first; and a process cloned while the agent's memory
 * is trimmed has its own code, libc and the ranges it was given, but no
 * heap, no other library and no other mapping (a read of them is a
 * SIGSEGV, never zeroes), while one cloned after has them back.
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

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
	/* B's own output and its database buffers: at the end of the
	 * arena, past the copy, page-aligned, never written here (zeroes). */
	assert_true((char *)q->out >= a.base + a.used);
	assert_int_equal((uintptr_t)q->out % getpagesize(), 0);
	assert_true(q->db_buf[0] > (char *)q->out);
	assert_true(q->db_buf[1] >= q->db_buf[0] + USERDB_MAX_FILE + 1);
	assert_true(q->db_buf[1] + USERDB_MAX_FILE + 1 <= a.base + a.size);
	assert_int_equal(q->out->home_env[0], 0);
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

/* A child cloned as B is (a raw clone: no fork handlers of libc's run in
 * it, and it returns on this stack) reads *p and exits 0 if it read want,
 * or dies. */
static int child_reads(volatile const char *p, char want)
{
	int status;
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);

	/* Nothing of cmocka's in the child: it is left out. */
	if (pid == 0)
		syscall(SYS_exit_group, *p == want ? 0 : 1);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static bool died_of_segv(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static bool exited_0(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* B keeps its own code, libc and the ranges it is given (A's stack and
 * the arena; this test's stack here); the heap, another library's code
 * and an anonymous mapping of ours are left out: a read of them is a
 * SIGSEGV, never zeroes. Once restored, the next child has everything. */
static void test_left_out(void **state)
{
	static const char own[] = "own";
	uintptr_t page = (uintptr_t)getpagesize(), sp = (uintptr_t)&page;
	struct spawn_range keep[2];
	const char *libc = (const char *)(uintptr_t)&write;
	const char *lib = (const char *)(uintptr_t)&_cmocka_run_group_tests;
	char *heap = malloc(64), *anon, *kept;
	struct spawn_mem m;

#ifdef UNDER_ASAN
	free(heap);
	skip(); /* the spawner leaves nothing out under ASan (its shadow) */
#endif
	assert_non_null(heap);
	strcpy(heap, "heap");
	anon = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	kept = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(anon != MAP_FAILED && kept != MAP_FAILED);
	anon[0] = 'a';
	kept[0] = 'k';
	assert_int_equal(spawn_mem_scan(&m), 0);
	assert_true(m.nkept > 0);
	/* The child runs on this stack: what of it the child touches. */
	keep[0] = (struct spawn_range){ (sp & ~(page - 1)) - 64 * page,
					(sp & ~(page - 1)) + 4 * page };
	keep[1] = (struct spawn_range){ (uintptr_t)kept,
					(uintptr_t)kept + 2 * page };
	if (keep[1].lo < keep[0].lo) {
		struct spawn_range t = keep[0];

		keep[0] = keep[1];
		keep[1] = t;
	}
	spawn_mem_exclude(&m, keep, 2);
	assert_true(m.nout > 0);
	assert_true(exited_0(child_reads(own, 'o')));
	assert_true(exited_0(child_reads(libc, libc[0])));
	assert_true(exited_0(child_reads(kept, 'k')));
	assert_true(died_of_segv(child_reads(heap, 'h')));
	assert_true(died_of_segv(child_reads(anon, 'a')));
	assert_true(died_of_segv(child_reads(lib, lib[0])));
	spawn_mem_restore(&m);
	assert_int_equal(m.nout, 0);
	/* Back in: the next child has them, and this process kept them. */
	assert_true(exited_0(child_reads(heap, 'h')));
	assert_true(exited_0(child_reads(anon, 'a')));
	assert_true(exited_0(child_reads(lib, lib[0])));
	assert_string_equal(heap, "heap");
	munmap(anon, 2 * page);
	munmap(kept, 2 * page);
	free(heap);
}

/* With a preloaded library (it may interpose what B calls), nothing is
 * left out. */
static void test_preload_keeps_all(void **state)
{
	struct spawn_mem m;

	(void)state;
	assert_int_equal(setenv("LD_PRELOAD", "/nonexistent.so", 1), 0);
	assert_int_equal(spawn_mem_scan(&m), -EPERM);
	assert_int_equal(m.nkept, 0);
	spawn_mem_exclude(&m, NULL, 0);
	assert_int_equal(m.nout, 0);
	assert_int_equal(unsetenv("LD_PRELOAD"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_complete),
		cmocka_unit_test(test_copy_grows),
		cmocka_unit_test(test_left_out),
		cmocka_unit_test(test_preload_keeps_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
