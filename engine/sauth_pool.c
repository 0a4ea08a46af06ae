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
#include <strings.h>

#include "clock.h"
#include "jobpool.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"
#include "engine/sauth_pool.h"

struct sauth_req {
	struct jobpool_job	*job;
	struct sauth_job	*sj;
	sauth_cb		*cb;		/* sauth_pool_check's, or */
	sauth_job_cb		*jcb;		/* sauth_pool_submit's */
	void			*arg;
};

struct sauth_pool {
	struct jobpool		*jp;
	struct sauth_ctx	**ctx;		/* one per thread */
	int			 nctx;		/* ctx's length */
	struct sauth_cfg	 cfg;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct sauth_job *
sauth_job_new(unsigned what)
{
	struct sauth_job *j = xcalloc(1, sizeof(*j));

	j->what = what;
	sauth_results_init(&j->res);
	j->facts = xcalloc(1, sizeof(*j->facts));
	return j;
}

void
sauth_job_free(struct sauth_job *j)
{
	if (j == NULL)
		return;
	free(j->ip);
	free(j->helo);
	free(j->mail_from);
	free(j->msg);
	free(j->dnsbl);
	free(j->rhsbl);
	free(j->uribl);
	sbuf_free(j->facts);
	free(j->facts);
	free(j);
}

void
sauth_job_set(struct sauth_job *j, const char *ip, const char *helo,
    const char *mail_from, const char *msg, size_t len)
{
	j->ip = dup_or_null(ip);
	j->helo = dup_or_null(helo);
	j->mail_from = dup_or_null(mail_from);
	if (msg != NULL) {
		j->msg = xmalloc(len + 1);
		memcpy(j->msg, msg, len);
		j->msg[len] = '\0';
		j->len = len;
	}
}

int
sauth_job_sites(struct sauth_job *j, unsigned kind, const char *spec,
    char *msg, size_t msgsz)
{
	struct sauth_sites **dst = kind == SAUTH_DO_DNSBL ? &j->dnsbl :
	    kind == SAUTH_DO_RHSBL ? &j->rhsbl : &j->uribl;

	free(*dst);
	*dst = NULL;
	if (spec == NULL || spec[strspn(spec, " \t")] == '\0')
		return 0;
	*dst = xmalloc(sizeof(**dst));
	if (sauth_sites_parse(spec, *dst, msg, msgsz) == -1) {
		free(*dst);
		*dst = NULL;
		return -1;
	}
	return 0;
}

void
sauth_job_uris(struct sauth_job *j, const struct msg_str *u, size_t n)
{
	char host[SAUTH_DOMAIN_MAX];
	size_t i;
	int k;

	for (i = 0; i < n && j->nuri < SAUTH_URI_MAX; i++) {
		if (sauth_uri_host(u[i].p, u[i].len, host, sizeof(host)) != 0)
			continue;
		for (k = 0; k < j->nuri; k++)
			if (strcmp(j->uri[k], host) == 0)
				break;
		if (k == j->nuri)
			snprintf(j->uri[j->nuri++], SAUTH_DOMAIN_MAX, "%s",
			    host);
	}
}

/* Ask a domain list about each of names[0..n), skipping repeats. */
static void
ask_domains(struct sauth_ctx *c, const struct sauth_sites *s,
    const char *kind, char names[][SAUTH_DOMAIN_MAX], int n,
    struct sbuf *facts, int *w, int *temp)
{
	int i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < i; k++)
			if (strcasecmp(names[i], names[k]) == 0)
				break;
		if (k == i && names[i][0] != '\0')
			(void)sauth_lists(c, s, kind, names[i], facts, w, temp);
	}
}

void
sauth_job_run(struct sauth_ctx *c, struct sauth_job *j)
{
	char names[SAUTH_URI_MAX][SAUTH_DOMAIN_MAX];
	const char *at;
	int i, n = 0;

	sauth_deadline(c, j->deadline);
	if (j->what & SAUTH_DO_SPF)
		sauth_check_spf(c, j->ip, j->helo, j->mail_from, &j->res);
	if ((j->what & SAUTH_DO_MSG) && j->msg != NULL)
		sauth_check_msg(c, j->ip, j->msg, j->len, j->what, &j->res);
	else if (j->msg != NULL)
		(void)sauth_from_domain(j->msg, j->len, j->res.from_domain,
		    sizeof(j->res.from_domain));
	if ((j->what & SAUTH_DO_DNSBL) && j->dnsbl != NULL && j->ip != NULL)
		(void)sauth_lists(c, j->dnsbl, "dnsbl", j->ip, j->facts,
		    &j->dnsbl_w, &j->list_temp);
	if ((j->what & SAUTH_DO_RHSBL) && j->rhsbl != NULL) {
		/* The sender's and HELO's domains when the job has them,
		 * the From domain once the message has been read. */
		if (j->mail_from != NULL &&
		    (at = strrchr(j->mail_from, '@')) != NULL)
			snprintf(names[n++], SAUTH_DOMAIN_MAX, "%s", at + 1);
		if (j->helo != NULL && strchr(j->helo, '.') != NULL)
			snprintf(names[n++], SAUTH_DOMAIN_MAX, "%s", j->helo);
		if (j->res.from_domain[0] != '\0')
			snprintf(names[n++], SAUTH_DOMAIN_MAX, "%s",
			    j->res.from_domain);
		ask_domains(c, j->rhsbl, "rhsbl", names, n, j->facts,
		    &j->rhsbl_w, &j->list_temp);
	}
	if ((j->what & SAUTH_DO_URIBL) && j->uribl != NULL) {
		for (i = 0, n = 0; i < j->nuri && i < SAUTH_URI_MAX; i++)
			if (sauth_org_domain(c, j->uri[i], names[n],
			    SAUTH_DOMAIN_MAX) == 0)
				n++;
		ask_domains(c, j->uribl, "uribl", names, n, j->facts,
		    &j->uribl_w, &j->list_temp);
	}
	sauth_deadline(c, 0);
}

static void
req_free(void *data)
{
	struct sauth_req *rq = data;

	sauth_job_free(rq->sj);
	free(rq);
}

static void
req_done(void *data)
{
	struct sauth_req *rq = data;

	if (rq->jcb != NULL)
		rq->jcb(rq->arg, rq->sj);
	else
		rq->cb(rq->arg, &rq->sj->res);
	req_free(rq);
}

static void
req_run(void *tctx, void *data)
{
	struct sauth_req *rq = data;

	sauth_job_run(tctx, rq->sj);
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
	/* One answer cache for the pool and its loops (sauth_pool_ctx). */
	for (i = 0; i < nthreads; i++)
		if ((pool->ctx[i] = i == 0 ? sauth_ctx_new(cfg, msg, msgsz) :
		    sauth_ctx_new_shared(pool->ctx[0], msg, msgsz)) == NULL)
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

struct sauth_ctx *
sauth_pool_ctx(struct sauth_pool *pool, char *msg, size_t msgsz)
{
	return sauth_ctx_new_shared(pool->ctx[0], msg, msgsz);
}

int
sauth_job_try(struct sauth_ctx *c, struct sauth_job *j)
{
	struct sauth_results in = j->res;

	sauth_cache_only(c, 1);
	sauth_job_run(c, j);
	sauth_cache_only(c, 0);
	if (!sauth_cache_missed(c))
		return 0;
	/* Back as it came: the pool runs it from the start. */
	j->res = in;
	j->dnsbl_w = j->rhsbl_w = j->uribl_w = j->list_temp = 0;
	sbuf_reset(j->facts);
	return -1;
}

static struct sauth_req *
submit(struct sauth_pool *pool, struct event_base *base,
    struct sauth_job *j, sauth_cb *cb, sauth_job_cb *jcb, void *arg)
{
	struct sauth_req *rq;

	rq = xcalloc(1, sizeof(*rq));
	rq->sj = j;
	rq->cb = cb;
	rq->jcb = jcb;
	rq->arg = arg;
	if ((rq->job = jobpool_submit(pool->jp, base, rq)) == NULL) {
		req_free(rq);
		return NULL;
	}
	return rq;
}

struct sauth_req *
sauth_pool_check(struct sauth_pool *pool, struct event_base *base,
    const char *client_ip, const char *helo, const char *mail_from,
    const char *msg, size_t len, sauth_cb *cb, void *arg)
{
	struct sauth_job *j = sauth_job_new(SAUTH_DO_SPF | SAUTH_DO_MSG);

	sauth_job_set(j, client_ip, helo, mail_from, msg, len);
	if (pool->cfg.deadline_ms > 0)
		j->deadline = clock_mono_ms() + pool->cfg.deadline_ms;
	return submit(pool, base, j, cb, NULL, arg);
}

struct sauth_req *
sauth_pool_submit(struct sauth_pool *pool, struct event_base *base,
    struct sauth_job *j, sauth_job_cb *cb, void *arg)
{
	return submit(pool, base, j, NULL, cb, arg);
}

void
sauth_cancel(struct sauth_req *rq)
{
	if (rq != NULL)
		jobpool_cancel(rq->job);
}
