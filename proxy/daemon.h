/*
 * daemon.h: what the glue modules of moatd share: workers, the current
 * config, session counting.  Only main.c, worker.c, session.c, upstream.c
 * and msgstore.c include it; pure modules never do.
 */
#ifndef MOAT_DAEMON_H
#define MOAT_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "moat_conf.h"
#include "netaddr.h"

struct event_base;
struct evdns_base;
struct rule_scratch;
struct store;
struct passwd_pool;
struct sauth_pool;
struct store_conn;
struct event;
struct session;
struct eng_io;

/* An accepted connection on its way from the acceptor to a worker. */
struct handoff {
	int			 fd;
	int			 listen_idx;	/* index into cfg->listen */
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	struct handoff		*next;
};

/*
 * A worker thread: its own event_base; every session it accepts lives on it
 * until freed (DESIGN.md, Concurrency).  The acceptor hands connections over
 * through the queue and a byte on notify[1].
 */
struct worker {
	int			 id;
	pthread_t		 thread;
	struct event_base	*base;
	struct evdns_base	*dns;		/* NULL: reverse_dns off */
	struct rule_scratch	*scratch;	/* PCRE2 match state */
	struct store_conn	*store;		/* greylist/rate-limit store */
	struct eng_io		*eio;		/* the engine's I/O on base */
	uint64_t		*gcache_key;	/* passed triplets (hashes) */
	int64_t			*gcache_exp;	/* ... and when they expire */
	int			 notify[2];
	struct event		*notify_ev;
	pthread_mutex_t		 mu;		/* guards queue, stop */
	struct handoff		*queue;
	int			 stop;		/* 1 drain, 2 close everything now */
	struct session		*sessions;	/* list, owned by this thread */
	int			 nsessions;
};


/* Daemon-wide state. */
extern atomic_int	 moat_sessions;		/* sessions open now */
extern struct store	*moat_store;		/* made once, at start */
extern struct passwd_pool *moat_passwd_pool;	/* password hashing */
extern struct sauth_pool *moat_sauth_pool;	/* SPF, DKIM, DMARC, lists;
						   NULL: none */
extern atomic_int	 moat_draining;		/* SIGTERM received */

/*
 * Per-client-address session counts, shared by all workers.
 * ipcount_inc returns the count after incrementing.
 */
int		 ipcount_inc(const struct netaddr *);
void		 ipcount_dec(const struct netaddr *);

/* worker.c */
void		 workers_start(int n);
void		 workers_dispatch(struct handoff *);
void		 workers_stop(int how);	/* 1 drain, 2 close now */
void		 workers_join(void);
/* session.c tells its worker a session is gone (drain bookkeeping). */
void		 worker_session_gone(struct worker *);

/* session.c: create a session for an accepted fd on worker w (owns fd). */
void		 sess_new(struct worker *w, struct handoff *h);
/* Close every session of w now with a 421 (shutdown deadline). */
void		 sess_close_all(struct worker *w);

/* 16 hex digits of randomness for a session id. */
void		 sess_id_new(char out[17]);

#endif
