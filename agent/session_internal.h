/*
 * What the files of the agent's exec sessions share. Private to them; the
 * rest of the agent uses session.h. Who owns what:
 *
 *   session.c         the table, routing of a request stream, a session's
 *                     lifetime (the check below, the grace timer) and its
 *                     state machine, driven by the launcher's callbacks;
 *   session_status.c  the status stream: the exec request, the answer to
 *                     the start, the status document at the end;
 *   session_out.c     stdout and stderr: pipe to stream, with flow control,
 *                     and what a lost stream hands back for a resume;
 *   session_in.c      stdin: stream to pipe, window returned as bytes reach
 *                     the pipe, re-sent bytes of a resume skipped;
 *   session_ctl.c     signal and resize streams, queued until the start is
 *                     decided;
 *   session_handover.c every session to handover.h's document and back
 *                     (an upgrade in place);
 *   admit.c           whether a start may happen (the container, the limit
 *                     per identity, the policy) and its audit lines.
 *
 * A session's states (enum xsession_state), one way only:
 *
 *   REQUEST --request complete, admitted, asked--> SPAWNING
 *   SPAWNING --the launcher started it and execve succeeded--> RUNNING
 *   RUNNING --reaped--> EXITED
 *   REQUEST --bad or incomplete request, refused--> FAILED
 *   SPAWNING --the start or the execve failed--> FAILED
 *
 * THE MAY-FREE RULE. A session is freed by xsession_check(), and besides
 * only by its grace timer (ended, and nobody came back) and by
 * xsession_table_free() (the agent's end), which are entry points of
 * their own, never called from the code below. xsession_check(s) frees s
 * when no stream of it is attached (status, stdin, stdout, stderr, signal
 * or resize) and nobody may come back for it: its start failed or its
 * request never completed, or its process ended and no stream was lost and
 * no output is held for a resume. Otherwise it arms or stops the grace
 * timer. So:
 *
 *   1. xsession_check(s) is the last thing its caller does with s: after
 *      it, nothing reads or writes s or anything inside it (s->out[i],
 *      s->in, a struct xsession_ctl, s->t through s), and the caller
 *      returns at once.
 *   2. It is called only from where a session's life may end: a stream's
 *      on_close (after the stream was detached from s), an attach by the
 *      router, the launcher's callbacks, and the report of the start.
 *      Helpers that their caller follows with more work on s never call
 *      it.
 *   3. A function that calls it, directly or through another, says "may
 *      free s" where it is declared and obeys rules 1 and 2 itself.
 *   4. Nothing else frees a session. What the code below asks of the
 *      transport (respond, write, end, reset, consume) and of the launcher
 *      never calls back into a session before it returns; the local
 *      launcher answers launcher_signal() at once, through on_signal,
 *      which never frees.
 */
#ifndef EXECFS_AGENT_SESSION_INTERNAL_H
#define EXECFS_AGENT_SESSION_INTERNAL_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "execfs/proto.h"
#include "execfs/resume.h"
#include "pty.h"
#include "session.h"

struct evbuffer;
struct exec_spec;
struct h2_stream;
struct spawn_ids;

/* A pipe starts with 64 KiB of room. One that fills up is given the most
 * an unprivileged process may ask for (fs.pipe-max-size, 1 MiB by
 * default): a bulk transfer then moves in steps of up to 1 MiB, a
 * sixteenth of the wakeups; interactive sessions keep the default. */
#define XSESSION_PIPE_DEFAULT_BYTES (64 * 1024)
#define XSESSION_PIPE_BULK_BYTES (1024 * 1024)

enum xsession_state {
	XSESSION_REQUEST, /* receiving the exec request */
	XSESSION_SPAWNING, /* asked the launcher; waiting for the start */
	XSESSION_RUNNING,
	XSESSION_EXITED, /* reaped; wstatus is valid */
	XSESSION_FAILED, /* never ran; err and message say why */
};

struct xsession;

/* One output pipe (stdout or stderr) and the stream it is sent on
 * (session_out.c). */
struct xsession_out {
	struct xsession *s;
	const char *name;
	int fd; /* owned; pipe read end, -1 once at EOF */
	struct event *ev; /* owned; EV_READ on fd */
	struct h2_stream *st; /* attached client stream, or NULL */
	/* bytes read from the pipe, in all, and those the client may lack,
	 * taken back from a stream that was lost: sent before anything more
	 * is read from the pipe (include/execfs/resume.h) */
	struct resume_tx tx;
	bool ev_added;
	bool bulk; /* the pipe filled up once: grown */
};

/* Stdin: the stream, what waits for the pipe, and the pipe
 * (session_in.c). */
struct xsession_in {
	struct h2_stream *st; /* stdin stream or NULL */
	struct evbuffer *buf; /* owned; received, not yet in the pipe */
	int fd; /* owned; pipe write end (or a pty master dup), -1 closed */
	struct event *ev; /* owned; EV_WRITE on fd */
	bool end; /* client ended stdin */
	bool line_start; /* tty: the last byte sent was '\n' (or none) */
	bool bulk; /* the stdin pipe filled up once: grown */
	/* stdin bytes received, in all, and re-sent ones still to drop
	 * (include/execfs/resume.h) */
	struct resume_rx rx;
	size_t old; /* bytes of buf that came on an earlier stream */
	size_t eof_left; /* tty: VEOF characters still to send */
	unsigned long long delivered; /* bytes that reached the process */
};

enum xsession_ctl_kind { XSESSION_CTL_SIGNAL, XSESSION_CTL_RESIZE };

/* A signal or resize stream (session_ctl.c). Lives until the stream's
 * on_close (the session counts it as attached until then). */
struct xsession_ctl {
	struct xsession *s;
	struct h2_stream *st;
	enum xsession_ctl_kind kind;
	char buf[PTY_SIZE_LINE_MAX + 1]; /* a partial line, or the signal */
	size_t len;
	bool answered; /* response headers sent */
	uint64_t pending; /* signal: the launcher's answer is awaited */
	bool body_ended; /* the peer's END_STREAM came */
	bool dead; /* answered with an error or reset: ignore input */
	bool has_size; /* resize: a size waits for the terminal */
	unsigned short cols, rows;
	struct xsession_ctl *next;
};

struct xsession {
	struct xsession_table *t;
	char sid[EXECFS_SID_LEN + 1];
	enum xsession_state state;
	char container[EXECFS_MAX_NAME_LEN + 1];

	struct h2_stream *status_st; /* NULL once closed */
	struct evbuffer *req; /* owned; request body while REQUEST */

	struct xsession_out out[2]; /* stdout, stderr */
	struct xsession_in in;

	bool tty;
	int tty_fd; /* owned; the pty master, -1 without a tty */
	unsigned short pend_cols, pend_rows; /* a size for the coming tty */
	struct xsession_ctl *ctl; /* signal and resize streams */

	pid_t pid; /* 0 until the launcher reported the start */
	struct launch_job *job; /* until reaped or failed (then NULL) */
	int report_fd; /* owned; spawn report pipe */
	struct spawn_ids *ids; /* owned; what the report said B runs as */
	struct event *report_ev; /* owned */
	int wstatus;
	bool reaped; /* wstatus is valid */
	bool died_early; /* the report ended before B's execve: failed
			    once reaped (wstatus says how) */
	int err; /* XSESSION_FAILED: positive errno */
	char message[512]; /* XSESSION_FAILED: why */

	struct event *grace_ev; /* owned; kills an abandoned process */
	bool lost; /* a stream went with its connection: wait for the
		      client to come back (grace), ended or not */

	char identity[256]; /* the peer that started it */
	uint64_t conn_serial; /* the connection it was started on */
	unsigned short audit_cols, audit_rows; /* the last size audited */
	bool audited; /* a start line was written; an end line is owed */
	struct timespec started; /* CLOCK_MONOTONIC at the start */
	struct xsession *next;
};

struct xsession_table {
	struct event_base *base;
	struct inventory *inv; /* not owned */
	struct launcher *launcher; /* not owned */
	uint64_t next_cookie; /* for signal answers */
	const struct policy *policy; /* not owned; NULL denies everything */
	struct audit *audit; /* not owned; NULL: no audit */
	char node[256];
	size_t per_identity; /* running sessions allowed per identity */
	unsigned grace; /* seconds a session without a client is kept */
	struct xsession *head;
};

/* ---- session.c ---------------------------------------------------------- */

/* Free *ev (close *fd) if there is one, and forget it. */
static inline void ev_free(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}

static inline void fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* The session sid of t, or NULL. */
struct xsession *xsession_find(struct xsession_table *t, const char *sid);
/* A new session in REQUEST, in t; NULL when out of memory. */
struct xsession *xsession_new(struct xsession_table *t, const char *sid);
/* The event (not added) that reads s->report_fd: the execve's report. */
struct event *xsession_report_event(struct xsession *s);

/* Frees s, or keeps it for a client that may come back: see THE MAY-FREE
 * RULE above. May free s. */
void xsession_check(struct xsession *s);
/* Its process ended, or its start failed. */
bool xsession_ended(const struct xsession *s);
/* Bytes of a lost output stream wait for their client. */
bool xsession_holds_output(const struct xsession *s);
/* A stream of s went with its connection: s waits for a resume. */
void xsession_lost_stream(struct xsession *s, const char *what);
/* The start failed (or was refused): every stream is told, err positive.
 * Does not free s. */
void xsession_fail(struct xsession *s, int err, const char *message);
/* The exec request is complete: admit it and ask the launcher (the
 * outcome comes from the launcher's callbacks). Does not free s. */
void xsession_start(struct xsession *s, struct exec_spec *spec);

/* What a stream of a session whose start failed is told (ENOENT). */
#define XSESSION_NOT_STARTED "session failed to start"
void xsession_reply_not_started(struct h2_stream *st);

/* Streams of a session on the wire (resume, docs/PROTOCOL.md). */
/* May st replace old, a stream of the same kind still attached? */
bool xsession_stream_replaces(struct h2_stream *old, struct h2_stream *st);
/* Let go of a stream replaced by a resume: reset, its input dropped. */
void xsession_stream_drop(struct h2_stream *st);
/* A resume's offset header: decimal, or absent (0). 0 or -EINVAL. */
int xsession_offset_header(struct h2_stream *st, uint64_t *off);
/* Best effort: give a pipe that filled up the bulk size, once. */
void xsession_pipe_grow(int fd, bool *grown);

/* ---- session_status.c --------------------------------------------------- */

/* The POST that creates s: its body is the exec request. */
void xsession_status_open(struct xsession *s, struct h2_stream *st);
/* A resume's GET of the status stream. May free s. */
void xsession_status_attach(struct xsession *s, struct h2_stream *st);
/* The start was decided: 200, or the error document. */
void xsession_status_started(struct xsession *s);
void xsession_status_failed(struct xsession *s);
/* The status document, then the end of the stream. */
void xsession_status_send_end(struct xsession *s);
/* The status document of s: a new reference, NULL without memory. */
json_t *xsession_status_doc(const struct xsession *s);

/* ---- session_out.c ------------------------------------------------------ */

void xsession_out_init(struct xsession_out *o, struct xsession *s,
		       const char *name);
/* Take fd (the pipe's read end, or -1: no such output). 0 or -ENOMEM. */
int xsession_out_open(struct xsession_out *o, int fd);
/* The process runs: answer and start forwarding. */
void xsession_out_start(struct xsession_out *o);
/* The start failed: the pipe closes, the stream is told. */
void xsession_out_fail(struct xsession_out *o);
/* Frees what o owns (not o). */
void xsession_out_release(struct xsession_out *o);
/* A stdout or stderr stream for o. May free s. */
void xsession_out_attach(struct xsession *s, struct xsession_out *o,
			 struct h2_stream *st);

/* ---- session_in.c ------------------------------------------------------- */

/* 0 or -ENOMEM. */
int xsession_in_init(struct xsession_in *in);
/* Take fd (the pipe's write end, or the pty master's dup). 0 or
 * -ENOMEM. */
int xsession_in_open(struct xsession *s, int fd);
/* Move what was received into the pipe, once the process runs. */
void xsession_in_flush(struct xsession *s);
void xsession_in_fail(struct xsession *s);
void xsession_in_release(struct xsession_in *in);
/* A stdin stream for s. May free s. */
void xsession_in_attach(struct xsession *s, struct h2_stream *st);

/* ---- session_ctl.c ------------------------------------------------------ */

/* A signal or resize stream for s. May free s. */
void xsession_ctl_attach(struct xsession *s, struct h2_stream *st,
			 enum xsession_ctl_kind kind);
/* The start was decided, or the process ended: answer what waited. */
void xsession_ctl_update(struct xsession *s);
/* The launcher's answer to a signal. */
void xsession_ctl_signal_answered(struct xsession *s, uint64_t cookie, int err,
				  pid_t pg, bool fg);
/* Size the terminal of s. */
void xsession_tty_resize(struct xsession *s, unsigned short cols,
			 unsigned short rows);

/* ---- admit.c ------------------------------------------------------------ */

/* An exec request holds up to EXECFS_MAX_REQUEST_BYTES until it is
 * complete: at most this many of one identity at a time (16 MiB). */
#define XSESSION_REQUESTS_PER_IDENTITY 256

/* May identity create session sid (its status stream came)? 0, or
 * -EAGAIN with the reason in why (logged and audited): it holds its limit
 * of sessions, counted from their first stream, or of requests still
 * coming. */
int xsession_admit_new(struct xsession_table *t, const char *sid,
		       const char *identity, char *why, size_t whylen);
/*
 * Log a refusal a client can cause at will (kind: an audit_refusal,
 * XSESSION_LOG_DENIED for the policy's, XSESSION_LOG_UNADMITTED for the
 * failure of a start that was never admitted) by identity: a burst of lines
 * per kind and identity, then one every few seconds that says how many
 * similar lines it left out (lograte.h), so one peer's flood never hides
 * another's refusals. The audit, not this, records every one.
 */
#define XSESSION_LOG_DENIED (AUDIT_CROSS_IDENTITY + 1)
#define XSESSION_LOG_UNADMITTED (AUDIT_CROSS_IDENTITY + 2) /* its failure */
#define XSESSION_LOG_KINDS (XSESSION_LOG_UNADMITTED + 1)
#define XSESSION_LOG_BURST 10
#define XSESSION_LOG_SECONDS 10
void xsession_log_refused(int kind, const char *identity, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Audit a request refused before or instead of a start (sid, container:
 * NULL when not known). */
void xsession_audit_refused(struct xsession_table *t, const char *sid,
			    const char *identity, const char *container,
			    enum audit_refusal kind, const char *reason);

/* May s start spec? 0, with the start audited and s->container set; or
 * -errno, with s failed (xsession_fail) and the refusal logged and
 * audited. */
int xsession_admit(struct xsession *s, struct exec_spec *spec);
/* A stream of s attached from another connection than its start's. */
void xsession_audit_resume(struct xsession *s, struct h2_stream *st,
			   const char *streamtype);
/* A signal asked for: sent (err 0) or refused (positive errno). */
void xsession_audit_signal(struct xsession *s, const char *signame, int err);
/* A size applied to the terminal (a repeated size is not audited again). */
void xsession_audit_resize(struct xsession *s, unsigned short cols,
			   unsigned short rows);
/* The audit line of the end of an admitted session (once). */
void xsession_audit_end(struct xsession *s);
/* The process runs (its execve succeeded): the ids it ran as, the
 * container instance. */
void xsession_audit_spawned(struct xsession *s);

#endif
