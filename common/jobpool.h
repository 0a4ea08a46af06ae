/*
 * jobpool.h: a small bounded pool of threads that runs blocking jobs off
 * the event loops and delivers each result on the loop that submitted
 * it.  Shared by password hashing (auth/passwd.c) and the sender
 * authentication checks (engine/sauth_pool.c).  A full queue refuses at
 * once: the caller fails soft rather than waits.
 *
 * libevent threading must be on (evthread_use_pthreads()) before the
 * bases that receive results are made: workers call event_active().
 */
#ifndef MOAT_JOBPOOL_H
#define MOAT_JOBPOOL_H

struct event_base;
struct jobpool;
struct jobpool_job;

struct jobpool_ops {
	/* On each new thread before its first job; returns that thread's
	 * context for run() (NULL ok).  NULL start: the context is NULL. */
	void	*(*start)(void *arg, int i);
	/* On that thread when it stops (NULL ok). */
	void	 (*finish)(void *arg, void *tctx);
	/* On a worker thread: the blocking work on data. */
	void	 (*run)(void *tctx, void *data);
	/* On the submitting base's loop; owns data from then on. */
	void	 (*done)(void *data);
	/* Any thread: data will never be delivered (cancelled, or queued
	 * at jobpool_free()); free it. */
	void	 (*drop)(void *data);
	void	*arg;			/* for start and finish */
};

/*
 * Start nthreads (>= 1) threads with a queue of at most queue_max (>= 1)
 * waiting jobs.  ops is copied.  jobpool_nthreads() tells how many
 * threads did start (thread creation may fail part way).
 * jobpool_free: stop and join the threads, drop the queued jobs; after
 * every owner is gone.  NULL is a no-op.
 */
struct jobpool	*jobpool_new(const struct jobpool_ops *, int nthreads,
		    int queue_max);
int		 jobpool_nthreads(const struct jobpool *);
void		 jobpool_free(struct jobpool *);

/*
 * Queue data; done(data) runs later on base's loop, never from here.
 * Returns a handle valid until done has been called or jobpool_cancel(),
 * or NULL when the queue is full or the pool stopping: the caller then
 * still owns data.
 */
struct jobpool_job *jobpool_submit(struct jobpool *, struct event_base *,
		    void *data);

/* On base's thread before done ran: done will not be called and data is
 * dropped (now, or by the worker once a running job ends).  NULL ok. */
void		 jobpool_cancel(struct jobpool_job *);

#endif
