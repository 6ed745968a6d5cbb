/*
 * DNS discovery of agents (see discovery.h). Per name, one round is an A
 * and an AAAA query sent together; when both answered, the new set is
 * compared with the last one, the difference reported, and the next round
 * timed from the TTL. evdns parses the replies: no DNS bytes are parsed
 * here.
 *
 * Lifetime: every query evdns accepted calls back exactly once (with an
 * answer, an error, or DNS_ERR_SHUTDOWN when the evdns_base is freed with
 * its requests failed), and that callback may come from the loop after
 * discovery_remove() or discovery_free() returned. So a name and the
 * discovery each count their queries in flight: a removed name is freed
 * by its last callback, a freed discovery by the last callback of all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "execfs/log.h"

#define MIN_INTERVAL_MS 1000
#define MAX_INTERVAL_MS 30000
#define TIMEOUT_MS 2000
#define ATTEMPTS 2
#define NAME_MAX_LEN 253

typedef char addr_t[DISCOVERY_ADDR_LEN];

enum { FAM_A, FAM_AAAA, NFAM };

struct fam_set {
	addr_t *addrs; /* owned, sorted */
	size_t n;
	long ttl; /* of the last answer with records */
	int error; /* of the last round: 0, or DNS_ERR_* */
};

struct dname {
	struct discovery *d; /* not owned */
	struct dname *next; /* in d->names, unless removed */
	char *name; /* owned */
	struct fam_set fam[NFAM];
	addr_t *reported; /* owned: the union last reported, sorted */
	size_t nreported;
	struct event *timer; /* owned */
	unsigned backoff_ms; /* the wait after a failed round */
	int pending; /* queries in flight */
	bool removed; /* freed by the last callback */
	bool in_callback; /* on_change runs: remove defers the free */
};

struct discovery {
	struct event_base *base; /* not owned */
	struct evdns_base *dns; /* owned */
	discovery_cb on_change;
	void *arg;
	unsigned min_ms, max_ms;
	bool search; /* resolv.conf's search list applies */
	struct dname *names; /* owned */
	int pending; /* queries in flight, all names */
	bool dying; /* freed by the last callback */
};

unsigned discovery_interval_ms(long ttl, unsigned min_ms, unsigned max_ms)
{
	unsigned long long ms = ttl > 0 ? (unsigned long long)ttl * 1000 : 0;

	if (ms < min_ms)
		return min_ms;
	return ms > max_ms ? max_ms : (unsigned)ms;
}

static void dname_free(struct dname *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < NFAM; i++)
		free(n->fam[i].addrs);
	free(n->reported);
	if (n->timer)
		event_free(n->timer);
	free(n->name);
	free(n);
}

static void discovery_destroy(struct discovery *d)
{
	while (d->names) {
		struct dname *n = d->names;

		d->names = n->next;
		dname_free(n);
	}
	free(d);
}

static int addr_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* ---- one round ---------------------------------------------------------- */

static void round_start(struct dname *n);

static void round_schedule(struct dname *n, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(n->timer, &tv);
}

static bool fam_failed(int error)
{
	return error != DNS_ERR_NONE && error != DNS_ERR_NOTEXIST &&
	       error != DNS_ERR_NODATA;
}

/* The union of both families, sorted, deduplicated: malloc'd (NULL and
 * *len 0 when empty, or on ENOMEM: -ENOMEM). */
static int union_sets(const struct dname *n, addr_t **out, size_t *len)
{
	size_t total = n->fam[FAM_A].n + n->fam[FAM_AAAA].n, k = 0, i, f;
	addr_t *u;

	*out = NULL;
	*len = 0;
	if (total == 0)
		return 0;
	u = calloc(total, sizeof(*u)); /* the caller's */
	if (!u)
		return -ENOMEM;
	for (f = 0; f < NFAM; f++)
		for (i = 0; i < n->fam[f].n; i++)
			memcpy(u[k++], n->fam[f].addrs[i], sizeof(addr_t));
	qsort(u, total, sizeof(*u), addr_cmp);
	for (i = 0, k = 0; i < total; i++)
		if (k == 0 || strcmp(u[k - 1], u[i]))
			memmove(u[k++], u[i], sizeof(addr_t));
	*out = u;
	*len = k;
	return 0;
}

/* Both queries answered: report, and time the next round. */
static void round_done(struct dname *n)
{
	struct discovery *d = n->d;
	struct discovery_change chg = { .name = n->name };
	const char **added = NULL, **removed = NULL;
	addr_t *u = NULL;
	size_t nu = 0, i = 0, j = 0;
	long ttl = -1;
	int error = 0, f;

	for (f = 0; f < NFAM; f++) {
		if (fam_failed(n->fam[f].error) && !error)
			error = n->fam[f].error;
		if (n->fam[f].n > 0 && (ttl < 0 || n->fam[f].ttl < ttl))
			ttl = n->fam[f].ttl;
	}
	if (union_sets(n, &u, &nu) < 0) {
		log_error("discovery: %s: out of memory", n->name);
		goto out_schedule;
	}
	added = calloc(nu + 1, sizeof(*added));
	removed = calloc(n->nreported + 1, sizeof(*removed));
	if (!added || !removed) {
		log_error("discovery: %s: out of memory", n->name);
		free(u);
		goto out_schedule;
	}
	/* Both sorted: one merge pass. */
	while (i < nu || j < n->nreported) {
		int c = i == nu		  ? 1 :
			j == n->nreported ? -1 :
					    strcmp(u[i], n->reported[j]);

		if (c < 0)
			added[chg.nadded++] = u[i++];
		else if (c > 0)
			removed[chg.nremoved++] = n->reported[j++];
		else
			i++, j++;
	}
	chg.added = added;
	chg.removed = removed;
	if (error) {
		chg.error = error;
		chg.reason = evdns_err_to_string(error);
	}
	if (chg.nadded || chg.nremoved || chg.error) {
		n->in_callback = true;
		d->on_change(d->arg, &chg);
		n->in_callback = false;
	}
	free(n->reported);
	n->reported = u; /* owned */
	n->nreported = nu;
out_schedule:
	free(added);
	free(removed);
	if (n->removed) {
		dname_free(n);
		return;
	}
	if (error) {
		round_schedule(n, n->backoff_ms);
		n->backoff_ms = n->backoff_ms * 2 > d->max_ms ?
					d->max_ms :
					n->backoff_ms * 2;
		return;
	}
	n->backoff_ms = d->min_ms;
	/* No records at all (NXDOMAIN, NODATA): ask again at the longest
	 * interval, so a service's first endpoint shows within it. */
	round_schedule(n, ttl < 0 ? d->max_ms :
				    discovery_interval_ms(ttl, d->min_ms,
							  d->max_ms));
}

/* One family's answer into its set: 0 or -ENOMEM (set unchanged). */
static int fam_take(struct fam_set *s, char type, int count, int ttl,
		    void *addresses)
{
	addr_t *a = NULL;
	int i, af = type == DNS_IPv4_A ? AF_INET : AF_INET6;
	size_t k = 0, size = af == AF_INET ? 4 : 16;

	if (count > 0) {
		a = calloc((size_t)count, sizeof(*a)); /* owned by s */
		if (!a)
			return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		if (inet_ntop(af, (char *)addresses + (size_t)i * size, a[k],
			      sizeof(addr_t)))
			k++;
	qsort(a, k, sizeof(*a), addr_cmp);
	free(s->addrs);
	s->addrs = a;
	s->n = k;
	s->ttl = ttl;
	return 0;
}

static void on_answer(struct dname *n, int f, int result, char type, int count,
		      int ttl, void *addresses)
{
	struct discovery *d = n->d;
	struct fam_set *s = &n->fam[f];
	bool removed = n->removed, dying = d->dying;

	n->pending--;
	d->pending--;
	/* A removed name is no longer in d->names: its last callback
	 * frees it, whether d lives on or not. */
	if (removed && n->pending == 0)
		dname_free(n);
	if (dying && d->pending == 0)
		discovery_destroy(d);
	if (removed || dying)
		return;
	s->error = result;
	if (result == DNS_ERR_NONE &&
	    type != (f == FAM_A ? DNS_IPv4_A : DNS_IPv6_AAAA))
		s->error = DNS_ERR_FORMAT; /* not what we asked for */
	if (s->error == DNS_ERR_NONE &&
	    fam_take(s, type, count, ttl, addresses) < 0)
		s->error = DNS_ERR_UNKNOWN;
	if (s->error == DNS_ERR_NOTEXIST || s->error == DNS_ERR_NODATA) {
		free(s->addrs);
		s->addrs = NULL;
		s->n = 0;
	}
	if (n->pending == 0)
		round_done(n);
}

static void on_a(int result, char type, int count, int ttl, void *addresses,
		 void *arg)
{
	on_answer(arg, FAM_A, result, type, count, ttl, addresses);
}

static void on_aaaa(int result, char type, int count, int ttl, void *addresses,
		    void *arg)
{
	on_answer(arg, FAM_AAAA, result, type, count, ttl, addresses);
}

static void round_start(struct dname *n)
{
	struct discovery *d = n->d;
	int flags = d->search ? 0 : DNS_QUERY_NO_SEARCH;
	int started = 0;

	if (n->pending > 0)
		return; /* a round is on its way */
	evtimer_del(n->timer);
	/* Count first: a callback may come before the second query is
	 * even sent (evdns fails some at once). */
	n->pending += 2;
	d->pending += 2;
	if (evdns_base_resolve_ipv4(d->dns, n->name, flags, on_a, n))
		started++;
	else
		on_answer(n, FAM_A, DNS_ERR_UNKNOWN, 0, 0, 0, NULL);
	if (n->removed || d->dying)
		return;
	if (evdns_base_resolve_ipv6(d->dns, n->name, flags, on_aaaa, n))
		started++;
	else
		on_answer(n, FAM_AAAA, DNS_ERR_UNKNOWN, 0, 0, 0, NULL);
	(void)started;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	round_start(arg);
}

/* ---- the API ------------------------------------------------------------ */

static int dns_configure(struct discovery *d, const struct discovery_opts *o)
{
	char v[32];
	int rc;

	if (o->dns_server) {
		if (evdns_base_nameserver_ip_add(d->dns, o->dns_server) != 0)
			return -EINVAL;
	} else {
		rc = evdns_base_resolv_conf_parse(d->dns, DNS_OPTIONS_ALL,
						  "/etc/resolv.conf");
		/* 6: no nameserver line: evdns then asks 127.0.0.1, as
		 * the libc resolver does. Other values: unreadable. */
		if (rc != 0 && rc != 6)
			return -ENOENT;
		d->search = true;
	}
	snprintf(v, sizeof(v), "%u.%03u",
		 (o->timeout_ms ? o->timeout_ms : TIMEOUT_MS) / 1000,
		 (o->timeout_ms ? o->timeout_ms : TIMEOUT_MS) % 1000);
	evdns_base_set_option(d->dns, "timeout:", v);
	snprintf(v, sizeof(v), "%u", o->attempts ? o->attempts : ATTEMPTS);
	evdns_base_set_option(d->dns, "attempts:", v);
	/* Never give a lone server up for long: it is all we have. */
	evdns_base_set_option(d->dns, "initial-probe-timeout:", "1");
	return 0;
}

struct discovery *discovery_new(struct event_base *base,
				const struct discovery_opts *opts,
				discovery_cb on_change, void *arg)
{
	struct discovery *d = calloc(1, sizeof(*d)); /* the caller's */
	int rc;

	if (!d)
		return NULL;
	d->base = base;
	d->on_change = on_change;
	d->arg = arg;
	d->min_ms = opts->min_interval_ms ? opts->min_interval_ms :
					    MIN_INTERVAL_MS;
	d->max_ms = opts->max_interval_ms ? opts->max_interval_ms :
					    MAX_INTERVAL_MS;
	if (d->min_ms > d->max_ms)
		d->min_ms = d->max_ms;
	d->dns = evdns_base_new(base, 0);
	if (!d->dns) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	rc = dns_configure(d, opts);
	if (rc < 0) {
		evdns_base_free(d->dns, 0);
		free(d);
		errno = -rc;
		return NULL;
	}
	return d;
}

void discovery_free(struct discovery *d)
{
	struct dname *n;

	if (!d)
		return;
	for (n = d->names; n; n = n->next)
		evtimer_del(n->timer);
	/* Fail what is in flight: each query still calls back (from the
	 * loop), and the last one frees d. */
	d->dying = true;
	evdns_base_free(d->dns, 1);
	d->dns = NULL;
	if (d->pending == 0)
		discovery_destroy(d);
}

static struct dname *dname_find(const struct discovery *d, const char *name,
				struct dname ***link)
{
	struct dname **pp;

	for (pp = (struct dname **)&d->names; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

int discovery_add(struct discovery *d, const char *name)
{
	struct dname *n;
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN)
		return -EINVAL;
	if (dname_find(d, name, NULL))
		return -EEXIST;
	n = calloc(1, sizeof(*n)); /* owned by d->names */
	if (!n)
		return -ENOMEM;
	n->d = d;
	n->name = strdup(name);
	n->timer = evtimer_new(d->base, on_timer, n);
	n->backoff_ms = d->min_ms;
	if (!n->name || !n->timer) {
		dname_free(n);
		return -ENOMEM;
	}
	n->next = d->names;
	d->names = n;
	round_start(n);
	return 0;
}

int discovery_remove(struct discovery *d, const char *name)
{
	struct dname **link, *n = dname_find(d, name, &link);

	if (!n)
		return -ENOENT;
	*link = n->next;
	n->next = NULL;
	n->removed = true;
	evtimer_del(n->timer);
	/* Queries in flight, or round_done calling us: they free it. */
	if (n->pending == 0 && !n->in_callback)
		dname_free(n);
	return 0;
}

void discovery_refresh(struct discovery *d)
{
	struct dname *n, *next;

	for (n = d->names; n; n = next) {
		next = n->next;
		round_start(n);
	}
}

int discovery_addresses(const struct discovery *d, const char *name,
			char (*out)[DISCOVERY_ADDR_LEN], size_t max)
{
	const struct dname *n = dname_find(d, name, NULL);
	size_t i;

	if (!n)
		return -ENOENT;
	for (i = 0; i < n->nreported && i < max; i++)
		memcpy(out[i], n->reported[i], DISCOVERY_ADDR_LEN);
	return (int)n->nreported;
}
