/*
 * execfs-agent: the node daemon. Parses flags and runs as two processes
 * (docs/SECURITY.md, "Privilege separation"):
 *
 *   the monitor (this process, root): follows the node's containers and
 *     starts, waits for and signals session processes (monitor.c);
 *   the worker (a fresh exec of this binary with --privsep-worker FD):
 *     loads the TLS keys, opens the audit file and binds the listeners
 *     while still root, drops to --user for good, then serves HTTP/2, the
 *     policy and the sessions, asking the monitor over the channel for
 *     every process.
 *
 * The worker is exec'ed rather than only forked so it starts from a clean
 * image (between fork and exec only async-signal-safe calls run).
 * --no-privsep runs everything in one root process (for debugging).
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/evloop.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/memtune.h"
#include "execfs/numparse.h"
#include "execfs/proto.h"
#include "execfs/version.h"
#include "audit.h"
#include "fdlimit.h"
#include "hostns.h"
#include "inventory.h"
#include "launch.h"
#include "metrics.h"
#include "metrics_http.h"
#include "filewatch.h"
#include "handover.h"
#include "handover_chan.h"
#include "monitor.h"
#include "monitor_upgrade.h"
#include "naming.h"
#include "options.h"
#include "policy.h"
#include "privsep.h"
#include "sandbox.h"
#include "sdnotify.h"
#include "selfexe.h"
#include "server.h"
#include "session.h"
#include "session_handover.h"
#include "takeover.h"
#include "spawn.h"
#include "tlsfiles.h"
#include "worker.h"

static bool is_tcp(const char *addr)
{
	return strncmp(addr, "unix:", 5) != 0;
}

/* The parent directory of a Unix socket, created private if missing. */
static void make_socket_dir(const char *addr)
{
	char dir[256];
	char *slash;

	if (is_tcp(addr) ||
	    snprintf(dir, sizeof(dir), "%s", addr + 5) >= (int)sizeof(dir))
		return;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		log_warn("mkdir %s: %s", dir, strerror(errno));
}

/* The worker PINGs the monitor this often; /healthz fails once no answer
 * came for HEALTH_STALE_SECONDS. */
#define HEALTH_PING_SECONDS 1
#define HEALTH_STALE_SECONDS 5

/* The serving side: the worker, or the whole agent with --no-privsep. */
struct agent {
	struct event_base *base;
	struct inventory *inv; /* the runtime's, or the worker's mirror */
	struct spawner *sp; /* --no-privsep only */
	struct launcher *launcher;
	struct xsession_table *sessions;
	struct server *srv;
	SSL_CTX *tls; /* owned; replaced by a reload */
	struct filewatch *tls_watch; /* --no-privsep with TLS; owned */
	struct h2_listener *listeners[MAX_LISTEN];
	size_t nlisteners;
	/* owned: the listening sockets the worker before this one handed
	 * over (an upgrade), by --listen index; -1 none */
	int inherited[MAX_LISTEN];
	/* owned: that worker's document and fds (its listeners taken),
	 * read once this one runs as --user in its sandbox; empty once
	 * read */
	struct handover_rx adopt;
	bool adopt_pending;
	bool sandboxed; /* worker: in its sandbox (sandbox.h) */
	struct policy *policy; /* owned; replaced on SIGHUP */
	const char *policy_path; /* NULL: the built-in policy */
	struct audit *audit; /* owned; NULL without --audit */
	struct metrics_http *metrics; /* owned; NULL without --metrics */
	struct event *ping_ev; /* owned; the worker's health PING */
	uint64_t ping_id;
	struct timespec pong; /* CLOCK_MONOTONIC of the last PONG */
	long long cert_not_after; /* of a->tls's certificate */
	const struct agent_opts *o;
	bool worker; /* privilege-separated: the monitor is the peer */
	bool ready; /* serving: systemd was told READY=1 */
	bool have_inventory; /* worker: the first list arrived */
	/* worker: the policy text the monitor read at its start (owned;
	 * parsed after the privilege drop), and whether it came */
	char *start_policy;
	size_t start_policy_len;
	bool have_policy;
	bool dropped; /* worker: privileges dropped; policies apply now */
	bool lost; /* worker: the monitor is gone */
	bool stopping; /* SIGTERM came: /readyz fails */
};

/* Install a parsed policy, or say why a text is bad. At start a bad one is
 * fatal; on reload it keeps the old one: failing closed means never
 * widening, and the old policy was already in force. */
static int agent_set_policy(struct agent *a, struct policy *p, const char *err)
{
	if (!p) {
		log_error("policy %s: %s", a->policy_path,
			  a->policy ? "keeping the old policy" : "invalid");
		log_error("%s", err);
		if (a->policy)
			metrics_inc(METRIC_POLICY_RELOAD_FAILURES);
		return -EINVAL;
	}
	xsession_table_set_policy(a->sessions, p);
	server_set_policy(a->srv, p);
	if (a->policy)
		metrics_inc(METRIC_POLICY_RELOADS);
	policy_free(a->policy);
	a->policy = p;
	log_info("policy: %s",
		 a->policy_path ? a->policy_path : "built-in (uid:0 only)");
	return 0;
}

static int agent_load_policy(struct agent *a)
{
	char err[512];

	if (!a->policy_path)
		return agent_set_policy(a, policy_default(), "");
	return agent_set_policy(
		a, policy_load(a->policy_path, err, sizeof(err)), err);
}

/* New TLS files (tlsfiles.h's blob): the listeners take the context they
 * make for new connections; connections already made keep theirs (each
 * holds a reference to its context), and so does every session. A blob
 * that does not make a context keeps the one in force. */
static int agent_set_tls(struct agent *a, const uint8_t *blob, size_t len)
{
	char err[512], desc[512];
	long long not_after = 0;
	SSL_CTX *ctx;
	size_t i;

	ctx = tls_files_ctx(blob, len, desc, sizeof(desc), &not_after, err,
			    sizeof(err));
	if (!ctx) {
		log_error("TLS files: the certificate in use stays: %s", err);
		metrics_inc(METRIC_CERT_RELOAD_FAILURES);
		return -EINVAL;
	}
	metrics_inc(METRIC_CERT_RELOADS);
	a->cert_not_after = not_after;
	for (i = 0; i < a->nlisteners; i++)
		if (is_tcp(a->o->listen[i]))
			h2_listener_set_tls(a->listeners[i], ctx);
	tls_ctx_free(a->tls);
	a->tls = ctx;
	log_info("TLS: new connections get the certificate %s", desc);
	return 0;
}

/* --no-privsep: this process reads the files itself. */
static void agent_reload_tls(struct agent *a)
{
	const struct tls_paths p = { a->o->cert, a->o->key, a->o->client_ca,
				     a->o->crl };
	char err[512];
	uint8_t *blob;
	size_t len;

	if (!a->tls)
		return;
	if (tls_files_read(&p, &blob, &len, err, sizeof(err)) < 0) {
		log_error("TLS files: the certificate in use stays: %s", err);
		return;
	}
	agent_set_tls(a, blob, len);
	tls_files_free(blob, len);
}

static void on_tls_files_changed(void *arg)
{
	agent_reload_tls(arg);
}

static void on_hup_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	agent_reload_tls(arg);
	agent_load_policy(arg);
}

/* --no-privsep: SIGUSR1 reopens --log (the monitor does it otherwise). */
static void on_usr1_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (log_file_fd() >= 0 && log_reopen() == 0)
		log_info("log file reopened");
}

/* Tell systemd (sdnotify.h) state, followed by a STATUS line. */
static void agent_notify(struct agent *a, const char *state)
{
	char msg[512];
	int rc;

	snprintf(msg, sizeof(msg),
		 "%sSTATUS=node %s: %zu container(s); listening on %s%s", state,
		 a->o->node, inventory_count(a->inv), a->o->listen[0],
		 a->o->nlisten > 1 ? " and more" : "");
	rc = sdnotify(msg);
	if (rc < 0)
		log_warn("$NOTIFY_SOCKET: %s", strerror(-rc));
}

static void on_inventory_change(void *arg)
{
	struct agent *a = arg;

	if (a->srv)
		server_inventory_changed(a->srv);
	if (a->ready)
		agent_notify(a, "");
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	int rc;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	a->stopping = true;
	rc = sdnotify("STOPPING=1\nSTATUS=stopping: ending every session");
	if (rc < 0)
		log_warn("$NOTIFY_SOCKET: %s", strerror(-rc));
	event_base_loopexit(a->base, NULL);
}

/* ---- the worker's channel ----------------------------------------------- */

static void worker_on_inventory(void *arg, const char *text, size_t len)
{
	struct agent *a = arg;
	char err[256];

	if (inventory_mirror_load(a->inv, text, len, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return;
	}
	a->have_inventory = true;
}

static void worker_on_lost(void *arg, const char *why);

static void worker_on_policy(void *arg, const char *text, size_t len)
{
	struct agent *a = arg;
	char err[512];

	/* The first one, at start: the monitor's own reading of the file,
	 * parsed once privileges are dropped. */
	if (a->worker && !a->dropped) {
		free(a->start_policy);
		a->start_policy = malloc(len ? len : 1);
		if (!a->start_policy) {
			worker_on_lost(a, "out of memory");
			return;
		}
		memcpy(a->start_policy, text, len);
		a->start_policy_len = len;
		a->have_policy = true;
		return;
	}
	agent_set_policy(a, policy_parse(text, len, err, sizeof(err)), err);
}

static void worker_on_lost(void *arg, const char *why)
{
	struct agent *a = arg;

	log_error("monitor: %s: stopping", why);
	a->lost = true;
	event_base_loopexit(a->base, NULL);
}

static void worker_on_tls(void *arg, const uint8_t *blob, size_t len)
{
	agent_set_tls(arg, blob, len);
}

static void worker_on_logfile(void *arg, int fd)
{
	int rc;

	(void)arg;
	rc = log_adopt_fd(fd);
	if (rc < 0)
		log_error("cannot switch to the reopened log: %s",
			  strerror(-rc));
	else
		log_info("log file reopened");
}

static void worker_on_pong(void *arg, uint64_t id)
{
	struct agent *a = arg;

	if (id == a->ping_id)
		clock_gettime(CLOCK_MONOTONIC, &a->pong);
}

static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int rc;

	(void)fd;
	(void)what;
	rc = worker_ping(a->launcher, ++a->ping_id);
	if (rc < 0 && rc != -EPIPE)
		log_warn("health ping: %s", strerror(-rc));
}

/* The monitor asks for every session (an upgrade in place): they go to it
 * with their fds and the listening sockets, and this process exits at
 * once, before the loop could read another byte from a client or a pipe
 * (the bytes handed over must be all there is). */
static void worker_on_handover(void *arg)
{
	struct agent *a = arg;
	struct handover_doc d = { 0 };
	struct handover_listener ls[MAX_LISTEN];
	uint8_t *doc = NULL;
	size_t nfds = 0, len = 0, i;
	int *fds = NULL, *bigger;
	uint64_t size = xsession_table_export_size(a->sessions);
	int rc;

	/* Sized before anything is copied or handed back by the streams:
	 * over the bound, the upgrade is refused and nothing changed. */
	if (size > HANDOVER_DOC_MAX) {
		log_error(
			"handover: the sessions' state would take %llu bytes, "
			"over %u MiB: upgrade refused, serving on",
			(unsigned long long)size, HANDOVER_DOC_MAX >> 20);
		rc = worker_handover_refuse(a->launcher, size);
		if (rc < 0)
			log_error("handover: cannot refuse: %s", strerror(-rc));
		return;
	}
	rc = xsession_table_export(a->sessions, &d, &fds, &nfds);
	bigger = rc ? NULL :
		      realloc(fds, (nfds + a->nlisteners + 1) * sizeof(*fds));
	if (bigger) {
		fds = bigger;
		for (i = 0; i < a->nlisteners; i++) {
			snprintf(ls[i].address, sizeof(ls[i].address), "%s",
				 a->o->listen[i]);
			fds[nfds] = fcntl(h2_listener_fd(a->listeners[i]),
					  F_DUPFD_CLOEXEC, 3);
			if (fds[nfds] < 0)
				rc = -errno;
			ls[i].fd = (int32_t)nfds++;
		}
		d.listeners = ls;
		d.nlisteners = a->nlisteners;
	} else if (!rc) {
		rc = -ENOMEM;
	}
	if (!rc)
		rc = handover_encode(&d, nfds, &doc, &len);
	d.listeners = NULL;
	d.nlisteners = 0;
	if (!rc) {
		log_info("handover: %zu session(s), %zu listener(s): %zu "
			 "bytes and %zu fds to the monitor; exiting",
			 d.nsessions, a->nlisteners, len, nfds);
		rc = worker_handover_send(a->launcher, doc, len, fds, nfds);
		nfds = 0; /* sent or closed */
	}
	if (rc < 0)
		log_error("handover: %s: the monitor ends every session",
			  strerror(-rc));
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(doc);
	handover_doc_release(&d);
	/* Nothing is freed on the way out: freeing the sessions would
	 * signal their processes, which are the next worker's now. */
	_exit(rc < 0 ? 1 : 0);
}

/*
 * The sessions of the worker before this one, read only now that this one
 * runs as --user in its sandbox: the document is that worker's, which may
 * have been hostile. Fails closed: a session that cannot be taken over
 * (a malformed document, a session id twice, no memory) ends this worker
 * with a non-zero status, and the monitor ends every session, as for any
 * worker that fails; none is left running where nobody can reach it.
 */
static int agent_adopt_sessions(struct agent *a)
{
	struct handover_doc d;
	size_t i, n = 0;
	char err[256];
	int rc;

	if (!a->adopt_pending)
		return 0;
	a->adopt_pending = false;
	rc = handover_decode(a->adopt.doc, a->adopt.len, a->adopt.nfds, &d, err,
			     sizeof(err));
	if (rc < 0)
		log_error("%s", err);
	for (i = 0; !rc && i < d.nsessions; i++) {
		rc = xsession_table_import(a->sessions, &d.sessions[i],
					   a->adopt.fds);
		n += !rc;
	}
	if (rc < 0)
		log_error("handover: %zu of %zu session(s) taken over: %s: "
			  "exiting, the monitor ends every session",
			  n, d.nsessions, strerror(-rc));
	else
		log_info("handover: %zu session(s) taken over", n);
	handover_doc_release(&d);
	handover_rx_release(&a->adopt); /* closes the fds not taken */
	worker_launcher_adopt_done(a->launcher);
	return rc;
}

/* The listening sockets of the worker before this one, taken now (they
 * are bound before the privilege drop); of its document only the header
 * and the listeners are read while this process is root. */
static void worker_on_adopt(void *arg, struct handover_rx *rx)
{
	struct agent *a = arg;
	struct handover_doc d;
	size_t i, k;
	char err[256];

	if (a->adopt_pending || a->nlisteners) {
		log_error("handover: a second one, or one after the start");
		handover_rx_release(rx);
		goto fail;
	}
	a->adopt = *rx; /* ours now */
	a->adopt_pending = true;
	if (handover_decode_listeners(a->adopt.doc, a->adopt.len, a->adopt.nfds,
				      &d, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto fail;
	}
	for (i = 0; i < d.nlisteners; i++)
		for (k = 0; k < a->o->nlisten; k++)
			if (!strcmp(d.listeners[i].address, a->o->listen[k]) &&
			    a->inherited[k] < 0) {
				a->inherited[k] =
					a->adopt.fds[d.listeners[i].fd];
				a->adopt.fds[d.listeners[i].fd] = -1;
			}
	handover_doc_release(&d);
	if (a->sandboxed && agent_adopt_sessions(a) < 0)
		goto fail;
	return;
fail:
	log_error("handover: exiting, the monitor ends every session");
	a->lost = true;
	event_base_loopexit(a->base, NULL);
}

/* What /healthz, /readyz and /metrics report, now. */
static void agent_gauges(void *arg, struct metrics_gauges *g)
{
	struct agent *a = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	g->containers = inventory_count(a->inv);
	g->cert_not_after = a->tls ? a->cert_not_after : 0;
	/* Without privsep this loop answering is the whole health. */
	g->healthy = !a->worker || (!a->lost && now.tv_sec - a->pong.tv_sec <=
							HEALTH_STALE_SECONDS);
	g->ready = a->ready && !a->stopping;
}

static const struct worker_cbs worker_cbs = {
	.on_inventory = worker_on_inventory,
	.on_policy = worker_on_policy,
	.on_tls = worker_on_tls,
	.on_logfile = worker_on_logfile,
	.on_pong = worker_on_pong,
	.on_lost = worker_on_lost,
	.on_handover = worker_on_handover,
	.on_adopt = worker_on_adopt,
};

static int agent_listen(struct agent *a, const struct agent_opts *o)
{
	char err[512];
	size_t i;

	for (i = 0; i < o->nlisten; i++) {
		SSL_CTX *ctx = NULL;

		if (is_tcp(o->listen[i])) {
			if (!o->cert || !o->key || !o->client_ca) {
				log_error(
					"--listen %s: TCP needs --cert, --key and --client-ca (mutual TLS)",
					o->listen[i]);
				return -EINVAL;
			}
			if (!a->tls) {
				a->tls = tls_server_ctx_new(o->cert, o->key,
							    o->client_ca, err,
							    sizeof(err));
				if (!a->tls ||
				    (o->crl &&
				     tls_ctx_load_crl_file(a->tls, o->crl, err,
							   sizeof(err)) < 0)) {
					log_error("%s", err);
					return -EINVAL;
				}
			}
			ctx = a->tls;
		} else {
			make_socket_dir(o->listen[i]);
		}
		err[0] = 0;
		a->listeners[a->nlisteners] = h2_listen_fd(
			a->base, o->listen[i], a->inherited[i], ctx,
			server_conn_cbs(), a->srv, err, sizeof(err));
		if (!a->listeners[a->nlisteners]) {
			log_error("%s", err);
			return -EINVAL;
		}
		if (a->inherited[i] >= 0)
			log_info("%s: the socket handed over is kept",
				 o->listen[i]);
		a->inherited[i] = -1; /* the listener's */
		h2_listener_set_limits(a->listeners[a->nlisteners], &o->caps);
		a->nlisteners++;
		log_info("listening on %s%s", o->listen[i],
			 ctx ? " (TLS, client certificates required)" : "");
	}
	return 0;
}

static void agent_release(struct agent *a)
{
	size_t i;

	/* Connections first: their streams point into sessions. */
	for (i = 0; i < a->nlisteners; i++)
		h2_listener_free(a->listeners[i]);
	for (i = 0; i < MAX_LISTEN; i++)
		if (a->inherited[i] >= 0)
			close(a->inherited[i]);
	handover_rx_release(&a->adopt);
	server_free(a->srv);
	xsession_table_free(a->sessions);
	/* The kills of the sessions just ended go out before the monitor
	 * sees the channel close. */
	if (a->worker)
		worker_launcher_flush(a->launcher);
	launcher_free(a->launcher);
	policy_free(a->policy);
	audit_close(a->audit);
	filewatch_free(a->tls_watch);
	metrics_http_free(a->metrics);
	if (a->ping_ev)
		event_free(a->ping_ev);
	inventory_free(a->inv);
	spawner_free(a->sp);
	tls_ctx_free(a->tls);
	/* One more pass: whatever the teardown above activated runs before
	 * the base goes. */
	if (a->base) {
		event_base_loop(a->base, EVLOOP_NONBLOCK);
		event_base_free(a->base);
	}
}

/*
 * Serve: the worker (fd: its end of the channel) or, with fd -1, the whole
 * agent in one process. Everything that needs root happens before the
 * worker's drop: the TLS key, the audit file, the policy file, the
 * listeners.
 */
static int agent_serve(struct agent_opts *o, int fd)
{
	struct agent a = { 0 };
	struct event *sigs[4] = { NULL, NULL, NULL, NULL };
	char err[512];
	uid_t uid = 0;
	gid_t gid = 0;
	int rc = 1, i;

	a.worker = fd >= 0;
	a.policy_path = o->policy;
	a.o = o;
	for (i = 0; i < MAX_LISTEN; i++)
		a.inherited[i] = -1;
	if (a.worker &&
	    worker_user_resolve(o->user, &uid, &gid, err, sizeof(err)) < 0) {
		log_error("%s", err);
		close(fd);
		goto out;
	}
	memtune_for_streaming();
	a.base = event_base_new();
	if (!a.base) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (a.worker) {
		a.inv = inventory_mirror_new(on_inventory_change, &a);
		a.launcher = worker_launcher_new(
			a.base, fd, xsession_launch_cbs(), &worker_cbs, &a);
	} else {
		a.sp = spawner_new(a.base);
		a.inv = inventory_new(a.base, (const char *const *)o->roots,
				      o->nroots, on_inventory_change, &a);
		a.launcher = a.inv && a.sp ?
				     launcher_local_new(a.base, a.inv, a.sp,
							xsession_launch_cbs()) :
				     NULL;
	}
	a.sessions = a.inv && a.launcher ?
			     xsession_table_new(a.base, a.inv, a.launcher) :
			     NULL;
	a.srv = a.sessions ? server_new(a.base, o->node, a.inv, a.sessions) :
			     NULL;
	if (!a.srv) {
		log_error("cannot set up the agent (out of memory?)");
		goto out;
	}
	/* The worker serves nobody before it knows the containers, and the
	 * policy: the monitor reads the file once and hands the same text
	 * to its own gates and to the worker. */
	while (a.worker &&
	       (!a.have_inventory || (a.policy_path && !a.have_policy)) &&
	       !a.lost)
		if (event_base_loop(a.base, EVLOOP_ONCE) < 0)
			goto out;
	if (a.lost)
		goto out;
	if (o->audit) {
		a.audit = audit_open(o->audit, err, sizeof(err));
		if (!a.audit) {
			log_error("%s", err);
			goto out;
		}
	}
	for (i = 0; i < (int)o->nredact; i++)
		if (audit_add_redaction(a.audit, o->redact[i], err,
					sizeof(err)) < 0) {
			log_error("%s", err);
			goto out;
		}
	audit_set_required(a.audit, o->audit_required);
	xsession_table_set_audit(a.sessions, a.audit, o->node);
	xsession_table_set_limit(a.sessions, o->max_sessions);
	xsession_table_set_grace(a.sessions, o->grace);
	if (agent_listen(&a, o) < 0)
		goto out;
	if (a.tls && tls_ctx_describe(a.tls, err, sizeof(err),
				      &a.cert_not_after) == -EKEYEXPIRED)
		log_warn("TLS: the certificate has expired: %s", err);
	/* Bound now, like the listeners (the drop follows). */
	if (o->metrics) {
		a.metrics = metrics_http_new(a.base, o->metrics, agent_gauges,
					     &a, err, sizeof(err));
		if (!a.metrics) {
			log_error("%s", err);
			goto out;
		}
		log_info("metrics on %s", o->metrics);
	}
	if (a.worker) {
		struct timeval tv = { HEALTH_PING_SECONDS, 0 };

		clock_gettime(CLOCK_MONOTONIC, &a.pong);
		a.ping_ev =
			event_new(a.base, -1, EV_PERSIST, on_ping_timer, &a);
		if (!a.ping_ev || event_add(a.ping_ev, &tv) < 0)
			goto out;
	}
	/* Like the listeners: made now, for a worker that will not make
	 * sockets once it is in its sandbox (sandbox.h). */
	i = sdnotify_prepare();
	if (i < 0)
		log_warn("$NOTIFY_SOCKET: %s", strerror(-i));
	if (a.worker) {
		if (worker_drop_privileges(uid, gid, err, sizeof(err)) < 0) {
			log_error("%s", err);
			goto out;
		}
		log_info(
			"running as uid %d gid %d (--user %s), no capabilities",
			(int)uid, (int)gid, o->user);
		/* JSON is parsed here, after the drop. */
		a.dropped = true;
		if (agent_set_policy(&a,
				     a.policy_path ?
					     policy_parse(a.start_policy,
							  a.start_policy_len,
							  err, sizeof(err)) :
					     policy_default(),
				     err) < 0)
			goto out;
		free(a.start_policy);
		a.start_policy = NULL;
	} else if (agent_load_policy(&a) < 0) {
		goto out;
	}
	sigs[0] = evsignal_new(a.base, SIGTERM, on_stop_signal, &a);
	sigs[1] = evsignal_new(a.base, SIGINT, on_stop_signal, &a);
	/* The worker's policy, TLS files and log come from the monitor,
	 * which gets SIGHUP and SIGUSR1 (main() ignores them here:
	 * `systemctl kill -s USR1` reaches every process). */
	if (!a.worker) {
		sigs[2] = evsignal_new(a.base, SIGHUP, on_hup_signal, &a);
		sigs[3] = evsignal_new(a.base, SIGUSR1, on_usr1_signal, &a);
	}
	for (i = 0; i < (a.worker ? 2 : 4); i++)
		if (!sigs[i] || event_add(sigs[i], NULL) < 0)
			goto out;
	if (!a.worker && a.tls) {
		const char *const paths[4] = { o->cert, o->key, o->client_ca,
					       o->crl };

		a.tls_watch = filewatch_new(a.base, paths, 4,
					    on_tls_files_changed, &a, err,
					    sizeof(err));
		if (!a.tls_watch)
			log_warn("%s: the TLS files are reloaded on SIGHUP "
				 "only",
				 err);
	}
	/* Everything the worker opens or makes is made by now. */
	if (a.worker && sandbox_worker_enter(err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	a.sandboxed = a.worker;
	if (agent_adopt_sessions(&a) < 0)
		goto out;
	if (!a.worker && o->pidfile) {
		FILE *f = fopen(o->pidfile, "we");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			log_error("cannot write pidfile %s: %s", o->pidfile,
				  strerror(errno));
			goto out;
		}
	}
	log_info("node %s: serving %zu container(s)", o->node,
		 inventory_count(a.inv));
	a.ready = true;
	agent_notify(&a, "READY=1\n");
	if (evloop_run(a.base, o->spin_us) < 0) {
		log_error("event loop failed");
		a.lost = true;
	}
	rc = a.lost ? 1 : 0;
	if (!a.worker && o->pidfile)
		unlink(o->pidfile);
out:
	for (i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	free(a.start_policy);
	agent_release(&a);
	log_info("stopped");
	return rc;
}

/* fd moved to a number >= 4 (close-on-exec), so that the dup2() onto 3 in
 * the worker's child cannot overwrite it; -1 with errno on failure. */
static int fd_above_3(int fd)
{
	int moved;

	if (fd > 3)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 4);
	close(fd);
	return moved;
}

/*
 * Start the worker: this binary again, with the channel on fd 3 (fd must
 * be above 3). argv was built before the fork; the child only dup2()s
 * (which clears close-on-exec on the copy) and execs.
 */
static pid_t worker_start(int argc, char **argv, int fd)
{
	char **wargv = calloc((size_t)argc + 3, sizeof(*wargv));
	pid_t pid;
	int i;

	if (!wargv)
		return -1;
	for (i = 0; i < argc; i++)
		wargv[i] = argv[i];
	wargv[argc] = "--privsep-worker";
	wargv[argc + 1] = "3";
	pid = fork();
	if (pid == 0) {
		if (dup2(fd, 3) < 0)
			_exit(127);
		execv("/proc/self/exe", wargv);
		_exit(127);
	}
	free(wargv);
	return pid;
}

/* The monitor cannot start: the take-over's connection is closed and the
 * processes of a hand-over, which nobody could reach, are killed. */
static void start_failed(struct monitor_opts *mo,
			 struct handover_monitor *adopt)
{
	if (mo->takeover_fd >= 0)
		close(mo->takeover_fd);
	if (mo->adopt) {
		log_error("the handed over sessions are lost: %zu "
			  "process(es) killed",
			  upgrade_kill_orphans(adopt));
		handover_monitor_release(adopt);
	}
}

static int agent_privsep(int argc, char **argv, struct agent_opts *o)
{
	struct monitor_opts mo = { 0 };
	struct handover_monitor adopt;
	char exe[4096], err[512];
	int fds[2], rc;
	size_t i;

	/* An upgrade in place started this image: its state first (an fd
	 * it names must not be taken for anything else). */
	if (o->handover_fd >= 0) {
		if (upgrade_state_load(o->handover_fd, &adopt, err,
				       sizeof(err)) < 0) {
			log_error("%s: the handed over sessions are lost: "
				  "%zu process(es) killed",
				  err, upgrade_kill_orphans(NULL));
			return 1;
		}
		mo.adopt = &adopt;
		/* Sessions start with the limit as the first image found
		 * it, not as it raised it. */
		fdlimit_set_original((struct rlimit){
			.rlim_cur = (rlim_t)adopt.nofile_cur,
			.rlim_max = (rlim_t)adopt.nofile_max });
	}
	if (upgrade_origin_path(exe, sizeof(exe)) == 0)
		mo.exe_path = exe;
	mo.argv = argv;
	mo.handover_socket = o->handover_socket;
	mo.takeover_fd = -1;
	/* A take-over: connected before anything else, so that an agent
	 * that is not there (or refuses) is told before a worker starts. */
	if (o->take_over && !mo.adopt) {
		mo.takeover_fd =
			takeover_connect(o->take_over, err, sizeof(err));
		if (mo.takeover_fd == -ENOENT ||
		    mo.takeover_fd == -ECONNREFUSED) {
			/* The first pod on the node: nobody to take over. */
			log_info("--take-over: %s: no agent to take over; "
				 "starting afresh",
				 err);
			mo.takeover_fd = -1;
		} else if (mo.takeover_fd < 0) {
			log_error("--take-over: %s", err);
			return 1;
		} else {
			log_info("take-over: connected to %s", o->take_over);
		}
	}

	rc = privsep_socketpair(fds);
	if (rc < 0) {
		log_error("socketpair: %s", strerror(-rc));
		start_failed(&mo, &adopt);
		return 1;
	}
	fds[1] = fd_above_3(fds[1]);
	mo.worker = fds[1] < 0 ? -1 : worker_start(argc, argv, fds[1]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (mo.worker < 0) {
		log_error("cannot start the worker: %s", strerror(errno));
		close(fds[0]);
		start_failed(&mo, &adopt);
		return 1;
	}
	for (i = 0; i < o->nlisten; i++)
		if (is_tcp(o->listen[i])) {
			mo.tls.cert = o->cert;
			mo.tls.key = o->key;
			mo.tls.client_ca = o->client_ca;
			mo.tls.crl = o->crl;
		}
	mo.node = o->node;
	mo.roots = (const char *const *)o->roots;
	mo.nroots = o->nroots;
	mo.policy = o->policy;
	mo.pidfile = o->pidfile;
	mo.metrics = o->metrics;
	mo.listen = (const char *const *)o->listen;
	mo.nlisten = o->nlisten;
	mo.fd = fds[0];
	rc = monitor_run(&mo);
	if (mo.adopt)
		handover_monitor_release(&adopt);
	return rc;
}

int main(int argc, char **argv)
{
	struct agent_opts o = { .caps = { 256, 128, 32768 },
				.worker_fd = -1,
				.handover_fd = -1,
				.heartbeat = -1,
				.spin_us = evloop_spin_default() };
	const char *prog = "execfs-agent";
	char host[256], err[256];
	int rc, sealed = 0;

	if (agent_opts_parse(argc, argv, &o) < 0)
		return 2;
	/* The process that starts sessions runs from a sealed copy of this
	 * binary (selfexe.h); first, before anything is opened or raised. */
	if (o.worker_fd < 0)
		sealed = selfexe_ensure_sealed(argv);
	/* Executed from a memfd (or /proc/self/exe, the worker), the
	 * kernel names us after it: ps, pgrep and top should say this. */
	prctl(PR_SET_NAME, "execfs-agent", 0, 0, 0);
	if (o.worker_fd >= 0) {
		prog = "execfs-agent[worker]";
		fcntl(o.worker_fd, F_SETFD, FD_CLOEXEC);
	} else if (!o.no_privsep) {
		prog = "execfs-agent[monitor]";
	}
	if (log_open(prog, o.log) < 0) {
		fprintf(stderr, "execfs-agent: cannot open log %s: %s\n", o.log,
			strerror(errno));
		return 1;
	}
	if (o.debug)
		log_set_level(LOG_LVL_DEBUG);
	if (sealed < 0)
		log_warn("cannot run from a sealed copy of the binary: %s; a "
			 "process entering a container could reach the binary "
			 "through /proc/PID/exe",
			 strerror(-sealed));
	if (o.worker_fd < 0 && strcmp(o.host_cgroupns, "none")) {
		rc = hostns_join_cgroup(o.host_cgroupns, err, sizeof(err));
		if (rc < 0)
			log_warn("%s: cgroup v2 placement may be refused "
				 "(nsdelegate) and /proc/PID/cgroup paths are "
				 "relative to the agent's namespace",
				 err);
		else if (rc > 0)
			log_info("joined the cgroup namespace of %s",
				 o.host_cgroupns);
	}
	/* SIGHUP and SIGUSR1 are handled on the loop (the monitor's, or the
	 * one process's with --no-privsep); until it runs they must not end
	 * the agent, and the worker never acts on them: the monitor hands
	 * it what they bring (a reopened log, the policy and TLS files). */
	/* A monitor started by an upgrade has them blocked, maybe pending
	 * (upgrade_signals_block): ignoring them would drop a pending one;
	 * blocked, they wait for its loop. The worker unblocks them once
	 * they are ignored; its loop takes SIGTERM and SIGINT. */
	if (o.worker_fd >= 0 || o.handover_fd < 0) {
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
		signal(SIGUSR2, SIG_IGN);
	}
	if (o.worker_fd >= 0)
		upgrade_signals_unblock();
	if (!o.user) {
		o.user = getpwnam(AGENT_USER) ? AGENT_USER : "nobody";
		/* Said once, by the process that becomes that user. */
		if (o.worker_fd >= 0 && strcmp(o.user, AGENT_USER))
			log_warn(
				"no user %s: the worker runs as nobody, which other daemons may share (create %s or give --user)",
				AGENT_USER, AGENT_USER);
	}
	if (!o.node) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		o.node = host;
	}
	/* A peer that goes away must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Before the worker exists: both hold fds for every session. */
	rc = fdlimit_raise();
	if (rc < 0)
		log_warn("cannot raise the open-file limit: %s", strerror(-rc));
	if (o.heartbeat >= 0)
		h2_set_heartbeat((unsigned)o.heartbeat);
	if (o.worker_fd >= 0)
		return agent_serve(&o, o.worker_fd);
	if (o.no_privsep)
		return agent_serve(&o, -1);
	return agent_privsep(argc, argv, &o);
}
