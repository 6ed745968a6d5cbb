/*
 * A session: one process started in a container, seen through its HTTP/2
 * streams (status first, then stdout, stderr and stdin, sent in one
 * flight). Reference counted: the container holds its current session, each
 * open file handle holds the session it was opened on, and each open HTTP/2
 * stream holds it until its on_close (the stream's callbacks point at it).
 *
 * State machine (input -> transition), one switch per input in session.c:
 *   NEW      --pre-exec verbs-->  NEW       (tty, env, cwd, user, merge)
 *   NEW      --start-->         STARTING  (the starter's done() pending)
 *   STARTING --200-->           RUNNING   (done(0))
 *   STARTING --error doc-->     FAILED    (done(its errno))
 *   RUNNING  --status doc-->    EXITED / KILLED (waiters answered)
 *   STARTING/RUNNING --status stream reset--> LOST
 *            (done(ENOTCONN), waiters EIO)
 * A stream lost with its connection (H2_LOST) leaves the state as it is
 * and makes the session `resuming`: readers, writers and the ctl writer
 * wait; when the node is connected again every stream it still needs is
 * re-attached at its offset (session_resume). An agent that no longer
 * has it, or no connection within the resume time, makes it LOST.
 * Verbs after the start (signal, resize, eof) act in RUNNING only.
 */
#ifndef EXECFS_FS_SESSION_H
#define EXECFS_FS_SESSION_H

#include "echo_wait.h"
#include "execfs/proto.h"
#include "fs.h"
#include "park.h"
#include "stream.h"

struct h2_conn;
struct h2_stream;

enum session_state {
	SESSION_NEW,
	SESSION_STARTING,
	SESSION_RUNNING,
	SESSION_EXITED,
	SESSION_KILLED,
	SESSION_FAILED,
	SESSION_LOST,
};

enum in_state {
	IN_IDLE, /* not requested yet */
	IN_OPEN, /* bytes may be written */
	IN_ENDED, /* END_STREAM queued: the process saw (or will see) EOF */
	IN_CLOSED, /* the stream is gone (reset or connection lost) */
};

/* The session's stdin: a FIFO's writer side (stdin.c). */
struct in_stream {
	struct session *sess; /* back pointer */
	enum in_state state;
	struct h2_stream *st; /* while open; freed by the transport */
	unsigned writers; /* handles open for writing */
	bool eof_wanted; /* end once the parked writes drained */
	struct list parked; /* struct in_write (stdin.c) */
	struct list pollers; /* writers waiting for room (poll POLLOUT) */
	int http_status; /* of the current stream; 200: EOF delivered */
	uint64_t written; /* bytes put into streams, in all */
	/* owned, or NULL: bytes from offset written - length on that the
	 * agent may lack: taken back from a lost stream, sent first on
	 * the next */
	struct evbuffer *held;
};

/* Completion of an asynchronous request (start, signal): 0 or an errno. */
typedef void session_done_fn(void *arg, int err);

/* What the pre-exec verbs set; sent with the exec request. */
struct session_opts {
	bool tty;
	unsigned cols, rows; /* 0 0: the agent's default size */
	char **env; /* owned, NULL-terminated "NAME=VALUE", or NULL */
	size_t nenv;
	char *cwd; /* owned, or NULL */
	char *user; /* owned, or NULL */
	bool merge; /* stderr into stdout */
};

struct node;
struct event;

struct session {
	unsigned refs;
	/* The references through which somebody can still read it: its
	 * directory, the container's current session, file handles. At 0,
	 * an ended session's unread output streams are let go. */
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
	char *ctl_error; /* owned: why the last write to N/ctl failed */
	struct out_stream out[2]; /* stdout, stderr */
	struct in_stream in;
	struct echo_wait echo; /* tty sessions: may a stdout POLL wait */
	struct list waiters; /* parked reads of `wait` */
	struct list pollers; /* poll waiters on `wait` */
	struct node *node; /* not owned; where it was started */
	struct event_base *base; /* not owned */
	bool resuming; /* waits for its node's next connection */
	struct list resume_link; /* in the node's list while resuming */
	struct event *resume_ev; /* owned; gives up after the resume time */
	bool status_resumed; /* status_st is a resume's GET */
	bool pend_size; /* a resize made while resuming */
	unsigned pend_cols, pend_rows;
	/* Signals asked for while resuming (struct sig_pend, session.c,
	 * owned), sent in order once the agent answered the resume's status
	 * GET (sigs_wait_status) */
	struct list pend_sigs;
	bool sigs_wait_status;
};

#define SESSION_STDOUT 0
#define SESSION_STDERR 1

/* A session for container id, numbered num; one reference for the caller. */
struct session *session_new(const char *container, unsigned num,
			    size_t history_cap, struct event_base *base);
void session_get(struct session *s);
/* A reference through which the session can be read (see holders). */
void session_hold(struct session *s);
/* Drop one; NULL is fine. */
void session_release(struct session *s);
/* Drop the holding but keep the reference (a directory taken out of the
 * tree: nobody finds it, the kernel may still name its inode). */
void session_unhold(struct session *s);
void session_put(struct session *s);
const char *session_sid(const struct session *s);
bool session_ended(const struct session *s);

/*
 * Pre-exec settings (NEW only, else -EBUSY). Each replaces the previous
 * value; env adds an entry (a later NAME= replaces an earlier one).
 */
int session_set_tty(struct session *s, unsigned cols, unsigned rows);
int session_add_env(struct session *s, const char *name_value);
int session_set_cwd(struct session *s, const char *cwd);
int session_set_user(struct session *s, const char *user);
int session_set_merge(struct session *s);

/*
 * Start argv in the session on node's connection (-ENOTCONN when it has
 * none; node NULL: the container is gone). On 0,
 * done(arg, err) is called exactly once from the loop when the agent
 * answers (0: the process runs) or the stream is lost (ENOTCONN); on
 * -errno it is never called.
 */
int session_start(struct session *s, struct node *node, char *const *argv,
		  size_t argc, session_done_fn *done, void *arg);

/* A stream of s was lost with its connection: wait for the node to come
 * back (stream.c, stdin.c and the status stream call it). */
void session_lost(struct session *s);
/* The node is connected again on c: re-attach what s still needs. */
void session_resume(struct session *s, struct h2_conn *c);
/* No resume (the node is gone, or the resume time ran out): LOST. */
void session_give_up(struct session *s, const char *why);

/*
 * Send signal signo (by name when it has one) on a signal stream of its
 * own. 0: done(arg, err) follows once the agent answered (0, EINVAL,
 * ESRCH, ...); -EBUSY before the start, -ESRCH after the end, -ENOTCONN.
 */
int session_signal(struct session *s, struct h2_conn *c, int signo,
		   session_done_fn *done, void *arg);
/*
 * The same while s is resuming: signo is kept and sent once the agent
 * answered the resume (dropped, with a log line, if the session is lost
 * or ended meanwhile). 0 at once, like a resize; -EBUSY, -ESRCH as above.
 */
int session_signal_later(struct session *s, int signo);
/* A new terminal size on the resize stream: 0, -EBUSY before the start,
 * -ENOTTY without a tty, -ESRCH after the end. */
int session_resize(struct session *s, unsigned cols, unsigned rows);
/* What a running session waits on, for status: "" or " (stdout full)". */
const char *session_blocked_on(const struct session *s);

/* A NEW session could not be started: FAILED with err and msg. */
void session_fail(struct session *s, int err, const char *msg);
/* The status line ("running\n", "exited 7\n", ...) into buf. */
int session_status_line(const struct session *s, char *buf, size_t len);
/* `wait`: answer now if ended, else park (EAGAIN when nonblock). */
void session_wait_read(struct session *s, fuse_req_t req, size_t size,
		       off_t off, bool nonblock);
unsigned session_wait_poll(struct session *s, struct poller *pl,
			   struct fuse_pollhandle *ph);

/* stdin.c */
void in_stream_init(struct in_stream *in, struct session *s);
void in_stream_release(struct in_stream *in);
int in_stream_request(struct in_stream *in, struct h2_conn *c,
		      const char *path);
/* With nonblock: EAGAIN instead of parking, a short write when only part
 * fits. */
void in_stream_write(struct in_stream *in, fuse_req_t req, const char *buf,
		     size_t size, bool nonblock);
/* poll(2) for a writer: POLLOUT when a write would not park. */
unsigned in_stream_poll(struct in_stream *in, struct poller *pl,
			struct fuse_pollhandle *ph);
void in_stream_writer_open(struct in_stream *in);
void in_stream_writer_close(struct in_stream *in);
/* The `eof` verb: end the remote stdin once queued bytes are out. */
int in_stream_eof(struct in_stream *in);
/* The session's process ended: writes fail with EPIPE from now on, parked
 * ones included, and the stream ends. */
void in_stream_process_ended(struct in_stream *in);
/* Resuming: does stdin need its stream back; re-attach it on c; give up
 * (parked and later writes fail with EIO). */
bool in_stream_needs_resume(const struct in_stream *in);
int in_stream_resume(struct in_stream *in, struct h2_conn *c, const char *path);
void in_stream_give_up(struct in_stream *in);

#endif
