/*
 * Reading the agent's TLS files into one blob and building a server
 * context from it (tlsfiles.h). The decoder is strict (lengths must add up
 * to the blob exactly) although its input comes from our own monitor: it
 * is the one place that says what the blob is.
 */
#include "tlsfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/h2.h"
#include "readfile.h"

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int tls_files_read(const struct tls_paths *p, uint8_t **blob, size_t *len,
		   char *err, size_t errlen)
{
	const char *paths[4] = { p->cert, p->key, p->client_ca, p->crl };
	static const char *const what[4] = { "--cert", "--key", "--client-ca",
					     "--crl" };
	char *text[4] = { NULL, NULL, NULL, NULL };
	size_t tlen[4] = { 0, 0, 0, 0 }, total = 4, off, i;
	uint8_t *b = NULL;
	int rc = 0;

	for (i = 0; i < 4 && !rc; i++) {
		if (!paths[i])
			continue;
		rc = read_file_at(AT_FDCWD, paths[i], TLS_FILES_FILE_MAX,
				  &text[i], &tlen[i], NULL);
		if (rc < 0)
			snprintf(err, errlen, "%s %s: %s", what[i], paths[i],
				 strerror(-rc));
		if (!rc && !tlen[i]) {
			snprintf(err, errlen, "%s %s: empty", what[i],
				 paths[i]);
			rc = -EINVAL;
		}
	}
	if (!p->cert || !p->key || !p->client_ca) {
		snprintf(err, errlen,
			 "--cert, --key and --client-ca are needed");
		rc = -EINVAL;
	}
	if (rc < 0)
		goto out;
	for (i = 0; i < 4; i++)
		total += 4 + tlen[i];
	b = malloc(total);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	put_u32(b, p->crl ? TLS_FILES_CRL : 0);
	for (i = 0, off = 4; i < 4; i++) {
		put_u32(b + off, (uint32_t)tlen[i]);
		if (tlen[i])
			memcpy(b + off + 4, text[i], tlen[i]);
		off += 4 + tlen[i];
	}
	*blob = b;
	*len = total;
out:
	for (i = 0; i < 4; i++)
		if (text[i]) {
			OPENSSL_cleanse(text[i], tlen[i]);
			free(text[i]);
		}
	return rc;
}

/* The four parts of a blob, pointing into it. PEM_read_bio needs no NUL:
 * each part is handed over with its length. */
static int blob_decode(const uint8_t *blob, size_t len,
		       struct tls_server_pem *pem)
{
	const char **parts[4] = { &pem->cert, &pem->key, &pem->client_ca,
				  &pem->crl };
	size_t *lens[4] = { &pem->cert_len, &pem->key_len, &pem->client_ca_len,
			    &pem->crl_len };
	uint32_t flags, n;
	size_t off = 4, i;

	if (len < 4 || len > TLS_FILES_BLOB_MAX)
		return -EINVAL;
	flags = get_u32(blob);
	if (flags & ~TLS_FILES_CRL)
		return -EINVAL;
	memset(pem, 0, sizeof(*pem));
	for (i = 0; i < 4; i++) {
		if (len - off < 4)
			return -EINVAL;
		n = get_u32(blob + off);
		off += 4;
		if (n > TLS_FILES_FILE_MAX || n > len - off)
			return -EINVAL;
		/* Every part but an absent CRL holds something. */
		if ((i < 3 || (flags & TLS_FILES_CRL)) != (n > 0))
			return -EINVAL;
		*parts[i] = n ? (const char *)blob + off : NULL;
		*lens[i] = n;
		off += n;
	}
	return off == len ? 0 : -EINVAL;
}

SSL_CTX *tls_files_ctx(const uint8_t *blob, size_t len, char *desc,
		       size_t desclen, long long *not_after, char *err,
		       size_t errlen)
{
	struct tls_server_pem pem;
	SSL_CTX *ctx;
	int rc;

	if (blob_decode(blob, len, &pem) < 0) {
		snprintf(err, errlen, "malformed TLS files from the monitor");
		return NULL;
	}
	ctx = tls_server_ctx_from_pem(&pem, err, errlen);
	if (!ctx)
		return NULL;
	rc = tls_ctx_describe(ctx, desc, desclen, not_after);
	if (rc < 0) {
		snprintf(err, errlen, "certificate %s: %s", desc,
			 rc == -EKEYEXPIRED ? "expired" : strerror(-rc));
		tls_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void tls_files_free(uint8_t *blob, size_t len)
{
	if (!blob)
		return;
	OPENSSL_cleanse(blob, len);
	free(blob);
}
