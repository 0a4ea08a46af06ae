/*
 * bayes_redis.c: the Bayes token store in Redis (bayes_store redis), for
 * sites where several moatd share what they learn (doc/rules.md, "Bayes
 * in Redis").  Synchronous hiredis with a deadline on every request.
 *
 * Layout, every key under redis_prefix:
 *   bayes:t:<first 4 hex digits of the token>  HASH token -> "spam:ham:atime"
 *     (65536 buckets at most; each bucket's TTL is refreshed when a token
 *     in it is learned, so unused buckets expire)
 *   bayes:totals  HASH nspam, nham, ntokens, nseen, last_learn
 *   bayes:seen:<message digest>  "1" (spam) or "2" (ham), with a TTL
 * Reading a message's counts is one EVAL (one round trip, never one per
 * token); learning is one EVAL too, and a Lua script runs atomically, so
 * concurrent learners on any number of hosts keep the totals exact.
 * A handle may be shared by threads (moatctl scan's workers): a mutex
 * serializes its requests, as one hiredis context must not be used by two
 * threads at once.  moatd gives each thread its own handle instead.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "bayes_redis.h"
#include "xmalloc.h"

struct bayes_redis {
	redisContext	*c;
	char		*server;
	char		*prefix;
	long		 ttl;
	pthread_mutex_t	 mu;		/* one request at a time */
};

/* ARGV: prefix, n tokens (hex) -> totals then one "s:h:a" or "" per token */
const char bayes_redis_read_lua[] =
"local p = ARGV[1]\n"
"local r = redis.call('HMGET', p .. 'bayes:totals', 'nspam', 'nham',\n"
"    'ntokens', 'last_learn', 'nseen')\n"
"for i = 1, 5 do r[i] = r[i] or '0' end\n"
"for i = 2, #ARGV do\n"
"  local t = ARGV[i]\n"
"  r[#r + 1] = redis.call('HGET', p .. 'bayes:t:' .. string.sub(t, 1, 4),\n"
"      t) or ''\n"
"end\n"
"return r\n";

/*
 * ARGV: prefix, digest, class (0 forget, 1 spam, 2 ham), now, ttl, tokens.
 * Returns 0 learned, 1 already, 2 moved, 3 forgotten, 4 unknown.
 */
static const char learn_lua[] =
"local p, cls, now, ttl = ARGV[1], tonumber(ARGV[3]), ARGV[4],\n"
"    tonumber(ARGV[5])\n"
"local sk, tk = p .. 'bayes:seen:' .. ARGV[2], p .. 'bayes:totals'\n"
"local old = tonumber(redis.call('GET', sk) or '0')\n"
"if old == cls then\n"
"  if cls == 0 then return 4 end\n"
"  redis.call('EXPIRE', sk, ttl)\n"
"  return 1\n"
"end\n"
"local ds, dh = 0, 0\n"
"if old == 1 then ds = -1 elseif old == 2 then dh = -1 end\n"
"if cls == 1 then ds = ds + 1 elseif cls == 2 then dh = dh + 1 end\n"
"local nt = 0\n"
"for i = 6, #ARGV do\n"
"  local t = ARGV[i]\n"
"  local k = p .. 'bayes:t:' .. string.sub(t, 1, 4)\n"
"  local v = redis.call('HGET', k, t)\n"
"  local s, h = 0, 0\n"
"  if v then\n"
"    local a, b = string.match(v, '^(%d+):(%d+)')\n"
"    s, h = tonumber(a) or 0, tonumber(b) or 0\n"
"  end\n"
"  s, h = math.max(s + ds, 0), math.max(h + dh, 0)\n"
"  if s == 0 and h == 0 then\n"
"    if v then redis.call('HDEL', k, t); nt = nt - 1 end\n"
"  else\n"
"    redis.call('HSET', k, t, s .. ':' .. h .. ':' .. now)\n"
"    redis.call('EXPIRE', k, ttl)\n"
"    if not v then nt = nt + 1 end\n"
"  end\n"
"end\n"
"redis.call('HINCRBY', tk, 'nspam', ds)\n"
"redis.call('HINCRBY', tk, 'nham', dh)\n"
"redis.call('HINCRBY', tk, 'ntokens', nt)\n"
"redis.call('HSET', tk, 'last_learn', now)\n"
"if cls == 0 then\n"
"  redis.call('DEL', sk)\n"
"  redis.call('HINCRBY', tk, 'nseen', -1)\n"
"  return 3\n"
"end\n"
"redis.call('SET', sk, cls, 'EX', ttl)\n"
"if old == 0 then\n"
"  redis.call('HINCRBY', tk, 'nseen', 1)\n"
"  return 0\n"
"end\n"
"return 2\n";

static int
rfail(const struct bayes_redis *r, const char *what, const char *why,
    char *err, size_t errsz)
{
	snprintf(err, errsz, "redis %s: %s: %s", r->server, what, why);
	return -1;
}

/* Reconnect after an I/O error: the next request gets a fresh chance. */
static int
ctx_err(struct bayes_redis *r, const char *what, char *err, size_t errsz)
{
	rfail(r, what, r->c->errstr[0] ? r->c->errstr : "connection lost",
	    err, errsz);
	return -1;
}

struct bayes_redis *
bayes_redis_open(const char *server, int dbn, const char *prefix,
    long timeout_ms, long ttl, char *err, size_t errsz)
{
	struct bayes_redis *r = xcalloc(1, sizeof(*r));
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisReply *rep;
	char *host, *colon;
	long port;

	r->server = xstrdup(server);
	r->prefix = xstrdup(prefix ? prefix : "moat:");
	r->ttl = ttl > 0 ? ttl : 365L * 86400;
	pthread_mutex_init(&r->mu, NULL);
	if (strncmp(server, "unix:", 5) == 0)
		r->c = redisConnectUnixWithTimeout(server + 5, tv);
	else {
		host = xstrdup(server[0] == '[' ? server + 1 : server);
		if ((colon = strrchr(host, ':')) == NULL) {
			free(host);
			rfail(r, "address", "want HOST:PORT", err, errsz);
			goto fail;
		}
		*colon = '\0';
		port = strtol(colon + 1, NULL, 10);
		if (colon > host && colon[-1] == ']')
			colon[-1] = '\0';
		r->c = redisConnectWithTimeout(host, (int)port, tv);
		free(host);
	}
	if (r->c == NULL || r->c->err) {
		rfail(r, "connect", r->c ? r->c->errstr : "out of memory",
		    err, errsz);
		goto fail;
	}
	redisSetTimeout(r->c, tv);
	if (dbn != 0) {
		rep = redisCommand(r->c, "SELECT %d", dbn);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			rfail(r, "SELECT", rep ? rep->str : r->c->errstr,
			    err, errsz);
			freeReplyObject(rep);
			goto fail;
		}
		freeReplyObject(rep);
	}
	return r;
fail:
	bayes_redis_close(r);
	return NULL;
}

void
bayes_redis_close(struct bayes_redis *r)
{
	if (r == NULL)
		return;
	if (r->c)
		redisFree(r->c);
	free(r->server);
	free(r->prefix);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const char *
bayes_redis_server(const struct bayes_redis *r)
{
	return r->server;
}

/*
 * argv for an EVAL: EVAL script 0 prefix [extra...] tok...; *argc set.
 * Free *av and *hex after use.
 */
void
bayes_redis_eval_argv(const char *prefix, const char *script, const char **extra,
    size_t nextra, const uint64_t *tok, size_t n, const char ***av,
    char (**hex)[17], size_t *argc)
{
	size_t i, j = 0;

	*argc = 4 + nextra + n;
	*av = xcalloc(*argc, sizeof(**av));
	*hex = xcalloc(n + 1, sizeof(**hex));
	(*av)[j++] = "EVAL";
	(*av)[j++] = script;
	(*av)[j++] = "0";
	(*av)[j++] = prefix;
	for (i = 0; i < nextra; i++)
		(*av)[j++] = extra[i];
	for (i = 0; i < n; i++) {
		snprintf((*hex)[i], sizeof((*hex)[i]), "%016llx",
		    (unsigned long long)tok[i]);
		(*av)[j++] = (*hex)[i];
	}
}

static redisReply *
eval(struct bayes_redis *r, const char *script, const char **extra,
    size_t nextra, const uint64_t *tok, size_t n)
{
	const char **av;
	char (*hex)[17];
	redisReply *rep;
	size_t argc;

	bayes_redis_eval_argv(r->prefix, script, extra, nextra, tok, n, &av, &hex, &argc);
	rep = redisCommandArgv(r->c, (int)argc, av, NULL);
	free(av);
	free(hex);
	return rep;
}

static int
reconnect(struct bayes_redis *r)
{
	return redisReconnect(r->c) == REDIS_OK ? 0 : -1;
}

/*
 * The reply to read_lua for n tokens into out, tot and nseen (NULL ok);
 * 0, or -1 with err naming server.  rep stays the caller's.
 */
int
bayes_redis_read_parse(const char *server, const struct redisReply *rep, size_t n,
    struct bayes_counts *out, struct bayes_totals *tot, uint64_t *nseen,
    char *err, size_t errsz)
{
	size_t i;

	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errsz, "redis %s: read: %s", server, rep->str);
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n + 5) {
		snprintf(err, errsz, "redis %s: read: unexpected reply",
		    server);
		return -1;
	}
#define RSTR(k)	(rep->element[k]->type == REDIS_REPLY_STRING ? \
		    rep->element[k]->str : "0")
	tot->nspam = strtoull(RSTR(0), NULL, 10);
	tot->nham = strtoull(RSTR(1), NULL, 10);
	tot->ntokens = strtoull(RSTR(2), NULL, 10);
	tot->last_learn = strtoll(RSTR(3), NULL, 10);
	if (nseen)
		*nseen = strtoull(RSTR(4), NULL, 10);
	for (i = 0; i < n; i++) {
		const char *v = RSTR(5 + i);
		char *e;

		out[i].spam = (uint32_t)strtoul(v, &e, 10);
		out[i].ham = *e == ':' ? (uint32_t)strtoul(e + 1, NULL, 10) :
		    0;
	}
#undef RSTR
	return 0;
}

static int
read_locked(struct bayes_redis *r, const uint64_t *tok, size_t n,
    struct bayes_counts *out, struct bayes_totals *tot, uint64_t *nseen,
    char *err, size_t errsz)
{
	redisReply *rep;
	int rc;

	if (r->c->err && reconnect(r) != 0)
		return ctx_err(r, "read", err, errsz);
	if ((rep = eval(r, bayes_redis_read_lua, NULL, 0, tok, n)) == NULL)
		return ctx_err(r, "read", err, errsz);
	rc = bayes_redis_read_parse(r->server, rep, n, out, tot, nseen, err, errsz);
	freeReplyObject(rep);
	return rc;
}

static int
learn_locked(struct bayes_redis *r, const uint8_t id[16],
    enum bayes_class cls, const uint64_t *tok, size_t n, int64_t now,
    enum bayes_learned *res, char *err, size_t errsz)
{
	static const enum bayes_learned map[] = { BAYES_L_LEARNED,
	    BAYES_L_ALREADY, BAYES_L_MOVED, BAYES_L_FORGOTTEN,
	    BAYES_L_UNKNOWN };
	char dig[33], c[4], t[24], ttl[24];
	const char *extra[] = { dig, c, t, ttl };
	redisReply *rep;
	int i;

	for (i = 0; i < 16; i++)
		snprintf(dig + 2 * i, 3, "%02x", id[i]);
	snprintf(c, sizeof(c), "%d", (int)cls);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	snprintf(ttl, sizeof(ttl), "%ld", r->ttl);
	if (r->c->err && reconnect(r) != 0)
		return ctx_err(r, "learn", err, errsz);
	if ((rep = eval(r, learn_lua, extra, 4, tok, n)) == NULL)
		return ctx_err(r, "learn", err, errsz);
	if (rep->type == REDIS_REPLY_ERROR) {
		rfail(r, "learn", rep->str, err, errsz);
		freeReplyObject(rep);
		return -1;
	}
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 ||
	    rep->integer > 4) {
		freeReplyObject(rep);
		return rfail(r, "learn", "unexpected reply", err, errsz);
	}
	*res = map[rep->integer];
	freeReplyObject(rep);
	return 0;
}

int
bayes_redis_read(struct bayes_redis *r, const uint64_t *tok, size_t n,
    struct bayes_counts *out, struct bayes_totals *tot, uint64_t *nseen,
    char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = read_locked(r, tok, n, out, tot, nseen, err, errsz);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int
bayes_redis_learn(struct bayes_redis *r, const uint8_t id[16],
    enum bayes_class cls, const uint64_t *tok, size_t n, int64_t now,
    enum bayes_learned *res, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = learn_locked(r, id, cls, tok, n, now, res, err, errsz);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

