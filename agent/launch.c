/*
 * The local launcher (launch.h): starts processes with spawn.c in this
 * process, waits for them through their pidfds and signals their process
 * groups. The monitor uses it for the worker's requests; --no-privsep uses
 * it directly.
 *
 * spawn_start() itself is synchronous (it forks a short-lived helper and
 * waits, bounded, for its report); its outcome is handed to the caller from
 * a zero timer, so a start never calls back into the code that asked for it.
 * A job lives until its process was reaped (or its start failed), even when
 * its caller dropped it: the process must still be waited for.
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
	pid_t pid; /* 0 until started; the process group too */
	int pidfd; /* owned; -1 once reaped */
	int tty_fd; /* owned; a dup of the master: the foreground group */
	struct event *ev; /* owned; the zero timer, then EV_READ on pidfd */
	struct launch_started st; /* fds owned until handed over */
	int err; /* the start failed: positive errno */
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
	started_close(&j->st);
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

/* The zero timer: hand the outcome of the start over. */
static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct local_job *j = arg;
	struct launch_started st;

	(void)fd;
	(void)what;
	event_free(j->ev);
	j->ev = NULL;
	if (j->err) {
		if (j->base.arg)
			j->ll->base.cbs->on_start(j->base.arg, j->err,
						  j->message, NULL);
		job_free(j);
		return;
	}
	j->ev = event_new(j->ll->evb, j->pidfd, EV_READ | EV_PERSIST, exit_cb,
			  j);
	if (!j->ev || event_add(j->ev, NULL) < 0) {
		/* Nothing could ever reap it: the start fails, and the
		 * process (killed) is left to the wait at the end. */
		log_error("pid %d: cannot watch the process", (int)j->pid);
		job_kill(j);
		if (j->base.arg)
			j->ll->base.cbs->on_start(j->base.arg, ENOMEM,
						  "out of memory", NULL);
		job_free(j);
		return;
	}
	if (!j->base.arg) {
		job_kill(j); /* dropped before it was told: nobody wants it */
		return;
	}
	st = j->st;
	memset(&j->st, 0xff, sizeof(j->st)); /* every fd -1: handed over */
	j->ll->base.cbs->on_start(j->base.arg, 0, NULL, &st);
}

static struct launch_job *local_start(struct launcher *l,
				      const struct exec_spec *spec, void *arg)
{
	struct local_launcher *ll = (struct local_launcher *)l;
	const struct container *c;
	struct spawn_result res;
	struct local_job *j = calloc(1, sizeof(*j));
	struct timeval zero = { 0, 0 };
	int rc;

	if (!j)
		return NULL;
	j->base.l = l;
	j->base.arg = arg;
	j->ll = ll;
	j->pidfd = j->tty_fd = -1;
	memset(&j->st, 0xff, sizeof(j->st));
	j->ev = evtimer_new(ll->evb, deliver_cb, j);
	if (!j->ev || evtimer_add(j->ev, &zero) < 0) {
		if (j->ev)
			event_free(j->ev);
		free(j);
		errno = ENOMEM;
		return NULL;
	}
	j->next = ll->jobs;
	ll->jobs = j;

	/* The runtime's word, at the moment of the start: a container the
	 * caller saw may have stopped since. */
	rc = inventory_find_running(ll->inv, spec->container, &c, j->message,
				    sizeof(j->message));
	if (!rc)
		rc = spawn_start(ll->sp, c, spec, &res, j->message,
				 sizeof(j->message));
	if (rc < 0) {
		j->err = -rc;
		if (!j->message[0])
			snprintf(j->message, sizeof(j->message), "%s",
				 strerror(-rc));
		return &j->base;
	}
	j->pid = res.pid;
	j->pidfd = res.pidfd;
	j->st.pid = res.pid;
	j->st.stdin_fd = res.stdin_fd;
	j->st.stdout_fd = res.stdout_fd;
	j->st.stderr_fd = res.stderr_fd;
	j->st.tty_fd = res.tty_fd;
	j->st.report_fd = res.report_fd;
	if (res.tty_fd >= 0) {
		j->tty_fd = fcntl(res.tty_fd, F_DUPFD_CLOEXEC, 3);
		if (j->tty_fd < 0)
			log_warn("pid %d: dup of the terminal: %s (signals go "
				 "to the session's group)",
				 (int)j->pid, strerror(errno));
	}
	return &j->base;
}

/*
 * Send sig to the process group; with LAUNCH_SIG_FOREGROUND and a tty to
 * the terminal's foreground group (a shell's running job), falling back to
 * the session's group when the terminal has none. Only a process this
 * launcher started and has not reaped: its pid cannot have been reused.
 */
static void local_signal(struct launch_job *base, int sig, unsigned flags,
			 uint64_t cookie)
{
	struct local_job *j = (struct local_job *)base;
	bool fg = false;
	pid_t pg = -1;
	int err = 0;

	if (j->pid <= 0 || j->pidfd < 0) {
		err = ESRCH;
		goto out;
	}
	if ((flags & LAUNCH_SIG_FOREGROUND) && j->tty_fd >= 0) {
		pg = pty_foreground(j->tty_fd);
		fg = pg > 0;
	}
	if (pg <= 0)
		pg = j->pid;
	if (kill(-pg, sig) == 0)
		goto out;
	err = errno;
	/* Before its setsid() the process is not a group leader yet. */
	if (err == ESRCH && pg == j->pid && kill(j->pid, sig) == 0)
		err = 0;
out:
	if (cookie && j->base.arg)
		j->ll->base.cbs->on_signal(j->base.arg, cookie, err, pg, fg);
}

static void local_drop(struct launch_job *base)
{
	struct local_job *j = (struct local_job *)base;

	j->base.arg = NULL;
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
