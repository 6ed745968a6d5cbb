/*
 * Directory watches for files that are replaced (filewatch.h): one
 * inotify fd on the loop, one watch per distinct directory, and a timer
 * that turns a burst of events into one callback.
 */
#include "filewatch.h"

#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "execfs/log.h"

#define FILEWATCH_MASK                                              \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | \
	 IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct filewatch {
	int fd; /* owned: the inotify instance */
	struct event *ev; /* reads fd */
	struct event *timer; /* the burst's end */
	void (*cb)(void *arg);
	void *arg;
};

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct filewatch *w = arg;

	(void)fd;
	(void)what;
	w->cb(w->arg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct filewatch *w = arg;
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	struct timeval tv = { 0, FILEWATCH_DELAY_MS * 1000 };
	const struct inotify_event *ie;
	bool any = false;
	ssize_t n;
	char *p;

	(void)what;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			if (ie->mask & IN_Q_OVERFLOW)
				any = true;
			else if (ie->mask & IN_IGNORED)
				log_warn("a watched directory is gone: its "
					 "files are no longer followed "
					 "(SIGHUP still reloads them)");
			else
				any = true;
		}
	}
	/* The burst's first event starts the timer; later ones ride it. */
	if (any && !evtimer_pending(w->timer, NULL))
		evtimer_add(w->timer, &tv);
}

struct filewatch *filewatch_new(struct event_base *base,
				const char *const *paths, size_t n,
				void (*cb)(void *arg), void *arg, char *err,
				size_t errlen)
{
	struct filewatch *w = calloc(1, sizeof(*w));
	char copy[PATH_MAX];
	size_t i;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cb = cb;
	w->arg = arg;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		snprintf(err, errlen, "inotify: %s", strerror(errno));
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		if (!paths[i])
			continue;
		if (snprintf(copy, sizeof(copy), "%s", paths[i]) >=
		    (int)sizeof(copy)) {
			snprintf(err, errlen, "%s: path too long", paths[i]);
			goto out_free;
		}
		/* The same directory twice is one watch (inotify says so
		 * by returning its descriptor again). */
		if (inotify_add_watch(w->fd, dirname(copy),
				      FILEWATCH_MASK | IN_ONLYDIR) < 0) {
			snprintf(err, errlen,
				 "inotify on the directory of %s: %s", paths[i],
				 strerror(errno));
			goto out_free;
		}
	}
	w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
	w->timer = evtimer_new(base, on_timer, w);
	if (!w->ev || !w->timer || event_add(w->ev, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	return w;
out_free:
	filewatch_free(w);
	return NULL;
}

void filewatch_free(struct filewatch *w)
{
	if (!w)
		return;
	if (w->ev)
		event_free(w->ev);
	if (w->timer)
		event_free(w->timer);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
