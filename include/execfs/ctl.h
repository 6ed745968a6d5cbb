/*
 * The ctl file's grammar (docs/FILES.md): one message per line, a verb and
 * its arguments, split with shell quoting rules and no expansion. A line
 * whose first word is not a verb is an exec of that line. Pure parsing and
 * quoting, no FUSE and no network: the fs client turns a parsed command into
 * session requests (fs/control.c), and `execfs exec` (fs/exec_cli.c) builds
 * its lines with ctl_quote() and reads exit statuses with ctl_signal_*().
 */
#ifndef EXECFS_CTL_H
#define EXECFS_CTL_H

#include <stdbool.h>
#include <stddef.h>

enum ctl_verb {
	CTL_EXEC,
	CTL_TTY,
	CTL_ENV,
	CTL_CWD,
	CTL_USER,
	CTL_MERGE,
	CTL_NICE,
	CTL_SIGNAL,
	CTL_KILL,
	CTL_RESIZE,
	CTL_EOF,
	CTL_FORGET,
};

/* Terminal sizes, as the protocol's resize stream takes them. */
#define CTL_SIZE_MAX 65535

/* A parsed line. argv is NULL-terminated; argv[0] is the first argument
 * after the verb (for CTL_EXEC: the program). */
struct ctl_cmd {
	enum ctl_verb verb;
	size_t argc;
	char **argv; /* owned: ctl_cmd_release() frees it */
	unsigned cols, rows; /* CTL_TTY (0 0: not given), CTL_RESIZE */
	int signo; /* CTL_SIGNAL, CTL_KILL */
	int nice; /* CTL_NICE */
	char error[160]; /* why ctl_parse() failed, for the user */
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

/*
 * Parse one line (without its newline) into cmd and check the verb's
 * arguments: tty [COLS ROWS] and resize COLS ROWS (1..65535), env
 * NAME=VALUE (NAME not empty, no '='), cwd /ABSOLUTE, user NAME|UID[:GID]
 * (no blanks, ':' only between two parts), nice N (EXECFS_NICE_MIN..MAX),
 * signal NAME|SIGNAME|NUMBER.
 * 0, or -EINVAL (with cmd->error saying why), -E2BIG, -ENOMEM.
 */
int ctl_parse(const char *line, size_t len, struct ctl_cmd *cmd);
void ctl_cmd_release(struct ctl_cmd *cmd);

const char *ctl_verb_name(enum ctl_verb verb);

/* "TERM", "SIGTERM", "term" or "15" -> 15; -EINVAL otherwise. */
int ctl_signal_parse(const char *s);
/* 15 -> "TERM"; NULL for a number without a name. */
const char *ctl_signal_name(int signo);

/*
 * The words of argv joined with blanks and quoted so that ctl_split()
 * gives them back unchanged (single quotes where needed, ' as '\'').
 * malloc'd, or NULL (ENOMEM).
 */
char *ctl_quote(char *const *argv, size_t argc);

#endif
