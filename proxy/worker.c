/*
 * worker.c: the worker threads of moatd and the hand-off of accepted
 * connections to them (memcached's model: one event_base per thread, a
 * queue plus a notify pipe per worker).
 *
 * It does not accept connections (main.c does) and does not speak SMTP
 * (session.c does).  Invariants: a session is created, served and freed on
 * one worker's thread; the queue is the only thing other threads touch, and
 * only under the worker's mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "bayes_redis.h"
#include "daemon.h"
#include "engine/engine.h"
#include "engine/sauth_pool.h"
#include "log.h"
#include "metrics.h"
#include "rule.h"
#include "snapshot.h"
#include "store.h"
#include "xmalloc.h"

static struct worker	*workers;
static int		 nworkers;
static unsigned		 next_worker;	/* acceptor thread only */

static void
worker_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct handoff *q, *h;
	char buf[64];
	int stop;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->mu);
	q = w->queue;
	w->queue = NULL;
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);

	/* The queue is LIFO; serve in arrival order. */
	{
		struct handoff *rev = NULL;

		while (q) {
			h = q->next;
			q->next = rev;
			rev = q;
			q = h;
		}
		q = rev;
	}
	while (q) {
		h = q;
		q = q->next;
		if (stop) {
			close(h->fd);
			atomic_fetch_sub(&moat_sessions, 1);
			free(h);
			continue;
		}
		sess_new(w, h);
		free(h);
	}
	if (stop == 2)
		sess_close_all(w);
	if (stop && w->nsessions == 0)
		event_base_loopexit(w->base, NULL);
}

/* After the last session: time for closing TLS connections to flush. */
#define WORKER_LINGER_MS	300

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, WORKER_LINGER_MS * 1000 };

	event_base_dispatch(w->base);
	/*
	 * Connections given to tls_free_after_flush() finish on this loop
	 * (their close_notify, a last reply); a peer that is gone makes that
	 * immediate, one that does not read is cut here.
	 */
	event_base_loopexit(w->base, &tv);
	event_base_dispatch(w->base);
	return NULL;
}

/*
 * workers_start: create n workers (n >= 1) and start their threads.  Called
 * once, after privileges are dropped and before any connection is accepted.
 */
/*
 * One resolver per worker, so lookups complete on the session's own loop.
 * The resolver address is read once: changing it takes a restart.
 */
static struct evdns_base *
dns_base_new(struct event_base *base, const struct config *cfg)
{
	struct evdns_base *dns;

	if (!cfg->reverse_dns)
		return NULL;
	dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE |
	    (cfg->dns_resolver ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS));
	if (dns == NULL)
		fatal("resolver: evdns_base_new failed");
	if (cfg->dns_resolver &&
	    evdns_base_nameserver_ip_add(dns, cfg->dns_resolver) != 0)
		fatal("dns_resolver %s: not usable", cfg->dns_resolver);
	evdns_base_set_option(dns, "timeout", "2");
	evdns_base_set_option(dns, "attempts", "2");
	return dns;
}

void
workers_start(int n)
{
	struct config *cfg = cfg_current();
	char msg[256];
	int i;

	nworkers = n;
	workers = xcalloc((size_t)n, sizeof(*workers));
	for (i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		if ((w->base = event_base_new()) == NULL)
			fatal("worker %d: event_base_new failed", i);
		if (pipe2(w->notify, O_NONBLOCK | O_CLOEXEC) == -1)
			fatal("worker %d: pipe: %s", i, strerror(errno));
		pthread_mutex_init(&w->mu, NULL);
		w->dns = dns_base_new(w->base, cfg);
		w->scratch = rule_scratch_new();
		/* only scores count here: skip sub-rules no meta needs */
		rule_scratch_lazy(w->scratch, 1);
		w->gcache_key = xcalloc(ENG_GREY_CACHE_SLOTS, sizeof(uint64_t));
		w->gcache_exp = xcalloc(ENG_GREY_CACHE_SLOTS, sizeof(int64_t));
		w->store = moat_store ? store_conn_new(moat_store, w->base) :
		    NULL;
		/* What the engine may use on this worker's loop. */
		w->eio = xcalloc(1, sizeof(*w->eio));
		w->eio->base = w->base;
		w->eio->store = w->store;
		w->eio->dns = w->dns;
		w->eio->scratch = w->scratch;
		w->eio->gcache_key = w->gcache_key;
		w->eio->gcache_exp = w->gcache_exp;
		w->eio->on_ratelimit = metrics_ratelimit;
		w->eio->on_store_failure = metrics_store_failure;
		w->eio->sauth = moat_sauth_pool;
		/* Warm messages skip the pool (engine.h, sauth_fast). */
		if (moat_sauth_pool != NULL && (w->eio->sauth_fast =
		    sauth_pool_ctx(moat_sauth_pool, msg, sizeof(msg))) == NULL)
			log_warn("worker %d: every sender-auth job goes to "
			    "the pool: %s", i, msg);
		w->notify_ev = event_new(w->base, w->notify[0],
		    EV_READ | EV_PERSIST, worker_notify_cb, w);
		event_add(w->notify_ev, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			fatal("worker %d: pthread_create failed", i);
	}
	cfg_unref(cfg);
}

static void
worker_kick(struct worker *w)
{
	/* A full pipe already means a wake-up is pending: EAGAIN is fine. */
	while (write(w->notify[1], "x", 1) == -1 && errno == EINTR)
		;
}

/*
 * workers_dispatch: hand h (ownership passes) to the next worker, round
 * robin.  Called on the acceptor thread only.
 */
void
workers_dispatch(struct handoff *h)
{
	struct worker *w = &workers[next_worker++ % (unsigned)nworkers];

	pthread_mutex_lock(&w->mu);
	h->next = w->queue;
	w->queue = h;
	pthread_mutex_unlock(&w->mu);
	worker_kick(w);
}

/*
 * workers_stop: how 1: stop once the worker's sessions have ended; how 2:
 * close every session now.  Safe to call more than once.
 */
void
workers_stop(int how)
{
	int i;

	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		pthread_mutex_lock(&w->mu);
		if (w->stop < how)
			w->stop = how;
		pthread_mutex_unlock(&w->mu);
		worker_kick(w);
	}
}

/* workers_join: wait for every worker thread to end, then free them. */
void
workers_join(void)
{
	int i;

	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		pthread_join(w->thread, NULL);
		if (w->dns)
			evdns_base_free(w->dns, 0);
		rule_scratch_free(w->scratch);
		free(w->gcache_key);
		free(w->gcache_exp);
		bayes_aredis_free(w->eio->bayes_redis);
		sauth_ctx_free(w->eio->sauth_fast);
		free(w->eio);
		store_conn_free(w->store);
		event_free(w->notify_ev);
		event_base_free(w->base);
		close(w->notify[0]);
		close(w->notify[1]);
		pthread_mutex_destroy(&w->mu);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
}

/*
 * worker_session_gone: called by session.c on w's thread after a session
 * was freed; ends the loop when draining and nothing is left.
 */
void
worker_session_gone(struct worker *w)
{
	int stop;

	pthread_mutex_lock(&w->mu);
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	if (stop && w->nsessions == 0)
		event_base_loopexit(w->base, NULL);
}
