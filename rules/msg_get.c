/*
 * msg_get.c: SpamAssassin's header lookup for `header` rules
 * (PerMsgStatus.pm get()/_get(), Check.pm do_head_tests), over the header
 * fields msg.c parsed: NAME, NAME:raw, NAME:addr, NAME:name, :first, :last,
 * ALL, ALL:raw, ToCc, MESSAGEID, and the same lookup on MIME part headers
 * for `mimeheader` rules.
 *
 * Deliberately not done: the pseudo-headers SA builds from its Received
 * parser and trust path (X-Spam-Relays-*, ALL-TRUSTED/-INTERNAL/-EXTERNAL/
 * -UNTRUSTED, EnvelopeFrom), and :host/:domain/:ip/:revip, which need the
 * TLD registry; msg_get() returns -1 for them so the caller can tell.
 * Address parsing is a simplification of Util.pm parse_header_addresses
 * that handles the common forms (name <addr>, addr (comment), lists,
 * groups).
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "msg_impl.h"
#include "xmalloc.h"

const struct msg_header *msg_part_headers(const struct msg *, size_t,
    size_t *);
const char *msg_pristine_header(const struct msg *, size_t *);

struct vals {
	struct sbuf	 buf;	/* the values back to back */
	size_t		*off;	/* value i is buf.p[off[2i]], off[2i+1] long */
	size_t		 n;
};

#define VALS_INIT { SBUF_INIT, NULL, 0 }

static void
vals_add(struct vals *v, const char *p, size_t n)
{
	v->off = xreallocarray(v->off, 2 * (v->n + 1), sizeof(*v->off));
	v->off[2 * v->n] = v->buf.len;
	v->off[2 * v->n + 1] = n;
	sbuf_add(&v->buf, p, n);
	v->n++;
}

static const char *
vals_get(const struct vals *v, size_t i, size_t *len)
{
	*len = v->off[2 * i + 1];
	return v->buf.p + v->off[2 * i];
}

static void
vals_free(struct vals *v)
{
	sbuf_free(&v->buf);
	free(v->off);
	v->off = NULL;
	v->n = 0;
}

static int
is_sp(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* get_header($name, $raw) in list context (raw: folds become one space). */
static void
get_header(const struct msg_header *h, size_t nh, const char *name,
    size_t namel, int raw, int exact_raw, struct vals *out)
{
	size_t		i, j;
	struct sbuf	t = SBUF_INIT;

	for (i = 0; i < nh; i++) {
		/*
		 * Names that differ in the first letter skip the call (| 0x20
		 * folds at least what strncasecmp() folds in the C locale).
		 */
		if (h[i].name_len != namel || (namel > 0 &&
		    (h[i].name[0] | 0x20) != (name[0] | 0x20)) ||
		    strncasecmp(h[i].name, name, namel) != 0)
			continue;
		if (exact_raw)
			vals_add(out, h[i].raw, h[i].raw_len);
		else if (raw) {
			/* s/\015?\012\s+/ /gs */
			sbuf_reset(&t);
			for (j = 0; j < h[i].raw_len; j++) {
				size_t k = j;

				if (h[i].raw[k] == '\r' && k + 1 <
				    h[i].raw_len && h[i].raw[k + 1] == '\n')
					k++;
				if (h[i].raw[k] == '\n' && k + 1 <
				    h[i].raw_len && is_sp((unsigned char)
				    h[i].raw[k + 1])) {
					k++;
					while (k < h[i].raw_len && is_sp(
					    (unsigned char)h[i].raw[k]))
						k++;
					sbuf_addc(&t, ' ');
					j = k - 1;
					continue;
				}
				sbuf_addc(&t, h[i].raw[j]);
			}
			vals_add(out, t.p ? t.p : "", t.len);
		} else {
			sbuf_reset(&t);
			sbuf_add(&t, h[i].value, h[i].value_len);
			sbuf_addc(&t, '\n');
			vals_add(out, t.p, t.len);
		}
	}
	sbuf_free(&t);
}

/*
 * Remove (comments), honouring nesting and backslashes; the text of the
 * comments goes to comment.  Returns how many comments there were.
 */
static int
strip_comments(const char *p, size_t n, struct sbuf *o, struct sbuf *comment)
{
	size_t	i;
	int	depth = 0, cnt = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n && depth > 0) {
			i++;
			continue;
		}
		if (p[i] == '(') {
			if (depth++ == 0)
				cnt++;
			continue;
		}
		if (p[i] == ')' && depth > 0) {
			depth--;
			continue;
		}
		if (depth > 0) {
			if (comment != NULL)
				sbuf_addc(comment, p[i]);
			continue;
		}
		sbuf_addc(o, p[i]);
	}
	return cnt;
}

static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && is_sp((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && is_sp((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

/*
 * The byte sets the address scans stop at, looked up instead of a strchr()
 * per byte, which profiles showed under every address lookup.  NUL is in
 * every set: strchr() finds the terminator, so the scans stopped there.
 */
#define AC_LOCAL	0x01	/* <>()[],:; */
#define AC_DOMAIN	0x02	/* "<>()[],:; */
#define AC_GROUP	0x04	/* "()<> */
static const unsigned char addr_class[256] = {
	['\0'] = AC_LOCAL | AC_DOMAIN | AC_GROUP,
	['"'] = AC_DOMAIN | AC_GROUP,
	['<'] = AC_LOCAL | AC_DOMAIN | AC_GROUP,
	['>'] = AC_LOCAL | AC_DOMAIN | AC_GROUP,
	['('] = AC_LOCAL | AC_DOMAIN | AC_GROUP,
	[')'] = AC_LOCAL | AC_DOMAIN | AC_GROUP,
	['['] = AC_LOCAL | AC_DOMAIN,
	[']'] = AC_LOCAL | AC_DOMAIN,
	[','] = AC_LOCAL | AC_DOMAIN,
	[':'] = AC_LOCAL | AC_DOMAIN,
	[';'] = AC_LOCAL | AC_DOMAIN,
};

/* Util.pm $header_address_mailre, anchored, and _valid_parsed_address. */
static int
looks_like_addr(const char *p, size_t n)
{
	size_t	i = 0, j;

	if (n == 0)
		return 0;
	if (p[0] == '"') {
		for (i = 1; i < n && p[i] != '"'; i++)
			if (p[i] == '\\')
				i++;
		if (i >= n || i == 1)
			return 0;	/* unterminated, or ""@ */
		i++;
	} else {
		for (; i < n && p[i] != '@' && !is_sp((unsigned char)p[i]) &&
		    !(addr_class[(unsigned char)p[i]] & AC_LOCAL); i++)
			;
		if (i == 0)
			return 0;
	}
	if (i >= n || p[i] != '@')
		return 0;
	j = ++i;
	if (i < n && p[i] == '[') {
		for (i++; i < n && ((p[i] >= '0' && p[i] <= '9') ||
		    p[i] == ':' || p[i] == '.'); i++)
			;
		return i + 1 == n && p[i] == ']' && i > j + 1;
	}
	for (; i < n && !is_sp((unsigned char)p[i]) &&
	    !(addr_class[(unsigned char)p[i]] & AC_DOMAIN); i++)
		;
	if (i != n || i == j)
		return 0;
	/* exactly one double quote is refused */
	for (i = 0, j = 0; i < n; i++)
		if (p[i] == '"')
			j++;
	return j != 1;
}

/*
 * One header value -> addresses or display names, appended to out.
 */
static void
parse_addresses(const char *s, size_t n, int want_name, int raw,
    struct vals *out)
{
	size_t		 i, st, e;
	int		 q = 0, ang = 0, par = 0;
	struct sbuf	 item = SBUF_INIT;
	const char	*p;

	trim(&s, &n);
	/*
	 * s/^[^"()<>]+:\s*(.*?)\s*(?:;.*)?/$1/: a group name (up to the last
	 * colon before any of "()<>) goes; if a ";" follows, all of it does.
	 */
	{
		size_t last = SIZE_MAX;

		for (i = 0; i < n && !(addr_class[(unsigned char)s[i]] &
		    AC_GROUP); i++)
			if (s[i] == ':')
				last = i;
		if (last != SIZE_MAX && last > 0) {
			i = last + 1;
			while (i < n && is_sp((unsigned char)s[i]))
				i++;
			if (i < n && s[i] == ';')
				i = n;
			s += i;
			n -= i;
		}
	}
	for (st = 0, i = 0; i <= n; i++) {
		if (i < n) {
			if (s[i] == '\\' && i + 1 < n) {
				i++;
				continue;
			}
			if (s[i] == '"' && !par)
				q = !q;
			else if (!q && s[i] == '(')
				par++;
			else if (!q && s[i] == ')' && par > 0)
				par--;
			else if (!q && !par && s[i] == '<')
				ang = 1;
			else if (!q && !par && s[i] == '>')
				ang = 0;
			if (q || par || ang || s[i] != ',')
				continue;
		}
		p = s + st;
		e = i - st;
		st = i + 1;
		trim(&p, &e);
		if (e == 0)
			continue;
		{
			const char	*lt = NULL, *gt = NULL;
			struct sbuf	 addr = SBUF_INIT, ph = SBUF_INIT;
			struct sbuf	 com = SBUF_INIT;
			size_t		 k;
			int		 qq = 0, ncom = 0;

			for (k = 0; k < e; k++) {
				if (p[k] == '"')
					qq = !qq;
				if (!qq && p[k] == '<' && lt == NULL)
					lt = p + k;
				if (!qq && p[k] == '>' && lt != NULL &&
				    gt == NULL)
					gt = p + k;
			}
			if (lt != NULL && gt != NULL) {
				strip_comments(lt + 1, gt - lt - 1, &addr,
				    NULL);
				sbuf_add(&ph, p, lt - p);
			} else {
				ncom = strip_comments(p, e, &addr, &com);
			}
			{
				const char *a = addr.p ? addr.p : "";
				size_t al = addr.len;

				trim(&a, &al);
				if (!want_name) {
					if (looks_like_addr(a, al)) {
						/* s/^([^@]*@[^@]*).*$/$1/ */
						const char *a2 = memchr(a, '@',
						    al);

						a2 = memchr(a2 + 1, '@',
						    al - (a2 + 1 - a));
						vals_add(out, a, a2 ? (size_t)
						    (a2 - a) : al);
					}
				} else {
					/*
					 * The phrase before <addr>, quotes
					 * and comments removed; failing that
					 * the comment after a bare address,
					 * even an empty one.
					 */
					const char *x = ph.p ? ph.p : "";
					size_t xl = ph.len;
					struct sbuf un = SBUF_INIT;
					struct sbuf dec = SBUF_INIT;
					int have = 0, inq = 0;

					for (k = 0; k < xl; k++) {
						if (x[k] == '"') {
							inq = !inq;
							continue;
						}
						if (inq && x[k] == '\\' &&
						    k + 1 < xl) {
							sbuf_addc(&un, x[++k]);
							continue;
						}
						if (!inq && x[k] == '(') {
							int d = 0;

							for (; k < xl; k++) {
								if (x[k] == '(')
									d++;
								else if (x[k] ==
								    ')' && --d
								    == 0)
									break;
							}
							continue;
						}
						sbuf_addc(&un, x[k]);
					}
					have = un.len > 0;
					if (!have && ncom > 0) {
						sbuf_add(&un, com.p ? com.p :
						    "", com.len);
						have = 1;
					}
					if (have && raw)
						vals_add(out, un.p ? un.p : "",
						    un.len);
					else if (have) {
						msg_decode_header(un.p ? un.p :
						    "", un.len, NULL, &dec, NULL);
						for (k = 0; k < dec.len &&
						    is_sp((unsigned char)
						    dec.p[k]); k++)
							;
						if (k == dec.len) {
							/* no \S: as it is */
							vals_add(out, dec.p ?
							    dec.p : "", dec.len);
							goto named;
						}
						/* collapse, trim, unquote '' */
						sbuf_reset(&un);
						for (k = 0; k < dec.len; k++) {
							if (is_sp((unsigned char)
							    dec.p[k])) {
								if (un.len > 0 &&
								    un.p[un.len - 1]
								    != ' ')
									sbuf_addc(&un,
									    ' ');
								continue;
							}
							sbuf_addc(&un, dec.p[k]);
						}
						x = un.p ? un.p : "";
						xl = un.len;
						trim(&x, &xl);
						if (xl >= 2 && x[0] == '\'' &&
						    x[xl - 1] == '\'') {
							x++;
							xl -= 2;
						}
						vals_add(out, x, xl);
					}
named:
					sbuf_free(&un);
					sbuf_free(&dec);
				}
			}
			sbuf_free(&addr);
			sbuf_free(&ph);
			sbuf_free(&com);
		}
	}
	sbuf_free(&item);
}

static int lookup(const struct msg *, const struct msg_header *, size_t,
    const char *, int, struct sbuf *);

/*
 * Does a field named name come after a Received field?  Any one of them,
 * not only the first: SA's test is get("ALL") =~
 * /^Received:.*?^Return-Path:/smi, so a Return-Path a list server added
 * below its own Received lines makes even a topmost one untrusted.
 */
static int
received_before(const struct msg_header *h, size_t nh, const char *name)
{
	size_t	i, nl = strlen(name);

	for (i = 0; i < nh; i++)
		if (h[i].name_len == 8 && strncasecmp(h[i].name, "Received",
		    8) == 0)
			break;
	for (i++; i < nh; i++)
		if (h[i].name_len == nl && strncasecmp(h[i].name, name, nl) == 0)
			return 1;
	return 0;
}

/*
 * PerMsgStatus get_envelope_from without envelope_sender_header, minus its
 * first step (the envfrom SA's Received parser found for the last untrusted
 * relay, which this model does not have): X-Sender from fetchmail means
 * unknown, then X-Envelope-From, Envelope-Sender, Return-Path, each only if
 * no Received field precedes it.
 */
static int
envelope_from(const struct msg *m, const struct msg_header *h, size_t nh,
    struct sbuf *out)
{
	static const char *const hdrs[] = { "X-Envelope-From",
	    "Envelope-Sender", "Return-Path" };
	struct sbuf	 t = SBUF_INIT;
	size_t		 i;
	char		 spec[64];
	int		 r = 0;

	if (lookup(m, h, nh, "X-Sender:first:addr", 1, &t) == 1 &&
	    t.len > 0 && memchr(t.p, '@', t.len) != NULL) {
		for (i = 0; i < nh; i++)
			if (h[i].name_len == 8 && strncasecmp(h[i].name,
			    "Received", 8) == 0 && strstr(h[i].value,
			    "(fetchmail") != NULL)
				goto out;
	}
	for (i = 0; i < 3; i++) {
		snprintf(spec, sizeof(spec), "%s:first:addr", hdrs[i]);
		if (lookup(m, h, nh, spec, 1, &t) != 1)
			continue;
		if (received_before(h, nh, hdrs[i])) {
			if (i == 0)
				goto out;
			continue;
		}
		sbuf_reset(out);
		sbuf_add(out, t.p, t.len);
		r = 1;
		break;
	}
out:
	sbuf_free(&t);
	if (r == 0)
		sbuf_reset(out);
	return r;
}

static int
lookup(const struct msg *m, const struct msg_header *h, size_t nh,
    const char *spec, int top, struct sbuf *out)
{
	struct vals	 v = VALS_INIT, r = VALS_INIT;
	char		 name[300];
	const char	*c, *x;
	size_t		 nl, i, l;
	int		 raw = 0, addr = 0, nm = 0, first = 0, last = 0;
	int		 ret;

	sbuf_reset(out);
	c = strchr(spec, ':');
	nl = c ? (size_t)(c - spec) : strlen(spec);
	if (nl >= sizeof(name))
		return -1;
	memcpy(name, spec, nl);
	name[nl] = '\0';
	while (c != NULL) {
		const char *mod = c + 1, *e = strchr(mod, ':');
		size_t ml = e ? (size_t)(e - mod) : strlen(mod);

		if (ml == 3 && strncmp(mod, "raw", 3) == 0)
			raw = 1;
		else if (ml == 4 && strncmp(mod, "addr", 4) == 0)
			addr = 1;
		else if (ml == 4 && strncmp(mod, "name", 4) == 0)
			nm = 1;
		else if (ml == 5 && strncmp(mod, "first", 5) == 0)
			first = 1;
		else if (ml == 4 && strncmp(mod, "last", 4) == 0)
			last = 1;
		else if ((ml == 4 && strncmp(mod, "host", 4) == 0) ||
		    (ml == 6 && strncmp(mod, "domain", 6) == 0) ||
		    (ml == 2 && strncmp(mod, "ip", 2) == 0) ||
		    (ml == 5 && strncmp(mod, "revip", 5) == 0))
			return -1;
		c = e;
	}
	if (top && strcmp(name, "ALL") == 0) {
		if (raw) {
			x = msg_pristine_header(m, &l);
			/* Field lines; the empty line ending the header is
			 * not one. */
			if (l >= 1 && x[l - 1] == '\n' && (l == 1 ||
			    x[l - 2] == '\n'))
				l--;
			sbuf_add(out, x, l);
		} else {
			size_t size = 0;

			for (i = 0; i < nh; i++) {
				size += h[i].name_len + h[i].value_len + 3;
				if (size > MSG_MAX_HDR_LENGTH)
					break;
				sbuf_add(out, h[i].name, h[i].name_len);
				sbuf_add(out, ": ", 2);
				sbuf_add(out, h[i].value, h[i].value_len);
				sbuf_addc(out, '\n');
			}
		}
		return 1;
	}
	if (top && strcasecmp(name, "EnvelopeFrom") == 0)
		return envelope_from(m, h, nh, out);
	if (top && (strncmp(name, "ALL-", 4) == 0 ||
	    strncasecmp(name, "X-Spam-Relays-", 14) == 0))
		return -1;
	if (top && strcasecmp(name, "ToCc") == 0) {
		get_header(h, nh, "To", 2, raw, 0, &v);
		get_header(h, nh, "Cc", 2, raw, 0, &v);
	} else if (top && strcmp(name, "MESSAGEID") == 0) {
		static const char *const ids[] = { "X-Message-Id",
		    "Resent-Message-Id", "X-Original-Message-ID",
		    "Message-Id" };
		struct vals t = VALS_INIT;

		for (i = 0; i < 4; i++)
			get_header(h, nh, ids[i], strlen(ids[i]), raw, 0, &t);
		for (i = 0; i < t.n; i++) {
			x = vals_get(&t, i, &l);
			if (l > 0)
				vals_add(&v, x, l);
		}
		vals_free(&t);
	} else
		get_header(h, nh, name, nl, raw, raw || addr || nm, &v);
	if (v.n == 0) {
		vals_free(&v);
		return 0;
	}
	if (first || last) {
		x = vals_get(&v, first ? 0 : v.n - 1, &l);
		vals_add(&r, x, l);
		vals_free(&v);
		v = r;
		r = (struct vals)VALS_INIT;
	}
	if (addr || nm) {
		for (i = 0; i < v.n; i++) {
			x = vals_get(&v, i, &l);
			parse_addresses(x, l, nm, raw, &r);
		}
		vals_free(&v);
		v = r;
	}
	/* join($harr[0] =~ /\n\z/ ? "" : "\n", @harr) */
	ret = v.n > 0 ? 1 : 0;
	{
		int sep = 0;

		for (i = 0; i < v.n; i++) {
			x = vals_get(&v, i, &l);
			if (i == 0)
				sep = !(l > 0 && x[l - 1] == '\n');
			else if (sep)
				sbuf_addc(out, '\n');
			sbuf_add(out, x, l);
		}
	}
	vals_free(&v);
	return ret;
}

int
msg_get(const struct msg *m, const char *spec, struct sbuf *out)
{
	const struct msg_header *h;
	size_t			 nh;

	h = msg_headers(m, &nh);
	return lookup(m, h, nh, spec, 1, out);
}

int
msg_part_get(const struct msg *m, size_t idx, const char *spec,
    struct sbuf *out)
{
	const struct msg_header	*h;
	size_t			 nh, i, nl, j;
	int			 raw = 0;
	struct vals		 v = VALS_INIT;
	const char		*x;

	sbuf_reset(out);
	h = msg_part_headers(m, idx, &nh);
	if (h == NULL && idx >= msg_part_count(m))
		return 0;
	nl = strlen(spec);
	if (nl > 4 && strcmp(spec + nl - 4, ":raw") == 0) {
		raw = 1;
		nl -= 4;
	}
	if (nl == 3 && strncmp(spec, "ALL", 3) == 0) {
		/* get_all_headers($raw): "Name: value\n" per field */
		for (i = 0; i < nh; i++) {
			sbuf_add(out, h[i].name, h[i].name_len);
			sbuf_add(out, ": ", 2);
			get_header(&h[i], 1, h[i].name, h[i].name_len, raw, 0,
			    &v);
			x = vals_get(&v, v.n - 1, &j);
			sbuf_add(out, x, j);
		}
		vals_free(&v);
		return 1;
	}
	/* Scalar get_header / raw_header: the last instance only. */
	for (i = nh; i > 0; i--)
		if (h[i - 1].name_len == nl &&
		    strncasecmp(h[i - 1].name, spec, nl) == 0)
			break;
	if (i == 0)
		return raw;	/* raw_header gives '' (defined), header undef */
	if (raw)
		sbuf_add(out, h[i - 1].raw, h[i - 1].raw_len);
	else {
		sbuf_add(out, h[i - 1].value, h[i - 1].value_len);
		sbuf_addc(out, '\n');
	}
	return 1;
}
