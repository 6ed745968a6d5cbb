/*
 * The escape of `execfs exec -t` (see exec_escape.h).
 */
#include "exec_escape.h"

void exec_escape_init(struct exec_escape *e, int byte)
{
	e->byte = byte;
	e->state = EXEC_ESC_LINE_START;
}

int exec_escape_feed(struct exec_escape *e, const char *in, size_t n, char *out,
		     size_t room, size_t *outlen)
{
	size_t i, k = 0;

	*outlen = 0;
	/* At most one byte was held back: n + 1 is the most that comes out. */
	if (room < n + 1)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		switch (e->state) {
		case EXEC_ESC_LINE_START:
			if (e->byte >= 0 && c == e->byte) {
				e->state = EXEC_ESC_PENDING;
				continue;
			}
			break;
		case EXEC_ESC_PENDING:
			if (c == '.') {
				*outlen = k;
				e->state = EXEC_ESC_MID_LINE;
				return 1;
			}
			/* ~~ sends one ~; ~x sends both. */
			out[k++] = (char)e->byte;
			e->state = EXEC_ESC_MID_LINE;
			if (c == (unsigned char)e->byte)
				continue;
			break;
		case EXEC_ESC_MID_LINE:
			break;
		}
		out[k++] = (char)c;
		e->state = (c == '\r' || c == '\n') ? EXEC_ESC_LINE_START :
						      EXEC_ESC_MID_LINE;
	}
	*outlen = k;
	return 0;
}
