/*
 * The local launcher (launch.h): starts processes with spawn.h in this
 * process, waits for them through their pidfds and signals them. The
 * monitor uses it for the worker's requests; --no-privsep uses it
 * directly.
 *
 * A job's life, every step driven by the loop:
 *
 *   ENTERING  spawn_start() began the start and returned (it waits on
 *             nothing of the container's); spawn_entry_step() decides it
 *             from a zero timer (without a tty B is handed over as soon
 *             as it exists), or from the start's report socket (with a
 *             tty, B's READY brings the terminal). A start that failed at
 *             once is told from a zero timer too, so no callback ever runs
 *             inside launcher_start().
 *   RUNNING   on_start was called with the fds; the pidfd is watched.
 *   (gone)    the process was reaped: on_exit, then the job is freed.
 *
 * A job lives until its process was reaped (or its start failed), even
 * when its caller dropped it: the process must still be waited for.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/log.h"
#include "exec_spec.h"
#include "inventory.h"
#include "launch.h"
#include "pty.h"
#include "spawn.h"

struct local_launcher;

struct local_job {
	struct launch_job base;
	struct local_launcher *ll;
	struct spawn_entry *entry; /* owned while ENTERING */
	pid_t pid; /* 0 until started; its session and process group too */
	int pidfd; /* owned; -1 once reaped */
	int tty_fd; /* owned; a dup of the master, for signals */
	/* owned: the zero timer (a start that failed at once), EV_READ on
	 * the entry's report socket, then EV_READ on pidfd */
	struct event *ev;
	int err; /* the start failed at once: positive errno */
	char message[512];
	struct local_job *next;
};

struct local_launcher {
	struct launcher base;
	struct event_base *evb;
	struct inventory *inv; /* not owned */
	struct spawner *sp; /* not owned */
	struct local_job *jobs;
};

static void fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void started_close(struct launch_started *st)
{
	fd_close(&st->stdin_fd);
	fd_close(&st->stdout_fd);
	fd_close(&st->stderr_fd);
	fd_close(&st->tty_fd);
	fd_close(&st->report_fd);
}

static void job_kill(struct local_job *j)
{
	if (j->pid > 0 && j->pidfd >= 0) {
		/* Its group's number is its pid, which it holds until we
		 * reap it. */
		kill(-j->pid, SIGKILL);
		/* Before its setsid() the process is not a group leader. */
		kill(j->pid, SIGKILL);
	}
}

static void job_free(struct local_job *j)
{
	struct local_job **pp;

	for (pp = &j->ll->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->ev)
		event_free(j->ev);
	if (j->entry)
		spawn_entry_abandon(j->entry);
	fd_close(&j->pidfd);
	fd_close(&j->tty_fd);
	free(j);
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct local_job *j = arg;
	int wstatus, rc;

	(void)fd;
	(void)what;
	rc = spawn_reap(j->pidfd, &wstatus);
	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		log_warn("reap %d: %s", (int)j->pid, strerror(-rc));
		wstatus = W_EXITCODE(255, 0);
	}
	fd_close(&j->pidfd);
	if (j->base.arg)
		j->ll->base.cbs->on_exit(j->base.arg, wstatus);
	job_free(j);
}

/* The zero timer: a start that failed at once. */
static void failed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct local_job *j = arg;

	(void)fd;
	(void)what;
	if (j->base.arg)
		j->ll->base.cbs->on_start(j->base.arg, j->err, j->message,
					  NULL);
	job_free(j);
}

/* The process is in the container: watch it, and hand its fds over. */
static void job_started(struct local_job *j, struct spawn_result *res)
{
	struct launch_started st = { .pid = res->pid,
				     .stdin_fd = res->stdin_fd,
				     .stdout_fd = res->stdout_fd,
				     .stderr_fd = res->stderr_fd,
				     .tty_fd = res->tty_fd,
				     .report_fd = res->report_fd };

	j->pid = res->pid;
	j->pidfd = res->pidfd;
	if (res->tty_fd >= 0) {
		j->tty_fd = fcntl(res->tty_fd, F_DUPFD_CLOEXEC, 3);
		if (j->tty_fd < 0)
			log_warn("pid %d: dup of the terminal: %s (signals go "
				 "to the session's group)",
				 (int)j->pid, strerror(errno));
	}
	j->ev = event_new(j->ll->evb, j->pidfd, EV_READ | EV_PERSIST, exit_cb,
			  j);
	if (!j->ev || event_add(j->ev, NULL) < 0) {
		/* Nothing could ever reap it: the start fails, and the
		 * process (killed) is left to the wait at the end. */
		log_error("pid %d: cannot watch the process", (int)j->pid);
		job_kill(j);
		started_close(&st);
		if (j->base.arg)
			j->ll->base.cbs->on_start(j->base.arg, ENOMEM,
						  "out of memory", NULL);
		job_free(j);
		return;
	}
	if (!j->base.arg) {
		/* Dropped before it was told: nobody wants it. */
		job_kill(j);
		started_close(&st);
		return;
	}
	j->ll->base.cbs->on_start(j->base.arg, 0, NULL, &st);
}

/* The zero timer after the start, then the start's report socket: is it
 * decided? */
static void entry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct local_job *j = arg;
	struct spawn_result res;
	int rc;

	(void)fd;
	rc = spawn_entry_step(j->entry, &res, j->message, sizeof(j->message));
	if (rc == -EAGAIN && !(what & EV_TIMEOUT))
		return;
	if (rc == -EAGAIN) {
		event_free(j->ev);
		j->ev = event_new(j->ll->evb, spawn_entry_fd(j->entry),
				  EV_READ | EV_PERSIST, entry_cb, j);
		if (j->ev && event_add(j->ev, NULL) == 0)
			return;
		rc = -ENOMEM;
		snprintf(j->message, sizeof(j->message), "out of memory");
		spawn_entry_abandon(j->entry);
	}
	j->entry = NULL; /* spawn_entry_step freed it, or it was abandoned */
	if (j->ev)
		event_free(j->ev);
	j->ev = NULL;
	if (rc == 0) {
		job_started(j, &res);
		return;
	}
	if (j->base.arg)
		j->ll->base.cbs->on_start(j->base.arg, -rc, j->message, NULL);
	job_free(j);
}

static struct launch_job *local_start(struct launcher *l,
				      const struct exec_spec *spec, void *arg)
{
	struct local_launcher *ll = (struct local_launcher *)l;
	const struct container *c;
	struct local_job *j = calloc(1, sizeof(*j));
	struct timeval zero = { 0, 0 };
	int rc;

	if (!j)
		return NULL;
	j->base.l = l;
	j->base.arg = arg;
	j->ll = ll;
	j->pidfd = j->tty_fd = -1;

	/* The runtime's word, at the moment of the start: a container the
	 * caller saw may have stopped since. */
	rc = inventory_find_running(ll->inv, spec->container, &c, j->message,
				    sizeof(j->message));
	if (!rc)
		rc = spawn_start(ll->sp, c, spec, &j->entry, j->message,
				 sizeof(j->message));
	if (rc < 0) {
		j->err = -rc;
		if (!j->message[0])
			snprintf(j->message, sizeof(j->message), "%s",
				 strerror(-rc));
		j->ev = evtimer_new(ll->evb, failed_cb, j);
	} else {
		/* Without a tty it is decided already, with one it waits for
		 * the terminal: either way, told from the loop. */
		j->ev = evtimer_new(ll->evb, entry_cb, j);
	}
	if (!j->ev || event_add(j->ev, &zero) < 0) {
		if (j->ev)
			event_free(j->ev);
		if (j->entry)
			spawn_entry_abandon(j->entry);
		free(j);
		errno = ENOMEM;
		return NULL;
	}
	j->next = ll->jobs;
	ll->jobs = j;
	return &j->base;
}

/*
 * With LAUNCH_SIG_FOREGROUND and a tty: the terminal's foreground group
 * (a shell's running job), through the terminal (pty.h says how, and why
 * never by the group's number); else, or when the terminal has no group
 * that can be reached so, the session's own group, whose number is the
 * pid of a process we started and have not reaped: it cannot be reused.
 */
static void local_signal(struct launch_job *base, int sig, unsigned flags,
			 uint64_t cookie)
{
	struct local_job *j = (struct local_job *)base;
	bool fg = false;
	pid_t pg = -1;
	int err = 0, rc;

	if (j->pid <= 0 || j->pidfd < 0) {
		err = ESRCH;
		goto out;
	}
	if ((flags & LAUNCH_SIG_FOREGROUND) && j->tty_fd >= 0) {
		rc = pty_signal_foreground(j->tty_fd, j->pid, sig, &pg);
		if (rc != -ESRCH) {
			fg = true;
			err = -rc;
			goto out;
		}
	}
	pg = j->pid;
	if (kill(-pg, sig) == 0)
		goto out;
	err = errno;
	/* Before its setsid() the process is not a group leader yet. */
	if (err == ESRCH && kill(j->pid, sig) == 0)
		err = 0;
out:
	if (cookie && j->base.arg)
		j->ll->base.cbs->on_signal(j->base.arg, cookie, err, pg, fg);
}

static void local_drop(struct launch_job *base)
{
	struct local_job *j = (struct local_job *)base;

	j->base.arg = NULL;
	if (j->entry) {
		/* Still entering: the spawner kills and reaps it. */
		job_free(j);
		return;
	}
	job_kill(j);
}

static void local_free(struct launcher *l)
{
	struct local_launcher *ll = (struct local_launcher *)l;

	while (ll->jobs) {
		job_kill(ll->jobs);
		job_free(ll->jobs);
	}
	free(ll);
}

static const struct launcher_ops local_ops = {
	.start = local_start,
	.signal = local_signal,
	.drop = local_drop,
	.free = local_free,
};

struct launcher *launcher_local_new(struct event_base *base,
				    struct inventory *inv, struct spawner *sp,
				    const struct launch_cbs *cbs)
{
	struct local_launcher *ll = calloc(1, sizeof(*ll));

	if (!ll)
		return NULL;
	ll->base.ops = &local_ops;
	ll->base.cbs = cbs;
	ll->evb = base;
	ll->inv = inv;
	ll->sp = sp;
	return &ll->base;
}

struct launch_job *launcher_local_adopt(struct launcher *l, pid_t pid,
					int pidfd, int tty_fd, void *arg)
{
	struct local_launcher *ll = (struct local_launcher *)l;
	struct local_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.l = l;
	j->base.arg = arg;
	j->ll = ll;
	j->pid = pid;
	j->pidfd = pidfd;
	j->tty_fd = tty_fd;
	/* Readable at once for a process that ended meanwhile (a zombie of
	 * ours still): its status is reaped from the loop. */
	j->ev = event_new(ll->evb, pidfd, EV_READ | EV_PERSIST, exit_cb, j);
	if (!j->ev || event_add(j->ev, NULL) < 0) {
		if (j->ev)
			event_free(j->ev);
		free(j);
		return NULL;
	}
	j->next = ll->jobs;
	ll->jobs = j;
	return &j->base;
}

int launcher_local_job_fds(const struct launch_job *base, pid_t *pid,
			   int *pidfd, int *tty_fd)
{
	const struct local_job *j = (const struct local_job *)base;

	if (j->entry || j->pid <= 0 || j->pidfd < 0)
		return -EBUSY;
	*pid = j->pid;
	*pidfd = j->pidfd;
	*tty_fd = j->tty_fd;
	return 0;
}

bool launcher_local_entering(const struct launch_job *base)
{
	return ((const struct local_job *)base)->pid <= 0;
}

void launcher_signal(struct launch_job *j, int sig, unsigned flags,
		     uint64_t cookie)
{
	j->l->ops->signal(j, sig, flags, cookie);
}

void launcher_job_drop(struct launch_job *j)
{
	if (j)
		j->l->ops->drop(j);
}

void launcher_free(struct launcher *l)
{
	if (l)
		l->ops->free(l);
}
