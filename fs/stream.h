/*
 * A session's output stream (stdout or stderr) as the file system sees it:
 * the HTTP/2 stream it arrives on, its history (history.h), the readers
 * with their cursors, reads parked at the tail, and poll waiters.
 *
 * Offsets: a stream's bytes are numbered from 0 (st_size is the count
 * received). A reader reads kernel file offset o as stream offset
 * o + delta; delta stays 0 unless the history was trimmed under a reader
 * asking for bytes that are gone, which then continues at the oldest
 * retained byte ("each open reads from the oldest retained byte").
 */
#ifndef EXECFS_FS_STREAM_H
#define EXECFS_FS_STREAM_H

#include <stdint.h>
#include <time.h>

#include "fs.h"
#include "history.h"
#include "park.h"

struct h2_conn;
struct h2_stream;
struct session;

enum out_state {
	OUT_IDLE, /* not requested yet (session not started) */
	OUT_OPEN, /* requested; bytes may still come */
	OUT_ENDED, /* the agent ended it: EOF after the last byte */
	OUT_LOST, /* reset or connection lost: EIO after the last byte */
};

struct event;
struct event_base;

struct out_stream {
	struct session *sess; /* back pointer; the session embeds us */
	const char *type; /* EXECFS_ST_STDOUT or EXECFS_ST_STDERR */
	enum out_state state;
	struct h2_stream *st; /* while open; freed by the transport */
	int http_status; /* 0 until the response headers came */
	bool resumed; /* st is a resume's GET: a refusal means lost */
	struct history *hist; /* owned */
	struct list parked; /* struct out_read (stream.c) */
	struct list pollers; /* struct poller of readers' handles */
	struct timespec mtime; /* when output last arrived */
	/* owned; at FS_PRIO_IDLE: answers parked reads with what there is
	 * once the loop has no more input to process, so while output keeps
	 * coming a read gets all it asked for in one reply, not one network
	 * read's worth. NULL (no event loop: unit tests): answer at once. */
	struct event *wake_ev;
	/* POLLs held for a key's echo (struct out_poll, stream.c), and the
	 * owned timer that answers them when it does not come in time; NULL
	 * without an event loop (nothing is held). */
	struct list held;
	struct event *hold_ev;
};

/* A reader's state, embedded in its file handle. */
struct out_reader {
	struct out_stream *os; /* NULL once detached */
	struct history_reader hr;
	uint64_t delta;
	struct poller poller;
};

int out_stream_init(struct out_stream *os, struct session *s, const char *type,
		    size_t cap, struct event_base *base);
/* Only when the HTTP/2 stream is gone (the session holds a reference per
 * open stream); answers what is still parked with EIO. */
void out_stream_release(struct out_stream *os);

/* Send the GET for this stream on c (part of a session's start flight).
 * Takes a session reference until the stream closes. */
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

uint64_t out_stream_size(const struct out_stream *os);

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
