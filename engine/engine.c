/*
 * engine.c: the step driver and the facts of a transaction (engine.h).
 *
 * eng_stage() walks the step table (eng_steps.h) for one stage: each step
 * runs, decides (tx->out) or not, and returns DONE or PENDING; a pending
 * step's I/O completion calls eng_resume(), which goes on with the next
 * row.  The stage ends at the first step that decides, or after the last
 * row, with one call of the front end's done_fn.
 *
 * It does not know any check: those are the rows' functions, in their own
 * files (eng_rate.c, eng_grey.c, eng_rules.c, eng_dns.c, eng_bayes.c).  It
 * never writes to a socket and never blocks.
 * Invariants: at most one stage of a tx runs at a time; done_fn is called
 * exactly once per eng_stage(); after done_fn is called the driver touches
 * nothing of tx (done_fn may free it); a freed tx gets no completion
 * (eng_tx_free cancels the pending step's I/O).
 */
#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moat_conf.h"
#include "eng_sauth.h"
#include "eng_steps.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

static const struct eng_step eng_steps[] = {
#define ENG_STEP_ROW(stage, name, wait, fn)	{ stage, name, wait, fn },
	ENG_STEP_LIST(ENG_STEP_ROW)
#undef ENG_STEP_ROW
};
#define ENG_NSTEPS	(sizeof(eng_steps) / sizeof(eng_steps[0]))

const char *
eng_stage_name(enum eng_stage st)
{
	static const char *const names[] = {
#define ENG_STAGE_NAME(e, name)	name,
		ENG_STAGE_LIST(ENG_STAGE_NAME)
#undef ENG_STAGE_NAME
	};

	if ((size_t)st >= sizeof(names) / sizeof(names[0]))
		return "INVALID";
	return names[st];
}

/* ---- the facts ---------------------------------------------------------- */

struct eng_tx *
eng_tx_new(const struct config *cfg, const struct rule_set *rules,
    struct eng_io *io, const char *sid)
{
	struct eng_tx *tx = xcalloc(1, sizeof(*tx));

	tx->cfg = cfg;
	tx->rules = rules;
	tx->io = io;
	snprintf(tx->sid, sizeof(tx->sid), "%s", sid);
	snprintf(tx->client_str, sizeof(tx->client_str), "unknown");
	tx->dns_status = DNS_ST_OFF;
	tx->helo_arg = "";
	score_card_init(&tx->card);
	return tx;
}

/* Stop the pending step's I/O: no completion may come for tx after this. */
static void
eng_cancel(struct eng_tx *tx)
{
	if (tx->cancel != NULL)
		tx->cancel(tx);
	tx->cancel = NULL;
	tx->pending = 0;
}

void
eng_tx_free(struct eng_tx *tx)
{
	if (tx == NULL)
		return;
	eng_cancel(tx);
	/* A lookup nobody waits for yet (started at connect) goes too. */
	if (tx->dnsq != NULL)
		dns_cancel(tx->dnsq);
	if (tx->timer != NULL)
		event_free(tx->timer);
	eng_tx_end(tx);
	eng_sauth_free(tx);
	score_card_free(&tx->card);
	free(tx->auth_login);
	free(tx->auth_try);
	free(tx->client_name);
	free(tx->client_ptr);
	free(tx);
}

void
eng_tx_client(struct eng_tx *tx, const struct netaddr *addr, int port,
    int auth_listener)
{
	tx->has_conn = 1;
	tx->auth_listener = auth_listener;
	tx->client_port = port;
	if (addr == NULL) {
		tx->client_known = 0;
		snprintf(tx->client_str, sizeof(tx->client_str), "unknown");
		tx->trusted = 0;
		return;
	}
	tx->client = *addr;
	tx->client_known = 1;
	netaddr_str(&tx->client, tx->client_str, sizeof(tx->client_str));
	tx->trusted = cidr_list_match(&tx->cfg->trusted_networks, addr);
}

void
eng_tx_client_name(struct eng_tx *tx, const char *name)
{
	free(tx->client_name);
	tx->client_name = name ? xstrdup(name) : NULL;
	/* eng_dns_start looks up only from DNS_ST_OFF: this is final. */
	tx->dns_status = name ? DNS_ST_OK : DNS_ST_NONE;
}

void
eng_tx_pregreet(struct eng_tx *tx, int on)
{
	tx->pregreet = on;
}

void
eng_tx_tls(struct eng_tx *tx, int on)
{
	tx->tls = on;
}

void
eng_tx_helo(struct eng_tx *tx, const char *name, const char *arg)
{
	snprintf(tx->helo, sizeof(tx->helo), "%s", name ? name : "");
	tx->helo_arg = arg ? arg : "";
}

void
eng_tx_auth(struct eng_tx *tx, const char *login)
{
	free(tx->auth_login);
	tx->auth_login = login ? xstrdup(login) : NULL;
}

void
eng_tx_auth_try(struct eng_tx *tx, const char *login)
{
	free(tx->auth_try);
	tx->auth_try = login ? xstrdup(login) : NULL;
}

void
eng_tx_mail(struct eng_tx *tx, const char *from, unsigned long long size,
    int body8, int smtputf8)
{
	eng_tx_end(tx);
	tx->in_tx = 1;
	tx->mail_from = xstrdup(from);
	tx->size_decl = size;
	tx->body8 = body8;
	tx->smtputf8 = smtputf8;
	tx->verdict = SCORE_ACCEPT;
}

static void
eng_path_free(struct smtp_path *p)
{
	if (p == NULL)
		return;
	free(p->local);
	free(p->domain);
	free(p->addr);
	free(p);
}

void
eng_tx_rcpt(struct eng_tx *tx, const char *rcpt)
{
	free(tx->rcpt_cur);
	tx->rcpt_cur = rcpt ? xstrdup(rcpt) : NULL;
	eng_path_free(tx->rcpt_path);
	tx->rcpt_path = NULL;
}

void
eng_tx_rcpt_path(struct eng_tx *tx, const struct smtp_path *path)
{
	struct smtp_path *p;

	eng_tx_rcpt(tx, path->addr);
	p = xcalloc(1, sizeof(*p));
	*p = *path;
	p->local = path->local ? xstrdup(path->local) : NULL;
	p->domain = path->domain ? xstrdup(path->domain) : NULL;
	p->addr = xstrdup(path->addr);
	tx->rcpt_path = p;
}

void
eng_tx_rcpt_accepted(struct eng_tx *tx)
{
	if (tx->rcpt_cur == NULL)
		return;
	tx->rcpt = xreallocarray(tx->rcpt, tx->nrcpt + 1, sizeof(*tx->rcpt));
	tx->rcpt[tx->nrcpt++] = tx->rcpt_cur;
	tx->rcpt_cur = NULL;
	eng_tx_rcpt(tx, NULL);
}

void
eng_tx_message(struct eng_tx *tx, const struct msg *m, const char *raw,
    size_t len)
{
	tx->msg = m;
	tx->raw = raw;
	tx->raw_len = len;
}

void
eng_tx_end(struct eng_tx *tx)
{
	size_t i;

	for (i = 0; i < tx->nrcpt; i++)
		free(tx->rcpt[i]);
	free(tx->rcpt);
	tx->rcpt = NULL;
	tx->nrcpt = 0;
	eng_tx_rcpt(tx, NULL);
	free(tx->mail_from);
	tx->mail_from = NULL;
	tx->in_tx = 0;
	tx->msg = NULL;
	tx->raw = NULL;
	tx->raw_len = 0;
	score_card_reset(&tx->card);
	tx->grey = NULL;
	tx->bayes_known = 0;
	tx->bayes_p = 0;
	tx->bayes_err[0] = '\0';
	tx->bayes_ns = 0;
	tx->verdict = SCORE_ACCEPT;
	sbuf_free(&tx->hdr);
	eng_sauth_tx_end(tx);
}

/* ---- the driver --------------------------------------------------------- */

/*
 * Run the stage's rows from tx->step on.  Returns 1 once done_fn has been
 * called (tx may be gone), 0 when a step is pending.
 */
static int
eng_run(struct eng_tx *tx)
{
	const struct eng_step *st;
	eng_done_fn *done;
	void *arg;

	for (; tx->step < ENG_NSTEPS; tx->step++) {
		st = &eng_steps[tx->step];
		if (st->stage != tx->stage)
			continue;
		log_trace(LOG_T_ENGINE, "session=%s %s: %s", tx->sid,
		    eng_stage_name(tx->stage), st->name);
		if (st->fn(tx, tx->io) == ENG_PENDING) {
			tx->pending = 1;
			return 0;
		}
		if (tx->out.act != ENG_CONTINUE)
			break;
	}
	done = tx->done;
	arg = tx->done_arg;
	tx->done = NULL;
	log_trace(LOG_T_ENGINE, "session=%s %s: %s", tx->sid,
	    eng_stage_name(tx->stage), tx->out.act == ENG_CONTINUE ?
	    "continue" : "decided");
	done(arg, tx, &tx->out);
	return 1;
}

enum eng_ret
eng_stage(struct eng_tx *tx, enum eng_stage stage, eng_done_fn *done,
    void *arg)
{
	if (tx->pending || tx->done != NULL)
		fatal("eng_stage %s: stage %s still running",
		    eng_stage_name(stage), eng_stage_name(tx->stage));
	/* The outcome's header; its texts are written only when used. */
	tx->out.act = ENG_CONTINUE;
	tx->out.code = 0;
	tx->out.enh = NULL;
	tx->out.text[0] = '\0';
	tx->out.close = 0;
	tx->out.reason = NULL;
	tx->out.verdict = NULL;
	tx->out.log_key = NULL;
	tx->out.log_val = NULL;
	tx->out.log_reply[0] = '\0';
	tx->stage = stage;
	tx->step = 0;
	tx->done = done;
	tx->done_arg = arg;
	return eng_run(tx) ? ENG_DONE : ENG_PENDING;
}

void
eng_resume(struct eng_tx *tx)
{
	if (!tx->pending)
		fatal("eng_resume: no step of %s is pending",
		    eng_stage_name(tx->stage));
	tx->pending = 0;
	tx->cancel = NULL;
	tx->step++;
	if (tx->out.act != ENG_CONTINUE)
		tx->step = ENG_NSTEPS;
	(void)eng_run(tx);
}

void
eng_cancel_store(struct eng_tx *tx)
{
	if (tx->req != 0)
		store_cancel(tx->io->store, tx->req);
	tx->req = 0;
}

const char *
eng_wait_name(const struct eng_tx *tx)
{
	if (!tx->pending || tx->step >= ENG_NSTEPS)
		return NULL;
	return eng_steps[tx->step].wait;
}
