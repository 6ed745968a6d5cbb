/*
 * The monitor's side of an upgrade in place (monitor_upgrade.h): the new
 * binary's checks, its --handover-check probe, and the execve() with the
 * handover state.
 */
#include "monitor_upgrade.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/log.h"
#include "handover.h"
#include "readfile.h"

/* How long `--handover-check` may take. */
#define PROBE_SECONDS 30

extern char **environ;

int upgrade_origin_path(char *buf, size_t len)
{
	static const char memfd[] = "/memfd:";
	static const char deleted[] = " (deleted)";
	char link[4096];
	ssize_t n;
	size_t k;
	char *p = link;

	n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n == sizeof(link) - 1)
		return -ENAMETOOLONG; /* maybe cut: no path */
	link[n] = 0;
	/* A sealed copy is named after the file it was made from. */
	if (!strncmp(p, memfd, sizeof(memfd) - 1))
		p += sizeof(memfd) - 1;
	k = strlen(p);
	if (k > sizeof(deleted) - 1 &&
	    !strcmp(p + k - (sizeof(deleted) - 1), deleted))
		p[k - (sizeof(deleted) - 1)] = 0;
	if (p[0] != '/' || strlen(p) >= len)
		return -ENOENT;
	snprintf(buf, len, "%s", p);
	return 0;
}

int upgrade_open_binary(const char *path, int *fd, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(*fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = -EACCES;
		snprintf(err, errlen, "%s: not a regular file", path);
	} else if (st.st_uid != 0) {
		rc = -EACCES;
		snprintf(err, errlen, "%s: owned by uid %u, not root", path,
			 (unsigned)st.st_uid);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = -EACCES;
		snprintf(err, errlen,
			 "%s: writable by group or others (mode %04o)", path,
			 (unsigned)(st.st_mode & 07777));
	} else if (!(st.st_mode & S_IXUSR)) {
		rc = -EACCES;
		snprintf(err, errlen, "%s: not executable (mode %04o)", path,
			 (unsigned)(st.st_mode & 07777));
	} else {
		return 0;
	}
	close(*fd);
	*fd = -1;
	return rc;
}

/* ---- the probe ---------------------------------------------------------- */

struct upgrade_probe {
	pid_t pid; /* the child, until reaped */
	int out; /* owned: its stdout */
	struct event *ev, *timer; /* owned */
	char buf[64];
	size_t len;
	void (*done)(void *arg, bool ok, const char *why);
	void *arg;
};

static void probe_reap(struct upgrade_probe *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
}

static void probe_finish(struct upgrade_probe *p, bool ok, const char *why)
{
	event_del(p->ev);
	event_del(p->timer);
	probe_reap(p);
	p->done(p->arg, ok, why);
}

static void probe_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade_probe *p = arg;
	ssize_t n;

	(void)what;
	n = read(fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		p->len += (size_t)n;
		if (p->len < sizeof(p->buf) - 1)
			return;
	}
	p->buf[p->len] = 0;
	if (!strcmp(p->buf, HANDOVER_CHECK_LINE))
		probe_finish(p, true, NULL);
	else
		probe_finish(p, false,
			     p->len ? "its --handover-check answer is not "
				      "this agent's handover version" :
				      "it does not run, or does not know "
				      "--handover-check");
}

static void probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_finish(arg, false, "--handover-check did not answer in time");
}

struct upgrade_probe *upgrade_probe_start(struct event_base *base, int exe_fd,
					  void (*done)(void *arg, bool ok,
						       const char *why),
					  void *arg)
{
	static char *const argv[] = { "execfs-agent", "--handover-check",
				      NULL };
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
				      NULL };
	struct upgrade_probe *p = calloc(1, sizeof(*p));
	struct timeval tv = { PROBE_SECONDS, 0 };
	int fds[2] = { -1, -1 }, e;

	if (!p)
		return NULL;
	p->done = done;
	p->arg = arg;
	p->out = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		goto fail;
	p->pid = fork();
	if (p->pid == 0) {
		/* Async-signal-safe only. A copy without close-on-exec, so
		 * that a script's interpreter can open it (and answer). */
		int x = dup(exe_fd);

		if (x < 0 || dup2(fds[1], 1) < 0)
			_exit(127);
		syscall(SYS_execveat, x, "", argv, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	if (p->pid < 0)
		goto fail;
	close(fds[1]);
	fds[1] = -1;
	p->out = fds[0];
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	p->ev = event_new(base, p->out, EV_READ | EV_PERSIST, probe_read_cb, p);
	p->timer = evtimer_new(base, probe_timer_cb, p);
	if (!p->ev || !p->timer || event_add(p->ev, NULL) < 0 ||
	    evtimer_add(p->timer, &tv) < 0) {
		upgrade_probe_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;

fail:
	e = errno;
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(p);
	errno = e;
	return NULL;
}

void upgrade_probe_free(struct upgrade_probe *p)
{
	if (!p)
		return;
	probe_reap(p);
	if (p->ev)
		event_free(p->ev);
	if (p->timer)
		event_free(p->timer);
	if (p->out >= 0)
		close(p->out);
	free(p);
}

/* ---- across the execve() ------------------------------------------------ */

static void set_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0)
		fcntl(fd, F_SETFD,
		      on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

static void state_fds_cloexec(const struct handover_monitor *st, bool on)
{
	size_t i;

	for (i = 0; i < st->njobs; i++) {
		if (st->jobs[i].pidfd >= 0)
			set_cloexec(st->jobs[i].pidfd, on);
		if (st->jobs[i].tty_fd >= 0)
			set_cloexec(st->jobs[i].tty_fd, on);
	}
	for (i = 0; i < st->nfds; i++)
		set_cloexec(st->fds[i], on);
}

/* argv without an earlier --handover-fd pair, with "--handover-fd"
 * "num" at the end. */
static char **exec_argv(char *const *argv, char *num)
{
	size_t n = 0, i, k = 0;
	char **v;

	while (argv[n])
		n++;
	v = calloc(n + 3, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!strcmp(argv[i], "--handover-fd") && i + 1 < n) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--handover-fd=", 14))
			continue;
		v[k++] = argv[i];
	}
	v[k++] = "--handover-fd";
	v[k] = num;
	return v;
}

int upgrade_exec(int exe_fd, char *const *argv,
		 const struct handover_monitor *st, char *err, size_t errlen)
{
	uint8_t *doc = NULL;
	size_t len = 0, off = 0;
	char num[16];
	char **v = NULL;
	ssize_t n;
	int fd, rc;

	rc = handover_monitor_encode(st, &doc, &len);
	if (rc < 0) {
		snprintf(err, errlen, "handover state: %s", strerror(-rc));
		return rc;
	}
	fd = memfd_create("execfs-handover", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		free(doc);
		return rc;
	}
	while (off < len) {
		n = write(fd, doc + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "memfd: %s", strerror(-rc));
			goto out;
		}
		off += (size_t)n;
	}
	snprintf(num, sizeof(num), "%d", fd);
	v = exec_argv(argv, num);
	if (!v || lseek(fd, 0, SEEK_SET) < 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	set_cloexec(fd, false);
	state_fds_cloexec(st, false);
	syscall(SYS_execveat, exe_fd, "", v, environ, AT_EMPTY_PATH);
	rc = -errno;
	log_error("upgrade: cannot execute the new binary: %s; this image "
		  "takes its sessions back",
		  strerror(errno));
	execve("/proc/self/exe", v, environ);
	rc = -errno;
	snprintf(err, errlen, "cannot execute the new binary, nor this one: %s",
		 strerror(errno));
	state_fds_cloexec(st, true);
out:
	free(v);
	free(doc);
	close(fd);
	return rc;
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

void upgrade_signals_block(sigset_t *old)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, old);
}

void upgrade_signals_unblock(void)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

size_t upgrade_kill_orphans(const struct handover_monitor *st)
{
	char path[64];
	size_t i, n = 0;
	FILE *f;
	int pid;

	for (i = 0; st && i < st->njobs; i++)
		if (!st->jobs[i].exited && st->jobs[i].pidfd >= 0 &&
		    syscall(SYS_pidfd_send_signal, st->jobs[i].pidfd, 0, NULL,
			    0) == 0) {
			/* Still that process: its group goes too. */
			kill(-st->jobs[i].pid, SIGKILL);
			syscall(SYS_pidfd_send_signal, st->jobs[i].pidfd,
				SIGKILL, NULL, 0);
			n++;
		}
	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
		 (int)getpid());
	f = fopen(path, "re");
	while (f && fscanf(f, "%d", &pid) == 1)
		if (pid > 1) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			n++;
		}
	if (f)
		fclose(f);
	return n;
}

/* The pid the kernel says pidfd refers to (its fdinfo's "Pid:" line), or
 * -1. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], *text, *line;
	long pid = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL) < 0)
		return -1;
	line = strstr(text, "\nPid:");
	if (line)
		pid = strtol(line + 5, NULL, 10);
	free(text);
	return pid > 0 && pid <= INT32_MAX ? (pid_t)pid : -1;
}

int upgrade_jobs_check(struct handover_monitor *st, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < st->njobs; i++) {
		const struct handover_job *j = &st->jobs[i];

		if (j->exited || pidfd_pid(j->pidfd) == j->pid)
			continue;
		snprintf(err, errlen,
			 "monitor state: job %llu: pid %d is not its pidfd's",
			 (unsigned long long)j->token, (int)j->pid);
		handover_monitor_release(st);
		return -EINVAL;
	}
	return 0;
}

int upgrade_state_load(int fd, struct handover_monitor *st, char *err,
		       size_t errlen)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int rc;

	memset(st, 0, sizeof(*st));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > HANDOVER_STATE_MAX) {
		snprintf(err, errlen, "--handover-fd %d: not a handover state",
			 fd);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)sb.st_size);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (off < (size_t)sb.st_size) {
		n = pread(fd, buf + off, (size_t)sb.st_size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	rc = off == (size_t)sb.st_size ?
		     handover_monitor_decode(buf, off, st, err, errlen) :
		     -EIO;
	if (rc == -EIO)
		snprintf(err, errlen, "--handover-fd %d: short read", fd);
	free(buf);
	if (!rc)
		rc = upgrade_jobs_check(st, err, errlen);
	if (!rc)
		state_fds_cloexec(st, true);
	return rc;
}
