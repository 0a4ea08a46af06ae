/*
 * score_rules.c: rule hits -> score card -> verdict -> X-Spam-* headers in
 * one call (score.h), shared by moatd and moatctl scan.  Before it, each
 * had its own loop and they treated sub-rules differently.  It does not
 * run the rules (rules/) and it does not log a rule that hit the PCRE2
 * limit: moatd says that, once, in policy.c.  Pure.
 */
#include <stddef.h>

#include "rule.h"
#include "score.h"

enum score_verdict
score_rules(struct score_card *c, const struct rule_hit *h, size_t n,
    unsigned flags, const struct score_thresholds *t, const char *eol,
    struct sbuf *hdr)
{
	size_t i;

	score_card_drop_source(c, "rules");
	for (i = 0; i < n; i++) {
		if (h[i].flags & RULE_HIT_LIMIT)
			continue;
		if ((h[i].flags & RULE_HIT_SUB) &&
		    !(flags & SCORE_RULES_LIST_SUB))
			continue;
		score_card_add(c, h[i].name, (h[i].flags & RULE_HIT_SUB) ? 0 :
		    h[i].score * h[i].count, h[i].count, h[i].desc, "rules");
	}
	if (hdr != NULL)
		score_headers(c, t, eol, hdr);
	return score_verdict(c, t);
}
