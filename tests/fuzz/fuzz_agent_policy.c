/*
 * libFuzzer target: the agent's policy file (docs/SECURITY.md), parsed by
 * the unprivileged worker. A policy that parses is then asked about a few
 * principals and containers (plain, privileged, with labels, the node
 * pseudo-container's metadata), and its run_as about users resolved to
 * root and to 1000: no answer may crash, and a denial always comes with a
 * reason.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const who[] = { "uid:0",
					   "uid:1000",
					   "dns:ops",
					   "cn:ops",
					   "uri:spiffe://execfs.test/client",
					   "" };
	static const char *const users[] = { NULL, "root", "0:0", "app" };
	struct container c[3];
	struct policy *p;
	char err[256], why[256];
	size_t i, k;

	p = policy_parse((const char *)data, size, err, sizeof(err));
	if (!p)
		return 0;
	memset(c, 0, sizeof(c));
	for (k = 0; k < 3; k++) {
		c[k].id = "c1";
		c[k].namespace = k == 2 ? "kube-system" : "default";
		c[k].pod = "web-1";
		c[k].name = "app";
		c[k].privileged = k == 1;
		c[k].labels = json_pack("{s:s, s:s}", "app", "web",
					POLICY_DISABLE_ANNOTATION,
					k == 2 ? "true" : "false");
	}
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++)
		for (k = 0; k < 3; k++) {
			struct policy_query q = { who[i], &c[k],
						  users[(i + k) % 4],
						  i * 1000 };
			char **run_as = NULL;
			int rc;

			why[0] = '\0';
			rc = policy_decide(p, &q, &run_as, why, sizeof(why));
			if (rc < 0 && !why[0])
				abort();
			/* Then as the user resolved to root and to 1000. */
			if (rc == 0 &&
			    policy_run_as_allows((const char *const *)run_as,
						 q.run_as, 0, 0, why,
						 sizeof(why)) < 0 &&
			    !why[0])
				abort();
			if (rc == 0)
				policy_run_as_allows(
					(const char *const *)run_as, q.run_as,
					1000, 1000, why, sizeof(why));
			policy_run_as_free(run_as);
		}
	for (k = 0; k < 3; k++)
		json_decref(c[k].labels);
	policy_free(p);
	return 0;
}
