/*
 * bayes_live.c: the Bayes store in moatd (bayes_live.h).
 *
 * One LMDB environment per process (LMDB forbids opening one twice in a
 * process), opened at the first message that needs it, after privileges
 * were dropped, and shared by every worker under a read-write lock: the
 * workers hold it shared while they read, a reopen (bayes_path changed on
 * reload, or autolearn turned on, which needs it writable) holds it
 * exclusively.  Reading a message's counts is one read transaction of a
 * few thousand memory-mapped B-tree lookups, well under a millisecond; it
 * runs on the worker's loop (doc/rules.md says why that is acceptable).
 * Writing is not: autolearn commits (an fsync) on the learner thread.
 *
 * With bayes_store redis a worker classifies asynchronously (issue 13):
 * the engine's bayes step reads through the loop's own connection
 * (bayes_live_aredis(), store/bayes_redis.c), so a slow Redis never
 * stops the loop.  The learner thread, and bayes_live_classify() where
 * there is no loop, use a synchronous hiredis connection per thread,
 * every request bounded by bayes_timeout (one Lua script, one round trip).  After an error the connection is
 * dropped and not tried again for LIVE_REDIS_RETRY_SECS, so a Redis that
 * is down costs one timeout per thread per retry period, not per message.
 *
 * It never fails a message: store trouble means the message is judged
 * without Bayes.  Each distinct store error is logged once; the store is
 * tried again at most once a minute (LMDB).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bayes.h"
#include "bayes_db.h"
#include "bayes_live.h"
#include "bayes_redis.h"
#include "bayes_tok.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

#define LIVE_RETRY_SECS	60
#define LIVE_REDIS_RETRY_SECS	5

/*
 * bayes_store redis: this thread's connection and what it is to, freed by
 * the key's destructor when the thread ends (bayes_live_shutdown() for the
 * thread that calls it).
 */
struct live_tl {
	struct bayes_db	*db;
	char		*key;
	time_t		 retry;		/* no reconnect before this */
};
static pthread_key_t	live_tl_key;
static pthread_once_t	live_tl_once = PTHREAD_ONCE_INIT;

static void
live_tl_free(void *p)
{
	struct live_tl *t = p;

	if (t == NULL)
		return;
	bayes_db_close(t->db);
	free(t->key);
	free(t);
}

static void
live_tl_init(void)
{
	if (pthread_key_create(&live_tl_key, live_tl_free) != 0)
		fatal("bayes: pthread_key_create");
}

static struct live_tl *
live_tl(void)
{
	struct live_tl *t;

	pthread_once(&live_tl_once, live_tl_init);
	if ((t = pthread_getspecific(live_tl_key)) == NULL) {
		t = xcalloc(1, sizeof(*t));
		(void)pthread_setspecific(live_tl_key, t);
	}
	return t;
}

static pthread_rwlock_t live_rw = PTHREAD_RWLOCK_INITIALIZER;
static struct bayes_db	*live_db;	/* under live_rw */
static char		*live_path;
static int		 live_writable;
static char		 live_err[512];	/* the last error logged */
static time_t		 live_retry;	/* no reopen before this */

static pthread_mutex_t live_err_mu = PTHREAD_MUTEX_INITIALIZER;

/* Log a store error once, until a different one (or success) happens. */
static void
live_log_err(const char *sid, const char *err)
{
	int fresh;

	pthread_mutex_lock(&live_err_mu);
	fresh = strcmp(live_err, err) != 0;
	if (fresh)
		snprintf(live_err, sizeof(live_err), "%s", err);
	pthread_mutex_unlock(&live_err_mu);
	if (fresh)
		log_warn("%s%s%sbayes: %s; messages are judged without Bayes "
		    "until it is fixed", sid ? "session=" : "", sid ? sid : "",
		    sid ? " " : "", err);
}

static int
live_ok(const char *path, int writable)
{
	return live_db != NULL && strcmp(live_path, path) == 0 &&
	    (live_writable || !writable);
}

/*
 * The store at path with live_rw held shared, or NULL (not held) when it
 * cannot be opened now.  The caller unlocks live_rw after use.
 */
static struct bayes_db *
live_get(const char *path, int writable, const char *sid)
{
	char err[512];
	time_t now;

	pthread_rwlock_rdlock(&live_rw);
	if (live_ok(path, writable))
		return live_db;
	pthread_rwlock_unlock(&live_rw);
	pthread_rwlock_wrlock(&live_rw);
	now = time(NULL);
	if (!live_ok(path, writable) && (now >= live_retry || live_path ==
	    NULL || strcmp(live_path, path) != 0)) {
		bayes_db_close(live_db);
		free(live_path);
		live_path = xstrdup(path);
		live_writable = writable;
		live_db = bayes_db_open(path, writable ? 0 : BAYES_DB_RDONLY,
		    err, sizeof(err));
		if (live_db == NULL) {
			live_retry = now + LIVE_RETRY_SECS;
			live_log_err(sid, err);
		} else {
			pthread_mutex_lock(&live_err_mu);
			live_err[0] = '\0';
			pthread_mutex_unlock(&live_err_mu);
			log_info("bayes: store %s open%s", path, writable ?
			    " for autolearn" : "");
			/* a damaged token index costs speed, not answers:
			 * say so once, naming the file */
			if (bayes_db_index_state(live_db, err, sizeof(err)) ==
			    BAYES_IX_BAD)
				log_warn("bayes: token index: %s; reading the "
				    "counts from LMDB (moatctl bayes reindex "
				    "builds it again)", err);
		}
	}
	pthread_rwlock_unlock(&live_rw);
	pthread_rwlock_rdlock(&live_rw);
	if (live_ok(path, writable))
		return live_db;
	pthread_rwlock_unlock(&live_rw);
	return NULL;
}

/* Where a Redis store is: copied from the config for the learner. */
struct live_rcfg {
	char	*server, *prefix;
	int	 dbn;
	long	 timeout_ms, ttl;
};

static void
live_rcfg_set(struct live_rcfg *r, const struct config *cfg)
{
	r->server = xstrdup(cfg->redis_server);
	r->prefix = xstrdup(cfg->redis_prefix);
	r->dbn = cfg->redis_db;
	r->timeout_ms = cfg->bayes_timeout_ms;
	r->ttl = cfg->bayes_redis_seen_ttl_ms / 1000;
}

static void
live_rcfg_free(struct live_rcfg *r)
{
	free(r->server);
	free(r->prefix);
}

static void
live_err_clear(void)
{
	pthread_mutex_lock(&live_err_mu);
	live_err[0] = '\0';
	pthread_mutex_unlock(&live_err_mu);
}

/* This thread's connection to the Redis store, or NULL for now. */
static struct bayes_db *
live_redis_get(const struct live_rcfg *r, const char *sid)
{
	char err[512], *key;
	time_t now = time(NULL);
	struct live_tl *t = live_tl();

	key = xasprintf("%s/%d/%s/%ld/%ld", r->server, r->dbn, r->prefix,
	    r->timeout_ms, r->ttl);
	if (t->db != NULL && strcmp(t->key, key) == 0) {
		free(key);
		return t->db;
	}
	if (t->key != NULL && strcmp(t->key, key) == 0 && now < t->retry) {
		free(key);
		return NULL;
	}
	bayes_db_close(t->db);
	free(t->key);
	t->key = key;
	t->db = bayes_db_open_redis(r->server, r->dbn, r->prefix,
	    r->timeout_ms, r->ttl, err, sizeof(err));
	if (t->db == NULL) {
		t->retry = now + LIVE_REDIS_RETRY_SECS;
		live_log_err(sid, err);
	}
	return t->db;
}

/* A request on this thread's connection failed: drop it for a while. */
static void
live_redis_fail(const char *sid, const char *err)
{
	struct live_tl *t = live_tl();

	bayes_db_close(t->db);
	t->db = NULL;
	t->retry = time(NULL) + LIVE_REDIS_RETRY_SECS;
	live_log_err(sid, err);
}

static int
live_had_err(void)
{
	int had;

	pthread_mutex_lock(&live_err_mu);
	had = live_err[0] != '\0';
	pthread_mutex_unlock(&live_err_mu);
	return had;
}

void
bayes_live_redis_result(const struct config *cfg, const char *sid,
    const char *err)
{
	if (err != NULL) {
		live_log_err(sid, err);
		return;
	}
	if (live_had_err()) {
		live_err_clear();
		log_info("bayes: store redis %s answers again",
		    cfg->redis_server);
	}
}

static void
live_classify_redis(const struct config *cfg, const struct msg *m,
    const struct bayes_params *bp, const char *sid, int *known, double *p)
{
	struct live_rcfg r;
	struct bayes_db *db;
	char err[512];
	int rc;

	live_rcfg_set(&r, cfg);
	db = live_redis_get(&r, sid);
	live_rcfg_free(&r);
	if (db == NULL)
		return;
	rc = bayes_db_classify(db, bp, m, NULL, p, NULL, err, sizeof(err));
	if (rc < 0) {
		live_redis_fail(sid, err);
		return;
	}
	bayes_live_redis_result(cfg, sid, NULL);
	*known = rc == 1;
}

void
bayes_live_params(const struct config *cfg, struct bayes_params *bp)
{
	bayes_params_default(bp);
	bp->min_spam = (uint64_t)cfg->bayes_min_spam;
	bp->min_ham = (uint64_t)cfg->bayes_min_ham;
}

struct bayes_aredis *
bayes_live_aredis(struct bayes_aredis **slot, struct event_base *base,
    const struct config *cfg)
{
	if (*slot != NULL && !bayes_aredis_is(*slot, cfg->redis_server,
	    cfg->redis_db, cfg->redis_prefix, cfg->bayes_timeout_ms)) {
		bayes_aredis_free(*slot);
		*slot = NULL;
	}
	if (*slot == NULL)
		*slot = bayes_aredis_new(base, cfg->redis_server, cfg->redis_db,
		    cfg->redis_prefix, cfg->bayes_timeout_ms);
	return *slot;
}

void
bayes_live_classify(const struct config *cfg, const struct msg *m,
    const char *sid, int *known, double *p)
{
	struct bayes_params bp;
	struct bayes_db *db;
	char err[512];
	int rc;

	*known = 0;
	*p = 0;
	if (!cfg->bayes)
		return;
	bayes_live_params(cfg, &bp);
	if (cfg->bayes_store == CFG_BAYES_REDIS) {
		live_classify_redis(cfg, m, &bp, sid, known, p);
		return;
	}
	if ((db = live_get(cfg->bayes_path, cfg->bayes_autolearn, sid)) ==
	    NULL)
		return;
	rc = bayes_db_classify(db, &bp, m, NULL, p, NULL, err, sizeof(err));
	pthread_rwlock_unlock(&live_rw);
	if (rc < 0)
		live_log_err(sid, err);
	*known = rc == 1;
}

/* ---- autolearn ------------------------------------------------------- */

struct learn_job {
	char		*raw;
	size_t		 len;
	char		*path;
	int		 redis;		/* bayes_store redis: rcfg, not path */
	struct live_rcfg rcfg;
	enum bayes_class cls;
	double		 score;
	char		 sid[40];
};

static pthread_mutex_t	 lq_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 lq_cv = PTHREAD_COND_INITIALIZER;
static struct learn_job	 lq[BAYES_LIVE_QUEUE_MAX];
static size_t		 lq_head, lq_n;
static int		 lq_started, lq_stop;
static pthread_t	 lq_tid;

static void
learn_job_run(struct learn_job *j)
{
	static const char *const result[] = {
		"learned", "already", "moved", "forgotten", "unknown"
	};
	enum bayes_learned res;
	struct bayes_toks toks;
	struct bayes_db *db;
	struct logline l;
	struct msg *m;
	char err[512];

	if (j->redis)
		db = live_redis_get(&j->rcfg, j->sid);
	else
		db = live_get(j->path, 1, j->sid);
	if (db == NULL)
		return;
	m = msg_parse(j->raw, j->len, NULL);
	memset(&toks, 0, sizeof(toks));
	if (bayes_db_learn_msg(db, m, j->cls, &toks, (int64_t)time(NULL),
	    &res, err, sizeof(err)) != 0) {
		if (!j->redis)
			pthread_rwlock_unlock(&live_rw);
		if (j->redis)
			live_redis_fail(j->sid, err);
		else
			live_log_err(j->sid, err);
	} else {
		if (!j->redis)
			pthread_rwlock_unlock(&live_rw);
		logline_begin(&l, "bayes_autolearn");
		logline_str(&l, "session", j->sid);
		logline_str(&l, "class", j->cls == BAYES_SPAM ? "spam" :
		    "ham");
		logline_dbl(&l, "score", j->score);
		logline_str(&l, "result", result[res]);
		logline_emit(&l);
	}
	bayes_toks_free(&toks);
	msg_free(m);
}

static void *
learner(void *arg)
{
	struct learn_job j;

	(void)arg;
	pthread_mutex_lock(&lq_mu);
	for (;;) {
		while (lq_n == 0 && !lq_stop)
			pthread_cond_wait(&lq_cv, &lq_mu);
		if (lq_n == 0)
			break;
		j = lq[lq_head];
		lq_head = (lq_head + 1) % BAYES_LIVE_QUEUE_MAX;
		lq_n--;
		pthread_mutex_unlock(&lq_mu);
		learn_job_run(&j);
		free(j.raw);
		free(j.path);
		if (j.redis)
			live_rcfg_free(&j.rcfg);
		pthread_mutex_lock(&lq_mu);
	}
	pthread_mutex_unlock(&lq_mu);
	return NULL;
}

void
bayes_live_autolearn(const struct config *cfg, const struct score_card *card,
    const char *raw, size_t len, const char *sid)
{
	struct learn_job *j;
	double score = 0;
	enum bayes_class cls;
	size_t i;

	if (!cfg->bayes || !cfg->bayes_autolearn || len > BAYES_LIVE_LEARN_MAX)
		return;
	/* Bayes must not teach itself: its own rules do not count, as in
	 * SpamAssassin's AutoLearnThreshold */
	for (i = 0; i < card->nhits; i++)
		if (strncmp(card->hits[i].name, "BAYES_", 6) != 0)
			score += card->hits[i].score;
	if (cfg->bayes_autolearn_spam.on &&
	    score >= cfg->bayes_autolearn_spam.v)
		cls = BAYES_SPAM;
	else if (cfg->bayes_autolearn_ham.on &&
	    score < cfg->bayes_autolearn_ham.v)
		cls = BAYES_HAM;
	else
		return;
	pthread_mutex_lock(&lq_mu);
	if (lq_stop || lq_n >= BAYES_LIVE_QUEUE_MAX) {
		pthread_mutex_unlock(&lq_mu);
		log_warn_session(sid, "bayes_autolearn: the learner is "
		    "behind; message not learned");
		return;
	}
	if (!lq_started) {
		if (pthread_create(&lq_tid, NULL, learner, NULL) != 0) {
			pthread_mutex_unlock(&lq_mu);
			log_warn("bayes_autolearn: cannot start the learner: %s",
			    strerror(errno));
			return;
		}
		lq_started = 1;
	}
	j = &lq[(lq_head + lq_n) % BAYES_LIVE_QUEUE_MAX];
	j->raw = xmalloc(len + 1);
	memcpy(j->raw, raw, len);
	j->raw[len] = '\0';
	j->len = len;
	j->path = xstrdup(cfg->bayes_path);
	j->redis = cfg->bayes_store == CFG_BAYES_REDIS;
	if (j->redis)
		live_rcfg_set(&j->rcfg, cfg);
	j->cls = cls;
	j->score = score;
	snprintf(j->sid, sizeof(j->sid), "%s", sid);
	lq_n++;
	pthread_cond_signal(&lq_cv);
	pthread_mutex_unlock(&lq_mu);
}

void
bayes_live_shutdown(void)
{
	pthread_mutex_lock(&lq_mu);
	lq_stop = 1;
	pthread_cond_signal(&lq_cv);
	pthread_mutex_unlock(&lq_mu);
	if (lq_started)
		pthread_join(lq_tid, NULL);
	pthread_once(&live_tl_once, live_tl_init);
	live_tl_free(pthread_getspecific(live_tl_key));
	(void)pthread_setspecific(live_tl_key, NULL);
	pthread_rwlock_wrlock(&live_rw);
	bayes_db_close(live_db);
	live_db = NULL;
	free(live_path);
	live_path = NULL;
	pthread_rwlock_unlock(&live_rw);
}
