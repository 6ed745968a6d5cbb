/*
 * The agent's status documents (see statusdoc.h).
 */
#include "statusdoc.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "execfs/errname.h"
#include "execfs/proto.h"
#include "execfs/text.h"

char *statusdoc_printable(char *dst, size_t cap, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k;

	if (!cap)
		return dst;
	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			k = 1;
		} else {
			k = text_utf8_printable(s + i, len - i);
			if (!k) {
				if (o + 1 >= cap)
					break;
				dst[o++] = '?';
				i++;
				continue;
			}
		}
		if (o + k >= cap)
			break;
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
	return dst;
}

/* A signal name as the agent abbreviates it: "KILL", "RTMIN+3". */
static bool signame_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > STATUSDOC_SIGNAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '+' ||
		      name[i] == '-'))
			return false;
	return true;
}

void statusdoc_parse(const char *body, size_t len, int http,
		     struct statusdoc *out)
{
	const char *state = NULL, *msg = NULL, *ename = NULL, *signame = NULL;
	json_int_t code = 0, signo = 0;
	json_error_t jerr;
	json_t *doc = NULL;

	memset(out, 0, sizeof(*out));
	if (body)
		doc = json_loadb(body, len, 0, &jerr);
	/* "state" may be missing from an error document (the agent's 404 for
	 * an unknown session has only a message): still a failure. */
	out->valid = doc &&
		     json_unpack(doc, "{s?s, s?I, s?I, s?s, s?s, s?s}",
				 EXECFS_J_STATE, &state, EXECFS_J_CODE, &code,
				 EXECFS_J_SIGNAL, &signo, EXECFS_J_SIGNAME,
				 &signame, EXECFS_J_ERRNO, &ename,
				 EXECFS_J_MESSAGE, &msg) == 0;
	if (!out->valid)
		state = msg = ename = signame = NULL;
	if (http == 200 && state && strcmp(state, "exited") == 0) {
		out->state = STATUSDOC_EXITED;
		out->code = code;
	} else if (http == 200 && state && strcmp(state, "killed") == 0) {
		out->state = STATUSDOC_KILLED;
		out->signo = signo > 0 && signo < 256 ? (int)signo : 0;
		if (signame && signame_valid(signame))
			snprintf(out->signame, sizeof(out->signame), "%s",
				 signame);
	} else {
		out->state = STATUSDOC_FAILED;
		out->err = ename       ? errno_from_name(ename) :
			   http == 200 ? EIO :
					 errno_from_http_status(http);
		if (msg)
			statusdoc_printable(out->message, sizeof(out->message),
					    msg, strlen(msg));
		else
			snprintf(out->message, sizeof(out->message),
				 "agent answered %d", http);
	}
	json_decref(doc);
}
