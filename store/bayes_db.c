/*
 * bayes_db.c: the embedded Bayes store over LMDB (bayes_db.h).
 *
 * Why LMDB: reads are a memory-mapped B-tree walk with no system call and
 * no lock taken against the writer, so moatd can read the counts of a few
 * thousand tokens at end of DATA in well under a millisecond on its event
 * loop (doc/rules.md says why that is acceptable), while `moatctl learn`
 * writes in another process; a crash never leaves a half-written tree.
 *
 * Layout (one environment, three named databases):
 *   tokens  token hash (MDB_INTEGERKEY: a native size_t, so the B-tree
 *           compares integers, not bytes) -> spam u32, ham u32, atime u32
 *           (little-endian; a token whose counts both fall to 0 is deleted)
 *   seen    16-byte message digest -> class u8, learned-at i64
 *   meta    "nspam", "nham", "last" -> u64 LE; "version" -> u32 LE (1);
 *           "gen" -> u64 LE, +1 at every commit that changes anything
 *           (absent, i.e. 0, in stores no such writer touched yet)
 *
 * Invariants: totals and token counts change in the same transaction; a
 * message id is in seen exactly when its tokens are counted in its class.
 * The map size is fixed (BAYES_DB_MAPSIZE) for readers and writer alike,
 * so a reader never meets MDB_MAP_RESIZED.  It does not expire tokens.
 * Reads go through one cursor in ascending key order (bayes_tokenize()
 * sorts): LMDB then finds most keys on the leaf page it is already on
 * instead of walking down from the root each time.
 *
 * Token cache: a lookup that misses the CPU caches costs about 0.9 us (a
 * binary search over a leaf page nobody touched lately: one dependent
 * memory load per probe), and a message has ~550 tokens, but the common
 * ones (header names, relays, frequent words) recur message after
 * message.  Each thread keeps a small direct-mapped table of the counts it
 * read, valid for one committed state only: it is tagged with the store's
 * identity (a serial per bayes_db_open) and the state's name (the read
 * transaction's id, and meta "gen" and the totals read inside it: the id
 * alone is not enough, bayes_idx.h says why), and emptied when any
 * differs, so a learner's commit is seen at once and the counts are
 * exactly those a fresh read would give.  Per thread because a struct
 * bayes_db is shared by readers; no lock.
 *
 * Token index (bayes_idx.c): where tokens.idx mirrors the committed state
 * a read transaction sees, the counts come from it instead (one memory
 * miss per token, prefetched), and LMDB with the cache above is the path
 * when it does not.  Writers keep it in step: every learn, forget or
 * restore records the counts it leaves on each token it touches; commit
 * clears the index's stamp, commits LMDB, applies the record in place and
 * stamps the new transaction id, or, when the index was not current for
 * the state the batch began from (none yet, a writer died half way, a
 * foreign writer) or would pass its load bound, builds it again from a
 * walk of the committed tokens.  Writers serialize on flock(data.mdb)
 * around the whole write transaction and the index update, since LMDB's
 * own write lock ends at commit, before the update.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bayes_db.h"
#include "bayes_idx.h"
#include "bayes_redis.h"
#include "bayes_tok.h"
#include "clock.h"
#include "xmalloc.h"

#define BAYES_DB_VERSION	2

/* MDB_INTEGERKEY keys are size_t: the token hash must fit. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "64-bit size_t");

struct bayes_db {
	MDB_env		*env;
	MDB_dbi		 tokens, seen, meta;
	MDB_txn		*wtxn;		/* open write batch, or NULL */
	int		 rdonly;
	char		*dir;
	struct bayes_redis *rd;		/* bayes_store redis: all goes there */
	uint64_t	 serial;	/* this open, for the token cache */

	/* token index: the mapping readers and the writer share */
	pthread_rwlock_t ixlock;	/* readers of ix vs. replacing it */
	struct bayes_idx *ix;		/* NULL: none (yet) or unusable */
	int64_t		 ix_next;	/* atomic: no open attempt before */
	char		 ix_err[256];	/* why ix is NULL ("" if missing) */
	int64_t		 rebuild_next;	/* after a failed build: wait */
	uint64_t	 nread_ix, nread_lmdb;	/* atomic: reads answered */

	/* write batch */
	int		 lockfd;	/* data.mdb, flock()ed by writers */
	struct bayes_idx_ent *log;	/* counts the batch left, in order */
	size_t		 nlog, caplog;
	int		 dirty;		/* the batch changed something */
	struct bayes_idx_id wbase;	/* the state it began from */
};

/* A store without an index looks for one this often (moatctl reindex). */
#define IX_RETRY_MS		1000
/* After a build failed (disk full...), writers try again this late. */
#define IX_REBUILD_RETRY_MS	60000

/* Token cache slots per thread (power of 2): 1 MiB, within L2/L3. */
#define TCACHE_SLOTS	(1u << 16)

struct tcache_slot {
	uint64_t	 tok;		/* 0: empty (tokens are never 0) */
	uint32_t	 spam, ham;
};

struct tcache {
	uint64_t	 serial;	/* bayes_db serial the slots belong to */
	struct bayes_idx_id state;	/* and its committed state */
	struct tcache_slot *slot;
	/* bayes_db_classify()'s scratch when the caller gives none: no
	 * 100 KiB allocated, zeroed and freed per message */
	struct bayes_toks toks;
	struct bayes_counts *cnt;	/* BAYES_TOK_MAX + 1 */
};

static atomic_uint_fast64_t	 db_serial;
static pthread_key_t		 tcache_key;
static pthread_once_t		 tcache_once = PTHREAD_ONCE_INIT;

static void
tcache_free(void *p)
{
	struct tcache *tc = p;

	free(tc->slot);
	bayes_toks_free(&tc->toks);
	free(tc->cnt);
	free(tc);
}

static void
tcache_init(void)
{
	if (pthread_key_create(&tcache_key, tcache_free) != 0)
		tcache_key = (pthread_key_t)-1;
}

/* This thread's cache and scratch, created on first use; NULL if none. */
static struct tcache *
tcache_thread(void)
{
	struct tcache *tc;

	pthread_once(&tcache_once, tcache_init);
	if (tcache_key == (pthread_key_t)-1)
		return NULL;
	if ((tc = pthread_getspecific(tcache_key)) != NULL)
		return tc;
	tc = xcalloc(1, sizeof(*tc));
	tc->slot = xcalloc(TCACHE_SLOTS, sizeof(*tc->slot));
	tc->cnt = xcalloc(BAYES_TOK_MAX + 1, sizeof(*tc->cnt));
	if (pthread_setspecific(tcache_key, tc) != 0) {
		tcache_free(tc);
		return NULL;
	}
	return tc;
}

/*
 * This thread's cache for db's state st, emptied if it held another.  The
 * transaction id alone would not do (bayes_idx.h: a reader racing two
 * commits gets the id of one state and the data of a later one).
 */
static struct tcache *
tcache_get(const struct bayes_db *db, const struct bayes_idx_id *st)
{
	struct tcache *tc;

	if ((tc = tcache_thread()) == NULL)
		return NULL;
	if (tc->serial == db->serial && tc->state.txnid == st->txnid &&
	    tc->state.gen == st->gen && tc->state.nspam == st->nspam &&
	    tc->state.nham == st->nham && tc->state.ntokens == st->ntokens &&
	    tc->state.last_learn == st->last_learn)
		return tc;
	memset(tc->slot, 0, TCACHE_SLOTS * sizeof(*tc->slot));
	tc->serial = db->serial;
	tc->state = *st;
	return tc;
}

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t
get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}


static int
fail(const struct bayes_db *db, int rc, const char *what, char *err,
    size_t errsz)
{
	snprintf(err, errsz, "%s/data.mdb: %s: %s", db->dir, what,
	    mdb_strerror(rc));
	return -1;
}

static void	totals(struct bayes_db *, MDB_txn *, struct bayes_totals *);
static uint64_t	meta_u64(MDB_txn *, MDB_dbi, const char *);
static int	meta_put(MDB_txn *, MDB_dbi, const char *, uint64_t);

/* The state txn sees, as the token index names it. */
static void
state_id(struct bayes_db *db, MDB_txn *txn, struct bayes_totals *tot,
    struct bayes_idx_id *id)
{
	totals(db, txn, tot);
	id->txnid = mdb_txn_id(txn);
	id->gen = meta_u64(txn, db->meta, "gen");
	id->nspam = tot->nspam;
	id->nham = tot->nham;
	id->ntokens = tot->ntokens;
	id->last_learn = tot->last_learn;
}

/*
 * Map tokens.idx again: at open (force), when a writer replaced it, or
 * when there was none and IX_RETRY_MS passed.  Takes ixlock exclusively;
 * the caller holds no lock on it.
 */
static void
ix_reopen(struct bayes_db *db, int force)
{
	struct bayes_idx *nix, *old = NULL;
	char err[256];
	int64_t now = clock_mono_ms();
	int missing;

	pthread_rwlock_wrlock(&db->ixlock);
	if (!force && (db->ix != NULL ? !bayes_idx_superseded(db->ix) :
	    now < __atomic_load_n(&db->ix_next, __ATOMIC_RELAXED))) {
		pthread_rwlock_unlock(&db->ixlock);
		return;		/* another thread was first */
	}
	nix = bayes_idx_open(db->dir, !db->rdonly, &missing, err, sizeof(err));
	old = db->ix;
	db->ix = nix;
	if (nix == NULL) {
		__atomic_store_n(&db->ix_next, now + IX_RETRY_MS,
		    __ATOMIC_RELAXED);
		snprintf(db->ix_err, sizeof(db->ix_err), "%s", missing ? "" :
		    err);
	} else
		db->ix_err[0] = '\0';
	pthread_rwlock_unlock(&db->ixlock);
	bayes_idx_close(old);
}

/* Answer tok[0..n) from the token index if it mirrors id; 1 if it did. */
static int
ix_read(struct bayes_db *db, const struct bayes_idx_id *id,
    const uint64_t *tok, size_t n, struct bayes_counts *out)
{
	int ok = 0, again;

	pthread_rwlock_rdlock(&db->ixlock);
	again = db->ix == NULL ? clock_mono_ms() >=
	    __atomic_load_n(&db->ix_next, __ATOMIC_RELAXED) :
	    bayes_idx_superseded(db->ix);
	if (again) {
		pthread_rwlock_unlock(&db->ixlock);
		ix_reopen(db, 0);
		pthread_rwlock_rdlock(&db->ixlock);
	}
	if (db->ix != NULL)
		ok = bayes_idx_read(db->ix, id, tok, n, out);
	pthread_rwlock_unlock(&db->ixlock);
	return ok;
}

/*
 * Build tokens.idx again from the committed tokens, the caller holding the
 * writers' flock; on failure ix_err says why and readers keep reading
 * LMDB.  Returns 0 or -1 with err.
 */
static int
ix_rebuild(struct bayes_db *db, char *err, size_t errsz)
{
	struct bayes_idx_build *b = NULL;
	struct bayes_idx *nix = NULL, *old;
	struct bayes_totals tot;
	struct bayes_idx_id id;
	MDB_cursor *c = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	struct stat sb;
	char *file = xasprintf("%s/data.mdb", db->dir);
	int rc;

	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		fail(db, rc, "index", err, errsz);
		goto done;
	}
	state_id(db, txn, &tot, &id);
	if (stat(file, &sb) != 0)
		sb.st_uid = (uid_t)-1;
	if ((b = bayes_idx_build_begin(db->dir, tot.ntokens, sb.st_uid ==
	    (uid_t)-1 ? -1 : (long)sb.st_uid, (long)sb.st_gid, err,
	    errsz)) == NULL)
		goto done;
	if ((rc = mdb_cursor_open(txn, db->tokens, &c)) != 0) {
		fail(db, rc, "index", err, errsz);
		goto done;
	}
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		size_t key;

		if (k.mv_size != sizeof(key) || v.mv_size < 8)
			continue;
		memcpy(&key, k.mv_data, sizeof(key));
		if (bayes_idx_build_add(b, key, get_u32(v.mv_data),
		    get_u32((unsigned char *)v.mv_data + 4), err, errsz) != 0)
			break;
	}
	if (rc == 0)		/* bayes_idx_build_add() said no */
		goto done;
	if (rc != MDB_NOTFOUND) {
		fail(db, rc, "index", err, errsz);
		goto done;
	}
	nix = bayes_idx_build_finish(b, &id, err, errsz);
	b = NULL;
done:
	if (c)
		mdb_cursor_close(c);
	if (txn)
		mdb_txn_abort(txn);
	bayes_idx_build_abort(b);
	free(file);
	pthread_rwlock_wrlock(&db->ixlock);
	if (nix != NULL) {
		old = db->ix;
		db->ix = nix;
		db->ix_err[0] = '\0';
		db->rebuild_next = 0;
	} else {
		old = NULL;
		snprintf(db->ix_err, sizeof(db->ix_err), "%s", err);
		db->rebuild_next = clock_mono_ms() + IX_REBUILD_RETRY_MS;
	}
	pthread_rwlock_unlock(&db->ixlock);
	bayes_idx_close(old);
	return nix != NULL ? 0 : -1;
}

/* The writers' lock, held from bayes_db_begin() to the index update. */
static int
wlock(struct bayes_db *db, char *err, size_t errsz)
{
	if (db->lockfd < 0) {
		char *file = xasprintf("%s/data.mdb", db->dir);

		db->lockfd = open(file, O_RDONLY | O_CLOEXEC);
		if (db->lockfd < 0)
			snprintf(err, errsz, "%s: %s", file, strerror(errno));
		free(file);
		if (db->lockfd < 0)
			return -1;
	}
	while (flock(db->lockfd, LOCK_EX) != 0)
		if (errno != EINTR) {
			snprintf(err, errsz, "%s/data.mdb: flock: %s", db->dir,
			    strerror(errno));
			return -1;
		}
	return 0;
}

static void
wunlock(struct bayes_db *db)
{
	(void)flock(db->lockfd, LOCK_UN);
}

/* Give up the write batch: LMDB, the record, the lock. */
static void
wtxn_abort(struct bayes_db *db)
{
	mdb_txn_abort(db->wtxn);
	db->wtxn = NULL;
	db->nlog = 0;
	wunlock(db);
}

/* Record the counts a write left on tok, for the index. */
static void
log_add(struct bayes_db *db, uint64_t tok, uint32_t spam, uint32_t ham)
{
	if (db->nlog == db->caplog) {
		db->caplog = db->caplog ? db->caplog * 2 : 4096;
		db->log = xreallocarray(db->log, db->caplog,
		    sizeof(*db->log));
	}
	db->log[db->nlog].tok = tok;
	db->log[db->nlog].spam = spam;
	db->log[db->nlog].ham = ham;
	db->nlog++;
}

/* The index is current and may be updated in place for db->wbase. */
static int
ix_current(struct bayes_db *db)
{
	return db->ix != NULL && bayes_idx_matches(db->ix, &db->wbase);
}

const char *
bayes_db_path(const struct bayes_db *db)
{
	return db->dir;
}

struct bayes_db *
bayes_db_open_redis(const char *server, int dbn, const char *prefix,
    long timeout_ms, long ttl, char *err, size_t errsz)
{
	struct bayes_db *db;
	struct bayes_redis *rd;

	if ((rd = bayes_redis_open(server, dbn, prefix, timeout_ms, ttl, err,
	    errsz)) == NULL)
		return NULL;
	db = xcalloc(1, sizeof(*db));
	db->rd = rd;
	db->dir = xasprintf("redis %s", server);
	return db;
}

/* What the Redis store cannot do (dump, restore): say so, naming it. */
static int
no_redis(const struct bayes_db *db, const char *what, char *err,
    size_t errsz)
{
	snprintf(err, errsz, "%s: %s is for the lmdb store only", db->dir,
	    what);
	return -1;
}

static int
open_dbis(struct bayes_db *db, char *err, size_t errsz)
{
	MDB_txn *txn;
	unsigned f = db->rdonly ? 0 : MDB_CREATE;
	unsigned char vb[4];
	MDB_val k = { 7, (void *)"version" }, v;
	int rc;

	if ((rc = mdb_txn_begin(db->env, NULL, db->rdonly ? MDB_RDONLY : 0,
	    &txn)) != 0)
		return fail(db, rc, "begin", err, errsz);
	if ((rc = mdb_dbi_open(txn, "tokens", f | MDB_INTEGERKEY,
	    &db->tokens)) != 0 ||
	    (rc = mdb_dbi_open(txn, "seen", f, &db->seen)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", f, &db->meta)) != 0) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
			snprintf(err, errsz, "%s/data.mdb: not a moat Bayes "
			    "database (learn into it with moatctl learn)",
			    db->dir);
			return -1;
		}
		return fail(db, rc, "open", err, errsz);
	}
	rc = mdb_get(txn, db->meta, &k, &v);
	if (rc == MDB_NOTFOUND && !db->rdonly) {
		put_u32(vb, BAYES_DB_VERSION);
		v.mv_size = 4;
		v.mv_data = vb;
		rc = mdb_put(txn, db->meta, &k, &v, 0);
	} else if (rc == 0 && (v.mv_size != 4 ||
	    get_u32(v.mv_data) != BAYES_DB_VERSION)) {
		mdb_txn_abort(txn);
		snprintf(err, errsz, "%s/data.mdb: Bayes database version "
		    "not understood", db->dir);
		return -1;
	} else if (rc == MDB_NOTFOUND)
		rc = 0;		/* read only and empty: nothing learned */
	if (rc != 0) {
		mdb_txn_abort(txn);
		return fail(db, rc, "version", err, errsz);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(db, rc, "commit", err, errsz);
	return 0;
}

struct bayes_db *
bayes_db_open(const char *dir, int flags, char *err, size_t errsz)
{
	struct bayes_db *db = xcalloc(1, sizeof(*db));
	char *file = xasprintf("%s/data.mdb", dir);
	struct stat sb;
	int rc;

	db->dir = xstrdup(dir);
	db->serial = atomic_fetch_add(&db_serial, 1) + 1;
	db->lockfd = -1;
	pthread_rwlock_init(&db->ixlock, NULL);
	db->rdonly = (flags & BAYES_DB_RDONLY) != 0;
	if (!db->rdonly && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "%s: cannot create: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (stat(file, &sb) != 0 && (db->rdonly || errno != ENOENT)) {
		snprintf(err, errsz, "%s: %s%s", file, strerror(errno),
		    errno == ENOENT ? " (nothing learned yet: moatctl learn "
		    "creates it)" : "");
		goto fail;
	}
	if ((rc = mdb_env_create(&db->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(db->env, 4)) != 0 ||
	    (rc = mdb_env_set_mapsize(db->env, BAYES_DB_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(db->env, dir, MDB_NOTLS | (db->rdonly ?
	    MDB_RDONLY : 0), 0640)) != 0) {
		/* LMDB's text for a bad file is "Invalid argument" at
		 * best; say what it means */
		snprintf(err, errsz, "%s: %s%s", file, rc == MDB_INVALID ?
		    "not an LMDB file (corrupt?)" : rc == MDB_VERSION_MISMATCH ?
		    "written by another LMDB version" : mdb_strerror(rc),
		    rc == EACCES ? " (readers too must be able to write "
		    "lock.mdb beside it: give the directory to the user that "
		    "reads it)" : "");
		goto fail;
	}
	if (open_dbis(db, err, errsz) != 0)
		goto fail;
	ix_reopen(db, 1);
	free(file);
	return db;
fail:
	free(file);
	bayes_db_close(db);
	return NULL;
}

void
bayes_db_close(struct bayes_db *db)
{
	if (db == NULL)
		return;
	bayes_redis_close(db->rd);
	if (db->wtxn)
		wtxn_abort(db);
	if (db->env)
		mdb_env_close(db->env);
	if (db->rd == NULL) {
		if (db->lockfd >= 0)
			close(db->lockfd);
		pthread_rwlock_destroy(&db->ixlock);
		bayes_idx_close(db->ix);
	}
	free(db->log);
	free(db->dir);
	free(db);
}

static uint64_t
meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key)
{
	MDB_val k = { strlen(key), (void *)key }, v;

	if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != 8)
		return 0;
	return get_u64(v.mv_data);
}

static int
meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t val)
{
	unsigned char b[8];
	MDB_val k = { strlen(key), (void *)key }, v = { 8, b };

	put_u64(b, val);
	return mdb_put(txn, dbi, &k, &v, 0);
}

static void
totals(struct bayes_db *db, MDB_txn *txn, struct bayes_totals *tot)
{
	MDB_stat st;

	tot->nspam = meta_u64(txn, db->meta, "nspam");
	tot->nham = meta_u64(txn, db->meta, "nham");
	tot->last_learn = (int64_t)meta_u64(txn, db->meta, "last");
	tot->ntokens = mdb_stat(txn, db->tokens, &st) == 0 ? st.ms_entries : 0;
}

int
bayes_db_read(struct bayes_db *db, const uint64_t *tok, size_t n,
    struct bayes_counts *out, struct bayes_totals *tot, char *err,
    size_t errsz)
{
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	struct tcache *tc;
	struct tcache_slot *sl;
	struct bayes_idx_id id;
	size_t key;
	MDB_val k = { sizeof(key), &key }, v;
	size_t i;
	int rc;

	if (db->rd)
		return bayes_redis_read(db->rd, tok, n, out, tot, NULL, err,
		    errsz);
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(db, rc, "read", err, errsz);
	state_id(db, txn, tot, &id);
	if (ix_read(db, &id, tok, n, out)) {
		mdb_txn_abort(txn);
		__atomic_add_fetch(&db->nread_ix, 1, __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_add_fetch(&db->nread_lmdb, 1, __ATOMIC_RELAXED);
	tc = tcache_get(db, &id);
	for (i = 0; i < n; i++) {
		/* the hash's middle bits pick the slot: the low ones also
		 * pick neighbours in the sorted order */
		sl = tc ? &tc->slot[(tok[i] >> 24) & (TCACHE_SLOTS - 1)] :
		    NULL;
		if (sl && sl->tok == tok[i] && tok[i] != 0) {
			out[i].spam = sl->spam;
			out[i].ham = sl->ham;
			continue;
		}
		if (c == NULL && (rc = mdb_cursor_open(txn, db->tokens,
		    &c)) != 0) {
			mdb_txn_abort(txn);
			return fail(db, rc, "read", err, errsz);
		}
		key = (size_t)tok[i];
		k.mv_size = sizeof(key);
		k.mv_data = &key;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET);
		if (rc == 0 && v.mv_size >= 8) {
			out[i].spam = get_u32(v.mv_data);
			out[i].ham = get_u32((unsigned char *)v.mv_data + 4);
		} else if (rc == 0 || rc == MDB_NOTFOUND)
			out[i].spam = out[i].ham = 0;
		else {
			mdb_cursor_close(c);
			mdb_txn_abort(txn);
			return fail(db, rc, "read", err, errsz);
		}
		if (sl) {
			sl->tok = tok[i];
			sl->spam = out[i].spam;
			sl->ham = out[i].ham;
		}
	}
	if (c)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return 0;
}

int
bayes_db_begin(struct bayes_db *db, char *err, size_t errsz)
{
	struct bayes_totals tot;
	int rc;

	if (db->rdonly) {
		snprintf(err, errsz, "%s: opened read only", db->dir);
		return -1;
	}
	if (db->wtxn || db->rd)		/* Redis: each learn is atomic */
		return 0;
	if (wlock(db, err, errsz) != 0)
		return -1;
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &db->wtxn)) != 0) {
		db->wtxn = NULL;
		wunlock(db);
		return fail(db, rc, "begin", err, errsz);
	}
	db->nlog = 0;
	db->dirty = 0;
	/* the committed state this batch starts from: a write transaction's
	 * id is the last committed one's plus one */
	state_id(db, db->wtxn, &tot, &db->wbase);
	db->wbase.txnid--;
	return 0;
}

/*
 * Bring the token index to the state just committed (next), the writers'
 * flock held: in place when it mirrored the batch's starting state and
 * was cleared (cur), else built again.  A failure is not the commit's:
 * it is kept for bayes_db_index_state() and readers keep reading LMDB.
 */
static void
ix_update(struct bayes_db *db, int cur, const struct bayes_idx_id *next)
{
	char err[256];
	int ok = 0;

	if (cur) {
		pthread_rwlock_rdlock(&db->ixlock);
		ok = db->ix != NULL && bayes_idx_apply(db->ix, db->log,
		    db->nlog) == 0 && bayes_idx_publish(db->ix, next, err,
		    sizeof(err)) == 0;
		pthread_rwlock_unlock(&db->ixlock);
	} else {
		pthread_rwlock_rdlock(&db->ixlock);
		ok = db->ix != NULL && bayes_idx_matches(db->ix, next);
		pthread_rwlock_unlock(&db->ixlock);
	}
	/* after a failed build, not again at every commit (an autolearn
	 * per message) but once a minute */
	if (!ok && clock_mono_ms() >= db->rebuild_next)
		(void)ix_rebuild(db, err, sizeof(err));
}

int
bayes_db_commit(struct bayes_db *db, char *err, size_t errsz)
{
	struct bayes_totals tot;
	struct bayes_idx_id next;
	int rc, cur = 0;

	if (db->wtxn == NULL)
		return 0;
	/* the mapping the in-place update writes: the file now named
	 * tokens.idx (no other writer can replace it while we hold flock) */
	ix_reopen(db, db->ix == NULL || bayes_idx_superseded(db->ix));
	/* the state's name inside the snapshot itself (bayes_idx.h) */
	if (db->dirty && (rc = meta_put(db->wtxn, db->meta, "gen",
	    db->wbase.gen + 1)) != 0) {
		wtxn_abort(db);
		return fail(db, rc, "commit", err, errsz);
	}
	if (db->dirty) {
		state_id(db, db->wtxn, &tot, &next);
		pthread_rwlock_rdlock(&db->ixlock);
		if ((cur = ix_current(db)) != 0)
			bayes_idx_unstamp(db->ix);
		pthread_rwlock_unlock(&db->ixlock);
	} else
		next = db->wbase;	/* LMDB commits nothing new */
	rc = mdb_txn_commit(db->wtxn);
	db->wtxn = NULL;
	if (rc != 0) {
		if (cur) {
			pthread_rwlock_rdlock(&db->ixlock);
			bayes_idx_restamp(db->ix, &db->wbase);
			pthread_rwlock_unlock(&db->ixlock);
		}
		db->nlog = 0;
		wunlock(db);
		return fail(db, rc, "commit", err, errsz);
	}
	ix_update(db, cur, &next);
	db->nlog = 0;
	wunlock(db);
	return 0;
}

int
bayes_db_reindex(struct bayes_db *db, char *err, size_t errsz)
{
	int rc;

	if (db->rd)
		return no_redis(db, "reindex", err, errsz);
	if (db->rdonly || db->wtxn) {
		snprintf(err, errsz, "%s: %s", db->dir, db->rdonly ?
		    "opened read only" : "a write batch is open");
		return -1;
	}
	if (wlock(db, err, errsz) != 0)
		return -1;
	rc = ix_rebuild(db, err, errsz);
	wunlock(db);
	return rc;
}

void
bayes_db_read_stats(const struct bayes_db *db, uint64_t *from_index,
    uint64_t *from_lmdb)
{
	*from_index = __atomic_load_n(&db->nread_ix, __ATOMIC_RELAXED);
	*from_lmdb = __atomic_load_n(&db->nread_lmdb, __ATOMIC_RELAXED);
}

enum bayes_ixstate
bayes_db_index_state(struct bayes_db *db, char *msg, size_t msz)
{
	struct bayes_totals tot;
	struct bayes_idx_id id, ixid;
	uint64_t nslots, nused;
	enum bayes_ixstate st;
	MDB_txn *txn;
	int rc;

	if (db->rd) {
		snprintf(msg, msz, "none (a Redis store)");
		return BAYES_IX_NONE;
	}
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(msg, msz, "%s/data.mdb: %s", db->dir,
		    mdb_strerror(rc));
		return BAYES_IX_BAD;
	}
	state_id(db, txn, &tot, &id);
	mdb_txn_abort(txn);
	ix_reopen(db, 1);
	pthread_rwlock_rdlock(&db->ixlock);
	if (db->ix == NULL) {
		st = db->ix_err[0] ? BAYES_IX_BAD : BAYES_IX_NONE;
		snprintf(msg, msz, "%s", st == BAYES_IX_BAD ? db->ix_err :
		    "none (moatctl bayes reindex builds it)");
	} else {
		bayes_idx_info(db->ix, &ixid, &nslots, &nused);
		st = bayes_idx_matches(db->ix, &id) ? BAYES_IX_CURRENT :
		    BAYES_IX_STALE;
		snprintf(msg, msz, "%s (%s/%s: %" PRIu64 " slots, %" PRIu64
		    " used, stamp %" PRIu64 ", store at %" PRIu64 ")%s",
		    st == BAYES_IX_CURRENT ? "current" : "stale", db->dir,
		    BAYES_IDX_FILE, nslots, nused, ixid.txnid, id.txnid,
		    st == BAYES_IX_CURRENT ? "" : ": reads use LMDB until the "
		    "next learn or moatctl bayes reindex");
	}
	pthread_rwlock_unlock(&db->ixlock);
	return st;
}

/* Add ds spam and dh ham (either may be negative) to every token. */
static int
bump(struct bayes_db *db, const uint64_t *tok, size_t n, int ds, int dh,
    uint32_t now)
{
	unsigned char vb[12];
	size_t key;
	MDB_val k = { sizeof(key), &key }, v;
	size_t i;
	int rc = 0;

	/* plain get/put/del: a cursor reused after mdb_cursor_del() is
	 * where LMDB has had its bugs, and it is no faster here */
	for (i = 0; i < n; i++) {
		int64_t s = 0, h = 0;
		uint32_t at = now;

		key = (size_t)tok[i];
		rc = mdb_get(db->wtxn, db->tokens, &k, &v);
		if (rc == 0 && v.mv_size >= 12) {
			s = get_u32(v.mv_data);
			h = get_u32((unsigned char *)v.mv_data + 4);
			if (ds < 0 || dh < 0)
				at = get_u32((unsigned char *)v.mv_data + 8);
		} else if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		s += ds;
		h += dh;
		s = s < 0 ? 0 : s > UINT32_MAX ? UINT32_MAX : s;
		h = h < 0 ? 0 : h > UINT32_MAX ? UINT32_MAX : h;
		log_add(db, tok[i], (uint32_t)s, (uint32_t)h);
		if (s == 0 && h == 0) {
			rc = rc == 0 ? mdb_del(db->wtxn, db->tokens, &k, NULL) :
			    0;
			if (rc != 0)
				break;
			continue;
		}
		put_u32(vb, (uint32_t)s);
		put_u32(vb + 4, (uint32_t)h);
		put_u32(vb + 8, at);
		v.mv_size = 12;
		v.mv_data = vb;
		if ((rc = mdb_put(db->wtxn, db->tokens, &k, &v, 0)) != 0)
			break;
	}
	return rc;
}

static int
learn_txn(struct bayes_db *db, const uint8_t id[16], enum bayes_class cls,
    const uint64_t *tok, size_t n, int64_t now, enum bayes_learned *res)
{
	MDB_val k = { 16, (void *)id }, v;
	unsigned char sb[9];
	int rc, old = 0, ds = 0, dh = 0;
	uint64_t nspam, nham;

	rc = mdb_get(db->wtxn, db->seen, &k, &v);
	if (rc == 0 && v.mv_size >= 1)
		old = ((const unsigned char *)v.mv_data)[0];
	else if (rc != MDB_NOTFOUND)
		return rc;
	if (old == (int)cls && cls != BAYES_FORGET) {
		*res = BAYES_L_ALREADY;
		return 0;
	}
	if (old == 0 && cls == BAYES_FORGET) {
		*res = BAYES_L_UNKNOWN;
		return 0;
	}
	db->dirty = 1;
	nspam = meta_u64(db->wtxn, db->meta, "nspam");
	nham = meta_u64(db->wtxn, db->meta, "nham");
	if (old == BAYES_SPAM) {
		ds--;
		nspam -= nspam > 0;
	} else if (old == BAYES_HAM) {
		dh--;
		nham -= nham > 0;
	}
	if (cls == BAYES_SPAM) {
		ds++;
		nspam++;
	} else if (cls == BAYES_HAM) {
		dh++;
		nham++;
	}
	if ((ds != 0 || dh != 0) &&
	    (rc = bump(db, tok, n, ds, dh, (uint32_t)now)) != 0)
		return rc;
	if (cls == BAYES_FORGET)
		rc = mdb_del(db->wtxn, db->seen, &k, NULL);
	else {
		sb[0] = (unsigned char)cls;
		put_u64(sb + 1, (uint64_t)now);
		v.mv_size = 9;
		v.mv_data = sb;
		rc = mdb_put(db->wtxn, db->seen, &k, &v, 0);
	}
	if (rc == 0)
		rc = meta_put(db->wtxn, db->meta, "nspam", nspam);
	if (rc == 0)
		rc = meta_put(db->wtxn, db->meta, "nham", nham);
	if (rc == 0)
		rc = meta_put(db->wtxn, db->meta, "last", (uint64_t)now);
	*res = cls == BAYES_FORGET ? BAYES_L_FORGOTTEN : old ? BAYES_L_MOVED :
	    BAYES_L_LEARNED;
	return rc;
}

int
bayes_db_learn(struct bayes_db *db, const uint8_t id[16],
    enum bayes_class cls, const uint64_t *tok, size_t n, int64_t now,
    enum bayes_learned *res, char *err, size_t errsz)
{
	int own = db->wtxn == NULL, rc;

	if (db->rd)
		return bayes_redis_learn(db->rd, id, cls, tok, n, now, res,
		    err, errsz);
	if (own && bayes_db_begin(db, err, errsz) != 0)
		return -1;
	if ((rc = learn_txn(db, id, cls, tok, n, now, res)) != 0) {
		wtxn_abort(db);
		return fail(db, rc, rc == MDB_MAP_FULL ? "learn (database "
		    "full)" : "learn", err, errsz);
	}
	return own ? bayes_db_commit(db, err, errsz) : 0;
}

int
bayes_db_walk(struct bayes_db *db, bayes_db_walk_fn *fn, void *arg,
    struct bayes_totals *tot, char *err, size_t errsz)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (db->rd)
		return fn ? no_redis(db, "dump", err, errsz) :
		    bayes_redis_read(db->rd, NULL, 0, NULL, tot, NULL, err,
		    errsz);
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(db, rc, "read", err, errsz);
	totals(db, txn, tot);
	if (fn == NULL) {
		mdb_txn_abort(txn);
		return 0;
	}
	if ((rc = mdb_cursor_open(txn, db->tokens, &c)) != 0) {
		mdb_txn_abort(txn);
		return fail(db, rc, "cursor", err, errsz);
	}
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		const unsigned char *vp = v.mv_data;
		struct bayes_counts bc;
		size_t key;
		uint64_t tok;

		if (k.mv_size != sizeof(key) || v.mv_size < 12)
			continue;
		memcpy(&key, k.mv_data, sizeof(key));
		tok = key;
		bc.spam = get_u32(vp);
		bc.ham = get_u32(vp + 4);
		if (fn(arg, tok, &bc, get_u32(vp + 8)) != 0)
			break;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(db, rc, "walk", err, errsz);
	return 0;
}

int
bayes_db_put_token(struct bayes_db *db, uint64_t tok,
    const struct bayes_counts *c, uint32_t atime, char *err, size_t errsz)
{
	unsigned char vb[12];
	size_t key = (size_t)tok;
	MDB_val k = { sizeof(key), &key }, v = { 12, vb };
	int rc;

	if (db->rd)
		return no_redis(db, "restore", err, errsz);
	if (db->wtxn == NULL) {
		snprintf(err, errsz, "%s: no write batch", db->dir);
		return -1;
	}
	put_u32(vb, c->spam);
	put_u32(vb + 4, c->ham);
	put_u32(vb + 8, atime);
	if ((rc = mdb_put(db->wtxn, db->tokens, &k, &v, 0)) != 0)
		return fail(db, rc, "restore", err, errsz);
	db->dirty = 1;
	log_add(db, tok, c->spam, c->ham);
	return 0;
}

int
bayes_db_put_totals(struct bayes_db *db, const struct bayes_totals *t,
    char *err, size_t errsz)
{
	int rc;

	if (db->rd)
		return no_redis(db, "restore", err, errsz);
	if (db->wtxn == NULL) {
		snprintf(err, errsz, "%s: no write batch", db->dir);
		return -1;
	}
	if ((rc = meta_put(db->wtxn, db->meta, "nspam", t->nspam)) != 0 ||
	    (rc = meta_put(db->wtxn, db->meta, "nham", t->nham)) != 0 ||
	    (rc = meta_put(db->wtxn, db->meta, "last",
	    (uint64_t)t->last_learn)) != 0)
		return fail(db, rc, "restore", err, errsz);
	db->dirty = 1;
	return 0;
}

int
bayes_db_seen_count(struct bayes_db *db, uint64_t *n, char *err,
    size_t errsz)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if (db->rd) {
		struct bayes_totals tot;

		return bayes_redis_read(db->rd, NULL, 0, NULL, &tot, n, err,
		    errsz);
	}
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(db, rc, "read", err, errsz);
	rc = mdb_stat(txn, db->seen, &st);
	*n = rc == 0 ? st.ms_entries : 0;
	mdb_txn_abort(txn);
	return rc == 0 ? 0 : fail(db, rc, "stat", err, errsz);
}

int
bayes_db_classify(struct bayes_db *db, const struct bayes_params *p,
    const struct msg *m, struct bayes_toks *toks, double *prob, size_t *used,
    char *err, size_t errsz)
{
	struct tcache *tc = toks == NULL ? tcache_thread() : NULL;
	struct bayes_counts *c;
	struct bayes_totals tot;
	int rc;

	if (toks == NULL && tc == NULL) {
		struct bayes_toks own;

		memset(&own, 0, sizeof(own));
		rc = bayes_db_classify(db, p, m, &own, prob, used, err, errsz);
		bayes_toks_free(&own);
		return rc;
	}
	if (tc != NULL)
		toks = &tc->toks;
	bayes_tokenize(m, toks);
	c = tc ? tc->cnt : xcalloc(toks->n + 1, sizeof(*c));
	rc = bayes_db_read(db, toks->v, toks->n, c, &tot, err, errsz);
	if (rc == 0)
		rc = bayes_combine(p, c, toks->n, tot.nspam, tot.nham, prob,
		    used) >= 0 ? 1 : 0;
	if (tc == NULL)
		free(c);
	return rc;
}

int
bayes_db_learn_msg(struct bayes_db *db, const struct msg *m,
    enum bayes_class cls, struct bayes_toks *toks, int64_t now,
    enum bayes_learned *res, char *err, size_t errsz)
{
	uint8_t id[16];

	bayes_tok_digest(m, id);
	bayes_tokenize(m, toks);
	return bayes_db_learn(db, id, cls, toks->v, toks->n, now, res, err,
	    errsz);
}
