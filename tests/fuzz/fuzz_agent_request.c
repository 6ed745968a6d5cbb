/*
 * libFuzzer target: the agent's exec request decoder, which reads the body
 * any client sends on a session's status stream.
 */
#include <stddef.h>
#include <stdint.h>

#include "exec_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exec_spec req;
	char err[256];

	if (exec_spec_from_json((const char *)data, size, &req, err,
				sizeof(err)) == 0)
		exec_spec_release(&req);
	session_id_valid(size > 32 ? (const char *)data : "");
	return 0;
}
