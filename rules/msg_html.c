/*
 * msg_html.c: HTML to text, as SpamAssassin 4.0.1 renders a text/html part
 * for `body` rules (Mail::SpamAssassin::HTML on top of HTML::Parser 3), and
 * the URIs its tags carry (HTML.pm html_uri, push_uri, target_uri).
 *
 * The tokenizer follows HTML::Parser's observable behaviour: tag and
 * attribute names are case-folded, entities are decoded in text and
 * attribute values (HTML 4 names, decimal and hex references), script,
 * style, xmp, plaintext, title and textarea hold literal text, and an
 * unterminated tag or comment at the end swallows the rest.  The renderer
 * follows HTML.pm: block tags add "\n", "\n\n" or " " (trimming one space
 * around them), script and style text is dropped, everything else is kept.
 *
 * Font colour, size and CSS display/visibility are tracked as HTML.pm's
 * text_style does, because whether a text chunk is "invisible" changes how
 * spaces around block tags are trimmed, even though `body` sees all text.
 *
 * The statistics HTML.pm keeps for the HTML eval rules (tag balance, font
 * contrast and size, image area, comments, anchor and title text...) are
 * collected on the way when the caller asks (struct msg_html_stats).
 *
 * Deliberately not done: the element/tag ratios no stock rule hits on, the
 * script text list, the "backhair" counts.
 *
 * Invariant: input is UTF-8 (the part was normalised first), output is
 * UTF-8; bounded work, linear in the input.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "msg_impl.h"
#include "xmalloc.h"

static const struct entity {
	const char	*name;
	unsigned int	 cp;
} entities[] = {
#include "msg_entities.inc"
};

static const struct color {
	const char	*name;
	unsigned long	 rgb;
} colors[] = {
#include "msg_colors.inc"
};

/*
 * The tags text_style keeps a stack entry for ("th" is stored as "td"),
 * numbered so that the stack and the tag table hold a small index instead
 * of a name: a tag is looked up once, not compared by name at every step.
 */
enum style_tag {
	ST_NONE, ST_A, ST_BASEFONT, ST_BIG, ST_BODY, ST_DEFAULT, ST_DIV,
	ST_FONT, ST_MARQUEE, ST_P, ST_SMALL, ST_SPAN, ST_TABLE, ST_TD, ST_TR,
	ST_MAX
};

/* One entry of HTML.pm's text_style stack. */
struct style {
	enum style_tag tag;
	char	fg[12];		/* "#rrggbb", "invalid" or "transparent" */
	char	bg[12];
	long	size;
	int	display_none;
	int	hidden;
};

#define STYLE_MAX	512

struct render {
	struct style	*st;
	size_t		 nst;
	size_t		 cnt[ST_MAX];	/* entries per style tag */
	long		 basefont;
	int		 last_invisible;
	struct sbuf	*text;
	struct sbuf	*uris;		/* NUL-separated */
	size_t		 last_start;	/* start of the last chunk in text */
	int		 have_chunk;
	int		 last_ws;	/* last chunk was tag whitespace */
	int		 in_script;
	int		 in_style;
	int		 wide;		/* a chunk holds a code point > 0xff */
	int		 decoded;	/* the input is a character string */
	char		*base_href;
	struct sbuf	 scratch;	/* entity-decoded text */
	struct sbuf	 tagbuf;	/* the current tag's name, attributes */
	struct attr	*attr;
	size_t		*attroff;	/* name and value offsets in tagbuf */
	size_t		 attrcap;
	struct msg_html_stats *hs;	/* NULL: no statistics wanted */
};

static int
entity_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct entity *)e)->name);
}

static const struct entity *
entity_find(const char *name, size_t n)
{
	char	buf[16];

	if (n == 0 || n >= sizeof(buf))
		return NULL;
	memcpy(buf, name, n);
	buf[n] = '\0';
	return bsearch(buf, entities, sizeof(entities) / sizeof(entities[0]),
	    sizeof(entities[0]), entity_cmp);
}

/*
 * Decode HTML entities as HTML::Parser does: &#N and &#xH (";" optional,
 * code point 1..0x10FFFF); a named reference decodes when its whole name is
 * known and either ends in ";" or names a Latin-1 character.  In text
 * (prefix set) the longest Latin-1 entity name that starts the run also
 * decodes: "&ampx" is "&x", "&copy2" is "(c)2".
 */
static void
decode_entities(const char *p, size_t n, struct sbuf *out, int prefix)
{
	size_t		 i, j, k, l;
	unsigned long	 cp;
	const struct entity *e;
	int		 hex;
	const char	*amp;

	for (i = 0; i < n; i++) {
		if (p[i] != '&') {
			amp = memchr(p + i, '&', n - i);
			k = amp ? (size_t)(amp - p) : n;
			sbuf_add(out, p + i, k - i);
			i = k - 1;
			continue;
		}
		j = i + 1;
		if (j < n && p[j] == '#') {
			j++;
			hex = 0;
			if (j < n && (p[j] == 'x' || p[j] == 'X')) {
				hex = 1;
				j++;
			}
			cp = 0;
			for (k = j; k < n; k++) {
				int d;

				if (p[k] >= '0' && p[k] <= '9')
					d = p[k] - '0';
				else if (hex && (p[k] | 0x20) >= 'a' &&
				    (p[k] | 0x20) <= 'f')
					d = (p[k] | 0x20) - 'a' + 10;
				else
					break;
				if (cp <= 0x10ffff)
					cp = cp * (hex ? 16 : 10) + d;
			}
			if (k == j || cp == 0 || cp > 0x10ffff) {
				sbuf_addc(out, '&');
				continue;
			}
			if (k < n && p[k] == ';')
				k++;
			msg_put_utf8(out, cp);
			i = k - 1;
			continue;
		}
		for (k = j; k < n && (((p[k] | 0x20) >= 'a' &&
		    (p[k] | 0x20) <= 'z') || (p[k] >= '0' && p[k] <= '9')); k++)
			;
		e = entity_find(p + j, k - j);
		if (e != NULL && ((k < n && p[k] == ';') || e->cp <= 0xff)) {
			if (k < n && p[k] == ';')
				k++;
			msg_put_utf8(out, e->cp);
			i = k - 1;
			continue;
		}
		if (prefix) {
			for (l = k - j; l > 1; l--)
				if ((e = entity_find(p + j, l)) != NULL &&
				    e->cp <= 0xff)
					break;
			if (l > 1) {
				msg_put_utf8(out, e->cp);
				i = j + l - 1;
				continue;
			}
		}
		sbuf_addc(out, '&');
	}
}

/* Copy a string, truncating to the destination (no strlcpy in glibc 2.36). */
static void
scpy(char *d, const char *s, size_t sz)
{
	size_t	n = strlen(s);

	if (n >= sz)
		n = sz - 1;
	memmove(d, s, n);
	d[n] = '\0';
}

static int
color_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct color *)e)->name);
}

/* HTML.pm name_to_rgb: a colour name, #hex, hex or rgb() to "#rrggbb". */
static void
name_to_rgb(const char *in, char out[12])
{
	char		 c[64], h[8];
	size_t		 i, n, k;
	const struct color *e;
	unsigned int	 a, b, d;
	const char	*p;

	while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r' ||
	    *in == '\f')
		in++;
	for (n = 0; in[n] && n < sizeof(c) - 1; n++)
		c[n] = (in[n] >= 'A' && in[n] <= 'Z') ? in[n] + 32 : in[n];
	while (n > 0 && (c[n - 1] == ' ' || c[n - 1] == '\t' ||
	    c[n - 1] == '\n' || c[n - 1] == '\r' || c[n - 1] == '\f'))
		n--;
	c[n] = '\0';
	if ((e = bsearch(c, colors, sizeof(colors) / sizeof(colors[0]),
	    sizeof(colors[0]), color_cmp)) != NULL) {
		snprintf(out, 12, "#%06lx", e->rgb);
		return;
	}
	for (i = 0; i < n && (c[i] == '#' || (c[i] >= '0' && c[i] <= '9') ||
	    (c[i] >= 'a' && c[i] <= 'f')); i++)
		;
	if (i < n) {
		if ((p = strstr(c, "rgb(")) != NULL &&
		    (sscanf(p, "rgb(%u%%,%u%%,%u%%", &a, &b, &d) == 3 ||
		    sscanf(p, "rgb(%u,%u,%u", &a, &b, &d) == 3)) {
			if (strchr(p, '%') != NULL && sscanf(p,
			    "rgb(%u%%,%u%%,%u%%", &a, &b, &d) == 3) {
				a = a * 255 / 100;
				b = b * 255 / 100;
				d = d * 255 / 100;
			}
			snprintf(c, sizeof(c), "#%02x%02x%02x", a & 0xfff,
			    b & 0xfff, d & 0xfff);
			n = strlen(c);
		} else {
			scpy(out, "invalid", 12);
			return;
		}
	}
	if (c[0] != '#') {
		scpy(out, "invalid", 12);
		return;
	}
	for (i = 0, k = 0; i < n && k < 7; i++)
		if ((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' &&
		    c[i] <= 'f'))
			h[k++] = c[i];
	if (k > 6)
		k = 6;
	if (k > 3 && k < 6)
		k = 3;
	while (k % 3 != 0)
		h[k++] = '0';
	h[k] = '\0';
	if (k == 3)
		snprintf(out, 12, "#%c%c%c%c%c%c", h[0], h[0], h[1], h[1],
		    h[2], h[2]);
	else
		snprintf(out, 12, "#%s", h);
}

static int
hexval_l(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static struct style *
top(struct render *r)
{
	return &r->st[r->nst - 1];
}

static int
hexpair(const char *s, unsigned int *v)
{
	int	a, b;

	if ((a = hexval_l(s[0])) < 0 || (b = hexval_l(s[1])) < 0)
		return 0;
	*v = (unsigned int)(a * 16 + b);
	return 1;
}

/* ^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$ */
static int
parse_rgb(const char *c, unsigned int v[3])
{
	if (*c == '#')
		c++;
	return strlen(c) == 6 && hexpair(c, &v[0]) && hexpair(c + 2, &v[1])
	    && hexpair(c + 4, &v[2]);
}

/* HTML.pm html_font_invisible */
static int
font_invisible(struct render *r)
{
	struct style	*s = top(r);
	size_t		 fl = strlen(s->fg), bl = strlen(s->bg);
	unsigned int	 f[3], b[3];
	double		 dr, dg, db;

	if (strcmp(s->fg + (fl > 6 ? fl - 6 : 0),
	    s->bg + (bl > 6 ? bl - 6 : 0)) == 0) {
		if (r->hs != NULL)
			r->hs->font_low_contrast = 1;
		return 1;
	}
	if (parse_rgb(s->fg, f) && parse_rgb(s->bg, b)) {
		dr = 0.2126 * ((double)f[0] - b[0]);
		dg = 0.7152 * ((double)f[1] - b[1]);
		db = 0.0722 * ((double)f[2] - b[2]);
		if (dr * dr + dg * dg + db * db < 144.0) {
			if (r->hs != NULL)
				r->hs->font_low_contrast = 1;
			return 1;
		}
	}
	if (strcmp(s->fg, "invalid") == 0 || strcmp(s->bg, "invalid") == 0) {
		if (r->hs != NULL)
			r->hs->font_invalid_color = 1;
		return 1;
	}
	if (s->size <= 1)
		return 1;
	return s->display_none || s->hidden;
}

/* Perl's \s on bytes (with \v, unlike is_space()). */
static int
is_ws(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* HTML.pm display_text. */
static void
display_text(struct render *r, const char *t, size_t n, int ws,
    int invisible)
{
	size_t	i, j, start;

	if (ws) {
		if (r->have_chunk && !r->last_ws && !r->last_invisible &&
		    r->text->len > r->last_start &&
		    r->text->p[r->text->len - 1] == ' ') {
			r->text->len--;
			r->text->p[r->text->len] = '\0';
		}
		r->last_start = r->text->len;
		sbuf_add(r->text, t, n);
		r->have_chunk = 1;
		r->last_ws = 1;
		r->last_invisible = 0;
		return;
	}
	start = r->text->len;
	for (i = 0; i < n; i++) {
		if (is_ws(t[i])) {
			while (i + 1 < n && is_ws(t[i + 1]))
				i++;
			if (!(i == 0 || r->text->len == start) ||
			    !(r->have_chunk && r->last_ws && !invisible))
				sbuf_addc(r->text, ' ');
			continue;
		}
		for (j = i + 1; j < n && !is_ws(t[j]); j++)
			;
		sbuf_add(r->text, t + i, j - i);
		i = j - 1;
	}
	r->last_start = start;
	r->have_chunk = 1;
	r->last_ws = 0;
	r->last_invisible = invisible;
}

struct attr {
	const char	*name;
	const char	*value;
};

static const char *attr_get(struct attr *, size_t, const char *);
static void canon_uri(const char *, size_t *, size_t *);
static int is_alpha(int);

/* ------------------------------------------------------------------ */
/* HTML.pm's statistics (struct msg_html_stats) */

/* inside{tag}, created (at 0) if create and there is room */
static struct msg_html_tag *
stats_inside(struct render *r, const char *tag, int create)
{
	struct msg_html_stats *hs = r->hs;
	size_t i;

	for (i = 0; i < hs->ntag; i++)
		if (strcmp(hs->tag[i].name, tag) == 0)
			return &hs->tag[i];
	if (!create || hs->ntag == MSG_HTML_TAGS_MAX ||
	    strlen(tag) >= sizeof(hs->tag[0].name))
		return NULL;
	hs->tag = xreallocarray(hs->tag, hs->ntag + 1, sizeof(*hs->tag));
	scpy(hs->tag[hs->ntag].name, tag, sizeof(hs->tag[0].name));
	hs->tag[hs->ntag].inside = 0;
	return &hs->tag[hs->ntag++];
}

static int
stats_in(struct render *r, const char *tag)
{
	struct msg_html_tag *t = stats_inside(r, tag, 0);

	return t != NULL && t->inside > 0;
}

/* HTML.pm html_tag's counting, for every tag, known or not */
static void
stats_tag(struct render *r, const char *tag, int start)
{
	struct msg_html_tag *t;

	if (r->hs == NULL)
		return;
	r->hs->tags++;
	if ((t = stats_inside(r, tag, 1)) == NULL)
		return;
	t->inside += start ? 1 : -1;
	if (t->inside < 0) {
		t->inside = 0;
		r->hs->closed_extra++;
	}
}

/* a new string at the end of a NUL-separated list */
static void
list_push(struct sbuf *l, size_t *n, const char *p, size_t len)
{
	sbuf_add(l, p, len);
	sbuf_addc(l, '\0');
	(*n)++;
}

/* text added to the last string of a NUL-separated list */
static void
list_append(struct sbuf *l, size_t n, const char *p, size_t len)
{
	if (n == 0 || l->len == 0)
		return;
	l->len--;	/* its NUL */
	sbuf_add(l, p, len);
	sbuf_addc(l, '\0');
}

/* [^\s\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]: letters, digits, 8-bit */
static int
wordish(unsigned char c)
{
	return !(is_ws(c) || (c >= 0x21 && c <= 0x2f) || (c >= 0x3a &&
	    c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e));
}

/* HTML.pm html_text: anchor and title text, obfuscation */
static void
stats_text(struct render *r, const char *p, size_t n)
{
	struct msg_html_stats *hs = r->hs;

	if (stats_in(r, "a"))
		list_append(&hs->anchors, hs->nanchors, p, n);
	if (stats_in(r, "title"))
		list_append(&hs->titles, hs->ntitles, p, n);
	/* a word split by markup: "vi<b></b>agra" */
	if (r->have_chunk && r->text->len > r->last_start &&
	    wordish((unsigned char)p[0]) &&
	    wordish((unsigned char)r->text->p[r->text->len - 1]))
		hs->obfuscation++;
}

/*
 * HTML.pm html_tests' font face check:
 * ^\s*["'.]?[a-z ][a-z -]*[a-z]\d?["']?(?:,\s*["']?[a-z][a-z -]*[a-z]\d?
 * ["']?)*;?$ (caseless).  A name is a maximal run of [a-z -]: nothing in
 * it can end the run early, so no backtracking is needed.
 */
static int
face_ok(const char *f)
{
	const char *q;
	int first = 1;

	for (;;) {
		const char *s0;

		if (!first)
			f++;	/* the "," */
		for (s0 = f; is_ws((unsigned char)*f); f++)
			;
		if (*f == '"' || *f == '\'' || (first && *f == '.'))
			f++;
		else if (first && f > s0 && f[-1] == ' ')
			f--;	/* the first name may start with a space */
		q = f;
		while (is_alpha((unsigned char)*f) || *f == '-' || *f == ' ')
			f++;
		if (f - q < 2 || !is_alpha((unsigned char)f[-1]) ||
		    (!first && *q == ' ') || *q == '-')
			return 0;
		if (*f >= '0' && *f <= '9')
			f++;
		if (*f == '"' || *f == '\'')
			f++;
		first = 0;
		if (*f != ',')
			break;
	}
	if (*f == ';')
		f++;
	return *f == '\0' || (*f == '\n' && f[1] == '\0');
}

/* HTML.pm html_tests, for the start tags of known elements */
static void
stats_start(struct render *r, const char *tag, struct attr *a, size_t na)
{
	struct msg_html_stats *hs = r->hs;
	const char *v, *w, *h;
	char *end;
	double width = 0, height = 0;

	if (strcmp(tag, "font") == 0 && (v = attr_get(a, na, "face")) != NULL &&
	    !face_ok(v))
		hs->font_face_bad = 1;
	if (strcmp(tag, "img") == 0 && stats_in(r, "a"))
		list_append(&hs->anchors, hs->nanchors, "<img>\n", 6);
	if (strcmp(tag, "img") == 0 && (w = attr_get(a, na, "width")) != NULL &&
	    (h = attr_get(a, na, "height")) != NULL) {
		/* ^(\d+)(%)?$, a percentage of an 800x600 screen */
		if (*w >= '0' && *w <= '9') {
			width = strtod(w, &end);
			if (strcmp(end, "%") == 0)
				width *= 8;
			else if (*end != '\0' && strcmp(end, "\n") != 0)
				width = 0;
		}
		if (*h >= '0' && *h <= '9') {
			height = strtod(h, &end);
			if (strcmp(end, "%") == 0)
				height *= 6;
			else if (*end != '\0' && strcmp(end, "\n") != 0)
				height = 0;
		}
		hs->image_area += (width <= 0 ? 200 : width) *
		    (height <= 0 ? 200 : height);
	}
	if (strcmp(tag, "form") == 0 && (v = attr_get(a, na, "action")) !=
	    NULL && strcasestr(v, "mailto:") != NULL)
		hs->form_action_mailto = 1;
	if (strcmp(tag, "object") == 0 || strcmp(tag, "embed") == 0)
		hs->embeds = 1;
	if (strcmp(tag, "a") == 0) {
		size_t off = 0, len = 0;

		/* uri_detail's key: the href, trimmed and capped only */
		if ((v = attr_get(a, na, "href")) != NULL)
			canon_uri(v, &off, &len);
		list_push(&hs->anchor_hrefs, &hs->nanchors, v != NULL ? v +
		    off : "", len);
		hs->nanchors--;
		list_push(&hs->anchors, &hs->nanchors, "", 0);
	}
	if (strcmp(tag, "title") == 0)
		list_push(&hs->titles, &hs->ntitles, "", 0);
}

void
msg_html_stats_free(struct msg_html_stats *hs)
{
	free(hs->tag);
	sbuf_free(&hs->comments);
	sbuf_free(&hs->anchors);
	sbuf_free(&hs->anchor_hrefs);
	sbuf_free(&hs->titles);
}

static void
html_text(struct render *r, const char *p, size_t n, int decode)
{
	size_t		i;
	int		vis = 0;

	if (n == 0 || r->in_script > 0 || r->in_style > 0)
		return;
	if (decode) {
		sbuf_reset(&r->scratch);
		decode_entities(p, n, &r->scratch, 1);
		p = r->scratch.p ? r->scratch.p : "";
		n = r->scratch.len;
	}
	if (r->hs != NULL)
		stats_text(r, p, n);
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] >= 0xc4)
			r->wide = 1;
		if (!is_ws(p[i]))
			vis = 1;
	}
	display_text(r, p, n, 0, vis ? font_invisible(r) : 0);
}

static const char *
attr_get(struct attr *a, size_t na, const char *name)
{
	size_t	i;

	/* HTML::Parser keeps the first of repeated attributes. */
	for (i = 0; i < na; i++)
		if (strcmp(a[i].name, name) == 0)
			return a[i].value;
	return NULL;
}

/* _parse_uri: ^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))? */
struct puri {
	const char	*s[5];
	size_t		 l[5];	/* s[k] == NULL: undefined */
};

static void
parse_uri(const char *u, struct puri *pu)
{
	size_t	i = 0, j;

	memset(pu, 0, sizeof(*pu));
	for (j = 0; u[j] && !strchr(":/?#", u[j]); j++)
		;
	if (j > 0 && u[j] == ':') {
		pu->s[0] = u;
		pu->l[0] = j;
		i = j + 1;
	}
	if (u[i] == '/' && u[i + 1] == '/') {
		i += 2;
		for (j = i; u[j] && !strchr("/?#", u[j]); j++)
			;
		pu->s[1] = u + i;
		pu->l[1] = j - i;
		i = j;
	}
	for (j = i; u[j] && u[j] != '?' && u[j] != '#'; j++)
		;
	pu->s[2] = u + i;
	pu->l[2] = j - i;
	i = j;
	if (u[i] == '?') {
		i++;
		for (j = i; u[j] && u[j] != '#'; j++)
			;
		pu->s[3] = u + i;
		pu->l[3] = j - i;
		i = j;
	}
	if (u[i] == '#') {
		/* (.*) stops at a newline */
		pu->s[4] = u + i + 1;
		pu->l[4] = strcspn(u + i + 1, "\n");
	}
}

static void
remove_dot_segments(const char *in, size_t n, struct sbuf *out)
{
	struct sbuf	 o = SBUF_INIT;
	char		*buf, *s;
	size_t		 k;

	buf = xmalloc(n + 2);
	memcpy(buf, in, n);
	buf[n] = '\0';
	s = buf;
	if ((s[0] == '.' && s[1] == '/') ||
	    (s[0] == '.' && s[1] == '.' && s[2] == '/')) {
		s += s[1] == '/' ? 1 : 2;
		*s = '/';
	}
	while (*s != '\0' && strcmp(s, "0") != 0) {
		if (s[0] == '/' && s[1] == '.' && (s[2] == '\0' ||
		    s[2] == '/')) {
			s += s[2] == '/' ? 2 : 1;
			*s = '/';
		} else if (s[0] == '/' && s[1] == '.' && s[2] == '.' &&
		    (s[3] == '\0' || s[3] == '/')) {
			s += s[3] == '/' ? 3 : 2;
			*s = '/';
			while (o.len > 0 && o.p[o.len - 1] != '/')
				o.len--;
			if (o.len > 0)
				o.len--;
			if (o.p)
				o.p[o.len] = '\0';
		} else {
			k = (*s == '/') ? 1 : 0;
			while (s[k] != '\0' && s[k] != '/')
				k++;
			sbuf_add(&o, s, k);
			s += k;
		}
	}
	sbuf_add(out, o.p ? o.p : "", o.len);
	sbuf_free(&o);
	free(buf);
}

/* HTML.pm target_uri (RFC 3986 5.2, with SA's lenient twists). */
static void
target_uri(const char *base, const char *rel, struct sbuf *out)
{
	struct puri	 r, b;
	struct sbuf	 t = SBUF_INIT;
	const char	*sch = NULL, *auth = NULL, *query = NULL;
	size_t		 schl = 0, authl = 0, queryl = 0, k;

	parse_uri(rel, &r);
	parse_uri(base, &b);
	if (r.s[0] && b.s[0] && r.l[0] == b.l[0] &&
	    memcmp(r.s[0], b.s[0], r.l[0]) == 0)
		r.s[0] = NULL;
	if (r.s[0]) {
		sch = r.s[0]; schl = r.l[0];
		auth = r.s[1]; authl = r.l[1];
		remove_dot_segments(r.s[2], r.l[2], &t);
		query = r.s[3]; queryl = r.l[3];
	} else {
		if (r.s[1]) {
			auth = r.s[1]; authl = r.l[1];
			remove_dot_segments(r.s[2], r.l[2], &t);
			query = r.s[3]; queryl = r.l[3];
		} else {
			if (r.l[2] == 0) {
				sbuf_add(&t, b.s[2], b.l[2]);
				if (r.s[3]) {
					query = r.s[3]; queryl = r.l[3];
				} else {
					query = b.s[3]; queryl = b.l[3];
				}
			} else {
				if (r.s[2][0] == '/')
					remove_dot_segments(r.s[2], r.l[2],
					    &t);
				else {
					struct sbuf m = SBUF_INIT;

					if (b.s[1] && b.l[2] == 0) {
						sbuf_addc(&m, '/');
					} else {
						for (k = b.l[2]; k > 0 &&
						    b.s[2][k - 1] != '/'; k--)
							;
						sbuf_add(&m, b.s[2], k);
					}
					sbuf_add(&m, r.s[2], r.l[2]);
					remove_dot_segments(m.p, m.len, &t);
					sbuf_free(&m);
				}
				query = r.s[3]; queryl = r.l[3];
			}
			auth = b.s[1]; authl = b.l[1];
		}
		sch = b.s[0]; schl = b.l[0];
	}
	if (sch && schl > 0 && !(schl == 1 && sch[0] == '0')) {
		sbuf_add(out, sch, schl);
		sbuf_addc(out, ':');
	} else if (auth) {
		if (authl >= 4 && strncasecmp(auth, "www", 3) == 0) {
			for (k = 3; k < authl && auth[k] >= '0' &&
			    auth[k] <= '9'; k++)
				;
			if (k < authl && auth[k] == '.')
				sbuf_add(out, "http:", 5);
		} else if (authl >= 4 && strncasecmp(auth, "ftp", 3) == 0) {
			for (k = 3; k < authl && auth[k] >= '0' &&
			    auth[k] <= '9'; k++)
				;
			if (k < authl && auth[k] == '.')
				sbuf_add(out, "ftp:", 4);
		}
	}
	if (auth) {
		sbuf_add(out, "//", 2);
		sbuf_add(out, auth, authl);
	}
	sbuf_add(out, t.p ? t.p : "", t.len);
	if (query) {
		sbuf_addc(out, '?');
		sbuf_add(out, query, queryl);
	}
	if (r.s[4]) {
		sbuf_addc(out, '#');
		sbuf_add(out, r.s[4], r.l[4]);
	}
	sbuf_free(&t);
}

/* canon_uri: trim [\s\xA0] (Unicode \s on characters), cap the length. */
static void
canon_uri(const char *u, size_t *off, size_t *len)
{
	size_t	s = 0, e = strlen(u), w;

	while (s < e && (w = msg_utf8_ws(u + s, e - s)) > 0)
		s += w;
	for (;;) {
		size_t k, found = 0;

		/* find a whitespace char ending exactly at e */
		for (k = e > 3 ? e - 3 : s; k < e; k++)
			if (k >= s && (w = msg_utf8_ws(u + k, e - k)) > 0 &&
			    k + w == e) {
				found = 1;
				break;
			}
		if (!found)
			break;
		e = k;
	}
	if (e - s > MSG_MAX_URI_LENGTH)
		e = s + MSG_MAX_URI_LENGTH;
	*off = s;
	*len = e - s;
}

/*
 * In a byte-string part HTML::Parser gives entity characters up to U+00FF
 * as single bytes; turn such UTF-8 back into Latin-1 in place (a string
 * holding anything above U+00FF is a character string and stays UTF-8).
 */
static void
latin1(char *s)
{
	size_t	i, j;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] >= 0xc4)
			return;
	for (i = 0, j = 0; s[i]; i++, j++) {
		if (((unsigned char)s[i] == 0xc2 || (unsigned char)s[i] ==
		    0xc3) && ((unsigned char)s[i + 1] & 0xc0) == 0x80) {
			s[j] = (char)((((unsigned char)s[i] & 3) << 6) |
			    ((unsigned char)s[i + 1] & 0x3f));
			i++;
		} else
			s[j] = s[i];
	}
	s[j] = '\0';
}

static void
push_uri(struct render *r, const char *u)
{
	struct sbuf	 t = SBUF_INIT;
	size_t		 off, len;
	char		*c;

	canon_uri(u, &off, &len);
	if (len == 0)
		return;
	c = xstrndup(u + off, len);
	if (!r->decoded)
		latin1(c);
	if (strncasecmp(c, "data:", 5) == 0 ||
	    strncasecmp(c, "mailto:", 7) == 0 ||
	    strncasecmp(c, "file:", 5) == 0 ||
	    strncasecmp(c, "cid:", 4) == 0 ||
	    strncasecmp(c, "tel:", 4) == 0) {
		sbuf_add(r->uris, c, len);
		sbuf_addc(r->uris, '\0');
	} else {
		target_uri(r->base_href ? r->base_href : "", c, &t);
		if (t.len > 0) {
			sbuf_add(r->uris, t.p, t.len);
			sbuf_addc(r->uris, '\0');
		}
	}
	sbuf_free(&t);
	free(c);
}

/* What a tag adds to the text in HTML.pm html_whitespace. */
#define EL_NL		0x01	/* "\n" */
#define EL_SPACE	0x02	/* " " */
#define EL_PARA		0x04	/* "\n\n" */
#define EL_LITERAL	0x08	/* HTML::Parser reads its content as text */
#define EL_SCRIPT	0x10	/* "script": its text is dropped */
#define EL_STYLE	0x20	/* "style": likewise */

/* Which attribute of a start tag HTML.pm html_uri takes as a URI. */
enum el_uri {
	URI_NONE, URI_BG, URI_HREF, URI_ANCHOR, URI_SRC, URI_FORM, URI_BASE,
	URI_META
};

/*
 * HTML.pm %elements and %tricks, sorted for bsearch, with what each does.
 * marquee is not among them, so text_style never sees it.
 */
static const struct element {
	const char	*name;
	unsigned char	 style;		/* enum style_tag */
	unsigned char	 flags;		/* EL_* */
	unsigned char	 uri;		/* enum el_uri */
} elements[] = {
	{ "a", ST_A, 0, URI_ANCHOR }, { "abbr", 0, 0, 0 },
	{ "acronym", 0, 0, 0 }, { "address", 0, 0, 0 },
	{ "applet", 0, 0, 0 }, { "area", 0, 0, URI_HREF },
	{ "b", 0, 0, 0 }, { "base", 0, 0, URI_BASE },
	{ "basefont", ST_BASEFONT, 0, 0 }, { "bdo", 0, 0, 0 },
	{ "bgsound", 0, 0, URI_SRC }, { "big", ST_BIG, 0, 0 },
	{ "blockquote", 0, EL_PARA, 0 }, { "body", ST_BODY, 0, URI_BG },
	{ "br", 0, EL_NL, 0 }, { "button", 0, 0, 0 },
	{ "caption", 0, 0, 0 }, { "center", 0, 0, 0 },
	{ "cite", 0, 0, 0 }, { "code", 0, 0, 0 }, { "col", 0, 0, 0 },
	{ "colgroup", 0, 0, 0 }, { "dd", 0, EL_SPACE, 0 },
	{ "del", 0, 0, 0 }, { "dfn", 0, 0, 0 }, { "dir", 0, 0, 0 },
	{ "div", ST_DIV, EL_NL, 0 }, { "dl", 0, 0, 0 },
	{ "dt", 0, EL_SPACE, 0 }, { "em", 0, 0, 0 },
	{ "embed", 0, EL_SPACE, URI_SRC }, { "fieldset", 0, 0, 0 },
	{ "font", ST_FONT, 0, 0 }, { "form", 0, 0, URI_FORM },
	{ "frame", 0, 0, URI_SRC }, { "frameset", 0, 0, 0 },
	{ "h1", 0, EL_SPACE, 0 }, { "h2", 0, EL_SPACE, 0 },
	{ "h3", 0, EL_SPACE, 0 }, { "h4", 0, EL_SPACE, 0 },
	{ "h5", 0, EL_SPACE, 0 }, { "h6", 0, EL_SPACE, 0 },
	{ "head", 0, 0, 0 }, { "hr", 0, EL_PARA, 0 }, { "html", 0, 0, 0 },
	{ "i", 0, 0, 0 }, { "iframe", 0, EL_LITERAL, URI_SRC },
	{ "img", 0, 0, URI_SRC }, { "input", 0, 0, 0 }, { "ins", 0, 0, 0 },
	{ "isindex", 0, 0, 0 }, { "kbd", 0, 0, 0 }, { "label", 0, 0, 0 },
	{ "legend", 0, 0, 0 }, { "li", 0, EL_SPACE, 0 },
	{ "link", 0, 0, URI_HREF }, { "listing", 0, EL_PARA, 0 },
	{ "map", 0, 0, 0 }, { "menu", 0, 0, 0 }, { "meta", 0, 0, URI_META },
	{ "nobr", 0, 0, 0 }, { "noframes", 0, 0, 0 },
	{ "noscript", 0, 0, 0 }, { "object", 0, 0, 0 }, { "ol", 0, 0, 0 },
	{ "optgroup", 0, 0, 0 }, { "option", 0, 0, 0 },
	{ "p", ST_P, EL_PARA, 0 }, { "param", 0, 0, 0 },
	{ "plaintext", 0, EL_PARA | EL_LITERAL, 0 }, { "pre", 0, EL_PARA, 0 },
	{ "q", 0, 0, 0 }, { "s", 0, 0, 0 }, { "samp", 0, 0, 0 },
	{ "script", 0, EL_LITERAL | EL_SCRIPT, URI_SRC }, { "select", 0, 0, 0 },
	{ "small", ST_SMALL, 0, 0 }, { "span", ST_SPAN, 0, 0 },
	{ "strike", 0, 0, 0 }, { "strong", 0, 0, 0 },
	{ "style", 0, EL_LITERAL | EL_STYLE, 0 }, { "sub", 0, 0, 0 }, { "sup", 0, 0, 0 },
	{ "table", ST_TABLE, 0, URI_BG }, { "tbody", 0, 0, 0 },
	{ "td", ST_TD, EL_SPACE, URI_BG }, { "textarea", 0, EL_LITERAL, 0 },
	{ "tfoot", 0, 0, 0 }, { "th", ST_TD, EL_SPACE, 0 },
	{ "thead", 0, 0, 0 }, { "title", 0, EL_PARA | EL_LITERAL, 0 },
	{ "tr", ST_TR, 0, URI_BG }, { "tt", 0, 0, 0 }, { "u", 0, 0, 0 },
	{ "ul", 0, 0, 0 }, { "var", 0, 0, 0 }, { "x-sigsep", 0, 0, 0 },
	{ "x-tab", 0, 0, 0 }, { "xmp", 0, EL_PARA | EL_LITERAL, 0 },
};

static int
element_cmp(const void *k, const void *e)
{
	const char	*a = k, *b = ((const struct element *)e)->name;

	/* most probes differ in the first letter: no call for those */
	if (*a != *b)
		return (unsigned char)*a - (unsigned char)*b;
	return strcmp(a, b);
}

static const struct element *
element_find(const char *tag)
{
	return bsearch(tag, elements, sizeof(elements) / sizeof(elements[0]),
	    sizeof(elements[0]), element_cmp);
}

static void
html_uri(struct render *r, const struct element *el, struct attr *a,
    size_t na)
{
	const char	*v, *c;

	if (el->uri == URI_BG) {
		if ((v = attr_get(a, na, "background")) != NULL)
			push_uri(r, v);
	} else if (el->uri == URI_HREF || el->uri == URI_ANCHOR) {
		struct sbuf h = SBUF_INIT;
		const char *q;

		/* U+FEFF is dropped from href. */
		v = attr_get(a, na, "href");
		for (c = v ? v : ""; (q = strstr(c, "\xef\xbb\xbf")) != NULL;
		    c = q + 3)
			sbuf_add(&h, c, (size_t)(q - c));
		sbuf_adds(&h, c);
		if (v != NULL)
			push_uri(r, h.p);
		if ((v = attr_get(a, na, "data-saferedirecturl")) != NULL)
			push_uri(r, v);
		/*
		 * html_tests keys the anchor text by the unresolved href ("" if
		 * there is none), and that key ends up in the URI list too.
		 */
		if (el->uri == URI_ANCHOR) {
			size_t off, len;

			canon_uri(h.p, &off, &len);
			sbuf_add(r->uris, h.p + off, len);
			sbuf_addc(r->uris, '\0');
		}
		sbuf_free(&h);
	} else if (el->uri == URI_SRC) {
		if ((v = attr_get(a, na, "src")) != NULL) {
			size_t off, len;

			/* HTMLEval.pm check_iframe_src: a URI typed iframe */
			canon_uri(v, &off, &len);
			if (len > 0 && r->hs != NULL &&
			    strcmp(el->name, "iframe") == 0)
				r->hs->iframe_src = 1;
			push_uri(r, v);
		}
	} else if (el->uri == URI_FORM) {
		if ((v = attr_get(a, na, "action")) != NULL)
			push_uri(r, v);
	} else if (el->uri == URI_BASE) {
		size_t off, len;
		char *u;

		if ((v = attr_get(a, na, "href")) == NULL || *v == '\0' ||
		    strcmp(v, "0") == 0)
			return;
		canon_uri(v, &off, &len);
		u = xstrndup(v + off, len);
		push_uri(r, u);
		if (strncasecmp(u, "http:", 5) == 0 ||
		    strncasecmp(u, "https:", 6) == 0 ||
		    strncasecmp(u, "ftp:", 4) == 0) {
			/* s@^([a-z]+:/{0,2}[^/]+/.*?)[^/\.]+\.[^/\.]{2,4}$@$1@ */
			char *sl = strchr(u, ':') + 1;
			int ns = 0;

			while (*sl == '/' && ns < 2) {
				sl++;
				ns++;
			}
			if (*sl != '/' && (sl = strchr(sl, '/')) != NULL) {
				char *last = strrchr(u, '/');
				char *dot = strrchr(last, '.');
				size_t ext;

				if (last >= sl && dot != NULL && dot > last + 1
				    && (ext = strlen(dot + 1)) >= 2 && ext <= 4)
					last[1] = '\0';
			}
			len = strlen(u);
			free(r->base_href);
			r->base_href = xmalloc(len + 2);
			memcpy(r->base_href, u, len + 1);
			if (len == 0 || u[len - 1] != '/') {
				r->base_href[len] = '/';
				r->base_href[len + 1] = '\0';
			}
		}
		free(u);
	} else if (el->uri == URI_META) {
		const char *he = attr_get(a, na, "http-equiv");
		const char *p, *q;
		struct sbuf s = SBUF_INIT;

		c = attr_get(a, na, "content");
		if (he == NULL || c == NULL || strcasestr(he, "refresh") ==
		    NULL)
			return;
		/* The text after the last "url=" up to a ";" (HTML.pm html_uri). */
		q = NULL;
		for (p = c; (p = strcasestr(p, "url")) != NULL; p++) {
			const char *e = p + 3;

			if (p > c && (((p[-1] | 0x20) >= 'a' &&
			    (p[-1] | 0x20) <= 'z') || (p[-1] >= '0' &&
			    p[-1] <= '9') || p[-1] == '_'))
				continue;
			while (*e == ' ' || *e == '\t' || *e == '\n' ||
			    *e == '\r' || *e == '\f')
				e++;
			if (*e == '=')
				q = e + 1;
		}
		if (q == NULL)
			return;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' ||
		    *q == '\f')
			q++;
		for (p = q; *p && *p != ';'; p++)
			;
		while (p > q && (p[-1] == ' ' || p[-1] == '\t' ||
		    p[-1] == '\n' || p[-1] == '\r' || p[-1] == '\f') &&
		    *p == ';')
			p--;
		sbuf_add(&s, q, p - q);
		push_uri(r, s.p ? s.p : "");
		sbuf_free(&s);
	}
}

static int
ok_attribute(enum style_tag tag, const char *name)
{
	switch (tag) {
	case ST_BASEFONT:
	case ST_FONT:
		return strcmp(name, "color") == 0 || strcmp(name, "face") == 0
		    || strcmp(name, "size") == 0;
	case ST_BODY:
		return strcmp(name, "text") == 0 ||
		    strcmp(name, "bgcolor") == 0 || strcmp(name, "link") == 0 ||
		    strcmp(name, "alink") == 0 || strcmp(name, "vlink") == 0 ||
		    strcmp(name, "background") == 0;
	case ST_TABLE:
	case ST_TD:
	case ST_TR:
		return strcmp(name, "bgcolor") == 0 ||
		    strcmp(name, "style") == 0;
	case ST_SPAN:
	case ST_P:
	case ST_DIV:
	case ST_A:
		return strcmp(name, "style") == 0;
	default:
		return 0;
	}
}

static void
style_push(struct render *r, const struct style *st)
{
	if (r->nst >= STYLE_MAX)
		return;
	r->st[r->nst++] = *st;
	r->cnt[st->tag]++;
}

static void
style_pop(struct render *r)
{
	r->cnt[r->st[--r->nst].tag]--;
}

/* ^\s*([+-]?)(\d+) */
static int
leading_int(const char *v, int *sign, long *n)
{
	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' ||
	    *v == '\f')
		v++;
	*sign = 0;
	if (*v == '+' || *v == '-')
		*sign = *v++ == '+' ? 1 : -1;
	if (*v < '0' || *v > '9')
		return 0;
	for (*n = 0; *v >= '0' && *v <= '9'; v++)
		if (*n < 100000)
			*n = *n * 10 + (*v - '0');
	return 1;
}

static void
trim_copy(const char *s, size_t n, char *out, size_t outsz)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' ||
	    *s == '\r' || *s == '\f')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\f'))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* One declaration of a style attribute (HTML.pm text_style). */
static void
style_decl(struct render *r, struct style *nw, const char *d, size_t n)
{
	char		 name[32], val[128], *v;
	const char	*colon = memchr(d, ':', n);
	size_t		 i, vl;
	int		 bg = 0;
	unsigned int	 rgb[3] = { 0, 0, 0 };

	if (colon == NULL)
		return;
	trim_copy(d, colon - d, name, sizeof(name));
	trim_copy(colon + 1, n - (colon + 1 - d), val, sizeof(val));
	for (i = 0; name[i]; i++)
		if (!(((name[i] | 0x20) >= 'a' && (name[i] | 0x20) <= 'z') ||
		    name[i] == '_' || name[i] == '-'))
			return;
	if (name[0] == '\0' || val[0] == '\0')
		return;
	if (strcasecmp(name, "color") == 0 ||
	    strcasecmp(name, "background-color") == 0) {
		bg = name[0] == 'b' || name[0] == 'B';
		for (v = val; *v; v++)
			if (*v >= 'A' && *v <= 'Z')
				*v += 32;
		/* s/\s*!\s*important$// */
		vl = strlen(val);
		if (vl >= 9 && strcmp(val + vl - 9, "important") == 0) {
			i = vl - 9;
			while (i > 0 && (val[i - 1] == ' ' ||
			    val[i - 1] == '\t'))
				i--;
			if (i > 0 && val[i - 1] == '!') {
				i--;
				while (i > 0 && (val[i - 1] == ' ' ||
				    val[i - 1] == '\t'))
					i--;
				val[i] = '\0';
			}
		}
		if (strstr(val, "rgb") != NULL) {
			size_t k = 0;
			char *q;

			for (q = val; *q && k < 3; q++) {
				if (*q >= '0' && *q <= '9') {
					if (rgb[k] < 1000)
						rgb[k] = rgb[k] * 10 + (*q - '0');
				} else if (*q == ',')
					k++;
			}
			for (k = 0; k < 3; k++)
				if (rgb[k] > 255)
					rgb[k] = 255;
			snprintf(bg ? nw->bg : nw->fg, 12, "#%02x%02x%02x",
			    rgb[0], rgb[1], rgb[2]);
		} else if (strcmp(val, "inherit") == 0)
			;
		else if (strcmp(val, "transparent") == 0)
			scpy(bg ? nw->bg : nw->fg, "transparent", 12);
		else
			name_to_rgb(val, bg ? nw->bg : nw->fg);
		return;
	}
	if (strcmp(name, "background") == 0) {
		/* The first valid colour of the last layer. */
		char *layer = strrchr(val, ','), *tok, *save;
		char tmp[12];

		layer = layer ? layer + 1 : val;
		for (v = layer; *v; v++)
			if (*v >= 'A' && *v <= 'Z')
				*v += 32;
		for (tok = strtok_r(layer, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			name_to_rgb(tok, tmp);
			if (strcmp(tmp, "invalid") != 0) {
				scpy(nw->bg, tmp, 12);
				break;
			}
		}
		return;
	}
	if (strcmp(name, "display") == 0)
		nw->display_none = strcasecmp(val, "none") == 0;
	else if (strcmp(name, "visibility") == 0)
		nw->hidden = strcasecmp(val, "hidden") == 0;
	(void)r;
}

/* HTML.pm text_style. */
static void
text_style(struct render *r, enum style_tag tag, struct attr *a, size_t na,
    int start)
{
	struct style	 nw;
	size_t		 i;
	int		 sign;
	long		 n;

	if (!start) {
		if (tag != ST_BODY && r->cnt[tag] > 0)
			while (r->nst > 1) {
				int last = top(r)->tag == tag;

				style_pop(r);
				if (last)
					break;
			}
		return;
	}
	if (tag == ST_BASEFONT) {
		const char *v = attr_get(a, na, "size");

		if (v != NULL && leading_int(v, &sign, &n) && sign == 0) {
			r->basefont = n;
			return;
		}
	}
	if ((tag == ST_TD || tag == ST_TR) && r->cnt[tag] > 0) {
		while (r->nst > 1) {
			enum style_tag t = top(r)->tag;

			if (t == ST_FONT || t == ST_TD ||
			    (tag == ST_TR && t == ST_TR))
				style_pop(r);
			else
				break;
		}
	}
	nw = *top(r);
	nw.tag = tag;
	if (tag == ST_BIG)
		nw.size++;
	else if (tag == ST_SMALL)
		nw.size--;
	else {
		for (i = 0; i < na; i++) {
			const char *nm = a[i].name, *v = a[i].value;

			if (!ok_attribute(tag, nm))
				continue;
			if (strcmp(nm, "text") == 0 || strcmp(nm, "color") == 0)
				name_to_rgb(v, nw.fg);
			else if (strcmp(nm, "size") == 0) {
				if (leading_int(v, &sign, &n))
					nw.size = sign ? r->basefont + sign * n
					    : n;
			} else if (strcmp(nm, "style") == 0) {
				const char *p = v, *e;

				/* split(/;/) */
				for (;;) {
					e = strchr(p, ';');
					style_decl(r, &nw, p, e ? (size_t)(e -
					    p) : strlen(p));
					if (e == NULL)
						break;
					p = e + 1;
				}
				if (strcmp(nw.bg, "transparent") == 0)
					scpy(nw.bg, top(r)->bg, 12);
				if (strcmp(nw.fg, "transparent") == 0)
					scpy(nw.fg, nw.bg, 12);
			}
			if (r->hs != NULL && nw.size > r->hs->max_size)
				r->hs->max_size = nw.size;
		}
	}
	style_push(r, &nw);
}

/* el is the tag's row in elements[], NULL if HTML.pm knows no such tag. */
static void
html_tag(struct render *r, const struct element *el, struct attr *a,
    size_t na, int start)
{
	if (el == NULL)
		return;
	if (start && r->hs != NULL)
		stats_start(r, el->name, a, na);
	if (el->flags & EL_SCRIPT) {
		r->in_script += start ? 1 : -1;
		if (r->in_script < 0)
			r->in_script = 0;
	} else if (el->flags & EL_STYLE) {
		r->in_style += start ? 1 : -1;
		if (r->in_style < 0)
			r->in_style = 0;
	}
	if (el->style != ST_NONE)
		text_style(r, el->style, a, na, start);
	if (el->flags & EL_NL)
		display_text(r, "\n", 1, 1, 0);
	else if (el->flags & EL_SPACE)
		display_text(r, " ", 1, 1, 0);
	else if (el->flags & EL_PARA)
		display_text(r, "\n\n", 2, 1, 0);
	if (start && el->uri != URI_NONE)
		html_uri(r, el, a, na);
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Find "</name" (case-insensitive) from p; returns its offset or n. */
static size_t
find_end_tag(const char *p, size_t n, const char *name)
{
	size_t	i, l = strlen(name);

	for (i = 0; i + 2 + l <= n; i++)
		if (p[i] == '<' && p[i + 1] == '/' &&
		    strncasecmp(p + i + 2, name, l) == 0)
			return i;
	return n;
}

/*
 * Append p[0..n) and a NUL to r->tagbuf, lower-cased if lower; returns its
 * offset.  Names and values are read as C strings, so a NUL inside cuts
 * them there, as it did when each was a string of its own.
 */
static size_t
tagbuf_add(struct render *r, const char *p, size_t n, int lower)
{
	size_t	off = r->tagbuf.len, i;
	char	*d;

	sbuf_add(&r->tagbuf, p, n);
	sbuf_addc(&r->tagbuf, '\0');
	if (lower)
		for (d = r->tagbuf.p + off, i = 0; i < n; i++)
			if (d[i] >= 'A' && d[i] <= 'Z')
				d[i] += 32;
	return off;
}

/*
 * Parse one start tag at p[0] == '<'.  Returns its length, or 0 if it does
 * not end before n (the caller then drops the rest, as HTML::Parser does).
 * The tag name and attributes go to r->tagbuf and r->attr, which are reused
 * from tag to tag (a tag needs no allocation of its own): *tagp and r->attr
 * stay valid until the next call.
 */
static size_t
parse_start_tag(struct render *r, const char *p, size_t n, char **tagp,
    size_t *nap)
{
	size_t		 i = 1, s, ns, vs, na = 0, k;
	char		 q;

	sbuf_reset(&r->tagbuf);
	for (s = i; i < n && !is_space(p[i]) && p[i] != '>'; i++)
		;
	tagbuf_add(r, p + s, i - s, 1);
	for (;;) {
		while (i < n && (is_space(p[i]) || p[i] == '/'))
			i++;
		if (i >= n)
			return 0;
		if (p[i] == '>')
			break;
		for (ns = i; i < n && !is_space(p[i]) && p[i] != '>' &&
		    p[i] != '=' && !(p[i] == '/' && i > ns); i++)
			;
		if (i == ns)
			i++;	/* a lone "=": skip it */
		if (na == r->attrcap) {
			r->attrcap = r->attrcap ? r->attrcap * 2 : 16;
			r->attr = xreallocarray(r->attr, r->attrcap,
			    sizeof(*r->attr));
			r->attroff = xreallocarray(r->attroff, r->attrcap,
			    2 * sizeof(*r->attroff));
		}
		r->attroff[2 * na] = tagbuf_add(r, p + ns, i - ns, 1);
		/* without a value, the value is the name */
		r->attroff[2 * na + 1] = r->attroff[2 * na];
		na++;
		vs = i;
		while (vs < n && is_space(p[vs]))
			vs++;
		if (vs < n && p[vs] == '=') {
			i = vs + 1;
			while (i < n && is_space(p[i]))
				i++;
			if (i >= n)
				return 0;
			r->attroff[2 * na - 1] = r->tagbuf.len;
			if (p[i] == '"' || p[i] == '\'') {
				const char *e;

				q = p[i++];
				if ((e = memchr(p + i, q, n - i)) == NULL)
					return 0;
				s = i;
				i = (size_t)(e - p);
				decode_entities(p + s, i - s, &r->tagbuf, 0);
				i++;
			} else {
				for (s = i; i < n && !is_space(p[i]) &&
				    p[i] != '>'; i++)
					;
				decode_entities(p + s, i - s, &r->tagbuf, 0);
			}
			sbuf_addc(&r->tagbuf, '\0');
		}
	}
	for (k = 0; k < na; k++) {
		r->attr[k].name = r->tagbuf.p + r->attroff[2 * k];
		r->attr[k].value = r->tagbuf.p + r->attroff[2 * k + 1];
	}
	*tagp = r->tagbuf.p;
	*nap = na;
	return i + 1;
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The bytes prepare() may rewrite; the rest it copies in runs. */
#define PREP_SPECIAL(c)	((c) == '&' || (c) == '<' || (c) == 0xe2)
static const unsigned char prep_special[256] = { MSG_TABLE256(PREP_SPECIAL) };

/* HTML.pm parse()'s rewrites before HTML::Parser sees the text. */
static void
prepare(const char *p, size_t n, struct sbuf *o)
{
	size_t	i, j, k;

	sbuf_reserve(o, n);
	for (i = 0; i < n; i++) {
		if (p[i] == '&' && n - i >= 6 && memcmp(p + i, "&nbsp;", 6)
		    == 0) {
			sbuf_addc(o, ' ');
			i += 5;
			continue;
		}
		if (p[i] == '<') {
			/* <(\w+)\s*\/> -> <$1> */
			for (j = i + 1; j < n && (is_alpha(p[j]) || p[j] == '_'
			    || (p[j] >= '0' && p[j] <= '9')); j++)
				;
			k = j;
			while (k < n && (is_space(p[k]) || p[k] == '\v'))
				k++;
			if (j > i + 1 && k + 1 < n && p[k] == '/' &&
			    p[k + 1] == '>') {
				sbuf_add(o, p + i, j - i);
				sbuf_addc(o, '>');
				i = k + 1;
				continue;
			}
		}
		if ((unsigned char)p[i] == 0xe2 && i + 2 < n &&
		    (unsigned char)p[i + 1] == 0x80 &&
		    ((unsigned char)p[i + 2] == 0x9c ||
		    (unsigned char)p[i + 2] == 0x9d)) {
			sbuf_addc(o, '"');
			i += 2;
			continue;
		}
		for (j = i + 1; j < n && !prep_special[(unsigned char)p[j]];
		    j++)
			;
		sbuf_add(o, p + i, j - i);
		i = j - 1;
	}
}

/*
 * Render the UTF-8 HTML in[0..n) to text (appended to text) and collect
 * the URIs of its tags, resolved against <base href>, each followed by a
 * NUL, in uris.  decoded says whether SA holds the input as characters
 * (see msg_normalize); returns whether it holds the output as characters,
 * which it also does when an entity gave a code point above U+00FF.
 * hs, if not NULL, receives HTML.pm's statistics (msg_html_stats_free()).
 */
int
msg_html_render(const char *in, size_t n, int decoded, struct sbuf *text,
    struct sbuf *uris, struct msg_html_stats *hs)
{
	size_t		 start = text->len;
	struct render	 r;
	struct sbuf	 src = SBUF_INIT;
	const char	*p;
	size_t		 i, t, l, na, e;
	char		*tag;
	const char	*lt;
	const struct element *el;

	memset(&r, 0, sizeof(r));
	r.text = text;
	r.uris = uris;
	r.decoded = decoded;
	r.basefont = 3;
	r.st = xcalloc(STYLE_MAX, sizeof(*r.st));
	r.nst = 1;
	r.cnt[ST_DEFAULT] = 1;
	r.st[0].tag = ST_DEFAULT;
	scpy(r.st[0].fg, "#000000", sizeof(r.st[0].fg));
	scpy(r.st[0].bg, "#ffffff", sizeof(r.st[0].bg));
	r.st[0].size = 3;
	if ((r.hs = hs) != NULL) {
		memset(hs, 0, sizeof(*hs));
		hs->max_size = 3;
		for (i = 0; i < n; i++)	/* Perl's length(): characters */
			if (!decoded || ((unsigned char)in[i] & 0xc0) != 0x80)
				hs->length++;
	}
	prepare(in, n, &src);
	p = src.p ? src.p : "";
	n = src.len;
	t = 0;
	for (i = 0; i < n; ) {
		if (p[i] != '<') {
			lt = memchr(p + i, '<', n - i);
			i = lt ? (size_t)(lt - p) : n;
			continue;
		}
		if (i + 1 < n && is_alpha(p[i + 1])) {
			html_text(&r, p + t, i - t, 1);
			if ((l = parse_start_tag(&r, p + i, n - i, &tag,
			    &na)) == 0) {
				t = i = n;
				break;
			}
			el = element_find(tag);
			stats_tag(&r, tag, 1);
			html_tag(&r, el, r.attr, na, 1);
			i += l;
			t = i;
			if (el != NULL && (el->flags & EL_LITERAL)) {
				e = strcmp(tag, "plaintext") == 0 ? n - i :
				    find_end_tag(p + i, n - i, tag);
				html_text(&r, p + i, e, strcmp(tag, "title") ==
				    0 || strcmp(tag, "textarea") == 0);
				i += e;
				t = i;
			}
			continue;
		}
		if (i + 2 < n && p[i + 1] == '/' && is_alpha(p[i + 2])) {
			size_t s = i + 2;

			html_text(&r, p + t, i - t, 1);
			for (e = s; e < n && !is_space(p[e]) && p[e] != '>';
			    e++)
				;
			sbuf_reset(&r.tagbuf);
			tagbuf_add(&r, p + s, e - s, 1);
			tag = r.tagbuf.p;
			while (e < n && p[e] != '>')
				e++;
			if (e >= n) {
				t = i = n;
				break;
			}
			stats_tag(&r, tag, 0);
			html_tag(&r, element_find(tag), NULL, 0, 0);
			i = t = e + 1;
			continue;
		}
		if (i + 1 < n && (p[i + 1] == '!' || p[i + 1] == '?' ||
		    p[i + 1] == '/')) {
			html_text(&r, p + t, i - t, 1);
			if (i + 3 < n && p[i + 1] == '!' && p[i + 2] == '-' &&
			    p[i + 3] == '-') {
				const char *c = memmem(p + i + 4, n - i - 4,
				    "-->", 3);

				if (c != NULL && hs != NULL)
					list_push(&hs->comments, &hs->ncomments,
					    p + i, (size_t)(c + 3 - (p + i)));
				i = c ? (size_t)(c - p) + 3 : n;
			} else {
				const char *c = memchr(p + i, '>', n - i);

				/* <!doctype> is a declaration; other <!...>
				   HTML::Parser reports as a comment */
				if (c != NULL && hs != NULL && p[i + 1] == '!') {
					if (n - i >= 9 && strncasecmp(p + i,
					    "<!doctype", 9) == 0)
						hs->tags++;
					else
						list_push(&hs->comments,
						    &hs->ncomments, p + i,
						    (size_t)(c + 1 - (p + i)));
				}
				i = c ? (size_t)(c - p) + 1 : n;
			}
			t = i;
			continue;
		}
		/* A "<" that starts no markup is text, in a chunk of its own. */
		html_text(&r, p + t, i - t, 1);
		t = i;
		i++;
	}
	html_text(&r, p + t, n - t, 1);
	if (hs != NULL) {
		size_t k, chars = 0, sp = 0;

		for (k = start; k < text->len; k++) {
			unsigned char c = (unsigned char)text->p[k];

			if (!(decoded || r.wide) || (c & 0xc0) != 0x80)
				chars++;
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			    c == '\v' || c == '\f')
				sp++;
		}
		hs->non_space_len = chars - sp;
	}
	free(r.base_href);
	free(r.st);
	free(r.attr);
	free(r.attroff);
	sbuf_free(&r.scratch);
	sbuf_free(&r.tagbuf);
	sbuf_free(&src);
	return decoded || r.wide;
}
