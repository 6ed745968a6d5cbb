/*
 * A test bench for the agent's HTTP/2 side, for unit tests of the session
 * streams and the router: the agent's real server, session table, policy
 * and (mirror) inventory behind a real h2 listener on a Unix socket in a
 * temporary directory, a real h2 client connection to it in the same
 * event loop, and a fake launcher (launch.h) whose "processes" are real
 * pipes (or a real pty) that the test holds the other ends of. The test
 * decides when a start is decided, when a process exits and how a signal
 * is answered, so ordering is under its control, not the clock's.
 *
 * Waits are bounded by HARNESS_WAIT_SECONDS and fail the test with what
 * was waited for; nothing asserts on timing.
 */
#ifndef EXECFS_TESTS_AGENT_HARNESS_H
#define EXECFS_TESTS_AGENT_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "launch.h"

struct evbuffer;
struct h2_conn;
struct h2_stream;
struct harness;

#define HARNESS_WAIT_SECONDS 30
#define HARNESS_MAX_CLIENTS 8
/* The container every harness's inventory has, running. */
#define HARNESS_CONTAINER "c1"

/* A client stream. Lives until harness_free(), after its h2 stream
 * closed. */
struct hstream {
	struct harness *h;
	struct h2_stream *st; /* NULL once closed */
	int status; /* response status, 0 until it came */
	struct evbuffer *body; /* owned; every body byte received */
	size_t unconsumed; /* received, window not yet returned */
	bool consume; /* return window at once (default true) */
	bool ended; /* END_STREAM came */
	bool closed;
	uint32_t code; /* on_close's error code */
	char *text; /* owned; hstream_text() */
	struct hstream *next;
};

/* A start the fake launcher was asked for. The "process" side fds are
 * the test's: -1 when not there. */
struct fake_job {
	struct launch_job base;
	struct harness *h;
	bool tty; /* the spec asked for one */
	char argv0[64];
	bool started, exited, dropped;
	int in_rd; /* the process's stdin: read it */
	int out_wr, err_wr; /* its stdout and stderr: write them */
	int report_wr; /* close: execve succeeded */
	int tty_slave; /* with a tty: the terminal */
	int tty_master; /* with a tty: a dup of the agent's master */
	/* The last signal asked for. */
	int sig;
	unsigned sig_flags;
	uint64_t cookie;
	unsigned nsignals;
	struct fake_job *next;
};

struct harness {
	struct event_base *base;
	char dir[64];
	char addr[128];
	struct inventory *inv;
	struct policy *policy;
	struct audit *audit; /* owned; NULL: none */
	struct launcher launcher; /* the fake one */
	struct xsession_table *table;
	struct server *srv;
	struct h2_listener *l;
	struct h2_conn *client; /* the newest client connection */
	struct h2_conn *old[HARNESS_MAX_CLIENTS]; /* older ones still up */
	bool ready; /* it is established */
	struct event *deadline; /* owned; armed during a wait */
	bool timed_out;
	struct hstream *streams;
	struct fake_job *jobs; /* newest first */
	unsigned njobs;
};

/* One running container as the mirror inventory takes it
 * (inventory_to_json's form), annotated with labels (taken; NULL: none):
 * a new reference. */
json_t *harness_container_json(const char *id, json_t *labels);
/* The container list document of containers (an array, taken). */
char *harness_inventory_text(json_t *containers);

/* Everything set up and one client connection established. inventory:
 * the container list (inventory_to_json's form) or NULL for one running
 * container HARNESS_CONTAINER. */
struct harness *harness_new(const char *inventory);
void harness_free(struct harness *h);

/* Replace the policy (a JSON text; the test fails on a bad one) and tell
 * the watchers, as the agent does on a reload. */
void harness_set_policy(struct harness *h, const char *text);
/* Audit to path from now on (opened by the harness, closed at its end);
 * required: --audit-required. */
void harness_set_audit(struct harness *h, const char *path, bool required);

/* A new client connection, which becomes h->client. The older one is
 * left as it is (a client that resumes has given it up). */
void harness_connect(struct harness *h);
/* The client connection vanishes (no GOAWAY): the agent's streams on it
 * are lost once it reads the end. */
void harness_drop_client(struct harness *h);

/* Open a stream on h->client. path: a full path, or NULL for
 * /v1/sessions/<sid>; streamtype NULL: no such header; offset < 0: no
 * offset header; end: no body follows. */
struct hstream *harness_open(struct harness *h, const char *method,
			     const char *path, const char *sid,
			     const char *streamtype, long long offset,
			     bool end);
void hstream_send(struct hstream *s, const void *buf, size_t len);
void hstream_end(struct hstream *s);
/* Return the window of every byte received so far. */
void hstream_consume_all(struct hstream *s);
size_t hstream_len(const struct hstream *s);
/* The body as a NUL-terminated string (owned by s). */
const char *hstream_text(struct hstream *s);

/* A session's status POST with the exec request {"container": c1,
 * "argv": [argv0], "tty": tty}, ended. */
struct hstream *harness_exec(struct harness *h, const char *sid,
			     const char *argv0, bool tty);

/* The fake launcher's newest job (fails the test if there is none). */
struct fake_job *harness_job(struct harness *h);
/* Decide the start: real pipes (or a pty with tty) go to the session.
 * The report stays open: fake_job_exec_ok() says execve succeeded. */
void fake_job_start(struct fake_job *j);
void fake_job_exec_ok(struct fake_job *j);
/* The start failed. */
void fake_job_fail(struct fake_job *j, int err, const char *message);
/* The process was reaped. */
void fake_job_exit(struct fake_job *j, int wstatus);
/* Answer the last signal asked for. */
void fake_job_answer_signal(struct fake_job *j, int err);
/* Write all of buf to the process's stdout, running the loop while the
 * pipe is full. */
void fake_job_write_out(struct fake_job *j, const void *buf, size_t len);

/* Run the loop until cond holds, at most HARNESS_WAIT_SECONDS. */
#define HARNESS_UNTIL(h, cond)                    \
	do {                                      \
		harness_wait_begin(h);            \
		while (!(cond))                   \
			harness_step((h), #cond); \
		harness_wait_end(h);              \
	} while (0)
void harness_wait_begin(struct harness *h);
void harness_step(struct harness *h, const char *what);
void harness_wait_end(struct harness *h);
/* Run the loop until nothing is left to do now: for "nothing happened"
 * checks. */
void harness_settle(struct harness *h);

#endif
