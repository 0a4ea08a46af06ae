/*
 * milter_cb.c: libmilter's callbacks for moat-milter (issue 15), on
 * libmilter's per-connection threads.
 *
 * Each callback records what the MTA reports (client, HELO, envelope,
 * macros, header fields, body) in the connection's struct mlt_conn, asks
 * the engine for the stage's outcome through the bridge (mlt_call) and
 * answers the MTA: SMFIS_CONTINUE, or a reject/tempfail with moat's own
 * reply through smfi_setreply.  At end of message it makes the header
 * changes of the verdict: the sender's X-Spam-* fields removed
 * (smfi_chgheader with no value), ours added (smfi_addheader), the Subject
 * prefixed, and the message held (smfi_quarantine) in the configured band;
 * with sender authentication, the outside Authentication-Results claiming
 * our authserv-id removed and ours inserted on top (smfi_insheader).
 *
 * It decides nothing itself (milter_eng.c and the engine do), never waits
 * for anything but the bridge, and every wait is bounded: no outcome within
 * milter_timeout is a tempfail, and the MTA applies milter_default_action
 * if moat-milter does not answer at all.
 *
 * One log line per transaction (event=tx) and per connection
 * (event=session) with moatd's keys plus the MTA's queue id (qid=); one
 * event=reject per refusal, as moatd writes.  When libmilter gives up on
 * the MTA's stream (milter_wire.c says why), one warning names what
 * broke, and those lines say status=broken and reason=broken instead of
 * the MTA's abort (aborted) or QUIT (close).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <libmilter/mfapi.h>

#include "clock.h"
#include "eng_sauth.h"
#include "moat_conf.h"
#include "log.h"
#include "milter.h"
#include "netaddr.h"
#include "engine/sauth.h"
#include "score.h"
#include "xmalloc.h"

static struct mlt_conn *
conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static char *
macro_dup(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v && v[0] ? xstrdup(v) : NULL;
}

/* An envelope address as the MTA gives it ("<a@b>"), without brackets. */
static char *
addr_dup(const char *s)
{
	size_t n;

	if (s == NULL)
		return xstrdup("");
	n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return xstrndup(s + 1, n - 2);
	return xstrdup(s);
}

/* Escape '%' for smfi_setreply, which takes it as a format character. */
static void
reply_text(char *out, size_t outsz, const char *in)
{
	size_t o = 0;

	for (; *in && o + 2 < outsz; in++) {
		if (*in == '%')
			out[o++] = '%';
		out[o++] = *in;
	}
	out[o] = '\0';
}

static void
log_reject(struct mlt_conn *c, const char *stage, const char *k,
    const char *v)
{
	struct logline l;
	char reply[64];

	snprintf(reply, sizeof(reply), "%d %s", c->out.code, c->out.ecode);
	logline_begin(&l, "reject");
	logline_str(&l, "session", c->id);
	logline_str(&l, "client", c->client_addr);
	logline_str(&l, "stage", stage);
	if (k)
		logline_str(&l, k, v);
	logline_str(&l, "reply", reply);
	if (c->qid)
		logline_str(&l, "qid", c->qid);
	logline_emit(&l);
}

/* eng_sauth_log_fields' callback: one field of the tx line. */
static void
tx_log_field(void *arg, const char *key, const char *val)
{
	logline_str(arg, key, val);
}

/*
 * The transaction line, once per transaction whoever ends it (end of
 * message, abort, a refused MAIL, the connection's end).
 */
static void
log_tx(struct mlt_conn *c, const char *verdict, const char *status)
{
	struct logline l;
	struct sbuf r = SBUF_INIT;
	int i;

	if (!c->in_tx)
		return;
	c->in_tx = 0;
	for (i = 0; i < c->nrcpt; i++) {
		if (i)
			sbuf_addc(&r, ',');
		sbuf_adds(&r, c->rcpt[i]);
	}
	logline_begin(&l, "tx");
	logline_str(&l, "session", c->id);
	logline_int(&l, "tx", c->ntx);
	logline_str(&l, "client", c->client_addr);
	logline_str(&l, "helo", c->helo);
	logline_str(&l, "tls", c->tls ? c->tls : "no");
	logline_str(&l, "auth", c->auth);
	logline_str(&l, "from", c->from);
	logline_strn(&l, "rcpt", r.p ? r.p : "", r.len);
	logline_int(&l, "nrcpt", c->nrcpt);
	logline_int(&l, "rcpt_refused", c->rcpt_refused);
	logline_int(&l, "size", (long long)c->msg_size);
	logline_dbl(&l, "score", c->out.score);
	logline_strn(&l, "rules", c->out.rules.p ? c->out.rules.p : "",
	    c->out.rules.len);
	logline_str(&l, "verdict", verdict);
	/*
	 * spf= dkim= dmarc= lists= when the checks ran, as moatd's, from
	 * the engine's transaction; not while a timed-out stage still
	 * runs there, nor when this transaction never reached it (then
	 * the engine still holds the one before).
	 */
	if (c->eng != NULL && c->eng_mail && mlt_idle(c))
		eng_sauth_log_fields(c->eng, tx_log_field, &l);
	logline_str(&l, "status", status);
	logline_str(&l, "qid", c->qid);
	logline_int(&l, "ms", clock_mono_ms() - c->tx_start_ms);
	logline_emit(&l);
	sbuf_free(&r);
	mlt_tx_end(c);
}

/*
 * libmilter gave up on the MTA's stream (why: milter_wire.c): one warning
 * with what broke, the session, and the transaction with the MTA's queue
 * id.  libmilter ends that connection (or skips an out-of-order packet);
 * the other connections are not affected.
 */
static void
log_broken(struct mlt_conn *c, const char *why)
{
	if (c->broken)
		return;
	c->broken = 1;
	if (c->in_tx)
		log_warn_session(c->id, "milter stream broke inside "
		    "transaction %d (qid=%s, client=%s): %s; the transaction is "
		    "dropped", c->ntx, c->qid ? c->qid : "unknown",
		    c->client_addr, why);
	else
		log_warn_session(c->id, "milter stream broke outside a "
		    "transaction (client=%s): %s", c->client_addr, why);
}

/* Tell the MTA the outcome's reply; SMFIS_REJECT or SMFIS_TEMPFAIL. */
static sfsistat
refusal(SMFICTX *ctx, struct mlt_conn *c)
{
	char text[2 * MLT_TEXT_MAX + 1], code[8];

	snprintf(code, sizeof(code), "%d", c->out.code);
	reply_text(text, sizeof(text), c->out.text);
	if (smfi_setreply(ctx, code, c->out.ecode, text) != MI_SUCCESS)
		log_warn_session(c->id, "smfi_setreply refused %s %s", code,
		    c->out.ecode);
	return c->out.act == MLT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/*
 * busy: a timed-out request of c is still with the engine, so c's facts
 * may not change: this stage gets no outcome.
 */
static int
busy(struct mlt_conn *c, const char *stage)
{
	if (mlt_idle(c))
		return 0;
	log_warn_session(c->id, "stage %s: the engine is still on an earlier "
	    "request; tempfail", stage);
	return 1;
}

/* No outcome (timeout, engine busy): 451 4.3.0 from us. */
static sfsistat
no_outcome(SMFICTX *ctx, struct mlt_conn *c)
{
	c->out.act = MLT_TEMPFAIL;
	c->out.code = 451;
	snprintf(c->out.ecode, sizeof(c->out.ecode), "4.3.0");
	snprintf(c->out.text, sizeof(c->out.text), "Error: the filter is "
	    "busy, try again later");
	return refusal(ctx, c);
}

/* ---- negotiation ----------------------------------------------------------- */

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	/* What moat does not need, the MTA may skip. */
	unsigned long skip = SMFIP_NOUNKNOWN | SMFIP_NODATA;
	struct mlt_conn *c;

	(void)f2;
	(void)f3;
	if ((f0 & want) != want) {
		log_warn("milter: the MTA does not offer header changes, "
		    "quarantine and macro lists (actions 0x%lx); moat-milter "
		    "needs milter protocol 6 (Postfix >= 2.6)", f0);
		return SMFIS_REJECT;
	}
	*pf0 = want;
	/*
	 * Leading spaces of header values are kept: the message as sent,
	 * and the values we add or change carry their own.
	 */
	*pf1 = (f1 & skip) | (f1 & SMFIP_HDR_LEADSPC);
	if ((c = conn_of(ctx)) == NULL) {
		c = mlt_conn_new();
		smfi_setpriv(ctx, c);
	}
	c->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	*pf2 = *pf3 = 0;
	if (smfi_setsymlist(ctx, SMFIM_CONNECT,
	    "{daemon_name} {client_addr} {client_name}") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_HELO, "{tls_version}") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_ENVFROM,
	    "i {auth_authen} {tls_version}") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_EOH, "i") != MI_SUCCESS ||
	    smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
		log_warn("milter: cannot ask the MTA for moat's macros");
	return SMFIS_CONTINUE;
}

/* ---- connection -------------------------------------------------------------- */

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct mlt_conn *c = conn_of(ctx);
	struct netaddr a;
	char buf[64];

	/* Made at negotiation, or here for an MTA that does not negotiate. */
	if (c == NULL) {
		c = mlt_conn_new();
		smfi_setpriv(ctx, c);
	}
	c->connected = 1;
	if (sa != NULL && netaddr_from_sockaddr(&a, sa) == 0)
		c->client_addr = xstrdup(netaddr_str(&a, buf, sizeof(buf)));
	else if ((c->client_addr = macro_dup(ctx, "{client_addr}")) == NULL)
		c->client_addr = xstrdup("");
	/*
	 * Postfix gives the verified name, or "unknown"; Sendmail gives
	 * "[addr]" when it has none.
	 */
	if ((c->client_name = macro_dup(ctx, "{client_name}")) == NULL &&
	    hostname != NULL)
		c->client_name = xstrdup(hostname);
	if (c->client_name && (strcmp(c->client_name, "unknown") == 0 ||
	    c->client_name[0] == '[')) {
		free(c->client_name);
		c->client_name = NULL;
	}
	c->daemon_name = macro_dup(ctx, "{daemon_name}");
	if (mlt_call(c, MLT_CONNECT) == -1)
		return no_outcome(ctx, c);
	if (c->out.act != MLT_CONTINUE) {
		log_reject(c, "connect", NULL, NULL);
		return refusal(ctx, c);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct mlt_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (busy(c, "helo"))
		return no_outcome(ctx, c);
	free(c->helo);
	c->helo = xstrdup(helo ? helo : "");
	free(c->tls);
	c->tls = macro_dup(ctx, "{tls_version}");
	if (mlt_call(c, MLT_HELO) == -1)
		return no_outcome(ctx, c);
	if (c->out.act != MLT_CONTINUE) {
		log_reject(c, "helo", "helo", c->helo);
		return refusal(ctx, c);
	}
	return SMFIS_CONTINUE;
}

/* ---- transaction ------------------------------------------------------------- */

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mlt_conn *c = conn_of(ctx);
	char *v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	/* The facts may change only while the engine does not read them. */
	if (busy(c, "mail"))
		return no_outcome(ctx, c);
	log_tx(c, "none", "reset");
	mlt_tx_clear(c);
	c->ntx++;
	c->in_tx = 1;
	c->eng_mail = 0;
	c->broken = 0;
	c->tx_start_ms = clock_mono_ms();
	c->from = addr_dup(argv ? argv[0] : NULL);
	c->qid = macro_dup(ctx, "i");
	if ((v = macro_dup(ctx, "{auth_authen}")) != NULL) {
		free(c->auth);
		c->auth = v;
	}
	if ((v = macro_dup(ctx, "{tls_version}")) != NULL) {
		free(c->tls);
		c->tls = v;
	}
	if (mlt_tx_begin(c) == -1) {
		log_warn_session(c->id, "milter_max_inflight (%d) "
		    "transactions in progress; 451 4.3.2",
		    c->cfg->milter_max_inflight);
		c->out.act = MLT_TEMPFAIL;
		c->out.code = 451;
		snprintf(c->out.ecode, sizeof(c->out.ecode), "4.3.2");
		snprintf(c->out.text, sizeof(c->out.text), "Error: too busy, "
		    "try again later");
		log_reject(c, "mail", "from", c->from);
		log_tx(c, "tempfail", "refused");
		return refusal(ctx, c);
	}
	if (mlt_call(c, MLT_MAIL) == -1) {
		log_tx(c, "tempfail", "timeout");
		return no_outcome(ctx, c);
	}
	c->eng_mail = 1;
	if (c->out.act != MLT_CONTINUE) {
		log_reject(c, "mail", "from", c->from);
		log_tx(c, c->out.act == MLT_REJECT ? "reject" : "tempfail",
		    "refused");
		return refusal(ctx, c);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mlt_conn *c = conn_of(ctx);
	sfsistat r = SMFIS_CONTINUE;

	if (c == NULL || !c->in_tx)
		return SMFIS_TEMPFAIL;
	if (busy(c, "rcpt"))
		return no_outcome(ctx, c);
	if (c->nrcpt == MLT_RCPT_MAX) {
		c->out.act = MLT_TEMPFAIL;
		c->out.code = 452;
		snprintf(c->out.ecode, sizeof(c->out.ecode), "4.5.3");
		snprintf(c->out.text, sizeof(c->out.text), "Error: too many "
		    "recipients");
		return refusal(ctx, c);
	}
	free(c->rcpt_now);
	c->rcpt_now = addr_dup(argv ? argv[0] : NULL);
	if (mlt_call(c, MLT_RCPT) == -1)
		return no_outcome(ctx, c);
	if (c->out.act != MLT_CONTINUE) {
		/* This recipient only: the others stand. */
		log_reject(c, "rcpt", "rcpt", c->rcpt_now);
		c->rcpt_refused++;
		r = refusal(ctx, c);
		free(c->rcpt_now);
	} else
		c->rcpt[c->nrcpt++] = c->rcpt_now;
	c->rcpt_now = NULL;
	return r;
}

/* Append to the message, up to message_size_limit; the rest is counted. */
static void
msg_add(struct mlt_conn *c, const void *p, size_t n)
{
	unsigned long long cap = c->cfg->message_size_limit;

	c->msg_size += n;
	if (cap && c->msg.len + n > cap) {
		c->msg_capped = 1;
		n = c->msg.len < cap ? (size_t)(cap - c->msg.len) : 0;
	}
	sbuf_add(&c->msg, p, n);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mlt_conn *c = conn_of(ctx);

	if (c == NULL || !c->in_tx || !mlt_idle(c))
		return SMFIS_CONTINUE;
	msg_add(c, name, strlen(name));
	msg_add(c, ":", 1);
	/* Without SMFIP_HDR_LEADSPC the MTA dropped the space. */
	if (value[0] != ' ' && value[0] != '\t')
		msg_add(c, " ", 1);
	/* Folds come as LF (Postfix): the message is CRLF throughout. */
	for (const char *p = value; *p; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			msg_add(c, "\r", 1);
		msg_add(c, p, 1);
	}
	msg_add(c, "\r\n", 2);
	if (c->nhdrs < MLT_HDRS_MAX) {
		c->hdrs[c->nhdrs].name = xstrdup(name);
		c->hdrs[c->nhdrs].value = xstrdup(value);
		c->nhdrs++;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct mlt_conn *c = conn_of(ctx);

	if (c != NULL && c->in_tx && mlt_idle(c)) {
		msg_add(c, "\r\n", 2);
		if (c->qid == NULL)
			c->qid = macro_dup(ctx, "i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct mlt_conn *c = conn_of(ctx);

	if (c != NULL && c->in_tx && mlt_idle(c))
		msg_add(c, p, n);
	return SMFIS_CONTINUE;
}

/*
 * The value of the field "Name: value" whose value starts at q and ends
 * at end (folds CRLF TAB), as smfi_addheader takes it: folds as LF, and
 * without LEADSPC no leading space (the MTA puts ": " itself).
 */
static void
hdr_value(const struct mlt_conn *c, const char *q, const char *end,
    struct sbuf *v)
{
	sbuf_reset(v);
	if (!c->leadspc && q < end && *q == ' ')
		q++;
	for (; q < end; q++)
		if (*q != '\r')
			sbuf_addc(v, *q);
	sbuf_addc(v, '\0');
}

/*
 * The sender's Authentication-Results fields with our authserv-id go
 * (RFC 8601 5: from outside they are forgeries, whether or not we add
 * one), then ours goes on top, where the MTA puts its trace fields.
 */
static int
apply_ar(SMFICTX *ctx, struct mlt_conn *c)
{
	static const char arname[] = "Authentication-Results";
	const char *id = eng_sauth_authserv_id(c->cfg);
	const char *p = c->out.ar.p, *colon, *end;
	struct sbuf v = SBUF_INIT;
	int i, j, idx, rc = 0;

	for (i = c->nhdrs - 1; i >= 0; i--) {
		if (strcasecmp(c->hdrs[i].name, arname) != 0)
			continue;
		sbuf_reset(&v);
		sbuf_printf(&v, "%s:%s", c->hdrs[i].name, c->hdrs[i].value);
		if (!sauth_ar_is_ours(v.p, v.len, id))
			continue;
		for (idx = 1, j = 0; j < i; j++)
			if (strcasecmp(c->hdrs[j].name, arname) == 0)
				idx++;
		if (smfi_chgheader(ctx, c->hdrs[i].name, idx, NULL) !=
		    MI_SUCCESS)
			rc = -1;
	}
	if (c->out.ar.len > 0 && (colon = memchr(p, ':', c->out.ar.len)) !=
	    NULL) {
		/* One field, CRLF-terminated: the last CRLF is not its. */
		end = p + c->out.ar.len;
		if (end - colon >= 2 && end[-2] == '\r' && end[-1] == '\n')
			end -= 2;
		hdr_value(c, colon + 1, end, &v);
		if (smfi_insheader(ctx, 0, (char *)arname, v.p) != MI_SUCCESS)
			rc = -1;
	}
	sbuf_free(&v);
	return rc;
}

/*
 * The header changes of a passed message: the sender's X-Spam-* fields go
 * (a sender must not pre-label its own mail), ours come, the Subject gets
 * the prefix when tagged.  Indexes count fields of one name, from 1.
 */
static int
apply_headers(SMFICTX *ctx, struct mlt_conn *c)
{
	const char *p = c->out.headers.p, *end, *colon;
	const char *prefix = c->cfg->subject_prefix;
	struct sbuf v = SBUF_INIT;
	int i, j, idx, rc = 0, subj = 0;

	for (i = c->nhdrs - 1; i >= 0; i--) {
		if (!score_header_is_ours(c->hdrs[i].name,
		    strlen(c->hdrs[i].name)))
			continue;
		for (idx = 1, j = 0; j < i; j++)
			if (strcasecmp(c->hdrs[j].name, c->hdrs[i].name) == 0)
				idx++;
		if (smfi_chgheader(ctx, c->hdrs[i].name, idx, NULL) !=
		    MI_SUCCESS)
			rc = -1;
	}
	/* score_headers writes "Name: value" lines, folded with CRLF TAB. */
	while (p && *p) {
		if ((end = strstr(p, "\r\n")) == NULL)
			end = p + strlen(p);
		while (end[0] == '\r' && (end[2] == '\t' || end[2] == ' '))
			if ((end = strstr(end + 2, "\r\n")) == NULL) {
				end = p + strlen(p);
				break;
			}
		if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL)
			break;
		{
			char *name = xstrndup(p, (size_t)(colon - p));

			hdr_value(c, colon + 1, end, &v);
			if (smfi_addheader(ctx, name, v.p) != MI_SUCCESS)
				rc = -1;
			free(name);
		}
		p = *end ? end + 2 : end;
	}
	if (c->out.verdict == SCORE_TAG && prefix != NULL) {
		for (i = 0; i < c->nhdrs && !subj; i++)
			if (strcasecmp(c->hdrs[i].name, "Subject") == 0) {
				const char *s = c->hdrs[i].value;

				while (*s == ' ' || *s == '\t')
					s++;
				sbuf_reset(&v);
				sbuf_printf(&v, "%s%s%s%s", c->leadspc ? " " :
				    "", prefix, *s ? " " : "", s);
				sbuf_addc(&v, '\0');
				if (smfi_chgheader(ctx, "Subject", 1, v.p) !=
				    MI_SUCCESS)
					rc = -1;
				subj = 1;
			}
		if (!subj) {
			sbuf_reset(&v);
			sbuf_printf(&v, "%s%s", c->leadspc ? " " : "",
			    prefix);
			sbuf_addc(&v, '\0');
			if (smfi_addheader(ctx, "Subject", v.p) != MI_SUCCESS)
				rc = -1;
		}
	}
	sbuf_free(&v);
	return rc;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct mlt_conn *c = conn_of(ctx);
	const char *verdict;
	char why[128];

	if (c == NULL || !c->in_tx)
		return SMFIS_TEMPFAIL;
	if (c->qid == NULL)
		c->qid = macro_dup(ctx, "i");
	if (c->msg_capped)
		log_warn_session(c->id, "message of %zu bytes: only the first "
		    "%llu (message_size_limit) were scored", c->msg_size,
		    c->cfg->message_size_limit);
	if (mlt_call(c, MLT_DATA) == -1) {
		log_tx(c, "tempfail", "timeout");
		return no_outcome(ctx, c);
	}
	verdict = score_verdict_name(c->out.verdict);
	if (c->out.act != MLT_CONTINUE) {
		log_reject(c, "data", NULL, NULL);
		log_tx(c, verdict, "refused");
		return refusal(ctx, c);
	}
	/* Both run: one refused change must not stop the other's. */
	if ((apply_headers(ctx, c) | apply_ar(ctx, c)) == -1)
		log_warn_session(c->id, "the MTA refused a header change");
	if (c->out.quarantine) {
		snprintf(why, sizeof(why), "moat: score %.1f",
		    c->out.score);
		if (smfi_quarantine(ctx, why) != MI_SUCCESS)
			log_warn_session(c->id, "the MTA refused to "
			    "quarantine");
		else
			verdict = "quarantine";
	}
	log_tx(c, verdict, "passed");
	return SMFIS_CONTINUE;
}

/* The MTA's abort (RSET, a client gone), or libmilter's on a broken
 * stream: then status=broken. */
static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct mlt_conn *c = conn_of(ctx);
	const char *why = mlt_wire_broken();

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (why != NULL) {
		log_broken(c, why);
		log_tx(c, "none", "broken");
	} else
		log_tx(c, "none", "aborted");
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct mlt_conn *c = conn_of(ctx);
	const char *why = mlt_wire_broken();
	struct logline l;

	if (c == NULL || !c->connected) {
		/*
		 * Closed before connect: a client that does not speak the
		 * milter protocol, or a broken packet.  Nothing of a session
		 * to log.
		 */
		log_warn("milter: a connection ended before its connect "
		    "stage (broken or foreign milter client): %s",
		    why ? why : "no connect");
		if (c != NULL) {
			smfi_setpriv(ctx, NULL);
			mlt_conn_release(c);
		}
		return SMFIS_CONTINUE;
	}
	smfi_setpriv(ctx, NULL);
	if (why != NULL)
		log_broken(c, why);
	else if (c->in_tx)
		log_warn_session(c->id, "the MTA connection ended inside a "
		    "transaction");
	log_tx(c, "none", why ? "broken" : "lost");
	logline_begin(&l, "session");
	logline_str(&l, "session", c->id);
	logline_str(&l, "client", c->client_addr);
	logline_str(&l, "client_name", c->client_name);
	logline_str(&l, "helo", c->helo);
	logline_str(&l, "tls", c->tls ? c->tls : "no");
	logline_str(&l, "auth", c->auth);
	logline_str(&l, "daemon", c->daemon_name);
	logline_int(&l, "txs", c->ntx);
	logline_str(&l, "reason", why ? "broken" : "close");
	logline_int(&l, "ms", clock_mono_ms() - c->start_ms);
	logline_emit(&l);
	mlt_conn_release(c);
	return SMFIS_CONTINUE;
}

struct smfiDesc mlt_desc = {
	.xxfi_name = "moat-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};
