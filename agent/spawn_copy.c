/*
 * What process B is born with (spawn_internal.h, "the plan's copy"): the
 * plan and everything it points to, copied into one mapping of the
 * spawner's (the arena) before A starts, and of the agent's address space
 * only what B runs on: its own code (the program's mappings, with their
 * data and bss), libc, the dynamic linker, the thread's TLS block and
 * control block, the vDSO, A's stack and the arena. Everything else (the
 * malloc heap, every other library, the other anonymous mappings, the
 * main stack) is MADV_DONTFORK while A clones B.
 *
 * Why: B is a copy of the monitor's memory. Copying a mapping costs its
 * VMA and page tables, and B's execve tears all of it down again; copying
 * a written page write-protects it in the monitor, whose next write to it
 * is a copy-on-write fault (10-30 us on a virtual machine with shadow
 * page tables, more with the TLB shootdown it sends). B needs none of it:
 * its code calls only libc (the program is linked with -z now, so no
 * symbol is ever looked up in B; with a preloaded library, which may
 * interpose what B calls, nothing is left out), and it reads only the
 * plan's copy. libc's own 14 lazy PLT slots (realloc, calloc, ld.so's
 * private _dl_* and __tls_get_addr) are never reached by what B calls;
 * a lookup there would need ld.so's link maps, and is not checked. What
 * is left out is left out whole: nothing is shared, B still gets a
 * private copy of what it keeps, and a read in B of anything left out is
 * a SIGSEGV that fails the start, never stale or zeroed data.
 *
 * What B keeps is found once (spawn_mem_scan: dl_iterate_phdr for the
 * objects, /proc/self/maps for their whole mappings), and each start marks
 * the gaps between those ranges, whatever is mapped there then: a few
 * madvise calls before the clone and as many after it. Only a start whose
 * A shares the agent's memory does this (spawn_plan.c): a forking A runs
 * on the agent's stack and heap, and takes them whole.
 */
#include "spawn_internal.h"

#include "confine.h"
#include "initpin.h"
#include "readfile.h"
#include "seccomp_profile.h"
#include "execfs/log.h"

#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARENA_ALIGN 16
/* The arena's first size for the copy (its tail comes on top); it grows (a
 * new mapping) for a start that needs more, which only a huge argv, env or
 * PATH does. */
#define ARENA_INITIAL (256 * 1024)

/* ---- the arena ---------------------------------------------------------- */

void spawn_arena_free(struct spawn_arena *a)
{
	if (a->base)
		munmap(a->base, a->size);
	a->base = NULL;
	a->size = a->used = 0;
}

static size_t tail_size(void);

/* Room for need bytes, from the start, and the tail after them: the
 * previous copy is dropped. */
static int arena_reset(struct spawn_arena *a, size_t need)
{
	size_t size = a->size ? a->size : ARENA_INITIAL + tail_size();
	char *base;

	if (need > SIZE_MAX - tail_size())
		return -E2BIG;
	need += tail_size();

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

static size_t page_up(size_t n)
{
	size_t page = (size_t)getpagesize();

	return (n + page - 1) & ~(page - 1);
}

/* The end of the arena, which we never write: B's own output and B4's
 * buffers. B's writes there are its own zeroed pages; none of it is ever
 * in our memory, so none of it is copied or write-protected by B's clone
 * (as every page of the plan's copy is, our next write to it being a
 * copy-on-write fault). */
static size_t tail_size(void)
{
	return page_up(sizeof(struct spawn_b_out)) +
	       2 * page_up(USERDB_MAX_FILE + 1);
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
	/* At the very end of the mapping: the copy, however large, stops
	 * short of it, and a bigger one gets a new mapping. */
	q->out = (struct spawn_b_out *)(a->base + a->size - tail_size());
	q->db_buf[0] = (char *)q->out + page_up(sizeof(*q->out));
	q->db_buf[1] = q->db_buf[0] + page_up(USERDB_MAX_FILE + 1);
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

/* ---- B's address space: what it is born with ---------------------------- */

/* A mapping B keeps: of a loaded object (the program, libc, the dynamic
 * linker), by its PT_LOAD segments. */
struct kept_objects {
	struct spawn_range seg[SPAWN_MAX_KEPT];
	size_t n;
	uintptr_t tls[SPAWN_MAX_KEPT]; /* this thread's TLS blocks of them */
	size_t ntls;
	uintptr_t interp; /* the dynamic linker's load address */
	bool bind_now; /* the program's symbols are bound at start */
};

static bool is_libc(const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return !strncmp(base, "libc.so", 7);
}

/* Whether the program binds every symbol at start (-z now). Lazily bound,
 * its first call of a function would look the symbol up in every loaded
 * object, in B too: then nothing can be left out. */
static bool binds_now(const struct dl_phdr_info *info)
{
	const ElfW(Dyn) *d = NULL;
	int i;

	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			d = (const ElfW(Dyn) *)(info->dlpi_addr +
						info->dlpi_phdr[i].p_vaddr);
	for (; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_BIND_NOW ||
		    (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_BIND_NOW)) ||
		    (d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_NOW)))
			return true;
	return false;
}

static int kept_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct kept_objects *k = arg;
	uintptr_t page = (uintptr_t)getpagesize(), lo, hi;
	int i;

	/* The program is listed first, as "". */
	if (k->n == 0 && info->dlpi_name && !info->dlpi_name[0])
		k->bind_now = binds_now(info);
	if (!(k->n == 0 && info->dlpi_name && !info->dlpi_name[0]) &&
	    !(info->dlpi_name && is_libc(info->dlpi_name)) &&
	    !(k->interp && info->dlpi_addr == k->interp))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || k->n == SPAWN_MAX_KEPT)
			continue;
		/* memsz: the anonymous pages of the bss too. */
		lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) &
		     ~(page - 1);
		k->seg[k->n++] = (struct spawn_range){ lo, hi };
	}
	if (size >= offsetof(struct dl_phdr_info, dlpi_tls_data) +
			    sizeof(info->dlpi_tls_data) &&
	    info->dlpi_tls_data && k->ntls < SPAWN_MAX_KEPT)
		k->tls[k->ntls++] = (uintptr_t)info->dlpi_tls_data;
	return 0;
}

static bool overlaps(const struct kept_objects *k, uintptr_t lo, uintptr_t hi)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->seg[i].lo < hi && lo < k->seg[i].hi)
			return true;
	for (i = 0; i < k->ntls; i++)
		if (k->tls[i] >= lo && k->tls[i] < hi)
			return true;
	return false;
}

/* The kernel's own mappings ([vdso], [vvar], [uprobes], ...) are kept:
 * some (VM_IO, VM_PFNMAP) refuse MADV_DONTFORK, and B may need the vDSO.
 * Only the heap and the stack are ours to leave out. */
static bool is_special(const char *name)
{
	return name[0] == '[' && strcmp(name, "[heap]") != 0 &&
	       strncmp(name, "[stack", 6) != 0;
}

static void kept_add(struct spawn_mem *m, uintptr_t lo, uintptr_t hi)
{
	if (m->nkept && m->kept[m->nkept - 1].hi >= lo) {
		if (hi > m->kept[m->nkept - 1].hi)
			m->kept[m->nkept - 1].hi = hi;
		return;
	}
	if (m->nkept < SPAWN_MAX_KEPT)
		m->kept[m->nkept++] = (struct spawn_range){ lo, hi };
}

int spawn_mem_scan(struct spawn_mem *m)
{
	struct kept_objects k = { .interp = getauxval(AT_BASE) };
	char *maps, *line, *next, *name;
	unsigned long lo, hi;
	struct stat st;
	size_t len;
	int rc;

	memset(m, 0, sizeof(*m));
	/* A preloaded library may interpose what B calls, from memory that
	 * is not kept: leave nothing out. */
	if ((getenv("LD_PRELOAD") && *getenv("LD_PRELOAD")) ||
	    (stat("/etc/ld.so.preload", &st) == 0 && st.st_size > 0))
		return -EPERM;
	dl_iterate_phdr(kept_object, &k);
	/* The thread's control block: errno, the stack guard. */
	if (k.ntls < SPAWN_MAX_KEPT)
		k.tls[k.ntls++] = (uintptr_t)__builtin_thread_pointer();
	if (!k.n)
		return -ENOENT;
	if (!k.bind_now)
		return -ENOTSUP;
	rc = read_file_at(AT_FDCWD, "/proc/self/maps", 4 << 20, &maps, &len,
			  NULL);
	if (rc)
		return rc < 0 ? rc : -EIO;
	for (line = maps; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || hi <= lo)
			continue;
		if (lo >= SPAWN_USER_TOP)
			continue; /* [vsyscall]: no mapping of ours */
		if (hi > m->top)
			m->top = hi;
		if (!m->bottom || lo < m->bottom)
			m->bottom = lo;
		name = strchr(line, '/');
		if (!name)
			name = strchr(line, '[');
		/* Whole mappings, so that no madvise splits one. */
		if (overlaps(&k, lo, hi) || (name && is_special(name)))
			kept_add(m, lo, hi);
	}
	free(maps);
	if (m->nkept == SPAWN_MAX_KEPT) {
		m->nkept = 0; /* too many to be sure of: leave nothing out */
		return -E2BIG;
	}
	return 0;
}

/* kept and extra (each sorted, page-aligned), merged into out. */
static size_t merge_kept(const struct spawn_mem *m,
			 const struct spawn_range *extra, size_t nextra,
			 struct spawn_range *out)
{
	size_t i = 0, j = 0, n = 0;
	struct spawn_range r;

	while (i < m->nkept || j < nextra) {
		if (j == nextra ||
		    (i < m->nkept && m->kept[i].lo <= extra[j].lo))
			r = m->kept[i++];
		else
			r = extra[j++];
		if (n && out[n - 1].hi >= r.lo) {
			if (r.hi > out[n - 1].hi)
				out[n - 1].hi = r.hi;
		} else {
			out[n++] = r;
		}
	}
	return n;
}

/* A madvise over a gap failed (other than for its holes, ENOMEM): it
 * stopped at a mapping that refuses it, and those after it are unmarked.
 * Every mapping in the gaps gets MADV_DOFORK back, one at a time, so that
 * the agent's real forks copy them, and from now on nothing is left
 * out. */
static void mem_give_up(struct spawn_mem *m, const char *what)
{
	char *maps = NULL, *line, *next;
	unsigned long lo, hi;
	size_t i;
	int err = errno;

	if (!read_file_at(AT_FDCWD, "/proc/self/maps", 4 << 20, &maps, NULL,
			  NULL))
		for (line = maps; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
				continue;
			for (i = 0; i < m->nout; i++) {
				uintptr_t a = lo > m->out[i].lo ? lo :
								  m->out[i].lo;
				uintptr_t b = hi < m->out[i].hi ? hi :
								  m->out[i].hi;

				if (a < b)
					madvise((void *)a, b - a, MADV_DOFORK);
			}
		}
	free(maps);
	m->nout = 0;
	m->nkept = 0;
	log_warn("spawn: %s: %s: each process entering a container gets a "
		 "copy of all our memory from now on",
		 what, strerror(err));
}

void spawn_mem_exclude(struct spawn_mem *m, const struct spawn_range *extra,
		       size_t nextra)
{
	struct spawn_range all[SPAWN_MAX_KEPT + SPAWN_MAX_EXTRA];
	uintptr_t lo = m->bottom;
	size_t n, i;

	m->nout = 0;
	if (!m->nkept || nextra > SPAWN_MAX_EXTRA)
		return;
	n = merge_kept(m, extra, nextra, all);
	/* Every gap between what B keeps, from the lowest mapping to the top
	 * of the highest: whatever is mapped there now. A gap with holes
	 * answers ENOMEM once every mapping in it is marked. */
	for (i = 0; i <= n; i++) {
		uintptr_t hi = i < n ? all[i].lo : m->top;

		if (hi > lo) {
			m->out[m->nout++] = (struct spawn_range){ lo, hi };
			if (madvise((void *)lo, hi - lo, MADV_DONTFORK) < 0 &&
			    errno != ENOMEM) {
				mem_give_up(m, "MADV_DONTFORK");
				return;
			}
		}
		if (i < n)
			lo = all[i].hi;
	}
}

void spawn_mem_restore(struct spawn_mem *m)
{
	size_t i;

	/* The same gaps: nothing maps or unmaps while A runs. */
	for (i = 0; i < m->nout; i++)
		if (madvise((void *)m->out[i].lo, m->out[i].hi - m->out[i].lo,
			    MADV_DOFORK) < 0 &&
		    errno != ENOMEM) {
			mem_give_up(m, "MADV_DOFORK");
			return;
		}
	m->nout = 0;
}
