/*
 * The agent's status documents (see statusdoc.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "execfs/errname.h"
#include "execfs/proto.h"
#include "statusdoc.h"

/* Length of the well-formed UTF-8 character at s (n bytes left) that is
 * printable (no C1 control, no surrogate, no overlong form), or 0. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t k, need;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	need = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < need)
		return 0;
	cp = s[0] & (0x7f >> need);
	for (k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((need == 2 && cp < 0xa0) || (need == 3 && cp < 0x800) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* Invisible or reordering: zero-width and direction marks, line and
	 * paragraph separators, embeddings and isolates, word joiners, BOM.
	 * They can make a message read as something it is not. */
	if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff)
		return 0;
	return need;
}

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
			k = utf8_printable(s + i, len - i);
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

static int errno_from_http(int http)
{
	switch (http) {
	case 400:
		return EINVAL;
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 409:
		return EBUSY;
	default:
		return EIO;
	}
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
					 errno_from_http(http);
		if (msg)
			statusdoc_printable(out->message, sizeof(out->message),
					    msg, strlen(msg));
		else
			snprintf(out->message, sizeof(out->message),
				 "agent answered %d", http);
	}
	json_decref(doc);
}
