/*
 * rule_relays.c: SpamAssassin's X-Spam-Relays-* pseudo-headers, built from
 * the Received fields of a message.
 *
 * The message model (msg.h) does not derive these (msg_get() returns -1),
 * so the rule engine does: each Received field is parsed into a relay
 * (ip, rdns, helo, by, ident, envfrom, id, auth) by an ordered table of the
 * patterns Mail::SpamAssassin::Message::Metadata::Received 4.0.1 tries
 * (parse_received_line, :319-1420), and the relays are split into trusted and
 * untrusted as SA does when trusted_networks is not configured: a relay
 * from a private address or with authentication is trusted, and the first
 * one that is neither ends the trusted part (:169-200).  Internal/external
 * follow trusted/untrusted in that mode.
 *
 * It covers the MTA formats that carry most mail (sendmail, Postfix, qmail,
 * Exim, Microsoft, Lotus, webmail, the generic fallbacks); SA's rarer
 * special cases (XMail, ecelerity, Yahoo SMTP, ...) are absent and such
 * lines fall through to the generic rules.  doc/rules.md lists the
 * difference.  Each row also says whether the MTA that writes that form
 * looks up the reverse DNS (Received.pm's $mta_looked_up_dns), which the
 * relay evals read as no_reverse_dns.
 *
 * Pure: no I/O.  The compiled patterns belong to the rule set.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule_int.h"
#include "rule_saeval.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

#define IP4 "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|\\d\\d|\\d)\\.){3}" \
	    "(?:25[0-5]|2[0-4]\\d|1\\d\\d|\\d\\d|\\d)"
#define IP "(?:" IP4 "|(?:IPv6:)?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*[0-9A-Fa-f])"
#define LH "(?:localhost(?:\\.localdomain)?|127\\.0\\.0\\.1|::1)"

/* what a pattern's groups mean: one letter per group */
/* h helo, r rdns, i ip, b by, d ident, R rdns and helo, s exim sub, x - */
#define RL_RET0		0x01	/* a match means: not a relay, skip it */
#define RL_IDENT	0x02	/* strip IDENT:x@ / x@ from rdns */
#define RL_UNKNOWN	0x04	/* rdns "unknown" means none */
#define RL_SOFTDNS	0x08	/* rdns "softdnserr" means none */
#define RL_SUBHELO	0x10	/* exim: helo defaults to rdns */
#define RL_POPFETCH	0x20	/* fetchmail: skip, and forget the trusted */
#define RL_IDENTAT	0x40	/* ident group ends in "@": strip it */
#define RL_NOID		0x80	/* no id for this form */
#define RL_DNS		0x100	/* the MTA that writes this form looks up
				   the rDNS: an empty rdns means none */
#define RL_DNS_NOTUNK	0x200	/* ... unless its rdns is "unknown" */
#define RL_DNS_NOTUNKUC	0x400	/* ... unless its rdns is "UNKNOWN" */

struct rl_pat {
	const char	*guard;		/* must match first (NULL: none) */
	int		 notguard;	/* guard must NOT match */
	const char	*re;
	const char	*groups;
	unsigned	 flags;
};

/* Received.pm parse_received_line() branches, in its order. */
static const struct rl_pat rl_table[] = {
	{ " \\((?:SquirrelMail|NaSMail) authenticated user ", 0, "(" IP
	    ")\\b(?![.-]).{10,80}by (\\S+) with HTTP", "ib", 0 },
	{ "aol\\.com.*with HTTP \\(WebMailUI\\)|with HTTP \\(WebMailUI\\).*"
	    "aol\\.com", 0, "(" IP ") by (\\S+) \\(" IP "\\) with HTTP "
	    "\\(WebMailUI\\)", "ib", 0 },
	{ " SMTPSVC", 0, "^(\\S*) \\(\\[(" IP ")\\][^\\)]{0,40}\\) by (\\S+) with "
	    "Microsoft SMTPSVC", "hib", 0 },
	{ " SMTPSVC", 0, "^mail pickup service by (\\S+) with Microsoft SMTPSVC$",
	    "", RL_RET0 },
	{ " with (?:Microsoft SMTP Server|mapi id) (?:\\([^\\)]+\\) )?\\d+\\.\\d+"
	    "\\.\\d+\\.\\d+(?:$| )", 0, "^(\\S+) \\(\\[?(" IP ")(?:%[A-Z0-9._~-]*)?"
	    "\\]?\\) by (\\S+) ", "hib", RL_NOID },
	{ "Exim", 0, "\\bwith local(?:-\\S+)? ", "", RL_RET0 },
	{ "Exim", 0, "^\\[(" IP ")\\] \\((.*?)\\) by (\\S+) ", "isb", 0 },
	{ "Exim", 0, "^(\\S+) \\(\\[(" IP ")\\](.*?)\\) by (\\S+) ", "risb",
	    RL_SUBHELO },
	{ "Exim", 0, "^(\\S+) \\[(" IP ")\\](:\\d+)? by (\\S+) ", "Rixb", 0 },
	{ " \\(Postfix\\) with", 0,
	    "^(\\S+) \\((\\S+) \\[(" IP ")\\]\\) by (\\S+) ", "hrib",
	    RL_UNKNOWN | RL_DNS },
	{ " \\(Postfix\\) with", 0,
	    "^(\\S+) \\((\\S+)\\[(" IP ")\\]\\) by (\\S+) ", "hrib",
	    RL_UNKNOWN | RL_DNS },
	{ "\\(Scalix SMTP Relay", 0, "^(\\S+) \\( ?(" IP ")\\) by (\\S+)", "hib",
	    0 },
	/* Lotus Domino does not look the rDNS up */
	{ " \\(Lotus Domino ", 0, "^(\\S+) \\(\\[(" IP ")\\]\\) by (\\S+) \\(Lotus",
	    "hib", 0 },
	{ "\\bwith HTTP\\b", 0, "^(" IP ") \\(\\[" IP "\\]\\) by (\\S+)",
	    "ib", 0 },
	{ " by \\S+ \\(qmail-\\S+\\) with ", 1,
	    "^(\\S+) \\((\\S+) \\[(" IP ")\\].*\\) by (\\S+) \\(", "hrib",
	    RL_IDENT | RL_DNS },
	{ NULL, 0, "^(\\S+) \\((\\S+) \\[(" IP ")\\]\\) by (\\S+) with \\S+ \\(",
	    "hrib", RL_DNS },
	{ NULL, 0, "^(\\S+) \\(\\[(" IP ")\\] helo=(\\S+)\\) by (\\S+) with ",
	    "rihb", 0 },
	{ NULL, 0, "^(\\S+) \\(<unknown\\S*>\\[(" IP ")\\]\\) by (\\S+) ",
	    "hib", 0 },
	{ NULL, 0, "^(\\S+) \\((\\S+\\.\\S+)\\[(" IP ")\\]\\) by (\\S+) ",
	    "hrib", RL_DNS },
	{ NULL, 0, "^(\\S+) \\((\\S*)\\@\\[(" IP ")\\].*\\) by (\\S+) \\(",
	    "hdib", RL_DNS },
	{ NULL, 0, "^(\\S+) \\((?:HELO|EHLO) (\\S*)\\) \\((" IP ")\\) by "
	    "(\\S+) \\(qpsmtpd/\\S+\\) with (?:ESMTP|SMTP)", "rhib", 0 },
	{ NULL, 0, "^(\\S+) \\((?:HELO|EHLO) (\\S*)\\) \\[(" IP ")\\] by "
	    "(\\S+) \\([^\\)]+\\) with (?:ESMTP|SMTP)", "rhib", 0 },
	{ NULL, 0, "^(\\S+) \\(\\[(" IP ")\\]\\) by (\\S+) via smtpd \\(for "
	    "\\S+\\) with SMTP\\(", "hib", 0 },
	/* qmail */
	{ "^\\S+( \\((?:HELO|EHLO) \\S*\\))? \\((\\S+\\@)?\\[?" IP "\\]?\\)"
	    "( \\(envelope-sender <\\S+>\\))? by \\S+( \\(.+\\))* with "
	    "(.* )?(SMTP|QMQP)(?! id )", 0,
	    "^(\\S+) \\((?:HELO|EHLO) ([^ \\(\\)]*)\\) \\((\\S*)\\@\\[?(" IP
	    ")\\]?\\)(?: \\(envelope-sender <\\S+>\\))? by (\\S+)", "rhdib",
	    RL_UNKNOWN | RL_DNS | RL_DNS_NOTUNK },
	{ "^\\S+( \\((?:HELO|EHLO) \\S*\\))? \\((\\S+\\@)?\\[?" IP "\\]?\\)"
	    "( \\(envelope-sender <\\S+>\\))? by \\S+( \\(.+\\))* with "
	    "(.* )?(SMTP|QMQP)(?! id )", 0,
	    "^(\\S+) \\((?:HELO|EHLO) ([^ \\(\\)]*)\\) \\(\\[?(" IP
	    ")\\]?\\)(?: \\(envelope-sender <\\S+>\\))? by (\\S+)", "rhib",
	    RL_UNKNOWN | RL_DNS | RL_DNS_NOTUNK },
	{ "^\\S+( \\((?:HELO|EHLO) \\S*\\))? \\((\\S+\\@)?\\[?" IP "\\]?\\)"
	    "( \\(envelope-sender <\\S+>\\))? by \\S+( \\(.+\\))* with "
	    "(.* )?(SMTP|QMQP)(?! id )", 0,
	    "^(\\S+) \\((\\S*)\\@\\[?(" IP ")\\]?\\)(?: \\(envelope-sender "
	    "<\\S+>\\))? by (\\S+)", "Rdib",
	    RL_UNKNOWN | RL_DNS | RL_DNS_NOTUNK },
	{ "^\\S+( \\((?:HELO|EHLO) \\S*\\))? \\((\\S+\\@)?\\[?" IP "\\]?\\)"
	    "( \\(envelope-sender <\\S+>\\))? by \\S+( \\(.+\\))* with "
	    "(.* )?(SMTP|QMQP)(?! id )", 0,
	    "^(\\S+) \\(\\[?(" IP ")\\]?\\)(?: \\(envelope-sender <\\S+>\\))? "
	    "by (\\S+)", "Rib", RL_UNKNOWN | RL_DNS | RL_DNS_NOTUNK },
	{ NULL, 0, "^\\[(" IP ")\\] by (\\S+) via HTTP$", "ib", 0 },
	{ NULL, 0, "^(\\S+) \\( \\[(" IP ")\\]\\).*? by (\\S+) ", "xib", 0 },
	{ NULL, 0, "^\\((\\S+) \\[(" IP ")\\]\\) by (\\S+) ", "hib", 0 },
	{ NULL, 0, "^\\[(" IP ")\\] by (\\S+) ", "ib", 0 },
	{ NULL, 0, "^\\(\\[?(" IP ")\\]?\\) by (\\S+) ", "ib", 0 },
	{ NULL, 0, "^(\\S+) \\[(" IP ")\\] by (\\S+) \\[" IP "\\] with ",
	    "hib", RL_DNS },
	{ NULL, 0, "^(\\S+) \\[\\((" IP ")\\)\\] by (\\S+) \\(" IP "\\) ",
	    "hib", 0 },
	{ NULL, 0, "^(\\S+) \\(\\[(" IP ")\\]\\) by (\\S+) \\(", "hib",
	    RL_DNS },
	{ NULL, 0, "^(\\S+) \\((\\S+) \\[(" IP ")\\]\\).*? by (\\S+)\\b",
	    "hrib", RL_SOFTDNS | RL_DNS },
	{ NULL, 0, "^(\\S+) \\(\\[(" IP ")(?:[.:]\\d+)?\\]\\).*? by (\\S+) ",
	    "hib", RL_DNS },
	{ NULL, 0, "^(\\S+) \\((\\S+) \\[(" IP ")\\]\\)(?: \\(authenticated "
	    "bits=\\d+\\))? by (\\S+) \\(", "hrib", RL_DNS },
	{ NULL, 0, "with (?:POP3|IMAP)", "", RL_RET0 | RL_POPFETCH },
	{ NULL, 0, "^(\\S+) \\((?:HELO|EHLO) ([^\\)]*)\\) \\((\\S*@)?\\[?(" IP
	    ")\\]?\\).* by (\\S+) ", "rhdib", RL_IDENTAT | RL_DNS },
	{ NULL, 0, "^(\\S+) \\((\\S*@)?\\[?(" IP ")\\]?\\).* by (\\S+) ",
	    "Rdib", RL_IDENTAT | RL_DNS },
	{ " with http for ", 0, "^\\[(" IP ")\\] by (\\S+) with http for ",
	    "ib", 0 },
	{ " via smap ", 0, "^(\\S+)\\((" IP ")\\) by (\\S+) via smap ", "rib",
	    RL_DNS },
	{ NULL, 0, "^(\\S+)\\((" IP "), (?:HELO|EHLO) (\\S*)\\) by (\\S+) via "
	    "smap ", "rihb", RL_DNS },
	{ " \\(Post", 0, "^\\[(" IP ")\\] by (\\S+) \\(Post", "ib", 0 },
	{ NULL, 0, "^(" IP ") by (\\S+) \\((?:SMTPL|InterScan)\\b", "ib", 0 },
	{ " with BSMTP", 0, "^\\S+ by \\S+ with BSMTP", "", RL_RET0 },
	{ NULL, 0, "^(\\S+) \\((\\S+) \\[(" IP ")\\]\\) by (\\S+) with ",
	    "hrib", RL_DNS },
	{ NULL, 0, "^(\\S+) \\((?:HELO|EHLO) (\\S*)\\) \\((?:(\\S+)\\@)?(" IP
	    ").*?\\) by (\\S+) with ", "rhdib", RL_DNS },
	{ NULL, 0, "^\\[(" IP ")\\] \\((?:account \\S+ )?(?:HELO|EHLO) "
	    "(\\S*)\\) by (\\S+) \\(", "ihb", 0 },
	{ " \\(CommuniGate Pro", 0, "^(\\S+) \\(\\[(" IP ")\\] verified\\) by "
	    "(\\S+) \\(", "Rib", RL_DNS },
	{ NULL, 0, "^\\(\\[(" IP ")\\]\\) by (\\S+) with ", "ib", 0 },
	{ NULL, 0, "^([^\\d]\\S+) \\((" IP ")\\) by (\\S+) ", "hib", 0 },
	{ NULL, 0, "^\\S+ \\(\\S+\\) by \\S+ \\(Content Technologies ", "",
	    RL_RET0 },
	{ NULL, 0, "^(\\S+) \\(\\[(" IP ")\\] \\[(\\S+)\\]\\) by (\\S+) with ",
	    "hixb", 0 },
	{ NULL, 0, "^(" IP ") by (\\S+) with ", "ib", 0 },
	{ NULL, 0, "^(\\S+) \\((\\S+)\\[(" IP ")\\]\\) by (\\S+) ", "hrib",
	    RL_DNS },
	{ NULL, 0, "^\\[(" IP ")\\]\\S+ \\((?:HELO|EHLO) (\\S*)\\) by (\\S+) ",
	    "ihb", 0 },
	{ NULL, 0, "^(" IP ") \\((?:HELO|EHLO) (\\S*)\\) by (\\S+) ", "ihb", 0 },
	{ NULL, 0, "^(\\S+) \\[(" IP ")\\] by (\\S+) ", "hib", 0 },
	{ NULL, 0, "^(\\S+)\\((" IP ")\\) by (\\S+) ", "rib", 0 },
	{ NULL, 0, "^\\[(" IP ")\\] by (\\S+) \\(MailGate ", "ib", 0 },
	{ NULL, 0, "^(\\S+) \\(unverified \\[(" IP ")\\]\\) by (\\S+) ", "hib",
	    0 },
	{ NULL, 0, "^(" IP ") \\([A-Za-z][^\\)]+\\) by (\\S+) with ", "ib", 0 },
	{ NULL, 0, "^\\[(" IP ")\\] \\(([^\\)]+)\\) by (\\S+) ", "isb", 0 },
	{ NULL, 0, "^(\\S+) \\((?:\\S+\\@)?(" IP ")\\) by (\\S+) with ", "rib",
	    0 },
	/* Obtuse smtpd */
	{ NULL, 0, "^(\\S+)\\((" IP ")\\)(?:, claiming to be \"(\\S+)\")? via "
	    "\\S+ by (\\S+),", "rihb", RL_DNS | RL_DNS_NOTUNKUC },
	/* not relays */
	{ NULL, 0, "^\\S+ \\([^\\s\\@]+\\@" LH "\\) by \\S+ \\(", "", RL_RET0 },
	{ NULL, 0, "^\\S+ \\S+ by \\S+ with local-e?smtp ", "", RL_RET0 },
	{ NULL, 0, "^\\S+\\@\\S+ by \\S+ ", "", RL_RET0 },
	{ NULL, 0, "^Unknown/Local \\(", "", RL_RET0 },
	{ NULL, 0, "^localhost \\(localhost \\[\\[UNIX: localhost\\]\\]\\) by ",
	    "", RL_RET0 },
	{ NULL, 0, "^" LH " \\((?:\\S+\\@)?" LH "[\\)\\[]", "", RL_RET0 },
	{ NULL, 0, "^\\S+ \\((?:\\S+\\@)?" LH "\\) ", "", RL_RET0 },
	{ NULL, 0, "^\\S+ \\(\\S+\\@\\S+ \\[" LH "\\]\\) ", "", RL_RET0 },
	{ NULL, 0, "^\\S+ by \\S+ with local", "", RL_RET0 },
	{ NULL, 0, "^\\S+ by \\S+ (?:with|via|for|\\()", "", RL_RET0 },
	{ NULL, 0, "^\\S+ (?:(?:with|via|for) \\S+|\\(unverified\\)) by\\b", "",
	    RL_RET0 },
	{ NULL, 0, "\\(LSMTP for", "", RL_RET0 },
	{ NULL, 0, "^\\S+ id \\S+$", "", RL_RET0 },
};

#define RL_N	(sizeof(rl_table) / sizeof(rl_table[0]))

/* Patterns used around the table. */
enum {
	RP_DATE, RP_ID, RP_HELO1, RP_HELO2, RP_BY, RP_AUTH1, RP_AUTH2,
	RP_AUTH3, RP_AUTH4, RP_ENVFROM, RP_ANYIP, RP_PRIV, RP_ONLYBY,
	RP_BAREIP, RP_PF_NAVGW, RP_PF_LOCAL, RP_PF_JQUEUE, RP_COUNT
};

static const char *const rp_src[RP_COUNT] = {
	"[\\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\\d+ "
	    "(?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) \\d+ "
	    "\\d+:\\d+(?::\\d+)? \\S+$",
	" id <?([^\\s<>;]{3,})",
	"\\bhelo=([-A-Za-z0-9\\.\\^+_&:=?!@%*\\$\\\\/]+)(?:[^-A-Za-z0-9\\.\\^+_"
	    "&:=?!@%*\\$\\\\/]|$)",
	"\\b(?:HELO|EHLO) ([-A-Za-z0-9\\.\\^+_&:=?!@%*\\$\\\\/]+)(?:[^-A-Za-z0-9"
	    "\\.\\^+_&:=?!@%*\\$\\\\/]|$)",
	" by (\\S+)(?:[^-A-Za-z0-9\\;\\.]|$)",
	" by .* with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)(?: |;|$)",
	"^from .*?(?:\\]\\)|\\)\\]) \\(AUTH: (LOGIN|PLAIN|DIGEST-MD5|CRAM-MD5) "
	    "\\S+(?:, .*?)?\\) by ",
	"^from .*?(?:\\](?: \\([^)]*\\))?\\)|\\)\\]) .*?\\(.*?authenticated"
	    ".*?\\).*? by",
	"\\) \\(Authenticated sender: \\S+\\) by \\S+ \\(([^\\)]+)\\) with ",
	"(?:return-path:? |envelope-(?:sender|from)[ =])(\\S+)\\b",
	"\\[(" IP ")\\]",
	"^(?:(?:10|127|169\\.254|172\\.(?:1[6-9]|2[0-9]|3[01])|192\\.168|"
	    "100\\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\\..*|"
	    "(?:IPv6:)?(?:::1|f[cd][0-9a-f]*:.*|fe[89ab][0-9a-f]*:.*))$",
	"^from (\\S+) by [^\\s;]+ ?;",
	"(" IP ")",
	/* "(from " forms, after the "(from " */
	"^(\\S*) \\[(" IP ")\\]\\) by (\\S+) \\(NAVGW .*?\\) with ",
	"^\\S+\\@localhost\\) by \\S+ ",
	"^[^\\s\\@]+\\@[^)]+\\) by \\S+\\(jqueuemail\\) id [^\\s;]+",
};

struct relays {
	pcre2_code	*tab[RL_N];
	pcre2_code	*guard[RL_N];
	pcre2_code	*rp[RP_COUNT];
};

static pcre2_code *
rcomp(const char *src, uint32_t opts)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
	    opts, &ec, &off, NULL);

	if (re == NULL)
		abort();	/* a bug in the table above */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

struct relays *
rule_relays_new(void)
{
	struct relays *r = xcalloc(1, sizeof(*r));
	size_t i;

	for (i = 0; i < RL_N; i++) {
		r->tab[i] = rcomp(rl_table[i].re, 0);
		if (rl_table[i].guard != NULL)
			r->guard[i] = rcomp(rl_table[i].guard, 0);
	}
	for (i = 0; i < RP_COUNT; i++)
		r->rp[i] = rcomp(rp_src[i], i == RP_ENVFROM || i == RP_AUTH1 ||
		    i == RP_ONLYBY ? PCRE2_CASELESS : 0);
	return r;
}

void
rule_relays_free(struct relays *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < RL_N; i++) {
		pcre2_code_free(r->tab[i]);
		pcre2_code_free(r->guard[i]);
	}
	for (i = 0; i < RP_COUNT; i++)
		pcre2_code_free(r->rp[i]);
	free(r);
}

struct relay {
	char	ip[64], rdns[256], helo[256], by[256], ident[128], envfrom[256],
		id[128], auth[64];
	int	private;
	int	nordns;		/* Received.pm no_reverse_dns: the MTA
				   looked the rDNS up and found none */
};

/*
 * The parsed Received fields of one message, by header index, so the eight
 * pseudo-headers (and ALL-*) parse each field once, not once each.
 */
struct relays_cache {
	const struct msg *m;		/* NULL: empty */
	size_t		 cap;
	struct relay	*rl;
	signed char	*rc;		/* parse_line()'s result; 2: not yet */
};

struct relays_cache *
rule_relays_cache_new(void)
{
	return xcalloc(1, sizeof(struct relays_cache));
}

void
rule_relays_cache_reset(struct relays_cache *c)
{
	if (c != NULL)
		c->m = NULL;
}

void
rule_relays_cache_free(struct relays_cache *c)
{
	if (c == NULL)
		return;
	free(c->rl);
	free(c->rc);
	free(c);
}

static int parse_line(const struct relays *, pcre2_match_data *, char *,
    struct relay *);

/* Header i of m (a Received field) parsed, through the cache if any. */
static int
relay_at(const struct relays *R, const struct msg *m, size_t i,
    pcre2_match_data *md, struct relays_cache *c, struct relay *rl)
{
	const struct msg_header *h;
	size_t n;
	char *line;
	int rc;

	h = msg_headers(m, &n);
	if (c != NULL && c->m != m) {
		if (c->cap < n) {
			c->rl = xreallocarray(c->rl, n, sizeof(*c->rl));
			c->rc = xrealloc(c->rc, n);
			c->cap = n;
		}
		memset(c->rc, 2, n);
		c->m = m;
	}
	if (c != NULL && c->rc[i] != 2) {
		*rl = c->rl[i];
		return c->rc[i];
	}
	line = xstrndup(h[i].raw, h[i].raw_len);
	rc = parse_line(R, md, line, rl);
	free(line);
	if (c != NULL) {
		c->rl[i] = *rl;
		c->rc[i] = (signed char)rc;
	}
	return rc;
}

static int
rmatch(const pcre2_code *re, const char *s, size_t len, pcre2_match_data *md)
{
	return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL) > 0;
}

static void
grp(pcre2_match_data *md, const char *s, int g, char *out, size_t size)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	size_t n;

	out[0] = '\0';
	if ((uint32_t)g >= pcre2_get_ovector_count(md) ||
	    ov[2 * g] == PCRE2_UNSET)
		return;
	n = ov[2 * g + 1] - ov[2 * g];
	if (n >= size)
		n = size - 1;
	memcpy(out, s + ov[2 * g], n);
	out[n] = '\0';
}

/* exim's "([ip] helo=x ident=y)" tail */
static void
exim_sub(const char *sub, struct relay *rl)
{
	const char *p;
	size_t n;

	if ((p = strstr(sub, "helo=")) != NULL) {
		n = strcspn(p + 5, " \t");
		if (n >= sizeof(rl->helo))
			n = sizeof(rl->helo) - 1;
		memcpy(rl->helo, p + 5, n);
		rl->helo[n] = '\0';
	}
	if ((p = strstr(sub, "ident=")) != NULL) {
		n = strcspn(p + 6, " \t");
		if (n >= sizeof(rl->ident))
			n = sizeof(rl->ident) - 1;
		memcpy(rl->ident, p + 6, n);
		rl->ident[n] = '\0';
	}
}

/* s/^0*:0*:(?:0*:)*ffff:(\d+\.\d+\.\d+\.\d+)$/$1/i: IPv4 as IPv4 */
static void
v4mapped(char *ip)
{
	const char *p = ip, *v4;
	int colons = 0;

	for (;;) {
		while (*p == '0')
			p++;
		if (*p != ':')
			break;
		p++;
		colons++;
	}
	if (colons < 2 || strncasecmp(p, "ffff:", 5) != 0)
		return;
	v4 = p + 5;
	for (p = v4, colons = 0; *p != '\0'; p++) {
		if (*p == '.' && p > v4 && isdigit((unsigned char)p[-1]) &&
		    isdigit((unsigned char)p[1]))
			colons++;
		else if (!isdigit((unsigned char)*p))
			return;
	}
	if (colons == 3 && isdigit((unsigned char)*v4))
		memmove(ip, v4, strlen(v4) + 1);
}

static void
strip_chars(char *s)
{
	for (; *s != '\0'; s++)
		if (strchr(" \t\n#[]()<>|", *s) != NULL)
			*s = '!';
}

/* /CommuniGate Pro (HTTP|SMTP|XIMSS|IMAP)/: its users log in */
static int
communigate(const char *l)
{
	static const char *const how[] = { "HTTP", "SMTP", "XIMSS", "IMAP",
	    NULL };
	const char *p;
	size_t k;

	for (p = l; (p = strstr(p, "CommuniGate Pro ")) != NULL; p++)
		for (k = 0; how[k] != NULL; k++)
			if (strncmp(p + 16, how[k], strlen(how[k])) == 0)
				return 1;
	return 0;
}

/*
 * parse_line() for a mail fetcher's handover ("with POP3", "with IMAP":
 * fetchmail, getmail): not a relay, and while the relays are still trusted
 * the trusted ones parsed so far are forgotten, as Received.pm's
 * found_pop_fetcher_sig() restarts the parse.  The first hop of mail
 * fetched from a mailbox is where it was stored, not an SMTP handover.
 */
#define RL_FETCHED	3

/*
 * Parse one Received value (unfolded).  Returns 1 and fills *rl, 0 for a
 * header that is not a relay, RL_FETCHED for a fetcher's handover, -1 for
 * one that cannot be parsed.
 */
static int
parse_line(const struct relays *R, pcre2_match_data *md, char *l,
    struct relay *rl)
{
	char *s, *p, sub[512];
	size_t len, i, g;
	const struct rl_pat *t;
	int dns = 0;

	memset(rl, 0, sizeof(*rl));
	/* s/\s+/ /g; trim; s/\s?;$// */
	for (p = s = l; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			if (s > l && s[-1] != ' ')
				*s++ = ' ';
		} else
			*s++ = *p;
	}
	*s = '\0';
	len = (size_t)(s - l);
	while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == ';'))
		l[--len] = '\0';
	if (strncasecmp(l, "from ", 5) != 0 && strncasecmp(l, "(from ", 6) != 0)
		return 0;
	if (strstr(l, "with local for") != NULL)
		return 0;
	if (rmatch(R->rp[RP_ONLYBY], l, len, md)) {
		grp(md, l, 1, sub, sizeof(sub));
		if (!(sub[0] == '[' && strspn(sub + 1, "0123456789.") ==
		    strlen(sub) - 2 && sub[strlen(sub) - 1] == ']'))
			return 0;
	}
	if (pcre2_match(R->rp[RP_DATE], (PCRE2_SPTR)l, len, 0, 0, md,
	    NULL) > 0) {
		len = pcre2_get_ovector_pointer(md)[0];
		l[len] = '\0';
	}
	if ((p = strstr(l, ")by ")) != NULL) {
		memmove(p + 2, p + 1, strlen(p + 1) + 1);
		p[1] = ' ';
		len++;
	}
	if (rmatch(R->rp[RP_ID], l, len, md))
		grp(md, l, 1, rl->id, sizeof(rl->id));
	if (rmatch(R->rp[RP_HELO1], l, len, md) ||
	    rmatch(R->rp[RP_HELO2], l, len, md))
		grp(md, l, 1, rl->helo, sizeof(rl->helo));
	if (rmatch(R->rp[RP_BY], l, len, md))
		grp(md, l, 1, rl->by, sizeof(rl->by));
	if (rmatch(R->rp[RP_AUTH1], l, len, md) ||
	    rmatch(R->rp[RP_AUTH2], l, len, md))
		grp(md, l, 1, rl->auth, sizeof(rl->auth));
	else if (strstr(l, "authenticated") != NULL &&
	    rmatch(R->rp[RP_AUTH3], l, len, md))
		strcpy(rl->auth, "Sendmail");
	else if (rmatch(R->rp[RP_AUTH4], l, len, md)) {
		grp(md, l, 1, sub, sizeof(sub));
		snprintf(rl->auth, sizeof(rl->auth), strcmp(sub, "Postfix") ==
		    0 ? "%s" : "Postfix (%s)", sub);
	} else if (strstr(l, " (account ") != NULL && communigate(l))
		strcpy(rl->auth, "Communigate");
	if (strncmp(l, "from ", 5) != 0) {
		/*
		 * "(from ": Received.pm's three forms of its own (Norton's
		 * gateway; "sendmail -t" and jqueuemail submissions, which
		 * are no relays), then the generic fallback; "FROM ": only
		 * the fallback.
		 */
		s = l;
		if (strncmp(l, "(from ", 6) == 0) {
			s = l + 6;
			len -= 6;
			if (rmatch(R->rp[RP_PF_NAVGW], s, len, md)) {
				grp(md, s, 1, rl->helo, sizeof(rl->helo));
				grp(md, s, 2, rl->ip, sizeof(rl->ip));
				grp(md, s, 3, rl->by, sizeof(rl->by));
				goto enough;
			}
			if (rmatch(R->rp[RP_PF_LOCAL], s, len, md) ||
			    rmatch(R->rp[RP_PF_JQUEUE], s, len, md))
				return 0;
		}
		goto fallback;
	}
	s = l + 5;
	len -= 5;
	if (rmatch(R->rp[RP_ENVFROM], s, len, md))
		grp(md, s, 1, rl->envfrom, sizeof(rl->envfrom));
	for (i = 0; i < RL_N; i++) {
		t = &rl_table[i];
		if (R->guard[i] != NULL &&
		    rmatch(R->guard[i], s, len, md) == t->notguard)
			continue;
		if (!rmatch(R->tab[i], s, len, md))
			continue;
		if (t->flags & RL_RET0)
			return (t->flags & RL_POPFETCH) ? RL_FETCHED : 0;
		for (g = 0; t->groups[g] != '\0'; g++) {
			int k = (int)g + 1;

			switch (t->groups[g]) {
			case 'h': grp(md, s, k, rl->helo, sizeof(rl->helo));
				break;
			case 'r': grp(md, s, k, rl->rdns, sizeof(rl->rdns));
				break;
			case 'R': grp(md, s, k, rl->rdns, sizeof(rl->rdns));
				grp(md, s, k, rl->helo, sizeof(rl->helo));
				break;
			case 'i': grp(md, s, k, rl->ip, sizeof(rl->ip));
				break;
			case 'b': grp(md, s, k, rl->by, sizeof(rl->by));
				break;
			case 'd': grp(md, s, k, rl->ident, sizeof(rl->ident));
				break;
			case 's': grp(md, s, k, sub, sizeof(sub));
				if (t->flags & RL_SUBHELO)
					snprintf(rl->helo, sizeof(rl->helo),
					    "%s", rl->rdns);
				exim_sub(sub, rl);
				break;
			default:
				break;
			}
		}
		/* Received.pm $mta_looked_up_dns, before "unknown" goes */
		dns = (t->flags & RL_DNS) &&
		    !((t->flags & RL_DNS_NOTUNK) && strcmp(rl->rdns,
		    "unknown") == 0) &&
		    !((t->flags & RL_DNS_NOTUNKUC) && strcmp(rl->rdns,
		    "UNKNOWN") == 0) &&
		    !((t->flags & RL_SOFTDNS) && strcmp(rl->rdns,
		    "softdnserr") == 0);
		if ((t->flags & RL_IDENT) && (p = strchr(rl->rdns, '@')) !=
		    NULL) {
			char *id = rl->rdns;

			if (strncmp(id, "IDENT:", 6) == 0)
				id += 6;
			snprintf(rl->ident, sizeof(rl->ident), "%.*s",
			    (int)(p - id), id);
			memmove(rl->rdns, p + 1, strlen(p + 1) + 1);
		}
		if (t->flags & RL_NOID)
			rl->id[0] = '\0';
		if ((t->flags & RL_IDENTAT) && (p = strrchr(rl->ident, '@')) !=
		    NULL && p[1] == '\0')
			*p = '\0';
		if ((t->flags & RL_SOFTDNS) && strcmp(rl->rdns, "softdnserr") ==
		    0)
			rl->rdns[0] = '\0';
		if ((t->flags & RL_UNKNOWN) && strcmp(rl->rdns, "unknown") == 0)
			rl->rdns[0] = '\0';
		goto enough;
	}
	if (rl->helo[0] == '\0') {
		/*
		 * /^(\S+)[^-A-Za-z0-9\.]/: greedy, so the whole first word
		 * when a blank follows it, brackets and all ("host([ip])"
		 * gives "host!!ip!!" once stripped, as in SA), else the
		 * longest prefix before a byte outside [-A-Za-z0-9.].
		 */
		size_t n = strcspn(s, " ");

		if (s[n] != ' ') {
			while (n > 1 && (isalnum((unsigned char)s[n - 1]) ||
			    s[n - 1] == '-' || s[n - 1] == '.'))
				n--;
			n = n > 1 ? n - 1 : 0;
		}
		if (n > 0 && n < sizeof(rl->helo)) {
			memcpy(rl->helo, s, n);
			rl->helo[n] = '\0';
		}
	}
fallback:
	if (rl->ip[0] == '\0' && rmatch(R->rp[RP_ANYIP], s, strlen(s), md))
		grp(md, s, 1, rl->ip, sizeof(rl->ip));
	if (rl->ip[0] != '\0' && rl->by[0] != '\0')
		goto enough;
	return -1;
enough:
	len = strlen(rl->rdns);
	while (len > 0 && rl->rdns[len - 1] == '.')
		rl->rdns[--len] = '\0';
	if (strcasecmp(rl->rdns, "unknown") == 0 || rl->rdns[0] == '[')
		rl->rdns[0] = '\0';
	if (strncasecmp(rl->ip, "ipv6:", 5) == 0)
		memmove(rl->ip, rl->ip + 5, strlen(rl->ip + 5) + 1);
	v4mapped(rl->ip);
	len = strlen(rl->by);
	if (len > 0 && rl->by[len - 1] == ';')
		rl->by[len - 1] = '\0';
	if (rl->envfrom[0] != '\0') {
		p = rl->envfrom;
		while (*p == '<' || *p == ' ')
			p++;
		memmove(rl->envfrom, p, strlen(p) + 1);
		len = strlen(rl->envfrom);
		while (len > 0 && (rl->envfrom[len - 1] == '>' ||
		    rl->envfrom[len - 1] == ' '))
			rl->envfrom[--len] = '\0';
	}
	strip_chars(rl->ip);
	strip_chars(rl->rdns);
	strip_chars(rl->helo);
	strip_chars(rl->by);
	strip_chars(rl->ident);
	strip_chars(rl->envfrom);
	rl->private = rmatch(R->rp[RP_PRIV], rl->ip, strlen(rl->ip), md);
	rl->nordns = dns && rl->rdns[0] == '\0';
	return 1;
}

/*
 * The index (among Received fields, from the top, counting those that are
 * not relays) of the last trusted relay, or -1 (Received.pm
 * last_trusted_relay_index; internal is the same here).
 */
static long
last_trusted(const struct relays *R, const struct msg *m,
    pcre2_match_data *md, struct relays_cache *c)
{
	const struct msg_header *h;
	struct relay rl;
	size_t n, i;
	long last = -1;
	int rc;

	h = msg_headers(m, &n);
	for (i = 0; i < n; i++) {
		if (h[i].name_len != 8 || strncasecmp(h[i].name, "Received",
		    8) != 0)
			continue;
		rc = relay_at(R, m, i, md, c, &rl);
		if (rc == 1 && !rl.private && rl.auth[0] == '\0')
			break;
		last++;
	}
	return last;
}

/*
 * ALL-TRUSTED, ALL-INTERNAL, ALL-UNTRUSTED, ALL-EXTERNAL (PerMsgStatus
 * get_all_hdrs_in_rcvd_index_range): the "Name: value" lines of ALL from,
 * or up to and including, the Received field after the last trusted one.
 */
static int
all_range(const struct relays *R, const struct msg *m, const char *which,
    pcre2_match_data *md, struct relays_cache *c, struct sbuf *out)
{
	struct sbuf all = SBUF_INIT;
	long cut, cur = -1;
	int upto;
	const char *p, *e;

	if (strcasecmp(which, "TRUSTED") == 0 ||
	    strcasecmp(which, "INTERNAL") == 0)
		upto = 1;
	else if (strcasecmp(which, "UNTRUSTED") == 0 ||
	    strcasecmp(which, "EXTERNAL") == 0)
		upto = 0;
	else
		return -1;
	sbuf_reset(out);
	cut = last_trusted(R, m, md, c) + 1;
	if (msg_get(m, "ALL", &all) < 0 || all.p == NULL) {
		sbuf_free(&all);
		return 0;
	}
	for (p = all.p; p < all.p + all.len; p = e) {
		e = memchr(p, '\n', (size_t)(all.p + all.len - p));
		e = e == NULL ? all.p + all.len : e + 1;
		if ((size_t)(e - p) >= 9 && strncasecmp(p, "Received:", 9) == 0)
			cur++;
		if (upto) {
			if (cur < cut)
				sbuf_add(out, p, (size_t)(e - p));
			else if (cur == cut) {
				sbuf_add(out, p, (size_t)(e - p));
				break;
			}
		} else if (cut <= cur)
			sbuf_add(out, p, (size_t)(e - p));
	}
	sbuf_free(&all);
	if (out->len == 0)
		return 0;	/* SA: undef */
	return 1;
}

/*
 * Every relay of m in Received.pm's order (the Received fields from the
 * top, then one per originating_ip_headers field of 10_default_prefs.cf),
 * each with whether it is still in the trusted part.  fn gets a NULL relay
 * (trusted 1) where a mail fetcher's handover restarts the trusted part.
 */
typedef void relay_fn(const struct relay *, int, void *);

static void
relays_walk(const struct relays *R, const struct msg *m,
    pcre2_match_data *md, struct relays_cache *c, relay_fn *fn, void *arg)
{
	const struct msg_header *h;
	struct relay rl;
	size_t n, i, k;
	int trusted = 1, rc;
	static const char *const orig_hdrs[] = { "X-Yahoo-Post-IP",
	    "X-Originating-IP", "X-Apparently-From", "X-SenderIP", "X-AOL-IP",
	    "X-MS-Exchange-CrossTenant-OriginalAttributedTenantConnectingIp",
	    NULL };

	h = msg_headers(m, &n);
	for (i = 0; i < n; i++) {
		if (h[i].name_len != 8 || strncasecmp(h[i].name, "Received",
		    8) != 0)
			continue;
		rc = relay_at(R, m, i, md, c, &rl);
		if (rc == RL_FETCHED && trusted)
			fn(NULL, 1, arg);
		if (rc == 1) {
			if (trusted && !rl.private && rl.auth[0] == '\0')
				trusted = 0;
			fn(&rl, trusted, arg);
		}
	}
	for (k = 0; orig_hdrs[k] != NULL; k++) {
		size_t kl = strlen(orig_hdrs[k]);

		for (i = 0; i < n; i++) {
			if (h[i].name_len != kl || strncasecmp(h[i].name,
			    orig_hdrs[k], kl) != 0)
				continue;
			if (pcre2_match(R->rp[RP_BAREIP], (PCRE2_SPTR)h[i].value,
			    h[i].value_len, 0, 0, md, NULL) > 0) {
				memset(&rl, 0, sizeof(rl));
				grp(md, h[i].value, 1, rl.ip, sizeof(rl.ip));
				rl.private = rmatch(R->rp[RP_PRIV], rl.ip,
				    strlen(rl.ip), md);
				if (trusted && !rl.private)
					trusted = 0;
				fn(&rl, trusted, arg);
			}
			break;
		}
	}
}

struct relays_str {
	struct sbuf	*out;
	int		 want_trusted, any;
};

static void
relay_str(const struct relay *rl, int trusted, void *arg)
{
	struct relays_str *a = arg;

	if (rl == NULL) {
		if (a->want_trusted) {
			sbuf_reset(a->out);
			a->any = 0;
		}
		return;
	}
	if (trusted != a->want_trusted)
		return;
	sbuf_printf(a->out, "%s[ ip=%s rdns=%s helo=%s by=%s ident=%s "
	    "envfrom=%s intl=%d id=%s auth=%s msa=0 ]", a->any ? " " : "",
	    rl->ip, rl->rdns, rl->helo, rl->by, rl->ident, rl->envfrom,
	    trusted, rl->id, rl->auth);
	a->any = 1;
}

int
rule_relays_get(const struct relays *R, const struct msg *m,
    const char *spec, pcre2_match_data *md, struct relays_cache *c,
    struct sbuf *out)
{
	struct relays_str a = { out, 0, 0 };

	if (strncasecmp(spec, "ALL-", 4) == 0)
		return all_range(R, m, spec + 4, md, c, out);
	if (strncasecmp(spec, "X-Spam-Relays-", 14) != 0)
		return -1;
	spec += 14;
	if (strcasecmp(spec, "Trusted") == 0 || strcasecmp(spec, "Internal") ==
	    0)
		a.want_trusted = 1;
	else if (strcasecmp(spec, "Untrusted") == 0 ||
	    strcasecmp(spec, "External") == 0)
		a.want_trusted = 0;
	else
		return -1;
	sbuf_reset(out);
	relays_walk(R, m, md, c, relay_str, &a);
	if (out->p == NULL)
		sbuf_adds(out, "");
	return 1;
}

struct relays_each {
	rule_relay_fn	*fn;
	void		*arg;
};

static void
relay_each(const struct relay *rl, int trusted, void *arg)
{
	struct relays_each *a = arg;
	struct relay_info ri;

	if (rl == NULL) {
		a->fn(NULL, a->arg);
		return;
	}
	ri.ip = rl->ip;
	ri.rdns = rl->rdns;
	ri.helo = rl->helo;
	ri.by = rl->by;
	ri.trusted = trusted;
	ri.private = rl->private;
	ri.no_rdns = rl->nordns;
	a->fn(&ri, a->arg);
}

void
rule_relays_each(const struct relays *R, const struct msg *m,
    pcre2_match_data *md, struct relays_cache *c, rule_relay_fn *fn,
    void *arg)
{
	struct relays_each a = { fn, arg };

	relays_walk(R, m, md, c, relay_each, &a);
}

/* "[ " opens each relay of a X-Spam-Relays-* text */
static unsigned
count_relays(const struct sbuf *s)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; s->p != NULL && i + 1 < s->len; i++)
		if (s->p[i] == '[' && s->p[i + 1] == ' ')
			n++;
	return n;
}

/*
 * For the evals (rule_saeval.h): num_relays_trusted, _untrusted and
 * _unparseable of Message/Metadata/Received.pm, the originating-IP relays
 * included as SA includes them.
 */
void
rule_relays_count(const struct relays *R, const struct msg *m,
    pcre2_match_data *md, struct relays_cache *c, unsigned *trusted,
    unsigned *untrusted, unsigned *unparseable)
{
	struct sbuf s = SBUF_INIT;
	const struct msg_header *h;
	struct relay rl;
	size_t n, i;

	*trusted = *untrusted = *unparseable = 0;
	if (rule_relays_get(R, m, "X-Spam-Relays-Trusted", md, c, &s) == 1)
		*trusted = count_relays(&s);
	if (rule_relays_get(R, m, "X-Spam-Relays-Untrusted", md, c, &s) == 1)
		*untrusted = count_relays(&s);
	sbuf_free(&s);
	h = msg_headers(m, &n);
	for (i = 0; i < n; i++)
		if (h[i].name_len == 8 && strncasecmp(h[i].name, "Received",
		    8) == 0 && relay_at(R, m, i, md, c, &rl) < 0)
			(*unparseable)++;
}

/*
 * PerMsgStatus.pm get_envelope_from(): the envelope sender the last hop
 * recorded (the first untrusted relay, else the last trusted one), when it
 * holds an "@" after its first byte.  1 with the address in out, else 0
 * (then the header fallbacks of msg_get() apply).
 */
int
rule_relays_envfrom(const struct relays *R, const struct msg *m,
    pcre2_match_data *md, struct relays_cache *c, struct sbuf *out)
{
	const struct msg_header *h;
	struct relay rl, last;
	size_t n, i;
	int trusted = 1, have = 0, rc;
	char *at;

	h = msg_headers(m, &n);
	for (i = 0; i < n; i++) {
		if (h[i].name_len != 8 || strncasecmp(h[i].name, "Received",
		    8) != 0)
			continue;
		rc = relay_at(R, m, i, md, c, &rl);
		if (rc == RL_FETCHED && trusted)
			have = 0;	/* the trusted relays restart */
		if (rc != 1)
			continue;
		if (trusted && !rl.private && rl.auth[0] == '\0')
			trusted = 0;
		last = rl;
		have = 1;
		if (!trusted)
			break;
	}
	if (!have || (at = strchr(last.envfrom, '@')) == NULL ||
	    at == last.envfrom)
		return 0;
	sbuf_reset(out);
	sbuf_adds(out, last.envfrom);
	return 1;
}
