/*
 * msg_uri.c: the URI list `uri` rules run over (PerMsgStatus.pm
 * get_uri_list: _process_text_uri_list over the rendered body with the
 * Thunderbird-like pattern, _process_html_uri_list over the tag URIs, and
 * Util.pm uri_list_canonicalize's raw and "cooked" variants).
 *
 * The TLD list (msg_tlds.inc) is the one SA 4.0.1's stock configuration
 * builds (RegistryBoundaries valid_tlds); URIs found in text are kept only
 * when one of their variants has a host under a valid TLD (or an IP), as
 * add_uri_detail_list(..., valid_domain => 1) does.
 *
 * Deliberately not done: the stock redirector_patterns (only the generic
 * "http... inside the query" redirect is followed); IDN to ASCII; IPv6.
 *
 * Invariant: the set keeps first-seen order and holds each string once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "msg_impl.h"
#include "digits.h"
#include "xmalloc.h"

static const char *const tlds[] = {
#include "msg_tlds.inc"
};

struct msg_uriset {
	char	**v;
	size_t	 *len;
	size_t	  n;
	size_t	  cap;
	size_t	 *tab;		/* open addressing: index + 1, 0 = empty */
	size_t	  tabsz;	/* a power of two, at least 2 * n */
};

/* At most this many distinct URIs per message; more are dropped. */
#define URISET_MAX	20000

/*
 * A new, empty URI set (owner: the caller, msg_uriset_free()).  It keeps
 * each string once, in the order first added, up to URISET_MAX strings.
 */
struct msg_uriset *
msg_uriset_new(void)
{
	return xcalloc(1, sizeof(struct msg_uriset));
}

/* Free s and its strings; NULL is a no-op. */
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
	free(s->tab);
	free(s);
}

/* The number of strings in s. */
size_t
msg_uriset_count(const struct msg_uriset *s)
{
	return s->n;
}

/* String i of s (i < count; it belongs to s), its length in *len. */
const char *
msg_uriset_get(const struct msg_uriset *s, size_t i, size_t *len)
{
	*len = s->len[i];
	return s->v[i];
}

static size_t
fnv(const char *p, size_t n)
{
	size_t	h = 2166136261u, i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static void
set_rehash(struct msg_uriset *s)
{
	size_t	i, j, sz = s->tabsz ? s->tabsz * 2 : 64;

	free(s->tab);
	s->tab = xcalloc(sz, sizeof(*s->tab));
	s->tabsz = sz;
	for (i = 0; i < s->n; i++) {
		for (j = fnv(s->v[i], s->len[i]) & (sz - 1); s->tab[j] != 0;
		    j = (j + 1) & (sz - 1))
			;
		s->tab[j] = i + 1;
	}
}

/* Returns 1 if p was added, 0 if it was there, -1 if the set is full. */
static int
set_add(struct msg_uriset *s, const char *p, size_t n)
{
	size_t	j, k;

	if (n > MSG_MAX_URI_LENGTH)
		n = MSG_MAX_URI_LENGTH;
	if (s->tabsz == 0 || 2 * (s->n + 1) > s->tabsz)
		set_rehash(s);
	for (j = fnv(p, n) & (s->tabsz - 1); (k = s->tab[j]) != 0;
	    j = (j + 1) & (s->tabsz - 1))
		if (s->len[k - 1] == n && memcmp(s->v[k - 1], p, n) == 0)
			return 0;
	if (s->n >= URISET_MAX)
		return -1;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		s->len = xreallocarray(s->len, s->cap, sizeof(*s->len));
	}
	/* not xstrndup: a URI from text may hold a NUL */
	s->v[s->n] = xmalloc(n + 1);
	memcpy(s->v[s->n], p, n);
	s->v[s->n][n] = '\0';
	s->len[s->n] = n;
	s->tab[j] = ++s->n;
	return 1;
}

static void canonicalize(struct msg_uriset *, const char *, size_t, int,
    int);
static int is_word(int);
static size_t utf8_len(const char *, size_t);

/*
 * Util.pm url_encode: %XX of a printable character other than space and
 * DEL is decoded; elsewhere control, space, DEL, 8-bit, '"', '%', '<' and
 * '>' bytes are %-encoded.
 */
static void
url_decode(const char *p, size_t n, struct sbuf *o, int chars)
{
	size_t		i, l;
	int		c;
	unsigned char	b;

	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n + 0 && hex_digit((unsigned char)
		    p[i + 1]) >= 0 && hex_digit((unsigned char)p[i + 2]) >= 0) {
			c = hex_digit((unsigned char)p[i + 1]) * 16 +
			    hex_digit((unsigned char)p[i + 2]);
			if (c >= 0x21 && c <= 0x7e)
				sbuf_addc(o, c);
			else
				sbuf_add(o, p + i, 3);
			i += 2;
			continue;
		}
		b = (unsigned char)p[i];
		/*
		 * A character string (a URI from HTML) encodes characters up to
		 * U+00FF as one %XX and keeps wider ones; a byte string (from
		 * the rendered text) encodes every byte.
		 */
		if (chars && b >= 0xc2 && (l = utf8_len(p + i, n - i)) > 0) {
			if (b <= 0xc3) {
				char e[4];

				snprintf(e, sizeof(e), "%%%02x",
				    ((b & 3) << 6) | (p[i + 1] & 0x3f));
				sbuf_add(o, e, 3);
			} else
				sbuf_add(o, p + i, l);
			i += l - 1;
			continue;
		}
		if (b <= 0x20 || b >= 0x7f || b == '"' || b == '%' ||
		    b == '<' || b == '>') {
			char e[4];

			snprintf(e, sizeof(e), "%%%02x", b);
			sbuf_add(o, e, 3);
		} else
			sbuf_addc(o, b);
	}
}

/* Length of a well-formed UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const char *p, size_t n)
{
	size_t	l;

	if ((unsigned char)p[0] < 0xc2)
		return 0;
	l = (unsigned char)p[0] < 0xe0 ? 2 : (unsigned char)p[0] < 0xf0 ? 3 :
	    4;
	if (l > n || !msg_utf8_valid(p, l))
		return 0;
	return l;
}

static int
has_pct(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i + 2 < n; i++)
		if (p[i] == '%' && hex_digit((unsigned char)p[i + 1]) >= 0 &&
		    hex_digit((unsigned char)p[i + 2]) >= 0)
			return 1;
	return 0;
}

static int tld_valid(const char *, size_t);

static void
add3(struct msg_uriset *s, const char *a, size_t al, const char *b,
    size_t bl, const char *c, size_t cl)
{
	struct sbuf	t = SBUF_INIT;

	sbuf_add(&t, a, al);
	sbuf_add(&t, b, bl);
	sbuf_add(&t, c, cl);
	set_add(s, t.p ? t.p : "", t.len);
	sbuf_free(&t);
}

/* (?:0x[0-9a-f]+|\d+) */
static int
ip_chunk(const char *p, size_t n)
{
	size_t	i = 0;

	if (n > 2 && p[0] == '0' && (p[1] | 0x20) == 'x') {
		for (i = 2; i < n && hex_digit((unsigned char)p[i]) >= 0; i++)
			;
		return i == n && n > 2;
	}
	for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		;
	return i == n && n > 0;
}

static void
ulong_ip(unsigned long long v, char *out, size_t sz)
{
	v &= 0xffffffffULL;
	snprintf(out, sz, "%u.%u.%u.%u", (unsigned)(v >> 24) & 255,
	    (unsigned)(v >> 16) & 255, (unsigned)(v >> 8) & 255,
	    (unsigned)v & 255);
}

/*
 * One of "/?#" or NUL, as strchr("/?#", c) finds them (the terminator
 * too); asked of every byte of a host, so not a libc call.
 */
static int
path_delim(int c)
{
	return c == '/' || c == '?' || c == '#' || c == '\0';
}

/* The host-based variants of uri_list_canonicalize. */
static void
host_variants(struct msg_uriset *s, const char *nu, size_t nl, int depth,
    int chars)
{
	size_t		 pl, hs, he, i, k, rl;
	const char	*host, *rest, *auth_at = NULL, *q;
	char		 hb[300], nhost[300], ip[32];
	size_t		 hl;
	int		 port_given = 0, is_http;
	unsigned long long v;

	/* ^(https?://)([^\@/?#]*\@)?([^/?#:]+)((?::(\d*))?.*)$ */
	if (nl >= 7 && strncasecmp(nu, "http://", 7) == 0)
		pl = 7;
	else if (nl >= 8 && strncasecmp(nu, "https://", 8) == 0)
		pl = 8;
	else
		return;
	is_http = strncmp(nu, "http://", 7) == 0;
	hs = pl;
	for (i = pl; i < nl && nu[i] != '@' && !path_delim(nu[i]); i++)
		;
	if (i < nl && nu[i] == '@') {
		auth_at = nu + i;
		hs = i + 1;
	}
	for (he = hs; he < nl && nu[he] != ':' && !path_delim(nu[he]); he++)
		;
	if (he == hs || memchr(nu, '\n', nl) != NULL)
		return;
	host = nu + hs;
	hl = he - hs;
	if (hl >= sizeof(hb))
		return;
	rest = nu + he;
	rl = nl - he;
	if (rl > 1 && rest[0] == ':' && rest[1] >= '0' && rest[1] <= '9') {
		/* (?::(\d*))? with no digits counts as no port at all */
		port_given = 1;
		/* :80\b / :443\b removal */
		if (is_http && rl >= 3 && strncmp(rest, ":80", 3) == 0 &&
		    !(rl > 3 && is_word((unsigned char)rest[3])))
			add3(s, nu, he, "", 0, rest + 3, rl - 3);
		else if (!is_http && rl >= 4 && strncmp(rest, ":443", 4) ==
		    0 && !(rl > 4 && is_word((unsigned char)rest[4])))
			add3(s, nu, he, "", 0, rest + 4, rl - 4);
	}
	memcpy(hb, host, hl);
	hb[hl] = '\0';
	/*
	 * SA turns a non-ASCII host into its IDNA (punycode) form first; we do
	 * not, and offer no host variants for it rather than wrong ones.
	 */
	for (i = 0; i < hl; i++)
		if ((unsigned char)hb[i] >= 0x80)
			break;
	if (i < hl) {
		/* idn_to_ascii leaves what is neither UTF-8 nor Latin-1 */
		int lat = 1;

		for (i = 0; i < hl; i++) {
			unsigned char c = hb[i];

			if (c >= 0x80 && !((c >= 0xc0 && c <= 0xd6) ||
			    (c >= 0xd8 && c <= 0xde) || (c >= 0xe0 &&
			    c <= 0xf6) || (c >= 0xf8 && c <= 0xfe)))
				lat = 0;
		}
		if (lat || msg_utf8_valid(hb, hl))
			return;
	}
	for (i = 0; i <= hl; i++)
		nhost[i] = (hb[i] >= 'A' && hb[i] <= 'Z') ? hb[i] + 32 : hb[i];
	/* tr/\x00-\x20//d */
	for (i = 0, k = 0; i < hl; i++)
		if ((unsigned char)hb[i] > 0x20)
			hb[k++] = hb[i];
	if (k != hl) {
		hb[k] = '\0';
		hl = k;
		add3(s, nu, pl, hb, hl, rest, rl);
	}
	/* a redirect in the rest: (https?:/{0,2}[^&#]+) */
	if (depth < 4) {
		for (q = rest; q + 5 <= rest + rl; q++) {
			const char *e2 = q + 4;

			if (strncasecmp(q, "http", 4) != 0)
				continue;
			if (e2 < rest + rl && (*e2 | 0x20) == 's')
				e2++;
			if (e2 >= rest + rl || *e2 != ':')
				continue;
			e2++;
			{
				const char *st = e2;

				while (e2 < rest + rl && *e2 != '&' &&
				    *e2 != '#')
					e2++;
				if (e2 > st && memchr(q, '.', e2 - q) != NULL)
					canonicalize(s, q, e2 - q, depth + 1,
					    chars);
				else if (e2 == st)
					continue;
			}
			break;
		}
	}
	/* s/^[^\@]+\@//: only if the host itself holds an '@' */
	if ((q = memchr(hb, '@', hl)) != NULL && q > hb) {
		q++;
		memmove(hb, q, hl - (q - hb) + 1);
		hl = strlen(hb);
		add3(s, nu, pl, hb, hl, rest, rl);
	}
	/* s/[^0-9A-Za-z]+$// */
	for (k = hl; k > 0 && !((hb[k - 1] | 0x20) >= 'a' &&
	    (hb[k - 1] | 0x20) <= 'z') && !(hb[k - 1] >= '0' &&
	    hb[k - 1] <= '9'); k--)
		;
	if (k != hl) {
		hl = k;
		hb[hl] = '\0';
		add3(s, nu, pl, hb, hl, rest, rl);
	}
	/* IP address obfuscations */
	{
		const char *d[4];
		size_t dl[4], nd = 0, st = 0;

		for (i = 0; i <= hl && nd < 5; i++)
			if (i == hl || hb[i] == '.') {
				if (nd < 4) {
					d[nd] = hb + st;
					dl[nd] = i - st;
				}
				nd++;
				st = i + 1;
			}
		if (nd == 4 && ip_chunk(d[0], dl[0]) && ip_chunk(d[1], dl[1])
		    && ip_chunk(d[2], dl[2]) && ip_chunk(d[3], dl[3])) {
			struct sbuf t = SBUF_INIT;

			sbuf_add(&t, nu, pl);
			for (i = 0; i < 4; i++) {
				const char *c = d[i];
				size_t cl = dl[i], z;
				char num[32];

				if (cl > 2 && c[0] == '0' &&
				    (c[1] | 0x20) == 'x') {
					v = strtoull(c + 2, NULL, 16);
					snprintf(num, sizeof(num), "%llu", v);
					sbuf_adds(&t, num);
				} else {
					for (z = 0; z < cl && c[z] == '0'; z++)
						;
					/* ^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b */
					if (z > 0 && z < cl && c[z] >= '1' &&
					    c[z] <= '7') {
						size_t e = z + 1, mx =
						    c[z] <= '3' ? 3 : 2;

						while (e < cl && e - z < mx &&
						    c[e] >= '0' && c[e] <= '7')
							e++;
						if (e == cl) {
							v = strtoull(c + z,
							    NULL, 8);
							snprintf(num,
							    sizeof(num),
							    "%llu", v);
							sbuf_adds(&t, num);
						} else
							sbuf_add(&t, c + z,
							    cl - z);
					} else
						sbuf_add(&t, c + z, cl - z);
				}
				if (i < 3)
					sbuf_addc(&t, '.');
			}
			sbuf_add(&t, rest, rl);
			set_add(s, t.p, t.len);
			sbuf_free(&t);
		} else if (hl > 2 && hb[0] == '0' && (hb[1] | 0x20) == 'x' &&
		    ip_chunk(hb, hl)) {
			/* the last 8 hex digits */
			v = strtoull(hb + (hl - 2 > 8 ? hl - 8 : 2), NULL, 16);
			ulong_ip(v, ip, sizeof(ip));
			add3(s, nu, pl, ip, strlen(ip), rest, rl);
		} else if (ip_chunk(hb, hl)) {
			v = strtoull(hb, NULL, 10);
			if (hl > 19)
				v = 0xffffffffULL;
			ulong_ip(v, ip, sizeof(ip));
			add3(s, nu, pl, ip, strlen(ip), rest, rl);
		} else if (is_http && auth_at == NULL &&
		    strcmp(nhost, "localhost") != 0 && !port_given) {
			const char *w = nhost;

			if (strncmp(w, "www.", 4) == 0)
				w += 4;
			if (*w != '\0' && strchr(w, '.') == NULL &&
			    !tld_valid(nhost, strlen(nhost))) {
				struct sbuf t = SBUF_INIT;

				sbuf_add(&t, nu, pl);
				sbuf_add(&t, "www.", 4);
				sbuf_adds(&t, w);
				sbuf_add(&t, ".com", 4);
				sbuf_add(&t, rest, rl);
				set_add(s, t.p, t.len);
				sbuf_free(&t);
			}
		}
	}
}

/* Append p[0..n) without its bytes c. */
static void
add_without(struct sbuf *o, const char *p, size_t n, int c)
{
	const char	*q;

	while ((q = memchr(p, c, n)) != NULL) {
		sbuf_add(o, p, (size_t)(q - p));
		n -= (size_t)(q - p) + 1;
		p = q + 1;
	}
	sbuf_add(o, p, n);
}

/*
 * Make the rewritten text in *t the current one, *nu, and empty *t for the
 * next step: the buffers change roles instead of copying the text back.
 */
static void
take(struct sbuf *nu, struct sbuf *t)
{
	struct sbuf	old = *nu;

	*nu = *t;
	*t = old;
	sbuf_reset(t);
}

/* uri_list_canonicalize for one URI; adds it and its variants. */
static void
canonicalize(struct msg_uriset *s, const char *u0, size_t n0, int depth,
    int chars)
{
	struct sbuf	 u = SBUF_INIT, nu = SBUF_INIT, t = SBUF_INIT;
	size_t		 i, hs, he;
	const char	*p, *at, *q;
	int		 scheme;

	/* s/\n//g; s/^\s+//; s/\s+$//; s/\r//g */
	add_without(&u, u0, n0, '\n');
	p = u.p ? u.p : "";
	n0 = u.len;
	while (n0 > 0 && (p[n0 - 1] == ' ' || (p[n0 - 1] >= '\t' &&
	    p[n0 - 1] <= '\r')))
		n0--;
	while (n0 > 0 && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) {
		p++;
		n0--;
	}
	add_without(&t, p, n0, '\r');
	take(&u, &t);
	p = u.p ? u.p : "";
	n0 = u.len;
	/* The URI itself is always in the list, even when skipped below. */
	set_add(s, p, n0);
	if (n0 <= 1 || p[0] == '#' || p[0] == '?' || p[0] == '&' ||
	    (p[0] == '/' && p[1] != '/'))
		goto done;
	/* mailto */
	for (i = 0; i < n0 && p[i] != ':' && p[i] != '@'; i++)
		;
	if ((n0 >= 7 && strncasecmp(p, "mailto:", 7) == 0) ||
	    (i < n0 && p[i] == '@')) {
		at = memchr(p, '@', n0);
		/* ^([^\@]+\@[^?]+)\? */
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
		/* %20 before the address */
		if (memmem(p, n0, "%20", 3) != NULL) {
			const char *a = p, *b;

			if (n0 >= 7 && strncasecmp(a, "mailto:", 7) == 0)
				a += 7;
			while (a + 3 <= p + n0 && memcmp(a, "%20", 3) == 0)
				a += 3;
			for (b = a; b < p + n0 && *b != '@'; b++)
				;
			if (b > a && b < p + n0) {
				const char *c = b + 1;

				while (c < p + n0 && *c != '?' && *c != '&' &&
				    *c != '%')
					c++;
				if (c > b + 1)
					add3(s, "mailto:", 7, a, c - a, "", 0);
			}
		}
		goto done;
	}
	sbuf_add(&nu, p, n0);
	for (i = 0; i < n0; i++)
		if (nu.p[i] == '\\')
			nu.p[i] = '/';
	/* ^(https?:)/{0,2} -> $1// */
	if ((nu.len >= 5 && strncasecmp(nu.p, "http:", 5) == 0) ||
	    (nu.len >= 6 && strncasecmp(nu.p, "https:", 6) == 0)) {
		size_t sl = nu.p[4] == ':' ? 5 : 6, k = sl;

		while (k < nu.len && k < sl + 2 && nu.p[k] == '/')
			k++;
		sbuf_add(&t, nu.p, sl);
		sbuf_add(&t, "//", 2);
		sbuf_add(&t, nu.p + k, nu.len - k);
		take(&nu, &t);
	}
	if (has_pct(nu.p, nu.len)) {
		url_decode(nu.p, nu.len, &t, chars);
		take(&nu, &t);
	}
	for (i = 0; i < nu.len && (((nu.p[i] | 0x20) >= 'a' &&
	    (nu.p[i] | 0x20) <= 'z') || (nu.p[i] >= '0' && nu.p[i] <= '9') ||
	    nu.p[i] == '-' || nu.p[i] == '_'); i++)
		;
	scheme = i > 0 && i < nu.len && nu.p[i] == ':';
	if (!scheme) {
		int ftp = nu.len >= 4 && strncmp(nu.p, "ftp.", 4) == 0;

		sbuf_add(&t, ftp ? "ftp://" : "http://", ftp ? 6 : 7);
		sbuf_add(&t, nu.p, nu.len);
		take(&nu, &t);
	}
	/* ^(https?://[^/?#]+)([?#]) -> $1/$2 */
	if (strncasecmp(nu.p, "http://", 7) == 0 ||
	    strncasecmp(nu.p, "https://", 8) == 0) {
		hs = nu.p[4] == ':' ? 7 : 8;
		for (he = hs; he < nu.len && !path_delim(nu.p[he]); he++)
			;
		if (he > hs && he < nu.len && nu.p[he] != '/') {
			sbuf_add(&t, nu.p, he);
			sbuf_addc(&t, '/');
			sbuf_add(&t, nu.p + he, nu.len - he);
			take(&nu, &t);
		}
	}
	/* &#NN; of printable characters, and the dot look-alikes */
	if (memmem(nu.p, nu.len, "&#", 2) != NULL) {
		const char *c = nu.p;
		size_t j, k;

		for (j = 0; j < nu.len; j++) {
			if (c[j] == '&' && j + 2 < nu.len && c[j + 1] == '#') {
				int hex = (c[j + 2] | 0x20) == 'x';
				unsigned long v = 0;

				k = j + 2 + hex;
				while (k < nu.len && c[k] == '0')
					k++;
				{
					size_t ds = k;

					for (; k < nu.len && (hex ? hex_digit(
					    (unsigned char)c[k]) >= 0 :
					    (c[k] >= '0' && c[k] <= '9')) &&
					    k - ds < 8; k++)
						v = v * (hex ? 16 : 10) +
						    (unsigned long)hex_digit(
						    (unsigned char)c[k]);
					if (k < nu.len && c[k] == ';' &&
					    (k > ds || k > j + 2 + hex)) {
						if (v >= 33 && v <= 126 &&
						    !(hex && v == 0x7f)) {
							sbuf_addc(&t, (int)v);
							j = k;
							continue;
						}
						if (v == 0x2e || v == 12290 ||
						    v == 65294 || v == 65377) {
							sbuf_addc(&t, '.');
							j = k;
							continue;
						}
					}
				}
			}
			sbuf_addc(&t, c[j]);
		}
		take(&nu, &t);
	}
	if (nu.len != n0 || memcmp(nu.p, p, n0) != 0)
		set_add(s, nu.p, nu.len);
	host_variants(s, nu.p, nu.len, depth, chars);
done:
	sbuf_free(&u);
	sbuf_free(&nu);
	sbuf_free(&t);
}

/*
 * Add URI p[0..n) and its uri_list_canonicalize variants to s, whether or
 * not its host is valid (HTML URIs: add_uri_detail_list(..., 'html', 0)).
 * from_text 0 means Perl held the URI as characters (URIs from HTML), so a
 * character up to U+00FF is %-encoded as one byte; 1 means bytes.  seen is
 * the caller's set of URIs already added to s this way, with this from_text.
 */
void
msg_uri_add(struct msg_uriset *s, struct msg_uriset *seen, const char *p,
    size_t n, int from_text)
{
	/*
	 * A page repeats its links, and canonicalising one again adds nothing
	 * (s only grows, so what it dropped when full it drops again).  A key
	 * longer than set_add() keeps would be cut and could match another
	 * URI; those are canonicalised every time.
	 */
	if (n <= MSG_MAX_URI_LENGTH && set_add(seen, p, n) == 0)
		return;
	canonicalize(s, p, n, 0, !from_text);
}


static int
tld_cmp(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

/* RegistryBoundaries is_domain_valid on a lower-case host name. */
static int
tld_valid(const char *host, size_t n)
{
	char		 t[80];
	size_t		 i, d;

	for (i = 0; i < n; i++)
		if (host[i] == ' ' || (host[i] >= '\t' && host[i] <= '\r'))
			return 0;
	for (d = n; d > 0 && host[d - 1] != '.'; d--)
		;
	if (d == 0 || n - d == 0 || n - d >= sizeof(t))
		return 0;
	for (i = d; i < n; i++)
		t[i - d] = (host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 :
		    host[i];
	t[n - d] = '\0';
	return bsearch(t, tlds, sizeof(tlds) / sizeof(tlds[0]),
	    sizeof(tlds[0]), tld_cmp) != NULL;
}

/* Util.pm is_fqdn_valid($host, 1). */
static int
fqdn_valid(const char *h, size_t n)
{
	size_t	i, s, labels = 0, cnt, k;
	char	c;

	while (n > 0 && h[n - 1] == '.')
		n--;
	if (n > 253 || n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (h[i] == '.')
			labels++;
	cnt = labels + 1;
	if (cnt < 2)
		return 0;
	for (s = 0; s <= n; cnt--) {
		for (i = s; i < n && h[i] != '.'; i++)
			;
		if (i - s < 1 || i - s > 63)
			return 0;
		for (k = s; k < i; k++) {
			c = h[k] | 0x20;
			if (!((c >= 'a' && c <= 'z') || (h[k] >= '0' &&
			    h[k] <= '9') || h[k] == '_' || h[k] == '-'))
				return 0;
			if (h[k] == '-' && (k == s || k == i - 1))
				return 0;
			if (h[k] == '_' && cnt <= 2)
				return 0;
		}
		s = i + 1;
	}
	return 1;
}

static int
is_ipv4(const char *h, size_t n)
{
	size_t	i, dots = 0, digits = 0;
	unsigned v = 0;

	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return 0;
			digits = 0;
			v = 0;
		} else if (h[i] >= '0' && h[i] <= '9') {
			v = v * 10 + (h[i] - '0');
			if (++digits > 3 || v > 255)
				return 0;
		} else
			return 0;
	}
	return dots == 3 && digits > 0;
}

/* RegistryBoundaries uri_to_domain: does the URI name a valid domain? */
static int
uri_has_domain(const char *u0, size_t n)
{
	char		*u = xstrndup(u0, n), *h, *e, *at;
	size_t		 i;
	int		 ok = 0;

	for (i = 0; u[i]; i++)
		if (u[i] >= 'A' && u[i] <= 'Z')
			u[i] += 32;
	if (strncmp(u, "javascript:", 11) == 0 || strncmp(u, "cid:", 4) == 0
	    || strncmp(u, "file:", 5) == 0)
		goto out;
	if (strncmp(u, "mailto:", 7) == 0) {
		h = u + 7;
		if ((e = strchr(h, '?')) != NULL)
			*e = '\0';
		if ((at = strchr(h, '@')) == NULL || strchr(at + 1, '@'))
			goto out;
		h = at + 1;
	} else {
		h = u;
		for (i = 0; h[i] >= 'a' && h[i] <= 'z'; i++)
			;
		if (i > 0 && h[i] == ':') {
			h += i + 1;
			for (i = 0; i < 2 && *h == '/'; i++)
				h++;
		}
		h[strcspn(h, "/?#")] = '\0';
		if ((at = strrchr(h, '@')) != NULL)
			h = at + 1;
		/* :\d*$ */
		if ((e = strrchr(h, ':')) != NULL && strspn(e + 1,
		    "0123456789") == strlen(e + 1))
			*e = '\0';
	}
	for (i = 0; h[i]; i++)
		if (h[i] == '%' && h[i + 1] && h[i + 2]) {
			int a = h[i + 1], b = h[i + 2];

			if ((a == '2' && ((b >= '1' && b <= '9') ||
			    (b >= 'a' && b <= 'f'))) ||
			    (a >= '3' && a <= '6' && ((b >= '0' && b <= '9') ||
			    (b >= 'a' && b <= 'f'))) ||
			    (a == '7' && ((b >= '0' && b <= '9') ||
			    (b >= 'a' && b <= 'e'))))
				goto out;
		}
	n = strlen(h);
	ok = is_ipv4(h, n) || (fqdn_valid(h, n) && tld_valid(h, n));
out:
	free(u);
	return ok;
}

/*
 * The character classes of the text URI scan, which asks them of nearly
 * every byte of the text: one table lookup instead of a chain of tests.
 */
#define UC_WORD		0x01	/* \w (ASCII) */
#define UC_END		0x02	/* $tbirdenddelim */
#define UC_END_EMAIL	0x04	/* $tbirdenddelimemail */
#define UC_SC_START	0x08	/* may precede a scheme-less host name */
#define UC_ALNUM_DASH	0x10	/* [a-z0-9-] (any case) */
#define UC_PRE		0x20	/* a match may start after it */
#define UC_HOST		0x40	/* [a-z0-9._-] (any case) */

#define UC_IS_ALNUM(c)	((((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z') || \
	((c) >= '0' && (c) <= '9'))
/* ><"`}]{[| \s \x1b \xa0 */
#define UC_IS_END(c)	((c) == '>' || (c) == '<' || (c) == '"' || \
	(c) == '`' || (c) == '}' || (c) == ']' || (c) == '{' || (c) == '[' || \
	(c) == '|' || (c) == ' ' || ((c) >= '\t' && (c) <= '\r') || \
	(c) == 0x1b || (c) == 0xa0)
/* adds ,(' and all non-ASCII bytes */
#define UC_IS_END_EMAIL(c) (UC_IS_END(c) || (c) == ',' || (c) == '(' || \
	(c) == '\'' || (c) >= 0x80)
/* ASCII punctuation but -._%, and the end delimiters' blanks */
#define UC_IS_SC_START(c) (((c) >= '!' && (c) <= '/' && (c) != '%' && \
	(c) != '-' && (c) != '.') || (c) == ':' || (c) == ';' || \
	((c) >= '<' && (c) <= '@') || ((c) >= '[' && (c) <= '`' && \
	(c) != '_') || ((c) >= '{' && (c) <= '~') || (c) == ' ' || \
	((c) >= '\t' && (c) <= '\r') || (c) == 0x1b || (c) == 0xa0)
#define UC_IS_PRE(c)	(UC_IS_END(c) || (c) == '\'' || (c) == '`' || \
	(c) == ',' || (c) == '(')
#define UC(c)	((UC_IS_ALNUM(c) || (c) == '_' ? UC_WORD : 0) | \
	(UC_IS_END(c) ? UC_END : 0) | (UC_IS_END_EMAIL(c) ? UC_END_EMAIL : 0) | \
	(UC_IS_SC_START(c) ? UC_SC_START : 0) | \
	(UC_IS_ALNUM(c) || (c) == '-' ? UC_ALNUM_DASH : 0) | \
	(UC_IS_PRE(c) ? UC_PRE : 0) | \
	(UC_IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_' ? UC_HOST : 0))

static const unsigned char uri_class[256] = { MSG_TABLE256(UC) };

/* c is a byte value (0..255) in all of these. */
static int
end_delim(int c)
{
	return uri_class[c] & UC_END;
}

static int
end_delim_email(int c)
{
	return uri_class[c] & UC_END_EMAIL;
}

static int
is_word(int c)
{
	return uri_class[c] & UC_WORD;
}

/* The alternatives of PerMsgStatus _tbirdurire at p; 0 if none. */
static size_t
match_known(const unsigned char *p, size_t n)
{
	size_t	k = 0, j;
	int	c = p[0] | 0x20;

	if (c != 'h' && c != 'f' && c != 'w')
		return 0;	/* none of the prefixes below */
	if (n >= 7 && strncasecmp((const char *)p, "http://", 7) == 0)
		k = 7;
	else if (n >= 8 && strncasecmp((const char *)p, "https://", 8) == 0)
		k = 8;
	else if (n >= 6 && strncasecmp((const char *)p, "ftp://", 6) == 0)
		k = 6;
	else if (n >= 4 && strncasecmp((const char *)p, "ftp.", 4) == 0)
		k = 4;
	else if (n >= 4 && strncasecmp((const char *)p, "www", 3) == 0) {
		for (j = 3; j < n && j < 5 && p[j] >= '0' && p[j] <= '9'; j++)
			;
		if (j < n && p[j] == '.')
			k = j + 1;
	}
	if (k == 0)
		return 0;
	for (j = k; j < n && j - k < 2048 && !end_delim(p[j]); j++)
		;
	if (j == k || (j < n && !end_delim(p[j])))
		return 0;
	return j;
}

static size_t
match_mail(const unsigned char *p, size_t n)
{
	size_t	j, k;

	if (n >= 7 && (p[0] | 0x20) == 'm' &&
	    strncasecmp((const char *)p, "mailto:", 7) == 0) {
		for (j = 7; j < n && j - 7 < 2048 && !end_delim_email(p[j]);
		    j++)
			;
		if (j > 7 && (j == n || end_delim_email(p[j])))
			return j;
	}
	for (j = 0; j < n && j < 251 && !end_delim_email(p[j]) &&
	    p[j] != '@'; j++)
		;
	if (j == 0 || j >= n || p[j] != '@')
		return 0;
	for (k = j + 1; k < n && k - j - 1 < 251 && !end_delim_email(p[k]);
	    k++)
		;
	if (k == j + 1 || (k < n && !end_delim_email(p[k])))
		return 0;
	return k;
}

static int
sc_start_delim(int c)
{
	return uri_class[c] & UC_SC_START;
}

static int
alnum_dash(int c)
{
	return uri_class[c] & UC_ALNUM_DASH;
}

/* \.?(?::\d{1,5})?(?:/[^enddelim]{1,2048})?(?=[enddelim]|\z) from e */
static size_t
schemeless_tail(const unsigned char *p, size_t n, size_t e)
{
	size_t	q, q2, k, d, j;
	int	dot;

	for (dot = (e < n && p[e] == '.') ? 1 : 0; dot >= 0; dot--) {
		q = e + dot;
		for (d = 0; q + 1 + d < n && d < 5 && p[q + 1 + d] >= '0' &&
		    p[q + 1 + d] <= '9'; d++)
			;
		for (k = (q < n && p[q] == ':' && d > 0) ? d + 1 : 0; ;
		    k = 0) {
			q2 = q + (k > 0 ? k : 0);
			if (q2 < n && p[q2] == '/') {
				for (j = q2 + 1; j < n && j - q2 - 1 < 2048 &&
				    !end_delim(p[j]); j++)
					;
				if (j > q2 + 1 && (j == n || end_delim(p[j])))
					return j;
			}
			if (q2 == n || end_delim(p[q2]))
				return q2;
			if (k == 0)
				break;
		}
	}
	return 0;
}

static size_t
match_schemeless(const unsigned char *p, size_t n, size_t *host_end)
{
	size_t	run, e, d, end;
	char	c;

	c = p[0] | 0x20;
	if (!((c >= 'a' && c <= 'z') || (p[0] >= '0' && p[0] <= '9')))
		return 0;
	for (run = 1; run < n && run < 252 && (uri_class[p[run]] & UC_HOST);
	    run++)
		;
	/*
	 * The TLD follows a dot inside the run; without one nothing below can
	 * match, and the search below is quadratic in the run's length.
	 */
	if (run < 2 || memchr(p + 1, '.', run - 1) == NULL)
		return 0;
	for (e = run; e >= 3; e--) {
		if (!alnum_dash(p[e - 1]))
			continue;
		/* lookahead after the TLD */
		if (e < n && (alnum_dash(p[e]) || (p[e] == '.' && e + 1 < n &&
		    (alnum_dash(p[e + 1]) && p[e + 1] != '-'))))
			continue;
		for (d = e - 1; d > 0 && alnum_dash(p[d - 1]); d--)
			;
		if (d < 2 || p[d - 1] != '.')
			continue;
		if (!tld_valid((const char *)p + d - 1, e - d + 1))
			continue;
		if ((end = schemeless_tail(p, n, e)) == 0)
			continue;
		*host_end = e;
		return end;
	}
	return 0;
}

/* The trimming TBird does on what the pattern matched. */
static size_t
tb_trim(const char *p, size_t n)
{
	const char	*cp = memchr(p, ')', n), *op = memchr(p, '(', n);

	/* s/(^[^(]*)\).*$/$1/ */
	if (cp != NULL && (op == NULL || op > cp))
		n = cp - p;
	while (n > 0 && p[n - 1] != '\0' &&
	    strchr("-~!@#^&*()_+=:;'?,.", p[n - 1]) != NULL)
		n--;
	return n;
}

/* add_uri_detail_list($uri, ..., valid_domain => 1) */
static void
add_valid(struct msg_uriset *s, const char *u, size_t n)
{
	struct msg_uriset	*tmp = msg_uriset_new();
	size_t			 i;
	int			 ok = 0;

	canonicalize(tmp, u, n, 0, 0);
	for (i = 0; i < tmp->n && !ok; i++)
		ok = uri_has_domain(tmp->v[i], tmp->len[i]);
	if (ok)
		for (i = 0; i < tmp->n; i++)
			set_add(s, tmp->v[i], tmp->len[i]);
	msg_uriset_free(tmp);
}

/* One URI the pattern found in text: _process_text_uri_list's filters. */
static void
text_uri(struct msg_uriset *s, struct msg_uriset *seen, const char *raw,
    size_t n, int type, const char *schost, size_t schost_len)
{
	struct sbuf	 u = SBUF_INIT, t = SBUF_INIT;
	const char	*at, *p;
	size_t		 i, j;

	n = tb_trim(raw, n);
	i = seen->n;
	set_add(seen, raw, n);
	if (seen->n == i)
		return;		/* seen before (or the set is full) */
	at = memchr(raw, '@', n);
	if (type == 'm' && at == NULL)
		return;
	if (type == 's' && !fqdn_valid(schost, schost_len))
		return;
	if (n >= 4 && (strncasecmp(raw, "cid:", 4) == 0 ||
	    strncasecmp(raw, "mid:", 4) == 0))
		return;
	/* ^\w+:\/{0,2}$ */
	for (i = 0; i < n && is_word((unsigned char)raw[i]); i++)
		;
	if (i > 0 && i < n && raw[i] == ':') {
		for (j = i + 1; j < n && j < i + 3 && raw[j] == '/'; j++)
			;
		if (j == n)
			return;
	}
	if (!((n >= 5 && strncasecmp(raw, "http:", 5) == 0) ||
	    (n >= 6 && strncasecmp(raw, "https:", 6) == 0) ||
	    (n >= 4 && strncasecmp(raw, "ftp:", 4) == 0) ||
	    (n >= 7 && strncasecmp(raw, "mailto:", 7) == 0))) {
		const char *sl = memchr(raw, '/', n);

		if (n >= 4 && strncasecmp(raw, "ftp.", 4) == 0)
			sbuf_add(&u, "ftp://", 6);
		else if (n >= 4 && strncasecmp(raw, "www", 3) == 0 &&
		    (raw[3] == '.' || (raw[3] >= '0' && raw[3] <= '9' &&
		    (raw[4] == '.' || (n > 5 && raw[4] >= '0' &&
		    raw[4] <= '9' && raw[5] == '.')))))
			sbuf_add(&u, "http://", 7);
		else if (sl != NULL && at != NULL && at > sl + 1)
			sbuf_add(&u, "http://", 7);
		else if (at != NULL) {
			/* \@.+?\. */
			if (at + 2 >= raw + n || memchr(at + 2, '.',
			    raw + n - at - 2) == NULL)
				goto out;
			if (memmem(raw, n, "&nbsp;", 6) != NULL)
				goto out;
			p = raw;
			/* s/^(?:skype|e?-?mail)?:+//i */
			{
				size_t k = 0;

				if (n >= 5 && strncasecmp(p, "skype", 5) == 0)
					k = 5;
				else {
					if ((p[k] | 0x20) == 'e')
						k++;
					if (p[k] == '-')
						k++;
					if (strncasecmp(p + k, "mail", 4) == 0)
						k += 4;
					else
						k = 0;
				}
				if (p[k] != ':')
					k = 0;
				while (k < n && p[k] == ':')
					k++;
				p += k;
				n -= k;
				raw = p;
			}
			sbuf_add(&u, "mailto:", 7);
		} else {
			if (memchr(raw, '.', n) == NULL)
				goto out;
			sbuf_add(&u, "http://", 7);
		}
	}
	sbuf_add(&u, raw, n);
	if (u.len >= 7 && strncasecmp(u.p, "mailto:", 7) == 0) {
		const char *h, *e;

		if (has_pct(u.p, u.len)) {
			url_decode(u.p, u.len, &t, 0);
			sbuf_reset(&u);
			sbuf_add(&u, t.p, t.len);
		}
		if ((at = memchr(u.p, '@', u.len)) == NULL)
			goto out;
		h = at + 1;
		for (e = h; e < u.p + u.len && *e != '?' && *e != '&' &&
		    *e != '>'; e++)
			;
		while (e - h >= 3 && memcmp(e - 3, "%20", 3) == 0)
			e -= 3;
		{
			char *hh = xstrndup(h, e - h);
			int ok;

			for (i = 0; hh[i]; i++)
				if (hh[i] >= 'A' && hh[i] <= 'Z')
					hh[i] += 32;
			ok = tld_valid(hh, strlen(hh));
			free(hh);
			if (!ok)
				goto out;
		}
	}
	add_valid(s, u.p, u.len);
out:
	sbuf_free(&u);
	sbuf_free(&t);
}

/*
 * Scan one rendered body line for URIs as PerMsgStatus
 * _process_text_uri_list does (scheme://, www., ftp., mailto:, user@host,
 * and bare host names under a valid TLD) and add them with their variants.
 * seen is the per-message set of raw matches already handled.
 */
void
msg_uri_from_text(struct msg_uriset *s, struct msg_uriset *seen,
    const char *line, size_t n)
{
	const unsigned char *p = (const unsigned char *)line, *at = p;
	size_t		 i, e, he = 0;
	int		 scstart;

	for (i = 0; i < n; ) {
		/* on to where a match may start: \b, a delimiter, ESC ( */
		if (i > 0) {
			unsigned char prev = uri_class[p[i - 1]], cur;

			for (; i < n; i++, prev = cur) {
				cur = uri_class[p[i]];
				if (((prev ^ cur) & UC_WORD) || (prev & UC_PRE) ||
				    (i >= 3 && p[i - 2] == '(' &&
				    p[i - 3] == 0x1b))
					break;
			}
			if (i == n)
				break;
		}
		if ((e = match_known(p + i, n - i)) > 0) {
			text_uri(s, seen, line + i, e, 'k', NULL, 0);
			i += e;
			continue;
		}
		/* an address needs an "@" ahead (or "mailto:" here) */
		if (at != NULL && at < p + i)
			at = memchr(p + i, '@', n - i);
		if ((at != NULL || (p[i] | 0x20) == 'm') &&
		    (e = match_mail(p + i, n - i)) > 0) {
			text_uri(s, seen, line + i, e, 'm', NULL, 0);
			i += e;
			continue;
		}
		scstart = i == 0 || sc_start_delim(p[i - 1]);
		if (scstart && (e = match_schemeless(p + i, n - i, &he)) > 0) {
			text_uri(s, seen, line + i, e, 's', line + i, he);
			i += e;
			continue;
		}
		i++;
	}
}

int
msg_host_tld_valid(const char *host, size_t n)
{
	return tld_valid(host, n);
}
