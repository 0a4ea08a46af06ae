/*
 * eng_rules.c: the rule steps of every stage and the relay decision.
 *
 * Each stage runs the rule set over what is known so far (the client, its
 * name and facts, HELO, MAIL, the recipients, then the message) and scores
 * the hits with score_rules, so moatd, the milter and
 * `moatctl scan` get the same score for the same facts.  A reject score
 * ends the stage with a refusal; at DATA a tempfail score too, and the
 * verdict and X-Spam-* fields go on tx for the front end.
 * It does not rewrite the message or talk to anyone: it sets tx->out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moat_conf.h"
#include "eng_steps.h"
#include "engine.h"
#include "log.h"
#include "policy.h"
#include "relay.h"
#include "rule.h"
#include "xmalloc.h"
#include "eng_sauth.h"

/* A rule set to run: the snapshot's (tx->rules), or the offline front
 * end's (io->rules). */
static int
eng_has_rules(const struct eng_tx *tx)
{
	return tx->io->rules != NULL || tx->rules != NULL;
}

/* Words the rules see as connect-stage facts (rules/default.rules). */
static void
eng_facts(const struct eng_tx *tx, struct sbuf *out)
{
	if (tx->pregreet && tx->cfg->pregreet == CFG_PREGREET_SCORE)
		sbuf_adds(out, "pregreet ");
	if (tx->dns_status == DNS_ST_NONE)
		sbuf_adds(out, "no-rdns ");
	if (tx->dns_status == DNS_ST_UNVERIFIED)
		sbuf_adds(out, "rdns-mismatch ");
	if (tx->trusted)
		sbuf_adds(out, "trusted ");
	/* SPF_PASS, DKIM_VALID, DNSBL_HIT, ... (rules/auth.rules) */
	eng_sauth_facts(tx, out);
	while (out->len && out->p[out->len - 1] == ' ')
		out->p[--out->len] = '\0';
}

/*
 * The rules over env and m, scored (score_rules, as in every front end):
 * the hits replace card's earlier rule hits; the verdict by the config's
 * thresholds (auth_score_* for a logged-in client) or io->th; the X-Spam-*
 * fields appended to hdr when it is not NULL.
 */
static enum score_verdict
eng_score(struct eng_tx *tx, const struct rule_env *env, const struct msg *m,
    struct score_card *card, struct sbuf *hdr)
{
	const struct rule_set *rs = tx->io->rules ? tx->io->rules :
	    tx->rules;
	const struct rule_hit *h = NULL;
	struct score_thresholds t;
	size_t n = 0, i;

	if (tx->io->th != NULL)
		t = *tx->io->th;
	else
		policy_thresholds(tx->cfg, tx->auth_login != NULL, &t);
	if (rs != NULL) {
		h = rule_eval(rs, tx->io->scratch, env, m, &n);
		/* Counted as no hit by score_rules; said here. */
		for (i = 0; i < n; i++)
			if (h[i].flags & RULE_HIT_LIMIT)
				log_warn_session(tx->sid, "rule %s hit the "
				    "PCRE2 match limit and counts as no hit",
				    h[i].name);
		if (m != NULL && tx->io->on_hits != NULL)
			tx->io->on_hits(tx->io->hits_arg, h, n);
	}
	return score_rules(card, h, n, tx->io->score_flags, &t, "\r\n", hdr);
}

/*
 * eng_eval: run the rules over what tx knows so far (and tx->msg at
 * DATA); hits go on card.  extra_rcpt, when not NULL, is a recipient
 * being judged now, seen along with those already accepted.
 */
static enum score_verdict
eng_eval(struct eng_tx *tx, struct score_card *card, const char *extra_rcpt,
    const struct msg *m, struct sbuf *hdr)
{
	struct rule_env env;
	struct sbuf facts = SBUF_INIT;
	const char **rc = NULL;
	enum score_verdict v;
	size_t n = 0, i;

	memset(&env, 0, sizeof(env));
	/* Offline (moatctl scan) there is no connection: its facts stay
	 * unknown (NULL), which no connect rule matches. */
	if (tx->has_conn) {
		eng_facts(tx, &facts);
		env.client_addr = tx->client_str;
		/* A name still being looked up is unknown, not absent. */
		env.client_name = tx->dnsq ? NULL :
		    (tx->client_name ? tx->client_name : "");
		env.facts = facts.p ? facts.p : "";
	}
	env.helo = tx->helo[0] ? tx->helo : NULL;
	if (tx->in_tx) {
		env.mail_from = tx->mail_from;
		rc = xcalloc(tx->nrcpt + 1, sizeof(*rc));
		for (i = 0; i < tx->nrcpt; i++)
			rc[n++] = tx->rcpt[i];
		if (extra_rcpt)
			rc[n++] = extra_rcpt;
		env.rcpt = n ? rc : NULL;
		env.nrcpt = n;
	}
	if (m != NULL) {
		env.bayes_known = tx->bayes_known;
		env.bayes_p = tx->bayes_p;
	}
	v = eng_score(tx, &env, m, card, hdr);
	free(rc);
	sbuf_free(&facts);
	return v;
}

/* The text of a policy refusal; rule names only if the config says so. */
static void
eng_policy_text(const struct eng_tx *tx, const struct score_card *card,
    const char *what, char *buf, size_t bufsz)
{
	struct sbuf t = SBUF_INIT;

	if (tx->cfg->reply_show_rules)
		score_card_tests(card, &t);
	snprintf(buf, bufsz, "Error: %s refused by policy%s%s%s", what,
	    t.len ? " (" : "", t.len ? t.p : "", t.len ? ")" : "");
	sbuf_free(&t);
}

/* A refusal: code, enhanced code, and the event=reject line's fields
 * (every step that refuses uses it: eng_steps.h). */
void
eng_refuse(struct eng_tx *tx, int code, const char *enh, const char *key,
    const char *val)
{
	struct eng_outcome *o = &tx->out;

	o->act = ENG_REPLY;
	o->code = code;
	o->enh = enh;
	o->log_key = key;
	o->log_val = val;
	snprintf(o->log_reply, sizeof(o->log_reply), "%d %s", code, enh);
}

/* The connection, just before the banner: 554 and close (RFC 5321 3.1). */
enum eng_ret
eng_rules_banner(struct eng_tx *tx, struct eng_io *io)
{
	struct score_card card;
	char text[512];

	(void)io;
	if (!eng_has_rules(tx))
		return ENG_DONE;
	score_card_init(&card);
	if (eng_eval(tx, &card, NULL, NULL, NULL) == SCORE_REJECT) {
		eng_policy_text(tx, &card, "connection", text, sizeof(text));
		eng_refuse(tx, 554, "5.7.1", "stage", "connect");
		snprintf(tx->out.text, sizeof(tx->out.text), "%s %s",
		    tx->cfg->hostname, text);
		tx->out.close = 1;
		tx->out.reason = "policy";
	}
	score_card_free(&card);
	return ENG_DONE;
}

/* HELO: judged on a card of its own (no transaction holds it). */
enum eng_ret
eng_rules_helo(struct eng_tx *tx, struct eng_io *io)
{
	struct score_card card;

	(void)io;
	if (!eng_has_rules(tx))
		return ENG_DONE;
	score_card_init(&card);
	if (eng_eval(tx, &card, NULL, NULL, NULL) == SCORE_REJECT) {
		eng_policy_text(tx, &card, "HELO", tx->out.text,
		    sizeof(tx->out.text));
		eng_refuse(tx, 550, "5.7.1", "helo", tx->helo_arg);
	}
	score_card_free(&card);
	return ENG_DONE;
}

/* MAIL: refused before the backend ever hears of it. */
enum eng_ret
eng_rules_mail(struct eng_tx *tx, struct eng_io *io)
{
	(void)io;
	if (!eng_has_rules(tx))
		return ENG_DONE;
	if (eng_eval(tx, &tx->card, NULL, NULL, NULL) == SCORE_REJECT) {
		eng_policy_text(tx, &tx->card, "sender", tx->out.text,
		    sizeof(tx->out.text));
		eng_refuse(tx, 550, "5.7.1", "from", tx->mail_from);
		tx->out.verdict = "reject";
		tx->out.reason = "refused";
	}
	return ENG_DONE;
}

/*
 * The relay decision (DESIGN.md, Safety rules): relay_rcpt_allowed on the
 * recipient as written (its form matters: quoted local parts, routes).
 */
enum eng_ret
eng_relay(struct eng_tx *tx, struct eng_io *io)
{
	struct eng_outcome *o = &tx->out;

	(void)io;
	if (tx->rcpt_path == NULL || relay_rcpt_allowed(tx->rcpt_path,
	    tx->trusted, tx->auth_login != NULL, tx->cfg->local_domains))
		return ENG_DONE;
	o->act = ENG_REPLY;
	o->code = 554;
	o->enh = "5.7.1";
	snprintf(o->text, sizeof(o->text), "<%s>: Relay access denied",
	    tx->rcpt_cur);
	o->log_key = "rcpt";
	o->log_val = tx->rcpt_cur;
	snprintf(o->log_reply, sizeof(o->log_reply), "554 5.7.1 <%s>: Relay "
	    "access denied", tx->rcpt_cur);
	return ENG_DONE;
}

enum eng_ret
eng_rules_rcpt(struct eng_tx *tx, struct eng_io *io)
{
	char text[512];

	(void)io;
	if (!eng_has_rules(tx))
		return ENG_DONE;
	if (eng_eval(tx, &tx->card, tx->rcpt_cur, NULL, NULL) ==
	    SCORE_REJECT) {
		eng_policy_text(tx, &tx->card, "recipient", text,
		    sizeof(text));
		eng_refuse(tx, 550, "5.7.1", "rcpt", tx->rcpt_cur);
		snprintf(tx->out.text, sizeof(tx->out.text), "<%s>: %s",
		    tx->rcpt_cur, text);
		/* The recipient's own rules must not stick to the card. */
		eng_eval(tx, &tx->card, NULL, NULL, NULL);
	}
	return ENG_DONE;
}

/*
 * The message: its score, verdict and X-Spam-* fields (tx->hdr).  It
 * does not decide: Bayes learns from the score first (eng_bayes_learn),
 * then eng_verdict refuses.
 */
enum eng_ret
eng_rules_data(struct eng_tx *tx, struct eng_io *io)
{
	(void)io;
	if (eng_has_rules(tx))
		tx->verdict = eng_eval(tx, &tx->card, NULL, tx->msg,
		    &tx->hdr);
	return ENG_DONE;
}

/* A reject or tempfail verdict refuses the message (DESIGN.md, Verdicts). */
enum eng_ret
eng_verdict(struct eng_tx *tx, struct eng_io *io)
{
	enum score_verdict v = tx->verdict;
	char text[512];

	(void)io;
	if (v != SCORE_REJECT && v != SCORE_TEMPFAIL)
		return ENG_DONE;
	eng_policy_text(tx, &tx->card, "message", text, sizeof(text));
	if (v == SCORE_REJECT) {
		eng_refuse(tx, 550, "5.7.1", "stage", "data");
		snprintf(tx->out.text, sizeof(tx->out.text), "%s", text);
	} else {
		eng_refuse(tx, 451, "4.7.1", "stage", "data");
		snprintf(tx->out.text, sizeof(tx->out.text), "%s, try again "
		    "later", text);
	}
	tx->out.verdict = score_verdict_name(v);
	tx->out.reason = "refused";
	return ENG_DONE;
}
