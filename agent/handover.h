/*
 * The agent's state as it crosses an upgrade in place (docs/DEPLOY.md,
 * "Upgrades"): one encoder and one decoder for each of the two documents
 * an upgrade writes.
 *
 *   the worker's   every session the old worker carried (its streams'
 *   state          offsets, the output bytes a client may lack, stdin
 *                  bytes received but not yet in the pipe, the exit
 *                  status of one that ended) and its listening sockets.
 *                  Written by the old worker, carried unread by the
 *                  monitor, read by the new worker in two steps: while
 *                  still root, only the header and the listeners
 *                  (handover_decode_listeners: the sockets it must hold
 *                  before it drops its rights); the sessions only once
 *                  it runs as --user in its sandbox. A hostile worker
 *                  can then only hurt the worker that follows it, which
 *                  runs with the same rights.
 *   the monitor's  the job table (pid, pidfd, terminal, a status reaped
 *   state          while the handover ran) and the worker's document with
 *                  its fds, handed by the monitor to its own next image
 *                  across execve() in a memfd.
 *
 * Fds are not in the bytes: the worker's document names them by index
 * into the list of fds that travelled with it (SCM_RIGHTS, in order); the
 * monitor's names fd numbers kept open across its execve(). Integers are
 * in native byte order (one binary on one host writes and reads both),
 * strings are u32 length + bytes, bounded, without NUL. The decoders
 * refuse anything the encoders would not write: a wrong magic or version,
 * a field over its bound, an fd index out of range or used twice, bytes
 * left over.
 */
#ifndef EXECFS_AGENT_HANDOVER_H
#define EXECFS_AGENT_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "execfs/proto.h"

#define HANDOVER_VERSION 2
/* The line `execfs-agent --handover-check` prints: an old agent upgrades
 * only to a binary that prints exactly this. */
#define HANDOVER_CHECK_LINE "execfs-agent handover 2\n"

#define HANDOVER_MAX_SESSIONS 65536
#define HANDOVER_MAX_LISTENERS 64
#define HANDOVER_MAX_FDS (6 * HANDOVER_MAX_SESSIONS + HANDOVER_MAX_LISTENERS)
#define HANDOVER_ADDR_MAX 255
#define HANDOVER_IDENTITY_MAX 255
#define HANDOVER_HELD_MAX (64u * 1024 * 1024) /* per output or stdin */
/* The worker's document, at most: a worker whose sessions would take more
 * refuses the handover (PRIVSEP_HANDOVER_REFUSED) and serves on. */
#define HANDOVER_DOC_MAX (256u * 1024 * 1024)
/* The bytes of a session in the worker's document, its held bytes aside,
 * at most: 3 strings at their bounds with their lengths, 120 bytes of
 * fixed fields. */
#define HANDOVER_SESSION_FIXED                                 \
	(120u + 12u + EXECFS_SID_LEN + HANDOVER_IDENTITY_MAX + \
	 EXECFS_MAX_NAME_LEN)
/* The header and listeners, at most. */
#define HANDOVER_HEAD_MAX \
	(20u + HANDOVER_MAX_LISTENERS * (8u + HANDOVER_ADDR_MAX))
/* The monitor's state, at most: the worker's document and the jobs and
 * fds around it. */
#define HANDOVER_STATE_MAX                                      \
	(HANDOVER_DOC_MAX + 40u + 28u * HANDOVER_MAX_SESSIONS + \
	 4u * HANDOVER_MAX_FDS + 4u)

/* A session's state. */
enum handover_state {
	HANDOVER_SPAWNING = 1, /* started; its execve's report is pending */
	HANDOVER_RUNNING,
	HANDOVER_EXITED,
};

/* Session flags. */
#define HANDOVER_TTY 0x001u
#define HANDOVER_REAPED 0x002u /* wstatus is valid */
#define HANDOVER_AUDITED 0x004u
#define HANDOVER_IN_END 0x008u /* the client ended stdin */
#define HANDOVER_IN_LINE_START 0x010u
#define HANDOVER_IN_BULK 0x020u
#define HANDOVER_OUT0_BULK 0x040u
#define HANDOVER_OUT1_BULK 0x080u
#define HANDOVER_FLAGS_ALL 0x0ffu

struct handover_out {
	uint64_t end; /* bytes put into streams, in all */
	uint8_t *held; /* owned: bytes [end - held_len, end) */
	size_t held_len;
	int32_t fd; /* index of the pipe's read end, -1 at EOF */
};

struct handover_session {
	char sid[EXECFS_SID_LEN + 1];
	char identity[HANDOVER_IDENTITY_MAX + 1];
	char container[EXECFS_MAX_NAME_LEN + 1];
	uint32_t state; /* enum handover_state */
	uint32_t flags;
	uint64_t token; /* the monitor's; 0 once reaped */
	int32_t pid;
	int32_t wstatus;
	int64_t started_sec, started_nsec; /* CLOCK_MONOTONIC */
	uint32_t audit_cols, audit_rows;
	int32_t fd_in, fd_tty, fd_report; /* indices, or -1 */
	struct handover_out out[2];
	uint64_t in_received; /* stdin bytes received, in all */
	uint8_t *in_buf; /* owned: received, not yet in the pipe */
	size_t in_len;
	uint64_t in_eof_left, in_delivered;
};

struct handover_listener {
	char address[HANDOVER_ADDR_MAX + 1]; /* as --listen gave it */
	int32_t fd; /* index */
};

struct handover_doc {
	struct handover_session *sessions; /* owned */
	size_t nsessions;
	struct handover_listener *listeners; /* owned */
	size_t nlisteners;
};

/* A malloc'ed document in *out; 0, -EINVAL (a field over its bound) or
 * -ENOMEM. nfds: how many fds go with it (indices are checked against
 * it). */
int handover_encode(const struct handover_doc *d, size_t nfds, uint8_t **out,
		    size_t *outlen);
/* An upper bound of the size of the worker's document for nsessions
 * sessions holding held bytes (output and stdin) in all: over
 * HANDOVER_DOC_MAX, the handover is refused before anything is copied. */
uint64_t handover_doc_size(size_t nsessions, uint64_t held);
/* 0, or -EINVAL with err saying why (d is then empty). */
int handover_decode(const uint8_t *buf, size_t len, size_t nfds,
		    struct handover_doc *d, char *err, size_t errlen);
/* The header and the listeners only (d->nsessions is 0), the few bytes a
 * worker reads before its privilege drop; what follows is not looked at.
 * 0, or -EINVAL with err saying why. */
int handover_decode_listeners(const uint8_t *buf, size_t len, size_t nfds,
			      struct handover_doc *d, char *err, size_t errlen);
void handover_doc_release(struct handover_doc *d);

/* ---- the monitor's state across its execve() ---------------------------- */

struct handover_job {
	uint64_t token;
	int32_t pid;
	int32_t pidfd; /* fd numbers, kept open across the exec */
	int32_t tty_fd; /* -1 without a terminal */
	bool exited; /* reaped while the handover ran: wstatus */
	int32_t wstatus;
};

struct handover_monitor {
	uint64_t next_token;
	/* RLIMIT_NOFILE as the first image found it, before it raised it
	 * (fdlimit.h): what sessions are started with. */
	uint64_t nofile_cur, nofile_max;
	struct handover_job *jobs; /* owned */
	size_t njobs;
	int32_t *fds; /* owned: the worker's fds, by number, in order */
	size_t nfds;
	uint8_t *doc; /* owned: the worker's document, as it sent it */
	size_t doc_len;
};

int handover_monitor_encode(const struct handover_monitor *m, uint8_t **out,
			    size_t *outlen);
int handover_monitor_decode(const uint8_t *buf, size_t len,
			    struct handover_monitor *m, char *err,
			    size_t errlen);
void handover_monitor_release(struct handover_monitor *m);

#endif
