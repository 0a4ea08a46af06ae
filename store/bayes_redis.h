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

#endif
