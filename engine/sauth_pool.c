/*
 * sauth_pool.c: a bounded pool of threads running the sender
 * authentication checks (sauth_check.c) so that their blocking DNS never
 * stalls an event loop; results are delivered on the caller's loop.
 *
 * Does not: share a sauth_ctx between threads (libspf2's and our caches
 * are unlocked), or retry: a check that times out is temperror.
 *
 * Invariants: the queue, cancel and delivery are common/jobpool.c's;
 * thread i uses ctx[i] only.  Worst-case wait of a request: queue_max /
 * nthreads checks of at most a few dns_timeout each, which is why the
 * queue is bounded and refuses rather than grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobpool.h"
#include "xmalloc.h"
#include "engine/sauth_pool.h"

struct sauth_req {
	struct jobpool_job	*job;
	sauth_cb		*cb;
	void			*arg;
	char			*ip, *helo, *from, *msg;
	size_t			 len;
	struct sauth_results	 res;
};

struct sauth_pool {
	struct jobpool		*jp;
	struct sauth_ctx	**ctx;		/* one per thread */
	int			 nctx;		/* ctx's length */
	struct sauth_cfg	 cfg;
};

static void
req_free(void *data)
{
	struct sauth_req *rq = data;

	free(rq->ip);
	free(rq->helo);
	free(rq->from);
	free(rq->msg);
	free(rq);
}

static void
req_done(void *data)
{
	struct sauth_req *rq = data;

	rq->cb(rq->arg, &rq->res);
	req_free(rq);
}

static void
req_run(void *tctx, void *data)
{
	struct sauth_req *rq = data;

	sauth_check(tctx, rq->ip, rq->helo, rq->from, rq->msg, rq->len,
	    &rq->res);
}

/* Thread i's own context, made before the threads. */
static void *
pool_start(void *arg, int i)
{
	struct sauth_pool *pool = arg;

	return pool->ctx[i];
}

struct sauth_pool *
sauth_pool_new(const struct sauth_cfg *cfg, int nthreads, int queue_max,
    char *msg, size_t msgsz)
{
	struct sauth_pool *pool = xcalloc(1, sizeof(*pool));
	struct jobpool_ops ops = {
		.start = pool_start, .run = req_run, .done = req_done,
		.drop = req_free, .arg = pool,
	};
	int i;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > SAUTH_THREADS_MAX)
		nthreads = SAUTH_THREADS_MAX;
	if (queue_max < 1)
		queue_max = 1;
	if (queue_max > SAUTH_QUEUE_MAX)
		queue_max = SAUTH_QUEUE_MAX;
	pool->cfg = *cfg;
	pool->ctx = xcalloc((size_t)nthreads, sizeof(*pool->ctx));
	pool->nctx = nthreads;
	for (i = 0; i < nthreads; i++)
		if ((pool->ctx[i] = sauth_ctx_new(cfg, msg, msgsz)) == NULL)
			goto fail;
	pool->jp = jobpool_new(&ops, nthreads, queue_max);
	if (jobpool_nthreads(pool->jp) != nthreads) {
		snprintf(msg, msgsz, "cannot start a thread");
		goto fail;
	}
	return pool;
fail:
	sauth_pool_free(pool);
	return NULL;
}

void
sauth_pool_free(struct sauth_pool *pool)
{
	int i;

	if (pool == NULL)
		return;
	/* Threads first: they use the contexts. */
	jobpool_free(pool->jp);
	for (i = 0; i < pool->nctx; i++)
		sauth_ctx_free(pool->ctx[i]);
	free(pool->ctx);
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

	rq = xcalloc(1, sizeof(*rq));
	rq->cb = cb;
	rq->arg = arg;
	rq->ip = dup_or_null(client_ip);
	rq->helo = dup_or_null(helo);
	rq->from = dup_or_null(mail_from);
	rq->msg = xmalloc(len + 1);
	memcpy(rq->msg, msg, len);
	rq->msg[len] = '\0';
	rq->len = len;
	if ((rq->job = jobpool_submit(pool->jp, base, rq)) == NULL) {
		req_free(rq);
		return NULL;
	}
	return rq;
}

void
sauth_cancel(struct sauth_req *rq)
{
	if (rq != NULL)
		jobpool_cancel(rq->job);
}
