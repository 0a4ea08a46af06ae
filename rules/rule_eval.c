/*
 * rule_eval.c: run a compiled rule set against one transaction.
 *
 * Each stage's rules see the text SpamAssassin 4.0.1 gives that rule type
 * (Plugin/Check.pm): a header rule matches the value msg_get() builds once
 * per distinct operand; body, uri and rawbody rules match element by
 * element and hit if any element matches; full rules match the pristine
 * message.  A "multiple" (per-hit) rule counts every match, as Perl's
 * while (/re/g) does, up to maxhits.  Metas then run in dependency order on
 * the hit counts, with Perl's values for && || ! and arithmetic.
 *
 * It does not decide anything from the hits (scoring/ does), does not log,
 * and never allocates per match: the caller's struct rule_scratch holds the
 * match data, JIT stack and counters, so one scratch per thread serves any
 * number of messages.  A pattern that reaches the match or depth limit
 * counts as no hit; the first time it happens for a rule, the hit list says
 * so (RULE_HIT_LIMIT) so the caller can log it once.
 *
 * Invariant: after rule_eval() the counters describe exactly this
 * evaluation; nothing carries over from an earlier one.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "rule_int.h"
#include "rule_saeval.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

#define SCRATCH_OVECTOR	64

/*
 * A header operand longer than this (ALL, the relays, Received) gets a
 * literal bitmap (rule_prefilter.c), so a rule's literals that are not
 * there cost a few hash probes instead of a memmem() over the whole text.
 */
#define SPEC_BITMAP_MIN	256

struct tagval {
	char		*name;
	char		*val;
};

struct rule_scratch {
	pcre2_match_data	*md;
	pcre2_match_context	*mc;
	pcre2_jit_stack		*js;
	double			*val;		/* per rule: count or meta value */
	unsigned char		*limit;		/* per rule: hit a limit */
	size_t			 nval;
	struct sbuf		*spec;		/* per header operand */
	signed char		*spec_state;	/* 2 = not fetched yet */
	struct sbuf		*spec_fold;	/* folded, for the prefilter */
	struct rule_bitmap	*spec_bm;	/* ... and a long one's bitmap */
	unsigned char		*fold_done;
	size_t			 nspec;
	struct rule_hit		*hits;
	size_t			 nhits, caphits;
	struct tagval		*tags;
	size_t			 ntags;
	struct sbuf		 tmp;
	struct rule_bitmap	 bm[RULE_ST_COUNT];	/* prefilter */
	int			 pf_skip;	/* last eval_rule: skipped */
	unsigned char		*done;		/* lazy: per rule, computed */
	struct relays_cache	*relays;
	int			 lazy;
	struct rule_prof	*prof;		/* NULL: not profiling */
	size_t			 nprof;
	int			 profiling;
	const struct rule_hs	*hs;		/* this evaluation's, or NULL */
	struct rule_hs_scratch	*hss;
	unsigned char		*hsmark;	/* per rule: may match */
	size_t			 nhsmark;
	signed char		 hs_state[RULE_ST_COUNT]; /* 1 scanned,
							    -1 failed */
	int			 hs_off;
	struct saeval_cache	*ec;		/* the evals' memo */
};

struct rule_scratch *
rule_scratch_new(void)
{
	struct rule_scratch *sc = xcalloc(1, sizeof(*sc));

	sc->md = pcre2_match_data_create(SCRATCH_OVECTOR, NULL);
	sc->mc = pcre2_match_context_create(NULL);
	if (sc->md == NULL || sc->mc == NULL)
		abort();
	pcre2_set_match_limit(sc->mc, RULE_MATCH_LIMIT);
	pcre2_set_depth_limit(sc->mc, RULE_DEPTH_LIMIT);
	sc->relays = rule_relays_cache_new();
	sc->ec = rule_saeval_cache_new();
	sc->js = pcre2_jit_stack_create(32 * 1024, RULE_JIT_STACK_MAX, NULL);
	if (sc->js != NULL)
		pcre2_jit_stack_assign(sc->mc, NULL, sc->js);
	return sc;
}

static void
tags_clear(struct rule_scratch *sc)
{
	size_t i;

	for (i = 0; i < sc->ntags; i++) {
		free(sc->tags[i].name);
		free(sc->tags[i].val);
	}
	free(sc->tags);
	sc->tags = NULL;
	sc->ntags = 0;
}

void
rule_scratch_free(struct rule_scratch *sc)
{
	size_t i;

	if (sc == NULL)
		return;
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mc);
	if (sc->js != NULL)
		pcre2_jit_stack_free(sc->js);
	free(sc->val);
	free(sc->limit);
	free(sc->done);
	for (i = 0; i < sc->nspec; i++)
		sbuf_free(&sc->spec[i]);
	free(sc->spec);
	free(sc->spec_state);
	for (i = 0; i < sc->nspec; i++)
		sbuf_free(&sc->spec_fold[i]);
	free(sc->spec_fold);
	for (i = 0; i < sc->nspec; i++)
		free(sc->spec_bm[i].map);
	free(sc->spec_bm);
	free(sc->fold_done);
	free(sc->hits);
	tags_clear(sc);
	sbuf_free(&sc->tmp);
	for (i = 0; i < RULE_ST_COUNT; i++)
		free(sc->bm[i].map);
	free(sc->prof);
	rule_relays_cache_free(sc->relays);
	rule_saeval_cache_free(sc->ec);
	rule_hs_scratch_free(sc->hss);
	free(sc->hsmark);
	free(sc);
}

static void
scratch_prepare(struct rule_scratch *sc, const struct rule_set *rs)
{
	size_t i;

	if (sc->nval < rs->nrules) {
		free(sc->val);
		free(sc->limit);
		free(sc->done);
		sc->val = xreallocarray(NULL, rs->nrules, sizeof(double));
		sc->limit = xmalloc(rs->nrules);
		sc->done = xmalloc(rs->nrules);
		sc->nval = rs->nrules;
	}
	if (rs->nrules > 0) {	/* an empty set: the arrays may be NULL */
		memset(sc->val, 0, rs->nrules * sizeof(double));
		memset(sc->limit, 0, rs->nrules);
		memset(sc->done, 0, rs->nrules);
	}
	if (sc->nspec < rs->nspecs) {
		sc->spec = xreallocarray(sc->spec, rs->nspecs,
		    sizeof(struct sbuf));
		sc->spec_state = xrealloc(sc->spec_state, rs->nspecs);
		sc->spec_fold = xreallocarray(sc->spec_fold, rs->nspecs,
		    sizeof(struct sbuf));
		sc->spec_bm = xreallocarray(sc->spec_bm, rs->nspecs,
		    sizeof(struct rule_bitmap));
		sc->fold_done = xrealloc(sc->fold_done, rs->nspecs);
		for (i = sc->nspec; i < rs->nspecs; i++) {
			memset(&sc->spec[i], 0, sizeof(struct sbuf));
			memset(&sc->spec_fold[i], 0, sizeof(struct sbuf));
			memset(&sc->spec_bm[i], 0, sizeof(struct rule_bitmap));
		}
		sc->nspec = rs->nspecs;
	}
	if (rs->nspecs > 0) {
		memset(sc->spec_state, 2, rs->nspecs);
		memset(sc->fold_done, 0, rs->nspecs);
	}
	if (sc->profiling && sc->nprof < rs->nrules) {
		sc->prof = xreallocarray(sc->prof, rs->nrules,
		    sizeof(*sc->prof));
		memset(sc->prof + sc->nprof, 0,
		    (rs->nrules - sc->nprof) * sizeof(*sc->prof));
		sc->nprof = rs->nrules;
	}
	sc->nhits = 0;
	tags_clear(sc);
	rule_relays_cache_reset(sc->relays);
	rule_saeval_cache_reset(sc->ec);
	for (i = 0; i < RULE_ST_COUNT; i++)
		sc->bm[i].ready = 0;
	/* read once: an attach during this evaluation waits for the next */
	sc->hs = sc->hs_off ? NULL : atomic_load(&((struct rule_set *)rs)->hs);
	if (sc->hs != NULL) {
		if (sc->nhsmark < rs->nrules) {
			free(sc->hsmark);
			sc->hsmark = xmalloc(rs->nrules);
			sc->nhsmark = rs->nrules;
		}
		if (sc->hss == NULL)
			sc->hss = rule_hs_scratch_new();
		memset(sc->hsmark, 0, rs->nrules);
		memset(sc->hs_state, 0, sizeof(sc->hs_state));
	}
}

void
rule_scratch_hs(struct rule_scratch *sc, int on)
{
	sc->hs_off = !on;
}

/* Remember the named groups of a hit (SpamAssassin captured tags). */
static void
save_captures(struct rule_scratch *sc, const pcre2_code *re,
    const char *subj)
{
	uint32_t count = 0, esize = 0, k;
	PCRE2_SPTR table;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
	uint32_t ovn = pcre2_get_ovector_count(sc->md);

	if (pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count) != 0 ||
	    count == 0)
		return;
	pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
	for (k = 0; k < count; k++) {
		const unsigned char *e = table + (size_t)k * esize;
		uint32_t g = ((uint32_t)e[0] << 8) | e[1];

		if (g >= ovn || ov[2 * g] == PCRE2_UNSET ||
		    ov[2 * g + 1] <= ov[2 * g] || sc->ntags >= 1000)
			continue;
		sc->tags = xreallocarray(sc->tags, sc->ntags + 1,
		    sizeof(*sc->tags));
		sc->tags[sc->ntags].name = xstrdup((const char *)e + 2);
		sc->tags[sc->ntags].val = xstrndup(subj + ov[2 * g],
		    ov[2 * g + 1] - ov[2 * g]);
		sc->ntags++;
	}
}

/*
 * Count the matches of re in s[0..len): 1 at most unless max != 1; max 0
 * means no limit.  Perl's //g: after an empty match the next one may not be
 * empty at the same place.  Sets *limited when a limit stopped the match.
 */
/* Whether a pcre2_match() error is one of the limits (logged once). */
static int
limit_error(int rc)
{
	return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
	    rc == PCRE2_ERROR_NOMEMORY;
}

static unsigned
match_count(struct rule_scratch *sc, const struct rule *r,
    const pcre2_code *re, const char *s, size_t len, unsigned max,
    int *limited)
{
	PCRE2_SIZE start = 0, *ov;
	uint32_t opts = 0;
	unsigned n = 0;
	int rc;

	/* the core must match for the whole to (rule_core.c) */
	if (r->core != NULL && re == r->re && pcre2_match(r->core,
	    (PCRE2_SPTR)s, len, 0, 0, sc->md, sc->mc) == PCRE2_ERROR_NOMATCH)
		return 0;
	for (;;) {
		rc = pcre2_match(re, (PCRE2_SPTR)s, len, start, opts, sc->md,
		    sc->mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			*limited |= limit_error(rc);
			break;
		}
		n++;
		if (r->flags & RF_NAMED)
			save_captures(sc, re, s);
		if (max == 1 || (max != 0 && n >= max))
			break;
		ov = pcre2_get_ovector_pointer(sc->md);
		if (ov[1] < ov[0])	/* \K tricks: give up counting */
			break;
		opts = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART : 0;
		start = ov[1];
		if (start > len)
			break;
	}
	return n;
}

static int
is_word(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/*
 * A %{TAG} template rule: the pattern with every template replaced by
 * (?:v1|v2...) of the quoted captured values, compiled for this message.
 * NULL when a tag has no value (SpamAssassin then does not run the rule).
 */
static pcre2_code *
template_compile(struct rule_scratch *sc, const struct rule_set *rs,
    const struct rule *r)
{
	struct sbuf *o = &sc->tmp;
	const char *p = r->src, *q, *v;
	pcre2_compile_context *cc;
	pcre2_code *re;
	size_t i, nl;
	int ec, any;
	PCRE2_SIZE off;

	sbuf_reset(o);
	while (*p != '\0') {
		if (p[0] != '%' || p[1] != '{' || (p > r->src && p[-1] ==
		    '\\') || (q = strchr(p + 2, '}')) == NULL) {
			sbuf_addc(o, *p++);
			continue;
		}
		nl = (size_t)(q - (p + 2));
		any = 0;
		sbuf_adds(o, "(?:");
		for (i = 0; i < sc->ntags; i++) {
			if (strlen(sc->tags[i].name) != nl ||
			    strncmp(sc->tags[i].name, p + 2, nl) != 0)
				continue;
			if (any)
				sbuf_addc(o, '|');
			for (v = sc->tags[i].val; *v != '\0'; v++) {
				if (!is_word((unsigned char)*v))
					sbuf_addc(o, '\\');
				sbuf_addc(o, *v);
			}
			any = 1;
		}
		if (!any)
			return NULL;
		sbuf_addc(o, ')');
		p = q + 1;
	}
	cc = pcre2_compile_context_create(NULL);
	pcre2_set_character_tables(cc, rs->tables);
	re = pcre2_compile((PCRE2_SPTR)o->p, o->len, r->copts, &ec, &off, cc);
	pcre2_compile_context_free(cc);
	return re;
}

/* Match a list of elements; returns the count (see match_count). */
static unsigned
match_list(struct rule_scratch *sc, const struct rule *r,
    const pcre2_code *re, const struct msg_str *v, size_t n, int *limited)
{
	unsigned max = (r->flags & RF_MULTIPLE) ? r->maxhits : 1, total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned left = max == 0 ? 0 : max - total;

		total += match_count(sc, r, re, v[i].p, v[i].len, left,
		    limited);
		if (max != 0 && total >= max)
			break;
	}
	return total;
}

/*
 * match_list() for a rule whose starts Hyperscan found (rule_hs.c, "start
 * finders"): pos[] are the only offsets, in v[0..n) joined by "\n", where
 * a match can start, so PCRE2 is asked there only, through an offset
 * limit on re (the rule's pattern compiled for that).  Starts closer than
 * a few bytes share one call.  What it finds is what match_list() finds,
 * element by element and in the same order; the elements before first
 * (a body rule's subject) are passed over.
 */
#define STARTS_GAP	16

static unsigned
match_starts(struct rule_scratch *sc, const struct rule *r,
    const pcre2_code *re, const struct msg_str *v, size_t n, size_t first,
    const uint32_t *pos, size_t npos, int *limited)
{
	unsigned max = (r->flags & RF_MULTIPLE) ? r->maxhits : 1, total = 0;
	size_t i, k = 0, base = 0, k0, a, b, len;
	PCRE2_SIZE start, *ov;
	uint32_t opts;
	int rc;

	for (i = 0; i < n && k < npos; base += v[i].len + 1, i++) {
		len = v[i].len;
		while (k < npos && pos[k] < base)
			k++;
		if (i < first)
			continue;
		start = 0;
		opts = 0;
		while (k < npos && pos[k] <= base + len) {
			if (pos[k] - base < start) {
				k++;
				continue;
			}
			k0 = k;
			a = b = pos[k] - base;
			while (k + 1 < npos && pos[k + 1] <= base + len &&
			    pos[k + 1] - base <= b + STARTS_GAP)
				b = pos[++k] - base;
			k++;
			pcre2_set_offset_limit(sc->mc, b);
			rc = pcre2_match(re, (PCRE2_SPTR)v[i].p, len, a,
			    a == start ? opts : 0, sc->md, sc->mc);
			pcre2_set_offset_limit(sc->mc, PCRE2_UNSET);
			if (rc == PCRE2_ERROR_NOMATCH)
				continue;
			if (rc < 0) {
				*limited |= limit_error(rc);
				return total;
			}
			if (++total == max && max != 0)
				return total;
			ov = pcre2_get_ovector_pointer(sc->md);
			if (ov[1] < ov[0] || ov[1] > len)
				break;	/* \K tricks: as match_count() */
			opts = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART : 0;
			start = ov[1];
			k = k0;		/* starts inside the match are passed */
		}
	}
	return total;
}

static const char *
env_target(const struct rule_env *env, const struct rule *r)
{
	if (env == NULL)
		return NULL;
	switch (r->stage) {
	case RULE_ST_CONNECT:
		return r->target == RT_ADDR ? env->client_addr :
		    r->target == RT_NAME ? env->client_name : env->facts;
	case RULE_ST_HELO:
		return env->helo;
	case RULE_ST_MAIL:
		return env->mail_from;
	default:
		return NULL;
	}
}

/* The texts of a body, uri, rawbody or full rule, as a list. */
static const struct msg_str *
stage_texts(const struct msg *m, enum rule_stage stage, struct msg_str *one,
    size_t *n)
{
	switch (stage) {
	case RULE_ST_BODY: return msg_body(m, n);
	case RULE_ST_URI: return msg_uris(m, n);
	case RULE_ST_RAWBODY: return msg_rawbody(m, n);
	default:
		one->p = msg_full(m, &one->len);
		*n = 1;
		return one;
	}
}

/*
 * Whether Hyperscan has scanned the stage's text of m (scanning it the
 * first time it is asked); 0 when it could not, and the rules of the stage
 * fall back to the literal prefilter.
 */
static int
hs_scanned(struct rule_scratch *sc, const struct msg *m, enum rule_stage st)
{
	const struct msg_str *v;
	struct msg_str one;
	size_t n;

	if (sc->hs_state[st] == 0) {
		v = stage_texts(m, st, &one, &n);
		sc->hs_state[st] = rule_hs_scan(sc->hs, sc->hss, st, v, n,
		    sc->hsmark) == 0 ? 1 : -1;
	}
	return sc->hs_state[st] == 1;
}

/*
 * A header rule's count when its operand is absent: the pattern against
 * its [if-unset: ] text or "", which is the same for every message, so it
 * is matched once per rule set and remembered in the rule (any thread may
 * store it first: they store the same value).  Not for rules whose match
 * has a side effect or changes per message (captures, templates), nor a
 * match that reached a limit.
 */
static unsigned
unset_count(struct rule_scratch *sc, const struct rule *r,
    const pcre2_code *re, unsigned max, int *limited)
{
	struct rule *w = (struct rule *)r;
	const char *s = r->unset != NULL ? r->unset : "";
	int memo = atomic_load_explicit(&w->unset_memo, memory_order_relaxed);
	int lim = 0;
	unsigned c;

	if (memo > 0)
		return (unsigned)memo - 1;
	c = match_count(sc, r, re, s, strlen(s), max, &lim);
	*limited |= lim;
	if (!lim && !(r->flags & (RF_NAMED | RF_TEMPLATE)) && c < INT_MAX)
		atomic_store_explicit(&w->unset_memo, (int)c + 1,
		    memory_order_relaxed);
	return c;
}

/* Evaluate one pattern rule; returns its count (0: no hit or not run). */
static unsigned
eval_rule(const struct rule_set *rs, struct rule_scratch *sc,
    const struct rule *r, const struct rule_env *env, const struct msg *m,
    int *limited)
{
	unsigned max = (r->flags & RF_MULTIPLE) ? r->maxhits : 1, c = 0;
	const pcre2_code *re = r->re, *sre = NULL;
	pcre2_code *tre = NULL;
	const struct msg_str *v;
	struct msg_str one;
	const uint32_t *spos = NULL;
	const char *s;
	size_t n, i, nspos = 0;
	int st, starts = -1;

	if (r->ev != NULL) {
		struct saeval_ctx cx = { rs->saconf, rs->relays, sc->relays,
		    sc->md, env, m, sc->ec };

		return rule_saeval_run(r->ev, &cx);
	}
	if (sc->hs != NULL && rule_hs_covers(sc->hs, (size_t)(r - rs->rules)) &&
	    hs_scanned(sc, m, r->stage)) {
		/* Hyperscan's verdict stands in for the literal prefilter */
		if (!sc->hsmark[r - rs->rules]) {
			sc->pf_skip = 1;
			return (r->flags & RF_NEG) ? 1 : 0;
		}
		/* a rule PCRE2 would try everywhere: where it can start */
		v = stage_texts(m, r->stage, &one, &n);
		starts = rule_hs_starts(sc->hs, sc->hss, (size_t)(r -
		    rs->rules), v, n, &spos, &nspos, &sre);
		if (starts > 0 && nspos == 0) {
			sc->pf_skip = 1;
			return (r->flags & RF_NEG) ? 1 : 0;
		}
	} else if (r->nlits > 0 && r->stage != RULE_ST_HEADER) {
		/* the literal prefilter: a sure "cannot match" skips the run */
		struct rule_bitmap *bm = &sc->bm[r->stage];

		if (!bm->ready) {
			v = stage_texts(m, r->stage, &one, &n);
			rule_prefilter_build(bm, v, n);
		}
		if (!rule_prefilter_may_match(bm, r)) {
			sc->pf_skip = 1;
			return (r->flags & RF_NEG) ? 1 : 0;
		}
	}
	if (starts > 0) {
		/* a body, uri, rawbody or full rule with a start finder */
		c = match_starts(sc, r, sre, v, n, r->stage == RULE_ST_BODY &&
		    (r->flags & RF_NOSUBJECT) ? 1 : 0, spos, nspos, limited);
		goto done;
	}
	if (r->flags & RF_TEMPLATE) {
		if ((tre = template_compile(sc, rs, r)) == NULL)
			return 0;
		re = tre;
	}
	switch (r->stage) {
	case RULE_ST_CONNECT:
	case RULE_ST_HELO:
	case RULE_ST_MAIL:
		if ((s = env_target(env, r)) == NULL)
			goto out;
		c = match_count(sc, r, re, s, strlen(s), max, limited);
		break;
	case RULE_ST_RCPT:
		if (env == NULL || env->rcpt == NULL)
			goto out;
		for (i = 0; i < env->nrcpt; i++) {
			c += match_count(sc, r, re, env->rcpt[i],
			    strlen(env->rcpt[i]), max == 0 ? 0 : max - c,
			    limited);
			if (max != 0 && c >= max)
				break;
		}
		break;
	case RULE_ST_HEADER:
		st = sc->spec_state[r->spec];
		/* the first byte spares a call per operand per message */
		if (st == 2 && rs->relays != NULL && (r->hdr[0] | 0x20) ==
		    'e' && strncasecmp(r->hdr, "EnvelopeFrom", 12) == 0 &&
		    rule_relays_envfrom(rs->relays, m, sc->md, sc->relays,
		    &sc->spec[r->spec]))
			st = sc->spec_state[r->spec] = 1;	/* SA: last hop */
		if (st == 2) {
			st = msg_get(m, r->hdr, &sc->spec[r->spec]);
			if (st < 0 && rs->relays != NULL)
				st = rule_relays_get(rs->relays, m, r->hdr,
				    sc->md, sc->relays, &sc->spec[r->spec]);
			sc->spec_state[r->spec] = (signed char)st;
		}
		if (st < 0)
			goto out;
		if (r->flags & RF_EXISTS) {
			c = st == 1;
			if (r->flags & RF_NEG)
				c = !c;
			tre != NULL ? pcre2_code_free(tre) : (void)0;
			return c;
		}
		if (st == 1 && r->nlits > 0) {
			struct sbuf *f = &sc->spec_fold[r->spec];
			struct rule_bitmap *bm = &sc->spec_bm[r->spec];

			if (!sc->fold_done[r->spec]) {
				struct msg_str t = { sc->spec[r->spec].p,
				    sc->spec[r->spec].len };

				rule_prefilter_fold(f, t.p, t.len);
				bm->ready = t.len > SPEC_BITMAP_MIN;
				if (bm->ready)
					rule_prefilter_build(bm, &t, 1);
				sc->fold_done[r->spec] = 1;
			}
			if (!rule_prefilter_may_match_text(r, bm->ready ? bm :
			    NULL, f->p, f->len)) {
				sc->pf_skip = 1;
				c = 0;
				break;
			}
		}
		if (st == 1)
			c = match_count(sc, r, re, sc->spec[r->spec].p,
			    sc->spec[r->spec].len, max, limited);
		else
			c = unset_count(sc, r, re, max, limited);
		break;
	case RULE_ST_BODY:
		v = msg_body(m, &n);
		if ((r->flags & RF_NOSUBJECT) && n > 0) {
			v++;
			n--;
		}
		c = match_list(sc, r, re, v, n, limited);
		break;
	case RULE_ST_URI:
		v = msg_uris(m, &n);
		c = match_list(sc, r, re, v, n, limited);
		break;
	case RULE_ST_RAWBODY:
		v = msg_rawbody(m, &n);
		c = match_list(sc, r, re, v, n, limited);
		break;
	case RULE_ST_FULL:
		s = msg_full(m, &n);
		c = match_count(sc, r, re, s, n, max, limited);
		break;
	case RULE_ST_MIMEHEADER:
		n = msg_part_count(m);
		for (i = 0; i < n; i++) {
			st = msg_part_get(m, i, r->hdr, &sc->tmp);
			if (st < 0)
				continue;
			if (st == 0 && r->unset != NULL) {
				sbuf_reset(&sc->tmp);
				sbuf_adds(&sc->tmp, r->unset);
			}
			c = match_count(sc, r, re, sc->tmp.p ? sc->tmp.p : "",
			    sc->tmp.len, (r->flags & RF_MULTIPLE) ?
			    (r->maxhits ? r->maxhits : 1000) : 1, limited);
			if (c > 0)
				break;
		}
		break;
	default:
		break;
	}
done:
	if (r->flags & RF_NEG)
		c = c == 0;
out:
	if (tre != NULL)
		pcre2_code_free(tre);
	return c;
}

struct evalctx {
	const struct rule_set	*rs;
	struct rule_scratch	*sc;
	const struct rule_env	*env;
	const struct msg	*m;
	int			 lazy;
};

static double rule_value(const struct evalctx *, long);

/*
 * Perl's truth: 0 is false (the empty string never reaches us).  Lazily,
 * an operand is computed the first time it is read, so what a short-circuit
 * jumps over never runs.
 */
static double
eval_meta(const struct evalctx *cx, const struct rule *r)
{
	const double *val = cx->sc->val;
	double st[64], a, b;
	size_t sp = 0, k;

	for (k = 0; k < r->ncode; k++) {
		const struct meta_op *o = &r->code[k];

		switch (o->op) {
		case MOP_NUM:
			if (sp == 64)
				return 0;
			st[sp++] = o->num;
			continue;
		case MOP_RULE:
			if (sp == 64)
				return 0;
			st[sp++] = cx->lazy ? rule_value(cx, o->rule) :
			    val[o->rule];
			continue;
		case MOP_NOT:
			if (sp < 1)
				return 0;
			st[sp - 1] = st[sp - 1] == 0;
			continue;
		case MOP_NEG:
			if (sp < 1)
				return 0;
			st[sp - 1] = -st[sp - 1];
			continue;
		/* Perl returns the deciding operand, not a boolean */
		case MOP_ANDJ:
		case MOP_ORJ:
		case MOP_CONDJ:
		case MOP_JMP:
			if ((size_t)o->rule <= k || (size_t)o->rule > r->ncode)
				return 0;	/* the compiler jumps forward */
			if (o->op == MOP_JMP) {
				k = (size_t)o->rule - 1;
				continue;
			}
			if (sp < 1)
				return 0;
			if (o->op == MOP_CONDJ) {
				if (st[--sp] == 0)
					k = (size_t)o->rule - 1;
			} else if ((st[sp - 1] != 0) == (o->op == MOP_ORJ))
				k = (size_t)o->rule - 1;
			else
				sp--;
			continue;
		default:
			break;
		}
		if (sp < 2)
			return 0;
		b = st[--sp];
		a = st[sp - 1];
		switch (o->op) {
		case MOP_ADD: a = a + b; break;
		case MOP_SUB: a = a - b; break;
		case MOP_MUL: a = a * b; break;
		case MOP_DIV: a = b == 0 ? 0 : a / b; break;
		case MOP_LT: a = a < b; break;
		case MOP_LE: a = a <= b; break;
		case MOP_GT: a = a > b; break;
		case MOP_GE: a = a >= b; break;
		case MOP_EQ: a = a == b; break;
		case MOP_NE: a = a != b; break;
		case MOP_XOR: a = (double)((long long)a ^ (long long)b); break;
		default: return 0;
		}
		st[sp - 1] = a;
	}
	return sp == 1 && isfinite(st[0]) ? st[0] : 0;
}

/* got_hit(): a value <= 0 still counts as one hit */
static double
meta_value(const struct evalctx *cx, const struct rule *r)
{
	double v;

	if (cx->m == NULL && (r->flags & RF_NEEDMSG))
		return 0;
	v = eval_meta(cx, r);
	return v == 0 ? 0 : v < 0 ? 1 : v;
}

/* Run pattern rule i, profiling it if asked, and note a limit reached. */
static void
run_pattern(const struct evalctx *cx, long i)
{
	struct rule_scratch *sc = cx->sc;
	struct rule_prof *p;
	unsigned long long t0 = 0;
	int limited = 0;

	if (sc->profiling) {
		t0 = clock_mono_ns();
		sc->pf_skip = 0;
	}
	sc->val[i] = eval_rule(cx->rs, sc, &cx->rs->rules[i], cx->env, cx->m,
	    &limited);
	if (sc->profiling) {
		p = &sc->prof[i];
		p->ns += clock_mono_ns() - t0;
		if (sc->pf_skip)
			p->skipped++;
		else
			p->runs++;
	}
	if (limited)
		sc->limit[i] = 1;
}

/*
 * Lazy mode: the value of rule i, computed on first use.  Rules that never
 * run (score 0, eval:, bad metas...) are 0, as are message rules before
 * there is a message.  It recurses once per meta level: rule_eval() only
 * evaluates lazily when rs->meta_depth is within RULE_LAZY_DEPTH_MAX.
 */
static double
rule_value(const struct evalctx *cx, long i)
{
	struct rule_scratch *sc = cx->sc;
	const struct rule *r = &cx->rs->rules[i];

	if (sc->done[i])
		return sc->val[i];
	sc->done[i] = 1;
	if (r->skip != RSKIP_NONE)
		return 0;
	if (r->stage == RULE_ST_META)
		sc->val[i] = meta_value(cx, r);
	else if (cx->m != NULL || r->stage < RULE_ST_HEADER)
		run_pattern(cx, i);
	return sc->val[i];
}

static void
add_hit(struct rule_scratch *sc, const struct rule *r, unsigned count,
    unsigned flags)
{
	struct rule_hit *h;

	if (sc->nhits == sc->caphits) {
		sc->caphits = sc->caphits ? sc->caphits * 2 : 64;
		sc->hits = xreallocarray(sc->hits, sc->caphits,
		    sizeof(*sc->hits));
	}
	h = &sc->hits[sc->nhits++];
	h->name = r->name;
	h->desc = r->desc;
	h->score = r->score;
	h->count = count;
	h->flags = flags | ((r->flags & RF_SUB) ? RULE_HIT_SUB : 0);
}

void
rule_scratch_lazy(struct rule_scratch *sc, int on)
{
	sc->lazy = on;
}

void
rule_scratch_profile(struct rule_scratch *sc, int on)
{
	sc->profiling = on;
}

int
rule_scratch_profile_get(const struct rule_scratch *sc, size_t idx,
    struct rule_prof *out)
{
	if (sc->prof == NULL || idx >= sc->nprof)
		return -1;
	*out = sc->prof[idx];
	return 0;
}

const struct rule_hit *
rule_eval(const struct rule_set *rs, struct rule_scratch *sc,
    const struct rule_env *env, const struct msg *m, size_t *n)
{
	struct rule *rules = rs->rules;
	struct evalctx cx;
	const long *ord;
	size_t st, k, nord;
	long i;

	scratch_prepare(sc, rs);
	cx.rs = rs;
	cx.sc = sc;
	cx.env = env;
	cx.m = m;
	cx.lazy = sc->lazy && rs->meta_depth <= RULE_LAZY_DEPTH_MAX;
	for (st = 0; st < RULE_ST_META; st++) {
		if (m == NULL && st >= RULE_ST_HEADER)
			break;
		/*
		 * Lazily, a sub-rule waits until a meta asks for it (eager[]
		 * leaves it out); captures and templates keep SpamAssassin's
		 * order.
		 */
		ord = cx.lazy ? rs->eager[st] : rs->order[st];
		nord = cx.lazy ? rs->neager[st] : rs->norder[st];

		for (k = 0; k < nord; k++) {
			i = ord[k];
			run_pattern(&cx, i);
			sc->done[i] = 1;
		}
	}
	for (k = 0; k < rs->norder[RULE_ST_META]; k++) {
		i = rs->order[RULE_ST_META][k];
		if (!cx.lazy)
			sc->val[i] = meta_value(&cx, &rules[i]);
		else if (!(rules[i].flags & RF_SUB))
			(void)rule_value(&cx, i);
	}
	for (k = 0; k < rs->nrules; k++) {
		struct rule *r = &rules[k];

		if (sc->val[k] > 0)
			add_hit(sc, r, (r->flags & RF_MULTIPLE) &&
			    r->stage != RULE_ST_META ? (unsigned)sc->val[k] :
			    1, 0);
		else if (sc->limit[k] && atomic_exchange(
		    &((struct rule *)r)->limit_seen, 1) == 0)
			add_hit(sc, r, 0, RULE_HIT_LIMIT);
	}
	*n = sc->nhits;
	return sc->hits;
}
