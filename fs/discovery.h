/*
 * Discovery of agents by DNS: a set of names (a Kubernetes headless
 * Service, a Consul service name), each resolved to its A and AAAA records
 * on the mount's event loop with libevent's evdns (never blocking the
 * loop), again when the records' TTL runs out (never sooner than
 * min_interval, never later than max_interval: 30 s by default), and the
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
 *   - anything else (SERVFAIL, a timeout, REFUSED, a malformed or truncated
 *     reply): the set stays as it was (a DNS outage must not empty a
 *     healthy fleet), the callback is told the error, and the name is
 *     retried after min_interval, doubling up to max_interval.
 * Truncation: evdns (libevent 2.1) sends no EDNS0 and has no TCP fallback,
 * so an answer must fit in 512 bytes: about 29 A records or 16 AAAA records
 * per name (docs/SCALE.md). A truncated reply counts as an error, so such a
 * name keeps its last complete set (and never gets one if it never fit):
 * split a large fleet over several names.
 *
 * Verifying a node dialled by address. The agent's certificate is checked
 * against the CA and one expected name, chosen by the config:
 *
 *   server_name template `{node}.nodes.example`: the handshake verifies
 *     the chain only (the name is not known yet); once the agent's first
 *     snapshot reports its node name N, the client checks the peer's
 *     certificate for `N.nodes.example` (X509_check_host) and closes the
 *     connection, showing nothing of it, if it does not carry that name.
 *     A compromised agent holds one certificate, for its own node name:
 *     it can serve only that node's directory, even from an address it
 *     hijacked. It cannot impersonate another node (it has no certificate
 *     naming it), but it can stay in the DNS answer under its own name,
 *     report false containers for its own node and see the commands sent
 *     to it. Needs a certificate per node (cert-manager, the DaemonSet's
 *     pod identity).
 *   a fixed name (`agent.execfs.example`), one certificate shared by
 *     every agent: the check proves only "an agent of this fleet". A
 *     compromised node has the key every agent has, so it can answer for
 *     any address it can get traffic for (a poisoned DNS answer, an ARP or
 *     route hijack) and report any node name: it can impersonate every
 *     node, take the sessions started there and show false trees. Simple
 *     to deploy; only for fleets whose network is trusted.
 *   the address itself (an IP SAN, as a static config does by default): a
 *     node is verified as "whoever holds the certificate for this IP";
 *     node names are then only what the agents say. A compromised node can
 *     report any node name (take over another node's directory name while
 *     that node's own entry is renamed), but cannot answer at another
 *     node's address.
 * The mount should refuse a reported node name that another address
 * already holds (two agents claiming one directory) and log it, whatever
 * the choice.
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
	/* evdns's per-query timeout in milliseconds (0: 2000) and attempts
	 * (0: 2) before a resolve counts as failed. */
	unsigned timeout_ms;
	unsigned attempts;
};

/*
 * What changed for one name after a resolve: the addresses it gained and
 * lost (sorted, text), and, when the resolve failed, the error (a DNS_ERR_*
 * code of evdns) and its text; the set is unchanged then. The arrays are
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
	int error; /* 0, or the failed query's DNS_ERR_* */
	const char *reason; /* NULL, or why the resolve failed */
};

typedef void (*discovery_cb)(void *arg, const struct discovery_change *chg);

/*
 * A resolver on base (its own evdns_base, so the dns_server of tests and
 * configs never changes how node addresses in a static config resolve).
 * on_change is called from base's loop, once after each resolve of a name
 * that changed its set or failed. NULL with errno (EINVAL: a bad
 * dns_server; ENOMEM; ENOENT: no usable name server in resolv.conf).
 */
struct discovery *discovery_new(struct event_base *base,
				const struct discovery_opts *opts,
				discovery_cb on_change, void *arg);
/* Cancels every query and timer; on_change is not called after it. The
 * queries in flight still call back into this module from base's loop,
 * and the last of them frees its memory: run the loop once more before
 * freeing base. NULL: no-op. */
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
