/*
 * `execfs exec --all [--max-parallel N] [--json] GLOB... -- CMD [ARGS...]`:
 * fan-out. CMD runs in every container directory the GLOBs match, at
 * once, through the files alone (clone, N/ctl, N/stdout, N/stderr, N/wait,
 * `forget`), like `execfs exec`; output lines come prefixed with the
 * container's name (exec_lines.h), and a summary and an exit status say
 * how every target ended. `execfs exec --help` documents it.
 */
#ifndef EXECFS_FS_EXEC_ALL_H
#define EXECFS_FS_EXEC_ALL_H

#include <stdbool.h>
#include <stdio.h>

/* argv is exec_main's (argv[0] "exec"); --all is among the options.
 * Returns the process exit status. */
int exec_all_main(int argc, char **argv);

/* argv holds --all before its first non-option word or `--`. */
bool exec_all_wanted(int argc, char **argv);

/* The fan-out part of `execfs exec --help`. */
void exec_all_usage(FILE *f);

/*
 * The name a target is shown by: the last four components of its
 * container directory (node/namespace/pod/container, its path relative to
 * the mount's root, where a container directory always sits), or the whole
 * path if it has fewer. "." and ".." components are resolved first.
 * malloc'd, or NULL (ENOMEM, or an unresolvable path).
 */
char *exec_all_target_name(const char *dir);

#endif
