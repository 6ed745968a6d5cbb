/*
 * libFuzzer target: the decoders of an upgrade's two documents
 * (agent/handover.c). The worker's document is written by a worker, which
 * parses network input, and read by the next worker; the monitor's state
 * is read by the monitor's next image. The first byte picks which decoder
 * and how many fds the worker's document claims to come with; the rest is
 * the document. One that decodes must encode back to the very same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handover_monitor m;
	struct handover_doc d;
	uint8_t *out = NULL;
	size_t len = 0, nfds;
	char err[256];

	if (size < 1)
		return 0;
	nfds = data[0] & 0x7f;
	if (data[0] & 0x80) {
		if (handover_monitor_decode(data + 1, size - 1, &m, err,
					    sizeof(err)) == 0) {
			if (handover_monitor_encode(&m, &out, &len) != 0 ||
			    len != size - 1 || memcmp(out, data + 1, len))
				abort();
			free(out);
			handover_monitor_release(&m);
		}
		return 0;
	}
	if (handover_decode(data + 1, size - 1, nfds, &d, err, sizeof(err)) ==
	    0) {
		if (handover_encode(&d, nfds, &out, &len) != 0 ||
		    len != size - 1 || memcmp(out, data + 1, len))
			abort();
		free(out);
		handover_doc_release(&d);
	}
	return 0;
}
