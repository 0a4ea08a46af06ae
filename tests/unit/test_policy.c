/*
 * test_policy.c: the header section edits moatd makes to a tagged message,
 * and the score thresholds from the config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "moat_conf.h"
#include "policy.h"

static void
test_header_end(void **state)
{
	static const struct {
		const char	*msg;
		size_t		 want;
	} v[] = {
		{ "A: 1\r\n\r\nbody\r\n", 8 },
		{ "\r\nbody\r\n", 2 },
		{ "A: 1\r\nB: 2\r\n", 12 },	/* no body: all header */
		{ "", 0 },
		{ "A: 1\r\n \r\n\r\nx", 11 },	/* a blank continuation */
		{ "A: 1\n\nbody", 10 },		/* not canonical: no end */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(policy_header_end(v[i].msg, strlen(v[i].msg)),
		    v[i].want);
}

static void
rewrite(const char *in, const char *prefix, const char *want)
{
	struct sbuf out = SBUF_INIT;

	policy_rewrite_headers(in, strlen(in), prefix, &out);
	assert_string_equal(out.p ? out.p : "", want);
	sbuf_free(&out);
}

static void
test_rewrite_strips_ours(void **state)
{
	(void)state;
	/* The sender's X-Spam-* go, folded lines with them. */
	rewrite("From: a@b\r\nX-Spam-Flag: YES\r\nX-Spam-Status: No,\r\n"
	    "\ttests=NONE\r\nTo: c@d\r\nx-spam-score: -100\r\n\r\n", NULL,
	    "From: a@b\r\nTo: c@d\r\n\r\n");
	/* Names that merely start alike stay. */
	rewrite("X-Spammer: 1\r\nX-Spam: 2\r\n\r\n", NULL,
	    "X-Spammer: 1\r\nX-Spam: 2\r\n\r\n");
	/* A continuation of a kept field stays with it. */
	rewrite("Subject: a\r\n b\r\nX-Spam-Level: ***\r\n c\r\n\r\n", NULL,
	    "Subject: a\r\n b\r\n\r\n");
}

static void
test_rewrite_subject_prefix(void **state)
{
	(void)state;
	rewrite("Subject: hello\r\n\r\n", "[SPAM]",
	    "Subject: [SPAM] hello\r\n\r\n");
	rewrite("subject:hello\r\n\r\n", "[SPAM]",
	    "subject: [SPAM] hello\r\n\r\n");
	rewrite("Subject:\r\n\r\n", "[SPAM]", "Subject: [SPAM]\r\n\r\n");
	rewrite("From: x\r\n\r\n", "[SPAM]", "From: x\r\n\r\n");
	/* Only the Subject field, not one whose name starts with it. */
	rewrite("Subjects: x\r\n\r\n", "[SPAM]", "Subjects: x\r\n\r\n");
}

static void
test_thresholds(void **state)
{
	struct config *c = cfg_defaults();
	struct score_thresholds t;
	struct rule_set *rs = (struct rule_set *)&t;
	char err[256];

	(void)state;
	policy_thresholds(c, 0, &t);
	assert_true(t.tag_on);
	assert_true(t.reject_on);
	assert_false(t.tempfail_on);
	assert_true(t.tag == 5.0);
	assert_true(t.reject == 10.0);
	/* No rules configured: nothing to compile, no rule set. */
	assert_int_equal(policy_load(c, &rs, err, sizeof(err)), 0);
	assert_null(rs);
	assert_int_equal(cfg_parse_score("off", &c->score_reject), 0);
	assert_int_equal(cfg_parse_score("-2.5", &c->score_tag), 0);
	policy_thresholds(c, 0, &t);
	assert_false(t.reject_on);
	assert_true(t.tag_on);
	assert_true(t.tag == -2.5);
	/* Authenticated sessions: their own set (tag only, by default). */
	policy_thresholds(c, 1, &t);
	assert_true(t.tag_on);
	assert_true(t.tag == 5.0);
	assert_false(t.reject_on);
	assert_false(t.tempfail_on);
	cfg_unref(c);
}

static void
test_load_errors(void **state)
{
	struct config *c = cfg_defaults();
	struct rule_set *rs = (struct rule_set *)c;
	char err[512];

	(void)state;
	c->rules_files = calloc(1, sizeof(char *));
	c->rules_files[0] = strdup("/nonexistent/moat-test.rules");
	c->nrules_files = 1;
	assert_int_equal(policy_load(c, &rs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/moat-test.rules"));
	assert_null(rs);
	cfg_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_end),
		cmocka_unit_test(test_rewrite_strips_ours),
		cmocka_unit_test(test_rewrite_subject_prefix),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
