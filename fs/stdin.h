/*
 * A session's stdin as the file system sees it: the writer side of a FIFO
 * whose reader is the remote process. Writes arrive in order; one that
 * does not fit the stream's outgoing buffer is parked until the transport
 * reports room; when the last handle open for writing is released the
 * remote stdin gets EOF. What it needs of its session comes in a struct
 * stream_parent at creation; a tty session's stdin is also given the
 * session's echo wait (echo_wait.h), which learns of every key.
 *
 * A stream lost with its connection keeps what the agent may lack and the
 * next connection's stream starts with it (include/execfs/resume.h, the
 * sending side): nothing lost, nothing twice.
 */
#ifndef EXECFS_FS_STDIN_H
#define EXECFS_FS_STDIN_H

#include <stdbool.h>

#include "fs.h"

struct echo_wait;
struct h2_conn;
struct in_stream; /* opaque */
struct poller;
struct stream_parent;

/* NULL when out of memory. */
struct in_stream *in_stream_new(const struct stream_parent *parent);
/* Only when its HTTP/2 stream is gone (the parent holds a reference per
 * open stream); parked writes fail with EIO. NULL is fine. */
void in_stream_free(struct in_stream *in);
/* A tty session's stdin: every write is a key whose echo output may
 * wait for. e lives as long as in. */
void in_stream_set_echo(struct in_stream *in, struct echo_wait *e);

/* POST the stream on c (part of a session's start flight). Takes a parent
 * reference until the stream closes. */
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
/* The `eof` verb: end the remote stdin once queued bytes are out.
 * -ENOTCONN before the stream was requested. */
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
