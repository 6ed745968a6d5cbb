/*
 * Signal names (see signame.h). The table is glibc's (sigabbrev_np), plus
 * the aliases kill(1) accepts and the real-time signals, whose numbers
 * glibc chooses at run time.
 */
#include "signame.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIGNAME_MAX 16

static const struct {
	const char *name;
	int sig;
} aliases[] = {
	{ "IOT", SIGABRT },
	{ "CLD", SIGCHLD },
	{ "POLL", SIGIO },
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A decimal in [lo, hi] filling s[0..len), or -1. */
static int parse_num(const char *s, size_t len, int lo, int hi)
{
	int v = 0;
	size_t i;

	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (name in upper case). */
static int parse_rt(const char *name, size_t len)
{
	int n, span = SIGRTMAX - SIGRTMIN;

	if (len < 5)
		return -1;
	if (!strncmp(name, "RTMIN", 5)) {
		if (len == 5)
			return SIGRTMIN;
		if (name[5] != '+')
			return -1;
		n = parse_num(name + 6, len - 6, 0, span);
		return n < 0 ? -1 : SIGRTMIN + n;
	}
	if (!strncmp(name, "RTMAX", 5)) {
		if (len == 5)
			return SIGRTMAX;
		if (name[5] != '-')
			return -1;
		n = parse_num(name + 6, len - 6, 0, span);
		return n < 0 ? -1 : SIGRTMAX - n;
	}
	return -1;
}

int signal_parse(const char *s, size_t len)
{
	char name[SIGNAME_MAX + 1];
	const char *abbrev;
	size_t i;
	int sig;

	while (len && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (len && s[0] >= '0' && s[0] <= '9') {
		sig = parse_num(s, len, 1, SIGRTMAX);
		return sig < 0 ? -EINVAL : sig;
	}
	if (len >= 3 && !strncasecmp(s, "SIG", 3)) {
		s += 3;
		len -= 3;
	}
	if (len == 0 || len > SIGNAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!s[i])
			return -EINVAL;
		name[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 'a' + 'A' :
							 s[i];
	}
	name[len] = '\0';
	for (sig = 1; sig < SIGRTMIN; sig++) {
		abbrev = sigabbrev_np(sig);
		if (abbrev && !strcmp(abbrev, name))
			return sig;
	}
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(aliases[i].name, name))
			return aliases[i].sig;
	sig = parse_rt(name, len);
	return sig < 0 ? -EINVAL : sig;
}

const char *signal_abbrev(int sig, char *buf, size_t len)
{
	const char *abbrev;

	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		if (sig == SIGRTMIN)
			snprintf(buf, len, "RTMIN");
		else
			snprintf(buf, len, "RTMIN+%d", sig - SIGRTMIN);
		return buf;
	}
	abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	snprintf(buf, len, "%s", abbrev ? abbrev : "UNKNOWN");
	return buf;
}
