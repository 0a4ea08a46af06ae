/*
 * eng_bayes.c: the Bayesian classifier's steps at DATA (doc/rules.md,
 * "Bayes"): classify before the rules (BAYES_* rules read the
 * probability), learn after them (autolearn reads the score).
 *
 * With bayes_store redis on a loop the read is asynchronous: one EVAL on
 * the loop's own hiredis connection, the step PENDING until its reply or
 * bayes_timeout, so a slow or hung Redis holds up this message only,
 * never the other sessions of the worker.  LMDB reads stay synchronous
 * (memory-mapped lookups, well under a millisecond), as does an offline
 * front end's own store (io->bayes_db).  Store trouble never fails a
 * message: it is judged without Bayes.
 */
#include <stdlib.h>
#include <string.h>

#include "bayes.h"
#include "bayes_db.h"
#include "bayes_live.h"
#include "bayes_redis.h"
#include "bayes_tok.h"
#include "clock.h"
#include "moat_conf.h"
#include "eng_steps.h"
#include "engine.h"
#include "xmalloc.h"

/* A pending Redis read: the message's tokens until the counts come. */
struct eng_bayes_req {
	struct eng_tx		*tx;
	struct bayes_toks	 toks;
	struct bayes_params	 bp;
	struct bayes_areq	*q;
};

static void
bayes_req_free(struct eng_bayes_req *req)
{
	bayes_toks_free(&req->toks);
	free(req);
}

static void
bayes_cancel(struct eng_tx *tx)
{
	struct eng_bayes_req *req = tx->bayes_req;

	if (req == NULL)
		return;
	bayes_areq_cancel(req->q);
	bayes_req_free(req);
	tx->bayes_req = NULL;
}

static void
bayes_cb(void *arg, int ok, const char *err, const struct bayes_counts *c,
    const struct bayes_totals *tot)
{
	struct eng_bayes_req *req = arg;
	struct eng_tx *tx = req->tx;

	if (ok == 0) {
		tx->bayes_known = bayes_combine(&req->bp, c, req->toks.n,
		    tot->nspam, tot->nham, &tx->bayes_p, NULL) >= 0;
		bayes_live_redis_result(tx->cfg, tx->sid, NULL);
	} else
		bayes_live_redis_result(tx->cfg, tx->sid, err);
	tx->bayes_req = NULL;
	bayes_req_free(req);
	eng_resume(tx);
}

/* bayes_store redis on a loop: start the read; DONE if it cannot be. */
static enum eng_ret
bayes_redis_start(struct eng_tx *tx, struct eng_io *io)
{
	struct eng_bayes_req *req = xcalloc(1, sizeof(*req));
	struct bayes_aredis *r;
	char err[512];

	req->tx = tx;
	bayes_live_params(tx->cfg, &req->bp);
	bayes_tokenize(tx->msg, &req->toks);
	r = bayes_live_aredis(&io->bayes_redis, io->base, tx->cfg);
	req->q = bayes_aredis_read(r, req->toks.v, req->toks.n, bayes_cb, req,
	    err, sizeof(err));
	if (req->q == NULL) {
		if (err[0] != '\0')
			bayes_live_redis_result(tx->cfg, tx->sid, err);
		bayes_req_free(req);
		return ENG_DONE;
	}
	tx->bayes_req = req;
	tx->cancel = bayes_cancel;
	return ENG_PENDING;
}

enum eng_ret
eng_bayes(struct eng_tx *tx, struct eng_io *io)
{
	struct bayes_toks toks;
	int64_t t0;
	int rc;

	tx->bayes_known = 0;
	tx->bayes_p = 0;
	if (tx->msg == NULL)
		return ENG_DONE;
	if (io->bayes_db == NULL) {
		if (tx->cfg->bayes && tx->cfg->bayes_store == CFG_BAYES_REDIS &&
		    io->base != NULL)
			return bayes_redis_start(tx, io);
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
