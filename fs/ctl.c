/*
 * ctl parsing: the shell-like word splitter and the verb table. Kept free
 * of FUSE and network code so it is unit-tested (tests/unit/test_fs_ctl.c)
 * and fuzzable on its own; input comes straight from a user's write(2),
 * so every path is bounded by the line length and the word cap.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/proto.h"
#include "ctl.h"

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

int ctl_parse(const char *line, size_t len, struct ctl_cmd *cmd)
{
	char **argv = NULL;
	size_t i;
	int n;

	memset(cmd, 0, sizeof(*cmd));
	n = ctl_split(line, len, EXECFS_MAX_ARGS + 1, &argv);
	if (n < 0)
		return n;
	if (n == 0) {
		ctl_argv_free(argv);
		return -EINVAL;
	}
	for (i = 0; i < NVERBS; i++)
		if (strcmp(argv[0], ctl_verbs[i].name) == 0)
			break;
	if (i == NVERBS) {
		/* Not a verb: the whole line is the command. */
		if ((size_t)n > EXECFS_MAX_ARGS) {
			ctl_argv_free(argv);
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
		return n - 1 > (int)EXECFS_MAX_ARGS ? -E2BIG : -EINVAL;
	}
	/* Drop the verb word: argv[0] becomes its first argument. */
	free(argv[0]);
	memmove(argv, argv + 1, n * sizeof(*argv));
	cmd->verb = ctl_verbs[i].verb;
	cmd->argc = n - 1;
	cmd->argv = argv;
	return 0;
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
