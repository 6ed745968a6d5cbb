/*
 * `execfs exec`: run a command in a container through the mounted files
 * only (clone, N/ctl, N/stdin, N/stdout, N/stderr, N/wait), with a local
 * terminal in raw mode when asked. A subcommand of the execfs binary.
 */
#ifndef EXECFS_FS_EXEC_CLI_H
#define EXECFS_FS_EXEC_CLI_H

/* argv[0] is "exec". Returns the process exit status. */
int exec_main(int argc, char **argv);

#endif
