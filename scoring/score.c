/*
 * score.c: the score card of one transaction, its verdict and the X-Spam-*
 * header text.
 *
 * It does not run checks, send replies or touch the message: callers add
 * hits and ask for the verdict and the header text, then act on them.  It
 * keeps no global state.
 *
 * Invariants: hit names are unique on a card; the card never holds more
 * than SCORE_HITS_MAX hits (the excess is counted in dropped, and a dropped
 * hit never lowers a score that is already there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score.h"
#include "sbuf.h"
#include "xmalloc.h"

void
score_thresholds_default(struct score_thresholds *t)
{
	memset(t, 0, sizeof(*t));
	t->tag = SCORE_TAG_DEFAULT;
	t->tag_on = 1;
	t->reject = SCORE_REJECT_DEFAULT;
	t->reject_on = 1;
}

void
score_card_init(struct score_card *c)
{
	memset(c, 0, sizeof(*c));
}

void
score_card_free(struct score_card *c)
{
	free(c->hits);
	memset(c, 0, sizeof(*c));
}

void
score_card_reset(struct score_card *c)
{
	c->nhits = 0;
	c->dropped = 0;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
score_card_add(struct score_card *c, const char *name, double score,
    unsigned count, const char *desc, const char *source)
{
	struct score_hit *h = NULL;
	size_t i;

	for (i = 0; i < c->nhits; i++)
		if (strncmp(c->hits[i].name, name, SCORE_NAME_MAX - 1) == 0) {
			h = &c->hits[i];
			break;
		}
	if (h == NULL) {
		if (c->nhits == SCORE_HITS_MAX) {
			c->dropped++;
			return;
		}
		if (c->nhits == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 16;
			c->hits = xreallocarray(c->hits, c->cap,
			    sizeof(*c->hits));
		}
		h = &c->hits[c->nhits++];
	}
	copy_str(h->name, sizeof(h->name), name);
	copy_str(h->desc, sizeof(h->desc), desc ? desc : "");
	copy_str(h->source, sizeof(h->source), source ? source : "rules");
	h->score = score;
	h->count = count;
}

void
score_card_drop_source(struct score_card *c, const char *source)
{
	size_t i, k;

	for (i = k = 0; i < c->nhits; i++) {
		if (strcmp(c->hits[i].source, source) == 0)
			continue;
		if (k != i)
			c->hits[k] = c->hits[i];
		k++;
	}
	c->nhits = k;
}

double
score_card_total(const struct score_card *c)
{
	double t = 0;
	size_t i;

	for (i = 0; i < c->nhits; i++)
		t += c->hits[i].score;
	return t;
}

enum score_verdict
score_verdict(const struct score_card *c, const struct score_thresholds *t)
{
	double s = score_card_total(c);

	if (t->reject_on && s >= t->reject)
		return SCORE_REJECT;
	if (t->tempfail_on && s >= t->tempfail)
		return SCORE_TEMPFAIL;
	if (t->tag_on && s >= t->tag)
		return SCORE_TAG;
	return SCORE_ACCEPT;
}

const char *
score_verdict_name(enum score_verdict v)
{
	switch (v) {
	case SCORE_ACCEPT: return "accept";
	case SCORE_TAG: return "tag";
	case SCORE_TEMPFAIL: return "tempfail";
	case SCORE_REJECT: return "reject";
	}
	return "?";
}

static int
cmp_hit_name(const void *a, const void *b)
{
	const struct score_hit *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static const struct score_hit **
sorted_hits(const struct score_card *c)
{
	const struct score_hit **v;
	size_t i;

	v = xreallocarray(NULL, c->nhits + 1, sizeof(*v));
	for (i = 0; i < c->nhits; i++)
		v[i] = &c->hits[i];
	qsort(v, c->nhits, sizeof(*v), cmp_hit_name);
	return v;
}

void
score_card_tests(const struct score_card *c, struct sbuf *out)
{
	const struct score_hit **v = sorted_hits(c);
	size_t i;

	for (i = 0; i < c->nhits; i++) {
		if (i > 0)
			sbuf_addc(out, ',');
		sbuf_adds(out, v[i]->name);
	}
	free(v);
}

/* "%.1f" without "-0.0" */
static void
fmt_score(char *buf, size_t size, double s)
{
	snprintf(buf, size, "%.1f", s);
	if (strcmp(buf, "-0.0") == 0)
		snprintf(buf, size, "0.0");
}

void
score_card_log(const struct score_card *c, struct sbuf *out)
{
	size_t i;

	for (i = 0; i < c->nhits; i++)
		sbuf_printf(out, "%s%s=%g", i > 0 ? "," : "", c->hits[i].name,
		    c->hits[i].score);
}

void
score_headers(const struct score_card *c, const struct score_thresholds *t,
    const char *eol, struct sbuf *out)
{
	const struct score_hit **v = sorted_hits(c);
	enum score_verdict vd = score_verdict(c, t);
	int spam = vd == SCORE_TAG || vd == SCORE_TEMPFAIL ||
	    vd == SCORE_REJECT;
	char sc[32], req[32];
	size_t i, col, n;

	fmt_score(sc, sizeof(sc), score_card_total(c));
	fmt_score(req, sizeof(req), t->tag_on ? t->tag : 0.0);
	if (spam)
		sbuf_printf(out, "X-Spam-Flag: YES%s", eol);
	sbuf_printf(out, "X-Spam-Score: %s%s", sc, eol);
	n = out->len;
	sbuf_printf(out, "X-Spam-Status: %s, score=%s required=%s tests=",
	    spam ? "Yes" : "No", sc, req);
	col = out->len - n;
	if (c->nhits == 0) {
		sbuf_adds(out, "none");
		col += 4;
	}
	for (i = 0; i < c->nhits; i++) {
		size_t l = strlen(v[i]->name) + (i + 1 < c->nhits ? 1 : 0);

		/* fold before 78 columns, never inside a name */
		if (col + l > 78 && col > 1) {
			sbuf_printf(out, "%s\t", eol);
			col = 8;
		}
		sbuf_adds(out, v[i]->name);
		if (i + 1 < c->nhits)
			sbuf_addc(out, ',');
		col += l;
	}
	sbuf_adds(out, eol);
	free(v);
}

int
score_header_is_ours(const char *name, size_t len)
{
	static const char *const ours[] = { "X-Spam-Flag", "X-Spam-Score",
	    "X-Spam-Status", "X-Spam-Level", "X-Spam-Report",
	    "X-Spam-Checker-Version", NULL };
	size_t i;

	for (i = 0; ours[i] != NULL; i++)
		if (strlen(ours[i]) == len &&
		    strncasecmp(ours[i], name, len) == 0)
			return 1;
	return 0;
}
