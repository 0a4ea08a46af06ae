/*
 * milter_eng.c: what one stage of a milter transaction runs, on the engine
 * thread (issue 15).  This is the seam between moat-milter and the
 * transaction engine: the bridge hands it a connection whose facts are
 * complete for the stage, and it calls mlt_done() once with the outcome in
 * c->out.  It decides nothing of its own: the rules and the score card go
 * through policy_eval() (scoring/score_rules, the same call moatd and
 * `moatctl scan -c` make), the thresholds through policy_thresholds(),
 * greylisting through the store and scoring/greylist.c that moatd uses.
 *
 * What it does not do: relay control and recipient checks are the MTA's
 * (it has already accepted the RCPT when the milter hears of it); no
 * backend, no replies of its own beyond the text of the refusal.
 *
 * XXX issue 13: when engine/engine.h's step driver lands, each stage here
 * becomes one eng_stage() call and the greylisting below goes (it is the
 * engine's rcpt step); the outcome fields stay as they are.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/config.h"
#include "greylist.h"
#include "log.h"
#include "milter.h"
#include "msg.h"
#include "netaddr.h"
#include "policy.h"
#include "rule.h"
#include "store.h"
#include "store_cfg.h"
#include "xmalloc.h"

/* The engine's state of one connection: its score card. */
struct mlt_eng_tx {
	struct score_card card;
	uint64_t	  grey_req;
};

static struct rule_scratch *scratch;
static struct store	*store;
static struct store_conn *store_conn;

void
mlt_eng_init(struct event_base *base, const struct config *cfg)
{
	char err[512];

	scratch = rule_scratch_new();
	rule_scratch_lazy(scratch, 1);
	/* store and redis_* are RESTART keys: made once. */
	if (cfg->greylist) {
		if (store_cfg_open(cfg, &store, err, sizeof(err)) == -1)
			fatal("store: %s", err);
		store_conn = store_conn_new(store, base);
	}
}

void
mlt_eng_shutdown(void)
{
	store_conn_free(store_conn);
	store_conn = NULL;
	store_free(store);
	store = NULL;
	rule_scratch_free(scratch);
	scratch = NULL;
}

/* The outcome "refused by policy", as moatd words it. */
static void
refuse(struct mlt_conn *c, enum mlt_act act, int code, const char *ecode,
    const char *what, const char *stage)
{
	struct sbuf t = SBUF_INIT;
	struct mlt_outcome *o = &c->out;

	if (c->cfg->reply_show_rules)
		score_card_tests(&c->eng->card, &t);
	o->act = act;
	o->code = code;
	snprintf(o->ecode, sizeof(o->ecode), "%s", ecode);
	snprintf(o->text, sizeof(o->text), "%s%sError: %s refused by "
	    "policy%s%s%s%s", code == 554 ? c->cfg->hostname : "",
	    code == 554 ? " " : "", what, t.len ? " (" : "", t.len ? t.p : "",
	    t.len ? ")" : "", act == MLT_TEMPFAIL ? ", try again later" : "");
	o->event_stage = stage;
	sbuf_free(&t);
}

/* Run the rules over what c knows (and m after DATA) onto the card. */
static enum score_verdict
eval(struct mlt_conn *c, const struct msg *m, struct sbuf *hdr)
{
	struct rule_env env;
	const char **rc;
	enum score_verdict v;
	size_t n = 0;
	int i;

	memset(&env, 0, sizeof(env));
	env.client_addr = c->client_addr;
	/* The MTA verified the name (Postfix: "unknown" otherwise). */
	env.client_name = c->client_name ? c->client_name : "";
	env.facts = c->client_name && c->client_name[0] ? "" : "no-rdns";
	env.helo = c->helo;
	rc = xcalloc((size_t)c->nrcpt + 2, sizeof(*rc));
	if (c->from != NULL) {
		env.mail_from = c->from;
		for (i = 0; i < c->nrcpt; i++)
			rc[n++] = c->rcpt[i];
		if (c->rcpt_now)
			rc[n++] = c->rcpt_now;
		env.rcpt = n ? rc : NULL;
		env.nrcpt = n;
	}
	v = policy_eval(c->cfg, scratch, &env, m, &c->eng->card, c->id,
	    c->auth != NULL, hdr);
	free(rc);
	c->out.verdict = v;
	c->out.score = score_card_total(&c->eng->card);
	sbuf_reset(&c->out.rules);
	score_card_log(&c->eng->card, &c->out.rules);
	return v;
}

/* ---- greylisting --------------------------------------------------------- */

static void
grey_cb(void *arg, uint64_t id, int err, const struct store_grey_result *res)
{
	struct mlt_conn *c = arg;
	struct mlt_outcome *o = &c->out;
	int defer;

	(void)id;
	c->eng->grey_req = 0;
	if (err != STORE_OK) {
		snprintf(o->grey, sizeof(o->grey), "store-failure");
		defer = c->cfg->greylist_on_store_failure == 1;
	} else {
		snprintf(o->grey, sizeof(o->grey), "%s",
		    res->decision == GREY_NEW ? "new" :
		    res->decision == GREY_PENDING ? "pending" :
		    res->decision == GREY_PASSED ? "passed" : "whitelisted");
		defer = res->decision == GREY_NEW ||
		    res->decision == GREY_PENDING;
	}
	if (defer) {
		o->act = MLT_TEMPFAIL;
		o->code = 451;
		snprintf(o->ecode, sizeof(o->ecode), "4.7.1");
		if (err != STORE_OK)
			snprintf(o->text, sizeof(o->text), "Error: "
			    "greylisting is unavailable, try again later");
		else
			snprintf(o->text, sizeof(o->text), "<%s>: Greylisted, "
			    "please try again in %ld seconds", c->rcpt_now,
			    res->wait_s > 0 ? res->wait_s : 1);
		o->event_stage = "rcpt";
	}
	mlt_done(c);
}

/*
 * grey_start: 1 when a store check is under way (grey_cb finishes the
 * stage), 0 when greylisting does not apply to this recipient.
 */
static int
grey_start(struct mlt_conn *c)
{
	const struct config *cfg = c->cfg;
	struct grey_params p;
	struct grey_triplet t;
	struct netaddr a;
	double min = strtod(cfg->greylist_min_score, NULL);

	if (!cfg->greylist || store_conn == NULL)
		return 0;
	if (c->auth != NULL || netaddr_parse(&a, c->client_addr) == -1 ||
	    cidr_list_match(&cfg->trusted_networks, &a) ||
	    (min != 0 && score_card_total(&c->eng->card) < min)) {
		snprintf(c->out.grey, sizeof(c->out.grey), "skipped");
		return 0;
	}
	if (cidr_list_match(&cfg->grey_wl_clients, &a)) {
		snprintf(c->out.grey, sizeof(c->out.grey), "whitelisted");
		return 0;
	}
	store_cfg_grey_params(cfg, &p);
	if (grey_triplet_make(&t, &p, a.a, a.family == AF_INET6,
	    c->client_name && c->client_name[0] ? c->client_name : NULL,
	    c->from, c->rcpt_now) == -1) {
		snprintf(c->out.grey, sizeof(c->out.grey), "skipped");
		return 0;
	}
	c->eng->grey_req = store_grey_check(store_conn, &t, &p, grey_cb, c);
	return 1;
}

/* ---- the stages ------------------------------------------------------------ */

static void
stage_data(struct mlt_conn *c)
{
	struct msg *m;
	enum score_verdict v;
	double q;
	char *end;

	m = msg_parse(c->msg.p ? c->msg.p : "", c->msg.len, NULL);
	sbuf_reset(&c->out.headers);
	v = eval(c, m, &c->out.headers);
	msg_free(m);
	if (v == SCORE_REJECT)
		refuse(c, MLT_REJECT, 550, "5.7.1", "message", "data");
	else if (v == SCORE_TEMPFAIL)
		refuse(c, MLT_TEMPFAIL, 451, "4.7.1", "message", "data");
	else if (c->auth == NULL &&
	    strcmp(c->cfg->milter_quarantine_score, "off") != 0) {
		/* Your own users' mail is tagged, never held (auth_score_*). */
		q = strtod(c->cfg->milter_quarantine_score, &end);
		c->out.quarantine = c->out.score >= q;
	}
}

void
mlt_eng_stage(struct mlt_conn *c)
{
	struct mlt_outcome *o = &c->out;

	if (c->stage == MLT_FREE) {
		if (c->eng) {
			if (c->eng->grey_req)
				store_cancel(store_conn, c->eng->grey_req);
			score_card_free(&c->eng->card);
			free(c->eng);
			c->eng = NULL;
		}
		return;
	}
	if (c->eng == NULL) {
		c->eng = xcalloc(1, sizeof(*c->eng));
		score_card_init(&c->eng->card);
	}
	o->act = MLT_CONTINUE;
	o->code = 0;
	o->ecode[0] = o->text[0] = o->grey[0] = '\0';
	o->event_stage = NULL;
	o->quarantine = 0;
	switch (c->stage) {
	case MLT_CONNECT:
		if (eval(c, NULL, NULL) == SCORE_REJECT)
			refuse(c, MLT_REJECT, 554, "5.7.1", "connection",
			    "connect");
		break;
	case MLT_HELO:
		if (eval(c, NULL, NULL) == SCORE_REJECT)
			refuse(c, MLT_REJECT, 550, "5.7.1", "HELO", "helo");
		break;
	case MLT_MAIL:
		/* A new transaction: the earlier one's hits go. */
		score_card_reset(&c->eng->card);
		if (eval(c, NULL, NULL) == SCORE_REJECT)
			refuse(c, MLT_REJECT, 550, "5.7.1", "sender", "mail");
		break;
	case MLT_RCPT:
		if (eval(c, NULL, NULL) == SCORE_REJECT)
			refuse(c, MLT_REJECT, 550, "5.7.1", "recipient",
			    "rcpt");
		else if (grey_start(c))
			return;
		break;
	case MLT_DATA:
		stage_data(c);
		break;
	default:
		fatal("mlt_eng_stage: stage %d", (int)c->stage);
	}
	mlt_done(c);
}
