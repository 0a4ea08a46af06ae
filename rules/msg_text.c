/*
 * msg_text.c: the byte-level decoders of the message model: quoted-printable
 * and base64 (RFC 2045 6.7, 6.8), RFC 2047 encoded-words, and charset
 * conversion to UTF-8, each written to give the bytes SpamAssassin 4.0.1 gives
 * (Util.pm qp_decode/base64_decode, Message/Node.pm _normalize and
 * _decode_header), including its tolerance of broken input.
 *
 * Deliberately not done: charset detection (SA runs without
 * Encode::Detect::Detector here, so neither do we), RFC 2231 parameters.
 *
 * Invariants: every decoder appends to the sbuf it is given and never reads
 * past the length it is given; no input makes any of them fail.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "msg_impl.h"
#include "digits.h"
#include "xmalloc.h"

/*
 * Quoted-printable as Util.pm qp_decode: drop blanks before a line end, drop
 * soft line breaks, decode =XX; anything else (a lone "=", "=G1") is kept as
 * it is.  *bad is set when an "=" that is neither is seen.
 */
void
msg_qp_decode(const char *p, size_t n, struct sbuf *out, int *bad)
{
	size_t	 i, j, k;

	sbuf_reserve(out, n);
	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t') {
			/* [ \t]+(?=\r?\n) */
			for (j = i; j < n && (p[j] == ' ' || p[j] == '\t'); j++)
				;
			if ((j < n && p[j] == '\n') ||
			    (j + 1 < n && p[j] == '\r' && p[j + 1] == '\n')) {
				i = j - 1;
				continue;
			}
			sbuf_add(out, p + i, j - i);
			i = j - 1;
			continue;
		}
		if (p[i] != '=') {
			/* a run with no "=" and no blanks before a line end */
			for (j = i + 1; j < n && p[j] != '='; j++) {
				if (p[j] != ' ' && p[j] != '\t')
					continue;
				for (k = j; k < n && (p[k] == ' ' ||
				    p[k] == '\t'); k++)
					;
				if ((k < n && p[k] == '\n') || (k + 1 < n &&
				    p[k] == '\r' && p[k + 1] == '\n'))
					break;
				j = k - 1;
			}
			sbuf_add(out, p + i, j - i);
			i = j - 1;
			continue;
		}
		/* Soft line break "=\r?\n", possibly after dropped blanks. */
		if (i + 1 < n && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < n + 0 && hex_digit((unsigned char)p[i + 1]) >= 0 &&
		    hex_digit((unsigned char)p[i + 2]) >= 0) {
			sbuf_addc(out, hex_digit((unsigned char)p[i + 1]) * 16 +
			    hex_digit((unsigned char)p[i + 2]));
			i += 2;
			continue;
		}
		if (bad != NULL)
			*bad = 1;
		sbuf_addc(out, '=');
	}
}

/*
 * Base64 as Util.pm base64_decode.  Whitespace is ignored.  Clean input of a
 * length divisible by 4 goes through MIME::Base64, with "=" runs that are not
 * at the end read as "A"; anything else goes through the uudecode fallback,
 * which drops non-alphabet bytes and reads a stray "=" as 63.  A final group
 * of 2 or 3 characters yields 1 or 2 bytes; a single leftover is dropped.
 */
void
msg_b64_decode(const char *p, size_t n, struct sbuf *out, int *bad)
{
	unsigned char	*v;
	size_t		 i, m, end, fast;
	unsigned int	 acc;
	int		 c, k;

	v = xmalloc(n + 1);
	m = 0;
	fast = 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f' || c == '\v')
			continue;
		if (b64_digit(c) < 0 && c != '=')
			fast = 0;
		v[m++] = c;
	}
	if (m % 4 != 0 || m < 2)
		fast = 0;
	if (!fast && m > 0 && bad != NULL)
		*bad = 1;
	if (!fast) {
		/* tr{A-Za-z0-9+/=}{}cd */
		for (i = 0, k = 0; i < m; i++)
			if (b64_digit(v[i]) >= 0 || v[i] == '=')
				v[k++] = v[i];
		m = k;
	}
	/* Trailing padding. */
	end = m;
	while (end > 0 && v[end - 1] == '=')
		end--;
	if (fast) {
		/* MIME::Base64 stops at a padding run of more than 2 too. */
		for (i = 0; i < end; i++)
			if (v[i] == '=')
				v[i] = 'A';
	} else {
		for (i = 0; i < end; i++)
			if (v[i] == '=')
				v[i] = '/';
		if (end % 4 == 1)
			end--;
	}
	acc = 0;
	k = 0;
	for (i = 0; i < end; i++) {
		acc = acc << 6 | (unsigned int)b64_digit(v[i]);
		if (++k == 4) {
			sbuf_addc(out, (acc >> 16) & 0xff);
			sbuf_addc(out, (acc >> 8) & 0xff);
			sbuf_addc(out, acc & 0xff);
			acc = 0;
			k = 0;
		}
	}
	if (k == 2)
		sbuf_addc(out, (acc >> 4) & 0xff);
	else if (k == 3) {
		sbuf_addc(out, (acc >> 10) & 0xff);
		sbuf_addc(out, (acc >> 2) & 0xff);
	}
	free(v);
}

/*
 * Length of the well-formed UTF-8 character at p (1..4), or 0 if the bytes
 * there are not one (overlong forms, surrogates and code points above
 * U+10FFFF are refused, as Encode's strict UTF-8 does).
 */
static size_t
utf8_char(const unsigned char *p, size_t n, unsigned long *cp)
{
	unsigned long	c;
	size_t		len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * The length of the run of ASCII bytes (< 0x80) that starts p[0..n).
 * Eight bytes at a time: most mail text is ASCII, and every part is
 * checked for 8-bit bytes before it is converted.
 */
size_t
msg_ascii_run(const char *p, size_t n)
{
	uint64_t	w;
	size_t		i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
	}
	while (i < n && (unsigned char)p[i] < 0x80)
		i++;
	return i;
}

/*
 * 1 if p[0..n) is entirely well-formed UTF-8.
 */
int
msg_utf8_valid(const char *p, size_t n)
{
	unsigned long	cp;
	size_t		i, l;

	for (i = 0; i < n; i += l) {
		if ((unsigned char)p[i] < 0x80) {
			l = msg_ascii_run(p + i, n - i);
			continue;
		}
		if ((l = utf8_char((const unsigned char *)p + i, n - i,
		    &cp)) == 0)
			return 0;
	}
	return 1;
}

/*
 * Length of the whitespace character at p in Perl's Unicode \s sense (ASCII
 * \t\n\v\f\r and space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000), or 0.  SA collapses the body text with
 * s/\s+/ / on a character string, so these all count.
 */
size_t
msg_utf8_ws(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n == 0)
		return 0;
	if (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r'))
		return 1;
	if (n >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (n < 3)
		return 0;
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 ||
	    p[2] == 0xaf))
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
		return 3;
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/*
 * Append code point c (at most U+10FFFF; the caller checks) as UTF-8.
 */
void
msg_put_utf8(struct sbuf *out, unsigned long c)
{
	char	*d;

	if (c < 0x80) {
		sbuf_addc(out, (int)c);
		return;
	}
	sbuf_reserve(out, 4);
	d = out->p + out->len;
	if (c < 0x800) {
		*d++ = (char)(0xc0 | (c >> 6));
		*d++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*d++ = (char)(0xe0 | (c >> 12));
		*d++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*d++ = (char)(0x80 | (c & 0x3f));
	} else {
		*d++ = (char)(0xf0 | (c >> 18));
		*d++ = (char)(0x80 | ((c >> 12) & 0x3f));
		*d++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*d++ = (char)(0x80 | (c & 0x3f));
	}
	*d = '\0';
	out->len = (size_t)(d - out->p);
}

/* Windows-1252 0x80-0x9f; 0 marks the five undefined bytes. */
static const unsigned short cp1252_hi[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};

/* Returns -1 (strict) on an undefined byte. */
static int
cp1252_decode(const char *p, size_t n, int strict, struct sbuf *out)
{
	size_t		i, j;
	unsigned int	c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c < 0x80) {
			j = i + msg_ascii_run(p + i, n - i);
			sbuf_add(out, p + i, j - i);
			i = j - 1;
			continue;
		}
		if (c < 0xa0) {
			if (cp1252_hi[c - 0x80] == 0) {
				if (strict)
					return -1;
				msg_put_utf8(out, 0xfffd);
				continue;
			}
			c = cp1252_hi[c - 0x80];
		}
		msg_put_utf8(out, c);
	}
	return 0;
}

static void
utf8_lenient(const char *p, size_t n, struct sbuf *out)
{
	unsigned long	cp;
	size_t		i, l;

	for (i = 0; i < n; i += l) {
		l = utf8_char((const unsigned char *)p + i, n - i, &cp);
		if (l == 0) {
			msg_put_utf8(out, 0xfffd);
			l = 1;
		} else
			sbuf_add(out, p + i, l);
	}
}

/* Names Encode knows under another name than iconv does. */
static const struct {
	const char	*encode;
	const char	*iconv;
} cs_alias[] = {
	{ "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" },
	{ "ksc5601", "CP949" },
	{ "gb2312", "GBK" },
	{ "x-gbk", "GBK" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "x-sjis", "SHIFT_JIS" },
	{ "x-euc-jp", "EUC-JP" },
	{ "unicode-1-1-utf-7", "UTF-7" },
	{ "x-mac-roman", "MACINTOSH" },
	{ "macintosh", "MACINTOSH" },
};

/*
 * Decode p[0..n) from charset cs into UTF-8.  Returns 0, -1 if strict and the
 * bytes are invalid in cs, -2 if cs is unknown.  out is unchanged on error.
 */
static int
iconv_decode(const char *p, size_t n, const char *cs, int strict,
    struct sbuf *out)
{
	iconv_t		 cd;
	char		*in, *o, buf[4096];
	size_t		 il, ol, i, start;
	const char	*name = cs;

	for (i = 0; i < sizeof(cs_alias) / sizeof(cs_alias[0]); i++)
		if (strcasecmp(cs, cs_alias[i].encode) == 0)
			name = cs_alias[i].iconv;
	/* Encode has no such names; iconv would take them. */
	if (*name == '\0' || strchr(name, '/') != NULL ||
	    strcasecmp(name, "char") == 0 || strcasecmp(name, "wchar_t") == 0)
		return -2;
	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return -2;
	start = out->len;
	in = (char *)(uintptr_t)p;
	il = n;
	while (il > 0) {
		o = buf;
		ol = sizeof(buf);
		if (iconv(cd, &in, &il, &o, &ol) == (size_t)-1) {
			sbuf_add(out, buf, sizeof(buf) - ol);
			if (errno == E2BIG)
				continue;
			if (strict) {
				out->len = start;
				out->p[start] = '\0';
				iconv_close(cd);
				return -1;
			}
			msg_put_utf8(out, 0xfffd);
			if (errno == EINVAL)
				break;
			in++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
			continue;
		}
		sbuf_add(out, buf, sizeof(buf) - ol);
	}
	o = buf;
	ol = sizeof(buf);
	iconv(cd, NULL, NULL, &o, &ol);
	sbuf_add(out, buf, sizeof(buf) - ol);
	iconv_close(cd);
	return 0;
}

static int
ieq_prefix(const char *s, const char *pre)
{
	return strncasecmp(s, pre, strlen(pre)) == 0;
}

static int
all_digits(const char *s, size_t min, size_t max)
{
	size_t	n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		;
	return s[n] == '\0' && n >= min && n <= max;
}

/* (?:US-)?ASCII | ANSI[_ ]?X3.4-(1986|1968) | ISO646-US, whole string */
static int
cs_is_ascii(const char *cs)
{
	const char	*s = cs;

	if (strcasecmp(s, "ascii") == 0 || strcasecmp(s, "us-ascii") == 0 ||
	    strcasecmp(s, "iso646-us") == 0)
		return 1;
	if (!ieq_prefix(s, "ansi"))
		return 0;
	s += 4;
	if (*s == '_' || *s == ' ')
		s++;
	return strcasecmp(s, "x3.4-1986") == 0 ||
	    strcasecmp(s, "x3.4-1968") == 0;
}

/* Charsets SA takes as a superset of ASCII (Node.pm _normalize). */
static int
cs_is_extascii(const char *cs)
{
	const char	*s = cs;
	size_t		 n;

	if (ieq_prefix(s, "iso")) {
		s += 3;
		if (*s == ' ' || *s == '-')
			s++;
		if (!ieq_prefix(s, "8859"))
			return 0;
		s += 4;
		if (*s == '\0')
			return 1;
		return *s == '-' && all_digits(s + 1, 1, 2);
	}
	if (ieq_prefix(s, "windows-"))
		return all_digits(s + 8, 4, 4);
	if (strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0 ||
	    strcasecmp(s, "big5") == 0 || strcasecmp(s, "gbk") == 0)
		return 1;
	if (ieq_prefix(s, "koi8-") || ieq_prefix(s, "euc-")) {
		s = strchr(s, '-') + 1;
		for (n = 0; (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z'); n++)
			;
		return s[n] == '\0' && n >= 1 && n <= 2;
	}
	if (ieq_prefix(s, "gb")) {
		s += 2;
		if (*s == ' ' || *s == '-')
			s++;
		if (!ieq_prefix(s, "18030"))
			return 0;
		s += 5;
		if (*s == '\0')
			return 1;
		return s[0] == '-' && s[1] == '2' && s[2] == '0' &&
		    all_digits(s + 3, 2, 2);
	}
	return 0;
}

/* Node.pm detect_utf16: which byte order the text looks like. */
static const char *
detect_utf16(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t		 i;
	unsigned long	 le = 0, be = 0, se = 0, so = 0;

	if (n >= 2 && ((u[0] == 0xff && u[1] == 0xfe) ||
	    (u[0] == 0xfe && u[1] == 0xff)))
		return "UTF-16";
	for (i = 0; i + 1 < n; i += 2) {
		se += (u[i] >> 4) + (u[i] & 15);
		so += (u[i + 1] >> 4) + (u[i + 1] & 15);
		if (u[i] == 0x20 && u[i + 1] == 0)
			le++;
		if (u[i] == 0 && u[i + 1] == 0x20)
			be++;
	}
	if (se > so * 4)
		le++;
	if (so * 4 > se)
		be++;
	if (le > be)
		return "UTF-16LE";
	if (be > le)
		return "UTF-16BE";
	return NULL;
}

/*
 * Convert p[0..n), declared to be in charset cs (NULL: us-ascii), to UTF-8
 * appended to out, as Node.pm _normalize($_, $cs, 1, $insist) does: valid
 * UTF-8 is taken as such first (unless insist), then the declared charset
 * strictly (leniently if insist; ISO-8859-1 is read as Windows-1252), and
 * Windows-1252 as the last resort.  *bad is set when the declared charset
 * was unknown or did not fit the bytes.  *decoded (if not NULL) is set to
 * 1 when Perl would hold the result as a character string (it was decoded)
 * and to 0 when the octets were passed through: SA then treats them as
 * Latin-1 bytes, which matters for entities and whitespace later.
 */
void
msg_normalize(const char *p, size_t n, const char *cs, int insist,
    struct sbuf *out, int *bad, int *decoded)
{
	int		 has8, tried_utf8 = 0, r;
	const char	*dec;

	if (cs == NULL)
		cs = "us-ascii";
	/* only whether there is any 8-bit byte matters */
	has8 = msg_ascii_run(p, n) < n;
	if (decoded != NULL)
		*decoded = 1;
	if (!has8 && (cs_is_ascii(cs) || cs_is_extascii(cs))) {
		sbuf_add(out, p, n);
		if (decoded != NULL)
			*decoded = 0;
		return;
	}
	if (has8 && !insist) {
		if (msg_utf8_valid(p, n)) {
			sbuf_add(out, p, n);
			return;
		}
		tried_utf8 = 1;
	}
	r = -1;
	if ((strcasecmp(cs, "ascii") == 0 || strcasecmp(cs, "us-ascii") == 0)
	    && !insist)
		;
	else if (ieq_prefix(cs, "utf") && (cs[3] == '-' || cs[3] == ' ' ||
	    cs[3] == '1') && ieq_prefix(cs + (cs[3] == '1' ? 3 : 4), "16")) {
		if ((dec = detect_utf16(p, n)) != NULL)
			r = iconv_decode(p, n, dec, 1, out);
	} else if (strcasecmp(cs, "iso-8859-1") == 0 ||
	    strcasecmp(cs, "iso8859-1") == 0 ||
	    strcasecmp(cs, "windows-1252") == 0 ||
	    strcasecmp(cs, "cp1252") == 0)
		r = cp1252_decode(p, n, !insist, out);
	else if (strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0) {
		if (!tried_utf8) {
			if (insist) {
				utf8_lenient(p, n, out);
				r = 0;
			} else if (msg_utf8_valid(p, n)) {
				sbuf_add(out, p, n);
				r = 0;
			}
		}
	} else
		r = iconv_decode(p, n, cs, !insist, out);
	if (r == 0)
		return;
	if (bad != NULL)
		*bad = 1;
	if (!has8) {
		sbuf_add(out, p, n);
		if (decoded != NULL)
			*decoded = 0;
		return;
	}
	cp1252_decode(p, n, 0, out);
}

/* =?charset?[bqBQ]?text?= at p; returns its length or 0. */
static size_t
encoded_word(const char *p, size_t n, size_t *cs, size_t *cs_len, int *enc,
    size_t *tx, size_t *tx_len)
{
	size_t	i, j;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	for (i = 2; i < n && (((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')
	    || (p[i] >= '0' && p[i] <= '9') || p[i] == '*' || p[i] == '_' ||
	    p[i] == '-'); i++)
		;
	if (i == 2 || i + 3 > n || p[i] != '?' ||
	    strchr("bqBQ", p[i + 1]) == NULL || p[i + 1] == '\0' ||
	    p[i + 2] != '?')
		return 0;
	for (j = i + 3; j < n && p[j] != '?'; j++)
		;
	if (j + 1 >= n || p[j + 1] != '=')
		return 0;
	*cs = 2;
	*cs_len = i - 2;
	*enc = p[i + 1] | 0x20;
	*tx = i + 3;
	*tx_len = j - (i + 3);
	return j + 2;
}

static int
hdr_exempt(const char *name)
{
	static const char *const ex[] = { "received", "message-id", "date",
	    "resent-message-id", "resent-date", "mime-version", "references",
	    "in-reply-to" };
	size_t	i;

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (strcasecmp(name, ex[i]) == 0)
			return 1;
	return strncasecmp(name, "list-", 5) == 0;
}

/*
 * One header value, already unfolded and trimmed, decoded as Node.pm
 * _decode_header($v, $name): raw 8-bit text is normalised to UTF-8, then
 * (except for Received, Message-ID, Date, MIME-Version, References,
 * In-Reply-To and List-*) RFC 2047 encoded-words are decoded; whitespace
 * between two adjacent encoded-words is dropped and consecutive words in one
 * charset are decoded together, so a character split across words survives.
 * name may be NULL (no exemption).  Appends UTF-8 to out.
 */
void
msg_decode_header(const char *v, size_t n, const char *name,
    struct sbuf *out, int *bad)
{
	struct sbuf	 a = SBUF_INIT, b = SBUF_INIT, sect = SBUF_INIT;
	char		 last_cs[80], cur_cs[80], *star;
	size_t		 i, j, l, cs, csl, tx, txl, cs2, csl2, tx2, txl2;
	int		 enc, enc2, have = 0;

	if (n == 0)
		return;
	/* s/\n[ \t]/\n /g; s/\r?\n//g */
	for (i = 0; i < n; i++) {
		if (v[i] == '\n')
			continue;
		if (v[i] == '\r' && i + 1 < n && v[i + 1] == '\n')
			continue;
		if ((v[i] == '\t') && i > 0 && v[i - 1] == '\n')
			sbuf_addc(&a, ' ');
		else
			sbuf_addc(&a, v[i]);
	}
	for (i = 0; i < a.len; i++)
		if ((unsigned char)a.p[i] >= 0x80)
			break;
	if (i < a.len) {
		msg_normalize(a.p, a.len, "UTF-8", 0, &b, bad, NULL);
		sbuf_reset(&a);
		sbuf_add(&a, b.p, b.len);
		sbuf_reset(&b);
	}
	if ((name != NULL && hdr_exempt(name)) || a.len == 0 ||
	    memmem(a.p, a.len, "=?", 2) == NULL) {
		sbuf_add(out, a.p ? a.p : "", a.len);
		goto done;
	}
	/* Drop whitespace between adjacent encoded-words. */
	for (i = 0; i < a.len; ) {
		l = encoded_word(a.p + i, a.len - i, &cs, &csl, &enc, &tx,
		    &txl);
		if (l > 0) {
			for (j = i + l; j < a.len && msg_utf8_ws(a.p + j, 1);
			    j++)
				;
			sbuf_add(&b, a.p + i, l);
			if (j > i + l && encoded_word(a.p + j, a.len - j, &cs2,
			    &csl2, &enc2, &tx2, &txl2) > 0)
				i = j;
			else
				i += l;
			continue;
		}
		sbuf_addc(&b, a.p[i]);
		i++;
	}
	last_cs[0] = '\0';
	for (i = 0; i < b.len; ) {
		l = encoded_word(b.p + i, b.len - i, &cs, &csl, &enc, &tx,
		    &txl);
		if (l > 0) {
			if (csl >= sizeof(cur_cs))
				csl = sizeof(cur_cs) - 1;
			for (j = 0; j < csl; j++)
				cur_cs[j] = (b.p[i + cs + j] >= 'A' &&
				    b.p[i + cs + j] <= 'Z') ?
				    b.p[i + cs + j] + 32 : b.p[i + cs + j];
			cur_cs[csl] = '\0';
		} else
			cur_cs[0] = '\0';
		if (!have || strcmp(cur_cs, last_cs) != 0) {
			if (have) {
				if (last_cs[0] == '\0')
					sbuf_add(out, sect.p, sect.len);
				else {
					if ((star = strchr(last_cs, '*')))
						*star = '\0';
					msg_normalize(sect.p, sect.len,
					    last_cs, 1, out, bad, NULL);
				}
			}
			sbuf_reset(&sect);
			memcpy(last_cs, cur_cs, sizeof(cur_cs));
			have = 1;
		}
		if (l > 0) {
			if (enc == 'b')
				msg_b64_decode(b.p + i + tx, txl, &sect, NULL);
			else {
				struct sbuf q = SBUF_INIT;

				for (j = 0; j < txl; j++) {
					if (b.p[i + tx + j] == '_')
						sbuf_add(&q, "=20", 3);
					else
						sbuf_addc(&q, b.p[i + tx + j]);
				}
				msg_qp_decode(q.p ? q.p : "", q.len, &sect,
				    NULL);
				sbuf_free(&q);
			}
			i += l;
		} else {
			/* ([^=]+|.) */
			j = i + 1;
			if (b.p[i] != '=')
				while (j < b.len && b.p[j] != '=')
					j++;
			sbuf_add(&sect, b.p + i, j - i);
			i = j;
		}
	}
	if (have) {
		if (last_cs[0] == '\0')
			sbuf_add(out, sect.p ? sect.p : "", sect.len);
		else {
			if ((star = strchr(last_cs, '*')))
				*star = '\0';
			msg_normalize(sect.p ? sect.p : "", sect.len, last_cs,
			    1, out, bad, NULL);
		}
	}
done:
	sbuf_free(&a);
	sbuf_free(&b);
	sbuf_free(&sect);
}
