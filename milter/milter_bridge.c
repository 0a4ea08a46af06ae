/*
 * milter_bridge.c: libmilter's threads meet the engine here (issue 15).
 *
 * libmilter runs every callback of one MTA connection on that connection's
 * own thread.  The engine runs on one thread with a libevent loop (its I/O,
 * Redis and the rest, is asynchronous on that loop).  A callback posts its
 * connection to a queue under one mutex, wakes the loop with event_active,
 * and waits on the connection's condition variable for the one outcome, at
 * most milter_timeout; the engine thread takes the queue, runs the stage
 * and signals.  No thread per check, and the loop never waits for a
 * libmilter thread.
 *
 * It does not decide anything: milter_eng.c does.  It does not talk to the
 * MTA: milter_cb.c does.
 *
 * Invariants: a connection has at most one request out (busy); a request
 * holds a reference, so a timed-out callback can return and the MTA can
 * close while the engine still works on it; the connection is freed only
 * on the engine thread (a MLT_FREE request), where its engine state lives.
 * The snapshot in force (config and rules, proxy/snapshot.c) is swapped
 * whole on reload; each connection keeps the one it began with.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "moat_conf.h"
#include "filesrc.h"
#include "log.h"
#include "milter.h"
#include "policy.h"
#include "privsep.h"
#include "snapshot.h"
#include "xmalloc.h"

#include <libmilter/mfapi.h>

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct mlt_conn	*q_head, *q_tail;
static struct event_base *eng_base;
static struct event	*ev_wake, *ev_ps;
static pthread_t	 eng_thread;
static int		 eng_ps_fd = -1;

static atomic_int	 n_conns, n_inflight;
static atomic_ullong	 id_next;

static const char *stage_names[] = {
#define X(e, n) n,
	MLT_STAGE_LIST
#undef X
};

const char *
mlt_stage_name(enum mlt_stage s)
{
	if ((size_t)s >= sizeof(stage_names) / sizeof(stage_names[0]))
		return "?";
	return stage_names[s];
}

struct config *
mlt_config(void)
{
	return cfg_current();
}

int
mlt_conns(void)
{
	return atomic_load(&n_conns);
}

/* ---- connections -------------------------------------------------------- */

struct mlt_conn *
mlt_conn_new(void)
{
	struct mlt_conn *c = xcalloc(1, sizeof(*c));
	unsigned long long n;

	c->refs = 1;
	pthread_cond_init(&c->cv, NULL);
	/* The snapshot in force: config and rules, kept for c's life. */
	c->snap = snap_current();
	c->cfg = c->snap->cfg;
	/* Unique in this process, unguessable across restarts. */
	n = atomic_fetch_add(&id_next, 1);
	snprintf(c->id, sizeof(c->id), "%016llx", n);
	c->start_ms = clock_mono_ms();
	atomic_fetch_add(&n_conns, 1);
	return c;
}

static void
conn_free(struct mlt_conn *c)
{
	mlt_tx_clear(c);	/* and the header index */
	free(c->client_addr);
	free(c->client_name);
	free(c->daemon_name);
	free(c->helo);
	free(c->tls);
	free(c->auth);
	sbuf_free(&c->out.rules);
	sbuf_free(&c->out.headers);
	sbuf_free(&c->out.ar);
	pthread_cond_destroy(&c->cv);
	snap_unref(c->snap);
	free(c);
	atomic_fetch_sub(&n_conns, 1);
}

void
mlt_tx_clear(struct mlt_conn *c)
{
	int i;

	free(c->qid);
	free(c->from);
	free(c->rcpt_now);
	c->qid = c->from = c->rcpt_now = NULL;
	for (i = 0; i < c->nrcpt; i++)
		free(c->rcpt[i]);
	c->nrcpt = 0;
	c->rcpt_refused = 0;
	sbuf_free(&c->msg);
	c->msg_size = 0;
	c->msg_capped = 0;
	for (i = 0; i < c->nhdrs; i++) {
		free(c->hdrs[i].name);
		free(c->hdrs[i].value);
	}
	c->nhdrs = 0;
}

static void
enqueue(struct mlt_conn *c)
{
	c->next = NULL;
	if (q_tail)
		q_tail->next = c;
	else
		q_head = c;
	q_tail = c;
}

void
mlt_conn_release(struct mlt_conn *c)
{
	if (c == NULL)
		return;
	mlt_tx_end(c);
	pthread_mutex_lock(&mu);
	/*
	 * The engine state lives on the engine thread: the last reference
	 * goes there as a MLT_FREE request, even when this one is it.
	 */
	if (--c->refs == 0) {
		c->refs = 1;
		c->stage = MLT_FREE;
		enqueue(c);
		pthread_mutex_unlock(&mu);
		event_active(ev_wake, EV_READ, 0);
		return;
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the in-flight bound ------------------------------------------------ */

int
mlt_tx_begin(struct mlt_conn *c)
{
	int max = c->cfg->milter_max_inflight;

	if (c->counted)
		return 0;
	if (atomic_fetch_add(&n_inflight, 1) >= max) {
		atomic_fetch_sub(&n_inflight, 1);
		return -1;
	}
	c->counted = 1;
	return 0;
}

void
mlt_tx_end(struct mlt_conn *c)
{
	if (c->counted) {
		atomic_fetch_sub(&n_inflight, 1);
		c->counted = 0;
	}
}

/* ---- posting and waiting ------------------------------------------------ */

int
mlt_idle(struct mlt_conn *c)
{
	int idle;

	pthread_mutex_lock(&mu);
	idle = !c->busy;
	pthread_mutex_unlock(&mu);
	return idle;
}

int
mlt_call(struct mlt_conn *c, enum mlt_stage stage)
{
	struct timespec until;
	long ms = c->cfg->milter_timeout_ms;
	int rc = 0, err = 0;

	pthread_mutex_lock(&mu);
	if (c->busy) {
		/* The last request timed out and is still being worked on. */
		pthread_mutex_unlock(&mu);
		log_warn_session(c->id, "stage %s: the engine is still on an "
		    "earlier request; tempfail", mlt_stage_name(stage));
		return -1;
	}
	c->busy = 1;
	c->done = 0;
	c->abandoned = 0;
	c->stage = stage;
	c->refs++;
	enqueue(c);
	pthread_mutex_unlock(&mu);
	event_active(ev_wake, EV_READ, 0);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!c->done && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&c->cv, &mu, &until);
	if (c->done)
		c->busy = 0;
	else {
		/* mlt_done clears busy when the outcome finally comes. */
		c->abandoned = 1;
		rc = -1;
	}
	pthread_mutex_unlock(&mu);
	if (rc == -1)
		log_warn_session(c->id, "stage %s: no answer from the engine "
		    "within %ld ms; tempfail", mlt_stage_name(stage), ms);
	return rc;
}

void
mlt_done(struct mlt_conn *c)
{
	int last;

	pthread_mutex_lock(&mu);
	c->done = 1;
	if (c->abandoned)
		c->busy = 0;
	pthread_cond_signal(&c->cv);
	last = --c->refs == 0;
	pthread_mutex_unlock(&mu);
	if (last) {
		/* The MTA closed while this stage ran. */
		c->stage = MLT_FREE;
		mlt_eng_stage(c);
		conn_free(c);
	}
}

/* ---- the engine thread -------------------------------------------------- */

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mlt_conn *c, *next;

	(void)fd;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&mu);
	c = q_head;
	q_head = q_tail = NULL;
	pthread_mutex_unlock(&mu);
	for (; c != NULL; c = next) {
		next = c->next;
		if (c->stage == MLT_FREE) {
			mlt_eng_stage(c);
			conn_free(c);
		} else
			mlt_eng_stage(c);
	}
}

/*
 * reload: a new snapshot from the files (or from the bytes the parent
 * sent); the old one stays unless all of it loads, rules included.
 */
static void
reload(const char *path)
{
	char err[1024], diff[512];
	struct moat_snapshot *ns, *old;

	if ((ns = snap_build(path, err, sizeof(err))) == NULL) {
		log_warn("reload refused, the old configuration and rules stay "
		    "in force: %s", err);
		return;
	}
	old = snap_current();
	cfg_restart_diff(old->cfg, ns->cfg, diff, sizeof(diff));
	if (diff[0])
		log_warn("reload: %s changed; that takes a restart, the "
		    "running value stays", diff);
	snap_unref(old);
	snap_install(ns);
	log_info("reload: configuration %s in force", path);
	policy_log_stats(ns->rules);
	policy_start_hs(ns->cfg, ns->rules);
}

/* A message from the root parent: a reload, or its end (then stop). */
static void
ps_cb(evutil_socket_t fd, short what, void *arg)
{
	char err[256];
	int r;

	(void)what;
	(void)arg;
	if ((r = privsep_recv(fd, err, sizeof(err))) == 1) {
		struct config *cur = cfg_current();
		char *path = xstrdup(cur->path);

		cfg_unref(cur);
		reload(path);
		free(path);
		filesrc_clear();
		return;
	}
	if (r == -1)
		log_warn("privsep: from the parent: %s", err);
	else
		log_info("privsep: the parent has gone or asks to stop");
	event_del(ev_ps);
	/* smfi_main returns once its listener is closed: main drains. */
	smfi_stop();
}

static void *
eng_main(void *arg)
{
	(void)arg;
	event_base_dispatch(eng_base);
	return NULL;
}

void
mlt_bridge_start(struct moat_snapshot *snap, int ps_fd)
{
	unsigned long long seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (unsigned long long)time(NULL) << 20;
	atomic_store(&id_next, seed);
	snap_install(snap_ref(snap));
	if (evthread_use_pthreads() == -1)
		fatal("libevent: no thread support");
	if ((eng_base = event_base_new()) == NULL)
		fatal("event_base_new failed");
	ev_wake = event_new(eng_base, -1, EV_PERSIST, wake_cb, NULL);
	/* Keeps the loop alive while nothing else is pending. */
	{
		struct timeval forever = { 86400 * 365, 0 };

		event_add(ev_wake, &forever);
	}
	eng_ps_fd = ps_fd;
	if (ps_fd != -1) {
		ev_ps = event_new(eng_base, ps_fd, EV_READ | EV_PERSIST, ps_cb,
		    NULL);
		event_add(ev_ps, NULL);
	}
	mlt_eng_init(eng_base, snap->cfg);
	if (pthread_create(&eng_thread, NULL, eng_main, NULL) != 0)
		fatal("cannot start the engine thread");
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* The last MLT_FREE requests have run (the queue is in order). */
	wake_cb(-1, 0, NULL);
	mlt_eng_shutdown();
	event_base_loopexit(eng_base, NULL);
}

void
mlt_bridge_stop(void)
{
	event_base_once(eng_base, -1, EV_TIMEOUT, stop_cb, NULL, NULL);
	pthread_join(eng_thread, NULL);
	event_free(ev_wake);
	if (ev_ps)
		event_free(ev_ps);
	event_base_free(eng_base);
	snap_install(NULL);
}
