/*
 * rule_saeval_mime.c: SpamAssassin's MIME-structure evals (Plugin/
 * MIMEEval.pm 4.0.1: check_for_mime, check_for_mime_html[_only],
 * check_mime_multipart_ratio, check_for_ascii_text_illegal,
 * check_base64_length; check_msg_parse_flags; BodyEval.pm
 * multipart_alternative_difference[_count]; ImageInfo.pm image_count),
 * natively.
 *
 * One pass over the MIME parts (SA's find_parts order, containers
 * included) computes what _check_attachments() computes; every eval then
 * reads that memo, so the pass runs once per message whatever the number
 * of rules.
 *
 * Not done: mime_faraway_charset (SA's default ok_locales "all" never sets
 * it, so it is 0 here too), mimepart_limit_exceeded and
 * mime_missing_boundary (parser state moat does not keep), the unicode and
 * QP ratios no stock rule reads.
 *
 * Pure: reads the message model only.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule_int.h"
#include "rule_saeval_int.h"
#include "msg.h"
#include "xmalloc.h"

void
sae_mime_reset(struct saeval_cache *c)
{
	memset(&c->mime, 0, sizeof(c->mime));
}

void
sae_mime_free(struct saeval_cache *c)
{
	(void)c;
}

/* the last instance of a part header, lower case, without "\n" */
static void
part_hdr(const struct saeval_ctx *cx, size_t i, const char *name,
    struct sbuf *out)
{
	size_t k;

	if (msg_part_get(cx->m, i, name, out) != 1 || out->p == NULL) {
		sbuf_reset(out);
		sbuf_adds(out, "");
		return;
	}
	while (out->len > 0 && out->p[out->len - 1] == '\n')
		out->p[--out->len] = '\0';
	for (k = 0; k < out->len; k++)
		out->p[k] = (char)tolower((unsigned char)out->p[k]);
}

static int
has(const struct sbuf *s, const char *needle)
{
	return s->p != NULL && strstr(s->p, needle) != NULL;
}

/* us-ascii and its aliases, as MIMEEval.pm lists them (unanchored) */
static int
ascii_charset(const char *cs)
{
	static const char *const names[] = { "us-ascii", "ansi_x3.4-1968",
	    "iso-ir-6", "ansi_x3.4-1986", "iso_646.irv:1991", "ascii",
	    "iso646-us", "us", "ibm367", "cp367", "csascii", NULL };
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strstr(cs, names[i]) != NULL)
			return 1;
	return 0;
}

/* charset =~ /iso-\S+-\S+\b/i && !~ /iso-(?:8859-\d{1,2}|2022-(?:jp|kr))\b/ */
static int
bad_iso(const char *cs)
{
	const char *p;
	int bad = 0, ok = 0;

	for (p = cs; (p = strstr(p, "iso-")) != NULL; p++) {
		const char *q = p + 4, *r;

		/* \S+-\S+ then a word boundary: some "-" with non-blanks
		   on both sides */
		for (r = q; *r != '\0' && !isspace((unsigned char)*r); r++)
			if (*r == '-' && r > q && r[1] != '\0' &&
			    !isspace((unsigned char)r[1]))
				bad = 1;
		if (strncmp(q, "8859-", 5) == 0 && isdigit((unsigned char)q[5])) {
			size_t n = isdigit((unsigned char)q[6]) ? 2 : 1;
			unsigned char after = (unsigned char)q[5 + n];

			if (!(isalnum(after) || after == '_'))
				ok = 1;
		}
		if ((strncmp(q, "2022-jp", 7) == 0 || strncmp(q, "2022-kr", 7) ==
		    0) && !(isalnum((unsigned char)q[7]) || q[7] == '_'))
			ok = 1;
	}
	return bad && !ok;
}

/* =(?:09|3[0-9ABCEF]|[2456][0-9A-F]|7[0-9A-E]) */
static int
qp_encoded(const char *p)
{
	unsigned char a = (unsigned char)p[1], b = (unsigned char)p[2];

	if (p[0] != '=')
		return 0;
	if (a == '0' && b == '9')
		return 1;
	if (a == '3')
		return isdigit(b) || (b >= 'A' && b <= 'F' && b != 'D');
	if (a == '2' || a == '4' || a == '5' || a == '6')
		return isdigit(b) || (b >= 'A' && b <= 'F');
	if (a == '7')
		return isdigit(b) || (b >= 'A' && b <= 'E');
	return 0;
}

/*
 * MIMEEval.pm's abundant_unicode count on one raw line of a 7bit or 8bit
 * text/plain part: each /&#x[0-9A-F]{4};/ an escape, the rest normal text
 * (Perl counts the line's length after removing them).
 */
static void
unicode_escapes(struct sae_mime *mm, const char *p, size_t len)
{
	size_t j, k, subs = 0;

	for (j = 0; j + 8 <= len; j++) {
		if (p[j] != '&' || p[j + 1] != '#' || p[j + 2] != 'x' ||
		    p[j + 7] != ';')
			continue;
		for (k = 3; k < 7; k++)
			if (!isdigit((unsigned char)p[j + k]) &&
			    !(p[j + k] >= 'A' && p[j + k] <= 'F'))
				break;
		if (k == 7) {
			subs++;
			j += 7;
		}
	}
	mm->unicode_chars += subs;
	mm->normal_chars += len - 8 * subs;
}

static void
mime_pass(struct saeval_ctx *cx)
{
	struct sae_mime *mm = &cx->cache->mime;
	struct sbuf cte = SBUF_INIT, cd = SBUF_INIT;
	struct msg_part_info pi;
	size_t np = msg_part_count(cx->m), i, nleaf = 0, qp_count = 0;
	size_t *bytes = xcalloc(np + 1, sizeof(size_t));
	unsigned char *counted = xcalloc(np + 1, 1);
	const char **types = xcalloc(np + 1, sizeof(char *));
	char *cs;
	long k;
	int have_text = 0, have_html = 0;
	size_t text = 0, html = 0;

	cx->cache->have |= SAE_HAVE_MIME;
	memset(mm, 0, sizeof(*mm));
	mm->multipart_ratio = 1.0;
	for (i = 0; i < np; i++) {
		if (msg_part_info(cx->m, i, &pi) != 0)
			break;
		cs = xstrdup(pi.charset != NULL ? pi.charset : "");
		for (k = 0; cs[k] != '\0'; k++)
			cs[k] = (char)tolower((unsigned char)cs[k]);
		if (strcmp(pi.type, "multipart/alternative") == 0)
			mm->multipart_alt = 1;
		part_hdr(cx, i, "Content-Transfer-Encoding", &cte);
		part_hdr(cx, i, "Content-Disposition", &cd);
		/* _check_mime_header() */
		if (strcmp(pi.type, "text/html") == 0)
			mm->body_html_count++;
		else if (strncasecmp(pi.type, "text", 4) == 0)
			mm->body_text_count++;
		if (has(&cte, "base64"))
			mm->base64_count++;
		else if (has(&cte, "quoted-printable"))
			mm->qp_hdr_count++;
		if (cd.len > 0 && has(&cd, "attachment"))
			mm->attachment++;
		if (strncmp(pi.type, "text", 4) == 0 && has(&cte, "base64") &&
		    (cs[0] == '\0' || ascii_charset(cs)) &&
		    !(cd.len > 0 && (strncmp(cd.p, "attachment", 10) == 0 ||
		    strncmp(cd.p, "inline", 6) == 0)))
			mm->base64_encoded_text = 1;
		if (bad_iso(cs))
			mm->bad_iso_charset = 1;
		if (!pi.leaf) {
			free(cs);
			continue;
		}
		types[nleaf] = pi.type;
		counted[nleaf] = !has(&cd, "attachment");
		{
			const char *p = pi.body, *e, *end = pi.body +
			    pi.body_len;
			int qp = strcmp(cte.p, "quoted-printable") == 0;
			int plain = strcmp(pi.type, "text/plain") == 0;
			int alt = plain || strcmp(pi.type, "text/html") == 0;

			for (; p < end; p = e) {
				size_t len;

				e = memchr(p, '\n', (size_t)(end - p));
				e = e == NULL ? end : e + 1;
				len = (size_t)(e - p);
				if (mm->multipart_alt && !has(&cd,
				    "attachment") && alt)
					bytes[nleaf] += len;
				if (qp && !(len >= 6 && memcmp(p, "SPAM: ",
				    6) == 0)) {
					size_t n = 0, j, trail = 0;
					const char *t;

					if (len > 79)
						mm->qp_long_line = 1;
					mm->qp_bytes += len;
					for (j = 0; j + 2 < len; j++)
						if (qp_encoded(p + j))
							n++;
					if (n > 0) {
						/* ((?:=09|=20)+)\s*$ */
						t = e;
						while (t > p && isspace(
						    (unsigned char)t[-1]))
							t--;
						while (t - p >= 3 && t[-3] ==
						    '=' && ((t[-2] == '0' &&
						    t[-1] == '9') || (t[-2] ==
						    '2' && t[-1] == '0'))) {
							trail++;
							t -= 3;
						}
						qp_count += n - trail;
					}
				}
				if (plain && (cte.len == 0 || strcmp(cte.p,
				    "7bit") == 0 || strcmp(cte.p, "8bit") == 0))
					unicode_escapes(mm, p, len);
				if (plain && (pi.charset == NULL ||
				    strcmp(cs, "us-ascii") == 0)) {
					for (const char *q = p; q < e; q++)
						if (*q == '\0' || *q == '\r' ||
						    (unsigned char)*q >= 0x80) {
							mm->ascii_text_illegal++;
							break;
						}
				}
			}
		}
		nleaf++;
		free(cs);
	}
	if (mm->qp_bytes > 0)
		mm->qp_count = (double)qp_count;
	else
		mm->qp_count = mm->qp_hdr_count;
	if (mm->multipart_alt) {
		for (k = (long)nleaf - 1; k >= 0; k--) {
			if (!counted[k])
				continue;
			if (!have_html && strcmp(types[k], "text/html") == 0) {
				html = bytes[k];
				have_html = 1;
			} else if (!have_text && strcmp(types[k],
			    "text/plain") == 0) {
				text = bytes[k];
				have_text = 1;
			}
			if (have_html && have_text)
				break;
		}
		if (have_text && have_html && html > 0)
			mm->multipart_ratio = (double)text / (double)html;
	}
	free(bytes);
	free(counted);
	free(types);
	sbuf_free(&cte);
	sbuf_free(&cd);
}

static const struct sae_mime *
mime(struct saeval_ctx *cx)
{
	if (!(cx->cache->have & SAE_HAVE_MIME))
		mime_pass(cx);
	return &cx->cache->mime;
}

unsigned
ev_check_for_mime(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct sae_mime *mm = mime(cx);
	const char *t = call->args[0];

	if (t == NULL)
		return 0;
	if (strcmp(t, "mime_base64_count") == 0)
		return mm->base64_count > 0;
	if (strcmp(t, "mime_qp_count") == 0)
		return mm->qp_count > 0;
	if (strcmp(t, "mime_attachment") == 0)
		return mm->attachment > 0;
	if (strcmp(t, "mime_base64_encoded_text") == 0)
		return (unsigned)mm->base64_encoded_text;
	if (strcmp(t, "mime_bad_iso_charset") == 0)
		return (unsigned)mm->bad_iso_charset;
	if (strcmp(t, "mime_qp_long_line") == 0)
		return (unsigned)mm->qp_long_line;
	if (strcmp(t, "mime_body_html_count") == 0)
		return mm->body_html_count > 0;
	if (strcmp(t, "mime_body_text_count") == 0)
		return mm->body_text_count > 0;
	if (strcmp(t, "mime_multipart_alternative") == 0)
		return (unsigned)mm->multipart_alt;
	if (strcmp(t, "mimepart_limit_exceeded") == 0)
		return (msg_flags(cx->m) & MSG_F_PARTS_LIMIT) != 0;
	return 0;	/* not computed (see the file comment): SA's 0 */
}

static int
top_html(struct saeval_ctx *cx)
{
	sae_get(cx, "Content-Type", &cx->cache->a);
	return strncasecmp(cx->cache->a.p, "text/html", 9) == 0;
}

unsigned
ev_mime_html(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	if (top_html(cx))
		return 1;
	return mime(cx)->body_html_count > 0;
}

unsigned
ev_mime_html_only(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct sae_mime *mm;

	(void)call;
	if (top_html(cx))
		return 1;
	mm = mime(cx);
	return mm->body_html_count > 0 && mm->body_text_count == 0;
}

unsigned
ev_mime_multipart_ratio(const struct saeval_call *call, struct saeval_ctx *cx)
{
	double r = mime(cx)->multipart_ratio;

	if (isnan(call->num[0]) || isnan(call->num[1]))
		return 0;
	return r >= call->num[0] && r < call->num[1];
}

/* Message.pm's parser flags (check_msg_parse_flags) moat keeps */
unsigned
ev_msg_parse_flags(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const char *t = call->args[0];

	if (t != NULL && strcmp(t, "mime_epilogue_exists") == 0)
		return (msg_flags(cx->m) & MSG_F_EPILOGUE) != 0;
	if (t != NULL && strcmp(t, "missing_mime_headers") == 0)
		return (msg_flags(cx->m) & MSG_F_MIME_NO_HEADERS) != 0;
	return 0;
}

/*
 * MIMEEval.pm check_abundant_unicode_ratio(): &#xHHHH; escapes, which
 * 7bit and 8bit text/plain never renders, at least ratio of the other
 * characters; the ratio must be written /^\d{0,3}\.\d{1,3}$/.
 */
unsigned
ev_abundant_unicode(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct sae_mime *mm;
	const char *r = call->args[0], *d;
	size_t a, b;

	if (r == NULL || (d = strchr(r, '.')) == NULL)
		return 0;
	a = strspn(r, "0123456789");
	b = strspn(d + 1, "0123456789");
	if (r + a != d || a > 3 || b < 1 || b > 3 || d[1 + b] != '\0')
		return 0;
	mm = mime(cx);
	return mm->normal_chars > 0 && (double)mm->unicode_chars /
	    (double)mm->normal_chars >= strtod(r, NULL);
}

/*
 * MIMEEval.pm check_ma_non_text(): a multipart/alternative with a direct
 * leaf child that is not a text type (nor application/rtf): find_parts(qr/./,
 * 1, 0) looks one level down and returns leaves only.
 */
unsigned
ev_ma_non_text(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct msg_part_info pi, ch;
	size_t np = msg_part_count(cx->m), i, j;

	(void)call;
	for (i = 0; i < np; i++) {
		if (msg_part_info(cx->m, i, &pi) != 0)
			break;
		if (strcmp(pi.type, "multipart/alternative") != 0)
			continue;
		for (j = i + 1; j < pi.end && j < np; j = ch.end > j ? ch.end :
		    j + 1) {
			if (msg_part_info(cx->m, j, &ch) != 0)
				return 0;
			if (ch.leaf && strcmp(ch.type, "multipart/related") !=
			    0 && strcmp(ch.type, "application/rtf") != 0 &&
			    strncmp(ch.type, "text/", 5) != 0)
				return 1;
		}
	}
	return 0;
}

unsigned
ev_ascii_text_illegal(const struct saeval_call *call, struct saeval_ctx *cx)
{
	(void)call;
	return mime(cx)->ascii_text_illegal > 0;
}

/* ------------------------------------------------------------------ */
/* BodyEval.pm multipart_alternative_difference() */

struct sae_tok {
	const char	*p;
	size_t		 len;
};

/* Perl's \s on a decoded string: ASCII blanks and the Unicode spaces. */
static size_t
uspace(const unsigned char *p, size_t n)
{
	if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		return 1;
	if (n >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] <= 0x8a ||
	    p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return 3;
	if (n >= 3 && ((p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||
	    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) ||
	    (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)))
		return 3;
	return 0;
}

/*
 * /\w/ on a token: ASCII word bytes, or a non-ASCII character in the
 * ranges of letters (Latin, Greek, Cyrillic... up to U+024F and
 * U+0370-U+052F, CJK, kana, hangul); punctuation and symbols such as
 * bullets and rules are not words, as SA's comment wants.
 */
static int
has_word(const unsigned char *p, size_t n)
{
	size_t i;
	unsigned long c;

	for (i = 0; i < n; i++) {
		if (isalnum(p[i]) || p[i] == '_')
			return 1;
		if (p[i] < 0xc0 || i + 1 >= n)
			continue;
		if (p[i] < 0xe0)
			c = ((unsigned long)(p[i] & 0x1f) << 6) | (p[i + 1] & 0x3f);
		else if (i + 2 < n && p[i] < 0xf0)
			c = ((unsigned long)(p[i] & 0x0f) << 12) |
			    ((unsigned long)(p[i + 1] & 0x3f) << 6) |
			    (p[i + 2] & 0x3f);
		else
			continue;
		if (c == 0xaa || c == 0xb5 || c == 0xba || (c >= 0xc0 &&
		    c <= 0x24f && c != 0xd7 && c != 0xf7) || (c >= 0x370 &&
		    c <= 0x52f) || (c >= 0x3040 && c <= 0x30ff) ||
		    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 &&
		    c <= 0xd7af))
			return 1;
	}
	return 0;
}

/* grep(/\w/, split(/\s+/, text)), appended to *v */
static void
words(const char *text, size_t n, struct sae_tok **v, size_t *nv,
    size_t *cap)
{
	const unsigned char *p = (const unsigned char *)text, *e = p + n, *s;
	size_t w;

	while (p < e) {
		while (p < e && (w = uspace(p, (size_t)(e - p))) > 0)
			p += w;
		for (s = p; p < e && uspace(p, (size_t)(e - p)) == 0; p++)
			;
		if (p > s && has_word(s, (size_t)(p - s))) {
			if (*nv == *cap) {
				*cap = *cap ? 2 * *cap : 64;
				*v = xreallocarray(*v, *cap, sizeof(**v));
			}
			(*v)[*nv].p = (const char *)s;
			(*v)[(*nv)++].len = (size_t)(p - s);
		}
	}
}

static int
tok_cmp(const void *a, const void *b)
{
	const struct sae_tok *x = a, *y = b;
	int d = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	if (d != 0)
		return d;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* distinct tokens of sorted v[0..n) */
static size_t
distinct(const struct sae_tok *v, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n; i++)
		d += i == 0 || tok_cmp(&v[i - 1], &v[i]) != 0;
	return d;
}

static int
has_img(const struct saeval_ctx *cx, long html)
{
	const struct msg_html_stats *h;
	size_t n, i;

	h = msg_html(cx->m, &n);
	if (html < 0 || (size_t)html >= n)
		return 0;
	for (i = 0; i < h[html].ntag; i++)
		if (strcmp(h[html].tag[i].name, "img") == 0)
			return 1;
	return 0;
}

/*
 * For each multipart/alternative part: the share of the distinct words of
 * its HTML renderings that its other text parts do not hold as often;
 * madiff is the largest.  Only for messages with such a part (the model
 * keeps the renderings then only), so other mail pays nothing.
 */
static void
madiff(struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct msg_part_info pi, ci;
	struct sae_tok *h = NULL, *t = NULL;
	size_t np = msg_part_count(cx->m), i, k, nh, nt, caph = 0, capt = 0;
	size_t orig, left, a, b;
	static const char nl[] = "\n";

	c->have |= SAE_HAVE_MADIFF;
	c->madiff = 0;
	c->madiff_html = c->madiff_text = 0;
	/* an Exchange meeting request: m/a with text/html and text/calendar */
	if (np == 3 && msg_part_info(cx->m, 0, &pi) == 0 &&
	    strcmp(pi.type, "multipart/alternative") == 0 &&
	    msg_part_info(cx->m, 1, &ci) == 0 &&
	    strcmp(ci.type, "text/html") == 0 &&
	    msg_part_info(cx->m, 2, &ci) == 0 &&
	    strcmp(ci.type, "text/calendar") == 0)
		return;
	for (i = 0; i < np; i++) {
		if (msg_part_info(cx->m, i, &pi) != 0 ||
		    strcmp(pi.type, "multipart/alternative") != 0)
			continue;
		nh = nt = 0;
		for (k = i + 1; k < pi.end; k++) {
			if (msg_part_info(cx->m, k, &ci) != 0 ||
			    strncmp(ci.type, "text", 4) != 0 ||
			    isalnum((unsigned char)ci.type[4]) ||
			    ci.type[4] == '_' || ci.rendered == NULL)
				continue;
			if (ci.html >= 0) {
				words(ci.rendered, ci.rendered_len, &h, &nh,
				    &caph);
				/* no words but an image: "\n", never a word */
				if (nh == 0 && has_img(cx, ci.html)) {
					if (nh == caph) {
						caph = caph ? 2 * caph : 64;
						h = xreallocarray(h, caph,
						    sizeof(*h));
					}
					h[nh].p = nl;
					h[nh++].len = 1;
				}
			} else
				words(ci.rendered, ci.rendered_len, &t, &nt,
				    &capt);
		}
		if (nh > 0)
			qsort(h, nh, sizeof(*h), tok_cmp);
		if ((orig = distinct(h, nh)) == 0)
			continue;
		if (nt > 0)
			qsort(t, nt, sizeof(*t), tok_cmp);
		c->madiff_html = orig;
		c->madiff_text = distinct(t, nt);
		/* an HTML word stays unless the text has it as many times */
		left = 0;
		for (a = b = 0; a < nh; ) {
			size_t ha = a, tb;
			int d = 1;

			while (a < nh && tok_cmp(&h[ha], &h[a]) == 0)
				a++;
			while (b < nt && (d = tok_cmp(&t[b], &h[ha])) < 0)
				b++;
			for (tb = b; tb < nt && tok_cmp(&t[tb], &h[ha]) == 0;
			    tb++)
				;
			if (!(d == 0 && (a - ha) <= (tb - b)))
				left++;
			b = tb;
		}
		if (100.0 * (double)left / (double)orig > c->madiff)
			c->madiff = 100.0 * (double)left / (double)orig;
	}
	free(h);
	free(t);
}

unsigned
ev_mpart_alt_diff(const struct saeval_call *call, struct saeval_ctx *cx)
{
	double lo = call->num[0], hi = call->num[1];

	if (!(cx->cache->have & SAE_HAVE_MADIFF))
		madiff(cx);
	/* ($min == 0 || madiff > $min) && ($max eq "undef" || <= $max) */
	return (isnan(lo) || lo == 0 || cx->cache->madiff > lo) &&
	    (isnan(hi) || cx->cache->madiff <= hi);
}

unsigned
ev_mpart_alt_diff_count(const struct saeval_call *call, struct saeval_ctx *cx)
{
	const struct saeval_cache *c = cx->cache;

	if (!(cx->cache->have & SAE_HAVE_MADIFF))
		madiff(cx);
	if (isnan(call->num[0]) || isnan(call->num[1]) ||
	    !((double)c->madiff_html > call->num[1]))
		return 0;
	return (double)c->madiff_text / (double)c->madiff_html > call->num[0];
}

/*
 * MIMEEval.pm check_base64_length(min, max): the longest raw line
 * (newline included) of a base64 leaf part, application/ics left out.
 */
unsigned
ev_base64_length(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct saeval_cache *c = cx->cache;
	struct msg_part_info pi;
	size_t np = msg_part_count(cx->m), i, best = 0;
	const char *p, *e, *end;

	if (isnan(call->num[0]))
		return 0;
	for (i = 0; i < np; i++) {
		if (msg_part_info(cx->m, i, &pi) != 0 || !pi.leaf ||
		    strcmp(pi.type, "application/ics") == 0)
			continue;
		part_hdr(cx, i, "Content-Transfer-Encoding", &c->a);
		if (strcmp(c->a.p, "base64") != 0)
			continue;
		end = pi.body + pi.body_len;
		for (p = pi.body; p < end; p = e) {
			e = memchr(p, '\n', (size_t)(end - p));
			e = e == NULL ? end : e + 1;
			if ((size_t)(e - p) > best)
				best = (size_t)(e - p);
		}
	}
	if (!isnan(call->num[1]) && (double)best > call->num[1])
		return 0;
	return (double)best >= call->num[0];
}

/*
 * ImageInfo.pm image_count(type, min[, max]): base64 image/gif, image/png
 * and image/jpeg (or jpg) leaves, of one type or 'all', counted whether
 * or not their data is a valid image, as _get_images() counts them.
 */
unsigned
ev_image_count(const struct saeval_call *call, struct saeval_ctx *cx)
{
	struct msg_part_info pi;
	size_t np = msg_part_count(cx->m), i, count = 0;
	const char *want = call->args[0], *t;

	if (want == NULL || isnan(call->num[1]))
		return 0;
	for (i = 0; i < np; i++) {
		if (msg_part_info(cx->m, i, &pi) != 0 || !pi.leaf ||
		    strncmp(pi.type, "image/", 6) != 0)
			continue;
		t = pi.type + 6;
		if (strcmp(t, "jpg") == 0)
			t = "jpeg";
		if (strcmp(t, "gif") != 0 && strcmp(t, "png") != 0 &&
		    strcmp(t, "jpeg") != 0)
			continue;
		if (strcmp(want, "all") != 0 && strcmp(want, t) != 0)
			continue;
		part_hdr(cx, i, "Content-Transfer-Encoding", &cx->cache->a);
		if (strcmp(cx->cache->a.p, "base64") == 0)
			count++;
	}
	return (double)count >= call->num[1] && (isnan(call->num[2]) ||
	    (double)count <= call->num[2]);
}
