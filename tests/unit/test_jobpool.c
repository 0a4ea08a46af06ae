/*
 * test_jobpool.c: the bounded job pool (common/jobpool.c): jobs run on
 * the pool's threads with their per-thread context and complete on the
 * submitting loop's thread; a full queue refuses at once; a cancelled
 * job (queued, running or done) is dropped and never completed; and
 * jobpool_free() with jobs still queued drops them without completing.
 * Jobs that must stay running wait on a gate the test opens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "jobpool.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gate_open, nrunning, nran, ndone, ndropped, nstarted, nfinished,
	    done_wrong_thread, run_on_loop_thread, bad_tctx;
static pthread_t loop_thread;
static struct event_base *base;

struct tjob {
	int	gated;		/* wait for the gate before finishing */
};

static void *
t_start(void *arg, int i)
{
	int *tag = malloc(sizeof(*tag));

	(void)arg;
	*tag = 1000 + i;
	pthread_mutex_lock(&mu);
	nstarted++;
	pthread_mutex_unlock(&mu);
	return tag;
}

static void
t_finish(void *arg, void *tctx)
{
	(void)arg;
	free(tctx);
	pthread_mutex_lock(&mu);
	nfinished++;
	pthread_mutex_unlock(&mu);
}

static void
t_run(void *tctx, void *data)
{
	struct tjob *j = data;

	pthread_mutex_lock(&mu);
	if (tctx == NULL || *(int *)tctx < 1000)
		bad_tctx++;
	if (pthread_equal(pthread_self(), loop_thread))
		run_on_loop_thread++;
	nrunning++;
	pthread_cond_broadcast(&cv);
	while (j->gated && !gate_open)
		pthread_cond_wait(&cv, &mu);
	nrunning--;
	nran++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void
t_done(void *data)
{
	if (!pthread_equal(pthread_self(), loop_thread))
		done_wrong_thread++;
	ndone++;
	free(data);
}

static void
t_drop(void *data)
{
	pthread_mutex_lock(&mu);
	ndropped++;
	pthread_mutex_unlock(&mu);
	free(data);
}

static const struct jobpool_ops ops = {
	.start = t_start, .finish = t_finish, .run = t_run, .done = t_done,
	.drop = t_drop,
};

static struct tjob *
tjob(int gated)
{
	struct tjob *j = calloc(1, sizeof(*j));

	j->gated = gated;
	return j;
}

/* Wait (bounded) until *counter reaches n; under no lock on entry. */
static void
wait_count(int *counter, int n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&mu);
	while (*counter < n)
		if (pthread_cond_timedwait(&cv, &mu, &dl) != 0)
			break;
	pthread_mutex_unlock(&mu);
	assert_true(*counter >= n);
}

static void
set_gate(int open)
{
	pthread_mutex_lock(&mu);
	gate_open = open;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Run base's loop until ndone reaches n (bounded). */
static void
loop_until_done(int n)
{
	int i;

	for (i = 0; i < 1000 && ndone < n; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_int_equal(ndone, n);
}

static int
setup(void **state)
{
	(void)state;
	gate_open = nrunning = nran = ndone = ndropped = nstarted =
	    nfinished = done_wrong_thread = run_on_loop_thread = bad_tctx = 0;
	loop_thread = pthread_self();
	base = event_base_new();
	return base == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	event_base_free(base);
	return 0;
}

static void
test_complete_on_loop(void **state)
{
	struct jobpool *jp = jobpool_new(&ops, 3, 64);
	int i;

	(void)state;
	assert_int_equal(jobpool_nthreads(jp), 3);
	for (i = 0; i < 20; i++)
		assert_non_null(jobpool_submit(jp, base, tjob(0)));
	loop_until_done(20);
	assert_int_equal(nran, 20);
	assert_int_equal(done_wrong_thread, 0);
	assert_int_equal(run_on_loop_thread, 0);
	assert_int_equal(bad_tctx, 0);
	jobpool_free(jp);
	assert_int_equal(nstarted, 3);
	assert_int_equal(nfinished, 3);
	assert_int_equal(ndropped, 0);
}

static void
test_bound_refuses(void **state)
{
	struct jobpool *jp = jobpool_new(&ops, 1, 2);
	struct tjob *extra = tjob(0);

	(void)state;
	assert_non_null(jobpool_submit(jp, base, tjob(1)));
	wait_count(&nrunning, 1);		/* off the queue, running */
	assert_non_null(jobpool_submit(jp, base, tjob(0)));
	assert_non_null(jobpool_submit(jp, base, tjob(0)));
	/* Queue full (2 waiting): refused at once, caller keeps data. */
	assert_null(jobpool_submit(jp, base, extra));
	free(extra);
	set_gate(1);
	loop_until_done(3);
	/* Room again. */
	assert_non_null(jobpool_submit(jp, base, tjob(0)));
	loop_until_done(4);
	jobpool_free(jp);
	assert_int_equal(ndropped, 0);
}

static void
test_cancel(void **state)
{
	struct jobpool *jp = jobpool_new(&ops, 1, 8);
	struct jobpool_job *running, *queued, *done;

	(void)state;
	running = jobpool_submit(jp, base, tjob(1));
	wait_count(&nrunning, 1);
	queued = jobpool_submit(jp, base, tjob(0));
	assert_non_null(queued);

	jobpool_cancel(queued);			/* dropped now */
	assert_int_equal(ndropped, 1);
	jobpool_cancel(running);		/* dropped by the worker */
	set_gate(1);
	wait_count(&ndropped, 2);
	assert_int_equal(nran, 1);

	/* Done (or just finishing) but not delivered: cancel deletes the
	 * pending event, or the worker drops it; either way never done. */
	done = jobpool_submit(jp, base, tjob(0));
	wait_count(&nran, 2);
	jobpool_cancel(done);
	wait_count(&ndropped, 3);
	{
		struct timeval tv = { 0, 50000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_int_equal(ndone, 0);
	jobpool_cancel(NULL);
	jobpool_free(jp);
	assert_int_equal(ndropped, 3);
}

/*
 * jobpool_free() must have asked the worker to stop before the running job
 * ends; a second (not the old 200 ms) keeps a loaded CI machine, where the
 * main thread may wait long to be scheduled, from racing it.
 */
static void *
open_gate_later(void *arg)
{
	struct timespec ts = { 1, 0 };

	(void)arg;
	nanosleep(&ts, NULL);
	set_gate(1);
	return NULL;
}

static void
test_free_with_queued(void **state)
{
	struct jobpool *jp = jobpool_new(&ops, 1, 8);
	struct jobpool_job *running;
	pthread_t t;

	(void)state;
	running = jobpool_submit(jp, base, tjob(1));
	wait_count(&nrunning, 1);
	assert_non_null(jobpool_submit(jp, base, tjob(0)));
	assert_non_null(jobpool_submit(jp, base, tjob(0)));
	jobpool_cancel(running);	/* its owner is gone */
	/* The running job ends only after free has asked the thread to
	 * stop, so the two queued ones are never run. */
	assert_int_equal(pthread_create(&t, NULL, open_gate_later, NULL), 0);
	jobpool_free(jp);
	pthread_join(t, NULL);
	assert_int_equal(nran, 1);
	assert_int_equal(ndropped, 3);
	assert_int_equal(ndone, 0);
	assert_int_equal(nfinished, 1);
	jobpool_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_complete_on_loop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bound_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_queued, setup,
		    teardown),
	};

	if (evthread_use_pthreads() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
