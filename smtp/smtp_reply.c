/*
 * smtp_reply.c: SMTP replies in both directions (see smtp_reply.h).
 *
 * Purpose: format our own replies so that nothing taken from a client can
 * break their framing; read the backend's replies line by line, strictly
 * enough that a confused or hostile backend cannot make us pass on
 * something that is not a reply; and read the capabilities the backend
 * announces in its EHLO reply.
 *
 * Deliberately not done here: no choice of codes or texts (the session
 * decides), no I/O, no logging.  Backend reply text is kept byte for byte
 * (only the line end is normalised to CRLF) so it can be relayed faithfully.
 *
 * Invariants: r->text always holds exactly r->nlines lines, each ending in
 * CRLF, all starting with the same three-digit code r->code; it never grows
 * past SMTP_REPLY_MAX_BYTES or SMTP_REPLY_MAX_LINES.
 */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "smtp_reply.h"

/*
 * smtp_reply_add: see smtp_reply.h.  code must be 200..599 (asserted: a bad
 * code is a bug in the caller, not input).  One trailing '\n' ends the
 * text rather than adding an empty line.  A CR right before a '\n' is
 * dropped so that "a\r\nb" makes two lines rather than "a?".  An empty line
 * of text gets no trailing SP: RFC 5321 4.2 textstring is 1*char, so
 * "250 " would be ungrammatical.  Bytes >= 0x80 pass (RFC 6531 replies).
 */
void
smtp_reply_add(struct sbuf *out, int code, const char *enh, const char *text)
{
	const unsigned char *p, *eol;
	int has_enh = enh != NULL && *enh != '\0', last, empty;

	assert(code >= 200 && code <= 599);
	if (text == NULL)
		text = "";
	p = (const unsigned char *)text;
	for (;;) {
		eol = (const unsigned char *)strchr((const char *)p, '\n');
		if (eol == NULL)
			eol = p + strlen((const char *)p);
		last = *eol == '\0' || eol[1] == '\0';
		empty = eol == p ||
		    (eol - p == 1 && *p == '\r' && *eol == '\n');
		sbuf_printf(out, "%03d", code);
		if (!last)
			sbuf_addc(out, '-');
		else if (has_enh || !empty)
			sbuf_addc(out, ' ');
		if (has_enh) {
			sbuf_adds(out, enh);
			if (!empty)
				sbuf_addc(out, ' ');
		}
		for (; p < eol; p++) {
			if (*p == '\r' && p + 1 == eol && *eol == '\n')
				break;
			sbuf_addc(out, *p < 0x20 || *p == 0x7f ? '?' : *p);
		}
		sbuf_add(out, "\r\n", 2);
		if (last)
			break;
		p = eol + 1;
	}
}

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

void
smtp_reply_free(struct smtp_reply *r)
{
	sbuf_free(&r->text);
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	sbuf_reset(&r->text);
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
}

/*
 * enh_code: length of an RFC 3463 enhanced status code "c.sss.ddd" at
 * s[0..n) followed by SP or the end, or 0.  RFC 2034 3: the class must be
 * 2, 4 or 5 and equal the first digit of the reply code; subject and
 * detail are 1*3digit.
 */
static size_t
enh_code(const char *s, size_t n, int code)
{
	size_t i, k;
	int part;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[0] - '0' != code / 100 || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		if (part == 1) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		for (k = 0; i < n && s[i] >= '0' && s[i] <= '9' && k < 4; k++)
			i++;
		if (k == 0 || k > 3)
			return 0;
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

/*
 * smtp_reply_feed: see smtp_reply.h.  Beyond the header: the code must be
 * 200..599 (RFC 5321 4.2.1; 1yz is not used by SMTP); a NUL, CR or LF
 * inside the line is BAD, because relaying it could break the client's
 * view of the reply framing.  After DONE or BAD, call smtp_reply_reset()
 * before feeding the next reply; a BAD reply leaves r unchanged.
 */
enum smtp_reply_status
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	int code, last;
	size_t k;

	if (len < 3 || r->nlines >= SMTP_REPLY_MAX_LINES ||
	    len > SMTP_REPLY_MAX_BYTES - 2 ||
	    r->text.len + len + 2 > SMTP_REPLY_MAX_BYTES)
		return SMTP_REPLY_BAD;
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return SMTP_REPLY_BAD;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->code != 0 && code != r->code)
		return SMTP_REPLY_BAD;
	if (len == 3)
		last = 1;
	else if (line[3] == ' ')
		last = 1;
	else if (line[3] == '-')
		last = 0;
	else
		return SMTP_REPLY_BAD;
	if (memchr(line, '\0', len) != NULL ||
	    memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL)
		return SMTP_REPLY_BAD;

	if (r->nlines == 0 && len > 4) {
		k = enh_code(line + 4, len - 4, code);
		if (k > 0 && k < sizeof(r->enh)) {
			memcpy(r->enh, line + 4, k);
			r->enh[k] = '\0';
		}
	}
	r->code = code;
	r->nlines++;
	sbuf_add(&r->text, line, len);
	sbuf_add(&r->text, "\r\n", 2);
	return last ? SMTP_REPLY_DONE : SMTP_REPLY_MORE;
}

/*
 * line_at: start and length (without CRLF) of line i of r->text; -1 if
 * there is no such line.
 */
static int
line_at(const struct smtp_reply *r, int i, const char **sp, size_t *lenp)
{
	const char *p, *end, *eol;

	if (i < 0 || i >= r->nlines || r->text.p == NULL)
		return -1;
	p = r->text.p;
	end = p + r->text.len;
	for (;;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			return -1;
		if (i-- == 0) {
			*sp = p;
			*lenp = (size_t)(eol - p);
			if (*lenp > 0 && p[*lenp - 1] == '\r')
				(*lenp)--;
			return 0;
		}
		p = eol + 1;
	}
}

/*
 * smtp_reply_line_text: see smtp_reply.h.  A missing line gives "".  The
 * enhanced code is stripped when the line carries one of the reply's class
 * (any line, not only the first).  bufsz 0 writes nothing.
 */
void
smtp_reply_line_text(const struct smtp_reply *r, int i, char *buf,
    size_t bufsz)
{
	const char *s;
	size_t len, k;

	if (bufsz == 0)
		return;
	buf[0] = '\0';
	if (line_at(r, i, &s, &len) == -1 || len <= 4)
		return;
	s += 4;
	len -= 4;
	if ((k = enh_code(s, len, r->code)) > 0) {
		s += k;
		len -= k;
		if (len > 0) {
			s++;
			len--;
		}
	}
	if (len >= bufsz)
		len = bufsz - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
}

/*
 * word_list: append the SP-separated words of s[0..n) to dst (capacity
 * dstsz, NUL-terminated, SP-separated), upper-cased, skipping words already
 * present.  RFC 4422 3.1 sasl-mech is 1*20 of A-Z 0-9 - _; XCLIENT and
 * XFORWARD attribute names are the same kind of token.  Words that do not
 * fit that syntax are dropped rather than passed on, as these lists may be
 * echoed to clients; a word that does not fit in dst is dropped whole.
 */
static void
word_list(char *dst, size_t dstsz, const char *s, size_t n)
{
	char w[21];
	size_t i = 0, wl, dl, j;
	const char *d;
	int ok, dup;

	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		wl = 0;
		ok = 1;
		for (; i < n && s[i] != ' '; i++) {
			char c = s[i];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (!((c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_') ||
			    wl >= 20)
				ok = 0;
			else
				w[wl++] = c;
		}
		if (!ok || wl == 0)
			continue;
		w[wl] = '\0';
		dup = 0;
		for (d = dst; *d != '\0'; d += j) {
			while (*d == ' ')
				d++;
			j = strcspn(d, " ");
			if (j == wl && memcmp(d, w, wl) == 0)
				dup = 1;
		}
		if (dup)
			continue;
		dl = strlen(dst);
		if (dl + (dl > 0) + wl + 1 > dstsz)
			continue;
		if (dl > 0)
			dst[dl++] = ' ';
		memcpy(dst + dl, w, wl + 1);
	}
}

/*
 * keyword: 1 if line text t[0..n) starts with kw (case-insensitive)
 * followed by the end or SP (or '=' when eq_ok, the pre-RFC "AUTH=" form);
 * *restp then points past the separator.
 */
static int
keyword(const char *t, size_t n, const char *kw, int eq_ok,
    const char **restp, size_t *restn)
{
	size_t kl = strlen(kw);

	if (n < kl || strncasecmp(t, kw, kl) != 0)
		return 0;
	if (n > kl && t[kl] != ' ' && !(eq_ok && t[kl] == '='))
		return 0;
	*restp = t + (n > kl ? kl + 1 : kl);
	*restn = n > kl ? n - kl - 1 : 0;
	return 1;
}

/*
 * smtp_ehlo_parse: see smtp_reply.h.  out is zeroed first; a reply that is
 * not a 250 leaves it zeroed.  The first line is the greeting (RFC 5321
 * 4.1.1.1) and is skipped.  SIZE without a number, or with one that does
 * not fit, gives size 0 ("no limit announced", RFC 1870 4).
 */
void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out)
{
	static const struct {
		const char	*kw;
		unsigned	 flag;
	} simple[] = {
		{ "PIPELINING", SMTP_EXT_PIPELINING },
		{ "8BITMIME", SMTP_EXT_8BITMIME },
		{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED },
		{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
		{ "STARTTLS", SMTP_EXT_STARTTLS },
		{ "CHUNKING", SMTP_EXT_CHUNKING },
		{ "DSN", SMTP_EXT_DSN },
	};
	const char *t, *rest;
	size_t n, rn, j;
	unsigned long long v;
	unsigned d;
	int i, ok;

	memset(out, 0, sizeof(*out));
	if (r->code != 250)
		return;
	for (i = 1; i < r->nlines; i++) {
		if (line_at(r, i, &t, &n) == -1)
			break;
		if (n <= 4)
			continue;
		t += 4;
		n -= 4;
		for (j = 0; j < sizeof(simple) / sizeof(simple[0]); j++)
			if (keyword(t, n, simple[j].kw, 0, &rest, &rn))
				out->exts |= simple[j].flag;
		if (keyword(t, n, "SIZE", 0, &rest, &rn)) {
			out->exts |= SMTP_EXT_SIZE;
			v = 0;
			ok = rn > 0;
			for (j = 0; j < rn && rest[j] != ' '; j++) {
				d = (unsigned)(rest[j] - '0');
				if (rest[j] < '0' || rest[j] > '9' ||
				    v > (~0ULL - d) / 10) {
					ok = 0;
					break;
				}
				v = v * 10 + d;
			}
			out->size = ok ? v : 0;
		} else if (keyword(t, n, "AUTH", 1, &rest, &rn)) {
			out->exts |= SMTP_EXT_AUTH;
			word_list(out->auth, sizeof(out->auth), rest, rn);
		} else if (keyword(t, n, "XCLIENT", 0, &rest, &rn)) {
			out->exts |= SMTP_EXT_XCLIENT;
			word_list(out->xclient, sizeof(out->xclient), rest, rn);
		} else if (keyword(t, n, "XFORWARD", 0, &rest, &rn)) {
			out->exts |= SMTP_EXT_XFORWARD;
			word_list(out->xforward, sizeof(out->xforward), rest,
			    rn);
		}
	}
}

/*
 * smtp_xtext_encode: see smtp_reply.h (RFC 3461 4: xchar is 33..126 except
 * '+' and '='; everything else is "+" and two upper-case hex digits).
 * Appends to out; s is NUL-terminated.
 */
void
smtp_xtext_encode(struct sbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char enc[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=') {
			sbuf_addc(out, *p);
			continue;
		}
		enc[0] = '+';
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 0x0f];
		sbuf_add(out, enc, 3);
	}
}
