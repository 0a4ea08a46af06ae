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

/* A token's probability and its strength, |p - 0.5|, computed once. */
struct strength {
	double	key, p;
};

/*
 * Sort v[0..n) by key, strongest first, keeping the input order among
 * equal keys (tmp is scratch of n).  Stable, so the order is the one
 * glibc's qsort() (a merge sort) gave with a comparison that recomputed
 * both strengths on every call, at a fraction of the cost: the same
 * tokens are chosen and summed in the same order, to the last bit.
 */
static void
sort_strength(struct strength *v, struct strength *tmp, size_t n)
{
	size_t w, i, a, b, ae, be, k;

	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			a = i;
			ae = b = i + w < n ? i + w : n;
			be = i + 2 * w < n ? i + 2 * w : n;
			k = i;
			while (a < ae && b < be)
				tmp[k++] = v[b].key > v[a].key ? v[b++] : v[a++];
			while (a < ae)
				tmp[k++] = v[a++];
			while (b < be)
				tmp[k++] = v[b++];
		}
		memcpy(v, tmp, n * sizeof(*v));
	}
}

int
bayes_combine(const struct bayes_params *p, const struct bayes_counts *c,
    size_t n, uint64_t nspam, uint64_t nham, double *out, size_t *used)
{
	struct strength *pv;
	double ls = 0, lh = 0, S, H;
	size_t i, k = 0;

	if (used)
		*used = 0;
	if (nspam < p->min_spam || nham < p->min_ham || nspam == 0 ||
	    nham == 0)
		return -1;
	pv = xreallocarray(NULL, 2 * n + 1, sizeof(*pv));
	for (i = 0; i < n; i++) {
		double f = bayes_token_prob(p, &c[i], nspam, nham);

		if (f >= 0 && fabs(f - 0.5) >= p->min_strength) {
			pv[k].key = fabs(f - 0.5);
			pv[k++].p = f;
		}
	}
	if (k == 0) {
		free(pv);
		*out = 0.5;
		return 1;
	}
	sort_strength(pv, pv + n, k);
	if (k > p->max_tokens)
		k = p->max_tokens;
	for (i = 0; i < k; i++) {
		ls += log1p(-pv[i].p);
		lh += log(pv[i].p);
	}
	S = 1.0 - bayes_chi2q(-2.0 * ls, 2 * (unsigned)k);
	H = 1.0 - bayes_chi2q(-2.0 * lh, 2 * (unsigned)k);
	*out = (1.0 + S - H) / 2.0;
	if (used)
		*used = k;
	free(pv);
	return 0;
}
