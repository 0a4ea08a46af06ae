/*
 * rule_load.c: rule files -> an immutable, compiled struct rule_set.
 *
 * Two input formats share one rule namespace:
 *
 *  - moat's native format (doc/rules.md): one rule per logical line (a
 *    trailing backslash continues it), stage, name, operand, pattern, score,
 *    options and a quoted description on the same line.  Every problem is an
 *    error naming the file, the line and, for a pattern, the PCRE2 offset.
 *
 *  - SpamAssassin .cf files, read as Mail::SpamAssassin::Conf::Parser 4.0.1
 *    reads them: comments and "\#", lang, if/ifplugin/else/endif (plugins
 *    decided as Debian's default .pre files load them), header/body/rawbody/
 *    full/uri/meta/mimeheader, score (set 0), describe, tflags, replace_tag
 *    and friends, loadplugin, include.  What moat cannot run (eval:, DNS and
 *    other plugin rules, patterns PCRE2 refuses) is counted, never fatal: one
 *    bad rule must not stop a stock rule set from loading.
 *
 * Patterns are Perl regular expressions as SpamAssassin compiles them
 * (Util.pm compile_regexp: delimiters, modifiers, qr//aa).  PCRE2 runs them
 * in 8-bit non-UTF mode without UCP, so \d \s \w \b and POSIX classes are
 * ASCII-only as under /aa and any byte string is valid input; the character
 * tables fold Latin-1 letters under /i as Perl's /aa does for code points
 * 128-255.
 *
 * It does not evaluate anything (rule_eval.c) and never logs: problems are
 * returned in struct rule_error and struct rule_stats.
 *
 * Invariants: a finished rule set is never written again except its
 * reference count and the per-rule limit_seen flags (both atomic); every
 * rule with skip == RSKIP_NONE and a pattern stage has a compiled re.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule_int.h"
#include "rule_saeval.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

/* Plugins Debian's spamassassin 4.0.1 loads from /etc/spamassassin/ *.pre. */
static const char *const sa_default_plugins[] = {
	"Check", "HTTPSMismatch", "URIDetail", "Bayes", "BodyEval",
	"DNSEval", "HTMLEval", "HeaderEval", "MIMEEval", "RelayEval",
	"URIEval", "WLBLEval", "VBounce", "ImageInfo", "FreeMail", "AskDNS",
	"HashBL", "DMARC", "MIMEHeader", "ReplaceTags", "DKIM", "SPF",
	"URIDNSBL", "Pyzor", "Razor2", "SpamCop", "AutoLearnThreshold",
	"WelcomeListSubject", "Rule2XSBody", NULL
};

/*
 * Methods `if can(...)` finds in SpamAssassin 4.0.1: Conf features, and
 * plugin methods (true only while that plugin is loaded).
 */
static const char *const sa_conf_features[] = {
	"feature_originating_ip_headers", "feature_dns_local_ports_permit_avoid",
	"feature_bayes_auto_learn_on_error", "feature_uri_host_listed",
	"feature_yesno_takes_args", "feature_bug6558_free", "feature_edns",
	"feature_dns_query_restriction", "feature_registryboundaries",
	"feature_geodb", "feature_dns_block_rule", "feature_compile_regexp",
	"feature_meta_rules_matching", "feature_subjprefix",
	"feature_bayes_stopwords", "feature_get_host",
	"feature_blocklist_welcomelist", "feature_welcomelist_blocklist",
	"feature_header_address_parser", "feature_local_tests_only",
	"feature_header_first_last", "feature_header_match_many",
	"feature_capture_rules", "has_tflags_nosubject", "has_tflags_nolog",
	"perl_min_version_5010000", NULL
};

static const char *const sa_plugin_methods[] = {
	"ASN has_asn_lookup_ipv6", "ASN has_asn_geodb", "ASN has_check_asn",
	"ASN has_check_asn_tag", "AskDNS has_tag_header",
	"BodyEval has_check_body_length", "BodyEval has_plaintext_body_sig_ratio",
	"DKIM has_arc", "DNSEval has_tflags_domains_only",
	"DNSEval has_tflags_ips_only", "DecodeShortURLs has_short_url",
	"DecodeShortURLs has_get", "DecodeShortURLs has_short_url_redir",
	"HashBL has_hashbl_bodyre", "HashBL has_hashbl_emails",
	"HashBL has_hashbl_uris", "HashBL has_hashbl_ignore",
	"HashBL has_hashbl_tag", "HashBL has_hashbl_sha256",
	"MIMEEval has_check_for_ascii_text_illegal",
	"MIMEEval has_check_abundant_unicode_ratio",
	"MIMEEval has_check_qp_ratio", "MIMEHeader has_all_header",
	"MIMEHeader has_tflags_range", "MIMEHeader has_tflags_concat",
	"MIMEHeader has_tflags_multiple", "MIMEHeader has_capture_rules",
	"SPF has_check_for_spf_errors", "SPF has_check_spf_skipped_noenvfrom",
	"URIDNSBL has_tflags_domains_only", "URIDNSBL has_subtest_for_ranges",
	"URIDNSBL has_uridnsbl_for_a", "URIDNSBL has_uridnsbl_a_ns",
	"URIDNSBL has_tflags_notrim", "URIDNSBL has_uridnsbl_skip_mailto",
	"URIDetail has_host_key", NULL
};

/* SpamAssassin settings that define rules moat has no engine for. */
static const char *const sa_plugin_rule_keys[] = {
	"askdns", "urirhssub", "uridnssub", "urirhsbl", "uridnsbl",
	"uri_detail", "hashbl_bodyre", "hashbl_emails", "hashbl_uris",
	"check_hashbl_bodyre", NULL
};

#define SA_VERSION	4.000001
#define SA_PERL_VERSION	5.036000

struct attr {
	char		*name;
	double		 score;
	int		 has_score;
	char		*desc;
	char		*tflags;
	int		 native;	/* a moat rule file defines the rule */
};

struct tag {
	char		*name;
	char		*value;
};

struct cond {
	int		 outer_skip;	/* skip state before the if */
	int		 result;
	int		 line;
};

struct rule_builder {
	struct rule	*rules;
	size_t		 nrules, caprules;
	long		*hash;		/* into rules */
	size_t		 hashcap;
	struct attr	*attrs;
	size_t		 nattrs, capattrs;
	long		*ahash;		/* into attrs */
	size_t		 ahashcap;
	char		**files;
	size_t		 nfiles;
	char		**plugins;
	size_t		 nplugins;
	struct tag	*tags[4];	/* replace_tag, _inter, _post, _pre */
	size_t		 ntags[4];
	char		**replace;	/* replace_rules names */
	size_t		 nreplace;
	char		 rstart[16], rend[16];
	struct rule_stats stats;
	int		 depth;		/* include nesting */
	struct saeval_conf *saconf;	/* settings the evals read */
	int		 templates;	/* run %{TAG} templates per message */
	int		 no_evals;	/* skip even the native evals */
	int		 stock;		/* reading the stock SpamAssassin dir */
};

enum { TAG_TAG, TAG_INTER, TAG_POST, TAG_PRE };

static const char *const stage_names[RULE_ST_COUNT] = {
	"connect", "helo", "mail", "rcpt", "header", "body", "uri",
	"rawbody", "full", "mimeheader", "meta"
};

const char *
rule_stage_name(enum rule_stage st)
{
	return (unsigned)st < RULE_ST_COUNT ? stage_names[st] : "?";
}

/* ---------------------------------------------------------------------- */
/* small helpers */

static void
set_err(struct rule_error *err, const char *file, int line, long off,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
set_err(struct rule_error *err, const char *file, int line, long off,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->offset = off;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Open addressing over an index array; keys are the names of the objects the
 * indices point at.  getname returns the name of object i.
 */
typedef const char *(*name_fn)(const void *, long);

static long
hfind(const long *h, size_t cap, const void *objs, name_fn getname,
    const char *name)
{
	size_t i;

	if (cap == 0)
		return -1;
	for (i = hash_str(name) & (cap - 1); h[i] >= 0; i = (i + 1) & (cap - 1))
		if (strcmp(getname(objs, h[i]), name) == 0)
			return h[i];
	return -1;
}

static void
hput(long **hp, size_t *capp, size_t n, const void *objs, name_fn getname,
    long idx)
{
	size_t i, cap = *capp;
	long *h = *hp;

	if ((n + 1) * 2 > cap) {
		size_t ncap = cap ? cap * 2 : 64, j;
		long *nh = xreallocarray(NULL, ncap, sizeof(*nh));

		for (j = 0; j < ncap; j++)
			nh[j] = -1;
		for (j = 0; j < cap; j++) {
			if (h[j] < 0)
				continue;
			for (i = hash_str(getname(objs, h[j])) & (ncap - 1);
			    nh[i] >= 0; i = (i + 1) & (ncap - 1))
				;
			nh[i] = h[j];
		}
		free(h);
		h = nh;
		cap = ncap;
	}
	for (i = hash_str(getname(objs, idx)) & (cap - 1); h[i] >= 0;
	    i = (i + 1) & (cap - 1))
		;
	h[i] = idx;
	*hp = h;
	*capp = cap;
}

static const char *
rule_name_at(const void *objs, long i)
{
	return ((const struct rule *)objs)[i].name;
}

static const char *
attr_name_at(const void *objs, long i)
{
	return ((const struct attr *)objs)[i].name;
}

static int
valid_rulename(const char *s)
{
	size_t n;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (n = 1; s[n] != '\0'; n++)
		if (!(isalnum((unsigned char)s[n]) || s[n] == '_'))
			return 0;
	return n <= RULE_NAME_MAX;
}

static char *
skipws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Cut the next whitespace-delimited word off *sp. */
static char *
word(char **sp)
{
	char *s = skipws(*sp), *w;

	if (*s == '\0') {
		*sp = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*sp = skipws(s);
	return w;
}

static void
rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

static const char *
intern_file(struct rule_builder *b, const char *path)
{
	size_t i;

	for (i = 0; i < b->nfiles; i++)
		if (strcmp(b->files[i], path) == 0)
			return b->files[i];
	b->files = xreallocarray(b->files, b->nfiles + 1, sizeof(char *));
	b->files[b->nfiles] = xstrdup(path);
	return b->files[b->nfiles++];
}

/* ---------------------------------------------------------------------- */
/* builder: rules and attributes */

struct rule_builder *
rule_builder_new(void)
{
	struct rule_builder *b = xcalloc(1, sizeof(*b));
	size_t i;

	for (i = 0; sa_default_plugins[i] != NULL; i++) {
		b->plugins = xreallocarray(b->plugins, b->nplugins + 1,
		    sizeof(char *));
		b->plugins[b->nplugins++] = xasprintf(
		    "Mail::SpamAssassin::Plugin::%s", sa_default_plugins[i]);
	}
	strcpy(b->rstart, "<");
	strcpy(b->rend, ">");
	return b;
}

void
rule_builder_templates(struct rule_builder *b, int on)
{
	b->templates = on;
}

void
rule_builder_evals(struct rule_builder *b, int on)
{
	b->no_evals = !on;
}

static void
rule_clear(struct rule *r)
{
	free(r->name);
	free(r->desc);
	free(r->src);
	free(r->mods);
	free(r->hdr);
	free(r->unset);
	free(r->code);
	free(r->err);
	for (size_t k = 0; k < r->nlits; k++)
		free(r->lits[k]);
	free(r->lits);
	free(r->litlen);
	free(r->setend);
	pcre2_code_free(r->core);
	rule_saeval_call_free(r->ev);
	if (r->re != NULL)
		pcre2_code_free(r->re);
	memset(r, 0, sizeof(*r));
}

/*
 * The rule called name, new or redefined: a later definition replaces an
 * earlier one (SpamAssassin does the same), keeping its place.
 */
static struct rule *
rule_slot(struct rule_builder *b, const char *name, const char *file,
    int line, enum rule_stage st)
{
	long i = hfind(b->hash, b->hashcap, b->rules, rule_name_at, name);
	struct rule *r;

	if (i >= 0) {
		r = &b->rules[i];
		rule_clear(r);
	} else {
		if (b->nrules == b->caprules) {
			b->caprules = b->caprules ? b->caprules * 2 : 256;
			b->rules = xreallocarray(b->rules, b->caprules,
			    sizeof(*b->rules));
		}
		i = (long)b->nrules++;
		r = &b->rules[i];
		memset(r, 0, sizeof(*r));
	}
	r->name = xstrdup(name);
	if (hfind(b->hash, b->hashcap, b->rules, rule_name_at, name) < 0)
		hput(&b->hash, &b->hashcap, b->nrules, b->rules, rule_name_at,
		    i);
	r->file = intern_file(b, file);
	r->line = line;
	r->stage = st;
	r->spec = -1;
	r->desc = xstrdup("");
	if (name[0] == '_' && name[1] == '_')
		r->flags |= RF_SUB;
	return r;
}

static struct attr *
attr_get(struct rule_builder *b, const char *name)
{
	long i = hfind(b->ahash, b->ahashcap, b->attrs, attr_name_at, name);

	if (i >= 0)
		return &b->attrs[i];
	if (b->nattrs == b->capattrs) {
		b->capattrs = b->capattrs ? b->capattrs * 2 : 256;
		b->attrs = xreallocarray(b->attrs, b->capattrs,
		    sizeof(*b->attrs));
	}
	i = (long)b->nattrs++;
	memset(&b->attrs[i], 0, sizeof(b->attrs[i]));
	b->attrs[i].name = xstrdup(name);
	hput(&b->ahash, &b->ahashcap, b->nattrs, b->attrs, attr_name_at, i);
	return &b->attrs[i];
}

void
rule_builder_free(struct rule_builder *b)
{
	size_t i, k;

	if (b == NULL)
		return;
	for (i = 0; i < b->nrules; i++)
		rule_clear(&b->rules[i]);
	free(b->rules);
	free(b->hash);
	for (i = 0; i < b->nattrs; i++) {
		free(b->attrs[i].name);
		free(b->attrs[i].desc);
		free(b->attrs[i].tflags);
	}
	free(b->attrs);
	free(b->ahash);
	for (i = 0; i < b->nfiles; i++)
		free(b->files[i]);
	free(b->files);
	for (i = 0; i < b->nplugins; i++)
		free(b->plugins[i]);
	free(b->plugins);
	for (k = 0; k < 4; k++) {
		for (i = 0; i < b->ntags[k]; i++) {
			free(b->tags[k][i].name);
			free(b->tags[k][i].value);
		}
		free(b->tags[k]);
	}
	for (i = 0; i < b->nreplace; i++)
		free(b->replace[i]);
	free(b->replace);
	rule_saeval_conf_free(b->saconf);
	free(b);
}

/* ---------------------------------------------------------------------- */
/* patterns */

/*
 * Split a delimited Perl pattern as Util.pm compile_regexp() does:
 * /re/mods, m{re}mods, m<re>, m(re), m[re], mXreXmods for any non-word X
 * but backslash.  On success *pat and *mods are new strings.
 */
static int
split_pattern(const char *s, char **pat, char **mods, const char **why)
{
	char open, close;
	const char *body, *end;
	size_t len, k, n;

	if (s[0] == '/') {
		close = '/';
		body = s + 1;
	} else {
		if (s[0] == 'm')
			body = s + 1;
		else if (s[0] == 'q' && s[1] == 'r')
			body = s + 2;
		else {
			*why = "missing regexp delimiters";
			return -1;
		}
		open = *body;
		switch (open) {
		case '{': close = '}'; break;
		case '(': close = ')'; break;
		case '<': close = '>'; break;
		case '[': close = ']'; break;
		default:
			if (open == '\0' || isalnum((unsigned char)open) ||
			    open == '_' || isspace((unsigned char)open)) {
				*why = "missing regexp delimiters";
				return -1;
			}
			if (open == '\\') {
				*why = "backslash delimiter not allowed";
				return -1;
			}
			close = open;
		}
		body++;
	}
	len = strlen(body);
	/* the modifiers: the longest tail of [a-df-z] */
	k = len;
	while (k > 0 && body[k - 1] >= 'a' && body[k - 1] <= 'z' &&
	    body[k - 1] != 'e')
		k--;
	/* the closing delimiter must sit right before them */
	while (k < len && !(k > 0 && body[k - 1] == close))
		k++;
	if (k == 0 || body[k - 1] != close) {
		*why = "invalid end delimiter/mods";
		return -1;
	}
	end = body + k - 1;
	n = (size_t)(end - body);
	if (close != '}' && close != ')' && close != ']') {
		/* an unescaped delimiter inside is an error (compile_regexp) */
		for (k = 0; k < n; k++) {
			if (body[k] == '\\') {
				k++;
				continue;
			}
			if (body[k] == close) {
				*why = "unquoted delimiter found";
				return -1;
			}
		}
	}
	*pat = xstrndup(body, n);
	*mods = xstrdup(end + 1);
	if (strstr(*pat, "(?{") != NULL || strstr(*pat, "(??{") != NULL) {
		free(*pat);
		free(*mods);
		*pat = *mods = NULL;
		*why = "eval (?{}) found";
		return -1;
	}
	return 0;
}

int
rule_mods_options(const char *mods, uint32_t *opts)
{
	uint32_t o = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP |
	    PCRE2_NEVER_BACKSLASH_C;

	for (; *mods != '\0'; mods++) {
		switch (*mods) {
		case 'i': o |= PCRE2_CASELESS; break;
		case 'm': o |= PCRE2_MULTILINE; break;
		case 's': o |= PCRE2_DOTALL; break;
		case 'x': o |= PCRE2_EXTENDED; break;
		/* charset and match-time modifiers: no effect here */
		case 'a': case 'u': case 'l': case 'd': case 'p': case 'o':
		case 'g': case 'c': case 'n':
			if (*mods == 'n')
				o |= PCRE2_NO_AUTO_CAPTURE;
			break;
		default:
			return -1;
		}
	}
	*opts = o;
	return 0;
}

/*
 * Character tables: PCRE2's defaults for the C locale, with Latin-1 case
 * folding added (0xC0-0xDE <-> 0xE0-0xFE but for 0xD7/0xF7), because Perl's
 * qr//aa folds those under /i on byte strings.  \w, \d, \s stay ASCII.
 */
static const uint8_t *
make_tables(void)
{
	uint8_t *t = (uint8_t *)pcre2_maketables(NULL);
	int c;

	for (c = 0xC0; c <= 0xDE; c++) {
		if (c == 0xD7)
			continue;
		t[c] = (uint8_t)(c + 0x20);		/* lcc */
		t[256 + c] = (uint8_t)(c + 0x20);	/* fcc */
		t[256 + c + 0x20] = (uint8_t)c;
	}
	return t;
}

/* ---------------------------------------------------------------------- */
/* SpamAssassin conditionals */

struct ctok {
	const char	*p;
	size_t		 n;
};

struct cond_parser {
	struct rule_builder *b;
	struct ctok	 t[256];
	size_t		 nt, i;
	int		 bad;
};

static int
plugin_loaded(const struct rule_builder *b, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < b->nplugins; i++)
		if (strlen(b->plugins[i]) == n &&
		    strncmp(b->plugins[i], name, n) == 0)
			return 1;
	return 0;
}

static int
sa_can(const struct rule_builder *b, const char *s, size_t n)
{
	const char *conf = "Mail::SpamAssassin::Conf::";
	const char *plug = "Mail::SpamAssassin::Plugin::";
	char buf[256];
	size_t i, cl = strlen(conf), pl = strlen(plug);
	const char *m;

	if (n >= sizeof(buf))
		return 0;
	if (n > cl && strncmp(s, conf, cl) == 0) {
		for (i = 0; sa_conf_features[i] != NULL; i++)
			if (strlen(sa_conf_features[i]) == n - cl &&
			    strncmp(sa_conf_features[i], s + cl, n - cl) == 0)
				return 1;
		return 0;
	}
	if (n > pl && strncmp(s, plug, pl) == 0) {
		memcpy(buf, s + pl, n - pl);
		buf[n - pl] = '\0';
		if ((m = strstr(buf, "::")) == NULL)
			return 0;
		if (!plugin_loaded(b, s, pl + (size_t)(m - buf)))
			return 0;
		buf[m - buf] = ' ';
		memmove(buf + (m - buf) + 1, m + 2, strlen(m + 2) + 1);
		for (i = 0; sa_plugin_methods[i] != NULL; i++)
			if (strcmp(sa_plugin_methods[i], buf) == 0)
				return 1;
	}
	return 0;
}

static int
ctok_is(const struct cond_parser *cp, const char *s)
{
	return cp->i < cp->nt && cp->t[cp->i].n == strlen(s) &&
	    strncmp(cp->t[cp->i].p, s, cp->t[cp->i].n) == 0;
}

static double cond_or(struct cond_parser *);

static double
cond_primary(struct cond_parser *cp)
{
	struct ctok t;
	double v;
	int fn;

	if (cp->i >= cp->nt) {
		cp->bad = 1;
		return 0;
	}
	if (ctok_is(cp, "!")) {
		cp->i++;
		return cond_primary(cp) == 0;
	}
	if (ctok_is(cp, "(")) {
		cp->i++;
		v = cond_or(cp);
		if (!ctok_is(cp, ")"))
			cp->bad = 1;
		cp->i++;
		return v;
	}
	t = cp->t[cp->i++];
	if ((t.n == 6 && strncmp(t.p, "plugin", 6) == 0 && (fn = 1)) ||
	    (t.n == 3 && strncmp(t.p, "can", 3) == 0 && (fn = 2)) ||
	    (t.n == 3 && strncmp(t.p, "has", 3) == 0 && (fn = 3))) {
		if (!ctok_is(cp, "(") || cp->i + 2 >= cp->nt) {
			cp->bad = 1;
			return 0;
		}
		cp->i++;
		t = cp->t[cp->i++];
		if (!ctok_is(cp, ")")) {
			cp->bad = 1;
			return 0;
		}
		cp->i++;
		if (fn == 1) {
			/* the Dmarc plugin was renamed (Conf/Parser.pm) */
			static const char dmarc[] =
			    "Mail::SpamAssassin::Plugin::Dmarc";

			if (t.n == sizeof(dmarc) - 1 &&
			    strncmp(t.p, dmarc, t.n) == 0)
				return plugin_loaded(cp->b,
				    "Mail::SpamAssassin::Plugin::DMARC", t.n);
			return plugin_loaded(cp->b, t.p, t.n);
		}
		return fn == 2 ? sa_can(cp->b, t.p, t.n) : 0;
	}
	if (t.n == 7 && strncmp(t.p, "version", 7) == 0)
		return SA_VERSION;
	if (t.n == 12 && strncmp(t.p, "perl_version", 12) == 0)
		return SA_PERL_VERSION;
	if (t.n == 16 && strncmp(t.p, "local_tests_only", 16) == 0)
		return 1;
	if (isdigit((unsigned char)t.p[0]) || t.p[0] == '.')
		return strtod(t.p, NULL);
	cp->bad = 1;
	return 0;
}

static double
cond_cmp(struct cond_parser *cp)
{
	double a = cond_primary(cp), b;
	static const char *const ops[] = { ">=", "<=", "==", "!=", ">", "<" };
	size_t k;

	for (k = 0; k < 6; k++) {
		if (!ctok_is(cp, ops[k]))
			continue;
		cp->i++;
		b = cond_primary(cp);
		switch (k) {
		case 0: return a >= b;
		case 1: return a <= b;
		case 2: return a == b;
		case 3: return a != b;
		case 4: return a > b;
		default: return a < b;
		}
	}
	return a;
}

static double
cond_and(struct cond_parser *cp)
{
	double a = cond_cmp(cp);

	while (ctok_is(cp, "&&")) {
		cp->i++;
		a = cond_cmp(cp) != 0 && a != 0;
	}
	return a;
}

static double
cond_or(struct cond_parser *cp)
{
	double a = cond_and(cp);

	while (ctok_is(cp, "||")) {
		cp->i++;
		a = cond_and(cp) != 0 || a != 0;
	}
	return a;
}

/* Tokenize as ARITH_EXPRESSION_LEXER (Constants.pm) does. */
static size_t
arith_lex(const char *s, struct ctok *t, size_t max)
{
	size_t n = 0, k;
	const char *p = s;

	while (*p != '\0' && n < max) {
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		k = 0;
		if (isdigit((unsigned char)*p) || *p == '.')
			while (isdigit((unsigned char)p[k]) || p[k] == '.')
				k++;
		else if (isalnum((unsigned char)*p) || *p == '_')
			while (isalnum((unsigned char)p[k]) || p[k] == '_' ||
			    p[k] == ':')
				k++;
		else if ((p[0] == '|' && p[1] == '|') ||
		    (p[0] == '&' && p[1] == '&') ||
		    (p[0] == '=' && p[1] == '=') ||
		    (p[0] == '!' && p[1] == '=') ||
		    (p[0] == '>' && p[1] == '=') ||
		    (p[0] == '<' && p[1] == '='))
			k = 2;
		else if (strchr("()!<>+-*/^?:", *p) != NULL)
			k = 1;
		else {
			/* anything else: one junk token, refused by parsers */
			k = 1;
		}
		t[n].p = p;
		t[n].n = k;
		n++;
		p += k;
	}
	if (*p != '\0')
		return max + 1;
	return n;
}

static int
eval_cond(struct rule_builder *b, const char *expr)
{
	struct cond_parser cp;
	double v;

	memset(&cp, 0, sizeof(cp));
	cp.b = b;
	cp.nt = arith_lex(expr, cp.t, 256);
	if (cp.nt > 256)
		return -1;
	v = cond_or(&cp);
	if (cp.bad || cp.i != cp.nt)
		return -1;
	return v != 0;
}

/* ---------------------------------------------------------------------- */
/* rule definitions */

static int
has_named_group(const char *p)
{
	for (; (p = strstr(p, "(?")) != NULL; p += 2) {
		const char *q = p + 2;

		if (*q == 'P')
			q++;
		if ((*q == '<' || *q == '\'') && isupper((unsigned char)q[1]))
			return 1;
	}
	return 0;
}

static int
has_template(const char *p)
{
	for (; (p = strstr(p, "%{")) != NULL; p += 2)
		if (isupper((unsigned char)p[2]))
			return 1;
	return 0;
}

/*
 * Store the pattern of r from "/re/mods"; returns 0, or -1 with *why
 * (the rule is then marked RSKIP_BADRE).
 */
static int
rule_set_pattern(struct rule *r, const char *text, const char **why)
{
	if (split_pattern(text, &r->src, &r->mods, why) != 0) {
		r->skip = RSKIP_BADRE;
		return -1;
	}
	if (has_template(r->src))
		r->flags |= RF_TEMPLATE;
	if (has_named_group(r->src))
		r->flags |= RF_NAMED;
	return 0;
}

/*
 * Header operand as Conf/Parser.pm add_test() accepts it:
 * exists:NAME, or NAME[:mod[:mod]] (=~|!~) /re/ [if-unset: STR].
 */
static int
parse_header_test(struct rule *r, char *v, int native, const char **why)
{
	char *p, *op;
	size_t n;

	if (strncmp(v, "exists:", 7) == 0 || strncmp(v, "!exists:", 8) == 0) {
		if (v[0] == '!') {
			r->flags |= RF_NEG;
			v++;
		}
		v += 7;
		n = strlen(v);
		if (n > 0 && v[n - 1] == ':')
			v[--n] = '\0';
		if (n == 0 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
			*why = "invalid header name after exists:";
			return -1;
		}
		r->flags |= RF_EXISTS;
		r->hdr = xstrdup(v);
		return 0;
	}
	p = v;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
	    *p == '-' || *p == ':')
		p++;
	if (p == v) {
		*why = "invalid header test";
		return -1;
	}
	r->hdr = xstrndup(v, (size_t)(p - v));
	n = strlen(r->hdr);
	if (r->hdr[n - 1] == ':')
		r->hdr[--n] = '\0';
	for (op = strchr(r->hdr, ':'); op != NULL; op = strchr(op + 1, ':')) {
		static const char *const mods[] = { "raw", "addr", "name",
		    "host", "domain", "ip", "revip", "first", "last", NULL };
		size_t k, ml = strcspn(op + 1, ":");

		for (k = 0; mods[k] != NULL; k++)
			if (strlen(mods[k]) == ml &&
			    strncasecmp(mods[k], op + 1, ml) == 0)
				break;
		if (mods[k] == NULL) {
			*why = "invalid header modifier";
			return -1;
		}
	}
	p = skipws(p);
	if ((p[0] != '=' && p[0] != '!') || p[1] != '~') {
		*why = "header test needs =~ or !~";
		return -1;
	}
	if (p[0] == '!')
		r->flags |= RF_NEG;
	p = skipws(p + 2);
	if (!native) {
		char *u = strstr(p, "[if-unset:");

		if (u != NULL && u > p && isspace((unsigned char)u[-1])) {
			size_t ul = strlen(u);

			if (u[ul - 1] == ']') {
				u[ul - 1] = '\0';
				r->unset = xstrdup(skipws(u + 10));
				*u = '\0';
				rtrim(p);
			}
		}
	}
	if (*p == '\0') {
		*why = "missing pattern";
		return -1;
	}
	return rule_set_pattern(r, p, why);
}

/* The stage a SpamAssassin rule key names, or -1. */
static int
sa_stage(const char *key)
{
	if (strcmp(key, "header") == 0)
		return RULE_ST_HEADER;
	if (strcmp(key, "body") == 0)
		return RULE_ST_BODY;
	if (strcmp(key, "rawbody") == 0)
		return RULE_ST_RAWBODY;
	if (strcmp(key, "full") == 0)
		return RULE_ST_FULL;
	if (strcmp(key, "uri") == 0)
		return RULE_ST_URI;
	if (strcmp(key, "meta") == 0)
		return RULE_ST_META;
	if (strcmp(key, "mimeheader") == 0)
		return RULE_ST_MIMEHEADER;
	return -1;
}

static void
add_tag(struct rule_builder *b, int kind, const char *name, const char *val)
{
	size_t i;

	for (i = 0; i < b->ntags[kind]; i++)
		if (strcmp(b->tags[kind][i].name, name) == 0) {
			free(b->tags[kind][i].value);
			b->tags[kind][i].value = xstrdup(val);
			return;
		}
	b->tags[kind] = xreallocarray(b->tags[kind], b->ntags[kind] + 1,
	    sizeof(struct tag));
	b->tags[kind][b->ntags[kind]].name = xstrdup(name);
	b->tags[kind][b->ntags[kind]].value = xstrdup(val);
	b->ntags[kind]++;
}

static int load_file(struct rule_builder *, const char *, enum rule_format,
    struct rule_error *);
static int load_text(struct rule_builder *, const char *, char *, size_t,
    enum rule_format, struct rule_error *);

static char *
include_path(const char *cur, const char *inc)
{
	const char *slash;

	if (inc[0] == '/' || (slash = strrchr(cur, '/')) == NULL)
		return xstrdup(inc);
	return xasprintf("%.*s/%s", (int)(slash - cur), cur, inc);
}

/* One SpamAssassin line: key and value, already stripped of comments. */
/*
 * Whether a SpamAssassin line about rule name may change it: a line of
 * the stock rules never changes a rule a moat rule file defines,
 * whichever was read first.  moat's own rules of the same name as stock
 * ones (rules/auth.rules: SPF_PASS, DKIM_VALID, ...; the stock ones are
 * network evals moat skips, with stock scores such as SPF_FAIL's 0) must
 * decide with sa_rules on, and stock metas then read their hits.  A
 * site's own .cf files still tune them (a later line wins, as always).
 */
static int
sa_owned(struct rule_builder *b, const char *name)
{
	long i;

	if (!b->stock)
		return 1;
	i = hfind(b->ahash, b->ahashcap, b->attrs, attr_name_at, name);
	return i < 0 || !b->attrs[i].native;
}

static int
sa_line(struct rule_builder *b, const char *file, int line, char *key,
    char *val, struct rule_error *err)
{
	struct rule *r;
	struct attr *a;
	char *name, *p;
	const char *why = NULL;
	int st;
	size_t i;

	if ((st = sa_stage(key)) >= 0) {
		p = val;
		name = word(&p);
		if (name == NULL || *p == '\0' || !valid_rulename(name)) {
			b->stats.unknown_keys++;
			return 0;
		}
		if (!sa_owned(b, name))
			return 0;
		/* a meta's "eval:" is a bad expression, as in SpamAssassin */
		if (st != RULE_ST_META && (strncmp(p, "eval:", 5) == 0 ||
		    strncmp(p, "rbleval:", 8) == 0)) {
			r = rule_slot(b, name, file, line, (enum rule_stage)st);
			r->flags |= RF_SA;
			/* the evals moat runs natively; others are skipped */
			if (*p != 'e' || b->no_evals ||
			    (r->ev = rule_saeval_parse(p + 5)) == NULL)
				r->skip = RSKIP_EVAL;
			return 0;
		}
		r = rule_slot(b, name, file, line, (enum rule_stage)st);
		r->flags |= RF_SA;
		switch (st) {
		case RULE_ST_HEADER:
		case RULE_ST_MIMEHEADER:
			if (parse_header_test(r, p, 0, &why) != 0 &&
			    r->skip == RSKIP_NONE)
				r->skip = RSKIP_BADRE;
			break;
		case RULE_ST_META:
			r->src = xstrdup(p);
			break;
		default:
			(void)rule_set_pattern(r, p, &why);
			break;
		}
		return 0;
	}
	if (strcmp(key, "score") == 0) {
		p = val;
		name = word(&p);
		if (name == NULL || (p = word(&p)) == NULL)
			return 0;
		if (*p == '(')
			p++;
		if (!sa_owned(b, name))
			return 0;
		a = attr_get(b, name);
		a->score = strtod(p, NULL);
		a->has_score = 1;
		return 0;
	}
	if (strcmp(key, "describe") == 0) {
		p = val;
		if ((name = word(&p)) == NULL || !sa_owned(b, name))
			return 0;
		a = attr_get(b, name);
		free(a->desc);
		a->desc = xstrdup(p);
		return 0;
	}
	if (strcmp(key, "tflags") == 0) {
		p = val;
		if ((name = word(&p)) == NULL || !sa_owned(b, name))
			return 0;
		a = attr_get(b, name);
		free(a->tflags);
		a->tflags = xstrdup(p);
		return 0;
	}
	if (strcmp(key, "loadplugin") == 0) {
		p = val;
		if ((name = word(&p)) == NULL)
			return 0;
		if (!plugin_loaded(b, name, strlen(name))) {
			b->plugins = xreallocarray(b->plugins, b->nplugins + 1,
			    sizeof(char *));
			b->plugins[b->nplugins++] = xstrdup(name);
		}
		return 0;
	}
	if (strcmp(key, "replace_tag") == 0 || strcmp(key, "replace_inter") == 0
	    || strcmp(key, "replace_post") == 0 ||
	    strcmp(key, "replace_pre") == 0) {
		int kind = key[8] == 't' ? TAG_TAG : key[8] == 'i' ? TAG_INTER :
		    key[9] == 'o' ? TAG_POST : TAG_PRE;

		p = val;
		if ((name = word(&p)) == NULL || *p == '\0')
			return 0;
		add_tag(b, kind, name, p);
		return 0;
	}
	if (strcmp(key, "replace_rules") == 0) {
		p = val;
		while ((name = word(&p)) != NULL) {
			b->replace = xreallocarray(b->replace, b->nreplace + 1,
			    sizeof(char *));
			b->replace[b->nreplace++] = xstrdup(name);
		}
		return 0;
	}
	if (strcmp(key, "replace_start") == 0 || strcmp(key, "replace_end") == 0) {
		snprintf(key[8] == 's' ? b->rstart : b->rend, sizeof(b->rstart),
		    "%s", val);
		return 0;
	}
	if (strcmp(key, "include") == 0) {
		char *path = include_path(file, val);
		int rc = load_file(b, path, RULE_FMT_SA, err);

		free(path);
		return rc;
	}
	for (i = 0; sa_plugin_rule_keys[i] != NULL; i++)
		if (strcmp(key, sa_plugin_rule_keys[i]) == 0) {
			b->stats.plugin++;
			return 0;
		}
	if (rule_saeval_setting(&b->saconf, key, val))
		return 0;
	b->stats.unknown_keys++;
	return 0;
}

static int
read_sa(struct rule_builder *b, const char *file, char *text,
    struct rule_error *err)
{
	struct cond stack[RULE_IF_DEPTH_MAX];
	size_t depth = 0, k;
	int line = 0, skip = 0, rc;
	char *next, *s, *key, *h, *w;

	for (s = text; s != NULL; s = next) {
		line++;
		if ((next = strchr(s, '\n')) != NULL)
			*next++ = '\0';
		b->stats.lines++;
		/* s/(?<!\\)#.*$//; s/\\#/#/g */
		for (h = s; (h = strchr(h, '#')) != NULL; h++)
			if (h == s || h[-1] != '\\') {
				*h = '\0';
				break;
			}
		for (h = w = s; *h != '\0'; h++) {
			if (h[0] == '\\' && h[1] == '#')
				h++;
			*w++ = *h;
		}
		*w = '\0';
		s = skipws(s);
		rtrim(s);
		if (*s == '\0')
			continue;
		if (strncmp(s, "lang", 4) == 0 && isspace((unsigned char)s[4])) {
			h = s + 4;
			key = word(&h);
			/* we are "en_US": lines for other languages are skipped */
			if (key == NULL || strncasecmp("en_US", key,
			    strlen(key)) != 0 || strlen(key) > 5)
				continue;
			s = skipws(h);
			if (*s == '\0')	/* "lang en" and nothing else */
				continue;
		}
		h = s;
		key = word(&h);
		for (w = key; *w != '\0'; w++)
			*w = *w == '-' ? '_' : (char)tolower((unsigned char)*w);
		if (strcmp(key, "endif") == 0) {
			if (depth == 0) {
				set_err(err, file, line, -1,
				    "endif without if");
				return -1;
			}
			skip = stack[--depth].outer_skip;
			continue;
		}
		if (strcmp(key, "else") == 0) {
			if (depth == 0) {
				set_err(err, file, line, -1,
				    "else without if");
				return -1;
			}
			skip = 0;
			for (k = 0; k < depth; k++)
				if (stack[k].outer_skip)
					skip = 1;
			if (!skip)
				skip = stack[depth - 1].result;
			continue;
		}
		if (strcmp(key, "if") == 0 || strcmp(key, "ifplugin") == 0) {
			char *expr;

			if (depth == RULE_IF_DEPTH_MAX) {
				set_err(err, file, line, -1,
				    "if nested deeper than %d",
				    RULE_IF_DEPTH_MAX);
				return -1;
			}
			expr = key[2] == 'p' ? xasprintf("plugin(%s)", h) :
			    xstrdup(h);
			rc = eval_cond(b, expr);
			free(expr);
			if (rc < 0) {
				/* SA warns and treats it as false */
				rc = 0;
			}
			stack[depth].outer_skip = skip;
			stack[depth].result = rc;
			stack[depth].line = line;
			depth++;
			if (!rc)
				skip = 1;
			continue;
		}
		if (skip) {
			if (sa_stage(key) >= 0)
				b->stats.inactive++;
			continue;
		}
		if (sa_line(b, file, line, key, h, err) != 0)
			return -1;
	}
	/* SA forgets open ifs at the end of a file (with a warning) */
	return 0;
}

/* ---------------------------------------------------------------------- */
/* native format */

static int
native_stage(const char *w, enum rule_stage *st)
{
	size_t i;

	for (i = 0; i < RULE_ST_COUNT; i++)
		if (strcmp(w, stage_names[i]) == 0) {
			*st = (enum rule_stage)i;
			return 0;
		}
	return -1;
}

/*
 * The tail of a native rule: [score N] [per-hit] [max N] [nosubject]
 * ["description"].  p points just past the pattern or expression.
 */
static int
native_tail(struct rule_builder *b, struct rule *r, char *p, const char *file,
    int line, struct rule_error *err)
{
	struct attr *a = attr_get(b, r->name);
	char *w, *end;

	/* The moat definition is the whole rule: a SpamAssassin describe
	 * or tflags read before it no longer applies (see sa_owned). */
	a->score = 1.0;
	a->has_score = 1;
	a->native = 1;
	free(a->desc);
	a->desc = NULL;
	free(a->tflags);
	a->tflags = NULL;
	for (;;) {
		p = skipws(p);
		if (*p == '\0')
			break;
		if (*p == '"') {
			end = strrchr(p + 1, '"');
			if (end == NULL || *skipws(end + 1) != '\0') {
				set_err(err, file, line, -1,
				    "%s: description must be one quoted "
				    "string at the end", r->name);
				return -1;
			}
			free(a->desc);
			a->desc = xstrndup(p + 1, (size_t)(end - p - 1));
			break;
		}
		w = word(&p);
		if (strcmp(w, "score") == 0) {
			w = word(&p);
			if (w == NULL) {
				set_err(err, file, line, -1,
				    "%s: score needs a number", r->name);
				return -1;
			}
			a->score = strtod(w, &end);
			if (*end != '\0' || !isfinite(a->score)) {
				set_err(err, file, line, -1,
				    "%s: bad score \"%s\"", r->name, w);
				return -1;
			}
		} else if (strcmp(w, "per-hit") == 0) {
			r->flags |= RF_MULTIPLE;
		} else if (strcmp(w, "once") == 0) {
			r->flags &= ~RF_MULTIPLE;
		} else if (strcmp(w, "nosubject") == 0) {
			r->flags |= RF_NOSUBJECT;
		} else if (strcmp(w, "max") == 0) {
			long v;

			w = word(&p);
			v = w ? strtol(w, &end, 10) : 0;
			if (w == NULL || *end != '\0' || v < 1 ||
			    v > 1000000) {
				set_err(err, file, line, -1,
				    "%s: max needs a count 1..1000000",
				    r->name);
				return -1;
			}
			r->maxhits = (unsigned)v;
			r->flags |= RF_MULTIPLE;
		} else {
			set_err(err, file, line, -1, "%s: unknown option \"%s\"",
			    r->name, w);
			return -1;
		}
	}
	return 0;
}

/* Find the end of a delimited pattern starting at s; returns past it. */
static char *
pattern_end(char *s)
{
	char open, close;
	char *p = s;
	int depth = 0;

	if (*p == 'm')
		p++;
	open = *p;
	switch (open) {
	case '{': close = '}'; break;
	case '(': close = ')'; break;
	case '<': close = '>'; break;
	case '[': close = ']'; break;
	default: close = open;
	}
	if (open == '\0' || isalnum((unsigned char)open) ||
	    isspace((unsigned char)open))
		return NULL;
	/* bracketing delimiters nest, as in Perl: m{a{3}} */
	for (p++; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == close && depth-- == 0)
			break;
		else if (*p == open && open != close)
			depth++;
	}
	if (*p != close)
		return NULL;
	p++;
	while (isalpha((unsigned char)*p))
		p++;
	return p;
}

static int
native_line(struct rule_builder *b, const char *file, int line, char *s,
    struct rule_error *err)
{
	enum rule_stage st;
	struct rule *r;
	char *p = s, *kw, *name, *pe, save, *e, *last;
	const char *why = NULL;

	kw = word(&p);
	if (strcmp(kw, "include") == 0) {
		char *path;
		int rc;

		if (*p == '\0') {
			set_err(err, file, line, -1, "include needs a file");
			return -1;
		}
		path = include_path(file, p);
		rc = load_file(b, path, RULE_FMT_AUTO, err);
		free(path);
		return rc;
	}
	if (native_stage(kw, &st) != 0) {
		set_err(err, file, line, -1, "unknown stage \"%s\"", kw);
		return -1;
	}
	name = word(&p);
	if (name == NULL || !valid_rulename(name)) {
		set_err(err, file, line, -1, "missing or invalid rule name");
		return -1;
	}
	r = rule_slot(b, name, file, line, st);
	if (st == RULE_ST_META) {
		/* the expression runs up to the last "score N" */
		for (last = NULL, e = p; (e = strstr(e, "score")) != NULL;
		    e += 5)
			if ((e == p || isspace((unsigned char)e[-1])) &&
			    isspace((unsigned char)e[5]))
				last = e;
		if (last == NULL) {
			set_err(err, file, line, -1,
			    "%s: meta needs \"score N\" after the expression",
			    name);
			return -1;
		}
		r->src = xstrndup(p, (size_t)(last - p));
		rtrim(r->src);
		if (*r->src == '\0') {
			set_err(err, file, line, -1, "%s: empty expression",
			    name);
			return -1;
		}
		return native_tail(b, r, last, file, line, err);
	}
	if (st == RULE_ST_HEADER || st == RULE_ST_MIMEHEADER) {
		if (strncmp(p, "exists:", 7) == 0 ||
		    strncmp(p, "!exists:", 8) == 0) {
			pe = p;
			while (*pe != '\0' && !isspace((unsigned char)*pe))
				pe++;
		} else {
			e = strstr(p, "~");
			if (e == NULL || (pe = pattern_end(skipws(e + 1))) ==
			    NULL) {
				set_err(err, file, line, -1,
				    "%s: expected NAME =~ /pattern/", name);
				return -1;
			}
		}
		save = *pe;
		*pe = '\0';
		if (parse_header_test(r, p, 1, &why) != 0) {
			set_err(err, file, line, -1, "%s: %s", name, why);
			return -1;
		}
		*pe = save;
		return native_tail(b, r, pe, file, line, err);
	}
	if (st == RULE_ST_CONNECT) {
		kw = word(&p);
		if (kw != NULL && strcmp(kw, "addr") == 0)
			r->target = RT_ADDR;
		else if (kw != NULL && strcmp(kw, "name") == 0)
			r->target = RT_NAME;
		else if (kw != NULL && strcmp(kw, "facts") == 0)
			r->target = RT_FACTS;
		else {
			set_err(err, file, line, -1,
			    "%s: connect needs addr, name or facts", name);
			return -1;
		}
	}
	if (p[0] == '!' && p[1] == '~') {
		r->flags |= RF_NEG;
		p = skipws(p + 2);
	} else if (p[0] == '=' && p[1] == '~')
		p = skipws(p + 2);
	else if (p[0] == '!') {
		r->flags |= RF_NEG;
		p++;
	}
	if ((pe = pattern_end(p)) == NULL) {
		set_err(err, file, line, -1, "%s: expected /pattern/flags",
		    name);
		return -1;
	}
	save = *pe;
	*pe = '\0';
	if (rule_set_pattern(r, p, &why) != 0) {
		set_err(err, file, line, -1, "%s: %s", name, why);
		return -1;
	}
	*pe = save;
	if (r->flags & RF_TEMPLATE)
		r->flags &= ~RF_TEMPLATE;	/* native: %{ is literal */
	return native_tail(b, r, pe, file, line, err);
}

static int
read_native(struct rule_builder *b, const char *file, char *text,
    struct rule_error *err)
{
	struct sbuf l = SBUF_INIT;
	char *s, *next, *h;
	int line = 0, first = 0, rc = 0;
	size_t n;

	for (s = text; s != NULL; s = next) {
		line++;
		if ((next = strchr(s, '\n')) != NULL)
			*next++ = '\0';
		b->stats.lines++;
		n = strlen(s);
		if (n > 0 && s[n - 1] == '\r')
			s[--n] = '\0';
		if (l.len == 0) {
			first = line;
			h = skipws(s);
			if (*h == '#' || *h == '\0')
				continue;
		}
		if (n > 0 && s[n - 1] == '\\') {
			sbuf_add(&l, s, n - 1);
			sbuf_addc(&l, ' ');
		} else {
			sbuf_add(&l, s, n);
		}
		if (l.len > RULE_LINE_MAX) {
			set_err(err, file, first, -1, "line longer than %d bytes",
			    RULE_LINE_MAX);
			rc = -1;
			break;
		}
		if (n > 0 && s[n - 1] == '\\' && next != NULL)
			continue;
		h = skipws(l.p);
		rtrim(h);
		if (*h != '\0' && *h != '#' &&
		    native_line(b, file, first, h, err) != 0) {
			rc = -1;
			break;
		}
		sbuf_reset(&l);
	}
	sbuf_free(&l);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* files */

static enum rule_format
guess_format(const char *name)
{
	size_t n = strlen(name);

	if ((n > 3 && strcmp(name + n - 3, ".cf") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".pre") == 0))
		return RULE_FMT_SA;
	return RULE_FMT_NATIVE;
}

static int
load_text(struct rule_builder *b, const char *name, char *text, size_t len,
    enum rule_format fmt, struct rule_error *err)
{
	if (memchr(text, '\0', len) != NULL) {
		set_err(err, name, 0, -1, "NUL byte in rule file");
		return -1;
	}
	if (fmt == RULE_FMT_AUTO)
		fmt = guess_format(name);
	b->stats.files++;
	if (fmt == RULE_FMT_SA)
		return read_sa(b, name, text, err);
	return read_native(b, name, text, err);
}

static int
load_file(struct rule_builder *b, const char *path, enum rule_format fmt,
    struct rule_error *err)
{
	FILE *fp;
	struct sbuf t = SBUF_INIT;
	char buf[8192];
	size_t n;
	int rc;

	if (b->depth >= RULE_INCLUDE_DEPTH_MAX) {
		set_err(err, path, 0, -1, "includes nested deeper than %d",
		    RULE_INCLUDE_DEPTH_MAX);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		set_err(err, path, 0, -1, "%s", strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&t, buf, n);
	if (ferror(fp)) {
		set_err(err, path, 0, -1, "read error");
		fclose(fp);
		sbuf_free(&t);
		return -1;
	}
	fclose(fp);
	sbuf_addc(&t, '\0');
	b->depth++;
	rc = load_text(b, path, t.p, t.len - 1, fmt, err);
	b->depth--;
	sbuf_free(&t);
	return rc;
}

int
rule_builder_add_file(struct rule_builder *b, const char *path,
    enum rule_format fmt, struct rule_error *err)
{
	return load_file(b, path, fmt, err);
}

int
rule_builder_add_text(struct rule_builder *b, const char *name,
    const char *text, size_t len, enum rule_format fmt,
    struct rule_error *err)
{
	char *copy = xmalloc(len + 1);
	int rc;

	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = load_text(b, name, copy, len, fmt, err);
	free(copy);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
load_dir(struct rule_builder *b, const char *dir, const char *suffix,
    struct rule_error *err)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i, sl = strlen(suffix), l;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		set_err(err, dir, 0, -1, "%s", strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(char *));
		names[n++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_str);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = load_file(b, names[i], RULE_FMT_SA, err);
		free(names[i]);
	}
	free(names);
	return rc;
}

int
rule_builder_add_sa_dirs(struct rule_builder *b, const char *datadir,
    const char *sitedir, struct rule_error *err)
{
	if (datadir == NULL)
		datadir = "/usr/share/spamassassin";
	if (sitedir == NULL)
		sitedir = "/etc/spamassassin";
	if (load_dir(b, sitedir, ".pre", err) != 0)
		return -1;
	b->stock = 1;
	if (load_dir(b, datadir, ".cf", err) != 0) {
		b->stock = 0;
		return -1;
	}
	b->stock = 0;
	if (load_dir(b, sitedir, ".cf", err) != 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* finishing: replace_tags, scores, patterns, metas */

static const char *
tag_value(const struct rule_builder *b, int kind, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < b->ntags[kind]; i++)
		if (strlen(b->tags[kind][i].name) == n &&
		    strncmp(b->tags[kind][i].name, name, n) == 0)
			return b->tags[kind][i].value;
	return NULL;
}

/*
 * Cut the first "<KIND NAME>" out of s, returning NAME (new string) or
 * NULL.  One left-to-right scan: expansions can be large.
 */
static char *
cut_modifier(struct rule_builder *b, struct sbuf *s, const char *kind)
{
	char needle[64], *p, *q, *name;
	size_t nl, el = strlen(b->rend);

	snprintf(needle, sizeof(needle), "%s%s ", b->rstart, kind);
	nl = strlen(needle);
	if (s->p == NULL || (p = strstr(s->p, needle)) == NULL)
		return NULL;
	if ((q = strstr(p + nl, b->rend)) == NULL || q == p + nl)
		return NULL;
	name = xstrndup(p + nl, (size_t)(q - (p + nl)));
	q += el;
	memmove(p, q, strlen(q) + 1);
	s->len = strlen(s->p);
	return name;
}

/*
 * Plugin/ReplaceTags.pm finish_parsing_end(): <pre X>, <post X>, <inter X>,
 * then every <TAG> replaced, up to 5 passes for tags containing tags.
 * Only the default "<" ">" delimiters split pieces, as the plugin's split
 * does.
 */
static void
replace_tags(struct rule_builder *b, struct rule *r)
{
	struct sbuf s = SBUF_INIT, o = SBUF_INIT;
	int passes = 0, again;

	sbuf_adds(&s, r->src);
	do {
		char *pre = cut_modifier(b, &s, "pre");
		char *post = cut_modifier(b, &s, "post");
		char *inter = cut_modifier(b, &s, "inter");
		const char *prev = tag_value(b, TAG_PRE, pre ? pre : "", pre ?
		    strlen(pre) : 0);
		const char *postv = tag_value(b, TAG_POST, post ? post : "",
		    post ? strlen(post) : 0);
		const char *interv = tag_value(b, TAG_INTER, inter ? inter :
		    "", inter ? strlen(inter) : 0);
		const char *p = s.p, *lt, *gt, *v;
		int prevtag = 0;

		again = 0;
		sbuf_reset(&o);
		while (*p != '\0' && o.len <= RULE_REPLACE_MAX) {
			lt = strchr(p, '<');
			gt = lt ? strpbrk(lt + 1, "<>") : NULL;
			if (lt == NULL || gt == NULL) {
				sbuf_adds(&o, p);
				break;
			}
			if (*gt == '<' || gt == lt + 1) {
				/* "<" that opens no tag piece: plain text */
				sbuf_add(&o, p, (size_t)(gt - p));
				p = gt;
				prevtag = 0;
				continue;
			}
			if (lt > p) {
				sbuf_add(&o, p, (size_t)(lt - p));
				prevtag = 0;
			} else if (prevtag && interv != NULL)
				sbuf_adds(&o, interv);
			/* the tag piece lt..gt */
			if (pre && prev)
				sbuf_adds(&o, prev);
			v = tag_value(b, TAG_TAG, lt + 1, (size_t)(gt - lt - 1));
			if (v != NULL) {
				sbuf_adds(&o, v);
				if (strchr(v, '<') != NULL &&
				    strchr(v, '>') != NULL)
					again = 1;
			} else
				sbuf_add(&o, lt, (size_t)(gt - lt + 1));
			if (post && postv)
				sbuf_adds(&o, postv);
			prevtag = 1;
			p = gt + 1;
		}
		free(pre);
		free(post);
		free(inter);
		sbuf_reset(&s);
		sbuf_add(&s, o.p ? o.p : "", o.len);
		passes++;
		/* tags that contain tags grow geometrically: bound it */
		if (o.len > RULE_REPLACE_MAX) {
			r->skip = RSKIP_BADRE;
			free(r->err);
			r->err = xasprintf("replace_tags expansion longer than "
			    "%d bytes", RULE_REPLACE_MAX);
			break;
		}
	} while (again && passes <= 5);
	if (strcmp(s.p, r->src) != 0) {
		free(r->src);
		r->src = xstrdup(s.p);
		b->stats.replaced++;
		if (has_template(r->src))
			r->flags |= RF_TEMPLATE;
	}
	sbuf_free(&s);
	sbuf_free(&o);
}

static int
compile_rule(struct rule *r, const uint8_t *tables, struct rule_error *err,
    struct rule_stats *st)
{
	pcre2_compile_context *cc;
	int ec;
	PCRE2_SIZE off;
	char msg[160];

	if (rule_mods_options(r->mods, &r->copts) != 0) {
		set_err(err, r->file, r->line, -1, "%s: unknown modifier in "
		    "\"%s\"", r->name, r->mods);
		return -1;
	}
	if (r->flags & RF_TEMPLATE) {
		/* compiled per message, once the tag is known */
		st->templates++;
		return 0;
	}
	cc = pcre2_compile_context_create(NULL);
	pcre2_set_character_tables(cc, tables);
	r->re = pcre2_compile((PCRE2_SPTR)r->src, PCRE2_ZERO_TERMINATED,
	    r->copts, &ec, &off, cc);
	/* Perl has no size limit: shrink it with subroutines (rule_bigre.c) */
	if (r->re == NULL && ec == PCRE2_ERROR_PATTERN_TOO_LARGE &&
	    (r->re = rule_bigre_compile(r->src, r->copts, cc, &ec, &off)) !=
	    NULL)
		st->bigre++;
	pcre2_compile_context_free(cc);
	if (r->re == NULL) {
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
		set_err(err, r->file, r->line, (long)off,
		    "%s: pattern error at offset %lu: %s", r->name,
		    (unsigned long)off, msg);
		r->err = xasprintf("offset %lu: %s", (unsigned long)off, msg);
		return -1;
	}
	if (pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0)
		st->jit++;
	return 0;
}

/* Meta expressions: a precedence-climbing parser over SA's tokens. */
struct meta_parser {
	struct rule_builder *b;
	struct ctok	*t;
	size_t		 nt, i;
	struct meta_op	*code;
	size_t		 ncode, cap;
	int		 bad;
	int		 depth;
};

static void
emit(struct meta_parser *mp, enum meta_opc op, long rule, double num)
{
	if (mp->ncode == mp->cap) {
		mp->cap = mp->cap ? mp->cap * 2 : 16;
		mp->code = xreallocarray(mp->code, mp->cap, sizeof(*mp->code));
	}
	mp->code[mp->ncode].op = op;
	if (op == MOP_NUM)
		mp->code[mp->ncode].num = num;
	else
		mp->code[mp->ncode].rule = rule;
	mp->ncode++;
}

static int
mtok(const struct meta_parser *mp, const char *s)
{
	return mp->i < mp->nt && mp->t[mp->i].n == strlen(s) &&
	    strncmp(mp->t[mp->i].p, s, mp->t[mp->i].n) == 0;
}

static void meta_expr(struct meta_parser *, int);

static void
meta_unary(struct meta_parser *mp)
{
	struct ctok t;
	char name[RULE_NAME_MAX + 1];

	if (++mp->depth > 200 || mp->i >= mp->nt) {
		mp->bad = 1;
		return;
	}
	if (mtok(mp, "!")) {
		mp->i++;
		meta_unary(mp);
		emit(mp, MOP_NOT, 0, 0);
	} else if (mtok(mp, "-")) {
		mp->i++;
		meta_unary(mp);
		emit(mp, MOP_NEG, 0, 0);
	} else if (mtok(mp, "+")) {
		mp->i++;
		meta_unary(mp);
	} else if (mtok(mp, "(")) {
		mp->i++;
		meta_expr(mp, 0);
		if (!mtok(mp, ")"))
			mp->bad = 1;
		mp->i++;
	} else {
		t = mp->t[mp->i++];
		if (isdigit((unsigned char)t.p[0]) || t.p[0] == '.') {
			char num[64];

			snprintf(num, sizeof(num), "%.*s", (int)t.n, t.p);
			emit(mp, MOP_NUM, 0, strtod(num, NULL));
		} else if (isalpha((unsigned char)t.p[0]) || t.p[0] == '_') {
			long idx = -1;

			if (t.n <= RULE_NAME_MAX) {
				memcpy(name, t.p, t.n);
				name[t.n] = '\0';
				idx = hfind(mp->b->hash, mp->b->hashcap,
				    mp->b->rules, rule_name_at, name);
			}
			if (idx < 0)	/* undefined: evaluates to 0 */
				emit(mp, MOP_NUM, 0, 0);
			else
				emit(mp, MOP_RULE, idx, 0);
		} else
			mp->bad = 1;
	}
	mp->depth--;
}

/* Perl precedence, loosest first. */
static int
binop(const struct meta_parser *mp, enum meta_opc *op)
{
	static const struct {
		const char	*s;
		int		 prec;
		enum meta_opc	 op;
	} ops[] = {
		{ "||", 2, MOP_ORJ }, { "&&", 3, MOP_ANDJ }, { "^", 4, MOP_XOR },
		{ "==", 5, MOP_EQ }, { "!=", 5, MOP_NE }, { "<", 6, MOP_LT },
		{ "<=", 6, MOP_LE }, { ">", 6, MOP_GT }, { ">=", 6, MOP_GE },
		{ "+", 7, MOP_ADD }, { "-", 7, MOP_SUB }, { "*", 8, MOP_MUL },
		{ "/", 8, MOP_DIV },
	};
	size_t k;

	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (mtok(mp, ops[k].s)) {
			*op = ops[k].op;
			return ops[k].prec;
		}
	return -1;
}

static void
meta_expr(struct meta_parser *mp, int minprec)
{
	enum meta_opc op;
	int prec;
	size_t j1, j2;

	if (++mp->depth > 200) {
		mp->bad = 1;
		return;
	}
	meta_unary(mp);
	for (;;) {
		if (minprec <= 1 && mtok(mp, "?")) {
			/* cond ? a : b, right associative, loosest */
			mp->i++;
			j1 = mp->ncode;
			emit(mp, MOP_CONDJ, 0, 0);
			meta_expr(mp, 1);
			if (!mtok(mp, ":")) {
				mp->bad = 1;
				break;
			}
			mp->i++;
			j2 = mp->ncode;
			emit(mp, MOP_JMP, 0, 0);
			mp->code[j1].rule = (long)mp->ncode;
			meta_expr(mp, 1);
			mp->code[j2].rule = (long)mp->ncode;
			continue;
		}
		prec = binop(mp, &op);
		if (prec < 0 || prec < minprec || mp->bad)
			break;
		mp->i++;
		if (op == MOP_ANDJ || op == MOP_ORJ) {
			j1 = mp->ncode;
			emit(mp, op, 0, 0);
			meta_expr(mp, prec + 1);
			mp->code[j1].rule = (long)mp->ncode;
			continue;
		}
		meta_expr(mp, prec + 1);
		emit(mp, op, 0, 0);
	}
	mp->depth--;
}

/*
 * How dear a rule is to evaluate, for cheap_first(): 2 for a pattern over
 * a long text (body, raw body, URIs, full) that PCRE2 must try at most
 * offsets (no literal set, and no first byte or a set of 40 or more), 1 for
 * another such pattern, 0 for a header pattern; -1 for what is never moved
 * (metas, evals, skipped rules, and counted or capturing rules, whose value
 * may be more than 1 or whose order SpamAssassin's captures need).
 */
static int
rule_cost(const struct rule *r)
{
	const uint8_t *bm = NULL;
	uint32_t type = 0;
	int bits = 0, k;

	if (r->skip != RSKIP_NONE || r->re == NULL || r->ev != NULL ||
	    (r->flags & (RF_MULTIPLE | RF_NAMED | RF_TEMPLATE)))
		return -1;
	if (r->stage == RULE_ST_HEADER)
		return 0;
	if (r->stage != RULE_ST_BODY && r->stage != RULE_ST_RAWBODY &&
	    r->stage != RULE_ST_URI && r->stage != RULE_ST_FULL)
		return -1;
	if (r->nsets > 0 || pcre2_pattern_info(r->re,
	    PCRE2_INFO_FIRSTCODETYPE, &type) != 0 || type != 0 ||
	    pcre2_pattern_info(r->re, PCRE2_INFO_FIRSTBITMAP, &bm) != 0)
		return 1;
	if (bm == NULL)
		return 2;
	for (k = 0; k < 32; k++)
		bits += __builtin_popcount(bm[k]);
	return bits >= 40 ? 2 : 1;
}

/*
 * In a meta, "A && B" with A and B single rules (the whole left operand
 * and the whole right one) becomes "B && A" when A is dearer: a lazy
 * evaluation then runs A only where B hit.  Both are rules whose value is 0
 * or 1 (rule_cost()), so the value of the && and of what contains it is
 * the same either way (the first false operand's 0, or the last true
 * one's 1), and rules have no side effects.  The stock
 * __MALWARE_NORDNS, "__MY_MALWARE && __RDNS_NONE", ran the costliest
 * stock pattern on every message to find most had reverse DNS anyway.
 */
static void
cheap_first(struct rule *rules, struct rule *r)
{
	size_t k, j;
	long a;

	for (k = 0; k + 2 < r->ncode; k++) {
		if (r->code[k].op != MOP_RULE || r->code[k + 1].op !=
		    MOP_ANDJ || r->code[k + 1].rule != (long)k + 3 ||
		    r->code[k + 2].op != MOP_RULE)
			continue;
		/*
		 * A jump to the && means A only ends a larger left operand,
		 * "(X || A) && B", which must not become "(X || B) && A".
		 */
		for (j = 0; j < k; j++)
			if (r->code[j].op >= MOP_ANDJ &&
			    r->code[j].rule == (long)k + 1)
				break;
		if (j < k)
			continue;
		a = r->code[k].rule;
		if (a < 0 || r->code[k + 2].rule < 0 ||
		    rule_cost(&rules[r->code[k + 2].rule]) < 0 ||
		    rule_cost(&rules[a]) <= rule_cost(&rules[r->code[k +
		    2].rule]))
			continue;
		r->code[k].rule = r->code[k + 2].rule;
		r->code[k + 2].rule = a;
	}
}

static int
compile_meta(struct rule_builder *b, struct rule *r)
{
	struct meta_parser mp;
	struct ctok *t = xreallocarray(NULL, RULE_META_TOKENS_MAX + 1,
	    sizeof(*t));

	memset(&mp, 0, sizeof(mp));
	mp.b = b;
	mp.t = t;
	mp.nt = arith_lex(r->src, t, RULE_META_TOKENS_MAX);
	if (mp.nt == 0 || mp.nt > RULE_META_TOKENS_MAX)
		mp.bad = 1;
	else
		meta_expr(&mp, 0);
	free(t);
	if (mp.bad || mp.i != mp.nt) {
		free(mp.code);
		return -1;
	}
	r->code = mp.code;
	r->ncode = mp.ncode;
	return 0;
}

/* Depth-first topological order of the running metas. */
static int
meta_visit(struct rule *rules, long i, unsigned char *state, long *out,
    size_t *nout, int depth)
{
	size_t k;
	struct rule *r = &rules[i];

	if (state[i] == 2)
		return 0;
	if (state[i] == 1 || depth > 10000)
		return -1;
	state[i] = 1;
	for (k = 0; k < r->ncode; k++) {
		long d = r->code[k].rule;

		if (r->code[k].op != MOP_RULE)
			continue;
		if (rules[d].stage != RULE_ST_META || rules[d].skip !=
		    RSKIP_NONE)
			continue;
		if (meta_visit(rules, d, state, out, nout, depth + 1) != 0) {
			state[i] = 2;
			r->skip = RSKIP_BADMETA;
			return -1;
		}
	}
	state[i] = 2;
	out[(*nout)++] = i;
	return 0;
}

static void
apply_tflags(struct rule *r, const char *tf)
{
	char *copy = xstrdup(tf), *p = copy, *w;

	while ((w = word(&p)) != NULL) {
		if (strcmp(w, "multiple") == 0)
			r->flags |= RF_MULTIPLE;
		else if (strcmp(w, "nosubject") == 0)
			r->flags |= RF_NOSUBJECT;
		else if (strcmp(w, "nice") == 0)
			r->flags |= RF_NICE;
		else if (strncmp(w, "maxhits=", 8) == 0)
			r->maxhits = (unsigned)strtoul(w + 8, NULL, 10);
	}
	free(copy);
}

static int
intern_spec(struct rule_set *rs, const char *spec)
{
	size_t i;

	for (i = 0; i < rs->nspecs; i++)
		if (strcmp(rs->specs[i], spec) == 0)
			return (int)i;
	rs->specs = xreallocarray(rs->specs, rs->nspecs + 1, sizeof(char *));
	rs->specs[rs->nspecs] = xstrdup(spec);
	return (int)rs->nspecs++;
}

struct rule_set *
rule_builder_finish(struct rule_builder *b, struct rule_stats *stp,
    struct rule_error *err)
{
	struct rule_set *rs = xcalloc(1, sizeof(*rs));
	struct rule_stats *st = &b->stats;
	struct msg *empty;
	struct sbuf tmp = SBUF_INIT;
	pcre2_match_data *md = NULL;
	unsigned char *state;
	size_t i, k, n;
	long idx;
	int failed = 0;

	rs->tables = make_tables();
	/* attributes (score, describe, tflags may come before the rule) */
	for (i = 0; i < b->nrules; i++) {
		struct rule *r = &b->rules[i];
		long a = hfind(b->ahash, b->ahashcap, b->attrs, attr_name_at,
		    r->name);
		struct attr *at = a >= 0 ? &b->attrs[a] : NULL;

		if (at != NULL && at->tflags != NULL)
			apply_tflags(r, at->tflags);
		if (at != NULL && at->desc != NULL) {
			free(r->desc);
			r->desc = xstrdup(at->desc);
		}
		if (at != NULL && at->has_score)
			r->score = at->score;
		else {
			/* Conf/Parser.pm fix_tests() */
			r->score = strncmp(r->name, "T_", 2) == 0 ? 0.01 : 1.0;
			if (r->flags & RF_NICE)
				r->score = -r->score;
		}
		if (!(r->flags & RF_MULTIPLE))
			r->maxhits = 0;
	}
	/* replace_rules */
	for (i = 0; i < b->nreplace; i++) {
		idx = hfind(b->hash, b->hashcap, b->rules, rule_name_at,
		    b->replace[i]);
		if (idx >= 0 && b->rules[idx].src != NULL &&
		    b->rules[idx].stage != RULE_ST_META &&
		    b->rules[idx].skip == RSKIP_NONE)
			replace_tags(b, &b->rules[idx]);
	}
	/* patterns and header operands */
	empty = msg_parse("\n", 1, NULL);
	for (i = 0; i < b->nrules && !failed; i++) {
		struct rule *r = &b->rules[i];

		if (r->skip != RSKIP_NONE)
			continue;
		if (r->score == 0) {
			r->skip = RSKIP_ZERO;
			continue;
		}
		if (r->stage == RULE_ST_META)
			continue;
		if (r->ev != NULL) {
			/* EnvelopeFrom and the relay counts come from it */
			if (rs->relays == NULL)
				rs->relays = rule_relays_new();
			continue;
		}
		if (r->src != NULL && compile_rule(r, rs->tables, err,
		    st) != 0) {
			if (!(r->flags & RF_SA))
				failed = 1;
			r->skip = RSKIP_BADRE;
			continue;
		}
		/*
		 * SpamAssassin 4.0.1 matches a template with /$test_qr/o
		 * (Plugin/Check.pm): Perl compiles it once, with the values
		 * of the first message the process scans, and reuses that
		 * for every later message, so in spamd (or one `spamassassin
		 * --mbox` run) the rule practically never fires.  Agreeing
		 * with that means not running it (doc/rules.md).
		 */
		if ((r->flags & RF_TEMPLATE) && !b->templates) {
			r->skip = RSKIP_TEMPLATE;
			continue;
		}
		if ((r->stage == RULE_ST_BODY || r->stage == RULE_ST_RAWBODY ||
		    r->stage == RULE_ST_URI || r->stage == RULE_ST_FULL ||
		    r->stage == RULE_ST_HEADER) && rule_prefilter_compile(r))
			st->prefiltered++;
		if ((r->stage == RULE_ST_BODY || r->stage == RULE_ST_RAWBODY ||
		    r->stage == RULE_ST_URI || r->stage == RULE_ST_FULL) &&
		    rule_core_compile(r, rs->tables))
			st->cored++;
		if (r->stage == RULE_ST_HEADER) {
			r->spec = intern_spec(rs, r->hdr);
			if (msg_get(empty, r->hdr, &tmp) >= 0)
				continue;
			if ((strncasecmp(r->hdr, "X-Spam-Relays-", 14) == 0 ||
			    strncasecmp(r->hdr, "ALL-", 4) == 0) &&
			    strchr(r->hdr, ':') == NULL) {
				if (rs->relays == NULL)
					rs->relays = rule_relays_new();
				if (md == NULL)
					md = pcre2_match_data_create(16, NULL);
				if (rule_relays_get(rs->relays, empty, r->hdr,
				    md, NULL, &tmp) >= 0)
					continue;
			}
			r->skip = RSKIP_UNSUPP;
		}
	}
	msg_free(empty);
	sbuf_free(&tmp);
	if (md != NULL)
		pcre2_match_data_free(md);
	/* metas */
	for (i = 0; i < b->nrules && !failed; i++) {
		struct rule *r = &b->rules[i];

		if (r->stage != RULE_ST_META || r->skip != RSKIP_NONE)
			continue;
		if (compile_meta(b, r) != 0) {
			r->skip = RSKIP_BADMETA;
			if (!(r->flags & RF_SA)) {
				set_err(err, r->file, r->line, -1,
				    "%s: bad meta expression", r->name);
				failed = 1;
			}
		} else
			cheap_first(b->rules, r);
	}
	if (failed) {
		if (stp != NULL)
			*stp = *st;
		rule_set_unref(rs);
		rule_builder_free(b);
		return NULL;
	}
	/* move the rules over */
	rs->saconf = rule_saeval_conf_finish(b->saconf);
	b->saconf = NULL;
	rs->rules = b->rules;
	rs->nrules = b->nrules;
	rs->hash = b->hash;
	rs->hashcap = b->hashcap;
	rs->files = b->files;
	rs->nfiles = b->nfiles;
	b->rules = NULL;
	b->nrules = 0;
	b->hash = NULL;
	b->hashcap = 0;
	b->files = NULL;
	b->nfiles = 0;
	/* evaluation order */
	for (k = 0; k < RULE_ST_COUNT; k++)
		rs->order[k] = xreallocarray(NULL, rs->nrules + 1,
		    sizeof(long));
	state = xcalloc(rs->nrules + 1, 1);
	for (i = 0; i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];

		if (r->skip != RSKIP_NONE)
			continue;
		if (r->stage != RULE_ST_META)
			rs->order[r->stage][rs->norder[r->stage]++] = (long)i;
		else if (meta_visit(rs->rules, (long)i, state,
		    rs->order[RULE_ST_META], &rs->norder[RULE_ST_META], 0) != 0)
			r->skip = RSKIP_BADMETA;
	}
	free(state);
	for (k = 0; k < RULE_ST_META; k++) {
		rs->eager[k] = xreallocarray(NULL, rs->norder[k] + 1,
		    sizeof(long));
		for (i = 0; i < rs->norder[k]; i++) {
			idx = rs->order[k][i];
			if ((rs->rules[idx].flags & (RF_SUB | RF_NAMED |
			    RF_TEMPLATE)) != RF_SUB)
				rs->eager[k][rs->neager[k]++] = idx;
		}
	}
	/* a meta that sits in a cycle was never added; others may have been
	   added before a later member failed: drop those too */
	for (i = k = 0; i < rs->norder[RULE_ST_META]; i++) {
		idx = rs->order[RULE_ST_META][i];
		if (rs->rules[idx].skip == RSKIP_NONE)
			rs->order[RULE_ST_META][k++] = idx;
	}
	rs->norder[RULE_ST_META] = k;
	/*
	 * A meta over message rules must not run before the message is in:
	 * "A && !BODY_RULE" would otherwise hit at RCPT and refuse early.
	 * The order is topological, so dependencies are marked first.
	 */
	for (i = 0; i < rs->norder[RULE_ST_META]; i++) {
		struct rule *r = &rs->rules[rs->order[RULE_ST_META][i]];

		for (k = 0; k < r->ncode; k++) {
			const struct rule *d;

			if (r->code[k].op != MOP_RULE)
				continue;
			d = &rs->rules[r->code[k].rule];
			if (d->stage >= RULE_ST_HEADER && (d->stage !=
			    RULE_ST_META || (d->flags & RF_NEEDMSG)))
				r->flags |= RF_NEEDMSG;
			if (d->stage == RULE_ST_META && d->mdepth >= r->mdepth)
				r->mdepth = d->mdepth + 1;
		}
		if (r->mdepth > rs->meta_depth)
			rs->meta_depth = r->mdepth;
	}
	/*
	 * The metas' code in one block, in the order rule_eval() visits them:
	 * by then the body scan has evicted it, and one run of adjacent lines
	 * the prefetcher follows costs less than a malloc()ed piece per meta.
	 */
	for (i = n = 0; i < rs->norder[RULE_ST_META]; i++)
		n += rs->rules[rs->order[RULE_ST_META][i]].ncode;
	rs->metacode = xreallocarray(NULL, n + 1, sizeof(*rs->metacode));
	for (i = n = 0; i < rs->norder[RULE_ST_META]; i++) {
		struct rule *r = &rs->rules[rs->order[RULE_ST_META][i]];

		if (r->ncode > 0)
			memcpy(rs->metacode + n, r->code, r->ncode *
			    sizeof(*r->code));
		free(r->code);
		r->code = rs->metacode + n;
		n += r->ncode;
	}
	/* statistics */
	for (i = 0; i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];

		switch (r->skip) {
		case RSKIP_NONE:
			st->loaded[r->stage]++;
			st->evals += r->ev != NULL;
			break;
		case RSKIP_ZERO: st->zero[r->stage]++; break;
		case RSKIP_EVAL: st->eval[r->stage]++; break;
		case RSKIP_PLUGIN: st->plugin++; break;
		case RSKIP_UNSUPP: st->plugin++; break;
		case RSKIP_BADRE: st->badre[r->stage]++; break;
		case RSKIP_BADMETA: st->meta_bad++; break;
		case RSKIP_TEMPLATE: break;	/* counted in templates */
		}
	}
	rs->stats = *st;
	if (stp != NULL)
		*stp = *st;
	atomic_init(&rs->refs, 1);
	rule_builder_free(b);
	return rs;
}

/* ---------------------------------------------------------------------- */
/* the finished set */

struct rule_set *
rule_set_ref(struct rule_set *rs)
{
	atomic_fetch_add(&rs->refs, 1);
	return rs;
}

void
rule_set_unref(struct rule_set *rs)
{
	size_t i;

	if (rs == NULL || atomic_fetch_sub(&rs->refs, 1) > 1)
		return;
	/* their code is in rs->metacode */
	for (i = 0; i < rs->norder[RULE_ST_META]; i++)
		rs->rules[rs->order[RULE_ST_META][i]].code = NULL;
	free(rs->metacode);
	for (i = 0; i < rs->nrules; i++)
		rule_clear(&rs->rules[i]);
	rule_hs_free(atomic_load(&rs->hs));
	free(rs->rules);
	free(rs->hash);
	for (i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	for (i = 0; i < rs->nspecs; i++)
		free(rs->specs[i]);
	free(rs->specs);
	for (i = 0; i < RULE_ST_COUNT; i++) {
		free(rs->order[i]);
		free(rs->eager[i]);
	}
	pcre2_maketables_free(NULL, rs->tables);
	rule_relays_free(rs->relays);
	rule_saeval_conf_free(rs->saconf);
	free(rs);
}

const struct rule_stats *
rule_set_stats(const struct rule_set *rs)
{
	return &rs->stats;
}

size_t
rule_set_count(const struct rule_set *rs)
{
	return rs->nrules;
}

long
rule_set_find(const struct rule_set *rs, const char *name)
{
	return hfind(rs->hash, rs->hashcap, rs->rules, rule_name_at, name);
}

void
rule_set_info(const struct rule_set *rs, size_t idx, struct rule_info *out)
{
	const struct rule *r = &rs->rules[idx];

	out->name = r->name;
	out->desc = r->desc;
	out->file = r->file;
	out->line = r->line;
	out->stage = r->stage;
	out->score = r->score;
	static const char *const why[] = { "", "score 0", "eval", "plugin",
	    "bad pattern", "unsupported header", "bad meta",
	    "template (SA: frozen by /o)" };

	out->runs = r->skip == RSKIP_NONE;
	out->why = r->err != NULL ? r->err : why[r->skip];
	out->sub = (r->flags & RF_SUB) != 0;
	out->eval = r->ev != NULL ? rule_saeval_name(r->ev) : NULL;
}
