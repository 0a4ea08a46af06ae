/*
 * sauth_pool.c: a bounded pool of threads running the sender
 * authentication checks (sauth_check.c) so that their blocking DNS never
 * stalls an event loop; results are delivered on the caller's loop.
 *
 * Does not: share a sauth_ctx between threads (libspf2's and our caches
 * are unlocked), or retry: a check that times out is temperror.
 *
 * Invariants: a request is queued, running or done, changed under the
 * pool's mutex; the owner's thread frees a done request after its
 * callback or on cancel before that, the worker thread frees a running
 * request that was cancelled.  Worst-case wait of a request: queue_max /
 * nthreads checks of at most a few dns_timeout each, which is why the
 * queue is bounded and refuses rather than grows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "xmalloc.h"
#include "engine/sauth_pool.h"

enum srq_state { SRQ_QUEUED, SRQ_RUNNING, SRQ_DONE };

struct sauth_req {
	struct sauth_pool	*pool;
	struct sauth_req	*next, **prevp;
	enum srq_state		 st;
	int			 cancelled;
	struct event		*ev;
	sauth_cb		*cb;
	void			*arg;
	char			*ip, *helo, *from, *msg;
	size_t			 len;
	struct sauth_results	 res;
};

struct sauth_pool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct sauth_req	*head, **tailp;
	int			 queued, queue_max, stop, nthreads;
	pthread_t		*threads;
	struct sauth_ctx	**ctx;		/* one per thread */
	int			 nctx;		/* ctx's length */
	struct sauth_cfg	 cfg;
};

struct thread_arg {
	struct sauth_pool	*pool;
	struct sauth_ctx	*ctx;
};

static void
req_free(struct sauth_req *rq)
{
	event_free(rq->ev);
	free(rq->ip);
	free(rq->helo);
	free(rq->from);
	free(rq->msg);
	free(rq);
}

static void
req_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sauth_req *rq = arg;

	(void)fd;
	(void)what;
	rq->cb(rq->arg, &rq->res);
	req_free(rq);
}

static void *
pool_thread(void *arg)
{
	struct thread_arg *ta = arg;
	struct sauth_pool *pool = ta->pool;
	struct sauth_ctx *ctx = ta->ctx;
	struct sauth_req *rq;

	free(ta);
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->stop && pool->head == NULL)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->stop)
			break;
		rq = pool->head;
		pool->head = rq->next;
		if (pool->head != NULL)
			pool->head->prevp = &pool->head;
		else
			pool->tailp = &pool->head;
		pool->queued--;
		rq->st = SRQ_RUNNING;
		pthread_mutex_unlock(&pool->mu);

		sauth_check(ctx, rq->ip, rq->helo, rq->from, rq->msg, rq->len,
		    &rq->res);

		pthread_mutex_lock(&pool->mu);
		if (rq->cancelled) {
			pthread_mutex_unlock(&pool->mu);
			req_free(rq);
			pthread_mutex_lock(&pool->mu);
			continue;
		}
		rq->st = SRQ_DONE;
		/* Thread-safe: the base was made with evthread locking. */
		event_active(rq->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

struct sauth_pool *
sauth_pool_new(const struct sauth_cfg *cfg, int nthreads, int queue_max,
    char *msg, size_t msgsz)
{
	struct sauth_pool *pool = xcalloc(1, sizeof(*pool));
	struct thread_arg *ta;
	int i;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > SAUTH_THREADS_MAX)
		nthreads = SAUTH_THREADS_MAX;
	if (queue_max < 1)
		queue_max = 1;
	if (queue_max > SAUTH_QUEUE_MAX)
		queue_max = SAUTH_QUEUE_MAX;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->tailp = &pool->head;
	pool->queue_max = queue_max;
	pool->cfg = *cfg;
	pool->threads = xcalloc((size_t)nthreads, sizeof(*pool->threads));
	pool->ctx = xcalloc((size_t)nthreads, sizeof(*pool->ctx));
	pool->nctx = nthreads;
	for (i = 0; i < nthreads; i++) {
		if ((pool->ctx[i] = sauth_ctx_new(cfg, msg, msgsz)) == NULL)
			goto fail;
		ta = xmalloc(sizeof(*ta));
		ta->pool = pool;
		ta->ctx = pool->ctx[i];
		if (pthread_create(&pool->threads[i], NULL, pool_thread,
		    ta) != 0) {
			free(ta);
			snprintf(msg, msgsz, "cannot start a thread");
			goto fail;
		}
		pool->nthreads++;
	}
	return pool;
fail:
	sauth_pool_free(pool);
	return NULL;
}

void
sauth_pool_free(struct sauth_pool *pool)
{
	struct sauth_req *rq;
	int i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	while ((rq = pool->head) != NULL) {
		pool->head = rq->next;
		req_free(rq);
	}
	for (i = 0; i < pool->nctx; i++)
		sauth_ctx_free(pool->ctx[i]);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->ctx);
	free(pool->threads);
	free(pool);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct sauth_req *
sauth_pool_check(struct sauth_pool *pool, struct event_base *base,
    const char *client_ip, const char *helo, const char *mail_from,
    const char *msg, size_t len, sauth_cb *cb, void *arg)
{
	struct sauth_req *rq;

	pthread_mutex_lock(&pool->mu);
	if (pool->queued >= pool->queue_max || pool->stop) {
		pthread_mutex_unlock(&pool->mu);
		return NULL;
	}
	pthread_mutex_unlock(&pool->mu);

	rq = xcalloc(1, sizeof(*rq));
	rq->pool = pool;
	rq->cb = cb;
	rq->arg = arg;
	if ((rq->ev = event_new(base, -1, 0, req_deliver_cb, rq)) == NULL) {
		free(rq);
		return NULL;
	}
	rq->ip = dup_or_null(client_ip);
	rq->helo = dup_or_null(helo);
	rq->from = dup_or_null(mail_from);
	rq->msg = xmalloc(len + 1);
	memcpy(rq->msg, msg, len);
	rq->msg[len] = '\0';
	rq->len = len;

	pthread_mutex_lock(&pool->mu);
	rq->st = SRQ_QUEUED;
	rq->next = NULL;
	rq->prevp = pool->tailp;
	*pool->tailp = rq;
	pool->tailp = &rq->next;
	pool->queued++;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	return rq;
}

void
sauth_cancel(struct sauth_req *rq)
{
	struct sauth_pool *pool;

	if (rq == NULL)
		return;
	pool = rq->pool;
	pthread_mutex_lock(&pool->mu);
	switch (rq->st) {
	case SRQ_QUEUED:
		*rq->prevp = rq->next;
		if (rq->next != NULL)
			rq->next->prevp = rq->prevp;
		else
			pool->tailp = rq->prevp;
		pool->queued--;
		pthread_mutex_unlock(&pool->mu);
		req_free(rq);
		return;
	case SRQ_RUNNING:
		/* The worker frees it when the check is done. */
		rq->cancelled = 1;
		pthread_mutex_unlock(&pool->mu);
		return;
	case SRQ_DONE:
		/* Its event is active on base's loop, our thread: delete it
		 * before it runs. */
		pthread_mutex_unlock(&pool->mu);
		req_free(rq);
		return;
	}
	pthread_mutex_unlock(&pool->mu);
}
