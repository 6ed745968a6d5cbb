/*
 * libFuzzer target: the agent's HTTP/2 input. Each input is what a client
 * sends after the connection preface, fed to a real server connection
 * with the agent's real router, session table and (empty) inventory, over
 * an in-process socketpair. Nothing may crash, leak or grow without
 * bound; a bad frame may only end a stream or the connection.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "execfs/h2.h"
#include "execfs/log.h"
#include "inventory.h"
#include "launch.h"
#include "server.h"
#include "session.h"
#include "spawn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct world {
	struct event_base *base;
	struct inventory *inv;
	struct spawner *sp;
	struct launcher *launcher;
	struct xsession_table *sessions;
	struct server *srv;
};

static bool conn_gone;

static void fuzz_on_request(struct h2_conn *c, struct h2_stream *st, void *arg)
{
	server_conn_cbs()->on_request(c, st, arg);
}

static void fuzz_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	(void)c;
	(void)reason;
	(void)arg;
	conn_gone = true; /* the transport frees it after this returns */
}

static const struct h2_conn_cbs fuzz_cbs = {
	.on_request = fuzz_on_request,
	.on_close = fuzz_on_close,
};

static struct world *world_get(void)
{
	static struct world w;
	static const char *const roots[] = { "/nonexistent/execfs-fuzz" };

	if (w.base)
		return &w;
	log_set_level(LOG_LVL_ERROR);
	w.base = event_base_new();
	w.sp = spawner_new(w.base);
	w.inv = inventory_new(NULL, roots, 1, NULL, NULL);
	w.launcher =
		launcher_local_new(w.base, w.inv, w.sp, xsession_launch_cbs());
	w.sessions = xsession_table_new(w.base, w.inv, w.launcher);
	w.srv = server_new(w.base, "fuzz", w.inv, w.sessions);
	return &w;
}

/* Read and drop what the agent sent. */
static void drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Write all of buf to fd, running the loop while the socket is full. */
static void feed(struct world *w, int fd, const uint8_t *buf, size_t len)
{
	int idle = 0;

	while (len > 0 && idle < 64) {
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			idle = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return; /* the agent closed: nothing more to say */
		event_base_loop(w->base, EVLOOP_NONBLOCK);
		drain(fd);
		idle++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = world_get();
	struct h2_conn *c;
	int sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) < 0)
		return 0;
	conn_gone = false;
	c = h2_conn_serve(w->base, sv[0], &fuzz_cbs, w->srv);
	if (!c) {
		close(sv[1]);
		return 0;
	}
	feed(w, sv[1], (const uint8_t *)preface, sizeof(preface) - 1);
	feed(w, sv[1], data, size);
	for (i = 0; i < 8; i++) {
		event_base_loop(w->base, EVLOOP_NONBLOCK);
		/* What the agent answered is drained: a real peer might not
		 * read, which flow control bounds; only crashes and leaks
		 * count here. */
		drain(sv[1]);
	}
	if (!conn_gone)
		h2_conn_free(c);
	close(sv[1]);
	for (i = 0; i < 2; i++)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	return 0;
}
