/*
 * The fleet's desired node set and its reconciliation (see fleet.h).
 * Members are the nodes the fleet made, each with a reference: a static
 * member is known by its name, a discovered one by the address it dials.
 * A member no longer desired is leaving until nothing uses its node; a
 * timer looks each second while any is leaving, and removes those that
 * are free.
 */
#include "fleet.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "discovery.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "node.h"

/* How often leaving nodes are looked at. */
#define LEAVE_CHECK_MS 1000
/* "[v6]:65535" */
#define KEY_LEN (DISCOVERY_ADDR_LEN + 8)

struct member {
	struct member *next;
	struct node *n; /* a reference */
	bool is_static; /* else discovered */
	char key[KEY_LEN]; /* discovered: the address dialled */
	char *dns; /* owned: the DNS name it came from (discovered) */
	bool wanted; /* in the last reconciliation's desired set */
};

/* What the fleet knows of one DNS name. */
struct dns_state {
	struct dns_state *next;
	char *name; /* owned */
	bool resolved; /* a resolve succeeded: its set is the truth */
	char error[128]; /* the last resolve's failure, or "" */
	size_t naddrs;
};

struct fleet {
	struct execfs *fs; /* not owned */
	char *path; /* owned: the configuration file */
	struct config *cfg; /* owned */
	SSL_CTX *ctx; /* owned; every node borrows it */
	struct discovery *disc; /* owned, NULL without discover names */
	char *dns_server; /* owned: disc's, NULL for resolv.conf */
	struct dns_state *names; /* owned */
	struct member *members; /* owned */
	struct event *leave_timer; /* owned */
};

static void fleet_reconcile(struct fleet *f);

static struct dns_state *dns_find(const struct fleet *f, const char *name)
{
	struct dns_state *d;

	for (d = f->names; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static void dns_states_free(struct dns_state *d)
{
	while (d) {
		struct dns_state *next = d->next;

		free(d->name);
		free(d);
		d = next;
	}
}

static void on_dns_change(void *arg, const struct discovery_change *chg)
{
	struct fleet *f = arg;
	struct dns_state *d = dns_find(f, chg->name);
	size_t i;

	if (!d)
		return;
	for (i = 0; i < chg->nadded; i++)
		log_info("dns %s: agent address %s", chg->name, chg->added[i]);
	for (i = 0; i < chg->nremoved; i++)
		log_info("dns %s: address %s is gone", chg->name,
			 chg->removed[i]);
	if (chg->error) {
		if (strcmp(d->error, chg->reason))
			log_warn("dns %s: %s; the last answer of that query "
				 "is kept",
				 chg->name, chg->reason);
		snprintf(d->error, sizeof(d->error), "%s", chg->reason);
	} else {
		d->error[0] = 0;
	}
	/* One family may have answered while the other failed: what did
	 * answer is the truth (discovery.h). */
	if (!chg->error || chg->nadded || chg->nremoved)
		d->resolved = true;
	if (d->resolved)
		fleet_reconcile(f);
}

/* A resolver for dns_server (NULL: resolv.conf); NULL with err. */
static struct discovery *fleet_resolver(struct fleet *f, const char *dns_server,
					char *err, size_t errlen)
{
	struct discovery_opts o = { .dns_server = dns_server };
	struct discovery *d = discovery_new(f->fs->base, &o, on_dns_change, f);

	if (!d)
		snprintf(err, errlen, "DNS resolver%s%s: %s",
			 dns_server ? " " : "", dns_server ? dns_server : "",
			 errno == EINVAL ? "not an IP[:PORT]" :
					   strerror(errno));
	return d;
}

/* Track and resolve every discover name of cfg (those not yet tracked);
 * drop those it no longer has. 0 or -ENOMEM. */
static int fleet_track_names(struct fleet *f, const struct config *cfg)
{
	struct dns_state **pp = &f->names, *d;
	size_t i, j;

	while ((d = *pp)) {
		for (j = 0; j < cfg->ndiscover; j++)
			if (strcmp(cfg->discover[j].dns, d->name) == 0)
				break;
		if (j < cfg->ndiscover) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		d->next = NULL;
		discovery_remove(f->disc, d->name);
		dns_states_free(d);
	}
	for (i = 0; i < cfg->ndiscover; i++) {
		if (dns_find(f, cfg->discover[i].dns))
			continue;
		d = calloc(1, sizeof(*d)); /* owned by f->names */
		if (!d || !(d->name = strdup(cfg->discover[i].dns))) {
			free(d);
			return -ENOMEM;
		}
		d->next = f->names;
		f->names = d;
		/* May call back (and reconcile) before it returns. */
		if (discovery_add(f->disc, d->name) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- members ------------------------------------------------------------- */

static struct member *member_find(const struct fleet *f, bool is_static,
				  const char *key)
{
	struct member *m;

	for (m = f->members; m; m = m->next) {
		const char *k = is_static ? node_static_name(m->n) : m->key;

		if (m->is_static == is_static && k && strcmp(k, key) == 0)
			return m;
	}
	return NULL;
}

static void member_free(struct member *m)
{
	node_put(m->n);
	free(m->dns);
	free(m);
}

/* Make the node of p and start it. NULL: out of memory (logged). */
static struct member *member_new(struct fleet *f, const struct node_params *p,
				 bool is_static, const char *dns)
{
	struct member *m = calloc(1, sizeof(*m)); /* owned by f->members */

	if (!m || (dns && !(m->dns = strdup(dns))) ||
	    !(m->n = node_new(f->fs, p))) {
		log_error("node %s: out of memory", p->address);
		if (m)
			free(m->dns);
		free(m);
		return NULL;
	}
	node_get(m->n); /* the member's, besides the mount's */
	m->is_static = is_static;
	if (!is_static)
		snprintf(m->key, sizeof(m->key), "%s", p->address);
	m->next = f->members;
	f->members = m;
	node_start(m->n);
	return m;
}

/* This member is desired as p says. */
static void member_want(struct fleet *f, const struct node_params *p,
			bool is_static, const char *dns)
{
	struct member *m =
		member_find(f, is_static, is_static ? p->name : p->address);

	if (m && m->wanted)
		return; /* an address two names share: the first names it */
	if (m && node_removed(m->n)) {
		m = NULL; /* it left for good: a new node */
	} else if (m) {
		if (node_update(m->n, p) < 0 ||
		    node_set_leaving(m->n, NULL) < 0)
			log_error("node %s: out of memory", p->address);
		if (dns && (!m->dns || strcmp(m->dns, dns))) {
			free(m->dns);
			m->dns = strdup(dns);
		}
	}
	if (!m)
		m = member_new(f, p, is_static, dns);
	if (m)
		m->wanted = true;
}

/* Remove the leaving members nothing uses (all of them: force); forget
 * members whose node is gone. Whether any still leaves. */
static bool members_sweep(struct fleet *f, bool force)
{
	struct member **pp = &f->members, *m;
	bool leaving = false;

	while ((m = *pp)) {
		if (!m->wanted && !node_removed(m->n) &&
		    (force || !node_in_use(m->n)))
			node_remove(m->n);
		if (node_removed(m->n)) {
			*pp = m->next;
			member_free(m);
			continue;
		}
		if (!m->wanted)
			leaving = true;
		pp = &m->next;
	}
	return leaving;
}

static void on_leave_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;
	struct timeval tv = { 0, LEAVE_CHECK_MS * 1000 };

	if (members_sweep(f, false))
		evtimer_add(f->leave_timer, &tv);
}

/* The discovered members of one discover entry. */
static void want_discovered(struct fleet *f, const struct config_discover *cd)
{
	struct dns_state *d = dns_find(f, cd->dns);
	char(*addrs)[DISCOVERY_ADDR_LEN] = NULL;
	char key[KEY_LEN], source[300];
	struct node_params p;
	struct member *m;
	int k, i;

	if (!d || !f->disc)
		return;
	if (!d->resolved) {
		/* Never answered yet: what it had stays as it is. */
		for (m = f->members; m; m = m->next)
			if (!m->is_static && m->dns &&
			    strcmp(m->dns, cd->dns) == 0)
				m->wanted = true;
		return;
	}
	k = discovery_addresses(f->disc, cd->dns, NULL, 0);
	if (k > 0)
		addrs = calloc((size_t)k, sizeof(*addrs)); /* freed below */
	if (k > 0 && !addrs) {
		log_error("dns %s: out of memory", cd->dns);
		return;
	}
	if (k > 0)
		k = discovery_addresses(f->disc, cd->dns, addrs, (size_t)k);
	d->naddrs = k > 0 ? (size_t)k : 0;
	snprintf(source, sizeof(source), "dns %s", cd->dns);
	for (i = 0; i < k; i++) {
		snprintf(key, sizeof(key),
			 strchr(addrs[i], ':') ? "[%s]:%u" : "%s:%u", addrs[i],
			 cd->port);
		p = (struct node_params){ .address = key,
					  .server_name = cd->server_name,
					  .source = source,
					  .ctx = f->ctx };
		member_want(f, &p, false, cd->dns);
	}
	free(addrs);
}

static void fleet_reconcile(struct fleet *f)
{
	const struct config *cfg = f->cfg;
	struct timeval tv = { 0, LEAVE_CHECK_MS * 1000 };
	struct member *m;
	char why[300];
	size_t i;

	for (m = f->members; m; m = m->next)
		m->wanted = false;
	for (i = 0; i < cfg->nnodes; i++) {
		const struct config_node *cn = &cfg->nodes[i];
		struct node_params p = { .name = cn->name,
					 .address = cn->address,
					 .server_name = cn->server_name,
					 .ctx = f->ctx };

		member_want(f, &p, true, NULL);
	}
	for (i = 0; i < cfg->ndiscover; i++)
		want_discovered(f, &cfg->discover[i]);
	for (m = f->members; m; m = m->next) {
		if (m->wanted || node_removed(m->n))
			continue;
		if (m->is_static || !m->dns || !dns_find(f, m->dns))
			snprintf(why, sizeof(why),
				 "no longer in the configuration");
		else
			snprintf(why, sizeof(why), "its address left %s",
				 m->dns);
		node_set_leaving(m->n, why);
	}
	if (members_sweep(f, false))
		evtimer_add(f->leave_timer, &tv);
}

/* ---- life ----------------------------------------------------------------- */

struct fleet *fleet_new(struct execfs *fs, struct config *cfg, SSL_CTX *ctx,
			const char *path, char *err, size_t errlen)
{
	struct fleet *f = calloc(1, sizeof(*f)); /* the caller's */

	if (!f || !(f->path = strdup(path)) ||
	    !(f->leave_timer = evtimer_new(fs->base, on_leave_timer, f))) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	f->fs = fs;
	f->cfg = cfg;
	f->ctx = ctx;
	cfg = NULL;
	ctx = NULL;
	if (f->cfg->ndiscover) {
		f->disc = fleet_resolver(f, f->cfg->dns_server, err, errlen);
		if (!f->disc)
			goto out_free;
		if (f->cfg->dns_server &&
		    !(f->dns_server = strdup(f->cfg->dns_server))) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	fleet_reconcile(f); /* the static nodes */
	if (f->disc && fleet_track_names(f, f->cfg) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	return f;

out_free:
	config_free(cfg);
	tls_ctx_free(ctx);
	fleet_free(f);
	return NULL;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	discovery_free(f->disc);
	dns_states_free(f->names);
	while (f->members) {
		struct member *m = f->members;

		f->members = m->next;
		member_free(m);
	}
	if (f->leave_timer)
		event_free(f->leave_timer);
	config_free(f->cfg);
	tls_ctx_free(f->ctx);
	free(f->dns_server);
	free(f->path);
	free(f);
}

int fleet_reload(struct fleet *f)
{
	struct discovery *disc = NULL;
	struct config *cfg = NULL;
	SSL_CTX *ctx = NULL;
	struct member *m;
	char err[512];
	bool new_resolver;
	int rc;

	rc = config_load(f->path, &cfg, err, sizeof(err));
	if (rc == 0) {
		ctx = tls_client_ctx_new(cfg->ca, cfg->cert, cfg->key, err,
					 sizeof(err));
		if (!ctx)
			rc = -EINVAL;
	}
	new_resolver =
		cfg && cfg->ndiscover &&
		(!f->disc || !(cfg->dns_server == f->dns_server ||
			       (cfg->dns_server && f->dns_server &&
				!strcmp(cfg->dns_server, f->dns_server))));
	if (rc == 0 && new_resolver) {
		disc = fleet_resolver(f, cfg->dns_server, err, sizeof(err));
		if (!disc)
			rc = -EINVAL;
	}
	if (rc < 0) {
		log_error("SIGHUP: %s; the configuration in force stays", err);
		config_free(cfg);
		tls_ctx_free(ctx);
		return rc;
	}
	/* The new TLS context for every next connection; open ones keep
	 * theirs (an SSL holds a reference on its context). */
	for (m = f->members; m; m = m->next)
		node_set_tls(m->n, ctx);
	tls_ctx_free(f->ctx);
	f->ctx = ctx;
	if (new_resolver || !cfg->ndiscover) {
		/* Names start over on the new resolver (none: no resolver);
		 * until they answer, their nodes stay as they are. */
		discovery_free(f->disc);
		f->disc = disc;
		dns_states_free(f->names);
		f->names = NULL;
		free(f->dns_server);
		f->dns_server = cfg->dns_server && cfg->ndiscover ?
					strdup(cfg->dns_server) :
					NULL;
	}
	config_free(f->cfg);
	f->cfg = cfg;
	if (f->disc && fleet_track_names(f, cfg) < 0)
		log_error("SIGHUP: out of memory tracking DNS names");
	fleet_reconcile(f);
	if (f->disc)
		discovery_refresh(f->disc);
	log_info("configuration %s reloaded: %zu nodes, %zu DNS names", f->path,
		 cfg->nnodes, cfg->ndiscover);
	return 0;
}

/* ---- the mount's .status ------------------------------------------------ */

char *fleet_status_text(const struct fleet *f, const struct execfs *fs,
			size_t *len)
{
	struct evbuffer *b = evbuffer_new();
	const struct dns_state *d;
	const struct node *n = NULL;
	char line[1024], *text = NULL;
	size_t i;
	int k;

	if (!b)
		return NULL;
	for (i = 0; f && i < f->cfg->ndiscover; i++) {
		const struct config_discover *cd = &f->cfg->discover[i];

		d = dns_find(f, cd->dns);
		if (!d)
			continue;
		evbuffer_add_printf(b, "dns %s port %u: %s%zu addresses",
				    cd->dns, cd->port,
				    d->resolved ? "" : "not resolved yet, ",
				    d->naddrs);
		if (d->error[0])
			evbuffer_add_printf(
				b, "; error: %s (the last answer is kept)",
				d->error);
		evbuffer_add_printf(b, "\n");
	}
	while ((n = node_next(fs, n))) {
		k = node_status_line(n, line, sizeof(line));
		if (k > 0)
			evbuffer_add(b, line,
				     (size_t)k < sizeof(line) ?
					     (size_t)k :
					     sizeof(line) - 1);
	}
	*len = evbuffer_get_length(b);
	text = malloc(*len + 1); /* the caller's */
	if (text) {
		evbuffer_remove(b, text, *len);
		text[*len] = 0;
	}
	evbuffer_free(b);
	return text;
}
