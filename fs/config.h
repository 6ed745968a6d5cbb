/*
 * The fleet configuration file (`execfs --config FILE`): which nodes to
 * mount, where their agents listen or which DNS names list them, and the
 * TLS material to reach them:
 *
 *   {"nodes": [{"name": "n1", "address": "10.0.0.1:7443",
 *               "server_name": "n1.example"}],
 *    "discover": [{"dns": "execfs-agent.execfs.svc.cluster.local",
 *                  "port": 7443,
 *                  "server_name": "{node}.nodes.execfs.example"}],
 *    "dns_server": "10.96.0.10:53",
 *    "ca": "ca.pem", "cert": "client.pem", "key": "client.key"}
 *
 * `nodes` (static: a name and an address each) and `discover` (DNS names
 * whose A and AAAA records are agents, each dialled on `port`; the node's
 * directory takes the name its agent reports) may both be given; at least
 * one node or name. server_name is the name the agent's certificate must
 * carry: a fixed name, or a template holding `{node}` once, which becomes
 * the node's name (for a discovered node, the name its agent reports,
 * checked after the handshake). Default: the host part of the address (a
 * discovered node: its IP address). dns_server (optional, "IP" or
 * "IP:PORT") replaces resolv.conf's name servers for `discover`.
 *
 * The file is read at mount and again on SIGHUP (fleet.h): a file that
 * does not load changes nothing.
 */
#ifndef EXECFS_FS_CONFIG_H
#define EXECFS_FS_CONFIG_H

#include <stddef.h>

struct config_node {
	char *name; /* owned: the node's directory name */
	char *address; /* owned: host:port, [v6]:port or unix:/path */
	char *server_name; /* owned: a template is expanded already */
};

struct config_discover {
	char *dns; /* owned: the DNS name */
	unsigned port;
	char *server_name; /* owned: fixed, a template, or NULL (the IP) */
};

struct config {
	struct config_node *nodes; /* owned */
	size_t nnodes;
	struct config_discover *discover; /* owned */
	size_t ndiscover;
	char *dns_server; /* owned, or NULL: resolv.conf */
	char *ca, *cert, *key; /* owned */
};

/* The longest name a certificate is checked for (a DNS name). */
#define CONFIG_NAME_MAX 253

/* 0, or -errno with a message in err (-EINVAL: the file is wrong). */
int config_load(const char *path, struct config **out, char *err,
		size_t errlen);
void config_free(struct config *c);

/* The host part of an address ("h" of "h:p", "v6" of "[v6]:p"), malloc'd. */
char *config_address_host(const char *address);
/* Does name hold the `{node}` placeholder? */
int config_is_template(const char *server_name);
/* server_name with `{node}` replaced by node into out (the name itself
 * when it holds none): 0, or -ENAMETOOLONG. */
int config_expand_name(const char *server_name, const char *node, char *out,
		       size_t len);

#endif
