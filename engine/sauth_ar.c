/*
 * sauth_ar.c: the pure half of sender authentication: result names, the
 * results -> rule facts mapping, the Authentication-Results writer and
 * authserv-id parser (RFC 8601), and the DNS list syntax (postscreen's
 * name=answer*weight).
 *
 * Does not: look anything up, log, or read the clock.  The checks that
 * produce struct sauth_results live in sauth_check.c.
 *
 * Invariants: every writer escapes what the sender chose (domains,
 * selectors) so that the header we add cannot be split or extended by a
 * hostile d= or MAIL FROM; the parser never reads past len.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbuf.h"
#include "engine/sauth.h"

static const char *const res_names[] = {
	[SAUTH_NONE] = "none", [SAUTH_PASS] = "pass", [SAUTH_FAIL] = "fail",
	[SAUTH_SOFTFAIL] = "softfail", [SAUTH_NEUTRAL] = "neutral",
	[SAUTH_TEMPERROR] = "temperror", [SAUTH_PERMERROR] = "permerror",
	[SAUTH_POLICY] = "policy", [SAUTH_SKIPPED] = "skipped",
};

const char *
sauth_res_name(enum sauth_res r)
{
	if ((size_t)r >= sizeof(res_names) / sizeof(res_names[0]))
		return "none";
	return res_names[r];
}

int
sauth_res_parse(const char *s, size_t len, enum sauth_res *out)
{
	size_t i;

	for (i = 0; i < sizeof(res_names) / sizeof(res_names[0]); i++)
		if (strlen(res_names[i]) == len &&
		    strncasecmp(s, res_names[i], len) == 0) {
			*out = (enum sauth_res)i;
			return 0;
		}
	return -1;
}

/* SPF's seven results as fact suffixes (RFC 7208 2.6). */
static const char *
spf_word(enum sauth_res r)
{
	switch (r) {
	case SAUTH_PASS:	return "PASS";
	case SAUTH_FAIL:	return "FAIL";
	case SAUTH_SOFTFAIL:	return "SOFTFAIL";
	case SAUTH_NEUTRAL:	return "NEUTRAL";
	case SAUTH_NONE:	return "NONE";
	case SAUTH_TEMPERROR:	return "TEMPERROR";
	case SAUTH_PERMERROR:	return "PERMERROR";
	default:		return NULL;
	}
}

void
sauth_facts(const struct sauth_results *r, struct sbuf *sb)
{
	const char *w;
	int i, valid = 0, valid_au = 0, invalid = 0;

	if ((w = spf_word(r->spf)) != NULL)
		sbuf_printf(sb, " SPF_%s", w);
	if ((w = spf_word(r->spf_helo)) != NULL)
		sbuf_printf(sb, " SPF_HELO_%s", w);
	for (i = 0; i < r->nsigs && i < SAUTH_SIG_MAX; i++) {
		if (r->sigs[i].res == SAUTH_PASS) {
			valid = 1;
			/* RFC 7489 3.1.1 relaxed alignment is DMARC's
			 * business; _AU is SpamAssassin's exact match. */
			if (r->from_domain[0] != '\0' && strcasecmp(
			    r->sigs[i].domain, r->from_domain) == 0)
				valid_au = 1;
		} else if (r->sigs[i].res == SAUTH_FAIL ||
		    r->sigs[i].res == SAUTH_PERMERROR)
			invalid = 1;
	}
	if (r->nsigs > 0)
		sbuf_adds(sb, " DKIM_SIGNED");
	if (valid)
		sbuf_adds(sb, " DKIM_VALID");
	if (valid_au)
		sbuf_adds(sb, " DKIM_VALID_AU");
	if (invalid && !valid)
		sbuf_adds(sb, " DKIM_INVALID");
	switch (r->dmarc) {
	case SAUTH_PASS:
		sbuf_adds(sb, " DMARC_PASS");
		break;
	case SAUTH_FAIL:
		/* The policy that applies names the fact: a failing
		 * message under p=none is DMARC_NONE, not a reject. */
		if (r->dmarc_policy == SAUTH_P_REJECT)
			sbuf_adds(sb, " DMARC_REJECT");
		else if (r->dmarc_policy == SAUTH_P_QUARANTINE)
			sbuf_adds(sb, " DMARC_QUARANTINE");
		else
			sbuf_adds(sb, " DMARC_NONE");
		break;
	case SAUTH_TEMPERROR:
		sbuf_adds(sb, " DMARC_TEMPERROR");
		break;
	case SAUTH_PERMERROR:
		sbuf_adds(sb, " DMARC_PERMERROR");
		break;
	default:
		break;
	}
}

/*
 * RFC 8601 2.2 values are RFC 2045 tokens or quoted-strings; a domain is
 * a token unless a hostile sender put something else there.
 */
static void
put_value(struct sbuf *sb, const char *v)
{
	const unsigned char *p;
	int tok = v[0] != '\0';

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("()<>,;:\\\"/[]?=", *p))
			tok = 0;
	if (tok && strchr(v, '@') == NULL) {
		sbuf_adds(sb, v);
		return;
	}
	sbuf_addc(sb, '"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		/* No CR, LF or control can end up in the header. */
		if (*p < ' ' || *p == 0x7f)
			continue;
		if (*p == '"' || *p == '\\')
			sbuf_addc(sb, '\\');
		sbuf_addc(sb, *p);
	}
	sbuf_addc(sb, '"');
}

void
sauth_ar_write(const char *authserv_id, const struct sauth_results *r,
    struct sbuf *sb)
{
	int i, any = 0;

	sbuf_adds(sb, "Authentication-Results: ");
	put_value(sb, authserv_id);
	if (r->spf != SAUTH_SKIPPED) {
		sbuf_printf(sb, ";\r\n\tspf=%s", sauth_res_name(r->spf));
		if (r->spf_domain[0] != '\0') {
			sbuf_adds(sb, " smtp.mailfrom=");
			put_value(sb, r->spf_domain);
		} else if (r->helo[0] != '\0') {
			sbuf_adds(sb, " smtp.helo=");
			put_value(sb, r->helo);
		}
		any = 1;
	}
	for (i = 0; i < r->nsigs && i < SAUTH_SIG_MAX; i++) {
		const struct sauth_sig *s = &r->sigs[i];

		sbuf_printf(sb, ";\r\n\tdkim=%s", sauth_res_name(s->res));
		if (s->reason[0] != '\0') {
			sbuf_adds(sb, " reason=");
			put_value(sb, s->reason);
		}
		sbuf_adds(sb, " header.d=");
		put_value(sb, s->domain[0] ? s->domain : "unknown");
		if (s->selector[0] != '\0') {
			sbuf_adds(sb, " header.s=");
			put_value(sb, s->selector);
		}
		any = 1;
	}
	if (r->dmarc != SAUTH_SKIPPED && r->from_domain[0] != '\0') {
		sbuf_printf(sb, ";\r\n\tdmarc=%s header.from=",
		    sauth_res_name(r->dmarc));
		put_value(sb, r->from_domain);
		any = 1;
	}
	/* RFC 8601 2.2: "none" when no method ran. */
	if (!any)
		sbuf_adds(sb, "; none");
	sbuf_adds(sb, "\r\n");
}

/* Skip CFWS (RFC 5322 3.2.2): white space, folds and nested comments. */
static size_t
skip_cfws(const char *v, size_t len, size_t i, int *bad)
{
	int depth = 0;

	for (; i < len; i++) {
		if (depth > 0) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			else if (v[i] == '(')
				depth++;
			else if (v[i] == ')')
				depth--;
			continue;
		}
		if (v[i] == '(')
			depth++;
		else if (v[i] != ' ' && v[i] != '\t' && v[i] != '\r' &&
		    v[i] != '\n')
			break;
	}
	if (depth > 0)
		*bad = 1;
	return i;
}

int
sauth_ar_authserv_id(const char *v, size_t len, char *id, size_t idsz)
{
	size_t i, n = 0;
	int bad = 0;

	if (idsz == 0)
		return -1;
	i = skip_cfws(v, len, 0, &bad);
	if (bad || i >= len)
		return -1;
	if (v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && ++i >= len)
				return -1;
			/* A NUL would cut the id short; controls are not
			 * qtext (RFC 5322 3.2.4). */
			if ((unsigned char)v[i] < ' ' && v[i] != '\t')
				return -1;
			if (n + 1 >= idsz)
				return -1;
			id[n++] = v[i];
		}
		if (i >= len)
			return -1;
		i++;
	} else {
		for (; i < len; i++) {
			unsigned char c = (unsigned char)v[i];

			if (c <= ' ' || c >= 0x7f ||
			    strchr("()<>,;:\\\"/[]?=", c) != NULL)
				break;
			if (n + 1 >= idsz)
				return -1;
			id[n++] = (char)c;
		}
	}
	if (n == 0)
		return -1;
	id[n] = '\0';
	/* What follows is an optional version, then ';' or the end. */
	i = skip_cfws(v, len, i, &bad);
	while (i < len && isdigit((unsigned char)v[i]))
		i++;
	i = skip_cfws(v, len, i, &bad);
	if (bad || (i < len && v[i] != ';'))
		return -1;
	return 0;
}

int
sauth_ar_is_ours(const char *hdr, size_t len, const char *authserv_id)
{
	static const char name[] = "Authentication-Results";
	const size_t nl = sizeof(name) - 1;
	char id[SAUTH_DOMAIN_MAX];
	size_t i;

	if (len < nl || strncasecmp(hdr, name, nl) != 0)
		return 0;
	for (i = nl; i < len && (hdr[i] == ' ' || hdr[i] == '\t'); i++)
		;
	if (i >= len || hdr[i] != ':')
		return 0;
	i++;
	/* A field we cannot parse may still fool a downstream reader
	 * that is laxer than we are: treat it as a forgery of ours. */
	if (sauth_ar_authserv_id(hdr + i, len - i, id, sizeof(id)) == -1)
		return 1;
	return strcasecmp(id, authserv_id) == 0;
}

int
sauth_ar_strip(const char *hdr, size_t len, const char *authserv_id,
    struct sbuf *out)
{
	const char *p = hdr, *end = hdr + len, *field, *eol;
	size_t flen;
	int removed = 0;

	while (p < end) {
		/* An empty line ends the header: the rest is body. */
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			break;
		/* One field: its first line and every line that starts
		 * with white space after it (RFC 5322 2.2.3). */
		field = p;
		do {
			eol = memchr(p, '\n', (size_t)(end - p));
			p = eol != NULL ? eol + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		/* is_ours sees the field without its last line end. */
		flen = (size_t)(p - field);
		if (flen > 0 && field[flen - 1] == '\n')
			flen--;
		if (flen > 0 && field[flen - 1] == '\r')
			flen--;
		if (*field != ' ' && *field != '\t' &&
		    sauth_ar_is_ours(field, flen, authserv_id)) {
			removed++;
			continue;
		}
		sbuf_add(out, field, (size_t)(p - field));
	}
	sbuf_add(out, p, (size_t)(end - p));
	return removed;
}

/* "127.0.0.2" or "127.0.0.[2;4..7]" (postscreen_dnsbl_sites). */
static int
filter_ok(const char *f)
{
	const char *p = f;
	int oct, n;

	for (oct = 0; oct < 4; oct++) {
		if (*p == '[') {
			for (p++; *p != ']'; ) {
				if (!isdigit((unsigned char)*p))
					return 0;
				while (isdigit((unsigned char)*p))
					p++;
				if (strncmp(p, "..", 2) == 0) {
					p += 2;
					if (!isdigit((unsigned char)*p))
						return 0;
					while (isdigit((unsigned char)*p))
						p++;
				}
				if (*p == ';')
					p++;
				else if (*p != ']')
					return 0;
			}
			p++;
		} else {
			for (n = 0; isdigit((unsigned char)*p); p++, n++)
				;
			if (n == 0 || n > 3)
				return 0;
		}
		if (oct < 3 && *p++ != '.')
			return 0;
	}
	return *p == '\0';
}

int
sauth_sites_parse(const char *s, struct sauth_sites *out, char *msg,
    size_t msgsz)
{
	char buf[512], *tok, *save = NULL, *eq, *star, *end;
	long w;

	out->n = 0;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(msg, msgsz, "list too long");
		return -1;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		struct sauth_site *site;

		if (out->n >= SAUTH_LIST_MAX) {
			snprintf(msg, msgsz, "more than %d sites",
			    SAUTH_LIST_MAX);
			return -1;
		}
		site = &out->site[out->n];
		site->weight = 1;
		site->filter[0] = '\0';
		if ((star = strchr(tok, '*')) != NULL) {
			*star++ = '\0';
			w = strtol(star, &end, 10);
			if (*star == '\0' || *end != '\0' || w < -1000 ||
			    w > 1000) {
				snprintf(msg, msgsz, "\"%s\": weight is not an "
				    "integer in -1000..1000", star);
				return -1;
			}
			site->weight = (int)w;
		}
		if ((eq = strchr(tok, '=')) != NULL) {
			*eq++ = '\0';
			if (!filter_ok(eq) || strlen(eq) >= sizeof(site->filter)) {
				snprintf(msg, msgsz, "\"%s\": not an answer "
				    "like 127.0.0.2 or 127.0.0.[2;4..7]", eq);
				return -1;
			}
			strcpy(site->filter, eq);
		}
		if (tok[0] == '\0' || tok[0] == '.' || strchr(tok, '.') == NULL ||
		    strlen(tok) >= sizeof(site->zone) ||
		    strspn(tok, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
		    "VWXYZ0123456789.-_") != strlen(tok)) {
			snprintf(msg, msgsz, "\"%s\": not a DNS zone", tok);
			return -1;
		}
		strcpy(site->zone, tok);
		out->n++;
	}
	return 0;
}

/* One octet against "N" or "[a;b..c]". */
static int
octet_match(const char **fp, long v)
{
	const char *p = *fp;
	char *end;
	long lo, hi;
	int hit = 0;

	if (*p != '[') {
		lo = strtol(p, &end, 10);
		*fp = end;
		return lo == v;
	}
	for (p++; *p != ']'; ) {
		lo = hi = strtol(p, &end, 10);
		p = end;
		if (strncmp(p, "..", 2) == 0) {
			hi = strtol(p + 2, &end, 10);
			p = end;
		}
		if (v >= lo && v <= hi)
			hit = 1;
		if (*p == ';')
			p++;
	}
	*fp = p + 1;
	return hit;
}

int
sauth_site_match(const struct sauth_site *site, const char *answer)
{
	const char *f = site->filter, *a = answer;
	char *end;
	long v;
	int oct;

	if (site->filter[0] == '\0')
		return strncmp(answer, "127.", 4) == 0;
	for (oct = 0; oct < 4; oct++) {
		v = strtol(a, &end, 10);
		if (end == a || v < 0 || v > 255)
			return 0;
		a = end;
		if (!octet_match(&f, v))
			return 0;
		if (oct < 3) {
			if (*a++ != '.' || *f++ != '.')
				return 0;
		}
	}
	return *a == '\0';
}

/* Letters, digits, '-', '_' and dots, at least one dot, no empty label. */
static int
dns_name_ok(const char *s)
{
	const char *p;
	int dot = 0, alpha = 0;

	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (p[1] == '.' || p[1] == '\0')
				return 0;
			dot = 1;
		} else if (isalpha((unsigned char)*p))
			alpha = 1;
		else if (!isdigit((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
	}
	/* All digits and dots is an address, not a name. */
	return dot && alpha;
}

int
sauth_uri_host(const char *uri, size_t len, char *out, size_t outsz)
{
	static const char *const schemes[] = {
		"http://", "https://", "ftp://", "mailto:", NULL
	};
	const char *p = uri, *end = uri + len, *h, *at, *q;
	size_t i, n;
	int mailto = 0;

	for (i = 0; schemes[i] != NULL; i++) {
		n = strlen(schemes[i]);
		if (len >= n && strncasecmp(uri, schemes[i], n) == 0) {
			p = uri + n;
			mailto = i == 3;
			break;
		}
	}
	if (schemes[i] == NULL && memchr(uri, ':', len) != NULL &&
	    (len < 4 || strncasecmp(uri, "www.", 4) != 0))
		return -1;		/* some other scheme */
	/* The authority ends at the first '/', '?' or '#'. */
	for (h = p; h < end && *h != '/' && *h != '?' && *h != '#'; h++)
		;
	if (mailto) {
		if ((at = memchr(p, '@', (size_t)(h - p))) == NULL)
			return -1;
		p = at + 1;
		for (q = p; q < h && *q != '>' && *q != '&'; q++)
			;
		h = q;
	} else {
		/* userinfo@ is a classic disguise: the host follows it. */
		for (q = h; q > p; q--)
			if (q[-1] == '@')
				break;
		p = q;
		for (q = p; q < h && *q != ':'; q++)
			;
		h = q;
	}
	n = (size_t)(h - p);
	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n >= outsz || n >= SAUTH_DOMAIN_MAX)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
	return dns_name_ok(out) ? 0 : -1;
}
