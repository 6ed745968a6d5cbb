/*
 * OpenSSL contexts for both ends: TLS 1.2 or newer, no renegotiation,
 * ALPN "h2" only (HTTP/2 is the only protocol spoken), certificate checks
 * on both sides (the client checks the agent's name, the agent checks the
 * client against --client-ca when given), and the peer identity the agent's
 * policy works with.
 */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "execfs/h2.h"
#include "tls_internal.h"

static const unsigned char alpn_h2[] = { 2, 'h', '2' };

static void tls_err(char *err, size_t errlen, const char *what,
		    const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[200] = "unknown error";

	if (e)
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
	snprintf(err, errlen, "%s %s: %s", what, path ? path : "", ebuf);
	ERR_clear_error();
}

static int alpn_select(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	unsigned int i;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen; i += 1 + in[i]) {
		if (in[i] == 2 && i + 3 <= inlen &&
		    !memcmp(in + i + 1, "h2", 2)) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static SSL_CTX *ctx_base(const SSL_METHOD *method)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* RFC 9113 §9.2.2: TLS 1.2 with HTTP/2 needs ephemeral AEAD suites. */
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	/* The record buffers are kept (no SSL_MODE_RELEASE_BUFFERS): freeing
	 * and reallocating them on every drain costs more than they weigh.
	 * No read-ahead: OpenSSL reads from memory (wire.c), never the
	 * socket, so it would only add a copy. */
	return ctx;
}

static int ctx_load_pair(SSL_CTX *ctx, const char *cert, const char *key,
			 char *err, size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, "certificate", cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "key", key);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "key does not match certificate", cert);
		return -1;
	}
	return 0;
}

SSL_CTX *tls_server_ctx_new(const char *cert, const char *key,
			    const char *client_ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_base(TLS_server_method());

	if (!ctx) {
		tls_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	if (ctx_load_pair(ctx, cert, key, err, errlen) < 0)
		goto out_free;
	if (client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);

		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1 ||
		    !names) {
			tls_err(err, errlen, "client CA", client_ca);
			goto out_free;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(
			ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			NULL);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
out_free:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx_new(const char *ca, const char *cert, const char *key,
			    char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_base(TLS_client_method());

	if (!ctx) {
		tls_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	if (!ca) {
		snprintf(err, errlen, "a CA file is required to verify agents");
		goto out_free;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		tls_err(err, errlen, "CA", ca);
		goto out_free;
	}
	if (cert && ctx_load_pair(ctx, cert, key ? key : cert, err, errlen) < 0)
		goto out_free;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2));
	return ctx;
out_free:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *name)
{
	unsigned char ip[16];
	SSL *ssl = SSL_new(ctx);

	if (!ssl)
		return NULL;
	if (inet_pton(AF_INET, name, ip) == 1 ||
	    inet_pton(AF_INET6, name, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) !=
		    1)
			goto out_free;
	} else {
		if (SSL_set1_host(ssl, name) != 1 ||
		    SSL_set_tlsext_host_name(ssl, name) != 1)
			goto out_free;
		/* No wildcard surprises: the name must match exactly. */
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	return ssl;
out_free:
	SSL_free(ssl);
	return NULL;
}

static int san_first(X509 *x, int type, char *buf, size_t len)
{
	GENERAL_NAMES *sans =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, found = 0;

	for (i = 0; sans && i < sk_GENERAL_NAME_num(sans) && !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const ASN1_IA5STRING *s;

		if (g->type != type)
			continue;
		s = type == GEN_URI ? g->d.uniformResourceIdentifier :
				      g->d.dNSName;
		if (s->length <= 0 || (size_t)s->length >= len ||
		    memchr(s->data, 0, s->length))
			continue;
		memcpy(buf, s->data, s->length);
		buf[s->length] = 0;
		found = 1;
	}
	GENERAL_NAMES_free(sans);
	return found;
}

void tls_peer_identity(SSL *ssl, char *buf, size_t len)
{
	X509 *x = SSL_get1_peer_certificate(ssl);

	buf[0] = 0;
	if (!x)
		return;
	if (SSL_get_verify_result(ssl) == X509_V_OK &&
	    !san_first(x, GEN_URI, buf, len) &&
	    !san_first(x, GEN_DNS, buf, len)) {
		int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
						  NID_commonName, buf,
						  (int)len);

		if (n < 0 || strlen(buf) != (size_t)n)
			buf[0] = 0; /* embedded NUL: no identity */
	}
	X509_free(x);
}
