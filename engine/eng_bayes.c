/*
 * eng_bayes.c: the Bayesian classifier's steps at DATA (doc/rules.md,
 * "Bayes"): classify before the rules (BAYES_* rules read the
 * probability), learn after them (autolearn reads the score).
 *
 * The store is proxy/bayes_live.c's: memory-mapped LMDB reads, or Redis
 * waited for synchronously within bayes_timeout.
 * XXX issue 13: the Redis read becomes a PENDING step on the loop.
 */
#include "bayes_live.h"
#include "moat_conf.h"
#include "eng_steps.h"
#include "engine.h"

enum eng_ret
eng_bayes(struct eng_tx *tx, struct eng_io *io)
{
	(void)io;
	if (tx->msg != NULL)
		bayes_live_classify(tx->cfg, tx->msg, tx->sid,
		    &tx->bayes_known, &tx->bayes_p);
	return ENG_DONE;
}

enum eng_ret
eng_bayes_learn(struct eng_tx *tx, struct eng_io *io)
{
	(void)io;
	if (tx->raw != NULL)
		bayes_live_autolearn(tx->cfg, &tx->card, tx->raw, tx->raw_len,
		    tx->sid);
	return ENG_DONE;
}
