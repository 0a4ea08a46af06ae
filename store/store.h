/*
 * store.h: where greylisting and rate-limit state lives: Redis
 * (store_redis.c, shared by every moatd) or this process's memory
 * (store_mem.c, the single-instance default).  See doc/greylisting.md.
 *
 * Two objects:
 *   struct store       one per process, made from the config; the memory
 *                      store's table lives here (shared by all workers,
 *                      behind a mutex); the Redis store keeps its params
 *                      and the outage bookkeeping here.
 *   struct store_conn  one per worker event_base (for Redis: one
 *                      connection).  Used only from that worker's thread.
 *
 * Every request is asynchronous: it returns a request id (never 0) and its
 * callback runs later from the conn's event loop, never from inside the
 * call that started it, exactly once, unless store_cancel() or
 * store_conn_free() comes first (then never).  A request that gets no answer
 * within the deadline (default 250 ms) completes with STORE_ERR_TIMEOUT;
 * while the store is known to be down, requests complete at once (on the
 * next loop turn) with STORE_ERR_DOWN.  What to do on an error (pass or
 * tempfail) is the caller's policy; the store logs an outage once when it
 * starts (log_warn) and once when it ends (log_info), never per request.
 *
 * Callbacks get the request id and the caller's arg.  Per STYLE.md 5 the
 * arg should let the caller find its session by id, or the caller must
 * store_cancel() its pending requests before freeing what arg points to.
 * Pointers handed to a callback are valid during the call only.
 */
#ifndef MOAT_STORE_H
#define MOAT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "greylist.h"

struct event_base;
struct store;
struct store_conn;

#define STORE_DEADLINE_DEFAULT_MS	250
#define STORE_ADMIN_DEADLINE_MS		10000	/* admin ops (moatctl) */
#define STORE_MEM_ENTRIES_DEFAULT	1000000
#define STORE_NAME_MAX			200	/* counter/admin key names */

enum store_err {
	STORE_OK = 0,
	STORE_ERR_TIMEOUT,	/* no answer within the deadline */
	STORE_ERR_DOWN,		/* not connected: failed fast */
	STORE_ERR_BUSY,		/* too many requests in flight */
	STORE_ERR_PROTO,	/* an unexpected reply, a script error */
	STORE_ERR_ARG		/* a key too long, a bad argument */
};

/* "ok", "timeout", "down", "busy", "protocol", "argument" (for logs). */
const char *store_err_name(int err);

/* ---------------------------------------------------------- creation */

struct store_mem_params {
	size_t	max_entries;	/* all kinds together; 0 = the default */
	long	deadline_ms;	/* unused (answers are immediate); kept
				   so both stores take the same config */
};

struct store_redis_params {
	const char *host;	/* TCP: an IP address (default "127.0.0.1");
				   names are refused (hiredis would resolve
				   them with a blocking getaddrinfo) */
	int	port;		/* default 6379 */
	const char *unix_path;	/* a unix socket; wins over host/port */
	const char *user;	/* ACL user (AUTH user pass); NULL: AUTH pass */
	const char *password;	/* NULL: no AUTH */
	int	db;		/* SELECT db when not 0 */
	const char *key_prefix;	/* default "moat:", at most GREY_PREFIX_MAX */
	long	deadline_ms;	/* per request, default 250 */
	long	connect_timeout_ms;	/* default 1000 */
	long	backoff_min_ms;	/* first reconnect delay, default 100 */
	long	backoff_max_ms;	/* doubling up to this, default 5000 */
	int	max_inflight;	/* per conn, default 1000; more: BUSY */
};

void	store_redis_params_default(struct store_redis_params *);

/*
 * store_mem_new: the memory store.  Logs (log_info) once that its state is
 * per process and lost on restart.  Never fails.
 */
struct store *store_mem_new(const struct store_mem_params *);

/*
 * store_redis_new: the Redis store; copies every string in p.  Connects
 * nothing yet (each store_conn_new does).  Returns NULL with a reason in
 * err if p is unusable (prefix too long, no address).
 */
struct store *store_redis_new(const struct store_redis_params *p,
	    char *err, size_t errsz);

/* store_free: after every conn of it is freed.  NULL ok. */
void	store_free(struct store *);

/* "memory" or "redis". */
const char *store_kind(const struct store *);

/*
 * store_conn_new: a handle for the worker whose loop is base; for Redis
 * it starts connecting at once.  Owned by the caller; free it on the same
 * thread with store_conn_free(), which drops every pending request
 * without calling back (safe from inside a store callback).
 */
struct store_conn *store_conn_new(struct store *, struct event_base *base);
void	store_conn_free(struct store_conn *);

/* store_conn_up: 1 if requests can be answered now (Redis connected). */
int	store_conn_up(const struct store_conn *);

/* store_cancel: the callback of request id will not run.  Unknown ids
 * (already completed) are ignored. */
void	store_cancel(struct store_conn *, uint64_t id);

/* ---------------------------------------------------------- greylist */

struct store_grey_result {
	enum grey_decision decision;
	long	wait_s;		/* NEW/PENDING: seconds until a retry passes */
	long	pass_count;	/* PASSED: passes of this triplet so far */
	long	awl_count;	/* counted passes of the client part */
	int	manual;		/* WHITELISTED by a manual entry */
};

typedef void store_grey_cb(void *arg, uint64_t id, int err,
	    const struct store_grey_result *res);

/*
 * store_grey_check: one atomic check-and-update of triplet t under policy
 * p (grey_decide; in Redis the same policy as one Lua script with Redis's
 * own clock, so several moatd share one clock).  A manual whitelist entry
 * for t->client wins; then the auto-whitelist; then the triplet record.
 * res is NULL unless err is STORE_OK.
 */
uint64_t store_grey_check(struct store_conn *, const struct grey_triplet *t,
	    const struct grey_params *p, store_grey_cb *cb, void *arg);

/* ------------------------------------------------------- rate limits */

typedef void store_count_cb(void *arg, uint64_t id, int err, long long count);

/*
 * store_count: add incr (0: just read) to the counter name (at most
 * STORE_NAME_MAX bytes, e.g. "conn:192.0.2.7") for the window of
 * window_ms and return its value in that window.  Fixed (sliding 0): the
 * count since the current window began (windows are aligned to multiples
 * of window_ms on the store's clock).  Sliding (1): the current window's
 * count plus the previous window's weighted by the part of it still inside
 * the last window_ms (the two-window estimate), rounded down.  Every
 * counter key expires (window_ms, or 2 * window_ms when sliding).
 */
uint64_t store_count(struct store_conn *, const char *name, long window_ms,
	    int sliding, unsigned incr, store_count_cb *cb, void *arg);

/* ------------------------------------------------------------ admin */

enum store_kind_entry {
	STORE_E_TRIPLET,	/* "t:" key: a grey_record */
	STORE_E_AWL,		/* "a:" key: a grey_awl */
	STORE_E_WHITE		/* "w:" key: a manual whitelist entry */
};

struct store_entry {
	enum store_kind_entry kind;
	const char *key;	/* without the store's prefix: "t:..." */
	struct grey_record rec;	/* TRIPLET */
	struct grey_awl	awl;	/* AWL */
	int64_t	ttl_ms;		/* -1: none (never for our keys) */
};

typedef void store_void_cb(void *arg, uint64_t id, int err);
/* found 0: no such key (e is NULL). */
typedef void store_entry_cb(void *arg, uint64_t id, int err, int found,
	    const struct store_entry *e);
/* One page; next_cursor 0 at the end. */
typedef void store_list_cb(void *arg, uint64_t id, int err,
	    const struct store_entry *v, size_t n, uint64_t next_cursor);
typedef void store_total_cb(void *arg, uint64_t id, int err,
	    long long triplets, long long awl, long long white);

/*
 * store_white_add: a manual whitelist entry for a client part ("192.0.2.0/24"
 * or "sg.example") for ttl_ms (> 0).  Greylist checks for that client part
 * answer WHITELISTED until it expires.
 */
uint64_t store_white_add(struct store_conn *, const char *client,
	    int64_t ttl_ms, store_void_cb *cb, void *arg);

/*
 * store_admin_lookup: the entry under key (without prefix: "t:...",
 * "a:...", "w:...").
 */
uint64_t store_admin_lookup(struct store_conn *, const char *key,
	    store_entry_cb *cb, void *arg);

/*
 * store_admin_pass: mark the triplet passed now (passed_until = now +
 * p->pass_lifetime_ms, pass_count at least 1), creating it if needed.
 */
uint64_t store_admin_pass(struct store_conn *, const struct grey_triplet *t,
	    const struct grey_params *p, store_void_cb *cb, void *arg);

/* store_admin_delete: remove key (without prefix); absent is not an error. */
uint64_t store_admin_delete(struct store_conn *, const char *key,
	    store_void_cb *cb, void *arg);

/*
 * store_admin_list: one page of up to about max entries of kind, from
 * cursor (0 to start).  Like Redis SCAN: an entry present for the whole
 * walk is returned at least once; pages may be empty before the end.
 */
uint64_t store_admin_list(struct store_conn *, enum store_kind_entry kind,
	    uint64_t cursor, size_t max, store_list_cb *cb, void *arg);

/* store_admin_count: how many keys of each kind (walks the key space). */
uint64_t store_admin_count(struct store_conn *, store_total_cb *cb,
	    void *arg);

#endif
