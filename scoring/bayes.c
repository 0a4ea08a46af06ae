/*
 * bayes.c: Robinson's token probabilities and Fisher's chi-square
 * combining (bayes.h), following SpamAssassin 4.0's Bayes.pm and
 * Bayes/CombineChi.pm so that its BAYES_* score ranges mean the same here.
 *
 * It does not tokenize (rules/bayes_tok.c) or store (store/bayes_db.c); it
 * only turns counts into a probability.  Sums of logarithms replace SA's
 * running products with frexp() rescaling: the same value, without the
 * underflow dance.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bayes.h"
#include "xmalloc.h"

void
bayes_params_default(struct bayes_params *p)
{
	p->s = 0.160;
	p->x = 0.538;
	p->min_strength = 0.346;
	p->max_tokens = 150;
	p->min_spam = 200;
	p->min_ham = 200;
}

double
bayes_token_prob(const struct bayes_params *p, const struct bayes_counts *c,
    uint64_t nspam, uint64_t nham)
{
	double rs, rh, pw, n;

	if (nspam == 0 || nham == 0 || (c->spam == 0 && c->ham == 0))
		return -1;
	/* a count above the total (a forgotten message's leftovers) is
	 * capped, as SA does, so a ratio never exceeds 1 */
	rs = c->spam > nspam ? 1.0 : (double)c->spam / (double)nspam;
	rh = c->ham > nham ? 1.0 : (double)c->ham / (double)nham;
	pw = rs / (rs + rh);
	n = (double)c->spam + (double)c->ham;
	return (p->s * p->x + n * pw) / (p->s + n);
}

double
bayes_chi2q(double x2, unsigned v)
{
	double m = x2 / 2.0, sum, term;
	unsigned i;

	sum = term = exp(-m);
	for (i = 1; i < v / 2; i++) {
		term *= m / (double)i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

static int
cmp_strength(const void *a, const void *b)
{
	double x = fabs(*(const double *)a - 0.5);
	double y = fabs(*(const double *)b - 0.5);

	return x < y ? 1 : x > y ? -1 : 0;
}

int
bayes_combine(const struct bayes_params *p, const struct bayes_counts *c,
    size_t n, uint64_t nspam, uint64_t nham, double *out, size_t *used)
{
	double *pv, ls = 0, lh = 0, S, H;
	size_t i, k = 0;

	if (used)
		*used = 0;
	if (nspam < p->min_spam || nham < p->min_ham || nspam == 0 ||
	    nham == 0)
		return -1;
	pv = xcalloc(n + 1, sizeof(double));
	for (i = 0; i < n; i++) {
		double f = bayes_token_prob(p, &c[i], nspam, nham);

		if (f >= 0 && fabs(f - 0.5) >= p->min_strength)
			pv[k++] = f;
	}
	if (k == 0) {
		free(pv);
		*out = 0.5;
		return 1;
	}
	qsort(pv, k, sizeof(double), cmp_strength);
	if (k > p->max_tokens)
		k = p->max_tokens;
	for (i = 0; i < k; i++) {
		ls += log1p(-pv[i]);
		lh += log(pv[i]);
	}
	S = 1.0 - bayes_chi2q(-2.0 * ls, 2 * (unsigned)k);
	H = 1.0 - bayes_chi2q(-2.0 * lh, 2 * (unsigned)k);
	*out = (1.0 + S - H) / 2.0;
	if (used)
		*used = k;
	free(pv);
	return 0;
}
