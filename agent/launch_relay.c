/*
 * The launcher for jobs held by a relay (launch.h): after a take-over
 * (takeover.h) the old agent's monitor stays the parent of the processes
 * it started, and this launcher is the new monitor's side of its socket.
 * It starts nothing: its jobs are adopted from the handover state, their
 * signals go to the relay as SIGNAL (by the relay's token), their answers
 * come back as SIGNALED, and their exit statuses as EXITED.
 *
 * The socket carries the handover state first (HANDOVER_FDS, HANDOVER_DATA);
 * on_state gets it whole, once. A relay that goes away while it still
 * holds jobs, or says anything else, loses them: each is killed through
 * the pidfd the relay handed over (it is not ours to reap), logged, and
 * ends with status 255 (the session says "exited 255").
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/log.h"
#include "handover_chan.h"
#include "launch.h"
#include "privsep.h"

struct relay_job {
	struct launch_job base;
	uint64_t token; /* the relay's */
	pid_t pid;
	int pidfd; /* owned: to kill it if the relay is lost; -1 none */
	struct relay_job *next;
};

struct relay_launcher {
	struct launcher base;
	struct privsep_chan *ch; /* owned; NULL once the relay is gone */
	struct handover_rx rx; /* the state, until complete */
	bool have_state;
	void (*on_state)(void *arg, struct handover_rx *rx);
	void *arg;
	struct relay_job *jobs;
};

static void job_free(struct relay_launcher *rl, struct relay_job *j)
{
	struct relay_job **pp;

	for (pp = &rl->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->pidfd >= 0)
		close(j->pidfd);
	free(j);
}

static struct relay_job *job_find(struct relay_launcher *rl, uint64_t token)
{
	struct relay_job *j;

	for (j = rl->jobs; j; j = j->next)
		if (j->token == token)
			return j;
	return NULL;
}

static void send_signal(struct relay_launcher *rl, struct relay_job *j, int sig,
			unsigned flags, uint64_t cookie)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = -EPIPE;

	if (rl->ch)
		rc = privsep_encode_signal(cookie, j->token, sig, flags, &buf,
					   &len);
	if (!rc)
		rc = privsep_chan_send(rl->ch, buf, len, NULL, 0);
	if (rc < 0 && cookie && j->base.arg)
		rl->base.cbs->on_signal(j->base.arg, cookie,
					-rc == EPIPE ? ESRCH : -rc, 0, false);
}

/* The relay is gone: nobody can reap these any more. */
static void relay_lost(struct relay_launcher *rl, const char *why)
{
	struct relay_job *j;

	if (rl->jobs)
		log_error("the relay (the agent taken over from): %s: the "
			  "sessions it still held are lost",
			  why);
	privsep_chan_free(rl->ch);
	rl->ch = NULL;
	while ((j = rl->jobs)) {
		log_error("relayed pid %d (token %llu) lost: killed",
			  (int)j->pid, (unsigned long long)j->token);
		if (j->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, j->pidfd, SIGKILL, NULL,
				0);
		rl->jobs = j->next;
		j->next = NULL;
		if (j->base.arg)
			rl->base.cbs->on_exit(j->base.arg, W_EXITCODE(255, 0));
		if (j->pidfd >= 0)
			close(j->pidfd);
		free(j);
	}
}

static void on_msg(struct privsep_chan *ch, struct privsep_msg *m, void *arg)
{
	struct relay_launcher *rl = arg;
	struct relay_job *j;
	int rc;

	(void)ch;
	if (!rl->have_state && (m->type == PRIVSEP_HANDOVER_FDS ||
				m->type == PRIVSEP_HANDOVER_DATA)) {
		rc = handover_rx_add(&rl->rx, m);
		if (rc < 0) {
			log_error("the relay's handover: %s", strerror(-rc));
			relay_lost(rl, "bad handover");
		} else if (rc == 1) {
			rl->have_state = true;
			rl->on_state(rl->arg, &rl->rx);
			handover_rx_release(&rl->rx);
		}
		return;
	}
	j = rl->have_state ? job_find(rl, m->token) : NULL;
	if (j && m->type == PRIVSEP_EXITED) {
		if (j->base.arg)
			rl->base.cbs->on_exit(j->base.arg, m->num);
		job_free(rl, j);
	} else if (j && m->type == PRIVSEP_SIGNALED) {
		if (j->base.arg)
			rl->base.cbs->on_signal(j->base.arg, m->id, m->num,
						m->target,
						m->flags & PRIVSEP_SIGNALED_FG);
	} else if (!j && rl->have_state &&
		   (m->type == PRIVSEP_EXITED || m->type == PRIVSEP_SIGNALED)) {
		log_warn("the relay names token %llu, not one of its jobs",
			 (unsigned long long)m->token);
	} else {
		relay_lost(rl, "it sent a message out of turn");
	}
}

static void on_error(struct privsep_chan *ch, const char *why, void *arg)
{
	struct relay_launcher *rl = arg;

	(void)ch;
	if (!rl->have_state) {
		rl->have_state = true; /* no state will come */
		log_error("the agent to take over: %s", why);
		rl->on_state(rl->arg, NULL);
	}
	if (rl->jobs)
		relay_lost(rl, why);
	privsep_chan_free(rl->ch);
	rl->ch = NULL;
}

static const struct privsep_chan_cbs relay_chan_cbs = {
	.on_msg = on_msg,
	.on_error = on_error,
};

static struct launch_job *relay_start(struct launcher *l,
				      const struct exec_spec *spec, void *arg)
{
	(void)l;
	(void)spec;
	(void)arg;
	errno = ENOTSUP; /* a relay only finishes what it holds */
	return NULL;
}

static void relay_signal(struct launch_job *base, int sig, unsigned flags,
			 uint64_t cookie)
{
	struct relay_job *j = (struct relay_job *)base;

	send_signal((struct relay_launcher *)base->l, j, sig, flags, cookie);
}

/* Killed; the relay still reaps it and says so (EXITED frees the job). */
static void relay_drop(struct launch_job *base)
{
	struct relay_job *j = (struct relay_job *)base;

	j->base.arg = NULL;
	send_signal((struct relay_launcher *)base->l, j, SIGKILL, 0, 0);
}

/* The relay sees its socket close: it kills what it holds and exits. */
static void relay_free(struct launcher *l)
{
	struct relay_launcher *rl = (struct relay_launcher *)l;

	privsep_chan_free(rl->ch);
	handover_rx_release(&rl->rx);
	while (rl->jobs)
		job_free(rl, rl->jobs);
	free(rl);
}

static const struct launcher_ops relay_ops = {
	.start = relay_start,
	.signal = relay_signal,
	.drop = relay_drop,
	.free = relay_free,
};

struct launcher *launcher_relay_new(
	struct event_base *base, int fd, const struct launch_cbs *cbs,
	void (*on_state)(void *arg, struct handover_rx *rx), void *arg)
{
	struct relay_launcher *rl = calloc(1, sizeof(*rl));

	if (!rl) {
		close(fd);
		return NULL;
	}
	rl->base.ops = &relay_ops;
	rl->base.cbs = cbs;
	rl->on_state = on_state;
	rl->arg = arg;
	rl->ch = privsep_chan_new(base, fd, &relay_chan_cbs, rl);
	if (!rl->ch) {
		free(rl);
		return NULL;
	}
	return &rl->base;
}

struct launch_job *launcher_relay_adopt(struct launcher *l, uint64_t token,
					pid_t pid, int pidfd, void *arg)
{
	struct relay_launcher *rl = (struct relay_launcher *)l;
	struct relay_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.l = l;
	j->base.arg = arg;
	j->token = token;
	j->pid = pid;
	j->pidfd = pidfd;
	j->next = rl->jobs;
	rl->jobs = j;
	return &j->base;
}

size_t launcher_relay_count(const struct launcher *l)
{
	const struct relay_launcher *rl = (const struct relay_launcher *)l;
	const struct relay_job *j;
	size_t n = 0;

	for (j = rl->jobs; j; j = j->next)
		n++;
	return n;
}
