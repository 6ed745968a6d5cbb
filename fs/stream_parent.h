/*
 * What an output or stdin stream needs from the session it belongs to,
 * handed over when the stream is made: a reference for each HTTP/2 stream
 * it has open (the stream's callbacks point into the session), a way to
 * say it was lost with its connection, a name for log lines, and (tty
 * sessions) the echo wait its keys and output feed. Streams know nothing
 * else of sessions; session.c fills this in.
 */
#ifndef EXECFS_FS_STREAM_PARENT_H
#define EXECFS_FS_STREAM_PARENT_H

struct stream_parent {
	void *arg; /* the session: not owned */
	const char *name; /* for log lines; lives as long as arg */
	void (*get)(void *arg); /* one reference, per open HTTP/2 stream */
	void (*put)(void *arg); /* drop it (may free arg: call it last) */
	/* The HTTP/2 stream was lost with its connection: the session waits
	 * for the node to come back and then resumes the stream. */
	void (*lost)(void *arg);
};

#endif
