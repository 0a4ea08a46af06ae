/*
 * milter_eng.c: what one stage of a milter connection runs, on the engine
 * thread (issue 15): the seam between moat-milter and the transaction
 * engine (engine/engine.h).  The bridge hands it a connection whose facts
 * are complete for the stage; it gives them to the connection's eng_tx
 * through the engine's setters, runs the engine's stage (eng_stage) and,
 * from the engine's one outcome, fills c->out and calls mlt_done() once.
 *
 * It decides nothing: rules, scores, thresholds, rate limits, greylisting
 * and Bayes are the engine's steps, the very ones moatd's session runs.
 * What differs is what the MTA already did: it checked relays and
 * recipients (no rcpt path is given, so no relay step runs) and it knows
 * the client's name (handed in, no lookup).  Greylisting runs right after
 * RCPT (ENG_GREY): a milter has no backend whose 2xx to wait for.
 *
 * Stage map: connect = ENG_CONNECT then ENG_BANNER; helo = ENG_HELO;
 * mail = ENG_MAIL; rcpt = ENG_RCPT then ENG_GREY; data = ENG_DATA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "eng_sauth.h"
#include "log.h"
#include "milter.h"
#include "msg.h"
#include "netaddr.h"
#include "moat_conf.h"
#include "rule.h"
#include "sauth_pool.h"
#include "store.h"
#include "snapshot.h"
#include "store_cfg.h"
#include "xmalloc.h"

static struct eng_io	 io;
static struct store	*store;
static uint64_t		*gcache_key;
static int64_t		*gcache_exp;

void
mlt_eng_init(struct event_base *base, const struct config *cfg)
{
	char err[512];

	memset(&io, 0, sizeof(io));
	io.base = base;
	io.scratch = rule_scratch_new();
	rule_scratch_lazy(io.scratch, 1);
	/* store and redis_* are RESTART keys: made once, as moatd does. */
	if (cfg->greylist || cfg->ratelimit_conn_per_ip.n ||
	    cfg->ratelimit_msg_per_ip.n || cfg->ratelimit_rcpt_per_sender.n ||
	    cfg->ratelimit_msg_per_user.n) {
		if (store_cfg_open(cfg, &store, err, sizeof(err)) == -1)
			fatal("store: %s", err);
		io.store = store_conn_new(store, base);
		gcache_key = xcalloc(ENG_GREY_CACHE_SLOTS, sizeof(*gcache_key));
		gcache_exp = xcalloc(ENG_GREY_CACHE_SLOTS, sizeof(*gcache_exp));
		io.gcache_key = gcache_key;
		io.gcache_exp = gcache_exp;
	}
	/* SPF, DKIM, DMARC and the DNS lists, on moatd's pool; warm
	 * messages skip the pool, as in moatd's workers (engine.h,
	 * sauth_fast). */
	io.sauth = eng_sauth_pool_setup(cfg);
	if (io.sauth != NULL && (io.sauth_fast = sauth_pool_ctx(io.sauth, err,
	    sizeof(err))) == NULL)
		log_warn("every sender-auth job goes to the pool: %s", err);
}

void
mlt_eng_shutdown(void)
{
	sauth_ctx_free(io.sauth_fast);
	sauth_pool_free(io.sauth);
	store_conn_free(io.store);
	store_free(store);
	store = NULL;
	rule_scratch_free(io.scratch);
	free(gcache_key);
	free(gcache_exp);
	memset(&io, 0, sizeof(io));
}

/* The engine's outcome as the milter's: the reply, or go on. */
static void
take_outcome(struct mlt_conn *c, const struct eng_outcome *o)
{
	struct mlt_outcome *out = &c->out;
	struct eng_tx *tx = c->eng;

	out->score = score_card_total(&tx->card);
	sbuf_reset(&out->rules);
	score_card_log(&tx->card, &out->rules);
	if (o->act == ENG_CONTINUE)
		return;
	out->act = o->code >= 500 ? MLT_REJECT : MLT_TEMPFAIL;
	out->code = o->code;
	snprintf(out->ecode, sizeof(out->ecode), "%s", o->enh ? o->enh :
	    o->code >= 500 ? "5.7.1" : "4.7.1");
	snprintf(out->text, sizeof(out->text), "%s", o->text);
	out->event_stage = mlt_stage_name(c->stage);
	if (o->verdict != NULL)
		out->verdict = strcmp(o->verdict, "reject") == 0 ?
		    SCORE_REJECT : SCORE_TEMPFAIL;
}

static void
done_data(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	struct mlt_conn *c = arg;
	const struct cfg_score *q = &c->cfg->milter_quarantine_score;
	const struct sbuf *ar = eng_sauth_header(tx);

	c->out.verdict = tx->verdict;
	take_outcome(c, o);
	sbuf_reset(&c->out.ar);
	if (o->act == ENG_CONTINUE) {
		sbuf_reset(&c->out.headers);
		sbuf_add(&c->out.headers, tx->hdr.p, tx->hdr.len);
		if (ar != NULL)
			sbuf_add(&c->out.ar, ar->p, ar->len);
		/* Your own users' mail is tagged, never held (auth_score_*). */
		if (tx->auth_login == NULL && q->on)
			c->out.quarantine = c->out.score >= q->v;
	}
	/*
	 * The transaction stays open in the engine (its results, the
	 * sender-auth ones among them, are what the MTA thread's tx line
	 * reads) until the next MAIL starts one (eng_tx_mail ends it) or
	 * the connection goes (eng_tx_free).  Only the message goes now.
	 */
	msg_free((struct msg *)tx->msg);
	eng_tx_message(tx, NULL, NULL, 0);
	mlt_done(c);
}

static void
done_grey(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	struct mlt_conn *c = arg;

	take_outcome(c, o);
	snprintf(c->out.grey, sizeof(c->out.grey), "%s", tx->grey ?
	    tx->grey : "");
	if (o->act == ENG_CONTINUE)
		eng_tx_rcpt_accepted(tx);
	mlt_done(c);
}

static void
done_rcpt(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	struct mlt_conn *c = arg;

	if (o->act == ENG_CONTINUE) {
		(void)eng_stage(tx, ENG_GREY, done_grey, c);
		return;
	}
	take_outcome(c, o);
	mlt_done(c);
}

static void
done_connect(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	struct mlt_conn *c = arg;

	if (o->act == ENG_CONTINUE && tx->stage == ENG_CONNECT) {
		(void)eng_stage(tx, ENG_BANNER, done_connect, c);
		return;
	}
	take_outcome(c, o);
	mlt_done(c);
}

static void
done_simple(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	struct mlt_conn *c = arg;

	(void)tx;
	take_outcome(c, o);
	mlt_done(c);
}

static void
stage_connect(struct mlt_conn *c)
{
	struct netaddr a;

	c->eng = eng_tx_new(c->cfg, c->snap->rules, &io, c->id);
	eng_tx_client(c->eng, netaddr_parse(&a, c->client_addr) == 0 ? &a :
	    NULL, 0, 0);
	/* The MTA looked the name up: "unknown" (none) is no-rdns. */
	eng_tx_client_name(c->eng, c->client_name);
	(void)eng_stage(c->eng, ENG_CONNECT, done_connect, c);
}

static void
stage_data(struct mlt_conn *c)
{
	const char *raw = c->msg.p ? c->msg.p : "";
	struct msg *m = msg_parse(raw, c->msg.len, NULL);

	eng_tx_message(c->eng, m, raw, c->msg.len);
	(void)eng_stage(c->eng, ENG_DATA, done_data, c);
}

void
mlt_eng_stage(struct mlt_conn *c)
{
	struct mlt_outcome *o = &c->out;

	if (c->stage == MLT_FREE) {
		eng_tx_free(c->eng);
		c->eng = NULL;
		return;
	}
	o->act = MLT_CONTINUE;
	o->code = 0;
	o->ecode[0] = o->text[0] = o->grey[0] = '\0';
	o->event_stage = NULL;
	o->quarantine = 0;
	o->verdict = SCORE_ACCEPT;
	if (c->stage == MLT_CONNECT) {
		stage_connect(c);
		return;
	}
	/* An MTA that skipped connect: the facts start empty. */
	if (c->eng == NULL)
		c->eng = eng_tx_new(c->cfg, c->snap->rules, &io, c->id);
	switch (c->stage) {
	case MLT_HELO:
		eng_tx_helo(c->eng, c->helo, c->helo);
		eng_tx_tls(c->eng, c->tls != NULL);
		(void)eng_stage(c->eng, ENG_HELO, done_simple, c);
		break;
	case MLT_MAIL:
		eng_tx_tls(c->eng, c->tls != NULL);
		eng_tx_auth(c->eng, c->auth);
		eng_tx_mail(c->eng, c->from, 0, 0, 0);
		(void)eng_stage(c->eng, ENG_MAIL, done_simple, c);
		break;
	case MLT_RCPT:
		eng_tx_rcpt(c->eng, c->rcpt_now);
		(void)eng_stage(c->eng, ENG_RCPT, done_rcpt, c);
		break;
	case MLT_DATA:
		stage_data(c);
		break;
	default:
		fatal("mlt_eng_stage: stage %d", (int)c->stage);
	}
}
