/*
 * rule_prefilter.c: a literal prefilter so most patterns never run on a
 * message that cannot match them.
 *
 * At load time each body/rawbody/uri/full/header pattern is scanned
 * (conservatively) for literal strings of which at least one must occur in
 * any match: "a set of required literals".  A pattern that is one sequence
 * at its top level ("\bwin\w+ .{0,20}lottery") yields several sets, all
 * required (the best SETS_MAX of them, longest shortest-member first): one
 * common word alone lets most messages through, two rarely do.
 *
 * At match time the text of a stage is summarised once in two bitmaps, of
 * its case-folded 3-byte and 5-byte sequences; a set none of whose literals
 * has all its sequences in the bitmap (5-byte ones for literals of five
 * bytes or more) cannot be satisfied, and the rule is skipped.  Header
 * operands are short, so there the literals are looked for exactly in a
 * folded copy.  The test only ever says "cannot match" when that is
 * certain; a "may match" runs the real pattern, so results are exactly
 * those of running every pattern.
 *
 * Folding is ASCII and Latin-1 case folding, applied to literals and text
 * alike, so one literal set serves case-sensitive and /i patterns.
 *
 * What it does not do: no multi-pattern automaton; patterns it cannot
 * reason about (classes only, /x, \Q, backreferences at the heart of a
 * match...) simply have no literal set and always run.
 */
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"
#include "msg.h"
#include "sbuf.h"
#include "digits.h"
#include "xmalloc.h"

#define LIT_MAX		16	/* strings in one set */
#define LIT_LEN_MAX	64	/* bytes kept of one literal */
#define LIT_MIN		3	/* shorter literals are useless for trigrams */
#define SETS_MAX	4	/* required sets kept of one pattern */

struct lits {
	int	 top;		/* 1: no requirement known */
	size_t	 n;
	char	 s[LIT_MAX][LIT_LEN_MAX + 1];
};

struct lparser {
	const char	*p;
	int		 bad;	/* give up on the whole pattern */
	int		 depth;
	/* every set the top-level sequence requires (depth 0) */
	struct lits	 top[SETS_MAX];
	size_t		 ntop;
	int		 topalt;	/* a "|" at the top level: no AND */
};

/* The folding as a table: the bitmap build folds every byte of a text. */
#define FOLD(c)	((unsigned char)((((c) >= 'A' && (c) <= 'Z') || \
		    ((c) >= 0xC0 && (c) <= 0xDE && (c) != 0xD7)) ? \
		    (c) + 32 : (c)))
#define FOLD4(c)	FOLD(c), FOLD((c) + 1), FOLD((c) + 2), FOLD((c) + 3)
#define FOLD16(c)	FOLD4(c), FOLD4((c) + 4), FOLD4((c) + 8), \
			FOLD4((c) + 12)
#define FOLD64(c)	FOLD16(c), FOLD16((c) + 16), FOLD16((c) + 32), \
			FOLD16((c) + 48)
static const unsigned char fold_table[256] = {
	FOLD64(0), FOLD64(64), FOLD64(128), FOLD64(192)
};

static unsigned char
fold(unsigned char c)
{
	return fold_table[c];
}

static size_t
minlen(const struct lits *l)
{
	size_t i, m = (size_t)-1;

	if (l->top || l->n == 0)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strlen(l->s[i]) < m)
			m = strlen(l->s[i]);
	return m;
}

/* Keep the better of two candidate requirements in *best. */
static void
consider(struct lits *best, const struct lits *c)
{
	size_t a = minlen(best), b = minlen(c);

	if (c->top || b == 0)
		return;
	if (best->top || b > a || (b == a && c->n < best->n))
		*best = *c;
}

static int
same_set(const struct lits *a, const struct lits *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->s[i], b->s[i]) != 0)
			return 0;
	return 1;
}

/*
 * A required set met in the top-level sequence: keep the SETS_MAX best,
 * best first (what consider() would pick comes first).
 */
static void
collect_top(struct lparser *lp, const struct lits *c)
{
	size_t i, k, m = minlen(c);

	if (lp->depth != 0 || c->top || m < LIT_MIN)
		return;
	for (i = 0; i < lp->ntop; i++)
		if (same_set(&lp->top[i], c))
			return;
	for (i = 0; i < lp->ntop; i++) {
		size_t mi = minlen(&lp->top[i]);

		if (m > mi || (m == mi && c->n < lp->top[i].n))
			break;
	}
	if (i == SETS_MAX)
		return;
	k = lp->ntop < SETS_MAX ? lp->ntop++ : SETS_MAX - 1;
	for (; k > i; k--)
		lp->top[k] = lp->top[k - 1];
	lp->top[i] = *c;
}

static void
run_flush(struct lparser *lp, struct lits *best, char *run, size_t *rn)
{
	struct lits c;

	if (*rn > 0) {
		memset(&c, 0, sizeof(c));
		c.n = 1;
		memcpy(c.s[0], run, *rn);
		c.s[0][*rn] = '\0';
		consider(best, &c);
		collect_top(lp, &c);
	}
	*rn = 0;
}

int
rule_re_quantifier(const char **pp, long *min)
{
	const char *p = *pp;
	char *end;

	if (*p == '*' || *p == '?')
		*min = 0, p++;
	else if (*p == '+')
		*min = 1, p++;
	else if (*p == '{' && p[1] == ',')
		return -1;
	else if (*p == '{' && p[1] >= '0' && p[1] <= '9') {
		*min = strtol(p + 1, &end, 10);
		if (*end == ',') {
			end++;
			while (*end >= '0' && *end <= '9')
				end++;
		}
		if (*end != '}')
			return 0;	/* a literal "{" */
		p = end + 1;
	} else
		return 0;
	if (*p == '?' || *p == '+')	/* lazy, possessive */
		p++;
	*pp = p;
	return 1;
}

/* The minimum of the quantifier after an atom (1 when there is none). */
static long
quantifier(struct lparser *lp)
{
	long min = 1;

	if (rule_re_quantifier(&lp->p, &min) < 0)
		lp->bad = 1;
	return min;
}

static struct lits parse_alt(struct lparser *);

/* Skip a character class; p is just past "[". */
static void
skip_class(struct lparser *lp)
{
	const char *p = lp->p;

	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (*p == '\\' && p[1] != '\0')
			p += 2;
		else if (*p == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");

			p = e ? e + 2 : p + 1;
		} else
			p++;
	}
	if (*p != ']')
		lp->bad = 1;
	else
		p++;
	lp->p = p;
}

static struct lits
parse_seq(struct lparser *lp)
{
	struct lits best, sub;
	char run[LIT_LEN_MAX + 1];
	size_t rn = 0;
	int lit, c;
	long min;
	const char *before;

	memset(&best, 0, sizeof(best));
	best.top = 1;
	while (!lp->bad && *lp->p != '\0' && *lp->p != '|' && *lp->p != ')') {
		const char *p = lp->p;

		lit = -1;
		memset(&sub, 0, sizeof(sub));
		sub.top = 1;
		if (*p == '(') {
			p++;
			if (*p == '?') {
				p++;
				if (*p == ':' || *p == '>' || *p == '|')
					p += *p == '|' ? (lp->bad = 1) : 1;
				else if (*p == '=' || *p == '!' || (*p == '<' &&
				    (p[1] == '=' || p[1] == '!'))) {
					/* lookaround: parse, then forget */
					p += *p == '<' ? 2 : 1;
					lp->p = p;
					lp->depth++;
					(void)parse_alt(lp);
					lp->depth--;
					if (*lp->p != ')') {
						lp->bad = 1;
						break;
					}
					lp->p++;
					run_flush(lp, &best, run, &rn);
					continue;
				} else if (*p == '<' || *p == '\'' || *p == 'P') {
					/* named group */
					if (*p == 'P')
						p++;
					while (*p != '\0' && *p != '>' &&
					    *p != '\'')
						p++;
					if (*p == '\0') {
						lp->bad = 1;
						break;
					}
					p++;
				} else if (*p == '#') {
					while (*p != '\0' && *p != ')')
						p++;
					lp->p = *p ? p + 1 : p;
					continue;
				} else {
					/* inline options: (?i) or (?i-s:...) */
					while (*p == '-' || *p == '^' ||
					    (*p >= 'a' && *p <= 'z')) {
						if (*p == 'x')
							lp->bad = 1;
						p++;
					}
					if (*p == ')') {
						lp->p = p + 1;
						run_flush(lp, &best, run, &rn);
						continue;
					}
					if (*p != ':') {
						lp->bad = 1;
						break;
					}
					p++;
				}
			}
			if (++lp->depth > 100) {
				lp->bad = 1;
				break;
			}
			lp->p = p;
			sub = parse_alt(lp);
			lp->depth--;
			if (*lp->p != ')') {
				lp->bad = 1;
				break;
			}
			lp->p++;
		} else if (*p == '[') {
			lp->p = p + 1;
			skip_class(lp);
		} else if (*p == '\\') {
			c = (unsigned char)p[1];
			lp->p = p + 2;
			if (c == '\0') {
				lp->bad = 1;
				break;
			}
			if (c == 'Q') {
				lp->bad = 1;
				break;
			}
			if (c == 'x') {
				if (p[2] == '{') {
					int v = 0, k = 3;

					while (hex_digit(p[k]) >= 0)
						v = v * 16 + hex_digit(p[k++]);
					if (p[k] != '}' || v > 255) {
						lp->bad = 1;
						break;
					}
					lit = v;
					lp->p = p + k + 1;
				} else if (hex_digit(p[2]) >= 0) {
					lit = hex_digit(p[2]);
					lp->p = p + 3;
					if (hex_digit(p[3]) >= 0) {
						lit = lit * 16 +
						    hex_digit(p[3]);
						lp->p = p + 4;
					}
				} else
					lit = 0;
			} else if (c == 't')
				lit = '\t';
			else if (c == 'n')
				lit = '\n';
			else if (c == 'r')
				lit = '\r';
			else if (c == 'f')
				lit = '\f';
			else if (c == 'e')
				lit = 27;
			else if (c == 'a')
				lit = 7;
			else if (c == 'c' || c == 'o' || c == 'N' || c == 'p' ||
			    c == 'P' || c == 'g' || c == 'k') {
				lp->bad = 1;
				break;
			} else if (!((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
				lit = c;
			/* else \d \w \s \b \1 ...: no literal */
		} else if (*p == '.' || *p == '^' || *p == '$') {
			lp->p = p + 1;
		} else if (*p == '*' || *p == '+' || *p == '?' ||
		    (*p == '{' && p[1] >= '0' && p[1] <= '9')) {
			/* a quantifier with nothing to repeat */
			lp->bad = 1;
			break;
		} else {
			lit = (unsigned char)*p;
			lp->p = p + 1;
		}
		before = lp->p;
		min = quantifier(lp);
		if (lit >= 0 && min >= 1) {
			if (rn < LIT_LEN_MAX)
				run[rn++] = (char)fold((unsigned char)lit);
			else
				run_flush(lp, &best, run, &rn);
			/* "ab+c": "ab" is certain, "abc" is not */
			if (lp->p != before)
				run_flush(lp, &best, run, &rn);
			continue;
		}
		run_flush(lp, &best, run, &rn);
		if (min >= 1) {
			consider(&best, &sub);
			collect_top(lp, &sub);
		}
	}
	run_flush(lp, &best, run, &rn);
	return best;
}

static struct lits
parse_alt(struct lparser *lp)
{
	struct lits all, one;
	size_t i;

	all = parse_seq(lp);
	while (!lp->bad && *lp->p == '|') {
		if (lp->depth == 0)
			lp->topalt = 1;
		lp->p++;
		one = parse_seq(lp);
		if (all.top || one.top || all.n + one.n > LIT_MAX) {
			all.top = 1;
			all.n = 0;
			continue;
		}
		for (i = 0; i < one.n; i++)
			memcpy(all.s[all.n++], one.s[i], sizeof(one.s[i]));
	}
	return all;
}

int
rule_prefilter_compile(struct rule *r)
{
	struct lparser lp;
	struct lits l;
	size_t i, k;

	if (r->src == NULL || (r->copts & PCRE2_EXTENDED) ||
	    (r->flags & RF_TEMPLATE))
		return 0;
	memset(&lp, 0, sizeof(lp));
	lp.p = r->src;
	l = parse_alt(&lp);
	if (lp.bad || *lp.p != '\0' || l.top || minlen(&l) < LIT_MIN)
		return 0;
	if (lp.topalt || lp.ntop == 0) {
		lp.top[0] = l;
		lp.ntop = 1;
	}
	r->setend = xreallocarray(NULL, lp.ntop, sizeof(size_t));
	for (k = 0; k < lp.ntop; k++) {
		const struct lits *t = &lp.top[k];

		r->lits = xreallocarray(r->lits, r->nlits + t->n,
		    sizeof(char *));
		r->litlen = xreallocarray(r->litlen, r->nlits + t->n,
		    sizeof(size_t));
		for (i = 0; i < t->n; i++) {
			r->litlen[r->nlits] = strlen(t->s[i]);
			r->lits[r->nlits++] = xstrdup(t->s[i]);
		}
		r->setend[k] = r->nlits;
	}
	r->nsets = lp.ntop;
	return 1;
}

static uint32_t
tri(unsigned char a, unsigned char b, unsigned char c)
{
	uint32_t h = ((uint32_t)a << 16) | ((uint32_t)b << 8) | c;

	h *= 2654435761u;
	return h >> 8;
}

/* A 5-byte sequence, hashed apart from the trigrams (its own bitmap). */
static uint32_t
five64(uint64_t w)
{
	w *= 0x9E3779B97F4A7C15ull;
	return (uint32_t)(w >> 40);
}

static uint32_t
five(const unsigned char *f)
{
	return five64(((uint64_t)f[0] << 32) | ((uint64_t)f[1] << 24) |
	    ((uint64_t)f[2] << 16) | ((uint64_t)f[3] << 8) | f[4]);
}

/*
 * Two bitmaps of the same size: trigrams, and 5-byte sequences.  A literal
 * of five bytes or more is tested on the second, which does not say "all
 * there" just because "pay", "aym", "yme", "men" and "ent" each occur
 * somewhere: "payment" needs "payme", "aymen" and "yment".
 */
void
rule_prefilter_build(struct rule_bitmap *bm, const struct msg_str *v,
    size_t n)
{
	size_t i, k, total = 0, bits;
	unsigned char *map5;

	for (i = 0; i < n; i++)
		total += v[i].len;
	for (bits = 1u << 12; bits < total * 16 && bits < (1u << 22); bits <<= 1)
		;
	if (bm->cap < bits / 4) {
		free(bm->map);
		bm->map = xmalloc(bits / 4);
		bm->cap = bits / 4;
	}
	bm->mask = (uint32_t)bits - 1;
	memset(bm->map, 0, bits / 4);
	map5 = bm->map + bits / 8;
	for (i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)v[i].p;
		uint64_t w = 0;		/* the last five bytes, folded */

		for (k = 0; k < v[i].len; k++) {
			uint32_t h;

			w = (w << 8 | fold_table[p[k]]) & 0xFFFFFFFFFFull;
			if (k < 2)
				continue;
			h = tri((unsigned char)(w >> 16),
			    (unsigned char)(w >> 8), (unsigned char)w) &
			    bm->mask;
			bm->map[h >> 3] |= (unsigned char)(1u << (h & 7));
			if (k < 4)
				continue;
			h = five64(w) & bm->mask;
			map5[h >> 3] |= (unsigned char)(1u << (h & 7));
		}
	}
	bm->ready = 1;
}

/* Is every trigram (or 5-byte sequence) of s in the bitmaps? */
static int
lit_present(const struct rule_bitmap *bm, const char *lit, size_t n)
{
	const unsigned char *s = (const unsigned char *)lit;
	const unsigned char *map5 = bm->map + (bm->mask + 1) / 8;
	size_t k;

	if (n >= 5) {
		for (k = 0; k + 4 < n; k++) {
			uint32_t h = five(s + k) & bm->mask;

			if (!(map5[h >> 3] & (1u << (h & 7))))
				return 0;
		}
		return 1;
	}
	for (k = 0; k + 2 < n; k++) {
		uint32_t h = tri(s[k], s[k + 1], s[k + 2]) & bm->mask;

		if (!(bm->map[h >> 3] & (1u << (h & 7))))
			return 0;
	}
	return 1;
}

int
rule_prefilter_may_match(const struct rule_bitmap *bm, const struct rule *r)
{
	size_t i = 0, k;

	for (k = 0; k < r->nsets; k++) {
		for (; i < r->setend[k]; i++)
			if (lit_present(bm, r->lits[i], r->litlen[i]))
				break;
		if (i == r->setend[k])
			return 0;	/* no member of set k occurs */
		i = r->setend[k];
	}
	return 1;
}

/*
 * Header operands: the literals are looked for exactly in a case-folded
 * copy of the text (the caller folds each operand once per message with
 * rule_prefilter_fold()).  Most are short; for a long one (ALL, the
 * relays, Received) the caller may give the operand's bitmap
 * (rule_prefilter_build()), and a literal it rules out is not looked for:
 * the bitmap never rules out one that is there.
 */
void
rule_prefilter_fold(struct sbuf *out, const char *s, size_t len)
{
	size_t i;

	sbuf_reset(out);
	sbuf_reserve(out, len);
	for (i = 0; i < len; i++)
		out->p[i] = (char)fold((unsigned char)s[i]);
	out->len = len;
	out->p[len] = '\0';
}

/*
 * Whether lit (ln bytes, ln > 0) occurs in t[0..n).  Header texts are a
 * few dozen bytes, where memmem()'s setup costs more than the search: its
 * first byte is looked for with memchr() and the rest compared.
 */
static int
lit_in(const char *t, size_t n, const char *lit, size_t ln)
{
	const char *p = t, *last;

	if (ln > n)
		return 0;
	if (n > 256)
		return memmem(t, n, lit, ln) != NULL;
	last = t + (n - ln);
	while (p <= last && (p = memchr(p, lit[0], (size_t)(last - p) +
	    1)) != NULL) {
		if (memcmp(p + 1, lit + 1, ln - 1) == 0)
			return 1;
		p++;
	}
	return 0;
}

int
rule_prefilter_may_match_text(const struct rule *r,
    const struct rule_bitmap *bm, const char *folded, size_t len)
{
	size_t i = 0, k;

	for (k = 0; k < r->nsets; k++) {
		for (; i < r->setend[k]; i++)
			if ((bm == NULL || lit_present(bm, r->lits[i],
			    r->litlen[i])) && lit_in(folded, len, r->lits[i],
			    r->litlen[i]))
				break;
		if (i == r->setend[k])
			return 0;	/* no member of set k occurs */
		i = r->setend[k];
	}
	return 1;
}
