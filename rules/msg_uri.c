/*
 * msg_uri.c: the URI list `uri` rules run over (PerMsgStatus.pm
 * get_uri_list: _process_text_uri_list over the rendered body with the
 * Thunderbird-like pattern, _process_html_uri_list over the tag URIs, and
 * Util.pm uri_list_canonicalize's raw and "cooked" variants).
 *
 * Deliberately not done: schemeless host names ("example.com/x" without
 * www.) and the valid-TLD checks, which need SA's TLD registry; the
 * redirector_patterns of the stock config (only the generic "http...
 * inside the query" redirect is followed); IDN to ASCII.
 *
 * Invariant: the set keeps first-seen order and holds each string once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "msg_impl.h"
#include "xmalloc.h"

struct msg_uriset {
	char	**v;
	size_t	 *len;
	size_t	  n;
	size_t	  cap;
};

struct msg_uriset *
msg_uriset_new(void)
{
	return xcalloc(1, sizeof(struct msg_uriset));
}

void
msg_uriset_free(struct msg_uriset *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->len);
	free(s);
}

size_t
msg_uriset_count(const struct msg_uriset *s)
{
	return s->n;
}

const char *
msg_uriset_get(const struct msg_uriset *s, size_t i, size_t *len)
{
	*len = s->len[i];
	return s->v[i];
}

static void
set_add(struct msg_uriset *s, const char *p, size_t n)
{
	size_t	i;

	if (n > MSG_MAX_URI_LENGTH)
		n = MSG_MAX_URI_LENGTH;
	for (i = 0; i < s->n; i++)
		if (s->len[i] == n && memcmp(s->v[i], p, n) == 0)
			return;
	if (s->n >= 10000)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		s->len = xreallocarray(s->len, s->cap, sizeof(*s->len));
	}
	s->v[s->n] = xstrndup(p, n);
	s->len[s->n] = n;
	s->n++;
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Util.pm url_encode (really a decoder of %XX for printable ASCII). */
static void
url_decode(const char *p, size_t n, struct sbuf *o)
{
	size_t	i;
	int	c;

	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n + 0 && hexv((unsigned char)
		    p[i + 1]) >= 0 && hexv((unsigned char)p[i + 2]) >= 0) {
			c = hexv((unsigned char)p[i + 1]) * 16 +
			    hexv((unsigned char)p[i + 2]);
			if (c >= 0x21 && c <= 0x7e) {
				sbuf_addc(o, c);
				i += 2;
				continue;
			}
		}
		sbuf_addc(o, p[i]);
	}
}

static int
has_pct(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i + 2 < n; i++)
		if (p[i] == '%' && hexv((unsigned char)p[i + 1]) >= 0 &&
		    hexv((unsigned char)p[i + 2]) >= 0)
			return 1;
	return 0;
}

/* uri_list_canonicalize for one URI; adds it and its variants. */
static void
canonicalize(struct msg_uriset *s, const char *u0, size_t n0, int depth)
{
	struct sbuf	 u = SBUF_INIT, nu = SBUF_INIT, t = SBUF_INIT;
	size_t		 i, hs, he, rs;
	const char	*p, *at, *q;
	int		 scheme;

	for (i = 0; i < n0; i++)
		if (u0[i] != '\n' && u0[i] != '\r')
			sbuf_addc(&u, u0[i]);
	p = u.p ? u.p : "";
	while (u.len > 0 && (p[u.len - 1] == ' ' || p[u.len - 1] == '\t'))
		u.len--;
	i = 0;
	while (i < u.len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	p += i;
	n0 = u.len - i;
	if (n0 <= 1 || p[0] == '#' || p[0] == '?' || p[0] == '&' ||
	    (p[0] == '/' && p[1] != '/'))
		goto done;
	set_add(s, p, n0);
	/* mailto */
	for (i = 0; i < n0 && p[i] != ':' && p[i] != '@'; i++)
		;
	if ((n0 >= 7 && strncasecmp(p, "mailto:", 7) == 0) ||
	    (i < n0 && p[i] == '@')) {
		at = memchr(p, '@', n0);
		if (at != NULL && at > p) {
			q = memchr(at, '?', n0 - (at - p));
			if (q != NULL && q > at + 1)
				set_add(s, p, q - p);
			for (q = at + 1; q < p + n0 && *q != '?' && *q != '&';
			    q++)
				;
			if (q < p + n0 && *q == '&' && q > at + 1)
				set_add(s, p, q - p);
		}
		goto done;
	}
	for (i = 0; i < n0; i++)
		sbuf_addc(&nu, p[i] == '\\' ? '/' : p[i]);
	/* ^(https?:)/{0,2} -> $1// */
	if ((nu.len >= 5 && strncasecmp(nu.p, "http:", 5) == 0) ||
	    (nu.len >= 6 && strncasecmp(nu.p, "https:", 6) == 0)) {
		size_t sl = nu.p[4] == ':' ? 5 : 6, k = sl;

		while (k < nu.len && k < sl + 2 && nu.p[k] == '/')
			k++;
		sbuf_add(&t, nu.p, sl);
		sbuf_add(&t, "//", 2);
		sbuf_add(&t, nu.p + k, nu.len - k);
		sbuf_reset(&nu);
		sbuf_add(&nu, t.p, t.len);
		sbuf_reset(&t);
	}
	if (has_pct(nu.p, nu.len)) {
		url_decode(nu.p, nu.len, &t);
		sbuf_reset(&nu);
		sbuf_add(&nu, t.p, t.len);
		sbuf_reset(&t);
	}
	for (i = 0; i < nu.len && (((nu.p[i] | 0x20) >= 'a' &&
	    (nu.p[i] | 0x20) <= 'z') || (nu.p[i] >= '0' && nu.p[i] <= '9') ||
	    nu.p[i] == '-' || nu.p[i] == '_'); i++)
		;
	scheme = i > 0 && i < nu.len && nu.p[i] == ':';
	if (!scheme) {
		sbuf_add(&t, strncmp(nu.p, "ftp.", 4) == 0 ? "ftp://" :
		    "http://", strncmp(nu.p, "ftp.", 4) == 0 ? 6 : 7);
		sbuf_add(&t, nu.p, nu.len);
		sbuf_reset(&nu);
		sbuf_add(&nu, t.p, t.len);
		sbuf_reset(&t);
	}
	/* ^(https?://[^/?#]+)([?#]) -> $1/$2 */
	if (strncasecmp(nu.p, "http://", 7) == 0 ||
	    strncasecmp(nu.p, "https://", 8) == 0) {
		hs = nu.p[4] == ':' ? 7 : 8;
		for (he = hs; he < nu.len && !strchr("/?#", nu.p[he]); he++)
			;
		if (he > hs && he < nu.len && nu.p[he] != '/') {
			sbuf_add(&t, nu.p, he);
			sbuf_addc(&t, '/');
			sbuf_add(&t, nu.p + he, nu.len - he);
			sbuf_reset(&nu);
			sbuf_add(&nu, t.p, t.len);
			sbuf_reset(&t);
		}
	}
	if (nu.len != n0 || memcmp(nu.p, p, n0) != 0)
		set_add(s, nu.p, nu.len);
	/* host variants */
	if (strncasecmp(nu.p, "http://", 7) == 0 ||
	    strncasecmp(nu.p, "https://", 8) == 0) {
		hs = nu.p[4] == ':' ? 7 : 8;
		for (he = hs; he < nu.len && !strchr("/?#", nu.p[he]); he++)
			;
		/* host without userinfo and port */
		at = NULL;
		for (i = hs; i < he; i++)
			if (nu.p[i] == '@')
				at = nu.p + i;
		rs = at ? (size_t)(at - nu.p) + 1 : hs;
		for (i = rs; i < he && nu.p[i] != ':'; i++)
			;
		if (depth < 3) {
			/* (https?:/{0,2}[^&#]+) in the rest: a redirect */
			const char *r = nu.p + i, *end = nu.p + nu.len;

			for (; r + 5 < end; r++) {
				if (strncasecmp(r, "http", 4) != 0)
					continue;
				q = r + 4;
				if ((*q | 0x20) == 's')
					q++;
				if (q < end && *q == ':') {
					const char *e2 = q + 1;

					while (e2 < end && *e2 != '&' &&
					    *e2 != '#')
						e2++;
					if (e2 > q + 1 && memchr(r, '.',
					    e2 - r) != NULL)
						canonicalize(s, r, e2 - r,
						    depth + 1);
					break;
				}
			}
		}
		if (at != NULL) {
			sbuf_reset(&t);
			sbuf_add(&t, nu.p, hs);
			sbuf_add(&t, at + 1, nu.len - (at + 1 - nu.p));
			set_add(s, t.p, t.len);
		}
	}
done:
	sbuf_free(&u);
	sbuf_free(&nu);
	sbuf_free(&t);
}

/*
 * Add a URI found in HTML (or elsewhere) with its canonical variants.
 */
void
msg_uri_add(struct msg_uriset *s, const char *p, size_t n, int from_text)
{
	(void)from_text;
	canonicalize(s, p, n, 0);
}

/* $tbirdenddelim: ><"`}]{[| \s \x1b \xa0 */
static int
end_delim(const char *p, size_t n)
{
	unsigned char c = (unsigned char)p[0];

	if (strchr("><\"`}]{[|", c) != NULL && c != '\0')
		return 1;
	if (c == ' ' || (c >= '\t' && c <= '\r') || c == 0x1b)
		return 1;
	if (n >= 2 && c == 0xc2 && ((unsigned char)p[1] == 0xa0))
		return 1;
	return 0;
}

static int
start_ok(const char *line, const char *p)
{
	unsigned char c;

	if (p == line)
		return 1;
	c = (unsigned char)p[-1];
	if (strchr("><\"'`,{[(|", c) != NULL && c != '\0')
		return 1;
	if (c == ' ' || (c >= '\t' && c <= '\r') || c == 0x1b || c == 0xa0)
		return 1;
	/* \b: a word char here and a non-word char before */
	if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_'))
		return 1;
	return 0;
}

/* Trim as TBird does: ) without (; trailing punctuation. */
static size_t
tb_trim(const char *p, size_t n)
{
	const char	*op = memchr(p, '(', n), *cp = memchr(p, ')', n);

	if (cp != NULL && (op == NULL || op > cp))
		n = cp - p;
	while (n > 0 && strchr("-~!@#^&*()_+=:;'?,.", p[n - 1]) != NULL &&
	    p[n - 1] != '\0')
		n--;
	return n;
}

/*
 * Scan one rendered body line for URIs (scheme://, www., ftp., mailto:,
 * user@host) and add them.
 */
void
msg_uri_from_text(struct msg_uriset *s, const char *line, size_t n)
{
	size_t		 i, j, k, l;
	const char	*p;
	struct sbuf	 u = SBUF_INIT;

	for (i = 0; i < n; i++) {
		p = line + i;
		l = n - i;
		k = 0;
		if (!start_ok(line, p))
			continue;
		if (l > 7 && strncasecmp(p, "http://", 7) == 0)
			k = 7;
		else if (l > 8 && strncasecmp(p, "https://", 8) == 0)
			k = 8;
		else if (l > 6 && strncasecmp(p, "ftp://", 6) == 0)
			k = 6;
		else if (l > 4 && strncasecmp(p, "www", 3) == 0) {
			for (j = 3; j < l && j < 5 && p[j] >= '0' &&
			    p[j] <= '9'; j++)
				;
			if (j < l && p[j] == '.')
				k = j + 1;
		} else if (l > 4 && strncasecmp(p, "ftp.", 4) == 0)
			k = 4;
		if (k > 0) {
			for (j = k; j < l && j - k < 2048 &&
			    !end_delim(p + j, l - j); j++)
				;
			if (j == k)
				continue;
			j = tb_trim(p, j);
			sbuf_reset(&u);
			if (strncasecmp(p, "www", 3) == 0)
				sbuf_add(&u, "http://", 7);
			else if (strncasecmp(p, "ftp.", 4) == 0)
				sbuf_add(&u, "ftp://", 6);
			sbuf_add(&u, p, j);
			if (j > k)
				canonicalize(s, u.p, u.len, 0);
			i += (j > 0 ? j : 1) - 1;
			continue;
		}
		if (l > 7 && strncasecmp(p, "mailto:", 7) == 0) {
			for (j = 7; j < l && !end_delim(p + j, l - j) &&
			    p[j] != ',' && p[j] != '(' && p[j] != '\'' &&
			    (unsigned char)p[j] < 0x80; j++)
				;
			j = tb_trim(p, j);
			if (memchr(p, '@', j) != NULL && j > 7)
				canonicalize(s, p, j, 0);
			i += j > 0 ? j - 1 : 0;
			continue;
		}
		/* user@host: [^delims@]{1,251}@[^delims]{1,251} */
		for (j = 0; j < l && j < 251 && !end_delim(p + j, l - j) &&
		    p[j] != ',' && p[j] != '(' && p[j] != '\'' &&
		    p[j] != '@' && (unsigned char)p[j] < 0x80; j++)
			;
		if (j == 0 || j >= l || p[j] != '@')
			continue;
		for (k = j + 1; k < l && k - j <= 251 &&
		    !end_delim(p + k, l - k) && p[k] != ',' && p[k] != '(' &&
		    p[k] != '\'' && (unsigned char)p[k] < 0x80; k++)
			;
		if (k == j + 1)
			continue;
		k = tb_trim(p, k);
		if (k > j + 1 && memchr(p + j + 1, '.', k - j - 1) != NULL) {
			const char *st = p;
			size_t sl = k;

			/* s/^(?:skype|e?-?mail)?:+//i */
			sbuf_reset(&u);
			sbuf_add(&u, "mailto:", 7);
			sbuf_add(&u, st, sl);
			canonicalize(s, u.p, u.len, 0);
		}
		i += k - 1;
	}
	sbuf_free(&u);
}
