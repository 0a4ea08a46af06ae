/*
 * eng_sauth.c: sender authentication and DNS lists as engine steps
 * (issue 16): DNSBL/DNSWL on the client address from connect (the banner
 * waits for it: dnsbl_threshold refuses with 554), SPF and RHSBL on the
 * sender and HELO at MAIL (their facts reach the MAIL rules), the SPF
 * policy at RCPT (spf_fail_action reject: 550 5.7.23, RFC 7372), DKIM,
 * DMARC, URIBL and RHSBL on the From domain at DATA before the rules, the
 * DMARC policy (dmarc_enforce: 550 5.7.1 under p=reject, at least the tag
 * verdict under p=quarantine), and the Authentication-Results field.
 *
 * The libraries block on DNS, so every check runs as one job per stage on
 * the bounded pool (engine/sauth_pool.c) and comes back on the loop: a
 * step waits (PENDING) and never blocks the loop.  All the DNS of one
 * message shares auth_deadline; a check that misses it is temperror,
 * which auth_temperror turns into nothing (accept) or a 451.  A front
 * end without a loop (`moatctl scan --dns`) gives io->sauth_sync instead
 * of a pool: the same jobs then run on its thread, and no step waits.
 * moatd's loops have io->sauth_fast: a job whose answers are all in the
 * pool's cache runs on the loop (no DNS, so no wait) and skips the two
 * thread hand-offs; only a job that needs DNS goes to the pool.
 *
 * Does not: know a session, a socket or a reply buffer (the milter uses
 * the same steps); judge a trusted or authenticated client (no checks,
 * no header); write the message: the front end adds the field
 * eng_sauth_header() gives, after removing forged ones.
 *
 * Invariants: at most one job in flight per eng_tx (each stage that
 * starts one waits for it before the next stage can start, except
 * connect's, which the banner waits for); its callback carries the tx,
 * and eng_tx_free cancels it first (eng_sauth_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "policy.h"
#include "xmalloc.h"
#include "eng_sauth.h"
#include "eng_steps.h"
#include "engine.h"
#include "engine/sauth.h"
#include "engine/sauth_pool.h"

struct eng_sauth {
	struct sauth_req	*req;		/* the job in flight, or NULL */
	int64_t			 req_start;	/* when it was queued */
	/* connect: the client address on dnsbl_sites */
	int			 dnsbl_w;
	struct sbuf		 conn_facts;	/* " DNSBL_HIT dnsbl:ZONE" */
	/* the transaction */
	int			 ran;		/* the checks run for it */
	long			 budget_ms;	/* of auth_deadline, left */
	struct sauth_results	 res;
	struct sbuf		 tx_facts;	/* its list words */
	struct sbuf		 ar;		/* Authentication-Results */
};

static struct eng_sauth *
st_get(struct eng_tx *tx)
{
	if (tx->sauth == NULL)
		tx->sauth = xcalloc(1, sizeof(*tx->sauth));
	return tx->sauth;
}

/* The checks are for mail from outside only. */
static int
applies(const struct eng_tx *tx)
{
	return (tx->io->sauth != NULL || tx->io->sauth_sync != NULL) &&
	    tx->client_known && !tx->trusted &&
	    tx->auth_login == NULL;
}

static int
has_sites(const char *spec)
{
	return spec != NULL && spec[strspn(spec, " \t")] != '\0';
}

static void
job_cancel(struct eng_tx *tx)
{
	if (tx->sauth != NULL) {
		sauth_cancel(tx->sauth->req);
		tx->sauth->req = NULL;
	}
}

void
eng_sauth_tx_end(struct eng_tx *tx)
{
	struct eng_sauth *st = tx->sauth;

	if (st == NULL)
		return;
	/* Only connect's job may outlive a stage, and it belongs to the
	 * session: a transaction's job is waited for at its stage. */
	st->ran = 0;
	st->budget_ms = 0;
	sauth_results_init(&st->res);
	sbuf_reset(&st->tx_facts);
	sbuf_reset(&st->ar);
}

void
eng_sauth_free(struct eng_tx *tx)
{
	struct eng_sauth *st = tx->sauth;

	if (st == NULL)
		return;
	job_cancel(tx);
	sbuf_free(&st->conn_facts);
	sbuf_free(&st->tx_facts);
	sbuf_free(&st->ar);
	free(st);
	tx->sauth = NULL;
}

int
eng_sauth_enabled(const struct config *cfg)
{
	return cfg->spf || cfg->dkim || cfg->dmarc ||
	    has_sites(cfg->dnsbl_sites) || has_sites(cfg->rhsbl_sites) ||
	    has_sites(cfg->uribl_sites);
}

int
eng_sauth_needs_msg(const struct config *cfg)
{
	return has_sites(cfg->uribl_sites);
}

const char *
eng_sauth_authserv_id(const struct config *cfg)
{
	return cfg->authserv_id != NULL ? cfg->authserv_id : cfg->hostname;
}

/* Whether name is d or below it (case-insensitive). */
static int
domain_under(const char *name, const char *d, size_t dl)
{
	size_t nl = strlen(name);

	if (nl < dl || strncasecmp(name + nl - dl, d, dl) != 0)
		return 0;
	return nl == dl || name[nl - dl - 1] == '.';
}

/*
 * A known forwarder or list (dmarc_forwarders): the client's verified
 * name, or the domain SPF authorised it to send for, is one of them.
 * They break DMARC alignment by design; enforcement never refuses them.
 */
static int
forwarder(const struct eng_tx *tx)
{
	const char *p = tx->cfg->dmarc_forwarders;
	const struct sauth_results *r = &tx->sauth->res;
	size_t n;

	if (p == NULL)
		return 0;
	for (;;) {
		p += strspn(p, " \t");
		if ((n = strcspn(p, " \t")) == 0)
			return 0;
		if ((tx->client_name != NULL &&
		    domain_under(tx->client_name, p, n)) ||
		    (r->spf == SAUTH_PASS && r->spf_domain[0] != '\0' &&
		    domain_under(r->spf_domain, p, n)))
			return 1;
		p += n;
	}
}

/* The banner: the client's summed list weights against the threshold. */
static void
decide_connect(struct eng_tx *tx)
{
	struct eng_sauth *st = tx->sauth;

	/* Not where clients log in: a submission client on a dynamic
	 * address is on the policy lists by design (their hits still
	 * score until it authenticates). */
	if (st == NULL || st->dnsbl_w <= 0 ||
	    st->dnsbl_w < tx->cfg->dnsbl_threshold || tx->auth_listener)
		return;
	/* RFC 5321 3.1: 554 instead of the banner, then close. */
	snprintf(tx->out.text, sizeof(tx->out.text), "%s Service refused: "
	    "client [%s] is listed by DNS block lists", tx->cfg->hostname,
	    tx->client_str);
	eng_refuse(tx, 554, "5.7.1", "stage", "connect");
	tx->out.close = 1;
	tx->out.reason = "dnsbl";
}

/* The message: DMARC's policy when enforced, the temperror policy. */
static void
decide_data(struct eng_tx *tx)
{
	struct eng_sauth *st = tx->sauth;
	const struct sauth_results *r = &st->res;

	sbuf_reset(&st->ar);
	sauth_ar_write(eng_sauth_authserv_id(tx->cfg), r, &st->ar);
	if (tx->cfg->dmarc_enforce && r->dmarc == SAUTH_FAIL &&
	    r->dmarc_policy == SAUTH_P_REJECT && !forwarder(tx)) {
		snprintf(tx->out.text, sizeof(tx->out.text), "DMARC policy of "
		    "%s rejects this message", r->from_domain);
		eng_refuse(tx, 550, "5.7.1", "stage", "data");
		tx->out.verdict = "reject";
		tx->out.reason = "dmarc";
		return;
	}
	if (tx->cfg->auth_temperror == CFG_AUTH_TEMP_TEMPFAIL &&
	    r->dmarc == SAUTH_TEMPERROR) {
		snprintf(tx->out.text, sizeof(tx->out.text), "DMARC check of "
		    "%s failed (DNS), try again later", r->from_domain);
		eng_refuse(tx, 451, "4.4.3", "stage", "data");
		tx->out.verdict = "tempfail";
		tx->out.reason = "temperror";
	}
}

static void
copy_spf(struct sauth_results *dst, const struct sauth_results *src)
{
	dst->spf = src->spf;
	dst->spf_helo = src->spf_helo;
	memcpy(dst->spf_domain, src->spf_domain, sizeof(dst->spf_domain));
	memcpy(dst->helo, src->helo, sizeof(dst->helo));
}

/* Append to dst each word of src it does not hold yet. */
static void
facts_merge(struct sbuf *dst, const struct sbuf *src)
{
	const char *p = src->p, *end = p + src->len, *w, *q, *dend;
	size_t n;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		for (w = p; p < end && *p != ' '; p++)
			;
		if ((n = (size_t)(p - w)) == 0)
			continue;
		for (q = dst->p, dend = q + dst->len; q != NULL && q < dend;
		    q++) {
			if ((q == dst->p || q[-1] == ' ') &&
			    (size_t)(dend - q) >= n && memcmp(q, w, n) == 0 &&
			    (q + n == dend || q[n] == ' '))
				break;
		}
		if (q != NULL && q < dend)
			continue;
		sbuf_addc(dst, ' ');
		sbuf_add(dst, w, n);
	}
}

/* Keep what a job found. */
static void
job_keep(struct eng_tx *tx, const struct sauth_job *j)
{
	struct eng_sauth *st = tx->sauth;

	if (j->what & SAUTH_DO_DNSBL) {
		st->dnsbl_w = j->dnsbl_w;
		sbuf_add(&st->conn_facts, j->facts->p, j->facts->len);
	} else {
		st->budget_ms -= (long)(clock_mono_ms() - st->req_start);
		if (j->what & SAUTH_DO_SPF)
			copy_spf(&st->res, &j->res);
		/* A job of the message carried the SPF results in. */
		if (j->msg != NULL)
			st->res = j->res;
		/* MAIL's and DATA's jobs may both ask about one domain. */
		facts_merge(&st->tx_facts, j->facts);
	}
}

/* A job came back (on tx's loop): keep what it found, and resume the
 * stage waiting for it. */
static void
job_done(void *arg, struct sauth_job *j)
{
	struct eng_tx *tx = arg;

	tx->sauth->req = NULL;
	job_keep(tx, j);
	if (!tx->pending || tx->cancel != job_cancel)
		return;
	if (tx->stage == ENG_BANNER)
		decide_connect(tx);
	else if (tx->stage == ENG_DATA)
		decide_data(tx);
	eng_resume(tx);
}

/*
 * Queue j for tx; 0, or -1 when the pool's queue is full (j freed).  Run
 * here instead, keeping its results, and 1 (the caller decides at once):
 * by an io without a loop (sauth_sync, blocking), and by the loop's
 * context when every answer j needs is cached (sauth_fast: no wait).
 */
static int
submit(struct eng_tx *tx, struct sauth_job *j)
{
	struct eng_sauth *st = st_get(tx);
	struct eng_io *io = tx->io;

	st->req_start = clock_mono_ms();
	if (io->sauth == NULL)
		sauth_job_run(io->sauth_sync, j);
	if (io->sauth == NULL || (io->sauth_fast != NULL &&
	    sauth_job_try(io->sauth_fast, j) == 0)) {
		job_keep(tx, j);
		sauth_job_free(j);
		return 1;
	}
	st->req = sauth_pool_submit(tx->io->sauth, tx->io->base, j, job_done,
	    tx);
	return st->req != NULL ? 0 : -1;
}

/* connect: start the DNS lists on the client address; the banner waits. */
enum eng_ret
eng_sauth_connect(struct eng_tx *tx, struct eng_io *io)
{
	struct sauth_job *j;
	char msg[128];

	(void)io;
	if (!applies(tx) || !has_sites(tx->cfg->dnsbl_sites))
		return ENG_DONE;
	j = sauth_job_new(SAUTH_DO_DNSBL);
	sauth_job_set(j, tx->client_str, NULL, NULL, NULL, 0);
	j->deadline = clock_mono_ms() + tx->cfg->auth_deadline_ms;
	if (sauth_job_sites(j, SAUTH_DO_DNSBL, tx->cfg->dnsbl_sites, msg,
	    sizeof(msg)) == -1) {
		/* The config was checked with the same parser. */
		sauth_job_free(j);
		return ENG_DONE;
	}
	/* A full queue: no list spoke (RFC 5782 5: never block on one). */
	(void)submit(tx, j);
	return ENG_DONE;
}

enum eng_ret
eng_sauth_dnsbl(struct eng_tx *tx, struct eng_io *io)
{
	(void)io;
	if (tx->sauth != NULL && tx->sauth->req != NULL) {
		tx->cancel = job_cancel;
		return ENG_PENDING;
	}
	decide_connect(tx);
	return ENG_DONE;
}

/* MAIL: SPF (the HELO identity when MAIL FROM is null) and RHSBL. */
enum eng_ret
eng_sauth_mail(struct eng_tx *tx, struct eng_io *io)
{
	const struct config *cfg = tx->cfg;
	struct eng_sauth *st;
	struct sauth_job *j;
	unsigned what = 0;
	char msg[128];

	(void)io;
	if (!applies(tx) || !eng_sauth_enabled(cfg))
		return ENG_DONE;
	st = st_get(tx);
	/* Connect's lists are waited for at the banner; a front end that
	 * skipped that stage loses them rather than two jobs in flight. */
	job_cancel(tx);
	eng_sauth_tx_end(tx);
	st->ran = 1;
	st->budget_ms = cfg->auth_deadline_ms;
	if (cfg->spf)
		what |= SAUTH_DO_SPF;
	if (has_sites(cfg->rhsbl_sites))
		what |= SAUTH_DO_RHSBL;
	if (what == 0)
		return ENG_DONE;
	j = sauth_job_new(what);
	sauth_job_set(j, tx->client_str, tx->helo[0] != '\0' ? tx->helo :
	    NULL, tx->mail_from, NULL, 0);
	j->deadline = clock_mono_ms() + st->budget_ms;
	(void)sauth_job_sites(j, SAUTH_DO_RHSBL, cfg->rhsbl_sites, msg,
	    sizeof(msg));
	switch (submit(tx, j)) {
	case -1:
		if (cfg->spf)
			st->res.spf = st->res.spf_helo = SAUTH_TEMPERROR;
		return ENG_DONE;
	case 1:
		return ENG_DONE;
	}
	tx->cancel = job_cancel;
	return ENG_PENDING;
}

/* RCPT: the SPF policy, per recipient (RFC 7372 3.2: 5.7.23). */
enum eng_ret
eng_sauth_rcpt(struct eng_tx *tx, struct eng_io *io)
{
	const struct sauth_results *r;
	const char *dom;

	(void)io;
	if (tx->sauth == NULL || !tx->sauth->ran)
		return ENG_DONE;
	r = &tx->sauth->res;
	dom = r->spf_domain[0] != '\0' ? r->spf_domain : r->helo;
	if (r->spf == SAUTH_FAIL &&
	    tx->cfg->spf_fail_action == CFG_SPF_REJECT) {
		snprintf(tx->out.text, sizeof(tx->out.text), "<%s>: SPF of %s "
		    "does not allow [%s] to send its mail", tx->rcpt_cur, dom,
		    tx->client_str);
		eng_refuse(tx, 550, "5.7.23", "rcpt", tx->rcpt_cur);
	} else if (r->spf == SAUTH_TEMPERROR &&
	    tx->cfg->auth_temperror == CFG_AUTH_TEMP_TEMPFAIL) {
		snprintf(tx->out.text, sizeof(tx->out.text), "<%s>: SPF check "
		    "of %s failed (DNS), try again later", tx->rcpt_cur, dom);
		eng_refuse(tx, 451, "4.4.3", "rcpt", tx->rcpt_cur);
	}
	return ENG_DONE;
}

/* DATA, before the rules: DKIM, DMARC, URIBL, RHSBL on the From domain. */
enum eng_ret
eng_sauth_data(struct eng_tx *tx, struct eng_io *io)
{
	const struct config *cfg = tx->cfg;
	struct eng_sauth *st = tx->sauth;
	const struct msg_str *u;
	struct sauth_job *j;
	unsigned what = 0;
	size_t nu;
	char msg[128];

	(void)io;
	if (st == NULL || !st->ran || tx->raw == NULL)
		return ENG_DONE;
	if (cfg->dkim)
		what |= SAUTH_DO_DKIM;
	if (cfg->dmarc)
		what |= SAUTH_DO_DMARC;
	if (has_sites(cfg->uribl_sites) && tx->msg != NULL)
		what |= SAUTH_DO_URIBL;
	if (has_sites(cfg->rhsbl_sites))
		what |= SAUTH_DO_RHSBL;
	if (what == 0) {
		decide_data(tx);
		return ENG_DONE;
	}
	j = sauth_job_new(what);
	/* The From domain comes from the message; DMARC needs the address. */
	sauth_job_set(j, tx->client_str, NULL, NULL, tx->raw, tx->raw_len);
	j->res = st->res;
	j->deadline = clock_mono_ms() + (st->budget_ms > 0 ? st->budget_ms :
	    0);
	(void)sauth_job_sites(j, SAUTH_DO_RHSBL, cfg->rhsbl_sites, msg,
	    sizeof(msg));
	if (what & SAUTH_DO_URIBL) {
		(void)sauth_job_sites(j, SAUTH_DO_URIBL, cfg->uribl_sites, msg,
		    sizeof(msg));
		u = msg_uris(tx->msg, &nu);
		sauth_job_uris(j, u, nu);
	}
	switch (submit(tx, j)) {
	case -1:
		if (cfg->dmarc)
			st->res.dmarc = SAUTH_TEMPERROR;
		/* FALLTHROUGH */
	case 1:
		decide_data(tx);
		return ENG_DONE;
	}
	tx->cancel = job_cancel;
	return ENG_PENDING;
}

/*
 * DATA, after the rules: dmarc_enforce under p=quarantine puts a message
 * the rules accepted into the tag band (X-Spam-Flag, subject prefix), by
 * a hit that lifts its score to the tag threshold.
 */
enum eng_ret
eng_sauth_band(struct eng_tx *tx, struct eng_io *io)
{
	const struct sauth_results *r;
	struct score_thresholds t;
	double need;

	(void)io;
	if (tx->sauth == NULL || !tx->sauth->ran || !tx->cfg->dmarc_enforce)
		return ENG_DONE;
	r = &tx->sauth->res;
	if (r->dmarc != SAUTH_FAIL || r->dmarc_policy != SAUTH_P_QUARANTINE ||
	    tx->verdict != SCORE_ACCEPT || forwarder(tx))
		return ENG_DONE;
	policy_thresholds(tx->cfg, tx->auth_login != NULL, &t);
	if (!t.tag_on)
		return ENG_DONE;
	need = t.tag - score_card_total(&tx->card);
	score_card_add(&tx->card, "DMARC_QUARANTINE_BAND", need > 0 ? need : 0,
	    1, "DMARC p=quarantine enforced: at least the tag verdict",
	    "auth");
	tx->verdict = SCORE_TAG;
	sbuf_reset(&tx->hdr);
	score_headers(&tx->card, &t, "\r\n", &tx->hdr);
	return ENG_DONE;
}

void
eng_sauth_facts(const struct eng_tx *tx, struct sbuf *out)
{
	const struct eng_sauth *st = tx->sauth;
	struct sauth_results r;

	if (st == NULL || tx->auth_login != NULL)
		return;
	sbuf_add(out, st->conn_facts.p, st->conn_facts.len);
	if (!tx->in_tx || !st->ran)
		return;
	/* spf_fail_action off: an SPF fail neither refuses nor scores (the
	 * header and the log still say fail). */
	r = st->res;
	if (tx->cfg->spf_fail_action == CFG_SPF_OFF && r.spf == SAUTH_FAIL)
		r.spf = SAUTH_SKIPPED;
	sauth_facts(&r, out);
	sbuf_add(out, st->tx_facts.p, st->tx_facts.len);
}

const struct sbuf *
eng_sauth_header(const struct eng_tx *tx)
{
	if (tx->sauth == NULL || !tx->sauth->ran || tx->sauth->ar.len == 0)
		return NULL;
	return &tx->sauth->ar;
}

/* The "kind:ZONE" words of facts, comma-separated, appended to out. */
static void
list_words(const struct sbuf *facts, struct sbuf *out)
{
	const char *p = facts->p, *end = p + facts->len, *w;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		for (w = p; p < end && *p != ' '; p++)
			;
		if (memchr(w, ':', (size_t)(p - w)) == NULL)
			continue;
		if (out->len > 0)
			sbuf_addc(out, ',');
		sbuf_add(out, w, (size_t)(p - w));
	}
}

void
eng_sauth_log_fields(const struct eng_tx *tx,
    void (*add)(void *arg, const char *key, const char *val), void *arg)
{
	const struct eng_sauth *st = tx->sauth;
	const struct sauth_results *r;
	struct sbuf v = SBUF_INIT;
	int i;

	if (st == NULL)
		return;
	r = &st->res;
	if (st->ran && r->spf != SAUTH_SKIPPED)
		add(arg, "spf", sauth_res_name(r->spf));
	if (st->ran && (r->nsigs > 0 || r->dmarc != SAUTH_SKIPPED)) {
		for (i = 0; i < r->nsigs; i++)
			sbuf_printf(&v, "%s%s(d=%s)", i ? "," : "",
			    sauth_res_name(r->sigs[i].res), r->sigs[i].domain);
		sbuf_addc(&v, '\0');
		add(arg, "dkim", r->nsigs > 0 ? v.p : "none");
		sbuf_reset(&v);
	}
	if (st->ran && r->dmarc != SAUTH_SKIPPED) {
		sbuf_printf(&v, "%s", sauth_res_name(r->dmarc));
		if (r->dmarc == SAUTH_FAIL)
			sbuf_printf(&v, "(p=%s)",
			    r->dmarc_policy == SAUTH_P_REJECT ? "reject" :
			    r->dmarc_policy == SAUTH_P_QUARANTINE ?
			    "quarantine" : "none");
		sbuf_addc(&v, '\0');
		add(arg, "dmarc", v.p);
		sbuf_reset(&v);
	}
	list_words(&st->conn_facts, &v);
	if (st->ran)
		list_words(&st->tx_facts, &v);
	if (v.len > 0) {
		sbuf_addc(&v, '\0');
		add(arg, "lists", v.p);
	}
	sbuf_free(&v);
}

/*
 * The pool both daemons run the checks on: its threads ask dns_resolver
 * (resolv.conf's servers without one) with dns_timeout per query.  Every
 * check is on in the pool; the reloadable keys (spf, dkim, dmarc, the
 * lists) decide per message.  Built once, after the privilege drop: a new
 * dns_resolver takes a restart, as for the other DNS.  A pool that cannot
 * be made (no Public Suffix List, an IPv6 resolver) leaves the checks
 * off, loudly, rather than the daemon.
 */
struct sauth_pool *
eng_sauth_pool_setup(const struct config *cfg)
{
	struct sauth_cfg sc;
	struct sauth_pool *p;
	char msg[256];

	memset(&sc, 0, sizeof(sc));
	sc.resolver = cfg->dns_resolver != NULL ? cfg->dns_resolver :
	    SAUTH_RESOLVER_SYSTEM;
	sc.timeout_ms = cfg->dns_timeout_ms;
	sc.spf = sc.dkim = sc.dmarc = 1;
	if ((p = sauth_pool_new(&sc, SAUTH_POOL_THREADS, SAUTH_POOL_QUEUE, msg,
	    sizeof(msg))) == NULL)
		log_warn("sender authentication off (SPF, DKIM, DMARC, DNS "
		    "lists): %s", msg);
	return p;
}
