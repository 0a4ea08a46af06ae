/*
 * bayes_redis.h: the Bayes token store in Redis (bayes_store redis), used
 * through bayes_db.h (bayes_db_open_redis()); see bayes_redis.c for the
 * key layout.
 */
#ifndef MOAT_BAYES_REDIS_H
#define MOAT_BAYES_REDIS_H

#include "bayes_db.h"

struct bayes_redis;

/*
 * Connect to server (HOST:PORT, [V6]:PORT or unix:/path), SELECT dbn.
 * Every request has timeout_ms; ttl is the seen digests' and the token
 * buckets' expiry in seconds.  NULL with err naming the server on failure.
 */
struct bayes_redis	*bayes_redis_open(const char *server, int dbn,
		    const char *prefix, long timeout_ms, long ttl, char *err,
		    size_t errsz);
void	bayes_redis_close(struct bayes_redis *r);
const char	*bayes_redis_server(const struct bayes_redis *r);
/* As bayes_db_read(), one round trip; *nseen (may be NULL): seen count. */
int	bayes_redis_read(struct bayes_redis *r, const uint64_t *tok, size_t n,
	    struct bayes_counts *out, struct bayes_totals *tot,
	    uint64_t *nseen, char *err, size_t errsz);
/* As bayes_db_learn(), atomic (one Lua script). */
int	bayes_redis_learn(struct bayes_redis *r, const uint8_t id[16],
	    enum bayes_class cls, const uint64_t *tok, size_t n, int64_t now,
	    enum bayes_learned *res, char *err, size_t errsz);

/*
 * For bayes_aredis.c, the asynchronous reader: the read script (ARGV:
 * prefix, tokens in hex), the EVAL argv for it (*av and *hex to free),
 * and the parse of its reply for n tokens (0, or -1 with err naming
 * server).
 */
struct redisReply;
extern const char bayes_redis_read_lua[];
void	bayes_redis_eval_argv(const char *prefix, const char *script,
	    const char **extra, size_t nextra, const uint64_t *tok, size_t n,
	    const char ***av, char (**hex)[17], size_t *argc);
int	bayes_redis_read_parse(const char *server, const struct redisReply *rep,
	    size_t n, struct bayes_counts *out, struct bayes_totals *tot,
	    uint64_t *nseen, char *err, size_t errsz);

/*
 * Asynchronous reads on an event loop (bayes_aredis.c), for moatd's workers (issue 13: a
 * Redis that is slow or hung must not stop the loop).  One connection
 * per loop, made at the first read; every read has a deadline of
 * timeout_ms.  After any failure (no answer in time, an error, the link
 * lost) the connection is dropped and not tried again for
 * BAYES_AREDIS_RETRY_SECS: reads meanwhile fail at once, quietly (the
 * first of them says why when no read had heard of it: the link closed
 * while idle).
 * Everything runs on base's thread.
 */
#define BAYES_AREDIS_RETRY_SECS	5

struct event_base;
struct bayes_aredis;
struct bayes_areq;

/*
 * The result of one read: ok 0 with c (n counts, in token order) and tot,
 * valid during the call only; or ok -1 with err (naming the server).
 * Called from base's loop, never from inside bayes_aredis_read().
 */
typedef void	bayes_aredis_cb(void *arg, int ok, const char *err,
		    const struct bayes_counts *c,
		    const struct bayes_totals *tot);

struct bayes_aredis *bayes_aredis_new(struct event_base *base,
		    const char *server, int dbn, const char *prefix,
		    long timeout_ms);
/* 1 if r was made with these settings (a reload may change them). */
int		 bayes_aredis_is(const struct bayes_aredis *r,
		    const char *server, int dbn, const char *prefix,
		    long timeout_ms);
/* Pending reads end without their callback. */
void		 bayes_aredis_free(struct bayes_aredis *r);

/*
 * Read the counts of tok[0..n) and the totals (one EVAL, as
 * bayes_redis_read).  Returns the request, or NULL when it cannot be
 * sent now: err then says why, or is "" while the store is known down
 * (already reported).  The request is valid until cb has run or
 * bayes_areq_cancel().
 */
struct bayes_areq *bayes_aredis_read(struct bayes_aredis *r,
		    const uint64_t *tok, size_t n, bayes_aredis_cb *cb,
		    void *arg, char *err, size_t errsz);
/* cb will not run.  NULL ok. */
void		 bayes_areq_cancel(struct bayes_areq *q);

#endif
