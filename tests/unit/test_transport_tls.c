/*
 * Unit tests for transport/tls.c's identities and checks, end to end over
 * a Unix socket with TLS (the listener and the client of include/execfs/
 * h2.h), with certificates made here with OpenSSL: a client is served
 * under a typed identity ("uri:", "dns:", "cn:") or refused at the
 * handshake, never mapped to "" or to its next name: an empty or
 * unparsable subjectAltName, a first URI SAN that is not a name, no
 * clientAuth usage, a certificate revoked by a loaded CRL (and one whose
 * issuer has no CRL there). A server without serverAuth is refused by the
 * client. A context built from PEM text replaces the listener's for new
 * connections while an open one goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "execfs/h2.h"
/* The identity function itself, for what cannot cross a handshake. */
#include "../../transport/tls_internal.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct pki {
	char dir[64];
	EVP_PKEY *ca_key, *ca2_key;
	X509 *ca, *ca2;
	long serial;
};

static struct pki pki;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A raw subjectAltName (DER as given, even malformed). */
static void add_raw_san(X509 *x, const unsigned char *der, int len)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_int_equal(ASN1_OCTET_STRING_set(os, der, len), 1);
	e = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
}

struct leaf {
	const char *cn; /* NULL: none */
	const char *san; /* OpenSSL's syntax, NULL: none */
	const unsigned char *raw_san; /* or this DER */
	int raw_len;
	const char *eku; /* NULL: no extension */
	bool ca; /* issued by the second CA */
};

static X509 *issue(const struct leaf *l, EVP_PKEY *key, X509 *ca,
		   EVP_PKEY *ca_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ++pki.serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	if (l->cn)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					   (const unsigned char *)l->cn, -1, -1,
					   0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
	if (!ca) {
		add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, ca, NID_basic_constraints, "CA:FALSE");
		add_ext(x, ca, NID_key_usage, "critical,digitalSignature");
	}
	if (l->eku)
		add_ext(x, ca, NID_ext_key_usage, l->eku);
	if (l->san)
		add_ext(x, ca, NID_subject_alt_name, l->san);
	if (l->raw_san)
		add_raw_san(x, l->raw_san, l->raw_len);
	assert_true(X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *key, X509_CRL *crl)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pki.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (key)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
						      NULL, NULL),
				 1);
	if (crl)
		assert_int_equal(PEM_write_X509_CRL(f, crl), 1);
	assert_int_equal(fclose(f), 0);
}

/* DIR/NAME.pem holds the certificate and its key. */
static long make_leaf(const char *name, const struct leaf *l)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = issue(l, key, l->ca ? pki.ca2 : pki.ca,
			l->ca ? pki.ca2_key : pki.ca_key);
	char file[64];
	long serial = pki.serial;

	snprintf(file, sizeof(file), "%s.pem", name);
	write_pem(file, x, key, NULL);
	X509_free(x);
	EVP_PKEY_free(key);
	return serial;
}

/* A CRL of the first CA revoking serial (0: nothing). */
static void make_crl(const char *name, long serial)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, -60);
	X509_REVOKED *r;
	ASN1_INTEGER *sn;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki.ca));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_adj(t, time(NULL), 1, 0);
	X509_CRL_set1_nextUpdate(crl, t);
	if (serial) {
		r = X509_REVOKED_new();
		sn = ASN1_INTEGER_new();
		ASN1_INTEGER_set(sn, serial);
		X509_REVOKED_set_serialNumber(r, sn);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(sn);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, pki.ca_key, EVP_sha256()) > 0);
	write_pem(name, NULL, NULL, crl);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

static int setup(void **state)
{
	static const struct leaf ca = { .cn = "execfs test CA" },
				 ca2 = { .cn = "another CA" },
				 agent = { .cn = "n1",
					   .san = "DNS:localhost",
					   .eku = "serverAuth" },
				 agent_noeku = { .cn = "n1",
						 .san = "DNS:localhost" };
	(void)state;
	snprintf(pki.dir, sizeof(pki.dir), "/tmp/execfs-tls-XXXXXX");
	assert_non_null(mkdtemp(pki.dir));
	pki.ca_key = EVP_EC_gen("P-256");
	pki.ca = issue(&ca, pki.ca_key, NULL, NULL);
	pki.ca2_key = EVP_EC_gen("P-256");
	pki.ca2 = issue(&ca2, pki.ca2_key, NULL, NULL);
	write_pem("ca.pem", pki.ca, NULL, NULL);
	write_pem("ca2.pem", pki.ca2, NULL, NULL);
	make_leaf("agent", &agent);
	make_leaf("agent-noeku", &agent_noeku);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	X509_free(pki.ca);
	X509_free(pki.ca2);
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.ca2_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *path_of(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", pki.dir, name);
	return buf[i];
}

/* ---- one connection: the identity the server saw, or its refusal ---- */

struct run {
	struct event_base *base;
	char identity[256]; /* h2_conn_peer() of the served request */
	char body[256]; /* what the client read back */
	char srv_close[256]; /* the server connection's end */
	bool served, answered;
	struct h2_conn *client;
	int requests; /* to make; a new one after each answer */
};

static void srv_on_request(struct h2_conn *c, struct h2_stream *st, void *arg)
{
	struct run *r = arg;
	const char *id = h2_conn_peer(c);

	r->served = true;
	snprintf(r->identity, sizeof(r->identity), "%s", id);
	h2_stream_respond(st, 200, NULL, 0, false);
	h2_stream_write(st, id, strlen(id));
	h2_stream_end(st);
}

static void srv_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct run *r = arg;

	(void)c;
	snprintf(r->srv_close, sizeof(r->srv_close), "%s", reason);
}

static const struct h2_conn_cbs srv_cbs = {
	.on_request = srv_on_request,
	.on_close = srv_on_close,
};

static void cl_request(struct run *r);

static void cl_on_data(struct h2_stream *st, const uint8_t *d, size_t n,
		       void *arg)
{
	struct run *r = arg;
	size_t have = strlen(r->body);

	if (have + n < sizeof(r->body)) {
		memcpy(r->body + have, d, n);
		r->body[have + n] = '\0';
	}
	h2_stream_consume(st, n);
}

static void cl_on_end(struct h2_stream *st, void *arg)
{
	struct run *r = arg;

	(void)st;
	r->answered = true;
	if (--r->requests > 0)
		cl_request(r);
	else
		event_base_loopbreak(r->base);
}

static const struct h2_stream_cbs cl_stream_cbs = {
	.on_data = cl_on_data,
	.on_end = cl_on_end,
};

static void cl_request(struct run *r)
{
	r->body[0] = '\0';
	r->answered = false;
	assert_non_null(h2_conn_request(r->client, "GET", "/id", NULL, 0, true,
					&cl_stream_cbs, r));
}

static void cl_on_ready(struct h2_conn *c, void *arg)
{
	(void)c;
	cl_request(arg);
}

static void cl_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct run *r = arg;

	(void)c;
	(void)reason;
	r->client = NULL;
	event_base_loopbreak(r->base);
}

static const struct h2_conn_cbs cl_cbs = {
	.on_ready = cl_on_ready,
	.on_close = cl_on_close,
};

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run the loop until the client's requests are answered or it closed. */
static void spin(struct run *r)
{
	struct timeval tv = { 10, 0 };
	struct event *t = evtimer_new(r->base, on_timeout, r->base);

	evtimer_add(t, &tv);
	event_base_dispatch(r->base);
	event_free(t);
}

struct server {
	struct event_base *base;
	struct h2_listener *l;
	SSL_CTX *ctx;
	char addr[128];
};

static void server_start(struct server *s, struct run *r, SSL_CTX *ctx)
{
	char err[256];

	s->base = r->base;
	s->ctx = ctx;
	snprintf(s->addr, sizeof(s->addr), "unix:%s/s.sock", pki.dir);
	s->l = h2_listen(r->base, s->addr, ctx, &srv_cbs, r, err, sizeof(err));
	if (!s->l)
		fail_msg("listen: %s", err);
}

static SSL_CTX *server_ctx(const char *agent, const char *crl)
{
	char err[256];
	SSL_CTX *ctx;

	ctx = tls_server_ctx_new(path_of(agent), path_of(agent),
				 path_of("ca.pem"), err, sizeof(err));
	if (!ctx)
		fail_msg("server ctx: %s", err);
	if (crl &&
	    tls_ctx_load_crl_file(ctx, path_of(crl), err, sizeof(err)) < 0)
		fail_msg("crl: %s", err);
	return ctx;
}

/* One connection as client certificate NAME against a fresh server. */
/*
 * A client with certificate NAME (trusting ca.pem for the agent) makes one
 * request to addr on r->base: r is reset but for its base, and filled once
 * the request was answered or the connection closed. A connection still
 * open stays in r->client (hang_up() ends it).
 */
static void dial_verify(struct run *r, const char *addr, const char *name,
			const char *verify)
{
	struct event_base *base = r->base;
	char err[256];
	SSL_CTX *cctx;

	memset(r, 0, sizeof(*r));
	r->base = base;
	cctx = tls_client_ctx_new(path_of("ca.pem"), path_of(name),
				  path_of(name), err, sizeof(err));
	if (!cctx)
		fail_msg("client ctx: %s", err);
	r->requests = 1;
	r->client = h2_connect(base, NULL, addr, cctx, verify, &cl_cbs, r, err,
			       sizeof(err));
	assert_non_null(r->client);
	tls_ctx_free(cctx); /* the connection's SSL holds a reference */
	spin(r);
}

static void dial(struct run *r, const char *addr, const char *name)
{
	dial_verify(r, addr, name, "localhost");
}

static void hang_up(struct run *r)
{
	if (r->client)
		h2_conn_free(r->client);
	r->client = NULL;
}

/* The server's listener and context, then the loop. */
static void server_stop(struct server *s)
{
	h2_listener_free(s->l);
	tls_ctx_free(s->ctx);
	event_base_loop(s->base, EVLOOP_NONBLOCK);
	event_base_free(s->base);
}

/* One connection as client certificate NAME against a fresh server. */
static void attempt(const char *name, const char *crl, struct run *r)
{
	struct server s;

	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	server_start(&s, r, server_ctx("agent.pem", crl));
	dial(r, s.addr, name);
	hang_up(r);
	server_stop(&s);
}

static void expect_identity(const char *name, const struct leaf *l,
			    const char *want)
{
	char file[64];
	struct run r;

	snprintf(file, sizeof(file), "%s.pem", name);
	make_leaf(name, l);
	attempt(file, NULL, &r);
	if (!want) {
		if (r.served || r.answered)
			fail_msg("%s: served as \"%s\", want refused", name,
				 r.identity);
		return;
	}
	if (!r.answered)
		fail_msg("%s: refused (%s), want \"%s\"", name, r.srv_close,
			 want);
	assert_string_equal(r.identity, want);
	assert_string_equal(r.body, want);
}

static void test_typed_identities(void **state)
{
	(void)state;
	expect_identity(
		"uri-dns",
		&(struct leaf){
			.cn = "execfs-test-client",
			.san = "URI:spiffe://execfs.test/client,DNS:client.execfs.test",
			.eku = "clientAuth" },
		"uri:spiffe://execfs.test/client");
	expect_identity("dns-only",
			&(struct leaf){ .cn = "ops",
					.san = "DNS:ops.example,IP:10.0.0.1",
					.eku = "clientAuth" },
			"dns:ops.example");
	/* A CN is an identity only for a certificate without SANs, and
	 * is typed as such: "cn:ops.example" never equals "dns:...". */
	expect_identity("cn-only",
			&(struct leaf){ .cn = "ops.example",
					.eku = "clientAuth" },
			"cn:ops.example");
	expect_identity("both-eku",
			&(struct leaf){ .cn = "x",
					.san = "DNS:both.example",
					.eku = "serverAuth,clientAuth" },
			"dns:both.example");
}

static void test_refused_names(void **state)
{
	static const unsigned char empty[] = { 0x30, 0x00 };
	/* First URI "a\0bcd", then a good one: not the next one either. */
	static const unsigned char nul_uri[] = { 0x30, 0x0e, 0x86, 0x05,
						 'a',  0x00, 'b',  'c',
						 'd',  0x86, 0x05, 'o',
						 'k',  '.',  'i',  'o' };
	/* A URI with a newline in it. */
	static const unsigned char nl_uri[] = { 0x30, 0x05, 0x86, 0x03,
						'a',  '\n', 'b' };

	(void)state;
	/* An empty SAN extension: no name, and no falling back to the CN. */
	expect_identity("empty-san",
			&(struct leaf){ .cn = "fallback",
					.raw_san = empty,
					.raw_len = sizeof(empty),
					.eku = "clientAuth" },
			NULL);
	expect_identity("nul-uri",
			&(struct leaf){ .cn = "fallback",
					.raw_san = nul_uri,
					.raw_len = sizeof(nul_uri),
					.eku = "clientAuth" },
			NULL);
	expect_identity("newline-uri",
			&(struct leaf){ .raw_san = nl_uri,
					.raw_len = sizeof(nl_uri),
					.eku = "clientAuth" },
			NULL);
	/* SANs of other kinds only. */
	expect_identity("ip-only",
			&(struct leaf){ .cn = "fallback",
					.san = "IP:10.0.0.1,email:a@b.c",
					.eku = "clientAuth" },
			NULL);
	/* Nothing at all. */
	expect_identity("nameless", &(struct leaf){ .eku = "clientAuth" },
			NULL);
}

/* A subjectAltName that does not parse: OpenSSL will not even load such
 * a certificate to present it, so the identity function is asked
 * directly (the server's verify callback asks it the same way). */
static void test_unparsable_san(void **state)
{
	static const unsigned char broken[] = { 0x30, 0x05, 0x86, 0x03, 'a' };
	static const unsigned char twice_a[] = { 0x30, 0x05, 0x82, 0x03,
						 'a',  '.',  'b' };
	const char *why = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char id[256];
	X509 *x;

	(void)state;
	x = issue(&(struct leaf){ .cn = "fallback",
				  .raw_san = broken,
				  .raw_len = sizeof(broken),
				  .eku = "clientAuth" },
		  key, pki.ca, pki.ca_key);
	assert_int_equal(tls_cert_identity(x, id, sizeof(id), &why), -EACCES);
	assert_string_equal(why, "its subjectAltName extension does not parse");
	assert_string_equal(id, "");
	X509_free(x);
	/* Two subjectAltName extensions: which one? Neither. */
	x = issue(&(struct leaf){ .cn = "fallback",
				  .san = "DNS:first.example",
				  .raw_san = twice_a,
				  .raw_len = sizeof(twice_a),
				  .eku = "clientAuth" },
		  key, pki.ca, pki.ca_key);
	assert_int_equal(tls_cert_identity(x, id, sizeof(id), &why), -EACCES);
	assert_string_equal(why,
			    "it has more than one subjectAltName extension");
	X509_free(x);
	/* The good case through the same function. */
	x = issue(&(struct leaf){ .cn = "c", .san = "DNS:d.example" }, key,
		  pki.ca, pki.ca_key);
	assert_int_equal(tls_cert_identity(x, id, sizeof(id), &why), 0);
	assert_string_equal(id, "dns:d.example");
	X509_free(x);
	EVP_PKEY_free(key);
}

static void test_client_auth_required(void **state)
{
	(void)state;
	expect_identity("no-eku",
			&(struct leaf){ .cn = "x", .san = "DNS:x.example" },
			NULL);
	expect_identity("server-eku",
			&(struct leaf){ .cn = "x",
					.san = "DNS:x.example",
					.eku = "serverAuth" },
			NULL);
}

static void test_crl(void **state)
{
	static const struct leaf good = { .san = "DNS:good.example",
					  .eku = "clientAuth" };
	long revoked;
	struct run r;

	(void)state;
	revoked = make_leaf("revoked", &good);
	make_leaf("kept", &good);
	make_crl("crl.pem", revoked);
	attempt("revoked.pem", "crl.pem", &r);
	assert_false(r.served);
	attempt("kept.pem", "crl.pem", &r);
	assert_true(r.answered);
	assert_string_equal(r.identity, "dns:good.example");
	/* Without a CRL, the revoked one passes (nothing says otherwise). */
	attempt("revoked.pem", NULL, &r);
	assert_true(r.answered);
}

static char *slurp(const char *name, size_t *len)
{
	FILE *f = fopen(path_of(name), "r");
	char *buf = malloc(16384);

	assert_non_null(f);
	*len = fread(buf, 1, 16384, f);
	fclose(f);
	return buf;
}

static void test_crl_missing_issuer(void **state)
{
	static const struct leaf other = { .san = "DNS:other.example",
					   .eku = "clientAuth",
					   .ca = true };
	struct tls_server_pem pem;
	char err[256], *cert, *ca2, *crl;
	size_t clen, calen, crlen;
	struct server s;
	SSL_CTX *ctx;
	struct run r;

	(void)state;
	/* A CRL file without any CRL is an error, as is a missing one. */
	write_pem("not-a-crl.pem", pki.ca, NULL, NULL);
	ctx = server_ctx("agent.pem", NULL);
	assert_int_equal(tls_ctx_load_crl_file(ctx, path_of("not-a-crl.pem"),
					       err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no CRL"));
	assert_int_equal(tls_ctx_load_crl_file(ctx, path_of("nonexistent.pem"),
					       err, sizeof(err)),
			 -1);
	tls_ctx_free(ctx);

	/* With CRL checking on, a client whose issuer (trusted) has no CRL
	 * loaded is refused: fail closed. */
	make_crl("crl-empty.pem", 0);
	make_leaf("other", &other);
	cert = slurp("agent.pem", &clen);
	ca2 = slurp("ca2.pem", &calen);
	crl = slurp("crl-empty.pem", &crlen);
	pem = (struct tls_server_pem){ cert, cert, ca2,	  crl,
				       clen, clen, calen, crlen };
	ctx = tls_server_ctx_from_pem(&pem, err, sizeof(err));
	if (!ctx)
		fail_msg("from pem: %s", err);
	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	server_start(&s, &r, ctx);
	dial(&r, s.addr, "other.pem");
	assert_false(r.served);
	hang_up(&r);
	server_stop(&s);
	free(cert);
	free(ca2);
	free(crl);
}

static void test_server_auth_required(void **state)
{
	struct server s;
	struct run r;

	(void)state;
	make_leaf("client", &(struct leaf){ .san = "DNS:c.example",
					    .eku = "clientAuth" });
	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	/* The agent's certificate lacks serverAuth: the client refuses. */
	server_start(&s, &r, server_ctx("agent-noeku.pem", NULL));
	dial(&r, s.addr, "client.pem");
	assert_false(r.served);
	assert_false(r.answered);
	hang_up(&r);
	server_stop(&s);
}

/* verify_name "": the chain and usage at the handshake, the name after
 * it (the mount learns which name to expect from the agent). */
static void test_name_after_handshake(void **state)
{
	static const struct leaf wild = { .cn = "w",
					  .san = "DNS:*.nodes.example",
					  .eku = "serverAuth" };
	struct server s;
	struct run r;

	(void)state;
	make_leaf("client", &(struct leaf){ .san = "DNS:c.example",
					    .eku = "clientAuth" });
	make_leaf("agent-wild", &wild);
	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	server_start(&s, &r, server_ctx("agent.pem", NULL));
	/* A name the certificate does not carry is no obstacle now... */
	dial_verify(&r, s.addr, "client.pem", "");
	assert_true(r.answered);
	assert_non_null(r.client);
	/* ...but the check after it finds exactly the names it carries. */
	assert_int_equal(h2_conn_peer_has_name(r.client, "localhost"), 0);
	assert_int_equal(h2_conn_peer_has_name(r.client, "n1"), -EACCES);
	assert_int_equal(h2_conn_peer_has_name(r.client, "127.0.0.1"), -EACCES);
	assert_int_equal(h2_conn_peer_has_name(r.client, ""), -EACCES);
	hang_up(&r);
	/* The chain is still checked: another CA's agent is refused. */
	server_stop(&s);
	r.base = event_base_new();
	server_start(&s, &r, server_ctx("agent-noeku.pem", NULL));
	dial_verify(&r, s.addr, "client.pem", "");
	assert_false(r.answered);
	hang_up(&r);
	server_stop(&s);
	/* A wildcard certificate never passes for one node's name. */
	r.base = event_base_new();
	server_start(&s, &r, server_ctx("agent-wild.pem", NULL));
	dial_verify(&r, s.addr, "client.pem", "");
	assert_true(r.answered);
	assert_int_equal(h2_conn_peer_has_name(r.client, "n1.nodes.example"),
			 -EACCES);
	hang_up(&r);
	server_stop(&s);
}

static void test_reload(void **state)
{
	struct run first, other;
	struct tls_server_pem pem;
	struct server s;
	char err[256], *cert, *ca2;
	size_t clen, calen;
	SSL_CTX *next;

	(void)state;
	make_leaf("first", &(struct leaf){ .san = "DNS:first.example",
					   .eku = "clientAuth" });
	make_leaf("second", &(struct leaf){ .san = "DNS:second.example",
					    .eku = "clientAuth",
					    .ca = true });
	memset(&first, 0, sizeof(first));
	first.base = event_base_new();
	server_start(&s, &first, server_ctx("agent.pem", NULL));

	/* A client of the first CA connects and is served. */
	dial(&first, s.addr, "first.pem");
	assert_true(first.answered);

	/* The reload: only the second CA's clients from now on. */
	cert = slurp("agent.pem", &clen);
	ca2 = slurp("ca2.pem", &calen);
	pem = (struct tls_server_pem){ cert, cert, ca2,	  NULL,
				       clen, clen, calen, 0 };
	next = tls_server_ctx_from_pem(&pem, err, sizeof(err));
	if (!next)
		fail_msg("from pem: %s", err);
	h2_listener_set_tls(s.l, next);
	tls_ctx_free(s.ctx); /* the open connection keeps its own */
	s.ctx = next;

	/* The open connection goes on... */
	first.requests = 1;
	cl_request(&first);
	spin(&first);
	assert_true(first.answered);
	assert_string_equal(first.body, "dns:first.example");

	/* ... a new one of the first CA is refused, of the second served. */
	other.base = first.base;
	dial(&other, s.addr, "first.pem");
	assert_false(other.answered);
	hang_up(&other);
	dial(&other, s.addr, "second.pem");
	assert_true(other.answered);
	assert_string_equal(other.body, "dns:second.example");
	hang_up(&other);

	hang_up(&first);
	server_stop(&s);
	free(cert);
	free(ca2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typed_identities),
		cmocka_unit_test(test_refused_names),
		cmocka_unit_test(test_unparsable_san),
		cmocka_unit_test(test_client_auth_required),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_crl_missing_issuer),
		cmocka_unit_test(test_server_auth_required),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_name_after_handshake),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
