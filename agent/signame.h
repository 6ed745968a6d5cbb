/*
 * Signal names as clients send them on a session's signal stream: "TERM",
 * "SIGTERM", "term", "15", "RTMIN+3" (docs/PROTOCOL.md).
 */
#ifndef EXECFS_AGENT_SIGNAME_H
#define EXECFS_AGENT_SIGNAME_H

#include <stddef.h>

/*
 * The signal named by s[0..len) (surrounding blanks and a final newline
 * allowed): a name with or without "SIG", in any case, or a decimal number
 * from 1 to SIGRTMAX. The number, or -EINVAL.
 */
int signal_parse(const char *s, size_t len);

/* "TERM" for SIGTERM, "RTMIN+3", or "UNKNOWN". */
const char *signal_abbrev(int sig, char *buf, size_t len);

#endif
