/*
 * netaddr.c: addresses, CIDR networks and domain sets (see netaddr.h).
 *
 * Pure: no sockets are opened, nothing is logged, no clock is read.  The
 * relay decision ("is this client trusted, is this domain ours") rests on
 * these few functions, so they are deliberately strict and small.
 *
 * It does not resolve names, and it does not know scoped IPv6 addresses
 * ("fe80::1%eth0"): a relay-control list keyed on an interface name would
 * be a surprise, so those are rejected like any other malformed address.
 *
 * Invariants:
 *  - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) never exists in a struct
 *    netaddr or struct cidr; it is folded to AF_INET on the way in, so a
 *    v4 client seen on a dual-stack socket matches the v4 networks;
 *  - a struct cidr never has host bits set beyond its prefix;
 *  - domain_set entries are stored lower-case; an entry with a leading dot
 *    stands for the proper subdomains of the rest and nothing else.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "xmalloc.h"

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static void
netaddr_set6(struct netaddr *na, const unsigned char a[16])
{
	memset(na, 0, sizeof(*na));
	if (memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		na->family = AF_INET;
		memcpy(na->a, a + 12, 4);
	} else {
		na->family = AF_INET6;
		memcpy(na->a, a, 16);
	}
}

/*
 * netaddr_from_sockaddr: copy the address of sa (AF_INET or AF_INET6, the
 * port is ignored) into na, folding v4-mapped v6.  Returns 0, or -1 for
 * any other family (AF_UNIX peers have no address to match).
 */
int
netaddr_from_sockaddr(struct netaddr *na, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		memset(na, 0, sizeof(*na));
		na->family = AF_INET;
		memcpy(na->a, &sin->sin_addr, 4);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		netaddr_set6(na, sin6->sin6_addr.s6_addr);
		return 0;
	default:
		return -1;
	}
}

/*
 * netaddr_parse: a numeric IPv4 ("1.2.3.4", dotted quad only, as
 * inet_pton(3) takes it: no octal, no short forms) or IPv6 address.
 * Returns 0, or -1 if s is neither.
 */
int
netaddr_parse(struct netaddr *na, const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1) {
		memset(na, 0, sizeof(*na));
		na->family = AF_INET;
		memcpy(na->a, a, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		netaddr_set6(na, a);
		return 0;
	}
	return -1;
}

/*
 * netaddr_str: the canonical text form of na into buf (46 bytes hold any
 * address).  Returns buf; "?" if bufsz is too small or the family unknown.
 */
const char *
netaddr_str(const struct netaddr *na, char *buf, size_t bufsz)
{
	int af = na->family == AF_INET ? AF_INET : AF_INET6;

	if (bufsz == 0)
		return buf;
	if ((na->family != AF_INET && na->family != AF_INET6) ||
	    inet_ntop(af, na->a, buf, (socklen_t)bufsz) == NULL) {
		buf[0] = '\0';
		if (bufsz > 1) {
			buf[0] = '?';
			buf[1] = '\0';
		}
	}
	return buf;
}

/* Nonzero if a and b agree on their first bits bits. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Nonzero if any bit past the first bits of the len-byte a is set. */
static int
host_bits_set(const unsigned char *a, size_t len, int bits)
{
	size_t i = (size_t)bits / 8;
	int rest = bits % 8;

	if (rest != 0) {
		if (a[i] & (0xff >> rest))
			return 1;
		i++;
	}
	for (; i < len; i++)
		if (a[i] != 0)
			return 1;
	return 0;
}

/*
 * cidr_parse: "ADDR/BITS" or a bare ADDR (a host route, /32 or /128).
 * BITS is decimal, no sign, no leading zeros, at most 32 (v4) or 128 (v6).
 * A v4-mapped v6 network of at least /96 becomes the matching v4 network
 * (shorter ones always have host bits set: the ffff sits at bits 80-95).
 * Returns 0, or -1 on any syntax error or host bits beyond the prefix.
 */
int
cidr_parse(struct cidr *c, const char *s)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char a[16];
	const char *slash, *p;
	int af, bits, maxbits;
	size_t alen;

	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	if (inet_pton(AF_INET, addr, a) == 1) {
		af = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		af = AF_INET6;
		maxbits = 128;
	} else
		return -1;

	if (slash == NULL)
		bits = maxbits;
	else {
		p = slash + 1;
		/* Strict: "/08" or "/+8" is a typo more often than intent. */
		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
			return -1;
		for (bits = 0; *p >= '0' && *p <= '9'; p++) {
			bits = bits * 10 + (*p - '0');
			if (bits > maxbits)
				return -1;
		}
		if (*p != '\0')
			return -1;
	}
	if (host_bits_set(a, af == AF_INET ? 4 : 16, bits))
		return -1;

	memset(c, 0, sizeof(*c));
	if (af == AF_INET6 && bits >= 96 &&
	    memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		c->net.family = AF_INET;
		memcpy(c->net.a, a + 12, 4);
		c->bits = bits - 96;
	} else {
		c->net.family = af;
		memcpy(c->net.a, a, af == AF_INET ? 4 : 16);
		c->bits = bits;
	}
	return 0;
}

/* cidr_match: nonzero if na lies inside c (same family, same prefix). */
int
cidr_match(const struct cidr *c, const struct netaddr *na)
{
	if (c->net.family != na->family)
		return 0;
	return prefix_equal(c->net.a, na->a, c->bits);
}

/* cidr_list_add: append a copy of c; the list owns its array. */
void
cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	/* The capacity is implied: 4, then doubled each time n reaches a
	 * power of two (4, 8, 16...), so the struct needs no cap field. */
	if (l->n == 0)
		l->v = xreallocarray(l->v, 4, sizeof(*l->v));
	else if (l->n >= 4 && (l->n & (l->n - 1)) == 0)
		l->v = xreallocarray(l->v, l->n * 2, sizeof(*l->v));
	l->v[l->n++] = *c;
}

/* cidr_list_match: nonzero if any network in l contains na. */
int
cidr_list_match(const struct cidr_list *l, const struct netaddr *na)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], na))
			return 1;
	return 0;
}

/* cidr_list_free: release the array and leave an empty list. */
void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * The domain set is an open-addressing hash table (linear probing, load
 * at most one half) of lower-case strings.  Lookups hash a slice of the
 * query case-folded on the fly, so matching allocates nothing.
 */
struct domain_set {
	char	**slot;
	size_t	  cap;		/* a power of two */
	size_t	  n;
};

static int
lower(int c)
{
	/* Not tolower(3): the locale must not change what a domain is. */
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static uint64_t
hash_lower(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)lower((unsigned char)s[i]);
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* entry is lower-case; s[0..n) is matched case-insensitively. */
static int
entry_equal(const char *entry, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (entry[i] == '\0' ||
		    entry[i] != lower((unsigned char)s[i]))
			return 0;
	return entry[n] == '\0';
}

static char **
domain_set_find(const struct domain_set *ds, const char *s, size_t n)
{
	size_t i;

	i = (size_t)hash_lower(s, n) & (ds->cap - 1);
	while (ds->slot[i] != NULL) {
		if (entry_equal(ds->slot[i], s, n))
			return &ds->slot[i];
		i = (i + 1) & (ds->cap - 1);
	}
	return &ds->slot[i];
}

/* domain_set_new: an empty set, owned by the caller (domain_set_free). */
struct domain_set *
domain_set_new(void)
{
	struct domain_set *ds;

	ds = xcalloc(1, sizeof(*ds));
	ds->cap = 16;
	ds->slot = xcalloc(ds->cap, sizeof(*ds->slot));
	return ds;
}

static void
domain_set_grow(struct domain_set *ds)
{
	struct domain_set bigger;
	char **old = ds->slot;
	size_t i, oldcap = ds->cap;

	bigger.cap = ds->cap * 2;
	bigger.slot = xcalloc(bigger.cap, sizeof(*bigger.slot));
	bigger.n = ds->n;
	for (i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			*domain_set_find(&bigger, old[i], strlen(old[i])) =
			    old[i];
	free(old);
	ds->slot = bigger.slot;
	ds->cap = bigger.cap;
}

/*
 * domain_set_add: add a copy of domain (lower-cased).  A leading dot makes
 * it a subdomain entry.  Adding an entry twice is harmless.  The caller
 * validates syntax first (the config does); the set stores what it gets.
 */
void
domain_set_add(struct domain_set *ds, const char *domain)
{
	size_t i, n = strlen(domain);
	char **slot, *copy;

	if ((ds->n + 1) * 2 > ds->cap)
		domain_set_grow(ds);
	slot = domain_set_find(ds, domain, n);
	if (*slot != NULL)
		return;
	copy = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		copy[i] = (char)lower((unsigned char)domain[i]);
	copy[n] = '\0';
	*slot = copy;
	ds->n++;
}

/*
 * domain_set_match: nonzero if domain is in the set, or a proper subdomain
 * of a ".parent" entry.  A domain that is empty, starts or ends with a dot
 * or has an empty label never matches: it is not an RFC 5321 domain, and
 * matching it anyway is how "example.com." slips past relay control.
 */
int
domain_set_match(const struct domain_set *ds, const char *domain)
{
	size_t n = strlen(domain), i;

	if (ds == NULL || n == 0 || domain[0] == '.' || domain[n - 1] == '.' ||
	    strstr(domain, "..") != NULL)
		return 0;
	if (*domain_set_find(ds, domain, n) != NULL)
		return 1;
	/* Each ".suffix" after the first label: a.b.c -> .b.c, .c */
	for (i = 1; i < n; i++)
		if (domain[i] == '.' &&
		    *domain_set_find(ds, domain + i, n - i) != NULL)
			return 1;
	return 0;
}

/* domain_set_count: number of distinct entries. */
size_t
domain_set_count(const struct domain_set *ds)
{
	return ds == NULL ? 0 : ds->n;
}

/*
 * domain_set_next: iterate over the entries in no particular order.  Start
 * with *iter = 0; returns NULL at the end.  The set must not change while
 * iterating.  The strings belong to the set.
 */
const char *
domain_set_next(const struct domain_set *ds, size_t *iter)
{
	if (ds == NULL)
		return NULL;
	while (*iter < ds->cap) {
		if (ds->slot[*iter] != NULL)
			return ds->slot[(*iter)++];
		(*iter)++;
	}
	return NULL;
}

/* domain_set_free: release the set and its strings; NULL is a no-op. */
void
domain_set_free(struct domain_set *ds)
{
	size_t i;

	if (ds == NULL)
		return;
	for (i = 0; i < ds->cap; i++)
		free(ds->slot[i]);
	free(ds->slot);
	free(ds);
}
