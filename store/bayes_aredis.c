/*
 * bayes_aredis.c: the Bayes token store in Redis read asynchronously on
 * an event loop (bayes_redis.h, "Asynchronous reads"): moatd's workers
 * classify without ever blocking their loop on Redis (issue 13).
 *
 * One hiredis async context per loop (libevent adapter), made at the
 * first read; one EVAL of bayes_redis.c's read script per message, with
 * a deadline.  It does not learn (the learner thread writes, synchronous,
 * off the loops).  A request is freed only once both its user is done
 * with it (delivered, timed out, cancelled) and hiredis has called back.
 * Kept apart from bayes_redis.c so that programs that only read or learn
 * synchronously do not link libevent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "bayes_redis.h"
#include "xmalloc.h"
struct bayes_areq {
	struct bayes_areq *next, *prev;	/* in r->reqs while not done */
	struct bayes_aredis *r;		/* NULL once r is freed */
	bayes_aredis_cb	*cb;
	void		*arg;
	size_t		 n;
	struct event	*timer;		/* the deadline */
	int		 done;		/* delivered, timed out or cancelled */
	int		 sent;		/* hiredis owes us its callback */
};

struct bayes_aredis {
	struct event_base *base;
	redisAsyncContext *ac;
	char		*server, *prefix;
	int		 dbn;
	long		 timeout_ms;
	time_t		 retry;		/* after a failure: no reconnect before */
	struct bayes_areq *reqs;
	/* A failure no request heard of (the link closed while idle): told
	   to the next read, so that it is reported once. */
	char		 untold[512];
};

struct bayes_aredis *
bayes_aredis_new(struct event_base *base, const char *server, int dbn,
    const char *prefix, long timeout_ms)
{
	struct bayes_aredis *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->server = xstrdup(server);
	r->prefix = xstrdup(prefix ? prefix : "moat:");
	r->dbn = dbn;
	r->timeout_ms = timeout_ms;
	return r;
}

int
bayes_aredis_is(const struct bayes_aredis *r, const char *server, int dbn,
    const char *prefix, long timeout_ms)
{
	return strcmp(r->server, server) == 0 && r->dbn == dbn &&
	    strcmp(r->prefix, prefix ? prefix : "moat:") == 0 &&
	    r->timeout_ms == timeout_ms;
}

static void
areq_unlink(struct bayes_areq *q)
{
	struct bayes_aredis *r = q->r;

	if (r == NULL)
		return;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->reqs == q)
		r->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

/* Done for its user; freed once hiredis has called back too. */
static void
areq_finish(struct bayes_areq *q)
{
	q->done = 1;
	if (q->timer != NULL) {
		event_free(q->timer);
		q->timer = NULL;
	}
	areq_unlink(q);
	if (!q->sent)
		free(q);
}

/* Fail q: its user hears err (the callback may start a new request). */
static void
areq_fail(struct bayes_areq *q, const char *err)
{
	bayes_aredis_cb *cb = q->cb;
	void *arg = q->arg;

	areq_finish(q);
	cb(arg, -1, err, NULL, NULL);
}

/*
 * Give the connection up: every pending request fails with err, and no
 * reconnect is tried for BAYES_AREDIS_RETRY_SECS, so a Redis that is
 * down or hung costs one failure per period, not one per message.
 */
static void
aredis_drop(struct bayes_aredis *r, const char *err)
{
	redisAsyncContext *ac = r->ac;
	struct bayes_areq *q;

	r->retry = time(NULL) + BAYES_AREDIS_RETRY_SECS;
	r->ac = NULL;
	if (r->reqs == NULL)
		snprintf(r->untold, sizeof(r->untold), "%s", err);
	if (ac != NULL) {
		ac->data = NULL;
		/* Its callbacks (reply NULL) find their requests done. */
		for (q = r->reqs; q != NULL; q = q->next)
			q->done = 1;
	}
	while ((q = r->reqs) != NULL) {
		q->done = 0;
		areq_fail(q, err);
	}
	if (ac != NULL)
		redisAsyncFree(ac);
}

static void
aredis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct bayes_aredis *r = ac->data;
	char err[512];

	(void)status;
	if (r == NULL || r->ac != ac)
		return;
	snprintf(err, sizeof(err), "redis %s: read: %s", r->server,
	    ac->errstr[0] ? ac->errstr : "connection closed");
	/* hiredis frees the context after this returns. */
	r->ac = NULL;
	aredis_drop(r, err);
}

static void
aredis_on_connect(const redisAsyncContext *ac, int status)
{
	struct bayes_aredis *r = ac->data;
	char err[512];

	if (r == NULL || r->ac != ac || status == REDIS_OK)
		return;
	snprintf(err, sizeof(err), "redis %s: connect: %s", r->server,
	    ac->errstr[0] ? ac->errstr : "failed");
	r->ac = NULL;
	aredis_drop(r, err);
}

static int
aredis_connect(struct bayes_aredis *r, char *err, size_t errsz)
{
	redisAsyncContext *ac;
	char *host, *colon;
	long port;

	if (strncmp(r->server, "unix:", 5) == 0)
		ac = redisAsyncConnectUnix(r->server + 5);
	else {
		host = xstrdup(r->server[0] == '[' ? r->server + 1 :
		    r->server);
		if ((colon = strrchr(host, ':')) == NULL) {
			free(host);
			snprintf(err, errsz, "redis %s: address: want "
			    "HOST:PORT", r->server);
			return -1;
		}
		*colon = '\0';
		port = strtol(colon + 1, NULL, 10);
		if (colon > host && colon[-1] == ']')
			colon[-1] = '\0';
		ac = redisAsyncConnect(host, (int)port);
		free(host);
	}
	if (ac == NULL || ac->err) {
		snprintf(err, errsz, "redis %s: connect: %s", r->server,
		    ac ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		return -1;
	}
	ac->data = r;
	r->ac = ac;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, aredis_on_connect);
	redisAsyncSetDisconnectCallback(ac, aredis_on_disconnect);
	/* Queued by hiredis, sent before any read. */
	if (r->dbn != 0)
		redisAsyncCommand(ac, NULL, NULL, "SELECT %d", r->dbn);
	return 0;
}

static void
areq_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct bayes_areq *q = privdata;
	struct bayes_aredis *r = q->r;
	struct bayes_counts *c;
	struct bayes_totals tot;
	bayes_aredis_cb *cb;
	void *arg;
	char err[512];

	q->sent = 0;
	if (q->done) {
		if (q->timer == NULL)
			free(q);
		return;
	}
	if (reply == NULL) {
		/*
		 * The link is gone and hiredis is freeing the context (this
		 * runs before its disconnect callback): give it up here.
		 */
		snprintf(err, sizeof(err), "redis %s: read: %s", r->server,
		    ac->errstr[0] ? ac->errstr : "connection lost");
		if (r->ac == ac)
			r->ac = NULL;
		r->retry = time(NULL) + BAYES_AREDIS_RETRY_SECS;
		q->sent = 1;	/* reset below, once it is failed */
		areq_fail(q, err);
		q->sent = 0;
		free(q);
		aredis_drop(r, err);
		return;
	}
	c = xcalloc(q->n + 1, sizeof(*c));
	memset(&tot, 0, sizeof(tot));
	cb = q->cb;
	arg = q->arg;
	if (bayes_redis_read_parse(r->server, reply, q->n, c, &tot, NULL, err,
	    sizeof(err)) != 0) {
		free(c);
		areq_fail(q, err);
		return;
	}
	areq_finish(q);
	cb(arg, 0, NULL, c, &tot);
	free(c);
}

static void
areq_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bayes_areq *q = arg;
	struct bayes_aredis *r = q->r;
	char err[512];

	(void)fd;
	(void)what;
	snprintf(err, sizeof(err), "redis %s: read: no answer within %ld ms",
	    r->server, r->timeout_ms);
	/* A Redis that does not answer one read will not answer the next. */
	aredis_drop(r, err);
}

struct bayes_areq *
bayes_aredis_read(struct bayes_aredis *r, const uint64_t *tok, size_t n,
    bayes_aredis_cb *cb, void *arg, char *err, size_t errsz)
{
	struct bayes_areq *q;
	struct timeval tv;
	const char **av;
	char (*hex)[17];
	size_t argc;
	int rc;

	err[0] = '\0';
	if (r->ac == NULL) {
		/* Down: quietly, until the retry period is over. */
		if (time(NULL) < r->retry) {
			snprintf(err, errsz, "%s", r->untold);
			r->untold[0] = '\0';
			return NULL;
		}
		r->untold[0] = '\0';
		if (aredis_connect(r, err, errsz) != 0) {
			r->retry = time(NULL) + BAYES_AREDIS_RETRY_SECS;
			return NULL;
		}
	}
	q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->n = n;
	bayes_redis_eval_argv(r->prefix, bayes_redis_read_lua, NULL, 0, tok, n, &av, &hex, &argc);
	rc = redisAsyncCommandArgv(r->ac, areq_reply_cb, q, (int)argc, av,
	    NULL);
	free(av);
	free(hex);
	if (rc != REDIS_OK) {
		snprintf(err, errsz, "redis %s: read: cannot send", r->server);
		free(q);
		return NULL;
	}
	q->sent = 1;
	q->timer = evtimer_new(r->base, areq_timer_cb, q);
	tv.tv_sec = r->timeout_ms / 1000;
	tv.tv_usec = (r->timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
	q->next = r->reqs;
	if (r->reqs != NULL)
		r->reqs->prev = q;
	r->reqs = q;
	return q;
}

void
bayes_areq_cancel(struct bayes_areq *q)
{
	if (q == NULL || q->done)
		return;
	areq_finish(q);
}

void
bayes_aredis_free(struct bayes_aredis *r)
{
	struct bayes_areq *q;
	redisAsyncContext *ac;

	if (r == NULL)
		return;
	/* Nobody waits any more: requests end without a callback. */
	while ((q = r->reqs) != NULL) {
		areq_unlink(q);
		q->r = NULL;
		q->done = 1;
		if (q->timer != NULL)
			event_free(q->timer);
		q->timer = NULL;
		if (!q->sent)
			free(q);
	}
	if ((ac = r->ac) != NULL) {
		r->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	free(r->server);
	free(r->prefix);
	free(r);
}
