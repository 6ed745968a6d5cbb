/*
 * spawnbench: the agent's start path alone, in CPU time, for the fleet
 * case's per-start figures (docs/BENCHMARKS.md, docs/SCALE.md). It loads
 * the container from a runc state root with the agent's own inventory,
 * then starts CMD in it N times through the agent's spawner (spawn.h), K
 * at a time, exactly as the monitor does (helper A, process B, the
 * execve), and prints per start: wall time, the CPU of this process (the
 * monitor's share: the plan, A's clone, the reaping) and that of its
 * reaped children (A, B and CMD), user and system, and the page faults of
 * each. No network, no mount, no worker: only what a start costs.
 *
 *   execfs-spawnbench RUNC_ROOT CONTAINER_ID N K [CMD ARGS...]
 *
 * As root. CMD defaults to `true`; its output is never read (a command
 * that writes more than a pipe holds would wait for ever). The process is
 * made to look like the monitor, whose memory each start copies: linked
 * with every library the agent loads, and with the NSS modules its start
 * loads (it looks up its own user).
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "exec_spec.h"
#include "inventory.h"
#include "spawn.h"

struct slot {
	struct spawn_entry *entry; /* a start until it is handed over */
	struct spawn_result res; /* then the process, until reaped */
	bool running;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double tv(const struct timeval *t)
{
	return t->tv_sec + t->tv_usec / 1e6;
}

static void slot_close(struct slot *s)
{
	int *fds[] = { &s->res.stdin_fd, &s->res.stdout_fd, &s->res.stderr_fd,
		       &s->res.tty_fd,	 &s->res.report_fd, &s->res.pidfd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	memset(s, 0, sizeof(*s));
}

/* Begin a start in s; 0, or -1 after a message. */
static int slot_start(struct slot *s, struct spawner *sp,
		      const struct container *c, struct exec_spec *req)
{
	char err[256];
	int rc;

	memset(s, 0, sizeof(*s));
	rc = spawn_start(sp, c, req, &s->entry, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "spawnbench: start: %s\n", err);
		return -1;
	}
	return 0;
}

/* Step s once its fd is readable (or at once after the start). */
static int slot_step(struct slot *s)
{
	char err[256];
	int rc;

	rc = spawn_entry_step(s->entry, &s->res, err, sizeof(err));
	if (rc == -EAGAIN)
		return 0;
	s->entry = NULL;
	if (rc < 0) {
		fprintf(stderr, "spawnbench: start: %s\n", err);
		return -1;
	}
	close(s->res.stdin_fd);
	s->res.stdin_fd = -1;
	s->running = true;
	return 0;
}

/* s's process exited: reap it, check it exited 0. */
static int slot_reap(struct slot *s)
{
	int status = -1;

	if (spawn_reap(s->res.pidfd, &status) < 0 || status != 0) {
		fprintf(stderr, "spawnbench: the command ended with %#x\n",
			status);
		slot_close(s);
		return -1;
	}
	slot_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	char *true_argv[] = { "true", NULL };
	const char *roots[1];
	struct inventory *inv;
	const struct container *c;
	struct spawner *sp;
	struct exec_spec req;
	struct rusage s0, s1, c0, c1;
	struct slot *slots;
	struct pollfd *pfd;
	long n, k, started = 0, done = 0, i;
	char err[256];
	double t0, t1;

	if (argc < 5) {
		fprintf(stderr, "usage: execfs-spawnbench RUNC_ROOT ID N K "
				"[CMD ARGS...]\n");
		return 2;
	}
	roots[0] = argv[1];
	n = strtol(argv[3], NULL, 10);
	k = strtol(argv[4], NULL, 10);
	if (n < 1 || k < 1) {
		fprintf(stderr, "spawnbench: N and K are >= 1\n");
		return 2;
	}
	/* As the agent's start does (main.c): the NSS modules loaded. */
	(void)getpwnam("nobody");
	memset(&req, 0, sizeof(req));
	req.argv = argc > 5 ? argv + 5 : true_argv;
	inv = inventory_new(NULL, roots, 1, NULL, NULL);
	if (!inv) {
		fprintf(stderr, "spawnbench: inventory: %s\n", strerror(errno));
		return 1;
	}
	inventory_rescan(inv);
	if (inventory_find_running(inv, argv[2], &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "spawnbench: %s\n", err);
		return 1;
	}
	sp = spawner_new(NULL);
	slots = calloc(k, sizeof(*slots));
	pfd = calloc(k, sizeof(*pfd));
	if (!sp || !slots || !pfd) {
		fprintf(stderr, "spawnbench: out of memory\n");
		return 1;
	}
	getrusage(RUSAGE_SELF, &s0);
	getrusage(RUSAGE_CHILDREN, &c0);
	t0 = now();
	while (done < n) {
		for (i = 0; i < k; i++) {
			struct slot *s = &slots[i];

			if (!s->entry && !s->running && started < n) {
				if (slot_start(s, sp, c, &req) < 0 ||
				    slot_step(s) < 0)
					return 1;
				started++;
			}
			pfd[i].fd = s->entry   ? spawn_entry_fd(s->entry) :
				    s->running ? s->res.pidfd :
						 -1;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, k, -1) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < k; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (slots[i].entry) {
				if (slot_step(&slots[i]) < 0)
					return 1;
			} else if (slots[i].running) {
				if (slot_reap(&slots[i]) < 0)
					return 1;
				done++;
			}
		}
	}
	t1 = now();
	/* Without a loop the spawner reaps the helpers (A) only here. */
	spawner_free(sp);
	getrusage(RUSAGE_SELF, &s1);
	getrusage(RUSAGE_CHILDREN, &c1);
	printf("%ld starts, %ld at a time: %.3f ms wall per start; CPU per "
	       "start: self %.3f ms (user %.3f, sys %.3f), children %.3f ms "
	       "(user %.3f, sys %.3f); faults per start: self %.1f, children "
	       "%.1f\n",
	       n, k, (t1 - t0) * 1e3 / n,
	       (tv(&s1.ru_utime) + tv(&s1.ru_stime) - tv(&s0.ru_utime) -
		tv(&s0.ru_stime)) *
		       1e3 / n,
	       (tv(&s1.ru_utime) - tv(&s0.ru_utime)) * 1e3 / n,
	       (tv(&s1.ru_stime) - tv(&s0.ru_stime)) * 1e3 / n,
	       (tv(&c1.ru_utime) + tv(&c1.ru_stime) - tv(&c0.ru_utime) -
		tv(&c0.ru_stime)) *
		       1e3 / n,
	       (tv(&c1.ru_utime) - tv(&c0.ru_utime)) * 1e3 / n,
	       (tv(&c1.ru_stime) - tv(&c0.ru_stime)) * 1e3 / n,
	       (double)(s1.ru_minflt - s0.ru_minflt) / n,
	       (double)(c1.ru_minflt - c0.ru_minflt) / n);
	inventory_free(inv);
	free(slots);
	free(pfd);
	return 0;
}
