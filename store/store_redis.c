/*
 * store_redis.c: the Redis store (store.h), shared by every moatd that
 * points at the same Redis.  hiredis's async API on the worker's libevent
 * loop (its libevent adapter): one connection per worker, nothing blocks.
 *
 * A greylist check is one EVALSHA of a Lua script that reads the manual
 * whitelist, the auto-whitelist and the triplet record, applies the policy
 * of grey_decide() with Redis's own clock (TIME), writes back and sets the
 * TTLs: one round trip, atomic under any number of concurrent moatd.  The
 * script text is sent with EVAL until SCRIPT LOAD (sent on every connect)
 * has answered with its SHA1, and again on NOSCRIPT (SCRIPT FLUSH, a
 * failover to a replica that never saw it).  Every key written gets a TTL.
 *
 * What it deliberately does not do: decide what an error means for a mail
 * (the caller's greylist_on_store_failure), talk to Sentinel or Cluster
 * (scripts build counter keys and scan, which Cluster forbids), or retry a
 * request (a greylist check is not idempotent).
 *
 * Invariants:
 *   - a request's callback runs once, from the loop, or never (cancel,
 *     conn freed); a request stays allocated until hiredis has called back
 *     for every command it sent, so hiredis never holds a dangling privdata;
 *   - conn->ac is the live hiredis context or NULL; it is set to NULL
 *     before the context is freed, and every hiredis callback checks that
 *     its context is still conn->ac;
 *   - while the conn is not connected (after it has been up once), requests
 *     fail at once with STORE_ERR_DOWN; reconnection runs by itself with
 *     exponential backoff (backoff_min_ms doubling up to backoff_max_ms);
 *   - a conn freed from inside one of its callbacks is freed when that
 *     callback unwinds (conn->depth), never under it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "log.h"
#include "store_int.h"
#include "xmalloc.h"

#define REDIS_TIMEOUTS_MAX	3	/* consecutive timeouts: reconnect */
#define REDIS_ARGS_MAX		8

enum rscript { SC_GREY, SC_COUNT, SC_LOOKUP, SC_PASS, SC_LIST, SC_N };

#define LUA_NOW \
	"local tm = redis.call('TIME')\n" \
	"local now = tonumber(tm[1]) * 1000 + " \
	"math.floor(tonumber(tm[2]) / 1000)\n" \
	"local function s(x) return string.format('%.0f', x) end\n"

/*
 * The scripts.  SC_GREY is grey_decide() (scoring/greylist.c) in Lua and
 * must stay in step with it; KEYS t: a: w:, ARGV delay, retry window,
 * pass lifetime, awl passes, awl interval (ms).  Returns {decision,
 * wait_ms, pass_count, awl_count, manual}.
 */
static const char *const scripts[SC_N] = {
	[SC_GREY] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	LUA_NOW
	"local delay, retry, life = tonumber(ARGV[1]), tonumber(ARGV[2]), "
	"tonumber(ARGV[3])\n"
	"local awln, awli = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
	"if redis.call('EXISTS', KEYS[3]) == 1 then return {3, 0, 0, 0, 1} end\n"
	"local ac, al = 0, 0\n"
	"if awln > 0 then\n"
	"  local a = redis.call('HMGET', KEYS[2], 'n', 'c')\n"
	"  ac = tonumber(a[1]) or 0\n"
	"  al = tonumber(a[2]) or 0\n"
	"  if ac >= awln then\n"
	"    redis.call('PEXPIRE', KEYS[2], s(life))\n"
	"    return {3, 0, 0, ac, 0}\n"
	"  end\n"
	"end\n"
	"local r = redis.call('HMGET', KEYS[1], 'f', 'p', 'n')\n"
	"local f, p, n = tonumber(r[1]), tonumber(r[2]) or 0, "
	"tonumber(r[3]) or 0\n"
	"if f == nil or (p == 0 and now >= f + retry) or "
	"(p ~= 0 and now >= p) then\n"
	"  redis.call('HSET', KEYS[1], 'f', s(now), 'l', s(now), 'p', '0', "
	"'n', '0')\n"
	"  redis.call('PEXPIRE', KEYS[1], s(retry))\n"
	"  return {0, delay, 0, ac, 0}\n"
	"end\n"
	"if p == 0 and now < f + delay then\n"
	"  redis.call('HSET', KEYS[1], 'l', s(now))\n"
	"  redis.call('PEXPIRE', KEYS[1], s(math.min(f + retry - now, retry)))\n"
	"  return {1, math.min(f + delay - now, delay), 0, ac, 0}\n"
	"end\n"
	"n = n + 1\n"
	"redis.call('HSET', KEYS[1], 'l', s(now), 'p', s(now + life), "
	"'n', s(n))\n"
	"redis.call('PEXPIRE', KEYS[1], s(life))\n"
	"if awln > 0 and (ac == 0 or now - al >= awli) then\n"
	"  ac = ac + 1\n"
	"  redis.call('HSET', KEYS[2], 'n', s(ac), 'c', s(now))\n"
	"  redis.call('PEXPIRE', KEYS[2], s(life))\n"
	"end\n"
	"return {2, 0, n, ac, 0}\n",

	/* KEYS base; ARGV window, incr, sliding.  As store_mem.c do_count. */
	[SC_COUNT] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	LUA_NOW
	"local w, inc, sl = tonumber(ARGV[1]), tonumber(ARGV[2]), "
	"ARGV[3] == '1'\n"
	"local idx = math.floor(now / w)\n"
	"local cur = KEYS[1] .. ':' .. s(idx)\n"
	"local c\n"
	"if inc > 0 then\n"
	"  c = redis.call('INCRBY', cur, inc)\n"
	"  if redis.call('PTTL', cur) < 0 then\n"
	"    redis.call('PEXPIRE', cur, s(sl and 2 * w or w))\n"
	"  end\n"
	"else\n"
	"  c = tonumber(redis.call('GET', cur) or '0')\n"
	"end\n"
	"if sl then\n"
	"  local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. "
	"s(idx - 1)) or '0')\n"
	"  c = c + math.ceil(prev * (w - (now - idx * w)) / w)\n"
	"end\n"
	"return c\n",

	/* KEYS key.  {0} or {1, pttl, f, l, p, n, c}. */
	[SC_LOOKUP] =
	"local ty = redis.call('TYPE', KEYS[1])['ok']\n"
	"if ty == 'none' then return {0} end\n"
	"local pt = redis.call('PTTL', KEYS[1])\n"
	"if ty ~= 'hash' then return {1, pt, '', '', '', '', ''} end\n"
	"local h = redis.call('HMGET', KEYS[1], 'f', 'l', 'p', 'n', 'c')\n"
	"return {1, pt, h[1] or '', h[2] or '', h[3] or '', h[4] or '', "
	"h[5] or ''}\n",

	/* KEYS t:; ARGV pass lifetime. */
	[SC_PASS] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	LUA_NOW
	"local life = tonumber(ARGV[1])\n"
	"local f = redis.call('HGET', KEYS[1], 'f') or s(now)\n"
	"local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')\n"
	"if n < 1 then n = 1 end\n"
	"redis.call('HSET', KEYS[1], 'f', f, 'l', s(now), 'p', s(now + life), "
	"'n', s(n))\n"
	"redis.call('PEXPIRE', KEYS[1], s(life))\n"
	"return 1\n",

	/* ARGV cursor, pattern, count, hash?  {cursor, key, pttl, f, l, p, n,
	 * c, ...}. */
	[SC_LIST] =
	"local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', "
	"ARGV[3])\n"
	"local out = {r[1]}\n"
	"for _, k in ipairs(r[2]) do\n"
	"  local pt = redis.call('PTTL', k)\n"
	"  if pt ~= -2 then\n"
	"    out[#out + 1] = k\n"
	"    out[#out + 1] = pt\n"
	"    local h = {}\n"
	"    if ARGV[4] == '1' then\n"
	"      h = redis.call('HMGET', k, 'f', 'l', 'p', 'n', 'c')\n"
	"    end\n"
	"    for i = 1, 5 do out[#out + 1] = h[i] or '' end\n"
	"  end\n"
	"end\n"
	"return out\n",
};

struct redis_store {
	struct store	 base;
	char		*host, *unix_path, *user, *password, *prefix;
	int		 port, db;
	long		 deadline_ms, connect_timeout_ms;
	long		 backoff_min_ms, backoff_max_ms;
	int		 max_inflight;
};

enum rconn_state { RC_IDLE, RC_CONNECTING, RC_UP };

struct rreq;

struct rconn {
	struct store_conn base;
	struct redis_store *rs;
	struct event_base *evb;
	redisAsyncContext *ac;
	enum rconn_state state;
	int		 ever_up;
	struct event	*timer;		/* reconnect backoff, connect timeout */
	long		 backoff_ms;
	unsigned	 rnd;
	struct rreq	*reqs;		/* user requests not yet completed */
	int		 inflight;	/* commands hiredis owes us a reply */
	int		 timeouts;	/* consecutive */
	char		 sha[SC_N][41];
	int		 depth;		/* inside one of our callbacks */
	int		 dead;		/* freed while depth > 0 */
};

enum rreq_kind { RQ_USER, RQ_AUTH, RQ_LOAD };

struct rreq {
	struct rreq	*next, *prev;	/* in conn->reqs while !done */
	struct rconn	*conn;		/* NULL once the conn is gone */
	enum rreq_kind	 kind;
	uint64_t	 id;
	struct store_args args;		/* op, cb, arg, and small values */
	struct event	*ev;		/* deadline, or a fail-fast delivery */
	int		 fail_err;	/* fail-fast error for ev */
	int		 done;		/* delivered or cancelled */
	int		 refs;		/* hiredis callbacks outstanding */
	enum rscript	 sc;		/* script, for NOSCRIPT -> EVAL */
	int		 nkeys, nargs;
	char		*v[REDIS_ARGS_MAX];	/* keys then args */
	size_t		 vlen[REDIS_ARGS_MAX];
	char		 kindc;		/* LIST/TOTAL: 't', 'a', 'w' */
	uint64_t	 cursor;	/* TOTAL */
	long long	 total[3];	/* TOTAL */
};

static const struct store_ops redis_ops;

static void	conn_connect(struct rconn *);
static void	conn_drop(struct rconn *, const char *why);
static void	reply_cb(redisAsyncContext *, void *, void *);

static void
conn_enter(struct rconn *c)
{
	c->depth++;
}

static void
conn_release(struct rconn *c)
{
	event_free(c->timer);
	free(c);
}

/* Returns 1 if c is gone (it must not be touched any more). */
static int
conn_leave(struct rconn *c)
{
	if (--c->depth == 0 && c->dead) {
		conn_release(c);
		return 1;
	}
	return c->dead;
}

static void
req_unlink(struct rreq *q)
{
	struct rconn *c = q->conn;

	if (c == NULL)
		return;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (c->reqs == q)
		c->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

static void
req_free(struct rreq *q)
{
	int i;

	if (q->ev != NULL)
		event_free(q->ev);
	for (i = 0; i < q->nkeys + q->nargs; i++)
		free(q->v[i]);
	free(q);
}

/* The request is finished for its user; freed once hiredis is done too. */
static void
req_finish(struct rreq *q)
{
	q->done = 1;
	if (q->ev != NULL) {
		event_free(q->ev);
		q->ev = NULL;
	}
	req_unlink(q);
	if (q->refs == 0)
		req_free(q);
}

static const char *
err_why(int err)
{
	return err == STORE_ERR_TIMEOUT ? "no answer within the deadline" :
	    err == STORE_ERR_BUSY ? "too many requests in flight" :
	    err == STORE_ERR_ARG ? "bad argument" : "not connected";
}

/*
 * Deliver err/r to the user, then finish.  why names the failure for the
 * outage log line (NULL: a default for err).  The callback may free conn.
 */
static void
req_complete(struct rreq *q, int err, const struct store_res *r,
    const char *why)
{
	struct store_args a = q->args;
	uint64_t id = q->id;
	struct rconn *c = q->conn;

	if (q->done)
		return;
	if (why == NULL)
		why = err_why(err);
	/* a fail-fast failure was counted when it was decided (submit) */
	if (c != NULL && !(q->fail_err != 0 && err == q->fail_err)) {
		if (err == STORE_OK) {
			c->timeouts = 0;
			store_succeeded(c->base.st);
		} else if (err != STORE_ERR_ARG)
			store_failed(c->base.st, err, why);
	}
	/* r may point into q (a key): free q only after the callback. */
	q->done = 1;
	if (q->ev != NULL) {
		event_free(q->ev);
		q->ev = NULL;
	}
	req_unlink(q);
	if (q->kind == RQ_USER)
		store_deliver(&a, id, err, r);
	if (q->refs == 0)
		req_free(q);
}

static void
req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rreq *q = arg;
	struct rconn *c = q->conn;
	int err = q->fail_err ? q->fail_err : STORE_ERR_TIMEOUT;

	(void)fd;
	(void)what;
	conn_enter(c);
	if (err == STORE_ERR_TIMEOUT)
		c->timeouts++;
	req_complete(q, err, NULL, NULL);
	if (!c->dead && c->timeouts >= REDIS_TIMEOUTS_MAX &&
	    c->state == RC_UP) {
		c->timeouts = 0;
		conn_drop(c, "requests time out");
	}
	conn_leave(c);
}

/* Send q's command (EVALSHA when the SHA is known, else EVAL). */
static int
req_send(struct rreq *q)
{
	struct rconn *c = q->conn;
	const char *argv[REDIS_ARGS_MAX + 3];
	size_t lens[REDIS_ARGS_MAX + 3];
	char nk[8];
	int i, n = 0;

	if (c->ac == NULL)
		return -1;
	if (c->sha[q->sc][0] != '\0') {
		argv[n] = "EVALSHA";
		argv[n + 1] = c->sha[q->sc];
	} else {
		argv[n] = "EVAL";
		argv[n + 1] = scripts[q->sc];
	}
	lens[n] = strlen(argv[n]);
	lens[n + 1] = strlen(argv[n + 1]);
	n += 2;
	snprintf(nk, sizeof(nk), "%d", q->nkeys);
	argv[n] = nk;
	lens[n++] = strlen(nk);
	for (i = 0; i < q->nkeys + q->nargs; i++) {
		argv[n] = q->v[i];
		lens[n++] = q->vlen[i];
	}
	if (redisAsyncCommandArgv(c->ac, reply_cb, q, n, argv, lens) !=
	    REDIS_OK)
		return -1;
	q->refs++;
	c->inflight++;
	return 0;
}

/* A plain command (not a script). */
static int
req_send_plain(struct rreq *q, int argc, const char **argv,
    const size_t *lens)
{
	struct rconn *c = q->conn;

	if (c->ac == NULL || redisAsyncCommandArgv(c->ac, reply_cb, q, argc,
	    argv, lens) != REDIS_OK)
		return -1;
	q->refs++;
	c->inflight++;
	return 0;
}

static int
ll_of(const redisReply *r, long long *v)
{
	char *end;

	if (r->type == REDIS_REPLY_INTEGER) {
		*v = r->integer;
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING)
		return -1;
	if (r->len == 0) {
		*v = 0;
		return 0;
	}
	*v = strtoll(r->str, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* key (with the store's prefix) -> entry kind and key without prefix. */
static int
entry_of(struct redis_store *rs, const char *key, struct store_entry *e)
{
	size_t pl = strlen(rs->prefix);

	memset(e, 0, sizeof(*e));
	if (strncmp(key, rs->prefix, pl) != 0)
		return -1;
	e->key = key + pl;
	switch (e->key[0]) {
	case 't':
		e->kind = STORE_E_TRIPLET;
		break;
	case 'a':
		e->kind = STORE_E_AWL;
		break;
	case 'w':
		e->kind = STORE_E_WHITE;
		break;
	default:
		return -1;
	}
	return e->key[1] == ':' ? 0 : -1;
}

/* r[0..5): pttl f l p n c -> e. */
static int
fill_fields(struct store_entry *e, redisReply **r)
{
	long long v[6];
	int i;

	for (i = 0; i < 6; i++)
		if (ll_of(r[i], &v[i]) == -1)
			return -1;
	e->ttl_ms = v[0];
	e->rec.first_seen = v[1];
	e->rec.last_seen = v[2];
	e->rec.passed_until = v[3];
	e->rec.pass_count = (long)v[4];
	if (e->kind == STORE_E_AWL) {
		e->awl.count = (long)v[4];
		e->awl.last_counted = v[5];
	}
	return 0;
}

static int
parse_reply(struct rreq *q, redisReply *r, struct store_res *res)
{
	struct redis_store *rs = q->conn->rs;
	long long v[5];
	size_t i, n;

	switch (q->args.op) {
	case STORE_OP_GREY:
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 5)
			return STORE_ERR_PROTO;
		for (i = 0; i < 5; i++)
			if (ll_of(r->element[i], &v[i]) == -1)
				return STORE_ERR_PROTO;
		if (v[0] < GREY_NEW || v[0] > GREY_WHITELISTED)
			return STORE_ERR_PROTO;
		res->grey.decision = (enum grey_decision)v[0];
		res->grey.wait_s = grey_wait_seconds(v[1]);
		res->grey.pass_count = (long)v[2];
		res->grey.awl_count = (long)v[3];
		res->grey.manual = (int)v[4];
		return STORE_OK;
	case STORE_OP_COUNT:
		return ll_of(r, &res->count) == 0 ? STORE_OK : STORE_ERR_PROTO;
	case STORE_OP_WHITE_ADD:
	case STORE_OP_PASS:
	case STORE_OP_DELETE:
		return STORE_OK;
	case STORE_OP_LOOKUP:
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
		    ll_of(r->element[0], &v[0]) == -1)
			return STORE_ERR_PROTO;
		if (v[0] == 0)
			return STORE_OK;
		if (r->elements != 7 || entry_of(rs, q->v[0],
		    &res->entry) == -1 ||
		    fill_fields(&res->entry, r->element + 1) == -1)
			return STORE_ERR_PROTO;
		res->found = 1;
		return STORE_OK;
	case STORE_OP_LIST:
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
		    (r->elements - 1) % 7 != 0 ||
		    r->element[0]->type != REDIS_REPLY_STRING)
			return STORE_ERR_PROTO;
		res->next_cursor = strtoull(r->element[0]->str, NULL, 10);
		n = (r->elements - 1) / 7;
		res->list = xcalloc(n ? n : 1, sizeof(*res->list));
		for (i = 0; i < n; i++) {
			redisReply **g = r->element + 1 + i * 7;

			if (g[0]->type != REDIS_REPLY_STRING ||
			    entry_of(rs, g[0]->str, &res->list[res->nlist]) ==
			    -1)
				continue;
			if (fill_fields(&res->list[res->nlist], g + 1) == -1)
				return STORE_ERR_PROTO;
			res->nlist++;
		}
		return STORE_OK;
	case STORE_OP_TOTAL:
		break;
	}
	return STORE_ERR_PROTO;
}

/* TOTAL: one SCAN page; the next is sent from its reply. */
static int
total_send(struct rreq *q)
{
	char cur[24], pat[GREY_PREFIX_MAX + 2];
	const char *argv[6] = { "SCAN", cur, "MATCH", pat, "COUNT", "1000" };
	size_t lens[6];
	int i;

	snprintf(cur, sizeof(cur), "%llu", (unsigned long long)q->cursor);
	snprintf(pat, sizeof(pat), "%s*", q->conn->rs->prefix);
	for (i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	return req_send_plain(q, 6, argv, lens);
}

static int
total_page(struct rreq *q, redisReply *r)
{
	struct store_entry e;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_ARRAY)
		return STORE_ERR_PROTO;
	for (i = 0; i < r->element[1]->elements; i++) {
		redisReply *k = r->element[1]->element[i];

		if (k->type == REDIS_REPLY_STRING &&
		    entry_of(q->conn->rs, k->str, &e) == 0)
			q->total[e.kind]++;
	}
	q->cursor = strtoull(r->element[0]->str, NULL, 10);
	return STORE_OK;
}

static void
reply_user(struct rreq *q, redisReply *r)
{
	struct store_res res;
	int err;

	memset(&res, 0, sizeof(res));
	if (r == NULL) {
		req_complete(q, STORE_ERR_DOWN, NULL, NULL);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		if (strncmp(r->str, "NOSCRIPT", 8) == 0 &&
		    q->args.op != STORE_OP_TOTAL && q->conn->ac != NULL) {
			/* Flushed or failed over: send the text again. */
			q->conn->sha[q->sc][0] = '\0';
			if (req_send(q) == 0)
				return;
		}
		/* OOM, READONLY (a replica), a script error: logged once per
		 * outage like a lost connection, not once per request. */
		req_complete(q, STORE_ERR_PROTO, NULL, r->str);
		return;
	}
	if (q->args.op == STORE_OP_TOTAL) {
		if ((err = total_page(q, r)) == STORE_OK && q->cursor != 0) {
			if (total_send(q) == 0)
				return;
			err = STORE_ERR_DOWN;
		}
		memcpy(res.total, q->total, sizeof(res.total));
		req_complete(q, err, &res, "unexpected SCAN reply");
		return;
	}
	err = parse_reply(q, r, &res);
	req_complete(q, err, &res, "unexpected reply");
	free(res.list);
}

static void
reply_internal(struct rreq *q, redisReply *r)
{
	struct rconn *c = q->conn;

	if (r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		/* Wrong password, unknown db: nothing will work. */
		store_failed(c->base.st, STORE_ERR_PROTO, r->str);
		conn_drop(c, r->str);
		return;
	}
	store_succeeded(c->base.st);
	if (q->kind == RQ_LOAD && r->type == REDIS_REPLY_STRING &&
	    r->len == 40)
		memcpy(c->sha[q->sc], r->str, 41);
}

static void
reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rreq *q = privdata;
	struct rconn *c = q->conn;

	(void)ac;
	q->refs--;
	if (c == NULL || q->done) {
		if (c != NULL)
			c->inflight--;
		if (q->refs == 0 && (q->done || c == NULL))
			req_free(q);
		return;
	}
	conn_enter(c);
	c->inflight--;
	if (reply != NULL)
		c->timeouts = 0;
	if (q->kind == RQ_USER) {
		reply_user(q, reply);
	} else {
		reply_internal(q, reply);
		req_finish(q);
	}
	conn_leave(c);
}

/* An internal request (AUTH, SELECT, SCRIPT LOAD) on a fresh context. */
static void
internal_send(struct rconn *c, enum rreq_kind kind, enum rscript sc,
    int argc, const char **argv)
{
	struct rreq *q = xcalloc(1, sizeof(*q));
	size_t lens[4];
	int i;

	q->conn = c;
	q->kind = kind;
	q->sc = sc;
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (req_send_plain(q, argc, argv, lens) == -1) {
		free(q);
		return;
	}
	q->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = q;
	c->reqs = q;
}

static void
timer_schedule(struct rconn *c, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* After a failure: the next attempt after the backoff (with jitter). */
static void
conn_backoff(struct rconn *c)
{
	long ms = c->backoff_ms;

	c->state = RC_IDLE;
	c->rnd = c->rnd * 1103515245u + 12345u;
	ms += (long)((c->rnd >> 8) % (unsigned)(ms / 4 + 1));
	timer_schedule(c, ms);
	c->backoff_ms *= 2;
	if (c->backoff_ms > c->rs->backoff_max_ms)
		c->backoff_ms = c->rs->backoff_max_ms;
}

/*
 * Close the context now: hiredis calls back every pending command with no
 * reply (they complete with STORE_ERR_DOWN), then we reconnect.
 */
static void
conn_drop(struct rconn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	if (ac == NULL)
		return;
	log_trace(LOG_T_BACKEND, "redis: dropping the connection: %s", why);
	c->ac = NULL;
	evtimer_del(c->timer);
	conn_backoff(c);
	redisAsyncFree(ac);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;

	if (c == NULL || c->ac != ac)
		return;
	conn_enter(c);
	evtimer_del(c->timer);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns. */
		store_failed(c->base.st, STORE_ERR_DOWN, ac->errstr);
		c->ac = NULL;
		conn_backoff(c);
	} else {
		c->state = RC_UP;
		c->ever_up = 1;
		c->timeouts = 0;
		c->backoff_ms = c->rs->backoff_min_ms;
	}
	conn_leave(c);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;

	(void)status;
	if (c == NULL || c->ac != ac)
		return;
	conn_enter(c);
	store_failed(c->base.st, STORE_ERR_DOWN,
	    ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
	c->ac = NULL;
	evtimer_del(c->timer);
	conn_backoff(c);
	conn_leave(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;

	(void)fd;
	(void)what;
	conn_enter(c);
	if (c->state == RC_CONNECTING) {
		store_failed(c->base.st, STORE_ERR_TIMEOUT, "connect timed out");
		conn_drop(c, "connect timed out");
	} else if (c->state == RC_IDLE)
		conn_connect(c);
	conn_leave(c);
}

static void
conn_connect(struct rconn *c)
{
	struct redis_store *rs = c->rs;
	redisAsyncContext *ac;
	char db[16];
	int i;

	if (rs->unix_path != NULL)
		ac = redisAsyncConnectUnix(rs->unix_path);
	else
		ac = redisAsyncConnect(rs->host, rs->port);
	if (ac == NULL) {
		store_failed(c->base.st, STORE_ERR_DOWN, "out of memory");
		conn_backoff(c);
		return;
	}
	if (ac->err) {
		store_failed(c->base.st, STORE_ERR_DOWN, ac->errstr);
		redisAsyncFree(ac);
		conn_backoff(c);
		return;
	}
	ac->data = c;
	c->ac = ac;
	c->state = RC_CONNECTING;
	redisLibeventAttach(ac, c->evb);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	timer_schedule(c, rs->connect_timeout_ms);
	/* Queued by hiredis; sent, in order, before any request. */
	if (rs->password != NULL) {
		const char *av[3] = { "AUTH", rs->user ? rs->user :
		    rs->password, rs->password };

		internal_send(c, RQ_AUTH, SC_GREY, rs->user ? 3 : 2, av);
	}
	if (rs->db != 0) {
		const char *av[2] = { "SELECT", db };

		snprintf(db, sizeof(db), "%d", rs->db);
		internal_send(c, RQ_AUTH, SC_GREY, 2, av);
	}
	for (i = 0; i < SC_N; i++) {
		const char *av[3] = { "SCRIPT", "LOAD", scripts[i] };

		internal_send(c, RQ_LOAD, (enum rscript)i, 3, av);
	}
}

static struct store_conn *
redis_conn_new(struct store *st, struct event_base *evb)
{
	struct rconn *c = xcalloc(1, sizeof(*c));

	c->base.st = st;
	c->rs = (struct redis_store *)st;
	c->evb = evb;
	c->timer = evtimer_new(evb, conn_timer_cb, c);
	c->backoff_ms = c->rs->backoff_min_ms;
	c->rnd = (unsigned)(uintptr_t)c ^ (unsigned)store_now_ms();
	conn_connect(c);
	return &c->base;
}

static void
redis_conn_free(struct store_conn *sc)
{
	struct rconn *c = (struct rconn *)sc;
	redisAsyncContext *ac = c->ac;
	struct rreq *q;

	/* No callback from here on; hiredis still owes replies to some. */
	while ((q = c->reqs) != NULL) {
		req_unlink(q);
		q->conn = NULL;
		q->done = 1;
		if (q->ev != NULL) {
			event_free(q->ev);
			q->ev = NULL;
		}
		if (q->refs == 0)
			req_free(q);
	}
	c->ac = NULL;
	evtimer_del(c->timer);
	if (ac != NULL) {
		/* Deferred by hiredis when inside its callback; either way
		 * its NULL replies find requests with no conn. */
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	c->dead = 1;
	if (c->depth == 0)
		conn_release(c);
}

static int
redis_conn_up(const struct store_conn *sc)
{
	return ((const struct rconn *)sc)->state == RC_UP;
}

static void
redis_cancel(struct store_conn *sc, uint64_t id)
{
	struct rconn *c = (struct rconn *)sc;
	struct rreq *q;

	for (q = c->reqs; q != NULL; q = q->next)
		if (q->id == id) {
			req_finish(q);
			return;
		}
}

static void
req_arg(struct rreq *q, const char *s, size_t n)
{
	int i = q->nkeys + q->nargs;

	q->v[i] = xmalloc(n + 1);
	memcpy(q->v[i], s, n);
	q->v[i][n] = '\0';
	q->vlen[i] = n;
}

static void
req_key(struct rreq *q, const char *s)
{
	req_arg(q, s, strlen(s));
	q->nkeys++;
}

static void
req_num(struct rreq *q, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	req_arg(q, buf, strlen(buf));
	q->nargs++;
}

static void
req_str(struct rreq *q, const char *s)
{
	req_arg(q, s, strlen(s));
	q->nargs++;
}

/* Build q's command from a; STORE_OK or STORE_ERR_ARG. */
static int
req_build(struct rreq *q, struct redis_store *rs, const struct store_args *a)
{
	char key[GREY_KEY_MAX + STORE_NAME_MAX];
	static const char kinds[] = { 't', 'a', 'w' };

	switch (a->op) {
	case STORE_OP_GREY:
		q->sc = SC_GREY;
		if (grey_key_triplet(key, sizeof(key), rs->prefix, a->t) == -1)
			return STORE_ERR_ARG;
		req_key(q, key);
		grey_key_client(key, sizeof(key), rs->prefix, 'a',
		    a->t->client);
		req_key(q, key);
		grey_key_client(key, sizeof(key), rs->prefix, 'w',
		    a->t->client);
		req_key(q, key);
		req_num(q, a->p.delay_ms);
		req_num(q, a->p.retry_window_ms);
		req_num(q, a->p.pass_lifetime_ms);
		req_num(q, a->p.awl_passes);
		req_num(q, a->p.awl_interval_ms);
		return STORE_OK;
	case STORE_OP_COUNT:
		if (a->window_ms <= 0 || strlen(a->name) > STORE_NAME_MAX)
			return STORE_ERR_ARG;
		q->sc = SC_COUNT;
		snprintf(key, sizeof(key), "%sr:%s", rs->prefix, a->name);
		req_key(q, key);
		req_num(q, a->window_ms);
		req_num(q, a->incr);
		req_num(q, a->sliding ? 1 : 0);
		return STORE_OK;
	case STORE_OP_PASS:
		q->sc = SC_PASS;
		if (grey_key_triplet(key, sizeof(key), rs->prefix, a->t) == -1)
			return STORE_ERR_ARG;
		req_key(q, key);
		req_num(q, a->p.pass_lifetime_ms);
		return STORE_OK;
	case STORE_OP_WHITE_ADD:
		if (a->ttl_ms <= 0 || grey_key_client(key, sizeof(key),
		    rs->prefix, 'w', a->name) == -1)
			return STORE_ERR_ARG;
		req_key(q, key);
		req_num(q, a->ttl_ms);
		return STORE_OK;
	case STORE_OP_LOOKUP:
	case STORE_OP_DELETE:
		if (strlen(a->name) < 2 || strlen(a->name) > GREY_KEY_MAX ||
		    a->name[1] != ':' || strchr("taw", a->name[0]) == NULL)
			return STORE_ERR_ARG;
		q->sc = SC_LOOKUP;
		snprintf(key, sizeof(key), "%s%s", rs->prefix, a->name);
		req_key(q, key);
		return STORE_OK;
	case STORE_OP_LIST:
		if ((int)a->kind < 0 || a->kind > STORE_E_WHITE)
			return STORE_ERR_ARG;
		q->sc = SC_LIST;
		q->kindc = kinds[a->kind];
		req_num(q, (long long)a->cursor);
		snprintf(key, sizeof(key), "%s%c:*", rs->prefix, q->kindc);
		req_str(q, key);
		req_num(q, a->max > 0 ? (long long)a->max : 100);
		req_str(q, a->kind == STORE_E_WHITE ? "0" : "1");
		return STORE_OK;
	case STORE_OP_TOTAL:
		return STORE_OK;
	}
	return STORE_ERR_ARG;
}

static int
req_start(struct rreq *q)
{
	const char *argv[5];
	size_t lens[5];

	switch (q->args.op) {
	case STORE_OP_WHITE_ADD:
		argv[0] = "SET";
		argv[1] = q->v[0];
		argv[2] = "manual";
		argv[3] = "PX";
		argv[4] = q->v[1];
		lens[0] = 3;
		lens[1] = q->vlen[0];
		lens[2] = 6;
		lens[3] = 2;
		lens[4] = q->vlen[1];
		return req_send_plain(q, 5, argv, lens);
	case STORE_OP_DELETE:
		argv[0] = "DEL";
		argv[1] = q->v[0];
		lens[0] = 3;
		lens[1] = q->vlen[0];
		return req_send_plain(q, 2, argv, lens);
	case STORE_OP_TOTAL:
		return total_send(q);
	default:
		return req_send(q);
	}
}

static uint64_t
redis_submit(struct store_conn *sc, const struct store_args *a)
{
	struct rconn *c = (struct rconn *)sc;
	struct redis_store *rs = c->rs;
	struct rreq *q = xcalloc(1, sizeof(*q));
	struct timeval tv = { 0, 0 };
	long ms = rs->deadline_ms;
	int err;

	q->conn = c;
	q->kind = RQ_USER;
	q->id = store_next_id(sc->st);
	q->args = *a;
	q->args.t = NULL;
	q->args.name = NULL;
	q->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = q;
	c->reqs = q;
	q->ev = evtimer_new(c->evb, req_timer_cb, q);
	if (a->op != STORE_OP_GREY && a->op != STORE_OP_COUNT)
		ms = STORE_ADMIN_DEADLINE_MS;

	if ((err = req_build(q, rs, a)) != STORE_OK)
		q->fail_err = err;
	else if (c->ac == NULL || (c->state != RC_UP && c->ever_up))
		q->fail_err = STORE_ERR_DOWN;	/* an outage: fail fast */
	else if (c->inflight >= rs->max_inflight)
		q->fail_err = STORE_ERR_BUSY;
	else if (req_start(q) == -1)
		q->fail_err = STORE_ERR_DOWN;
	if (q->fail_err == 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	} else if (q->fail_err != STORE_ERR_ARG) {
		/*
		 * Counted now, during the outage that decided it: delivered
		 * from the timer, it could come after a reply that ends the
		 * outage in the same loop turn and open a new one.
		 */
		store_failed(sc->st, q->fail_err, err_why(q->fail_err));
	}
	evtimer_add(q->ev, &tv);
	return q->id;
}

static void
redis_free(struct store *st)
{
	struct redis_store *rs = (struct redis_store *)st;

	free(rs->host);
	free(rs->unix_path);
	free(rs->user);
	free(rs->password);
	free(rs->prefix);
	free(rs);
}

void
store_redis_params_default(struct store_redis_params *p)
{
	memset(p, 0, sizeof(*p));
	p->host = "127.0.0.1";
	p->port = 6379;
	p->key_prefix = "moat:";
	p->deadline_ms = STORE_DEADLINE_DEFAULT_MS;
	p->connect_timeout_ms = 1000;
	p->backoff_min_ms = 100;
	p->backoff_max_ms = 5000;
	p->max_inflight = 1000;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct store *
store_redis_new(const struct store_redis_params *p, char *err, size_t errsz)
{
	struct redis_store *rs;
	const char *prefix = p->key_prefix ? p->key_prefix : "moat:";
	unsigned char addr[16];

	if (strlen(prefix) > GREY_PREFIX_MAX || strchr(prefix, ' ') ||
	    strpbrk(prefix, "*?[]\\") != NULL) {
		snprintf(err, errsz, "redis key prefix: at most %d bytes, no "
		    "spaces or glob characters", GREY_PREFIX_MAX);
		return NULL;
	}
	if (p->unix_path == NULL && (p->host == NULL || p->port <= 0 ||
	    p->port > 65535)) {
		snprintf(err, errsz, "redis: no unix socket and no host:port");
		return NULL;
	}
	/* hiredis resolves a name with a blocking getaddrinfo(): never on a
	 * worker's loop. */
	if (p->unix_path == NULL && inet_pton(AF_INET, p->host, addr) != 1 &&
	    inet_pton(AF_INET6, p->host, addr) != 1) {
		snprintf(err, errsz, "redis: host must be an IP address or a "
		    "unix socket, not a name");
		return NULL;
	}
	if (p->deadline_ms <= 0 || p->connect_timeout_ms <= 0 ||
	    p->backoff_min_ms <= 0 || p->backoff_max_ms < p->backoff_min_ms ||
	    p->max_inflight <= 0 || p->db < 0) {
		snprintf(err, errsz, "redis: a timeout, backoff, db or "
		    "max_inflight value out of range");
		return NULL;
	}
	rs = xcalloc(1, sizeof(*rs));
	rs->base.ops = &redis_ops;
	rs->host = dup_or_null(p->host);
	rs->unix_path = dup_or_null(p->unix_path);
	rs->user = dup_or_null(p->user);
	rs->password = dup_or_null(p->password);
	rs->prefix = xstrdup(prefix);
	rs->port = p->port;
	rs->db = p->db;
	rs->deadline_ms = p->deadline_ms;
	rs->connect_timeout_ms = p->connect_timeout_ms;
	rs->backoff_min_ms = p->backoff_min_ms;
	rs->backoff_max_ms = p->backoff_max_ms;
	rs->max_inflight = p->max_inflight;
	return &rs->base;
}

static const struct store_ops redis_ops = {
	.name = "redis",
	.free = redis_free,
	.conn_new = redis_conn_new,
	.conn_free = redis_conn_free,
	.conn_up = redis_conn_up,
	.cancel = redis_cancel,
	.submit = redis_submit,
};
