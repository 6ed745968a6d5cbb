/*
 * Decoding a container's seccomp profile from runc's state.json or an OCI
 * config.json into one description (seccomp_profile.h), and the compiled program's
 * lifetime. The JSON comes from files root wrote (the runtime's), but is
 * still checked: a wrong type, an unknown action, operator, architecture
 * or flag, an argument index above 5 or a count over its bound is refused
 * with a reason, never guessed at. Unknown keys are ignored: a newer
 * runtime may add some.
 */
#include "seccomp_internal.h"

#include "jsonval.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SC_NAME_MAX 255

#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

enum sc_form { FORM_RUNC, FORM_OCI };

/* The JSON keys of each form. */
struct sc_keys {
	const char *default_action, *default_errno, *architectures, *flags,
		*syscalls, *listener, *errno_ret, *args, *value_two;
};

static const struct sc_keys keys_runc = {
	"default_action", "default_errno_ret", "architectures", "flags",
	"syscalls",	  "listener_path",     "errnoRet",	"args",
	"value_two",
};

static const struct sc_keys keys_oci = {
	"defaultAction", "defaultErrnoRet", "architectures", "flags",
	"syscalls",	 "listenerPath",    "errnoRet",	     "args",
	"valueTwo",
};

static const char *const kind_names[] = {
	[SC_KILL] = "SCMP_ACT_KILL",
	[SC_ERRNO] = "SCMP_ACT_ERRNO",
	[SC_TRAP] = "SCMP_ACT_TRAP",
	[SC_ALLOW] = "SCMP_ACT_ALLOW",
	[SC_TRACE] = "SCMP_ACT_TRACE",
	[SC_LOG] = "SCMP_ACT_LOG",
	[SC_NOTIFY] = "SCMP_ACT_NOTIFY",
	[SC_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
	[SC_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
};

/* Operators: libcontainer's number (configs.Operator), the OCI name, and
 * libseccomp's value (a third numbering). */
static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	[1] = { "SCMP_CMP_EQ", SCMP_CMP_EQ },
	[2] = { "SCMP_CMP_NE", SCMP_CMP_NE },
	[3] = { "SCMP_CMP_GT", SCMP_CMP_GT },
	[4] = { "SCMP_CMP_GE", SCMP_CMP_GE },
	[5] = { "SCMP_CMP_LT", SCMP_CMP_LT },
	[6] = { "SCMP_CMP_LE", SCMP_CMP_LE },
	[7] = { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* Architectures: the OCI name, libseccomp-golang's (state.json), token. */
static const struct {
	const char *oci, *runc;
	uint32_t token;
} arches[] = {
	{ "SCMP_ARCH_X86", "x86", SCMP_ARCH_X86 },
	{ "SCMP_ARCH_X86_64", "amd64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", "x32", SCMP_ARCH_X32 },
	{ "SCMP_ARCH_ARM", "arm", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", "arm64", SCMP_ARCH_AARCH64 },
	{ "SCMP_ARCH_MIPS", "mips", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", "mips64", SCMP_ARCH_MIPS64 },
	{ "SCMP_ARCH_MIPS64N32", "mips64n32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", "mipsel", SCMP_ARCH_MIPSEL },
	{ "SCMP_ARCH_MIPSEL64", "mipsel64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", "mipsel64n32", SCMP_ARCH_MIPSEL64N32 },
	{ "SCMP_ARCH_PPC", "ppc", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", "ppc64", SCMP_ARCH_PPC64 },
	{ "SCMP_ARCH_PPC64LE", "ppc64le", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", "s390", SCMP_ARCH_S390 },
	{ "SCMP_ARCH_S390X", "s390x", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", "parisc", SCMP_ARCH_PARISC },
	{ "SCMP_ARCH_PARISC64", "parisc64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", "riscv64", SCMP_ARCH_RISCV64 },
#ifdef SCMP_ARCH_LOONGARCH64
	{ "SCMP_ARCH_LOONGARCH64", "loong64", SCMP_ARCH_LOONGARCH64 },
#endif
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A non-negative JSON integer (jansson reads at most INT64_MAX). */
static int juint(const json_t *v, uint64_t max, uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return -EINVAL;
	*out = (uint64_t)n;
	return 0;
}

uint32_t sc_action_value(const struct sc_action *a)
{
	/* runc: errnoRet, else EPERM, for errno and trace alike; only the
	 * low 16 bits reach the filter (int16 in libseccomp-golang). */
	uint32_t ret = a->has_ret ? a->ret : EPERM;

	switch (a->kind) {
	case SC_KILL:
	case SC_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case SC_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case SC_ERRNO:
		return SCMP_ACT_ERRNO(ret & 0xffff);
	case SC_TRAP:
		return SCMP_ACT_TRAP;
	case SC_ALLOW:
		return SCMP_ACT_ALLOW;
	case SC_TRACE:
		return SCMP_ACT_TRACE(ret & 0xffff);
	case SC_LOG:
		return SCMP_ACT_LOG;
	case SC_NOTIFY:
		break;
	}
	return SCMP_ACT_NOTIFY; /* never compiled: refused when decoded */
}

static int decode_kind(enum sc_form form, const json_t *v, enum sc_kind *out,
		       const char *what, char *err, size_t errlen)
{
	const char *s;
	uint64_t n;
	size_t i;

	if (form == FORM_RUNC) {
		if (juint(v, SC_KILL_PROCESS, &n) < 0 || n < SC_KILL)
			return json_refuse(err, errlen,
					   "%s: not an action (1..%d)", what,
					   SC_KILL_PROCESS);
		*out = (enum sc_kind)n;
		return 0;
	}
	s = json_cstr(v);
	for (i = SC_KILL; s && i < NELEM(kind_names); i++)
		if (!strcmp(s, kind_names[i])) {
			*out = (enum sc_kind)i;
			return 0;
		}
	return json_refuse(err, errlen, "%s: unknown action %s%.64s%s", what,
			   s ? "\"" : "", s ? s : "(not a string)",
			   s ? "\"" : "");
}

static int decode_errno(const json_t *v, struct sc_action *a, const char *what,
			char *err, size_t errlen)
{
	uint64_t n;

	a->has_ret = false;
	if (!v || json_is_null(v))
		return 0;
	if (juint(v, UINT32_MAX, &n) < 0)
		return json_refuse(err, errlen,
				   "%s: errnoRet is not an errno number", what);
	a->has_ret = true;
	a->ret = (uint32_t)n;
	return 0;
}

static int refuse_notify(const char *syscall, char *err, size_t errlen)
{
	return json_refuse(
		err, errlen,
		"SCMP_ACT_NOTIFY (%s%.64s) is not supported: its notifications go to a seccomp agent that only the runtime's own exec would hand them to",
		syscall ? "syscall " : "the default action",
		syscall ? syscall : "");
}

static int decode_arches(enum sc_form form, const json_t *list,
			 struct seccomp_profile *p, char *err, size_t errlen)
{
	const char *s;
	size_t i, k;
	json_t *v;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) > 64)
		return json_refuse(
			err, errlen,
			"architectures: not a list of at most 64 names");
	p->arches = calloc(json_array_size(list) + 1, sizeof(*p->arches));
	if (!p->arches)
		return -ENOMEM;
	json_array_foreach(list, i, v) {
		s = json_cstr(v);
		for (k = 0; s && k < NELEM(arches); k++)
			if (!strcmp(s, form == FORM_RUNC ? arches[k].runc :
							   arches[k].oci))
				break;
		if (!s || k == NELEM(arches))
			return json_refuse(
				err, errlen,
				"architectures[%zu]: unknown architecture %.64s",
				i, s ? s : "(not a string)");
		p->arches[p->narches++] = arches[k].token;
	}
	return 0;
}

static int decode_flags(const json_t *list, struct seccomp_profile *p,
			char *err, size_t errlen)
{
	const char *s;
	json_t *v;
	size_t i;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) > 16)
		return json_refuse(err, errlen,
				   "flags: not a list of flag names");
	json_array_foreach(list, i, v) {
		s = json_cstr(v);
		if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_LOG"))
			p->flags |= SECCOMP_FILTER_FLAG_LOG;
		else if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			p->flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
		else if (s &&
			 (!strcmp(s, "SECCOMP_FILTER_FLAG_TSYNC") ||
			  !strcmp(s, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")))
			continue; /* see seccomp_profile.h */
		else
			return json_refuse(
				err, errlen,
				"flags[%zu]: unknown seccomp flag %.64s", i,
				s ? s : "(not a string)");
	}
	return 0;
}

static int decode_args(enum sc_form form, const struct sc_keys *k,
		       const json_t *list, struct sc_rule *r, char *err,
		       size_t errlen)
{
	const char *opname;
	uint64_t n, index;
	struct sc_arg *a;
	size_t i, o;
	json_t *v;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) > SECCOMP_MAX_ARGS)
		return json_refuse(
			err, errlen,
			"syscall %s: args is not a list of at most %d conditions",
			r->name, SECCOMP_MAX_ARGS);
	if (!json_array_size(list))
		return 0;
	r->args = calloc(json_array_size(list), sizeof(*r->args));
	if (!r->args)
		return -ENOMEM;
	json_array_foreach(list, i, v) {
		a = &r->args[r->nargs];
		/* libseccomp refuses an index above 5: syscalls have six. */
		if (!json_is_object(v) ||
		    juint(json_object_get(v, "index"), 5, &index) < 0 ||
		    juint(json_object_get(v, "value"), UINT64_MAX, &a->value) <
			    0)
			return json_refuse(
				err, errlen,
				"syscall %s: args[%zu]: want an index 0..5 and a value",
				r->name, i);
		a->index = (unsigned)index;
		if (json_object_get(v, k->value_two) &&
		    juint(json_object_get(v, k->value_two), UINT64_MAX,
			  &a->value_two) < 0)
			return json_refuse(err, errlen,
					   "syscall %s: args[%zu]: bad %s",
					   r->name, i, k->value_two);
		if (form == FORM_RUNC) {
			if (juint(json_object_get(v, "op"), NELEM(ops) - 1,
				  &n) < 0 ||
			    n < 1)
				return json_refuse(
					err, errlen,
					"syscall %s: args[%zu]: not an operator (1..7)",
					r->name, i);
			a->op = ops[n].op;
		} else {
			opname = json_cstr(json_object_get(v, "op"));
			for (o = 1; opname && o < NELEM(ops); o++)
				if (!strcmp(opname, ops[o].name))
					break;
			if (!opname || o == NELEM(ops))
				return json_refuse(
					err, errlen,
					"syscall %s: args[%zu]: unknown operator %.32s",
					r->name, i,
					opname ? opname : "(not a string)");
			a->op = ops[o].op;
		}
		r->nargs++;
	}
	return 0;
}

/* One rule for one syscall name, with the action and conditions of v. */
static int add_rule(enum sc_form form, const struct sc_keys *k, const json_t *v,
		    const char *name, struct seccomp_profile *p, size_t cap,
		    char *err, size_t errlen)
{
	struct sc_rule *r;
	int rc;

	if (p->nrules == cap)
		return json_refuse(err, errlen, "more than %d syscall rules",
				   SECCOMP_MAX_RULES);
	if (!name || !*name || strlen(name) > SC_NAME_MAX)
		return json_refuse(
			err, errlen,
			"syscalls: a name is empty, too long or not a string");
	r = &p->rules[p->nrules++];
	r->name = strdup(name);
	if (!r->name)
		return -ENOMEM;
	rc = decode_kind(form, json_object_get(v, "action"), &r->act.kind,
			 r->name, err, errlen);
	if (!rc && r->act.kind == SC_NOTIFY)
		rc = refuse_notify(r->name, err, errlen);
	if (!rc)
		rc = decode_errno(json_object_get(v, k->errno_ret), &r->act,
				  r->name, err, errlen);
	if (!rc)
		rc = decode_args(form, k, json_object_get(v, k->args), r, err,
				 errlen);
	return rc;
}

static int decode_syscalls(enum sc_form form, const struct sc_keys *k,
			   const json_t *list, struct seccomp_profile *p,
			   char *err, size_t errlen)
{
	size_t i, j, total = 0;
	json_t *v, *names, *name;
	int rc;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return json_refuse(err, errlen, "syscalls: not a list");
	/* Count first: the OCI form names several syscalls per entry. */
	json_array_foreach(list, i, v) {
		if (!json_is_object(v))
			return json_refuse(err, errlen,
					   "syscalls[%zu]: not an object", i);
		if (form == FORM_RUNC) {
			total++;
			continue;
		}
		names = json_object_get(v, "names");
		if (!json_is_array(names))
			return json_refuse(err, errlen,
					   "syscalls[%zu]: names is not a list",
					   i);
		total += json_array_size(names);
		if (total > SECCOMP_MAX_RULES)
			break;
	}
	if (total > SECCOMP_MAX_RULES)
		return json_refuse(err, errlen, "more than %d syscall rules",
				   SECCOMP_MAX_RULES);
	p->rules = calloc(total + 1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	json_array_foreach(list, i, v) {
		if (form == FORM_RUNC) {
			rc = add_rule(form, k, v,
				      json_cstr(json_object_get(v, "name")), p,
				      total, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		json_array_foreach(json_object_get(v, "names"), j, name) {
			rc = add_rule(form, k, v, json_cstr(name), p, total,
				      err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int decode(enum sc_form form, const json_t *sc,
		  struct seccomp_profile **out, char *err, size_t errlen)
{
	const struct sc_keys *k = form == FORM_RUNC ? &keys_runc : &keys_oci;
	struct seccomp_profile *p;
	const json_t *dflt, *listener;
	const char *lp;
	int rc;

	*out = NULL;
	if (!sc || json_is_null(sc))
		return 0;
	if (!json_is_object(sc))
		return json_refuse(err, errlen, "not an object");
	dflt = json_object_get(sc, k->default_action);
	/* runc's specconv: no default action and no syscalls is no filter. */
	if (form == FORM_OCI &&
	    (!dflt || (json_cstr(dflt) && !*json_cstr(dflt))) &&
	    !json_array_size(json_object_get(sc, k->syscalls)))
		return 0;
	listener = json_object_get(sc, k->listener);
	lp = json_cstr(listener);
	if (listener && !json_is_null(listener) && (!lp || *lp))
		return json_refuse(
			err, errlen,
			"%s %.64s is not supported: SCMP_ACT_NOTIFY needs a seccomp agent only the runtime's own exec would talk to",
			k->listener, lp ? lp : "(not a string)");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = decode_kind(form, dflt, &p->dflt.kind, "default action", err,
			 errlen);
	if (!rc && p->dflt.kind == SC_NOTIFY)
		rc = refuse_notify(NULL, err, errlen);
	if (!rc)
		rc = decode_errno(json_object_get(sc, k->default_errno),
				  &p->dflt, "default action", err, errlen);
	if (!rc)
		rc = decode_arches(form, json_object_get(sc, k->architectures),
				   p, err, errlen);
	if (!rc)
		rc = decode_flags(json_object_get(sc, k->flags), p, err,
				  errlen);
	if (!rc)
		rc = decode_syscalls(form, k, json_object_get(sc, k->syscalls),
				     p, err, errlen);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		seccomp_profile_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int seccomp_profile_from_runc(const json_t *seccomp,
			      struct seccomp_profile **out, char *err,
			      size_t errlen)
{
	return decode(FORM_RUNC, seccomp, out, err, errlen);
}

int seccomp_profile_from_oci(const json_t *seccomp,
			     struct seccomp_profile **out, char *err,
			     size_t errlen)
{
	return decode(FORM_OCI, seccomp, out, err, errlen);
}

void seccomp_profile_free(struct seccomp_profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].name);
		free(p->rules[i].args);
	}
	free(p->rules);
	free(p->arches);
	free(p->prog);
	free(p);
}

size_t seccomp_profile_rules(const struct seccomp_profile *p)
{
	return p->nrules;
}

uint32_t seccomp_profile_default_action(const struct seccomp_profile *p)
{
	return sc_action_value(&p->dflt);
}

int seccomp_profile_program(struct seccomp_profile *p,
			    const struct seccomp_prog **prog, char *err,
			    size_t errlen)
{
	if (!p->compiled) {
		p->compile_rc = sc_compile(p, &p->prog, p->compile_err,
					   sizeof(p->compile_err));
		/* Out of memory may pass: try again next time. */
		p->compiled = p->compile_rc != -ENOMEM;
	}
	if (p->compile_rc < 0) {
		snprintf(err, errlen, "%s", p->compile_err);
		return p->compile_rc;
	}
	*prog = p->prog;
	return 0;
}

size_t seccomp_prog_size(const struct seccomp_prog *prog)
{
	return sizeof(*prog) + (size_t)prog->len * sizeof(prog->insns[0]);
}

int seccomp_prog_check(const void *buf, size_t len)
{
	struct seccomp_prog head;

	if (len < sizeof(head))
		return -EINVAL;
	memcpy(&head, buf, sizeof(head));
	if (head.len < 1 || head.len > BPF_MAXINSNS ||
	    len != sizeof(head) + (size_t)head.len * sizeof(struct sock_filter))
		return -EINVAL;
	if (head.flags & ~(uint32_t)(SECCOMP_FILTER_FLAG_LOG |
				     SECCOMP_FILTER_FLAG_SPEC_ALLOW))
		return -EINVAL;
	return 0;
}
