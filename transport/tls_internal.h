/*
 * TLS helpers conn.c needs beyond the public context constructors.
 * Private to transport/.
 */
#ifndef EXECFS_TRANSPORT_TLS_INTERNAL_H
#define EXECFS_TRANSPORT_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>

/* A client SSL that checks the server certificate names `name` (a DNS
 * name or an IP address) and sends it as SNI when it is a DNS name; with
 * name "", the certificate's chain and usage only. */
SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *name);
/* Does the verified peer certificate carry name (a DNS name, matched
 * exactly, wildcards refused; or an IP address)? 0, or -EACCES. */
int tls_peer_has_name(SSL *ssl, const char *name);
/*
 * The identity a certificate names, typed: "uri:" and its first URI SAN,
 * else "dns:" and its first DNS SAN, else (only when it has no
 * subjectAltName extension at all) "cn:" and its subject's one CN. 0, or
 * -EACCES with *why (a static phrase) and buf "": a subjectAltName that
 * does not parse or comes twice, a first URI or DNS SAN that is not a
 * usable name (never the next one instead), a subjectAltName with neither,
 * no CN or several, a name over 250 bytes or with a control character.
 */
int tls_cert_identity(X509 *x, char *buf, size_t len, const char **why);
/* The verified peer certificate's identity, as above; -EACCES and "" when
 * there is none or it did not verify. */
int tls_peer_identity(SSL *ssl, char *buf, size_t len);

#endif
