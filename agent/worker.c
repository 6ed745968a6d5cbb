/*
 * The worker's side of privilege separation (worker.h). A session's start
 * is a SPAWN with a request id; the monitor answers SPAWNED (with a token
 * naming the process, and its fds) or SPAWN_FAILED; the process's end is
 * EXITED with the token; a signal is SIGNAL with the token and a cookie,
 * answered by SIGNALED. The worker never names a pid: the monitor signals
 * only processes it started and has not reaped.
 */
#include "worker.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "execfs/log.h"
#include "handover.h"
#include "handover_chan.h"
#include "launch.h"
#include "privsep.h"
#include "readfile.h"
#include "tlsfiles.h"

/* The largest texts the monitor may send: the container list of
 * INVENTORY_MAX_CONTAINERS containers, and a policy file. */
#define WORKER_INVENTORY_MAX (256u * 1024 * 1024)
#define WORKER_POLICY_MAX (1024u * 1024)

struct remote_launcher;

struct remote_job {
	struct launch_job base;
	struct remote_launcher *rl;
	uint64_t id; /* of the SPAWN */
	uint64_t token; /* from SPAWNED; 0 before */
	struct remote_job *next;
};

struct remote_launcher {
	struct launcher base;
	struct privsep_chan *ch; /* owned */
	const struct worker_cbs *wcbs;
	void *arg;
	uint64_t next_id;
	struct remote_job *jobs;
	struct evbuffer *inventory, *policy; /* owned; chunks so far */
	/* TLS chunks so far: a key, so a buffer wiped whenever it is
	 * dropped or moved, not an evbuffer. Owned. */
	uint8_t *tls;
	size_t tls_len, tls_cap;
	struct handover_rx adopt; /* the previous worker's sessions so far */
	/* From the handover until worker_launcher_adopt_done(): the
	 * statuses of jobs not adopted yet (their sessions are read after
	 * the privilege drop), kept for them. Owned. */
	bool adopting;
	struct early_exit {
		uint64_t token;
		int status;
	} * early;
	size_t nearly, early_cap;
	bool lost;
	bool handed_over; /* every session went to the monitor: silent */
};

static void job_free(struct remote_job *j)
{
	struct remote_job **pp;

	for (pp = &j->rl->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	free(j);
}

static struct remote_job *job_by_id(struct remote_launcher *rl, uint64_t id)
{
	struct remote_job *j;

	for (j = rl->jobs; j; j = j->next)
		if (j->id == id && !j->token)
			return j;
	return NULL;
}

static struct remote_job *job_by_token(struct remote_launcher *rl,
				       uint64_t token)
{
	struct remote_job *j;

	for (j = rl->jobs; j; j = j->next)
		if (j->token == token)
			return j;
	return NULL;
}

static void lost(struct remote_launcher *rl, const char *why)
{
	if (rl->lost)
		return;
	rl->lost = true;
	rl->wcbs->on_lost(rl->arg, why);
}

static int send_signal(struct remote_launcher *rl, uint64_t cookie,
		       uint64_t token, int sig, unsigned flags)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (rl->handed_over)
		return -EPIPE;
	rc = privsep_encode_signal(cookie, token, sig, flags, &buf, &len);
	if (!rc)
		rc = privsep_chan_send(rl->ch, buf, len, NULL, 0);
	return rc;
}

static struct launch_job *remote_start(struct launcher *l,
				       const struct exec_spec *spec, void *arg)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;
	struct remote_job *j;
	uint8_t *buf;
	size_t len;
	int rc;

	if (rl->lost || rl->handed_over) {
		errno = EPIPE;
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->base.l = l;
	j->base.arg = arg;
	j->rl = rl;
	j->id = ++rl->next_id;
	rc = privsep_encode_spawn(j->id, spec, &buf, &len);
	if (!rc)
		rc = privsep_chan_send(rl->ch, buf, len, NULL, 0);
	if (rc < 0) {
		free(j);
		errno = -rc;
		return NULL;
	}
	j->next = rl->jobs;
	rl->jobs = j;
	return &j->base;
}

static void remote_signal(struct launch_job *base, int sig, unsigned flags,
			  uint64_t cookie)
{
	struct remote_job *j = (struct remote_job *)base;
	int rc = -ESRCH;

	if (j->token)
		rc = send_signal(j->rl, cookie, j->token, sig, flags);
	if (rc < 0 && cookie && j->base.arg)
		j->rl->base.cbs->on_signal(j->base.arg, cookie, -rc, 0, false);
}

/* The job stays until the monitor says the process ended (or never
 * started), so a late answer finds it and is dropped. */
static void remote_drop(struct launch_job *base)
{
	struct remote_job *j = (struct remote_job *)base;

	j->base.arg = NULL;
	if (j->token)
		send_signal(j->rl, 0, j->token, SIGKILL, 0);
}

static void remote_free(struct launcher *l)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;

	while (rl->jobs)
		job_free(rl->jobs);
	privsep_chan_free(rl->ch);
	if (rl->inventory)
		evbuffer_free(rl->inventory);
	if (rl->policy)
		evbuffer_free(rl->policy);
	tls_files_free(rl->tls, rl->tls_cap);
	handover_rx_release(&rl->adopt);
	free(rl->early);
	free(rl);
}

static const struct launcher_ops remote_ops = {
	.start = remote_start,
	.signal = remote_signal,
	.drop = remote_drop,
	.free = remote_free,
};

static void on_spawned(struct remote_launcher *rl, struct privsep_msg *m)
{
	struct remote_job *j = job_by_id(rl, m->id);
	int *slots[PRIVSEP_MAX_FDS];
	struct launch_started st;
	size_t i, k = 0;

	if (!j) {
		log_warn("SPAWNED for unknown request %llu",
			 (unsigned long long)m->id);
		send_signal(rl, 0, m->token, SIGKILL, 0);
		return;
	}
	j->token = m->token;
	if (!j->base.arg) {
		send_signal(rl, 0, m->token, SIGKILL, 0); /* nobody wants it */
		return;
	}
	if (m->fds_lost) {
		void *arg = j->base.arg;

		/* No slot for its stdio here: the process cannot be served.
		 * The job stays until its EXITED, which is then dropped. */
		log_warn("request %llu: pid %d started, but its fds did not "
			 "fit in this process (out of file descriptors): "
			 "killing it",
			 (unsigned long long)m->id, (int)m->num);
		send_signal(rl, 0, m->token, SIGKILL, 0);
		j->base.arg = NULL;
		rl->base.cbs->on_start(arg, EMFILE,
				       "the agent is out of file descriptors",
				       NULL);
		return;
	}
	memset(&st, 0xff, sizeof(st));
	st.pid = m->num;
	slots[0] = &st.stdin_fd;
	slots[1] = &st.stdout_fd;
	slots[2] = &st.stderr_fd;
	slots[3] = &st.tty_fd;
	slots[4] = &st.report_fd;
	/* The fds came in bit order; the decoder counted them. */
	for (i = 0; i < PRIVSEP_MAX_FDS; i++)
		if (m->flags & (1u << i)) {
			*slots[i] = m->fds[k];
			m->fds[k++] = -1;
		}
	rl->base.cbs->on_start(j->base.arg, 0, NULL, &st);
}

static void on_spawn_failed(struct remote_launcher *rl, struct privsep_msg *m)
{
	struct remote_job *j = job_by_id(rl, m->id);

	if (!j)
		return;
	if (j->base.arg)
		rl->base.cbs->on_start(j->base.arg, m->num, m->message, NULL);
	job_free(j);
}

static void on_exited(struct remote_launcher *rl, struct privsep_msg *m)
{
	struct remote_job *j = job_by_token(rl, m->token);
	struct early_exit *bigger;

	if (!j && rl->adopting) {
		if (rl->nearly == rl->early_cap) {
			bigger = rl->nearly < HANDOVER_MAX_SESSIONS ?
					 reallocarray(rl->early,
						      rl->early_cap * 2 + 16,
						      sizeof(*rl->early)) :
					 NULL;
			if (!bigger) {
				lost(rl, "too many exits during the handover");
				return;
			}
			rl->early = bigger;
			rl->early_cap = rl->early_cap * 2 + 16;
		}
		rl->early[rl->nearly].token = m->token;
		rl->early[rl->nearly++].status = m->num;
		return;
	}
	if (!j)
		return;
	if (j->base.arg)
		rl->base.cbs->on_exit(j->base.arg, m->num);
	job_free(j);
}

static void on_signaled(struct remote_launcher *rl, struct privsep_msg *m)
{
	struct remote_job *j = job_by_token(rl, m->token);

	if (j && j->base.arg && m->id)
		rl->base.cbs->on_signal(j->base.arg, m->id, m->num, m->target,
					m->flags & PRIVSEP_SIGNALED_FG);
}

/* INVENTORY and POLICY come in chunks; the last one completes the text. */
static void on_chunk(struct remote_launcher *rl, struct privsep_msg *m)
{
	bool inv = m->type == PRIVSEP_INVENTORY;
	struct evbuffer *b = inv ? rl->inventory : rl->policy;
	size_t max = inv ? WORKER_INVENTORY_MAX : WORKER_POLICY_MAX;
	size_t len;

	if (evbuffer_get_length(b) + m->len > max ||
	    evbuffer_add(b, m->data, m->len) < 0) {
		lost(rl, inv ? "inventory too large" : "policy too large");
		return;
	}
	if (!(m->flags & PRIVSEP_LAST))
		return;
	len = evbuffer_get_length(b);
	if (inv)
		rl->wcbs->on_inventory(
			rl->arg, (const char *)evbuffer_pullup(b, -1), len);
	else
		rl->wcbs->on_policy(rl->arg,
				    (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_drain(b, len);
}

/* TLS chunks: the blob grows by copies, each old one wiped. */
static void on_tls_chunk(struct remote_launcher *rl, struct privsep_msg *m)
{
	size_t need = rl->tls_len + m->len, cap;
	uint8_t *b;

	if (need > TLS_FILES_BLOB_MAX) {
		lost(rl, "TLS files too large");
		return;
	}
	if (need > rl->tls_cap) {
		cap = need < 64 * 1024 ? 64 * 1024 : need * 2;
		if (cap > TLS_FILES_BLOB_MAX)
			cap = TLS_FILES_BLOB_MAX;
		b = malloc(cap);
		if (!b) {
			lost(rl, "out of memory");
			return;
		}
		if (rl->tls_len)
			memcpy(b, rl->tls, rl->tls_len);
		tls_files_free(rl->tls, rl->tls_cap);
		rl->tls = b;
		rl->tls_cap = cap;
	}
	memcpy(rl->tls + rl->tls_len, m->data, m->len);
	rl->tls_len = need;
	OPENSSL_cleanse(m->data, m->len);
	if (!(m->flags & PRIVSEP_LAST))
		return;
	rl->wcbs->on_tls(rl->arg, rl->tls, rl->tls_len);
	OPENSSL_cleanse(rl->tls, rl->tls_len);
	rl->tls_len = 0;
}

/* The sessions of the worker before this one, from the monitor. */
static void on_adopt_part(struct remote_launcher *rl, struct privsep_msg *m)
{
	struct handover_rx rx;
	int rc = handover_rx_add(&rl->adopt, m);

	if (rc < 0) {
		log_error("handover from the monitor: %s", strerror(-rc));
		lost(rl, "bad handover");
		return;
	}
	if (rc == 0)
		return;
	rx = rl->adopt;
	memset(&rl->adopt, 0, sizeof(rl->adopt));
	rl->adopting = true;
	rl->wcbs->on_adopt(rl->arg, &rx); /* the callee's now */
}

static void chan_on_msg(struct privsep_chan *ch, struct privsep_msg *m,
			void *arg)
{
	struct remote_launcher *rl = arg;

	(void)ch;
	switch (m->type) {
	case PRIVSEP_SPAWNED:
		on_spawned(rl, m);
		break;
	case PRIVSEP_SPAWN_FAILED:
		on_spawn_failed(rl, m);
		break;
	case PRIVSEP_EXITED:
		on_exited(rl, m);
		break;
	case PRIVSEP_SIGNALED:
		on_signaled(rl, m);
		break;
	case PRIVSEP_INVENTORY:
	case PRIVSEP_POLICY:
		on_chunk(rl, m);
		break;
	case PRIVSEP_TLS:
		on_tls_chunk(rl, m);
		break;
	case PRIVSEP_LOGFILE:
		rl->wcbs->on_logfile(rl->arg, m->fds[0]);
		m->fds[0] = -1;
		break;
	case PRIVSEP_PONG:
		rl->wcbs->on_pong(rl->arg, m->id);
		break;
	case PRIVSEP_HANDOVER:
		rl->wcbs->on_handover(rl->arg);
		break;
	case PRIVSEP_HANDOVER_FDS:
	case PRIVSEP_HANDOVER_DATA:
		on_adopt_part(rl, m);
		break;
	default:
		lost(rl, "the monitor sent a worker's message");
		break;
	}
}

static void chan_on_error(struct privsep_chan *ch, const char *why, void *arg)
{
	(void)ch;
	lost(arg, why);
}

static const struct privsep_chan_cbs chan_cbs = {
	.on_msg = chan_on_msg,
	.on_error = chan_on_error,
};

struct launcher *worker_launcher_new(struct event_base *base, int fd,
				     const struct launch_cbs *cbs,
				     const struct worker_cbs *wcbs, void *arg)
{
	struct remote_launcher *rl = calloc(1, sizeof(*rl));

	if (!rl) {
		close(fd);
		return NULL;
	}
	rl->base.ops = &remote_ops;
	rl->base.cbs = cbs;
	rl->wcbs = wcbs;
	rl->arg = arg;
	rl->inventory = evbuffer_new();
	rl->policy = evbuffer_new();
	rl->ch = privsep_chan_new(base, fd, &chan_cbs, rl);
	if (!rl->ch || !rl->inventory || !rl->policy) {
		remote_free(&rl->base);
		return NULL;
	}
	return &rl->base;
}

int worker_ping(struct launcher *l, uint64_t id)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;
	uint8_t *buf;
	size_t len;
	int rc;

	if (rl->lost)
		return -EPIPE;
	rc = privsep_encode_ping(PRIVSEP_PING, id, &buf, &len);
	if (!rc)
		rc = privsep_chan_send(rl->ch, buf, len, NULL, 0);
	return rc;
}

int worker_handover_refuse(struct launcher *l, uint64_t bytes)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = privsep_encode_handover_refused(bytes, &buf, &len);
	if (!rc)
		rc = privsep_chan_send(rl->ch, buf, len, NULL,
				       0); /* takes buf */
	return rc;
}

int worker_handover_send(struct launcher *l, const uint8_t *doc, size_t len,
			 int *fds, size_t nfds)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;
	int rc;

	rc = handover_chan_send(rl->ch, doc, len, fds, nfds);
	privsep_chan_flush(rl->ch);
	rl->handed_over = true;
	/* Not gone before the monitor read it all (it kills this process
	 * once it did, or closes the channel). */
	if (!rc)
		privsep_chan_wait_close(rl->ch);
	return rc;
}

struct launch_job *worker_launcher_adopt(struct launcher *l, uint64_t token,
					 void *arg)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;
	struct remote_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.l = l;
	j->base.arg = arg;
	j->rl = rl;
	j->token = token;
	j->next = rl->jobs;
	rl->jobs = j;
	return &j->base;
}

void worker_launcher_adopt_done(struct launcher *l)
{
	struct remote_launcher *rl = (struct remote_launcher *)l;
	struct remote_job *j;
	size_t i;

	rl->adopting = false;
	for (i = 0; i < rl->nearly; i++) {
		j = job_by_token(rl, rl->early[i].token);
		if (!j)
			continue;
		if (j->base.arg)
			rl->base.cbs->on_exit(j->base.arg, rl->early[i].status);
		job_free(j);
	}
	free(rl->early);
	rl->early = NULL;
	rl->nearly = rl->early_cap = 0;
}

uint64_t worker_job_token(const struct launch_job *j)
{
	return ((const struct remote_job *)j)->token;
}

void worker_launcher_flush(struct launcher *l)
{
	if (l)
		privsep_chan_flush(((struct remote_launcher *)l)->ch);
}

/* ---- the user ----------------------------------------------------------- */

int worker_user_resolve(const char *user, uid_t *uid, gid_t *gid, char *err,
			size_t errlen)
{
	struct passwd *pw;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(user, &end, 10);
	if (*user >= '0' && *user <= '9' && !*end && !errno && v < (uid_t)-1) {
		*uid = (uid_t)v;
		pw = getpwuid(*uid);
		*gid = pw ? pw->pw_gid : (gid_t)v;
	} else {
		pw = getpwnam(user);
		if (!pw) {
			snprintf(err, errlen, "--user %s: no such user", user);
			return -ENOENT;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (*uid == 0 || *gid == 0) {
		snprintf(err, errlen,
			 "--user %s: the worker must not run as root (uid or "
			 "gid 0)",
			 user);
		return -EINVAL;
	}
	return 0;
}

/* CapEff of this process, from /proc/self/status. */
static int cap_effective(unsigned long long *caps)
{
	char *buf, *p;
	int rc;

	rc = read_file_at(AT_FDCWD, "/proc/self/status", 64 * 1024, &buf, NULL,
			  NULL);
	if (rc < 0)
		return rc;
	p = strstr(buf, "\nCapEff:");
	rc = p && sscanf(p + 8, "%llx", caps) == 1 ? 0 : -EIO;
	free(buf);
	return rc;
}

int worker_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	unsigned long long caps = ~0ULL;
	const char *step;
	int rc;

	/* Groups first: after setresuid() there is no right left to. */
	step = "setgroups";
	if (setgroups(0, NULL) < 0)
		goto out_errno;
	step = "setresgid";
	if (setresgid(gid, gid, gid) < 0)
		goto out_errno;
	step = "setresuid";
	if (setresuid(uid, uid, uid) < 0)
		goto out_errno;
	step = "no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto out_errno;
	/* Trust, but verify: a drop that did not hold is fatal. */
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 ||
	    getegid() == 0) {
		snprintf(err, errlen, "privileges: still root after the drop");
		return -EPERM;
	}
	if (setuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errlen, "privileges: could become root again");
		return -EPERM;
	}
	rc = cap_effective(&caps);
	if (rc < 0 || caps) {
		snprintf(err, errlen,
			 "privileges: effective capabilities %llx remain",
			 caps);
		return -EPERM;
	}
	return 0;

out_errno:
	rc = -errno;
	snprintf(err, errlen, "privileges: %s: %s", step, strerror(errno));
	return rc;
}
