/*
 * The agent's side of a start (spawn.h): the plan, built before any fork,
 * and helper A's start. Everything that can allocate or fail slowly
 * happens here, and none of it opens a path the container controls: the
 * argv/envp, the execve candidates from the container's PATH, the pinned
 * init with its namespaces and cgroup files (initpin.h, kept from one
 * start to the next while that init lives), its oom_score_adj (the host's
 * /proc), the pipes and the report socket. The container's files are read
 * by B, inside the container (spawn_child.c).
 *
 * A is started the way posix_spawn starts its child: clone(CLONE_VM |
 * CLONE_VFORK) on a stack of the spawner's, so the agent's page tables are
 * copied once (for B, only what it runs on: spawn_copy.c) instead of twice, and
 * the agent sleeps only while A
 * runs, which is a few kernel calls that no container can stall (A opens
 * nothing, joins no cgroup, waits on nothing of the container's). A plain
 * fork, whose outcome comes back as a report on the loop, is used under
 * ASan (it cannot follow a process onto our stack) and for a container
 * with a time namespace (setns(CLONE_NEWTIME) refuses a caller that
 * shares its memory). Sharing our memory means A writes nothing but its
 * own stack and its answer in the plan: the per-process settings that
 * would leak into the agent are B's to make (oom_score_adj, which the
 * kernel copies to every process sharing the mm) or restored here
 * (dumpable, a property of the mm that B's copy must be created with).
 */
#include "spawn_internal.h"

#include "confine.h"
#include "exec_spec.h"
#include "execfs/log.h"
#include "fdlimit.h"
#include "initpin.h"
#include "inventory.h"
#include "readfile.h"
#include "seccomp_profile.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPAWN_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_MAX_PATH_DIRS 256
#define SPAWN_TTY_COLS 80
#define SPAWN_TTY_ROWS 24

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Put entry ("NAME=VALUE") into envp (n entries, room for one more),
 * replacing one of the same name. */
static void env_set(char **envp, size_t *n, char *entry)
{
	size_t i, len = strchr(entry, '=') - entry + 1;

	for (i = 0; i < *n; i++)
		if (!strncmp(envp[i], entry, len))
			break;
	envp[i] = entry;
	if (i == *n)
		(*n)++;
}

/* The container's environment, then extra's entries, each replacing one
 * of the same name; the strings are borrowed. A HOME slot is kept for B:
 * runc gives the process its user's home when HOME is unset or empty. */
static int build_env(struct spawn_plan *p, const struct container *c,
		     char *const *extra, char *err, size_t errlen)
{
	size_t n = 0, m = 0, k;
	const char *eq;
	char **envp;

	while (c->env && c->env[n])
		n++;
	while (extra && extra[m])
		m++;
	for (k = 0; k < m; k++) {
		eq = strchr(extra[k], '=');
		if (!eq || eq == extra[k]) {
			snprintf(err, errlen, "env %s: not NAME=VALUE",
				 extra[k]);
			return -EINVAL;
		}
	}
	/* Room for every entry, HOME and the NULL. */
	envp = calloc(n + m + 2, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	if (n)
		memcpy(envp, c->env, n * sizeof(*envp));
	for (k = 0; k < m; k++)
		env_set(envp, &n, extra[k]);
	p->need_home = true;
	p->home_slot = n;
	for (k = 0; k < n; k++)
		if (!strncmp(envp[k], "HOME=", 5)) {
			p->need_home = !envp[k][5];
			p->home_slot = k;
			break;
		}
	p->envp = envp;
	return 0;
}

/* Where execvp would look for argv[0], resolved later inside the
 * container's root. */
static int build_paths(const char *file, char **envp, char ***out)
{
	const char *path = SPAWN_DEFAULT_PATH, *dir, *end;
	char **paths;
	size_t n = 0, i, dlen;

	for (i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	paths = calloc(SPAWN_MAX_PATH_DIRS + 1, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	if (strchr(file, '/')) {
		paths[0] = strdup(file);
		if (!paths[0])
			goto out_nomem;
		*out = paths;
		return 0;
	}
	if (!*file || strlen(file) > NAME_MAX) {
		*out = paths; /* nothing to try: ENOENT */
		return 0;
	}
	for (dir = path; n < SPAWN_MAX_PATH_DIRS; dir = end + 1) {
		end = strchrnul(dir, ':');
		dlen = end - dir;
		if (dlen < PATH_MAX - NAME_MAX - 2) {
			/* An empty entry means the current directory. */
			if (asprintf(&paths[n], "%.*s/%s", (int)dlen,
				     dlen ? dir : ".", file) < 0) {
				paths[n] = NULL;
				goto out_nomem;
			}
			n++;
		}
		if (!*end)
			break;
	}
	*out = paths;
	return 0;

out_nomem:
	strv_free(paths);
	return -ENOMEM;
}

/* The init's score, from the host's /proc. Read by pid number, so it
 * counts only if the pinned init is still alive afterwards: then the pid
 * was never another process's in between. */
static void read_oom(struct spawn_plan *p, pid_t pid)
{
	char path[64], *buf;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	if (read_file_at(AT_FDCWD, path, sizeof(p->oom) - 1, &buf, &len, NULL))
		return;
	if (p->pin->pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, p->pin->pidfd, 0, NULL, 0) < 0) {
		free(buf); /* the init is gone: B's join fails anyway */
		return;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	memcpy(p->oom, buf, len);
	p->oom[len] = '\0';
	free(buf);
}

/* A "Name:\tHEX" field of /proc/PID/status; false if missing. */
static bool status_mask(const char *text, const char *name, uint64_t *out)
{
	const char *line = strstr(text, name);
	char *end;

	if (!line || (line != text && line[-1] != '\n'))
		return false;
	*out = strtoull(line + strlen(name), &end, 16);
	return end != line + strlen(name);
}

/* The whole of a /proc file of ours kept open by the spawner, read again
 * from its start (one system call: the kernel writes it anew), into buf
 * (NUL-terminated); its length, or -1. */
static ssize_t reread(int fd, char *buf, size_t size)
{
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, size - 1, 0);
	if (n < 0 || (size_t)n == size - 1)
		return -1; /* an error, or more than we expect */
	buf[n] = '\0';
	return n;
}

/* What B inherits of ours, for it to change only what differs: the
 * signals not at SIG_DFL (ignored or handled: SigIgn, SigCgt) and the
 * resource limits, as they are now. Read from our /proc status and limits
 * (B would otherwise make a system call per signal and per limit); a file
 * that cannot be read leaves B resetting and setting them all. */
static void read_inherited(const struct spawner *sp, struct spawn_plan *p)
{
	char buf[8192], err[128];
	uint64_t ign, cgt;
	struct confine lim;
	ssize_t n;
	int k;

	p->sig_reset = ~0ULL;
	if (reread(sp->status_fd, buf, sizeof(buf)) > 0 &&
	    status_mask(buf, "SigIgn:", &ign) &&
	    status_mask(buf, "SigCgt:", &cgt))
		p->sig_reset = ign | cgt;
	n = reread(sp->limits_fd, buf, sizeof(buf));
	if (n <= 0)
		return;
	memset(&lim, 0, sizeof(lim));
	if (!confine_rlimits_from_proc(&lim, buf, n, err, sizeof(err))) {
		for (k = 0; k < CONFINE_NLIMITS; k++)
			p->limits[k] = lim.rlimits[k].lim;
		p->limits_known = true;
	}
}

/* A pipe whose child end is not 0-2 (B dup2()s onto those) and whose
 * agent end is non-blocking. */
static int make_pipe(int fds[2], int child_end)
{
	int fd;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fds[child_end] < 3) {
		fd = fcntl(fds[child_end], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			fd = -errno;
			close(fds[0]);
			close(fds[1]);
			return fd;
		}
		close(fds[child_end]);
		fds[child_end] = fd;
	}
	if (fcntl(fds[!child_end], F_SETFL, O_NONBLOCK) < 0) {
		fd = -errno;
		close(fds[0]);
		close(fds[1]);
		return fd;
	}
	return 0;
}

/* The report socketpair: the children's end is not 0-2 (B keeps it across
 * its dup2()s); ours is non-blocking and hears who sent what. */
static int make_report_socket(int fds[2])
{
	int fd, one = 1, rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	if (fds[1] < 3) {
		fd = fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			goto out_close;
		close(fds[1]);
		fds[1] = fd;
	}
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ||
	    setsockopt(fds[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		goto out_close;
	return 0;

out_close:
	rc = -errno;
	close_fd(&fds[0]);
	close_fd(&fds[1]);
	return rc;
}

static void keep_add(struct spawn_plan *p, int fd)
{
	size_t i, j;

	if (fd < 0 || p->nkeep == SPAWN_MAX_KEEP)
		return;
	for (i = 0; i < p->nkeep && p->keep[i] < fd; i++)
		;
	if (i < p->nkeep && p->keep[i] == fd)
		return;
	for (j = p->nkeep; j > i; j--)
		p->keep[j] = p->keep[j - 1];
	p->keep[i] = fd;
	p->nkeep++;
}

/* B's v2 cgroup: the directory for clone3, or its cgroup.procs. */
static int plan_cgroup2(struct spawn_plan *p, bool clone3, char *err,
			size_t errlen)
{
	const struct initpin *pin = p->pin;
	size_t i;

	for (i = 0; i < pin->ncgroups; i++)
		if (pin->cgroup_fds[i] < 0)
			p->cgroup2_dir = pin->cgroups[i];
	if (pin->cgroup2_fd < 0)
		return 0;
	if (clone3) {
		p->cgroup2_fd = pin->cgroup2_fd;
		return 0;
	}
	p->cgroup2_procs_fd =
		openat(pin->cgroup2_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (p->cgroup2_procs_fd < 0) {
		snprintf(err, errlen, "cgroup %s: %s", p->cgroup2_dir,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/* Everything A and B get to keep (spawn_child.c, A2). */
static void plan_keep(struct spawn_plan *p)
{
	const struct initpin *pin = p->pin;
	size_t i;

	/* null_fd is not kept: A dup2()s it onto 0-2 before it closes. */
	keep_add(p, p->report_w);
	for (i = 0; i < 3; i++)
		keep_add(p, p->child_fd[i]);
	keep_add(p, pin->pidfd);
	keep_add(p, p->proc_fd);
	keep_add(p, p->cgroup2_fd);
	keep_add(p, p->cgroup2_procs_fd);
	for (i = 0; i < pin->ncgroups; i++)
		keep_add(p, pin->cgroup_fds[i]);
}

/* What B keeps besides what spawn_mem_scan() found: its own stack (which
 * we never touch: nothing of it is copied; A's is left out), or where it
 * cannot have one its copy of A's, and the arena (the plan's copy), in
 * address order. */
static void keep_ranges(const struct spawner *sp, struct spawn_range keep[2])
{
	char *own = sp->stack + (SPAWN_OWN_STACK ? SPAWN_STACK_SIZE : 0);
	struct spawn_range stack = { (uintptr_t)own,
				     (uintptr_t)own + SPAWN_STACK_SIZE },
			   arena = { (uintptr_t)sp->arena.base,
				     (uintptr_t)sp->arena.base +
					     sp->arena.size };

	keep[0] = stack.lo < arena.lo ? stack : arena;
	keep[1] = stack.lo < arena.lo ? arena : stack;
}

/*
 * Start A, sharing our memory when it can (see the top of the file), else
 * as a fork. -1 with errno when neither worked. When it shared, A is done
 * by the time this returns: its answer is in the plan *pp, which is then
 * the copy A and B ran on (spawn_copy.c).
 */
static pid_t helper_start(struct spawner *sp, struct spawn_plan **pp)
{
	struct spawn_range keep[2];
	struct spawn_plan *p = *pp;
	sigset_t all, old;
	int dumpable = -1, saved;
	pid_t pid;

	p->shared = sp->stack && !(p->nsflags & CLONE_NEWTIME);
	if (p->shared) {
		p->answer = &sp->answer;
		memset(p->answer, 0, sizeof(*p->answer));
		p->b_stack = SPAWN_OWN_STACK ?
				     sp->stack + 2 * SPAWN_STACK_SIZE :
				     NULL;
	}
	/* A and B run on a copy of the plan that lives off the heap, so
	 * that B's copy of our memory can go without the heap. */
	if (p->shared && spawn_plan_copy(&sp->arena, p, pp) < 0) {
		errno = ENOMEM;
		return -1;
	}
	p = *pp;
	/* A forking A and its B run on their copies of our heap. */
	if (!p->shared && !p->out) {
		p->out = calloc(1, sizeof(*p->out));
		if (!p->out) {
			errno = ENOMEM;
			return -1;
		}
	}
	/* No agent signal handler may run in the children before B resets
	 * the dispositions (libevent's would write to the agent's socket,
	 * and, in A, run on our memory). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (p->shared) {
		dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		/* B keeps only its own code, libc and the dynamic linker,
		 * A's stack and the arena (spawn_copy.c). Best effort: what
		 * is left out B never reads, so whether all, part or none
		 * of it was changes only how fast B is made. Restored
		 * whatever the outcome. */
		keep_ranges(sp, keep);
		spawn_mem_exclude(&sp->mem, keep, 2);
		pid = clone(spawn_helper_shared, sp->stack + SPAWN_STACK_SIZE,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, p);
		saved = errno;
		spawn_mem_restore(&sp->mem);
		/* A made the mm non-dumpable for B's copy; ours again. */
		if (dumpable == 1)
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		errno = saved;
	} else {
		pid = fork();
		if (pid == 0)
			spawn_helper_main(p);
	}
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return pid;
}

/* Fill the plan from the container and the request. */
static int plan_build(struct spawner *sp, struct spawn_plan *p,
		      const struct container *c, const struct exec_spec *req,
		      char *err, size_t errlen)
{
	int rc;

	p->has_caps = c->has_caps;
	p->no_new_privs = c->no_new_privs;
	p->cap_bounding = c->cap_bounding;
	p->cap_effective = c->cap_effective;
	p->cap_permitted = c->cap_permitted;
	p->cap_inheritable = c->cap_inheritable;
	p->cap_ambient = c->cap_ambient;
	p->argv = req->argv;
	p->cwd = req->cwd ? req->cwd : c->cwd ? c->cwd : "/";
	p->uid = c->uid;
	p->gid = c->gid;
	p->groups = c->groups;
	p->ngroups = c->ngroups;
	p->tty = req->tty;
	p->has_nice = req->has_nice;
	p->nice = req->nice;
	p->ws.ws_col = req->cols ? req->cols : SPAWN_TTY_COLS;
	p->ws.ws_row = req->rows ? req->rows : SPAWN_TTY_ROWS;
	p->nsflags = p->pin->nsflags;
	p->clone3 = sp->clone3;
	p->last_cap = sp->last_cap;
	p->proc_fd = sp->proc_fd;
	p->null_fd = sp->null_fd;
	p->max_fd = sysconf(_SC_OPEN_MAX) > 0 ? sysconf(_SC_OPEN_MAX) : 1024;
	p->nofile = fdlimit_original();
	read_inherited(sp, p);
	rc = build_env(p, c, req->env, err, errlen);
	if (!rc)
		rc = build_paths(req->argv[0], p->envp, &p->paths);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc < 0)
		return rc;
	/* The config's score replaces the init's (B3). */
	p->cf = c->confine;
	if (!p->cf || !p->cf->has_oom)
		read_oom(p, c->pid);
	/* Compiled once per container and kept in its profile; B gets the
	 * program in its copy of our memory and only installs it. */
	if (c->seccomp) {
		rc = seccomp_profile_program(c->seccomp, &p->seccomp, err,
					     errlen);
		if (rc < 0)
			return rc;
	}
	return plan_cgroup2(p, sp->clone3, err, errlen);
}

int spawn_start(struct spawner *sp, const struct container *c,
		const struct exec_spec *req, struct spawn_entry **out,
		char *err, size_t errlen)
{
	struct spawn_plan *p = calloc(1, sizeof(*p)), *ran;
	struct spawn_entry *e = calloc(1, sizeof(*e));
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int rep[2] = { -1, -1 };
	struct spawn_msg m;
	pid_t helper = -1;
	size_t i;
	int rc;

	snprintf(err, errlen, "%s", "");
	if (!p || !e || (e->id = strdup(c ? c->id : "")) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	e->sp = sp;
	e->report = e->pidfd = e->master = -1;
	e->fds[0] = e->fds[1] = e->fds[2] = -1;
	e->tty = req->tty;
	p->cgroup2_fd = p->cgroup2_procs_fd = -1;
	p->child_fd[0] = p->child_fd[1] = p->child_fd[2] = -1;
	p->attr_fd = -1;
	if (!c || !req->argv || !req->argv[0]) {
		snprintf(err, errlen, "no command");
		rc = -EINVAL;
		goto out;
	}
	/* The container's config asks for a confinement the agent cannot
	 * reproduce (ociconfine.h): no process enters it unconfined. */
	if (c->entry_error) {
		log_warn("container %s: start refused: %s", c->id,
			 c->entry_error);
		snprintf(err, errlen, "unsupported container config: %s",
			 c->entry_error);
		rc = -ENOTSUP;
		goto out;
	}
	/* The request's user is looked up by B; only its form is ours. */
	p->has_user = req->user != NULL;
	if (req->user && userdb_spec_parse(req->user, &p->user) < 0) {
		snprintf(err, errlen,
			 "user %s: not NAME, UID, NAME:GROUP or UID:GID",
			 req->user);
		rc = -EINVAL;
		goto out;
	}
	p->run_as_name = req->user;
	if (policy_run_as_compile((const char *const *)req->run_as,
				  &p->run_as) < 0) {
		snprintf(err, errlen, "run_as: over %d id ranges",
			 POLICY_RUN_AS_RANGES);
		rc = -EINVAL;
		goto out;
	}
	/* The init pinned and checked to be the one runc started (see
	 * initpin.h), with its namespaces and cgroups. */
	rc = initpin_get(sp->pins, c, &p->pin, err, errlen);
	if (!rc)
		rc = plan_build(sp, p, c, req, err, errlen);
	if (rc < 0)
		goto out;

	if (!req->tty) {
		rc = make_pipe(in, 0);
		if (!rc)
			rc = make_pipe(outp, 1);
		if (!rc && !req->merge_stderr)
			rc = make_pipe(errp, 1);
		if (rc < 0) {
			snprintf(err, errlen, "pipe: %s", strerror(-rc));
			goto out;
		}
		p->child_fd[0] = in[0];
		p->child_fd[1] = outp[1];
		p->child_fd[2] = req->merge_stderr ? outp[1] : errp[1];
	}
	rc = make_report_socket(rep);
	if (rc < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(-rc));
		goto out;
	}
	p->report_w = rep[1];
	plan_keep(p);

	ran = p;
	helper = helper_start(sp, &ran);
	if (helper < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		goto out;
	}
	/* A exits at once; the spawner reaps it (SIGCHLD). */
	if (spawner_track(sp, helper) < 0)
		kill(helper, SIGKILL); /* and it stays a zombie */
	if (ran->shared && ran->answer->a_err) {
		memset(&m, 0, sizeof(m));
		m.stage = ran->answer->a_stage;
		m.err = ran->answer->a_err;
		spawn_msg_format(&m, err, errlen);
		rc = -spawn_msg_errno(&m);
		goto out;
	}
	if (ran->shared) {
		/* B is our unreaped child: its pid cannot be reused yet. */
		e->pid = ran->answer->child;
		e->pidfd = syscall(SYS_pidfd_open, e->pid, 0);
		if (e->pidfd < 0) {
			rc = -errno;
			snprintf(err, errlen, "pidfd_open: %s", strerror(-rc));
			goto out;
		}
	} else {
		e->helper = helper;
	}
	e->report = rep[0];
	e->fds[0] = in[1];
	e->fds[1] = outp[0];
	e->fds[2] = errp[0];
	rep[0] = in[1] = outp[0] = errp[0] = -1;
	*out = e;
	e = NULL;
	rc = 0;

out:
	if (e) {
		/* Whatever was started is killed and reaped later. */
		if (e->pid > 0) {
			kill(e->pid, SIGKILL);
			spawner_track(sp, e->pid);
		}
		close_fd(&e->pidfd);
		free(e->id);
		free(e);
	}
	/* A cgroup or namespace A could not join may be the cached view of
	 * the init (a cgroup gone, a namespace it left): the next start
	 * looks again. */
	if (rc < 0 && helper > 0)
		initpin_drop(sp->pins, p->pin);
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	for (i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&outp[i]);
		close_fd(&errp[i]);
	}
	if (p) {
		close_fd(&p->cgroup2_procs_fd);
		strv_free(p->paths);
		free(p->envp);
		free(p->out);
		free(p);
	}
	return rc;
}
