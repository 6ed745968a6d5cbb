/*
 * Discovery of agents by DNS: a set of names (a Kubernetes headless
 * Service, a Consul service name), each resolved to its A and AAAA records
 * on the mount's event loop with c-ares (its sockets and timer are events
 * of the loop: nothing blocks), again when the records' TTL runs out
 * (never sooner than min_interval, never later than max_interval: 30 s by
 * default), and the
 * addresses each name gained and lost reported through a callback. The
 * caller turns each address into a node (dial ADDRESS:PORT, name the
 * node's directory after the name the agent reports) and drops the node of
 * an address that went; this module knows nothing of nodes, TLS or FUSE.
 *
 * What a resolve's outcome does to a name's address set:
 *   - an answer with records: the set becomes those addresses (A and AAAA
 *     are tracked apart: a failing AAAA query leaves the A addresses be);
 *   - NXDOMAIN, or an answer without records of that type (NODATA): the
 *     set of that type becomes empty (the service has no endpoints: its
 *     nodes go);
 *   - anything else (SERVFAIL, a timeout, REFUSED, a malformed reply, a
 *     truncated one that TCP could not complete): the set stays as it
 *     was (a DNS outage must not empty a healthy fleet), the callback is
 *     told the error, and the name is retried after min_interval,
 *     doubling up to max_interval.
 * Answers of any size: c-ares asks with EDNS0 (a 1232-byte UDP payload)
 * and repeats a truncated answer's query over TCP, so a name may hold as
 * many records as DNS carries (a 200-node headless Service is ordinary;
 * tests/unit/test_fs_discovery.c serves 200).
 */
#ifndef EXECFS_FS_DISCOVERY_H
#define EXECFS_FS_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct discovery;

/* An address as text ("10.0.0.7", "fd00::7"): what h2_connect dials,
 * with ":PORT" (or "[V6]:PORT") appended. */
#define DISCOVERY_ADDR_LEN 46

struct discovery_opts {
	/* "IP[:PORT]" of the one name server to ask, or NULL for the
	 * nameservers, search list and options of /etc/resolv.conf. */
	const char *dns_server;
	/* TTL bounds, milliseconds: 0 means the default (1000 and 30000). */
	unsigned min_interval_ms;
	unsigned max_interval_ms;
	/* The per-query timeout in milliseconds (0: 2000) and attempts (0: 2)
	 * before a resolve counts as failed. */
	unsigned timeout_ms;
	unsigned attempts;
};

/*
 * What changed for one name after a resolve: the addresses it gained and
 * lost (sorted, text), and, when the resolve failed, the error (an ARES_*
 * status of c-ares) and its text; the set is unchanged then. The arrays are
 * the callee's to read during the call only. The callback may call
 * discovery_remove() (of this name too) and discovery_refresh(), not
 * discovery_free().
 */
struct discovery_change {
	const char *name;
	const char *const *added;
	size_t nadded;
	const char *const *removed;
	size_t nremoved;
	int error; /* 0, or the failed query's ARES_* status */
	const char *reason; /* NULL, or why the resolve failed */
};

typedef void (*discovery_cb)(void *arg, const struct discovery_change *chg);

/*
 * A resolver on base (a c-ares channel of its own, so the dns_server of
 * tests and configs never changes how node addresses in a static config
 * resolve).
 * on_change is called from base's loop after a name's first resolve, and
 * after each later one that changed its set or failed. NULL with errno (EINVAL: a bad
 * dns_server; ENOMEM; ENOENT: no usable name server in resolv.conf).
 */
struct discovery *discovery_new(struct event_base *base,
				const struct discovery_opts *opts,
				discovery_cb on_change, void *arg);
/* Cancels every query and timer and frees everything at once; on_change
 * is not called after it (nor from it). NULL: no-op. */
void discovery_free(struct discovery *d);

/* Start resolving name (now; then by TTL). 0, -EEXIST, -EINVAL (empty or
 * longer than 253 bytes), -ENOMEM. */
int discovery_add(struct discovery *d, const char *name);
/* Stop resolving name and forget its set (no callback: the caller drops
 * its nodes itself). 0 or -ENOENT. */
int discovery_remove(struct discovery *d, const char *name);
/* Resolve every name now (SIGHUP, a config re-read). */
void discovery_refresh(struct discovery *d);

/* The name's current addresses, sorted: how many, the first max of them
 * copied to out. -ENOENT for a name not added. */
int discovery_addresses(const struct discovery *d, const char *name,
			char (*out)[DISCOVERY_ADDR_LEN], size_t max);

/* The wait before the next resolve of a set whose smallest TTL is
 * ttl seconds: ttl clamped to [min_ms, max_ms]. */
unsigned discovery_interval_ms(long ttl, unsigned min_ms, unsigned max_ms);

#endif
