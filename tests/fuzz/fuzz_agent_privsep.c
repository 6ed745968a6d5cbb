/*
 * libFuzzer target: the privsep message decoder, which the root monitor
 * runs on whatever the unprivileged worker sends (and the worker on the
 * monitor's answers). The first byte picks how many fds the datagram
 * claims to carry; the rest is the datagram. A message that decodes must
 * encode back to the very same bytes: the decoder accepts exactly the
 * encoder's language, nothing looser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int reencode(const struct privsep_msg *m, uint8_t **out, size_t *len)
{
	switch (m->type) {
	case PRIVSEP_SPAWN:
		return privsep_encode_spawn(m->id, &m->spec, out, len);
	case PRIVSEP_SIGNAL:
		return privsep_encode_signal(m->id, m->token, m->num, m->flags,
					     out, len);
	case PRIVSEP_PING:
	case PRIVSEP_PONG:
		return privsep_encode_ping(m->type, m->id, out, len);
	case PRIVSEP_LOGFILE:
		return privsep_encode_logfile(out, len);
	case PRIVSEP_HANDOVER:
		return privsep_encode_handover(out, len);
	case PRIVSEP_HANDOVER_FDS:
		return privsep_encode_handover_fds(m->flags, out, len);
	case PRIVSEP_HANDOVER_REFUSED:
		return privsep_encode_handover_refused(m->id, out, len);
	case PRIVSEP_HANDOVER_DATA:
	case PRIVSEP_INVENTORY:
	case PRIVSEP_POLICY:
	case PRIVSEP_TLS:
		return privsep_encode_chunk(m->type, m->data, m->len,
					    m->flags & PRIVSEP_LAST, out, len);
	case PRIVSEP_SPAWNED:
		return privsep_encode_spawned(m->id, m->token, m->num, m->flags,
					      out, len);
	case PRIVSEP_SPAWN_FAILED:
		return privsep_encode_spawn_failed(m->id, m->num, m->message,
						   out, len);
	case PRIVSEP_EXITED:
		return privsep_encode_exited(m->token, m->num, out, len);
	case PRIVSEP_SIGNALED:
		return privsep_encode_signaled(m->id, m->token, m->num,
					       m->target,
					       m->flags & PRIVSEP_SIGNALED_FG,
					       out, len);
	}
	abort(); /* decode accepted a type it does not know */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not real fds: decode only counts them, and release skips -1. */
	const int fds[PRIVSEP_MAX_FDS + 1] = { -1, -1, -1, -1, -1, -1 };
	struct privsep_msg m;
	uint8_t *again;
	size_t nfds, len;
	char err[256];

	if (size < 1)
		return 0;
	nfds = data[0] % (PRIVSEP_MAX_FDS + 2);
	if (privsep_msg_decode(data + 1, size - 1, fds, nfds, &m, err,
			       sizeof(err)) < 0)
		return 0;
	if (reencode(&m, &again, &len) < 0)
		abort(); /* decoded, yet out of the encoder's bounds */
	if (len != size - 1 || memcmp(again, data + 1, len))
		abort(); /* two encodings of one message */
	free(again);
	privsep_msg_release(&m);
	return 0;
}
