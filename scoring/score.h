/*
 * score.h: the score card of one SMTP transaction.
 *
 * Every check (rules and Bayes now; AUTH, DNS later) adds named hits with
 * a score; the card sums them and, with the configured thresholds, decides
 * the verdict and the X-Spam-* header text.  A hit is keyed by its name:
 * adding a name again replaces the earlier hit, so re-running the rules at a
 * later stage (which reports the early-stage hits again) never counts one
 * twice.
 *
 * Pure: no I/O, no clock, no logging.  The caller owns the card.
 */
#ifndef MOAT_SCORE_H
#define MOAT_SCORE_H

#include <stddef.h>

struct sbuf;

/*
 * A transaction's verdict.  Greylisting is no verdict: it defers one
 * recipient (greylist.h and the store decide, the session answers that
 * RCPT), never the message, so it does not go through the card.
 */
enum score_verdict {
	SCORE_ACCEPT,
	SCORE_TAG,
	SCORE_TEMPFAIL,
	SCORE_REJECT
};

/*
 * Thresholds; a threshold whose *_on is 0 is off.  Defaults (doc/rules.md):
 * tag 5.0 (SpamAssassin's required_score), tempfail off, reject 10.0.
 */
struct score_thresholds {
	double	tag, tempfail, reject;
	int	tag_on, tempfail_on, reject_on;
};

#define SCORE_TAG_DEFAULT	5.0
#define SCORE_REJECT_DEFAULT	10.0
#define SCORE_HITS_MAX		4096	/* hits per card; more are dropped */
#define SCORE_NAME_MAX		128
#define SCORE_DESC_MAX		256

struct score_hit {
	char	name[SCORE_NAME_MAX];
	char	desc[SCORE_DESC_MAX];
	char	source[16];	/* "rules", "bayes", "auth", ... */
	double	score;		/* total for this hit (per-hit x count) */
	unsigned count;
};

struct score_card {
	struct score_hit *hits;
	size_t		 nhits, cap;
	size_t		 dropped;	/* hits past SCORE_HITS_MAX */
};

/* Fill *t with the defaults. */
void	score_thresholds_default(struct score_thresholds *t);

/* An empty card.  score_card_free() releases what it holds. */
void	score_card_init(struct score_card *c);
void	score_card_free(struct score_card *c);
/* Forget every hit (new transaction, RSET). */
void	score_card_reset(struct score_card *c);

/*
 * Record a hit: name (truncated to SCORE_NAME_MAX-1), total score, count,
 * description (may be NULL), source (may be NULL: "rules").  A hit with the
 * same name replaces the earlier one.  Strings are copied.
 */
void	score_card_add(struct score_card *c, const char *name, double score,
	    unsigned count, const char *desc, const char *source);

/* Drop every hit from source (e.g. before re-running the rules). */
void	score_card_drop_source(struct score_card *c, const char *source);

/* The sum of all hits. */
double	score_card_total(const struct score_card *c);

/*
 * The verdict, checked in this order: reject (total >= reject), tempfail
 * (total >= tempfail), tag (total >= tag), accept.  Thresholds that are
 * off never match.
 */
enum score_verdict score_verdict(const struct score_card *c,
		    const struct score_thresholds *t);

/* "accept", "tag", "tempfail", "reject". */
const char	*score_verdict_name(enum score_verdict v);

/*
 * The hit names, sorted, comma-separated, as in X-Spam-Status tests=
 * (RULE_A,RULE_B).  Appended to out.
 */
void	score_card_tests(const struct score_card *c, struct sbuf *out);

/*
 * The rules hit with their scores for the transaction log line:
 * "NAME=2.5,OTHER=-1", in the order added.  Appended to out.
 */
void	score_card_log(const struct score_card *c, struct sbuf *out);

/*
 * The three header fields moat adds to a forwarded message, appended to
 * out, each line ended by eol ("\r\n" on the wire):
 *   X-Spam-Flag: YES                       (only when the verdict is tag
 *                                            or worse)
 *   X-Spam-Score: 7.3
 *   X-Spam-Status: Yes, score=7.3 required=5.0 tests=A,B
 * The Status line is folded (eol + TAB) before 78 columns, as SpamAssassin
 * folds it.  "required" is the tag threshold (0.0 when tag is off).
 */
void	score_headers(const struct score_card *c,
	    const struct score_thresholds *t, const char *eol,
	    struct sbuf *out);

struct rule_hit;

/* score_rules flags. */
#define SCORE_RULES_LIST_SUB	0x1	/* list "__" sub-rules, at 0 points */

/*
 * score_rules: rule hits -> score -> verdict -> headers, the one way for
 * moatd (every stage) and moatctl scan, so the two cannot disagree.  The
 * card's earlier "rules" hits are dropped (a later stage reports them all
 * again), then each hit of h[0..n) is added at score x count; a sub-rule
 * (RULE_HIT_SUB) never counts (with SCORE_RULES_LIST_SUB it is listed at
 * 0 points, for reports), and a rule that hit the PCRE2 match limit
 * (RULE_HIT_LIMIT) counts as no hit.  Returns the verdict by t (the card's
 * other sources included); when hdr is not NULL the X-Spam-* fields
 * (score_headers, lines ended by eol) are appended to it.
 */
enum score_verdict score_rules(struct score_card *c, const struct rule_hit *h,
		    size_t n, unsigned flags, const struct score_thresholds *t,
		    const char *eol, struct sbuf *hdr);

/*
 * 1 if a header field called name (length len) is one moat writes and so
 * must be stripped from an incoming message before its own are added
 * (X-Spam-Flag, X-Spam-Score, X-Spam-Status, X-Spam-Level, X-Spam-Report,
 * X-Spam-Checker-Version, case-insensitive), else 0.
 */
int	score_header_is_ours(const char *name, size_t len);

#endif
