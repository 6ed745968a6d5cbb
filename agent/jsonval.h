/*
 * Small checked reads for the agent's JSON decoders (the runtime's state
 * files, the policy): a string that is a C string, and a readable reason
 * for a refusal in one call.
 */
#ifndef EXECFS_AGENT_JSONVAL_H
#define EXECFS_AGENT_JSONVAL_H

#include <jansson.h>
#include <stddef.h>

/* v's text when v is a string without a NUL inside, else NULL. */
const char *json_cstr(const json_t *v);

/* Write the reason (printf format) into err and return -EINVAL. */
int json_refuse(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
