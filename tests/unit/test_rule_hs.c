/*
 * test_rule_hs.c: the Hyperscan prefilter (rules/rule_hs.c).  The
 * expressions it gives Hyperscan must match wherever the PCRE2 pattern can,
 * so they are checked one by one (Latin-1 widening, anchors, classes, what
 * is refused); then whole rule sets give the same hits with and without
 * it, it really skips rules, and its cache is read back, and rebuilt when
 * damaged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rule_int.h"
#include "msg.h"
#include "sbuf.h"

#ifdef HAVE_HYPERSCAN
#include <hs/hs.h>

static struct rule_set *
load_as(const char *name, const char *text)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;

	if (rule_builder_add_text(b, name, text, strlen(text),
	    RULE_FMT_AUTO, &err) != 0)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	return rs;
}

static struct rule_set *
load(const char *text)
{
	return load_as("t.cf", text);
}

/* The character tables of a rule set: PCRE2's, with Latin-1 /i. */
static const uint8_t *tables;

static void
expect(const char *src, const char *mods, const char *want)
{
	struct sbuf o = SBUF_INIT;
	uint32_t copts;
	unsigned flags;
	int rc;

	assert_int_equal(rule_mods_options(mods, &copts), 0);
	rc = rule_hs_expression(src, copts, tables, &o, &flags);
	if (want == NULL) {
		if (rc != -1)
			fail_msg("%s: expected no expression, got %.*s", src,
			    (int)o.len, o.p);
	} else {
		if (rc != 0)
			fail_msg("%s: expected %s, got none", src, want);
		if (o.len != strlen(want) || memcmp(o.p, want, o.len) != 0)
			fail_msg("%s: expected %s, got %.*s", src, want,
			    (int)o.len, o.p);
		assert_true(flags & HS_FLAG_PREFILTER);
		assert_true(flags & HS_FLAG_MULTILINE);
		assert_int_equal(!!(flags & HS_FLAG_CASELESS),
		    strchr(mods, 'i') != NULL);
		assert_int_equal(!!(flags & HS_FLAG_DOTALL),
		    strchr(mods, 's') != NULL);
	}
	sbuf_free(&o);
}

static void
test_expression(void **state)
{
	struct rule_set *rs = load("body X /x/\n");

	(void)state;
	tables = rs->tables;
	expect("abc", "", "abc");
	expect("a.c", "is", "a.c");
	/* Latin-1 letters get their other case, as rule_load.c's tables */
	expect("caf\xe9", "i", "caf[\\xe9\\xc9]");
	expect("\\xC0\\x{e9}", "", "[\\xc0\\xe0][\\xe9\\xc9]");
	expect("\\xd7\\xdf\\xff\\x41", "", "\\xd7\\xdf\\xff\\x41");
	expect("[\\xe0-\\xe2]", "i", "[\\xc0-\\xc2\\xe0-\\xe2]");
	/* 0xD7, 0xDF and 0xF7 are no letters: no partner */
	expect("[\\xd0-\\xe5]", "",
	    "[\\xc0-\\xc5\\xd0-\\xe5\\xf0-\\xf6\\xf8-\\xfe]");
	/* a negated class keeps its members: widening would shrink it */
	expect("[^\\xe9]", "i", "[^\\xe9]");
	expect("[a\\d-]", "", "[\\d\\x2d\\x61]");
	expect("[a-c]", "i", "[\\x61-\\x63]");
	expect("[]a]", "", "[\\x5d\\x61]");
	expect("[^]a]", "", "[^\\x5d\\x61]");
	expect("[[:alpha:]x]", "", "[[:alpha:]\\x78]");
	expect("[\\]\\\\]", "", "[\\x5c\\x5d]");
	expect("(?#[)a", "", "a");
	/* anchors: elements are joined by \n, scanned with ^ $ multiline */
	expect("\\Afoo\\z|\\Gx\\Z", "", "^foo$|^x$");
	expect("\\bfoo\\s+\\d{2,}\\.", "", "\\bfoo\\s+\\d{2,}\\.");
	/* not taken: Hyperscan reads them otherwise, or not at all */
	expect("\\Qa.b\\E", "", NULL);
	expect("a b", "x", NULL);
	expect("(?x) a # [ c", "", NULL);
	expect("(?i-x:a)", "", NULL);
	expect("(?i)a(?s:.)", "", "(?i)a(?s:.)");
	expect("\\x{100}", "", NULL);
	expect("\\p{L}", "", NULL);
	expect("a\\Kb", "", NULL);
	expect("\\N", "", NULL);
	expect("[z-a]", "", NULL);
	expect("[a-\\d]", "", NULL);
	expect("[abc", "", NULL);
	expect("[\\101]", "", NULL);
	expect("a\\", "", NULL);
	expect("(?#[", "", NULL);
	expect("[[:alpha:", "", NULL);
	expect("\\x{}", "", NULL);
	expect("a\\c", "", NULL);
	expect("\\C", "", NULL);
	rule_set_unref(rs);
}

static const char *hs_rules =
    "body     B_START  /^Hello/\n"
    "body     B_END    /world$/\n"
    "body     B_AZ     /\\Asecond\\s*\\z/\n"
    "body     B_MULTI  /o/\n"
    "tflags   B_MULTI  multiple\n"
    "body     B_LOOK   /(?<=foo)bar/\n"
    "body     B_NOLIT  /\\d{5}-\\d{5}/\n"
    "body     B_SPAN   /world.Hello/s\n"
    "full     F_LATIN  /caf\\xe9/i\n"
    "full     F_NEGCL  /[^\\xe9]X/i\n"
    "rawbody  R_BOLD   /<b>bold/i\n"
    "uri      U_HOST   /example\\.com/\n"
    "header   H_SUBJ   Subject =~ /test/\n"
    "meta     M_BOTH   B_START && F_LATIN\n";

static const char *hs_msgs[] = {
	"Subject: test\n\nHello world\n\nsecond\n\nfoobar 12345-67890\n",
	"Subject: x\nContent-Type: text/html\n\n<p>Hello</p><p>the world"
	"</p><b>BOLD</b> <a href=\"http://example.com/\">x</a>\n",
	"Subject: y\n\nHello CAF\xc9 \xc9X\n",
	"Subject: z\n\nnothing to see\n",
	"",
};

/* The native format's negated and per-hit rules. */
static const char *hs_native =
    "body NEG_ABSENT !~ /absent/ score 1\n"
    "body NEG_HELLO !~ /Hello/ score 1\n"
    "body PER_HIT /o/ score 1 per-hit max 3\n"
    "rawbody RAW_NEG !~ /<b>/i score 1\n";

/* The hits of rs on raw, as "NAME:count " in rule order. */
static void
hits_of(const struct rule_set *rs, struct rule_scratch *sc, const char *raw,
    struct sbuf *out)
{
	struct msg *m = msg_parse(raw, strlen(raw), NULL);
	const struct rule_hit *h;
	size_t n, i;

	h = rule_eval(rs, sc, NULL, m, &n);
	sbuf_reset(out);
	for (i = 0; i < n; i++)
		sbuf_printf(out, "%s:%u ", h[i].name, h[i].count);
	sbuf_addc(out, '\0');
	msg_free(m);
}

/* Hits with and without Hyperscan (already attached to rs) on msgs. */
static void
same_hits_attached(struct rule_set *rs, struct rule_scratch *sc,
    const char *const *msgs, size_t nmsgs)
{
	struct sbuf with = SBUF_INIT, without = SBUF_INIT;
	size_t i;

	for (i = 0; i < nmsgs; i++) {
		rule_scratch_hs(sc, 0);
		hits_of(rs, sc, msgs[i], &without);
		rule_scratch_hs(sc, 1);
		hits_of(rs, sc, msgs[i], &with);
		if (strcmp(with.p, without.p) != 0)
			fail_msg("message %zu: with Hyperscan \"%s\", without "
			    "\"%s\"", i, with.p, without.p);
	}
	sbuf_free(&with);
	sbuf_free(&without);
}

/* Every message gives the same hits with and without Hyperscan. */
static void
same_hits_on(struct rule_set *rs, struct rule_scratch *sc, unsigned patterns,
    const char *const *msgs, size_t nmsgs)
{
	struct rule_hs_info hi;
	struct rule_hs *h;
	char err[256];

	h = rule_hs_build(rs, NULL, 0, &hi, err, sizeof(err));
	if (h == NULL)
		fail_msg("rule_hs_build: %s", err);
	assert_int_equal(hi.patterns, patterns);
	assert_int_equal(hi.refused + hi.skipped, 0);
	assert_int_equal(hi.cached, 0);
	assert_null(rule_set_hs_info(rs));
	assert_int_equal(rule_set_hs_attach(rs, h), 0);
	assert_int_equal(rule_set_hs_info(rs)->patterns, patterns);
	/* a second one is refused (and freed) */
	assert_int_equal(rule_set_hs_attach(rs,
	    rule_hs_build(rs, NULL, 0, NULL, err, sizeof(err))), -1);
	same_hits_attached(rs, sc, msgs, nmsgs);
}

static void
same_hits(struct rule_set *rs, struct rule_scratch *sc, unsigned patterns)
{
	same_hits_on(rs, sc, patterns, hs_msgs, sizeof(hs_msgs) /
	    sizeof(hs_msgs[0]));
}

static void
test_same_hits(void **state)
{
	struct rule_set *rs = load(hs_rules), *nat;
	struct rule_scratch *sc = rule_scratch_new();
	struct sbuf with = SBUF_INIT;
	struct rule_prof pr;
	long nolit;

	(void)state;
	assert_true(rule_hs_available());
	rule_scratch_profile(sc, 1);
	same_hits(rs, sc, 11);
	/* the hits are the expected ones, not merely equal */
	hits_of(rs, sc, hs_msgs[0], &with);
	assert_string_equal(with.p, "B_START:1 B_END:1 B_AZ:1 B_MULTI:5 "
	    "B_LOOK:1 B_NOLIT:1 H_SUBJ:1 ");
	hits_of(rs, sc, hs_msgs[1], &with);
	assert_string_equal(with.p, "B_START:1 B_END:1 B_MULTI:2 F_NEGCL:1 "
	    "R_BOLD:1 U_HOST:1 ");
	hits_of(rs, sc, hs_msgs[2], &with);
	assert_string_equal(with.p, "B_START:1 B_MULTI:1 F_LATIN:1 "
	    "M_BOTH:1 ");
	/* a pattern without literals was skipped: only Hyperscan does that */
	nolit = rule_set_find(rs, "B_NOLIT");
	assert_int_equal(rule_scratch_profile_get(sc, (size_t)nolit, &pr), 0);
	assert_true(pr.skipped >= 4);
	nat = load_as("t.rules", hs_native);
	same_hits(nat, sc, 4);
	hits_of(nat, sc, hs_msgs[0], &with);
	assert_string_equal(with.p, "NEG_ABSENT:1 PER_HIT:3 RAW_NEG:1 ");
	sbuf_free(&with);
	rule_scratch_free(sc);
	rule_set_unref(rs);
	rule_set_unref(nat);
}

/*
 * A homoglyph expansion longer than Hyperscan takes (as the stock
 * __PAY_ME): Hyperscan gets a superset (rule_hs.c hs_superset) and the hits
 * stay those of PCRE2 alone.
 */
static void
test_superset(void **state)
{
	static const char *const words[] = { "pay", "me", "now", "send",
	    "money", "today", "wallet", "address", "bitcoin", "transfer" };
	static const char *const msgs[] = {
	    "Subject: s\n\nplease pay me now\n",
	    "Subject: s\n\nplease p\xc3\x80y me now\n",
	    "Subject: s\n\nplease p&#100;y me now\n",
	    "Subject: s\n\nplease p\xd0\xa0y me later\n",
	    "Subject: s\n\nnothing to see here\n",
	};
	struct sbuf pat = SBUF_INIT, with = SBUF_INIT;
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	size_t w, rep;
	const char *c;

	(void)state;
	sbuf_adds(&pat, "body LOOKALIKE /(?:^|\\s)(?:");
	for (rep = 0; pat.len < 24000; rep++)
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			sbuf_adds(&pat, rep + w > 0 ? "|" : "");
			for (c = words[w]; *c != '\0'; c++)
				sbuf_printf(&pat, "(?:[%c%c]|[\\xc3][\\x80-"
				    "\\x85]|[\\xd0][\\xa0\\xb0]|[\\xe1][\\xba]"
				    "[\\xa0-\\xa3]|[\\xf0][\\x9d](?:[\\x90]"
				    "[\\x80\\x9a]|[\\x91][\\x8e])|&\\#(?:1(?:0["
				    "0-9])|2[0-4][0-9]);)", *c, *c - 32);
			sbuf_printf(&pat, "\\s(?:m|M)(?:e|E)\\s(?:now|later|"
			    "x%zu)", rep);
		}
	sbuf_adds(&pat, ")/\n");
	rs = load(pat.p);
	same_hits_on(rs, sc, 1, msgs, sizeof(msgs) / sizeof(msgs[0]));
	hits_of(rs, sc, msgs[0], &with);
	assert_string_equal(with.p, "LOOKALIKE:1 ");
	hits_of(rs, sc, msgs[1], &with);
	assert_string_equal(with.p, "LOOKALIKE:1 ");
	hits_of(rs, sc, msgs[2], &with);
	assert_string_equal(with.p, "LOOKALIKE:1 ");
	hits_of(rs, sc, msgs[4], &with);
	assert_string_equal(with.p, "");
	sbuf_free(&pat);
	sbuf_free(&with);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * A class that opens with "]" ("[]x]", "[^]x]") holds that "]" as a
 * member: the superset of a long pattern must not take it for the class's
 * end, or a ")" or "|" inside the class ends a group early and the
 * "superset" loses what the class matches (missed hits).
 */
static void
test_superset_bracket(void **state)
{
	static const char *const msgs[] = {
	    "Subject: s\n\nsay \xc3\xa9)b now\n",
	    "Subject: s\n\nsay \xc3\xa9]b now\n",
	    "Subject: s\n\nsay \xc3\xa9|z now\n",
	    "Subject: s\n\nsay \xc3\x80" "b now\n",
	    "Subject: s\n\nsay \xc3\x81 now\n",
	    "Subject: s\n\nsay ab now\n",
	    "Subject: s\n\nnothing here\n",
	    "Subject: s\n\nsay \xc3\xa9]z now\n",
	};
	/* the message each form must hit */
	static const size_t hit[] = { 7, 4, 0 };
	static const char *const forms[] = {
	    "(?:(?:a|\\xc3\\xa9[]|\\x80[\\x81])z|",
	    "(?:(?:x[^]|\\xc3[\\x80]|\\xc3\\x81)|",
	    "(?:(?:a|\\xc3\\xa9[]\\x80)]b)|",
	};
	struct sbuf pad = SBUF_INIT, pat = SBUF_INIT, with = SBUF_INIT;
	struct rule_set *rs;
	struct rule_scratch *sc;
	size_t f;

	(void)state;
	/* over rule_hs.c's HS_LONG_EXPR, so the superset is what is built */
	while (pad.len < 9000)
		sbuf_printf(&pad, "%swq%zuzz", pad.len > 0 ? "|" : "",
		    pad.len);
	sbuf_addc(&pad, '\0');
	for (f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		sbuf_reset(&pat);
		sbuf_adds(&pat, "body BRACKET /");
		sbuf_adds(&pat, forms[f]);
		sbuf_adds(&pat, pad.p);
		sbuf_adds(&pat, ")/\n");
		sc = rule_scratch_new();
		rs = load(pat.p);
		same_hits_on(rs, sc, 1, msgs, sizeof(msgs) / sizeof(msgs[0]));
		/* and PCRE2 does hit: the messages test the classes */
		hits_of(rs, sc, msgs[hit[f]], &with);
		assert_string_equal(with.p, "BRACKET:1 ");
		rule_scratch_free(sc);
		rule_set_unref(rs);
	}
	sbuf_free(&pad);
	sbuf_free(&pat);
	sbuf_free(&with);
}

/*
 * An expression longer than Hyperscan takes (16,000 bytes) goes to it in
 * pieces under the rule's one id, its longest splittable group cut in
 * halves (rule_hs.c hs_exprs()); the hits stay PCRE2's, including matches
 * that only the first or only the last piece holds.  A group inside a
 * repeat is never split: a pattern that has nothing else to split is
 * left to PCRE2.
 */
/* "w00000q|w00001q|..." n of them: distinct words, 8 bytes each */
static void
words(struct sbuf *pat, size_t n)
{
	size_t w;

	for (w = 0; w < n; w++)
		sbuf_printf(pat, "%sw%05zuq", w > 0 ? "|" : "", w);
}

static void
test_split(void **state)
{
	static const char *const msgs[] = {
	    "Subject: s\n\nsay xabxcdw00000q now\n",
	    "Subject: s\n\nsay xcdxcdw02499q now\n",
	    "Subject: s\n\nsay xcdxabw01000q\n",
	    "Subject: s\n\nsay xabw00000q now\n",
	    "Subject: s\n\nsay xabxcdw02500q now\n",
	    "Subject: s\n\nsay xabxcdw00000qq now\n",
	};
	struct sbuf pat = SBUF_INIT, with = SBUF_INIT;
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	struct rule_hs_info hi;
	struct rule_hs *h;
	char err[256];

	(void)state;
	sbuf_adds(&pat, "body SPLIT /(?:^|\\s)(?:x(?:ab|cd)){2}(?:");
	words(&pat, 2500);
	sbuf_adds(&pat, ")\\b/\n");
	assert_true(pat.len > 20000);
	rs = load(pat.p);
	same_hits_on(rs, sc, 1, msgs, sizeof(msgs) / sizeof(msgs[0]));
	hits_of(rs, sc, msgs[0], &with);
	assert_string_equal(with.p, "SPLIT:1 ");
	hits_of(rs, sc, msgs[1], &with);
	assert_string_equal(with.p, "SPLIT:1 ");
	hits_of(rs, sc, msgs[2], &with);
	assert_string_equal(with.p, "SPLIT:1 ");
	hits_of(rs, sc, msgs[3], &with);
	assert_string_equal(with.p, "");
	hits_of(rs, sc, msgs[4], &with);
	assert_string_equal(with.p, "");
	rule_set_unref(rs);

	/*
	 * A "__" sub-rule gets no pieces: it runs only when a meta asks, and
	 * the pieces would be scanned on every message.  Left to PCRE2.
	 */
	sbuf_reset(&pat);
	sbuf_adds(&pat, "body __SUBSPLIT /(?:^|\\s)(?:x(?:ab|cd)){2}(?:");
	words(&pat, 2500);
	sbuf_adds(&pat, ")\\b/\nmeta M_SUB __SUBSPLIT\n");
	rs = load(pat.p);
	h = rule_hs_build(rs, NULL, 0, &hi, err, sizeof(err));
	assert_null(h);
	assert_int_equal(hi.skipped, 1);
	hits_of(rs, sc, msgs[1], &with);
	assert_string_equal(with.p, "__SUBSPLIT:1 M_SUB:1 ");
	rule_set_unref(rs);

	/* the long alternation repeated: no piece may drop a round's choice */
	sbuf_reset(&pat);
	sbuf_adds(&pat, "body REPEAT /(?:");
	words(&pat, 2500);
	sbuf_adds(&pat, "){2}/\n");
	rs = load(pat.p);
	h = rule_hs_build(rs, NULL, 0, &hi, err, sizeof(err));
	assert_null(h);
	assert_int_equal(hi.patterns, 0);
	assert_int_equal(hi.skipped, 1);
	rule_set_unref(rs);
	rule_scratch_free(sc);
	sbuf_free(&pat);
	sbuf_free(&with);
}

/* The reversal the start finders scan with: widened, never narrowed. */
static void
rev_expect(const char *e, const char *want)
{
	struct sbuf o = SBUF_INIT;
	int rc = rule_hs_reverse(e, &o);

	if (want == NULL)
		assert_int_equal(rc, -1);
	else {
		if (rc != 0)
			fail_msg("\"%s\" not reversed", e);
		assert_string_equal(o.p, want);
	}
	sbuf_free(&o);
}

static void
test_reverse(void **state)
{
	(void)state;
	rev_expect("abc", "cba");
	rev_expect("a(?:bc|de)f", "f(?:cb|ed)a");
	rev_expect("(ab)+c", "c(?:ba)+");
	rev_expect("^ab$", "^ba$");
	rev_expect("a{2,5}b{3}c{1,}?d++", "d+c{1,}b{3}a{2,}");
	rev_expect("x(?=y)z(?<!w)+", "zx");
	rev_expect("[a-c\\]]d[^-x]", "[^-x]d[a-c\\]]");
	rev_expect("[[:alpha:]]\\x41\\x{42}\\.", "\\.\\x{42}\\x41[[:alpha:]]");
	rev_expect("(?i:ab)c", "c(?i:ba)");
	rev_expect("(?<n>ab)(?>cd)", "(?:dc)(?:ba)");
	rev_expect("\\bab\\s|x.", "\\sba\\b|.x");
	rev_expect("(?i)ab", NULL);	/* reaches to the end: not turned */
	rev_expect("(a)\\1", NULL);
	rev_expect("a{,3}", NULL);
	rev_expect("a(?:b", NULL);
	rev_expect("*a", NULL);
}

/*
 * Rules PCRE2 cannot start cheaply get start finders; their hits stay
 * exactly those of a run without Hyperscan, per hit and across elements,
 * and the starts are the right offsets.
 */
static const char *sf_rules =
    "body     S_FORM   /(?:\\W?(?:your\\s)?(?:name|city|phone)[:,]?\\s){3}/i\n"
    "body     S_MULTI  /\\W(?:ab|cd)+x/\n"
    "tflags   S_MULTI  multiple\n"
    "body     S_SUBJ   /\\W?(?:urgent|notice)\\s+\\w{3,}/i\n"
    "body     S_NOSUB  /\\W?(?:urgent|notice)\\s+\\w{3,}/i\n"
    "tflags   S_NOSUB  nosubject\n"
    "rawbody  S_RAW    /\\W?(?:<td>|<th>)\\s*price\\b/i\n"
    "uri      S_URI    /\\W?(?:bit\\.ly|tinyurl\\.com)\\/\\w+/i\n"
    "full     S_FULL   /\\W?(?:X-Mailer|User-Agent):\\s*\\w{4}/i\n"
    "body     S_LIT    /Hello/\n";

static const char *sf_msgs[] = {
	"Subject: urgent notice today\n\nName: City, Phone:\nxx abx cdx "
	"ababx,abxcdx\n",
	"Subject: hi\nX-Mailer: Thing 1\n\nYour name, your city, phone "
	"and notice   board\n",
	"Subject: hi\nContent-Type: text/html\n\n<table><tr><td> Price</td>"
	"<a href=\"http://bit.ly/abc\">x</a> name: city\n",
	"Subject: x\n\nabx\nname city\n",
	"",
};

static void
test_start_finders(void **state)
{
	struct rule_set *rs = load(sf_rules);
	struct rule_scratch *sc = rule_scratch_new();
	struct rule_hs_scratch *hss;
	struct sbuf with = SBUF_INIT;
	const struct msg_str *v;
	const pcre2_code *re;
	const uint32_t *pos;
	struct rule_hs *h;
	struct msg *m;
	unsigned char mark[16];
	char err[256];
	size_t n, npos;

	(void)state;
	rule_scratch_profile(sc, 1);
	same_hits_on(rs, sc, 8, sf_msgs, sizeof(sf_msgs) / sizeof(sf_msgs[0]));
	assert_int_equal(rule_set_hs_info(rs)->starts, 7);
	hits_of(rs, sc, sf_msgs[0], &with);
	assert_string_equal(with.p, "S_FORM:1 S_MULTI:4 S_SUBJ:1 ");
	hits_of(rs, sc, sf_msgs[1], &with);
	assert_string_equal(with.p, "S_FORM:1 S_SUBJ:1 S_NOSUB:1 S_FULL:1 ");
	hits_of(rs, sc, sf_msgs[2], &with);
	assert_string_equal(with.p, "S_RAW:1 S_URI:1 ");
	hits_of(rs, sc, sf_msgs[3], &with);
	assert_string_equal(with.p, "");

	/* the starts themselves: " abx", " cdx", " ababx", ",abx" */
	h = rule_hs_build(rs, NULL, 0, NULL, err, sizeof(err));
	assert_non_null(h);
	hss = rule_hs_scratch_new();
	m = msg_parse(sf_msgs[0], strlen(sf_msgs[0]), NULL);
	v = msg_body(m, &n);
	memset(mark, 0, sizeof(mark));
	assert_int_equal(rule_hs_scan(h, hss, RULE_ST_BODY, v, n, mark), 0);
	assert_int_equal(rule_hs_starts(h, hss, (size_t)rule_set_find(rs,
	    "S_MULTI"), v, n, &pos, &npos, &re), 1);
	assert_non_null(re);
	assert_int_equal(npos, 4);
	{
		/* offsets in the body's elements joined as scanned */
		struct sbuf t = SBUF_INIT;
		size_t want[4], k;

		for (k = 0; k < n; k++) {
			sbuf_add(&t, v[k].p, v[k].len);
			sbuf_addc(&t, '\n');
		}
		sbuf_addc(&t, '\0');
		want[0] = (size_t)(strstr(t.p, " abx") - t.p);
		want[1] = (size_t)(strstr(t.p, " cdx") - t.p);
		want[2] = (size_t)(strstr(t.p, " ababx") - t.p);
		want[3] = (size_t)(strstr(t.p, ",abx") - t.p);
		for (k = 0; k < 4; k++)
			assert_int_equal(pos[k], want[k]);
		sbuf_free(&t);
	}
	/* a rule without a finder says so */
	assert_int_equal(rule_hs_starts(h, hss, (size_t)rule_set_find(rs,
	    "S_LIT"), v, n, &pos, &npos, &re), -1);
	msg_free(m);
	rule_hs_scratch_free(hss);
	rule_hs_free(h);
	sbuf_free(&with);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

static char *
only_file(const char *dir)
{
	struct dirent *e;
	char *found = NULL;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		assert_null(found);
		assert_int_equal(asprintf(&found, "%s/%s", dir, e->d_name) > 0,
		    1);
	}
	closedir(d);
	return found;
}

static void
empty_dir(const char *dir)
{
	struct dirent *e;
	char path[512];
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			assert_int_equal(unlink(path), 0);
		}
	closedir(d);
}

/*
 * A rule with more starts than a finder keeps runs everywhere (and the
 * starts array is not overrun: the sanitizer build sees to that), and the
 * finders are read back from the cache.
 */
static void
test_start_finder_bounds(void **state)
{
	char dir[] = "/tmp/moat-hs-test.XXXXXX", err[512], *file;
	struct rule_set *rs = load(sf_rules), *again;
	struct rule_scratch *sc = rule_scratch_new();
	struct rule_hs_scratch *hss = rule_hs_scratch_new();
	struct sbuf big = SBUF_INIT, with = SBUF_INIT;
	const char *msgs[2];
	const struct msg_str *v;
	const pcre2_code *re;
	const uint32_t *pos;
	struct rule_hs_info hi;
	struct rule_hs *h;
	struct msg *m;
	unsigned char mark[16];
	size_t n, npos, i;

	(void)state;
	sbuf_adds(&big, "Subject: many\n\n");
	for (i = 0; i < 5000; i++)
		sbuf_adds(&big, " abx");
	sbuf_adds(&big, "\n");
	sbuf_addc(&big, '\0');
	assert_non_null(mkdtemp(dir));
	h = rule_hs_build(rs, dir, 0, &hi, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(hi.cached, 0);
	assert_int_equal(hi.starts, 7);
	m = msg_parse(big.p, strlen(big.p), NULL);
	v = msg_body(m, &n);
	memset(mark, 0, sizeof(mark));
	assert_int_equal(rule_hs_scan(h, hss, RULE_ST_BODY, v, n, mark), 0);
	assert_int_equal(rule_hs_starts(h, hss, (size_t)rule_set_find(rs,
	    "S_MULTI"), v, n, &pos, &npos, &re), 0);
	msg_free(m);
	assert_int_equal(rule_set_hs_attach(rs, h), 0);
	msgs[0] = big.p;
	msgs[1] = sf_msgs[0];
	same_hits_attached(rs, sc, msgs, 2);
	/* every hit counted, past the cap (the body view wraps long lines) */
	hits_of(rs, sc, big.p, &with);
	assert_int_equal(sscanf(with.p, "S_MULTI:%zu", &i), 1);
	assert_true(i > 4096);

	/* the same rules again: finders and all from the cache */
	again = load(sf_rules);
	h = rule_hs_build(again, dir, RULE_HS_CACHED_ONLY, &hi, err,
	    sizeof(err));
	if (h == NULL)
		fail_msg("from the cache: %s", err);
	assert_int_equal(hi.cached, 1);
	assert_int_equal(hi.starts, 7);
	assert_int_equal(rule_set_hs_attach(again, h), 0);
	same_hits_attached(again, sc, sf_msgs, sizeof(sf_msgs) /
	    sizeof(sf_msgs[0]));
	hits_of(again, sc, sf_msgs[0], &with);
	assert_string_equal(with.p, "S_FORM:1 S_MULTI:4 S_SUBJ:1 ");

	file = only_file(dir);
	assert_int_equal(unlink(file), 0);
	free(file);
	assert_int_equal(rmdir(dir), 0);
	sbuf_free(&big);
	sbuf_free(&with);
	rule_hs_scratch_free(hss);
	rule_scratch_free(sc);
	rule_set_unref(rs);
	rule_set_unref(again);
}

static void
test_cache(void **state)
{
	char dir[] = "/tmp/moat-hs-test.XXXXXX", err[512], *file;
	struct rule_set *rs = load(hs_rules), *moved, *same;
	struct rule_scratch *sc = rule_scratch_new();
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct rule_hs_info hi;
	struct rule_hs *h;
	FILE *fp;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* nothing cached yet */
	assert_null(rule_hs_build(rs, dir, RULE_HS_CACHED_ONLY, &hi, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not built yet"));
	h = rule_hs_build(rs, dir, 0, &hi, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(hi.cached, 0);
	assert_int_equal(hi.cache_failed, 0);
	rule_hs_free(h);
	file = only_file(dir);
	h = rule_hs_build(rs, dir, RULE_HS_CACHED_ONLY, &hi, err,
	    sizeof(err));
	assert_non_null(h);
	assert_int_equal(hi.cached, 1);
	assert_int_equal(hi.patterns, 11);
	assert_int_equal(rule_set_hs_attach(rs, h), 0);
	hits_of(rs, sc, hs_msgs[0], &a);
	rule_scratch_hs(sc, 0);
	hits_of(rs, sc, hs_msgs[0], &b);
	assert_string_equal(a.p, b.p);
	/* a damaged file is a miss, compiled again and rewritten */
	assert_int_equal(truncate(file, 40), 0);
	assert_null(rule_hs_build(rs, dir, RULE_HS_CACHED_ONLY, &hi, err,
	    sizeof(err)));
	h = rule_hs_build(rs, dir, 0, &hi, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(hi.cached, 0);
	rule_hs_free(h);
	/*
	 * The first covered rule (offset 22: magic, refused count, stage,
	 * count), B_START, said to be B_END, also a body rule: well formed,
	 * but B_START would be skipped on every message.  The checksum
	 * catches it.
	 */
	assert_non_null(fp = fopen(file, "r+"));
	assert_int_equal(fseek(fp, 22, SEEK_SET), 0);
	assert_int_equal(fputc((int)rule_set_find(rs, "B_END"), fp) >= 0, 1);
	fclose(fp);
	assert_null(rule_hs_build(rs, dir, RULE_HS_CACHED_ONLY, &hi, err,
	    sizeof(err)));
	/* the same rule in another stage is another database */
	moved = load("rawbody B_START /^Hello/\n");
	same = load("body B_START /^Hello/\n");
	for (i = 0; i < 2; i++) {
		h = rule_hs_build(i ? moved : same, dir, 0, &hi, err,
		    sizeof(err));
		assert_non_null(h);
		assert_int_equal(hi.cached, 0);
		rule_hs_free(h);
	}
	rule_set_unref(moved);
	rule_set_unref(same);
	/* an unwritable cache costs the next load only */
	h = rule_hs_build(rs, "/nonexistent/moat", 0, &hi, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(hi.cache_failed, 1);
	assert_non_null(strstr(err, "/nonexistent/moat"));
	rule_hs_free(h);
	free(file);
	empty_dir(dir);
	assert_int_equal(rmdir(dir), 0);
	sbuf_free(&a);
	sbuf_free(&b);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * The checksum of a cache file, computed here as the format says
 * (rule_hs.c, key_add()): FNV-1a twice, the second folded.
 */
static void
cache_sum(const unsigned char *p, size_t len, uint64_t k[2])
{
	size_t i;

	k[0] = 0xcbf29ce484222325ULL;
	k[1] = 0x84222325cbf29ce4ULL;
	for (i = 0; i < len; i++) {
		k[0] = (k[0] ^ p[i]) * 0x100000001b3ULL;
		k[1] = (k[1] ^ p[i]) * 0x100000001b3ULL;
		k[1] ^= k[1] >> 29;
	}
}

/* Write body (its checksum appended) to path. */
static void
cache_put(const char *path, const struct sbuf *body)
{
	uint64_t k[2];
	FILE *fp;

	cache_sum((const unsigned char *)body->p, body->len, k);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(body->p, 1, body->len, fp), body->len);
	assert_int_equal(fwrite(k, 1, sizeof(k), fp), sizeof(k));
	assert_int_equal(fclose(fp), 0);
}

static void
put_u32(struct sbuf *o, uint32_t v)
{
	sbuf_add(o, (const char *)&v, sizeof(v));
}

/*
 * Cache files whose checksum is right but whose records are not (another
 * moat's file under this name, or a bug): each is a miss, never a wrong
 * list of covered rules nor a write past the rule set's arrays.
 */
static void
test_cache_records(void **state)
{
	char dir[] = "/tmp/moat-hs-test.XXXXXX", err[512], *file;
	struct rule_set *rs = load("body A /abc/\n");
	struct sbuf raw = SBUF_INIT, f = SBUF_INIT;
	struct rule_hs_info hi;
	struct rule_hs *h;
	const char *db;
	uint32_t len;
	size_t head, i;
	FILE *fp;
	char buf[65536];
	/* magic, refused count; then stage, count, ids, length, database */
	struct {
		const char	*what;
		uint32_t	 st, nc, id;
		int		 after;	/* 1: after the record as written, 2:
					   and after a finder for its rule */
	} bad[] = {
		{ "the record as written", 5, 1, 0, 0 },
		{ "a rule past the set", 5, 1, 1, 0 },
		{ "a stage Hyperscan does not serve", 4, 1, 0, 0 },
		{ "a stage past the last", 99, 1, 0, 0 },
		{ "a finder for a rule no database covers", 5 | 0x100, 1, 0,
		    0 },
		{ "a finder said to be for two rules", 5 | 0x100, 2, 0, 1 },
		{ "a finder for a rule of another stage", 8 | 0x100, 1, 0, 1 },
		{ "a stage's database twice", 5, 0, 0, 1 },
		{ "a rule's finder twice", 5 | 0x100, 1, 0, 2 },
	};

	(void)state;
	assert_non_null(mkdtemp(dir));
	h = rule_hs_build(rs, dir, 0, &hi, err, sizeof(err));
	assert_non_null(h);
	rule_hs_free(h);
	file = only_file(dir);
	assert_non_null(fp = fopen(file, "rb"));
	while ((i = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&raw, buf, i);
	fclose(fp);
	/* "moat-hs N\n", refused, stage 5, count 1, rule 0, length */
	head = strlen("moat-hs 4\n");
	assert_memory_equal(raw.p, "moat-hs 4\n", head);
	memcpy(&len, raw.p + head + 16, sizeof(len));
	assert_int_equal(head + 20 + len + 16, raw.len);
	db = raw.p + head + 20;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sbuf_reset(&f);
		sbuf_add(&f, raw.p, head + 4);
		if (bad[i].after)
			sbuf_add(&f, raw.p + head + 4, 16 + len);
		if (bad[i].after == 2) {
			put_u32(&f, 5 | 0x100);
			put_u32(&f, 1);
			put_u32(&f, 0);
			put_u32(&f, len);
			sbuf_add(&f, db, len);
		}
		put_u32(&f, bad[i].st);
		put_u32(&f, bad[i].nc);
		if (bad[i].nc > 0)	/* one id, whatever the count says */
			put_u32(&f, bad[i].id);
		put_u32(&f, len);
		sbuf_add(&f, db, len);
		cache_put(file, &f);
		h = rule_hs_build(rs, dir, RULE_HS_CACHED_ONLY, &hi, err,
		    sizeof(err));
		if (i == 0) {
			/* the control: this test writes the format right */
			if (h == NULL)
				fail_msg("%s: not read back", bad[i].what);
			assert_int_equal(hi.cached, 1);
			assert_int_equal(hi.patterns, 1);
			rule_hs_free(h);
		} else if (h != NULL)
			fail_msg("%s: taken", bad[i].what);
	}
	assert_int_equal(unlink(file), 0);
	free(file);
	assert_int_equal(rmdir(dir), 0);
	sbuf_free(&raw);
	sbuf_free(&f);
	rule_set_unref(rs);
}

/*
 * A scratch that served one database and then, in the same thread, one
 * built later at the same address (moatd: a worker's scratch across a
 * reload, once the old rule set is freed) must be made fit for the new
 * one: a scratch too small for a database makes every scan fail, and the
 * rules would lose Hyperscan for as long as the worker lives.  glibc's
 * malloc gives the last freed block of a size back first, and
 * rule_hs_build() allocates its rule_hs before anything else, so the
 * address comes back at once; under AddressSanitizer, which holds freed
 * memory back, it does not, and the test is skipped.
 */
static void
test_scratch_new_database(void **state)
{
	const char *text = "name city phone notice board";
	struct msg_str v = { text, strlen(text) };
	struct rule_set *small = load("body A /abc/\n"), *big = load(hs_rules);
	struct rule_hs_scratch *hss = rule_hs_scratch_new();
	struct rule_hs *h;
	unsigned char mark[64];
	uintptr_t was;
	char err[256];
	int again;

	(void)state;
	h = rule_hs_build(small, NULL, 0, NULL, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(rule_hs_scan(h, hss, RULE_ST_BODY, &v, 1, mark), 0);
	was = (uintptr_t)h;
	rule_hs_free(h);
	h = rule_hs_build(big, NULL, 0, NULL, err, sizeof(err));
	assert_non_null(h);
	if ((again = (uintptr_t)h == was)) {
		memset(mark, 0, sizeof(mark));
		assert_int_equal(rule_hs_scan(h, hss, RULE_ST_BODY, &v, 1,
		    mark), 0);
		assert_int_equal(rule_hs_scan(h, hss, RULE_ST_FULL, &v, 1,
		    mark), 0);
	}
	rule_hs_free(h);
	rule_hs_scratch_free(hss);
	rule_set_unref(small);
	rule_set_unref(big);
	if (!again)
		skip();	/* the address did not come back */
}

static void
test_nothing_to_build(void **state)
{
	struct rule_set *rs = load("header H Subject =~ /x/\n");
	char err[256];

	(void)state;
	assert_null(rule_hs_build(rs, NULL, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no pattern"));
	assert_null(rule_set_hs_info(rs));
	rule_set_unref(rs);
}
#else
static void
test_without(void **state)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error e;
	struct rule_set *rs;
	char err[256];

	(void)state;
	assert_int_equal(rule_hs_available(), 0);
	rs = rule_builder_finish(b, NULL, &e);
	assert_non_null(rs);
	assert_null(rule_hs_build(rs, NULL, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "without Hyperscan"));
	rule_set_unref(rs);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef HAVE_HYPERSCAN
		cmocka_unit_test(test_expression),
		cmocka_unit_test(test_same_hits),
		cmocka_unit_test(test_superset),
		cmocka_unit_test(test_superset_bracket),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_start_finders),
		cmocka_unit_test(test_start_finder_bounds),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_records),
		cmocka_unit_test(test_scratch_new_database),
		cmocka_unit_test(test_nothing_to_build),
#else
		cmocka_unit_test(test_without),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
