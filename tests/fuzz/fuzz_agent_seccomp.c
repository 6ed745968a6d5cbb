/*
 * libFuzzer target: a container's seccomp profile as the agent reads it
 * from runc's state.json (first byte even) or an OCI config.json (odd).
 * Whatever decodes must compile or be refused with a reason, and a
 * compiled program must be a well-formed one (seccomp_prog_check).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "seccomp_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct seccomp_prog *prog;
	struct seccomp_profile *p = NULL;
	char err[512];
	json_t *doc;
	int rc;

	if (size < 1)
		return 0;
	doc = json_loadb((const char *)data + 1, size - 1,
			 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!doc)
		return 0;
	err[0] = '\0';
	rc = data[0] & 1 ? seccomp_profile_from_oci(doc, &p, err, sizeof(err)) :
			   seccomp_profile_from_runc(doc, &p, err, sizeof(err));
	json_decref(doc);
	if (rc < 0 && (p || !err[0]))
		abort(); /* a refusal says why and leaves nothing */
	/* Compiling thousands of rules is slow, not interesting. */
	if (p && seccomp_profile_rules(p) <= 256) {
		err[0] = '\0';
		rc = seccomp_profile_program(p, &prog, err, sizeof(err));
		if (rc < 0 && !err[0])
			abort();
		if (rc == 0 &&
		    seccomp_prog_check(prog, seccomp_prog_size(prog)))
			abort();
	}
	seccomp_profile_free(p);
	return 0;
}
