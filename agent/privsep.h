/*
 * The messages between the privileged monitor and the unprivileged worker
 * (docs/SECURITY.md, "Privilege separation"), and the channel that carries
 * them: one SOCK_SEQPACKET socketpair, one message per datagram,
 *
 *   header  u32 type, u32 len (of the payload that follows)
 *   payload fixed-size integers (native byte order: both ends are one
 *           binary on one host) and strings as u32 length + bytes (no NUL,
 *           bounded per field); fds ride along with SCM_RIGHTS and their
 *           number must be exactly what the type and its flags say.
 *
 * The monitor decodes what the worker sends as hostile input: any message
 * that is not exactly well-formed is rejected and ends the worker.
 *
 *   worker -> monitor
 *     SPAWN        u64 id; then a struct exec_spec: str container; strv
 *                  argv; strv env; str cwd; str user; u32 flags (tty,
 *                  merge_stderr, has_env, has_cwd, has_user); u32 cols;
 *                  u32 rows
 *     SIGNAL       u64 id (cookie, 0: no answer); u64 token; i32 signal;
 *                  u32 flags (LAUNCH_SIG_FOREGROUND)
 *     PING         u64 id: the monitor answers PONG with it (the health
 *                  check: is the monitor's loop turning?)
 *   both ways, during an upgrade (docs/DEPLOY.md, "Upgrades"); the
 *   monitor accepts them from the worker only after it sent HANDOVER
 *     HANDOVER_FDS u32 count (1..5) + that many fds: the next fds of the
 *                  handover, in order
 *     HANDOVER_DATA u32 flags (last chunk); bytes (a chunk of handover.h's
 *                  worker document, after every HANDOVER_FDS)
 *   monitor -> worker
 *     INVENTORY    u32 flags (last chunk); bytes (a chunk of the JSON text)
 *     POLICY       u32 flags (last chunk); bytes (a chunk of the file)
 *     TLS          u32 flags (last chunk); bytes (a chunk of tlsfiles.h's
 *                  blob: certificate, key, client CAs, CRL), on SIGHUP
 *                  and when the files change
 *     LOGFILE      u32 flags (0) + one fd: the log file, reopened on
 *                  SIGUSR1, to write to from now on
 *     PONG         u64 id of the PING
 *     SPAWNED      u64 id; u64 token; i32 pid; u32 fds (which follow:
 *                  stdin, stdout, stderr, tty, report) + those fds
 *     SPAWN_FAILED u64 id; i32 errno; str message
 *     EXITED       u64 token; i32 wait status
 *     SIGNALED     u64 id; u64 token; i32 errno (0: sent); i32 target;
 *                  u32 flags (foreground)
 *     HANDOVER     u32 flags (0): hand every session over and exit
 *     HANDOVER_REFUSED (worker to monitor) u64 bytes: the sessions' state
 *                  would take that many, over HANDOVER_DOC_MAX; the
 *                  worker serves on
 */
#ifndef EXECFS_AGENT_PRIVSEP_H
#define EXECFS_AGENT_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec_spec.h"
#include "launch.h"

struct event_base;
struct privsep_chan;

enum privsep_type {
	PRIVSEP_SPAWN = 1,
	PRIVSEP_SIGNAL,
	PRIVSEP_PING,
	PRIVSEP_HANDOVER_FDS, /* both ways, during an upgrade only */
	PRIVSEP_HANDOVER_DATA,
	PRIVSEP_HANDOVER_REFUSED, /* worker to monitor */
	PRIVSEP_INVENTORY = 16,
	PRIVSEP_POLICY,
	PRIVSEP_SPAWNED,
	PRIVSEP_SPAWN_FAILED,
	PRIVSEP_EXITED,
	PRIVSEP_SIGNALED,
	PRIVSEP_TLS,
	PRIVSEP_LOGFILE,
	PRIVSEP_PONG,
	PRIVSEP_HANDOVER,
};

#define PRIVSEP_HDR_LEN 8
/* The largest datagram: a SPAWN at its limits (64 KiB of arguments and
 * 64 KiB of environment plus their length prefixes) fits. */
#define PRIVSEP_MSG_MAX (192 * 1024)
#define PRIVSEP_CHUNK_MAX (64 * 1024) /* INVENTORY, POLICY, TLS chunks */
#define PRIVSEP_STRV_MAX 4096 /* entries of argv or env */
#define PRIVSEP_STRV_BYTES (64 * 1024) /* their bytes in all */
#define PRIVSEP_STR_MAX 4096 /* container, cwd, user */
#define PRIVSEP_MESSAGE_MAX 1024 /* SPAWN_FAILED's reason */
#define PRIVSEP_MAX_FDS 5
/* Fds a channel's send queue may hold (a peer that does not read makes
 * the sender keep them open): half the process's RLIMIT_NOFILE when the
 * channel is made, at least this many (some 1600 start replies of 5 fds:
 * a large fan-out's burst must not read as a peer that does not read).
 * Beyond it a send fails with -ENOBUFS, as for bytes. The socket's own
 * buffer holds more, bounded by its size. */
#define PRIVSEP_QUEUE_FDS_MIN 8192
#define PRIVSEP_ERRNO_MAX 4095

/* SPAWN flags. */
#define PRIVSEP_SPAWN_TTY 0x01u
#define PRIVSEP_SPAWN_MERGE 0x02u
#define PRIVSEP_SPAWN_HAS_ENV 0x04u
#define PRIVSEP_SPAWN_HAS_CWD 0x08u
#define PRIVSEP_SPAWN_HAS_USER 0x10u
#define PRIVSEP_SPAWN_HAS_RUN_AS 0x20u
#define PRIVSEP_SPAWN_SEEN_PRIVILEGED 0x40u
/* INVENTORY, POLICY, TLS flags. */
#define PRIVSEP_LAST 0x01u
/* SPAWNED fd bits, in the order the fds are sent. */
#define PRIVSEP_FD_STDIN 0x01u
#define PRIVSEP_FD_STDOUT 0x02u
#define PRIVSEP_FD_STDERR 0x04u
#define PRIVSEP_FD_TTY 0x08u
#define PRIVSEP_FD_REPORT 0x10u
/* SIGNALED flags. */
#define PRIVSEP_SIGNALED_FG 0x01u

/* A decoded message. Strings and vectors are owned (privsep_msg_release);
 * so are fds, until the handler takes one (sets it to -1). */
struct privsep_msg {
	uint32_t type;
	uint64_t id; /* also PING, PONG */
	uint64_t token;
	int32_t num; /* SIGNAL: signal; SPAWNED: pid; SPAWN_FAILED, SIGNALED:
			errno; EXITED: wait status */
	int32_t target; /* SIGNALED */
	uint32_t flags;
	struct exec_spec spec; /* SPAWN */
	char *message; /* SPAWN_FAILED */
	uint8_t *data; /* INVENTORY, POLICY, TLS, HANDOVER_DATA */
	size_t len;
	int fds[PRIVSEP_MAX_FDS]; /* SPAWNED: in PRIVSEP_FD_* order;
				     LOGFILE: [0]; HANDOVER_FDS: in
				     order; -1 */
	size_t nfds;
	/* The message was sent with fds that did not arrive (the receiver
	 * was out of fd slots): fds are all -1. Only for a type that
	 * carries fds. */
	bool fds_lost;
};

/*
 * Decode one datagram (header included) that arrived with nfds fds. 0, or
 * -EINVAL (err says why) for anything malformed: an unknown type, a length
 * that disagrees, a field out of its bounds, a string with a NUL, bytes
 * left over, or a wrong number of fds. The fds are not taken: on success
 * msg->fds holds copies of them (the caller closes the originals on
 * failure only).
 */
int privsep_msg_decode(const uint8_t *buf, size_t len, const int *fds,
		       size_t nfds, struct privsep_msg *msg, char *err,
		       size_t errlen);
/* Frees what decode allocated and closes the fds still held. */
void privsep_msg_release(struct privsep_msg *msg);

/* Whether a type may come from the worker (the only ones the monitor
 * accepts). */
bool privsep_from_worker(uint32_t type);

/*
 * Encoders: a malloc'ed datagram in *out (*outlen bytes), 0 or -EINVAL
 * (a field over its bounds) / -ENOMEM.
 */
int privsep_encode_spawn(uint64_t id, const struct exec_spec *spec,
			 uint8_t **out, size_t *outlen);
int privsep_encode_signal(uint64_t id, uint64_t token, int sig, unsigned flags,
			  uint8_t **out, size_t *outlen);
int privsep_encode_chunk(uint32_t type, const void *data, size_t len, bool last,
			 uint8_t **out, size_t *outlen);
/* fds: PRIVSEP_FD_* bits of st's fds that are >= 0. */
int privsep_encode_spawned(uint64_t id, uint64_t token, pid_t pid, uint32_t fds,
			   uint8_t **out, size_t *outlen);
int privsep_encode_spawn_failed(uint64_t id, int err, const char *message,
				uint8_t **out, size_t *outlen);
int privsep_encode_exited(uint64_t token, int wstatus, uint8_t **out,
			  size_t *outlen);
int privsep_encode_signaled(uint64_t id, uint64_t token, int err, pid_t target,
			    bool foreground, uint8_t **out, size_t *outlen);
/* HANDOVER (monitor to worker); HANDOVER_FDS for nfds fds (which go with
 * privsep_chan_send()). */
int privsep_encode_handover(uint8_t **out, size_t *outlen);
int privsep_encode_handover_fds(size_t nfds, uint8_t **out, size_t *outlen);
/* HANDOVER_REFUSED: the worker's answer to HANDOVER when its sessions'
 * state (bytes) is over the bound. */
int privsep_encode_handover_refused(uint64_t bytes, uint8_t **out,
				    size_t *outlen);
/* PING or PONG. */
int privsep_encode_ping(uint32_t type, uint64_t id, uint8_t **out,
			size_t *outlen);
/* LOGFILE: the fd goes with privsep_chan_send(). */
int privsep_encode_logfile(uint8_t **out, size_t *outlen);

/* ---- the channel ---- */

struct privsep_chan_cbs {
	/* A well-formed message (its fds owned by msg; release follows). */
	void (*on_msg)(struct privsep_chan *ch, struct privsep_msg *msg,
		       void *arg);
	/* The peer closed its end, or broke the protocol (why says which),
	 * or the queue overflowed. No more callbacks follow. */
	void (*on_error)(struct privsep_chan *ch, const char *why, void *arg);
};

/* fd: our end of the socketpair (made non-blocking here); owned. */
struct privsep_chan *privsep_chan_new(struct event_base *base, int fd,
				      const struct privsep_chan_cbs *cbs,
				      void *arg);
void privsep_chan_free(struct privsep_chan *ch);
/* The fds ch's send queue may hold (PRIVSEP_QUEUE_FDS_MIN). */
size_t privsep_chan_fds_max(const struct privsep_chan *ch);

/*
 * Queue a datagram (taking buf, malloc'ed) with nfds fds, taken too (each
 * slot of fds is set to -1; closed on failure): no fd is duplicated, so a
 * process short of fds can still hand them on. Sent in order as the socket
 * takes them. -ENOBUFS when the queue would hold more than its cap of
 * bytes or of fds (privsep_chan_fds_max(); the peer is not reading), -EPIPE after an error, -EINVAL for an empty message (the
 * peer could not tell it from a close) or more than PRIVSEP_MAX_FDS fds.
 */
int privsep_chan_send(struct privsep_chan *ch, uint8_t *buf, size_t len,
		      int *fds, size_t nfds);

/* Send every queued datagram now, waiting as long as it takes (at the
 * end, before the process exits, and for a handover, which may hold more
 * than the queue's cap). */
void privsep_chan_flush(struct privsep_chan *ch);

/* Block until the peer closed its end, dropping whatever it still sends.
 * For a process about to exit whose last messages must all be read: a
 * socket closed with unread datagrams in its queue makes the peer's next
 * read fail (ECONNRESET) before it read the ones queued for it. */
void privsep_chan_wait_close(struct privsep_chan *ch);

/* A socketpair for the channel: SOCK_SEQPACKET, close-on-exec, with send
 * buffers that hold PRIVSEP_MSG_MAX. */
int privsep_socketpair(int fds[2]);

#endif
