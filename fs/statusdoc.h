/*
 * The agent's status documents (docs/PROTOCOL.md, "Sessions"): the body of
 * a session's status stream, read into what the status and wait files
 * show. Everything in it comes from the network, so what is kept is
 * checked and made safe to print: a message that reaches `status`, a
 * terminal or the log is one line of printable text.
 */
#ifndef EXECFS_FS_STATUSDOC_H
#define EXECFS_FS_STATUSDOC_H

#include <stdbool.h>
#include <stddef.h>

/* The longest message kept, in bytes: "failed: " + this + "\n" fits the
 * 512-byte status line. */
#define STATUSDOC_MESSAGE_MAX 400
#define STATUSDOC_SIGNAME_MAX 15

enum statusdoc_state {
	STATUSDOC_EXITED,
	STATUSDOC_KILLED,
	STATUSDOC_FAILED,
};

struct statusdoc {
	enum statusdoc_state state;
	long long code; /* EXITED */
	int signo; /* KILLED */
	char signame[STATUSDOC_SIGNAME_MAX + 1]; /* KILLED: "" if absent/bad */
	int err; /* FAILED: positive errno for the ctl writer */
	char message[STATUSDOC_MESSAGE_MAX + 1]; /* FAILED: printable text */
	bool valid; /* the body was a well-formed document */
};

/*
 * Read body (len bytes, NULL for none) that came with HTTP status http.
 * A 200 with "exited"/"killed" is an end; anything else (an error
 * document, a malformed body, another state) is a failure whose errno
 * comes from the document's "errno" name or else from the HTTP status
 * (errno_from_http_status).
 * Never fails: out always says something.
 */
void statusdoc_parse(const char *body, size_t len, int http,
		     struct statusdoc *out);

/* Copy src into dst (cap bytes with the NUL) as printable text: ASCII
 * controls and bytes that are not well-formed UTF-8 (or that encode a C1
 * control, or an invisible or direction-changing character such as U+202E)
 * become '?'; cut at a character boundary. Returns dst. */
char *statusdoc_printable(char *dst, size_t cap, const char *src, size_t len);

#endif
