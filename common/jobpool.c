/*
 * jobpool.c: the bounded job pool of jobpool.h.
 *
 * Does not: grow the queue, retry, time out a job, or share anything
 * between threads beyond the queue (per-thread state comes from
 * ops.start).
 *
 * Invariants: a job is queued, running or done, changed under the pool's
 * mutex; exactly one party drops or delivers its data: the owner's thread
 * (delivered, or cancel of a queued or done job), the worker (a job
 * cancelled while it ran) or jobpool_free() (still queued at stop).
 */
#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "jobpool.h"
#include "xmalloc.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct jobpool_job {
	struct jobpool		*pool;
	struct jobpool_job	*next, **prevp;	/* queue links */
	enum job_state		 st;
	int			 cancelled;
	struct event		*ev;
	void			*data;
};

struct jobpool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct jobpool_job	*head, **tailp;
	int			 queued, queue_max, stop, nthreads;
	pthread_t		*threads;
	struct jobpool_ops	 ops;
};

struct thread_arg {
	struct jobpool	*pool;
	int		 i;
};

static void
job_drop(struct jobpool_job *job)
{
	event_free(job->ev);
	job->pool->ops.drop(job->data);
	free(job);
}

/* On the owner's loop: forget the job, then deliver (done may free what
 * the owner holds). */
static void
job_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jobpool_job *job = arg;
	void (*done)(void *) = job->pool->ops.done;
	void *data = job->data;

	(void)fd;
	(void)what;
	event_free(job->ev);
	free(job);
	done(data);
}

/* Under pool->mu: take the job off the queue. */
static void
job_unlink(struct jobpool *pool, struct jobpool_job *job)
{
	*job->prevp = job->next;
	if (job->next != NULL)
		job->next->prevp = job->prevp;
	else
		pool->tailp = job->prevp;
	pool->queued--;
}

static void *
pool_thread(void *arg)
{
	struct thread_arg *ta = arg;
	struct jobpool *pool = ta->pool;
	struct jobpool_job *job;
	void *tctx = NULL;

	if (pool->ops.start != NULL)
		tctx = pool->ops.start(pool->ops.arg, ta->i);
	free(ta);
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->stop && pool->head == NULL)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->stop)
			break;
		job = pool->head;
		job_unlink(pool, job);
		job->st = JOB_RUNNING;
		pthread_mutex_unlock(&pool->mu);

		pool->ops.run(tctx, job->data);

		pthread_mutex_lock(&pool->mu);
		if (job->cancelled) {
			pthread_mutex_unlock(&pool->mu);
			job_drop(job);
			pthread_mutex_lock(&pool->mu);
			continue;
		}
		job->st = JOB_DONE;
		/* Thread-safe: the base was made with evthread locking on. */
		event_active(job->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&pool->mu);
	if (pool->ops.finish != NULL)
		pool->ops.finish(pool->ops.arg, tctx);
	return NULL;
}

struct jobpool *
jobpool_new(const struct jobpool_ops *ops, int nthreads, int queue_max)
{
	struct jobpool *pool = xcalloc(1, sizeof(*pool));
	struct thread_arg *ta;
	int i;

	if (nthreads < 1)
		nthreads = 1;
	if (queue_max < 1)
		queue_max = 1;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->tailp = &pool->head;
	pool->queue_max = queue_max;
	pool->ops = *ops;
	pool->threads = xcalloc((size_t)nthreads, sizeof(*pool->threads));
	for (i = 0; i < nthreads; i++) {
		ta = xmalloc(sizeof(*ta));
		ta->pool = pool;
		ta->i = i;
		if (pthread_create(&pool->threads[i], NULL, pool_thread,
		    ta) != 0) {
			free(ta);
			break;
		}
		pool->nthreads++;
	}
	return pool;
}

int
jobpool_nthreads(const struct jobpool *pool)
{
	return pool->nthreads;
}

void
jobpool_free(struct jobpool *pool)
{
	struct jobpool_job *job;
	int i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	while ((job = pool->head) != NULL) {
		pool->head = job->next;
		job_drop(job);
	}
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->threads);
	free(pool);
}

struct jobpool_job *
jobpool_submit(struct jobpool *pool, struct event_base *base, void *data)
{
	struct jobpool_job *job;

	pthread_mutex_lock(&pool->mu);
	if (pool->queued >= pool->queue_max || pool->stop) {
		pthread_mutex_unlock(&pool->mu);
		return NULL;
	}
	pthread_mutex_unlock(&pool->mu);

	job = xcalloc(1, sizeof(*job));
	job->pool = pool;
	job->data = data;
	if ((job->ev = event_new(base, -1, 0, job_deliver_cb, job)) == NULL) {
		free(job);
		return NULL;
	}

	pthread_mutex_lock(&pool->mu);
	job->st = JOB_QUEUED;
	job->next = NULL;
	job->prevp = pool->tailp;
	*pool->tailp = job;
	pool->tailp = &job->next;
	pool->queued++;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	return job;
}

void
jobpool_cancel(struct jobpool_job *job)
{
	struct jobpool *pool;

	if (job == NULL)
		return;
	pool = job->pool;
	pthread_mutex_lock(&pool->mu);
	switch (job->st) {
	case JOB_QUEUED:
		job_unlink(pool, job);
		break;
	case JOB_RUNNING:
		/* The worker drops it when the job is done. */
		job->cancelled = 1;
		pthread_mutex_unlock(&pool->mu);
		return;
	case JOB_DONE:
		/* Activated, not yet run: event_free() deactivates it. */
		break;
	}
	pthread_mutex_unlock(&pool->mu);
	job_drop(job);
}
