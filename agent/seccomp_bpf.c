/*
 * Compiling a decoded seccomp profile (seccomp_internal.h) into the BPF
 * program runc would load, and installing one (seccomp_profile.h says the steps
 * and why). libseccomp builds the filter; its program is exported through
 * a memfd (libseccomp 2.5 exports only to an fd) and runc's -ENOSYS stub is
 * put in front of it. Runs in the root monitor, before any fork; only
 * seccomp_prog_install() runs in a child.
 */
#include "seccomp_internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The stub has a few instructions per architecture: this is plenty. */
#define STUB_MAX 512
#define X32_SYSCALL_BIT 0x40000000U

/* Offsets in struct seccomp_data. */
#define SD_NR 0
#define SD_ARCH 4

struct stub {
	struct sock_filter v[STUB_MAX];
	size_t n;
};

/* Put ins (n of them) in front of what s holds. */
static int stub_prepend(struct stub *s, const struct sock_filter *ins, size_t n)
{
	if (s->n + n > STUB_MAX)
		return -E2BIG;
	memmove(s->v + n, s->v, s->n * sizeof(s->v[0]));
	memcpy(s->v, ins, n * sizeof(ins[0]));
	s->n += n;
	return 0;
}

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off)
#define JA(k) BPF_STMT(BPF_JMP | BPF_JA, k)
#define RET(k) BPF_STMT(BPF_RET | BPF_K, k)
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, t, f)
#define JGT(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, k, t, f)
#define JSET(k, t, f) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, k, t, f)

/* The largest syscall number of the profile per kernel architecture
 * (AUDIT_ARCH_*), and per libseccomp architecture within it: x86_64 and
 * x32 share AUDIT_ARCH_X86_64 and tell apart by bit 30 of the number. */
struct last_sys {
	uint32_t audit;
	size_t nsub;
	struct {
		uint32_t arch;
		int sysno;
	} sub[2];
};

static uint32_t audit_arch(uint32_t arch)
{
	/* libseccomp's tokens are AUDIT_ARCH_* values but for x32's. */
	return arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch;
}

/* runc's findLastSyscalls(): only the profile's own architectures; one
 * where no syscall of the profile is known stays, with no entry. */
static size_t find_last(const struct seccomp_profile *p, struct last_sys *ls)
{
	size_t n = 0, i, k, r;
	int sysno, largest;

	for (i = 0; i < p->narches; i++) {
		uint32_t audit = audit_arch(p->arches[i]);

		for (k = 0; k < n && ls[k].audit != audit; k++)
			;
		if (k == n) {
			memset(&ls[n], 0, sizeof(ls[n]));
			ls[n++].audit = audit;
		}
		for (r = 0; r < ls[k].nsub; r++)
			if (ls[k].sub[r].arch == p->arches[i])
				break;
		if (r < ls[k].nsub || ls[k].nsub == 2)
			continue;
		largest = 0;
		for (r = 0; r < p->nrules; r++) {
			sysno = seccomp_syscall_resolve_name_arch(
				p->arches[i], p->rules[r].name);
			if (sysno > largest)
				largest = sysno;
		}
		if (largest) {
			ls[k].sub[ls[k].nsub].arch = p->arches[i];
			ls[k].sub[ls[k].nsub++].sysno = largest;
		}
	}
	return n;
}

static int stub_section(struct stub *tail, const struct last_sys *ls,
			uint32_t enosys)
{
	uint32_t base_enosys = (uint32_t)tail->n - 1,
		 base_filter = base_enosys + 1;
	struct sock_filter sec[16], st[8];
	size_t ns = 0, nt = 0, i;
	uint32_t x86 = 0, x32 = 0;
	bool have86 = false, have32 = false;

	sec[ns++] = (struct sock_filter)LD(SD_NR);
	if (ls->nsub == 1) {
		uint32_t arch = ls->sub[0].arch,
			 sysno = (uint32_t)ls->sub[0].sysno;

		/* s390's setup(2), number 0, multiplexes large numbers: an
		 * unknown one arrives as 0. */
		if (arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X) {
			sec[ns++] = (struct sock_filter)JEQ(0, 0, 1);
			sec[ns++] = (struct sock_filter)RET(enosys);
		}
		if (base_enosys + 1 <= 255) {
			st[nt++] = (struct sock_filter)JGT(sysno,
							   base_enosys + 1, 0);
			st[nt++] = (struct sock_filter)JA(base_filter);
		} else {
			st[nt++] = (struct sock_filter)JGT(sysno, 0, 1);
			st[nt++] = (struct sock_filter)RET(enosys);
			st[nt++] = (struct sock_filter)JA(base_filter);
		}
		if (ls->audit == AUDIT_ARCH_X86_64) {
			/* Skip the section in the other mode (bit 30). */
			memmove(st + 1, st, nt * sizeof(st[0]));
			st[0] = arch == SCMP_ARCH_X32 ?
					(struct sock_filter)JSET(
						X32_SYSCALL_BIT, 0, nt - 1) :
					(struct sock_filter)JSET(
						X32_SYSCALL_BIT, nt - 1, 0);
			nt++;
		}
		memcpy(sec + ns, st, nt * sizeof(st[0]));
		ns += nt;
	} else {
		if (ls->audit != AUDIT_ARCH_X86_64)
			return -EINVAL;
		for (i = 0; i < 2; i++) {
			if (ls->sub[i].arch == SCMP_ARCH_X32) {
				x32 = (uint32_t)ls->sub[i].sysno;
				have32 = true;
			} else if (ls->sub[i].arch == SCMP_ARCH_X86_64) {
				x86 = (uint32_t)ls->sub[i].sysno;
				have86 = true;
			}
		}
		if (!have86 || !have32)
			return -EINVAL;
		sec[ns++] = (struct sock_filter)JSET(X32_SYSCALL_BIT, 1, 0);
		if (base_enosys + 2 <= 255) {
			sec[ns++] = (struct sock_filter)JGT(x86,
							    base_enosys + 2, 1);
			sec[ns++] = (struct sock_filter)JGT(x32,
							    base_enosys + 1, 0);
		} else {
			sec[ns++] = (struct sock_filter)JGT(x86, 1, 2);
			sec[ns++] = (struct sock_filter)JGT(x32, 0, 1);
			sec[ns++] = (struct sock_filter)RET(enosys);
		}
		sec[ns++] = (struct sock_filter)JA(base_filter);
	}
	return stub_prepend(tail, sec, ns);
}

/*
 * runc's generateEnosysStub(): load the architecture, jump to its
 * section, where a number above the largest known returns ENOSYS and any
 * other falls through to the filter. The program ends up as:
 *   ld arch; (jeq ARCH, section)*; ja filter;
 *   (ld nr; [x32 check]; jgt LARGEST, enosys; ja filter)*;
 *   ja filter; ret ERRNO(ENOSYS); filter...
 */
static int stub_build(const struct seccomp_profile *p, struct stub *tail)
{
	const uint32_t enosys = SCMP_ACT_ERRNO(ENOSYS);
	struct last_sys ls[64];
	uint32_t jump_from_end[64];
	struct sock_filter ins[2];
	size_t n, i;
	uint32_t jump;
	int rc;

	tail->n = 0;
	/* Not when the default already lets unknown syscalls through, and
	 * not when it is ENOSYS: runc's check compares defaultErrnoRet with
	 * the whole action value, which no errno equals, so it never skips
	 * here; kept as runc has it. */
	if (p->dflt.kind == SC_ALLOW || p->dflt.kind == SC_LOG ||
	    p->dflt.kind == SC_TRACE)
		return 0;
	if (p->dflt.has_ret && p->dflt.ret == enosys)
		return 0;
	n = find_last(p, ls);
	ins[0] = (struct sock_filter)JA(1);
	ins[1] = (struct sock_filter)RET(enosys);
	rc = stub_prepend(tail, ins, 2);
	for (i = 0; i < n && !rc; i++) {
		jump_from_end[i] = 0;
		if (!ls[i].nsub)
			continue;
		rc = stub_section(tail, &ls[i], enosys);
		jump_from_end[i] = (uint32_t)tail->n;
	}
	if (rc)
		return rc;
	ins[0] = (struct sock_filter)JA((uint32_t)tail->n);
	rc = stub_prepend(tail, ins, 1);
	for (i = 0; i < n && !rc; i++) {
		jump = (uint32_t)tail->n - jump_from_end[i];
		if (jump <= 255) {
			ins[0] = (struct sock_filter)JEQ(ls[i].audit, jump, 0);
			rc = stub_prepend(tail, ins, 1);
		} else {
			ins[0] = (struct sock_filter)JEQ(ls[i].audit, 0, 1);
			ins[1] = (struct sock_filter)JA(jump);
			rc = stub_prepend(tail, ins, 2);
		}
	}
	ins[0] = (struct sock_filter)LD(SD_ARCH);
	return rc ? rc : stub_prepend(tail, ins, 1);
}

static int add_rule(scmp_filter_ctx ctx, const struct sc_rule *r, uint32_t dflt,
		    char *err, size_t errlen)
{
	struct scmp_arg_cmp conds[SECCOMP_MAX_ARGS];
	unsigned count[6] = { 0 };
	uint32_t act = sc_action_value(&r->act);
	bool one_each = false;
	size_t i;
	int nr, rc;

	/* libseccomp refuses a rule that repeats the default action. */
	if (act == dflt)
		return 0;
	/* A name this libseccomp does not know: a syscall the kernel's
	 * tables lack. runc skips it (with a debug message). */
	nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	for (i = 0; i < r->nargs; i++) {
		conds[i] = (struct scmp_arg_cmp){ r->args[i].index,
						  r->args[i].op,
						  r->args[i].value,
						  r->args[i].value_two };
		if (++count[r->args[i].index] > 1)
			one_each = true;
	}
	/* Two conditions on the same argument would AND to nothing in one
	 * rule: runc makes each a rule of its own (an OR). */
	if (one_each) {
		for (i = 0, rc = 0; i < r->nargs && !rc; i++)
			rc = seccomp_rule_add_array(ctx, act, nr, 1, &conds[i]);
	} else {
		rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)r->nargs,
					    r->nargs ? conds : NULL);
	}
	if (rc < 0)
		snprintf(err, errlen,
			 "syscall %s: libseccomp refused the rule: %s", r->name,
			 strerror(-rc));
	return rc;
}

/* The filter's program, as libseccomp exports it (native byte order). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **out, size_t *n,
		      char *err, size_t errlen)
{
	struct stat st;
	ssize_t got;
	int fd, rc;

	fd = memfd_create("execfs-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return rc;
	}
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		snprintf(err, errlen,
			 "libseccomp could not export the filter: %s",
			 strerror(-rc));
		goto out_close;
	}
	/* Its length is checked once the stub is in front of it. */
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % sizeof(struct sock_filter)) {
		rc = -EIO;
		snprintf(err, errlen, "libseccomp exported no whole program");
		goto out_close;
	}
	*out = malloc(st.st_size);
	if (!*out) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out_close;
	}
	got = pread(fd, *out, st.st_size, 0);
	if (got != st.st_size) {
		rc = -EIO;
		snprintf(err, errlen, "reading the exported filter failed");
		free(*out);
		*out = NULL;
		goto out_close;
	}
	*n = st.st_size / sizeof(struct sock_filter);
	rc = 0;
out_close:
	close(fd);
	return rc;
}

static int set_flags(scmp_filter_ctx ctx, const struct seccomp_profile *p,
		     char *err, size_t errlen)
{
	int rc = 0;

	/* Like runc's setFlag(): a flag the kernel or libseccomp cannot
	 * give is an error, not a silently weaker filter. */
	if (p->flags & SECCOMP_FILTER_FLAG_LOG) {
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
		if (rc < 0) {
			snprintf(
				err, errlen,
				"SECCOMP_FILTER_FLAG_LOG is not supported here: %s",
				strerror(-rc));
			return rc;
		}
	}
	if (p->flags & SECCOMP_FILTER_FLAG_SPEC_ALLOW) {
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
		if (rc < 0) {
			snprintf(
				err, errlen,
				"SECCOMP_FILTER_FLAG_SPEC_ALLOW is not supported here: %s",
				strerror(-rc));
			return rc;
		}
	}
	/* No binary tree (SCMP_FLTATR_CTL_OPTIMIZE 2): runc 1.2 asks for it
	 * above 32 rules, runc 1.1 does not, and the program must be the
	 * one the node's runc loads (seccomp_profile.h). */
	/* no_new_privs is the spawn's to set, in its place. */
	return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
}

int sc_compile(const struct seccomp_profile *p, struct seccomp_prog **out,
	       char *err, size_t errlen)
{
	uint32_t dflt = sc_action_value(&p->dflt);
	struct sock_filter *filter = NULL;
	struct seccomp_prog *prog;
	scmp_filter_ctx ctx;
	struct stub *stub;
	size_t i, n = 0;
	int rc;

	stub = calloc(1, sizeof(*stub));
	ctx = stub ? seccomp_init(dflt) : NULL;
	if (!ctx) {
		free(stub);
		snprintf(err, errlen,
			 "libseccomp refused the default action %#x", dflt);
		return -EINVAL;
	}
	for (i = 0; i < p->narches; i++) {
		rc = seccomp_arch_add(ctx, p->arches[i]);
		if (rc < 0 && rc != -EEXIST) {
			snprintf(err, errlen, "architecture %#x: %s",
				 p->arches[i], strerror(-rc));
			goto out;
		}
	}
	rc = set_flags(ctx, p, err, errlen);
	for (i = 0; i < p->nrules && !rc; i++)
		rc = add_rule(ctx, &p->rules[i], dflt, err, errlen);
	if (!rc)
		rc = export_bpf(ctx, &filter, &n, err, errlen);
	if (!rc) {
		rc = stub_build(p, stub);
		if (rc)
			snprintf(err, errlen, "the -ENOSYS stub: %s",
				 strerror(-rc));
	}
	if (rc)
		goto out;
	if (stub->n + n > BPF_MAXINSNS) {
		rc = -E2BIG;
		snprintf(
			err, errlen,
			"the filter has %zu instructions, more than the kernel's %d",
			stub->n + n, BPF_MAXINSNS);
		goto out;
	}
	prog = malloc(sizeof(*prog) + (stub->n + n) * sizeof(prog->insns[0]));
	if (!prog) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	prog->flags = p->flags;
	prog->len = (uint32_t)(stub->n + n);
	memcpy(prog->insns, stub->v, stub->n * sizeof(stub->v[0]));
	memcpy(prog->insns + stub->n, filter, n * sizeof(filter[0]));
	*out = prog;
out:
	free(filter);
	free(stub);
	seccomp_release(ctx);
	return rc;
}

int seccomp_prog_install(const struct seccomp_prog *prog)
{
	struct sock_fprog fp = {
		.len = (unsigned short)prog->len,
		.filter = (struct sock_filter *)prog->insns,
	};
	long rc;

	/* runc's sysSeccompSetFilter(): the old prctl when there are no
	 * flags, seccomp(2) otherwise. */
	if (!prog->flags)
		rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
	else
		rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog->flags,
			     &fp);
	return rc < 0 ? -errno : 0;
}
