/*
 * OpenSSL contexts for both ends: TLS 1.2 or newer, no renegotiation,
 * ALPN "h2" only (HTTP/2 is the only protocol spoken), certificate checks
 * on both sides (the client checks the agent's name and its serverAuth
 * extended key usage; the agent checks the client against --client-ca,
 * its clientAuth extended key usage, a usable name and, with a CRL loaded,
 * revocation), and the typed peer identity the agent's policy works with:
 * "uri:...", "dns:..." or "cn:...". A context can also be built from PEM
 * bytes in memory, for a reload that swaps it in for new connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "execfs/h2.h"
#include "execfs/log.h"
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

static bool has_eku(X509 *x, uint32_t xku)
{
	/* Without the extension OpenSSL reports every usage: require it. */
	return (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
	       (X509_get_extended_key_usage(x) & xku);
}

static void log_refusal(X509 *x, const char *who, const char *why)
{
	char subject[256];

	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	log_warn("TLS: %s certificate %s refused: %s", who, subject, why);
}

/* The server's check of a client's certificate, beyond the chain: for
 * the leaf, the clientAuth usage and a name it can be known by. */
static int verify_client(int ok, X509_STORE_CTX *sctx)
{
	X509 *x = X509_STORE_CTX_get_current_cert(sctx);
	char id[256];
	const char *why = NULL;

	/* OpenSSL's own refusal (unknown CA, expired, revoked, a usage
	 * other than clientAuth): said once, as it ends the check. */
	if (!ok && x)
		log_refusal(x, "client",
			    X509_verify_cert_error_string(
				    X509_STORE_CTX_get_error(sctx)));
	if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0 || !x)
		return ok;
	if (!has_eku(x, XKU_SSL_CLIENT)) {
		log_refusal(x, "client", "no clientAuth extended key usage");
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_PURPOSE);
		return 0;
	}
	if (tls_cert_identity(x, id, sizeof(id), &why) < 0) {
		log_refusal(x, "client", why);
		X509_STORE_CTX_set_error(sctx,
					 X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* The client's check of the agent's certificate: serverAuth. */
static int verify_server(int ok, X509_STORE_CTX *sctx)
{
	X509 *x = X509_STORE_CTX_get_current_cert(sctx);

	if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0 || !x)
		return ok;
	if (!has_eku(x, XKU_SSL_SERVER)) {
		log_refusal(x, "server", "no serverAuth extended key usage");
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_PURPOSE);
		return 0;
	}
	return 1;
}

static void ctx_require_clients(SSL_CTX *ctx)
{
	SSL_CTX_set_verify(ctx,
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   verify_client);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
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
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			tls_err(err, errlen, "client CA", client_ca);
			goto out_free;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		ctx_require_clients(ctx);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
out_free:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Every CRL of a PEM text into ctx's store; CRL checking on for the
 * peer's certificate. */
static int load_crls(SSL_CTX *ctx, BIO *bio, const char *what, char *err,
		     size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl;
	int n = 0;

	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			tls_err(err, errlen, "CRL", what);
			return -1;
		}
		X509_CRL_free(crl);
		n++;
	}
	/* The loop ends on "no start line" at the end of the text. */
	ERR_clear_error();
	if (!n) {
		snprintf(err, errlen, "CRL %s: no CRL in it", what);
		return -1;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

int tls_ctx_load_crl_file(SSL_CTX *ctx, const char *path, char *err,
			  size_t errlen)
{
	BIO *bio = BIO_new_file(path, "r");
	int rc;

	if (!bio) {
		tls_err(err, errlen, "CRL", path);
		return -1;
	}
	rc = load_crls(ctx, bio, path, err, errlen);
	BIO_free(bio);
	return rc;
}

int tls_ctx_load_crl_pem(SSL_CTX *ctx, const char *pem, size_t len, char *err,
			 size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	int rc;

	if (!bio || len > INT_MAX) {
		BIO_free(bio);
		snprintf(err, errlen, "CRL: out of memory");
		return -1;
	}
	rc = load_crls(ctx, bio, "(in memory)", err, errlen);
	BIO_free(bio);
	return rc;
}

/* Certificate chain (leaf first) and key from PEM text. */
static int pem_load_pair(SSL_CTX *ctx, const struct tls_server_pem *pem,
			 char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem->cert, (int)pem->cert_len);
	EVP_PKEY *key = NULL;
	X509 *x;
	int rc = -1;

	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (!x || SSL_CTX_use_certificate(ctx, x) != 1) {
		tls_err(err, errlen, "certificate", "(in memory)");
		goto out;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			tls_err(err, errlen, "certificate chain",
				"(in memory)");
			goto out;
		}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(pem->key, (int)pem->key_len);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		tls_err(err, errlen, "key", "(in memory)");
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "key does not match certificate",
			"(in memory)");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

/* The client CAs from PEM text: trusted, and named to clients. */
static int pem_load_cas(SSL_CTX *ctx, const struct tls_server_pem *pem,
			char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem->client_ca, (int)pem->client_ca_len);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509 *x;
	int n = 0;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, x) != 1 ||
		    SSL_CTX_add_client_CA(ctx, x) != 1) {
			X509_free(x);
			BIO_free(bio);
			tls_err(err, errlen, "client CA", "(in memory)");
			return -1;
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!n) {
		snprintf(err, errlen, "client CA: no certificate in it");
		return -1;
	}
	return 0;
}

SSL_CTX *tls_server_ctx_from_pem(const struct tls_server_pem *pem, char *err,
				 size_t errlen)
{
	SSL_CTX *ctx;

	if (pem->cert_len > INT_MAX || pem->key_len > INT_MAX ||
	    pem->client_ca_len > INT_MAX || !pem->client_ca) {
		snprintf(err, errlen,
			 "a certificate, a key and client CAs are needed");
		return NULL;
	}
	ctx = ctx_base(TLS_server_method());
	if (!ctx) {
		tls_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	if (pem_load_pair(ctx, pem, err, errlen) < 0 ||
	    pem_load_cas(ctx, pem, err, errlen) < 0 ||
	    (pem->crl && tls_ctx_load_crl_pem(ctx, pem->crl, pem->crl_len, err,
					      errlen) < 0)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	ctx_require_clients(ctx);
	return ctx;
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
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_server);
	SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2));
	return ctx;
out_free:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t len, long long *not_after)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	const ASN1_TIME *end;
	char *serial = NULL, subject[256] = "", when[64] = "?";
	BIGNUM *bn = NULL;
	BIO *bio = NULL;
	struct tm tm;
	int n;

	if (!x) {
		snprintf(buf, len, "no certificate");
		return -ENOENT;
	}
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	serial = bn ? BN_bn2hex(bn) : NULL;
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	end = X509_get0_notAfter(x);
	bio = BIO_new(BIO_s_mem());
	if (bio && ASN1_TIME_print(bio, end) == 1) {
		n = BIO_read(bio, when, sizeof(when) - 1);
		when[n > 0 ? n : 0] = 0;
	}
	BIO_free(bio);
	snprintf(buf, len, "serial %s, subject %s, not after %s",
		 serial ? serial : "?", subject, when);
	OPENSSL_free(serial);
	BN_free(bn);
	if (not_after)
		*not_after = ASN1_TIME_to_tm(end, &tm) == 1 ?
				     (long long)timegm(&tm) :
				     0;
	return X509_cmp_current_time(end) < 0 ? -EKEYEXPIRED : 0;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

static bool name_is_ip(const char *name)
{
	unsigned char ip[16];

	return inet_pton(AF_INET, name, ip) == 1 ||
	       inet_pton(AF_INET6, name, ip) == 1;
}

SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *name)
{
	SSL *ssl = SSL_new(ctx);

	if (!ssl)
		return NULL;
	if (!name[0])
		return ssl; /* the chain only: the caller checks the name */
	if (name_is_ip(name)) {
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

int tls_peer_has_name(SSL *ssl, const char *name)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	int rc;

	if (!x || SSL_get_verify_result(ssl) != X509_V_OK || !name[0])
		return -EACCES;
	if (name_is_ip(name))
		rc = X509_check_ip_asc(x, name, 0);
	else
		rc = X509_check_host(x, name, strlen(name),
				     X509_CHECK_FLAG_NO_WILDCARDS, NULL);
	return rc == 1 ? 0 : -EACCES;
}

/* A name from a certificate that can serve as an identity: 1 to 250
 * bytes, no control character, no NUL; SANs (IA5String) printable ASCII
 * without spaces. */
static bool name_usable(const unsigned char *p, int n, bool ascii)
{
	int i;

	if (n <= 0 || n > 250)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (ascii && (p[i] == ' ' || p[i] > 0x7e))
			return false;
	}
	return true;
}

static int set_identity(char *buf, size_t len, const char *type,
			const unsigned char *p, int n)
{
	if ((size_t)n + strlen(type) + 2 > len)
		return -EACCES;
	snprintf(buf, len, "%s:%.*s", type, n, (const char *)p);
	return 0;
}

/* The first SAN of type (GEN_URI, GEN_DNS): 1 taken, 0 none of that type,
 * -EACCES when the first one is not usable (never the next one). */
static int san_identity(const GENERAL_NAMES *sans, int type, char *buf,
			size_t len, const char **why)
{
	const ASN1_IA5STRING *s;
	const GENERAL_NAME *g;
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		g = sk_GENERAL_NAME_value(sans, i);
		if (g->type != type)
			continue;
		s = type == GEN_URI ? g->d.uniformResourceIdentifier :
				      g->d.dNSName;
		if (!name_usable(s->data, s->length, true) ||
		    set_identity(buf, len, type == GEN_URI ? "uri" : "dns",
				 s->data, s->length) < 0) {
			*why = type == GEN_URI ?
				       "its first URI subjectAltName is not a usable name" :
				       "its first DNS subjectAltName is not a usable name";
			return -EACCES;
		}
		return 1;
	}
	return 0;
}

/* The subject's one CN, when the certificate has no subjectAltName. */
static int cn_identity(X509 *x, char *buf, size_t len, const char **why)
{
	X509_NAME *name = X509_get_subject_name(x);
	unsigned char *utf8 = NULL;
	int i, n, rc = -EACCES;

	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0) {
		*why = "it has neither a subjectAltName nor a subject CN";
		return -EACCES;
	}
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0) {
		*why = "its subject has more than one CN";
		return -EACCES;
	}
	n = ASN1_STRING_to_UTF8(
		&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n >= 0 && name_usable(utf8, n, false))
		rc = set_identity(buf, len, "cn", utf8, n);
	if (rc < 0)
		*why = "its subject CN is not a usable name";
	OPENSSL_free(utf8);
	return rc;
}

int tls_cert_identity(X509 *x, char *buf, size_t len, const char **why)
{
	GENERAL_NAMES *sans;
	int crit = -1, rc;

	buf[0] = '\0';
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (!sans && crit != -1) {
		/* -2: the extension twice; else it is there and does not
		 * parse. Never fall back to the CN then. */
		*why = crit == -2 ?
			       "it has more than one subjectAltName extension" :
			       "its subjectAltName extension does not parse";
		return -EACCES;
	}
	if (!sans)
		return cn_identity(x, buf, len, why);
	rc = san_identity(sans, GEN_URI, buf, len, why);
	if (rc == 0)
		rc = san_identity(sans, GEN_DNS, buf, len, why);
	GENERAL_NAMES_free(sans);
	if (rc == 0) {
		*why = "its subjectAltName has no URI or DNS name";
		rc = -EACCES;
	}
	if (rc < 0)
		buf[0] = '\0';
	return rc < 0 ? rc : 0;
}

int tls_peer_identity(SSL *ssl, char *buf, size_t len)
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	const char *why = "";
	int rc = -EACCES;

	buf[0] = 0;
	if (x && SSL_get_verify_result(ssl) == X509_V_OK)
		rc = tls_cert_identity(x, buf, len, &why);
	X509_free(x);
	return rc;
}
