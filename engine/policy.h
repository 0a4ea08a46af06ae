/*
 * policy.h: moatd's use of the rule engine (rules/) and the score card
 * (scoring/): compiling the rules a config names, evaluating a stage, and
 * rewriting a message's header section for forwarding.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include <stddef.h>

#include "moat_conf.h"
#include "greylist.h"
#include "rule.h"
#include "sbuf.h"
#include "score.h"

/*
 * policy_load: compile the rules cfg names (rules FILE..., sa_rules) into
 * *out (one reference, the caller's: proxy/snapshot.c keeps it with cfg)
 * and check the greylist parameters.  Returns 0, or -1 with
 * "FILE:LINE: reason" (and the PCRE2 offset) in err.  With no rules
 * configured *out is NULL and nothing is evaluated.
 */
int	policy_load(const struct config *cfg, struct rule_set **out,
	    char *err, size_t errsz);

/*
 * The two halves of policy_load, shared with `moatctl scan -c` so that the
 * two cannot disagree: policy_check checks the greylist parameters (0, or
 * -1 and err; the thresholds are numbers since cfg_load); policy_rules_add
 * adds cfg's sa_rules and rules files, in order, to b (0, or -1 and re).
 */
int	policy_check(const struct config *cfg, char *err, size_t errsz);
int	policy_rules_add(const struct config *cfg, struct rule_builder *b,
	    struct rule_error *re);

/* One log line with the load statistics of a rule set (NULL: none). */
void	policy_log_stats(const struct rule_set *rs);

/*
 * With `hyperscan on` in cfg: build (or read from hyperscan_cache) the
 * Hyperscan prefilter of rs on a thread of its own at low priority, and
 * give it to the rule set when done.  Until then, and if it fails, the
 * rules run as they always do; results are the same either way.  Logs one
 * "hyperscan" line when it is ready or why it is not.  One build runs at a
 * time; a reload during it queues the new set (replacing any queued one).
 */
void	policy_start_hs(const struct config *cfg, struct rule_set *rs);

/*
 * The thresholds of cfg: score_tag, score_tempfail, score_reject, or with
 * auth the auth_score_* ones (authenticated sessions).
 */
void	policy_thresholds(const struct config *cfg, int auth,
	    struct score_thresholds *t);

/*
 * policy_header_end: the length of the header section of msg[0..len),
 * including the empty line that ends it (or len if there is none).
 */
size_t	policy_header_end(const char *msg, size_t len);

/*
 * policy_rewrite_headers: append to out the header section hdr[0..len)
 * without the fields moat writes itself (X-Spam-*: a sender must not be
 * able to pre-label its own mail), with prefix put before the Subject's
 * value when prefix is not NULL.  Folded continuation lines go with their
 * field.
 */
void	policy_rewrite_headers(const char *hdr, size_t len, const char *prefix,
	    struct sbuf *out);

#endif
