/*
 * The invalidation thread (see notify.h). A stale number in the queue is
 * harmless: the kernel answers ENOENT for an inode it no longer knows, and
 * a racing teardown makes the write fail with ENODEV/EBADF, both ignored.
 */
#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "execfs/log.h"

struct inval {
	struct inval *next;
	fuse_ino_t parent;
	char name[]; /* NUL-terminated */
};

struct notifier {
	struct fuse_session *se; /* not owned */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct inval *head, *tail; /* owned, under lock */
	bool stop;
	bool running;
};

static void *notifier_main(void *arg)
{
	struct notifier *nf = arg;

	pthread_mutex_lock(&nf->lock);
	for (;;) {
		struct inval *iv;

		while (!nf->head && !nf->stop)
			pthread_cond_wait(&nf->cond, &nf->lock);
		if (nf->stop)
			break;
		iv = nf->head;
		nf->head = iv->next;
		if (!nf->head)
			nf->tail = NULL;
		pthread_mutex_unlock(&nf->lock);
		fuse_lowlevel_notify_inval_entry(nf->se, iv->parent, iv->name,
						 strlen(iv->name));
		free(iv);
		pthread_mutex_lock(&nf->lock);
	}
	pthread_mutex_unlock(&nf->lock);
	return NULL;
}

struct notifier *notifier_new(struct fuse_session *se)
{
	struct notifier *nf = calloc(1, sizeof(*nf)); /* owned by the caller */
	sigset_t all, old;
	int rc;

	if (!nf)
		return NULL;
	nf->se = se;
	pthread_mutex_init(&nf->lock, NULL);
	pthread_cond_init(&nf->cond, NULL);
	/* Signals belong to the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&nf->thread, NULL, notifier_main, nf);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&nf->lock);
		pthread_cond_destroy(&nf->cond);
		free(nf);
		return NULL;
	}
	nf->running = true;
	return nf;
}

void notifier_free(struct notifier *nf)
{
	struct inval *iv, *next;
	struct timespec deadline;

	if (!nf)
		return;
	pthread_mutex_lock(&nf->lock);
	nf->stop = true;
	pthread_cond_signal(&nf->cond);
	pthread_mutex_unlock(&nf->lock);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	/* A notification stuck behind a lookup nobody will answer any more
	 * must not hang the exit: leave the thread to the process's end. */
	if (pthread_timedjoin_np(nf->thread, NULL, &deadline) != 0) {
		log_warn("invalidation thread stuck; leaving it");
		return;
	}
	for (iv = nf->head; iv; iv = next) {
		next = iv->next;
		free(iv);
	}
	pthread_mutex_destroy(&nf->lock);
	pthread_cond_destroy(&nf->cond);
	free(nf);
}

void notifier_inval_entry(struct notifier *nf, fuse_ino_t parent,
			  const char *name)
{
	size_t len = strlen(name);
	struct inval *iv;

	if (!nf)
		return;
	iv = malloc(sizeof(*iv) + len + 1); /* owned by the queue */
	if (!iv)
		return; /* the entry timeout expires it anyway */
	iv->next = NULL;
	iv->parent = parent;
	memcpy(iv->name, name, len + 1);
	pthread_mutex_lock(&nf->lock);
	if (nf->tail)
		nf->tail->next = iv;
	else
		nf->head = iv;
	nf->tail = iv;
	pthread_cond_signal(&nf->cond);
	pthread_mutex_unlock(&nf->lock);
}
