/*
 * eng_grey.c: the greylisting step (doc/greylisting.md): after the backend
 * took a recipient, the triplet (client, sender, recipient) is looked up
 * and updated in the store; a new or too early triplet defers the
 * recipient (ENG_DEFER_RCPT).
 *
 * Trusted and authenticated clients, scores under greylist_min_score and
 * the greylist_whitelist entries skip it.  A loop's cache of passed
 * triplets (io->gcache_*) saves the store a round trip per recipient of a
 * known correspondent.  It does not replay the backend's transaction
 * without a deferred recipient: that is the front end's business (moatd's
 * session), since only it talks to the backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "moat_conf.h"
#include "eng_steps.h"
#include "engine.h"
#include "store.h"
#include "store_cfg.h"

/* Rank of a greylist outcome, so the log line shows the one that mattered. */
static int
grey_rank(const char *g)
{
	static const char *const order[] = { "off", "skipped", "whitelisted",
	    "passed", "store-failure", "pending", "new", NULL };
	int i;

	for (i = 0; g && order[i]; i++)
		if (strcmp(order[i], g) == 0)
			return i;
	return 0;
}

static void
tx_grey(struct eng_tx *tx, const char *g)
{
	if (grey_rank(g) >= grey_rank(tx->grey))
		tx->grey = g;
}

/*
 * The cache: a hash of the triplet and an expiry, in a direct-mapped
 * table (a collision just forgets the older entry).  Only PASSED and
 * WHITELISTED answers go in, for greylist_cache_ttl, so a cached answer is
 * one the store would give too, give or take that long after `moatctl
 * greylist delete`.
 */
static uint64_t
grey_hash(const struct grey_triplet *t)
{
	const char *parts[3] = { t->client, t->sender, t->rcpt };
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;
	int i;

	for (i = 0; i < 3; i++) {
		for (p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h | 1;	/* 0 marks an empty slot */
}

static int
grey_cache_hit(const struct eng_io *io, uint64_t h)
{
	size_t i = h & (ENG_GREY_CACHE_SLOTS - 1);

	return io->gcache_key != NULL && io->gcache_key[i] == h &&
	    io->gcache_exp[i] > clock_mono_ms();
}

static void
grey_cache_put(struct eng_io *io, uint64_t h, long ttl_ms)
{
	size_t i = h & (ENG_GREY_CACHE_SLOTS - 1);

	if (ttl_ms <= 0 || io->gcache_key == NULL)
		return;
	io->gcache_key[i] = h;
	io->gcache_exp[i] = clock_mono_ms() + ttl_ms;
}

/* name or one of its parent domains is in set. */
static int
suffix_match(const struct domain_set *set, const char *name)
{
	const char *p = name;

	while (p && *p) {
		if (domain_set_match(set, p))
			return 1;
		if ((p = strchr(p, '.')) != NULL)
			p++;
	}
	return 0;
}

/* The greylist_whitelist file: does this recipient skip greylisting? */
static int
grey_whitelisted(const struct eng_tx *tx, const char *rcpt)
{
	const struct config *cfg = tx->cfg;
	const char *at;

	if (cidr_list_match(&cfg->grey_wl_clients, &tx->client))
		return 1;
	if (tx->client_name && suffix_match(cfg->grey_wl_names,
	    tx->client_name))
		return 1;
	if ((at = strrchr(tx->mail_from, '@')) != NULL &&
	    suffix_match(cfg->grey_wl_senders, at + 1))
		return 1;
	if (domain_set_match(cfg->grey_wl_rcpts, rcpt))
		return 1;
	return (at = strrchr(rcpt, '@')) != NULL &&
	    domain_set_match(cfg->grey_wl_rcpts, at);
}

static void
grey_cb(void *arg, uint64_t id, int err, const struct store_grey_result *res)
{
	struct eng_tx *tx = arg;
	struct eng_outcome *o = &tx->out;
	const char *what;
	long wait_s = 0;
	int defer;

	(void)id;
	tx->req = 0;
	if (err != STORE_OK) {
		if (tx->io->on_store_failure != NULL)
			tx->io->on_store_failure("greylist");
		/* The store logs the outage once; this is the policy. */
		what = "store-failure";
		defer = tx->cfg->greylist_on_store_failure ==
		    CFG_FAIL_TEMPFAIL;
	} else {
		switch (res->decision) {
		case GREY_NEW:
			what = "new";
			break;
		case GREY_PENDING:
			what = "pending";
			break;
		case GREY_PASSED:
			what = "passed";
			break;
		case GREY_WHITELISTED:
		default:
			what = "whitelisted";
			break;
		}
		defer = res->decision == GREY_NEW ||
		    res->decision == GREY_PENDING;
		wait_s = res->wait_s;
	}
	tx_grey(tx, what);
	if (err == STORE_OK && !defer)
		grey_cache_put(tx->io, tx->grey_hash,
		    tx->cfg->greylist_cache_ttl_ms);
	if (defer) {
		o->act = ENG_DEFER_RCPT;
		o->code = 451;
		o->enh = "4.7.1";
		if (err != STORE_OK)
			snprintf(o->text, sizeof(o->text), "Error: greylisting "
			    "is unavailable, try again later");
		else
			snprintf(o->text, sizeof(o->text), "<%s>: Greylisted, "
			    "please try again in %ld seconds", tx->rcpt_cur,
			    wait_s > 0 ? wait_s : 1);
		o->reason = "greylisted";
	}
	eng_resume(tx);
}

/*
 * eng_grey: ask the store about the triplet of tx->rcpt_cur.  DONE when
 * greylisting does not apply (off, no store, trusted or authenticated
 * client, score under greylist_min_score, whitelisted, cached pass).
 */
enum eng_ret
eng_grey(struct eng_tx *tx, struct eng_io *io)
{
	const struct config *cfg = tx->cfg;
	struct grey_params p;
	struct grey_triplet t;
	double min = cfg->greylist_min_score.v;

	if (!cfg->greylist || io->store == NULL || tx->rcpt_cur == NULL)
		return ENG_DONE;
	if (tx->trusted || tx->auth_login ||
	    (min != 0 && score_card_total(&tx->card) < min)) {
		tx_grey(tx, "skipped");
		return ENG_DONE;
	}
	if (grey_whitelisted(tx, tx->rcpt_cur)) {
		tx_grey(tx, "whitelisted");
		return ENG_DONE;
	}
	store_cfg_grey_params(cfg, &p);
	if (grey_triplet_make(&t, &p, tx->client.a, tx->client.family ==
	    AF_INET6, tx->client_name, tx->mail_from, tx->rcpt_cur) == -1) {
		tx_grey(tx, "skipped");
		return ENG_DONE;
	}
	tx->grey_hash = grey_hash(&t);
	if (cfg->greylist_cache_ttl_ms > 0 && grey_cache_hit(io,
	    tx->grey_hash)) {
		tx_grey(tx, "passed");
		return ENG_DONE;
	}
	tx->cancel = eng_cancel_store;
	tx->req = store_grey_check(io->store, &t, &p, grey_cb, tx);
	return ENG_PENDING;
}
