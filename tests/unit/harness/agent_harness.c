/*
 * The agent test bench (agent_harness.h): real server, session table,
 * policy, mirror inventory and h2 connections; a fake launcher whose
 * processes are pipes the test holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_harness.h"
#include "audit.h"
#include "exec_spec.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/proto.h"
#include "inventory.h"
#include "policy.h"
#include "spawn_internal.h"
#include "server.h"
#include "session.h"

/* Every peer may exec: the tests are about streams, not policy. */
static const char allow_all[] =
	"{\"rules\": [{\"principals\": [\"uid:*\", \"*\"], "
	"\"actions\": [\"exec\"]}]}";

json_t *harness_container_json(const char *id, json_t *labels)
{
	json_t *c = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, "
		"s:b, s:o, s:s, s:[]}",
		EXECFS_J_ID, id, EXECFS_J_RUNTIME_ID, id, EXECFS_J_NAMESPACE,
		"default", EXECFS_J_POD, id, EXECFS_J_NAME, id, EXECFS_J_PID, 1,
		EXECFS_J_STATE, "running", EXECFS_J_RUNTIME, "runc",
		EXECFS_J_ROOT, "/run/runc", EXECFS_J_BUNDLE, "/b",
		EXECFS_J_IMAGE, "", EXECFS_J_CREATED, "", EXECFS_J_PRIVILEGED,
		0, EXECFS_J_LABELS, labels ? labels : json_object(),
		EXECFS_J_NAMING, "runtime", EXECFS_J_NAME_SOURCES);

	assert_non_null(c);
	return c;
}

char *harness_inventory_text(json_t *containers)
{
	json_t *doc = json_pack("{s:s, s:o}", "node", "n1", EXECFS_J_CONTAINERS,
				containers);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	assert_non_null(text);
	json_decref(doc);
	return text;
}

/* ---- the fake launcher -------------------------------------------------- */

static struct launch_job *fake_start(struct launcher *l,
				     const struct exec_spec *spec, void *arg)
{
	struct harness *h =
		(struct harness *)((char *)l -
				   offsetof(struct harness, launcher));
	struct fake_job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->base.l = l;
	j->base.arg = arg;
	j->h = h;
	j->tty = spec->tty;
	snprintf(j->argv0, sizeof(j->argv0), "%s", spec->argv[0]);
	j->in_rd = j->out_wr = j->err_wr = j->report_wr = -1;
	j->tty_slave = j->tty_master = -1;
	j->next = h->jobs;
	h->jobs = j;
	h->njobs++;
	return &j->base;
}

static void fake_signal(struct launch_job *lj, int sig, unsigned flags,
			uint64_t cookie)
{
	struct fake_job *j = (struct fake_job *)lj;

	j->sig = sig;
	j->sig_flags = flags;
	j->cookie = cookie;
	j->nsignals++;
}

static void fake_drop(struct launch_job *lj)
{
	struct fake_job *j = (struct fake_job *)lj;

	j->base.arg = NULL;
	j->dropped = true;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fake_job_free(struct fake_job *j)
{
	fd_close(&j->in_rd);
	fd_close(&j->out_wr);
	fd_close(&j->err_wr);
	fd_close(&j->report_wr);
	fd_close(&j->tty_slave);
	fd_close(&j->tty_master);
	free(j);
}

static void fake_free(struct launcher *l)
{
	(void)l;
}

static const struct launcher_ops fake_ops = {
	.start = fake_start,
	.signal = fake_signal,
	.drop = fake_drop,
	.free = fake_free,
};

struct fake_job *harness_job(struct harness *h)
{
	assert_non_null(h->jobs);
	return h->jobs;
}

/* A pipe: the agent's end non-blocking, both ends close-on-exec. */
static void fake_pipe(int p[2], bool agent_reads)
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[agent_reads ? 0 : 1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(p[agent_reads ? 1 : 0], F_SETFL, O_NONBLOCK), 0);
}

static void fake_pty(struct fake_job *j, struct launch_started *st)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	j->tty_slave = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(j->tty_slave >= 0);
	j->tty_master = fcntl(m, F_DUPFD_CLOEXEC, 0);
	st->tty_fd = m;
	st->stdin_fd = fcntl(m, F_DUPFD_CLOEXEC, 0);
	st->stdout_fd = fcntl(m, F_DUPFD_CLOEXEC, 0);
	st->stderr_fd = -1;
}

void fake_job_start(struct fake_job *j)
{
	/* Its pid is ours: the ids of fake_job_exec_ok() come from us, and
	 * are taken only from the start's process (spawn_report.h). */
	struct launch_started st = { .pid = getpid() };
	int p[2];

	assert_false(j->started);
	j->started = true;
	if (j->tty) {
		fake_pty(j, &st);
	} else {
		st.tty_fd = -1;
		fake_pipe(p, false);
		st.stdin_fd = p[1];
		j->in_rd = p[0];
		fake_pipe(p, true);
		st.stdout_fd = p[0];
		j->out_wr = p[1];
		fake_pipe(p, true);
		st.stderr_fd = p[0];
		j->err_wr = p[1];
	}
	/* The report is a socket, as spawn.h's (its reader uses recvmsg). */
	assert_int_equal(
		socketpair(AF_UNIX,
			   SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p),
		0);
	assert_int_equal(setsockopt(p[0], SOL_SOCKET, SO_PASSCRED, &(int){ 1 },
				    sizeof(int)),
			 0);
	st.report_fd = p[0];
	j->report_wr = p[1];
	assert_non_null(j->base.arg);
	j->h->launcher.cbs->on_start(j->base.arg, 0, NULL, &st);
}

void fake_job_exec_ok(struct fake_job *j)
{
	/* As B: its ids first, then its execve closes its end. */
	spawn_ids_send(j->report_wr, getuid(), getgid(), NULL, 0);
	fd_close(&j->report_wr);
}

void fake_job_fail(struct fake_job *j, int err, const char *message)
{
	assert_false(j->started);
	j->started = j->exited = true;
	j->h->launcher.cbs->on_start(j->base.arg, err, message, NULL);
}

void fake_job_exit(struct fake_job *j, int wstatus)
{
	assert_false(j->exited);
	j->exited = true;
	if (j->base.arg)
		j->h->launcher.cbs->on_exit(j->base.arg, wstatus);
}

void fake_job_answer_signal(struct fake_job *j, int err)
{
	assert_true(j->cookie != 0);
	j->h->launcher.cbs->on_signal(j->base.arg, j->cookie, err, 4242, false);
}

void fake_job_write_out(struct fake_job *j, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(j->out_wr, p, len);

		if (n < 0 && errno == EAGAIN) {
			harness_wait_begin(j->h);
			harness_step(j->h, "room in the stdout pipe");
			harness_wait_end(j->h);
			continue;
		}
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* ---- waiting ------------------------------------------------------------ */

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct harness *h = arg;

	(void)fd;
	(void)what;
	h->timed_out = true;
}

void harness_wait_begin(struct harness *h)
{
	struct timeval tv = { HARNESS_WAIT_SECONDS, 0 };

	h->timed_out = false;
	evtimer_add(h->deadline, &tv);
}

void harness_step(struct harness *h, const char *what)
{
	event_base_loop(h->base, EVLOOP_ONCE);
	if (h->timed_out)
		fail_msg("waited %d s for: %s", HARNESS_WAIT_SECONDS, what);
}

void harness_wait_end(struct harness *h)
{
	event_del(h->deadline);
}

void harness_settle(struct harness *h)
{
	int i;

	for (i = 0; i < 200; i++)
		event_base_loop(h->base, EVLOOP_NONBLOCK);
}

/* ---- client streams ----------------------------------------------------- */

static void cl_on_response(struct h2_stream *st, int status, void *arg)
{
	struct hstream *s = arg;

	(void)st;
	s->status = status;
}

static void cl_on_data(struct h2_stream *st, const uint8_t *data, size_t len,
		       void *arg)
{
	struct hstream *s = arg;

	assert_int_equal(evbuffer_add(s->body, data, len), 0);
	if (s->consume)
		h2_stream_consume(st, len);
	else
		s->unconsumed += len;
}

static void cl_on_end(struct h2_stream *st, void *arg)
{
	struct hstream *s = arg;

	(void)st;
	s->ended = true;
}

static void cl_on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct hstream *s = arg;

	(void)st;
	s->st = NULL;
	s->closed = true;
	s->code = code;
}

static const struct h2_stream_cbs cl_cbs = {
	.on_response = cl_on_response,
	.on_data = cl_on_data,
	.on_end = cl_on_end,
	.on_close = cl_on_close,
};

struct hstream *harness_open(struct harness *h, const char *method,
			     const char *path, const char *sid,
			     const char *streamtype, long long offset, bool end)
{
	struct hstream *s = calloc(1, sizeof(*s));
	struct h2_header hdr[2];
	char p[128], off[32];
	size_t n = 0;

	assert_non_null(s);
	s->h = h;
	s->consume = true;
	s->body = evbuffer_new();
	assert_non_null(s->body);
	s->next = h->streams;
	h->streams = s;
	if (!path) {
		snprintf(p, sizeof(p), "%s%s", EXECFS_PATH_SESSIONS, sid);
		path = p;
	}
	if (streamtype)
		hdr[n++] =
			(struct h2_header){ EXECFS_HDR_STREAMTYPE, streamtype };
	if (offset >= 0) {
		snprintf(off, sizeof(off), "%lld", offset);
		hdr[n++] = (struct h2_header){ EXECFS_HDR_OFFSET, off };
	}
	s->st = h2_conn_request(h->client, method, path, hdr, n, end, &cl_cbs,
				s);
	assert_non_null(s->st);
	return s;
}

void hstream_send(struct hstream *s, const void *buf, size_t len)
{
	assert_non_null(s->st);
	assert_int_equal(h2_stream_write(s->st, buf, len), 0);
}

void hstream_end(struct hstream *s)
{
	assert_non_null(s->st);
	assert_int_equal(h2_stream_end(s->st), 0);
}

void hstream_consume_all(struct hstream *s)
{
	if (s->st && s->unconsumed)
		h2_stream_consume(s->st, s->unconsumed);
	s->unconsumed = 0;
}

size_t hstream_len(const struct hstream *s)
{
	return evbuffer_get_length(s->body);
}

const char *hstream_text(struct hstream *s)
{
	size_t n = evbuffer_get_length(s->body);

	free(s->text);
	s->text = malloc(n + 1);
	assert_non_null(s->text);
	evbuffer_copyout(s->body, s->text, n);
	s->text[n] = '\0';
	return s->text;
}

struct hstream *harness_exec(struct harness *h, const char *sid,
			     const char *argv0, bool tty)
{
	struct hstream *s =
		harness_open(h, "POST", NULL, sid, EXECFS_ST_STATUS, -1, false);
	char req[256];

	snprintf(req, sizeof(req),
		 "{\"container\": \"%s\", \"argv\": [\"%s\"], \"tty\": %s}",
		 HARNESS_CONTAINER, argv0, tty ? "true" : "false");
	hstream_send(s, req, strlen(req));
	hstream_end(s);
	return s;
}

/* ---- connections -------------------------------------------------------- */

static void cl_on_ready(struct h2_conn *c, void *arg)
{
	struct harness *h = arg;

	if (c == h->client)
		h->ready = true;
}

static void cl_on_close_conn(struct h2_conn *c, const char *reason, void *arg)
{
	struct harness *h = arg;

	unsigned i;

	(void)reason;
	if (c == h->client) {
		h->client = NULL;
		h->ready = false;
	}
	for (i = 0; i < HARNESS_MAX_CLIENTS; i++)
		if (h->old[i] == c)
			h->old[i] = NULL;
}

static const struct h2_conn_cbs cl_conn_cbs = {
	.on_ready = cl_on_ready,
	.on_close = cl_on_close_conn,
};

void harness_connect(struct harness *h)
{
	char err[256] = "";
	unsigned i;

	/* The older one stays up until harness_free(), unless it closes. */
	for (i = 0; h->client && i < HARNESS_MAX_CLIENTS; i++)
		if (!h->old[i]) {
			h->old[i] = h->client;
			break;
		}
	assert_true(i < HARNESS_MAX_CLIENTS || !h->client);
	h->ready = false;
	h->client = h2_connect(h->base, NULL, h->addr, NULL, NULL, &cl_conn_cbs,
			       h, err, sizeof(err));
	if (!h->client)
		fail_msg("connect %s: %s", h->addr, err);
	HARNESS_UNTIL(h, h->ready);
}

void harness_set_policy(struct harness *h, const char *text)
{
	char err[256] = "";
	struct policy *p = policy_parse(text, strlen(text), err, sizeof(err));

	if (!p)
		fail_msg("policy: %s", err);
	xsession_table_set_policy(h->table, p);
	server_set_policy(h->srv, p);
	policy_free(h->policy);
	h->policy = p;
}

void harness_set_audit(struct harness *h, const char *path, bool required)
{
	char err[256] = "";

	audit_close(h->audit);
	h->audit = audit_open(path, err, sizeof(err));
	if (!h->audit)
		fail_msg("audit %s: %s", path, err);
	audit_set_required(h->audit, required);
	xsession_table_set_audit(h->table, h->audit, "n1");
}

void harness_drop_client(struct harness *h)
{
	struct h2_conn *c = h->client;

	h->client = NULL;
	h->ready = false;
	h2_conn_free(c);
}

struct harness *harness_new(const char *inventory)
{
	struct harness *h = calloc(1, sizeof(*h));
	char err[256] = "", *one;

	assert_non_null(h);
	/* EXECFS_TEST_LOG=1: the agent's log, for a test being written. */
	log_set_level(getenv("EXECFS_TEST_LOG") ? LOG_LVL_DEBUG :
						  LOG_LVL_ERROR);
	/* No PINGs on a clock: the test decides what happens when. */
	h2_set_heartbeat(0);
	snprintf(h->dir, sizeof(h->dir), "/tmp/execfs-agent-harness-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->addr, sizeof(h->addr), "unix:%s/agent.sock", h->dir);
	h->base = event_base_new();
	assert_non_null(h->base);
	h->deadline = evtimer_new(h->base, deadline_cb, h);
	assert_non_null(h->deadline);
	one = harness_inventory_text(json_pack(
		"[o]", harness_container_json(HARNESS_CONTAINER, NULL)));
	if (!inventory)
		inventory = one;
	h->inv = inventory_mirror_new(NULL, NULL);
	assert_non_null(h->inv);
	if (inventory_mirror_load(h->inv, inventory, strlen(inventory), err,
				  sizeof(err)) < 0)
		fail_msg("inventory: %s", err);
	free(one);
	h->policy =
		policy_parse(allow_all, strlen(allow_all), err, sizeof(err));
	if (!h->policy)
		fail_msg("policy: %s", err);
	h->launcher.ops = &fake_ops;
	h->launcher.cbs = xsession_launch_cbs();
	h->table = xsession_table_new(h->base, h->inv, &h->launcher);
	assert_non_null(h->table);
	xsession_table_set_policy(h->table, h->policy);
	h->srv = server_new(h->base, "n1", h->inv, h->table);
	assert_non_null(h->srv);
	server_set_policy(h->srv, h->policy);
	h->l = h2_listen(h->base, h->addr, NULL, server_conn_cbs(), h->srv, err,
			 sizeof(err));
	if (!h->l)
		fail_msg("listen %s: %s", h->addr, err);
	harness_connect(h);
	return h;
}

void harness_free(struct harness *h)
{
	char path[160];
	unsigned i;

	if (!h)
		return;
	if (h->client)
		h2_conn_free(h->client);
	for (i = 0; i < HARNESS_MAX_CLIENTS; i++)
		h2_conn_free(h->old[i]);
	h2_listener_free(h->l);
	/* The listener's connections are gone: no stream points into the
	 * table any more. */
	xsession_table_free(h->table);
	server_free(h->srv);
	while (h->streams) {
		struct hstream *s = h->streams;

		h->streams = s->next;
		evbuffer_free(s->body);
		free(s->text);
		free(s);
	}
	while (h->jobs) {
		struct fake_job *j = h->jobs;

		h->jobs = j->next;
		fake_job_free(j);
	}
	policy_free(h->policy);
	audit_close(h->audit);
	inventory_free(h->inv);
	event_free(h->deadline);
	event_base_free(h->base);
	snprintf(path, sizeof(path), "%s/agent.sock", h->dir);
	unlink(path);
	rmdir(h->dir);
	free(h);
}
