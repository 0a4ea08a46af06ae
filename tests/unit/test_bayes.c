/*
 * test_bayes.c: the Bayes tokenizer (rules/bayes_tok.c) and combiner
 * (scoring/bayes.c).  The combiner's expected values are worked out by
 * hand from Robinson's and Fisher's formulas (bayes.h), not taken from
 * the code under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bayes.h"
#include "bayes_tok.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

/* ---- tokenizer --------------------------------------------------------- */

struct seen {
	struct sbuf	all;	/* "\n" + every token + "\n" */
	size_t		n;
};

static int
seen_cb(void *arg, const char *tok, size_t len)
{
	struct seen *s = arg;

	if (s->all.len == 0)
		sbuf_addc(&s->all, '\n');
	sbuf_add(&s->all, tok, len);
	sbuf_addc(&s->all, '\n');
	s->n++;
	return 0;
}

static int
has(const struct seen *s, const char *tok)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "\n%s\n", tok);
	return s->all.p != NULL && strstr(s->all.p, buf) != NULL;
}

static void
walk(const char *raw, struct seen *s)
{
	struct msg *m = msg_parse(raw, strlen(raw), NULL);

	memset(s, 0, sizeof(*s));
	bayes_tok_walk(m, seen_cb, s);
	msg_free(m);
}

static const char msg1[] =
    "Received: from mx.sender.example (mx.sender.example [192.0.2.17])\n"
    "\tby mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000\n"
    "From: Bob Seller <bob@mail.example.com>\n"
    "To: alice@example.org\n"
    "Subject: Free MONEY now\n"
    "Message-ID: <20240101.abc123@mail.example.com>\n"
    "X-Spam-Status: Yes, score=99\n"
    "X-Mailer: SpamBot 2.0\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "Cheap pills here at $19.99, visit http://www.shop.example.net/buy/now\n"
    "Supercalifragilisticexpialidocious deals.\n";

static void
test_tok_fields(void **state)
{
	struct seen s;

	(void)state;
	walk(msg1, &s);
	/* body words, lower-cased; pairs at distance 1 and 2 */
	assert_true(has(&s, "cheap"));
	assert_true(has(&s, "pills"));
	assert_true(has(&s, "2:cheap pills"));
	assert_true(has(&s, "3:cheap here"));
	/* too short */
	assert_false(has(&s, "at"));
	/* a number becomes its shape; a long word a skip token */
	assert_true(has(&s, "n:$9.9"));
	assert_true(has(&s, "sk:superca"));
	assert_false(has(&s, "supercalifragilisticexpialidocious"));
	/* the Subject by field, not as a body word */
	assert_true(has(&s, "S:free"));
	assert_true(has(&s, "S:money"));
	/* written in capitals: also a token of its own */
	assert_true(has(&s, "S:c:money"));
	assert_false(has(&s, "S:c:free"));
	assert_false(has(&s, "free"));
	/* addresses and their domains */
	assert_true(has(&s, "F:bob@mail.example.com"));
	assert_true(has(&s, "F:@mail.example.com"));
	assert_true(has(&s, "F:@example.com"));
	assert_true(has(&s, "FN:seller"));
	assert_true(has(&s, "T:alice@example.org"));
	/* Received hosts and the client's /24 */
	assert_true(has(&s, "R:mx.sender.example"));
	assert_true(has(&s, "R:192.0.2"));
	/* Message-ID shape and domain, X-Mailer words, charset */
	assert_true(has(&s, "MID:<9.a9"));
	assert_true(has(&s, "MID@mail.example.com"));
	assert_true(has(&s, "x-mailer:spambot"));
	assert_true(has(&s, "content-type:charset"));
	assert_true(has(&s, "content-type:us-ascii"));
	/* presence of fields, but never an upstream filter's verdict */
	assert_true(has(&s, "H:x-mailer"));
	assert_false(has(&s, "H:x-spam-status"));
	assert_false(has(&s, "x-spam-status:yes"));
	/* URI host, its parents, first path segment */
	assert_true(has(&s, "U:www.shop.example.net"));
	assert_true(has(&s, "U:example.net"));
	assert_true(has(&s, "UP:buy"));
	sbuf_free(&s.all);
}

static void
test_tok_html(void **state)
{
	struct seen s;

	(void)state;
	walk("Subject: x\nContent-Type: text/html\n\n<html><body bgcolor="
	    "\"#fff\">\n<FONT size=1 color=red>Buy</font><br>\n<a\n"
	    "href=\"http://x.example/\">now</a> a < b <verylongtagname1>"
	    "</body>", &s);
	assert_true(has(&s, "<:html"));
	assert_true(has(&s, "<:font"));	/* case folded */
	assert_true(has(&s, "<=bgcolor"));
	assert_true(has(&s, "<=size"));
	assert_true(has(&s, "<=color"));
	assert_true(has(&s, "<=href"));	/* after a line break */
	assert_true(has(&s, "<:a"));
	assert_false(has(&s, "<:verylongtagname"));
	/* the rendered words are still there */
	assert_true(has(&s, "buy"));
	sbuf_free(&s.all);
}

static void
test_tok_set(void **state)
{
	struct bayes_toks t;
	struct msg *m = msg_parse(msg1, sizeof(msg1) - 1, NULL);
	struct seen s;
	size_t i, n;

	(void)state;
	memset(&t, 0, sizeof(t));
	n = bayes_tokenize(m, &t);
	walk(msg1, &s);
	assert_true(n > 20);
	assert_true(n <= s.n);
	for (i = 1; i < n; i++)
		assert_true(t.v[i - 1] < t.v[i]);	/* sorted, distinct */
	/* the same message, the same set, on reuse of t */
	{
		uint64_t *copy = xcalloc(n, sizeof(uint64_t));

		memcpy(copy, t.v, n * sizeof(uint64_t));
		assert_int_equal(bayes_tokenize(m, &t), n);
		assert_memory_equal(copy, t.v, n * sizeof(uint64_t));
		free(copy);
	}
	assert_int_equal(t.full, 0);
	bayes_toks_free(&t);
	msg_free(m);
	sbuf_free(&s.all);
}

/* A message of 50,000 different words still gives BAYES_TOK_MAX tokens. */
static void
test_tok_bound(void **state)
{
	struct sbuf b = SBUF_INIT;
	struct bayes_toks t;
	struct msg *m;
	int i;

	(void)state;
	sbuf_adds(&b, "Subject: big\n\n");
	for (i = 0; i < 50000; i++)
		sbuf_printf(&b, "w%xq%s", i * 7919, i % 10 ? " " : "\n");
	m = msg_parse(b.p, b.len, NULL);
	memset(&t, 0, sizeof(t));
	assert_int_equal(bayes_tokenize(m, &t), BAYES_TOK_MAX);
	assert_int_equal(t.full, 1);
	for (i = 1; i < BAYES_TOK_MAX; i++)
		assert_true(t.v[i - 1] < t.v[i]);	/* sorted, distinct */
	bayes_toks_free(&t);
	msg_free(m);
	sbuf_free(&b);
}

static void
digest(const char *raw, uint8_t out[16])
{
	struct msg *m = msg_parse(raw, strlen(raw), NULL);

	bayes_tok_digest(m, out);
	msg_free(m);
}

/* The copy saved from a mailbox, fields added on the way, is the same. */
static void
test_tok_digest(void **state)
{
	uint8_t a[16], b[16], c[16];

	(void)state;
	digest("Message-ID: <1@x>\nSubject: a\n\nbody text\n", a);
	digest("Return-Path: <z@y>\nReceived: from a by b\nX-Spam-Flag: YES\n"
	    "Message-ID: <1@x>\nSubject: a\n\nbody text\n", b);
	assert_memory_equal(a, b, 16);
	digest("Message-ID: <1@x>\nSubject: a\n\nother text\n", c);
	assert_memory_not_equal(a, c, 16);
	digest("Message-ID: <2@x>\nSubject: a\n\nbody text\n", c);
	assert_memory_not_equal(a, c, 16);
}

/* ---- combiner ---------------------------------------------------------- */

static void
test_token_prob(void **state)
{
	struct bayes_params p;
	struct bayes_counts c;

	(void)state;
	bayes_params_default(&p);
	/* 10 spam, 0 ham of 200/200: p(w) = 1, f = (0.16*0.538 + 10) /
	 * 10.16 = 10.08608 / 10.16 */
	c.spam = 10;
	c.ham = 0;
	assert_float_equal(bayes_token_prob(&p, &c, 200, 200), 0.9927244094,
	    1e-9);
	/* a ham hapax: f = 0.08608 / 1.16 */
	c.spam = 0;
	c.ham = 1;
	assert_float_equal(bayes_token_prob(&p, &c, 200, 200), 0.0742068966,
	    1e-9);
	/* 5 and 5 of 100 spam and 200 ham: p(w) = 0.05 / 0.075 = 2/3,
	 * f = (0.08608 + 10 * 2/3) / 10.16 */
	c.spam = 5;
	c.ham = 5;
	assert_float_equal(bayes_token_prob(&p, &c, 100, 200), 0.6646404199,
	    1e-9);
	/* never seen: no evidence */
	c.spam = c.ham = 0;
	assert_true(bayes_token_prob(&p, &c, 200, 200) < 0);
}

static void
test_chi2q(void **state)
{
	(void)state;
	/* v = 2: exp(-x/2) */
	assert_float_equal(bayes_chi2q(2.0, 2), exp(-1.0), 1e-12);
	/* v = 6: e^-1.5 (1 + 1.5 + 1.125) */
	assert_float_equal(bayes_chi2q(3.0, 6), 0.8088468305, 1e-9);
	assert_float_equal(bayes_chi2q(0.0, 8), 1.0, 1e-12);
}

static void
test_combine(void **state)
{
	struct bayes_params p;
	struct bayes_counts c[3] = { { 10, 0 }, { 0, 1 }, { 5, 5 } };
	double out;
	size_t used;

	(void)state;
	bayes_params_default(&p);
	/* one token: S = f and H = 1 - f, so the result is f itself */
	assert_int_equal(bayes_combine(&p, c, 1, 200, 200, &out, &used), 0);
	assert_float_equal(out, 0.9927244094, 1e-9);
	assert_int_equal(used, 1);
	/* f1 = 0.99272, f2 = 0.07421 (c[2], f = 0.5037, is not significant):
	 * S = 1 - chi2q(-2 ln((1-f1)(1-f2)), 4) = 0.959589...,
	 * H = 1 - chi2q(-2 ln(f1 f2), 4) = 0.734200...,
	 * (1 + S - H) / 2 = 0.6126944419 */
	assert_int_equal(bayes_combine(&p, c, 3, 200, 200, &out, &used), 0);
	assert_float_equal(out, 0.6126944419, 1e-9);
	assert_int_equal(used, 2);
	/* nothing significant: 0.5, said so */
	assert_int_equal(bayes_combine(&p, c + 2, 1, 200, 200, &out, &used),
	    1);
	assert_float_equal(out, 0.5, 1e-12);
	/* too little training: silent */
	assert_int_equal(bayes_combine(&p, c, 3, 199, 200, &out, &used), -1);
	assert_int_equal(bayes_combine(&p, c, 3, 200, 199, &out, &used), -1);
	p.min_spam = p.min_ham = 0;
	assert_int_equal(bayes_combine(&p, c, 3, 0, 0, &out, &used), -1);
}

/* At most max_tokens, the strongest: 200 spam tokens and one ham hapax. */
static void
test_combine_top(void **state)
{
	struct bayes_params p;
	struct bayes_counts c[201];
	double out;
	size_t used, i;

	(void)state;
	bayes_params_default(&p);
	for (i = 0; i < 200; i++) {
		c[i].spam = 1 + (uint32_t)i;
		c[i].ham = 0;
	}
	c[200].spam = 0;
	c[200].ham = 1;
	assert_int_equal(bayes_combine(&p, c, 201, 300, 300, &out, &used), 0);
	assert_int_equal(used, 150);
	assert_true(out > 0.999);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tok_fields),
		cmocka_unit_test(test_tok_html),
		cmocka_unit_test(test_tok_set),
		cmocka_unit_test(test_tok_bound),
		cmocka_unit_test(test_tok_digest),
		cmocka_unit_test(test_token_prob),
		cmocka_unit_test(test_chi2q),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_combine_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
