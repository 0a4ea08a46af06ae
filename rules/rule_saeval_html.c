/*
 * rule_saeval_html.c: SpamAssassin's HTML evals (Plugin/HTMLEval.pm 4.0.1:
 * html_test, html_range, html_eval, html_image_only, html_image_ratio,
 * html_tag_balance, html_tag_exists, html_text_match,
 * html_title_subject_ratio), natively, over the statistics the message
 * model records while rendering each text/html part (msg_html()).
 *
 * As in SA, a check hits when any one HTML part satisfies it.  A statistic
 * the model does not record (bad_tag_ratio, non_element_ratio, min_size,
 * the script list) is undefined, so its checks never hit.
 *
 * Pure: reads the message model only.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"
#include "rule_saeval_int.h"
#include "msg.h"

/* The "op number" of html_eval/html_tag_balance ("< 384", "!= 0"). */
static int
compare(double v, const char *expr, int *ok)
{
	const char *p = expr;
	char op[3] = { 0, 0, 0 };
	double x;
	char *end;

	*ok = 0;
	if (p == NULL)
		return 0;
	while (*p == ' ')
		p++;
	if (strchr("<>=!", *p) == NULL || *p == '\0')
		return 0;
	op[0] = *p++;
	if (*p == '=')
		op[1] = *p++;
	x = strtod(p, &end);
	if (end == p)
		return 0;
	while (*end == ' ')
		end++;
	if (*end != '\0')
		return 0;
	*ok = 1;
	if (strcmp(op, "<") == 0)
		return v < x;
	if (strcmp(op, "<=") == 0)
		return v <= x;
	if (strcmp(op, ">") == 0)
		return v > x;
	if (strcmp(op, ">=") == 0)
		return v >= x;
	if (strcmp(op, "==") == 0)
		return v == x;
	if (strcmp(op, "!=") == 0)
		return v != x;
	*ok = 0;
	return 0;
}

static const struct msg_html_tag *
inside(const struct msg_html_stats *h, const char *tag)
{
	size_t i;

	for (i = 0; tag != NULL && i < h->ntag; i++)
		if (strcmp(h->tag[i].name, tag) == 0)
			return &h->tag[i];
	return NULL;
}

/* The value of statistic name in h: 1 and *v, or 0 when undefined. */
static int
stat_value(const struct msg_html_stats *h, const char *name, double *v)
{
	if (name == NULL)
		return 0;
	if (strcmp(name, "length") == 0)
		*v = (double)h->length;
	else if (strcmp(name, "max_size") == 0)
		*v = (double)h->max_size;
	else if (strcmp(name, "image_area") == 0)
		*v = h->image_area;
	else if (strcmp(name, "non_space_len") == 0)
		*v = (double)h->non_space_len;
	else if (strcmp(name, "closed_extra_ratio") == 0 && h->tags > 0)
		*v = (double)h->closed_extra / h->tags;
	else if (strcmp(name, "obfuscation_ratio") == 0 && h->tags > 0 &&
	    h->obfuscation > 0)
		*v = (double)h->obfuscation / h->tags;
	else if (strcmp(name, "html") == 0)
		*v = 1;
	else if (strcmp(name, "font_low_contrast") == 0)
		*v = h->font_low_contrast;
	else if (strcmp(name, "font_invalid_color") == 0)
		*v = h->font_invalid_color;
	else if (strcmp(name, "font_face_bad") == 0)
		*v = h->font_face_bad;
	else if (strcmp(name, "embeds") == 0)
		*v = h->embeds;
	else if (strcmp(name, "form_action_mailto") == 0)
		*v = h->form_action_mailto;
	else
		return 0;
	return 1;
}

unsigned
ev_html_test(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	size_t n, i;
	double v;

	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		if (stat_value(&h[i], call->args[0], &v) && v != 0)
			return 1;
	return 0;
}

unsigned
ev_html_range(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	size_t n, i;
	double v;

	if (isnan(call->num[1]))
		return 0;
	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++) {
		if (!stat_value(&h[i], call->args[0], &v))
			continue;
		/* "inf" (or no maximum) leaves only the minimum */
		if (call->nargs < 3 || call->args[2] == NULL ||
		    isinf(call->num[2])) {
			if (v > call->num[1])
				return 1;
		} else if (v > call->num[1] && v <= call->num[2])
			return 1;
	}
	return 0;
}

unsigned
ev_html_eval(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	size_t n, i;
	double v;
	int ok;

	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		if (stat_value(&h[i], call->args[0], &v) &&
		    compare(v, call->args[1], &ok) && ok)
			return 1;
	return 0;
}

unsigned
ev_html_image_only(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	size_t n, i;

	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		if (inside(&h[i], "img") != NULL &&
		    (double)h[i].length > call->num[0] &&
		    (double)h[i].length <= call->num[1])
			return 1;
	return 0;
}

unsigned
ev_html_image_ratio(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	size_t n, i;
	double r;

	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++) {
		if (h[i].image_area <= 0)
			continue;
		r = (double)h[i].non_space_len / h[i].image_area;
		if (r > call->num[0] && r <= call->num[1])
			return 1;
	}
	return 0;
}

unsigned
ev_html_tag_balance(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	const struct msg_html_tag *t;
	size_t n, i;
	int ok;

	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		if ((t = inside(&h[i], call->args[0])) != NULL &&
		    compare((double)t->inside, call->args[1], &ok) && ok)
			return 1;
	return 0;
}

unsigned
ev_html_tag_exists(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	size_t n, i;

	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++)
		if (inside(&h[i], call->args[0]) != NULL)
			return 1;
	return 0;
}

/* the NUL-separated list called name of h */
static const struct sbuf *
text_list(const struct msg_html_stats *h, const char *name, size_t *cnt)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "comment") == 0) {
		*cnt = h->ncomments;
		return &h->comments;
	}
	if (strcmp(name, "anchor") == 0) {
		*cnt = h->nanchors;
		return &h->anchors;
	}
	if (strcmp(name, "title") == 0) {
		*cnt = h->ntitles;
		return &h->titles;
	}
	return NULL;
}

unsigned
ev_html_text_match(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	const struct sbuf *l;
	const char *p, *e;
	size_t n, i, cnt;

	if (call->re == NULL)
		return 0;
	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++) {
		if ((l = text_list(&h[i], call->args[0], &cnt)) == NULL ||
		    cnt == 0 || l->p == NULL)
			continue;
		for (p = l->p; p < l->p + l->len; p = e + 1) {
			e = memchr(p, '\0', (size_t)(l->p + l->len - p));
			if (e == NULL)
				e = l->p + l->len;
			if (pcre2_match(call->re, (PCRE2_SPTR)p, (size_t)(e -
			    p), 0, 0, cx->md, NULL) > 0)
				return 1;
		}
	}
	return 0;
}

static size_t
chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

unsigned
ev_html_title_subject_ratio(const struct saeval_call *call,
    struct saeval_ctx *cx)
{
	const struct msg_html_stats *h;
	const char *p, *e;
	size_t n, i, sl;
	double max;

	sae_get(cx, "Subject", &cx->cache->a);
	if ((sl = chars(cx->cache->a.p, cx->cache->a.len)) == 0)
		return 0;
	h = msg_html(cx->m, &n);
	for (i = 0; i < n; i++) {
		max = 0;
		if (h[i].ntitles == 0 || h[i].titles.p == NULL)
			continue;
		for (p = h[i].titles.p; p < h[i].titles.p + h[i].titles.len;
		    p = e + 1) {
			e = memchr(p, '\0', (size_t)(h[i].titles.p +
			    h[i].titles.len - p));
			if (e == NULL)
				e = h[i].titles.p + h[i].titles.len;
			/* Perl truth: "" and "0" are false */
			if (e == p || (e - p == 1 && *p == '0'))
				continue;
			if ((double)chars(p, (size_t)(e - p)) / sl > max)
				max = (double)chars(p, (size_t)(e - p)) / sl;
		}
		if (max > call->num[0])
			return 1;
	}
	return 0;
}
