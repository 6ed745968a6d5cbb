/*
 * The privileged monitor (monitor.h). Its whole vocabulary with the worker
 * is privsep.h: it accepts only SPAWN and SIGNAL, each decoded and bounded
 * before use; it answers with the start's outcome and the process's fds,
 * the exit status, and the signal's outcome, and it pushes the container
 * list, the policy file's bytes (read once at start for its gates and the
 * worker's alike, then on SIGHUP and when the file changes), the TLS files'
 * bytes (on SIGHUP
 * and when they change: the worker cannot read a root-only key once it
 * dropped root), the log file reopened on SIGUSR1, and PONG to the
 * worker's health PING. A SPAWN names a container by
 * id: the monitor looks it up in its own inventory and checks it is
 * running at that moment, then re-checks what the node decides whatever
 * the worker says (startgate.h: exec on, the container's annotation,
 * exec_privileged for a privileged container, the same instance the worker
 * decided on). A SIGNAL names a token the monitor handed out:
 * only a process it started and has not reaped can be signalled, never a
 * pid of the worker's choosing.
 *
 * Fail closed: a message that is not exactly well-formed, a worker that
 * stops reading, or a worker that ends, and the monitor kills the worker,
 * kills every session and exits non-zero (the service manager restarts the
 * agent; sessions do not survive their worker, whose streams carried them).
 */
#include "monitor.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/log.h"
#include "filewatch.h"
#include "fdlimit.h"
#include "handover.h"
#include "handover_chan.h"
#include "inventory.h"
#include "launch.h"
#include "monitor_upgrade.h"
#include "policy.h"
#include "privsep.h"
#include "sdnotify.h"
#include "spawn.h"
#include "startgate.h"
#include "takeover.h"

/* Processes the worker may have started at once (the agent's per-identity
 * cap is per identity; this bounds the monitor's own table). */
#define MONITOR_MAX_JOBS 65536
/* After SIGTERM the worker gets this long to end its sessions. */
#define MONITOR_STOP_SECONDS 10
/* An upgrade's starts under way must be decided, and the worker's
 * sessions handed over, within this long. */
#define MONITOR_UPGRADE_SECONDS 60

struct monitor;

/* A process started for the worker. */
struct mjob {
	struct monitor *m;
	uint64_t id; /* the worker's request id */
	uint64_t token; /* ours, once started; 0 before */
	struct launch_job *job; /* NULL once reaped or failed */
	bool exited; /* reaped during a handover: wstatus kept for the next
			worker */
	int wstatus;
	struct mjob *next;
};

/* An upgrade in place, step by step (SIGUSR2). */
enum upgrade_phase {
	UPGRADE_NONE,
	UPGRADE_PROBING, /* the new binary answers --handover-check */
	UPGRADE_DRAINING, /* starts refused; those under way finish */
	UPGRADE_COLLECTING, /* HANDOVER sent: the worker's sessions come */
};

struct monitor {
	const struct monitor_opts *o;
	struct event_base *base;
	struct spawner *sp;
	struct inventory *inv;
	struct launcher *launcher;
	struct privsep_chan *ch;
	struct mjob *jobs;
	size_t njobs;
	uint64_t next_token;
	struct start_gate gate; /* the policy's node-level gates */
	bool stopping; /* SIGTERM came: the worker's end is expected */
	bool stopped; /* the worker is gone (reaped); the loop ends */
	bool worker_reaped; /* its pid is no longer ours to signal */
	int rc;
	struct event *stop_timer;
	struct filewatch *watch; /* the TLS and policy files' directories */
	char *policy_sent; /* owned: the policy text the worker has */
	size_t policy_sent_len;
	uint8_t *tls_sent; /* owned: the TLS files the worker has (or
			      refused); wiped when replaced */
	size_t tls_sent_len;
	enum upgrade_phase upgrade;
	int exe_fd; /* owned during an upgrade: the new binary, or -1 */
	struct upgrade_probe *probe; /* owned */
	struct event *upgrade_timer; /* owned */
	struct handover_rx rx; /* what the worker handed over so far */
	/* A take-over, the old agent's side: the socket, and the new
	 * agent's channel while the handover runs (it becomes m->ch once
	 * this monitor is its relay). */
	int hs_fd; /* owned; -1 none */
	struct event *hs_ev; /* owned */
	struct privsep_chan *peer; /* owned */
	struct privsep_chan *worker_ch; /* owned: the old worker's, once
					   relaying (m->ch is the peer's) */
	bool relaying; /* the worker and its sessions are the peer's; only
			  the processes are left, and their statuses */
	/* The new agent's side: the old monitor's jobs (NULL: none). */
	struct launcher *relay;
	bool taken; /* the relay's state came (or never will) */
};

static void monitor_stop(struct monitor *m, int rc, const char *why)
{
	if (m->stopped)
		return;
	m->stopped = true;
	if (rc)
		log_error("%s: killing the worker and every session", why);
	else
		log_info("%s", why);
	/* The channel is freed after the loop (this may run inside its
	 * callbacks); nothing more is read from it or sent on it. The
	 * worker's end of the channel is closed only when it exits (or
	 * it broke the protocol): make sure, then collect it. */
	if (!m->worker_reaped) {
		kill(m->o->worker, SIGKILL);
		while (waitpid(m->o->worker, NULL, 0) < 0 && errno == EINTR)
			;
		m->worker_reaped = true;
	}
	m->rc = rc;
	if (m->base)
		event_base_loopexit(m->base, NULL);
}

static void send_msg(struct monitor *m, int rc, uint8_t *buf, size_t len,
		     int *fds, size_t nfds)
{
	size_t i;

	/* buf and fds are the channel's, or closed here. */
	if (!rc && !m->stopped) {
		rc = privsep_chan_send(m->ch, buf, len, fds, nfds);
	} else {
		free(buf);
		for (i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	if (rc < 0 && !m->stopped)
		monitor_stop(m, 1,
			     rc == -ENOBUFS ? "the worker does not read" :
					      "cannot send to the worker");
}

/* A text in chunks; the last one is marked. */
static void send_text(struct monitor *m, uint32_t type, const char *text,
		      size_t len)
{
	size_t off = 0, n, blen = 0;
	uint8_t *buf = NULL;
	int rc;

	if (m->relaying)
		return; /* the peer has its own files and containers */
	do {
		n = len - off > PRIVSEP_CHUNK_MAX ? PRIVSEP_CHUNK_MAX :
						    len - off;
		rc = privsep_encode_chunk(type, text + off, n, off + n == len,
					  &buf, &blen);
		send_msg(m, rc, buf, blen, NULL, 0);
		off += n;
	} while (!m->stopped && off < len);
}

static void send_inventory(struct monitor *m)
{
	json_t *doc = inventory_to_json(m->inv, m->o->node);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text)
		send_text(m, PRIVSEP_INVENTORY, text, strlen(text));
	else
		monitor_stop(m, 1, "inventory: out of memory");
	free(text);
	json_decref(doc);
}

static void on_inventory_change(void *arg)
{
	struct monitor *m = arg;

	log_info("inventory changed: %zu container(s)",
		 inventory_count(m->inv));
	/* A container that stopped: its pinned init goes, and with it the
	 * fds kept for it. */
	spawner_prune(m->sp);
	send_inventory(m);
}

static void mjob_free(struct mjob *j)
{
	struct mjob **pp;

	for (pp = &j->m->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			j->m->njobs--;
			break;
		}
	free(j);
}

/* ---- the local launcher's answers, forwarded ---------------------------- */

static void upgrade_drained(struct monitor *m);

static void job_on_start(void *arg, int err, const char *message,
			 const struct launch_started *st)
{
	struct mjob *j = arg;
	struct monitor *m = j->m;
	int fds[PRIVSEP_MAX_FDS];
	const int all[PRIVSEP_MAX_FDS] = { st ? st->stdin_fd : -1,
					   st ? st->stdout_fd : -1,
					   st ? st->stderr_fd : -1,
					   st ? st->tty_fd : -1,
					   st ? st->report_fd : -1 };
	uint32_t bits = 0;
	size_t i, n = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (err) {
		j->job = NULL;
		rc = privsep_encode_spawn_failed(j->id, err, message, &buf,
						 &len);
		mjob_free(j);
		send_msg(m, rc, buf, len, NULL, 0);
		upgrade_drained(m);
		return;
	}
	for (i = 0; i < PRIVSEP_MAX_FDS; i++)
		if (all[i] >= 0) {
			bits |= 1u << i;
			fds[n++] = all[i];
		}
	j->token = ++m->next_token;
	log_info("request %llu: pid %d started (token %llu)",
		 (unsigned long long)j->id, (int)st->pid,
		 (unsigned long long)j->token);
	rc = privsep_encode_spawned(j->id, j->token, st->pid, bits, &buf, &len);
	send_msg(m, rc, buf, len, fds, n); /* the fds go with it */
	upgrade_drained(m);
}

static void job_on_exit(void *arg, int wstatus)
{
	struct mjob *j = arg;
	struct monitor *m = j->m;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (m->upgrade == UPGRADE_COLLECTING) {
		/* The worker may have written its sessions already: the
		 * status goes to the next one. */
		j->job = NULL;
		j->exited = true;
		j->wstatus = wstatus;
		return;
	}
	rc = privsep_encode_exited(j->token, wstatus, &buf, &len);
	mjob_free(j);
	send_msg(m, rc, buf, len, NULL, 0);
	if (m->relaying && !m->njobs) {
		privsep_chan_flush(m->ch);
		monitor_stop(m, 0, "relay: the last process was reaped");
	}
}

static void job_on_signal(void *arg, uint64_t cookie, int err, pid_t target,
			  bool fg)
{
	struct mjob *j = arg;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = privsep_encode_signaled(cookie, j->token, err, target, fg, &buf,
				     &len);
	send_msg(j->m, rc, buf, len, NULL, 0);
}

static const struct launch_cbs job_cbs = {
	.on_start = job_on_start,
	.on_exit = job_on_exit,
	.on_signal = job_on_signal,
};

/* ---- an upgrade in place (SIGUSR2) ------------------------------------ */

static void upgrade_abort(struct monitor *m, const char *why)
{
	log_error("upgrade refused: %s; this agent goes on", why);
	evtimer_del(m->upgrade_timer);
	upgrade_probe_free(m->probe);
	m->probe = NULL;
	if (m->exe_fd >= 0)
		close(m->exe_fd);
	m->exe_fd = -1;
	m->upgrade = UPGRADE_NONE;
	/* A new agent waiting for a take-over sees its socket close. */
	privsep_chan_free(m->peer);
	m->peer = NULL;
}

/* Everything came: the worker goes (it exits by itself once it sent
 * everything; it must be gone, and collected, before its sessions are
 * anyone else's), and the state is gathered into st (the job table, and
 * the worker's document and fds, still m->rx's). */
static int upgrade_state(struct monitor *m, struct handover_monitor *st)
{
	struct rlimit nofile = fdlimit_original();
	struct mjob *j;
	size_t i = 0;

	kill(m->o->worker, SIGKILL);
	while (waitpid(m->o->worker, NULL, 0) < 0 && errno == EINTR)
		;
	m->worker_reaped = true;
	spawner_settle(m->sp);
	st->next_token = m->next_token;
	st->nofile_cur = nofile.rlim_cur;
	st->nofile_max = nofile.rlim_max;
	st->jobs = calloc(m->njobs + 1, sizeof(*st->jobs));
	st->fds = calloc(m->rx.nfds + 1, sizeof(*st->fds));
	if (!st->jobs || !st->fds)
		return -ENOMEM;
	for (j = m->jobs; j; j = j->next) {
		struct handover_job *h = &st->jobs[i];
		int pidfd, tty;
		pid_t pid;

		h->token = j->token;
		h->pidfd = h->tty_fd = -1;
		if (j->exited) {
			h->exited = true;
			h->wstatus = j->wstatus;
			h->pid = 1; /* not used */
		} else if (j->job && !launcher_local_job_fds(j->job, &pid,
							     &pidfd, &tty)) {
			h->pid = pid;
			h->pidfd = pidfd;
			h->tty_fd = tty;
		} else {
			continue; /* cannot happen: drained */
		}
		i++;
	}
	st->njobs = i;
	for (i = 0; i < m->rx.nfds; i++)
		st->fds[i] = m->rx.fds[i];
	st->nfds = m->rx.nfds;
	st->doc = m->rx.doc;
	st->doc_len = m->rx.len;
	return 0;
}

/* This image is replaced. Returns only when nothing could be executed
 * (then every session ends). */
static void upgrade_exec_now(struct monitor *m)
{
	struct handover_monitor st = { 0 };
	char err[512];

	/* From here a stop or another signal waits for the next image
	 * (upgrade_signals_block); the stop that came before was seen by
	 * on_handover_part. */
	upgrade_signals_block(NULL);
	if (upgrade_state(m, &st) < 0) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	log_info("upgrade: %zu process(es), %zu fds and %zu bytes of "
		 "sessions; executing %s",
		 st.njobs, st.nfds, st.doc_len, m->o->exe_path);
	sdnotify("RELOADING=1\nSTATUS=upgrading in place");
	upgrade_exec(m->exe_fd, m->o->argv, &st, err, sizeof(err));
fail:
	st.doc = NULL; /* the rx's */
	handover_monitor_release(&st);
	monitor_stop(m, 1, err);
	upgrade_signals_unblock();
}

/* Index of a dup of fd appended to fds (-1 for -1). */
static int32_t takeover_fd_add(int *fds, size_t *n, int fd)
{
	if (fd < 0)
		return -1;
	fds[*n] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fds[*n] < 0)
		return -2;
	return (int32_t)(*n)++;
}

/*
 * A take-over: the same state goes to the new agent, every fd by its
 * index in the list sent with it (the worker's, then a dup of each job's
 * pidfd and terminal: the jobs keep theirs), and this monitor stays the
 * parent of its processes, as their relay: m->ch is the new agent's
 * channel from here on.
 */
static void takeover_send(struct monitor *m)
{
	struct handover_monitor st = { 0 };
	uint8_t *doc = NULL;
	size_t len = 0, nfds = 0, i;
	int *fds = NULL, rc;
	struct mjob *j, *next;
	struct stat sb;

	rc = upgrade_state(m, &st);
	if (!rc)
		fds = calloc(st.nfds + 2 * st.njobs + 1, sizeof(*fds));
	if (!rc && !fds)
		rc = -ENOMEM;
	for (i = 0; !rc && i < st.nfds; i++) {
		fds[nfds] = st.fds[i];
		st.fds[i] = (int32_t)nfds++;
	}
	if (!rc)
		m->rx.nfds = 0; /* in fds now */
	for (i = 0; !rc && i < st.njobs; i++) {
		if (st.jobs[i].exited)
			continue;
		st.jobs[i].pidfd =
			takeover_fd_add(fds, &nfds, st.jobs[i].pidfd);
		st.jobs[i].tty_fd =
			takeover_fd_add(fds, &nfds, st.jobs[i].tty_fd);
		if (st.jobs[i].pidfd < 0 || st.jobs[i].tty_fd < -1)
			rc = errno ? -errno : -EMFILE;
	}
	if (!rc)
		rc = handover_monitor_encode(&st, &doc, &len);
	if (!rc) {
		log_info("take-over: %zu process(es), %zu fds and %zu bytes of "
			 "sessions to the new agent; relaying",
			 st.njobs, nfds, len);
		/* Nobody else takes over from here on. */
		if (!lstat(m->o->handover_socket, &sb) && S_ISSOCK(sb.st_mode))
			unlink(m->o->handover_socket);
		rc = handover_chan_send(m->peer, doc, len, fds, nfds);
		nfds = 0;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	free(fds);
	free(doc);
	st.doc = NULL; /* the rx's */
	st.nfds = 0; /* indices now, or the rx's */
	for (i = 0; i < st.njobs; i++)
		st.jobs[i].pidfd = st.jobs[i].tty_fd = -1; /* the jobs' */
	handover_monitor_release(&st);
	if (rc < 0) {
		char why[128];

		snprintf(why, sizeof(why), "take-over: %s", strerror(-rc));
		monitor_stop(m, 1, why);
		return;
	}
	/* The statuses reaped meanwhile went with the state. */
	for (j = m->jobs; j; j = next) {
		next = j->next;
		if (j->exited)
			mjob_free(j);
	}
	evtimer_del(m->upgrade_timer);
	if (m->exe_fd >= 0)
		close(m->exe_fd);
	m->exe_fd = -1;
	event_del(m->hs_ev);
	close(m->hs_fd);
	m->hs_fd = -1;
	/* Freed at the end: this runs inside its callback. */
	m->worker_ch = m->ch;
	m->ch = m->peer;
	m->peer = NULL;
	m->relaying = true;
	m->upgrade = UPGRADE_NONE;
	sdnotify("STATUS=relaying for the agent that took over");
	if (!m->njobs)
		monitor_stop(m, 0, "take-over: no process left to relay");
}

static void on_handover_part(struct monitor *m, struct privsep_msg *msg)
{
	char why[128];
	int rc;

	if (m->upgrade != UPGRADE_COLLECTING) {
		monitor_stop(m, 1, "the worker sent a handover unasked");
		return;
	}
	rc = handover_rx_add(&m->rx, msg);
	if (rc < 0) {
		snprintf(why, sizeof(why), "the worker's handover: %s",
			 strerror(-rc));
		monitor_stop(m, 1, why);
		return;
	}
	if (rc == 1 && m->stopping)
		/* SIGTERM came meanwhile: a stop, not an upgrade. */
		monitor_stop(m, 0, "stopped during an upgrade");
	else if (rc == 1 && m->peer)
		takeover_send(m);
	else if (rc == 1)
		upgrade_exec_now(m);
}

/* The worker's sessions would not fit the handover's bound: it serves on,
 * and so does this image. */
static void on_handover_refused(struct monitor *m, struct privsep_msg *msg)
{
	char why[160];

	if (m->upgrade != UPGRADE_COLLECTING || m->rx.nfds || m->rx.len) {
		monitor_stop(m, 1, "the worker refused a handover unasked");
		return;
	}
	snprintf(why, sizeof(why),
		 "the sessions' state would take %llu bytes, over the %u MiB "
		 "a handover carries",
		 (unsigned long long)msg->id, HANDOVER_DOC_MAX >> 20);
	upgrade_abort(m, why);
}

/* Draining: once no start is under way, the worker is asked. */
static void upgrade_drained(struct monitor *m)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct mjob *j;
	int rc;

	if (m->upgrade != UPGRADE_DRAINING || m->stopped)
		return;
	for (j = m->jobs; j; j = j->next)
		if (j->job && launcher_local_entering(j->job))
			return;
	log_info("upgrade: asking the worker for its sessions");
	m->upgrade = UPGRADE_COLLECTING;
	rc = privsep_encode_handover(&buf, &len);
	send_msg(m, rc, buf, len, NULL, 0);
}

/* Starts that never finish: the upgrade is given up, starts go on. A
 * worker that never hands its sessions over: it may have written them
 * already, so nothing can be trusted to go on (as for a worker that
 * breaks the protocol). */
static void upgrade_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;

	(void)fd;
	(void)what;
	if (m->upgrade == UPGRADE_DRAINING)
		upgrade_abort(m, "starts under way did not finish in time");
	else if (m->upgrade == UPGRADE_COLLECTING)
		monitor_stop(
			m, 1,
			"the worker did not hand its sessions over in time");
}

static void upgrade_probed(void *arg, bool ok, const char *why)
{
	struct monitor *m = arg;
	struct timeval tv = { MONITOR_UPGRADE_SECONDS, 0 };

	upgrade_probe_free(m->probe);
	m->probe = NULL;
	if (ok && m->stopping) {
		upgrade_abort(m, "the agent is stopping");
		return;
	}
	if (!ok) {
		char line[512];

		snprintf(line, sizeof(line), "%s: %s",
			 m->peer ? "the agent taking over" : m->o->exe_path,
			 why);
		upgrade_abort(m, line);
		return;
	}
	log_info("upgrade: %s answers --handover-check; new starts wait",
		 m->peer ? "the agent taking over" : m->o->exe_path);
	m->upgrade = UPGRADE_DRAINING;
	evtimer_add(m->upgrade_timer, &tv);
	upgrade_drained(m);
}

static void on_usr2_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *m = arg;
	char err[512];

	(void)sig;
	(void)what;
	if (!m->o->exe_path) {
		log_error("SIGUSR2: the agent's own path is not known: no "
			  "upgrade in place");
		return;
	}
	if (m->upgrade != UPGRADE_NONE || m->stopping || m->relaying) {
		log_warn("SIGUSR2: an upgrade or a stop is under way");
		return;
	}
	if (m->relay && launcher_relay_count(m->relay)) {
		log_error("upgrade refused: %zu process(es) are still held by "
			  "the agent this one took over from",
			  launcher_relay_count(m->relay));
		return;
	}
	log_info("SIGUSR2: upgrading in place to %s", m->o->exe_path);
	if (upgrade_open_binary(m->o->exe_path, &m->exe_fd, err, sizeof(err)) <
	    0) {
		upgrade_abort(m, err);
		return;
	}
	m->upgrade = UPGRADE_PROBING;
	m->probe = upgrade_probe_start(m->base, m->exe_fd, upgrade_probed, m);
	if (!m->probe) {
		snprintf(err, sizeof(err), "cannot run %s: %s", m->o->exe_path,
			 strerror(errno));
		upgrade_abort(m, err);
	}
}

/* ---- a take-over, the old agent's side ---------------------------------- */

/* The new agent's channel: nothing comes from it before the state went;
 * then, as the relay's peer, only SIGNAL for the jobs it holds. */
static void on_signal(struct monitor *m, const struct privsep_msg *msg);

static void peer_on_msg(struct privsep_chan *ch, struct privsep_msg *msg,
			void *arg)
{
	struct monitor *m = arg;

	(void)ch;
	if (m->stopped)
		return;
	if (m->relaying && msg->type == PRIVSEP_SIGNAL)
		on_signal(m, msg);
	else if (m->relaying)
		monitor_stop(m, 1,
			     "relay: the new agent sent a message out "
			     "of turn");
	else if (m->upgrade == UPGRADE_COLLECTING)
		monitor_stop(m, 1,
			     "take-over: the new agent spoke out of turn "
			     "during the handover");
	else
		upgrade_abort(m, "the agent taking over spoke out of turn");
}

static void peer_on_error(struct privsep_chan *ch, const char *why, void *arg)
{
	struct monitor *m = arg;
	char line[300];

	(void)ch;
	if (m->relaying) {
		snprintf(line, sizeof(line),
			 "relay: the agent that took over is gone (%s)", why);
		monitor_stop(m, 1, line);
	} else if (m->upgrade == UPGRADE_COLLECTING) {
		/* The worker may have handed its sessions over already. */
		monitor_stop(m, 1,
			     "take-over: the new agent left during the "
			     "handover");
	} else {
		snprintf(line, sizeof(line), "the agent taking over left: %s",
			 why);
		upgrade_abort(m, line);
	}
}

static const struct privsep_chan_cbs peer_cbs = {
	.on_msg = peer_on_msg,
	.on_error = peer_on_error,
};

/* A connection on --handover-socket: a root process running a binary that
 * answers --handover-check takes every session, as an upgrade in place
 * would; anyone else is refused, logged. */
static void hs_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct monitor *m = arg;
	char err[256];
	pid_t pid = 0;
	int fd, exe;

	(void)what;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (takeover_peer_check(fd, &pid, err, sizeof(err)) < 0) {
		log_warn("take-over refused: %s", err);
		close(fd);
		return;
	}
	if (m->upgrade != UPGRADE_NONE || m->stopping || m->relaying ||
	    (m->relay && launcher_relay_count(m->relay))) {
		log_warn("take-over by pid %d refused: an upgrade, a stop or a "
			 "relay is under way",
			 (int)pid);
		close(fd);
		return;
	}
	exe = takeover_peer_exe(pid);
	if (exe < 0) {
		log_warn("take-over by pid %d refused: its binary: %s",
			 (int)pid, strerror(-exe));
		close(fd);
		return;
	}
	log_info("take-over: pid %d (root) connected; checking its binary",
		 (int)pid);
	m->exe_fd = exe;
	m->peer = privsep_chan_new(m->base, fd, &peer_cbs, m);
	if (!m->peer) {
		upgrade_abort(m, "out of memory");
		return;
	}
	m->upgrade = UPGRADE_PROBING;
	m->probe = upgrade_probe_start(m->base, m->exe_fd, upgrade_probed, m);
	if (!m->probe) {
		snprintf(err, sizeof(err), "cannot run its binary: %s",
			 strerror(errno));
		upgrade_abort(m, err);
	}
}

/* ---- taking the state back, or over ------------------------------------- */

/*
 * The processes and sessions handed over: by an earlier image of this
 * process (relay NULL: the jobs are ours again), or by the agent this one
 * takes over from (its monitor stays their parent: they are relay's). The
 * worker gets the sessions (before anything else, so it serves no client
 * before it has them), then the statuses reaped while the handover ran.
 */
static int adopt_state(struct monitor *m, struct handover_monitor *st,
		       struct launcher *relay)
{
	struct mjob *j, *held = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, i, n = 0;
	int *fds = NULL, rc = 0;

	m->next_token = st->next_token;
	for (i = 0; i < st->njobs; i++) {
		j = calloc(1, sizeof(*j));
		if (!j)
			return -ENOMEM;
		j->m = m;
		j->token = st->jobs[i].token;
		if (st->jobs[i].exited) {
			j->exited = true;
			j->wstatus = st->jobs[i].wstatus;
			j->next = held;
			held = j;
			continue;
		}
		if (relay) {
			j->job = launcher_relay_adopt(relay, j->token,
						      st->jobs[i].pid,
						      st->jobs[i].pidfd, j);
			/* Signals go through the relay, which has its own. */
			if (j->job && st->jobs[i].tty_fd >= 0)
				close(st->jobs[i].tty_fd);
		} else {
			j->job = launcher_local_adopt(m->launcher,
						      st->jobs[i].pid,
						      st->jobs[i].pidfd,
						      st->jobs[i].tty_fd, j);
		}
		if (!j->job) {
			free(j);
			return -ENOMEM;
		}
		st->jobs[i].pidfd = st->jobs[i].tty_fd = -1; /* the job's */
		j->next = m->jobs;
		m->jobs = j;
		m->njobs++;
		n++;
	}
	fds = calloc(st->nfds + 1, sizeof(*fds));
	if (!fds)
		rc = -ENOMEM;
	for (i = 0; fds && i < st->nfds; i++) {
		fds[i] = st->fds[i];
		st->fds[i] = -1;
	}
	if (!rc)
		rc = handover_chan_send(m->ch, st->doc, st->doc_len, fds,
					st->nfds);
	free(fds);
	log_info("%s: %zu process(es) %s, %zu fds and %zu bytes of sessions "
		 "to the worker",
		 relay ? "took over" : "upgraded in place", n,
		 relay ? "held by the relay" : "taken back", st->nfds,
		 st->doc_len);
	while (held) {
		j = held;
		held = j->next;
		if (!rc)
			rc = privsep_encode_exited(j->token, j->wstatus, &buf,
						   &len);
		if (!rc)
			rc = privsep_chan_send(m->ch, buf, len, NULL, 0);
		free(j);
	}
	return rc;
}

/* *x, an index into the fds that came (or -1), becomes that fd (taken from
 * rx); 1 and -1 for an index out of range or used before. */
static int take_fd(struct handover_rx *rx, int32_t *x)
{
	int k = *x;

	if (k < 0)
		return 0;
	if ((size_t)k >= rx->nfds || rx->fds[k] < 0) {
		*x = -1;
		return 1;
	}
	*x = rx->fds[k];
	rx->fds[k] = -1;
	return 0;
}

/* The relay's state (launcher_relay_new): every fd it names is an index
 * into those that came with it, each used once. */
static void on_relay_state(void *arg, struct handover_rx *rx)
{
	struct monitor *m = arg;
	struct handover_monitor st;
	char err[256];
	size_t i;
	int rc;

	m->taken = true;
	if (!rx) {
		monitor_stop(m, 1, "take-over refused or broken");
		return;
	}
	rc = handover_monitor_decode(rx->doc, rx->len, &st, err, sizeof(err));
	if (rc < 0) {
		log_error("take-over: %s", err);
		monitor_stop(m, 1, "take-over: a bad state");
		return;
	}
	for (i = 0; i < st.nfds; i++)
		rc |= take_fd(rx, &st.fds[i]);
	for (i = 0; i < st.njobs; i++)
		if (!st.jobs[i].exited)
			rc |= take_fd(rx, &st.jobs[i].pidfd) |
			      take_fd(rx, &st.jobs[i].tty_fd);
	if (rc) {
		log_error("take-over: the state names fds that did not come");
		handover_monitor_release(&st);
		monitor_stop(m, 1, "take-over: a bad state");
		return;
	}
	if (upgrade_jobs_check(&st, err, sizeof(err)) < 0) {
		log_error("take-over: %s", err);
		monitor_stop(m, 1, "take-over: a bad state");
		return;
	}
	if (adopt_state(m, &st, m->relay) < 0)
		monitor_stop(m, 1, "cannot take the handed over sessions");
	handover_monitor_release(&st);
}

/* ---- the worker's requests ---------------------------------------------- */

/* The gates, from the policy file (root's: read and parsed here too, as
 * the worker parses its copy), or the built-in policy. A file that does
 * not parse leaves them as they were, as the worker keeps its policy:
 * closed (every start refused) until one did. */
static void load_gate(struct monitor *m, const char *text, size_t len)
{
	struct policy *p;
	char err[512];

	p = text ? policy_parse(text, len, err, sizeof(err)) : policy_default();
	if (!p) {
		log_error("policy %s: %s: the node's gates stay as they were",
			  m->o->policy, text ? err : "out of memory");
		return;
	}
	start_gate_from_policy(&m->gate, p);
	policy_free(p);
}

/* 0: the start may go on; else refused, the worker told. */
static int check_spawn(struct monitor *m, const struct privsep_msg *msg)
{
	const struct container *c;
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[512];
	int rc;

	/* A container the inventory does not have is the launcher's to
	 * refuse, with its usual reason. */
	c = inventory_find(m->inv, msg->spec.container);
	if (!c)
		return 0;
	rc = start_gate_check(&m->gate, c, &msg->spec, why, sizeof(why));
	if (!rc)
		return 0;
	log_warn("request %llu: start refused: %s", (unsigned long long)msg->id,
		 why);
	rc = privsep_encode_spawn_failed(msg->id, -rc, why, &buf, &len);
	send_msg(m, rc, buf, len, NULL, 0);
	return -1;
}

static void on_spawn(struct monitor *m, const struct privsep_msg *msg)
{
	struct mjob *j = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = EAGAIN, rc;

	if (check_spawn(m, msg) < 0)
		return;
	if (m->upgrade >= UPGRADE_DRAINING) {
		rc = privsep_encode_spawn_failed(
			msg->id, EAGAIN,
			"the agent is upgrading: start again in a moment", &buf,
			&len);
		send_msg(m, rc, buf, len, NULL, 0);
		return;
	}

	if (m->njobs < MONITOR_MAX_JOBS)
		j = calloc(1, sizeof(*j));
	if (j) {
		j->m = m;
		j->id = msg->id;
		j->job = launcher_start(m->launcher, &msg->spec, j);
		if (j->job) {
			j->next = m->jobs;
			m->jobs = j;
			m->njobs++;
			return;
		}
		err = errno ? errno : EIO;
		free(j);
	}
	/* Encoded first: as an argument next to buf and len, the encoder
	 * may run after they were read (the order is unspecified). */
	rc = privsep_encode_spawn_failed(msg->id, err, strerror(err), &buf,
					 &len);
	send_msg(m, rc, buf, len, NULL, 0);
}

static void on_signal(struct monitor *m, const struct privsep_msg *msg)
{
	struct mjob *j;
	uint8_t *buf = NULL;
	size_t len = 0;

	for (j = m->jobs; j; j = j->next)
		if (j->token == msg->token && j->job)
			break;
	if (!j) {
		log_warn("signal %d for token %llu refused: no such process",
			 (int)msg->num, (unsigned long long)msg->token);
		if (msg->id) {
			int rc = privsep_encode_signaled(msg->id, msg->token,
							 ESRCH, 0, false, &buf,
							 &len);

			send_msg(m, rc, buf, len, NULL, 0);
		}
		return;
	}
	launcher_signal(j->job, msg->num, msg->flags, msg->id);
}

static void on_ping(struct monitor *m, const struct privsep_msg *msg)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = privsep_encode_ping(PRIVSEP_PONG, msg->id, &buf, &len);
	send_msg(m, rc, buf, len, NULL, 0);
}

static void chan_on_msg(struct privsep_chan *ch, struct privsep_msg *msg,
			void *arg)
{
	struct monitor *m = arg;

	(void)ch;
	if (m->stopped || m->relaying)
		return;
	if (!privsep_from_worker(msg->type)) {
		monitor_stop(m, 1, "the worker sent a monitor's message");
		return;
	}
	if (msg->type == PRIVSEP_HANDOVER_FDS ||
	    msg->type == PRIVSEP_HANDOVER_DATA)
		on_handover_part(m, msg);
	else if (msg->type == PRIVSEP_HANDOVER_REFUSED)
		on_handover_refused(m, msg);
	else if (msg->type == PRIVSEP_SPAWN)
		on_spawn(m, msg);
	else if (msg->type == PRIVSEP_PING)
		on_ping(m, msg);
	else
		on_signal(m, msg);
}

static void chan_on_error(struct privsep_chan *ch, const char *why, void *arg)
{
	struct monitor *m = arg;
	char line[300];

	(void)ch;
	if (m->relaying)
		return; /* the worker that handed its sessions over */
	if (m->upgrade == UPGRADE_COLLECTING) {
		snprintf(line, sizeof(line),
			 "the worker ended during the handover: %s", why);
		monitor_stop(m, 1, line);
		return;
	}
	if (m->stopping) {
		monitor_stop(m, 0, "the worker ended");
		return;
	}
	snprintf(line, sizeof(line), "worker: %s", why);
	monitor_stop(m, 1, line);
}

static const struct privsep_chan_cbs chan_cbs = {
	.on_msg = chan_on_msg,
	.on_error = chan_on_error,
};

/* ---- signals ------------------------------------------------------------ */

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	monitor_stop(arg, 1, "the worker did not stop in time");
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *m = arg;
	struct timeval tv = { MONITOR_STOP_SECONDS, 0 };

	(void)what;
	if (m->relaying) {
		/* The old pod's SIGTERM in a rolling update: its sessions are
		 * the new agent's, their processes still ours to reap. */
		log_info("signal %d: relaying %zu process(es) still; exiting "
			 "after the last",
			 (int)sig, m->njobs);
		return;
	}
	if (m->stopping)
		return;
	log_info("signal %d: stopping the worker (pid %d)", (int)sig,
		 (int)m->o->worker);
	m->stopping = true;
	kill(m->o->worker, SIGTERM);
	evtimer_add(m->stop_timer, &tv);
}

/* The TLS files, read here and built into a context by the worker, if
 * they differ from what it has. quiet: the files' directory changed (it
 * holds other files too), so "unchanged" is not worth a line. */
static void tls_reload(struct monitor *m, bool quiet)
{
	char err[512];
	uint8_t *blob;
	size_t len;
	int rc;

	rc = tls_files_read(&m->o->tls, &blob, &len, err, sizeof(err));
	if (rc < 0) {
		/* Half way through a replacement, or a real mistake: the
		 * worker keeps its certificate either way. */
		log_error("TLS files: the certificate in use stays: %s", err);
		return;
	}
	if (m->tls_sent && len == m->tls_sent_len &&
	    !memcmp(blob, m->tls_sent, len)) {
		if (!quiet)
			log_info("TLS files unchanged");
		tls_files_free(blob, len);
		return;
	}
	log_info("TLS files changed: %zu bytes sent to the worker", len);
	send_text(m, PRIVSEP_TLS, (const char *)blob, len);
	tls_files_free(m->tls_sent, m->tls_sent_len);
	m->tls_sent = blob;
	m->tls_sent_len = len;
}

/* The policy is read here (the file may be root's only) and parsed by the
 * worker, where JSON is parsed. On SIGHUP it is sent whatever it holds (the
 * operator asked); when its directory changed, only if it changed. */
static void policy_reload(struct monitor *m, bool changed_only)
{
	char err[512];
	char *text;
	size_t len;

	if (policy_read(m->o->policy, &text, &len, err, sizeof(err)) < 0) {
		log_error("policy %s: keeping the old policy: %s", m->o->policy,
			  err);
		return;
	}
	if (changed_only && m->policy_sent && len == m->policy_sent_len &&
	    !memcmp(text, m->policy_sent, len)) {
		free(text);
		return;
	}
	log_info("policy %s: %zu bytes sent to the worker", m->o->policy, len);
	load_gate(m, text, len);
	send_text(m, PRIVSEP_POLICY, text, len);
	free(m->policy_sent);
	m->policy_sent = text;
	m->policy_sent_len = len;
}

static void on_files_changed(void *arg)
{
	struct monitor *m = arg;

	if (m->o->tls.cert)
		tls_reload(m, true);
	if (m->o->policy)
		policy_reload(m, true);
}

static void on_hup_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *m = arg;

	(void)sig;
	(void)what;
	if (m->o->tls.cert)
		tls_reload(m, false);
	if (!m->o->policy) {
		log_info("SIGHUP: no --policy file; the built-in one stays");
		return;
	}
	policy_reload(m, false);
}

/* Reopened here, where the log's directory is writable; the worker (which
 * may not open it) gets the new file. */
static void on_usr1_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *m = arg;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc;

	(void)sig;
	(void)what;
	if (log_file_fd() < 0)
		return; /* stderr: nothing to reopen */
	if (m->relaying) {
		log_reopen();
		return;
	}
	if (log_reopen() < 0)
		return; /* the next line says why; both keep the old file */
	log_info("log file reopened");
	fd = fcntl(log_file_fd(), F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		log_error("cannot hand the log to the worker: %s",
			  strerror(errno));
		return;
	}
	rc = privsep_encode_logfile(&buf, &len);
	send_msg(m, rc, buf, len, &fd, 1); /* fd goes with it, or closed */
}

/* After the worker ended: its Unix sockets (only sockets). */
static void unlink_sockets(const struct monitor_opts *o)
{
	struct stat sb;
	size_t i;

	for (i = 0; i < o->nlisten; i++)
		if (!strncmp(o->listen[i], "unix:", 5) &&
		    !lstat(o->listen[i] + 5, &sb) && S_ISSOCK(sb.st_mode))
			unlink(o->listen[i] + 5);
	if (o->metrics && !strncmp(o->metrics, "unix:", 5) &&
	    !lstat(o->metrics + 5, &sb) && S_ISSOCK(sb.st_mode))
		unlink(o->metrics + 5);
}

int monitor_run(const struct monitor_opts *o)
{
	struct monitor m = { .o = o, .rc = 1, .exe_fd = -1, .hs_fd = -1 };
	struct event *sigs[5] = { NULL, NULL, NULL, NULL, NULL };
	char err[512];
	int fd = o->fd, i;

	m.base = event_base_new();
	if (!m.base)
		goto out;
	m.sp = spawner_new(m.base);
	m.inv = inventory_new(m.base, o->roots, o->nroots, on_inventory_change,
			      &m);
	m.launcher = m.inv && m.sp ?
			     launcher_local_new(m.base, m.inv, m.sp, &job_cbs) :
			     NULL;
	m.stop_timer = evtimer_new(m.base, on_stop_timer, &m);
	m.upgrade_timer = evtimer_new(m.base, upgrade_timer_cb, &m);
	if (!m.launcher || !m.stop_timer || !m.upgrade_timer) {
		log_error("cannot set up the monitor (out of memory?)");
		goto out;
	}
	m.ch = privsep_chan_new(m.base, fd, &chan_cbs, &m);
	fd = -1; /* the channel owns it, or closed it */
	if (!m.ch) {
		log_error("cannot set up the channel to the worker");
		goto out;
	}
	if (o->takeover_fd >= 0) {
		m.relay = launcher_relay_new(m.base, o->takeover_fd, &job_cbs,
					     on_relay_state, &m);
		if (!m.relay) {
			log_error("cannot set up the take-over");
			goto out;
		}
	}
	sigs[0] = evsignal_new(m.base, SIGTERM, on_stop_signal, &m);
	sigs[1] = evsignal_new(m.base, SIGINT, on_stop_signal, &m);
	sigs[2] = evsignal_new(m.base, SIGHUP, on_hup_signal, &m);
	sigs[3] = evsignal_new(m.base, SIGUSR1, on_usr1_signal, &m);
	sigs[4] = evsignal_new(m.base, SIGUSR2, on_usr2_signal, &m);
	for (i = 0; i < 5; i++)
		if (!sigs[i] || event_add(sigs[i], NULL) < 0)
			goto out;
	/* Blocked across an upgrade's execve(): what came meanwhile is
	 * handled now, by these events. */
	upgrade_signals_unblock();
	if (o->tls.cert || o->policy) {
		const char *const paths[5] = { o->tls.cert, o->tls.key,
					       o->tls.client_ca, o->tls.crl,
					       o->policy };

		/* What the worker loaded at its start, to tell a change. */
		if (o->tls.cert &&
		    tls_files_read(&o->tls, &m.tls_sent, &m.tls_sent_len, err,
				   sizeof(err)) < 0)
			log_warn("TLS files: %s", err);
		m.watch = filewatch_new(m.base, paths, 5, on_files_changed, &m,
					err, sizeof(err));
		if (!m.watch)
			log_warn("%s: the TLS and policy files are reloaded on "
				 "SIGHUP only",
				 err);
	}
	if (o->pidfile) {
		FILE *f = fopen(o->pidfile, "we");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			log_error("cannot write pidfile %s: %s", o->pidfile,
				  strerror(errno));
			goto out;
		}
	}
	/* Read once (after the watch is set: a change from now on is
	 * seen): the same text makes the gates here and, sent, the worker's
	 * policy, so a file replaced during the start cannot leave the two
	 * with different ones. */
	if (o->policy &&
	    policy_read(o->policy, &m.policy_sent, &m.policy_sent_len, err,
			sizeof(err)) < 0) {
		log_error("policy %s: %s", o->policy, err);
		goto out;
	}
	load_gate(&m, m.policy_sent, m.policy_sent_len);
	log_info("worker pid %d; %zu container(s) on node %s", (int)o->worker,
		 inventory_count(m.inv), o->node);
	if (o->adopt && adopt_state(&m, o->adopt, NULL) < 0) {
		/* Those adopted are killed by the stop below, the rest
		 * here: none runs on unreachable. */
		log_error("cannot take the handed over sessions back: %zu "
			  "process(es) killed",
			  upgrade_kill_orphans(o->adopt));
		goto out;
	}
	/* The state of the agent taken over from comes first, as an
	 * earlier image's would. */
	while (m.relay && !m.taken && !m.stopped)
		if (event_base_loop(m.base, EVLOOP_ONCE) < 0)
			goto out;
	if (m.stopped)
		goto out;
	if (o->handover_socket) {
		m.hs_fd = takeover_listen(o->handover_socket, err, sizeof(err));
		if (m.hs_fd < 0) {
			log_error("--handover-socket: %s", err);
			goto out;
		}
		m.hs_ev = event_new(m.base, m.hs_fd, EV_READ | EV_PERSIST,
				    hs_accept_cb, &m);
		if (!m.hs_ev || event_add(m.hs_ev, NULL) < 0)
			goto out;
		log_info("take-over socket %s", o->handover_socket);
	}
	send_inventory(&m);
	if (m.policy_sent)
		send_text(&m, PRIVSEP_POLICY, m.policy_sent, m.policy_sent_len);
	event_base_dispatch(m.base);
	if (o->pidfile && !m.relaying)
		unlink(o->pidfile); /* a relay's was taken over */

out:
	if (fd >= 0)
		close(fd);
	/* Set-up failed half way: the worker must go too. */
	monitor_stop(&m, 1, "the monitor cannot run");
	privsep_chan_free(m.ch);
	privsep_chan_free(m.peer);
	privsep_chan_free(m.worker_ch);
	if (!m.relaying)
		unlink_sockets(o); /* else the new agent's */
	if (m.hs_ev)
		event_free(m.hs_ev);
	if (m.hs_fd >= 0) {
		struct stat sb;

		close(m.hs_fd);
		if (!lstat(o->handover_socket, &sb) && S_ISSOCK(sb.st_mode))
			unlink(o->handover_socket);
	}
	for (i = 0; i < 5; i++)
		if (sigs[i])
			event_free(sigs[i]);
	upgrade_probe_free(m.probe);
	if (m.exe_fd >= 0)
		close(m.exe_fd);
	handover_rx_release(&m.rx);
	filewatch_free(m.watch);
	tls_files_free(m.tls_sent, m.tls_sent_len);
	free(m.policy_sent);
	/* Kills every process still running: no session outlives the
	 * worker that carried it. */
	launcher_free(m.launcher);
	launcher_free(m.relay);
	while (m.jobs)
		mjob_free(m.jobs);
	inventory_free(m.inv);
	spawner_free(m.sp);
	if (m.stop_timer)
		event_free(m.stop_timer);
	if (m.upgrade_timer)
		event_free(m.upgrade_timer);
	if (m.base)
		event_base_free(m.base);
	log_info("stopped");
	return m.rc;
}
