/*
 * rule_core.c: a cheaper pattern that must match wherever a rule's does.
 *
 * Many stock patterns open with context that can match the empty string,
 * "(?:\b|\s)[_\W]{0,3}" before the obfuscated letters of the drug rules,
 * "(?:^|\W)(?=<N>)(?!norton)" before those of the FUZZY_ rules.  PCRE2 must
 * try such a pattern at every blank and punctuation mark, and each try runs
 * the lookaheads and letter alternations, though the letters alone would
 * rule out nearly every offset at once.
 *
 * So, for a pattern that is one sequence at its top level, the "core" is
 * the part from its first to its last element that cannot match the empty
 * string.  Any match of the whole contains a match of the core (the same
 * bytes at the same offsets, so assertions inside the core see the same
 * text), so a text where the core does not match cannot match the whole,
 * and the whole is not run.  Where the core matches, the whole runs as it
 * always did: results are unchanged, only work is saved.
 *
 * The scan is conservative and gives up (no core) on what it does not
 * follow: backreferences and recursion (a core could not see the group),
 * conditionals, verbs, \G, /x, a top-level "|", option settings such as
 * "(?i)" in the part left out (they would no longer apply), and patterns
 * with nothing left out at the front (the core would not be cheaper).
 */
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "rule_int.h"
#include "xmalloc.h"

#define DEPTH_MAX	200

struct cparser {
	const char	*p;
	int		 bad;
	int		 depth;
	int		 setting;	/* an option setting at the top level */
	int		 kind;		/* of the last atom: K_* */
};

#define K_OTHER		0
#define K_AHEAD		1	/* (?=...): tells PCRE2 where to start */
#define K_ANCHOR	2	/* ^ or \A: only line starts are tried */

static int cparse_alt(struct cparser *);

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * An escape, sp->p just past "\".  Returns 1 for an assertion (consumes
 * nothing), 0 for anything that consumes a byte; sets bad for what this
 * module does not follow.
 */
static int
cescape(struct cparser *cp, int in_class)
{
	const char *p = cp->p;
	int c = (unsigned char)*p;

	cp->p = p + 1;
	switch (c) {
	case 'b':
		return !in_class;	/* in a class: backspace */
	case 'B': case 'A': case 'Z': case 'z': case 'K':
		if (in_class)
			cp->bad = 1;
		return 1;
	case 'x':
		if (p[1] == '{') {
			const char *e = strchr(p + 2, '}');

			if (e == NULL) {
				cp->bad = 1;
				return 0;
			}
			cp->p = e + 1;
			return 0;
		}
		while (cp->p < p + 3 && hex_digit(*cp->p) >= 0)
			cp->p++;
		return 0;
	case '0':
		while (cp->p < p + 3 && *cp->p >= '0' && *cp->p <= '7')
			cp->p++;
		return 0;
	case 'c':
		if (p[1] == '\0')
			cp->bad = 1;
		else
			cp->p = p + 2;
		return 0;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
	case 'h': case 'H': case 'v': case 'V': case 'a': case 'e':
	case 'f': case 'n': case 'r': case 't':
		return 0;
	case 'N':
		if (in_class || p[1] == '{')
			cp->bad = 1;
		return 0;
	default:
		/* backreferences, \G, \Q, \p, \X, \R, \o, \g, \k ... */
		if (c == '\0' || is_alnum(c))
			cp->bad = 1;
		return 0;
	}
}

static void
cskip_class(struct cparser *cp)
{
	int first = 1;

	if (*cp->p == '^')
		cp->p++;
	for (;;) {
		if (*cp->p == '\0') {
			cp->bad = 1;
			return;
		}
		if (*cp->p == ']' && !first)
			break;
		first = 0;
		if (cp->p[0] == '[' && (cp->p[1] == ':' || cp->p[1] == '.' ||
		    cp->p[1] == '=')) {
			const char *e = strstr(cp->p + 2, ":]");

			if (cp->p[1] != ':' || e == NULL) {
				cp->bad = 1;
				return;
			}
			cp->p = e + 2;
		} else if (*cp->p == '\\') {
			cp->p++;
			(void)cescape(cp, 1);
			if (cp->bad)
				return;
		} else
			cp->p++;
	}
	cp->p++;
}

/* A quantifier: 1 (and its minimum in *min) if there is one. */
static int
cquantifier(struct cparser *cp, long *min)
{
	int q = rule_re_quantifier(&cp->p, min);

	if (q < 0)
		cp->bad = 1;
	return q > 0;
}

/* One atom; returns 1 if it can match "", 0 if not, -1 at the end. */
static int
catom(struct cparser *cp)
{
	const char *p = cp->p;
	int look = 0, nullable;

	cp->kind = K_OTHER;
	switch (*p) {
	case '\0': case '|': case ')':
		return -1;
	case '(':
		p++;
		if (*p == '*') {
			cp->bad = 1;
			return -1;
		}
		if (*p == '?') {
			p++;
			if (*p == ':' || *p == '>' || *p == '|')
				p++;
			else if (*p == '=' || *p == '!')
				look = *p++ == '=' ? 2 : 1;
			else if (*p == '<' && (p[1] == '=' || p[1] == '!'))
				p += 2, look = 1;
			else if (*p == '<' || *p == '\'' || (*p == 'P' &&
			    p[1] == '<')) {
				p += *p == 'P' ? 2 : 1;
				while (*p != '\0' && *p != '>' && *p != '\'')
					p++;
				if (*p == '\0') {
					cp->bad = 1;
					return -1;
				}
				p++;
			} else if (*p == '#') {
				while (*p != '\0' && *p != ')')
					p++;
				if (*p == '\0')
					cp->bad = 1;
				cp->p = p + (*p != '\0');
				return 1;
			} else if ((*p >= 'a' && *p <= 'z') || *p == '-' ||
			    *p == '^' || *p == 'U' || *p == 'J') {
				while ((*p >= 'a' && *p <= 'z') || *p == '-' ||
				    *p == '^' || *p == 'U' || *p == 'J') {
					if (*p == 'x')
						cp->bad = 1;
					p++;
				}
				if (*p == ')') {
					/* lasts to the end of the group */
					if (cp->depth == 0)
						cp->setting = 1;
					cp->p = p + 1;
					return 1;
				}
				if (*p != ':') {
					cp->bad = 1;
					return -1;
				}
				p++;
			} else {
				cp->bad = 1;	/* (?R) (?1) (?( (?C ... */
				return -1;
			}
		}
		cp->p = p;
		if (++cp->depth > DEPTH_MAX) {
			cp->bad = 1;
			return -1;
		}
		nullable = cparse_alt(cp);
		cp->depth--;
		if (cp->bad || *cp->p != ')') {
			cp->bad = 1;
			return -1;
		}
		cp->p++;
		if (look == 2)
			cp->kind = K_AHEAD;
		return look ? 1 : nullable;
	case '[':
		cp->p = p + 1;
		cskip_class(cp);
		return 0;
	case '^': case '$':
		cp->p = p + 1;
		if (*p == '^')
			cp->kind = K_ANCHOR;
		return 1;
	case '\\':
		cp->p = p + 1;
		if (p[1] == 'A')
			cp->kind = K_ANCHOR;
		return cescape(cp, 0);
	case '*': case '+': case '?':
		cp->bad = 1;
		return -1;
	default:
		cp->p = p + 1;
		return 0;
	}
}

/* A sequence: can it match ""? */
static int
cparse_seq(struct cparser *cp)
{
	int all = 1, a;
	long min;

	while (!cp->bad && (a = catom(cp)) >= 0) {
		while (cquantifier(cp, &min))
			if (min == 0)
				a = 1;
		all = all && a;
	}
	return all;
}

static int
cparse_alt(struct cparser *cp)
{
	int any = cparse_seq(cp);

	while (!cp->bad && *cp->p == '|') {
		cp->p++;
		any = cparse_seq(cp) || any;
	}
	return any;
}

/*
 * Is the part left out only "\b", "^", "\A"?  PCRE2 skips ahead to the
 * core's first byte anyway then, and a core would just be a second search.
 */
static int
only_anchors(const char *p, const char *end)
{
	while (p < end) {
		if (*p == '^')
			p++;
		else if (p[0] == '\\' && (p[1] == 'b' || p[1] == 'A'))
			p += 2;
		else
			return 0;
	}
	return 1;
}

/* What a sequence holds, for its core. */
struct seqinfo {
	const char	*first, *last;	/* the core: [first, last) */
	int		 lead_setting;	/* an option setting before first */
	int		 anchored;	/* ^ or \A before first */
	int		 nelem;
	const char	*el;		/* the last element, its quantifier's */
	long		 el_min;	/* minimum (1 if none) */
};

/* Scan the sequence at cp->p up to "|", ")" or the end. */
static void
seq_scan(struct cparser *cp, struct seqinfo *si)
{
	const char *start, *ahead = NULL;
	long min;
	int a;

	memset(si, 0, sizeof(*si));
	for (;;) {
		start = cp->p;
		cp->setting = 0;
		if ((a = catom(cp)) < 0)
			break;
		si->nelem++;
		si->el = start;
		si->el_min = 1;
		while (cquantifier(cp, &min)) {
			si->el_min = min;
			if (min == 0)
				a = 1;
		}
		if (si->first == NULL && cp->setting)
			si->lead_setting = 1;
		if (si->first == NULL && cp->kind == K_ANCHOR)
			si->anchored = 1;
		/*
		 * The core starts at the first byte-consuming element, or at a
		 * lookahead just before it: "(?=<D>)" is what lets PCRE2 skip
		 * to the right bytes, leaving it out would make things worse.
		 */
		if (si->first == NULL && cp->kind == K_AHEAD && ahead == NULL)
			ahead = start;
		if (a == 0) {
			if (si->first == NULL)
				si->first = ahead != NULL ? ahead : start;
			si->last = cp->p;
		} else if (si->first == NULL && cp->kind != K_AHEAD &&
		    !(ahead != NULL && a == 1 && start[0] == '(' &&
		    start[1] == '?' && start[2] == '!'))
			ahead = NULL;	/* something else came between */
	}
}

/* Can the part before first be left out with profit? */
static int
strippable(const struct seqinfo *si, const char *begin)
{
	/* an anchored pattern is tried at line starts only: already cheap */
	return si->first != NULL && si->first != begin && !si->lead_setting &&
	    !si->anchored && !only_anchors(begin, si->first);
}

/*
 * The core of a pattern, or NULL.  Either its single top-level sequence
 * without the ends that can match nothing, or, for one repeated group
 * "(?:X){n}" (n >= 2) whose X opens that way, "(?:X')(?:X){n-1}" with X'
 * X from its first byte-consuming element on: every match of the whole
 * holds one of that.
 */
static char *
core_of(const char *src)
{
	struct cparser cp;
	struct seqinfo si, in;
	const char *body, *end;
	char *core;

	memset(&cp, 0, sizeof(cp));
	cp.p = src;
	seq_scan(&cp, &si);
	if (cp.bad || *cp.p != '\0')
		return NULL;
	if (strippable(&si, src))
		return xstrndup(si.first, (size_t)(si.last - si.first));
	if (si.nelem != 1 || si.el != src || si.el_min < 2 || src[0] != '(')
		return NULL;
	body = src[1] != '?' ? src + 1 : src[2] == ':' ? src + 3 : NULL;
	if (body == NULL)
		return NULL;
	cp.p = body;		/* X's own level counts as the top one */
	seq_scan(&cp, &in);
	end = cp.p;
	if (cp.bad || *end != ')' || !strippable(&in, body))
		return NULL;
	/* X' keeps X's tail: the next copy must follow it as in the whole */
	core = xasprintf("(?:%.*s)(?:%.*s){%ld}", (int)(end - in.first),
	    in.first, (int)(end - body), body, si.el_min - 1);
	return core;
}

int
rule_core_compile(struct rule *r, const uint8_t *tables)
{
	pcre2_compile_context *cc;
	char *core;
	int ec;
	PCRE2_SIZE off;

	if (r->src == NULL || r->re == NULL || (r->copts & PCRE2_EXTENDED) ||
	    (r->flags & (RF_TEMPLATE | RF_NAMED)))
		return 0;
	if ((core = core_of(r->src)) == NULL)
		return 0;
	cc = pcre2_compile_context_create(NULL);
	pcre2_set_character_tables(cc, tables);
	r->core = pcre2_compile((PCRE2_SPTR)core, PCRE2_ZERO_TERMINATED,
	    r->copts, &ec, &off, cc);
	if (r->core == NULL && ec == PCRE2_ERROR_PATTERN_TOO_LARGE)
		r->core = rule_bigre_compile(core, r->copts, cc, &ec, &off);
	pcre2_compile_context_free(cc);
	free(core);
	if (r->core == NULL)
		return 0;
	(void)pcre2_jit_compile(r->core, PCRE2_JIT_COMPLETE);
	return 1;
}
