/*
 * The engine of `execfs exec --all` (exec_all.c has its command line):
 * the targets of a fan-out run by worker threads, at most max_parallel at
 * once, their output lines written through two sinks, their ends
 * collected, and signals sent on to them. exec_all.c fills a struct
 * fanout (targets, the ctl message, the format) and calls fanout_run().
 */
#ifndef EXECFS_FS_EXEC_FANOUT_H
#define EXECFS_FS_EXEC_FANOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "exec_lines.h"

enum fanout_target_state {
	FANOUT_QUEUED,
	FANOUT_RUNNING, /* its worker runs */
	FANOUT_DONE, /* its worker ended and was joined */
};

struct fanout;

struct fanout_target {
	struct fanout *f; /* not owned */
	char *dir; /* owned: the container directory as matched */
	char *name; /* owned: node/namespace/pod/container */
	char *ctl_path; /* owned: C/N/ctl once cloned (under f->lock) */
	enum fanout_target_state state; /* the main thread's */
	bool started; /* the command started (under f->lock) */
	pthread_t thread;
	/* Set by the worker before it reports its end: */
	int exit_code;
	bool ok; /* exited 0 */
	bool waited; /* result is the `wait` line */
	char result[512]; /* the `wait` line, or what went wrong */
};

struct fanout_sink {
	int fd;
	pthread_mutex_t lock;
	atomic_bool broken; /* a write failed: the reader went away */
};

struct fanout {
	enum exec_lines_format fmt;
	unsigned max_parallel;
	char *ctl_msg; /* owned: "exec WORDS\neof\n" */
	struct fanout_target *t; /* owned */
	size_t n;
	pthread_mutex_t lock; /* ctl_path, started, sent */
	/* The last `signal`/`kill` line sent to every started target, or
	 * "": a target that starts after it sends it itself (under lock). */
	char sent[48];
	struct fanout_sink out, err;
	int done_pipe[2]; /* workers: their index, 4 bytes */
	atomic_int lines_pending; /* `signal`/`kill` threads not finished */
	int sig_fd; /* caught signals, a byte each (exec_common.h) */
};

/* The locks and pipes of f, whose other fields the caller sets. 0 or
 * -errno. */
int fanout_init(struct fanout *f);
/* Frees the targets and closes the pipes; not f itself. */
void fanout_release(struct fanout *f);

/*
 * Run every target of f. Returns 0 when all ended, or 128+SIG after a
 * second signal (workers still running then were told `kill`, and are
 * left running: leave with _exit()). *first_sig gets the first signal seen
 * (or 0).
 */
int fanout_run(struct fanout *f, int *first_sig);

/* Write buf to the sink arg (a struct fanout_sink), whole, under its lock;
 * once a write failed (the reader went away), drop everything and post
 * SIGPIPE to the signal pipe once. An exec_lines_emit_fn. */
void fanout_sink_emit(void *arg, const char *buf, size_t len);

#endif
