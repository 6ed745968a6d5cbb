/*
 * A session's output stream (stdout or stderr) as the file system sees it:
 * the HTTP/2 stream it arrives on, its history (history.h), the readers
 * with their cursors, reads parked at the tail, and poll waiters. What it
 * needs of its session comes in a struct stream_parent at creation; a tty
 * session's stdout is also given the session's echo wait (echo_wait.h).
 *
 * Offsets: a stream's bytes are numbered from 0 (st_size is the count
 * received). A reader reads kernel file offset o as stream offset
 * o + delta; delta stays 0 unless the history was trimmed under a reader
 * asking for bytes that are gone, which then continues at the oldest
 * retained byte ("each open reads from the oldest retained byte"). A
 * stream lost with its connection is asked for again from the first byte
 * not received (include/execfs/resume.h, the receiving side).
 */
#ifndef EXECFS_FS_STREAM_H
#define EXECFS_FS_STREAM_H

#include <stdint.h>
#include <time.h>

#include "fs.h"
#include "history.h"
#include "park.h"

struct echo_wait;
struct event_base;
struct h2_conn;
struct out_stream; /* opaque */
struct stream_parent;

/* A reader's state, embedded in its file handle; the fields are
 * stream.c's (out_reader_init, then attach). */
struct out_reader {
	struct out_stream *os; /* NULL once detached */
	struct history_reader hr;
	uint64_t delta;
	struct poller poller;
};

/* type: EXECFS_ST_STDOUT or EXECFS_ST_STDERR (a static string). cap: the
 * history's. base NULL (unit tests): parked reads are answered at once.
 * NULL when out of memory. */
struct out_stream *out_stream_new(const struct stream_parent *parent,
				  const char *type, size_t cap,
				  struct event_base *base);
/* Only when its HTTP/2 stream is gone (the session holds a reference per
 * open stream); answers what is still parked with EIO. NULL is fine. */
void out_stream_free(struct out_stream *os);
/* A tty session's stdout: output answers keys' echo waits, and POLLs
 * right after a key may wait for it. e lives as long as os. */
void out_stream_set_echo(struct out_stream *os, struct echo_wait *e);

/* Send the GET for this stream on c (part of a session's start flight).
 * Takes a parent reference until the stream closes. */
int out_stream_request(struct out_stream *os, struct h2_conn *c,
		       const char *path);
/* The session could not be started: nothing will come (EOF). */
void out_stream_abandon(struct out_stream *os);
/* Nobody will read the stream: reset it if it is still open. */
void out_stream_cancel(struct out_stream *os);
/* Resuming: was the stream lost before its end; ask for it again on c
 * from the first byte not received; give up (EIO after the last byte). */
bool out_stream_needs_resume(const struct out_stream *os);
int out_stream_resume(struct out_stream *os, struct h2_conn *c,
		      const char *path);
void out_stream_give_up(struct out_stream *os);

/* Bytes received (st_size) and when output last came (st_mtime). */
uint64_t out_stream_size(const struct out_stream *os);
struct timespec out_stream_mtime(const struct out_stream *os);
/* Is the history full of bytes no reader took, so the window is withheld
 * and the process stalls on that pipe? */
bool out_stream_full(const struct out_stream *os);

void out_reader_init(struct out_reader *r);
void out_reader_attach(struct out_stream *os, struct out_reader *r);
void out_reader_detach(struct out_reader *r);
/* Answer (now or later) a read of size bytes at kernel offset off. */
void out_reader_read(struct out_reader *r, fuse_req_t req, size_t size,
		     off_t off, bool nonblock);
/* poll(2): the ready mask now; arms ph (owned afterwards) when not ready. */
unsigned out_reader_poll(struct out_reader *r, struct fuse_pollhandle *ph);
/* poll(2) for events (POLLIN...) right after a key went to a tty
 * session's stdin: hold req (and ph) until output comes, for a moment at
 * most (echo_wait.h). True when req was taken; false: answer it with
 * out_reader_poll(). */
bool out_reader_poll_hold(struct out_reader *r, fuse_req_t req,
			  struct fuse_pollhandle *ph, unsigned events);

#endif
