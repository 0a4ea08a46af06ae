/*
 * bayes.h: the Bayesian combiner (doc/rules.md, "Bayes"): token counts in,
 * a spam probability out, as SpamAssassin 4's Bayes.pm and CombineChi.pm
 * compute it.  Pure: no I/O, no clock, no logging.
 */
#ifndef MOAT_BAYES_H
#define MOAT_BAYES_H

#include <stddef.h>
#include <stdint.h>

/* How often one token was learned in spam and in ham. */
struct bayes_counts {
	uint32_t	spam;
	uint32_t	ham;
};

struct bayes_params {
	double		s;		/* Robinson's strength of the prior */
	double		x;		/* Robinson's prior for an unknown token */
	double		min_strength;	/* ignore tokens with |p-0.5| below */
	size_t		max_tokens;	/* combine at most this many */
	uint64_t	min_spam;	/* learned spam before it speaks */
	uint64_t	min_ham;	/* learned ham before it speaks */
};

/* SpamAssassin's: s 0.160, x 0.538, 0.346, 150 tokens, 200 and 200. */
void	bayes_params_default(struct bayes_params *p);

/*
 * Robinson's f(w) for a token seen c->spam times in nspam learned spam and
 * c->ham times in nham learned ham (Bayes.pm _compute_prob_for_token):
 *   p(w) = (spam/nspam) / (spam/nspam + ham/nham)
 *   f(w) = (s * x + n * p(w)) / (s + n),  n = spam + ham
 * Returns -1 for a token never seen (it carries no evidence) or when a
 * total is 0.
 */
double	bayes_token_prob(const struct bayes_params *p,
	    const struct bayes_counts *c, uint64_t nspam, uint64_t nham);

/*
 * Fisher's chi-square combining of the probabilities of the most
 * significant tokens (CombineChi.pm): of the n tokens in c, those with
 * |f(w) - 0.5| >= min_strength, at most max_tokens of them, strongest
 * first; then S = 1 - chi2q(-2 ln prod(1 - f), 2k), H = 1 - chi2q(-2 ln
 * prod f, 2k) and the result (1 + S - H) / 2.  c may be reordered (it is
 * not; the order of c does not matter).  Returns 0 with the probability in
 * *out and the number of tokens used in *used (may be NULL); -1 when
 * nspam < min_spam or nham < min_ham (not trained enough: Bayes says
 * nothing); 1 with *out = 0.5 when no token was significant.
 */
int	bayes_combine(const struct bayes_params *p,
	    const struct bayes_counts *c, size_t n, uint64_t nspam,
	    uint64_t nham, double *out, size_t *used);

/* chi2q(x2, v): P(chi-square with v (even) degrees of freedom >= x2). */
double	bayes_chi2q(double x2, unsigned v);

#endif
