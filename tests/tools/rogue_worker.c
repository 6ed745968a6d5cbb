/*
 * rogue_worker: the real privileged monitor (agent/monitor.c, monitor_run())
 * against a compromised worker, for test_agent_rogue_worker.sh.
 *
 * Why a test program: the worker is unprivileged and sandboxed, but one
 * taken over through the network can send the monitor any datagram. To
 * check what the monitor does with them, this program runs the monitor's
 * own code (linked from the agent library, started as execfs-agent starts
 * it: monitor_run() with one end of a privsep socketpair and the worker's
 * pid) and forks, in the worker's place, a process that sends what the
 * steps below say. Nothing in execfs-agent changes for this: no test-only
 * option or message exists in the agent, so a production build has no
 * way to play the worker but being the worker.
 *
 *   rogue_worker [--policy FILE] [--host-exec] --state-root DIR --node NAME
 *                STEP...
 *
 * The worker first waits for the monitor's container list (the INVENTORY
 * it pushes at start) and loads it as the real worker does (an inventory
 * mirror), so its starts can be bound to the instance the monitor has.
 * Steps, in order, one line each on stdout:
 *
 *   spawn:ID[:MOD]  a SPAWN of `sh -c 'echo rogue >/tmp/rogue-N'` (N: the
 *                   step's number) into container ID, bound like the real
 *                   worker binds it; MOD forges it: stale (another init
 *                   pid), unbound (no binding), unpriv (the privileged flag
 *                   flipped), runas (as root, with a run_as of
 *                   uid:1000-1999). Prints "spawn N refused ERRNO: REASON",
 *                   or "spawn N started" then "spawn N exited STATUS".
 *   signal          a SIGNAL for a token the monitor never handed out:
 *                   "signal refused ERRNO".
 *   ping            "pong" (the monitor still serves).
 *   policy          "policy: " and the policy text the monitor handed
 *                   over at its start (it reads the file once, for its
 *                   gates and the worker alike).
 *   truncated | fds | unknown | monitor-msg
 *                   a malformed datagram (a SPAWN cut short, a PING with
 *                   six fds, an unknown type, a type only the monitor
 *                   sends): the monitor must end this worker; prints
 *                   "sent TYPE" first.
 *
 * The monitor's log goes to stderr. Exit status: the monitor's (0 after
 * SIGTERM, 1 when the worker ended or broke the protocol).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "execfs/log.h"
#include "exec_spec.h"
#include "inventory.h"
#include "monitor.h"
#include "privsep.h"
#include "spawn.h"
#include "startgate.h"

static struct inventory *mirror;
static char *inv_text;
static size_t inv_len;
static char *pol_text; /* the policy the monitor handed over */
static size_t pol_len;
static bool pol_done; /* its last chunk came */

/* One datagram from the monitor, decoded; its fds closed. 0 at EOF. */
static int recv_msg(int fd, struct privsep_msg *m)
{
	static uint8_t buf[PRIVSEP_MSG_MAX];
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * PRIVSEP_MAX_FDS)];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	int fds[PRIVSEP_MAX_FDS];
	struct cmsghdr *cm;
	size_t nfds = 0;
	char err[256];
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS) {
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
	}
	if (privsep_msg_decode(buf, (size_t)n, fds, nfds, m, err, sizeof(err)) <
	    0) {
		printf("monitor sent a malformed message: %s\n", err);
		exit(1);
	}
	return 1; /* the fds are m's: privsep_msg_release() closes them */
}

/* The monitor's messages that are not answers: the container list is
 * loaded when its last chunk came. true: m was one of those. */
static bool take_push(struct privsep_msg *m)
{
	char err[256];

	if (m->type == PRIVSEP_POLICY) {
		pol_text = realloc(pol_text, pol_len + m->len + 1);
		if (!pol_text)
			exit(1);
		memcpy(pol_text + pol_len, m->data, m->len);
		pol_len += m->len;
		pol_text[pol_len] = '\0';
		pol_done = m->flags & PRIVSEP_LAST;
		return true;
	}
	if (m->type != PRIVSEP_INVENTORY)
		return m->type == PRIVSEP_TLS;
	inv_text = realloc(inv_text, inv_len + m->len + 1);
	if (!inv_text)
		exit(1);
	memcpy(inv_text + inv_len, m->data, m->len);
	inv_len += m->len;
	if (m->flags & PRIVSEP_LAST) {
		if (inventory_mirror_load(mirror, inv_text, inv_len, err,
					  sizeof(err)) < 0) {
			printf("inventory: %s\n", err);
			exit(1);
		}
		inv_len = 0;
	}
	return true;
}

/* The next message that is not a push; exits at EOF. */
static void next_answer(int fd, struct privsep_msg *m)
{
	for (;;) {
		memset(m, 0, sizeof(*m));
		if (!recv_msg(fd, m)) {
			printf("the monitor closed the channel\n");
			exit(1);
		}
		if (!take_push(m))
			return;
		privsep_msg_release(m);
	}
}

static void send_raw(int fd, const void *buf, size_t len, const int *fds,
		     size_t nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)len) {
		printf("send: %s\n", strerror(errno));
		exit(1);
	}
}

/* What B said about its start (the process has exited: the report is
 * whole), then the report is closed. */
static void print_report(int n, int report)
{
	char err[512];
	int rc;

	if (report < 0)
		return;
	do
		rc = spawn_report_read(report, err, sizeof(err));
	while (rc == -EAGAIN);
	if (rc < 0)
		printf("spawn %d report: %s\n", n, err);
	else
		printf("spawn %d report: execve succeeded\n", n);
	close(report);
}

static void step_spawn(int fd, int n, const char *arg)
{
	char *id = strdup(arg), *mod = strchr(id, ':');
	char cmd[64], *argv[] = { "sh", "-c", cmd, NULL };
	char *run_as[] = { "uid:1000-1999", NULL };
	struct exec_spec spec = { 0 };
	const struct container *c;
	struct privsep_msg m;
	uint8_t *buf;
	size_t len;

	if (mod)
		*mod++ = '\0';
	snprintf(cmd, sizeof(cmd), "echo rogue >/tmp/rogue-%d", n);
	spec.container = id;
	spec.argv = argv;
	c = inventory_find(mirror, id);
	if (c && (!mod || strcmp(mod, "unbound")) &&
	    start_gate_bind(&spec, c) < 0)
		exit(1);
	if (mod && !strcmp(mod, "stale"))
		spec.seen_pid++;
	else if (mod && !strcmp(mod, "unpriv"))
		spec.seen_privileged = !spec.seen_privileged;
	else if (mod && !strcmp(mod, "runas")) {
		spec.user = "root";
		spec.run_as = run_as;
	}
	if (privsep_encode_spawn((uint64_t)n, &spec, &buf, &len) < 0)
		exit(1);
	free(spec.seen_created);
	send_raw(fd, buf, len, NULL, 0);
	free(buf);
	next_answer(fd, &m);
	if (m.type == PRIVSEP_SPAWN_FAILED) {
		printf("spawn %d refused %s: %s\n", n, strerrorname_np(m.num),
		       m.message);
	} else if (m.type == PRIVSEP_SPAWNED) {
		uint64_t token = m.token;
		int report = -1;

		/* The fds come in PRIVSEP_FD_* order: the report is last. */
		if (m.flags & PRIVSEP_FD_REPORT) {
			report = m.fds[m.nfds - 1];
			m.fds[m.nfds - 1] = -1;
		}
		printf("spawn %d started\n", n);
		privsep_msg_release(&m);
		for (;;) {
			next_answer(fd, &m);
			if (m.type == PRIVSEP_EXITED && m.token == token)
				break;
			privsep_msg_release(&m);
		}
		printf("spawn %d exited %d\n", n, m.num);
		print_report(n, report);
	} else {
		printf("spawn %d: answer of type %u\n", n, m.type);
	}
	privsep_msg_release(&m);
	free(id);
}

static void step_signal(int fd)
{
	struct privsep_msg m;
	uint8_t *buf;
	size_t len;

	/* Tokens start at 1: this one was never handed out. */
	if (privsep_encode_signal(77, 999999, SIGKILL, 0, &buf, &len) < 0)
		exit(1);
	send_raw(fd, buf, len, NULL, 0);
	free(buf);
	next_answer(fd, &m);
	printf("signal %s %s\n", m.type == PRIVSEP_SIGNALED ? "refused" : "?",
	       m.num ? strerrorname_np(m.num) : "sent");
	privsep_msg_release(&m);
}

static void step_ping(int fd)
{
	struct privsep_msg m;
	uint8_t *buf;
	size_t len;

	if (privsep_encode_ping(PRIVSEP_PING, 5, &buf, &len) < 0)
		exit(1);
	send_raw(fd, buf, len, NULL, 0);
	free(buf);
	next_answer(fd, &m);
	printf("%s\n", m.type == PRIVSEP_PONG && m.id == 5 ? "pong" : "?");
	privsep_msg_release(&m);
}

/* The policy comes after the container list: wait for its last chunk. */
static void step_policy(int fd)
{
	struct privsep_msg m;

	while (!pol_done) {
		if (!recv_msg(fd, &m)) {
			printf("the monitor closed the channel\n");
			exit(1);
		}
		take_push(&m);
		privsep_msg_release(&m);
	}
	printf("policy: %s", pol_text);
}

/* A malformed datagram; the monitor must end us. */
static void step_malformed(int fd, const char *what)
{
	char *argv[] = { "true", NULL };
	struct exec_spec spec = { .container = "x", .argv = argv };
	uint32_t hdr[2] = { 999, 0 };
	int fds[6], i;
	struct privsep_msg m;
	uint8_t *buf;
	size_t len;

	printf("sent %s\n", what);
	fflush(stdout);
	if (!strcmp(what, "truncated")) {
		if (privsep_encode_spawn(9, &spec, &buf, &len) < 0)
			exit(1);
		send_raw(fd, buf, len - 3, NULL, 0);
		free(buf);
	} else if (!strcmp(what, "fds")) {
		for (i = 0; i < 6; i++)
			fds[i] = 0;
		if (privsep_encode_ping(PRIVSEP_PING, 6, &buf, &len) < 0)
			exit(1);
		send_raw(fd, buf, len, fds, 6);
		free(buf);
	} else if (!strcmp(what, "unknown")) {
		send_raw(fd, hdr, sizeof(hdr), NULL, 0);
	} else {
		if (privsep_encode_chunk(PRIVSEP_POLICY, "{}", 2, true, &buf,
					 &len) < 0)
			exit(1);
		send_raw(fd, buf, len, NULL, 0);
		free(buf);
	}
	/* Until the monitor kills us (or closes the channel). */
	for (;;) {
		memset(&m, 0, sizeof(m));
		if (!recv_msg(fd, &m))
			break;
		take_push(&m);
		privsep_msg_release(&m);
	}
	printf("the monitor closed the channel\n");
	exit(1);
}

static _Noreturn void worker(int fd, int nsteps, char **steps)
{
	struct privsep_msg m;
	bool listed;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mirror = inventory_mirror_new(NULL, NULL);
	if (!mirror)
		exit(1);
	do {
		memset(&m, 0, sizeof(m));
		if (!recv_msg(fd, &m))
			exit(1);
		take_push(&m);
		listed = m.type == PRIVSEP_INVENTORY &&
			 (m.flags & PRIVSEP_LAST);
		privsep_msg_release(&m);
	} while (!listed);
	for (i = 0; i < nsteps; i++) {
		if (!strncmp(steps[i], "spawn:", 6))
			step_spawn(fd, i + 1, steps[i] + 6);
		else if (!strcmp(steps[i], "signal"))
			step_signal(fd);
		else if (!strcmp(steps[i], "ping"))
			step_ping(fd);
		else if (!strcmp(steps[i], "policy"))
			step_policy(fd);
		else
			step_malformed(fd, steps[i]);
	}
	/* Done: a worker that ends is the monitor's cue to end too. */
	exit(0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "host-exec", no_argument, NULL, 'h' },
		{ "state-root", required_argument, NULL, 'r' },
		{ "node", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct monitor_opts mo = { 0 };
	const char *roots[1] = { NULL };
	int fds[2], c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			mo.policy = optarg;
			break;
		case 'h':
			inventory_set_host_exec(true);
			break;
		case 'r':
			roots[0] = optarg;
			break;
		case 'n':
			mo.node = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!roots[0] || !mo.node || optind == argc) {
		fprintf(stderr, "usage: rogue_worker [--policy FILE] "
				"[--host-exec] --state-root DIR --node NAME "
				"STEP...\n");
		return 2;
	}
	rc = privsep_socketpair(fds);
	if (rc < 0)
		return 1;
	fflush(stdout);
	mo.worker = fork();
	if (mo.worker < 0)
		return 1;
	if (!mo.worker) {
		close(fds[0]);
		worker(fds[1], argc - optind, argv + optind);
	}
	close(fds[1]);
	mo.roots = roots;
	mo.nroots = 1;
	mo.fd = fds[0];
	mo.takeover_fd = -1; /* no take-over */
	return monitor_run(&mo);
}
