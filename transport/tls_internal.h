/*
 * TLS helpers conn.c needs beyond the public context constructors.
 * Private to transport/.
 */
#ifndef EXECFS_TRANSPORT_TLS_INTERNAL_H
#define EXECFS_TRANSPORT_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A client SSL that checks the server certificate names `name` (a DNS
 * name or an IP address) and sends it as SNI when it is a DNS name. */
SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *name);
/* The verified peer's identity: first URI SAN, else first DNS SAN, else
 * the subject CN; "" without a certificate. */
void tls_peer_identity(SSL *ssl, char *buf, size_t len);

#endif
