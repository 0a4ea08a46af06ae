/*
 * rule_bigre.c: compile a pattern PCRE2 refuses as "regular expression is
 * too large".
 *
 * Debian's PCRE2 is built with a link size of 2, so a compiled pattern must
 * fit in 64 KiB.  SpamAssassin's ReplaceTags expansions of a few stock
 * rules (__PAY_ME, __HOURS_DEADLINE, __MY_MALWARE, ...) do not: every letter
 * becomes a large alternation of look-alike characters, written out again
 * at every use, and a group repeated {n,m} is compiled n..m times.  Perl has
 * no such limit, so SpamAssassin runs them.
 *
 * The rewrite keeps the pattern's meaning and shrinks its code: a group
 * written out several times, or repeated by a counted quantifier, is
 * defined once in a (?(DEFINE)...) block and called as a subroutine,
 * (?&name), at each place.  Since PCRE2 10.30 subroutine calls backtrack
 * like the inline group, and only non-capturing groups are moved, so
 * matches are the same.  The largest saving is taken first until the
 * pattern compiles.
 *
 * Not done (the pattern stays refused): patterns with numbered
 * back-references or subroutine calls (adding groups would renumber them),
 * inline option settings (a called group runs with the options where it is
 * defined), \Q...\E and extended (/x) syntax.
 *
 * Pure: no I/O; bounded (at most BIGRE_ROUNDS rewrites).
 */
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"
#include "sbuf.h"
#include "xmalloc.h"

#define BIGRE_ROUNDS	400	/* subroutines defined at most */
#define BIGRE_MIN_LEN	12	/* shorter groups are not worth a call */

struct span {
	size_t		 start, len;	/* "(?:...)" */
	unsigned	 rep;		/* copies a counted quantifier makes */
	int		 text;		/* which text: 0 main, k+1 def k */
};

/*
 * Whether src uses something the rewrite cannot keep the meaning of:
 * numbered references, calls, option settings, \Q.  rule_hs.c splits
 * only such patterns too.
 */
int
rule_bigre_rewritable(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == 'Q' || p[1] == 'g' || p[1] == 'k' ||
			    (p[1] >= '1' && p[1] <= '9'))
				return 0;
			if (p[1] != '\0')
				p++;
			continue;
		}
		if (p[0] == '(' && p[1] == '?') {
			char c = p[2];

			if (c == ':' || c == '=' || c == '!' || c == '>' ||
			    c == '|' || c == '#' || c == '(')
				continue;
			if (c == '<' && (p[3] == '=' || p[3] == '!'))
				continue;
			if ((c == '<' || c == '\'') || (c == 'P' && p[3] == '<'))
				continue;	/* a named group */
			return 0;	/* options, calls, (?R), (?P=...) */
		}
	}
	return 1;
}

/* The copies the quantifier at q makes of what precedes it. */
static unsigned
quant_copies(const char *q)
{
	long lo, hi;
	char *e;

	if (*q != '{' || q[1] < '0' || q[1] > '9')
		return 1;
	lo = strtol(q + 1, &e, 10);
	if (*e == '}')
		hi = lo;
	else if (*e == ',' && e[1] == '}')
		hi = lo + 1;
	else if (*e == ',' && e[1] >= '0' && e[1] <= '9') {
		hi = strtol(e + 1, &e, 10);
		if (*e != '}')
			return 1;
	} else
		return 1;
	if (hi < 1)
		return 1;
	return hi > 1000 ? 1000 : (unsigned)hi;
}

/*
 * The non-capturing groups of s (text t), appended to *v.  Escapes and
 * character classes are skipped so a "(" inside them is not taken for a
 * group.
 */
static void
scan_groups(const char *s, int t, struct span **v, size_t *n, size_t *cap)
{
	size_t stack[256], sp = 0, i, len = strlen(s);

	for (i = 0; i < len; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '[') {
			/* a class: "]" right after "[" or "[^" is literal */
			i++;
			if (s[i] == '^')
				i++;
			if (s[i] == ']')
				i++;
			for (; i < len && s[i] != ']'; i++) {
				if (s[i] == '\\')
					i++;
				else if (s[i] == '[' && s[i + 1] == ':') {
					const char *e = strstr(s + i, ":]");

					if (e != NULL)
						i = (size_t)(e - s) + 1;
				}
			}
			continue;
		}
		if (s[i] == '(') {
			if (sp == sizeof(stack) / sizeof(stack[0]))
				return;
			stack[sp++] = i;
			continue;
		}
		if (s[i] == ')' && sp > 0) {
			size_t st = stack[--sp];

			if (s[st + 1] != '?' || s[st + 2] != ':')
				continue;
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 1024;
				*v = xreallocarray(*v, *cap, sizeof(**v));
			}
			(*v)[*n].start = st;
			(*v)[*n].len = i + 1 - st;
			(*v)[*n].rep = quant_copies(s + i + 1);
			(*v)[*n].text = t;
			(*n)++;
		}
	}
}

static char *const *cmp_texts;

static int
cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(cmp_texts[x->text] + x->start, cmp_texts[y->text] +
	    y->start, x->len);
}

static int
cmp_start(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Replace every group of s equal to g[0..gl) by "(?&zzmoatK)". */
static char *
replace_groups(const char *s, const char *g, size_t gl, size_t k)
{
	struct span *v = NULL;
	size_t n = 0, cap = 0, i, m, at = 0;
	struct sbuf o = SBUF_INIT;
	char *r;

	scan_groups(s, 0, &v, &n, &cap);
	for (i = m = 0; i < n; i++)
		if (v[i].len == gl && memcmp(s + v[i].start, g, gl) == 0)
			v[m++] = v[i];
	if (m > 0)	/* qsort(NULL, 0) is undefined */
		qsort(v, m, sizeof(*v), cmp_start);
	for (i = 0; i < m; i++) {
		if (v[i].start < at)
			continue;	/* inside one already replaced */
		sbuf_add(&o, s + at, v[i].start - at);
		sbuf_printf(&o, "(?&zzmoat%zu)", k);
		at = v[i].start + gl;
	}
	sbuf_adds(&o, s + at);
	free(v);
	r = xstrdup(o.p ? o.p : "");
	sbuf_free(&o);
	return r;
}

static pcre2_code *
try_compile(char *const *texts, size_t ndefs, uint32_t opts,
    pcre2_compile_context *cc, int *ec, PCRE2_SIZE *off)
{
	struct sbuf b = SBUF_INIT;
	pcre2_code *re;
	size_t k;

	if (ndefs > 0) {
		sbuf_adds(&b, "(?(DEFINE)");
		for (k = 0; k < ndefs; k++)
			sbuf_printf(&b, "(?<zzmoat%zu>%s)", k, texts[k + 1]);
		sbuf_addc(&b, ')');
	}
	sbuf_adds(&b, texts[0]);
	re = pcre2_compile((PCRE2_SPTR)b.p, b.len, opts, ec, off, cc);
	sbuf_free(&b);
	return re;
}

pcre2_code *
rule_bigre_compile(const char *src, uint32_t opts, pcre2_compile_context *cc,
    int *ec, PCRE2_SIZE *off)
{
	char **texts;
	size_t ntexts = 1, round, i, n, cap, best, k;
	struct span *v = NULL;
	pcre2_code *re = NULL;
	double gain, bestgain;

	if ((opts & PCRE2_EXTENDED) || !rule_bigre_rewritable(src) ||
	    strstr(src, "zzmoat") != NULL)
		return NULL;
	texts = xcalloc(BIGRE_ROUNDS + 2, sizeof(char *));
	texts[0] = xstrdup(src);
	for (round = 0; round < BIGRE_ROUNDS; round++) {
		n = cap = 0;
		for (k = 0; k < ntexts; k++)
			scan_groups(texts[k], (int)k, &v, &n, &cap);
		cmp_texts = texts;
		if (n > 0)
			qsort(v, n, sizeof(*v), cmp_span);
		/* the group whose copies cost the most code */
		best = (size_t)-1;
		bestgain = 0;
		for (i = 0; i < n; ) {
			size_t j = i;
			double copies = 0;

			while (j < n && cmp_span(&v[i], &v[j]) == 0)
				copies += v[j++].rep;
			gain = (copies - 1) * (double)v[i].len;
			if (v[i].len >= BIGRE_MIN_LEN && copies > 1 &&
			    gain > bestgain) {
				bestgain = gain;
				best = i;
			}
			i = j;
		}
		if (best == (size_t)-1)
			break;
		{
			char *g = xstrndup(texts[v[best].text] + v[best].start,
			    v[best].len);

			for (k = 0; k < ntexts; k++) {
				char *t = replace_groups(texts[k], g,
				    v[best].len, ntexts - 1);

				free(texts[k]);
				texts[k] = t;
			}
			/* the definition itself is the group, unreplaced */
			texts[ntexts++] = g;
		}
		if ((re = try_compile(texts, ntexts - 1, opts, cc, ec,
		    off)) != NULL || *ec != PCRE2_ERROR_PATTERN_TOO_LARGE)
			break;
	}
	free(v);
	for (k = 0; k < ntexts; k++)
		free(texts[k]);
	free(texts);
	return re;
}
