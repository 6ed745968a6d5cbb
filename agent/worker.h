/*
 * The unprivileged worker's side of privilege separation: the launcher
 * whose every start and signal is a message to the monitor (privsep.h),
 * the reassembly of the monitor's inventory and policy texts, and the
 * irreversible drop to an unprivileged user.
 */
#ifndef EXECFS_AGENT_WORKER_H
#define EXECFS_AGENT_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct handover_rx;
struct launcher;
struct launch_cbs;

struct worker_cbs {
	/* A whole text from the monitor: the container list
	 * (inventory_to_json) or the policy file's bytes on SIGHUP. */
	void (*on_inventory)(void *arg, const char *text, size_t len);
	void (*on_policy)(void *arg, const char *text, size_t len);
	/* tlsfiles.h's blob (wiped after the call). */
	void (*on_tls)(void *arg, const uint8_t *blob, size_t len);
	/* The reopened log file (owned by the callee). */
	void (*on_logfile)(void *arg, int fd);
	/* The monitor answered worker_ping(id). */
	void (*on_pong)(void *arg, uint64_t id);
	/* The channel is gone or broke: the worker cannot go on. */
	void (*on_lost)(void *arg, const char *why);
	/* The monitor asks for every session (an upgrade in place): the
	 * callee sends them with worker_handover_send() and exits, or refuses
	 * with worker_handover_refuse() and serves on. */
	void (*on_handover)(void *arg);
	/* The sessions of the worker before this one: handover.h's worker
	 * document and its fds, moved into *rx (the callee's, released
	 * with handover_rx_release()). */
	void (*on_adopt)(void *arg, struct handover_rx *rx);
};

/* The remote launcher over the channel fd (owned). NULL when out of
 * memory (fd closed). */
struct launcher *worker_launcher_new(struct event_base *base, int fd,
				     const struct launch_cbs *cbs,
				     const struct worker_cbs *wcbs, void *arg);

/* Ask the monitor to answer (on_pong with id). 0 or -errno. */
int worker_ping(struct launcher *l, uint64_t id);

/* The handover: doc and its fds (taken) to the monitor, waiting until
 * they are sent and the monitor closed the channel (it kills this
 * process once it read them); from then on nothing more goes to the
 * monitor (a job dropped by the worker's end is not killed). 0 or
 * -errno. */
/* The answer to a HANDOVER when the sessions' state would take bytes, over
 * HANDOVER_DOC_MAX: the monitor drops the upgrade and this worker serves
 * on. 0 or -errno. */
int worker_handover_refuse(struct launcher *l, uint64_t bytes);
int worker_handover_send(struct launcher *l, const uint8_t *doc, size_t len,
			 int *fds, size_t nfds);
/* A job for a process the worker before this one started (token: the
 * monitor's name for it), as if this worker had started it; arg as
 * launcher_start()'s. NULL when out of memory. */
struct launch_job *worker_launcher_adopt(struct launcher *l, uint64_t token,
					 void *arg);
/* The token of a job this launcher started (0 before SPAWNED). */
/* The sessions handed over are adopted (or not): the statuses of their
 * jobs that came before they were go to them now, the rest are dropped. */
void worker_launcher_adopt_done(struct launcher *l);
uint64_t worker_job_token(const struct launch_job *j);
/* Send what is queued for the monitor, waiting (at the end). */
void worker_launcher_flush(struct launcher *l);

/* NAME or UID of the user the worker runs as: its uid and primary gid.
 * Root (uid 0) is refused. 0, or -errno with the reason in err. */
int worker_user_resolve(const char *user, uid_t *uid, gid_t *gid, char *err,
			size_t errlen);

/*
 * Become uid/gid for good: no supplementary groups, real, effective and
 * saved ids changed, no_new_privs; then check that it held (uid not 0,
 * setuid(0) fails, no effective capability). 0, or -errno with err.
 */
int worker_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
