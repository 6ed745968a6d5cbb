/*
 * The decoded profile behind struct seccomp_profile, shared by the decoder
 * (seccomp_profile.c) and the compiler (seccomp_bpf.c). Private to those two.
 */
#ifndef EXECFS_AGENT_SECCOMP_INTERNAL_H
#define EXECFS_AGENT_SECCOMP_INTERNAL_H

#include "seccomp_profile.h"

#include <seccomp.h>
#include <stdbool.h>

/* libcontainer's numbering (configs.Action), which state.json carries. */
enum sc_kind {
	SC_KILL = 1,
	SC_ERRNO,
	SC_TRAP,
	SC_ALLOW,
	SC_TRACE,
	SC_LOG,
	SC_NOTIFY,
	SC_KILL_THREAD,
	SC_KILL_PROCESS,
};

struct sc_action {
	enum sc_kind kind;
	bool has_ret; /* errnoRet given */
	uint32_t ret; /* errnoRet, as given (runc keeps its low 16 bits) */
};

struct sc_arg {
	unsigned index; /* 0..5 */
	uint64_t value, value_two;
	enum scmp_compare op;
};

struct sc_rule {
	char *name; /* owned */
	struct sc_action act;
	struct sc_arg *args; /* owned */
	size_t nargs;
};

struct seccomp_profile {
	struct sc_action dflt;
	uint32_t *arches; /* SCMP_ARCH_* tokens, owned */
	size_t narches;
	uint32_t flags; /* SECCOMP_FILTER_FLAG_LOG | _SPEC_ALLOW */
	struct sc_rule *rules; /* owned */
	size_t nrules;

	/* The compilation, once: prog (owned) or compile_rc < 0 and why. */
	bool compiled;
	struct seccomp_prog *prog;
	int compile_rc;
	char compile_err[256];
};

/* The libseccomp action of a, as runc's getAction() makes it. */
uint32_t sc_action_value(const struct sc_action *a);

/* Compile p into a fresh program (seccomp_bpf.c). */
int sc_compile(const struct seccomp_profile *p, struct seccomp_prog **out,
	       char *err, size_t errlen);

#endif
