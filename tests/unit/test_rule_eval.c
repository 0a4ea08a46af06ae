/*
 * test_rule_eval.c: evaluation of a rule set against a message and the
 * session facts: per stage, counts, metas with Perl's values, limits,
 * capture templates, and the shipped default rules on SpamAssassin's
 * sample-spam.txt (GTUBE) and sample-nonspam.txt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rule.h"
#include "rule_int.h"
#include "sbuf.h"
#include "score.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static struct rule_set *
load(const char *name, const char *text)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;

	if (rule_builder_add_text(b, name, text, strlen(text), RULE_FMT_AUTO,
	    &err) != 0)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	return rs;
}

static const struct rule_hit *
find(const struct rule_hit *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			return &h[i];
	return NULL;
}

static const struct rule_hit *
run(const struct rule_set *rs, struct rule_scratch *sc, const char *raw,
    const struct rule_env *env, size_t *n, struct msg **mp)
{
	*mp = raw ? msg_parse(raw, strlen(raw), NULL) : NULL;
	return rule_eval(rs, sc, env, *mp, n);
}

static void
test_body_and_counts(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "body CAPS /FOO/ score 0.5 per-hit max 3 \"caps\"\n"
	    "body ALL_FOO /FOO/ score 0.5 per-hit\n"
	    "body ONCE /FOO/ score 1\n"
	    "body SUBJ /caps test/ score 1\n"
	    "body SUBJ_NO /caps test/ score 1 nosubject\n"
	    "body NEG !/absent/ score 1\n"
	    "body NEG2 !~ /FOO/ score 1\n"
	    "body __SUB /bar/ score 1\n"
	    "body OFF /FOO/ score 0\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	h = run(rs, sc, "Subject: caps test\n\nfoo FOO bar FOO baz FOO qux "
	    "FOO\n", NULL, &n, &m);
	assert_int_equal(find(h, n, "CAPS")->count, 3);
	assert_true(find(h, n, "CAPS")->score == 0.5);
	assert_string_equal(find(h, n, "CAPS")->desc, "caps");
	assert_int_equal(find(h, n, "ALL_FOO")->count, 4);
	assert_int_equal(find(h, n, "ONCE")->count, 1);
	assert_non_null(find(h, n, "SUBJ"));
	assert_null(find(h, n, "SUBJ_NO"));
	assert_non_null(find(h, n, "NEG"));
	assert_null(find(h, n, "NEG2"));
	assert_int_equal(find(h, n, "__SUB")->flags, RULE_HIT_SUB);
	assert_int_equal(find(h, n, "CAPS")->flags, 0);
	assert_null(find(h, n, "OFF"));
	assert_int_equal(n, 6);
	msg_free(m);
	/* a second evaluation starts from nothing */
	h = run(rs, sc, "Subject: x\n\nnothing here\n", NULL, &n, &m);
	assert_int_equal(n, 2);		/* NEG, NEG2 */
	assert_non_null(find(h, n, "NEG2"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_scratch_free(NULL);
	rule_set_unref(rs);
}

static void
test_headers(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "header SUBJ_FREE   Subject =~ /^free\\b/i\n"
	    "header SUBJ_END    Subject =~ /stuff$/\n"
	    "header NO_FOO      X-Foo !~ /./\n"
	    "header UNSET_DEF   X-Foo =~ /^dflt$/ [if-unset: dflt]\n"
	    "header EMPTY_MATCH X-Foo =~ /^$/\n"
	    "header HAS_DATE    exists:Date\n"
	    "header HAS_BAR     exists:X-Bar\n"
	    "header TO_ADDR     To:addr =~ /^b\\@c\\.d$/m\n"
	    "header RCVD_TWO    Received =~ /one\\nby two/\n"
	    "header ALL_X       ALL =~ /^X-Mailer: Mutt/m\n"
	    "header MULTI       Received =~ /by/\n"
	    "tflags MULTI       multiple\n"
	    "mimeheader MIME_CT Content-Type =~ /text\\/html/\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	h = run(rs, sc,
	    "Received: by one\nReceived: by two\n"
	    "Subject: Free =?iso-8859-1?q?stuff?=\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "To: \"A\" <b@c.d>\nX-Mailer: Mutt 1.0\n"
	    "Content-Type: text/html\n\n<p>hi</p>\n", NULL, &n, &m);
	assert_non_null(find(h, n, "SUBJ_FREE"));
	assert_non_null(find(h, n, "SUBJ_END"));
	assert_non_null(find(h, n, "NO_FOO"));
	assert_non_null(find(h, n, "UNSET_DEF"));
	assert_non_null(find(h, n, "EMPTY_MATCH"));
	assert_non_null(find(h, n, "HAS_DATE"));
	assert_null(find(h, n, "HAS_BAR"));
	assert_non_null(find(h, n, "TO_ADDR"));
	assert_non_null(find(h, n, "RCVD_TWO"));
	assert_non_null(find(h, n, "ALL_X"));
	assert_int_equal(find(h, n, "MULTI")->count, 2);
	assert_non_null(find(h, n, "MIME_CT"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

static void
meta_values(int lazy)
{
	struct rule_set *rs = load("t.cf",
	    "body __A /a/\n"
	    "body __B /b/\n"
	    "tflags __B multiple\n"
	    "body __NONE /zzz/\n"
	    "meta AND_VALUE __A && __B\n"
	    "meta COUNT3 __B == 3\n"
	    "meta SUM (__A + __B) > 3\n"
	    "meta NOT_NONE !__NONE\n"
	    "meta OR_NONE __NONE || __NONE\n"
	    "meta NEG_VAL __A - 5\n"
	    "meta TERN __NONE ? 0 : 2\n"
	    "meta CHAIN AND_VALUE && COUNT3\n"
	    "meta UNDEF __A && NO_SUCH_RULE\n"
	    "meta PREC 1 + 2 * 3 == 7\n"
	    "meta DIV0 __A / __NONE\n"
	    "score CHAIN 2.5\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	rule_scratch_lazy(sc, lazy);
	h = run(rs, sc, "Subject: s\n\na b b b\n", NULL, &n, &m);
	assert_non_null(find(h, n, "AND_VALUE"));
	assert_int_equal(find(h, n, "AND_VALUE")->count, 1);
	assert_non_null(find(h, n, "COUNT3"));
	assert_non_null(find(h, n, "SUM"));
	assert_non_null(find(h, n, "NOT_NONE"));
	assert_null(find(h, n, "OR_NONE"));
	assert_non_null(find(h, n, "NEG_VAL"));
	assert_non_null(find(h, n, "TERN"));
	assert_true(find(h, n, "CHAIN")->score == 2.5);
	assert_null(find(h, n, "UNDEF"));
	assert_non_null(find(h, n, "PREC"));
	assert_null(find(h, n, "DIV0"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/* Perl's values, evaluated fully and lazily (short-circuit jumps) */
static void
test_meta_values(void **state)
{
	(void)state;
	meta_values(0);
	meta_values(1);
}

static unsigned long
runs_of(const struct rule_set *rs, const struct rule_scratch *sc,
    const char *name)
{
	struct rule_prof p;
	long i = rule_set_find(rs, name);

	assert_true(i >= 0);
	if (rule_scratch_profile_get(sc, (size_t)i, &p) != 0)
		return 0;
	return p.runs + p.skipped;	/* evaluated, prefilter or not */
}

static const char *scored_names(const struct rule_hit *h, size_t n,
    struct sbuf *out)
{
	size_t i;

	sbuf_reset(out);
	for (i = 0; i < n; i++)
		if (!(h[i].flags & RULE_HIT_SUB))
			sbuf_printf(out, "%s=%u,", h[i].name, h[i].count);
	return out->p ? out->p : "";
}

/*
 * Lazy evaluation: a sub-rule runs only when a meta reads it, && || ?:
 * skip what cannot matter, and the scored hits are those of a full run.
 */
/*
 * Evaluate m fully and lazily; the scored hits must be the same.  Returns
 * the lazy hits (valid until lazy evaluates again).
 */
static const struct rule_hit *
lazy_hits(const struct rule_set *rs, struct rule_scratch *eager,
    struct rule_scratch *lazy, const struct msg *m, size_t *n)
{
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	const struct rule_hit *h;

	h = rule_eval(rs, eager, NULL, m, n);
	scored_names(h, *n, &a);
	h = rule_eval(rs, lazy, NULL, m, n);
	assert_string_equal(scored_names(h, *n, &b), a.p ? a.p : "");
	sbuf_free(&a);
	sbuf_free(&b);
	return h;
}

/*
 * "A && B" runs the cheaper rule first (rule_load.c cheap_first()): a
 * pattern PCRE2 must try at every offset is asked only where the header
 * rule hit, and every verdict stays that of a full evaluation.
 */
static void
test_cheap_first(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "body __DEAR /\\w{3}\\d{3}/\n"
	    "header __CHEAP Subject =~ /cheap/\n"
	    "body __MULTI /\\w{3}\\d{3}/\n"
	    "tflags __MULTI multiple\n"
	    "meta SWAPPED __DEAR && __CHEAP\n"
	    "meta KEPT __MULTI && __CHEAP\n"
	    "meta VALUE (__CHEAP && __MULTI) + (__DEAR && __CHEAP) > 2\n"
	    "body __X /xyz/\n"
	    "meta ORAND (__X || __DEAR) && __CHEAP\n");
	static const char *raws[] = {
	    "Subject: cheap\n\nabc123 def456\n",
	    "Subject: dear\n\nabc123\n",
	    "Subject: cheap\n\nnothing\n",
	    "Subject: x\n\nnothing\n",
	    "Subject: cheap\n\nxyz\n",
	};
	struct rule_scratch *eager = rule_scratch_new();
	struct rule_scratch *lazy = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n, k;

	(void)state;
	rule_scratch_lazy(lazy, 1);
	rule_scratch_profile(lazy, 1);
	for (k = 0; k < sizeof(raws) / sizeof(raws[0]); k++) {
		m = msg_parse(raws[k], strlen(raws[k]), NULL);
		h = lazy_hits(rs, eager, lazy, m, &n);
		if (k == 0) {
			/* values kept: __MULTI's 2 plus 1 */
			assert_non_null(find(h, n, "SWAPPED"));
			assert_non_null(find(h, n, "VALUE"));
		}
		/* "(__X || __DEAR) && __CHEAP": the left operand is the ||,
		   not __DEAR, so nothing moves */
		if (k == 4)
			assert_non_null(find(h, n, "ORAND"));
		msg_free(m);
	}
	/* __DEAR in SWAPPED only where __CHEAP hit (2), and in ORAND where
	   __X did not (4); __MULTI (a count) not moved */
	assert_int_equal(runs_of(rs, lazy, "__DEAR"), 5);
	assert_int_equal(runs_of(rs, lazy, "__MULTI"), 5);
	rule_scratch_free(eager);
	rule_scratch_free(lazy);
	rule_set_unref(rs);
}

static void
test_lazy(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "body __A /aaa/\n"
	    "body __B /bbb/\n"
	    "body __C /ccc/\n"
	    "body __D /ddd/\n"
	    "body __UNUSED /eee/\n"
	    "body __CAP /(?<WORD>fff\\w+)/\n"
	    "body SCORED /ggg/\n"
	    "meta AND_M __A && __B\n"
	    "meta OR_M __A || __C\n"
	    "meta TERN_M __A ? __B : __D\n"
	    "meta NESTED (__A || __C) && !(__B && __D)\n"
	    "meta __SUBMETA __C && __D\n"
	    "meta USES_SUB __SUBMETA || SCORED\n");
	static const char *texts[] = { "nothing", "aaa", "aaa bbb",
	    "ccc ddd", "aaa bbb ccc ddd ggg", "ddd fffx", "bbb" };
	struct rule_scratch *eager = rule_scratch_new();
	struct rule_scratch *lazy = rule_scratch_new();
	struct sbuf a = SBUF_INIT, b = SBUF_INIT, raw = SBUF_INIT;
	const struct rule_hit *h;
	struct msg *m;
	size_t n, k;

	(void)state;
	rule_scratch_lazy(lazy, 1);
	rule_scratch_profile(lazy, 1);
	rule_scratch_profile(eager, 1);
	for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		sbuf_reset(&raw);
		sbuf_printf(&raw, "Subject: s\n\n%s\n", texts[k]);
		m = msg_parse(raw.p, raw.len, NULL);
		h = rule_eval(rs, eager, NULL, m, &n);
		scored_names(h, n, &a);
		h = rule_eval(rs, lazy, NULL, m, &n);
		assert_string_equal(scored_names(h, n, &b), a.p ? a.p : "");
		msg_free(m);
	}
	/* every text ran every rule in full; lazily, far less */
	assert_int_equal(runs_of(rs, eager, "__UNUSED"), 7);
	assert_int_equal(runs_of(rs, lazy, "__UNUSED"), 0);
	assert_int_equal(runs_of(rs, lazy, "SCORED"), 7);
	assert_int_equal(runs_of(rs, lazy, "__A"), 7);
	/* __B: where __A hit (AND_M, TERN_M: 3 texts), and for NESTED
	   where __C did ("ccc ddd"), never twice for one message */
	assert_int_equal(runs_of(rs, lazy, "__B"), 4);
	/* __D: TERN_M where __A did not hit (4 texts), NESTED where __A
	   and __B both did (2) */
	assert_int_equal(runs_of(rs, lazy, "__D"), 6);
	/* captures always run, as SpamAssassin's order needs them */
	assert_int_equal(runs_of(rs, lazy, "__CAP"), 7);
	/* hits of the sub-rules that ran are still reported */
	m = msg_parse("Subject: s\n\naaa bbb\n", 21, NULL);
	h = rule_eval(rs, lazy, NULL, m, &n);
	assert_non_null(find(h, n, "AND_M"));
	assert_non_null(find(h, n, "__B"));
	assert_null(find(h, n, "__UNUSED"));
	msg_free(m);
	sbuf_free(&a);
	sbuf_free(&b);
	sbuf_free(&raw);
	rule_scratch_free(eager);
	rule_scratch_free(lazy);
	rule_set_unref(rs);
}

static void
test_stages(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "connect PRE facts =~ /\\bpregreet\\b/ score 5\n"
	    "connect LOCAL addr =~ /^127\\./ score 1\n"
	    "connect DYN name =~ /dyn/ score 1\n"
	    "helo HELO_IP =~ /^[0-9.]+$/ score 2\n"
	    "mail MAIL_NUM =~ /^[0-9]+@/ score 1\n"
	    "rcpt RCPT_X /^x@/ score 1 per-hit\n"
	    "body B /b/ score 1\n"
	    "meta EARLY PRE && HELO_IP score 1\n"
	    "meta __NOT_B !B score 1\n"
	    "meta WAITS PRE && __NOT_B score 1\n");
	struct rule_scratch *sc = rule_scratch_new();
	const char *rcpt[] = { "x@a", "y@a", "x@b" };
	struct rule_env env;
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	memset(&env, 0, sizeof(env));
	env.client_addr = "127.0.0.1";
	env.client_name = "host.dyn.example";
	env.facts = "no-rdns pregreet";
	h = run(rs, sc, NULL, &env, &n, &m);
	assert_int_equal(n, 3);
	assert_non_null(find(h, n, "PRE"));
	assert_null(find(h, n, "EARLY"));
	/* a meta over a body rule waits for the message */
	assert_null(find(h, n, "WAITS"));
	env.helo = "192.0.2.1";
	env.mail_from = "12345@example.com";
	env.rcpt = rcpt;
	env.nrcpt = 3;
	h = run(rs, sc, NULL, &env, &n, &m);
	assert_non_null(find(h, n, "EARLY"));
	assert_non_null(find(h, n, "MAIL_NUM"));
	assert_int_equal(find(h, n, "RCPT_X")->count, 2);
	assert_null(find(h, n, "B"));
	h = run(rs, sc, "Subject: b\n\nb\n", NULL, &n, &m);
	assert_int_equal(n, 1);
	assert_non_null(find(h, n, "B"));
	msg_free(m);
	h = run(rs, sc, "Subject: x\n\nx\n", &env, &n, &m);
	assert_non_null(find(h, n, "WAITS"));
	assert_non_null(find(h, n, "EARLY"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

static void
test_latin1_fold(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "full LATIN1 /caf\\xc9/i\n"
	    "full LATIN1_CS /caf\\xc9/\n"
	    "full ASCII_W /caf\\w/\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	h = run(rs, sc, "Subject: x\n\ncaf\xe9\n", NULL, &n, &m);
	assert_non_null(find(h, n, "LATIN1"));
	assert_null(find(h, n, "LATIN1_CS"));
	assert_null(find(h, n, "ASCII_W"));	/* /aa: \w is ASCII */
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

static void
test_limit(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "full SLOW /^(?:a|a)+$/m score 1\n"
	    "full FAST /a/ score 1\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	char raw[200];
	size_t n;

	(void)state;
	snprintf(raw, sizeof(raw), "Subject: x\n\n%s\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
	h = run(rs, sc, raw, NULL, &n, &m);
	assert_int_equal(n, 2);
	assert_int_equal(find(h, n, "SLOW")->flags, RULE_HIT_LIMIT);
	assert_int_equal(find(h, n, "SLOW")->count, 0);
	msg_free(m);
	/* reported once per rule set */
	h = run(rs, sc, raw, NULL, &n, &m);
	assert_int_equal(n, 1);
	assert_non_null(find(h, n, "FAST"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

#define TEMPLATE_RULES \
	"header __TO_ADDR To:addr =~ /(?<TO_ADDR>.*)/\n" \
	"body   GREETS_ME  /hello %{TO_ADDR}/i\n" \
	"body   NO_TAG     /x %{NO_SUCH_TAG}/\n"

static void
test_capture_template(void **state)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	/* by default not run, as SpamAssassin's /o freezes them */
	rs = load("t.cf", TEMPLATE_RULES);
	h = run(rs, sc, "To: Bob <bob.x@example.com>\nSubject: s\n\n"
	    "Hello bob.x@example.com\n", NULL, &n, &m);
	assert_null(find(h, n, "GREETS_ME"));
	msg_free(m);
	rule_set_unref(rs);
	rule_builder_templates(b, 1);
	if (rule_builder_add_text(b, "t.cf", TEMPLATE_RULES,
	    strlen(TEMPLATE_RULES), RULE_FMT_AUTO, &err) != 0 ||
	    (rs = rule_builder_finish(b, NULL, &err)) == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	h = run(rs, sc, "To: Bob <bob.x@example.com>\nSubject: s\n\n"
	    "Hello bob.x@example.com\n", NULL, &n, &m);
	assert_non_null(find(h, n, "GREETS_ME"));
	assert_null(find(h, n, "NO_TAG"));
	msg_free(m);
	/* the dot is quoted: bobXx does not match bob.x */
	h = run(rs, sc, "To: bob.x@example.com\nSubject: s\n\n"
	    "Hello bobXx@example.com\n", NULL, &n, &m);
	assert_null(find(h, n, "GREETS_ME"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * A pattern over PCRE2's 64 KiB code limit (a 3000-word alternation
 * repeated {4}), as SpamAssassin's ReplaceTags expansions produce: Perl runs
 * it, so must we (rule_bigre.c rewrites it with subroutine calls).
 */
static void
test_big_pattern(void **state)
{
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct rule_info ri;
	struct msg *m;
	char *text, *p;
	size_t n, i;

	(void)state;
	p = text = malloc(3000 * 6 + 200);
	p += sprintf(p, "body BIG /\\b(?:(?:");
	for (i = 1; i <= 3000; i++)
		p += sprintf(p, "%sw%04zu", i > 1 ? "|" : "", i);
	sprintf(p, ")\\s){4}end\\b/i\n");
	rs = load("t.cf", text);
	free(text);
	rule_set_info(rs, (size_t)rule_set_find(rs, "BIG"), &ri);
	assert_true(ri.runs);
	assert_int_equal(rule_set_stats(rs)->bigre, 1);
	h = run(rs, sc, "Subject: s\n\nsay w0005 W2999 w0001 w0100 end\n",
	    NULL, &n, &m);
	assert_non_null(find(h, n, "BIG"));
	msg_free(m);
	/* three words are not four; an unknown word breaks the run */
	h = run(rs, sc, "Subject: s\n\nsay w0005 w2999 w0001 end\n", NULL,
	    &n, &m);
	assert_null(find(h, n, "BIG"));
	msg_free(m);
	h = run(rs, sc, "Subject: s\n\nw0005 w3001 w0001 w0002 end\n", NULL,
	    &n, &m);
	assert_null(find(h, n, "BIG"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

static void
test_prefilter(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "body LIT /\\bviagra\\s+now\\b/i score 1\n"
	    "body LIT_CS /ViAgRa/ score 1\n"
	    "body NEG_LIT !/zebra/ score 1\n"
	    "body ALT /(?:foo|bar)baz/ score 1\n"
	    "body QUANT /ab+cde/ score 1\n"
	    "body HEX /\\x41\\x42\\x43D/ score 1\n"
	    "body LOOK /(?<=x)yzzy(?!q)/ score 1\n"
	    "body CLASSY /[a-z]+q/ score 1\n"
	    "body OPT /colou?r/ score 1\n"
	    "full FULL_LIT /^X-Thing: yes/m score 1\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	assert_true(rule_set_stats(rs)->prefiltered >= 7);
	h = run(rs, sc, "X-Thing: yes\nSubject: s\n\nVIAGRA   now abbbcde "
	    "barbaz ABCD xyzzy color\n", NULL, &n, &m);
	assert_non_null(find(h, n, "LIT"));
	assert_null(find(h, n, "LIT_CS"));
	assert_non_null(find(h, n, "NEG_LIT"));
	assert_non_null(find(h, n, "ALT"));
	assert_non_null(find(h, n, "QUANT"));
	assert_non_null(find(h, n, "HEX"));
	assert_non_null(find(h, n, "LOOK"));
	assert_null(find(h, n, "CLASSY"));
	assert_non_null(find(h, n, "OPT"));
	assert_non_null(find(h, n, "FULL_LIT"));
	msg_free(m);
	/* and with none of the literals, nothing but the negation */
	h = run(rs, sc, "Subject: s\n\nzebra\n", NULL, &n, &m);
	assert_int_equal(n, 0);
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * "{,n}" is a literal for PCRE2 before 10.43 and {0,n} since: neither
 * pattern reader may guess, so such a pattern gets no literal set and no
 * core, and hits by whatever the PCRE2 at hand says.
 */
static void
test_brace_quantifier(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "body BRACE /ab{,3}cd/ score 1\n"
	    "body BRACE_CORE /(?:\\b|\\s)xy{,2}z/ score 1\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	assert_int_equal(rule_set_stats(rs)->prefiltered, 0);
	assert_int_equal(rule_set_stats(rs)->cored, 0);
	/* both readings match here */
	h = run(rs, sc, "Subject: s\n\nab{,3}cd abbcd xy{,2}z xz\n", NULL,
	    &n, &m);
	assert_non_null(find(h, n, "BRACE"));
	assert_non_null(find(h, n, "BRACE_CORE"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * A top-level sequence requires each of its literal sets: one present is
 * not enough to run the pattern.  Results never change, only the work.
 */
static void
test_prefilter_sets(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "body BOTH /\\bwinner\\b.{0,40}\\b(?:lottery|jackpot)\\b/i "
	    "score 1\n"
	    "body EITHER /\\bwinner\\b|\\blottery\\b/i score 1\n"
	    "body AHEAD /(?!lottery)\\w+ jackpot/i score 1\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct rule_prof p;
	struct msg *m;
	size_t n;

	(void)state;
	rule_scratch_profile(sc, 1);
	h = run(rs, sc, "Subject: s\n\nthe winner is here\n", NULL, &n, &m);
	assert_null(find(h, n, "BOTH"));
	assert_non_null(find(h, n, "EITHER"));
	assert_int_equal(rule_scratch_profile_get(sc, (size_t)rule_set_find(rs,
	    "BOTH"), &p), 0);
	assert_int_equal(p.skipped, 1);
	assert_int_equal(p.runs, 0);
	msg_free(m);
	h = run(rs, sc, "Subject: s\n\nWinner of the big Jackpot\n", NULL,
	    &n, &m);
	assert_non_null(find(h, n, "BOTH"));
	/* a negative lookahead requires nothing: "jackpot" alone runs it */
	assert_non_null(find(h, n, "AHEAD"));
	msg_free(m);
	h = run(rs, sc, "Subject: s\n\nlottery and a jackpot, no w1nner\n",
	    NULL, &n, &m);
	assert_null(find(h, n, "BOTH"));
	assert_non_null(find(h, n, "EITHER"));
	assert_non_null(find(h, n, "AHEAD"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/* Header operands: the literals are looked for in the folded text. */
static void
test_prefilter_headers(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "header SUBJ_WIN Subject =~ /\\bbig winner\\b/i\n"
	    "header SUBJ_NOWIN Subject !~ /\\bbig winner\\b/i\n"
	    "header FROM_LOTTO From:addr =~ /lottery\\.(?:com|net)$/\n"
	    "header UNSET_LIT X-None =~ /^placeholder$/ [if-unset: placeholder]\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct rule_prof p;
	struct msg *m;
	size_t n;

	(void)state;
	rule_scratch_profile(sc, 1);
	h = run(rs, sc, "Subject: a small loser\nFrom: x@LOTTERY.COM\n\nx\n",
	    NULL, &n, &m);
	assert_null(find(h, n, "SUBJ_WIN"));
	assert_non_null(find(h, n, "SUBJ_NOWIN"));
	assert_null(find(h, n, "FROM_LOTTO"));	/* case-sensitive pattern */
	assert_non_null(find(h, n, "UNSET_LIT"));
	assert_int_equal(rule_scratch_profile_get(sc, (size_t)rule_set_find(rs,
	    "SUBJ_WIN"), &p), 0);
	assert_int_equal(p.skipped, 1);
	msg_free(m);
	h = run(rs, sc, "Subject: You are a BIG Winner!\nFrom: x@lottery.net\n"
	    "\nx\n", NULL, &n, &m);
	assert_non_null(find(h, n, "SUBJ_WIN"));
	assert_null(find(h, n, "SUBJ_NOWIN"));
	assert_non_null(find(h, n, "FROM_LOTTO"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * The exact literal check of header rules (rule_prefilter.c): short
 * operands are searched with memchr() and memcmp(), long ones (over 256
 * bytes: ALL here) first through their bitmap.  A literal at either end of
 * the text, in another case, one whose first byte occurs often, one longer
 * than the text, and sets that need two literals must all give the hits of
 * the patterns alone.
 */
static void
test_prefilter_header_texts(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "header S_START Subject =~ /^Offer/\n"
	    "header S_END Subject =~ /deal\\n?$/\n"
	    "header S_NL Subject =~ /deal\\n/\n"
	    "header S_CASE Subject =~ /FREE money/i\n"
	    "header S_REP Subject =~ /aab/\n"
	    "header S_LONG Subject =~ /a much longer phrase than any subject/\n"
	    "header S_TWO Subject =~ /Offer.*deal/\n"
	    "header A_FIRST ALL =~ /Received: from first/\n"
	    "header A_LAST ALL =~ /X-Last: tail-marker/\n"
	    "header A_CASE ALL =~ /x-middle: MIDDLE-VALUE/i\n"
	    "header A_NONE ALL =~ /X-Absent-Header:/\n"
	    "header A_TWO ALL =~ /X-Middle:.*\\n(?s:.*)X-Last:/\n"
	    "header A_NEG ALL !~ /X-Absent-Header:/\n");
	static const char pad[] = "X-Pad: 0123456789012345678901234567890123"
	    "456789012345678901234567890123456789\n";
	static const struct {
		const char	*head;	/* before the padding */
		const char	*tail;	/* after it */
		const char	*want;
	} c[] = {
		{ "Received: from first.example\nSubject: Offer: aaab deal\n",
		    "X-Middle: middle-value\nX-Last: tail-marker\n",
		    "S_START:1 S_END:1 S_NL:1 S_REP:1 S_TWO:1 A_FIRST:1 "
		    "A_LAST:1 A_CASE:1 A_TWO:1 A_NEG:1 " },
		{ "Subject: free MONEY aaaaa\n", "X-Last: Tail-Marker\n",
		    "S_CASE:1 A_NEG:1 " },
		{ "Subject: a\n", "X-Absent-Header: 1\n", "A_NONE:1 " },
	};
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct sbuf raw = SBUF_INIT, got = SBUF_INIT;
	struct rule_prof p;
	struct msg *m;
	size_t n, i, k;

	(void)state;
	rule_scratch_profile(sc, 1);
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		sbuf_reset(&raw);
		sbuf_adds(&raw, c[k].head);
		for (i = 0; i < 4; i++)		/* ALL well over 256 bytes */
			sbuf_adds(&raw, pad);
		sbuf_adds(&raw, c[k].tail);
		sbuf_adds(&raw, "\nbody\n");
		sbuf_addc(&raw, '\0');
		h = run(rs, sc, raw.p, NULL, &n, &m);
		sbuf_reset(&got);
		for (i = 0; i < n; i++)
			sbuf_printf(&got, "%s:%u ", h[i].name, h[i].count);
		sbuf_addc(&got, '\0');
		if (strcmp(got.p, c[k].want) != 0)
			fail_msg("message %zu: \"%s\", want \"%s\"", k, got.p,
			    c[k].want);
		msg_free(m);
	}
	/* the checks did skip: A_NONE's literal was in the third only */
	assert_int_equal(rule_scratch_profile_get(sc, (size_t)rule_set_find(rs,
	    "A_NONE"), &p), 0);
	assert_int_equal(p.skipped, 2);
	assert_int_equal(p.runs, 1);
	assert_int_equal(rule_scratch_profile_get(sc, (size_t)rule_set_find(rs,
	    "S_LONG"), &p), 0);
	assert_int_equal(p.skipped, 3);
	sbuf_free(&raw);
	sbuf_free(&got);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * A header rule whose operand is absent matches its [if-unset: ] text or
 * "", the same for every message: rule_eval.c remembers the count in the
 * rule after the first time.  It must be what matching gives, for the
 * negated and per-hit rules too, and never stand in for an operand that is
 * present, even empty, or named in another case; a rule with captures is
 * matched every time (its captures are per message).
 */
static void
test_unset_memo(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "header U_EMPTY X-None =~ /^$/\n"
	    "header U_NEG X-None !~ /x/\n"
	    "header U_UNSET X-None =~ /^place/ [if-unset: placeholder]\n"
	    "header U_MULTI X-None =~ /o/ [if-unset: foo boo]\n"
	    "tflags U_MULTI multiple\n"
	    "header U_ADDR X-None:addr =~ /^$/\n"
	    "header U_CAP X-None =~ /^(?<NONE>.*)$/\n");
	static const struct {
		const char	*raw;
		const char	*want;	/* hit NAME:count, in rule order */
	} c[] = {
		{ "Subject: a\n\nx\n", "U_EMPTY:1 U_NEG:1 U_UNSET:1 "
		    "U_MULTI:4 U_ADDR:1 U_CAP:1 " },
		/* no address in it: msg_get() has no :addr, as if absent */
		{ "X-None: xyz\n\nx\n", "U_ADDR:1 U_CAP:1 " },
		{ "Subject: b\n\ny\n", "U_EMPTY:1 U_NEG:1 U_UNSET:1 "
		    "U_MULTI:4 U_ADDR:1 U_CAP:1 " },
		/* present, empty, in capitals: "\n", no [if-unset: ] */
		{ "X-NONE:\n\nx\n", "U_EMPTY:1 U_NEG:1 U_ADDR:1 U_CAP:1 " },
		{ "X-None: a@b.example\nX-None: two o\n\nx\n", "U_MULTI:2 " },
		{ "", "U_EMPTY:1 U_NEG:1 U_UNSET:1 U_MULTI:4 U_ADDR:1 "
		    "U_CAP:1 " },
	};
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct sbuf got = SBUF_INIT;
	struct msg *m;
	size_t n, i, k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		h = run(rs, sc, c[k].raw, NULL, &n, &m);
		sbuf_reset(&got);
		for (i = 0; i < n; i++)
			sbuf_printf(&got, "%s:%u ", h[i].name, h[i].count);
		sbuf_addc(&got, '\0');
		if (strcmp(got.p, c[k].want) != 0)
			fail_msg("message %zu: \"%s\", want \"%s\"", k, got.p,
			    c[k].want);
		msg_free(m);
	}
	/* remembered (count + 1), but not for the rule with captures */
	assert_int_equal(atomic_load(&rs->rules[rule_set_find(rs,
	    "U_MULTI")].unset_memo), 5);
	assert_int_equal(atomic_load(&rs->rules[rule_set_find(rs,
	    "U_NEG")].unset_memo), 1);
	assert_int_equal(atomic_load(&rs->rules[rule_set_find(rs,
	    "U_CAP")].unset_memo), 0);
	sbuf_free(&got);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * The core of a pattern (rule_core.c): without its leading context that
 * can match nothing, a necessary condition that spares the whole pattern
 * on texts without it.  Whole-pattern results must not change: the core
 * matching is not enough for a hit.
 */
static void
test_core(void **state)
{
	struct rule_set *rs = load("t.rules",
	    "body GAPS /(?:\\b|\\s)[_\\W]{0,3}v[_\\W]{0,3}i[_\\W]{0,3}a\\b/i "
	    "score 1 per-hit\n"
	    "body AHEAD /(?:^|\\W)(?=[nN])(?!norton)n[o0]rt[o0]n(?:$|\\W)/i "
	    "score 1\n"
	    "body ANCHORED /^\\s*foo/m score 1\n"
	    "body SETTING /(?i)\\s*bar\\d/ score 1\n"
	    "body BOUNDARY /\\bbaz/ score 1\n"
	    "body FORM /(?:(?:your\\s)?(?:name|city|zip)[:,]\\s?){3}/i "
	    "score 1\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	/*
	 * GAPS, AHEAD and FORM (one repeated group: its first copy without
	 * "your") have a core; the others keep what makes them cheap.
	 */
	assert_int_equal(rule_set_stats(rs)->cored, 3);
	h = run(rs, sc, "Subject: s\n\nbuy v.i.a now, or V_I_A; N0RTON!\n",
	    NULL, &n, &m);
	assert_int_equal(find(h, n, "GAPS")->count, 2);
	assert_non_null(find(h, n, "AHEAD"));
	msg_free(m);
	/* the core matches ("via", "n0rton") but the context does not */
	h = run(rs, sc, "Subject: s\n\nxvia trivia xn0rton norton\n", NULL,
	    &n, &m);
	assert_null(find(h, n, "GAPS"));
	assert_null(find(h, n, "AHEAD"));
	msg_free(m);
	h = run(rs, sc, "Subject: s\n\nYour name: city, ZIP:\n", NULL, &n,
	    &m);
	assert_non_null(find(h, n, "FORM"));
	msg_free(m);
	h = run(rs, sc, "Subject: s\n\nname: city. zip: your zip,\n", NULL,
	    &n, &m);
	assert_null(find(h, n, "FORM"));
	msg_free(m);
	h = run(rs, sc, "Subject: s\n\nfoo\n  BAR1 baz\n", NULL, &n, &m);
	assert_non_null(find(h, n, "ANCHORED"));
	assert_non_null(find(h, n, "SETTING"));
	assert_non_null(find(h, n, "BOUNDARY"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

/*
 * Bounds: a meta chain deeper than RULE_LAZY_DEPTH_MAX is evaluated fully
 * (the lazy recursion would go one level per meta); patterns nested deeper
 * than the analysers follow get no core and no literal set.
 */
static void
test_depth_bounds(void **state)
{
	struct sbuf t = SBUF_INIT;
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;
	int i;

	(void)state;
	rule_scratch_lazy(sc, 1);
	rule_scratch_profile(sc, 1);
	sbuf_adds(&t, "body __A /aaa/\nbody __UNUSED /uuu/\nmeta __M0 __A\n");
	for (i = 1; i <= 70; i++)
		sbuf_printf(&t, "meta __M%d __M%d\n", i, i - 1);
	sbuf_adds(&t, "meta DEEP __M70\n");
	rs = load("deep.cf", t.p);
	h = run(rs, sc, "Subject: s\n\naaa uuu\n", NULL, &n, &m);
	assert_non_null(find(h, n, "DEEP"));
	/* evaluated fully: even the sub-rule nobody reads ran */
	assert_int_equal(runs_of(rs, sc, "__UNUSED"), 1);
	msg_free(m);
	rule_set_unref(rs);
	/* 60 levels: lazily, so __UNUSED does not run */
	sbuf_reset(&t);
	sbuf_adds(&t, "body __A /aaa/\nbody __UNUSED /uuu/\nmeta __M0 __A\n");
	for (i = 1; i <= 60; i++)
		sbuf_printf(&t, "meta __M%d __M%d\n", i, i - 1);
	sbuf_adds(&t, "meta DEEP __M60\n");
	rs = load("shallow.cf", t.p);
	rule_scratch_free(sc);
	sc = rule_scratch_new();
	rule_scratch_lazy(sc, 1);
	rule_scratch_profile(sc, 1);
	h = run(rs, sc, "Subject: s\n\naaa uuu\n", NULL, &n, &m);
	assert_non_null(find(h, n, "DEEP"));
	assert_int_equal(runs_of(rs, sc, "__UNUSED"), 0);
	msg_free(m);
	rule_set_unref(rs);
	/* 220 nested groups (PCRE2 allows 250): no core, no literal set */
	sbuf_reset(&t);
	sbuf_adds(&t, "body NESTED /\\s*");
	for (i = 0; i < 220; i++)
		sbuf_adds(&t, "(?:");
	sbuf_adds(&t, "needle");
	for (i = 0; i < 220; i++)
		sbuf_adds(&t, ")");
	sbuf_adds(&t, "/ score 1\n");
	rs = load("nested.rules", t.p);
	assert_int_equal(rule_set_stats(rs)->cored, 0);
	assert_int_equal(rule_set_stats(rs)->prefiltered, 0);
	h = run(rs, sc, "Subject: s\n\na needle\n", NULL, &n, &m);
	assert_non_null(find(h, n, "NESTED"));
	msg_free(m);
	rule_set_unref(rs);
	/* the same at 20 levels gets both */
	sbuf_reset(&t);
	sbuf_adds(&t, "body NESTED /\\s*");
	for (i = 0; i < 20; i++)
		sbuf_adds(&t, "(?:");
	sbuf_adds(&t, "needle");
	for (i = 0; i < 20; i++)
		sbuf_adds(&t, ")");
	sbuf_adds(&t, "/ score 1\n");
	rs = load("nested.rules", t.p);
	assert_int_equal(rule_set_stats(rs)->cored, 1);
	assert_int_equal(rule_set_stats(rs)->prefiltered, 1);
	rule_set_unref(rs);
	sbuf_free(&t);
	rule_scratch_free(sc);
}

static void
test_relays(void **state)
{
	struct rule_set *rs = load("t.cf",
	    "header R_FIRST X-Spam-Relays-Untrusted =~ /^\\[ ip=192\\.0\\.2\\.7 "
	    "rdns=mx\\.example\\.com helo=helo\\.example\\.net by=mail\\.example"
	    "\\.org ident= envfrom= intl=0 id=ABC123 auth= msa=0 \\]/\n"
	    "header R_TRUSTED X-Spam-Relays-Trusted =~ /ip=10\\.1\\.2\\.3 /\n"
	    "header R_TWO X-Spam-Relays-External =~ /\\] \\[ ip=198\\.51\\.100\\.9 "
	    "rdns= helo=pc1 /\n"
	    "header R_AUTH X-Spam-Relays-Untrusted =~ / auth=ESMTPA /\n"
	    "header ALL_EXT ALL-EXTERNAL =~ /^Received: from helo\\.example\\.net/\n"
	    "header ALL_EXT_NOT_TOP ALL-EXTERNAL =~ /^Received: from inner/m\n"
	    "header ALL_TRUST ALL-TRUSTED =~ /^Received: from inner/\n");
	struct rule_scratch *sc = rule_scratch_new();
	const struct rule_hit *h;
	struct msg *m;
	size_t n;

	(void)state;
	h = run(rs, sc,
	    "Received: from inner (inner.example.org [10.1.2.3]) by\n"
	    "\tlocal.example.org (Postfix) with ESMTP id X1; Mon, 1 Jan 2024 "
	    "00:00:00 +0000\n"
	    "Received: from helo.example.net (mx.example.com [192.0.2.7])\n"
	    "\tby mail.example.org (8.12.0/8.12.0) with ESMTP id ABC123;\n"
	    "\tMon, 1 Jan 2024 00:00:00 +0000\n"
	    "Received: from pc1 ([198.51.100.9]) by helo.example.net with "
	    "ESMTPA id Q; Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Subject: relays\n\nbody\n", NULL, &n, &m);
	assert_non_null(find(h, n, "R_FIRST"));
	assert_non_null(find(h, n, "R_TRUSTED"));
	assert_non_null(find(h, n, "R_TWO"));
	assert_non_null(find(h, n, "R_AUTH"));
	assert_non_null(find(h, n, "ALL_EXT"));
	assert_null(find(h, n, "ALL_EXT_NOT_TOP"));
	assert_non_null(find(h, n, "ALL_TRUST"));
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	struct sbuf b = SBUF_INIT;
	char buf[4096];
	size_t k;

	if (fp == NULL)
		fail_msg("%s: cannot open", path);
	while ((k = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&b, buf, k);
	fclose(fp);
	*len = b.len;
	return b.p;
}

static double
score_file(const struct rule_set *rs, struct rule_scratch *sc,
    const char *path, enum score_verdict *v, int *gtube)
{
	struct score_thresholds th;
	struct score_card card;
	const struct rule_hit *h;
	struct msg *m;
	size_t n, i, len;
	char *raw = slurp(path, &len);
	double s;

	m = msg_parse(raw, len, NULL);
	h = rule_eval(rs, sc, NULL, m, &n);
	score_card_init(&card);
	for (i = 0; i < n; i++)
		if (!(h[i].flags & (RULE_HIT_SUB | RULE_HIT_LIMIT)))
			score_card_add(&card, h[i].name, h[i].score *
			    h[i].count, h[i].count, h[i].desc, "rules");
	*gtube = find(h, n, "MOAT_GTUBE") != NULL;
	score_thresholds_default(&th);
	*v = score_verdict(&card, &th);
	s = score_card_total(&card);
	score_card_free(&card);
	msg_free(m);
	free(raw);
	return s;
}

static void
test_default_rules_samples(void **state)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	enum score_verdict v;
	int gtube;
	double s;

	(void)state;
	if (rule_builder_add_file(b, TOP_SRCDIR "/rules/default.rules",
	    RULE_FMT_AUTO, &err) != 0)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	rs = rule_builder_finish(b, NULL, &err);
	assert_non_null(rs);
	s = score_file(rs, sc, TOP_SRCDIR
	    "/tests/unit/data/engine/sample-spam.txt", &v, &gtube);
	assert_true(gtube);
	assert_true(s >= 1000);
	assert_int_equal(v, SCORE_REJECT);
	s = score_file(rs, sc, TOP_SRCDIR
	    "/tests/unit/data/engine/sample-nonspam.txt", &v, &gtube);
	assert_false(gtube);
	assert_true(s < 5.0);
	assert_int_equal(v, SCORE_ACCEPT);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_and_counts),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_meta_values),
		cmocka_unit_test(test_lazy),
		cmocka_unit_test(test_cheap_first),
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_latin1_fold),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_capture_template),
		cmocka_unit_test(test_big_pattern),
		cmocka_unit_test(test_core),
		cmocka_unit_test(test_depth_bounds),
		cmocka_unit_test(test_relays),
		cmocka_unit_test(test_prefilter),
		cmocka_unit_test(test_brace_quantifier),
		cmocka_unit_test(test_prefilter_sets),
		cmocka_unit_test(test_prefilter_headers),
		cmocka_unit_test(test_unset_memo),
		cmocka_unit_test(test_prefilter_header_texts),
		cmocka_unit_test(test_default_rules_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
