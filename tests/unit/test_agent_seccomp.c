/*
 * Unit tests for agent/seccomp_profile.c and agent/seccomp_bpf.c: both
 * forms decode to the same program; every action, operator and errnoRet
 * reaches the filter; SCMP_ACT_NOTIFY, listenerPath and malformed
 * profiles are refused with a reason; runc's -ENOSYS stub is in front of
 * the program, with its exact shape; the compiled program is cached, as
 * is a failure; and an installed filter does what the profile says in a
 * forked child (no root needed: the child sets no_new_privs first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "seccomp_profile.h"

#include <errno.h>
#include <linux/audit.h>
#include <sched.h>
#include <stdbool.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* runc 1.1.5's state.json config.seccomp, as it wrote it for an OCI
 * profile with every action and operator. */
static const char runc_profile[] =
	"{\"default_action\": 4, \"architectures\": [\"amd64\", \"x86\", \"x32\"],"
	" \"syscalls\": ["
	"  {\"name\": \"unshare\", \"action\": 2, \"errnoRet\": 1, \"args\": []},"
	"  {\"name\": \"mount\", \"action\": 2, \"errnoRet\": 1, \"args\": []},"
	"  {\"name\": \"personality\", \"action\": 2, \"errnoRet\": null, \"args\": ["
	"    {\"index\": 0, \"value\": 8, \"value_two\": 0, \"op\": 1},"
	"    {\"index\": 1, \"value\": 255, \"value_two\": 4, \"op\": 7}]},"
	"  {\"name\": \"kcmp\", \"action\": 1, \"errnoRet\": null, \"args\": []},"
	"  {\"name\": \"kexec_load\", \"action\": 9, \"errnoRet\": null, \"args\": []},"
	"  {\"name\": \"acct\", \"action\": 8, \"errnoRet\": null, \"args\": []},"
	"  {\"name\": \"swapon\", \"action\": 3, \"errnoRet\": null, \"args\": []},"
	"  {\"name\": \"swapoff\", \"action\": 5, \"errnoRet\": 3, \"args\": []},"
	"  {\"name\": \"reboot\", \"action\": 6, \"errnoRet\": null, \"args\": []},"
	"  {\"name\": \"nosuchcall_xyz\", \"action\": 2, \"errnoRet\": null, \"args\": []},"
	"  {\"name\": \"sethostname\", \"action\": 2, \"errnoRet\": null, \"args\": ["
	"    {\"index\": 0, \"value\": 1, \"value_two\": 0, \"op\": 2},"
	"    {\"index\": 1, \"value\": 2, \"value_two\": 0, \"op\": 5},"
	"    {\"index\": 2, \"value\": 3, \"value_two\": 0, \"op\": 6},"
	"    {\"index\": 3, \"value\": 4, \"value_two\": 0, \"op\": 3},"
	"    {\"index\": 4, \"value\": 5, \"value_two\": 0, \"op\": 4}]}],"
	" \"default_errno_ret\": 5}";

/* The same profile as the OCI config.json said it. */
static const char oci_profile[] =
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 5,"
	" \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"
	" \"syscalls\": ["
	"  {\"names\": [\"unshare\", \"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1},"
	"  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
	"    {\"index\": 0, \"value\": 8, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"},"
	"    {\"index\": 1, \"value\": 255, \"valueTwo\": 4, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
	"  {\"names\": [\"kcmp\"], \"action\": \"SCMP_ACT_KILL\"},"
	"  {\"names\": [\"kexec_load\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
	"  {\"names\": [\"acct\"], \"action\": \"SCMP_ACT_KILL_THREAD\"},"
	"  {\"names\": [\"swapon\"], \"action\": \"SCMP_ACT_TRAP\"},"
	"  {\"names\": [\"swapoff\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 3},"
	"  {\"names\": [\"reboot\"], \"action\": \"SCMP_ACT_LOG\"},"
	"  {\"names\": [\"nosuchcall_xyz\"], \"action\": \"SCMP_ACT_ERRNO\"},"
	"  {\"names\": [\"sethostname\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
	"    {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_NE\"},"
	"    {\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_LT\"},"
	"    {\"index\": 2, \"value\": 3, \"op\": \"SCMP_CMP_LE\"},"
	"    {\"index\": 3, \"value\": 4, \"op\": \"SCMP_CMP_GT\"},"
	"    {\"index\": 4, \"value\": 5, \"op\": \"SCMP_CMP_GE\"}]}]}";

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

static int decode(bool oci, const char *text, struct seccomp_profile **p,
		  char *err, size_t errlen)
{
	json_t *v = parse(text);
	int rc;

	err[0] = '\0';
	rc = oci ? seccomp_profile_from_oci(v, p, err, errlen) :
		   seccomp_profile_from_runc(v, p, err, errlen);
	json_decref(v);
	return rc;
}

static struct seccomp_profile *must_decode(bool oci, const char *text)
{
	struct seccomp_profile *p = NULL;
	char err[512];

	if (decode(oci, text, &p, err, sizeof(err)) < 0)
		fail_msg("decode: %s", err);
	assert_non_null(p);
	return p;
}

static const struct seccomp_prog *must_compile(struct seccomp_profile *p)
{
	const struct seccomp_prog *prog = NULL;
	char err[512];

	if (seccomp_profile_program(p, &prog, err, sizeof(err)) < 0)
		fail_msg("compile: %s", err);
	assert_non_null(prog);
	return prog;
}

static void test_forms_agree(void **state)
{
	struct seccomp_profile *a = must_decode(false, runc_profile);
	struct seccomp_profile *b = must_decode(true, oci_profile);
	const struct seccomp_prog *pa, *pb;

	(void)state;
	assert_int_equal(seccomp_profile_rules(a), 11);
	assert_int_equal(seccomp_profile_rules(b), 11);
	assert_int_equal(seccomp_profile_default_action(a), SCMP_ACT_ALLOW);
	pa = must_compile(a);
	pb = must_compile(b);
	assert_int_equal(pa->flags, 0);
	assert_int_equal(pa->len, pb->len);
	assert_memory_equal(pa, pb, seccomp_prog_size(pa));
	/* Once per profile: the same program again. */
	assert_ptr_equal(must_compile(a), pa);
	seccomp_profile_free(a);
	seccomp_profile_free(b);
}

/* Every action value the profile names appears as a return. */
static bool returns(const struct seccomp_prog *p, uint32_t action)
{
	uint32_t i;

	for (i = 0; i < p->len; i++)
		if (p->insns[i].code == (BPF_RET | BPF_K) &&
		    p->insns[i].k == action)
			return true;
	return false;
}

static void test_actions_reach_filter(void **state)
{
	struct seccomp_profile *p = must_decode(false, runc_profile);
	const struct seccomp_prog *prog = must_compile(p);

	(void)state;
	assert_true(returns(prog, SCMP_ACT_ERRNO(1))); /* errnoRet */
	assert_true(returns(prog, SCMP_ACT_ERRNO(EPERM))); /* none: EPERM */
	assert_true(returns(prog, SCMP_ACT_KILL_THREAD)); /* KILL */
	assert_true(returns(prog, SCMP_ACT_KILL_PROCESS));
	assert_true(returns(prog, SCMP_ACT_TRAP));
	assert_true(returns(prog, SCMP_ACT_TRACE(3)));
	assert_true(returns(prog, SCMP_ACT_LOG));
	assert_true(returns(prog, SCMP_ACT_ALLOW));
	seccomp_profile_free(p);
}

static void test_no_filter(void **state)
{
	static const char *const none[][2] = {
		{ "r", "null" },
		{ "o", "null" },
		{ "o", "{}" },
		{ "o", "{\"defaultAction\": \"\", \"syscalls\": []}" },
	};
	struct seccomp_profile *p = (void *)1;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(decode(none[i][0][0] == 'o', none[i][1], &p,
					err, sizeof(err)),
				 0);
		assert_null(p);
	}
	assert_int_equal(seccomp_profile_from_runc(NULL, &p, err, sizeof(err)),
			 0);
	assert_null(p);
}

static void expect_refusal(bool oci, const char *text, const char *want)
{
	struct seccomp_profile *p = (void *)1;
	char err[512];

	assert_int_equal(decode(oci, text, &p, err, sizeof(err)), -EINVAL);
	assert_null(p);
	if (!strstr(err, want))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", text, err, want);
}

static void test_notify_refused(void **state)
{
	(void)state;
	expect_refusal(false,
		       "{\"default_action\": 4, \"syscalls\": [{\"name\": "
		       "\"connect\", \"action\": 7}]}",
		       "SCMP_ACT_NOTIFY (syscall connect)");
	expect_refusal(true,
		       "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		       "[{\"names\": [\"read\", \"bind\"], \"action\": "
		       "\"SCMP_ACT_NOTIFY\"}]}",
		       "SCMP_ACT_NOTIFY (syscall read)");
	expect_refusal(true, "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}",
		       "SCMP_ACT_NOTIFY (the default action)");
	expect_refusal(true,
		       "{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
		       "\"listenerPath\": \"/run/agent.sock\"}",
		       "listenerPath /run/agent.sock is not supported");
	expect_refusal(false,
		       "{\"default_action\": 4, \"listener_path\": \"/x\"}",
		       "listener_path /x");
}

static void test_malformed_refused(void **state)
{
	static const struct {
		bool oci;
		const char *text, *want;
	} bad[] = {
		{ false, "[]", "not an object" },
		{ false, "{}", "default action: not an action" },
		{ false, "{\"default_action\": 10}", "not an action" },
		{ false, "{\"default_action\": 0}", "not an action" },
		{ false, "{\"default_action\": \"4\"}", "not an action" },
		{ true, "{\"defaultAction\": \"SCMP_ACT_NOPE\"}",
		  "unknown action \"SCMP_ACT_NOPE\"" },
		{ false,
		  "{\"default_action\": 4, \"architectures\": [\"vax\"]}",
		  "unknown architecture vax" },
		{ true,
		  "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": "
		  "[\"amd64\"]}",
		  "unknown architecture amd64" },
		{ true,
		  "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
		  "[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
		  "unknown seccomp flag" },
		{ false, "{\"default_action\": 4, \"syscalls\": {}}",
		  "not a list" },
		{ false,
		  "{\"default_action\": 4, \"syscalls\": [{\"name\": \"\", "
		  "\"action\": 2}]}",
		  "a name is empty" },
		{ false,
		  "{\"default_action\": 4, \"syscalls\": [{\"action\": 2}]}",
		  "a name is empty" },
		{ true,
		  "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		  "[{\"names\": \"read\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
		  "names is not a list" },
		{ false,
		  "{\"default_action\": 4, \"syscalls\": [{\"name\": \"read\", "
		  "\"action\": 2, \"args\": [{\"index\": 6, \"value\": 1, "
		  "\"op\": 1}]}]}",
		  "want an index 0..5" },
		{ false,
		  "{\"default_action\": 4, \"syscalls\": [{\"name\": \"read\", "
		  "\"action\": 2, \"args\": [{\"index\": 0, \"value\": -1, "
		  "\"op\": 1}]}]}",
		  "want an index 0..5 and a value" },
		{ false,
		  "{\"default_action\": 4, \"syscalls\": [{\"name\": \"read\", "
		  "\"action\": 2, \"args\": [{\"index\": 0, \"value\": 1, "
		  "\"op\": 8}]}]}",
		  "not an operator" },
		{ true,
		  "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		  "[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", "
		  "\"args\": [{\"index\": 0, \"value\": 1, \"op\": "
		  "\"SCMP_CMP_XOR\"}]}]}",
		  "unknown operator SCMP_CMP_XOR" },
		{ false,
		  "{\"default_action\": 4, \"syscalls\": [{\"name\": \"read\", "
		  "\"action\": 2, \"errnoRet\": -1}]}",
		  "errnoRet is not an errno number" },
		{ false,
		  "{\"default_action\": 2, \"default_errno_ret\": \"x\"}",
		  "errnoRet is not an errno number" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refusal(bad[i].oci, bad[i].text, bad[i].want);
}

/* A child that installs prog and reports what calls return. */
struct probe {
	long nr, a0, a1;
	long want_ret; /* when want_errno is 0 */
	int want_errno;
};

static void run_probes(const struct seccomp_prog *prog,
		       const struct probe *probes, size_t n)
{
	int fds[2], status;
	long got[2 * 16];
	ssize_t len;
	size_t i;
	pid_t pid;

	assert_true(n <= 16);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long r;

		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    seccomp_prog_install(prog) < 0)
			_exit(100);
		for (i = 0; i < n; i++) {
			errno = 0;
			r = syscall(probes[i].nr, probes[i].a0, probes[i].a1, 0,
				    0, 0, 0);
			got[2 * i] = r;
			got[2 * i + 1] = r < 0 ? errno : 0;
		}
		_exit(write(fds[1], got, 2 * n * sizeof(long)) ==
				      (ssize_t)(2 * n * sizeof(long)) ?
			      0 :
			      101);
	}
	close(fds[1]);
	len = read(fds[0], got, sizeof(got));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(len, (ssize_t)(2 * n * sizeof(long)));
	for (i = 0; i < n; i++) {
		if (probes[i].want_errno) {
			if (got[2 * i] != -1 ||
			    got[2 * i + 1] != probes[i].want_errno)
				fail_msg(
					"probe %zu (syscall %ld): got %ld errno %ld, want errno %d",
					i, probes[i].nr, got[2 * i],
					got[2 * i + 1], probes[i].want_errno);
		} else if (got[2 * i] != probes[i].want_ret) {
			fail_msg(
				"probe %zu (syscall %ld): got %ld errno %ld, want %ld",
				i, probes[i].nr, got[2 * i], got[2 * i + 1],
				probes[i].want_ret);
		}
	}
}

static void test_installed_filter(void **state)
{
	/* Errno values and conditions the kernel then applies. */
	struct seccomp_profile *p = must_decode(
		true,
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		" {\"names\": [\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1},"
		" {\"names\": [\"kcmp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42},"
		" {\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\"},"
		" {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5,"
		"  \"args\": [{\"index\": 0, \"value\": 4294967295, \"op\": \"SCMP_CMP_EQ\"}]},"
		" {\"names\": [\"setpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7,"
		"  \"args\": [{\"index\": 0, \"value\": 240, \"valueTwo\": 16, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
		" {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 9,"
		"  \"args\": [{\"index\": 0, \"value\": 10, \"op\": \"SCMP_CMP_GT\"},"
		"            {\"index\": 0, \"value\": 3, \"op\": \"SCMP_CMP_LT\"}]}]}");
	const struct probe probes[] = {
		{ SYS_unshare, CLONE_NEWUSER, 0, 0, EPERM },
		{ SYS_kcmp, 0, 0, 0, 42 },
		{ SYS_getpriority, 0, 0, 0, EPERM }, /* no errnoRet: EPERM */
		{ SYS_personality, 0xffffffff, 0, 0, 5 },
		/* All 64 bits are compared: the kernel then takes 32. */
		{ SYS_personality, 0xffffffffL + 1, 0, PER_LINUX, 0 },
		{ SYS_personality, PER_LINUX, 0, PER_LINUX, 0 },
		{ SYS_setpriority, 0x1f, 0, 0, 7 }, /* 0x1f & 0xf0 == 0x10 */
		{ SYS_setpriority, 0x2f, 0, 0, EINVAL }, /* the kernel's */
		/* Two conditions on one argument: each a rule (an OR). */
		{ SYS_dup, 11, 0, 0, 9 },
		{ SYS_dup, 2, 0, 0, 9 },
		{ SYS_dup, 7, 0, 0, EBADF }, /* neither: the kernel's */
	};

	(void)state;
	run_probes(must_compile(p), probes, sizeof(probes) / sizeof(probes[0]));
	seccomp_profile_free(p);
}

/* The largest syscall number among names, on x86_64. */
static uint32_t largest(const char *const *names, size_t n)
{
	int nr, max = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64,
						       names[i]);
		if (nr > max)
			max = nr;
	}
	return (uint32_t)max;
}

static void test_enosys_stub(void **state)
{
	/* What the child needs, a sanitizer's runtime included (its signal
	 * stack, its memory), and fchmodat2 as the largest number. */
	static const char *const allowed[] = {
		"write",	  "exit_group",	 "exit",	 "getpid",
		"gettid",	  "tgkill",	 "rt_sigreturn", "rt_sigaction",
		"rt_sigprocmask", "sigaltstack", "mmap",	 "munmap",
		"mprotect",	  "madvise",	 "fchmodat2",
	};
	const size_t n = sizeof(allowed) / sizeof(allowed[0]);
	const uint32_t max = largest(allowed, n);
	const struct sock_filter want[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4), /* arch */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_JMP | BPF_JA, 6), /* another arch: the filter */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0), /* nr */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max, 2, 0),
		BPF_STMT(BPF_JMP | BPF_JA, 2),
		BPF_STMT(BPF_JMP | BPF_JA, 1),
		BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ERRNO(ENOSYS)),
	};
	const struct probe probes[] = {
		{ SYS_write, -1, 0, 0, EBADF }, /* allowed: the kernel's */
		{ SYS_getppid, 0, 0, 0, EPERM }, /* known, not allowed */
		{ max, -1, 0, 0, EFAULT }, /* allowed, largest: the kernel's */
		{ max + 1, 0, 0, 0, ENOSYS }, /* newer than the profile */
		{ 1000, 0, 0, 0, ENOSYS },
	};
	const struct seccomp_prog *prog;
	struct seccomp_profile *p;
	json_t *names, *doc;
	char err[256];
	size_t i;

	(void)state;
	names = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(names, json_string(allowed[i]));
	doc = json_pack("{s:s, s:[s], s:[{s:o, s:s}]}", "defaultAction",
			"SCMP_ACT_ERRNO", "architectures", "SCMP_ARCH_X86_64",
			"syscalls", "names", names, "action", "SCMP_ACT_ALLOW");
	assert_int_equal(seccomp_profile_from_oci(doc, &p, err, sizeof(err)),
			 0);
	json_decref(doc);
	prog = must_compile(p);
	assert_int_equal(max, seccomp_syscall_resolve_name("fchmodat2"));
	assert_true(prog->len > 9);
	assert_memory_equal(prog->insns, want, sizeof(want));
	run_probes(prog, probes, 5);
	seccomp_profile_free(p);
}

static void test_no_stub_when_permissive(void **state)
{
	static const char *const dflt[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
					    "SCMP_ACT_TRACE" };
	const struct seccomp_prog *prog;
	struct seccomp_profile *p;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text),
			 "{\"defaultAction\": \"%s\", \"architectures\": "
			 "[\"SCMP_ARCH_X86_64\"], \"syscalls\": [{\"names\": "
			 "[\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
			 dflt[i]);
		p = must_decode(true, text);
		prog = must_compile(p);
		assert_false(returns(prog, SCMP_ACT_ERRNO(ENOSYS)));
		seccomp_profile_free(p);
	}
}

static void test_unknown_syscall_skipped(void **state)
{
	struct seccomp_profile *a = must_decode(
		true,
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		"[{\"names\": [\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	struct seccomp_profile *b = must_decode(
		true,
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		"[{\"names\": [\"unshare\", \"no_such_syscall\"], "
		"\"action\": \"SCMP_ACT_ERRNO\"},"
		" {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	const struct seccomp_prog *pa = must_compile(a), *pb = must_compile(b);

	(void)state;
	/* The unknown name and the rule repeating the default add nothing. */
	assert_int_equal(seccomp_profile_rules(b), 3);
	assert_int_equal(pa->len, pb->len);
	assert_memory_equal(pa, pb, seccomp_prog_size(pa));
	seccomp_profile_free(a);
	seccomp_profile_free(b);
}

static void test_flags(void **state)
{
	struct seccomp_profile *p = must_decode(
		true,
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": ["
		"\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
		" \"SECCOMP_FILTER_FLAG_TSYNC\", "
		"\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], \"syscalls\": "
		"[{\"names\": [\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	const struct seccomp_prog *prog = must_compile(p);
	const struct probe probe = { SYS_unshare, CLONE_NEWUSER, 0, 0, EPERM };

	(void)state;
	/* TSYNC and WAIT_KILLABLE_RECV are ignored (seccomp_profile.h). */
	assert_int_equal(prog->flags, (1U << 1) | (1U << 2));
	run_probes(prog, &probe, 1);
	seccomp_profile_free(p);
}

static void test_too_long_refused_and_cached(void **state)
{
	/* 4200 conditions on one argument of one syscall: about an
	 * instruction each, over the kernel's 4096. */
	const struct seccomp_prog *prog = (void *)1;
	struct seccomp_profile *p;
	char err[256], err2[256];
	json_t *doc, *rules;
	int i, rc;

	(void)state;
	rules = json_array();
	for (i = 0; i < 4200; i++)
		json_array_append_new(
			rules, json_pack("{s:s, s:i, s:[{s:i, s:i, s:i}]}",
					 "name", "ioctl", "action", 2, "args",
					 "index", 1, "value", i + 1, "op", 1));
	doc = json_pack("{s:i, s:o}", "default_action", 4, "syscalls", rules);
	assert_int_equal(seccomp_profile_from_runc(doc, &p, err, sizeof(err)),
			 0);
	json_decref(doc);
	rc = seccomp_profile_program(p, &prog, err, sizeof(err));
	assert_int_equal(rc, -E2BIG);
	assert_non_null(strstr(err, "more than the kernel's 4096"));
	/* The failure is kept: the same answer, without compiling again. */
	assert_int_equal(seccomp_profile_program(p, &prog, err2, sizeof(err2)),
			 rc);
	assert_string_equal(err, err2);
	seccomp_profile_free(p);
}

static void test_prog_check(void **state)
{
	struct seccomp_profile *p = must_decode(false, runc_profile);
	const struct seccomp_prog *prog = must_compile(p);
	size_t size = seccomp_prog_size(prog);
	struct seccomp_prog *copy = malloc(size);

	(void)state;
	assert_int_equal(seccomp_prog_check(prog, size), 0);
	assert_int_equal(seccomp_prog_check(prog, size - 1), -EINVAL);
	assert_int_equal(seccomp_prog_check(prog, size + 8), -EINVAL);
	assert_int_equal(seccomp_prog_check(prog, 4), -EINVAL);
	memcpy(copy, prog, size);
	copy->flags = 1U << 3; /* NEW_LISTENER: never ours */
	assert_int_equal(seccomp_prog_check(copy, size), -EINVAL);
	copy->flags = 0;
	copy->len = 0;
	assert_int_equal(seccomp_prog_check(copy, sizeof(*copy)), -EINVAL);
	free(copy);
	seccomp_profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms_agree),
		cmocka_unit_test(test_actions_reach_filter),
		cmocka_unit_test(test_no_filter),
		cmocka_unit_test(test_notify_refused),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_installed_filter),
		cmocka_unit_test(test_enosys_stub),
		cmocka_unit_test(test_no_stub_when_permissive),
		cmocka_unit_test(test_unknown_syscall_skipped),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_too_long_refused_and_cached),
		cmocka_unit_test(test_prog_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
