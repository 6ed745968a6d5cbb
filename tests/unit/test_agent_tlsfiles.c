/*
 * Unit tests for agent/tlsfiles.c: the files a reload reads (missing,
 * empty, absent options refused with the file's name), and the blob's
 * decoder, which refuses anything but an exact framing before OpenSSL sees
 * a byte. Building a real context from good files is shown end to end by
 * tests/integration/test_deploy_reload.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tlsfiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/execfs-tlsfiles-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *at(const char *name)
{
	static char paths[16][256];
	static int next;
	char *p = paths[next++ % 16];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void test_read(void **state)
{
	struct tls_paths p = { at("c"), at("k"), at("ca"), NULL };
	char err[512];
	uint8_t *blob = NULL;
	size_t len = 0;
	uint32_t v;

	put("c", "CERT");
	put("k", "KEY");
	put("ca", "CA");
	put("empty", "");
	assert_int_equal(tls_files_read(&p, &blob, &len, err, sizeof(err)), 0);
	/* flags, then four length-prefixed parts, the CRL empty */
	assert_int_equal(len, 4 + 4 + 4 + 4 + 3 + 4 + 2 + 4);
	memcpy(&v, blob, 4);
	assert_int_equal(v, 0);
	assert_memory_equal(blob + 8, "CERT", 4);
	tls_files_free(blob, len);

	p.crl = at("missing");
	assert_true(tls_files_read(&p, &blob, &len, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "--crl"));
	assert_non_null(strstr(err, "missing"));
	p.crl = NULL;
	p.key = at("empty");
	assert_true(tls_files_read(&p, &blob, &len, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "--key"));
	assert_non_null(strstr(err, "empty"));
	p.key = NULL;
	assert_true(tls_files_read(&p, &blob, &len, err, sizeof(err)) < 0);
}

static void refused(const uint8_t *b, size_t len)
{
	char desc[256], err[256] = "";

	assert_null(tls_files_ctx(b, len, desc, sizeof(desc), NULL, err,
				  sizeof(err)));
	assert_non_null(strstr(err, "malformed"));
}

static void test_decode(void **state)
{
	struct tls_paths p = { at("c"), at("k"), at("ca"), at("crl") };
	char err[512];
	uint8_t *blob, *copy;
	size_t len, i;
	uint32_t v;

	put("crl", "CRL");
	assert_int_equal(tls_files_read(&p, &blob, &len, err, sizeof(err)), 0);
	copy = malloc(len + 1);
	assert_non_null(copy);
	/* Every cut. */
	for (i = 0; i < len; i++)
		refused(blob, i);
	/* A byte more. */
	memcpy(copy, blob, len);
	copy[len] = 0;
	refused(copy, len + 1);
	/* An unknown flag; the CRL flag off with a CRL there. */
	v = 0x2;
	memcpy(copy, &v, 4);
	refused(copy, len);
	v = 0;
	memcpy(copy, &v, 4);
	refused(copy, len);
	/* A length running past the end. */
	memcpy(copy, blob, len);
	v = 0xffffff;
	memcpy(copy + 4, &v, 4);
	refused(copy, len);
	/* A well-framed blob of garbage PEM: OpenSSL says no, not the
	 * decoder. */
	{
		char desc[256], why[256] = "";

		assert_null(tls_files_ctx(blob, len, desc, sizeof(desc), NULL,
					  why, sizeof(why)));
		assert_null(strstr(why, "malformed"));
	}
	free(copy);
	tls_files_free(blob, len);
	tls_files_free(NULL, 0);
	unlink(at("c"));
	unlink(at("k"));
	unlink(at("ca"));
	unlink(at("crl"));
	unlink(at("empty"));
	rmdir(dir);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
