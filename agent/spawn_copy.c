/*
 * What process B is born with (spawn_internal.h, "the plan's copy"): the
 * plan and everything it points to, copied into one mapping of the
 * spawner's (the arena) before A starts, and the agent's malloc heap left
 * out of B's address space while A clones it.
 *
 * Why: B is a copy of the monitor's memory. Copying it write-protects
 * every page of the monitor's heap, so after each start the monitor's
 * first write to each heap page it touches is a copy-on-write fault (most
 * of its ~18 faults per start, each 10-30 us on a virtual machine with
 * shadow page tables, more with the TLB shootdown it sends), and B's copy
 * of the heap's page tables is built only to be torn down by its execve.
 * B needs none of the heap: with the plan here, MADV_DONTFORK on the heap
 * during the clone gives B no heap at all, and the monitor's heap pages
 * stay writable. Nothing is shared: B still gets a private copy of the
 * rest (the arena, A's stack, the libraries' data), and a read of the
 * heap in B that this file forgot would be a SIGSEGV that fails the
 * start, never stale or zeroed data.
 *
 * Only a start whose A shares the agent's memory does this (spawn_plan.c):
 * a forking A runs on the agent's stack and heap, and takes them whole.
 */
#include "spawn_internal.h"

#include "confine.h"
#include "initpin.h"
#include "readfile.h"
#include "seccomp_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_ALIGN 16
/* The arena's first size; it grows (a new mapping) for a start that needs
 * more, which only a huge argv, env or PATH does. */
#define ARENA_INITIAL (256 * 1024)

/* ---- the arena ---------------------------------------------------------- */

void spawn_arena_free(struct spawn_arena *a)
{
	if (a->base)
		munmap(a->base, a->size);
	a->base = NULL;
	a->size = a->used = 0;
}

/* Room for need bytes, from the start: the previous copy is dropped. */
static int arena_reset(struct spawn_arena *a, size_t need)
{
	size_t size = a->size ? a->size : ARENA_INITIAL;
	char *base;

	while (size < need) {
		if (size > SIZE_MAX / 2)
			return -E2BIG;
		size *= 2;
	}
	if (size != a->size) {
		base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED)
			return -ENOMEM;
		spawn_arena_free(a);
		a->base = base;
		a->size = size;
	}
	a->used = 0;
	return 0;
}

static size_t align_up(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

/* n bytes of the arena (reset with room enough: cannot fail). */
static void *arena_take(struct spawn_arena *a, size_t n)
{
	void *p = a->base + a->used;

	a->used += align_up(n);
	return p;
}

static char *arena_str(struct spawn_arena *a, const char *s)
{
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	return memcpy(arena_take(a, n), s, n);
}

/* A NULL-terminated list of n strings (n counts them; slots beyond the
 * strings up to room stay NULL). */
static char **arena_strv(struct spawn_arena *a, char *const *v, size_t n,
			 size_t room)
{
	char **out;
	size_t i;

	if (!v)
		return NULL;
	out = arena_take(a, (room + 1) * sizeof(*out));
	memset(out, 0, (room + 1) * sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = arena_str(a, v[i]);
	return out;
}

/* ---- sizes ---------------------------------------------------------------- */

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static size_t str_size(const char *s)
{
	return s ? align_up(strlen(s) + 1) : 0;
}

static size_t strv_size(char *const *v, size_t room)
{
	size_t n = align_up((room + 1) * sizeof(char *)), i;

	for (i = 0; v && v[i]; i++)
		n += str_size(v[i]);
	return n;
}

static size_t prog_size(const struct seccomp_prog *prog)
{
	return sizeof(*prog) + (size_t)prog->len * sizeof(prog->insns[0]);
}

/* The envp array's slots: its strings, HOME's slot, the NULL. */
static size_t envp_room(const struct spawn_plan *p)
{
	size_t n = strv_len(p->envp);

	return p->home_slot >= n ? n + 1 : n;
}

static size_t copy_size(const struct spawn_plan *p)
{
	const struct initpin *pin = p->pin;
	size_t n = align_up(sizeof(*p)), i;

	n += strv_size(p->argv, strv_len(p->argv));
	n += strv_size(p->envp, envp_room(p));
	n += strv_size(p->paths, strv_len(p->paths));
	n += str_size(p->cwd) + str_size(p->run_as_name);
	n += align_up(p->ngroups * sizeof(gid_t));
	n += align_up(sizeof(*pin)) +
	     align_up((pin->ncgroups + 1) * sizeof(char *));
	for (i = 0; i < pin->ncgroups; i++)
		n += str_size(pin->cgroups[i]);
	if (p->cf)
		n += align_up(sizeof(*p->cf));
	if (p->seccomp)
		n += align_up(prog_size(p->seccomp));
	return n;
}

/* ---- the copy --------------------------------------------------------------- */

static const struct initpin *pin_copy(struct spawn_arena *a,
				      const struct initpin *pin,
				      const char **cgroup2_dir)
{
	struct initpin *q = arena_take(a, sizeof(*q));
	size_t i;

	*q = *pin;
	q->id = NULL; /* the cache's business, not B's */
	q->cgroups = arena_take(a, (pin->ncgroups + 1) * sizeof(char *));
	for (i = 0; i < pin->ncgroups; i++) {
		q->cgroups[i] = arena_str(a, pin->cgroups[i]);
		if (*cgroup2_dir == pin->cgroups[i])
			*cgroup2_dir = q->cgroups[i];
	}
	q->cgroups[pin->ncgroups] = NULL;
	return q;
}

int spawn_plan_copy(struct spawn_arena *a, const struct spawn_plan *p,
		    struct spawn_plan **out)
{
	struct spawn_plan *q;
	size_t room;
	int rc;

	rc = arena_reset(a, copy_size(p));
	if (rc < 0)
		return rc;
	q = arena_take(a, sizeof(*q));
	*q = *p;
	q->argv = arena_strv(a, p->argv, strv_len(p->argv), strv_len(p->argv));
	room = envp_room(p);
	q->envp = arena_strv(a, p->envp, strv_len(p->envp), room);
	q->paths =
		arena_strv(a, p->paths, strv_len(p->paths), strv_len(p->paths));
	q->cwd = arena_str(a, p->cwd);
	q->run_as_name = arena_str(a, p->run_as_name);
	if (p->ngroups) {
		gid_t *g = arena_take(a, p->ngroups * sizeof(gid_t));

		memcpy(g, p->groups, p->ngroups * sizeof(gid_t));
		q->groups = g;
	} else {
		q->groups = NULL;
	}
	q->pin = pin_copy(a, p->pin, &q->cgroup2_dir);
	if (p->cf) {
		struct confine *cf = arena_take(a, sizeof(*cf));

		*cf = *p->cf;
		q->cf = cf;
	}
	if (p->seccomp)
		q->seccomp = memcpy(arena_take(a, prog_size(p->seccomp)),
				    p->seccomp, prog_size(p->seccomp));
	*out = q;
	return 0;
}

/* ---- the heap, out of B's copy ------------------------------------------- */

/* The start of the [heap] mapping, from /proc/self/maps; NULL if none. */
char *spawn_heap_start(void)
{
	char *maps, *line, *end, *next;
	unsigned long lo = 0;
	size_t len;

	if (read_file_at(AT_FDCWD, "/proc/self/maps", 4 << 20, &maps, &len,
			 NULL))
		return NULL;
	for (line = maps; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		end = line + strlen(line);
		if (end - line > 6 && !strcmp(end - 6, "[heap]")) {
			lo = strtoul(line, NULL, 16);
			break;
		}
	}
	free(maps);
	return (char *)lo;
}

/* Leave the heap out of the children cloned from now on (MADV_DONTFORK
 * over [h->lo, the break rounded up to a page)), until
 * spawn_heap_restore(), which is due even when this failed: a failed
 * madvise may have changed part of the range. 0 or -errno. */
int spawn_heap_exclude(struct spawn_heap *h)
{
	uintptr_t page = (uintptr_t)getpagesize(),
		  hi = ((uintptr_t)sbrk(0) + page - 1) & ~(page - 1);

	h->len = 0;
	if (!h->lo || hi <= (uintptr_t)h->lo)
		return -ENOENT;
	h->len = hi - (uintptr_t)h->lo;
	if (madvise(h->lo, h->len, MADV_DONTFORK))
		return -errno;
	return 0;
}

void spawn_heap_restore(struct spawn_heap *h)
{
	/* The same range: nothing allocates while A runs. */
	if (h->len)
		madvise(h->lo, h->len, MADV_DOFORK);
	h->len = 0;
}
