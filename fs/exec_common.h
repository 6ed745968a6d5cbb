/*
 * What `execfs exec` (exec_cli.c) and its fan-out `execfs exec --all`
 * (exec_all.c) share: finding container directories of a mount by glob,
 * reading a session's small text files, and turning a session's `wait`
 * line into an exit status. Plain files only: no FUSE, no network.
 */
#ifndef EXECFS_FS_EXEC_COMMON_H
#define EXECFS_FS_EXEC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define EXEC_EXIT_USAGE 2
#define EXEC_EXIT_EXECFS 125 /* execfs's own failure, as docker exec */
#define EXEC_EXIT_CANNOT_RUN 126
#define EXEC_EXIT_NOT_FOUND 127

/* DIR holds a `clone` file: a container directory of an execfs mount. */
bool exec_is_container_dir(const char *dir);

/*
 * The container directories PATTERN names: itself when it has no glob
 * characters, else every match of glob(3) that is one, in glob's order.
 * *out is a malloc'd array of malloc'd strings (exec_strv_free), *n its
 * length. 0 (n >= 1), -ENOENT (nothing matches, or no match is a
 * container), -ENOMEM.
 */
int exec_glob_containers(const char *pattern, char ***out, size_t *n);
void exec_strv_free(char **v, size_t n);

/* Read a small text file whole (clone, ctl, wait) into buf, NUL-ended:
 * the byte count, or -errno. EINTR is retried. */
ssize_t exec_read_text(const char *path, char *buf, size_t len);
/* The same with path relative to dirfd (openat(2)): a walk that starts
 * below the mount's root costs no lookups of the directories above. */
ssize_t exec_read_text_at(int dirfd, const char *path, char *buf, size_t len);

/*
 * The exit status a `wait` (or `status`) line stands for, as `execfs
 * exec` exits: `exited N` -> N (255 above 255), `killed SIG` -> 128+N,
 * `failed: ...` -> 125 (the start failed after the ctl write returned),
 * anything else (lost, an unknown line) -> 255. *ended is false for the
 * last two kinds (the command did not run to an end we know of).
 */
int exec_status_exit(const char *line, bool *ended);

/* The exit status of a start that failed with -errno on the ctl write. */
int exec_start_exit(int err);

/*
 * Catch each of sigs[0..n) (no SA_RESTART: a blocked read of a session
 * file returns EINTR) by writing its number, one byte, to a pipe whose
 * reading end (non-blocking) is returned; SIGPIPE is ignored. Once per
 * process. The fd, or -errno.
 */
int exec_signals_catch(const int *sigs, size_t n);

/* Put one byte in that pipe, as a signal would (async-signal-safe). */
void exec_signals_post(unsigned char b);

#endif
