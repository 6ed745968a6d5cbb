/*
 * libFuzzer target: the rest of a container's confinement as the agent
 * reads it. The first byte picks the parser: 0 runc's state.json config,
 * 1 an OCI config.json (both for confine.h and privileged.h), 2 the text
 * of a /proc/PID/limits file. What decodes must pass confine_check() (the
 * check a receiving process makes), and a refusal must say why.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "confine.h"
#include "privileged.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct privileged_host host;
	static int host_done;
	struct confine cf;
	char err[512];
	json_t *doc;
	int rc;

	if (size < 1)
		return 0;
	if (!host_done) {
		privileged_host_init(&host);
		host_done = 1;
	}
	err[0] = '\0';
	if (data[0] % 3 == 2) {
		memset(&cf, 0, sizeof(cf));
		rc = confine_rlimits_from_proc(&cf, (const char *)data + 1,
					       size - 1, err, sizeof(err));
	} else {
		doc = json_loadb((const char *)data + 1, size - 1,
				 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
				 NULL);
		if (!doc)
			return 0;
		if (data[0] % 3 == 0) {
			rc = confine_from_runc(doc, &cf, err, sizeof(err));
			privileged_from_runc(doc, &host);
		} else {
			rc = confine_from_oci(doc, &cf, err, sizeof(err));
			privileged_from_oci(doc, &host);
		}
		json_decref(doc);
	}
	if (rc < 0 && !err[0])
		abort();
	if (rc == 0 && confine_check(&cf) < 0)
		abort();
	return 0;
}
