/*
 * sauth_pool.h: the sender authentication checks (sauth_check.h) off the
 * event loop.  libspf2, libopendkim and libopendmarc block on DNS, so a
 * small bounded pool of threads runs them, each thread with its own
 * struct sauth_ctx (and so its own answer cache), and the result comes
 * back to the caller's event loop as an event, as auth/passwd.c does for
 * password hashing.  A full queue refuses at once: the caller scores
 * nothing (temperror policy) rather than wait.
 */
#ifndef SAUTH_POOL_H
#define SAUTH_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sauth_check.h"

struct event_base;
struct sauth_pool;
struct sauth_req;

#define SAUTH_THREADS_MAX	32
#define SAUTH_QUEUE_MAX		4096
/* moatd's pool: checks waiting on DNS are cheap threads; past the queue a
 * message is checked as if DNS failed (temperror), never waits. */
#define SAUTH_POOL_THREADS	8
#define SAUTH_POOL_QUEUE	1024

/*
 * nthreads (1..SAUTH_THREADS_MAX) threads, each with a context made from
 * cfg (copied; its strings must outlive the pool), and a queue of at most
 * queue_max waiting requests.  libevent threading must be on
 * (evthread_use_pthreads()) before the bases that receive results are
 * made.  NULL with a reason in msg when a context cannot be made.
 * sauth_pool_free: stop and join the threads, drop queued requests
 * without calling back; after every session is gone.  NULL is a no-op.
 */
struct sauth_pool *sauth_pool_new(const struct sauth_cfg *cfg, int nthreads,
		    int queue_max, char *msg, size_t msgsz);
void		 sauth_pool_free(struct sauth_pool *);

/* Called on base's thread from its loop, never from sauth_pool_check().
 * r is valid during the call only. */
typedef void	 sauth_cb(void *arg, const struct sauth_results *r);

/*
 * Queue the checks for one message (sauth_check()'s arguments, all
 * copied; NULL client_ip, helo or mail_from allowed).  Returns a handle
 * valid until cb has returned or sauth_cancel() was called, or NULL when
 * the queue is full (cb is then never called).
 */
struct sauth_req *sauth_pool_check(struct sauth_pool *, struct event_base *,
		    const char *client_ip, const char *helo,
		    const char *mail_from, const char *msg, size_t len,
		    sauth_cb *cb, void *arg);

/* On base's thread before cb ran (sess_free): cb will not be called.  A
 * check already running finishes on its thread and is dropped.  NULL ok. */
void		 sauth_cancel(struct sauth_req *);

/*
 * A job: the part of the checks one SMTP stage needs (the engine's steps,
 * engine/eng_sauth.c), as data.  The caller makes it with sauth_job_new,
 * fills the inputs, and hands it to sauth_pool_submit, which owns it from
 * then on; the callback reads the outputs, and the job is freed after it.
 */
/* SAUTH_DO_SPF, _DKIM, _DMARC, _MSG: sauth_check.h */
#define SAUTH_DO_DNSBL	0x04	/* ip on dnsbl */
#define SAUTH_DO_RHSBL	0x08	/* the sender's and HELO's domains on rhsbl */
#define SAUTH_DO_URIBL	0x10	/* the org. domains of uri[] on uribl */

struct sauth_job {
	/* in */
	unsigned		 what;		/* SAUTH_DO_* */
	int64_t			 deadline;	/* clock_mono_ms; 0 none */
	char			*ip, *helo, *mail_from;	/* owned, or NULL */
	char			*msg;		/* owned, or NULL */
	size_t			 len;
	/* Owned (sauth_job_sites), or NULL: a job still running when its
	 * caller cancels it finishes on its thread, so it holds its own. */
	struct sauth_sites	*dnsbl, *rhsbl, *uribl;
	char			 uri[SAUTH_URI_MAX][SAUTH_DOMAIN_MAX];
	int			 nuri;		/* URI hosts (sauth_uri_host) */
	/* in and out: SPF's results carry into DMARC's alignment */
	struct sauth_results	 res;
	/* out: summed list weights, sites whose query failed, and the
	 * facts words (" DNSBL_HIT dnsbl:ZONE ...") */
	int			 dnsbl_w, rhsbl_w, uribl_w, list_temp;
	struct sbuf		*facts;
};

/* A job doing what (SAUTH_DO_*), its results all SKIPPED; and its free
 * (NULL ok).  sauth_job_set copies the strings of a job (NULL ok). */
struct sauth_job *sauth_job_new(unsigned what);
void		 sauth_job_free(struct sauth_job *);
void		 sauth_job_set(struct sauth_job *, const char *ip,
		    const char *helo, const char *mail_from, const char *msg,
		    size_t len);

/*
 * The hosts of the URIs u[0..n) (msg_uris(): struct msg_str, pointer and
 * length) a URI list is asked about: sauth_uri_host()'s, distinct, at
 * most SAUTH_URI_MAX (the first ones), into job->uri.
 */
struct msg_str;
void		 sauth_job_uris(struct sauth_job *, const struct msg_str *u,
		    size_t n);

/*
 * Give the job the sites of spec (sauth_sites_parse's syntax) for kind
 * SAUTH_DO_DNSBL, _RHSBL or _URIBL; NULL or empty spec: none.  0, or -1
 * with a reason in msg.
 */
int		 sauth_job_sites(struct sauth_job *, unsigned kind,
		    const char *spec, char *msg, size_t msgsz);

/* Run job on the calling thread (moatctl, tests): what a pool thread
 * does with it. */
void		 sauth_job_run(struct sauth_ctx *, struct sauth_job *);

/*
 * Run job on the calling thread's context c only if every answer it needs
 * is cached (sauth_cache_only): 0 with the job done, without a wait; or
 * -1 with the job as it was given, for sauth_pool_submit.  For a loop:
 * a warm message costs no hand-off to the pool and back.
 */
int		 sauth_job_try(struct sauth_ctx *c, struct sauth_job *job);

/*
 * A context for a loop's thread (sauth_job_try) over the pool's answer
 * cache; freed with sauth_ctx_free, before or after the pool.  NULL with
 * a reason in msg.
 */
struct sauth_ctx *sauth_pool_ctx(struct sauth_pool *, char *msg,
		    size_t msgsz);

typedef void	 sauth_job_cb(void *arg, struct sauth_job *job);

/*
 * Queue job (the pool owns it from now on, whatever the result).  cb
 * runs on base's loop with the job done (valid during the call; freed
 * after).  Returns a handle for sauth_cancel, or NULL when the queue is
 * full (cb never runs; the job is freed).
 */
struct sauth_req *sauth_pool_submit(struct sauth_pool *, struct event_base *,
		    struct sauth_job *job, sauth_job_cb *cb, void *arg);

#endif
