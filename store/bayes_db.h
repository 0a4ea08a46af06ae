/*
 * bayes_db.h: the Bayes token store, embedded (LMDB): token -> (spam
 * count, ham count, last seen), the totals, and the "seen" database of
 * learned messages (doc/rules.md, "Bayes").
 *
 * One LMDB environment in a directory (data.mdb, lock.mdb).  Any number of
 * readers (moatd's workers, moatctl scan) and one writer (moatctl learn,
 * autolearn) at a time; readers never wait for the writer and always see a
 * committed state.  A struct bayes_db may be shared by threads for reading;
 * writing (begin/learn/commit) belongs to one thread at a time.
 */
#ifndef MOAT_BAYES_DB_H
#define MOAT_BAYES_DB_H

#include <stddef.h>
#include <stdint.h>

#include "bayes.h"

struct bayes_db;

#define BAYES_DB_RDONLY	0x1	/* read only: never creates anything */

/* Map size: the largest the database may grow to (sparse on disk). */
#define BAYES_DB_MAPSIZE	(2ULL * 1024 * 1024 * 1024)

struct bayes_totals {
	uint64_t	nspam;		/* messages learned as spam */
	uint64_t	nham;
	uint64_t	ntokens;	/* distinct tokens stored */
	int64_t		last_learn;	/* unix seconds, 0 = never */
};

enum bayes_class {
	BAYES_FORGET = 0, BAYES_SPAM = 1, BAYES_HAM = 2
};

enum bayes_learned {
	BAYES_L_LEARNED,	/* new message, counted */
	BAYES_L_ALREADY,	/* learned before as this class: nothing done */
	BAYES_L_MOVED,		/* learned before as the other class: moved */
	BAYES_L_FORGOTTEN,	/* forget: taken out */
	BAYES_L_UNKNOWN		/* forget: never learned */
};

/*
 * Open the store in directory dir.  Without BAYES_DB_RDONLY the directory
 * is created (mode 0750) and the database with it when missing.  Returns
 * NULL with a message naming the file and the reason in err (missing,
 * unreadable, not an LMDB file, an incompatible version).
 */
struct bayes_db	*bayes_db_open(const char *dir, int flags, char *err,
		    size_t errsz);

/*
 * The same store in Redis (bayes_store redis, store/bayes_redis.c): server
 * HOST:PORT, [V6]:PORT or unix:/path, database dbn, keys under prefix,
 * every request bounded by timeout_ms, seen digests and token buckets
 * expiring after ttl seconds.  Batches are no-ops (each learn is one
 * atomic script); dump and restore are refused.  Errors name the server.
 */
struct bayes_db	*bayes_db_open_redis(const char *server, int dbn,
		    const char *prefix, long timeout_ms, long ttl, char *err,
		    size_t errsz);

/* Close; bayes_db_close(NULL) is a no-op.  An open write batch is aborted. */
void	bayes_db_close(struct bayes_db *db);

/* The directory db was opened on. */
const char	*bayes_db_path(const struct bayes_db *db);

/*
 * Read the counts of tok[0..n) into out[0..n) (zero for unknown tokens)
 * and the totals into *tot, in one read transaction, so both come from one
 * committed state.  Safe from any thread.  Returns 0, or -1 with err.
 */
int	bayes_db_read(struct bayes_db *db, const uint64_t *tok, size_t n,
	    struct bayes_counts *out, struct bayes_totals *tot, char *err,
	    size_t errsz);

/*
 * Writing.  bayes_db_begin() opens a write batch: every learn until
 * bayes_db_commit() is one transaction (learning thousands of messages in
 * one commit is what makes it fast; a crash loses the batch, never
 * corrupts).  bayes_db_learn() outside a batch makes its own.  Learning
 * the message id (bayes_tok_digest()) twice as one class counts once;
 * as the other class moves its tokens; BAYES_FORGET takes it out.
 * now is unix seconds, stored as the tokens' last seen time.
 * All return 0, or -1 with err (and the batch aborted).
 */
int	bayes_db_begin(struct bayes_db *db, char *err, size_t errsz);
int	bayes_db_commit(struct bayes_db *db, char *err, size_t errsz);
int	bayes_db_learn(struct bayes_db *db, const uint8_t id[16],
	    enum bayes_class cls, const uint64_t *tok, size_t n, int64_t now,
	    enum bayes_learned *res, char *err, size_t errsz);

/*
 * Dump and restore: every token in key order through fn (return non-zero
 * to stop), then the totals; bayes_db_put_token() and bayes_db_put_totals()
 * write them back inside a batch (restore).  The seen database is not
 * dumped: a restored store forgets which messages it learned.
 */
typedef int	bayes_db_walk_fn(void *arg, uint64_t tok,
		    const struct bayes_counts *c, uint32_t atime);
int	bayes_db_walk(struct bayes_db *db, bayes_db_walk_fn *fn, void *arg,
	    struct bayes_totals *tot, char *err, size_t errsz);
int	bayes_db_put_token(struct bayes_db *db, uint64_t tok,
	    const struct bayes_counts *c, uint32_t atime, char *err,
	    size_t errsz);
int	bayes_db_put_totals(struct bayes_db *db, const struct bayes_totals *t,
	    char *err, size_t errsz);

/*
 * The two things moatd and moatctl do with a parsed message, so both do
 * them the same way.  toks is the caller's scratch (zeroed before first
 * use, bayes_toks_free() after the last), reused between messages.
 *
 * bayes_db_classify: tokenize m, read the counts in one transaction and
 * combine them with p.  toks may be NULL: a scratch kept per thread is
 * used (moatd's and moatctl's per-message path).  Returns 1 with the spam probability in *prob (and
 * the tokens used in *used, may be NULL), 0 when Bayes does not speak (not
 * trained to p's minimums), -1 with err on store trouble.
 *
 * bayes_db_learn_msg: learn m (its digest and tokens) as cls; as
 * bayes_db_learn().
 */
struct bayes_toks;
struct msg;
int	bayes_db_classify(struct bayes_db *db, const struct bayes_params *p,
	    const struct msg *m, struct bayes_toks *toks, double *prob,
	    size_t *used, char *err, size_t errsz);
int	bayes_db_learn_msg(struct bayes_db *db, const struct msg *m,
	    enum bayes_class cls, struct bayes_toks *toks, int64_t now,
	    enum bayes_learned *res, char *err, size_t errsz);

/*
 * The token index (tokens.idx, store/bayes_idx.h): readers answer from it
 * when it mirrors the committed state they read, LMDB otherwise; every
 * commit keeps it current.  bayes_db_reindex() builds it again from the
 * tokens (after a writer died half way, or for a store learned before it
 * existed), taking the writers' lock; 0, or -1 with err.
 * bayes_db_index_state() says whether readers use it, with a line for
 * `moatctl bayes stats` in msg (the file and the reason when it is bad).
 */
enum bayes_ixstate {
	BAYES_IX_NONE, BAYES_IX_CURRENT, BAYES_IX_STALE, BAYES_IX_BAD
};
int	bayes_db_reindex(struct bayes_db *db, char *err, size_t errsz);
enum bayes_ixstate bayes_db_index_state(struct bayes_db *db, char *msg,
	    size_t msz);
/* How many bayes_db_read() calls the index answered, and LMDB. */
void	bayes_db_read_stats(const struct bayes_db *db, uint64_t *from_index,
	    uint64_t *from_lmdb);

/* Number of messages in the seen database. */
int	bayes_db_seen_count(struct bayes_db *db, uint64_t *n, char *err,
	    size_t errsz);

#endif
