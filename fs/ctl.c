/*
 * ctl parsing: the shell-like word splitter and the verb table. Kept free
 * of FUSE and network code so it is unit-tested (tests/unit/test_fs_ctl.c)
 * and fuzzable on its own; input comes straight from a user's write(2),
 * so every path is bounded by the line length and the word cap.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "execfs/proto.h"
#include "execfs/ctl.h"
#include "execfs/numparse.h"

static const struct {
	const char *name;
	enum ctl_verb verb;
	size_t min_args, max_args;
} ctl_verbs[] = {
	{ "exec", CTL_EXEC, 1, EXECFS_MAX_ARGS },
	{ "tty", CTL_TTY, 0, 2 },
	{ "env", CTL_ENV, 1, 1 },
	{ "cwd", CTL_CWD, 1, 1 },
	{ "user", CTL_USER, 1, 1 },
	{ "merge", CTL_MERGE, 0, 0 },
	{ "nice", CTL_NICE, 1, 1 },
	{ "signal", CTL_SIGNAL, 1, 1 },
	{ "kill", CTL_KILL, 0, 0 },
	{ "resize", CTL_RESIZE, 2, 2 },
	{ "eof", CTL_EOF, 0, 0 },
	{ "forget", CTL_FORGET, 0, 0 },
};

#define NVERBS (sizeof(ctl_verbs) / sizeof(ctl_verbs[0]))

void ctl_argv_free(char **argv)
{
	char **p;

	if (!argv)
		return;
	for (p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* Append word (len bytes) to the growing argv; one cleanup path in caller. */
static int argv_push(char ***argvp, size_t *argc, size_t *alloc,
		     const char *word, size_t len)
{
	char *w;

	if (*argc + 2 > *alloc) {
		size_t n = *alloc ? *alloc * 2 : 8;
		char **nv = realloc(*argvp, n * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*argvp = nv;
		*alloc = n;
	}
	w = malloc(len + 1); /* owned by argv */
	if (!w)
		return -ENOMEM;
	memcpy(w, word, len);
	w[len] = '\0';
	(*argvp)[(*argc)++] = w;
	(*argvp)[*argc] = NULL;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int ctl_split(const char *line, size_t len, size_t max_words, char ***argvp)
{
	enum { OUT, WORD, SQUOTE, DQUOTE } state = OUT;
	char **argv = NULL; /* owned until handed to *argvp */
	size_t argc = 0, alloc = 0, wlen = 0, i;
	char *word;
	int rc = 0;

	/* A word is never longer than the line. */
	word = malloc(len + 1);
	if (!word)
		return -ENOMEM;
	/* Always hand back an array, even for a blank line. */
	alloc = 8;
	argv = calloc(alloc, sizeof(*argv));
	if (!argv) {
		rc = -ENOMEM;
		goto out_free;
	}

	for (i = 0; i < len; i++) {
		char c = line[i];

		if (c == '\0') {
			rc = -EINVAL;
			goto out_free;
		}
		switch (state) {
		case OUT:
			if (is_blank(c))
				continue;
			state = WORD;
			wlen = 0;
			/* c starts the word: handle it as part of one */
			__attribute__((fallthrough));
		case WORD:
			if (is_blank(c)) {
				if (argc >= max_words) {
					rc = -E2BIG;
					goto out_free;
				}
				rc = argv_push(&argv, &argc, &alloc, word,
					       wlen);
				if (rc)
					goto out_free;
				state = OUT;
			} else if (c == '\'') {
				state = SQUOTE;
			} else if (c == '"') {
				state = DQUOTE;
			} else if (c == '\\') {
				if (i + 1 >= len) {
					rc = -EINVAL;
					goto out_free;
				}
				c = line[++i];
				if (c == '\0') {
					rc = -EINVAL;
					goto out_free;
				}
				/* backslash-newline is a line continuation */
				if (c != '\n')
					word[wlen++] = c;
			} else {
				word[wlen++] = c;
			}
			break;
		case SQUOTE:
			if (c == '\'')
				state = WORD;
			else
				word[wlen++] = c;
			break;
		case DQUOTE:
			if (c == '"') {
				state = WORD;
			} else if (c == '\\' && i + 1 < len &&
				   strchr("\\\"$`\n", line[i + 1]) &&
				   line[i + 1] != '\0') {
				c = line[++i];
				if (c != '\n')
					word[wlen++] = c;
			} else {
				word[wlen++] = c;
			}
			break;
		}
	}
	if (state == SQUOTE || state == DQUOTE) {
		rc = -EINVAL;
		goto out_free;
	}
	if (state == WORD) {
		if (argc >= max_words) {
			rc = -E2BIG;
			goto out_free;
		}
		rc = argv_push(&argv, &argc, &alloc, word, wlen);
		if (rc)
			goto out_free;
	}
	free(word);
	*argvp = argv;
	return (int)argc;

out_free:
	free(word);
	ctl_argv_free(argv);
	return rc;
}

/* "80" -> 80 within 1..CTL_SIZE_MAX, else -EINVAL. */
static int parse_dim(const char *s)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > CTL_SIZE_MAX)
		return -EINVAL;
	return (int)v;
}

static int parse_size(struct ctl_cmd *cmd)
{
	int c, r;

	if (cmd->argc == 0)
		return 0; /* tty without a size: the agent's default */
	if (cmd->argc != 2)
		goto out_bad;
	c = parse_dim(cmd->argv[0]);
	r = parse_dim(cmd->argv[1]);
	if (c < 0 || r < 0)
		goto out_bad;
	cmd->cols = (unsigned)c;
	cmd->rows = (unsigned)r;
	return 0;

out_bad:
	snprintf(cmd->error, sizeof(cmd->error),
		 "%s: COLS ROWS must be two numbers from 1 to %d",
		 ctl_verb_name(cmd->verb), CTL_SIZE_MAX);
	return -EINVAL;
}

/* nice N: an integer EXECFS_NICE_MIN..MAX, sign allowed, nothing else. */
static int parse_nice(struct ctl_cmd *cmd, const char *a)
{
	const char *p = a[0] == '-' || a[0] == '+' ? a + 1 : a;
	unsigned mag;
	int v;

	/* Two digits at most: no leading zeros, nothing a typo hides. */
	if (strlen(p) > 2 || num_parse_unsigned(p, 20, &mag) < 0)
		goto out_bad;
	v = a[0] == '-' ? -(int)mag : (int)mag;
	if (v < EXECFS_NICE_MIN || v > EXECFS_NICE_MAX)
		goto out_bad;
	cmd->nice = v;
	return 0;

out_bad:
	snprintf(cmd->error, sizeof(cmd->error),
		 "nice: want a number from %d to %d, got \"%.40s\"",
		 EXECFS_NICE_MIN, EXECFS_NICE_MAX, a);
	return -EINVAL;
}

static bool user_valid(const char *u)
{
	const char *colon = strchr(u, ':');
	const char *p;

	if (!u[0] || colon == u ||
	    (colon && (!colon[1] || strchr(colon + 1, ':'))))
		return false;
	for (p = u; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
}

/* Check the arguments of a parsed verb; fills cmd->error on -EINVAL. */
static int ctl_check_args(struct ctl_cmd *cmd)
{
	const char *a = cmd->argc > 0 ? cmd->argv[0] : NULL;
	const char *eq;

	switch (cmd->verb) {
	case CTL_TTY:
	case CTL_RESIZE:
		return parse_size(cmd);
	case CTL_ENV:
		eq = strchr(a, '=');
		if (!eq || eq == a) {
			snprintf(cmd->error, sizeof(cmd->error),
				 "env: want NAME=VALUE, got \"%.60s\"", a);
			return -EINVAL;
		}
		return 0;
	case CTL_CWD:
		if (a[0] != '/') {
			snprintf(cmd->error, sizeof(cmd->error),
				 "cwd: \"%.60s\" is not an absolute path", a);
			return -EINVAL;
		}
		return 0;
	case CTL_USER:
		if (!user_valid(a)) {
			snprintf(
				cmd->error, sizeof(cmd->error),
				"user: want NAME, UID, NAME:GROUP or UID:GID, got \"%.60s\"",
				a);
			return -EINVAL;
		}
		return 0;
	case CTL_NICE:
		return parse_nice(cmd, a);
	case CTL_SIGNAL:
		cmd->signo = ctl_signal_parse(a);
		if (cmd->signo < 0) {
			snprintf(cmd->error, sizeof(cmd->error),
				 "signal: unknown signal \"%.40s\"", a);
			return -EINVAL;
		}
		return 0;
	case CTL_KILL:
		cmd->signo = SIGKILL;
		return 0;
	case CTL_EXEC:
	case CTL_MERGE:
	case CTL_EOF:
	case CTL_FORGET:
		return 0;
	}
	return 0;
}

int ctl_parse(const char *line, size_t len, struct ctl_cmd *cmd)
{
	char **argv = NULL;
	size_t i;
	int n, rc;

	memset(cmd, 0, sizeof(*cmd));
	n = ctl_split(line, len, EXECFS_MAX_ARGS + 1, &argv);
	if (n < 0) {
		snprintf(
			cmd->error, sizeof(cmd->error), "%s",
			n == -E2BIG ?
				"more than 4096 words" :
			n == -ENOMEM ?
				"out of memory" :
				"unbalanced quote, trailing backslash or NUL byte");
		return n;
	}
	if (n == 0) {
		ctl_argv_free(argv);
		snprintf(cmd->error, sizeof(cmd->error), "empty line");
		return -EINVAL;
	}
	for (i = 0; i < NVERBS; i++)
		if (strcmp(argv[0], ctl_verbs[i].name) == 0)
			break;
	if (i == NVERBS) {
		/* Not a verb: the whole line is the command. */
		if ((size_t)n > EXECFS_MAX_ARGS) {
			ctl_argv_free(argv);
			snprintf(cmd->error, sizeof(cmd->error),
				 "more than 4096 words");
			return -E2BIG;
		}
		cmd->verb = CTL_EXEC;
		cmd->argc = n;
		cmd->argv = argv;
		return 0;
	}
	if ((size_t)n - 1 < ctl_verbs[i].min_args ||
	    (size_t)n - 1 > ctl_verbs[i].max_args) {
		ctl_argv_free(argv);
		if (n - 1 > (int)EXECFS_MAX_ARGS) {
			snprintf(cmd->error, sizeof(cmd->error),
				 "more than 4096 words");
			return -E2BIG;
		}
		if (ctl_verbs[i].min_args == ctl_verbs[i].max_args)
			snprintf(cmd->error, sizeof(cmd->error),
				 "%s takes %zu argument%s, got %d",
				 ctl_verbs[i].name, ctl_verbs[i].min_args,
				 ctl_verbs[i].min_args == 1 ? "" : "s", n - 1);
		else
			snprintf(cmd->error, sizeof(cmd->error),
				 "%s takes %zu to %zu arguments, got %d",
				 ctl_verbs[i].name, ctl_verbs[i].min_args,
				 ctl_verbs[i].max_args, n - 1);
		return -EINVAL;
	}
	/* Drop the verb word: argv[0] becomes its first argument. */
	free(argv[0]);
	memmove(argv, argv + 1, n * sizeof(*argv));
	cmd->verb = ctl_verbs[i].verb;
	cmd->argc = n - 1;
	cmd->argv = argv;
	rc = ctl_check_args(cmd);
	if (rc < 0) {
		ctl_argv_free(cmd->argv);
		cmd->argv = NULL;
		cmd->argc = 0;
	}
	return rc;
}

void ctl_cmd_release(struct ctl_cmd *cmd)
{
	ctl_argv_free(cmd->argv);
	cmd->argv = NULL;
	cmd->argc = 0;
}

const char *ctl_verb_name(enum ctl_verb verb)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (ctl_verbs[i].verb == verb)
			return ctl_verbs[i].name;
	return "?";
}

/* ---- signals ------------------------------------------------------------ */

static const struct {
	const char *name;
	int signo;
} ctl_signals[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },	  { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	 { "TRAP", SIGTRAP },	  { "ABRT", SIGABRT },
	{ "BUS", SIGBUS },	 { "FPE", SIGFPE },	  { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },	 { "SEGV", SIGSEGV },	  { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },	 { "ALRM", SIGALRM },	  { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },	  { "CONT", SIGCONT },
	{ "STOP", SIGSTOP },	 { "TSTP", SIGTSTP },	  { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },	 { "URG", SIGURG },	  { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ },	 { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },	 { "IO", SIGIO },	  { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

#define NSIGNALS (sizeof(ctl_signals) / sizeof(ctl_signals[0]))

int ctl_signal_parse(const char *s)
{
	unsigned long v;
	char *end;
	size_t i;

	if (isdigit((unsigned char)s[0])) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || *end || v < 1 || v > 64)
			return -EINVAL;
		return (int)v;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < NSIGNALS; i++)
		if (strcasecmp(s, ctl_signals[i].name) == 0)
			return ctl_signals[i].signo;
	return -EINVAL;
}

const char *ctl_signal_name(int signo)
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		if (ctl_signals[i].signo == signo)
			return ctl_signals[i].name;
	return NULL;
}

/* ---- quoting ------------------------------------------------------------ */

static bool word_safe(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (!isalnum((unsigned char)*w) && !strchr("_@%+=:,./-", *w))
			return false;
	return true;
}

char *ctl_quote(char *const *argv, size_t argc)
{
	size_t i, len = 1;
	const char *p;
	char *out, *o;

	/* Worst case: every byte a ' (4 bytes), two quotes and a blank. */
	for (i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3;
	out = malloc(len); /* owned by the caller */
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i < argc; i++) {
		if (i > 0)
			*o++ = ' ';
		if (word_safe(argv[i])) {
			o = stpcpy(o, argv[i]);
			continue;
		}
		*o++ = '\'';
		for (p = argv[i]; *p; p++) {
			if (*p == '\'') {
				o = stpcpy(o, "'\\''");
				continue;
			}
			*o++ = *p;
		}
		*o++ = '\'';
	}
	*o = '\0';
	return out;
}
