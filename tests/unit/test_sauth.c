/*
 * test_sauth.c: the pure half of sender authentication
 * (engine/sauth_ar.c): every result -> facts mapping, and that each fact
 * fires exactly its rule of rules/auth.rules through the real rule
 * engine; the Authentication-Results writer (exact text, hostile domains
 * quoted, never a line break) and its authserv-id parser (comments,
 * quoted-string, version, malformed input); the DNS list syntax and
 * answer filters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbuf.h"
#include "msg.h"
#include "rule.h"
#include "engine/sauth.h"

static struct sauth_results
base(void)
{
	struct sauth_results r;

	memset(&r, 0, sizeof(r));
	r.spf = r.spf_helo = r.dmarc = SAUTH_SKIPPED;
	return r;
}

static void
add_sig(struct sauth_results *r, enum sauth_res res, const char *d,
    const char *s)
{
	struct sauth_sig *g = &r->sigs[r->nsigs++];

	g->res = res;
	snprintf(g->domain, sizeof(g->domain), "%s", d);
	snprintf(g->selector, sizeof(g->selector), "%s", s);
}

static char *
facts_of(const struct sauth_results *r)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "");
	sauth_facts(r, &sb);
	sbuf_addc(&sb, '\0');
	return sb.p;
}

static void
expect_facts(const struct sauth_results *r, const char *want)
{
	char *got = facts_of(r);

	assert_string_equal(got, want);
	free(got);
}

static void
test_res_names(void **state)
{
	enum sauth_res r, back;

	(void)state;
	for (r = SAUTH_NONE; r <= SAUTH_SKIPPED; r++) {
		const char *n = sauth_res_name(r);

		assert_int_equal(sauth_res_parse(n, strlen(n), &back), 0);
		assert_int_equal(back, r);
	}
	assert_int_equal(sauth_res_parse("PASS", 4, &back), 0);
	assert_int_equal(back, SAUTH_PASS);
	assert_int_equal(sauth_res_parse("passx", 5, &back), -1);
	assert_int_equal(sauth_res_parse("pas", 3, &back), -1);
	assert_string_equal(sauth_res_name((enum sauth_res)99), "none");
}

static void
test_facts_spf(void **state)
{
	static const struct {
		enum sauth_res	res;
		const char	*word;
	} t[] = {
		{ SAUTH_PASS, "PASS" }, { SAUTH_FAIL, "FAIL" },
		{ SAUTH_SOFTFAIL, "SOFTFAIL" }, { SAUTH_NEUTRAL, "NEUTRAL" },
		{ SAUTH_NONE, "NONE" }, { SAUTH_TEMPERROR, "TEMPERROR" },
		{ SAUTH_PERMERROR, "PERMERROR" },
	};
	struct sauth_results r;
	char want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = base();
		r.spf = t[i].res;
		r.spf_helo = t[i].res;
		snprintf(want, sizeof(want), " SPF_%s SPF_HELO_%s", t[i].word,
		    t[i].word);
		expect_facts(&r, want);
	}
	/* Skipped checks and "policy" (not an SPF result) add nothing. */
	r = base();
	expect_facts(&r, "");
	r.spf = SAUTH_POLICY;
	expect_facts(&r, "");
}

static void
test_facts_dkim(void **state)
{
	struct sauth_results r;

	(void)state;
	r = base();
	snprintf(r.from_domain, sizeof(r.from_domain), "example.org");
	add_sig(&r, SAUTH_PASS, "Example.ORG", "s1");
	expect_facts(&r, " DKIM_SIGNED DKIM_VALID DKIM_VALID_AU");

	/* A valid third-party signature is not _AU. */
	r = base();
	snprintf(r.from_domain, sizeof(r.from_domain), "example.org");
	add_sig(&r, SAUTH_PASS, "mailer.example", "s1");
	expect_facts(&r, " DKIM_SIGNED DKIM_VALID");

	/* Nor is a parent domain's (exact match, as SpamAssassin). */
	r = base();
	snprintf(r.from_domain, sizeof(r.from_domain), "mail.example.org");
	add_sig(&r, SAUTH_PASS, "example.org", "s1");
	expect_facts(&r, " DKIM_SIGNED DKIM_VALID");

	r = base();
	add_sig(&r, SAUTH_FAIL, "example.org", "s1");
	expect_facts(&r, " DKIM_SIGNED DKIM_INVALID");
	r = base();
	add_sig(&r, SAUTH_PERMERROR, "example.org", "s1");
	expect_facts(&r, " DKIM_SIGNED DKIM_INVALID");

	/* One good signature among bad ones: valid, not invalid. */
	r = base();
	add_sig(&r, SAUTH_FAIL, "a.example", "s1");
	add_sig(&r, SAUTH_PASS, "b.example", "s1");
	expect_facts(&r, " DKIM_SIGNED DKIM_VALID");

	/* A key we could not fetch proves nothing either way. */
	r = base();
	add_sig(&r, SAUTH_TEMPERROR, "example.org", "s1");
	expect_facts(&r, " DKIM_SIGNED");
}

static void
test_facts_dmarc(void **state)
{
	struct sauth_results r;

	(void)state;
	r = base();
	r.dmarc = SAUTH_PASS;
	expect_facts(&r, " DMARC_PASS");
	r.dmarc = SAUTH_FAIL;
	r.dmarc_policy = SAUTH_P_REJECT;
	expect_facts(&r, " DMARC_REJECT");
	r.dmarc_policy = SAUTH_P_QUARANTINE;
	expect_facts(&r, " DMARC_QUARANTINE");
	r.dmarc_policy = SAUTH_P_NONE;
	expect_facts(&r, " DMARC_NONE");
	r.dmarc_policy = SAUTH_P_UNKNOWN;
	expect_facts(&r, " DMARC_NONE");
	r.dmarc = SAUTH_NONE;		/* no record: no fact */
	expect_facts(&r, "");
	r.dmarc = SAUTH_TEMPERROR;
	expect_facts(&r, " DMARC_TEMPERROR");
	r.dmarc = SAUTH_PERMERROR;
	expect_facts(&r, " DMARC_PERMERROR");
}

/* Each fact word fires its own rule in rules/auth.rules and no other. */
static void
test_facts_fire_rules(void **state)
{
	static const char *const words[] = {
		"SPF_PASS", "SPF_FAIL", "SPF_SOFTFAIL", "SPF_NEUTRAL",
		"SPF_NONE", "SPF_PERMERROR", "SPF_HELO_PASS", "SPF_HELO_FAIL",
		"SPF_HELO_SOFTFAIL", "SPF_HELO_NEUTRAL", "SPF_HELO_NONE",
		"SPF_HELO_PERMERROR", "DKIM_SIGNED", "DKIM_VALID",
		"DKIM_VALID_AU", "DKIM_INVALID", "DMARC_PASS", "DMARC_REJECT",
		"DMARC_QUARANTINE", "DMARC_NONE", "DNSBL_HIT", "DNSBL_ALLOW",
		"RHSBL_HIT", "URIBL_HIT",
	};
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;
	struct rule_scratch *sc = rule_scratch_new();
	struct rule_env env;
	const struct rule_hit *h;
	char facts[64];
	size_t i, n;

	(void)state;
	if (rule_builder_add_file(b, TOP_SRCDIR "/rules/auth.rules",
	    RULE_FMT_NATIVE, &err) != 0)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		memset(&env, 0, sizeof(env));
		snprintf(facts, sizeof(facts), "tls %s auth", words[i]);
		env.facts = facts;
		env.client_addr = "192.0.2.1";
		h = rule_eval(rs, sc, &env, NULL, &n);
		assert_int_equal(n, 1);
		assert_string_equal(h[0].name, words[i]);
	}
	/* SPF_HELO_PASS must not fire SPF_PASS (word boundaries). */
	memset(&env, 0, sizeof(env));
	env.facts = "SPF_HELO_PASS";
	env.client_addr = "192.0.2.1";
	h = rule_eval(rs, sc, &env, NULL, &n);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].name, "SPF_HELO_PASS");
	/* Temporary errors score 0 by default: no hit. */
	env.facts = "SPF_TEMPERROR SPF_HELO_TEMPERROR";
	h = rule_eval(rs, sc, &env, NULL, &n);
	assert_int_equal(n, 0);
	rule_scratch_free(sc);
	rule_set_unref(rs);
}

#define SA_STOCK	"/usr/share/spamassassin"

static const struct rule_hit *
find_hit(const struct rule_hit *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			return &h[i];
	return NULL;
}

/*
 * SpamAssassin's stock rules define SPF_PASS, DKIM_VALID, ... as network
 * evals moat skips, with stock scores (SPF_FAIL's first is 0), and use
 * them in metas.  With both loaded, in either order, ours decide (score
 * and description), and the stock metas see our hits.
 */
static void
test_auth_rules_over_sa_stock(void **state)
{
	static const char text[] =
	    "From: Alice<alice@forged.test>\r\nTo: bob@example.test\r\n"
	    "Subject: hi\r\nDKIM-Signature: v=1; d=forged.test; s=s\r\n"
	    "\r\nbody\r\n";
	struct sauth_results r = base();
	struct sbuf facts = SBUF_INIT;
	struct rule_scratch *sc;
	struct rule_env env;
	const struct rule_hit *h, *x;
	struct msg *m;
	char site[] = "/tmp/test_sauth.XXXXXX", pre[64], tune[64];
	FILE *f;
	int order;
	size_t n;

	(void)state;
	if (access(SA_STOCK "/25_spf.cf", R_OK) != 0)
		skip();
	/* The site directory loads the plugins whose stock rules define
	 * the names (Debian's v310.pre, v341.pre do), and nothing else. */
	assert_non_null(mkdtemp(site));
	snprintf(pre, sizeof(pre), "%s/plugins.pre", site);
	assert_non_null(f = fopen(pre, "w"));
	fputs("loadplugin Mail::SpamAssassin::Plugin::SPF\n"
	    "loadplugin Mail::SpamAssassin::Plugin::DKIM\n"
	    "loadplugin Mail::SpamAssassin::Plugin::Dmarc\n", f);
	fclose(f);
	/* A site's own score line, read after auth.rules, still tunes it. */
	snprintf(tune, sizeof(tune), "%s/tune.cf", site);
	assert_non_null(f = fopen(tune, "w"));
	fputs("score SPF_HELO_NONE 0.7\n", f);
	fclose(f);
	r.spf = SAUTH_FAIL;
	r.spf_helo = SAUTH_NONE;
	r.nsigs = 1;
	r.sigs[0].res = SAUTH_FAIL;
	snprintf(r.sigs[0].domain, sizeof(r.sigs[0].domain), "forged.test");
	sauth_facts(&r, &facts);
	sbuf_addc(&facts, '\0');
	m = msg_parse(text, sizeof(text) - 1, NULL);
	sc = rule_scratch_new();
	for (order = 0; order < 2; order++) {
		struct rule_builder *b = rule_builder_new();
		struct rule_error err;
		struct rule_set *rs;

		memset(&err, 0, sizeof(err));
		if ((order == 0 && rule_builder_add_sa_dirs(b, SA_STOCK,
		    site, &err) != 0) ||
		    rule_builder_add_file(b, TOP_SRCDIR "/rules/auth.rules",
		    RULE_FMT_NATIVE, &err) != 0 ||
		    (order == 1 && rule_builder_add_sa_dirs(b, SA_STOCK,
		    site, &err) != 0))
			fail_msg("%s:%d: %s", err.file, err.line, err.msg);
		if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
			fail_msg("%s:%d: %s", err.file, err.line, err.msg);
		memset(&env, 0, sizeof(env));
		env.facts = facts.p;
		env.client_addr = "198.51.100.9";
		env.mail_from = "alice@forged.test";
		h = rule_eval(rs, sc, &env, m, &n);
		if ((x = find_hit(h, n, "SPF_FAIL")) == NULL)
			fail_msg("order %d: SPF_FAIL did not hit", order);
		assert_true(x->score == 3.0);
		assert_string_equal(x->desc, "SPF: the sender's domain says "
		    "this client may not send for it");
		if ((x = find_hit(h, n, "DKIM_INVALID")) == NULL)
			fail_msg("order %d: DKIM_INVALID did not hit", order);
		assert_true(x->score == 0.1);
		if ((x = find_hit(h, n, "SPF_HELO_NONE")) == NULL)
			fail_msg("order %d: SPF_HELO_NONE did not hit", order);
		/* Order 1 reads the site's tune.cf after auth.rules. */
		assert_true(x->score == (order == 1 ? 0.7 : 0.1));
		/* Stock metas over our hits. */
		if (find_hit(h, n, "FROM_MISSP_SPF_FAIL") == NULL)
			fail_msg("order %d: stock meta FROM_MISSP_SPF_FAIL "
			    "did not see SPF_FAIL", order);
		assert_null(find_hit(h, n, "SPF_PASS"));
		assert_null(find_hit(h, n, "DKIM_VALID"));
		rule_set_unref(rs);
	}
	rule_scratch_free(sc);
	msg_free(m);
	sbuf_free(&facts);
	unlink(pre);
	unlink(tune);
	rmdir(site);
}

static char *
ar_of(const char *id, const struct sauth_results *r)
{
	struct sbuf sb = SBUF_INIT;

	sauth_ar_write(id, r, &sb);
	sbuf_addc(&sb, '\0');
	return sb.p;
}

static void
test_ar_write(void **state)
{
	struct sauth_results r;
	char *s;

	(void)state;
	r = base();
	s = ar_of("mx.example.net", &r);
	assert_string_equal(s,
	    "Authentication-Results: mx.example.net; none\r\n");
	free(s);

	r.spf = SAUTH_PASS;
	snprintf(r.spf_domain, sizeof(r.spf_domain), "example.org");
	add_sig(&r, SAUTH_PASS, "example.org", "sel");
	add_sig(&r, SAUTH_FAIL, "other.example", "k2");
	snprintf(r.sigs[1].reason, sizeof(r.sigs[1].reason),
	    "body hash mismatch");
	r.dmarc = SAUTH_PASS;
	snprintf(r.from_domain, sizeof(r.from_domain), "example.org");
	s = ar_of("mx.example.net", &r);
	assert_string_equal(s,
	    "Authentication-Results: mx.example.net;\r\n"
	    "\tspf=pass smtp.mailfrom=example.org;\r\n"
	    "\tdkim=pass header.d=example.org header.s=sel;\r\n"
	    "\tdkim=fail reason=\"body hash mismatch\" header.d=other.example"
	    " header.s=k2;\r\n"
	    "\tdmarc=pass header.from=example.org\r\n");
	free(s);

	/* Null sender: the HELO identity. */
	r = base();
	r.spf = SAUTH_FAIL;
	snprintf(r.helo, sizeof(r.helo), "mail.example.org");
	s = ar_of("mx", &r);
	assert_string_equal(s, "Authentication-Results: mx;\r\n"
	    "\tspf=fail smtp.helo=mail.example.org\r\n");
	free(s);
}

/* A hostile d= cannot end the header or add a method of its own. */
static void
test_ar_write_hostile(void **state)
{
	struct sauth_results r;
	char *s, *p;

	(void)state;
	r = base();
	add_sig(&r, SAUTH_PASS, "evil.example\r\nX-Spam: no; dkim=pass",
	    "a\"b\\c");
	s = ar_of("mx", &r);
	assert_string_equal(s, "Authentication-Results: mx;\r\n"
	    "\tdkim=pass header.d=\"evil.exampleX-Spam: no; dkim=pass\" "
	    "header.s=\"a\\\"b\\\\c\"\r\n");
	/* The only line breaks are our folds and the final CRLF. */
	for (p = s; (p = strchr(p, '\n')) != NULL; p++)
		assert_true(p[1] == '\t' || p[1] == '\0');
	free(s);
}

static void
expect_id(const char *v, const char *want)
{
	char id[64];

	if (want == NULL) {
		assert_int_equal(sauth_ar_authserv_id(v, strlen(v), id,
		    sizeof(id)), -1);
		return;
	}
	assert_int_equal(sauth_ar_authserv_id(v, strlen(v), id, sizeof(id)),
	    0);
	assert_string_equal(id, want);
}

static void
test_ar_parse(void **state)
{
	(void)state;
	expect_id(" mx.example.net; spf=pass", "mx.example.net");
	expect_id("mx.example.net", "mx.example.net");
	expect_id(" mx.example.net 1; none", "mx.example.net");
	expect_id(" (c (nested) \\) x) mx (why) ; none", "mx");
	expect_id("\r\n\tmx;\r\n\tdkim=pass", "mx");
	expect_id(" \"quoted id\"; none", "quoted id");
	expect_id(" \"q\\\"x\"; none", "q\"x");
	expect_id("", NULL);
	expect_id("   ", NULL);
	expect_id(" ; spf=pass", NULL);
	expect_id(" (unterminated mx; none", NULL);
	expect_id(" \"unterminated; none", NULL);
	expect_id(" mx extra; none", NULL);
	expect_id(" mx=1; none", NULL);
	/* qtext has no NUL or controls (RFC 5322 3.2.4): a NUL would cut
	 * the id short (found by fuzz_authres). */
	{
		static const char nul[] = " \"\0mx\"; none";
		static const char ctl[] = " \"m\x01x\"; none";
		char id[64];

		assert_int_equal(sauth_ar_authserv_id(nul, sizeof(nul) - 1, id,
		    sizeof(id)), -1);
		assert_int_equal(sauth_ar_authserv_id(ctl, sizeof(ctl) - 1, id,
		    sizeof(id)), -1);
	}
	/* Too long for the caller's buffer. */
	expect_id(" 0123456789012345678901234567890123456789012345678901234"
	    "56789012345; none", NULL);
}

static void
test_ar_is_ours(void **state)
{
	static const char *const ours[] = {
		"Authentication-Results: mx.example.net; spf=pass",
		"authentication-results:MX.Example.NET; none",
		"Authentication-Results : mx.example.net 1; none",
		"Authentication-Results: (fake) \"mx.example.net\"; dkim=pass",
		/* Malformed: cannot be shown to be someone else's. */
		"Authentication-Results: (unterminated",
		"Authentication-Results:",
	};
	static const char *const theirs[] = {
		"Authentication-Results: mx.example.com; spf=pass",
		"Authentication-Results: example.net; spf=pass",
		"Authentication-Results-Original: mx.example.net; none",
		"ARC-Authentication-Results: i=1; mx.example.net; none",
		"X-Authentication-Results: mx.example.net; none",
		"Subject: Authentication-Results: mx.example.net",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (!sauth_ar_is_ours(ours[i], strlen(ours[i]),
		    "mx.example.net"))
			fail_msg("not ours: %s", ours[i]);
	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		if (sauth_ar_is_ours(theirs[i], strlen(theirs[i]),
		    "mx.example.net"))
			fail_msg("ours: %s", theirs[i]);
}

/* Strip a header block; return the result as a string. */
static char *
strip_of(const char *hdr, int *removed)
{
	struct sbuf sb = SBUF_INIT;
	char *s;

	*removed = sauth_ar_strip(hdr, strlen(hdr), "mx.example.net", &sb);
	s = malloc(sb.len + 1);
	assert_non_null(s);
	memcpy(s, sb.p != NULL ? sb.p : "", sb.len);
	s[sb.len] = '\0';
	sbuf_free(&sb);
	return s;
}

/* RFC 8601 5: every field with our authserv-id goes, folds and all; every
 * other byte of the block stays as it was. */
static void
test_ar_strip(void **state)
{
	static const struct {
		const char *in, *out;
		int removed;
	} cases[] = {
		{ "", "", 0 },
		{ "Subject: hi\r\n", "Subject: hi\r\n", 0 },
		{ "Authentication-Results: mx.example.net; spf=pass\r\n"
		  "Subject: hi\r\n", "Subject: hi\r\n", 1 },
		/* Folded, with the id only on a continuation line. */
		{ "Received: x\r\nAuthentication-Results:\r\n"
		  "\tmx.example.net;\r\n\tdkim=pass\r\nTo: b\r\n",
		  "Received: x\r\nTo: b\r\n", 1 },
		/* Someone else's stays, byte for byte, folds too. */
		{ "Authentication-Results: mx.example.com;\r\n spf=pass\r\n"
		  "authentication-results: (c) \"MX.example.NET\" 1; none\r\n",
		  "Authentication-Results: mx.example.com;\r\n spf=pass\r\n",
		  1 },
		/* Malformed: cannot be shown to be someone else's. */
		{ "Authentication-Results: (open\r\nX: y\r\n", "X: y\r\n", 1 },
		/* Bare LF line ends, several of ours, the last unterminated. */
		{ "Authentication-Results: mx.example.net; none\n"
		  "From: a\nAuthentication-Results: mx.example.net; none",
		  "From: a\n", 2 },
		/* The body is not a header: an A-R line there stays. */
		{ "From: a\r\n\r\nAuthentication-Results: mx.example.net; "
		  "none\r\n", "From: a\r\n\r\nAuthentication-Results: "
		  "mx.example.net; none\r\n", 0 },
		/* Look-alike names are other fields. */
		{ "ARC-Authentication-Results: i=1; mx.example.net; none\r\n"
		  "Authentication-Results-Original: mx.example.net; none\r\n",
		  "ARC-Authentication-Results: i=1; mx.example.net; none\r\n"
		  "Authentication-Results-Original: mx.example.net; none\r\n",
		  0 },
		/* A continuation line before any field is kept as it is. */
		{ " stray\r\nAuthentication-Results: mx.example.net; none\r\n",
		  " stray\r\n", 1 },
	};
	size_t i;
	int removed;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = strip_of(cases[i].in, &removed);
		if (strcmp(s, cases[i].out) != 0 ||
		    removed != cases[i].removed)
			fail_msg("case %zu: got \"%s\" (%d removed)", i, s,
			    removed);
		free(s);
	}
}

/* What we write, we parse back as ours. */
static void
test_ar_roundtrip(void **state)
{
	struct sauth_results r;
	char *s;

	(void)state;
	r = base();
	r.spf = SAUTH_SOFTFAIL;
	snprintf(r.spf_domain, sizeof(r.spf_domain), "example.org");
	s = ar_of("mx.example.net", &r);
	assert_true(sauth_ar_is_ours(s, strlen(s), "mx.example.net"));
	assert_false(sauth_ar_is_ours(s, strlen(s), "mx2.example.net"));
	free(s);
	s = ar_of("odd id", &r);
	assert_true(sauth_ar_is_ours(s, strlen(s), "odd id"));
	free(s);
}

static void
test_sites(void **state)
{
	struct sauth_sites s;
	char msg[128];

	(void)state;
	assert_int_equal(sauth_sites_parse("zen.spamhaus.org*3 "
	    "bl.spamcop.net=127.0.0.2*2, list.dnswl.org=127.0.[0..255].[1;2]*-2"
	    " b.barracudacentral.org", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.site[0].zone, "zen.spamhaus.org");
	assert_string_equal(s.site[0].filter, "");
	assert_int_equal(s.site[0].weight, 3);
	assert_string_equal(s.site[1].filter, "127.0.0.2");
	assert_int_equal(s.site[1].weight, 2);
	assert_int_equal(s.site[2].weight, -2);
	assert_int_equal(s.site[3].weight, 1);

	assert_true(sauth_site_match(&s.site[0], "127.0.0.4"));
	assert_false(sauth_site_match(&s.site[0], "10.0.0.4"));
	assert_true(sauth_site_match(&s.site[1], "127.0.0.2"));
	assert_false(sauth_site_match(&s.site[1], "127.0.0.3"));
	assert_false(sauth_site_match(&s.site[1], "127.0.0.20"));
	assert_true(sauth_site_match(&s.site[2], "127.0.9.1"));
	assert_true(sauth_site_match(&s.site[2], "127.0.9.2"));
	assert_false(sauth_site_match(&s.site[2], "127.0.9.3"));
	assert_false(sauth_site_match(&s.site[2], "127.1.9.1"));
	assert_false(sauth_site_match(&s.site[2], "127.0.9.1.5"));
	assert_false(sauth_site_match(&s.site[2], "garbage"));

	assert_int_equal(sauth_sites_parse("", &s, msg, sizeof(msg)), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(sauth_sites_parse("nodot", &s, msg, sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a.b*x", &s, msg, sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a.b*", &s, msg, sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a.b*5000", &s, msg, sizeof(msg)),
	    -1);
	assert_int_equal(sauth_sites_parse("a.b=127.0.0", &s, msg,
	    sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a.b=127.0.0.[2", &s, msg,
	    sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a.b=127.0.0.[2..]", &s, msg,
	    sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a.b=127.0.0.1234", &s, msg,
	    sizeof(msg)), -1);
	assert_int_equal(sauth_sites_parse("a;b.c", &s, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "not a DNS zone"));
}

static void
expect_host(const char *uri, const char *want)
{
	char h[64];
	int rc = sauth_uri_host(uri, strlen(uri), h, sizeof(h));

	if (want == NULL) {
		if (rc != -1)
			fail_msg("%s gave %s", uri, h);
		return;
	}
	if (rc != 0)
		fail_msg("%s: no host", uri);
	assert_string_equal(h, want);
}

static void
test_uri_host(void **state)
{
	(void)state;
	expect_host("http://www.Example.COM/x?y", "www.example.com");
	expect_host("https://example.com.", "example.com");
	expect_host("HTTPS://user:pw@evil.example:8080/#x", "evil.example");
	expect_host("http://good.example@evil.example/", "evil.example");
	expect_host("ftp://files.example.org", "files.example.org");
	expect_host("www.example.net/path", "www.example.net");
	expect_host("mailto:bob@Lists.Example.org?subject=x",
	    "lists.example.org");
	expect_host("http://192.0.2.1/", NULL);		/* an address */
	expect_host("http://[2001:db8::1]/", NULL);
	expect_host("javascript:alert(1)", NULL);
	expect_host("http:///x", NULL);
	expect_host("http://nodot/", NULL);
	expect_host("http://a..b.example/", NULL);
	expect_host("http://bad host.example/", NULL);
	expect_host("mailto:nobody", NULL);
	expect_host("http://0123456789012345678901234567890123456789012345"
	    "678901234567890.example/", NULL);		/* too long */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_res_names),
		cmocka_unit_test(test_facts_spf),
		cmocka_unit_test(test_facts_dkim),
		cmocka_unit_test(test_facts_dmarc),
		cmocka_unit_test(test_facts_fire_rules),
		cmocka_unit_test(test_auth_rules_over_sa_stock),
		cmocka_unit_test(test_ar_write),
		cmocka_unit_test(test_ar_write_hostile),
		cmocka_unit_test(test_ar_parse),
		cmocka_unit_test(test_ar_is_ours),
		cmocka_unit_test(test_ar_roundtrip),
		cmocka_unit_test(test_ar_strip),
		cmocka_unit_test(test_sites),
		cmocka_unit_test(test_uri_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
