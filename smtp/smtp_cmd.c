/*
 * smtp_cmd.c: one SMTP command line -> struct smtp_cmd (see smtp_cmd.h).
 *
 * Purpose: the only place that reads client command syntax.  It implements
 * the RFC 5321 4.1.2 grammar for Path, Mailbox, Local-part, Domain and
 * address-literal, the ESMTP parameter grammar, and the RFC 6531 UTF-8
 * extensions of those, and it flags the classic relay tricks.
 *
 * Deliberately not done here: no policy.  Whether a UTF-8 address is
 * acceptable (SMTPUTF8 given?), whether a relay-suspect path is refused,
 * which reply an error gets: all of that belongs to the session.  No logging,
 * no allocation, no fds.
 *
 * Invariants: every char * in a parsed struct points into its store[] and is
 * NUL-terminated; nothing is written past store[sizeof(store) - 1]; the
 * parser reads only line[0..len).  A path that parses has passed every
 * length bound of RFC 5321 4.5.3.1, so the session can copy it into
 * fixed buffers of SMTP_PATH_MAX bytes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include "smtp_cmd.h"

static const char *const smtp_verb_names[SMTP_CMD__COUNT] = {
	"UNKNOWN",
#define X(v) #v,
	SMTP_VERBS(X)
#undef X
};

/*
 * smtp_verb_name: the verb's canonical upper-case name, "UNKNOWN" for
 * SMTP_CMD_UNKNOWN and for out-of-range values.  Static storage.
 */
const char *
smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned)v >= SMTP_CMD__COUNT)
		return "UNKNOWN";
	return smtp_verb_names[v];
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 3.2.3 atext, the ASCII part. */
static int
is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * utf8_len: length of the well-formed UTF-8 sequence at p[0..n) whose first
 * byte is >= 0x80, or 0 if it is not well formed (RFC 3629 4: no overlong
 * forms, no surrogates, nothing above U+10FFFF).  Ill-formed UTF-8 is refused
 * because a backend or a log reader may decode it differently than we do.
 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * ipv4_literal: RFC 5321 4.1.3 IPv4-address-literal, Snum 4("." Snum),
 * s[0..n) without the brackets.  Leading zeros are refused although the
 * ABNF allows them: inet_aton() reads "010" as octal, so "[010.0.0.1]" would
 * mean 8.0.0.1 to some MTA behind us and 10.0.0.1 to a reader of our logs.
 */
static int
ipv4_literal(const unsigned char *s, size_t n)
{
	size_t i = 0, digits;
	unsigned val;
	int part;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		val = 0;
		digits = 0;
		while (i < n && is_digit(s[i]) && digits < 4) {
			val = val * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3 || val > 255)
			return 0;
		if (digits > 1 && s[i - digits] == '0')
			return 0;
	}
	return i == n;
}

/*
 * address_literal: "[" (IPv4 / "IPv6:" IPv6) "]" at s[0..n).  The IPv6
 * syntax is left to inet_pton(), which follows RFC 4291 2.2 as RFC 5321
 * 4.1.3 does (including the embedded IPv4 form) and refuses zone ids.
 * General-address-literal (RFC 5321 4.1.3, "tag:content") is refused: no
 * standardised tag other than IPv6 exists, and an unknown form is a way to
 * reach a backend's parsing corner cases.
 */
static int
address_literal(const unsigned char *s, size_t n)
{
	char buf[64];
	struct in6_addr a6;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return 0;
	s++;
	n -= 2;
	if (n > 5 && strncasecmp((const char *)s, "IPv6:", 5) == 0) {
		s += 5;
		n -= 5;
		if (n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
			return 0;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1;
	}
	return ipv4_literal(s, n);
}

/*
 * domain_check: RFC 5321 4.1.2 Domain at s[0..n), or an address literal
 * when allow_literal.  Sets *utf8 when a U-label (RFC 6531 3.3 sub-domain
 * =/ U-label) was accepted.  The 63-octet label bound (RFC 1035 2.3.4)
 * applies to ASCII labels; a U-label is bounded by its A-label form, which
 * we do not compute, so only the 255-octet total applies to it.
 */
static int
domain_check(const unsigned char *s, size_t n, int allow_utf8,
    int allow_literal, int *utf8, int *literal)
{
	size_t i = 0, start, k;
	int nonascii;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return 0;
	if (s[0] == '[') {
		if (!allow_literal || !address_literal(s, n))
			return 0;
		*literal = 1;
		return 1;
	}
	while (i < n) {
		start = i;
		nonascii = 0;
		while (i < n && s[i] != '.') {
			if (s[i] >= 0x80) {
				if (!allow_utf8)
					return 0;
				if ((k = utf8_len(s + i, n - i)) == 0)
					return 0;
				nonascii = 1;
				i += k;
				continue;
			}
			if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
				return 0;
			i++;
		}
		/* Empty label: leading or trailing dot ("a@example.com."), ".." */
		if (i == start)
			return 0;
		if (s[start] == '-' || s[i - 1] == '-')
			return 0;
		if (!nonascii && i - start > 63)
			return 0;
		if (nonascii)
			*utf8 = 1;
		if (i < n) {
			i++;
			if (i == n)
				return 0;
		}
	}
	return 1;
}

/*
 * smtp_domain_valid: see smtp_cmd.h.  s is NUL-terminated; a NULL s is not
 * valid.
 */
int
smtp_domain_valid(const char *s, int allow_utf8)
{
	int utf8 = 0, literal = 0;

	if (s == NULL)
		return 0;
	return domain_check((const unsigned char *)s, strlen(s), allow_utf8, 1,
	    &utf8, &literal);
}

/*
 * dot_string: RFC 5321 Dot-string at s[*ip..n), atoms of atext (and UTF-8,
 * RFC 6531 3.3) separated by single dots.  Advances *ip past it.
 */
static int
dot_string(const unsigned char *s, size_t n, size_t *ip, int *utf8)
{
	size_t i = *ip, k, atom = 0;

	for (;;) {
		if (i < n && s[i] >= 0x80) {
			if ((k = utf8_len(s + i, n - i)) == 0)
				return 0;
			*utf8 = 1;
			i += k;
			atom++;
		} else if (i < n && is_atext(s[i])) {
			i++;
			atom++;
		} else if (i < n && s[i] == '.') {
			if (atom == 0)
				return 0;
			atom = 0;
			i++;
		} else
			break;
	}
	/* Empty string, or a trailing dot ("user.@example.com"). */
	if (atom == 0)
		return 0;
	*ip = i;
	return 1;
}

/*
 * quoted_string: RFC 5321 Quoted-string at s[*ip..n), s[*ip] == '"'.
 * qtextSMTP is %d32-33 / %d35-91 / %d93-126 (plus UTF-8, RFC 6531);
 * quoted-pairSMTP is "\" %d32-126.  Control characters are refused even
 * quoted: they have no business in an address and break logs.
 */
static int
quoted_string(const unsigned char *s, size_t n, size_t *ip, int *utf8)
{
	size_t i = *ip + 1, k;

	while (i < n) {
		if (s[i] == '"') {
			*ip = i + 1;
			return 1;
		}
		if (s[i] == '\\') {
			if (i + 1 >= n || s[i + 1] < 32 || s[i + 1] > 126)
				return 0;
			i += 2;
		} else if (s[i] >= 0x80) {
			if ((k = utf8_len(s + i, n - i)) == 0)
				return 0;
			*utf8 = 1;
			i += k;
		} else if (s[i] >= 32 && s[i] <= 126)
			i++;
		else
			return 0;
	}
	return 0;
}

/*
 * source_route: RFC 5321 4.1.2 A-d-l ":" at s[*ip..n), s[*ip] == '@':
 * At-domain *( "," At-domain ) ":".  Address literals are not part of the
 * At-domain grammar.  RFC 5321 C says the route must be accepted and
 * ignored; we parse it so that it can be dropped and reported.
 */
static int
source_route(const unsigned char *s, size_t n, size_t *ip, int *utf8)
{
	size_t i = *ip, start;
	int literal = 0;

	for (;;) {
		if (i >= n || s[i] != '@')
			return 0;
		start = ++i;
		while (i < n && s[i] != ',' && s[i] != ':' && s[i] != '>')
			i++;
		if (!domain_check(s + start, i - start, 1, 0, utf8, &literal))
			return 0;
		if (i >= n)
			return 0;
		if (s[i] == ':') {
			*ip = i + 1;
			return 1;
		}
		if (s[i] != ',')
			return 0;
		i++;
	}
}

/*
 * smtp_path_parse: see smtp_cmd.h.  s[0] must be '<'.  The path must close
 * within SMTP_PATH_MAX bytes (RFC 5321 4.5.3.1.3, brackets included, as is
 * a source route), the local part within SMTP_LOCAL_MAX bytes as written
 * (quotes included) and the domain within SMTP_DOMAIN_MAX.  A mailbox
 * without a domain is accepted only as "<postmaster>" (any case, unquoted,
 * no route), RFC 5321 4.1.1.3.  On success local, domain (NULL if none) and
 * addr point into store; on failure *out is zeroed and *endp untouched.
 */
int
smtp_path_parse(const char *str, size_t len, char *store, size_t storesz,
    struct smtp_path *out, size_t *endp)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = len < SMTP_PATH_MAX ? len : SMTP_PATH_MAX;
	size_t i = 1, lstart, llen, dstart = 0, dlen = 0, need;
	char *p;

	memset(out, 0, sizeof(*out));
	if (n < 2 || s[0] != '<')
		goto fail;
	if (s[1] == '>') {
		if (storesz < 1)
			goto fail;
		store[0] = '\0';
		out->null = 1;
		out->local = out->addr = store;
		*endp = 2;
		return 0;
	}
	if (s[i] == '@') {
		if (!source_route(s, n, &i, &out->utf8))
			goto fail;
		out->route = 1;
	}

	lstart = i;
	if (i < n && s[i] == '"') {
		if (!quoted_string(s, n, &i, &out->utf8))
			goto fail;
		out->quoted = 1;
	} else if (!dot_string(s, n, &i, &out->utf8))
		goto fail;
	llen = i - lstart;
	if (llen > SMTP_LOCAL_MAX)
		goto fail;

	if (i < n && s[i] == '@') {
		dstart = ++i;
		/*
		 * Neither a Domain nor an address literal can hold '>', so the
		 * first one ends the domain; "a@b@c" fails in domain_check.
		 */
		while (i < n && s[i] != '>')
			i++;
		dlen = i - dstart;
		if (!domain_check(s + dstart, dlen, 1, 1, &out->utf8,
		    &out->literal))
			goto fail;
	} else if (out->route || out->quoted || llen != 10 ||
	    strncasecmp(str + lstart, "postmaster", 10) != 0)
		goto fail;
	if (i >= n || s[i] != '>')
		goto fail;

	need = llen + 1 + (dlen ? dlen + 1 : 0) + llen + 1 + dlen + 1;
	if (storesz < need)
		goto fail;
	p = store;
	out->local = p;
	memcpy(p, str + lstart, llen);
	p[llen] = '\0';
	p += llen + 1;
	if (dlen) {
		out->domain = p;
		memcpy(p, str + dstart, dlen);
		p[dlen] = '\0';
		p += dlen + 1;
	}
	out->addr = p;
	memcpy(p, str + lstart, llen);
	p += llen;
	if (dlen) {
		*p++ = '@';
		memcpy(p, str + dstart, dlen);
		p += dlen;
	}
	*p = '\0';
	*endp = i + 1;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

/*
 * smtp_path_relay_suspect: see smtp_cmd.h.  The checks mirror the routing
 * syntaxes that sendmail-era MTAs still honour: "user%host@relay" (percent
 * hack), "host!user@relay" (UUCP bang path), "<@relay:user@host>" (source
 * route, RFC 5321 C), and quoted local parts, which may hide any of these
 * or an '@' ("\"a@b\"@relay").
 */
int
smtp_path_relay_suspect(const struct smtp_path *p)
{
	if (p == NULL || p->null)
		return 0;
	if (p->route || p->quoted)
		return 1;
	if (p->local != NULL && strpbrk(p->local, "%!@") != NULL)
		return 1;
	return 0;
}

/*
 * smtp_cmd_param: the first parameter whose keyword equals keyword
 * (case-insensitive, RFC 5321 2.4); NULL if none.  The result points into
 * c and lives as long as it.
 */
const struct smtp_param *
smtp_cmd_param(const struct smtp_cmd *c, const char *keyword)
{
	size_t i;

	for (i = 0; i < c->nparams && i < SMTP_PARAMS_MAX; i++)
		if (strcasecmp(c->params[i].keyword, keyword) == 0)
			return &c->params[i];
	return NULL;
}

/*
 * esmtp_params: RFC 5321 4.1.2 Mail-parameters / Rcpt-parameters in the
 * NUL-terminated str (strend points at its NUL), modified in place:
 * keywords and values are cut out with NULs.  esmtp-value allows UTF-8 per
 * RFC 6531 3.3.
 */
static enum smtp_cmd_err
esmtp_params(char *str, const char *strend, struct smtp_cmd *out)
{
	unsigned char *s = (unsigned char *)str, *kw, *val;
	const unsigned char *e = (const unsigned char *)strend;
	size_t k;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return SMTP_CMD_OK;
		if (out->nparams == SMTP_PARAMS_MAX)
			return SMTP_CMD_ERR_TOO_MANY;
		kw = s;
		if (!is_alpha(*s) && !is_digit(*s))
			return *s >= 0x80 ? SMTP_CMD_ERR_8BIT :
			    SMTP_CMD_ERR_PARAM;
		while (is_alpha(*s) || is_digit(*s) || *s == '-')
			s++;
		val = NULL;
		if (*s == '=') {
			*s++ = '\0';
			val = s;
			while (*s != '\0' && *s != ' ') {
				if (*s >= 0x80) {
					k = utf8_len(s, (size_t)(e - s));
					if (k == 0)
						return SMTP_CMD_ERR_PARAM;
					s += k;
				} else if (*s >= 33 && *s <= 126 && *s != '=')
					s++;
				else
					return SMTP_CMD_ERR_PARAM;
			}
			if (s == val)
				return SMTP_CMD_ERR_PARAM;
		}
		if (*s == ' ')
			*s++ = '\0';
		else if (*s != '\0')
			return *s >= 0x80 ? SMTP_CMD_ERR_8BIT :
			    SMTP_CMD_ERR_PARAM;
		out->params[out->nparams].keyword = (char *)kw;
		out->params[out->nparams].value = (char *)val;
		out->nparams++;
	}
}

/*
 * mail_rcpt: "FROM:" / "TO:" [SP] Path [SP Mail-parameters] in arg[0..alen)
 * (a NUL-terminated copy at the start of out->store, left intact so that
 * out->arg stays whole).  The path's strings follow that copy in store, and
 * a second copy of the parameters, cut in place, follows the path: at most
 * (alen + 1) + (2 * SMTP_PATH_MAX + 8) + (alen + 1) bytes, which store holds.
 */
static enum smtp_cmd_err
mail_rcpt(struct smtp_cmd *out, const char *arg, size_t alen)
{
	const char *kw = out->verb == SMTP_CMD_MAIL ? "FROM:" : "TO:";
	const unsigned char *u = (const unsigned char *)arg;
	char *pstore = out->store + alen + 1, *q;
	char *limit = out->store + sizeof(out->store);
	size_t kl = strlen(kw), i, end, plen;

	for (i = 0; i < kl && i < alen; i++)
		if (u[i] >= 0x80)
			return SMTP_CMD_ERR_8BIT;
	if (alen < kl || strncasecmp(arg, kw, kl) != 0)
		return SMTP_CMD_ERR_SYNTAX;
	i = kl;
	/* One SP before "<" is a common client quirk (Postfix accepts it). */
	if (i < alen && arg[i] == ' ')
		i++;
	if (i >= alen || arg[i] != '<')
		return SMTP_CMD_ERR_PATH;
	if (smtp_path_parse(arg + i, alen - i, pstore, (size_t)(limit - pstore),
	    &out->path, &end) == -1)
		return SMTP_CMD_ERR_PATH;
	i += end;
	/*
	 * smtp_path_parse() lets a domainless mailbox through only as
	 * <postmaster>, which RFC 5321 4.1.1.3 allows for RCPT alone.
	 */
	if (out->verb == SMTP_CMD_RCPT && out->path.null)
		return SMTP_CMD_ERR_PATH;
	if (out->verb == SMTP_CMD_MAIL && !out->path.null &&
	    out->path.domain == NULL)
		return SMTP_CMD_ERR_PATH;
	/* "<a@b>x": something glued to the path is part of a bad path. */
	if (i < alen && arg[i] != ' ')
		return SMTP_CMD_ERR_PATH;

	/* addr is the last string smtp_path_parse() wrote. */
	q = out->path.addr + strlen(out->path.addr) + 1;
	plen = alen - i;
	if (plen + 1 > (size_t)(limit - q))
		return SMTP_CMD_ERR_SYNTAX;	/* cannot happen; see above */
	memcpy(q, arg + i, plen);
	q[plen] = '\0';
	return esmtp_params(q, q + plen, out);
}

/*
 * smtp_cmd_parse: see smtp_cmd.h.  Beyond the header: trailing SP and HTAB
 * are dropped from the line first (RFC 5321 forbids them, but real clients
 * send them); the verb must be followed by SP or end of line; arg starts
 * after the SP(s) that follow the verb.  Precedence of errors: NUL, then
 * length (SYNTAX), then a non-ASCII verb (8BIT), then an unknown verb.
 * On error the path and parameters are not valid; verb and arg may be.
 */
enum smtp_cmd_err
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *out)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t vlen, i, alen;
	enum smtp_verb v;
	enum smtp_cmd_err err;
	char *arg;
	int eightbit = 0;

	out->verb = SMTP_CMD_UNKNOWN;
	out->store[0] = '\0';
	out->arg = out->store;
	memset(&out->path, 0, sizeof(out->path));
	out->nparams = 0;

	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		if (u[vlen] >= 0x80)
			eightbit = 1;
	for (v = SMTP_CMD_UNKNOWN + 1; v < SMTP_CMD__COUNT; v++)
		if (strlen(smtp_verb_names[v]) == vlen &&
		    strncasecmp(line, smtp_verb_names[v], vlen) == 0) {
			out->verb = v;
			break;
		}

	if (len > 0 && memchr(line, '\0', len) != NULL)
		return SMTP_CMD_ERR_NUL;
	if (len > SMTP_CMD_LINE_MAX)
		return SMTP_CMD_ERR_SYNTAX;
	if (eightbit)
		return SMTP_CMD_ERR_8BIT;
	if (out->verb == SMTP_CMD_UNKNOWN)
		return SMTP_CMD_ERR_UNKNOWN;

	for (i = vlen; i < len && line[i] == ' '; i++)
		;
	alen = len - i;
	arg = out->store;
	memcpy(arg, line + i, alen);
	arg[alen] = '\0';
	out->arg = arg;

	switch (out->verb) {
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		return alen == 0 ? SMTP_CMD_ERR_SYNTAX : SMTP_CMD_OK;
	case SMTP_CMD_DATA:
	case SMTP_CMD_RSET:
	case SMTP_CMD_QUIT:
	case SMTP_CMD_STARTTLS:
		return alen == 0 ? SMTP_CMD_OK : SMTP_CMD_ERR_SYNTAX;
	case SMTP_CMD_MAIL:
	case SMTP_CMD_RCPT:
		if ((err = mail_rcpt(out, arg, alen)) != SMTP_CMD_OK) {
			memset(&out->path, 0, sizeof(out->path));
			out->nparams = 0;
		}
		return err;
	default:
		return SMTP_CMD_OK;
	}
}
