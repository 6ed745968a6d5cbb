/*
 * The ctl file's grammar: one message per line, a verb and its arguments,
 * split with shell quoting rules and no expansion. A line whose first word
 * is not a verb is an exec of that line. Pure parsing: the fs client turns
 * a parsed command into session requests (ops.c), and the same grammar
 * will serve `execfs exec` (so it belongs in include/execfs/ctl.h once that
 * client exists).
 */
#ifndef EXECFS_FS_CTL_H
#define EXECFS_FS_CTL_H

#include <stddef.h>

enum ctl_verb {
	CTL_EXEC,
	CTL_TTY,
	CTL_ENV,
	CTL_CWD,
	CTL_USER,
	CTL_SIGNAL,
	CTL_KILL,
	CTL_RESIZE,
	CTL_EOF,
	CTL_FORGET,
};

/* A parsed line. argv is NULL-terminated; argv[0] is the first argument
 * after the verb (for CTL_EXEC: the program). */
struct ctl_cmd {
	enum ctl_verb verb;
	size_t argc;
	char **argv; /* owned: ctl_cmd_release() frees it */
};

/*
 * Split line[0..len) into words: '...' is literal, "..." honours the
 * escapes \\ \" \$ \` (and a backslash-newline), a backslash outside quotes
 * quotes the next character. No expansion of any kind. Returns the word
 * count (>= 0) with *argvp a NULL-terminated array owned by the caller
 * (free with ctl_argv_free), -EINVAL for an unbalanced quote or a trailing
 * backslash or a NUL byte, -E2BIG beyond max_words, -ENOMEM.
 */
int ctl_split(const char *line, size_t len, size_t max_words, char ***argvp);
void ctl_argv_free(char **argv);

/* Parse one line (without its newline) into cmd. 0, -EINVAL (empty line,
 * bad quoting, a verb missing its arguments), -E2BIG, -ENOMEM. */
int ctl_parse(const char *line, size_t len, struct ctl_cmd *cmd);
void ctl_cmd_release(struct ctl_cmd *cmd);

const char *ctl_verb_name(enum ctl_verb verb);

#endif
