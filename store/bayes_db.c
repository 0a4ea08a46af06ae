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
 *   meta    "nspam", "nham", "last" -> u64 LE; "version" -> u32 LE (1)
 *
 * Invariants: totals and token counts change in the same transaction; a
 * message id is in seen exactly when its tokens are counted in its class.
 * The map size is fixed (BAYES_DB_MAPSIZE) for readers and writer alike,
 * so a reader never meets MDB_MAP_RESIZED.  It does not expire tokens.
 * Reads go through one cursor in ascending key order (bayes_tokenize()
 * sorts): LMDB then finds most keys on the leaf page it is already on
 * instead of walking down from the root each time.
 */
#include <sys/stat.h>

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bayes_db.h"
#include "bayes_redis.h"
#include "bayes_tok.h"
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
};

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
		mdb_txn_abort(db->wtxn);
	if (db->env)
		mdb_env_close(db->env);
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
	MDB_cursor *c;
	size_t key;
	MDB_val k = { sizeof(key), &key }, v;
	size_t i;
	int rc;

	if (db->rd)
		return bayes_redis_read(db->rd, tok, n, out, tot, NULL, err,
		    errsz);
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(db, rc, "read", err, errsz);
	totals(db, txn, tot);
	if ((rc = mdb_cursor_open(txn, db->tokens, &c)) != 0) {
		mdb_txn_abort(txn);
		return fail(db, rc, "read", err, errsz);
	}
	for (i = 0; i < n; i++) {
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
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return 0;
}

int
bayes_db_begin(struct bayes_db *db, char *err, size_t errsz)
{
	int rc;

	if (db->rdonly) {
		snprintf(err, errsz, "%s: opened read only", db->dir);
		return -1;
	}
	if (db->wtxn || db->rd)		/* Redis: each learn is atomic */
		return 0;
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &db->wtxn)) != 0) {
		db->wtxn = NULL;
		return fail(db, rc, "begin", err, errsz);
	}
	return 0;
}

int
bayes_db_commit(struct bayes_db *db, char *err, size_t errsz)
{
	int rc;

	if (db->wtxn == NULL)
		return 0;
	rc = mdb_txn_commit(db->wtxn);
	db->wtxn = NULL;
	if (rc != 0)
		return fail(db, rc, "commit", err, errsz);
	return 0;
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
		mdb_txn_abort(db->wtxn);
		db->wtxn = NULL;
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
	struct bayes_counts *c;
	struct bayes_totals tot;
	int rc;

	bayes_tokenize(m, toks);
	c = xcalloc(toks->n + 1, sizeof(*c));
	if (bayes_db_read(db, toks->v, toks->n, c, &tot, err, errsz) != 0) {
		free(c);
		return -1;
	}
	rc = bayes_combine(p, c, toks->n, tot.nspam, tot.nham, prob, used);
	free(c);
	return rc >= 0 ? 1 : 0;
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
