/*
 * The health and metrics endpoint (metrics_http.h): an evconnlistener,
 * one bufferevent per client, a request head parsed whole before any
 * answer, and the answer written and the connection closed.
 */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "execfs/log.h"
#include "execfs/promtext.h"

struct mclient {
	struct metrics_http *h;
	struct bufferevent *bev; /* owned; closes the socket */
	bool answered;
	struct mclient *prev, *next;
};

struct metrics_http {
	struct evconnlistener *el; /* owned */
	metrics_gauges_fn fn;
	void *arg;
	struct mclient *clients;
	size_t nclients;
};

int metrics_http_parse(const char *buf, size_t len, char *path, size_t pathlen,
		       int *head)
{
	const char *end = NULL, *p, *sp1, *sp2, *eol;
	size_t i, n;

	for (i = 0; i + 1 < len && !end; i++)
		if (buf[i] == '\n' &&
		    (buf[i + 1] == '\n' ||
		     (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
			end = buf + i;
	if (!end)
		return len >= METRICS_HTTP_HEAD_MAX ? -E2BIG : 0;
	if (end - buf >= METRICS_HTTP_HEAD_MAX)
		return -E2BIG;
	eol = memchr(buf, '\n', (size_t)(end - buf) + 1);
	/* METHOD SP PATH SP HTTP/1.x [CR] LF */
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp2 == sp1 + 1 || sp1[1] != '/')
		return -EINVAL;
	n = (size_t)(eol - sp2 - 1);
	if (n && sp2[n] == '\r')
		n--;
	if (n != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return -EINVAL;
	/* No control character but the CR of a CRLF. */
	for (p = buf; p < eol; p++)
		if (((unsigned char)*p < 0x20 || *p == 0x7f) &&
		    !(*p == '\r' && p + 1 == eol))
			return -EINVAL;
	if (sp1 - buf == 3 && !memcmp(buf, "GET", 3))
		*head = 0;
	else if (sp1 - buf == 4 && !memcmp(buf, "HEAD", 4))
		*head = 1;
	else
		return -ENOSYS;
	n = (size_t)(sp2 - sp1 - 1);
	p = memchr(sp1 + 1, '?', n);
	if (p)
		n = (size_t)(p - sp1 - 1);
	if (n >= pathlen)
		return -EINVAL;
	memcpy(path, sp1 + 1, n);
	path[n] = 0;
	return 1;
}

static void client_free(struct mclient *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->h->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->h->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void answer(struct mclient *c, int status, const char *ctype,
		   struct evbuffer *body, int head)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *reason = status == 200 ? "OK" :
			     status == 404 ? "Not Found" :
			     status == 405 ? "Method Not Allowed" :
			     status == 503 ? "Service Unavailable" :
					     "Bad Request";

	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			    status, reason, ctype, evbuffer_get_length(body));
	if (!head)
		evbuffer_add_buffer(out, body);
	c->answered = true;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void client_request(struct mclient *c, const char *path, int head)
{
	struct metrics_gauges g = { 0 };
	struct evbuffer *body = evbuffer_new();
	const char *text = PROM_CONTENT_TYPE;
	int status = 200;

	if (!body) {
		client_free(c);
		return;
	}
	c->h->fn(c->h->arg, &g);
	if (!strcmp(path, "/metrics")) {
		metrics_render(body, &g);
	} else if (!strcmp(path, "/healthz")) {
		status = g.healthy ? 200 : 503;
		evbuffer_add_printf(body, "%s\n",
				    g.healthy ? "ok" :
						"the monitor does not answer");
		text = "text/plain";
	} else if (!strcmp(path, "/readyz")) {
		status = g.ready && g.healthy ? 200 : 503;
		evbuffer_add_printf(body, "%s\n",
				    status == 200 ? "ready" : "not ready");
		text = "text/plain";
	} else {
		status = 404;
		evbuffer_add_printf(body, "not found\n");
		text = "text/plain";
	}
	answer(c, status, text, body, head);
	evbuffer_free(body);
}

static void client_read(struct bufferevent *bev, void *arg)
{
	struct mclient *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct evbuffer *body;
	char path[256];
	int rc, head = 0;

	if (c->answered)
		return;
	if (len > METRICS_HTTP_HEAD_MAX + 2)
		len = METRICS_HTTP_HEAD_MAX + 2;
	rc = metrics_http_parse((const char *)evbuffer_pullup(in, (ssize_t)len),
				len, path, sizeof(path), &head);
	if (rc == 0)
		return;
	if (rc > 0) {
		client_request(c, path, head);
		return;
	}
	body = evbuffer_new();
	if (!body) {
		client_free(c);
		return;
	}
	evbuffer_add_printf(body, "%s\n",
			    rc == -ENOSYS ? "only GET" : "bad request");
	answer(c, rc == -ENOSYS ? 405 : 400, "text/plain", body, 0);
	evbuffer_free(body);
}

static void client_written(struct bufferevent *bev, void *arg)
{
	struct mclient *c = arg;

	if (c->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(c);
}

/* EOF, an error, or the timeout: the client goes. */
static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	client_free(arg);
}

/* Full: the oldest client still to send its request makes room, so that
 * idle connections (anyone on the node can open them) never keep a probe
 * out. The list is newest first. */
static void evict_oldest_idle(struct metrics_http *h)
{
	struct mclient *c, *oldest = NULL;

	for (c = h->clients; c; c = c->next)
		if (!c->answered)
			oldest = c;
	if (oldest) {
		log_info("metrics: %d clients at once: the oldest idle one "
			 "closed",
			 METRICS_HTTP_CLIENTS);
		client_free(oldest);
	}
}

static void on_accept(struct evconnlistener *el, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct metrics_http *h = arg;
	struct timeval tv = { METRICS_HTTP_TIMEOUT, 0 };
	struct mclient *c;

	(void)sa;
	(void)salen;
	if (h->nclients >= METRICS_HTTP_CLIENTS)
		evict_oldest_idle(h);
	c = h->nclients < METRICS_HTTP_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (c)
		c->bev = bufferevent_socket_new(evconnlistener_get_base(el), fd,
						BEV_OPT_CLOSE_ON_FREE);
	if (!c || !c->bev) {
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->h = h;
	c->next = h->clients;
	if (h->clients)
		h->clients->prev = c;
	h->clients = c;
	h->nclients++;
	bufferevent_setcb(c->bev, client_read, client_written, client_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

/* addr into a socket address: unix:PATH, or a loopback IPv4/IPv6 with a
 * port. 0 or -EINVAL with err. */
static int metrics_addr(const char *addr, struct sockaddr_storage *ss,
			socklen_t *len, char *err, size_t errlen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!strncmp(addr, "unix:", 5)) {
		if (strlen(addr + 5) == 0 ||
		    strlen(addr + 5) >= sizeof(un->sun_path))
			goto bad;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, addr + 5);
		*len = sizeof(*un);
		return 0;
	}
	colon = strrchr(addr, ':');
	if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host))
		goto bad;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || !port || port > 65535)
		goto bad;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			goto bad;
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			goto not_loopback;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		goto bad;
	if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
		goto not_loopback;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*len = sizeof(*in4);
	return 0;
not_loopback:
	snprintf(err, errlen,
		 "--metrics %s: not a loopback address (it serves without "
		 "authentication)",
		 addr);
	return -EINVAL;
bad:
	snprintf(err, errlen,
		 "--metrics %s: want unix:PATH, 127.0.0.1:PORT or [::1]:PORT",
		 addr);
	return -EINVAL;
}

struct metrics_http *metrics_http_new(struct event_base *base, const char *addr,
				      metrics_gauges_fn fn, void *arg,
				      char *err, size_t errlen)
{
	struct metrics_http *h;
	struct sockaddr_storage ss;
	socklen_t len;
	struct stat sb;

	if (metrics_addr(addr, &ss, &len, err, errlen) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fn = fn;
	h->arg = arg;
	/* A stale socket file goes, as for --listen (only a socket). */
	if (ss.ss_family == AF_UNIX && !lstat(addr + 5, &sb) &&
	    S_ISSOCK(sb.st_mode))
		unlink(addr + 5);
	h->el = evconnlistener_new_bind(base, on_accept, h,
					LEV_OPT_CLOSE_ON_FREE |
						LEV_OPT_CLOSE_ON_EXEC |
						LEV_OPT_REUSEABLE,
					16, (struct sockaddr *)&ss, (int)len);
	if (!h->el) {
		snprintf(err, errlen, "--metrics %s: %s", addr,
			 strerror(errno));
		free(h);
		return NULL;
	}
	if (ss.ss_family == AF_UNIX)
		chmod(addr + 5, 0660);
	return h;
}

void metrics_http_free(struct metrics_http *h)
{
	if (!h)
		return;
	while (h->clients)
		client_free(h->clients);
	evconnlistener_free(h->el);
	free(h);
}
