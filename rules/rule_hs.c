/*
 * rule_hs.c: Hyperscan as a prefilter for body, rawbody, uri and full rules.
 *
 * Every such pattern Hyperscan can take is compiled, with HS_FLAG_PREFILTER,
 * into one database per stage; a message's text for the stage is scanned
 * once, and a rule whose id Hyperscan does not report cannot match, so its
 * PCRE2 run is skipped.  Hyperscan only ever decides "skip": the hits
 * themselves still come from PCRE2, so the results are exactly those of a
 * run without it.  That needs every expression to match wherever the PCRE2
 * pattern can (a superset, never a subset):
 *
 *  - the stage's elements are scanned joined by "\n" with HS_FLAG_MULTILINE,
 *    so ^ and $ hold at every element's ends; \A \G become ^, \z \Z $;
 *  - PCRE2 folds Latin-1 letters under /i (rule_load.c's tables) and
 *    Hyperscan only ASCII, so every Latin-1 letter outside a negated class
 *    is widened to both cases;
 *  - what Hyperscan cannot take (\Q, /x, a refused construct) stays out and
 *    runs as before.
 *
 * A rule PCRE2 would try at almost every offset also gets a start finder
 * (below): its expression reversed, scanned exactly over the reversed text
 * once the prefilter has reported the rule, giving the only offsets where
 * PCRE2 needs to try it.
 *
 * Compiling takes up to a couple of minutes (SpamAssassin's stock set), so
 * the compiled databases can be kept in a cache directory, named by a hash
 * of everything that went into them; the caller decides whether the build
 * happens at all and on which thread (moatd builds off the event loop,
 * doc/rules.md "Hyperscan").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digits.h"
#include "rule_int.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

#ifdef HAVE_HYPERSCAN
#include <hs/hs.h>

struct rule_hs {
	hs_database_t	*db[RULE_ST_COUNT];
	unsigned char	*covered;	/* per rule: in its stage's db */
	size_t		 nrules;
	hs_database_t	**sdb;		/* per rule: its start finder, or NULL */
	pcre2_code	**sre;		/* ... and its pattern, offset-limited */
	struct rule_hs_info info;
	unsigned long long gen;		/* which build: see hs_new() */
};

static void
put_hex(struct sbuf *o, unsigned v)
{
	static const char hx[] = "0123456789abcdef";

	sbuf_adds(o, "\\x");
	sbuf_addc(o, hx[(v >> 4) & 15]);
	sbuf_addc(o, hx[v & 15]);
}

/*
 * The byte a \x escape at p (p[0] == 'x') stands for; *end is set past it.
 * -1 for what is not one byte (\x{100} and up).
 */
static int
hex_escape(const char *p, const char **end)
{
	int v = 0, d, k;

	p++;
	if (*p == '{') {
		for (p++, k = 0; (d = hex_digit(*p)) >= 0; p++, k++)
			if ((v = v * 16 + d) > 0xFF)
				return -1;
		if (*p != '}' || k == 0)
			return -1;
		*end = p + 1;
		return v;
	}
	for (k = 0; k < 2 && (d = hex_digit(*p)) >= 0; k++, p++)
		v = v * 16 + d;
	*end = p;
	return v;
}

/*
 * A class member at *pp that stands for one byte (a literal, \xHH, \n,
 * escaped punctuation), advancing *pp; -1 for a class escape (\d, \w...)
 * and -2 for something we do not handle.
 */
static int
class_value(const char **pp)
{
	const char *p = *pp;
	int v;

	if (*p != '\\') {
		*pp = p + 1;
		return (unsigned char)*p;
	}
	p++;
	switch (*p) {
	case 'x':
		if ((v = hex_escape(p, pp)) < 0)
			return -2;
		return v;
	case 'n': v = '\n'; break;
	case 't': v = '\t'; break;
	case 'r': v = '\r'; break;
	case 'f': v = '\f'; break;
	case 'e': v = 0x1B; break;
	case 'a': v = 0x07; break;
	case 'b': v = 0x08; break;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
	case 'h': case 'H': case 'v': case 'V':
		*pp = p + 1;
		return -1;
	case '\0':
		return -2;
	default:
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z'))
			return -2;	/* octal, \p, \N...: not taken */
		v = (unsigned char)*p;
		break;
	}
	*pp = p + 1;
	return v;
}

/*
 * The other case of a byte >= 0x80 under PCRE2's /i, from the rule set's
 * character tables (fcc, rule_load.c adds the Latin-1 letters), or -1.
 * ASCII is left to HS_FLAG_CASELESS.
 */
static int
high_partner(const uint8_t *tables, int c)
{
	int f = tables[256 + c];

	return c >= 0x80 && f != c ? f : -1;
}

/*
 * A class, p just past its '['.  Its byte members are collected, with their
 * case partners unless the class is negated (adding members would make it
 * match less), and written as \xHH runs; class escapes (\d...) and POSIX
 * classes are copied as they are.  Returns the position past ']', or NULL
 * when the class is not taken.
 */
static const char *
copy_class(const char *p, const uint8_t *tables, struct sbuf *o)
{
	unsigned char set[256];
	int neg = 0, first = 1, v, w, c, e;

	memset(set, 0, sizeof(set));
	sbuf_addc(o, '[');
	if (*p == '^') {
		neg = 1;
		sbuf_addc(o, '^');
		p++;
	}
	for (; *p != ']' || first; first = 0) {
		if (*p == '\0')
			return NULL;
		if (p[0] == '[' && p[1] == ':') {
			const char *end = strstr(p + 2, ":]");

			if (end == NULL)
				return NULL;
			sbuf_add(o, p, (size_t)(end + 2 - p));
			p = end + 2;
			continue;
		}
		if (*p == '[')	/* a literal '[' (PCRE2 has no nesting) */
			p++, v = '[';
		else {
			const char *s = p;

			if ((v = class_value(&p)) == -2)
				return NULL;
			if (v == -1) {	/* \d and the like, as they are */
				sbuf_add(o, s, (size_t)(p - s));
				continue;
			}
		}
		w = v;
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (*p == '[' || (w = class_value(&p)) < 0 || w < v)
				return NULL;
		}
		for (c = v; c <= w; c++) {
			set[c] = 1;
			if (!neg && (e = high_partner(tables, c)) >= 0)
				set[e] = 1;
		}
	}
	for (c = 0; c < 256; c = e + 1) {
		if (!set[c]) {
			e = c;
			continue;
		}
		for (e = c; e < 255 && set[e + 1]; e++)
			;
		put_hex(o, (unsigned)c);
		if (e > c + 1)
			sbuf_addc(o, '-');
		if (e > c)
			put_hex(o, (unsigned)e);
	}
	sbuf_addc(o, ']');
	return p + 1;
}

/*
 * Whether an option setting turns /x on inside the pattern: its comments
 * and spaces would be read differently by the copy below.
 */
static int
inline_x(const char *p)
{
	for (; (p = strstr(p, "(?")) != NULL; p += 2) {
		const char *q = p + 2;

		while (*q == '^' || *q == '-' || (*q >= 'a' && *q <= 'z') ||
		    (*q >= 'A' && *q <= 'Z')) {
			if (*q == 'x')
				return 1;
			q++;
		}
	}
	return 0;
}

int
rule_hs_expression(const char *src, uint32_t copts, const uint8_t *tables,
    struct sbuf *o, unsigned *flags)
{
	const char *p = src, *e;
	int v, pv;

	sbuf_reset(o);
	if ((copts & PCRE2_EXTENDED) || inline_x(src))
		return -1;
	while (*p != '\0') {
		if (*p == '[') {
			if ((p = copy_class(p + 1, tables, o)) == NULL)
				return -1;
			continue;
		}
		if (p[0] == '(' && p[1] == '?' && p[2] == '#') {
			/* a comment may hold anything, '[' included */
			if ((e = strchr(p, ')')) == NULL)
				return -1;
			p = e + 1;
			continue;
		}
		if (*p == '\\') {
			switch (p[1]) {
			case 'A': case 'G':
				sbuf_addc(o, '^');
				p += 2;
				continue;
			case 'z': case 'Z':
				sbuf_addc(o, '$');
				p += 2;
				continue;
			case 'Q': case 'E': case 'p': case 'P': case 'X':
			case 'C': case 'K': case '\0':
				return -1;
			case 'x':
				if ((v = hex_escape(p + 1, &e)) < 0)
					return -1;
				p = e;
				break;
			case 'c':
				if (p[2] == '\0')
					return -1;
				sbuf_add(o, p, 3);
				p += 3;
				continue;
			default:
				/* the letters Hyperscan reads as PCRE2 does */
				if (((p[1] >= 'a' && p[1] <= 'z') ||
				    (p[1] >= 'A' && p[1] <= 'Z')) &&
				    strchr("dDwWsSbBntrfeahHvV", p[1]) == NULL)
					return -1;
				sbuf_add(o, p, 2);
				p += 2;
				continue;
			}
		} else if ((unsigned char)*p >= 0x80) {
			v = (unsigned char)*p++;
		} else {
			sbuf_addc(o, *p++);
			continue;
		}
		/* one byte, v: with its other case if it has one */
		if ((pv = high_partner(tables, v)) < 0) {
			put_hex(o, (unsigned)v);
			continue;
		}
		sbuf_addc(o, '[');
		put_hex(o, (unsigned)v);
		put_hex(o, (unsigned)pv);
		sbuf_addc(o, ']');
	}
	*flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_MULTILINE |
	    HS_FLAG_ALLOWEMPTY;
	if (copts & PCRE2_CASELESS)
		*flags |= HS_FLAG_CASELESS;
	if (copts & PCRE2_DOTALL)
		*flags |= HS_FLAG_DOTALL;
	return 0;
}

/*
 * Start finders.  A pattern PCRE2 cannot start cheaply (no first byte, or
 * one of very many) is tried at nearly every offset of a long text, and
 * its Hyperscan prefilter, which only says "somewhere", does not help once
 * it passes: __FILL_THIS_FORM_SHORT2 alone took a quarter of the stock
 * set's time.  For such a pattern Hyperscan is given the expression
 * reversed, exactly (no prefilter approximation) and without
 * HS_FLAG_SINGLEMATCH, to scan the stage's text reversed: every offset it
 * reports is a place where a match of the superset starts, so PCRE2 needs
 * to try only there (rule_eval.c, through an offset limit).  Bounded
 * repeats are widened to unbounded ones and lookarounds dropped, which only
 * adds places; when the whole does not compile, a pattern that is one
 * repeated group, (?:X){n}, uses X: every match starts with one.
 */
static int rev_alt(const char **, struct sbuf *, int);

/*
 * A quantifier at *pp, widened, onto o: 1, or 0 when there is none, -1
 * for a brace that is not one ("{,n}" is literal text to some PCRE2
 * versions and a quantifier to others).
 */
static int
rev_quant(const char **pp, struct sbuf *o)
{
	const char *p = *pp, *q;
	unsigned long n;
	char *e;

	if (*p == '*' || *p == '+' || *p == '?')
		sbuf_addc(o, *p++);
	else if (*p == '{') {
		q = p + 1;
		if (*q < '0' || *q > '9' || (n = strtoul(q, &e, 10)) > 1000)
			return -1;
		if (*e == ',') {
			q = e + 1;
			if (*q >= '0' && *q <= '9')
				(void)strtoul(q, &e, 10);
			else
				e = (char *)q;
			if (*e != '}')
				return -1;
			sbuf_printf(o, "{%lu,}", n);	/* {n,m} -> {n,} */
		} else if (*e == '}')
			sbuf_add(o, p, (size_t)(e + 1 - p));
		else
			return -1;
		p = e + 1;
	} else
		return 0;
	if (*p == '?' || *p == '+')	/* lazy, possessive: all the same */
		p++;
	*pp = p;
	return 1;
}

/* A class at p ('['), copied as it is; NULL when it does not end. */
static const char *
rev_class(const char *p, struct sbuf *o)
{
	const char *s = p++, *e;
	int first = 1;

	if (*p == '^')
		p++;
	for (; *p != ']' || first; first = 0) {
		if (*p == '\0')
			return NULL;
		if (p[0] == '[' && p[1] == ':') {
			if ((e = strstr(p + 2, ":]")) == NULL)
				return NULL;
			p = e + 2;
		} else if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p += 2;
		} else
			p++;
	}
	sbuf_add(o, s, (size_t)(p + 1 - s));
	return p + 1;
}

/* One alternative: its pieces written to o in the reverse order. */
static int
rev_seq(const char **pp, struct sbuf *o, int depth)
{
	struct sbuf t = SBUF_INIT;
	size_t *ends = NULL, n = 0, i, mark;
	const char *p = *pp, *q;
	int drop, rc = -1;

	while (*p != '\0' && *p != '|' && *p != ')') {
		mark = t.len;
		drop = 0;
		if (*p == '(') {
			p++;
			if (*p != '?')
				sbuf_adds(&t, "(?:");
			else if (p[1] == ':' || p[1] == '>' || p[1] == '|') {
				sbuf_adds(&t, "(?:");
				p += 2;
			} else if (p[1] == '=' || p[1] == '!') {
				p += 2;
				drop = 1;
			} else if (p[1] == '<' && (p[2] == '=' || p[2] == '!')) {
				p += 3;
				drop = 1;
			} else if (p[1] == '<' || p[1] == '\'' || (p[1] == 'P' &&
			    p[2] == '<')) {
				if ((q = strpbrk(p, ">'")) == NULL || q == p + 1)
					goto out;
				sbuf_adds(&t, "(?:");
				p = q + 1;
			} else {
				/* (?i:...) keeps its scope reversed, (?i) not */
				for (q = p + 1; (*q >= 'a' && *q <= 'z') ||
				    (*q >= 'A' && *q <= 'Z') || *q == '-' ||
				    *q == '^'; q++)
					;
				if (*q != ':' || q == p + 1)
					goto out;
				sbuf_addc(&t, '(');
				sbuf_add(&t, p, (size_t)(q + 1 - p));
				p = q + 1;
			}
			if (rev_alt(&p, &t, depth + 1) != 0 || *p != ')')
				goto out;
			p++;
			sbuf_addc(&t, ')');
		} else if (*p == '[') {
			if ((p = rev_class(p, &t)) == NULL)
				goto out;
		} else if (*p == '\\') {
			if (p[1] == '\0' || (p[1] >= '0' && p[1] <= '9'))
				goto out;	/* a back reference */
			q = p + 2;
			if (p[1] == 'x' && p[2] == '{') {
				if ((q = strchr(p, '}')) == NULL)
					goto out;
				q++;
			} else if (p[1] == 'x') {
				while (q < p + 4 && hex_digit(*q) >= 0)
					q++;
			} else if (p[1] == 'c' && p[2] != '\0')
				q++;
			sbuf_add(&t, p, (size_t)(q - p));
			p = q;
		} else if (*p == '^' || *p == '$') {
			sbuf_addc(&t, *p == '^' ? '$' : '^');
			p++;
		} else if (*p == '*' || *p == '+' || *p == '?' || *p == '{')
			goto out;
		else
			sbuf_addc(&t, *p++);
		if (rev_quant(&p, &t) < 0)
			goto out;
		if (drop)
			t.len = mark;
		ends = xreallocarray(ends, n + 1, sizeof(*ends));
		ends[n++] = t.len;
	}
	for (i = n; i-- > 0;) {
		mark = i == 0 ? 0 : ends[i - 1];
		sbuf_add(o, t.p + mark, ends[i] - mark);
	}
	*pp = p;
	rc = 0;
out:
	free(ends);
	sbuf_free(&t);
	return rc;
}

static int
rev_alt(const char **pp, struct sbuf *o, int depth)
{
	if (depth > 50)
		return -1;
	for (;;) {
		if (rev_seq(pp, o, depth) != 0)
			return -1;
		if (**pp != '|')
			return 0;
		sbuf_addc(o, '|');
		(*pp)++;
	}
}

/*
 * The reverse of expression e (rule_hs_expression()'s, never /x), widened
 * as said above; -1 when it holds what cannot be turned round (a back
 * reference, an option setting that reaches to the end of its group).
 */
int
rule_hs_reverse(const char *e, struct sbuf *o)
{
	sbuf_reset(o);
	if (rev_alt(&e, o, 0) != 0 || *e != '\0')
		return -1;
	sbuf_addc(o, '\0');
	o->len--;
	return 0;
}

/*
 * X when e is one group repeated at least once, (?:X){n} or (?:X)+, else
 * NULL; the caller frees it.
 */
static char *
repeated_unit(const char *e)
{
	struct sbuf t = SBUF_INIT;
	const char *p = e + 3;
	char *x = NULL;

	if (strncmp(e, "(?:", 3) != 0)
		return NULL;
	/* find the group's end: rev_alt() knows the syntax */
	if (rev_alt(&p, &t, 0) == 0 && *p == ')' && (p[1] == '+' ||
	    (p[1] == '{' && p[2] >= '1' && p[2] <= '9'))) {
		const char *q = p + 1;

		if (rev_quant(&q, &t) == 1 && *q == '\0')
			x = xstrndup(e + 3, (size_t)(p - e - 3));
	}
	sbuf_free(&t);
	return x;
}

/*
 * Whether r is worth a start finder: PCRE2 knows no first byte for it, or
 * only a set of many, so it would be tried at most offsets, and it cannot
 * match a few bytes (/\S/ matches at once anyway).  \G asks for the
 * search's own start, and capturing and template rules run otherwise.
 * expr is r's Hyperscan expression with flags f: a pattern compiled
 * through rule_bigre.c (__FILL_THIS_FORM_LONG1/2) reports a minimum length
 * of 0, since PCRE2 does not follow the subroutine calls, so Hyperscan's
 * own minimum width of the exact expression is asked instead.
 */
static int
wants_starts(const struct rule *r, const char *expr, unsigned f)
{
	const uint8_t *bm = NULL;
	uint32_t type = 0;
	int bits = 0, k;
	hs_compile_error_t *ce;
	hs_expr_info_t *xi;

	uint32_t minlen = 0;

	if ((r->flags & (RF_NAMED | RF_TEMPLATE)) || strstr(r->src, "\\G") !=
	    NULL || pcre2_pattern_info(r->re, PCRE2_INFO_FIRSTCODETYPE,
	    &type) != 0 || type != 0 || pcre2_pattern_info(r->re,
	    PCRE2_INFO_FIRSTBITMAP, &bm) != 0 || pcre2_pattern_info(r->re,
	    PCRE2_INFO_MINLENGTH, &minlen) != 0)
		return 0;
	if (minlen == 0 && hs_expression_info(expr, f & ~(unsigned)
	    HS_FLAG_PREFILTER, &xi, &ce) == HS_SUCCESS) {
		minlen = xi->min_width;
		free(xi);
	} else if (minlen == 0)
		hs_free_compile_error(ce);
	if (minlen < 4)
		return 0;
	if (bm == NULL)
		return 1;
	for (k = 0; k < 32; k++)
		bits += __builtin_popcount(bm[k]);
	return bits >= 40;
}

/* The stages Hyperscan serves: the ones whose texts are long. */
static int
hs_stage(enum rule_stage st)
{
	return st == RULE_ST_BODY || st == RULE_ST_URI ||
	    st == RULE_ST_RAWBODY || st == RULE_ST_FULL;
}

/* The expressions of one stage, and the cache key over all of them. */
struct hs_input {
	char		**expr;
	char		**alt;		/* start finders: the first unit's */
	unsigned	*flags;
	unsigned	*ids;		/* rule indices */
	size_t		 n;
};

static void
input_add(struct hs_input *d, const char *e, const char *alt, unsigned f,
    unsigned id)
{
	d->expr = xreallocarray(d->expr, d->n + 1, sizeof(char *));
	d->alt = xreallocarray(d->alt, d->n + 1, sizeof(char *));
	d->flags = xreallocarray(d->flags, d->n + 1, sizeof(unsigned));
	d->ids = xreallocarray(d->ids, d->n + 1, sizeof(unsigned));
	d->expr[d->n] = xstrdup(e);
	d->alt[d->n] = alt != NULL ? xstrdup(alt) : NULL;
	d->flags[d->n] = f;
	d->ids[d->n] = id;
	d->n++;
}

static void
input_free(struct hs_input *in)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		free(in->expr[i]);
		free(in->alt[i]);
	}
	free(in->expr);
	free(in->alt);
	free(in->flags);
	free(in->ids);
	memset(in, 0, sizeof(*in));
}

static void
input_drop(struct hs_input *in, size_t k)
{
	free(in->expr[k]);
	free(in->alt[k]);
	in->n--;
	memmove(in->expr + k, in->expr + k + 1, (in->n - k) * sizeof(char *));
	memmove(in->alt + k, in->alt + k + 1, (in->n - k) * sizeof(char *));
	memmove(in->flags + k, in->flags + k + 1, (in->n - k) *
	    sizeof(unsigned));
	memmove(in->ids + k, in->ids + k + 1, (in->n - k) * sizeof(unsigned));
}

/*
 * Drop entry k and every other piece of its rule (hs_exprs()): a rule
 * with one piece missing would not be reported where that piece matches.
 * Returns how many entries before k went.
 */
static size_t
input_drop_rule(struct hs_input *in, size_t k)
{
	unsigned id = in->ids[k];
	size_t j, before = 0;

	for (j = in->n; j-- > 0;)
		if (in->ids[j] == id) {
			before += j < k;
			input_drop(in, j);
		}
	return before;
}

/*
 * FNV-1a, twice with different bases: 128 bits that name a cache file by
 * what went into it, and check that what is read back is what was written.
 */
static void
key_init(uint64_t k[2])
{
	k[0] = 0xcbf29ce484222325ULL;
	k[1] = 0x84222325cbf29ce4ULL;
}

static void
key_add(uint64_t k[2], const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		k[0] = (k[0] ^ b[i]) * 0x100000001b3ULL;
		k[1] = (k[1] ^ b[i]) * 0x100000001b3ULL;
		k[1] ^= k[1] >> 29;
	}
}

/*
 * The rules a lazy evaluation (what moatd does) can ever run: every rule
 * that is not a "__" sub-rule, sub-rules with captures or templates, and
 * what the metas among those read, transitively.  A sub-rule nothing reads
 * would only make every scan longer; it stays out of the databases (a full
 * evaluation runs it through PCRE2 as before).
 */
static unsigned char *
reachable(const struct rule_set *rs)
{
	unsigned char *need = xcalloc(rs->nrules + 1, 1);
	const struct rule *r;
	size_t i, k, j;

	for (i = 0; i < rs->nrules; i++)
		if ((rs->rules[i].flags & (RF_SUB | RF_NAMED | RF_TEMPLATE)) !=
		    RF_SUB)
			need[i] = 1;
	/* metas come after what they read: walk back, passing need down */
	for (k = rs->norder[RULE_ST_META]; k-- > 0;) {
		r = &rs->rules[rs->order[RULE_ST_META][k]];
		if (!need[rs->order[RULE_ST_META][k]])
			continue;
		for (j = 0; j < r->ncode; j++)
			if (r->code[j].op == MOP_RULE && r->code[j].rule >= 0 &&
			    (size_t)r->code[j].rule < rs->nrules)
				need[r->code[j].rule] = 1;
	}
	return need;
}

/*
 * Hyperscan refuses expressions longer than it allows, and the stock set's
 * homoglyph expansions (__PAY_ME, __MY_MALWARE, ...) are 50-240 KB: every
 * letter is (?:[aA...]|[\xc3][\x80...]|[\xf0][\x9d](?:...)|...).  For the
 * prefilter a superset will do, so in such a group every alternative after
 * the first that can only match bytes 0x80-0xff (escapes of such bytes,
 * classes of them, groups of them; no quantifier) becomes one
 * [\x80-\xff]+.  ASCII text is judged as before; an 8-bit letter
 * anywhere may only make Hyperscan report more.
 */
#define HS_LONG_EXPR	8000	/* longer sources get the superset */

/* p[0..n) matches only a non-empty run of bytes >= 0x80 */
static int
high_only(const char *p, size_t n)
{
	size_t i;
	int esc = 0, in_class = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\') {
			unsigned v;

			if (i + 3 >= n || p[i + 1] != 'x' ||
			    sscanf(p + i + 2, "%2x", &v) != 1 || v < 0x80)
				return 0;
			i += 3;
			esc = 1;
			continue;
		}
		if (p[i] == '[' && !in_class) {
			/* negated, or "]" first: a member, a low byte */
			if (i + 1 < n && (p[i + 1] == '^' || p[i + 1] == ']'))
				return 0;
			in_class = 1;
			continue;
		}
		if (p[i] == ']' && in_class) {
			in_class = 0;
			continue;
		}
		/* outside a class "-" is a literal, a low byte */
		if (p[i] == '-' && in_class)
			continue;
		if (in_class)
			return 0;
		if (p[i] == '?' && !(i > 0 && p[i - 1] == '(' && i + 1 < n &&
		    p[i + 1] == ':'))
			return 0;
		if (strchr("(?:|)", p[i]) == NULL)
			return 0;
	}
	return esc && !in_class;
}

/* p[0..n) matches only "&#" and then digits, x and ";" (an entity) */
static int
entity_only(const char *p, size_t n)
{
	size_t i;

	int in_class = 0;

	if (n < 3 || p[0] != '&' || p[1] != '#')
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] == '[' && !in_class) {
			/* negated, or "]" first: a member, a low byte */
			if (i + 1 < n && (p[i + 1] == '^' || p[i + 1] == ']'))
				return 0;
			in_class = 1;
			continue;
		}
		if (p[i] == ']' && in_class) {
			in_class = 0;
			continue;
		}
		/* in a class only digit ranges; outside "-" is a literal */
		if (in_class ? strchr("0123456789-", p[i]) == NULL :
		    strchr("0123456789xX;(?:|)", p[i]) == NULL)
			return 0;
		if (!in_class && p[i] == '?' && !(p[i - 1] == '(' &&
		    i + 1 < n && p[i + 1] == ':'))
			return 0;
	}
	return !in_class;
}

/*
 * The "]" that closes the class opening at p[i] (p[i] == '['), or n.  A
 * "]" first in the class, after an optional "^", is a member ("[]a]",
 * "[^]a]"), and so is a POSIX class ("[[:alpha:]x]"); taking either for
 * the end would let a ")" or "|" inside the class end a group or an
 * alternative, and the superset would lose what the class matches.
 */
static size_t
class_end(const char *p, size_t i, size_t n)
{
	const char *c;

	i++;
	if (i < n && p[i] == '^')
		i++;
	if (i < n && p[i] == ']')
		i++;
	for (; i < n && p[i] != ']'; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[' && i + 1 < n && p[i + 1] == ':' &&
		    (c = strstr(p + i + 2, ":]")) != NULL &&
		    (size_t)(c - p) + 1 < n)
			i = (size_t)(c - p) + 1;
	}
	return i < n ? i : n;
}

/* The last byte of the escape or class at p[i], or i for any other byte. */
static size_t
atom_end(const char *p, size_t i, size_t n)
{
	if (p[i] == '\\')
		return i + 1 < n ? i + 1 : i;
	return p[i] == '[' ? class_end(p, i, n) : i;
}

/* the end of the group opening at p[i], or n */
static size_t
group_end(const char *p, size_t i, size_t n)
{
	size_t j;
	int depth = 0;

	for (; i < n; i++) {
		if ((j = atom_end(p, i, n)) != i) {
			i = j;
			continue;
		}
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i;
	}
	return n;
}

/*
 * The alternatives at depth 0 of src[from .. e): the k-th starts at
 * starts[k] and ends before starts[k + 1] - 1 (the last one at e).  Returns
 * how many, max when there are max or more.
 */
static size_t
alternatives(const char *src, size_t from, size_t e, size_t *starts,
    size_t max)
{
	size_t k, j, ns = 0;
	long d = 0;

	starts[ns++] = from;
	for (k = from; k < e && ns < max; k++) {
		if ((j = atom_end(src, k, e)) != k) {
			k = j;
			continue;
		}
		if (src[k] == '(')
			d++;
		else if (src[k] == ')')
			d--;
		else if (src[k] == '|' && d == 0)
			starts[ns++] = k + 1;
	}
	return ns;
}

static char *
hs_superset(const char *src)
{
	struct sbuf o = SBUF_INIT;
	size_t n = strlen(src), i, e, a;
	int changed = 0;
	char *r;

	if (strstr(src, "\\Q") != NULL)	/* quoted text is not syntax */
		return NULL;
	for (i = 0; i < n; ) {
		if (src[i] == '\\' && i + 1 < n) {
			sbuf_add(&o, src + i, 2);
			i += 2;
			continue;
		}
		if (src[i] == '[') {
			e = class_end(src, i, n);
			sbuf_add(&o, src + i, e < n ? e + 1 - i : n - i);
			i = e + 1;
			continue;
		}
		if (!(src[i] == '(' && i + 2 < n && src[i + 1] == '?' &&
		    src[i + 2] == ':') || (e = group_end(src, i, n)) == n) {
			sbuf_addc(&o, src[i++]);
			continue;
		}
		/* the alternatives of src[i+3 .. e) at depth 0 */
		{
			size_t starts[1024], ns;
			int ent = 0;

			ns = alternatives(src, i + 3, e, starts, 1024);

			for (a = 1; a < ns; a++) {
				size_t al = (a + 1 < ns ? starts[a + 1] - 1 :
				    e) - starts[a];

				if (entity_only(src + starts[a], al))
					ent = 1;
				else if (!high_only(src + starts[a], al))
					break;
			}
			if (ns < 2 || ns == 1024 || a < ns) {
				sbuf_addc(&o, src[i++]);	/* look inside */
				continue;
			}
			sbuf_add(&o, src + i, starts[1] - i);
			sbuf_adds(&o, ent ? "[\\x80-\\xff]+|&#[0-9xX;]*)" :
			    "[\\x80-\\xff]+)");
			changed = 1;
			i = e + 1;
		}
	}
	if (!changed) {
		sbuf_free(&o);
		return NULL;
	}
	r = xstrdup(o.p);
	sbuf_free(&o);
	return r;
}

/*
 * Hyperscan takes no expression longer than 16,000 bytes, and the
 * supersets of the stock __MY_MALWARE, __PAY_ME and __HOURS_DEADLINE are
 * still 17-39 KB.  Such a pattern goes to Hyperscan in pieces under its one
 * id: the longest group (?:A|B|C|D) that may be split is chosen, and the
 * pattern is written twice, with (?:A|B) and with (?:C|D) in the group's
 * place (the alternatives cut in two halves by length).  Every match of the
 * pattern takes one alternative there and is a match of one piece, so
 * Hyperscan reports the id wherever the pattern can match.  The group must
 * not be inside a repeated group (each round may take another
 * alternative), a lookaround or an atomic group, and the pattern must not
 * use what dropping alternatives could change the meaning of: numbered
 * references, calls, option settings (rule_bigre_rewritable()),
 * conditions, verbs and comments.  A piece still too long is split again,
 * up to HS_PIECES_MAX pieces.
 */
/*
 * A superset longer than HS_EXPR_MAX is cut: Hyperscan's own limit is
 * 16,000, but in prefilter mode it approximates a large expression so much
 * that the 10-12 KB pieces of __MY_MALWARE and __PAY_ME were reported on
 * every corpus message; at 6,000 their 21 and 8 pieces are reported on
 * none of 100.  An exact expression is cut only over HS_EXPR_LIMIT.
 */
#define HS_EXPR_MAX	6000
#define HS_EXPR_LIMIT	15000	/* exact ones: under Hyperscan's own */
#define HS_PIECES_MAX	64
#define HS_ALTS_MAX	4096	/* a group with more is not split */

struct hs_group {
	size_t	 start, end;	/* at '(' and ')'; the whole pattern: 0, n */
	size_t	 open;		/* "(" 1, "(?:" 3, the whole pattern 0 */
	long	 parent;
	int	 ok;		/* (...) or (?:...), not repeated */
};

/* The groups of src (the first is the whole), or NULL. */
static struct hs_group *
hs_groups(const char *src, size_t n, size_t *ng)
{
	struct hs_group *g = xmalloc(sizeof(*g));
	long cur = 0;
	size_t i, j;

	g[0].start = 0;
	g[0].end = n;
	g[0].open = 0;
	g[0].parent = -1;
	g[0].ok = 1;
	*ng = 1;
	for (i = 0; i < n; i++) {
		if ((j = atom_end(src, i, n)) != i) {
			i = j;
			continue;
		}
		if (src[i] == '(') {
			g = xreallocarray(g, *ng + 1, sizeof(*g));
			g[*ng].start = i;
			g[*ng].end = n;
			g[*ng].parent = cur;
			g[*ng].ok = src[i + 1] != '?' || src[i + 2] == ':';
			g[*ng].open = src[i + 1] != '?' ? 1 : 3;
			cur = (long)(*ng)++;
		} else if (src[i] == ')') {
			if (cur == 0)
				break;
			g[cur].end = i;
			if (i + 1 < n && strchr("*+?{", src[i + 1]) != NULL)
				g[cur].ok = 0;
			cur = g[cur].parent;
		}
	}
	if (i < n || cur != 0) {
		free(g);
		return NULL;
	}
	return g;
}

struct hs_exprs {
	char	**v;
	size_t	 n;
	int	 approx;	/* a superset or pieces: no start finder */
};

/* src with g's alternatives src[a .. b) alone in g's place, to o */
static void
hs_piece(const char *src, size_t n, const struct hs_group *g, size_t a,
    size_t b, struct sbuf *o)
{
	sbuf_reset(o);
	sbuf_add(o, src, g->start);
	sbuf_adds(o, "(?:");
	sbuf_add(o, src + a, b - a);
	sbuf_addc(o, ')');
	if (g->end < n)
		sbuf_adds(o, src + g->end + 1);
	sbuf_addc(o, '\0');
}

static int hs_exprs(const char *, uint32_t, const uint8_t *, int,
    unsigned *, struct hs_exprs *);

/* Append the pieces of src to x (see above); -1 when it cannot be cut. */
static int
hs_split(const char *src, uint32_t copts, const uint8_t *tables,
    unsigned *f, struct hs_exprs *x)
{
	struct sbuf o = SBUF_INIT;
	struct hs_group *g;
	size_t n = strlen(src), ng, k, best, ns, m, *starts;
	int rc = -1;

	if (x->n + 2 > HS_PIECES_MAX || !rule_bigre_rewritable(src) ||
	    strstr(src, "(?(") || strstr(src, "(*") || strstr(src, "(?#") ||
	    (g = hs_groups(src, n, &ng)) == NULL)
		return -1;
	starts = xcalloc(HS_ALTS_MAX, sizeof(*starts));
	for (best = ng, k = 0; k < ng; k++) {
		long up;

		for (up = (long)k; up >= 0 && g[up].ok; up = g[up].parent)
			;
		if (up >= 0 || (best < ng && g[k].end - g[k].start <=
		    g[best].end - g[best].start))
			continue;
		ns = alternatives(src, g[k].start + g[k].open, g[k].end,
		    starts, HS_ALTS_MAX);
		if (ns >= 2 && ns < HS_ALTS_MAX)
			best = k;
	}
	if (best < ng) {
		x->approx = 1;
		ns = alternatives(src, g[best].start + g[best].open,
		    g[best].end, starts, HS_ALTS_MAX);
		/* the first alternative that starts past half the group */
		for (m = 1; m + 1 < ns && starts[m] - starts[0] <
		    (g[best].end - starts[0]) / 2; m++)
			;
		hs_piece(src, n, &g[best], starts[0], starts[m] - 1, &o);
		if ((rc = hs_exprs(o.p, copts, tables, 1, f, x)) == 0) {
			hs_piece(src, n, &g[best], starts[m], g[best].end, &o);
			rc = hs_exprs(o.p, copts, tables, 1, f, x);
		}
	}
	sbuf_free(&o);
	free(starts);
	free(g);
	return rc;
}

/*
 * Append the Hyperscan expressions for src (their flags in *f) to x: its
 * own, or its superset's, when short enough, else those of its pieces.  An
 * exact expression is cut only when Hyperscan would refuse it (it keeps
 * its start finder otherwise), and one that cannot be cut goes whole when
 * Hyperscan takes that.  Without cut, neither a superset nor pieces: only
 * the whole exact expression.  -1 when there is none.
 */
static int
hs_exprs(const char *src, uint32_t copts, const uint8_t *tables, int cut,
    unsigned *f, struct hs_exprs *x)
{
	struct sbuf o = SBUF_INIT;
	char *sup = cut && strlen(src) > HS_LONG_EXPR ? hs_superset(src) : NULL;
	size_t n0 = x->n;
	int rc, approx0 = x->approx | (sup != NULL);

	rc = rule_hs_expression(sup != NULL ? sup : src, copts, tables, &o, f);
	x->approx = approx0;
	if (rc == 0 && o.len > (sup != NULL ? HS_EXPR_MAX : HS_EXPR_LIMIT) &&
	    (!cut || hs_split(src, copts, tables, f, x) != 0)) {
		/* back to the whole, if Hyperscan takes it */
		while (x->n > n0)
			free(x->v[--x->n]);
		x->approx = approx0;
		if (o.len > HS_EXPR_LIMIT)
			rc = -1;
	} else if (rc == 0 && x->n > n0) {
		free(sup);
		sbuf_free(&o);
		return 0;
	}
	free(sup);
	if (rc == 0) {
		sbuf_addc(&o, '\0');
		x->v = xreallocarray(x->v, x->n + 1, sizeof(*x->v));
		x->v[x->n++] = xstrdup(o.p);
	}
	sbuf_free(&o);
	return rc;
}

static void
hs_exprs_free(struct hs_exprs *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->v[i]);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static void
gather(const struct rule_set *rs, struct hs_input in[RULE_ST_COUNT],
    struct hs_input sin[RULE_ST_COUNT], uint64_t key[2],
    struct rule_hs_info *info)
{
	struct sbuf rv = SBUF_INIT, ru = SBUF_INIT;
	struct hs_exprs x;
	const char *v = hs_version();
	unsigned char *need = reachable(rs);
	hs_platform_info_t plat;
	char *unit;
	size_t i, k;

	memset(&x, 0, sizeof(x));
	key_init(key);
	key_add(key, v, strlen(v) + 1);
	/* databases are built for this CPU's features */
	if (hs_populate_platform(&plat) == HS_SUCCESS)
		key_add(key, &plat, sizeof(plat));
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		unsigned f, sf;

		if (!hs_stage(r->stage) || r->re == NULL ||
		    r->skip != RSKIP_NONE)
			continue;
		if (!need[i]) {
			info->unread++;
			continue;
		}
		/*
		 * A superset or pieces cost the scan of every message; they
		 * pay for a rule that runs on every message, not for a "__"
		 * sub-rule that a lazy evaluation reaches only when a meta
		 * asks (the stock __MY_MALWARE, __PAY_ME, __YOUR_*...: the
		 * stock set scanned 1.25-1.3 times slower with them).
		 */
		if (hs_exprs(r->src, r->copts, rs->tables, !(r->flags &
		    RF_SUB), &f, &x) != 0) {
			hs_exprs_free(&x);
			info->skipped++;
			continue;
		}
		/* the stage too: the same rule moved to another stage */
		key_add(key, &r->stage, sizeof(r->stage));
		key_add(key, &i, sizeof(i));
		key_add(key, &f, sizeof(f));
		for (k = 0; k < x.n; k++) {
			input_add(&in[r->stage], x.v[k], NULL, f, (unsigned)i);
			key_add(key, x.v[k], strlen(x.v[k]) + 1);
		}
		/* a superset finds no exact starts */
		if (x.approx || !wants_starts(r, x.v[0], f) ||
		    rule_hs_reverse(x.v[0], &rv) != 0) {
			hs_exprs_free(&x);
			continue;
		}
		/* exact, every match reported: where each one starts */
		sf = f & ~(unsigned)(HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH |
		    HS_FLAG_ALLOWEMPTY);
		unit = repeated_unit(x.v[0]);
		hs_exprs_free(&x);
		if (unit != NULL && rule_hs_reverse(unit, &ru) != 0) {
			free(unit);
			unit = NULL;
		}
		input_add(&sin[r->stage], rv.p, unit != NULL ? ru.p : NULL, sf,
		    (unsigned)i);
		key_add(key, "starts", 7);
		key_add(key, &sf, sizeof(sf));
		key_add(key, rv.p, rv.len + 1);
		if (unit != NULL)
			key_add(key, ru.p, ru.len + 1);
		free(unit);
	}
	free(need);
	sbuf_free(&rv);
	sbuf_free(&ru);
}

/* Back to an empty h: no database, nothing covered. */
static void
hs_clear(struct rule_hs *h)
{
	size_t i;
	int st;

	for (st = 0; st < RULE_ST_COUNT; st++) {
		if (h->db[st] != NULL)
			hs_free_database(h->db[st]);
		h->db[st] = NULL;
	}
	for (i = 0; i < h->nrules; i++) {
		if (h->sdb[i] != NULL)
			hs_free_database(h->sdb[i]);
		pcre2_code_free(h->sre[i]);
		h->sdb[i] = NULL;
		h->sre[i] = NULL;
	}
	memset(h->covered, 0, h->nrules > 0 ? h->nrules : 1);
	memset(&h->info, 0, sizeof(h->info));
}

void
rule_hs_free(struct rule_hs *h)
{
	if (h == NULL)
		return;
	hs_clear(h);
	free(h->sre);
	free(h->sdb);
	free(h->covered);
	free(h);
}

/*
 * Compile one stage.  A pattern Hyperscan refuses is dropped and the rest
 * tried again; hs_expression_info() finds most of them cheaply first.
 */
static hs_database_t *
compile_stage(struct hs_input *in, struct rule_hs_info *info, char *err,
    size_t errlen)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *ce;
	hs_expr_info_t *xi;
	size_t k;

	for (k = 0; k < in->n;) {
		if (hs_expression_info(in->expr[k], in->flags[k], &xi,
		    &ce) != HS_SUCCESS) {
			hs_free_compile_error(ce);
			k -= input_drop_rule(in, k);
			info->refused++;
			continue;
		}
		free(xi);
		k++;
	}
	while (in->n > 0) {
		if (hs_compile_multi((const char *const *)in->expr, in->flags,
		    in->ids, (unsigned)in->n, HS_MODE_BLOCK, NULL, &db,
		    &ce) == HS_SUCCESS)
			return db;
		if (ce->expression < 0 || (size_t)ce->expression >= in->n) {
			snprintf(err, errlen, "hyperscan: %s", ce->message);
			hs_free_compile_error(ce);
			return NULL;
		}
		hs_free_compile_error(ce);
		(void)input_drop_rule(in, (size_t)ce->expression);
		info->refused++;
	}
	return NULL;
}

/*
 * Compile each start finder alone, the whole pattern reversed or else its
 * first unit, for the rules the stage's prefilter database holds; one that
 * Hyperscan refuses is left out.
 */
static void
compile_starts(struct rule_hs *h, const struct hs_input *sin)
{
	hs_compile_error_t *ce;
	hs_database_t *db;
	size_t k;
	unsigned id;

	for (k = 0; k < sin->n; k++) {
		id = sin->ids[k];
		if (!h->covered[id])
			continue;
		if (hs_compile(sin->expr[k], sin->flags[k], HS_MODE_BLOCK, NULL,
		    &db, &ce) != HS_SUCCESS) {
			hs_free_compile_error(ce);
			if (sin->alt[k] == NULL)
				continue;
			if (hs_compile(sin->alt[k], sin->flags[k],
			    HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
				hs_free_compile_error(ce);
				continue;
			}
		}
		h->sdb[id] = db;
	}
}

/*
 * Every rule_hs gets a number of its own, which a scratch remembers: a
 * freed one's address may come back for the next (a worker's scratch
 * across a reload), and a scratch sized for the old databases would make
 * every scan of the new ones fail.
 */
static _Atomic unsigned long long hs_gen;

static struct rule_hs *
hs_new(size_t nrules)
{
	struct rule_hs *h = xmalloc(sizeof(*h));

	memset(h, 0, sizeof(*h));
	h->gen = atomic_fetch_add(&hs_gen, 1) + 1;
	h->nrules = nrules;
	h->covered = xcalloc(nrules > 0 ? nrules : 1, 1);
	h->sdb = xcalloc(nrules > 0 ? nrules : 1, sizeof(*h->sdb));
	h->sre = xcalloc(nrules > 0 ? nrules : 1, sizeof(*h->sre));
	return h;
}

/*
 * Compile the pattern of every rule with a start finder again, with
 * PCRE2_USE_OFFSET_LIMIT, which rule_eval.c needs to ask only at the
 * starts.  A rule whose copy does not compile loses its finder and runs
 * wherever the prefilter lets it.
 */
static void
compile_offset_limited(struct rule_hs *h, const struct rule_set *rs)
{
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	const struct rule *r;
	PCRE2_SIZE off;
	size_t i;
	int ec;

	pcre2_set_character_tables(cc, rs->tables);
	h->info.starts = 0;
	for (i = 0; i < h->nrules; i++) {
		if (h->sdb[i] == NULL || h->sre[i] != NULL)
			continue;
		r = &rs->rules[i];
		h->sre[i] = pcre2_compile((PCRE2_SPTR)r->src,
		    PCRE2_ZERO_TERMINATED, r->copts | PCRE2_USE_OFFSET_LIMIT,
		    &ec, &off, cc);
		if (h->sre[i] == NULL && ec == PCRE2_ERROR_PATTERN_TOO_LARGE)
			h->sre[i] = rule_bigre_compile(r->src, r->copts |
			    PCRE2_USE_OFFSET_LIMIT, cc, &ec, &off);
		if (h->sre[i] == NULL) {
			hs_free_database(h->sdb[i]);
			h->sdb[i] = NULL;
			continue;
		}
		(void)pcre2_jit_compile(h->sre[i], PCRE2_JIT_COMPLETE);
		h->info.starts++;
	}
	pcre2_compile_context_free(cc);
}

#define CACHE_MAGIC	"moat-hs 4\n"
#define CACHE_STARTS	0x100	/* a stage number's flag: its sdb */
#define CACHE_MAX	(1024UL * 1024 * 1024)

static char *
cache_path(const char *dir, const uint64_t key[2])
{
	return xasprintf("%s/moat-hs-%016llx%016llx.db", dir,
	    (unsigned long long)key[0], (unsigned long long)key[1]);
}

static void
put32(struct sbuf *o, uint32_t v)
{
	sbuf_add(o, (const char *)&v, sizeof(v));
}

/* Write h to path, through a temporary file and rename(2). */
static int
cache_write(const struct rule_hs *h, const char *path, char *err,
    size_t errlen)
{
	struct sbuf o = SBUF_INIT;
	char *tmp, *bytes;
	uint64_t sum[2];
	size_t len, i, k;
	FILE *fp;
	int st, ok;

	sbuf_adds(&o, CACHE_MAGIC);
	put32(&o, h->info.refused);
	for (k = 0; k < RULE_ST_COUNT + h->nrules; k++) {
		const hs_database_t *db;
		uint32_t nc = 0;

		if (k < RULE_ST_COUNT) {
			st = (int)k;
			if ((db = h->db[st]) == NULL)
				continue;
			for (i = 0; i < h->nrules; i++)
				nc += h->covered[i] == st + 1;
			put32(&o, (uint32_t)st);
			put32(&o, nc);
			for (i = 0; i < h->nrules; i++)
				if (h->covered[i] == st + 1)
					put32(&o, (uint32_t)i);
		} else {
			i = k - RULE_ST_COUNT;
			if ((db = h->sdb[i]) == NULL)
				continue;
			put32(&o, (uint32_t)(h->covered[i] - 1) | CACHE_STARTS);
			put32(&o, 1);
			put32(&o, (uint32_t)i);
		}
		if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
			snprintf(err, errlen, "hyperscan: cannot serialize");
			sbuf_free(&o);
			return -1;
		}
		put32(&o, (uint32_t)len);
		sbuf_add(&o, bytes, len);
		free(bytes);
	}
	key_init(sum);
	key_add(sum, o.p, o.len);
	sbuf_add(&o, (const char *)sum, sizeof(sum));
	tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	ok = (fp = fopen(tmp, "wb")) != NULL &&
	    fwrite(o.p, 1, o.len, fp) == o.len;
	if (fp != NULL && fclose(fp) != 0)
		ok = 0;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	sbuf_free(&o);
	return ok ? 0 : -1;
}

static int
get32(const char **p, const char *end, uint32_t *v)
{
	if ((size_t)(end - *p) < sizeof(*v))
		return -1;
	memcpy(v, *p, sizeof(*v));
	*p += sizeof(*v);
	return 0;
}

/*
 * Read a cached h into the empty h: 0, or -1 with h left empty.  Anything
 * wrong (short, damaged, another Hyperscan, a rule index out of range)
 * makes it a miss, and the caller compiles afresh: a wrong list of covered
 * rules would skip rules that can match.
 */
static int
cache_read(const char *path, struct rule_hs *h)
{
	size_t nrules = h->nrules;
	struct stat sb;
	const char *p, *end;
	char *buf;
	uint32_t st, nc, id, len, k;
	uint64_t sum[2];
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0 ||
	    (unsigned long)sb.st_size > CACHE_MAX) {
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)sb.st_size);
	if (read(fd, buf, (size_t)sb.st_size) != (ssize_t)sb.st_size) {
		close(fd);
		free(buf);
		return -1;
	}
	close(fd);
	p = buf;
	end = buf + sb.st_size;
	/* the checksum at the end covers everything before it */
	if ((size_t)(end - p) < strlen(CACHE_MAGIC) + sizeof(sum))
		goto bad;
	end -= sizeof(sum);
	key_init(sum);
	key_add(sum, p, (size_t)(end - p));
	if (memcmp(end, sum, sizeof(sum)) != 0 ||
	    memcmp(p, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0)
		goto bad;
	p += strlen(CACHE_MAGIC);
	if (get32(&p, end, &h->info.refused) != 0)
		goto bad;
	while (p < end) {
		hs_database_t **db;
		uint32_t starts;

		if (get32(&p, end, &st) != 0)
			goto bad;
		starts = st & CACHE_STARTS;
		st &= ~(uint32_t)CACHE_STARTS;
		if (st >= RULE_ST_COUNT || !hs_stage((enum rule_stage)st))
			goto bad;
		if (get32(&p, end, &nc) != 0)
			goto bad;
		db = &h->db[st];
		if (starts) {
			/* one rule's, after its stage's database */
			if (nc != 1 || get32(&p, end, &id) != 0 ||
			    id >= nrules || h->covered[id] != st + 1 ||
			    h->sdb[id] != NULL)
				goto bad;
			db = &h->sdb[id];
		} else {
			if (*db != NULL)
				goto bad;
			for (k = 0; k < nc; k++) {
				if (get32(&p, end, &id) != 0 || id >= nrules ||
				    h->covered[id] != 0)
					goto bad;
				h->covered[id] = (unsigned char)(st + 1);
				h->info.patterns++;
			}
		}
		if (get32(&p, end, &len) != 0 || (size_t)(end - p) < len ||
		    hs_deserialize_database(p, len, db) != HS_SUCCESS)
			goto bad;
		h->info.bytes += len;
		p += len;
	}
	free(buf);
	h->info.cached = 1;
	return 0;
bad:
	free(buf);
	hs_clear(h);
	return -1;
}

int
rule_hs_available(void)
{
	return hs_valid_platform() == HS_SUCCESS;
}

struct rule_hs *
rule_hs_build(const struct rule_set *rs, const char *cachedir, int flags,
    struct rule_hs_info *info, char *err, size_t errlen)
{
	struct hs_input in[RULE_ST_COUNT], sin[RULE_ST_COUNT];
	struct rule_hs_info inf;
	struct rule_hs *h = NULL;
	uint64_t key[2];
	char *path = NULL;
	size_t bytes, i;
	int st;

	memset(in, 0, sizeof(in));
	memset(sin, 0, sizeof(sin));
	memset(&inf, 0, sizeof(inf));
	snprintf(err, errlen, "no pattern for Hyperscan");
	if (!rule_hs_available()) {
		snprintf(err, errlen, "hyperscan: this CPU lacks SSSE3");
		goto out;
	}
	/*
	 * Allocated first, so that a test can have the address of one it has
	 * just freed come back (test_scratch_new_database).
	 */
	h = hs_new(rs->nrules);
	gather(rs, in, sin, key, &inf);
	if (cachedir != NULL) {
		path = cache_path(cachedir, key);
		if (cache_read(path, h) == 0) {
			h->info.skipped = inf.skipped;
			h->info.unread = inf.unread;
			compile_offset_limited(h, rs);
			inf = h->info;
			goto out;
		}
		if (flags & RULE_HS_CACHED_ONLY) {
			snprintf(err, errlen, "%s: not built yet", path);
			rule_hs_free(h);
			h = NULL;
			goto out;
		}
	}
	for (st = 0; st < RULE_ST_COUNT; st++) {
		if (in[st].n == 0)
			continue;
		if ((h->db[st] = compile_stage(&in[st], &inf, err,
		    errlen)) == NULL && in[st].n > 0) {
			rule_hs_free(h);
			h = NULL;
			goto out;
		}
		if (h->db[st] == NULL)
			continue;
		/* a rule in pieces counts once */
		for (i = 0; i < in[st].n; i++)
			if (h->covered[in[st].ids[i]] == 0) {
				h->covered[in[st].ids[i]] =
				    (unsigned char)(st + 1);
				inf.patterns++;
			}
		if (hs_database_size(h->db[st], &bytes) == HS_SUCCESS)
			inf.bytes += bytes;
		compile_starts(h, &sin[st]);
	}
	for (i = 0; i < rs->nrules; i++)
		if (h->sdb[i] != NULL &&
		    hs_database_size(h->sdb[i], &bytes) == HS_SUCCESS)
			inf.bytes += bytes;
	if (inf.patterns == 0) {
		rule_hs_free(h);
		h = NULL;
		goto out;
	}
	h->info = inf;
	compile_offset_limited(h, rs);
	inf = h->info;
	/* a cache that cannot be written costs speed at the next load only */
	if (path != NULL && cache_write(h, path, err, errlen) != 0)
		h->info.cache_failed = 1;
out:
	for (st = 0; st < RULE_ST_COUNT; st++) {
		input_free(&in[st]);
		input_free(&sin[st]);
	}
	free(path);
	if (info != NULL)
		*info = h != NULL ? h->info : inf;
	return h;
}

int
rule_hs_covers(const struct rule_hs *h, size_t idx)
{
	return idx < h->nrules && h->covered[idx] != 0;
}

/*
 * A rule with more starts than this runs everywhere instead: a pattern
 * that can start that often is one PCRE2 finds soon anyway.
 */
#define STARTS_MAX	4096

struct rule_hs_scratch {
	hs_scratch_t		*s;
	unsigned long long	 for_gen;	/* the rule_hs it is fit for */
	struct sbuf		 join;
	struct sbuf		 rev[RULE_ST_COUNT];	/* texts reversed */
	unsigned char		 rev_ok[RULE_ST_COUNT];
	uint32_t		 pos[STARTS_MAX];	/* the last starts */
	size_t			 npos, len;
};

struct rule_hs_scratch *
rule_hs_scratch_new(void)
{
	return xcalloc(1, sizeof(struct rule_hs_scratch));
}

void
rule_hs_scratch_free(struct rule_hs_scratch *hs)
{
	int st;

	if (hs == NULL)
		return;
	if (hs->s != NULL)
		hs_free_scratch(hs->s);
	sbuf_free(&hs->join);
	for (st = 0; st < RULE_ST_COUNT; st++)
		sbuf_free(&hs->rev[st]);
	free(hs);
}

static int
on_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned fl, void *ctx)
{
	(void)from;
	(void)to;
	(void)fl;
	((unsigned char *)ctx)[id] = 1;
	return 0;
}

/*
 * A start finder's report: a match of the reversed text ends at to, so
 * one of the text starts at len - to.
 */
static int
on_start(unsigned id, unsigned long long from, unsigned long long to,
    unsigned fl, void *ctx)
{
	struct rule_hs_scratch *hs = ctx;

	(void)id;
	(void)from;
	(void)fl;
	if (hs->npos == STARTS_MAX)
		return 1;
	hs->pos[hs->npos++] = (uint32_t)(hs->len - to);
	return 0;
}

int
rule_hs_scan(const struct rule_hs *h, struct rule_hs_scratch *hs,
    enum rule_stage st, const struct msg_str *v, size_t n,
    unsigned char *mark)
{
	const char *text = "";
	size_t len = 0, i;
	int s;

	if (h->db[st] == NULL)
		return -1;
	if (hs->for_gen != h->gen) {
		for (s = 0; s < RULE_ST_COUNT; s++)
			if (h->db[s] != NULL &&
			    hs_alloc_scratch(h->db[s], &hs->s) != HS_SUCCESS)
				return -1;
		for (i = 0; i < h->nrules; i++)
			if (h->sdb[i] != NULL &&
			    hs_alloc_scratch(h->sdb[i], &hs->s) != HS_SUCCESS)
				return -1;
		hs->for_gen = h->gen;
	}
	hs->rev_ok[st] = 0;
	if (n == 1) {
		text = v[0].p;
		len = v[0].len;
	} else if (n > 1) {
		sbuf_reset(&hs->join);
		for (i = 0; i < n; i++) {
			sbuf_add(&hs->join, v[i].p, v[i].len);
			sbuf_addc(&hs->join, '\n');
		}
		text = hs->join.p;
		len = hs->join.len;
	}
	if (len > 0xFFFFFFFFUL)
		return -1;
	if (hs_scan(h->db[st], text != NULL ? text : "", (unsigned)len, 0,
	    hs->s, on_match, mark) != HS_SUCCESS)
		return -1;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The stage's texts as rule_hs_scan() joined them, reversed. */
static const struct sbuf *
reversed(struct rule_hs_scratch *hs, enum rule_stage st,
    const struct msg_str *v, size_t n)
{
	struct sbuf *r = &hs->rev[st];
	size_t i, j, len = 0;
	char *w;

	if (hs->rev_ok[st])
		return r;
	for (i = 0; i < n; i++)
		len += v[i].len + (n > 1);
	sbuf_reset(r);
	sbuf_reserve(r, len + 1);
	w = r->p + len;
	for (i = 0; i < n; i++) {
		for (j = 0; j < v[i].len; j++)
			*--w = v[i].p[j];
		if (n > 1)
			*--w = '\n';
	}
	r->len = len;
	hs->rev_ok[st] = 1;
	return r;
}

int
rule_hs_starts(const struct rule_hs *h, struct rule_hs_scratch *hs,
    size_t idx, const struct msg_str *v, size_t n, const uint32_t **pos,
    size_t *npos, const pcre2_code **re)
{
	const struct sbuf *r;
	size_t i, k;

	if (idx >= h->nrules || h->sdb[idx] == NULL || hs->for_gen != h->gen)
		return -1;
	r = reversed(hs, (enum rule_stage)(h->covered[idx] - 1), v, n);
	hs->len = r->len;
	hs->npos = 0;
	if (r->len > 0xFFFFFFFFUL || hs_scan(h->sdb[idx], r->p != NULL ?
	    r->p : "", (unsigned)r->len, 0, hs->s, on_start, hs) !=
	    HS_SUCCESS)
		return 0;
	/* mostly latest first, but Hyperscan does not promise an order */
	qsort(hs->pos, hs->npos, sizeof(hs->pos[0]), cmp_u32);
	for (i = k = 0; i < hs->npos; i++)
		if (k == 0 || hs->pos[i] != hs->pos[k - 1])
			hs->pos[k++] = hs->pos[i];
	*pos = hs->pos;
	*npos = k;
	*re = h->sre[idx];
	return 1;
}

#else /* !HAVE_HYPERSCAN */

int
rule_hs_available(void)
{
	return 0;
}

struct rule_hs *
rule_hs_build(const struct rule_set *rs, const char *cachedir, int flags,
    struct rule_hs_info *info, char *err, size_t errlen)
{
	(void)rs;
	(void)cachedir;
	(void)flags;
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	snprintf(err, errlen, "moat was built without Hyperscan");
	return NULL;
}

void
rule_hs_free(struct rule_hs *h)
{
	(void)h;
}

/* Never called without a database; here so rule_eval.c needs no #ifdef. */
int
rule_hs_covers(const struct rule_hs *h, size_t idx)
{
	(void)h;
	(void)idx;
	return 0;
}

struct rule_hs_scratch *
rule_hs_scratch_new(void)
{
	return NULL;
}

void
rule_hs_scratch_free(struct rule_hs_scratch *hs)
{
	(void)hs;
}

int
rule_hs_scan(const struct rule_hs *h, struct rule_hs_scratch *hs,
    enum rule_stage st, const struct msg_str *v, size_t n,
    unsigned char *mark)
{
	(void)h;
	(void)hs;
	(void)st;
	(void)v;
	(void)n;
	(void)mark;
	return -1;
}

int
rule_hs_starts(const struct rule_hs *h, struct rule_hs_scratch *hs,
    size_t idx, const struct msg_str *v, size_t n, const uint32_t **pos,
    size_t *npos, const pcre2_code **re)
{
	(void)h;
	(void)hs;
	(void)idx;
	(void)v;
	(void)n;
	(void)pos;
	(void)npos;
	(void)re;
	return -1;
}
#endif /* HAVE_HYPERSCAN */

int
rule_set_hs_attach(struct rule_set *rs, struct rule_hs *h)
{
	struct rule_hs *none = NULL;

	if (h == NULL)
		return -1;
	if (!atomic_compare_exchange_strong(&rs->hs, &none, h)) {
		rule_hs_free(h);
		return -1;
	}
	return 0;
}

const struct rule_hs_info *
rule_set_hs_info(const struct rule_set *rs)
{
	struct rule_hs *h = atomic_load(&((struct rule_set *)rs)->hs);

#ifdef HAVE_HYPERSCAN
	return h != NULL ? &h->info : NULL;
#else
	(void)h;
	return NULL;
#endif
}
