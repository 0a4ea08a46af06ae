/*
 * test_score.c: the score card: sums, replacement by name, thresholds (each
 * on and off), verdict order, the X-Spam-* header text and its folding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rule.h"
#include "sbuf.h"
#include "score.h"

static void
test_sum_and_replace(void **state)
{
	struct score_card c;

	(void)state;
	score_card_init(&c);
	assert_true(score_card_total(&c) == 0);
	score_card_add(&c, "A", 2.5, 1, "a", NULL);
	score_card_add(&c, "B", -1.0, 1, NULL, "greylist");
	score_card_add(&c, "A", 3.0, 2, "a again", "rules");
	assert_int_equal(c.nhits, 2);
	assert_true(score_card_total(&c) == 2.0);
	assert_string_equal(c.hits[0].desc, "a again");
	assert_int_equal(c.hits[0].count, 2);
	assert_string_equal(c.hits[1].source, "greylist");
	assert_string_equal(c.hits[1].desc, "");
	score_card_drop_source(&c, "rules");
	assert_int_equal(c.nhits, 1);
	assert_string_equal(c.hits[0].name, "B");
	score_card_reset(&c);
	assert_int_equal(c.nhits, 0);
	score_card_free(&c);
	score_card_free(&c);
}

static void
test_bounds(void **state)
{
	struct score_card c;
	char name[300];
	size_t i;

	(void)state;
	score_card_init(&c);
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	score_card_add(&c, name, 1, 1, name, "a-very-long-source-name");
	assert_int_equal(strlen(c.hits[0].name), SCORE_NAME_MAX - 1);
	assert_int_equal(strlen(c.hits[0].desc), SCORE_DESC_MAX - 1);
	assert_int_equal(strlen(c.hits[0].source), 15);
	score_card_reset(&c);
	for (i = 0; i < SCORE_HITS_MAX + 5; i++) {
		char n[32];

		snprintf(n, sizeof(n), "R%zu", i);
		score_card_add(&c, n, 1, 1, NULL, NULL);
	}
	assert_int_equal(c.nhits, SCORE_HITS_MAX);
	assert_int_equal(c.dropped, 5);
	score_card_free(&c);
}

static void
test_verdicts(void **state)
{
	struct score_thresholds t;
	struct score_card c;

	(void)state;
	score_thresholds_default(&t);
	assert_true(t.tag == 5.0 && t.tag_on);
	assert_true(t.reject == 10.0 && t.reject_on);
	assert_false(t.tempfail_on);
	score_card_init(&c);
	assert_int_equal(score_verdict(&c, &t), SCORE_ACCEPT);
	score_card_add(&c, "A", 4.9, 1, NULL, NULL);
	assert_int_equal(score_verdict(&c, &t), SCORE_ACCEPT);
	score_card_add(&c, "A", 5.0, 1, NULL, NULL);
	assert_int_equal(score_verdict(&c, &t), SCORE_TAG);
	t.tempfail = 5.0;
	t.tempfail_on = 1;
	assert_int_equal(score_verdict(&c, &t), SCORE_TEMPFAIL);
	score_card_add(&c, "A", 10.0, 1, NULL, NULL);
	assert_int_equal(score_verdict(&c, &t), SCORE_REJECT);
	t.reject_on = 0;
	assert_int_equal(score_verdict(&c, &t), SCORE_TEMPFAIL);
	t.tempfail_on = 0;
	assert_int_equal(score_verdict(&c, &t), SCORE_TAG);
	t.tag_on = 0;
	assert_int_equal(score_verdict(&c, &t), SCORE_ACCEPT);
	/* negative scores pull below a threshold */
	score_thresholds_default(&t);
	score_card_add(&c, "GOOD", -6.0, 1, NULL, NULL);
	assert_int_equal(score_verdict(&c, &t), SCORE_ACCEPT);
	assert_string_equal(score_verdict_name(SCORE_ACCEPT), "accept");
	assert_string_equal(score_verdict_name(SCORE_TAG), "tag");
	assert_string_equal(score_verdict_name(SCORE_TEMPFAIL), "tempfail");
	assert_string_equal(score_verdict_name(SCORE_REJECT), "reject");
	assert_string_equal(score_verdict_name((enum score_verdict)99), "?");
	score_card_free(&c);
}

static void
test_headers(void **state)
{
	struct score_thresholds t;
	struct score_card c;
	struct sbuf s = SBUF_INIT;

	(void)state;
	score_thresholds_default(&t);
	score_card_init(&c);
	score_headers(&c, &t, "\n", &s);
	assert_string_equal(s.p, "X-Spam-Score: 0.0\n"
	    "X-Spam-Status: No, score=0.0 required=5.0 tests=none\n");
	sbuf_reset(&s);
	score_card_add(&c, "ZED", 4.0, 1, NULL, NULL);
	score_card_add(&c, "ALPHA", 3.25, 1, NULL, NULL);
	score_headers(&c, &t, "\r\n", &s);
	assert_string_equal(s.p, "X-Spam-Flag: YES\r\n"
	    "X-Spam-Score: 7.2\r\n"
	    "X-Spam-Status: Yes, score=7.2 required=5.0 tests=ALPHA,ZED\r\n");
	sbuf_reset(&s);
	score_card_tests(&c, &s);
	assert_string_equal(s.p, "ALPHA,ZED");
	sbuf_reset(&s);
	score_card_log(&c, &s);
	assert_string_equal(s.p, "ZED=4,ALPHA=3.25");
	/* folding: long test lists wrap with eol + TAB before 78 columns */
	score_card_reset(&c);
	score_card_add(&c, "AAAAAAAAAAAAAAAAAAAA", 1, 1, NULL, NULL);
	score_card_add(&c, "BBBBBBBBBBBBBBBBBBBB", 1, 1, NULL, NULL);
	score_card_add(&c, "CCCCCCCCCCCCCCCCCCCC", 1, 1, NULL, NULL);
	score_card_add(&c, "NEG", -3, 1, NULL, NULL);
	t.tag_on = 0;
	sbuf_reset(&s);
	score_headers(&c, &t, "\n", &s);
	assert_string_equal(s.p, "X-Spam-Score: 0.0\n"
	    "X-Spam-Status: No, score=0.0 required=0.0 tests="
	    "AAAAAAAAAAAAAAAAAAAA,\n"
	    "\tBBBBBBBBBBBBBBBBBBBB,CCCCCCCCCCCCCCCCCCCC,NEG\n");
	sbuf_free(&s);
	score_card_free(&c);
}

static void
test_is_ours(void **state)
{
	(void)state;
	assert_true(score_header_is_ours("X-Spam-Flag", 11));
	assert_true(score_header_is_ours("x-spam-status", 13));
	assert_true(score_header_is_ours("X-Spam-Checker-Version", 22));
	assert_false(score_header_is_ours("X-Spam-Flagged", 14));
	assert_false(score_header_is_ours("X-Spam-Fla", 10));
	assert_false(score_header_is_ours("Subject", 7));
}

/*
 * score_rules, the one scoring of moatd and moatctl: score x count, sub-rules
 * and limit hits never count, earlier rule hits replaced but other sources
 * kept, headers from the same card.
 */
static void
test_score_rules(void **state)
{
	static const struct rule_hit h[] = {
		{ "BODY_A", "a", 1.5, 2, 0 },
		{ "__SUB", "sub", 4.0, 1, RULE_HIT_SUB },
		{ "SLOW", "limit", 9.0, 1, RULE_HIT_LIMIT },
		{ "NEG", "n", -0.5, 1, 0 },
	};
	struct score_thresholds t;
	struct score_card c;
	struct sbuf hdr = SBUF_INIT;

	(void)state;
	score_thresholds_default(&t);
	score_card_init(&c);
	score_card_add(&c, "OLD_RULE", 20.0, 1, NULL, "rules");
	score_card_add(&c, "BAYES_99", 3.0, 1, NULL, "bayes");
	assert_int_equal(score_rules(&c, h, 4, 0, &t, "\n", &hdr), SCORE_TAG);
	/* 1.5 x 2 - 0.5 + 3.0 from bayes; OLD_RULE and the rest gone. */
	assert_true(score_card_total(&c) > 5.49 && score_card_total(&c) < 5.51);
	assert_int_equal(c.nhits, 3);
	assert_non_null(strstr(hdr.p, "X-Spam-Score: 5.5\n"));
	assert_non_null(strstr(hdr.p, "tests=BAYES_99,BODY_A,NEG"));
	/* Listed for a report: the sub-rule at 0 points, the same total. */
	assert_int_equal(score_rules(&c, h, 4, SCORE_RULES_LIST_SUB, &t, NULL,
	    NULL), SCORE_TAG);
	assert_int_equal(c.nhits, 4);
	assert_true(score_card_total(&c) > 5.49 && score_card_total(&c) < 5.51);
	/* No hits at all: only the other sources remain. */
	assert_int_equal(score_rules(&c, NULL, 0, 0, &t, NULL, NULL),
	    SCORE_ACCEPT);
	assert_int_equal(c.nhits, 1);
	sbuf_free(&hdr);
	score_card_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_and_replace),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_is_ours),
		cmocka_unit_test(test_score_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
