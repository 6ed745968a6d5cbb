/*
 * h2req: a small client of one execfs session for the integration tests,
 * on the project's own transport (include/execfs/h2.h), so tests can drive
 * the agent's session streams directly, without the FUSE mount.
 *
 *   h2req [options] ADDRESS SID
 *     --exec FILE     open the status stream, FILE's content (the JSON exec
 *                     request) as its body
 *     --stdout FILE   open the stdout stream and write its bytes to FILE
 *     --stderr FILE   likewise for stderr
 *     --stdin FILE    open the stdin stream and send FILE (a file or a
 *                     FIFO, which is opened before connecting: start h2req
 *                     first, then open the FIFO for writing) and its end
 *     --resize FILE   open a resize stream and send FILE (likewise)
 *     --signal SIG    open a signal stream with SIG as its body
 *     --timeout SEC   give up after SEC seconds (default 30)
 *     --ca FILE       over TLS (ADDRESS is host:port), verifying the agent
 *                     against FILE
 *     --cert FILE     with --ca: the client certificate to present
 *     --key FILE      and its key
 *
 * Streams are opened in one flight, in the order above (status first).
 * Events are reported on stdout, a line each, flushed at once:
 *     TYPE STATUS          the response headers (e.g. "status 200")
 *     TYPE body LINE       a line of a status/signal/resize/stdin body
 *     TYPE reset CODE      the stream was reset (HTTP/2 error code)
 * Exit status: 0 once every stream closed, 1 a connection or I/O error,
 * 2 usage, 3 timeout.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "execfs/h2.h"
#include "execfs/proto.h"

#define H2REQ_MAX_STREAMS 6
#define H2REQ_CHUNK (16 * 1024)
#define H2REQ_LINE_MAX 4096

struct req;

struct rstream {
	struct req *r;
	const char *type;
	const char *method;
	struct h2_stream *st;
	const char *body; /* a fixed body (exec request, signal), or NULL */
	size_t body_len;
	int in_fd; /* a body read from this fd, or -1 */
	bool in_regular; /* a regular file: always readable */
	struct event *in_ev; /* EV_READ on a FIFO, or a 0 s timer */
	int out_fd; /* the response body goes here, or -1 to report lines */
	char line[H2REQ_LINE_MAX];
	size_t line_len;
	bool open;
};

struct req {
	struct event_base *base;
	struct rstream s[H2REQ_MAX_STREAMS];
	size_t n, open;
	bool ready, conn_gone;
	int rc;
	char path[sizeof(EXECFS_PATH_SESSIONS) + EXECFS_SID_LEN];
};

static void report(const struct rstream *rs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(const struct rstream *rs, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", rs->type);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void finish(struct req *r, int rc)
{
	if (rc && !r->rc)
		r->rc = rc;
	event_base_loopexit(r->base, NULL);
}

/* ---- sending a body from a file ----------------------------------------- */

static void feed(struct rstream *rs)
{
	char buf[H2REQ_CHUNK];
	size_t space;
	ssize_t n;

	while (rs->in_fd >= 0 && rs->st) {
		space = h2_stream_write_space(rs->st);
		if (space == 0) {
			event_del(rs->in_ev); /* on_writable adds it back */
			return;
		}
		n = read(rs->in_fd, buf,
			 space < sizeof(buf) ? space : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (rs->in_regular)
				break;
			event_add(rs->in_ev, NULL);
			return;
		}
		if (n < 0) {
			fprintf(stderr, "h2req: %s: read: %s\n", rs->type,
				strerror(errno));
			finish(rs->r, 1);
			return;
		}
		if (n == 0) {
			event_del(rs->in_ev);
			close(rs->in_fd);
			rs->in_fd = -1;
			h2_stream_end(rs->st);
			return;
		}
		if (h2_stream_write(rs->st, buf, n) < 0) {
			fprintf(stderr, "h2req: %s: stream refused bytes\n",
				rs->type);
			finish(rs->r, 1);
			return;
		}
	}
}

static void feed_cb(evutil_socket_t fd, short what, void *arg)
{
	feed(arg);
}

/* ---- stream callbacks --------------------------------------------------- */

static void on_response(struct h2_stream *st, int status, void *arg)
{
	report(arg, "%d", status);
}

static void line_flush(struct rstream *rs)
{
	report(rs, "body %.*s", (int)rs->line_len, rs->line);
	rs->line_len = 0;
}

static void on_data(struct h2_stream *st, const uint8_t *data, size_t len,
		    void *arg)
{
	struct rstream *rs = arg;
	size_t i, off = 0;
	ssize_t n;

	if (rs->out_fd >= 0) {
		while (off < len) {
			n = write(rs->out_fd, data + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fprintf(stderr, "h2req: %s: write: %s\n",
					rs->type, strerror(errno));
				finish(rs->r, 1);
				break;
			}
			off += n;
		}
	} else {
		for (i = 0; i < len; i++) {
			if (data[i] == '\n' || rs->line_len == H2REQ_LINE_MAX)
				line_flush(rs);
			if (data[i] != '\n')
				rs->line[rs->line_len++] = data[i];
		}
	}
	h2_stream_consume(st, len);
}

static void on_end(struct h2_stream *st, void *arg)
{
	struct rstream *rs = arg;

	if (rs->line_len)
		line_flush(rs);
}

static void on_writable(struct h2_stream *st, void *arg)
{
	struct rstream *rs = arg;

	if (rs->in_fd >= 0)
		event_active(rs->in_ev, EV_READ, 0);
}

static void on_close(struct h2_stream *st, uint32_t code, void *arg)
{
	struct rstream *rs = arg;

	if (code)
		report(rs, "reset %u", code);
	rs->st = NULL;
	rs->open = false;
	if (rs->in_ev)
		event_del(rs->in_ev);
	if (--rs->r->open == 0)
		finish(rs->r, 0);
}

static const struct h2_stream_cbs stream_cbs = {
	.on_response = on_response,
	.on_data = on_data,
	.on_end = on_end,
	.on_writable = on_writable,
	.on_close = on_close,
};

/* ---- the connection ----------------------------------------------------- */

static void conn_on_ready(struct h2_conn *c, void *arg)
{
	struct req *r = arg;
	struct rstream *rs;
	struct h2_header hdr[1];
	bool end;
	size_t i;

	r->ready = true;
	for (i = 0; i < r->n; i++) {
		rs = &r->s[i];
		hdr[0].name = EXECFS_HDR_STREAMTYPE;
		hdr[0].value = rs->type;
		end = !rs->body && rs->in_fd < 0;
		rs->st = h2_conn_request(c, rs->method, r->path, hdr, 1, end,
					 &stream_cbs, rs);
		if (!rs->st) {
			fprintf(stderr, "h2req: %s: cannot open: %s\n",
				rs->type, strerror(errno));
			finish(r, 1);
			return;
		}
		rs->open = true;
		r->open++;
		if (rs->body) {
			if (h2_stream_write(rs->st, rs->body, rs->body_len) ||
			    h2_stream_end(rs->st)) {
				fprintf(stderr, "h2req: %s: cannot send\n",
					rs->type);
				finish(r, 1);
				return;
			}
		} else if (rs->in_fd >= 0) {
			event_active(rs->in_ev, EV_READ, 0);
		}
	}
	if (r->open == 0)
		finish(r, 0);
}

static void conn_on_close(struct h2_conn *c, const char *reason, void *arg)
{
	struct req *r = arg;

	r->conn_gone = true;
	if (r->open || !r->ready) {
		fprintf(stderr, "h2req: connection closed: %s\n", reason);
		finish(r, 1);
	}
}

static const struct h2_conn_cbs conn_cbs = {
	.on_ready = conn_on_ready,
	.on_close = conn_on_close,
};

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	fprintf(stderr, "h2req: timed out\n");
	finish(arg, 3);
}

/* ---- setup -------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap), *bigger;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf)
		goto out_fail;
	for (;;) {
		if (used == cap) {
			bigger = cap < 16 * EXECFS_MAX_REQUEST_BYTES ?
					 realloc(buf, cap * 2) :
					 NULL;
			if (!bigger)
				goto out_fail;
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out_fail;
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	*len = used;
	return buf;

out_fail:
	fprintf(stderr, "h2req: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static struct rstream *add(struct req *r, const char *type, const char *method)
{
	struct rstream *rs = &r->s[r->n++];

	rs->r = r;
	rs->type = type;
	rs->method = method;
	rs->in_fd = rs->out_fd = -1;
	return rs;
}

static int add_input(struct req *r, struct rstream *rs, const char *path)
{
	struct stat st;

	/* A FIFO's open waits for its writer: the test starts us first. */
	rs->in_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (rs->in_fd < 0 || fstat(rs->in_fd, &st) < 0) {
		fprintf(stderr, "h2req: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rs->in_regular = S_ISREG(st.st_mode);
	if (!rs->in_regular)
		fcntl(rs->in_fd, F_SETFL, O_NONBLOCK);
	/* epoll refuses regular files: pump those from an active event. */
	rs->in_ev = event_new(r->base, rs->in_regular ? -1 : rs->in_fd,
			      rs->in_regular ? 0 : EV_READ, feed_cb, rs);
	return rs->in_ev ? 0 : -1;
}

static int add_output(struct rstream *rs, const char *path)
{
	rs->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rs->out_fd < 0) {
		fprintf(stderr, "h2req: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: h2req [--exec FILE] [--stdout FILE] [--stderr FILE] [--stdin FILE]\n"
		"             [--resize FILE] [--signal SIG] [--timeout SEC]\n"
		"             [--ca FILE [--cert FILE --key FILE]] ADDRESS SID\n");
	exit(2);
}

int main(int argc, char **argv)
{
	/* exec stdout stderr stdin resize signal timeout ca cert key */
	const char *opt[10] = { 0 };
	static const char *const names[] = {
		"--exec",   "--stdout",	 "--stderr", "--stdin", "--resize",
		"--signal", "--timeout", "--ca",     "--cert",	"--key"
	};
	SSL_CTX *ctx = NULL;
	struct timeval tv = { 30, 0 };
	struct event *timer;
	struct h2_conn *c;
	struct rstream *rs;
	struct req r;
	char err[256];
	size_t k;
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 1; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		for (k = 0; k < 10 && strcmp(argv[i], names[k]); k++)
			;
		if (k == 10)
			usage();
		opt[k] = argv[i + 1];
	}
	if (argc - i != 2 || strlen(argv[i + 1]) != EXECFS_SID_LEN)
		usage();
	if (opt[6])
		tv.tv_sec = atoi(opt[6]);
	snprintf(r.path, sizeof(r.path), "%s%s", EXECFS_PATH_SESSIONS,
		 argv[i + 1]);
	r.base = event_base_new();
	if (!r.base)
		return 1;

	if (opt[0]) {
		rs = add(&r, EXECFS_ST_STATUS, "POST");
		rs->body = slurp(opt[0], &rs->body_len);
		if (!rs->body)
			return 1;
	}
	if (opt[1] && add_output(add(&r, EXECFS_ST_STDOUT, "GET"), opt[1]))
		return 1;
	if (opt[2] && add_output(add(&r, EXECFS_ST_STDERR, "GET"), opt[2]))
		return 1;
	if (opt[3] && add_input(&r, add(&r, EXECFS_ST_STDIN, "POST"), opt[3]))
		return 1;
	if (opt[4] && add_input(&r, add(&r, EXECFS_ST_RESIZE, "POST"), opt[4]))
		return 1;
	if (opt[5]) {
		rs = add(&r, EXECFS_ST_SIGNAL, "POST");
		rs->body = opt[5];
		rs->body_len = strlen(opt[5]);
	}
	if (r.n == 0)
		usage();

	timer = evtimer_new(r.base, timeout_cb, &r);
	if (!timer || evtimer_add(timer, &tv))
		return 1;
	if (opt[7]) {
		ctx = tls_client_ctx_new(opt[7], opt[8], opt[9], err,
					 sizeof(err));
		if (!ctx) {
			fprintf(stderr, "h2req: TLS: %s\n", err);
			return 1;
		}
	}
	c = h2_connect(r.base, NULL, argv[i], ctx, NULL, &conn_cbs, &r, err,
		       sizeof(err));
	if (!c) {
		fprintf(stderr, "h2req: %s: %s\n", argv[i], err);
		return 1;
	}
	event_base_dispatch(r.base);
	if (!r.conn_gone)
		h2_conn_free(c);
	event_free(timer);
	for (k = 0; k < r.n; k++) {
		if (r.s[k].in_ev)
			event_free(r.s[k].in_ev);
		if (r.s[k].in_fd >= 0)
			close(r.s[k].in_fd);
		if (r.s[k].out_fd >= 0)
			close(r.s[k].out_fd);
	}
	if (opt[0])
		free((char *)r.s[0].body);
	event_base_free(r.base);
	tls_ctx_free(ctx);
	return r.rc;
}
