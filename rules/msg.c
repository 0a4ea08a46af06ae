/*
 * msg.c: parse a message into the views SpamAssassin 4.0.1 gives its rules
 * (see msg.h), following Mail::SpamAssassin::Message (new, parse_body,
 * _parse_multipart, _parse_normal, get_body_text_array_common,
 * get_decoded_body_text_array) and Message/Node.pm (header, decode,
 * rendered) step by step, because rule hits depend on their exact quirks:
 * the 2048-byte line splitting inside MIME parts, the "\n" added between
 * parts even for non-text ones, the lenient header and boundary matching.
 *
 * Deliberately not done here: HTML rendering (msg_html.c), URI extraction
 * (msg_uri.c), decoders (msg_text.c); SA's Received-header parser and trust
 * path (X-Spam-Relays-*), which msg_get() reports as not derivable.
 *
 * Invariants: all work is bounded by struct msg_limits (depth, parts,
 * headers, decoded bytes); after msg_parse() the struct msg is never
 * modified; every string it hands out carries a NUL past its length.
 *
 * Fidelity (tools/sa_msgdump.pl vs tools/msgdump, tools/msgcompare.py, all
 * 3015 corpus messages): body, rawbody, full, uri and the header operands of
 * the stock rules agree with SA 4.0.1 on > 99.9% of messages.  Known
 * differences: charsets where glibc iconv and Perl Encode disagree on what
 * is valid (e.g. Big5 extensions: SA falls back to Windows-1252); IDN hosts
 * (SA adds punycode variants, we add no host variants); EnvelopeFrom taken
 * by SA from the Received parser; a few exotic address forms in :addr/:name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "msg_impl.h"
#include "xmalloc.h"

struct mpart {
	struct msg_header *hdr;
	size_t		 nhdr;
	char		*type;		/* lower case, e.g. "text/plain" */
	char		*charset;	/* NULL if none */
	char		*name;		/* file name, NULL if none */
	int		 leaf;
	char		*body;		/* leaves: the undecoded content */
	size_t		 body_len;
	char		*decoded;	/* leaves: after QP/base64 */
	size_t		 decoded_len;
	size_t		 end;		/* one past its last descendant */
	char		*rendered;	/* kept only in multipart/alternative
					   messages (MPART_ALT_DIFF) */
	size_t		 rendered_len;
	long		 html;		/* its m->html entry, or -1 */
};

struct msg {
	unsigned int	 flags;
	struct msg_limits lim;
	char		*full;
	size_t		 full_len;
	size_t		 hdr_len;	/* pristine header bytes in full */
	struct mpart	*parts;
	size_t		 nparts;
	size_t		 decoded_total;
	size_t		 copied_total;	/* bytes copied into MIME part bodies */
	struct msg_str	*body;
	size_t		 nbody;
	struct msg_str	*rawbody;
	size_t		 nrawbody;
	struct msg_str	*uris;
	size_t		 nuris;
	char		*bodybuf;
	char		*rawbuf;
	struct msg_uriset *uriset;
	struct msg_html_stats *html;	/* per rendered text/html part */
	size_t		 nhtml;
};

/* A view of lines: we keep bodies as one buffer and walk it line by line. */
static size_t
line_len(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);

	return nl ? (size_t)(nl - p) + 1 : n;
}

static int
is_sp(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

void
msg_limits_default(struct msg_limits *l)
{
	l->max_depth = MSG_DEPTH_DEFAULT;
	l->max_parts = MSG_PARTS_DEFAULT;
	l->max_headers = MSG_HEADERS_DEFAULT;
	l->max_decoded = MSG_DECODED_DEFAULT;
}

static size_t
new_part(struct msg *m)
{
	m->parts = xreallocarray(m->parts, m->nparts + 1, sizeof(*m->parts));
	memset(&m->parts[m->nparts], 0, sizeof(m->parts[0]));
	m->parts[m->nparts].leaf = 1;
	m->parts[m->nparts].end = m->nparts + 1;
	m->parts[m->nparts].html = -1;
	m->parts[m->nparts].type = xstrdup("text/plain");
	m->parts[m->nparts].body = xstrdup("");
	return m->nparts++;
}

/* A NUL-terminated copy of p[0..n), NULs inside kept (Perl keeps them). */
static char *
memdup(const char *p, size_t n)
{
	char	*d = xmalloc(n + 1);

	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* Node.pm header($key, $value): store raw and decoded. */
static void
add_header(struct msg *m, size_t pi, const char *k, size_t kl, const char *v,
    size_t vl)
{
	struct mpart	*p = &m->parts[pi];
	struct msg_header *h;
	struct sbuf	 un = SBUF_INIT, dec = SBUF_INIT;
	size_t		 i, s, e;
	int		 bad = 0;
	char		*name;

	if (p->nhdr >= m->lim.max_headers) {
		m->flags |= MSG_F_HEADERS_LIMIT;
		return;
	}
	p->hdr = xreallocarray(p->hdr, p->nhdr + 1, sizeof(*p->hdr));
	h = &p->hdr[p->nhdr++];
	name = memdup(k, kl);
	h->name = name;
	h->name_len = kl;
	h->raw = memdup(v, vl);
	h->raw_len = vl;
	/* s/\n[ \t]+/ /g; s/\s+$//; s/^\s+// */
	for (i = 0; i < vl; i++) {
		if (v[i] == '\n' && i + 1 < vl && (v[i + 1] == ' ' ||
		    v[i + 1] == '\t')) {
			while (i + 1 < vl && (v[i + 1] == ' ' ||
			    v[i + 1] == '\t'))
				i++;
			sbuf_addc(&un, ' ');
			continue;
		}
		sbuf_addc(&un, v[i]);
	}
	s = 0;
	e = un.len;
	while (e > 0 && is_sp((unsigned char)un.p[e - 1]))
		e--;
	while (s < e && is_sp((unsigned char)un.p[s]))
		s++;
	msg_decode_header(un.p ? un.p + s : "", e - s, name, &dec, &bad);
	if (bad)
		m->flags |= MSG_F_BAD_CHARSET;
	h->value = memdup(dec.p ? dec.p : "", dec.len);
	h->value_len = dec.len;
	for (i = 0; i < vl; i++)
		if ((unsigned char)v[i] >= 0x80) {
			m->flags |= MSG_F_HDR_8BIT;
			break;
		}
	sbuf_free(&un);
	sbuf_free(&dec);
}

/* The decoded value of the last header named name (scalar header()). */
static const struct msg_header *
last_header(const struct mpart *p, const char *name)
{
	size_t	i, nl = strlen(name);

	for (i = p->nhdr; i > 0; i--)
		if (p->hdr[i - 1].name_len == nl &&
		    strncasecmp(p->hdr[i - 1].name, name, nl) == 0)
			return &p->hdr[i - 1];
	return NULL;
}

/*
 * The value of parameter kw in s, as Util.pm parse_content_type's
 * /\bKW\s*=\s*["']?(.*?)["']?(?:;|$)/i finds it.  Returns a new string or
 * NULL.  withfile also accepts "filename".
 */
static char *
ct_param(const char *s, const char *kw)
{
	size_t		 kl = strlen(kw), i, j, v;

	for (i = 0; s[i]; i++) {
		if (strncasecmp(s + i, kw, kl) != 0)
			continue;
		if (i > 0 && (((s[i - 1] | 0x20) >= 'a' &&
		    (s[i - 1] | 0x20) <= 'z') || (s[i - 1] >= '0' &&
		    s[i - 1] <= '9') || s[i - 1] == '_'))
			continue;
		j = i + kl;
		while (is_sp((unsigned char)s[j]))
			j++;
		if (s[j] != '=')
			continue;
		j++;
		while (is_sp((unsigned char)s[j]))
			j++;
		if (s[j] == '"' || s[j] == '\'')
			j++;
		for (v = j; ; v++) {
			if ((s[v] == '"' || s[v] == '\'') &&
			    (s[v + 1] == ';' || s[v + 1] == '\0'))
				return xstrndup(s + j, v - j);
			if (s[v] == ';' || s[v] == '\0' || s[v] == '\n')
				return xstrndup(s + j, v - j);
		}
	}
	return NULL;
}

/*
 * Util.pm parse_content_type on the decoded Content-Type value ct (NULL
 * when there is none).  Returns the type; sets *boundary, *charset, *name
 * (new strings or NULL) and *missing.
 */
static char *
parse_ct(const char *ct, char **boundary, char **charset, char **name,
    int *missing)
{
	char		*t, *b = NULL;
	size_t		 i, j, k;

	*missing = 0;
	if (ct == NULL || *ct == '\0' || strcmp(ct, "0") == 0) {
		*missing = 1;
		ct = "text/plain; charset=us-ascii";
	}
	/* \bboundary\s*=\s*("[^"]+|[^\s";]+(?=[\s;]|$)) */
	for (i = 0; ct[i] && b == NULL; i++) {
		if (strncasecmp(ct + i, "boundary", 8) != 0 || (i > 0 &&
		    (((ct[i - 1] | 0x20) >= 'a' && (ct[i - 1] | 0x20) <= 'z') ||
		    (ct[i - 1] >= '0' && ct[i - 1] <= '9') ||
		    ct[i - 1] == '_')))
			continue;
		j = i + 8;
		while (is_sp((unsigned char)ct[j]))
			j++;
		if (ct[j] != '=')
			continue;
		j++;
		while (is_sp((unsigned char)ct[j]))
			j++;
		if (ct[j] == '"') {
			for (k = j + 1; ct[k] && ct[k] != '"'; k++)
				;
			if (k > j + 1)
				b = xstrndup(ct + j + 1, k - j - 1);
		} else {
			for (k = j; ct[k] && !is_sp((unsigned char)ct[k]) &&
			    ct[k] != '"' && ct[k] != ';'; k++)
				;
			if (k > j && (ct[k] == '\0' || ct[k] == ';' ||
			    is_sp((unsigned char)ct[k])))
				b = xstrndup(ct + j, k - j);
		}
	}
	*boundary = b;
	*charset = ct_param(ct, "charset");
	*name = ct_param(ct, "name");
	if (*name == NULL)
		*name = ct_param(ct, "filename");
	if (*name != NULL && **name == '\0') {
		free(*name);
		*name = NULL;
	}
	/* strip leading ws; cut at ';'; keep "x/y" up to ws or '/' */
	while (is_sp((unsigned char)*ct))
		ct++;
	for (i = 0; ct[i] && ct[i] != ';' && ct[i] != '/'; i++)
		;
	if (ct[i] == '/')
		for (i++; ct[i] && ct[i] != ';' && ct[i] != '/' &&
		    !is_sp((unsigned char)ct[i]); i++)
			;
	t = xstrndup(ct, i);
	for (k = 0; t[k]; k++)
		if (t[k] >= 'A' && t[k] <= 'Z')
			t[k] += 32;
	if (*t == '\0')
		*missing = 1;
	if (*t == '\0' || (strncmp(t, "text", 4) == 0 && !((t[4] | 0x20) >=
	    'a' && (t[4] | 0x20) <= 'z') && !(t[4] >= '0' && t[4] <= '9') &&
	    t[4] != '_' && strcmp(t, "text/x-vcard") != 0 &&
	    strcmp(t, "text/calendar") != 0 && strcmp(t, "text/html") != 0)) {
		free(t);
		t = xstrdup("text/plain");
	}
	/* tr/\000-\040\177-\377\042\050\051\054\072-\077\100\133-\135//d */
	for (i = 0, k = 0; t[i]; i++) {
		unsigned char c = t[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '(' ||
		    c == ')' || c == ',' || (c >= ':' && c <= '?') ||
		    c == '@' || (c >= '[' && c <= ']'))
			continue;
		t[k++] = c;
	}
	t[k] = '\0';
	return t;
}

/* Node.pm decode(): QP or base64 per Content-Transfer-Encoding. */
static void
decode_part(struct msg *m, struct mpart *p)
{
	const struct msg_header *h = last_header(p, "content-transfer-encoding");
	struct sbuf	 out = SBUF_INIT;
	size_t		 i, k;
	int		 bad = 0, crlf = 0;

	if (p->decoded != NULL)
		return;
	if (h != NULL && strcasecmp(h->value, "quoted-printable") == 0) {
		msg_qp_decode(p->body, p->body_len, &out, &bad);
		if (bad)
			m->flags |= MSG_F_BAD_QP;
		crlf = 1;
	} else if (h != NULL && strcasecmp(h->value, "base64") == 0) {
		msg_b64_decode(p->body, p->body_len, &out, &bad);
		if (bad)
			m->flags |= MSG_F_BAD_BASE64;
		crlf = strncmp(p->type, "text", 4) == 0 ||
		    strncmp(p->type, "message", 7) == 0;
	} else
		sbuf_add(&out, p->body, p->body_len);
	if (crlf && out.len > 0) {
		const char *cr = memchr(out.p, '\r', out.len);

		i = k = cr ? (size_t)(cr - out.p) : out.len;
		for (; i < out.len; i++) {
			if (out.p[i] == '\r' && i + 1 < out.len &&
			    out.p[i + 1] == '\n')
				continue;
			out.p[k++] = out.p[i];
		}
		out.len = k;
	}
	if (m->decoded_total + out.len > m->lim.max_decoded) {
		m->flags |= MSG_F_DECODED_LIMIT;
		out.len = m->decoded_total < m->lim.max_decoded ?
		    m->lim.max_decoded - m->decoded_total : 0;
	}
	m->decoded_total += out.len;
	p->decoded = xmalloc(out.len + 1);
	if (out.len)
		memcpy(p->decoded, out.p, out.len);
	p->decoded[out.len] = '\0';
	p->decoded_len = out.len;
	sbuf_free(&out);
}

static void parse_message(struct msg *, size_t, const char *, size_t, int,
    size_t);
static void dispatch(struct msg *, size_t, const char *, const char *,
    size_t, int, size_t);

/* Message.pm _parse_normal: a leaf. */
static void
parse_normal(struct msg *m, size_t pi, const char *boundary, const char *body,
    size_t len)
{
	struct mpart	*p = &m->parts[pi];
	const struct msg_header *h = last_header(p, "content-type");
	const struct msg_header *d;
	char		*t, *b, *cs, *nm;
	int		 missing;
	const char	*s;

	t = parse_ct(h ? h->value : NULL, &b, &cs, &nm, &missing);
	if (!missing) {
		free(p->type);
		if (strncmp(t, "multipart/", 10) != 0 || boundary != NULL)
			p->type = t;
		else {
			p->type = xstrdup("text/plain");
			free(t);
		}
	} else
		free(t);
	if (p->type == NULL)
		p->type = xstrdup("text/plain");
	free(b);
	free(p->charset);
	p->charset = cs;
	free(p->name);
	p->name = NULL;
	/* name=\s*"?([^";]+)"? in Content-Disposition first */
	if ((d = last_header(p, "content-disposition")) != NULL &&
	    (s = strcasestr(d->value, "name=")) != NULL) {
		s += 5;
		while (is_sp((unsigned char)*s))
			s++;
		if (*s == '"')
			s++;
		if (*s != '\0' && *s != ';' && *s != '"')
			p->name = xstrndup(s, strcspn(s, "\";"));
	}
	if (p->name == NULL)
		p->name = nm;
	else
		free(nm);
	p->leaf = 1;
	free(p->body);
	p->body = xmalloc(len + 1);
	memcpy(p->body, body, len);
	p->body[len] = '\0';
	p->body_len = len;
}

/* ^[\041-\071\073-\176]+[ \t]*: (allow_ws) or ^[\041-\071\073-\176]+: */
static int
is_field_line(const char *l, size_t n, int allow_ws)
{
	size_t	i;

	for (i = 0; i < n && l[i] >= 041 && l[i] <= 0176 && l[i] != ':'; i++)
		;
	if (i == 0)
		return 0;
	if (allow_ws)
		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
	return i < n && l[i] == ':';
}

/* ^--BOUNDARY(--)?\s*$ ; returns 1 for a separator, 2 for the last one */
static int
is_boundary(const char *l, size_t n, const char *b, size_t bl)
{
	size_t	i;
	int	last = 0;

	if (n < bl + 2 || l[0] != '-' || l[1] != '-' ||
	    memcmp(l + 2, b, bl) != 0)
		return 0;
	i = bl + 2;
	if (i + 1 < n + 0 && l[i] == '-' && l[i + 1] == '-') {
		last = 1;
		i += 2;
	}
	for (; i < n; i++)
		if (!is_sp((unsigned char)l[i]))
			break;
	if (i == n)
		return last ? 2 : 1;
	/* (--)? may also match nothing, and "--" then is not whitespace */
	return 0;
}

/* Append a body line, split at 2048 bytes as Message.pm does. */
static void
push_line(struct sbuf *pa, const char *l, size_t n)
{
	while (n > MSG_MAX_BODY_LINE) {
		sbuf_add(pa, l, MSG_MAX_BODY_LINE);
		sbuf_addc(pa, '\n');
		l += MSG_MAX_BODY_LINE;
		n -= MSG_MAX_BODY_LINE;
	}
	sbuf_add(pa, l, n);
}

/* Store a MIME part header line: split on the first colon + blanks. */
static void
store_part_header(struct msg *m, size_t pi, const char *h, size_t n,
    const char *boundary, int *nested)
{
	const char	*c = memchr(h, ':', n);
	size_t		 vs;
	char		*t, *b, *cs, *nm;
	int		 missing;
	const struct msg_header *ct;

	if (c == NULL)
		return;
	vs = (size_t)(c - h) + 1;
	while (vs < n && is_sp((unsigned char)h[vs]))
		vs++;
	add_header(m, pi, h, (size_t)(c - h), h + vs, n - vs);
	if (nested != NULL && boundary != NULL && (size_t)(c - h) == 12 &&
	    strncasecmp(h, "content-type", 12) == 0) {
		ct = last_header(&m->parts[pi], "content-type");
		t = parse_ct(ct ? ct->value : NULL, &b, &cs, &nm, &missing);
		if (b != NULL && strcmp(b, boundary) == 0)
			*nested = 1;
		free(t);
		free(b);
		free(cs);
		free(nm);
	}
}

/* /^[\041-\071\073-\176]+:/: what Message.pm expects after a boundary */
static int
field_start(const char *l, size_t n)
{
	size_t	i;

	for (i = 0; i < n && l[i] >= '!' && l[i] <= '~' && l[i] != ':'; i++)
		;
	return i > 0 && i < n && l[i] == ':';
}

/* Message.pm _parse_multipart. */
static void
parse_multipart(struct msg *m, size_t pi, const char *boundary,
    const char *body, size_t len, int subparse, size_t depth)
{
	size_t		 bl = strlen(boundary), off, ll, child, partcnt = 0;
	const char	*l;
	struct sbuf	 pa = SBUF_INIT, hdr = SBUF_INIT;
	int		 in_body = 0, nested = 0, have_hdr = 0, r, have_pa = 0;
	int		 last, found_last = 0;
	char		*t, *pb, *cs, *nm, *pbound;
	int		 missing;
	const struct msg_header *ct;

	subparse--;
	m->parts[pi].leaf = 0;
	/* Skip the preamble up to the first boundary, if there is one. */
	for (off = 0; off < len; off += ll) {
		ll = line_len(body + off, len - off);
		if (is_boundary(body + off, ll, boundary, bl) == 1) {
			body += off + ll;
			len -= off + ll;
			if (len > 0 && !field_start(body, line_len(body, len)))
				m->flags |= MSG_F_MIME_NO_HEADERS;
			break;
		}
	}
	child = SIZE_MAX;
	for (off = 0; off < len; off += ll) {
		l = body + off;
		ll = line_len(l, len - off);
		last = off + ll >= len;
		r = is_boundary(l, ll, boundary, bl);
		if (r && nested) {
			if (r == 2)
				nested = 0;
			r = 0;
		}
		if (last || r) {
			if (child == SIZE_MAX) {
				if (m->nparts >= m->lim.max_parts) {
					m->flags |= MSG_F_PARTS_LIMIT;
					break;
				}
				child = new_part(m);
			}
			if (!r) {
				push_line(&pa, l, ll);
				have_pa = 1;
			} else if (have_pa && pa.len > 0 &&
			    pa.p[pa.len - 1] == '\n')
				pa.len--;
			ct = last_header(&m->parts[child], "content-type");
			t = parse_ct(ct ? ct->value : NULL, &pb, &cs, &nm,
			    &missing);
			free(cs);
			free(nm);
			free(m->parts[child].type);
			m->parts[child].type = t;
			if (missing && strcmp(m->parts[pi].type,
			    "multipart/digest") == 0) {
				free(m->parts[child].type);
				m->parts[child].type =
				    xstrdup("message/rfc822");
			}
			/*
			 * Each nesting level copies its parts, as SA's line
			 * arrays do; bound the total so that deep nesting
			 * cannot multiply a big message in memory.
			 */
			m->copied_total += pa.len;
			if (m->copied_total / 4 > m->lim.max_decoded) {
				m->flags |= MSG_F_DECODED_LIMIT;
				free(pb);
				break;
			}
			pbound = pb ? pb : xstrdup(boundary);
			dispatch(m, child, pbound, pa.p ? pa.p : "", pa.len,
			    subparse, depth);
			free(pbound);
			if (r == 2) {
				const char *q;

				found_last = 1;
				/* Message.pm: an epilogue is any line with more
				   than blanks and dots after the closing one */
				for (q = l + ll; q < body + len; q++)
					if (*q != '.' && *q != ' ' && *q != '\t' &&
					    *q != '\n' && *q != '\r' &&
					    *q != '\f' && *q != '\v') {
						m->flags |= MSG_F_EPILOGUE;
						break;
					}
				break;
			}
			if (!last && !field_start(l + ll, line_len(l + ll,
			    len - off - ll)))
				m->flags |= MSG_F_MIME_NO_HEADERS;
			if (++partcnt == 1000) {
				m->flags |= MSG_F_PARTS_LIMIT;
				break;
			}
			in_body = 0;
			have_pa = 0;
			have_hdr = 0;
			sbuf_reset(&pa);
			sbuf_reset(&hdr);
			child = SIZE_MAX;
			continue;
		}
		if (child == SIZE_MAX) {
			if (m->nparts >= m->lim.max_parts) {
				m->flags |= MSG_F_PARTS_LIMIT;
				break;
			}
			child = new_part(m);
		}
		if (!in_body) {
			if (is_field_line(l, ll, 1)) {
				if (have_hdr)
					store_part_header(m, child, hdr.p,
					    hdr.len, NULL, NULL);
				sbuf_reset(&hdr);
				sbuf_add(&hdr, l, ll);
				have_hdr = 1;
				continue;
			}
			if ((l[0] == ' ' || l[0] == '\t') && have_hdr) {
				sbuf_add(&hdr, l, ll);
				continue;
			}
			if (have_hdr)
				store_part_header(m, child, hdr.p, hdr.len,
				    boundary, &nested);
			in_body = 1;
			if ((ll == 1 && l[0] == '\n') || (ll == 2 &&
			    l[0] == '\r' && l[1] == '\n') || ll == 0)
				continue;
		}
		push_line(&pa, l, ll);
		have_pa = 1;
	}
	if (!found_last)
		m->flags |= MSG_F_BOUNDARY_OPEN;
	sbuf_free(&pa);
	sbuf_free(&hdr);
}

static void dispatch_part(struct msg *, size_t, const char *, const char *,
    size_t, int, size_t);

/* One part and its subtree, which then ends where the parts do. */
static void
dispatch(struct msg *m, size_t pi, const char *boundary, const char *body,
    size_t len, int subparse, size_t depth)
{
	dispatch_part(m, pi, boundary, body, len, subparse, depth);
	m->parts[pi].end = m->nparts;
}

/* Message.pm parse_body's dispatch for one part. */
static void
dispatch_part(struct msg *m, size_t pi, const char *boundary,
    const char *body, size_t len, int subparse, size_t depth)
{
	struct mpart	*p;
	size_t		 child;

	if (strncmp(m->parts[pi].type ? m->parts[pi].type : "", "multipart/",
	    10) == 0 && boundary != NULL && subparse > 0) {
		if (depth >= m->lim.max_depth) {
			m->flags |= MSG_F_DEPTH_LIMIT;
			parse_normal(m, pi, boundary, body, len);
			return;
		}
		parse_multipart(m, pi, boundary, body, len, subparse,
		    depth + 1);
		return;
	}
	parse_normal(m, pi, boundary, body, len);
	p = &m->parts[pi];
	if (strncmp(p->type, "message/", 8) == 0 &&
	    strcmp(p->type, "message/partial") != 0 && subparse > 0) {
		decode_part(m, p);
		if ((strcmp(p->type, "message/rfc822") == 0 ||
		    strcmp(p->type, "message/global") == 0) &&
		    p->decoded_len > 0) {
			if (depth >= m->lim.max_depth ||
			    m->nparts >= m->lim.max_parts) {
				m->flags |= depth >= m->lim.max_depth ?
				    MSG_F_DEPTH_LIMIT : MSG_F_PARTS_LIMIT;
				return;
			}
			child = new_part(m);
			p = &m->parts[pi];
			p->leaf = 0;
			parse_message(m, child, p->decoded, p->decoded_len,
			    subparse - 1, depth + 1);
		}
	}
}

/* ^\s*$ (a line of whitespace only, its newline included). */
static int
blank_line(const char *l, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!is_sp((unsigned char)l[i]))
			return 0;
	return 1;
}

/*
 * Message.pm new(): headers of a (sub)message, then its body.  For the top
 * level (pi == 0) the pristine text is recorded too.
 */
static void
parse_message(struct msg *m, size_t pi, const char *raw, size_t len,
    int subparse, size_t depth)
{
	struct sbuf	 hdr = SBUF_INIT, body = SBUF_INIT, b2 = SBUF_INIT;
	const char	*l, *last;
	size_t		 off, ll, lastl, i, k, hdr_errors = 0;
	int		 squash = 0, have = 0, top = pi == 0;
	char		*t, *bnd, *cs, *nm;
	int		 missing;
	const struct msg_header *ct;

	off = 0;
	if (len == 0) {
		raw = "\n";
		len = 1;
	}
	/* The mbox separator: ^From\s+(?!:) */
	ll = line_len(raw, len);
	if (ll >= 5 && memcmp(raw, "From", 4) == 0 &&
	    is_sp((unsigned char)raw[4]) && (ll == 5 || raw[5] != ':')) {
		off = ll;
		if (top)
			m->flags |= MSG_F_MBOX_FROM;
	}
	if (top) {
		m->full = xmalloc(len - off + 1);
		memcpy(m->full, raw + off, len - off);
		m->full[len - off] = '\0';
		m->full_len = len - off;
	}
	/* CRLF if the first or the last line has one (bug 4363). */
	ll = line_len(raw + off, len - off);
	if (ll >= 2 && memmem(raw + off, ll, "\r\n", 2) != NULL)
		squash = 1;
	for (last = raw + off, lastl = 0, i = off; i < len; i += k) {
		k = line_len(raw + i, len - i);
		last = raw + i;
		lastl = k;
	}
	if (lastl >= 2 && memmem(last, lastl, "\r\n", 2) != NULL)
		squash = 1;
	if (squash && top)
		m->flags |= MSG_F_CRLF;

	for (;;) {
		int eof = off >= len;

		if (!eof) {
			l = raw + off;
			ll = line_len(l, len - off);
		} else {
			l = squash ? "\r\n" : "\n";
			ll = squash ? 2 : 1;
		}
		if (l[0] == ' ' || l[0] == '\t') {
			sbuf_add(&hdr, l, ll);
			have = 1;
			off += ll;
			continue;
		}
		if (have) {
			const char *c = memchr(hdr.p, ':', hdr.len);

			if (c != NULL) {
				size_t kl = (size_t)(c - hdr.p);
				struct sbuf v = SBUF_INIT;

				for (i = kl + 1; i < hdr.len; i++) {
					if (squash && hdr.p[i] == '\r' &&
					    i + 1 < hdr.len &&
					    hdr.p[i + 1] == '\n')
						continue;
					sbuf_addc(&v, hdr.p[i]);
				}
				while (kl > 0 && (hdr.p[kl - 1] == ' ' ||
				    hdr.p[kl - 1] == '\t'))
					kl--;
				if (kl > MSG_MAX_HDR_KEY) {
					kl = MSG_MAX_HDR_KEY;
					m->flags |= MSG_F_HDR_TRUNC;
				}
				if (v.len > MSG_MAX_HDR_VALUE) {
					v.len = MSG_MAX_HDR_VALUE;
					m->flags |= MSG_F_HDR_TRUNC;
				}
				add_header(m, pi, hdr.p, kl, v.p ? v.p : "",
				    v.len);
				sbuf_free(&v);
			}
			sbuf_reset(&hdr);
			have = 0;
		}
		if ((ll == 1 && l[0] == '\n') || (squash && ll == 2 &&
		    l[0] == '\r' && l[1] == '\n')) {
			if (eof) {
				if (top)
					m->flags |= MSG_F_NO_BODY;
			} else
				off += ll;
			break;
		}
		if (ll >= 2 && l[0] == '-' && l[1] == '-') {
			if (top)
				m->flags |= MSG_F_NO_BODY;
			break;
		}
		if (!is_field_line(l, ll, 1)) {
			if (top)
				m->flags |= MSG_F_HDR_GARBAGE;
			if (++hdr_errors > 3) {
				if (top)
					m->flags |= MSG_F_NO_BODY;
				break;
			}
		}
		sbuf_add(&hdr, l, ll);
		have = 1;
		off += ll;
	}
	sbuf_free(&hdr);
	if (top)
		m->hdr_len = (off < len ? off : len) - (len - m->full_len);

	/*
	 * Body lines, CRLF squashed.  A run of more than 20 blank lines keeps
	 * its first line and its last 19 (Message.pm walks the lines backwards
	 * and splices out the middle); a run that starts the body keeps two.
	 */
	{
		/* ls[j]: where line j starts; ls[nl] == len ends the last */
		size_t	*ls = NULL, nl = 0, cap = 0, a, b, j;
		char	*keep;

		for (i = off; ; i += ll) {
			if (nl == cap) {
				cap = cap ? cap * 2 : 256;
				ls = xreallocarray(ls, cap, sizeof(*ls));
			}
			ls[nl] = i;
			if (i >= len)
				break;
			ll = line_len(raw + i, len - i);
			nl++;
		}
		keep = xmalloc(nl + 1);
		memset(keep, 1, nl + 1);
		for (a = 0; a < nl; a = b + 1) {
			b = a;
			if (!blank_line(raw + ls[a], ls[a + 1] - ls[a]))
				continue;
			while (b + 1 < nl && blank_line(raw + ls[b + 1],
			    ls[b + 2] - ls[b + 1]))
				b++;
			k = b - a + 1;
			if (a > 0 && k > 20)
				for (j = a + 1; j < b - 18; j++)
					keep[j] = 0;
			else if (a == 0 && k - 1 > 20)
				for (j = 2; j < b - 18; j++)
					keep[j] = 0;
		}
		sbuf_reserve(&body, len - (off < len ? off : len));
		for (j = 0; j < nl; j++) {
			if (!keep[j])
				continue;
			if (!squash) {
				/* kept lines next to each other, in one go */
				for (a = j + 1; a < nl && keep[a]; a++)
					;
				sbuf_add(&body, raw + ls[j], ls[a] - ls[j]);
				j = a - 1;
				continue;
			}
			l = raw + ls[j];
			ll = ls[j + 1] - ls[j];
			if (ll >= 2 && l[ll - 2] == '\r' && l[ll - 1] == '\n') {
				sbuf_add(&body, l, ll - 2);
				sbuf_addc(&body, '\n');
			} else
				sbuf_add(&body, l, ll);
		}
		free(ls);
		free(keep);
	}
	ct = last_header(&m->parts[pi], "content-type");
	t = parse_ct(ct ? ct->value : NULL, &bnd, &cs, &nm, &missing);
	free(cs);
	free(nm);
	free(m->parts[pi].type);
	m->parts[pi].type = t;
	/* Bug 6845: a multipart body must start with a blank line or the
	 * boundary, or its first lines would be taken for part headers. */
	if (strncmp(t, "multipart/", 10) == 0 && body.len > 0 &&
	    memchr(body.p, '\n', body.len) != NULL &&
	    (size_t)((char *)memchr(body.p, '\n', body.len) - body.p) + 1 <
	    body.len) {
		size_t fl = line_len(body.p, body.len), j;

		for (j = 0; j < fl && is_sp((unsigned char)body.p[j]); j++)
			;
		if (j < fl && (bnd == NULL || fl < strlen(bnd) + 2 ||
		    body.p[0] != '-' || body.p[1] != '-' ||
		    memcmp(body.p + 2, bnd, strlen(bnd)) != 0)) {
			sbuf_addc(&b2, '\n');
			sbuf_add(&b2, body.p, body.len);
			sbuf_free(&body);
			body = b2;
		}
	}
	dispatch(m, pi, bnd, body.p ? body.p : "", body.len, subparse, depth);
	free(bnd);
	sbuf_free(&body);
}

/*
 * The strings of a list view (body, rawbody), packed into one buffer, each
 * followed by a NUL.  Offsets, not pointers, until pack_done(): the buffer
 * moves as it grows.
 */
struct pack {
	struct sbuf	 buf;
	size_t		*offs;		/* start and length of each string */
	size_t		 n;
	size_t		 cap;
};

static void
pack_add(struct pack *pk, const char *p, size_t l)
{
	if (pk->n == pk->cap) {
		pk->cap = pk->cap ? pk->cap * 2 : 64;
		pk->offs = xreallocarray(pk->offs, pk->cap,
		    2 * sizeof(*pk->offs));
	}
	pk->offs[2 * pk->n] = pk->buf.len;
	pk->offs[2 * pk->n + 1] = l;
	pk->n++;
	sbuf_add(&pk->buf, p, l);
	sbuf_addc(&pk->buf, '\0');
}

/*
 * The strings of pk as an array of *n (plus a zeroed one), pointing into
 * the buffer, which goes to *bufp.  Both then belong to the caller.
 */
static struct msg_str *
pack_done(struct pack *pk, char **bufp, size_t *n)
{
	struct msg_str	*v = xcalloc(pk->n + 1, sizeof(*v));
	size_t		 i;

	for (i = 0; i < pk->n; i++) {
		v[i].p = pk->buf.p + pk->offs[2 * i];
		v[i].len = pk->offs[2 * i + 1];
	}
	*bufp = pk->buf.p;
	*n = pk->n;
	free(pk->offs);
	return v;
}

/* Split into lines of at most 2048 bytes, broken after a space. */
static void
short_lines(const char *p, size_t n, struct pack *pk)
{
	size_t	i, ll, take, j;

	for (i = 0; i < n; i += ll) {
		ll = line_len(p + i, n - i);
		while (ll > MSG_MAX_BODY_LINE) {
			/* rindex($line, ' ', 2048) + 1 || 2048 */
			take = 0;
			for (j = MSG_MAX_BODY_LINE + 1; j > 0; j--)
				if (p[i + j - 1] == ' ') {
					take = j;
					break;
				}
			if (take == 0)
				take = MSG_MAX_BODY_LINE;
			pack_add(pk, p + i, take);
			i += take;
			ll -= take;
		}
		pack_add(pk, p + i, ll);
	}
}

static size_t
utf8_chars(const char *p, size_t n)
{
	size_t	i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Byte offset of character number ch. */
static size_t
utf8_offset(const char *p, size_t n, size_t ch)
{
	size_t	i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80) {
			if (c == ch)
				return i;
			c++;
		}
	return n;
}

static const char *
effective_type(const struct mpart *p)
{
	size_t	l;
	const char *n = p->name;

	if (n != NULL && (l = strlen(n)) >= 4) {
		/* \.s?html?$ */
		const char *e = n + l;

		if (strcasecmp(e - 4, ".htm") == 0 ||
		    (l >= 5 && (strcasecmp(e - 5, ".html") == 0 ||
		    strcasecmp(e - 5, ".shtm") == 0)) ||
		    (l >= 6 && strcasecmp(e - 6, ".shtml") == 0))
			return "text/html";
	}
	return p->type;
}

/*
 * Perl's \s on a character string (chars) or on a byte string.  Asked of
 * every byte of the body text, so ASCII is answered here.
 */
static size_t
ws(const char *p, size_t n, int chars)
{
	unsigned char	c = (unsigned char)*p;

	if (c < 0x80)
		return c == ' ' || (c >= '\t' && c <= '\r');
	if (chars)
		return msg_utf8_ws(p, n);
	return 0;
}

/* The length of the run at p with no whitespace (and no NUL if nul). */
static size_t
text_run(const char *p, size_t n, int chars, int nul)
{
	size_t		i;
	unsigned char	c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c > ' ' && c < 0x80)
			continue;
		if ((nul && c == '\0') || ws(p + i, n - i, chars) > 0)
			break;
	}
	return i;
}

/* get_body_text_array_common('rendered') and the text URI scan. */
static void
build_body(struct msg *m, struct sbuf *htmluris)
{
	struct sbuf	 text = SBUF_INIT, rnd = SBUF_INIT, z = SBUF_INIT;
	struct sbuf	 out = SBUF_INIT;
	const struct msg_header *subj;
	size_t		 pi, i, j, w, nl, first_nl, last_nl;
	struct mpart	*p;
	const char	*et;
	int		 bad, dec, chars = 0, keep = 0;

	/* multipart_alternative_difference compares the parts' renderings */
	for (pi = 0; pi < m->nparts && !keep; pi++)
		keep = strcmp(m->parts[pi].type, "multipart/alternative") == 0;
	for (pi = 0; pi < m->nparts; pi++) {
		p = &m->parts[pi];
		if (!p->leaf)
			continue;
		if (text.len > 0)
			sbuf_addc(&text, '\n');
		et = effective_type(p);
		if (strcmp(et, "text/plain") != 0 &&
		    strcmp(et, "text/html") != 0)
			continue;
		decode_part(m, p);
		sbuf_reset(&rnd);
		bad = 0;
		dec = 0;
		if (p->decoded_len > 0 && strcmp(et, "text/html") == 0) {
			struct sbuf u = SBUF_INIT;

			msg_normalize(p->decoded, p->decoded_len, p->charset,
			    0, &u, &bad, &dec);
			m->html = xreallocarray(m->html, m->nhtml + 1,
			    sizeof(*m->html));
			p->html = (long)m->nhtml;
			dec = msg_html_render(u.p ? u.p : "", u.len, dec, &rnd,
			    htmluris, &m->html[m->nhtml++]);
			sbuf_free(&u);
		} else
			msg_normalize(p->decoded, p->decoded_len, p->charset,
			    0, &rnd, &bad, &dec);
		if (dec)
			chars = 1;
		if (bad)
			m->flags |= MSG_F_BAD_CHARSET;
		if (keep) {
			p->rendered = memdup(rnd.p ? rnd.p : "", rnd.len);
			p->rendered_len = rnd.len;
		}
		if (rnd.len > MSG_BODY_SCAN_SIZE &&
		    utf8_chars(rnd.p, rnd.len) > MSG_BODY_SCAN_SIZE) {
			size_t s = utf8_offset(rnd.p, rnd.len,
			    MSG_BODY_SCAN_SIZE), idx;
			const char *q = memchr(rnd.p + s, '\n', rnd.len - s);

			idx = q ? (size_t)(q - rnd.p) : SIZE_MAX;
			if (q == NULL || utf8_chars(rnd.p + s, idx - s) > 1024) {
				q = memchr(rnd.p + s, ' ', rnd.len - s);
				idx = q ? (size_t)(q - rnd.p) : SIZE_MAX;
				if (q == NULL ||
				    utf8_chars(rnd.p + s, idx - s) > 1024)
					idx = s - 1;
			}
			rnd.len = idx + 1;
		}
		sbuf_add(&text, rnd.p ? rnd.p : "", rnd.len);
	}
	/*
	 * Perl held the text as bytes if no part was decoded to characters:
	 * then the Latin-1 characters entities gave are single bytes, and \s
	 * is ASCII whitespace only.
	 */
	if (!chars) {
		for (i = 0; i < text.len && (unsigned char)text.p[i] != 0xc2 &&
		    (unsigned char)text.p[i] != 0xc3; i++)
			;
		for (j = i; i < text.len; i++, j++) {
			unsigned char c = text.p[i];

			if ((c == 0xc2 || c == 0xc3) && i + 1 < text.len) {
				text.p[j] = (char)(((c & 3) << 6) |
				    (text.p[i + 1] & 0x3f));
				i++;
			} else
				text.p[j] = text.p[i];
		}
		text.len = j;
	}
	/* s/\n+\s*\n+/\x00/g: in each whitespace run, first..last "\n". */
	sbuf_reserve(&z, text.len);
	for (i = 0; i < text.len; ) {
		if (ws(text.p + i, text.len - i, chars) == 0) {
			j = i + text_run(text.p + i, text.len - i, chars, 0);
			sbuf_add(&z, text.p + i, j - i);
			i = j;
			continue;
		}
		nl = 0;
		first_nl = last_nl = SIZE_MAX;
		for (j = i; j < text.len &&
		    (w = ws(text.p + j, text.len - j, chars)) > 0; j += w)
			if (text.p[j] == '\n') {
				if (first_nl == SIZE_MAX)
					first_nl = j;
				last_nl = j;
				nl++;
			}
		if (nl >= 2) {
			sbuf_add(&z, text.p + i, first_nl - i);
			sbuf_addc(&z, '\0');
			sbuf_add(&z, text.p + last_nl + 1, j - last_nl - 1);
		} else
			sbuf_add(&z, text.p + i, j - i);
		i = j;
	}
	/* s/\s+/ /g; tr/\x00/\n/ */
	sbuf_reserve(&out, z.len);
	for (i = 0; i < z.len; ) {
		if (ws(z.p + i, z.len - i, chars) > 0) {
			while (i < z.len && (w = ws(z.p + i, z.len - i,
			    chars)) > 0)
				i += w;
			sbuf_addc(&out, ' ');
			continue;
		}
		j = i + text_run(z.p + i, z.len - i, chars, 1);
		if (j > i) {
			sbuf_add(&out, z.p + i, j - i);
			i = j;
		} else {
			sbuf_addc(&out, '\n');
			i++;
		}
	}
	sbuf_reset(&text);
	subj = last_header(&m->parts[0], "subject");
	if (subj != NULL)
		sbuf_add(&text, subj->value, subj->value_len);
	sbuf_addc(&text, '\n');
	sbuf_add(&text, out.p ? out.p : "", out.len);
	{
		struct pack pk = { SBUF_INIT, NULL, 0, 0 };

		short_lines(text.p, text.len, &pk);
		m->body = pack_done(&pk, &m->bodybuf, &m->nbody);
	}
	/* URIs in the rendered text. */
	{
		struct msg_uriset *seen = msg_uriset_new();

		for (i = 0; i < m->nbody; i++)
			msg_uri_from_text(m->uriset, seen, m->body[i].p,
			    m->body[i].len);
		msg_uriset_free(seen);
	}
	sbuf_free(&text);
	sbuf_free(&rnd);
	sbuf_free(&z);
	sbuf_free(&out);
}

/* split_into_array_of_short_paragraphs */
static void
short_paragraphs(const char *p, size_t n, struct pack *pk)
{
	size_t		 ofs, j;
	const char	*q;

	if (n <= MSG_MAX_BODY_LINE) {
		pack_add(pk, p, n);
		return;
	}
	for (ofs = 0; n - ofs > 2 * MSG_MAX_BODY_LINE; ofs = j + 1) {
		q = memchr(p + ofs + MSG_MAX_BODY_LINE, '\n',
		    n - ofs - MSG_MAX_BODY_LINE);
		j = q ? (size_t)(q - p) : SIZE_MAX;
		if (q == NULL || j - ofs + 1 > 2 * MSG_MAX_BODY_LINE) {
			q = memchr(p + ofs + MSG_MAX_BODY_LINE, '>',
			    n - ofs - MSG_MAX_BODY_LINE);
			j = q ? (size_t)(q - p) : SIZE_MAX;
			if (q == NULL || j - ofs + 1 > 2 * MSG_MAX_BODY_LINE) {
				q = memchr(p + ofs + MSG_MAX_BODY_LINE, ' ',
				    n - ofs - MSG_MAX_BODY_LINE);
				j = q ? (size_t)(q - p) : SIZE_MAX;
				if (q == NULL ||
				    j - ofs + 1 > 2 * MSG_MAX_BODY_LINE)
					j = ofs + MSG_MAX_BODY_LINE;
			}
		}
		pack_add(pk, p + ofs, j - ofs + 1);
	}
	if (ofs < n)
		pack_add(pk, p + ofs, n - ofs);
}

/* get_decoded_body_text_array */
static void
build_rawbody(struct msg *m)
{
	struct pack	 pk = { SBUF_INIT, NULL, 0, 0 };
	size_t		 pi, n, s;
	struct mpart	*p;
	const char	*et, *q;

	for (pi = 0; pi < m->nparts; pi++) {
		p = &m->parts[pi];
		if (!p->leaf)
			continue;
		et = effective_type(p);
		/* ^(?:text|message)\b */
		if (!((strncmp(et, "text", 4) == 0 && !((et[4] | 0x20) >= 'a'
		    && (et[4] | 0x20) <= 'z') && !(et[4] >= '0' &&
		    et[4] <= '9') && et[4] != '_') ||
		    (strncmp(et, "message", 7) == 0 && !((et[7] | 0x20) >= 'a'
		    && (et[7] | 0x20) <= 'z') && !(et[7] >= '0' &&
		    et[7] <= '9') && et[7] != '_')))
			continue;
		if (strcmp(p->type, "text/calendar") == 0)
			continue;
		decode_part(m, p);
		n = p->decoded_len;
		s = MSG_RAWBODY_SCAN_SIZE;
		if (n > s) {
			size_t idx;

			q = memchr(p->decoded + s, '\n', n - s);
			idx = q ? (size_t)(q - p->decoded) : SIZE_MAX;
			if (q == NULL || idx - s > 1024) {
				q = memchr(p->decoded + s, '>', n - s);
				idx = q ? (size_t)(q - p->decoded) : SIZE_MAX;
				if (q == NULL || idx - s > 1024) {
					q = memchr(p->decoded + s, ' ', n - s);
					idx = q ? (size_t)(q - p->decoded) :
					    SIZE_MAX;
					if (q == NULL || idx - s > 1024)
						idx = s - 1;
				}
			}
			n = idx + 1;
		}
		short_paragraphs(p->decoded, n, &pk);
	}
	m->rawbody = pack_done(&pk, &m->rawbuf, &m->nrawbody);
}

struct msg *
msg_parse(const char *raw, size_t len, const struct msg_limits *lim)
{
	struct msg	*m;
	struct sbuf	 htmluris = SBUF_INIT;
	struct msg_uriset *seen;
	size_t		 i, n, l;
	const char	*u;

	m = xcalloc(1, sizeof(*m));
	msg_limits_default(&m->lim);
	if (lim != NULL) {
		if (lim->max_depth)
			m->lim.max_depth = lim->max_depth;
		if (lim->max_parts)
			m->lim.max_parts = lim->max_parts;
		if (lim->max_headers)
			m->lim.max_headers = lim->max_headers;
		if (lim->max_decoded)
			m->lim.max_decoded = lim->max_decoded;
	}
	if (raw == NULL)
		raw = "";
	if (memchr(raw, '\0', len) != NULL)
		m->flags |= MSG_F_NUL;
	m->uriset = msg_uriset_new();
	new_part(m);
	parse_message(m, 0, raw, len, 20, 0);
	build_body(m, &htmluris);
	seen = msg_uriset_new();
	for (i = 0; i < htmluris.len; i += l + 1) {
		u = htmluris.p + i;
		l = strlen(u);
		msg_uri_add(m->uriset, seen, u, l, 0);
	}
	msg_uriset_free(seen);
	sbuf_free(&htmluris);
	build_rawbody(m);
	n = msg_uriset_count(m->uriset);
	m->uris = xcalloc(n + 1, sizeof(*m->uris));
	for (i = 0; i < n; i++)
		m->uris[i].p = msg_uriset_get(m->uriset, i, &m->uris[i].len);
	m->nuris = n;
	return m;
}

void
msg_free(struct msg *m)
{
	size_t	i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->nparts; i++) {
		for (j = 0; j < m->parts[i].nhdr; j++) {
			free((char *)(uintptr_t)m->parts[i].hdr[j].name);
			free((char *)(uintptr_t)m->parts[i].hdr[j].raw);
			free((char *)(uintptr_t)m->parts[i].hdr[j].value);
		}
		free(m->parts[i].hdr);
		free(m->parts[i].type);
		free(m->parts[i].charset);
		free(m->parts[i].name);
		free(m->parts[i].body);
		free(m->parts[i].decoded);
		free(m->parts[i].rendered);
	}
	free(m->parts);
	free(m->full);
	free(m->body);
	free(m->bodybuf);
	free(m->rawbody);
	free(m->rawbuf);
	free(m->uris);
	msg_uriset_free(m->uriset);
	for (i = 0; i < m->nhtml; i++)
		msg_html_stats_free(&m->html[i]);
	free(m->html);
	free(m);
}

unsigned int
msg_flags(const struct msg *m)
{
	return m->flags;
}

const struct msg_header *
msg_headers(const struct msg *m, size_t *n)
{
	*n = m->parts[0].nhdr;
	return m->parts[0].hdr;
}

const struct msg_str *
msg_body(const struct msg *m, size_t *n)
{
	*n = m->nbody;
	return m->body;
}

const struct msg_str *
msg_rawbody(const struct msg *m, size_t *n)
{
	*n = m->nrawbody;
	return m->rawbody;
}

const char *
msg_full(const struct msg *m, size_t *len)
{
	*len = m->full_len;
	return m->full;
}

const struct msg_str *
msg_uris(const struct msg *m, size_t *n)
{
	*n = m->nuris;
	return m->uris;
}

size_t
msg_part_count(const struct msg *m)
{
	return m->nparts;
}

/* msg_get.c holds the header lookup; it needs the part headers. */
const struct msg_header *msg_part_headers(const struct msg *, size_t,
    size_t *);
const char *msg_pristine_header(const struct msg *, size_t *);

const struct msg_header *
msg_part_headers(const struct msg *m, size_t idx, size_t *n)
{
	if (idx >= m->nparts) {
		*n = 0;
		return NULL;
	}
	*n = m->parts[idx].nhdr;
	return m->parts[idx].hdr;
}

const char *
msg_pristine_header(const struct msg *m, size_t *n)
{
	*n = m->hdr_len;
	return m->full;
}

int
msg_part_info(const struct msg *m, size_t idx, struct msg_part_info *out)
{
	const struct mpart *p;

	if (idx >= m->nparts)
		return -1;
	p = &m->parts[idx];
	out->type = p->type;
	out->charset = p->charset;
	out->leaf = p->leaf;
	out->body = p->body != NULL ? p->body : "";
	out->body_len = p->body != NULL ? p->body_len : 0;
	out->decoded = p->decoded != NULL ? p->decoded : out->body;
	out->decoded_len = p->decoded != NULL ? p->decoded_len : out->body_len;
	out->end = p->end;
	out->rendered = p->rendered;
	out->rendered_len = p->rendered_len;
	out->html = p->html;
	return 0;
}

const struct msg_html_stats *
msg_html(const struct msg *m, size_t *n)
{
	*n = m->nhtml;
	return m->html;
}

size_t
msg_body_length(const struct msg *m)
{
	return m->full_len > m->hdr_len ? m->full_len - m->hdr_len : 0;
}
