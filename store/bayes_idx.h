/*
 * bayes_idx.h: tokens.idx, a hash-addressed copy of the LMDB store's
 * token counts that a reader answers with one memory miss per token
 * (store/bayes_idx.c; doc/rules.md, "The store").
 *
 * LMDB (bayes_db.c) stays the authority.  The index says which committed
 * LMDB state it mirrors (its stamp, the state's transaction id, and that
 * state's totals); a reader uses it only when that is the state its own
 * read transaction sees, and checks the stamp again after the lookups, so
 * the counts it answers are LMDB's by construction.  Writers (bayes_db.c,
 * under the store's write lock) clear the stamp, commit LMDB, apply the
 * same counts in place and stamp it again, or build a new file and rename
 * it over the old one, which they mark superseded.
 */
#ifndef MOAT_BAYES_IDX_H
#define MOAT_BAYES_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "bayes.h"

/* The file, in the store's directory. */
#define BAYES_IDX_FILE		"tokens.idx"

/*
 * Slots per token at a build: at most 0.4 of the slots used, so a store
 * can grow by a quarter before applying in place would pass the bound of
 * one half (then the writer builds the file again, larger).
 */
#define BAYES_IDX_MIN_SLOTS	4096

struct bayes_idx;

/*
 * Which LMDB state an index mirrors: the reader's check, and the stamp.
 * The transaction id alone does not name a read transaction's snapshot:
 * LMDB 0.9 picks the meta page by the id's parity and copies it without
 * checking it again, so a reader that races two commits gets the id of
 * one state and the data of a later one.  gen (a counter every writer
 * bumps in the same transaction) and the totals are read from the
 * snapshot itself; all of them must agree.
 */
struct bayes_idx_id {
	uint64_t	txnid;		/* 0: none (a writer is at work) */
	uint64_t	gen;
	uint64_t	nspam, nham, ntokens;
	int64_t		last_learn;
};

/* One token's counts as a writer leaves them (0/0: gone from LMDB). */
struct bayes_idx_ent {
	uint64_t	tok;
	uint32_t	spam, ham;
};

/*
 * Map dir/tokens.idx, read-write when writable.  Returns NULL with
 * *missing set when there is none, or NULL with a message naming the file
 * in err when it cannot be used (unreadable, not an index, truncated, a
 * header that does not add up).  Owned by the caller: bayes_idx_close().
 */
struct bayes_idx	*bayes_idx_open(const char *dir, int writable,
			    int *missing, char *err, size_t errsz);
void	bayes_idx_close(struct bayes_idx *ix);

/* A writer replaced the file: this mapping will never be current again. */
int	bayes_idx_superseded(const struct bayes_idx *ix);

/* The header's stamp and what it says, for stats (a snapshot). */
void	bayes_idx_info(const struct bayes_idx *ix, struct bayes_idx_id *id,
	    uint64_t *nslots, uint64_t *nused);

/*
 * Reader: the counts of tok[0..n) into out[0..n) (0/0 for a token not in
 * it), answered only if the index mirrors exactly the state id says (the
 * caller's read transaction and the totals it read there).  Returns 1
 * when out is filled and exact, 0 when the caller must read LMDB instead.
 * Safe from any thread, against a writer in any process.
 */
int	bayes_idx_read(const struct bayes_idx *ix, const struct bayes_idx_id *id,
	    const uint64_t *tok, size_t n, struct bayes_counts *out);

/*
 * Writer, holding the store's write lock.  bayes_idx_unstamp(): from now
 * on readers read LMDB.  bayes_idx_restamp(): undo that for a commit that
 * failed (LMDB is still at id).  bayes_idx_apply(): set the counts of
 * e[0..n) in order (the last entry for a token wins); -1 when that would
 * fill more than half the slots or meets token 0 (then build it again).
 * bayes_idx_publish(): write the slots to disk, then stamp with id; -1
 * with err.
 */
uint64_t	bayes_idx_stamp(const struct bayes_idx *ix);
int	bayes_idx_matches(const struct bayes_idx *ix,
	    const struct bayes_idx_id *id);
void	bayes_idx_unstamp(struct bayes_idx *ix);
void	bayes_idx_restamp(struct bayes_idx *ix, const struct bayes_idx_id *id);
int	bayes_idx_apply(struct bayes_idx *ix, const struct bayes_idx_ent *e,
	    size_t n);
int	bayes_idx_publish(struct bayes_idx *ix, const struct bayes_idx_id *id,
	    char *err, size_t errsz);

/*
 * Writer: a new index for ntokens tokens in dir/tokens.idx.tmp;
 * bayes_idx_build_add() each token (any order; token 0 fails), then
 * bayes_idx_build_finish() syncs it, stamps it with id, renames it over
 * tokens.idx and marks the file it replaced superseded, returning the new
 * mapping (writable).  uid/gid: owner to give the file when running as
 * root (-1: leave it).  bayes_idx_build_abort() removes the temporary.
 * NULL or -1 with err naming the file.
 */
struct bayes_idx_build;
struct bayes_idx_build	*bayes_idx_build_begin(const char *dir,
			    uint64_t ntokens, long uid, long gid, char *err,
			    size_t errsz);
int	bayes_idx_build_add(struct bayes_idx_build *b, uint64_t tok,
	    uint32_t spam, uint32_t ham, char *err, size_t errsz);
struct bayes_idx	*bayes_idx_build_finish(struct bayes_idx_build *b,
			    const struct bayes_idx_id *id, char *err,
			    size_t errsz);
void	bayes_idx_build_abort(struct bayes_idx_build *b);

#endif
