/*
 * rule_saeval.c: SpamAssassin's local eval: checks, natively.
 *
 * The stock rule files call Perl functions (`header FOO eval:fn(args)`);
 * this file holds the table of those moat runs, each with the semantics of
 * SpamAssassin 4.0.1's Perl (Plugin/HeaderEval.pm, RelayEval.pm,
 * FreeMail.pm, WLBLEval.pm's local lists, Bayes.pm check_bayes; the MIME
 * and HTML ones are in rule_saeval_mime.c and rule_saeval_html.c).  The
 * settings of the stock files they read (freemail_domains,
 * enlist_uri_host, util_rb_2tld...) come through rule_saeval_setting().
 * A call is parsed once at load (its arguments as
 * strings and numbers, a regex argument compiled) and run per message over
 * the message model and the envelope.
 *
 * Dates are taken relative to the message's own timeline (its Date and
 * Received fields), never to the clock, as SA's date checks do; SA's
 * received_within_months, which reads the clock, is not ported.
 *
 * Not done here: network checks (DNS lists, SPF, DKIM), Bayes internals,
 * anything that needs configuration moat does not read (welcomelists,
 * trusted_networks); those calls stay skipped and are counted.
 *
 * Invariants: pure (no clock, no I/O); the conf is immutable once finished
 * and shared by threads; everything per message lives in struct
 * saeval_cache, owned by the caller's scratch.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule_int.h"
#include "rule_saeval.h"
#include "rule_saeval_int.h"
#include "msg.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* patterns the checks use, compiled once per rule set */

/*
 * FreeMail.pm's email_regex; its TLD is any label here, checked against
 * the valid TLD list after the match (msg_host_tld_valid()).
 */
#define FM_ATOM	"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
#define FM_EMAIL "(?=.{0,64}@)(?<!" FM_ATOM ")(" FM_ATOM "+(?:\\." FM_ATOM \
	"+)*@(?:[a-z0-9](?:[a-z0-9-]{0,59}[a-z0-9])?\\.){1,4}[a-z]" \
	"[a-z0-9-]{1,62})(?![a-z0-9-]|\\.[a-z0-9])"

static const char *const sae_re_src[SRE_COUNT] = {
	[SRE_RCVD_DATE] = "(\\s.?\\d+ \\S\\S\\S \\d+ \\d+:\\d+:\\d+ \\S+)",
	[SRE_FETCH_LOCAL] = "\\bfrom (?:localhost\\s|(?:\\S+ ){1,2}\\S*"
	    "\\b127\\.0\\.0\\.1\\b)|qmail \\d+ invoked by uid \\d+",
	[SRE_FETCHMAIL] = "\\bby localhost with \\w+ \\(fetchmail-[\\d.]+",
	[SRE_DATE1] = " (\\d+) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|"
	    "Dec) (\\d{4}) ",
	[SRE_DATE2] = " (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +"
	    "(\\d+) \\d+:\\d+:\\d+ (\\d{4}) ",
	[SRE_DATE3] = " (\\d+) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|"
	    "Dec) (\\d{2,3}) ",
	[SRE_HMS] = " (\\d?\\d):(\\d\\d)(:(\\d\\d))? ",
	[SRE_TZNUM] = " ([-+]\\d{4}) ",
	[SRE_TZNAME] = "\\b([A-Z]{2,4}(?:-DST)?)\\b",
	[SRE_OUTLOOK_ID] = "^<[0-9a-f]{4}([0-9a-f]{8})\\$[0-9a-f]{8}\\$"
	    "[0-9a-f]{8}@",
	[SRE_SLD] = "^.+\\.([^.]+\\.[^.]+)$",
	[SRE_SUBJ_PREFIX] = "^(?:(?:Re|Fwd|Fw|Aw|Antwort|WG|SV|VB|VS|VL):"
	    "\\s*)+",
	[SRE_CAPS_CHARSET] = "=\\?[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|"
	    "cp1251|windows-1251|georgianps|pt154|tis)[-_a-z0-9]*\\?",
	[SRE_EZMLM] = "^contact \\S+@\\S+; run by ezmlm$",
	[SRE_EZMLM_DLTO] = "^mailing list \\S+@\\S+",
	[SRE_EZMLM_RCVD] = "qmail \\d+ invoked (?:from network|by .{3,20})\\);"
	    " \\d+ ... \\d+",
	[SRE_MSN_GROUPS_RCVD] = "from groups\\.msn\\.com \\(\\S+\\.msn\\.com ",
	[SRE_YAHOO_FROM] = "\\byahoo\\.com$",
	[SRE_YAHOO_TRUSTED] = " rdns=\\S+\\.yahoo\\.com ",
	[SRE_YAHOO_UNTRUSTED] = "^[^\\]]+ rdns=\\S+\\.yahoo\\.com ",
	[SRE_YAHOO_OK] = "by web\\S+\\.mail\\S*\\.yahoo\\.com via HTTP|"
	    "by sonic\\S+\\.consmr\\.mail\\S*\\.yahoo\\.com with HTTP|"
	    "by smtp\\S+\\.yahoo\\.com with SMTP|"
	    "from \\[" SAE_IP "\\] by \\S+\\.(?:groups|scd|dcn)\\.yahoo\\.com"
	    " with NNFMP|"
	    "by \\w+\\.\\w+\\.yahoo\\.com \\(\\d+\\.\\d+\\.\\d+/\\d+\\.\\d+"
	    "\\.\\d+\\)(?: with ESMTP)? id \\w+",
	[SRE_YAHOO_BULK] = "\\bmailer\\d+\\.bulk\\.scd\\.yahoo\\.com\\b",
	[SRE_YAHOO_REPLY] = "@reply\\.yahoo\\.com$",
	[SRE_HOTMAIL_PICKUP] = "from mail pickup service by hotmail\\.com with "
	    "Microsoft SMTPSVC;",
	[SRE_MSN_TO] = "<(\\S+)@groups\\.msn\\.com>",
	[SRE_MSN_PICKUP] = "from mail pickup service by ((?:p\\d\\d\\.)groups"
	    "\\.msn\\.com)\\b",
	[SRE_IP] = SAE_IP,
	[SRE_HOTMAIL_ORIG] = "hotmail\\.com|msonline\\-outlook",
	[SRE_HOTMAIL_IP_OK] = "from (?:\\S*\\.)?hotmail.com \\(\\S+\\.hotmail"
	    "(?:\\.msn)?\\.com[ )]|from \\S*\\.hotmail.com \\(\\[" SAE_IP
	    "\\][ ):]|from \\S+ by \\S+\\.hotmail(?:\\.msn)?\\.com with HTTP;"
	    "|from \\[66\\.218.\\S+\\] by \\S+\\.yahoo\\.com",
	[SRE_HOTMAIL_ORIG_OK] = "from \\S*\\.outbound\\.protection\\.outlook"
	    "\\.com \\(\\S+\\.outbound\\.protection\\.outlook\\.com[ )]|"
	    "from \\S*\\.(?:eur|nam)prd\\d+\\.prod\\.outlook\\.com \\(" SAE_IP
	    "\\)",
	[SRE_HOTMAIL_FORGED] = "(?:from |HELO |helo=)\\S*hotmail\\.com\\b",
	[SRE_HOTMAIL_FROM] = "\\bhotmail\\.com$",
	[SRE_FM_BODY_URL] = "<?https?://\\S{0,255}(?:@|%40)\\S{0,255}",
	[SRE_FM_BODY_SKIP] = "<?(?<!mailto:)" FM_EMAIL "(?:>|\\s{1,10}"
	    "(?!(?:fa(?:x|csi)|tel|phone|e?-?mail))[a-z]{2,11}:)",
	[SRE_FM_EMAIL] = FM_EMAIL,
	[SRE_FM_MAILTO] = "^mailto:" FM_EMAIL,
	[SRE_FM_SKIP_ENVFROM] = "^(?:post|host|domain)master|^double-bounce|"
	    "^(?:sentto|owner|return|(?:gr)?bounced?)-.+|"
	    "-(?:request|bounces?|admin|owner)|"
	    "\\b(?:do[._-t]?)?no[._-t]?repl(?:y|ies)|.+=.+=.+",
	[SRE_FP_CHARSET] = "^[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|cp1251|"
	    "windows-1251|georgianps|pt154|tis)[-_a-z0-9]*$",
	/* HeaderEval.pm's forged gmail, eudoramail, juno and AOL checks */
	[SRE_GMAIL_FROM] = "\\bgmail\\.com$",
	[SRE_GMAIL_OK] = "by 10\\.\\S+ with SMTP id \\S+|"
	    "by 2002:a\\d\\d:\\w+:\\S+ with SMTP id \\S+",
	[SRE_GMAIL_RCVD] = "by smtp\\.googlemail\\.com with ESMTPSA id \\S+",
	[SRE_EUDORA_FROM] = "\\beudoramail\\.com$",
	[SRE_EUDORA_RCVD] = "by \\S*whowhere.com;",
	[SRE_JUNO_FROM] = "\\bjuno\\.com$",
	[SRE_JUNO_RCVD] = "from.*\\b(?:juno|untd)\\.com.*[\\[(]" SAE_IP
	    "[\\])].*by",
	[SRE_JUNO_COOKIE] = " cookie\\.(?:juno|untd)\\.com ",
	[SRE_JUNO_MAILCOM] = "from.*\\bmail\\.com.*\\[" SAE_IP "\\].*by",
	[SRE_JUNO_WEBMAIL] = "from (webmail\\S+\\.untd\\.com) \\(\\1 \\["
	    SAE_IP "\\]\\) by",
	[SRE_JUNO_XM_MAILCOM] = "\\bmail\\.com",
	[SRE_JUNO_XM_WEBMAIL] = "^Webmail Version \\d",
	[SRE_AOL_RLY] = " rly-[a-z][a-z]\\d\\d\\.",
	[SRE_AOL_OK] = "/AOL-\\d+\\.\\d+\\.\\d+\\)|"
	    "ESMTP id (?:RELAY|MAILRELAY|MAILIN)",
	/* URIEval.pm check_https_ip_mismatch() */
	[SRE_HREF_IP] = "^https?:/*(?:[^@/]+@)?\\d+\\.\\d+\\.\\d+\\.\\d+",
	[SRE_TEXT_HTTPS_IP] = "^https:/*(?:[^@/]+@)?\\d+\\.\\d+\\.\\d+\\.\\d+",
	[SRE_FM_WELCOME] = "^(?:abuse|support|sales|info|helpdesk|contact|"
	    "kontakt|(?:post|host|domain)master|undisclosed.*|"
	    "request-[a-f0-9]{16}|bounced?-|[a-f0-9]{8}(?:\\.[a-f0-9]{8}|"
	    "-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})|.+=.+=.+)@",
};

/* which are caseless (Perl's /i) */
static const unsigned char sae_re_caseless[SRE_COUNT] = {
	[SRE_FM_BODY_URL] = 1, [SRE_FM_BODY_SKIP] = 1, [SRE_FM_EMAIL] = 1,
	[SRE_FM_MAILTO] = 1, [SRE_FM_SKIP_ENVFROM] = 1, [SRE_FP_CHARSET] = 1,
	[SRE_DATE1] = 1, [SRE_DATE2] = 1, [SRE_DATE3] = 1,
	[SRE_SUBJ_PREFIX] = 1, [SRE_CAPS_CHARSET] = 1, [SRE_YAHOO_FROM] = 1,
	[SRE_YAHOO_REPLY] = 1, [SRE_MSN_TO] = 1, [SRE_HOTMAIL_FROM] = 1,
	[SRE_FM_WELCOME] = 1, [SRE_GMAIL_FROM] = 1, [SRE_EUDORA_FROM] = 1,
	[SRE_JUNO_FROM] = 1, [SRE_AOL_RLY] = 1, [SRE_HREF_IP] = 1,
	[SRE_TEXT_HTTPS_IP] = 1,
};

/* which use /m */
static const unsigned char sae_re_multiline[SRE_COUNT] = {
	[SRE_EZMLM] = 1, [SRE_EZMLM_DLTO] = 1,
};

/* one enlist_uri_host entry: "LIST\0host", its verdict (0 for "!host") */
struct sae_uh {
	char	*key;
	size_t	 len;
	int	 v;
};

struct saeval_conf {
	char		**fm;		/* freemail domains, sorted */
	size_t		 nfm;
	char		**fmwild;	/* with * or ?: a regex */
	size_t		 nfmwild;
	char		**fmwl;		/* freemail_welcomelist, sorted */
	size_t		 nfmwl;
	pcre2_code	*fmre;		/* \@(?:wild|...)$, or NULL */
	struct sae_uh	*uh;		/* enlist_uri_host, sorted once
					   finished */
	size_t		 nuh;
	char		**tld2, **tld3;	/* util_rb_2tld, util_rb_3tld:
					   registry boundaries, sorted */
	size_t		 ntld2, ntld3;
	pcre2_code	*re[SRE_COUNT];
	int		 bounce_relays;	/* welcomelist_bounce_relays seen */
	char		*locales;	/* ok_locales; NULL: "all" */
	int		 finished;
};

int
sae_match(const struct saeval_ctx *cx, enum sae_re k, const char *s,
    size_t len)
{
	if (s == NULL)
		return 0;
	return pcre2_match(cx->conf->re[k], (PCRE2_SPTR)s, len, 0, 0, cx->md,
	    NULL) > 0;
}

/* Group g of the last sae_match() on s, copied into out. */
void
sae_group(const struct saeval_ctx *cx, const char *s, int g,
    struct sbuf *out)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(cx->md);

	sbuf_reset(out);
	if ((uint32_t)g < pcre2_get_ovector_count(cx->md) &&
	    ov[2 * g] != PCRE2_UNSET)
		sbuf_add(out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	else
		sbuf_adds(out, "");
}

/* ------------------------------------------------------------------ */
/* configuration: freemail_domains, freemail_welcomelist */


static void
add_word(char ***v, size_t *n, const char *w, size_t len)
{
	char *s = xstrndup(w, len);
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static int
uh_cmp(const void *a, const void *b)
{
	const struct sae_uh *x = a, *y = b;
	int d = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	return d != 0 ? d : (x->len > y->len) - (x->len < y->len);
}

/* The first entry from "from" on for host p[0..hl) in list l (any: NULL). */
static size_t
uh_find(const struct saeval_conf *c, size_t from, const char *l, size_t ll,
    const char *p, size_t hl)
{
	size_t i;

	for (i = from; i < c->nuh; i++) {
		const char *h = c->uh[i].key + strlen(c->uh[i].key) + 1;

		if ((l == NULL || (strlen(c->uh[i].key) == ll &&
		    memcmp(c->uh[i].key, l, ll) == 0)) && strlen(h) == hl &&
		    strncasecmp(h, p, hl) == 0)
			break;
	}
	return i;
}

/*
 * Conf.pm enlist_uri_host (LIST) host... ("!host": verdict 0) and
 * delist_uri_host [(LIST)] host... (from LIST, or from every list so
 * far).  Few entries, read once: a linear search keeps the order rules.
 */
static void
uri_host_setting(struct saeval_conf *c, int enlist, const char *val)
{
	const char *p = val, *l = NULL, *e;
	size_t ll = 0, i, hl;
	struct sbuf k = SBUF_INIT;
	int v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '(') {
		l = p + 1;
		if ((e = strchr(l, ')')) == NULL)
			return;
		ll = (size_t)(e - l);
		p = e + 1;
	} else if (enlist)
		return;
	for (;; p = e) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		if (e == p)
			break;
		v = !(*p == '!' && enlist);
		if (*p == '!' && enlist)
			p++;
		hl = (size_t)(e - p);
		i = uh_find(c, 0, l, ll, p, hl);
		if (!enlist) {
			/* every list when none is named */
			for (; i < c->nuh; i = uh_find(c, i + 1, l, ll, p, hl))
				c->uh[i].v = -1;	/* removed */
			continue;
		}
		if (i < c->nuh) {
			c->uh[i].v = v;
			continue;
		}
		sbuf_reset(&k);
		sbuf_add(&k, l, ll);
		sbuf_addc(&k, '\0');
		sbuf_add(&k, p, hl);
		for (i = ll + 1; i < k.len; i++)
			k.p[i] = (char)tolower((unsigned char)k.p[i]);
		c->uh = xreallocarray(c->uh, c->nuh + 1, sizeof(*c->uh));
		c->uh[c->nuh].key = xmalloc(k.len + 1);
		memcpy(c->uh[c->nuh].key, k.p, k.len + 1);
		c->uh[c->nuh].len = k.len;
		c->uh[c->nuh++].v = v;
	}
	sbuf_free(&k);
}

int
rule_saeval_setting(struct saeval_conf **cp, const char *key, const char *val)
{
	struct saeval_conf *c;
	const char *p, *e;
	int dom;

	if (strcmp(key, "enlist_uri_host") == 0 ||
	    strcmp(key, "delist_uri_host") == 0) {
		if (*cp == NULL)
			*cp = xcalloc(1, sizeof(**cp));
		uri_host_setting(*cp, key[0] == 'e', val);
		return 1;
	}
	/* Conf.pm ok_locales: a string, the last line wins */
	if (strcmp(key, "ok_locales") == 0) {
		if (*cp == NULL)
			*cp = xcalloc(1, sizeof(**cp));
		free((*cp)->locales);
		(*cp)->locales = xstrdup(val);
		return 1;
	}
	/* VBounce.pm: only whether there are any (have_any_bounce_relays) */
	if (strcmp(key, "welcomelist_bounce_relays") == 0 ||
	    strcmp(key, "whitelist_bounce_relays") == 0) {
		if (*cp == NULL)
			*cp = xcalloc(1, sizeof(**cp));
		if (val[strspn(val, " \t")] != '\0')
			(*cp)->bounce_relays = 1;
		return 1;
	}
	/* dom: 0 welcomelist, 1 freemail domain, 2 or 3 util_rb_Ntld */
	if (strcmp(key, "freemail_domains") == 0)
		dom = 1;
	else if (strcmp(key, "freemail_welcomelist") == 0 ||
	    strcmp(key, "freemail_whitelist") == 0)
		dom = 0;
	else if (strcmp(key, "util_rb_2tld") == 0)
		dom = 2;
	else if (strcmp(key, "util_rb_3tld") == 0)
		dom = 3;
	else
		return 0;
	if (*cp == NULL)
		*cp = xcalloc(1, sizeof(**cp));
	c = *cp;
	for (p = val; *p != '\0'; p = e) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		if (e == p)
			break;
		if (dom != 1) {
			if (dom == 0)
				add_word(&c->fmwl, &c->nfmwl, p, (size_t)(e - p));
			else if (dom == 2)
				add_word(&c->tld2, &c->ntld2, p, (size_t)(e - p));
			else
				add_word(&c->tld3, &c->ntld3, p, (size_t)(e - p));
			continue;
		}
		/* FreeMail.pm: only [a-zA-Z0-9.*?-], else warned and dropped */
		if (strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.*?-") < (size_t)(e - p))
			continue;
		if (memchr(p, '*', (size_t)(e - p)) != NULL ||
		    memchr(p, '?', (size_t)(e - p)) != NULL)
			add_word(&c->fmwild, &c->nfmwild, p, (size_t)(e - p));
		else
			add_word(&c->fm, &c->nfm, p, (size_t)(e - p));
	}
	return 1;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
in_sorted(char *const *v, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof(char *), cmp_strp) != NULL;
}

struct saeval_conf *
rule_saeval_conf_finish(struct saeval_conf *c)
{
	struct sbuf b = SBUF_INIT;
	int ec;
	PCRE2_SIZE eo;
	size_t i, k;

	if (c == NULL)
		c = xcalloc(1, sizeof(*c));
	if (c->finished)
		return c;
	c->finished = 1;
	if (c->nfm > 0)		/* qsort(NULL, 0) is undefined */
		qsort(c->fm, c->nfm, sizeof(char *), cmp_strp);
	if (c->nfmwl > 0)
		qsort(c->fmwl, c->nfmwl, sizeof(char *), cmp_strp);
	if (c->ntld2 > 0)
		qsort(c->tld2, c->ntld2, sizeof(char *), cmp_strp);
	if (c->ntld3 > 0)
		qsort(c->tld3, c->ntld3, sizeof(char *), cmp_strp);
	for (i = k = 0; i < c->nuh; i++)	/* drop the delisted */
		if (c->uh[i].v >= 0)
			c->uh[k++] = c->uh[i];
		else
			free(c->uh[i].key);
	c->nuh = k;
	if (c->nuh > 0)
		qsort(c->uh, c->nuh, sizeof(*c->uh), uh_cmp);
	if (c->nfmwild > 0) {
		/* FreeMail.pm finish_parsing_end: . literal, ? any, * [^.]* */
		sbuf_adds(&b, "@(?:");
		for (i = 0; i < c->nfmwild; i++) {
			if (i > 0)
				sbuf_addc(&b, '|');
			for (k = 0; c->fmwild[i][k] != '\0'; k++) {
				char ch = c->fmwild[i][k];

				if (ch == '.')
					sbuf_adds(&b, "\\.");
				else if (ch == '?')
					sbuf_addc(&b, '.');
				else if (ch == '*')
					sbuf_adds(&b, "[^.]*");
				else
					sbuf_addc(&b, ch);
			}
		}
		sbuf_adds(&b, ")$");
		c->fmre = pcre2_compile((PCRE2_SPTR)b.p, b.len, 0, &ec, &eo,
		    NULL);
		sbuf_free(&b);
	}
	for (i = 0; i < SRE_COUNT; i++) {
		c->re[i] = pcre2_compile((PCRE2_SPTR)sae_re_src[i],
		    PCRE2_ZERO_TERMINATED, (sae_re_caseless[i] ?
		    PCRE2_CASELESS : 0) | (sae_re_multiline[i] ?
		    PCRE2_MULTILINE : 0), &ec, &eo, NULL);
		if (c->re[i] == NULL)
			abort();	/* a constant pattern above is broken */
		(void)pcre2_jit_compile(c->re[i], PCRE2_JIT_COMPLETE);
	}
	return c;
}

void
rule_saeval_conf_free(struct saeval_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nfm; i++)
		free(c->fm[i]);
	for (i = 0; i < c->nfmwild; i++)
		free(c->fmwild[i]);
	for (i = 0; i < c->nfmwl; i++)
		free(c->fmwl[i]);
	free(c->fm);
	free(c->fmwild);
	free(c->fmwl);
	for (i = 0; i < c->nuh; i++)
		free(c->uh[i].key);
	free(c->uh);
	for (i = 0; i < c->ntld2; i++)
		free(c->tld2[i]);
	for (i = 0; i < c->ntld3; i++)
		free(c->tld3[i]);
	free(c->tld2);
	free(c->tld3);
	pcre2_code_free(c->fmre);
	free(c->locales);
	for (i = 0; i < SRE_COUNT; i++)
		pcre2_code_free(c->re[i]);
	free(c);
}

/* ------------------------------------------------------------------ */
/* the per-message memo */

struct saeval_cache *
rule_saeval_cache_new(void)
{
	return xcalloc(1, sizeof(struct saeval_cache));
}

void
rule_saeval_cache_reset(struct saeval_cache *c)
{
	c->have = 0;
	c->fmbody_skip = 0;
	sae_mime_reset(c);
}

void
rule_saeval_cache_free(struct saeval_cache *c)
{
	if (c == NULL)
		return;
	sbuf_free(&c->a);
	sbuf_free(&c->b);
	sbuf_free(&c->c);
	sbuf_free(&c->fmbody);
	sae_mime_free(c);
	free(c);
}

/* msg_get() into buf: 1 defined, 0 undefined ("" then), -1 unknown spec */
int
sae_get(const struct saeval_ctx *cx, const char *spec, struct sbuf *buf)
{
	int rc;

	/* SA takes the envelope sender from the Received fields first */
	if (strncasecmp(spec, "EnvelopeFrom", 12) == 0 && cx->relays != NULL &&
	    rule_relays_envfrom(cx->relays, cx->m, cx->md, cx->rcache, buf))
		return 1;
	rc = msg_get(cx->m, spec, buf);

	if (buf->p == NULL)
		sbuf_adds(buf, "");
	return rc;
}

/* ------------------------------------------------------------------ */
/* dates: Util.pm parse_rfc822_date() */

/* Replace the first match of k in s by one space (Perl s/re/ /). */
static int
subst_space(const struct saeval_ctx *cx, enum sae_re k, struct sbuf *s,
    struct sbuf *g1, struct sbuf *g2, struct sbuf *g3)
{
	PCRE2_SIZE *ov;
	struct sbuf t = SBUF_INIT;

	if (!sae_match(cx, k, s->p, s->len))
		return 0;
	if (g1 != NULL)
		sae_group(cx, s->p, 1, g1);
	if (g2 != NULL)
		sae_group(cx, s->p, 2, g2);
	if (g3 != NULL)
		sae_group(cx, s->p, k == SRE_HMS ? 4 : 3, g3);
	ov = pcre2_get_ovector_pointer(cx->md);
	sbuf_add(&t, s->p, ov[0]);
	sbuf_addc(&t, ' ');
	sbuf_add(&t, s->p + ov[1], s->len - ov[1]);
	sbuf_reset(s);
	sbuf_add(s, t.p, t.len);
	sbuf_free(&t);
	return 1;
}

static const struct {
	const char	*name;
	int		 off;	/* minutes */
} sae_tz[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "NDT", -150 }, { "AST", -240 },
	{ "ADT", -180 }, { "NST", -210 }, { "EST", -300 }, { "EDT", -240 },
	{ "CST", -360 }, { "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
	{ "PST", -480 }, { "PDT", -420 }, { "HST", -600 }, { "AKST", -540 },
	{ "AKDT", -480 }, { "HADT", -540 }, { "HAST", -600 }, { "GMT", 0 },
	{ "BST", 60 }, { "IST", 60 }, { "WET", 0 }, { "WEST", 60 },
	{ "CET", 60 }, { "CEST", 120 }, { "EET", 120 }, { "EEST", 180 },
	{ "MSK", 180 }, { "MSD", 240 }, { "MET", 60 }, { "MEZ", 60 },
	{ "MEST", 120 }, { "MESZ", 120 }, { "BRST", -120 }, { "BRT", -180 },
	{ "AEST", 600 }, { "AEDT", 660 }, { "ACST", 570 }, { "ACDT", 630 },
	{ "AWST", 480 }, { "NZST", 720 }, { "NZDT", 780 }, { "JST", 540 },
	{ "KST", 540 }, { "HKT", 480 }, { "SGT", 480 }, { "PHT", 480 },
	{ "IDT", 180 },
};

/* days since 1970-01-01 of a proleptic Gregorian date (m 1..12) */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static long
num(const struct sbuf *s)
{
	/* Perl's numeric value of a digit string; bounded to stay sane */
	return s->len > 9 ? 999999999L : strtol(s->p, NULL, 10);
}

/*
 * parse_rfc822_date(): 1 with *t, or 0 (undef).  The text is rewritten as
 * Perl does (", *" and runs of blanks to one space) and the date, time and
 * zone parts are removed one after the other, so a later part is looked
 * for only in what the earlier ones left.
 */
int
sae_parse_date(const struct saeval_ctx *cx, const char *date, size_t len,
    long long *t)
{
	struct sbuf s = SBUF_INIT, g1 = SBUF_INIT, g2 = SBUF_INIT,
	    g3 = SBUF_INIT;
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	long yyyy, dd, hh = 0, mi = 0, ss = 0, mon = 0, maxdd, tz = 0;
	const char *monp = NULL;
	size_t i, k;
	int ok = 0, y3 = 0;
	char mb[4];

	sbuf_addc(&s, ' ');
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)date[i];

		if (ch == ',') {
			sbuf_addc(&s, ' ');
			while (i + 1 < len && date[i + 1] == ' ')
				i++;
		} else if (ch == ' ' || ch == '\t' || ch == '\n' ||
		    ch == '\r' || ch == '\f' || ch == '\v')
			sbuf_addc(&s, ' ');
		else
			sbuf_addc(&s, (char)ch);
	}
	sbuf_addc(&s, ' ');
	/* s/\s+/ /gs */
	for (i = k = 0; i < s.len; i++)
		if (!(s.p[i] == ' ' && k > 0 && s.p[k - 1] == ' '))
			s.p[k++] = s.p[i];
	s.len = k;
	s.p[k] = '\0';
	if (subst_space(cx, SRE_DATE1, &s, &g1, &g2, &g3)) {
		dd = num(&g1);
		monp = g2.p;
		yyyy = num(&g3);
	} else if (subst_space(cx, SRE_DATE2, &s, &g2, &g1, &g3)) {
		dd = num(&g1);
		monp = g2.p;
		yyyy = num(&g3);
	} else if (subst_space(cx, SRE_DATE3, &s, &g1, &g2, &g3)) {
		dd = num(&g1);
		monp = g2.p;
		yyyy = num(&g3);
		y3 = 1;
	} else
		goto out;
	if (y3) {
		/* two- and three-digit years, RFC 2822 */
		if (g3.len == 2 && yyyy < 50)
			yyyy += 2000;
		else
			yyyy += 1900;
	}
	for (i = 0; i < 3; i++)
		mb[i] = (char)tolower((unsigned char)monp[i]);
	mb[3] = '\0';
	for (i = 0; i < 12; i++)
		if (strncmp(months + 3 * i, mb, 3) == 0)
			mon = (long)i + 1;
	if (subst_space(cx, SRE_HMS, &s, &g1, &g2, &g3)) {
		hh = num(&g1);
		mi = num(&g2);
		ss = g3.len > 0 ? num(&g3) : 0;
	}
	if (subst_space(cx, SRE_TZNUM, &s, &g1, NULL, NULL)) {
		long v = strtol(g1.p + 1, NULL, 10);

		tz = (v / 100) * 60 + v % 100;
		if (g1.p[0] == '-')
			tz = -tz;
	} else if (subst_space(cx, SRE_TZNAME, &s, &g1, NULL, NULL)) {
		for (i = 0; i < sizeof(sae_tz) / sizeof(sae_tz[0]); i++)
			if (strcmp(sae_tz[i].name, g1.p) == 0)
				tz = sae_tz[i].off;
	}
	if (ss > 59)
		ss = 59;
	if (mi > 59)
		mi = 59;
	if (hh > 23)
		hh = 23;
	maxdd = 31;
	if (mon == 4 || mon == 6 || mon == 9 || mon == 11)
		maxdd = 30;
	else if (mon == 2)
		maxdd = (!(yyyy % 4) && ((yyyy % 100) || !(yyyy % 400))) ?
		    29 : 28;
	if (dd > maxdd) {
		dd = 1;
		if (++mon > 12) {
			mon = 1;
			yyyy++;
		}
	}
	if (yyyy > 2037)
		yyyy = 2037;
	else if (yyyy < 1970)
		yyyy = 1970;
	if (dd < 1 || mon < 1)
		goto out;	/* Time::Local croaks: undef */
	*t = days_from_civil(yyyy, (unsigned)mon, (unsigned)dd) * 86400 +
	    hh * 3600 + mi * 60 + ss;
	/* "+hhmm" subtracts, not below 0; "-hhmm" adds */
	if (tz > 0)
		*t = *t < tz * 60 ? 0 : *t - tz * 60;
	else
		*t -= tz * 60;
	ok = 1;
out:
	sbuf_free(&s);
	sbuf_free(&g1);
	sbuf_free(&g2);
	sbuf_free(&g3);
	return ok;
}

/* HeaderEval.pm _check_date_diff(): Date minus the nearest Received date */
static void
date_diff(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const struct msg_header *h;
	long long dt = 0, t, *times = NULL, best;
	size_t n, i, k, ntimes = 0, nlines = 0;
	const char *p, *e, *lines[2] = { NULL, NULL };
	size_t llen[2] = { 0, 0 };
	int have = 0, skip = 0;
	static const char *const names[] = { "Resent-Date", "Date" };

	c->have |= SAE_HAVE_DATEDIFF;
	c->date_diff = 0;
	h = msg_headers(cx->m, &n);
	for (k = 0; k < 2 && !have; k++)
		for (i = 0; i < n && !have; i++)
			if (h[i].name_len == strlen(names[k]) &&
			    strncasecmp(h[i].name, names[k], h[i].name_len) ==
			    0 && h[i].value_len > 0)
				have = sae_parse_date(cx, h[i].value,
				    h[i].value_len, &dt);
	if (!have)
		return;
	sae_get(cx, "Received", &c->a);
	/* the first two non-blank lines decide the fetchmail case */
	for (p = c->a.p; p < c->a.p + c->a.len && nlines < 2; p = e + 1) {
		e = memchr(p, '\n', (size_t)(c->a.p + c->a.len - p));
		if (e == NULL)
			e = c->a.p + c->a.len;
		if (strspn(p, " \t\r\f\v") < (size_t)(e - p)) {
			lines[nlines] = p;
			llen[nlines++] = (size_t)(e - p);
		}
	}
	if (nlines > 0 && sae_match(cx, SRE_FETCH_LOCAL, lines[0], llen[0]) &&
	    nlines > 1 && sae_match(cx, SRE_FETCHMAIL, lines[1], llen[1]))
		skip = 2;
	else if (nlines > 0 && sae_match(cx, SRE_FETCHMAIL, lines[0],
	    llen[0]) && !sae_match(cx, SRE_FETCH_LOCAL, lines[0], llen[0]))
		skip = 0;
	for (p = c->a.p, i = 0; p < c->a.p + c->a.len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(c->a.p + c->a.len - p));
		if (e == NULL)
			e = c->a.p + c->a.len;
		if (strspn(p, " \t\r\f\v") >= (size_t)(e - p))
			continue;
		if (i++ < (size_t)skip)
			continue;
		if (!sae_match(cx, SRE_RCVD_DATE, p, (size_t)(e - p)))
			continue;
		sae_group(cx, p, 1, &c->b);
		if (sae_parse_date(cx, c->b.p, c->b.len, &t)) {
			times = xreallocarray(times, ntimes + 1,
			    sizeof(*times));
			times[ntimes++] = t;
		}
	}
	if (ntimes == 0)
		goto out;
	/* a last Received with no difference is left out */
	if (ntimes > 1 && dt - times[ntimes - 1] == 0)
		ntimes--;
	best = dt - times[0];
	for (i = 1; i < ntimes; i++) {
		long long d = dt - times[i];

		/* Perl's sort is stable: the first of equal |d| stays */
		if (llabs(d) < llabs(best))
			best = d;
	}
	c->date_diff = best;
out:
	free(times);
}

/* ------------------------------------------------------------------ */
/* the checks */

static unsigned
ev_bayes(const struct saeval_call *call, struct saeval_ctx *cx)
{
	double p, lo = call->num[0], hi = call->num[1];

	if (cx->env == NULL || !cx->env->bayes_known)
		return 0;
	p = cx->env->bayes_p;
	/* Bayes.pm check_bayes: (min == 0 || p > min) && p <= max */
	return (lo == 0 || p > lo) && (isnan(hi) || p <= hi);
}

static unsigned
ev_shifted_date(const struct saeval_call *call, struct saeval_ctx *cx)
{
	long long d;

	if (!(cx->cache->have & SAE_HAVE_DATEDIFF))
		date_diff(cx);
	d = cx->cache->date_diff;
	return (isnan(call->num[0]) || (double)d >= 3600 * call->num[0]) &&
	    (isnan(call->num[1]) || (double)d < 3600 * call->num[1]);
}

/* the part after the last "@", and its last two labels (SA's revised regex) */
static void
second_level(struct saeval_ctx *cx, const struct sbuf *addr, struct sbuf *out)
{
	const char *at = NULL, *p;
	struct sbuf t = SBUF_INIT;
	PCRE2_SIZE *ov;

	sbuf_reset(out);
	for (p = addr->p; p < addr->p + addr->len; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		sbuf_adds(out, "");
		return;
	}
	sbuf_add(&t, at + 1, (size_t)(addr->p + addr->len - at - 1));
	if (t.p == NULL)
		sbuf_adds(&t, "");
	if (sae_match(cx, SRE_SLD, t.p, t.len)) {
		ov = pcre2_get_ovector_pointer(cx->md);
		sbuf_add(out, t.p + ov[2], ov[3] - ov[2]);
		sbuf_add(out, t.p + ov[1], t.len - ov[1]);
	} else
		sbuf_add(out, t.p, t.len);
	if (out->p == NULL)
		sbuf_adds(out, "");
	sbuf_free(&t);
}

static unsigned
ev_equal_from_domains(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct sbuf fd = SBUF_INIT, ed = SBUF_INIT;
	unsigned r = 0;

	(void)call;
	sae_get(cx, "From:addr", &c->a);
	second_level(cx, &c->a, &fd);
	if (fd.len == 0)
		goto out;
	sae_get(cx, "EnvelopeFrom:addr", &c->a);
	second_level(cx, &c->a, &ed);
	if (ed.len == 0)
		goto out;
	r = fd.len != ed.len || strncasecmp(fd.p, ed.p, fd.len) != 0;
out:
	sbuf_free(&fd);
	sbuf_free(&ed);
	return r;
}

static unsigned
ev_outlook_message_id(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	long long t, tok, expected, diff;
	const double x = 0.0023283064365387, y = 27111902.8329849;

	(void)call;
	sae_get(cx, "MESSAGEID", &c->a);
	if (!sae_match(cx, SRE_OUTLOOK_ID, c->a.p, c->a.len))
		return 0;
	sae_group(cx, c->a.p, 1, &c->b);
	tok = strtoll(c->b.p, NULL, 16);
	sae_get(cx, "Date", &c->a);
	if (!sae_parse_date(cx, c->a.p, c->a.len, &t))
		t = 0;
	expected = (long long)((double)t * x + y);
	diff = tok - expected;
	if (llabs(diff) < 250)
		return 0;
	/* SA parses the whole Received text here, not the date it found */
	sae_get(cx, "Received", &c->a);
	if (!sae_parse_date(cx, c->a.p, c->a.len, &t))
		t = 0;
	expected = (long long)((double)t * x + y);
	diff = tok - expected;
	return llabs(diff) >= 250;
}

/* characters (UTF-8 sequences) in s */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static unsigned
ev_subject_all_caps(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const char *p, *e;
	size_t i, letters = 0;
	PCRE2_SIZE *ov;
	int ws = 0;

	(void)call;
	sae_get(cx, "Subject", &c->a);
	p = c->a.p;
	e = p + c->a.len;
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	if (sae_match(cx, SRE_SUBJ_PREFIX, p, (size_t)(e - p))) {
		ov = pcre2_get_ovector_pointer(cx->md);
		p += ov[1];
	}
	for (const char *q = p; q < e; q++)
		if (isspace((unsigned char)*q))
			ws = 1;
	if (!ws || utf8_chars(p, (size_t)(e - p)) < 10)
		return 0;
	sae_get(cx, "Subject:raw", &c->b);
	if (sae_match(cx, SRE_CAPS_CHARSET, c->b.p, c->b.len))
		return 0;
	for (i = 0; p + i < e; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch >= 'a' && ch <= 'z')
			return 0;
		if (ch >= 'A' && ch <= 'Z')
			letters++;
	}
	return letters > 0;
}

/* Perl's /\w/ and /\s/ on ASCII */
static int
wordc(unsigned char c)
{
	return isalnum(c) || c == '_';
}

/* s[0..n) starts with to (caselessly if ci); the length after it or -1 */
static long
starts(const char *s, size_t n, const char *to, size_t tl, int ci)
{
	if (n < tl || (ci ? strncasecmp(s, to, tl) : strncmp(s, to, tl)) != 0)
		return -1;
	return (long)(n - tl);
}

/*
 * HeaderEval.pm check_for_to_in_subject('user'): the To address's local
 * part as the whole Subject, or greeted at its start (SA matches the
 * untrimmed Subject, as here; $ also before a final newline):
 * /^(?:(?:re|fw):\s*(?:\w+\s+)?TO$|(?-i:TO)\s*[,:;!?-](?:$|\s)|TO$|
 * ,\s*TO[,:;!?-]$)/i.  'address' (no stock rule) looks for the whole
 * address.
 */
static unsigned
ev_to_in_subject(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const char *s, *to, *at, *e;
	size_t n, tl, i;
	long r;

	if (call->args[0] == NULL || strcmp(call->args[0], "user") != 0)
		return 0;
	sae_get(cx, "To:addr", &c->a);
	if ((e = memchr(c->a.p, '\n', c->a.len)) != NULL)
		c->a.len = (size_t)(e - c->a.p);	/* scalar: the first */
	if (c->a.len == 0)
		return 0;
	to = c->a.p;
	tl = (at = memchr(to, '@', c->a.len)) != NULL ? (size_t)(at - to) :
	    c->a.len;
	sae_get(cx, "Subject", &c->b);
	s = c->b.p;
	n = c->b.len;
	if (n > 0 && s[n - 1] == '\n')
		n--;
	/* TO$ */
	if (starts(s, n, to, tl, 1) == 0)
		return 1;
	/* (?-i:TO)\s*[,:;!?-](?:$|\s) */
	if ((r = starts(s, n, to, tl, 0)) >= 0) {
		for (i = tl; i < n && isspace((unsigned char)s[i]); i++)
			;
		if (i < n && strchr(",:;!?-", s[i]) != NULL && (i + 1 == n ||
		    isspace((unsigned char)s[i + 1])))
			return 1;
	}
	/* ,\s*TO[,:;!?-]$ */
	if (n > 0 && s[0] == ',') {
		for (i = 1; i < n && isspace((unsigned char)s[i]); i++)
			;
		if (starts(s + i, n - i, to, tl, 1) == 1 &&
		    strchr(",:;!?-", s[n - 1]) != NULL)
			return 1;
	}
	/* (?:re|fw):\s*(?:\w+\s+)?TO$ */
	if (n >= 3 && (strncasecmp(s, "re:", 3) == 0 ||
	    strncasecmp(s, "fw:", 3) == 0)) {
		for (i = 3; i < n && isspace((unsigned char)s[i]); i++)
			;
		if (starts(s + i, n - i, to, tl, 1) == 0)
			return 1;
		if (i < n && wordc((unsigned char)s[i])) {
			while (i < n && wordc((unsigned char)s[i]))
				i++;
			if (i < n && isspace((unsigned char)s[i])) {
				while (i < n && isspace((unsigned char)s[i]))
					i++;
				if (starts(s + i, n - i, to, tl, 1) == 0)
					return 1;
			}
		}
	}
	return 0;
}

static unsigned
ev_missing_to(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	sae_get(cx, "To", &cx->cache->a);
	if (cx->cache->a.len == 0)
		sae_get(cx, "Apparently-To", &cx->cache->a);
	return cx->cache->a.len == 0;
}

/* HeaderEval.pm gated_through_received_hdr_remover() */
int
sae_gated(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;

	if (c->have & SAE_HAVE_GATED)
		return c->gated;
	c->have |= SAE_HAVE_GATED;
	c->gated = 1;
	if (sae_get(cx, "Mailing-List", &c->a) == 1 &&
	    sae_match(cx, SRE_EZMLM, c->a.p, c->a.len)) {
		sae_get(cx, "Delivered-To", &c->a);
		sae_get(cx, "Received", &c->b);
		if (sae_match(cx, SRE_EZMLM_DLTO, c->a.p, c->a.len) &&
		    sae_match(cx, SRE_EZMLM_RCVD, c->b.p, c->b.len))
			return 1;
	}
	if (sae_get(cx, "Received", &c->b) != 1)
		return 1;
	if (sae_match(cx, SRE_MSN_GROUPS_RCVD, c->b.p, c->b.len))
		return 1;
	c->gated = 0;
	return 0;
}

static unsigned
ev_gated(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	return (unsigned)sae_gated(cx);
}

/* s/\s+/ /gs in place */
static void
squeeze(struct sbuf *out)
{
	size_t i, k;

	for (i = k = 0; i < out->len; i++) {
		char ch = out->p[i];

		if (isspace((unsigned char)ch))
			ch = ' ';
		if (ch == ' ' && k > 0 && out->p[k - 1] == ' ')
			continue;
		out->p[k++] = ch;
	}
	out->len = k;
	out->p[k] = '\0';
}

/* the Received text with every run of blanks made one space */
static void
squeezed_received(struct saeval_ctx *cx, struct sbuf *out)
{
	sae_get(cx, "Received", out);
	squeeze(out);
}

static void
relay_counts(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;

	if (c->have & SAE_HAVE_RELAYS)
		return;
	c->have |= SAE_HAVE_RELAYS;
	c->ntrusted = c->nuntrusted = c->nunparse = 0;
	if (cx->relays != NULL)
		rule_relays_count(cx->relays, cx->m, cx->md, cx->rcache,
		    &c->ntrusted, &c->nuntrusted, &c->nunparse);
}

static unsigned
ev_all_trusted(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	relay_counts(cx);
	return cx->cache->ntrusted > 0 && cx->cache->nuntrusted == 0 &&
	    cx->cache->nunparse == 0;
}

static unsigned
ev_no_relays(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	relay_counts(cx);
	return cx->cache->ntrusted == 0 && cx->cache->nuntrusted == 0 &&
	    cx->cache->nunparse == 0;
}

/*
 * HeaderEval.pm check_ratware_name_id(): a Message-ID <28 capitals.X>
 * whose X is the From address, behind a quoted display name:
 * MESSAGEID =~ /<[A-Z]{28}\.([^>]+?)>/ and From =~ /"[^"]+"\s*<\QX\E>/.
 */
static unsigned
ev_ratware_name_id(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const char *p, *x = NULL, *e = NULL, *f, *q;
	size_t k, xl;

	(void)call;
	sae_get(cx, "MESSAGEID", &c->a);
	for (p = c->a.p; (p = strchr(p, '<')) != NULL && x == NULL; p++) {
		for (k = 1; k <= 28 && p[k] >= 'A' && p[k] <= 'Z'; k++)
			;
		if (k == 29 && p[29] == '.' && p[30] != '>' && p[30] != '\0' &&
		    (e = strchr(p + 30, '>')) != NULL)
			x = p + 30;
	}
	if (x == NULL)
		return 0;
	xl = (size_t)(e - x);
	sae_get(cx, "From", &c->b);
	for (f = c->b.p; (f = strchr(f, '<')) != NULL; f++) {
		if (strncmp(f + 1, x, xl) != 0 || f[1 + xl] != '>')
			continue;
		for (q = f; q > c->b.p && isspace((unsigned char)q[-1]); q--)
			;
		/* "[^"]+" right before */
		if (q - c->b.p < 3 || q[-1] != '"' || q[-2] == '"')
			continue;
		for (q -= 2; q > c->b.p && q[-1] != '"'; q--)
			;
		if (q > c->b.p)
			return 1;
	}
	return 0;
}

/* RelayEval.pm check_relays_unparseable() */
static unsigned
ev_relays_unparseable(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	relay_counts(cx);
	return cx->cache->nunparse > 0;
}

/*
 * RelayEval.pm _check_received_helos(): a big dotcom's name as HELO from a
 * host whose MTA looked up its reverse DNS and found none.  SA sets the
 * flag to 0 again for every public untrusted relay it looks at, so only
 * the last of them counts (an originating-IP relay, with no HELO, last of
 * all, clears it); moat keeps that.
 */
static void
dotcom_helo(const struct relay_info *ri, void *arg)
{
	static const char *const doms[] = { "lycos.com", "lycos.co.uk",
	    "hotmail.com", "localhost.com", "excite.com", "caramail.com",
	    "cs.com", "aol.com", "msn.com", "yahoo.com", "drizzle.com", NULL };
	size_t hl, dl, k;
	int *flag = arg;

	if (ri == NULL || ri->trusted || ri->private)
		return;
	hl = strlen(ri->helo);
	*flag = 0;
	if (!ri->no_rdns)
		return;
	for (k = 0; doms[k] != NULL; k++) {
		dl = strlen(doms[k]);
		if (hl >= dl && strcasecmp(ri->helo + hl - dl, doms[k]) == 0 &&
		    (hl == dl || ri->helo[hl - dl - 1] == '.')) {
			*flag = 1;
			return;
		}
	}
}

static unsigned
ev_no_rdns_dotcom_helo(const struct saeval_call *call, struct saeval_ctx *cx)
{
	int flag = 0;

	(void)call;
	if (cx->relays != NULL)
		rule_relays_each(cx->relays, cx->m, cx->md, cx->rcache,
		    dotcom_helo, &flag);
	return flag != 0;
}

static unsigned
ev_forged_yahoo(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct sbuf from = SBUF_INIT;
	unsigned r = 0;

	(void)call;
	sae_get(cx, "From:addr", &from);
	if (!sae_match(cx, SRE_YAHOO_FROM, from.p, from.len))
		goto out;
	squeezed_received(cx, &c->c);
	sae_get(cx, "Resent-From", &c->a);
	sae_get(cx, "Resent-To", &c->b);
	if (c->a.len > 0 && c->b.len > 0) {
		sae_get(cx, "X-Received", &c->a);
		if (c->a.len > 0) {
			sbuf_reset(&c->c);
			sbuf_add(&c->c, c->a.p, c->a.len);
			squeeze(&c->c);
		}
	}
	if (sae_gated(cx))
		goto out;
	if (cx->relays != NULL) {
		if (rule_relays_get(cx->relays, cx->m, "X-Spam-Relays-Trusted",
		    cx->md, cx->rcache, &c->a) == 1 &&
		    sae_match(cx, SRE_YAHOO_TRUSTED, c->a.p, c->a.len))
			goto out;
		if (rule_relays_get(cx->relays, cx->m,
		    "X-Spam-Relays-Untrusted", cx->md, cx->rcache, &c->a) ==
		    1 && sae_match(cx, SRE_YAHOO_UNTRUSTED, c->a.p, c->a.len))
			goto out;
	}
	if (sae_match(cx, SRE_YAHOO_OK, c->c.p, c->c.len))
		goto out;
	if (sae_match(cx, SRE_YAHOO_BULK, c->c.p, c->c.len) &&
	    sae_match(cx, SRE_YAHOO_REPLY, from.p, from.len))
		goto out;
	r = 1;
out:
	sbuf_free(&from);
	return r;
}

/* HeaderEval.pm check_for_msn_groups_headers() */
static int
msn_groups(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct sbuf list = SBUF_INIT, server = SBUF_INIT, re = SBUF_INIT;
	pcre2_code *code;
	int ec, r = 0;
	PCRE2_SIZE eo;

	sae_get(cx, "To", &c->a);
	if (!sae_match(cx, SRE_MSN_TO, c->a.p, c->a.len))
		goto out;
	sae_group(cx, c->a.p, 1, &list);
	sae_get(cx, "Received", &c->a);
	if (!sae_match(cx, SRE_MSN_PICKUP, c->a.p, c->a.len))
		goto out;
	sae_group(cx, c->a.p, 1, &server);
	sae_get(cx, "Message-Id", &c->a);
	if (strcmp(list.p, "notifications") == 0)
		sbuf_printf(&re, "^<\\S+@\\Q%s\\E>", server.p);
	else
		sbuf_printf(&re, "^<\\Q%s\\E-\\S+@groups\\.msn\\.com>", list.p);
	code = pcre2_compile((PCRE2_SPTR)re.p, re.len, 0, &ec, &eo, NULL);
	if (code == NULL)
		goto out;
	r = pcre2_match(code, (PCRE2_SPTR)c->a.p, c->a.len, 0, 0, cx->md,
	    NULL) > 0;
	pcre2_code_free(code);
	if (r && strcmp(list.p, "notifications") != 0) {
		sae_get(cx, "EnvelopeFrom:addr", &c->a);
		r = strstr(c->a.p, list.p) != NULL &&
		    strstr(c->a.p, "-bounce@groups.msn.com") != NULL;
	}
out:
	sbuf_free(&list);
	sbuf_free(&server);
	sbuf_free(&re);
	return r;
}

/*
 * HeaderEval.pm _check_for_forged_hotmail_received_headers(): 1 for
 * hotmail_addr_with_forged_hotmail_received (a hotmail.com HELO or host
 * in a Received field that Hotmail did not write), 2 for
 * hotmail_addr_but_no_hotmail_received, else 0.
 */
static int
hotmail_rcvd(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	int ip, orig;

	squeezed_received(cx, &c->c);
	if (sae_match(cx, SRE_HOTMAIL_PICKUP, c->c.p, c->c.len))
		return 0;
	if (msn_groups(cx))
		return 0;
	ip = sae_get(cx, "X-Originating-Ip", &c->a) == 1 &&
	    sae_match(cx, SRE_IP, c->a.p, c->a.len);
	orig = sae_get(cx, "X-OriginatorOrg", &c->a) == 1 &&
	    sae_match(cx, SRE_HOTMAIL_ORIG, c->a.p, c->a.len);
	if (sae_gated(cx))
		return 0;
	if (ip && sae_match(cx, SRE_HOTMAIL_IP_OK, c->c.p, c->c.len))
		return 0;
	if (orig && sae_match(cx, SRE_HOTMAIL_ORIG_OK, c->c.p, c->c.len))
		return 0;
	if (sae_match(cx, SRE_HOTMAIL_FORGED, c->c.p, c->c.len))
		return 1;
	sae_get(cx, "From:addr", &c->a);
	return sae_match(cx, SRE_HOTMAIL_FROM, c->a.p, c->a.len) ? 2 : 0;
}

static unsigned
ev_no_hotmail_rcvd(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	return hotmail_rcvd(cx) == 2;
}

static unsigned
ev_forged_hotmail(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	return hotmail_rcvd(cx) == 1;
}

/*
 * HeaderEval.pm check_for_forged_gmail_received_headers(): a gmail.com
 * From without Google's X-Received or submission Received, or the two
 * long X-Gm-Message-State and X-Google-Smtp-Source fields.
 */
static unsigned
ev_forged_gmail(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	size_t gms;

	(void)call;
	sae_get(cx, "From:addr", &c->a);
	if (!sae_match(cx, SRE_GMAIL_FROM, c->a.p, c->a.len))
		return 0;
	sae_get(cx, "X-Received", &c->a);
	if (sae_match(cx, SRE_GMAIL_OK, c->a.p, c->a.len))
		return 0;
	sae_get(cx, "Received", &c->a);
	if (sae_match(cx, SRE_GMAIL_RCVD, c->a.p, c->a.len))
		return 0;
	/* SA's lengths count each value's "\n", as get() returns it */
	sae_get(cx, "X-Gm-Message-State", &c->a);
	gms = c->a.len;
	sae_get(cx, "X-Google-Smtp-Source", &c->a);
	return !(gms >= 60 && c->a.len >= 60);
}

/* HeaderEval.pm check_for_forged_eudoramail_received_headers() */
static unsigned
ev_forged_eudoramail(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	int ip;

	(void)call;
	sae_get(cx, "From:addr", &c->a);
	if (!sae_match(cx, SRE_EUDORA_FROM, c->a.p, c->a.len))
		return 0;
	squeezed_received(cx, &c->c);
	ip = sae_get(cx, "X-Sender-Ip", &c->a) == 1 &&
	    sae_match(cx, SRE_IP, c->a.p, c->a.len);
	if (sae_gated(cx))
		return 0;
	return !(ip && sae_match(cx, SRE_EUDORA_RCVD, c->c.p, c->c.len));
}

/* HeaderEval.pm check_for_forged_juno_received_headers() */
static unsigned
ev_forged_juno(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;

	(void)call;
	sae_get(cx, "From:addr", &c->a);
	if (!sae_match(cx, SRE_JUNO_FROM, c->a.p, c->a.len))
		return 0;
	if (sae_gated(cx))
		return 0;
	sae_get(cx, "X-Originating-IP", &c->a);
	sae_get(cx, "X-Mailer", &c->b);
	sae_get(cx, "Received", &c->c);
	if (c->a.len > 0) {
		/* the older Juno, with an X-Originating-IP */
		if (!sae_match(cx, SRE_JUNO_RCVD, c->c.p, c->c.len) &&
		    !sae_match(cx, SRE_JUNO_COOKIE, c->c.p, c->c.len))
			return 1;
		return memmem(c->b.p, c->b.len, "Juno ", 5) == NULL;
	}
	if (sae_match(cx, SRE_JUNO_MAILCOM, c->c.p, c->c.len)) {
		if (!sae_match(cx, SRE_JUNO_XM_MAILCOM, c->b.p, c->b.len))
			return 1;
	} else if (sae_match(cx, SRE_JUNO_WEBMAIL, c->c.p, c->c.len)) {
		if (!sae_match(cx, SRE_JUNO_XM_WEBMAIL, c->b.p, c->b.len))
			return 1;
	} else
		return 1;
	/* as the Perl: X-Originating-IP is empty on this branch */
	return !sae_match(cx, SRE_IP, c->a.p, c->a.len);
}

/* HeaderEval.pm check_for_fake_aol_relay_in_rcvd() */
static unsigned
ev_fake_aol_relay(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;

	(void)call;
	squeezed_received(cx, &c->c);
	return sae_match(cx, SRE_AOL_RLY, c->c.p, c->c.len) &&
	    !sae_match(cx, SRE_AOL_OK, c->c.p, c->c.len);
}

/* HeaderEval.pm _check_recipients(): tocc_similar, or tocc_sorted */
static unsigned
recipients(const struct saeval_call *call, struct saeval_ctx *cx, int sorted)
{
	struct saeval_cache *c = cx->cache;
	const char *in[512], *addr[256], *fq[256];
	size_t inl[512], al[256], fl[256], nin = 0, na = 0, nf = 0, i, j;
	const char *p, *e;
	double sim = 0;
	unsigned hits = 0, comb = 0;
	int k;

	sae_get(cx, "ToCc:addr", &c->a);
	sae_get(cx, "Bcc:addr", &c->b);
	for (k = 0; k < 2; k++) {
		const struct sbuf *s = k == 0 ? &c->a : &c->b;

		if (k == 1 && nin >= 5)
			break;
		for (p = s->p; p < s->p + s->len && nin < 512; p = e + 1) {
			e = memchr(p, '\n', (size_t)(s->p + s->len - p));
			if (e == NULL)
				e = s->p + s->len;
			in[nin] = p;
			inl[nin++] = (size_t)(e - p);
		}
	}
	/* while (my $current = shift): stops at "" or "0" */
	for (i = 0; i < nin && na < 256; i++) {
		if (inl[i] == 0 || (inl[i] == 1 && in[i][0] == '0'))
			break;
		if (na > 0 && al[na - 1] == inl[i] &&
		    strncasecmp(addr[na - 1], in[i], inl[i]) == 0)
			continue;
		addr[na] = in[i];
		al[na++] = inl[i];
	}
	if (sorted) {
		/* tocc_sorted: seven or more, already in (byte) order */
		if (na < 7)
			return 0;
		for (i = 1; i < na; i++) {
			size_t l = al[i - 1] < al[i] ? al[i - 1] : al[i];
			int d = memcmp(addr[i - 1], addr[i], l);

			if (d > 0 || (d == 0 && al[i - 1] > al[i]))
				return 0;
		}
		return 1;
	}
	if (na >= 5) {
		for (i = 0; i < na; i++) {
			const char *at = memchr(addr[i], '@', al[i]);

			if (at != NULL) {
				fq[nf] = at + 1;
				fl[nf++] = al[i] - (size_t)(at + 1 - addr[i]);
			}
		}
		for (i = 0; i < na; i++)
			for (j = i + 1; j < na; j++) {
				size_t li = al[i] < 2 ? al[i] : 2;
				size_t lj = al[j] < 2 ? al[j] : 2;
				size_t hi = i < nf ? (fl[i] < 2 ? fl[i] : 2) : 0;
				size_t hj = j < nf ? (fl[j] < 2 ? fl[j] : 2) : 0;
				const char *fi = i < nf ? fq[i] : "";
				const char *fj = j < nf ? fq[j] : "";
				size_t fli = i < nf ? fl[i] : 0;
				size_t flj = j < nf ? fl[j] : 0;

				if (li == lj && memcmp(addr[i], addr[j], li) ==
				    0)
					hits++;
				if (hi == hj && memcmp(fi, fj, hi) == 0 &&
				    !(fli == flj && memcmp(fi, fj, fli) == 0))
					hits++;
				comb++;
			}
		sim = (double)hits / comb;
	}
	return (isnan(call->num[0]) || sim >= call->num[0]) &&
	    (isnan(call->num[1]) || sim < call->num[1]);
}

static unsigned
ev_similar_recipients(const struct saeval_call *call, struct saeval_ctx *cx)
{
	return recipients(call, cx, 0);
}

static unsigned
ev_sorted_recipients(const struct saeval_call *call, struct saeval_ctx *cx)
{
	return recipients(call, cx, 1);
}

/* Util.pm is_valid_utf_8 (RFC 3629) */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, len;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 1;
		else if (c >= 0xE0 && c <= 0xEF) {
			len = 2;
			if (c == 0xE0)
				lo = 0xA0;
			if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 3;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;
		} else
			return 0;
		if (i + len >= n)
			return 0;
		for (k = 1; k <= len; k++) {
			unsigned char t = s[i + k];

			if (k == 1 ? (t < lo || t > hi) : (t < 0x80 || t > 0xBF))
				return 0;
		}
		i += len + 1;
	}
	return 1;
}

static unsigned
ev_illegal_chars(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const unsigned char *s;
	size_t n, i, illegal = 0, exempt = 0, hl;
	int nonascii = 0, ctrl = 0, subj;
	char spec[300];

	if (call->args[0] == NULL || isnan(call->num[1]) ||
	    isnan(call->num[2]))
		return 0;
	hl = strlen(call->args[0]);
	if (hl > 4 && strcmp(call->args[0] + hl - 4, ":raw") == 0)
		snprintf(spec, sizeof(spec), "%s", call->args[0]);
	else
		snprintf(spec, sizeof(spec), "%s:raw", call->args[0]);
	subj = strcasecmp(spec, "subject:raw") == 0;
	if (sae_get(cx, spec, &c->a) != 1)
		return 0;
	s = (const unsigned char *)c->a.p;
	n = c->a.len;
	for (i = 0; i < n; i++)
		if (!isspace(s[i]))
			break;
	if (i == n)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] >= 0x80)
			nonascii = 1;
		if (s[i] <= 0x08 || s[i] == 0x0B || s[i] == 0x0C ||
		    (s[i] >= 0x0E && s[i] <= 0x1F))
			ctrl = 1;
	}
	if (nonascii && valid_utf8(s, n) && !ctrl)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] <= 0x08 || s[i] == 0x0B || s[i] == 0x0C ||
		    (s[i] >= 0x0E && s[i] <= 0x1F) || s[i] >= 0x7F)
			illegal++;
		if (s[i] == 0xA2 || s[i] == 0xA3 || s[i] == 0xAE)
			exempt++;
	}
	if (illegal > 0 && subj && exempt == 1)
		illegal--;
	return (double)illegal / (double)n >= call->num[1] &&
	    (double)illegal >= call->num[2];
}

/* FreeMail.pm _is_freemail(); email is lower case */
static int
is_freemail(struct saeval_ctx *cx, const char *email, size_t len)
{
	const struct saeval_conf *cf = cx->conf;
	const char *dom = email, *p;
	char *e, *d;
	int r = 0;

	if (len == 0)
		return 0;
	for (p = email; p < email + len; p++)
		if (*p == '@')
			dom = p + 1;
	e = xstrndup(email, len);
	d = xstrndup(dom, (size_t)(email + len - dom));
	if (in_sorted(cf->fmwl, cf->nfmwl, e) || in_sorted(cf->fmwl, cf->nfmwl,
	    d) || sae_match(cx, SRE_FM_WELCOME, email, len))
		goto out;
	if (in_sorted(cf->fm, cf->nfm, d) || (cf->fmre != NULL &&
	    pcre2_match(cf->fmre, (PCRE2_SPTR)email, len, 0, 0, cx->md,
	    NULL) > 0))
		r = 1;
out:
	free(e);
	free(d);
	return r;
}

static void
lower(struct sbuf *s)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		s->p[i] = (char)tolower((unsigned char)s->p[i]);
}

/* any "\n"-separated address of s that is freemail (and matches re) */
static int
any_freemail(struct saeval_ctx *cx, const struct sbuf *s, const pcre2_code *re)
{
	const char *p, *e;

	for (p = s->p; p < s->p + s->len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(s->p + s->len - p));
		if (e == NULL)
			e = s->p + s->len;
		if (is_freemail(cx, p, (size_t)(e - p)) && (re == NULL ||
		    pcre2_match(re, (PCRE2_SPTR)p, (size_t)(e - p), 0, 0,
		    cx->md, NULL) > 0))
			return 1;
	}
	return 0;
}

static unsigned
ev_freemail_from(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	static const char *const hdrs[] = { "From:addr",
	    "Envelope-Sender:addr", "Resent-Sender:addr",
	    "X-Envelope-From:addr", "EnvelopeFrom:addr", NULL };
	size_t k, i, j;

	if (cx->conf->nfm + cx->conf->nfmwild == 0)
		return 0;
	sbuf_reset(&c->c);
	sae_get(cx, "Resent-From:first:addr", &c->a);
	if (c->a.len > 0)
		sbuf_add(&c->c, c->a.p, c->a.len);
	else
		for (k = 0; hdrs[k] != NULL; k++) {
			sae_get(cx, hdrs[k], &c->a);
			if (c->a.len == 0)
				continue;
			if (c->c.len > 0)
				sbuf_addc(&c->c, '\n');
			sbuf_add(&c->c, c->a.p, c->a.len);
		}
	if (c->c.p == NULL)
		sbuf_adds(&c->c, "");
	/* tr/././s: runs of dots become one */
	for (i = j = 0; i < c->c.len; i++)
		if (!(c->c.p[i] == '.' && j > 0 && c->c.p[j - 1] == '.'))
			c->c.p[j++] = c->c.p[i];
	c->c.len = j;
	c->c.p[j] = '\0';
	lower(&c->c);
	return (unsigned)any_freemail(cx, &c->c, call->re);
}

static unsigned
ev_freemail_header(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	char spec[300];
	size_t hl;

	if (cx->conf->nfm + cx->conf->nfmwild == 0 || call->args[0] == NULL)
		return 0;
	hl = strlen(call->args[0]);
	if (hl > 5 && strcmp(call->args[0] + hl - 5, ":addr") == 0)
		snprintf(spec, sizeof(spec), "%s", call->args[0]);
	else
		snprintf(spec, sizeof(spec), "%s:addr", call->args[0]);
	sae_get(cx, spec, &c->a);
	lower(&c->a);
	return (unsigned)any_freemail(cx, &c->a, call->re);
}

/* one address found in the body: kept if new and freemail (FreeMail.pm) */
static int
fm_body_add(struct saeval_ctx *cx, const char *p, size_t n, size_t *all,
    size_t *fm)
{
	struct saeval_cache *c = cx->cache;
	char *e = xstrndup(p, n);
	const char *at = strrchr(e, '@'), *q;
	size_t k;
	int r = 0;

	for (k = 0; k < n; k++)
		e[k] = (char)tolower((unsigned char)e[k]);
	if (at == NULL || !msg_host_tld_valid(at + 1, strlen(at + 1)))
		goto out;
	/* seen already? */
	for (q = c->fmbody.p; q != NULL && (q = strstr(q, e)) != NULL; q++)
		if ((q == c->fmbody.p || q[-1] == '\n') && (q[n] == '\n' ||
		    q[n] == '\0'))
			goto out;
	if (++*all == 5 || (is_freemail(cx, e, n) && ++*fm == 3)) {
		r = -1;	/* freemail_max_body_emails / _freemails */
		goto out;
	}
	if (is_freemail(cx, e, n)) {
		sbuf_add(&c->fmbody, e, n);
		sbuf_addc(&c->fmbody, '\n');
	}
out:
	free(e);
	return r;
}

/* FreeMail.pm _parse_body(): 1 when usable, 0 when it gave up */
static int
fm_parse_body(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const struct msg_str *v;
	size_t n, i, all = 0, fm = 0, found = 0;
	PCRE2_SIZE *ov, off, outlen;
	PCRE2_UCHAR *out = NULL;
	size_t outcap = 0;
	int rc;

	if (c->have & SAE_HAVE_FMBODY)
		return !c->fmbody_skip;
	c->have |= SAE_HAVE_FMBODY;
	c->fmbody_skip = 0;
	sbuf_reset(&c->fmbody);
	sbuf_adds(&c->fmbody, "");
	v = msg_uris(cx->m, &n);
	for (i = 0; i < n && found < 20; i++)
		if (sae_match(cx, SRE_FM_MAILTO, v[i].p, v[i].len)) {
			ov = pcre2_get_ovector_pointer(cx->md);
			found++;
			if (fm_body_add(cx, v[i].p + ov[2], ov[3] - ov[2], &all,
			    &fm) < 0)
				goto skip;
		}
	v = msg_body(cx->m, &n);
	for (i = 0; i < n && found < 40; i++) {
		const struct sae_re_pair { enum sae_re k; } strip[] = {
		    { SRE_FM_BODY_URL }, { SRE_FM_BODY_SKIP } };
		const char *t = v[i].p;
		size_t tl = v[i].len, k;

		for (k = 0; k < 2; k++) {
			outlen = tl + 1;
			if (outcap < outlen + 1) {
				outcap = outlen + 1;
				out = xrealloc(out, outcap);
			}
			rc = pcre2_substitute(cx->conf->re[strip[k].k],
			    (PCRE2_SPTR)t, tl, 0, PCRE2_SUBSTITUTE_GLOBAL,
			    cx->md, NULL, (PCRE2_SPTR)" ", 1, out, &outlen);
			if (rc < 0)
				break;
			sbuf_reset(&c->b);
			sbuf_add(&c->b, out, outlen);
			if (c->b.p == NULL)
				sbuf_adds(&c->b, "");
			t = c->b.p;
			tl = c->b.len;
			if (k == 0) {
				sbuf_reset(&c->c);
				sbuf_add(&c->c, t, tl);
				if (c->c.p == NULL)
					sbuf_adds(&c->c, "");
				t = c->c.p;
			}
		}
		for (off = 0; off <= tl && found < 40; ) {
			if (pcre2_match(cx->conf->re[SRE_FM_EMAIL],
			    (PCRE2_SPTR)t, tl, off, 0, cx->md, NULL) <= 0)
				break;
			ov = pcre2_get_ovector_pointer(cx->md);
			found++;
			if (fm_body_add(cx, t + ov[2], ov[3] - ov[2], &all,
			    &fm) < 0)
				goto skip;
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
	free(out);
	return 1;
skip:
	free(out);
	c->fmbody_skip = 1;
	return 0;
}

/* FreeMail.pm check_freemail_replyto('replyto' | 'reply') */
static unsigned
ev_freemail_replyto(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct sbuf from = SBUF_INIT, rt = SBUF_INIT;
	const char *what = call->nargs > 0 && call->args[0] != NULL ?
	    call->args[0] : "replyto";
	const char *p, *e, *q, *qe;
	int from_fm, rt_fm, not_in = 1;
	unsigned r = 0;

	if (cx->conf->nfm + cx->conf->nfmwild == 0 ||
	    (strcmp(what, "replyto") != 0 && strcmp(what, "reply") != 0))
		return 0;
	sae_get(cx, "EnvelopeFrom", &c->a);
	if (c->a.len > 0 && sae_match(cx, SRE_FM_SKIP_ENVFROM, c->a.p,
	    c->a.len))
		return 0;
	sae_get(cx, "From:addr", &from);
	sae_get(cx, "Reply-To:addr", &rt);
	lower(&from);
	lower(&rt);
	from_fm = any_freemail(cx, &from, NULL);
	rt_fm = any_freemail(cx, &rt, NULL);
	for (p = from.p; p < from.p + from.len; p = e + 1) {
		e = memchr(p, '\n', (size_t)(from.p + from.len - p));
		e = e == NULL ? from.p + from.len : e;
		for (q = rt.p; q < rt.p + rt.len; q = qe + 1) {
			qe = memchr(q, '\n', (size_t)(rt.p + rt.len - q));
			qe = qe == NULL ? rt.p + rt.len : qe;
			if (qe - q == e - p && memcmp(p, q, (size_t)(e - p)) == 0)
				not_in = 0;
		}
	}
	if (from_fm && rt_fm && not_in) {
		r = 1;
		goto out;
	}
	if (strcmp(what, "replyto") == 0 ? !rt_fm : (rt.len > 0 ? !rt_fm :
	    !from_fm))
		goto out;
	if (!fm_parse_body(cx) || c->fmbody.len == 0)
		goto out;
	/* a freemail address in the body other than the one to reply to */
	{
		const struct sbuf *ra = strcmp(what, "replyto") == 0 || rt_fm ?
		    &rt : &from;

		for (p = c->fmbody.p; p < c->fmbody.p + c->fmbody.len && !r;
		    p = e + 1) {
			e = memchr(p, '\n', (size_t)(c->fmbody.p +
			    c->fmbody.len - p));
			for (q = ra->p; q < ra->p + ra->len; q = qe + 1) {
				qe = memchr(q, '\n', (size_t)(ra->p + ra->len -
				    q));
				qe = qe == NULL ? ra->p + ra->len : qe;
				if (!(qe - q == e - p && memcmp(p, q,
				    (size_t)(e - p)) == 0)) {
					r = 1;
					break;
				}
			}
		}
	}
out:
	sbuf_free(&from);
	sbuf_free(&rt);
	return r;
}

int
sae_charset_fp(const struct saeval_ctx *cx, const char *cs)
{
	return sae_match(cx, SRE_FP_CHARSET, cs, strlen(cs));
}

/* MIMEEval.pm body_charset_is_likely_to_fp() */
static int
charset_fp(struct saeval_ctx *cx)
{
	struct msg_part_info pi;
	size_t i, n = msg_part_count(cx->m);
	const char *p;

	sae_get(cx, "Content-Type", &cx->cache->a);
	if ((p = strcasestr(cx->cache->a.p, "charset=")) != NULL) {
		struct sbuf cs = SBUF_INIT;
		int fp;

		p += 8;
		if (*p == '"' || *p == '\'') {
			const char *e = strchr(p + 1, *p);

			sbuf_add(&cs, p + 1, e ? (size_t)(e - p - 1) : 0);
		} else
			sbuf_add(&cs, p, strcspn(p, " \t\n"));
		sbuf_adds(&cs, "");
		fp = sae_charset_fp(cx, cs.p);
		sbuf_free(&cs);
		if (fp)
			return 1;
	}
	for (i = 0; i < n; i++)
		if (msg_part_info(cx->m, i, &pi) == 0 && pi.charset != NULL &&
		    sae_charset_fp(cx, pi.charset))
			return 1;
	return 0;
}

/* MIMEEval.pm check_for_uppercase(): capitals among letters and digits */
static unsigned
ev_uppercase(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_str *v;
	size_t n, i, k, len = 0, lower = 0, upper = 0;
	double pct;

	if (charset_fp(cx))
		return 0;
	v = msg_body(cx->m, &n);
	for (i = 0; i < n; i++) {
		const char *p = v[i].p;
		size_t l = v[i].len, w;
		int gap = 0;

		/* /\S\s+\S/ */
		for (k = 1; k + 1 < l && !gap; k++)
			if (isspace((unsigned char)p[k]) &&
			    !isspace((unsigned char)p[k - 1])) {
				for (w = k; w < l && isspace((unsigned char)p[w]);
				    w++)
					;
				gap = w < l;
			}
		if (!gap)
			continue;
		/* two base64-looking words: an encoded blob, not text */
		if (l >= 122 && strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		    "klmnopqrstuvwxyz0123456789+/=") >= 60) {
			size_t a = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
			    "klmnopqrstuvwxyz0123456789+/="), b;

			if (a <= 76 && p[a] == ' ') {
				b = strspn(p + a + 1, "ABCDEFGHIJKLMNOPQRSTUVW"
				    "XYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
				if (b >= 60 && b <= 76 && p[a + 1 + b] == ' ')
					continue;
			}
		}
		len += utf8_chars(p, l);
		for (k = 0; k < l; k++) {
			unsigned char c = (unsigned char)p[k];

			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
				lower++;
			else if (c >= 'A' && c <= 'Z')
				upper++;
		}
	}
	if (len < 200 || upper + lower == 0)
		return 0;
	pct = 100.0 * (double)upper / (double)(upper + lower);
	return pct > call->num[0] && pct <= call->num[1];
}

/* BodyEval.pm tvd_vertical_words(): the most spaced-out body line */
static unsigned
ev_vertical_words(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_str *v;
	size_t n, i, k;
	long best = -1, pct;
	double max = call->num[1] >= 100 ? 101 : call->num[1];

	v = msg_body(cx->m, &n);
	for (i = 0; i < n; i++) {
		size_t l = utf8_chars(v[i].p, v[i].len), sp = 0;

		if (l <= 5)
			continue;
		for (k = 0; k < v[i].len; k++)
			sp += v[i].p[k] == ' ';
		if (sp > l - sp || l - sp == 0)
			pct = 100;
		else
			pct = (long)(100 * sp / (l - sp));
		if (pct > best)
			best = pct;
	}
	return (double)best >= call->num[0] && (double)best < max;
}

/* BodyEval.pm check_body_length(): a pristine body of at most min bytes */
static unsigned
ev_body_length(const struct saeval_call *call, struct saeval_ctx *cx)
{
	return !isnan(call->num[0]) &&
	    (double)msg_body_length(cx->m) <= call->num[0];
}

static int is_ipv4(const char *);

static int
us_state(const char *s, size_t n)
{
	static const char states[] = " ak al ar az ca co ct dc de fl ga gu hi "
	    "ia id il in ks ky la ma md me mi mn mo ms mt nc nd ne nh nj nm nv "
	    "ny oh ok or pa pr ri sc sd tn tx ut va vi vt wa wi wv wy ";
	char k[5];

	if (n != 2)
		return 0;
	snprintf(k, sizeof(k), " %.2s ", s);
	return strstr(states, k) != NULL;
}

/*
 * RegistryBoundaries.pm trim_domain(): d lower case, runs of dots one,
 * no dot at either end, cut to the registered domain: the labels left of
 * a util_rb_2tld/_3tld suffix (or a US state's), plus one.
 */
static void
registry_domain(const struct saeval_conf *cf, const char *d, size_t n,
    struct sbuf *out)
{
	const char *lab[128], *e;
	size_t nl = 0, i = 0, k, rem;
	char *s;

	sbuf_reset(out);
	for (k = 0; k < n; k++)
		if (!(d[k] == '.' && (out->len == 0 || out->p[out->len - 1] ==
		    '.')))
			sbuf_addc(out, (char)tolower((unsigned char)d[k]));
	while (out->len > 0 && out->p[out->len - 1] == '.')
		out->len--;
	sbuf_addc(out, '\0');
	out->len--;
	s = out->p;
	for (e = s; nl < 128; e++) {
		lab[nl++] = e;
		if ((e = strchr(e, '.')) == NULL)
			break;
	}
	for (; nl - i > 1; i++) {
		rem = nl - i;
		if (rem == 2 && in_sorted(cf->tld2, cf->ntld2, lab[i]))
			break;
		if (rem == 3 && strcmp(lab[i + 2], "us") == 0) {
			if (us_state(lab[i + 1], 2) && lab[i + 1][2] == '.')
				break;
		} else if (rem == 3 && in_sorted(cf->tld3, cf->ntld3, lab[i]))
			break;
		if (rem == 4 && strcmp(lab[i + 3], "us") == 0 &&
		    ((strncmp(lab[i], "pvt.k12.", 8) == 0) ||
		    strncmp(lab[i], "ci.", 3) == 0 ||
		    strncmp(lab[i], "co.", 3) == 0) &&
		    us_state(lab[i + 2], 2) && lab[i + 2][2] == '.')
			break;
	}
	if (i > 0)
		i--;
	memmove(s, lab[i], strlen(lab[i]) + 1);
	out->len = strlen(s);
}

/*
 * HeaderEval.pm check_ratware_envelope_from(): the envelope sender built
 * from the first To address as "domain?user@" (the registered domain of
 * the recipient, any character, the recipient's user), SRS left alone:
 * EnvelopeFrom:addr =~ /\bDOM.USER@/i.
 */
static unsigned
ev_ratware_envelope_from(const struct saeval_call *call,
    struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	const char *to, *at, *f, *e;
	size_t tl, ul, dl, fl, i;

	(void)call;
	sae_get(cx, "To:addr", &c->a);
	sae_get(cx, "EnvelopeFrom:addr", &c->c);
	if ((e = memchr(c->a.p, '\n', c->a.len)) != NULL)
		c->a.len = (size_t)(e - c->a.p);
	if ((e = memchr(c->c.p, '\n', c->c.len)) != NULL)
		c->c.len = (size_t)(e - c->c.p);
	to = c->a.p;
	tl = c->a.len;
	f = c->c.p;
	fl = c->c.len;
	if (tl == 0 || fl == 0 || (fl >= 5 && strncasecmp(f, "srs", 3) == 0 &&
	    isdigit((unsigned char)f[3]) && strchr("=+-", f[4]) != NULL))
		return 0;
	/* /^([^@]+)\@(.+)$/ */
	if ((at = memchr(to, '@', tl)) == NULL || at == to || at + 1 == to + tl)
		return 0;
	ul = (size_t)(at - to);
	registry_domain(cx->conf, at + 1, tl - ul - 1, &c->b);
	dl = c->b.len;
	if (dl == 0 || !msg_host_tld_valid(c->b.p, dl))
		return 0;
	for (i = 0; i + dl + 1 + ul < fl; i++)
		if ((i == 0 ? 0 : wordc((unsigned char)f[i - 1])) !=
		    wordc((unsigned char)c->b.p[0]) &&
		    strncasecmp(f + i, c->b.p, dl) == 0 && f[i + dl] != '\n' &&
		    strncasecmp(f + i + dl + 1, to, ul) == 0 &&
		    f[i + dl + 1 + ul] == '@')
			return 1;
	return 0;
}

/* one relay's rDNS against the sender's domain (WLBLEval.pm) */
struct rp_match {
	const struct saeval_conf *cf;
	const char	*dom;		/* the sender's registered domain */
	struct sbuf	*scratch;
	int		 untrusted_seen, trusted_match, untrusted_match;
};

static void
rp_relay(const struct relay_info *ri, void *arg)
{
	struct rp_match *a = arg;
	int match;

	if (ri == NULL) {
		a->trusted_match = 0;	/* the trusted relays restart */
		return;
	}
	if (!ri->trusted && a->untrusted_seen++)
		return;		/* only the first untrusted one */
	if (ri->rdns[0] == '\0')
		return;
	registry_domain(a->cf, ri->rdns, strlen(ri->rdns), a->scratch);
	match = strcmp(a->scratch->p, a->dom) == 0;
	if (ri->trusted)
		a->trusted_match |= match;
	else
		a->untrusted_match = match;
}

/*
 * WLBLEval.pm check_mailfrom_matches_rcvd(): the envelope sender's
 * registered domain is that of the first untrusted relay's rDNS, or, with
 * no untrusted relay, of any trusted one's.
 */
static unsigned
ev_mailfrom_matches_rcvd(const struct saeval_call *call,
    struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct rp_match a;
	const char *at, *e;

	(void)call;
	if (cx->relays == NULL)
		return 0;
	sae_get(cx, "EnvelopeFrom:addr", &c->a);
	if ((e = memchr(c->a.p, '\n', c->a.len)) != NULL)
		c->a.len = (size_t)(e - c->a.p);
	/* / \@ ( [^\@]+ \. [^\@]+ ) \z/x: the last "@", a dot inside */
	if ((at = memrchr(c->a.p, '@', c->a.len)) == NULL ||
	    c->a.p + c->a.len - at < 4 || memchr(at + 2, '.',
	    (size_t)(c->a.p + c->a.len - at - 3)) == NULL)
		return 0;
	registry_domain(cx->conf, at + 1, c->a.len - (size_t)(at + 1 - c->a.p),
	    &c->b);
	memset(&a, 0, sizeof(a));
	a.cf = cx->conf;
	a.dom = c->b.p;
	a.scratch = &c->c;
	rule_relays_each(cx->relays, cx->m, cx->md, cx->rcache, rp_relay, &a);
	return a.untrusted_seen ? a.untrusted_match : a.trusted_match;
}

/*
 * RegistryBoundaries.pm uri_to_domain()'s host of a URI, lower case, into
 * out: 1, or 0 where SA has none (javascript:, cid:, file:, mailto:, an
 * encoded host, an invalid TLD).
 */
static int
uri_host(const char *u, size_t n, struct sbuf *out)
{
	size_t i, k;
	char *h;

	sbuf_reset(out);
	sbuf_add(out, u, n);
	h = out->p;
	if (h == NULL)
		return 0;
	for (i = 0; i < out->len; i++)
		h[i] = (char)tolower((unsigned char)h[i]);
	if (strncmp(h, "javascript:", 11) == 0 || strncmp(h, "cid:", 4) == 0 ||
	    strncmp(h, "file:", 5) == 0 || strncmp(h, "mailto:", 7) == 0)
		return 0;
	/* s{^[a-z]+:/{0,2}}{}; s{[/?#].*}{}; s{^[^/]*\@}{}; s{:\d*$}{} */
	for (i = 0; h[i] >= 'a' && h[i] <= 'z'; i++)
		;
	if (i > 0 && h[i] == ':') {
		i++;
		for (k = 0; k < 2 && h[i] == '/'; k++)
			i++;
	} else
		i = 0;
	k = i + strcspn(h + i, "/?#");
	memmove(h, h + i, k - i);
	out->len = k - i;
	h[out->len] = '\0';
	if ((u = strrchr(h, '@')) != NULL) {
		out->len -= (size_t)(u + 1 - h);
		memmove(h, u + 1, out->len + 1);
	}
	for (i = out->len; i > 0 && isdigit((unsigned char)h[i - 1]); i--)
		;
	if (i > 0 && h[i - 1] == ':')
		h[out->len = i - 1] = '\0';
	for (i = 0; i + 2 < out->len; i++)
		if (h[i] == '%' && isxdigit((unsigned char)h[i + 1]) &&
		    isxdigit((unsigned char)h[i + 2]))
			return 0;
	return out->len > 0 && (is_ipv4(h) ||
	    msg_host_tld_valid(h, out->len));
}

/*
 * WLBLEval.pm check_uri_host_listed(LIST): a URI host of the message whose
 * most specific name in LIST (the host, then each parent domain; an IP
 * literally) is enlisted, not "!"-excepted.  The stock lists are in
 * 72_active.cf (SUSP_URI_NTLD: untrustworthy TLDs), read as settings.
 */
static unsigned
ev_uri_host_listed(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct saeval_conf *cf = cx->conf;
	struct saeval_cache *c = cx->cache;
	const struct msg_str *v;
	struct sae_uh q, *f;
	size_t n, i, ll;
	const char *d;

	if (cf->nuh == 0 || call->args[0] == NULL)
		return 0;
	ll = strlen(call->args[0]);
	v = msg_uris(cx->m, &n);
	for (i = 0; i < n; i++) {
		if (!uri_host(v[i].p, v[i].len, &c->a))
			continue;
		for (d = c->a.p; d != NULL; d = is_ipv4(c->a.p) ? NULL :
		    strchr(d, '.') != NULL ? strchr(d, '.') + 1 : NULL) {
			sbuf_reset(&c->b);
			sbuf_add(&c->b, call->args[0], ll);
			sbuf_addc(&c->b, '\0');
			sbuf_adds(&c->b, d);
			q.key = c->b.p;
			q.len = c->b.len;
			f = bsearch(&q, cf->uh, cf->nuh, sizeof(*cf->uh),
			    uh_cmp);
			if (f != NULL) {
				if (f->v)
					return 1;
				break;
			}
		}
	}
	return 0;
}

/* IS_IPV4_ADDRESS: four dotted numbers 0..255 */
static int
is_ipv4(const char *s)
{
	int parts = 0;
	long v;
	char *e;

	for (;;) {
		if (*s < '0' || *s > '9')
			return 0;
		v = strtol(s, &e, 10);
		if (v > 255 || e - s > 3)
			return 0;
		parts++;
		if (*e == '\0')
			return parts == 4;
		if (*e != '.' || parts == 4)
			return 0;
		s = e + 1;
	}
}

/* Constants.pm IP_PRIVATE, for IPv4 */
static int
ipv4_private(const char *s)
{
	long a = strtol(s, NULL, 10), b;
	const char *d = strchr(s, '.');

	b = d != NULL ? strtol(d + 1, NULL, 10) : -1;
	return a == 10 || a == 127 || (a == 169 && b == 254) || (a == 172 &&
	    b >= 16 && b <= 31) || (a == 192 && b == 168) || (a == 100 &&
	    b >= 64 && b <= 127);
}

/* Field key= of the relay text r[0..n) ("[ ip=... rdns=... ]") into out. */
static void
relay_field(const char *r, size_t n, const char *key, char *out, size_t sz)
{
	size_t kl = strlen(key), i, k = 0;

	out[0] = '\0';
	for (i = 0; i + kl + 1 < n; i++)
		if (r[i] == ' ' && strncmp(r + i + 1, key, kl) == 0 &&
		    r[i + 1 + kl] == '=') {
			for (i += kl + 2; i < n && r[i] != ' ' && k + 1 < sz;
			    i++)
				out[k++] = r[i];
			out[k] = '\0';
			return;
		}
}

/*
 * Call fn on each untrusted relay (ip, rdns, helo) until it returns
 * nonzero; the originating-IP ones have no helo and are passed too.
 */
static int
each_untrusted(struct saeval_ctx *cx, int (*fn)(const char *, const char *,
    const char *, void *), void *arg)
{
	struct sbuf *t = &cx->cache->c;
	const char *p, *e;
	char ip[64], rdns[256], helo[256];
	int r;

	if (cx->relays == NULL || rule_relays_get(cx->relays, cx->m,
	    "X-Spam-Relays-Untrusted", cx->md, cx->rcache, t) != 1)
		return 0;
	for (p = t->p; p != NULL && (p = strstr(p, "[ ")) != NULL; p = e) {
		if ((e = strstr(p, " ]")) == NULL)
			break;
		relay_field(p, (size_t)(e - p), "ip", ip, sizeof(ip));
		relay_field(p, (size_t)(e - p), "rdns", rdns, sizeof(rdns));
		relay_field(p, (size_t)(e - p), "helo", helo, sizeof(helo));
		if ((r = fn(ip, rdns, helo, arg)) != 0)
			return r;
	}
	return 0;
}

/* RelayEval.pm helo_ip_mismatch(): a public IP HELO from another /24 */
static int
helo_mismatch(const char *ip, const char *rdns, const char *helo, void *arg)
{
	size_t k, dots = 0;

	(void)rdns;
	(void)arg;
	if (!is_ipv4(helo) || ipv4_private(helo) || !is_ipv4(ip) ||
	    ipv4_private(ip) || strcmp(helo, ip) == 0)
		return 0;
	for (k = 0; helo[k] != '\0' && dots < 3; k++)
		if (helo[k] == '.')
			dots++;
	return strncmp(ip, helo, k) != 0;
}

/* RelayEval.pm hostname_to_domain(): h lower-cased, cut into out */
static void
host_domain(const char *h, char *out, size_t sz)
{
	const char *dots[3] = { NULL, NULL, NULL }, *last, *p;
	size_t n = strlen(h), np = 1, k;
	int alpha = 0;

	for (p = h; *p != '\0'; p++)
		alpha |= isalpha((unsigned char)*p) != 0;
	/* Perl's split drops trailing empty fields */
	while (n > 0 && h[n - 1] == '.')
		n--;
	for (k = 0; k < n; k++)
		if (h[k] == '.') {
			np++;
			dots[2] = dots[1];
			dots[1] = dots[0];
			dots[0] = h + k;
		}
	if (!alpha || n == 0) {
		snprintf(out, sz, "%s", h);
		return;
	}
	last = dots[0] != NULL ? dots[0] + 1 : h;
	k = (size_t)(h + n - last);
	/* /(?:\S{3,}|ie|fr|de)/, unanchored: no blanks in a host name */
	if (np > 1 && (k >= 3 || (k == 2 && (strncmp(last, "ie", 2) == 0 ||
	    strncmp(last, "fr", 2) == 0 || strncmp(last, "de", 2) == 0))))
		p = dots[1] != NULL ? dots[1] + 1 : h;
	else if (np > 2)
		p = dots[2] != NULL ? dots[2] + 1 : h;
	else {
		snprintf(out, sz, "%s", h);
		return;
	}
	snprintf(out, sz, "%.*s", (int)(h + n - p), p);
}

static int
word_ch(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* /^\w+(?:[\w.-]+\.)+\w+$/: the last dot at 2 or later, only \w after */
static int
host_like(const char *s)
{
	const char *d = strrchr(s, '.'), *p;

	if (d == NULL || d - s < 2 || !word_ch(s[0]) || d[1] == '\0')
		return 0;
	for (p = s; p < d; p++)
		if (!word_ch(*p) && *p != '.' && *p != '-')
			return 0;
	for (p = d + 1; *p != '\0'; p++)
		if (!word_ch(*p))
			return 0;
	return 1;
}

/*
 * RelayEval.pm check_for_forged_received_trail(): count the untrusted
 * relays whose "by" domain is not the "from" (rDNS) domain of the relay
 * before it; more than one is a forged trail.
 */
static unsigned
ev_forged_rcvd_trail(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct sbuf *t = &cx->cache->c;
	const char *p, *e;
	char ip[64], rdns[256], byh[256], by[256], from[256], prev[256];
	unsigned mismatch = 0;
	size_t i = 0, k;
	int have_prev = 0;

	(void)call;
	if (cx->relays == NULL || rule_relays_get(cx->relays, cx->m,
	    "X-Spam-Relays-Untrusted", cx->md, cx->rcache, t) != 1)
		return 0;
	for (p = t->p; (p = strstr(p, "[ ")) != NULL; p = e, i++) {
		if ((e = strstr(p, " ]")) == NULL)
			break;
		relay_field(p, (size_t)(e - p), "ip", ip, sizeof(ip));
		relay_field(p, (size_t)(e - p), "rdns", rdns, sizeof(rdns));
		relay_field(p, (size_t)(e - p), "by", byh, sizeof(byh));
		for (k = 0; rdns[k] != '\0'; k++)
			rdns[k] = (char)tolower((unsigned char)rdns[k]);
		for (k = 0; byh[k] != '\0'; k++)
			byh[k] = (char)tolower((unsigned char)byh[k]);
		host_domain(rdns, from, sizeof(from));
		host_domain(byh, by, sizeof(by));
		if (host_like(by)) {
			/* bouncing around one machine through localhost */
			if ((strcmp(from, "localhost") == 0 ||
			    strcmp(from, "localhost.localdomain") == 0) &&
			    strcmp(ip, "127.0.0.1") == 0)
				from[0] = '\0';
			if (i > 0 && have_prev && host_like(prev) &&
			    strcmp(by, prev) != 0 && !(strcmp(by, "msn.com") ==
			    0 && strcmp(prev, "hotmail.com") == 0))
				mismatch++;
		}
		/* from[i] as the next relay sees it ("": undef, never like) */
		memcpy(prev, from, sizeof(prev));
		have_prev = 1;
	}
	return mismatch > 1;
}

static unsigned
ev_helo_ip_mismatch(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	return each_untrusted(cx, helo_mismatch, NULL) != 0;
}

static unsigned
ev_env_and_hdr_from_match(const struct saeval_call *call,
    struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;

	(void)call;
	sae_get(cx, "EnvelopeFrom:addr", &c->a);
	sae_get(cx, "From:addr", &c->b);
	return c->a.len == c->b.len && strncasecmp(c->a.p, c->b.p,
	    c->a.len) == 0;
}

/* ------------------------------------------------------------------ */
/* HeaderEval.pm: check_unresolved_template, check_header_count_range */

/* Fields HeaderEval.pm's check_unresolved_template() never looks at. */
static int
template_exempt(const char *name, size_t n)
{
	static const char *const ex[] = { "X-VMS-To", "X-UIDL", "X-Face",
	    "To", "Cc", "From", "Subject", "References", "In-Reply-To",
	    "Message-Id", "X-Message-Id", "Resent-Message-Id",
	    "X-Original-Message-Id" };
	size_t i;

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (strlen(ex[i]) == n && strncasecmp(ex[i], name, n) == 0)
			return 1;
	return 0;
}

/*
 * A line of get('ALL') that holds /%[A-Z][A-Z_-]/ (a mail merge's
 * placeholder left in), in a field not exempt; a decoded value's own
 * newlines start lines that no field name exempts.
 */
static unsigned
ev_unresolved_template(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_header *h;
	const char *v;
	size_t n, i, k;
	int ex;

	(void)call;
	h = msg_headers(cx->m, &n);
	for (i = 0; i < n; i++) {
		ex = template_exempt(h[i].name, h[i].name_len);
		v = h[i].value;
		for (k = 0; k + 2 < h[i].value_len; k++) {
			if (v[k] == '\n')
				ex = 0;
			if (!ex && v[k] == '%' && v[k + 1] >= 'A' &&
			    v[k + 1] <= 'Z' && ((v[k + 2] >= 'A' &&
			    v[k + 2] <= 'Z') || v[k + 2] == '_' ||
			    v[k + 2] == '-'))
				return 1;
		}
	}
	return 0;
}

/*
 * How many distinct values the fields named args[0] have, within
 * [args[1], args[2]] (Perl's numeric comparison: undef is 0).
 */
static unsigned
ev_header_count_range(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_header *h;
	const char *name = call->args[0];
	double lo = isnan(call->num[1]) ? 0 : call->num[1];
	double hi = isnan(call->num[2]) ? 0 : call->num[2];
	size_t n, i, j, len, cnt = 0;

	if (name == NULL)
		return 0;
	len = strlen(name);
	h = msg_headers(cx->m, &n);
	for (i = 0; i < n; i++) {
		if (h[i].name_len != len || strncasecmp(h[i].name, name,
		    len) != 0)
			continue;
		for (j = 0; j < i; j++)
			if (h[j].name_len == len && strncasecmp(h[j].name,
			    name, len) == 0 && h[j].value_len ==
			    h[i].value_len && memcmp(h[j].value, h[i].value,
			    h[i].value_len) == 0)
				break;
		if (j == i)
			cnt++;
	}
	return (double)cnt >= lo && (double)cnt <= hi;
}

/*
 * VBounce.pm have_any_bounce_relays(): whether the configuration lists any
 * welcomelist_bounce_relays (the stock files list none: then never).
 */
static unsigned
ev_have_bounce_relays(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	return cx->conf->bounce_relays != 0;
}

/* ------------------------------------------------------------------ */
/* the "faraway charset" checks: ok_locales, Locales.pm */

/*
 * Whether ok_locales holds "all" (its default, and the stock
 * 10_default_prefs.cf's), which turns every faraway check off.  SA also
 * appends $LC_ALL/$LANGUAGE/$LC_MESSAGES/$LANG; moat reads no environment
 * here (pure), so only the configured locales count.
 */
static int
locales_all(const struct saeval_conf *cf)
{
	const char *p, *e;

	if (cf->locales == NULL)
		return 1;
	for (p = cf->locales; *p != '\0'; p = e) {
		p += strspn(p, " \t");
		e = p + strcspn(p, " \t");
		if (e - p == 3 && strncmp(p, "all", 3) == 0)
			return 1;
	}
	return 0;
}

/* Locales.pm is_charset_ok_for_locales(), for charset cs[0..n). */
static int
charset_ok(const struct saeval_conf *cf, const char *cs, size_t n)
{
	static const char *const loc[][2] = {
		{ "ja", " EUCJP JISX020119760 JISX020819830 JISX020819900 "
		    "JISX020819970 JISX021219900 JISX021320001 JISX021320002 "
		    "SHIFT_JIS SHIFTJIS ISO2022JP SJIS JIS7 JISX0201 JISX0208 "
		    "JISX0212 " },
		{ "ko", " EUCKR KSC56011987 " },
		{ "ru", NULL }, { "ka", NULL }, { "tg", NULL }, { "be", NULL },
		{ "uk", NULL }, { "bg", NULL },
		{ "th", " TIS620 " },
		{ "zh", " GB1988 GB2312 GB231219800 GB18030 GBK BIG5HKSCS BIG5 "
		    "EUCTW ISO2022CN " },
	};
	static const char cyr[] = " KOI8R KOI8U KOI8T ISOIR111 CP1251 "
	    "GEORGIANPS PT154 CP866 ";
	static const char *const pre[] = { "ISO8859", "ISO10646", "UTF",
	    "UCS", "CP125", "WINDOWS", "UNICODE11UTF7", "UNICODE11UTF8" };
	char u[64 + 3], w[8];
	const char *p, *e, *set;
	size_t i, k = 1;

	/* upper case, [A-Z0-9] only, a QP "3D" off, up to a ':' */
	u[0] = ' ';
	for (i = 0; i < n && cs[i] != ':' && k < 64; i++)
		if (isalnum((unsigned char)cs[i]))
			u[k++] = (char)toupper((unsigned char)cs[i]);
	u[k] = '\0';
	p = u + 1;
	while (strncmp(p, "3D", 2) == 0)
		p += 2;
	if (strcmp(p, "USASCII") == 0 || strcmp(p, "ASCII") == 0 ||
	    strcmp(p, "IBM852") == 0 || strcmp(p, "XUNKNOWN") == 0 ||
	    strcmp(p, "ISO") == 0)
		return 1;
	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strncmp(p, pre[i], strlen(pre[i])) == 0)
			return 1;
	if (*p == '\0')
		return 0;
	/* " CS " to look up in a list */
	memmove(u + 1, p, strlen(p) + 1);
	k = strlen(u);
	u[k++] = ' ';
	u[k] = '\0';
	for (p = cf->locales != NULL ? cf->locales : ""; *p != '\0'; p = e) {
		p += strspn(p, " \t");
		e = p + strcspn(p, " \t");
		if (e == p)
			break;
		/* "C" is "en"; zh_TW... is zh */
		snprintf(w, sizeof(w), "%.*s", (int)(e - p), p);
		if (islower((unsigned char)w[0]) &&
		    islower((unsigned char)w[1]))
			w[2] = '\0';
		for (i = 0; i < sizeof(loc) / sizeof(loc[0]); i++) {
			if (strcmp(w, loc[i][0]) != 0)
				continue;
			set = loc[i][1] != NULL ? loc[i][1] : cyr;
			if (strstr(set, u) != NULL)
				return 1;
		}
	}
	return 0;
}

/*
 * HeaderEval.pm check_for_faraway_charset_in_headers(): an encoded word
 * (=?cs?x?...?=) in From or Subject whose charset the locales do not take.
 */
static unsigned
ev_faraway_headers(const struct saeval_call *call, struct saeval_ctx *cx)
{
	static const char *const hn[] = { "From:raw", "Subject:raw" };
	struct sbuf *b = &cx->cache->a;
	const char *p, *q, *end, *t;
	size_t i;

	(void)call;
	if (locales_all(cx->conf))
		return 0;
	for (i = 0; i < 2; i++) {
		sae_get(cx, hn[i], b);
		end = b->p + b->len;
		/* /=\?(.+?)\?.\?.*?\?=/g, "." never a newline */
		for (p = b->p; p + 1 < end; p++) {
			if (p[0] != '=' || p[1] != '?')
				continue;
			for (q = p + 3; q + 2 < end && q[-1] != '\n'; q++) {
				if (q[0] != '?' || q[2] != '?' || q[1] == '\n')
					continue;
				t = memchr(q + 3, '?', (size_t)(end - q - 3));
				while (t != NULL && t + 1 < end && t[1] != '=')
					t = memchr(t + 1, '?',
					    (size_t)(end - t - 1));
				if (t == NULL || t + 1 >= end ||
				    memchr(q + 3, '\n', (size_t)(t - q - 3)))
					continue;
				if (!charset_ok(cx->conf, p + 2,
				    (size_t)(q - p - 2)))
					return 1;
				p = t + 1;
				break;
			}
		}
	}
	return 0;
}

/*
 * MIMEEval.pm check_for_faraway_charset(): the top Content-Type's charset
 * is not for the locales and most of the body text is 8-bit.  SA counts
 * the octets of the undecoded text; moat's body is UTF-8, so it counts
 * characters (for the single-byte charsets this concerns, the same).
 */
static unsigned
ev_faraway_charset(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct sbuf *b = &cx->cache->a;
	const struct msg_str *v;
	const char *p, *cs;
	size_t n, i, k, lo = 0, hi = 0, cl;

	(void)call;
	if (locales_all(cx->conf) || sae_get(cx, "Content-Type", b) != 1)
		return 0;
	/* get_charset_from_ct_line(): "..." or '...' or \S+ */
	if ((p = strcasestr(b->p, "charset=")) == NULL)
		return 0;
	cs = p + 8;
	if (*cs == '"' || *cs == '\'') {
		cl = strcspn(cs + 1, *cs == '"' ? "\"" : "'");
		if (cs[1 + cl] == '\0' || cl == 0)
			cl = strcspn(cs, " \t\n");
		else
			cs++;
	} else
		cl = strcspn(cs, " \t\n");
	if (cl == 0 || charset_ok(cx->conf, cs, cl))
		return 0;
	v = msg_body(cx->m, &n);
	for (i = 0; i < n; i++) {
		if (i > 0)
			lo++;	/* join("\n") */
		for (k = 0; k < v[i].len; k++) {
			unsigned char c = (unsigned char)v[i].p[k];

			if (c < 0x80)
				lo++;
			else if ((c & 0xc0) != 0x80)
				hi++;
		}
	}
	return lo <= hi && hi > 3;
}

/*
 * URIEval.pm check_uri_truncated(): a URI longer than MAX_URI_LENGTH
 * (8192), which HTML.pm and PerMsgStatus.pm cut.  The message model cuts
 * at the same length, so a URI of exactly 8192 bytes counts: one that
 * long before the cut is taken as cut (doc/rules.md section 8).
 */
static unsigned
ev_uri_truncated(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_str *u;
	size_t n, i;

	(void)call;
	u = msg_uris(cx->m, &n);
	for (i = 0; i < n; i++)
		if (u[i].len >= 8192)
			return 1;
	return 0;
}

/* RegistryBoundaries.pm is_domain_valid(): a dot and a valid TLD */
static int
domain_valid(const char *d, size_t n)
{
	return n > 0 && memchr(d, '.', n) != NULL && d[n - 1] != '.' &&
	    strcspn(d, " \t\n\r\f\v") >= n && msg_host_tld_valid(d, n);
}

/*
 * The registered domain of the host that starts at p (up to a char of
 * stop), into out; 0 when it is an IP address (*ip set) or no valid
 * domain.
 */
static int
https_host(const struct saeval_conf *cf, const char *p, const char *stop,
    struct sbuf *out, int *ip)
{
	size_t n = strcspn(p, stop);
	char h[256];

	*ip = 0;
	if (n == 0)
		return 0;
	snprintf(h, sizeof(h), "%.*s", (int)n, p);
	if (is_ipv4(h)) {
		*ip = 1;
		sbuf_reset(out);
		sbuf_adds(out, h);
		return 0;
	}
	registry_domain(cf, p, n, out);
	return domain_valid(out->p, out->len);
}

/*
 * HTTPSMismatch.pm check_https_http_mismatch(): in one HTML part, a link
 * to an http(s) domain whose anchor text shows "https://" another one, with
 * [min, max) links to valid domains (each href counted once).
 */
static unsigned
ev_https_http_mismatch(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *hs;
	struct saeval_cache *c = cx->cache;
	double lo = isnan(call->num[0]) || call->num[0] == 0 ? 1 :
	    call->num[0];
	double hi = call->num[1];
	const char *h, *t, *h2, *t2, *p;
	size_t n, i, k, j, anchors;
	int hit, ip;

	hs = msg_html(cx->m, &n);
	for (i = 0; i < n; i++) {
		hit = 0;
		anchors = 0;
		for (k = 0, h = hs[i].anchor_hrefs.p, t = hs[i].anchors.p;
		    k < hs[i].nanchors && h != NULL && t != NULL; k++,
		    h += strlen(h) + 1, t += strlen(t) + 1) {
			/* each distinct href once, as the keys of a hash */
			for (j = 0, h2 = hs[i].anchor_hrefs.p; j < k; j++,
			    h2 += strlen(h2) + 1)
				if (strcmp(h2, h) == 0)
					break;
			if (j < k || strncasecmp(h, "http", 4) != 0)
				continue;
			p = h + 4 + (h[4] == 's' || h[4] == 'S');
			if (strncmp(p, "://", 3) != 0 || !https_host(cx->conf,
			    p + 3, "/:?#", &c->a, &ip))
				continue;
			anchors++;
			for (j = k, h2 = h, t2 = t; j < hs[i].nanchors && !hit;
			    j++, h2 += strlen(h2) + 1, t2 += strlen(t2) + 1) {
				if (strcmp(h2, h) != 0 ||
				    (p = strcasestr(t2, "https://")) == NULL)
					continue;
				if (!https_host(cx->conf, p + 8,
				    " \t\n\r\f\v/:?#", &c->b, &ip) && !ip)
					continue;
				if (c->a.len != c->b.len || memcmp(c->a.p,
				    c->b.p, c->a.len) != 0)
					hit = 1;
			}
		}
		if (hit && (double)anchors >= lo && (isnan(hi) ||
		    (double)anchors < hi))
			return 1;
	}
	return 0;
}

/*
 * URIEval.pm check_https_ip_mismatch(): a link to an IP address whose
 * anchor text says "https:" but does not start as an https link to an IP.
 */
static unsigned
ev_https_ip_mismatch(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *hs;
	const char *h, *t;
	size_t n, i, k;

	(void)call;
	hs = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		for (k = 0, h = hs[i].anchor_hrefs.p, t = hs[i].anchors.p;
		    k < hs[i].nanchors && h != NULL && t != NULL; k++,
		    h += strlen(h) + 1, t += strlen(t) + 1)
			if (sae_match(cx, SRE_HREF_IP, h, strlen(h)) &&
			    !sae_match(cx, SRE_TEXT_HTTPS_IP, t, strlen(t)) &&
			    strcasestr(t, "https:") != NULL)
				return 1;
	return 0;
}

/* HTMLEval.pm check_iframe_src(): an iframe's src among the URIs */
static unsigned
ev_iframe_src(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *hs;
	size_t n, i;

	(void)call;
	hs = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		if (hs[i].iframe_src)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the table */


static const struct sae_fn {
	const char	*name;
	unsigned	(*run)(const struct saeval_call *,
			    struct saeval_ctx *);
	unsigned	 flags;
} sae_fns[] = {
	{ "check_bayes", ev_bayes, 0 },
	{ "check_for_shifted_date", ev_shifted_date, 0 },
	{ "check_equal_from_domains", ev_equal_from_domains, 0 },
	{ "check_outlook_message_id", ev_outlook_message_id, 0 },
	{ "subject_is_all_caps", ev_subject_all_caps, 0 },
	{ "check_for_missing_to_header", ev_missing_to, 0 },
	{ "check_for_to_in_subject", ev_to_in_subject, 0 },
	{ "check_uri_host_listed", ev_uri_host_listed, 0 },
	{ "check_ratware_name_id", ev_ratware_name_id, 0 },
	{ "check_ratware_envelope_from", ev_ratware_envelope_from, 0 },
	{ "check_mailfrom_matches_rcvd", ev_mailfrom_matches_rcvd, 0 },
	{ "gated_through_received_hdr_remover", ev_gated, 0 },
	{ "check_all_trusted", ev_all_trusted, 0 },
	{ "check_no_relays", ev_no_relays, 0 },
	{ "check_relays_unparseable", ev_relays_unparseable, 0 },
	{ "check_for_no_rdns_dotcom_helo", ev_no_rdns_dotcom_helo, 0 },
	{ "check_for_forged_yahoo_received_headers", ev_forged_yahoo, 0 },
	{ "check_for_no_hotmail_received_headers", ev_no_hotmail_rcvd, 0 },
	{ "check_for_forged_hotmail_received_headers", ev_forged_hotmail, 0 },
	{ "check_for_forged_gmail_received_headers", ev_forged_gmail, 0 },
	{ "check_for_forged_eudoramail_received_headers",
	    ev_forged_eudoramail, 0 },
	{ "check_for_forged_juno_received_headers", ev_forged_juno, 0 },
	{ "check_for_fake_aol_relay_in_rcvd", ev_fake_aol_relay, 0 },
	{ "check_for_forged_received_trail", ev_forged_rcvd_trail, 0 },
	{ "check_uri_truncated", ev_uri_truncated, 0 },
	{ "check_https_http_mismatch", ev_https_http_mismatch, 0 },
	{ "check_https_ip_mismatch", ev_https_ip_mismatch, 0 },
	{ "check_iframe_src", ev_iframe_src, 0 },
	{ "similar_recipients", ev_similar_recipients, 0 },
	{ "sorted_recipients", ev_sorted_recipients, 0 },
	{ "check_for_uppercase", ev_uppercase, 0 },
	{ "tvd_vertical_words", ev_vertical_words, 0 },
	{ "check_body_length", ev_body_length, 0 },
	{ "check_illegal_chars", ev_illegal_chars, 0 },
	{ "check_freemail_from", ev_freemail_from, SAE_REGEX1 },
	{ "check_freemail_header", ev_freemail_header, SAE_REGEX },
	{ "helo_ip_mismatch", ev_helo_ip_mismatch, 0 },
	{ "check_freemail_replyto", ev_freemail_replyto, 0 },
	{ "check_for_matching_env_and_hdr_from", ev_env_and_hdr_from_match,
	    0 },
	{ "check_unresolved_template", ev_unresolved_template, 0 },
	{ "check_header_count_range", ev_header_count_range, 0 },
	{ "have_any_bounce_relays", ev_have_bounce_relays, 0 },
	{ "check_for_faraway_charset_in_headers", ev_faraway_headers, 0 },
	{ "check_for_faraway_charset", ev_faraway_charset, 0 },
	SAE_MIME_FNS
	SAE_HTML_FNS
};

#define SAE_NFNS	(sizeof(sae_fns) / sizeof(sae_fns[0]))

/* One Perl argument: 'str', "str", a number or a bareword (undef). */
static const char *
parse_arg(const char *p, char **out)
{
	const char *s;
	char q;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\'' || *p == '"') {
		q = *p++;
		for (s = p; *p != '\0' && *p != q; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		*out = xstrndup(s, (size_t)(p - s));
		if (*p == q)
			p++;
	} else {
		for (s = p; *p != '\0' && *p != ',' && *p != ')'; p++)
			;
		while (p > s && (p[-1] == ' ' || p[-1] == '\t'))
			p--;
		*out = strncmp(s, "undef", 5) == 0 && p - s == 5 ? NULL :
		    xstrndup(s, (size_t)(p - s));
		while (*p == ' ' || *p == '\t')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

struct saeval_call *
rule_saeval_parse(const char *text)
{
	struct saeval_call *c;
	const char *p = text, *n;
	size_t len, i;
	int ec;
	PCRE2_SIZE eo;

	for (n = p; isalnum((unsigned char)*p) || *p == '_'; p++)
		;
	len = (size_t)(p - n);
	while (*p == ' ')
		p++;
	if (*p != '(')
		return NULL;
	for (i = 0; i < SAE_NFNS; i++)
		if (strlen(sae_fns[i].name) == len &&
		    strncmp(sae_fns[i].name, n, len) == 0)
			break;
	if (i == SAE_NFNS)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->fn = (int)i;
	for (i = 0; i < SAEVAL_ARGS_MAX; i++)
		c->num[i] = NAN;
	p++;
	while (*p != '\0' && *p != ')' && c->nargs < SAEVAL_ARGS_MAX) {
		char *a;

		p = parse_arg(p, &a);
		c->args[c->nargs] = a;
		if (a != NULL && strcmp(a, "undef") != 0)
			c->num[c->nargs] = strtod(a, NULL);
		c->nargs++;
		if (*p == ',')
			p++;
		else
			break;
	}
	/* only the parser flags moat keeps; others stay skipped */
	if (sae_fns[c->fn].run == ev_msg_parse_flags && (c->nargs < 1 ||
	    c->args[0] == NULL || (strcmp(c->args[0],
	    "mime_epilogue_exists") != 0 && strcmp(c->args[0],
	    "missing_mime_headers") != 0))) {
		rule_saeval_call_free(c);
		return NULL;
	}
	if ((sae_fns[c->fn].flags & (SAE_REGEX | SAE_REGEX1)) &&
	    c->nargs >= ((sae_fns[c->fn].flags & SAE_REGEX) ? 2u : 1u)) {
		const char *src = c->args[(sae_fns[c->fn].flags & SAE_REGEX) ?
		    1 : 0];

		if (src != NULL && (c->re = pcre2_compile((PCRE2_SPTR)src,
		    PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL)) == NULL) {
			/* FreeMail.pm warns and the rule never hits */
			rule_saeval_call_free(c);
			return NULL;
		}
	}
	return c;
}

void
rule_saeval_call_free(struct saeval_call *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nargs; i++)
		free(c->args[i]);
	pcre2_code_free(c->re);
	free(c);
}

const char *
rule_saeval_name(const struct saeval_call *c)
{
	return sae_fns[c->fn].name;
}

unsigned
rule_saeval_run(const struct saeval_call *c, struct saeval_ctx *cx)
{
	if (cx->m == NULL && sae_fns[c->fn].run != ev_bayes)
		return 0;
	return sae_fns[c->fn].run(c, cx);
}
