/*
 * A session: one process started in a container, seen through its HTTP/2
 * streams (status first, then stdout, stderr and stdin, sent in one
 * flight). Reference counted: the container holds its current session, each
 * open file handle holds the session it was opened on, and each open HTTP/2
 * stream holds it until its on_close (the stream's callbacks point at it).
 *
 * State machine (input -> transition), one switch per input in session.c:
 *   NEW      --start-->         STARTING  (ctl write parked)
 *   STARTING --200-->           RUNNING   (ctl write answered: count)
 *   STARTING --error doc-->     FAILED    (ctl write answered: its errno)
 *   RUNNING  --status doc-->    EXITED / KILLED (waiters answered)
 *   STARTING/RUNNING --status stream closed without its end--> LOST
 *            (ctl write ENOTCONN, waiters EIO)
 */
#ifndef EXECFS_FS_SESSION_H
#define EXECFS_FS_SESSION_H

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
};

struct session {
	unsigned refs;
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
	struct park *start; /* the parked ctl write, or NULL */
	struct list start_q; /* holds start (park_add wants a queue) */
	size_t start_count; /* what that write is answered on success */
	struct out_stream out[2]; /* stdout, stderr */
	struct in_stream in;
	struct list waiters; /* parked reads of `wait` */
	struct list pollers; /* poll waiters on `wait` */
};

#define SESSION_STDOUT 0
#define SESSION_STDERR 1

/* A session for container id, numbered num; one reference for the caller. */
struct session *session_new(const char *container, unsigned num,
			    size_t history_cap);
void session_get(struct session *s);
void session_put(struct session *s);
const char *session_sid(const struct session *s);
bool session_ended(const struct session *s);

/*
 * Start argv in the session on connection c (NULL: not connected). On 0 the
 * ctl write req is parked and answered with count (or an errno) when the
 * agent answers; on -errno the caller answers req.
 */
int session_start(struct session *s, struct h2_conn *c, char *const *argv,
		  size_t argc, fuse_req_t req, size_t count);

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
void in_stream_write(struct in_stream *in, fuse_req_t req, const char *buf,
		     size_t size);
void in_stream_writer_open(struct in_stream *in);
void in_stream_writer_close(struct in_stream *in);
/* The `eof` verb: end the remote stdin once queued bytes are out. */
int in_stream_eof(struct in_stream *in);

#endif
