/*
 * What the files of the session module share, and nobody else sees:
 *   session.c         lifetime, state, the start flight, the status stream,
 *                     `wait`
 *   session_opts.c    the pre-exec settings and the exec request's body
 *   session_ctl.c     after the start: signal, resize and eof
 *   session_resume.c  a lost connection: waiting for the node, re-attaching
 *                     the streams, giving up
 *
 * May-free rule: every HTTP/2 stream of a session holds a reference until
 * its on_close, and session_put() of the last reference frees the session
 * with its streams. A function that may drop the last reference says so;
 * one that goes on using s after calling such a function takes a
 * reference of its own first (session_get ... session_put, last).
 */
#ifndef EXECFS_FS_SESSION_INTERNAL_H
#define EXECFS_FS_SESSION_INTERNAL_H

#include "echo_wait.h"
#include "execfs/proto.h"
#include "session.h"

struct event;
struct h2_stream;
struct h2_stream_cbs;

/* What the pre-exec verbs set; sent with the exec request. */
struct session_opts {
	bool tty;
	unsigned cols, rows; /* 0 0: the agent's default size */
	char **env; /* owned, NULL-terminated "NAME=VALUE", or NULL */
	size_t nenv;
	char *cwd; /* owned, or NULL */
	char *user; /* owned, or NULL */
	bool merge; /* stderr into stdout */
	bool has_nice; /* nice: the process's nice value */
	int nice;
};

struct session {
	unsigned refs;
	/* The references through which somebody can still read it (see
	 * session_hold). */
	unsigned holders;
	char sid[EXECFS_SID_LEN + 1];
	unsigned num; /* N of the container's N/ directory */
	char *container; /* owned: the container id */
	enum session_state state;
	long long code; /* EXITED */
	int signo; /* KILLED */
	char signame[24];
	char *message; /* FAILED: owned */
	int err; /* FAILED: errno for the ctl writer */
	struct h2_stream *status_st; /* while open */
	int status_http;
	char *status_body; /* owned; at most EXECFS_MAX_REQUEST_BYTES */
	size_t status_len;
	struct session_opts opts;
	session_done_fn *start_done; /* called once when the start is known */
	void *start_arg;
	struct h2_stream *resize_st; /* tty sessions while running */
	struct timespec mtime; /* last state change */
	struct timespec start_sent; /* CLOCK_MONOTONIC: the exec flight */
	char *ctl_error; /* owned: why the last write to N/ctl failed */
	struct out_stream *out[2]; /* owned: stdout, stderr */
	struct in_stream *in; /* owned */
	struct echo_wait echo; /* tty sessions: may a stdout POLL wait */
	struct list waiters; /* parked reads of `wait` */
	struct list pollers; /* poll waiters on `wait` */
	struct node *node; /* a reference (node_get); where it was started */
	struct event_base *base; /* not owned */
	bool resuming; /* waits for its node's next connection */
	struct list resume_link; /* in the node's session_waitq */
	struct event *resume_ev; /* owned; gives up after the resume time */
	bool status_resumed; /* status_st is a resume's GET */
	bool pend_size; /* a resize made while resuming */
	unsigned pend_cols, pend_rows;
	/* Signals asked for while resuming (struct sig_pend, session_ctl.c,
	 * owned), sent in order once the agent answered the resume's status
	 * GET (sigs_wait_status) */
	struct list pend_sigs;
	bool sigs_wait_status;
};

/* session.c */
extern const struct h2_stream_cbs session_status_cbs;
extern const struct h2_stream_cbs session_resize_cbs;
void session_touch(struct session *s);
/* "/v1/sessions/<sid>" into buf. */
int session_path(const struct session *s, char *buf, size_t len);
/* Nothing more will be known of it: answer the starter and the waiters. */
void session_set_lost(struct session *s);
/* Streams still waiting for a resume will not get one. */
void session_streams_give_up(struct session *s);

/* session_opts.c */
/* The exec request for argv with s's settings (JSON, owned by the
 * caller), or NULL when out of memory. */
char *session_exec_body(const struct session *s, char *const *argv,
			size_t argc);

/* session_ctl.c */
/* Send the signals asked for while resuming, in order, on c; without c
 * (lost, ended, freed) they are dropped: the process never got them. */
void session_signals_send(struct session *s, struct h2_conn *c);

/* session_resume.c */
/* A stream of s was lost with its connection: wait for the node to come
 * back (the streams' stream_parent.lost). */
void session_lost(struct session *s);
/* No resume (the node is gone, or the resume time ran out): LOST. */
void session_give_up(struct session *s, const char *why);

#endif
