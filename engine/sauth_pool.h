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

#include "engine/sauth_check.h"

struct event_base;
struct sauth_pool;
struct sauth_req;

#define SAUTH_THREADS_MAX	32
#define SAUTH_QUEUE_MAX		4096

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

#endif
