/*
 * The fleet of a `--config` mount: the set of nodes the configuration
 * asks for (its static `nodes`, and one node per address of each
 * `discover` DNS name), kept true as the file and DNS change. One
 * reconciliation serves both: the desired set is computed from the
 * configuration in force and the names' current addresses, and compared
 * with the nodes there are:
 *   - a desired node that does not exist is made and connects (in
 *     parallel with every other: connecting never blocks the loop);
 *   - one that exists gets the configuration's address, certificate name
 *     and TLS context for its next connection (node_update);
 *   - a node no longer desired is marked leaving: it takes no new session
 *     and goes (its directory, its connection) once no session uses it. A
 *     running session is never cut by a DNS answer or a configuration
 *     edit: an agent that left a Service because its pod is ending still
 *     finishes what runs there, and an address that comes back in the
 *     next answer is simply wanted again.
 * Reconciliation runs after each resolve that changed a name's addresses
 * (discovery.h: again when the TTL runs out, at least every 30 s), and on
 * SIGHUP, which re-reads the file: a file that does not load, or TLS
 * files that do not, change nothing and are logged.
 *
 * Verifying an agent dialled by address (a discovered node): the config's
 * server_name for the name says what its certificate must carry.
 *   - A template, `{node}.nodes.example`: the handshake checks the chain
 *     only; the agent's first snapshot says its node name N, and the
 *     certificate must carry exactly `N.nodes.example` (no wildcard), or
 *     the connection is closed before anything else used it (node.c). A
 *     compromised node holds the certificate of its own name only: it can
 *     serve that one node's directory, from whatever address it gets
 *     traffic for, and cannot pass for another node.
 *   - A fixed name shared by every agent: the check says only "an agent of
 *     this fleet". A compromised node holds the key all share: it can
 *     answer at any address it gets traffic for under any node name, show
 *     false trees and receive the sessions started there.
 *   - None (the default): the certificate must carry the address dialled
 *     (an IP SAN); node names are then whatever agents say, so a
 *     compromised node can take a name no other node holds yet, but cannot
 *     answer at another node's address.
 * Under every choice, a second address reporting a node name that another
 * holds is refused (node.c), and the first keeps the directory.
 */
#ifndef EXECFS_FS_FLEET_H
#define EXECFS_FS_FLEET_H

#include <stddef.h>

#include "fs.h"

struct config;
struct fleet;
typedef struct ssl_ctx_st SSL_CTX;

/* Options of the fleet's resolver, for tests: 0 keeps the defaults. */
struct fleet_opts {
	unsigned dns_min_ms, dns_max_ms;
};

/*
 * The fleet of cfg (taken: freed with the fleet) over ctx (taken), on
 * fs's loop, tree and node list; every node starts connecting, and every
 * DNS name resolving. NULL (and why in err) when DNS cannot be set up.
 */
struct fleet *fleet_new(struct execfs *fs, struct config *cfg, SSL_CTX *ctx,
			const char *path, char *err, size_t errlen);
/* Stops resolving; the nodes stay attached to fs (nodes_free). */
void fleet_free(struct fleet *f);
/* SIGHUP: read the file again and reconcile. 0, or -errno when the file
 * (or its TLS files) did not load: nothing changed, and the log says
 * why. */
int fleet_reload(struct fleet *f);

/* The mount's `.status`: a line per DNS name (its addresses, its last
 * error), then a line per node (node_status_line). malloc'd, *len its
 * length; NULL when out of memory. f may be NULL (a local mount). */
char *fleet_status_text(const struct fleet *f, const struct execfs *fs,
			size_t *len);

#endif
