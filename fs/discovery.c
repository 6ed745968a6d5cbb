/*
 * DNS discovery of agents (see discovery.h). Per name, one round is an A
 * and an AAAA query sent together; when both answered, the new set is
 * compared with the last one, the difference reported, and the next round
 * timed from the TTL. c-ares sends the queries (EDNS0, TCP after a
 * truncated answer) and parses the replies: no DNS bytes are parsed here.
 * Its sockets are events of the loop (the socket-state callback adds and
 * removes them), and one timer wakes it for its own timeouts.
 *
 * Lifetime: every query c-ares accepted calls back exactly once (with an
 * answer, an error, or ARES_EDESTRUCTION from ares_destroy(), which calls
 * back at once), and a name's callbacks may come after discovery_remove()
 * returned. So a name counts its queries in flight: a removed name is
 * freed by its last callback, or by discovery_free().
 */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
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
/* The UDP payload asked for with EDNS0 (the DNS flag day's size: no IP
 * fragments); larger answers come over TCP. */
#define EDNS_PAYLOAD 1232
/* RFC 1035 class and types. */
#define DNS_CLASS_IN 1
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28

typedef char addr_t[DISCOVERY_ADDR_LEN];

enum { FAM_A, FAM_AAAA, NFAM };

struct fam_set {
	addr_t *addrs; /* owned, sorted */
	size_t n;
	long ttl; /* of the last answer with records */
	int error; /* of the last round: an ARES_* status */
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
	bool told; /* on_change was called for it once */
};

/* One socket of the channel, an event of the loop. */
struct dsock {
	struct dsock *next;
	int fd; /* c-ares's */
	struct event *ev; /* owned */
};

struct discovery {
	struct event_base *base; /* not owned */
	ares_channel ch; /* owned */
	struct dsock *socks; /* owned: the channel's sockets */
	struct event *timer; /* owned: c-ares's next timeout */
	discovery_cb on_change;
	void *arg;
	unsigned min_ms, max_ms;
	bool search; /* resolv.conf's search list applies */
	struct dname *names; /* owned */
	bool dying; /* discovery_free: no more callbacks */
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

/* ---- the channel on the loop ------------------------------------------- */

/* c-ares's next timeout, on our timer. After every call into c-ares. */
static void channel_timer_update(struct discovery *d)
{
	struct timeval tv, *next;

	if (d->dying || !d->ch)
		return;
	next = ares_timeout(d->ch, NULL, &tv);
	if (next)
		evtimer_add(d->timer, next);
	else
		evtimer_del(d->timer);
}

static void on_channel_timer(evutil_socket_t fd, short what, void *arg)
{
	struct discovery *d = arg;

	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	channel_timer_update(d);
}

static void on_channel_socket(evutil_socket_t fd, short what, void *arg)
{
	struct discovery *d = arg;

	ares_process_fd(d->ch, what & EV_READ ? fd : ARES_SOCKET_BAD,
			what & EV_WRITE ? fd : ARES_SOCKET_BAD);
	channel_timer_update(d);
}

/* c-ares opened, changed or closed one of its sockets (also from inside
 * ares_process_fd, called from that socket's own event: libevent allows
 * an event to be freed from its callback). */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct discovery *d = data;
	struct dsock **pp, *s = NULL;
	short what =
		(short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	for (pp = &d->socks; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			s = *pp;
			break;
		}
	if (s) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!what) {
		if (s) {
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s)); /* owned by d->socks */
		if (!s) {
			log_error("discovery: out of memory");
			return; /* the query times out */
		}
		s->fd = fd;
		s->next = d->socks;
		d->socks = s;
	}
	s->ev = event_new(d->base, fd, what | EV_PERSIST, on_channel_socket, d);
	if (!s->ev || event_add(s->ev, NULL) < 0)
		log_error("discovery: cannot watch a DNS socket");
}

static void discovery_destroy(struct discovery *d)
{
	while (d->names) {
		struct dname *n = d->names;

		d->names = n->next;
		dname_free(n);
	}
	while (d->socks) {
		struct dsock *s = d->socks;

		d->socks = s->next;
		if (s->ev)
			event_free(s->ev);
		free(s);
	}
	if (d->timer)
		event_free(d->timer);
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

/* NXDOMAIN and NODATA are answers (no records), not failures. */
static bool fam_empty(int error)
{
	return error == ARES_ENOTFOUND || error == ARES_ENODATA;
}

static bool fam_failed(int error)
{
	return error != ARES_SUCCESS && !fam_empty(error);
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
	addr_t *u = NULL, *old;
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
		chg.reason = ares_strerror(error);
	}
	/* The new set is in place before the callback, which may ask for
	 * it (discovery_addresses); the old one holds chg.removed. */
	old = n->reported;
	n->reported = u; /* owned */
	n->nreported = nu;
	if (chg.nadded || chg.nremoved || chg.error || !n->told) {
		n->told = true;
		n->in_callback = true;
		d->on_change(d->arg, &chg);
		n->in_callback = false;
	}
	free(old);
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

/* One family's answer (a whole reply) into its set: ARES_SUCCESS, or the
 * parser's error (set unchanged; ARES_ENODATA: no record of the type). */
static int fam_take(struct fam_set *s, int f, const unsigned char *abuf,
		    int alen)
{
	/* A record takes at least 16 bytes of the reply: a bound on their
	 * number before anything is parsed. */
	int cap = alen / 16 + 1, count = cap, i, rc;
	struct ares_addrttl *a4 = NULL;
	struct ares_addr6ttl *a6 = NULL;
	addr_t *a = NULL;
	size_t k = 0;
	long ttl = -1;

	if (f == FAM_A)
		a4 = calloc((size_t)cap, sizeof(*a4)); /* freed below */
	else
		a6 = calloc((size_t)cap, sizeof(*a6));
	if (!a4 && !a6)
		return ARES_ENOMEM;
	rc = f == FAM_A ? ares_parse_a_reply(abuf, alen, NULL, a4, &count) :
			  ares_parse_aaaa_reply(abuf, alen, NULL, a6, &count);
	if (rc == ARES_SUCCESS && count > 0) {
		a = calloc((size_t)count, sizeof(*a)); /* owned by s */
		if (!a)
			rc = ARES_ENOMEM;
	}
	for (i = 0; rc == ARES_SUCCESS && i < count; i++) {
		const void *ip = f == FAM_A ? (const void *)&a4[i].ipaddr :
					      (const void *)&a6[i].ip6addr;
		int t = f == FAM_A ? a4[i].ttl : a6[i].ttl;

		if (inet_ntop(f == FAM_A ? AF_INET : AF_INET6, ip, a[k],
			      sizeof(addr_t))) {
			k++;
			if (ttl < 0 || t < ttl)
				ttl = t;
		}
	}
	free(a4);
	free(a6);
	if (rc != ARES_SUCCESS) {
		free(a);
		return rc;
	}
	qsort(a, k, sizeof(*a), addr_cmp);
	free(s->addrs);
	s->addrs = a;
	s->n = k;
	s->ttl = ttl;
	return k ? ARES_SUCCESS : ARES_ENODATA;
}

/* One query's end. From the loop (ares_process_fd), or from
 * ares_destroy() in discovery_free() with ARES_EDESTRUCTION. */
static void on_answer(struct dname *n, int f, int status,
		      const unsigned char *abuf, int alen)
{
	struct discovery *d = n->d;
	struct fam_set *s = &n->fam[f];

	n->pending--;
	/* A removed name is no longer in d->names: its last callback
	 * frees it. */
	if (n->removed) {
		if (n->pending == 0)
			dname_free(n);
		return;
	}
	if (d->dying)
		return;
	s->error = status;
	if (status == ARES_SUCCESS)
		s->error = fam_take(s, f, abuf, alen);
	if (fam_empty(s->error)) {
		free(s->addrs);
		s->addrs = NULL;
		s->n = 0;
	}
	if (n->pending == 0)
		round_done(n);
}

static void on_a(void *arg, int status, int timeouts, unsigned char *abuf,
		 int alen)
{
	on_answer(arg, FAM_A, status, abuf, alen);
}

static void on_aaaa(void *arg, int status, int timeouts, unsigned char *abuf,
		    int alen)
{
	on_answer(arg, FAM_AAAA, status, abuf, alen);
}

static void round_start(struct dname *n)
{
	struct discovery *d = n->d;

	if (n->pending > 0)
		return; /* a round is on its way */
	evtimer_del(n->timer);
	/* Count first: c-ares may call back before it returns (a name it
	 * refuses), and the second callback may end the round, report and
	 * even free n: nothing touches n after the second call. */
	n->pending += 2;
	if (d->search) {
		ares_search(d->ch, n->name, DNS_CLASS_IN, DNS_TYPE_A, on_a, n);
		ares_search(d->ch, n->name, DNS_CLASS_IN, DNS_TYPE_AAAA,
			    on_aaaa, n);
	} else {
		ares_query(d->ch, n->name, DNS_CLASS_IN, DNS_TYPE_A, on_a, n);
		ares_query(d->ch, n->name, DNS_CLASS_IN, DNS_TYPE_AAAA, on_aaaa,
			   n);
	}
	channel_timer_update(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	round_start(arg);
}

/* ---- the API ------------------------------------------------------------ */

/* The channel: EDNS0, our timeouts, its sockets on our loop; the name
 * server given, or resolv.conf's. 0 or -errno. */
static int channel_open(struct discovery *d, const struct discovery_opts *o)
{
	struct ares_options ao;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		   ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB;
	int rc;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS)
		return -ENOMEM;
	memset(&ao, 0, sizeof(ao));
	ao.flags = ARES_FLAG_EDNS | (o->dns_server ? ARES_FLAG_NOSEARCH : 0);
	ao.timeout = (int)(o->timeout_ms ? o->timeout_ms : TIMEOUT_MS);
	ao.tries = (int)(o->attempts ? o->attempts : ATTEMPTS);
	ao.ednspsz = EDNS_PAYLOAD;
	ao.sock_state_cb = on_sock_state;
	ao.sock_state_cb_data = d;
	rc = ares_init_options(&d->ch, &ao, mask);
	if (rc != ARES_SUCCESS) {
		d->ch = NULL;
		/* ARES_EFILE: resolv.conf unreadable (a missing one means
		 * 127.0.0.1, as for the libc resolver). */
		return rc == ARES_ENOMEM ? -ENOMEM : -ENOENT;
	}
	if (o->dns_server &&
	    ares_set_servers_ports_csv(d->ch, o->dns_server) != ARES_SUCCESS)
		return -EINVAL;
	d->search = !o->dns_server;
	return 0;
}

struct discovery *discovery_new(struct event_base *base,
				const struct discovery_opts *opts,
				discovery_cb on_change, void *arg)
{
	struct discovery *d = calloc(1, sizeof(*d)); /* the caller's */
	int rc;

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->base = base;
	d->on_change = on_change;
	d->arg = arg;
	d->min_ms = opts->min_interval_ms ? opts->min_interval_ms :
					    MIN_INTERVAL_MS;
	d->max_ms = opts->max_interval_ms ? opts->max_interval_ms :
					    MAX_INTERVAL_MS;
	if (d->min_ms > d->max_ms)
		d->min_ms = d->max_ms;
	d->timer = evtimer_new(base, on_channel_timer, d);
	rc = d->timer ? channel_open(d, opts) : -ENOMEM;
	if (rc < 0) {
		discovery_free(d);
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
	/* Every query in flight calls back now, with ARES_EDESTRUCTION:
	 * removed names are freed by it, the others below. */
	d->dying = true;
	if (d->ch)
		ares_destroy(d->ch);
	d->ch = NULL;
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
