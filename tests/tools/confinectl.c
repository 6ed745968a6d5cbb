/*
 * confinectl: the agent's confinement modules on a real container, for the
 * integration tests. It reads a container the way the agent's inventory
 * does (oci_record_load: state.json's config, the init's limits) and
 *
 *   confinectl decode ROOT ID      prints what it decoded, a line a setting:
 *                                  "privileged no|REASON", "entry_error ...",
 *                                  "seccomp none|default 0xACTION rules N
 *                                  len N flags N", "rlimit NAME SOFT HARD
 *                                  config|init", "oom N", "umask 0NNN",
 *                                  "personality none|0xN", "apparmor none|TEXT",
 *                                  "selinux none|LABEL"
 *   confinectl bpf ROOT ID         prints the compiled filter, an
 *                                  instruction a line ("code jt jf k", hex)
 *   confinectl run ROOT ID -- CMD [ARG...]
 *                                  forks a child (on the host, in no
 *                                  container) that applies the OOM score,
 *                                  the rlimits, the umask, the personality
 *                                  and the seccomp filter in the order
 *                                  confine.h gives, then execs CMD; exits
 *                                  with CMD's status
 *   confinectl dump PID            prints PID's first seccomp filter, as bpf
 *                                  does (PTRACE_SECCOMP_GET_FILTER; root)
 *   confinectl syscalls            prints every syscall name libseccomp
 *                                  knows on this architecture
 *   confinectl time ROOT ID N      compiles the profile N times afresh and
 *                                  prints the mean time in microseconds
 *
 * Exit status: 0 done, 1 failure (a line on stderr says why), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "ocistate.h"
#include "seccomp_profile.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

static int usage(void)
{
	fprintf(stderr, "usage: confinectl decode|bpf|time ROOT ID [N]\n"
			"       confinectl run ROOT ID -- CMD [ARG...]\n"
			"       confinectl dump PID | syscalls\n");
	return 2;
}

static int load(const char *root, const char *id, struct oci_record *rec)
{
	struct oci_host_ns host;
	int rootfd, rc;

	oci_host_ns_init(&host);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		fprintf(stderr, "confinectl: %s: %s\n", root, strerror(errno));
		return -1;
	}
	memset(rec, 0, sizeof(*rec));
	rc = oci_record_load(rec, rootfd, root, id, &host);
	close(rootfd);
	if (rc < 0) {
		fprintf(stderr, "confinectl: %s/%s: %s\n", root, id,
			strerror(-rc));
		return -1;
	}
	return 0;
}

static int program(struct container *c, const struct seccomp_prog **prog)
{
	char err[512];

	*prog = NULL;
	if (!c->seccomp)
		return 0;
	if (seccomp_profile_program(c->seccomp, prog, err, sizeof(err)) < 0) {
		fprintf(stderr, "confinectl: seccomp: %s\n", err);
		return -1;
	}
	return 0;
}

static void print_insns(const struct sock_filter *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%04x %02x %02x %08x\n", f[i].code, f[i].jt, f[i].jf,
		       f[i].k);
}

static int cmd_decode(struct container *c)
{
	const struct confine *cf = c->confine;
	const struct seccomp_prog *prog;
	int k;

	printf("privileged %s\n",
	       c->privileged_reason ? c->privileged_reason : "no");
	printf("entry_error %s\n", c->entry_error ? c->entry_error : "none");
	if (c->entry_error)
		return 0;
	if (program(c, &prog) < 0)
		return 1;
	if (prog)
		printf("seccomp default %#x rules %zu len %u flags %u\n",
		       seccomp_profile_default_action(c->seccomp),
		       seccomp_profile_rules(c->seccomp), prog->len,
		       prog->flags);
	else
		printf("seccomp none\n");
	for (k = 0; k < CONFINE_NLIMITS; k++) {
		if (!cf->rlimits[k].source)
			continue;
		printf("rlimit %s ", confine_rlimit_name(k));
		if (cf->rlimits[k].lim.rlim_cur == RLIM_INFINITY)
			printf("unlimited ");
		else
			printf("%llu ",
			       (unsigned long long)cf->rlimits[k].lim.rlim_cur);
		if (cf->rlimits[k].lim.rlim_max == RLIM_INFINITY)
			printf("unlimited ");
		else
			printf("%llu ",
			       (unsigned long long)cf->rlimits[k].lim.rlim_max);
		printf("%s\n", cf->rlimits[k].source == CONFINE_FROM_CONFIG ?
				       "config" :
				       "init");
	}
	if (cf->has_oom)
		printf("oom %d\n", cf->oom_score_adj);
	else
		printf("oom none\n");
	if (cf->has_umask)
		printf("umask %04o\n", (unsigned)cf->umask);
	else
		printf("umask none\n");
	if (cf->has_personality)
		printf("personality %#lx\n", cf->personality);
	else
		printf("personality none\n");
	printf("apparmor %s\n",
	       cf->apparmor_exec[0] ? cf->apparmor_exec : "none");
	printf("selinux %s\n",
	       cf->selinux_label[0] ? cf->selinux_label : "none");
	return 0;
}

static int cmd_bpf(struct container *c)
{
	const struct seccomp_prog *prog;

	if (program(c, &prog) < 0)
		return 1;
	if (!prog) {
		fprintf(stderr, "confinectl: %s has no seccomp profile\n",
			c->id);
		return 1;
	}
	print_insns(prog->insns, prog->len);
	return 0;
}

static _Noreturn void child_fail(const char *what, int err)
{
	char num[16];
	size_t i = sizeof(num);

	/* Between fork and exec: no stdio, the number by hand. */
	do
		num[--i] = (char)('0' + err % 10);
	while ((err /= 10) && i);
	(void)!write(2, "confinectl: child: ", 19);
	(void)!write(2, what, strlen(what));
	(void)!write(2, ": errno ", 8);
	(void)!write(2, num + i, sizeof(num) - i);
	(void)!write(2, "\n", 1);
	_exit(127);
}

static int cmd_run(struct container *c, char **argv)
{
	const struct seccomp_prog *prog;
	const char *what = "";
	int proc_fd, status, rc;
	pid_t pid;

	if (c->entry_error) {
		fprintf(stderr, "confinectl: %s: %s\n", c->id, c->entry_error);
		return 1;
	}
	/* Everything that allocates or may fail slowly: before the fork. */
	if (program(c, &prog) < 0)
		return 1;
	proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0) {
		perror("confinectl: /proc");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("confinectl: fork");
		return 1;
	}
	if (pid == 0) {
		rc = confine_apply_oom(c->confine, proc_fd, &what);
		if (!rc)
			rc = confine_apply_rlimits(c->confine, NULL, &what);
		if (rc)
			child_fail(what, -rc);
		if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			child_fail("no_new_privs", errno);
		confine_apply_umask(c->confine);
		if (prog && !c->no_new_privs &&
		    (rc = seccomp_prog_install(prog)) < 0)
			child_fail("seccomp", -rc);
		rc = confine_apply_personality(c->confine, &what);
		if (rc)
			child_fail(what, -rc);
		if (prog && c->no_new_privs &&
		    (rc = seccomp_prog_install(prog)) < 0)
			child_fail("seccomp", -rc);
		execvp(argv[0], argv);
		child_fail(argv[0], errno);
	}
	close(proc_fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "confinectl: child killed by signal %d\n",
		WTERMSIG(status));
	return 128 + WTERMSIG(status);
}

static int cmd_dump(pid_t pid)
{
	struct sock_filter f[BPF_MAXINSNS];
	long n;
	int rc = 1;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) {
		perror("confinectl: PTRACE_SEIZE");
		return 1;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 ||
	    waitpid(pid, NULL, __WALL) < 0) {
		perror("confinectl: PTRACE_INTERRUPT");
		goto out;
	}
	/* Index 0 is the filter installed last: the only one here. */
	n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)0, f);
	if (n < 0) {
		perror("confinectl: PTRACE_SECCOMP_GET_FILTER");
		goto out;
	}
	print_insns(f, (size_t)n);
	rc = 0;
out:
	ptrace(PTRACE_DETACH, pid, 0, 0);
	return rc;
}

static int cmd_syscalls(void)
{
	char *name;
	int nr;

	for (nr = 0; nr < 1024; nr++) {
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (name)
			printf("%s\n", name);
		free(name);
	}
	return 0;
}

static int cmd_time(const char *root, const char *id, long n)
{
	const struct seccomp_prog *prog;
	struct timespec a, b;
	struct oci_record rec;
	double total = 0;
	unsigned len = 0;
	long i;

	for (i = 0; i < n; i++) {
		if (load(root, id, &rec) < 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (program(&rec.c, &prog) < 0 || !prog) {
			oci_record_release(&rec);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		total += (b.tv_sec - a.tv_sec) * 1e6 +
			 (b.tv_nsec - a.tv_nsec) / 1e3;
		len = prog->len;
		oci_record_release(&rec);
	}
	printf("compile %.0f us (mean of %ld), %u instructions\n", total / n, n,
	       len);
	return 0;
}

int main(int argc, char **argv)
{
	struct oci_record rec;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "syscalls"))
		return cmd_syscalls();
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return cmd_dump((pid_t)atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "time") && atol(argv[4]) > 0)
		return cmd_time(argv[2], argv[3], atol(argv[4]));
	if (argc < 4)
		return usage();
	if (!strcmp(argv[1], "run") && (argc < 6 || strcmp(argv[4], "--")))
		return usage();
	if (load(argv[2], argv[3], &rec) < 0)
		return 1;
	if (!strcmp(argv[1], "decode"))
		rc = cmd_decode(&rec.c);
	else if (!strcmp(argv[1], "bpf"))
		rc = cmd_bpf(&rec.c);
	else if (!strcmp(argv[1], "run"))
		rc = cmd_run(&rec.c, argv + 5);
	else
		rc = usage();
	oci_record_release(&rec);
	return rc;
}
