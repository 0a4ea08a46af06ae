/*
 * greylist.c: triplet derivation, key strings and the greylisting policy
 * (see greylist.h and doc/greylisting.md).
 *
 * What it deliberately does not do: store anything, read a clock, resolve
 * names or decide whether greylisting applies at all (whitelists, AUTH,
 * greylist_min_score are the caller's).  It trusts the caller that a name
 * given as forward-confirmed really is.
 *
 * Invariants: every output string is NUL-terminated and bounded by the
 * *_MAX constants in greylist.h; a triplet part never contains a space or
 * a control byte, so keys split back unambiguously; grey_decide() and the
 * Lua script in store/store_redis.c implement the same table.
 */
#include <stdio.h>
#include <string.h>

#include "greylist.h"

#define WORK_MAX	1024	/* an input address before decoding */

void
grey_params_default(struct grey_params *p)
{
	memset(p, 0, sizeof(*p));
	p->v4_prefix = GREY_V4_PREFIX_DEFAULT;
	p->v6_prefix = GREY_V6_PREFIX_DEFAULT;
	p->use_fcrdns = 1;
	p->delay_ms = GREY_DELAY_DEFAULT_MS;
	p->retry_window_ms = GREY_RETRY_WINDOW_DEFAULT_MS;
	p->pass_lifetime_ms = GREY_PASS_LIFETIME_DEFAULT_MS;
	p->awl_passes = GREY_AWL_PASSES_DEFAULT;
	p->awl_interval_ms = GREY_AWL_INTERVAL_DEFAULT_MS;
}

int
grey_params_check(const struct grey_params *p, char *err, size_t errsz)
{
	const char *why = NULL;

	if (p->v4_prefix < 8 || p->v4_prefix > 32)
		why = "IPv4 prefix must be 8..32";
	else if (p->v6_prefix < 16 || p->v6_prefix > 128)
		why = "IPv6 prefix must be 16..128";
	else if (p->delay_ms < 0)
		why = "delay must not be negative";
	else if (p->retry_window_ms <= p->delay_ms)
		why = "retry window must be longer than the delay";
	else if (p->pass_lifetime_ms <= 0)
		why = "pass lifetime must be positive";
	else if (p->awl_passes < 0)
		why = "auto-whitelist passes must not be negative";
	else if (p->awl_interval_ms < 0)
		why = "auto-whitelist interval must not be negative";
	if (why == NULL)
		return 0;
	if (errsz > 0)
		snprintf(err, errsz, "%s", why);
	return -1;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z');
}

int
grey_client_net(char *out, size_t outsz, const unsigned char *addr,
    int is_v6, int prefix)
{
	unsigned char m[16];
	unsigned g[8];
	int n = is_v6 ? 16 : 4, i, best = -1, bestlen = 0, run, len;
	char buf[64];
	size_t pos = 0;

	if (prefix < 0 || prefix > n * 8)
		return -1;
	memcpy(m, addr, (size_t)n);
	for (i = 0; i < n; i++) {
		if (prefix >= (i + 1) * 8)
			continue;
		if (prefix <= i * 8)
			m[i] = 0;
		else
			m[i] &= (unsigned char)(0xff << (8 - (prefix - i * 8)));
	}
	if (!is_v6) {
		len = snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%d", m[0], m[1],
		    m[2], m[3], prefix);
		goto done;
	}
	/* RFC 5952 4.2: the longest run of two or more zero groups, first. */
	for (i = 0; i < 8; i++)
		g[i] = (unsigned)m[2 * i] << 8 | m[2 * i + 1];
	for (i = 0; i < 8; i += run > 0 ? run : 1) {
		for (run = 0; i + run < 8 && g[i + run] == 0; run++)
			;
		if (run >= 2 && run > bestlen) {
			best = i;
			bestlen = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
			    "::");
			i += bestlen - 1;
			continue;
		}
		if (i > 0 && i != best + bestlen)
			buf[pos++] = ':';
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%x",
		    g[i]);
	}
	len = (int)pos + snprintf(buf + pos, sizeof(buf) - pos, "/%d", prefix);
done:
	if (len < 0 || (size_t)len >= outsz)
		return -1;
	memcpy(out, buf, (size_t)len + 1);
	return 0;
}

/*
 * Values of the maximal digit runs (base 10) or hex runs (base 16) in
 * s[0..n), at most max of them.
 */
static int
label_numbers(const char *s, size_t n, int base, unsigned long *v, int max)
{
	size_t i = 0, j;
	int k = 0;

	while (i < n && k < max) {
		if (!(base == 10 ? is_digit(s[i]) : is_hex(s[i]))) {
			i++;
			continue;
		}
		v[k] = 0;
		for (j = i; j < n && (base == 10 ? is_digit(s[j]) :
		    is_hex(s[j])); j++)
			if (v[k] < 0x10000000UL)
				v[k] = v[k] * (unsigned long)base +
				    (unsigned long)(is_digit(s[j]) ? s[j] - '0' :
				    s[j] - 'a' + 10);
		k++;
		i = j;
	}
	return k;
}

/* Every want[0..k) among v[0..n), each matched by a separate entry. */
static int
holds_all(const unsigned long *v, int n, const unsigned long *want, int k)
{
	int used[16] = { 0 }, i, j;

	for (j = 0; j < k; j++) {
		for (i = 0; i < n; i++)
			if (!used[i] && v[i] == want[j])
				break;
		if (i == n)
			return 0;
		used[i] = 1;
	}
	return 1;
}

/*
 * Second-level labels that registries sell names under in two-letter
 * ccTLDs (co.uk, com.au, ne.jp, ...).  Not the Public Suffix List: a small
 * fixed list that catches the common cases without a data file to update.
 */
static const char *const cc_second[] = {
	"ac", "biz", "co", "com", "edu", "gen", "go", "gob", "gov", "info",
	"ltd", "me", "mil", "ne", "net", "nic", "nom", "or", "org", "plc",
	"sch", NULL
};

int
grey_client_name(char *out, size_t outsz, const char *name,
    const unsigned char *addr, int is_v6)
{
	char buf[GREY_CLIENT_MAX + 2];
	unsigned long v[16];
	size_t len, i, first, dots = 0, lastdot = 0;
	int n, k;
	const char *rest;

	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > GREY_CLIENT_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		buf[i] = (char)lower((unsigned char)name[i]);
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			return -1;
	}
	buf[len] = '\0';
	first = strcspn(buf, ".");
	if (first == 0 || first >= len)
		return -1;

	/* A generic first label (dynamic pools) names one address. */
	for (i = 0, k = 1; i < first; i++)
		if (!is_digit(buf[i]))
			k = 0;
	if (k)
		return -1;
	if (!is_v6) {
		unsigned long w[3] = { addr[1], addr[2], addr[3] };

		n = label_numbers(buf, first, 10, v, 16);
		if (holds_all(v, n, w, 3))
			return -1;
	} else {
		unsigned long w[2] = {
			(unsigned long)addr[12] << 8 | addr[13],
			(unsigned long)addr[14] << 8 | addr[15] };

		n = label_numbers(buf, first, 16, v, 16);
		if (holds_all(v, n, w, 2))
			return -1;
		for (i = 0, k = 0; i < first; i++)
			k += is_hex(buf[i]) && is_digit(buf[i]);
		if (k >= 12)
			return -1;
	}

	rest = buf + first + 1;
	for (i = 0; rest[i] != '\0'; i++)
		if (rest[i] == '.') {
			dots++;
			lastdot = i;
		}
	if (dots == 0 || rest[0] == '.' || rest[i - 1] == '.')
		return -1;
	if (dots == 1 && i - lastdot - 1 == 2) {
		for (k = 0; cc_second[k] != NULL; k++)
			if (strlen(cc_second[k]) == lastdot &&
			    memcmp(rest, cc_second[k], lastdot) == 0)
				return -1;
	}
	if (strlen(rest) >= outsz)
		return -1;
	memcpy(out, rest, strlen(rest) + 1);
	return 0;
}

/* Lower-case, controls and space to '_', at most max bytes. */
static void
clean_copy(char *out, size_t max, const char *in)
{
	size_t i;

	for (i = 0; i < max && in[i] != '\0'; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c <= ' ' || c == 0x7f) ? '_' : (char)lower(c);
	}
	out[i] = '\0';
}

/* a b c concatenated into out, truncated to outsz - 1 bytes. */
static void
cat3(char *out, size_t outsz, const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t o = 0, i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(parts[i]);
		if (n > outsz - 1 - o)
			n = outsz - 1 - o;
		memcpy(out + o, parts[i], n);
		o += n;
	}
	out[o] = '\0';
}

/* The next '='-terminated field of s starting at *pos; NULL if none. */
static const char *
field(const char *s, size_t *pos, size_t *flen)
{
	const char *p = s + *pos, *e = strchr(p, '=');

	if (e == NULL || e == p)
		return NULL;
	*flen = (size_t)(e - p);
	*pos += *flen + 1;
	return p;
}

/*
 * SRS (Shevek's scheme, as libsrs2 and postsrsd write it):
 *   SRS0=HHH=TT=orig-domain=orig-local
 *   SRS1=HHH=first-forwarder=(=|+|-)HHH=TT=orig-domain=orig-local
 * where the first separator after SRS0/SRS1 may be '=', '+' or '-'.
 * On success local and domain are replaced by the original ones.
 */
static int
srs_decode(char *local, size_t lsz, char *domain, size_t dsz)
{
	char tmp[WORK_MAX];
	const char *f;
	size_t pos = 5, flen, dlen;
	int srs1;

	if (strncmp(local, "srs0", 4) != 0 && strncmp(local, "srs1", 4) != 0)
		return -1;
	if (local[4] != '=' && local[4] != '+' && local[4] != '-')
		return -1;
	srs1 = local[3] == '1';
	if (field(local, &pos, &flen) == NULL)		/* hash */
		return -1;
	if (srs1) {
		if (field(local, &pos, &flen) == NULL)	/* forwarder */
			return -1;
		if (local[pos] != '=' && local[pos] != '+' &&
		    local[pos] != '-')
			return -1;
		pos++;
		if (field(local, &pos, &flen) == NULL)	/* hash */
			return -1;
	}
	if (field(local, &pos, &flen) == NULL)		/* timestamp */
		return -1;
	if ((f = field(local, &pos, &dlen)) == NULL)	/* domain */
		return -1;
	if (local[pos] == '\0' || dlen >= dsz)
		return -1;
	memcpy(domain, f, dlen);
	domain[dlen] = '\0';
	snprintf(tmp, sizeof(tmp), "%s", local + pos);
	snprintf(local, lsz, "%s", tmp);
	return 0;
}

/*
 * BATV (draft-levine-smtp-batv): prvs=TAG=local, and the variants seen in
 * the wild: msprvs1=TAG=local, btv1==TAG==local.
 */
static void
batv_strip(char *local)
{
	static const struct { const char *tag, *end; } forms[] = {
		{ "prvs=", "=" }, { "msprvs1=", "=" }, { "btv1==", "==" },
	};
	size_t i, tl;
	const char *e;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		tl = strlen(forms[i].tag);
		if (strncmp(local, forms[i].tag, tl) != 0)
			continue;
		e = strstr(local + tl, forms[i].end);
		if (e == NULL || e == local + tl)
			return;
		e += strlen(forms[i].end);
		if (*e == '\0')
			return;
		memmove(local, e, strlen(e) + 1);
		return;
	}
}

/*
 * A token (a maximal run of [a-z0-9]) of a VERP or bounce address: all
 * digits, or hex digits with at least one digit and either 8 or more of
 * them or, once the local part is known to be machine-made (long), any
 * length (the 4-digit groups of a UUID).
 */
static int
verp_token(const char *s, size_t n, int machine)
{
	size_t i, digits = 0;
	int hex = 1;

	for (i = 0; i < n; i++) {
		digits += is_digit(s[i]);
		if (!is_hex(s[i]))
			hex = 0;
	}
	if (digits == n)
		return 1;
	return hex && digits > 0 && (n >= 8 || machine);
}

/* VERP and bounce tokens to '#', in local parts of two or more tokens. */
static void
verp_mask(char *local)
{
	char out[WORK_MAX];
	size_t i, j, o = 0, tokens = 0;
	int machine = 0;

	for (i = 0; local[i] != '\0'; i = j) {
		for (j = i; is_alnum(local[j]); j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		tokens++;
		if (j - i >= 8 && verp_token(local + i, j - i, 0))
			machine = 1;
	}
	if (tokens < 2)
		return;
	for (i = 0; local[i] != '\0' && o < sizeof(out) - 1; i = j) {
		for (j = i; is_alnum(local[j]); j++)
			;
		if (j == i) {
			out[o++] = local[j++];
			continue;
		}
		if (verp_token(local + i, j - i, machine))
			out[o++] = '#';
		else
			while (i < j && o < sizeof(out) - 1)
				out[o++] = local[i++];
	}
	out[o] = '\0';
	memcpy(local, out, o + 1);
}

void
grey_normalize_sender(char out[GREY_ADDR_MAX + 1], const char *sender)
{
	char local[WORK_MAX], domain[WORK_MAX];
	char *at, *plus;

	clean_copy(local, sizeof(local) - 1, sender);
	if (local[0] == '\0') {
		snprintf(out, GREY_ADDR_MAX + 1, "<>");
		return;
	}
	domain[0] = '\0';
	if ((at = strrchr(local, '@')) != NULL && local[0] != '"') {
		snprintf(domain, sizeof(domain), "%s", at + 1);
		*at = '\0';
	} else if (at != NULL) {
		/* A quoted local part: only lower-cased. */
		cat3(out, GREY_ADDR_MAX + 1, local, "", "");
		return;
	}
	(void)srs_decode(local, sizeof(local), domain, sizeof(domain));
	batv_strip(local);
	if ((plus = strchr(local + 1, '+')) != NULL)
		*plus = '\0';
	verp_mask(local);
	if (at != NULL || domain[0] != '\0')
		cat3(out, GREY_ADDR_MAX + 1, local, "@", domain);
	else
		cat3(out, GREY_ADDR_MAX + 1, local, "", "");
}

void
grey_normalize_rcpt(char out[GREY_ADDR_MAX + 1], const char *rcpt)
{
	clean_copy(out, GREY_ADDR_MAX, rcpt);
}

int
grey_triplet_make(struct grey_triplet *t, const struct grey_params *p,
    const unsigned char *addr, int is_v6, const char *fcrdns,
    const char *sender, const char *rcpt)
{
	memset(t, 0, sizeof(*t));
	if (!(p->use_fcrdns && fcrdns != NULL &&
	    grey_client_name(t->client, sizeof(t->client), fcrdns, addr,
	    is_v6) == 0) &&
	    grey_client_net(t->client, sizeof(t->client), addr, is_v6,
	    is_v6 ? p->v6_prefix : p->v4_prefix) == -1)
		return -1;
	grey_normalize_sender(t->sender, sender);
	grey_normalize_rcpt(t->rcpt, rcpt);
	return 0;
}

int
grey_key_triplet(char *out, size_t outsz, const char *prefix,
    const struct grey_triplet *t)
{
	int n;

	if (strlen(prefix) > GREY_PREFIX_MAX)
		return -1;
	n = snprintf(out, outsz, "%st:%s %s %s", prefix, t->client,
	    t->sender, t->rcpt);
	return n < 0 || (size_t)n >= outsz ? -1 : n;
}

int
grey_key_client(char *out, size_t outsz, const char *prefix, char kind,
    const char *client)
{
	int n;

	if (strlen(prefix) > GREY_PREFIX_MAX)
		return -1;
	n = snprintf(out, outsz, "%s%c:%s", prefix, kind, client);
	return n < 0 || (size_t)n >= outsz ? -1 : n;
}

int
grey_key_split(struct grey_triplet *t, const char *key)
{
	const char *a, *b;
	size_t n;

	if (strncmp(key, "t:", 2) != 0)
		return -1;
	key += 2;
	if ((a = strchr(key, ' ')) == NULL || (b = strchr(a + 1, ' ')) == NULL ||
	    strchr(b + 1, ' ') != NULL)
		return -1;
	memset(t, 0, sizeof(*t));
	if ((n = (size_t)(a - key)) == 0 || n > GREY_CLIENT_MAX)
		return -1;
	memcpy(t->client, key, n);
	if ((n = (size_t)(b - a - 1)) == 0 || n > GREY_ADDR_MAX)
		return -1;
	memcpy(t->sender, a + 1, n);
	if ((n = strlen(b + 1)) == 0 || n > GREY_ADDR_MAX)
		return -1;
	memcpy(t->rcpt, b + 1, n);
	return 0;
}

void
grey_decide(const struct grey_params *p, int64_t now,
    const struct grey_record *rec, const struct grey_awl *awl,
    struct grey_outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (awl != NULL)
		o->awl = *awl;
	if (p->awl_passes > 0 && awl != NULL && awl->count >= p->awl_passes) {
		o->decision = GREY_WHITELISTED;
		o->awl_write = 1;
		o->awl_ttl_ms = p->pass_lifetime_ms;
		return;
	}
	if (rec == NULL ||
	    (rec->passed_until == 0 && now >= rec->first_seen +
	    p->retry_window_ms) ||
	    (rec->passed_until != 0 && now >= rec->passed_until)) {
		o->decision = GREY_NEW;
		o->wait_ms = p->delay_ms;
		o->rec_write = 1;
		o->rec.first_seen = o->rec.last_seen = now;
		o->rec_ttl_ms = p->retry_window_ms;
		return;
	}
	o->rec = *rec;
	o->rec.last_seen = now;
	o->rec_write = 1;
	if (rec->passed_until == 0 && now < rec->first_seen + p->delay_ms) {
		/* Clock stepped back: never promise more than the delay. */
		o->decision = GREY_PENDING;
		o->wait_ms = rec->first_seen + p->delay_ms - now;
		if (o->wait_ms > p->delay_ms)
			o->wait_ms = p->delay_ms;
		o->rec_ttl_ms = rec->first_seen + p->retry_window_ms - now;
		if (o->rec_ttl_ms > p->retry_window_ms)
			o->rec_ttl_ms = p->retry_window_ms;
		return;
	}
	o->decision = GREY_PASSED;
	o->rec.pass_count++;
	o->rec.passed_until = now + p->pass_lifetime_ms;
	o->rec_ttl_ms = p->pass_lifetime_ms;
	if (p->awl_passes > 0 && (awl == NULL || awl->count == 0 ||
	    now - awl->last_counted >= p->awl_interval_ms)) {
		o->awl.count++;
		o->awl.last_counted = now;
		o->awl_write = 1;
		o->awl_ttl_ms = p->pass_lifetime_ms;
		o->awl_now = o->awl.count == p->awl_passes;
	}
}

long
grey_wait_seconds(int64_t wait_ms)
{
	if (wait_ms <= 0)
		return 0;
	return (long)((wait_ms + 999) / 1000);
}

const char *
grey_decision_name(enum grey_decision d)
{
	switch (d) {
	case GREY_NEW:
		return "new";
	case GREY_PENDING:
		return "pending";
	case GREY_PASSED:
		return "passed";
	case GREY_WHITELISTED:
		return "whitelisted";
	}
	return "?";
}
