/*
 * The fleet configuration file (`execfs --config FILE`): which nodes to
 * mount, where their agents listen, and the TLS material to reach them:
 *
 *   {"nodes": [{"name": "n1", "address": "10.0.0.1:7443",
 *               "server_name": "n1.example"}],
 *    "ca": "ca.pem", "cert": "client.pem", "key": "client.key"}
 *
 * server_name (optional) is the name the agent's certificate must carry;
 * it defaults to the host part of address.
 */
#ifndef EXECFS_FS_CONFIG_H
#define EXECFS_FS_CONFIG_H

#include <stddef.h>

struct config_node {
	char *name; /* owned: the node's directory name */
	char *address; /* owned: host:port, [v6]:port or unix:/path */
	char *server_name; /* owned */
};

struct config {
	struct config_node *nodes; /* owned */
	size_t nnodes;
	char *ca, *cert, *key; /* owned */
};

/* 0, or -errno with a message in err (-EINVAL: the file is wrong). */
int config_load(const char *path, struct config **out, char *err,
		size_t errlen);
void config_free(struct config *c);

/* The host part of an address ("h" of "h:p", "v6" of "[v6]:p"), malloc'd. */
char *config_address_host(const char *address);

#endif
