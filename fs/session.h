/*
 * A session: one process started in a container, seen through its HTTP/2
 * streams (status first, then stdout, stderr and stdin, sent in one
 * flight). Reference counted: the container holds its current session, each
 * open file handle holds the session it was opened on, and each open HTTP/2
 * stream holds it until its on_close (the stream's callbacks point at it).
 * The struct is opaque; session_internal.h is what session*.c share.
 *
 * State machine (input -> transition), one switch per input:
 *   NEW      --pre-exec verbs-->  NEW       (tty, env, cwd, user, merge, nice)
 *   NEW      --start-->         STARTING  (the starter's done() pending)
 *   STARTING --200-->           RUNNING   (done(0))
 *   STARTING --error doc-->     FAILED    (done(its errno))
 *   RUNNING  --status doc-->    EXITED / KILLED (waiters answered)
 *   STARTING/RUNNING --status stream reset--> LOST
 *            (done(ENOTCONN), waiters EIO)
 * A stream lost with its connection (H2_LOST) leaves the state as it is
 * and makes the session `resuming`: readers, writers and the ctl writer
 * wait; when the node is connected again every stream it still needs is
 * re-attached at its offset (session_resume.c). An agent that no longer
 * has it, or no connection within the resume time, makes it LOST.
 * Verbs after the start (signal, resize, eof) act in RUNNING only
 * (session_ctl.c).
 */
#ifndef EXECFS_FS_SESSION_H
#define EXECFS_FS_SESSION_H

#include <time.h>

#include "fs.h"

struct event_base;
struct h2_conn;
struct in_stream;
struct node;
struct out_stream;
struct poller;
struct session; /* opaque */

enum session_state {
	SESSION_NEW,
	SESSION_STARTING,
	SESSION_RUNNING,
	SESSION_EXITED,
	SESSION_KILLED,
	SESSION_FAILED,
	SESSION_LOST,
};

/* Completion of an asynchronous request (start, signal): 0 or an errno. */
typedef void session_done_fn(void *arg, int err);

#define SESSION_STDOUT 0
#define SESSION_STDERR 1

/* A session for container id, numbered num; one reference for the caller,
 * who also holds it (session_hold). */
struct session *session_new(const char *container, unsigned num,
			    size_t history_cap, struct event_base *base);
void session_get(struct session *s);
/* A reference through which the session can be read: its directory, the
 * container's current session, file handles. At 0 holders an ended
 * session's unread output streams are let go. */
void session_hold(struct session *s);
/* Drop one; NULL is fine. */
void session_release(struct session *s);
/* Drop the holding but keep the reference (a directory taken out of the
 * tree: nobody finds it, the kernel may still name its inode). */
void session_unhold(struct session *s);
/* Drop a reference; NULL is fine. The last one frees s. */
void session_put(struct session *s);

const char *session_sid(const struct session *s);
unsigned session_num(const struct session *s);
enum session_state session_state(const struct session *s);
bool session_ended(const struct session *s);
/* Waiting for its node's next connection (status says "reconnecting"). */
bool session_resuming(const struct session *s);
/* The last state change. */
struct timespec session_mtime(const struct session *s);
/* FAILED: why (the agent's message); NULL otherwise. */
const char *session_message(const struct session *s);
/* Its streams, for file handles (valid as long as s). */
struct out_stream *session_out(const struct session *s, int which);
struct in_stream *session_in(const struct session *s);
/* Why the last write to N/ctl failed, or NULL; set it (NULL clears):
 * 0 or -ENOMEM. */
const char *session_ctl_error(const struct session *s);
int session_set_ctl_error(struct session *s, const char *why);

/*
 * Pre-exec settings (NEW only, else -EBUSY). Each replaces the previous
 * value; env adds an entry (a later NAME= replaces an earlier one).
 */
int session_set_tty(struct session *s, unsigned cols, unsigned rows);
int session_add_env(struct session *s, const char *name_value);
int session_set_cwd(struct session *s, const char *cwd);
int session_set_user(struct session *s, const char *user);
int session_set_merge(struct session *s);
/* The process's nice value (ctl's nice verb, already checked). */
int session_set_nice(struct session *s, int nice);

/*
 * Start argv in the session on node's connection (-ENOTCONN when it has
 * none or takes no new session; node NULL: the container is gone; -EBUSY
 * when not NEW); the session holds a reference on node from then on. On 0,
 * done(arg, err) is called exactly once from the loop when the agent
 * answers (0: the process runs) or the stream is lost (ENOTCONN); on
 * -errno it is never called.
 */
int session_start(struct session *s, struct node *node, char *const *argv,
		  size_t argc, session_done_fn *done, void *arg);
/* A NEW session could not be started: FAILED with err and msg. */
void session_fail(struct session *s, int err, const char *msg);

/*
 * Send signal signo (by name when it has one) on a signal stream of its
 * own, or, while s is resuming (or resumed on a connection the agent has
 * not answered on yet), once the agent answered the resume
 * (dropped, with a log line, if the session is lost or ended meanwhile;
 * done is then not called: the write is answered at once, like a resize).
 * 1: done(arg, err) follows once the agent answered (0, EINVAL, ESRCH,
 * ...); 0: kept for the resume; -EBUSY before the start, -ESRCH after the
 * end, -ENOTCONN.
 */
int session_signal(struct session *s, int signo, session_done_fn *done,
		   void *arg);
/* A new terminal size on the resize stream: 0, -EBUSY before the start,
 * -ENOTTY without a tty, -ESRCH after the end. */
int session_resize(struct session *s, unsigned cols, unsigned rows);
/* The `eof` verb: end the remote stdin once queued bytes are out. 0,
 * -EBUSY before the start; after the end there is nothing to do (0). */
int session_eof(struct session *s);

/* The status line ("running\n", "exited 7\n", ...) into buf. */
int session_status_line(const struct session *s, char *buf, size_t len);
/* `wait`: answer now if ended, else park (EAGAIN when nonblock). */
void session_wait_read(struct session *s, fuse_req_t req, size_t size,
		       off_t off, bool nonblock);
unsigned session_wait_poll(struct session *s, struct poller *pl,
			   struct fuse_pollhandle *ph);

/* Sessions waiting for one node's next connection (the node owns it). */
struct session_waitq;
struct session_waitq *session_waitq_new(void);
/* Give every session still waiting up (lost: why), then free q. NULL is
 * fine. */
void session_waitq_free(struct session_waitq *q, const char *why);
/* No session waits in q. */
bool session_waitq_empty(const struct session_waitq *q);
/* The node is connected again on c: every waiting session re-attaches
 * what it still needs. How many did. */
unsigned session_waitq_resume(struct session_waitq *q, struct h2_conn *c);

#endif
