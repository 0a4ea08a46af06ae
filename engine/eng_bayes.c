/*
 * eng_bayes.c: the Bayesian classifier's steps at DATA (doc/rules.md,
 * "Bayes"): classify before the rules (BAYES_* rules read the
 * probability), learn after them (autolearn reads the score).
 *
 * moatd's store is proxy/bayes_live.c's: memory-mapped LMDB reads, or
 * Redis waited for synchronously within bayes_timeout.  An offline front
 * end hands its own open store in io->bayes_db and learns nothing.
 * XXX issue 13: the Redis read becomes a PENDING step on the loop.
 */
#include <string.h>

#include "bayes_db.h"
#include "bayes_live.h"
#include "moat_conf.h"
#include "bayes_tok.h"
#include "clock.h"
#include "eng_steps.h"
#include "engine.h"

enum eng_ret
eng_bayes(struct eng_tx *tx, struct eng_io *io)
{
	struct bayes_toks toks;
	int64_t t0;
	int rc;

	if (tx->msg == NULL)
		return ENG_DONE;
	if (io->bayes_db == NULL) {
		bayes_live_classify(tx->cfg, tx->msg, tx->sid,
		    &tx->bayes_known, &tx->bayes_p);
		return ENG_DONE;
	}
	t0 = clock_mono_ns();
	memset(&toks, 0, sizeof(toks));
	rc = bayes_db_classify(io->bayes_db, io->bayes_params, tx->msg, &toks,
	    &tx->bayes_p, NULL, tx->bayes_err, sizeof(tx->bayes_err));
	bayes_toks_free(&toks);
	if (rc >= 0)
		tx->bayes_err[0] = '\0';
	tx->bayes_known = rc == 1;
	tx->bayes_ns = clock_mono_ns() - t0;
	return ENG_DONE;
}

/* Learning writes the store: only a live front end (one with a loop). */
enum eng_ret
eng_bayes_learn(struct eng_tx *tx, struct eng_io *io)
{
	if (tx->raw != NULL && io->base != NULL)
		bayes_live_autolearn(tx->cfg, &tx->card, tx->raw, tx->raw_len,
		    tx->sid);
	return ENG_DONE;
}
