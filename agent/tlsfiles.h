/*
 * The agent's TLS files as one value, for a reload: the certificate chain,
 * its key, the client CAs and the optional CRLs, read together into one
 * blob by the process allowed to read them (the root monitor: the key is
 * often root's alone), carried as bytes (over the privsep channel), and
 * turned into a server context by the process that serves TLS (the
 * worker). The blob holds a private key: wipe it (tls_files_free) and
 * never log it.
 *
 *   blob  u32 flags (TLS_FILES_CRL: a CRL follows), then for the
 *         certificate, the key, the client CAs and the CRL each
 *         u32 length + bytes (the CRL's length is 0 without the flag)
 */
#ifndef EXECFS_AGENT_TLSFILES_H
#define EXECFS_AGENT_TLSFILES_H

#include <stddef.h>
#include <stdint.h>

typedef struct ssl_ctx_st SSL_CTX;

/* The files as --cert, --key, --client-ca and --crl (NULL: none) name
 * them. */
struct tls_paths {
	const char *cert, *key, *client_ca, *crl;
};

/* A file above this is refused (a CRL of a large CA is some MiB). */
#define TLS_FILES_FILE_MAX (8u * 1024 * 1024)
/* The largest blob: the four files at their cap and the framing. */
#define TLS_FILES_BLOB_MAX (4 * TLS_FILES_FILE_MAX + 20)
#define TLS_FILES_CRL 0x1u

/* Read the files into a malloc'ed blob (*blob, *len). 0, or -errno with
 * the file and the reason in err. */
int tls_files_read(const struct tls_paths *p, uint8_t **blob, size_t *len,
		   char *err, size_t errlen);

/*
 * The server context the blob describes, as tls_server_ctx_from_pem()
 * builds it, refused when it does not decode exactly, does not load, or
 * its certificate has expired. desc receives tls_ctx_describe()'s text
 * and *not_after its expiry. NULL with the reason in err.
 */
SSL_CTX *tls_files_ctx(const uint8_t *blob, size_t len, char *desc,
		       size_t desclen, long long *not_after, char *err,
		       size_t errlen);

/* Wipe and free a blob; NULL is a no-op. */
void tls_files_free(uint8_t *blob, size_t len);

#endif
