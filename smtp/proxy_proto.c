/*
 * proxy_proto.c: the HAProxy PROXY protocol, versions 1 and 2 (haproxy's
 * doc/proxy-protocol.txt).  Pure: bytes in, a struct proxy_hdr out; no fds,
 * no logs, no allocation.
 *
 * The header arrives before anything else on a connection, possibly in
 * pieces.  proxy_parse() says MORE only while the bytes seen so far can
 * still become a valid header of an accepted version, so a client that
 * speaks SMTP (or anything else) at a PROXY listener is refused on its first
 * wrong byte instead of being waited for.  Every field is checked as far as
 * it has arrived: address and port prefixes too, not only whole tokens.
 *
 * It does not: read sockets, apply trust (whether this peer may send a
 * header at all is the listener's business), interpret v2 TLVs (they are
 * skipped), or support UDP and UNIX families (refused as BAD).
 *
 * Invariants:
 *  - Prefix-closed: if proxy_parse(buf, n) is BAD, every longer buffer with
 *    the same first n bytes is BAD; if it is OK with *consumed == c, every
 *    buffer with the same first c bytes is OK with the same result; every
 *    proper prefix of a valid header is MORE.
 *  - A v1 header is at most PROXY_V1_MAX bytes; 107 bytes without its CRLF
 *    are BAD.  A v2 header is 16 + its length field, so at most PROXY_V2_MAX.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V2_HDR_LEN	16
#define V2_VERSION	0x2
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_FAM_UNSPEC	0x00
#define V2_FAM_TCP4	0x11
#define V2_FAM_TCP6	0x21
#define V2_ADDR4_LEN	12	/* 2 * 4 address bytes + 2 * 2 port bytes */
#define V2_ADDR6_LEN	36	/* 2 * 16 address bytes + 2 * 2 port bytes */

#define V1_ADDR4_MAX	15	/* "255.255.255.255" */
#define V1_ADDR6_MAX	45	/* INET6_ADDRSTRLEN - 1, with an IPv4 tail */
#define V1_PORT_MAX	5	/* "65535" */

/* A step of the v1 parser: matched and moved on, ran out of bytes, or bad. */
enum v1_step {
	V1_OK,
	V1_SHORT,
	V1_BAD,
};

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Can s[0..len) begin a dotted quad as inet_pton(AF_INET) takes it: four
 * decimal octets 0..255 without leading zeros?  Also true for a complete
 * one; the caller checks completeness with inet_pton.
 */
static int
v4_prefix_ok(const char *s, size_t len)
{
	size_t		i, digits, dots;
	unsigned	val;

	digits = dots = 0;
	val = 0;
	for (i = 0; i < len; i++) {
		if (is_digit(s[i])) {
			/* "01" is refused, as inet_pton refuses it. */
			if (digits > 0 && val == 0)
				return 0;
			val = val * 10 + (unsigned)(s[i] - '0');
			if (val > 255)
				return 0;
			digits++;
		} else if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return 0;
			digits = 0;
			val = 0;
		} else
			return 0;
	}
	return 1;
}

/*
 * Can s[0..len) begin an IPv6 address as inet_pton(AF_INET6) takes it
 * (RFC 4291 2.2): at most eight groups of 1..4 hex digits, at most one "::"
 * standing for at least one group, optionally ending in a dotted quad that
 * takes the place of the last two groups?  The rules follow inet_pton's own
 * so that every prefix of an address inet_pton accepts passes.
 */
static int
v6_prefix_ok(const char *s, size_t len)
{
	size_t	i, xdigits, groups, tail;
	int	dcolon, lastcolon;

	if (len == 0)
		return 1;
	i = 0;
	/* A leading colon must be the start of "::". */
	if (s[0] == ':') {
		if (len == 1)
			return 1;
		if (s[1] != ':')
			return 0;
		i = 1;
	}
	xdigits = groups = 0;
	dcolon = lastcolon = 0;
	tail = (size_t)-1;
	for (; i < len; i++) {
		if (is_xdigit(s[i])) {
			if (xdigits == 4)
				return 0;
			xdigits++;
			lastcolon = 0;
		} else if (s[i] == ':') {
			if (xdigits == 0) {
				/* The second colon of "::". */
				if (dcolon)
					return 0;
				dcolon = 1;
				lastcolon = 2;
			} else {
				groups++;
				xdigits = 0;
				lastcolon = 1;
			}
			if (groups > 8)
				return 0;
		} else if (s[i] == '.') {
			/* The current token starts a dotted quad. */
			tail = i - xdigits;
			break;
		} else
			return 0;
	}
	if (tail != (size_t)-1) {
		if (!v4_prefix_ok(s + tail, len - tail))
			return 0;
		/* The quad is the last 32 bits; "::" needs one group. */
		return dcolon ? groups <= 5 : groups == 6;
	}
	if (xdigits > 0)
		return groups + 1 <= (dcolon ? 7u : 8u);
	if (lastcolon == 2)
		return groups <= 7;
	/* After "x:" another group must come. */
	return groups + 1 <= (dcolon ? 7u : 8u);
}

/* Can s[0..len) begin a port: decimal 0..65535 without leading zeros? */
static int
port_prefix_ok(const char *s, size_t len)
{
	size_t		i;
	unsigned long	val;

	val = 0;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return 0;
		if (i > 0 && val == 0)
			return 0;
		val = val * 10 + (unsigned long)(s[i] - '0');
		if (val > 65535)
			return 0;
	}
	return 1;
}

/*
 * Match the literal lit at p[*pos..lim).  Alternatives are tried by the
 * caller; V1_SHORT means the bytes so far agree with lit.
 */
static enum v1_step
v1_lit(const char *p, size_t lim, size_t *pos, const char *lit)
{
	size_t	len, avail;

	len = strlen(lit);
	avail = lim - *pos;
	if (avail < len) {
		if (memcmp(p + *pos, lit, avail) != 0)
			return V1_BAD;
		return V1_SHORT;
	}
	if (memcmp(p + *pos, lit, len) != 0)
		return V1_BAD;
	*pos += len;
	return V1_OK;
}

enum v1_tok {
	TOK_ADDR4,
	TOK_ADDR6,
	TOK_PORT,
};

/*
 * One token at p[*pos..lim) ended by term.  A complete address goes to
 * *addr (struct in_addr or in6_addr), a complete port to *port (host order).
 */
static enum v1_step
v1_token(const char *p, size_t lim, size_t *pos, enum v1_tok kind, char term,
    void *addr, unsigned *port)
{
	char		 tok[V1_ADDR6_MAX + 1];
	size_t		 start, end, max;
	int		 (*prefix_ok)(const char *, size_t);

	switch (kind) {
	case TOK_ADDR4:
		max = V1_ADDR4_MAX;
		prefix_ok = v4_prefix_ok;
		break;
	case TOK_ADDR6:
		max = V1_ADDR6_MAX;
		prefix_ok = v6_prefix_ok;
		break;
	default:
		max = V1_PORT_MAX;
		prefix_ok = port_prefix_ok;
		break;
	}
	start = *pos;
	for (end = start; end < lim && p[end] != term; end++)
		if (end - start >= max)
			return V1_BAD;
	if (!prefix_ok(p + start, end - start))
		return V1_BAD;
	if (end == lim)
		return V1_SHORT;
	if (end == start)
		return V1_BAD;

	memcpy(tok, p + start, end - start);
	tok[end - start] = '\0';
	switch (kind) {
	case TOK_ADDR4:
		if (inet_pton(AF_INET, tok, addr) != 1)
			return V1_BAD;
		break;
	case TOK_ADDR6:
		if (inet_pton(AF_INET6, tok, addr) != 1)
			return V1_BAD;
		break;
	default:
		/* port_prefix_ok bounded it; a whole token is a whole port. */
		*port = (unsigned)strtoul(tok, NULL, 10);
		break;
	}
	*pos = end + 1;
	return V1_OK;
}

static void
set_sin(struct sockaddr_storage *ss, const struct in_addr *a, unsigned port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = *a;
	sin.sin_port = htons((uint16_t)port);
	memcpy(ss, &sin, sizeof(sin));
}

static void
set_sin6(struct sockaddr_storage *ss, const struct in6_addr *a, unsigned port)
{
	struct sockaddr_in6	sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = *a;
	sin6.sin6_port = htons((uint16_t)port);
	memcpy(ss, &sin6, sizeof(sin6));
}

/* Ran out of bytes: wait for more, unless the line is already too long. */
static enum proxy_status
v1_short(size_t n)
{
	return n >= PROXY_V1_MAX ? PROXY_BAD : PROXY_MORE;
}

/*
 * "PROXY" SP ( "TCP4" SP a4 SP a4 SP port SP port
 *            | "TCP6" SP a6 SP a6 SP port SP port
 *            | "UNKNOWN" [ SP *junk ] ) CRLF
 * The spec lets a sender put anything after UNKNOWN and the receiver ignore
 * it; we still want a word boundary and no CR or LF but the final CRLF.
 */
static enum proxy_status
proxy_parse_v1(const unsigned char *buf, size_t n, struct proxy_hdr *out,
    size_t *consumed)
{
	static const char *const protos[] = { "TCP4 ", "TCP6 ", "UNKNOWN" };
	const char	*p = (const char *)buf;
	size_t		 lim, pos, k;
	enum v1_step	 r;
	int		 proto, shorts;
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	}		 src, dst;
	unsigned	 sport, dport;
	enum v1_tok	 akind;

	lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;
	pos = 0;
	if ((r = v1_lit(p, lim, &pos, "PROXY ")) != V1_OK)
		return r == V1_SHORT ? v1_short(n) : PROXY_BAD;

	proto = -1;
	shorts = 0;
	for (k = 0; k < sizeof(protos) / sizeof(protos[0]); k++) {
		size_t at = pos;

		r = v1_lit(p, lim, &at, protos[k]);
		if (r == V1_OK) {
			proto = (int)k;
			pos = at;
			break;
		}
		if (r == V1_SHORT)
			shorts++;
	}
	if (proto == -1)
		return shorts > 0 ? v1_short(n) : PROXY_BAD;

	if (proto == 2) {
		if (pos == lim)
			return v1_short(n);
		if (p[pos] == ' ') {
			for (pos++; pos < lim && p[pos] != '\r'; pos++)
				if (p[pos] == '\n')
					return PROXY_BAD;
		} else if (p[pos] != '\r')
			return PROXY_BAD;
		if (pos == lim)
			return v1_short(n);
		if ((r = v1_lit(p, lim, &pos, "\r\n")) != V1_OK)
			return r == V1_SHORT ? v1_short(n) : PROXY_BAD;
		out->version = 1;
		out->local = 1;
		*consumed = pos;
		return PROXY_OK;
	}

	akind = proto == 0 ? TOK_ADDR4 : TOK_ADDR6;
	if ((r = v1_token(p, lim, &pos, akind, ' ', &src, NULL)) != V1_OK ||
	    (r = v1_token(p, lim, &pos, akind, ' ', &dst, NULL)) != V1_OK ||
	    (r = v1_token(p, lim, &pos, TOK_PORT, ' ', NULL, &sport)) != V1_OK ||
	    (r = v1_token(p, lim, &pos, TOK_PORT, '\r', NULL, &dport)) != V1_OK)
		return r == V1_SHORT ? v1_short(n) : PROXY_BAD;
	/* v1_token consumed the CR. */
	if (pos == lim)
		return v1_short(n);
	if (p[pos] != '\n')
		return PROXY_BAD;
	pos++;

	out->version = 1;
	out->local = 0;
	if (akind == TOK_ADDR4) {
		set_sin(&out->src, &src.v4, sport);
		set_sin(&out->dst, &dst.v4, dport);
	} else {
		set_sin6(&out->src, &src.v6, sport);
		set_sin6(&out->dst, &dst.v6, dport);
	}
	*consumed = pos;
	return PROXY_OK;
}

static enum proxy_status
proxy_parse_v2(const unsigned char *buf, size_t n, struct proxy_hdr *out,
    size_t *consumed)
{
	struct in_addr	 a4[2];
	struct in6_addr	 a6[2];
	size_t		 len, need, sig;
	unsigned	 cmd, fam, sport, dport;
	const unsigned char *a;

	sig = n < sizeof(v2_sig) ? n : sizeof(v2_sig);
	if (memcmp(buf, v2_sig, sig) != 0)
		return PROXY_BAD;
	if (n <= 12)
		return PROXY_MORE;
	if ((buf[12] >> 4) != V2_VERSION)
		return PROXY_BAD;
	cmd = buf[12] & 0x0f;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return PROXY_BAD;
	if (n <= 13)
		return PROXY_MORE;
	/*
	 * LOCAL (health checks from the balancer itself): the spec says to
	 * ignore the family and the address block, whatever they hold.
	 */
	fam = buf[13];
	need = 0;
	if (cmd == V2_CMD_PROXY) {
		switch (fam) {
		case V2_FAM_UNSPEC:
			break;
		case V2_FAM_TCP4:
			need = V2_ADDR4_LEN;
			break;
		case V2_FAM_TCP6:
			need = V2_ADDR6_LEN;
			break;
		default:
			/* UDP, UNIX and undefined families. */
			return PROXY_BAD;
		}
	}
	if (n < V2_HDR_LEN)
		return PROXY_MORE;
	len = (size_t)buf[14] << 8 | buf[15];
	if (len < need)
		return PROXY_BAD;
	if (n < V2_HDR_LEN + len)
		return PROXY_MORE;

	out->version = 2;
	out->local = need == 0;
	a = buf + V2_HDR_LEN;
	if (need == V2_ADDR4_LEN) {
		memcpy(&a4[0], a, 4);
		memcpy(&a4[1], a + 4, 4);
		sport = (unsigned)a[8] << 8 | a[9];
		dport = (unsigned)a[10] << 8 | a[11];
		set_sin(&out->src, &a4[0], sport);
		set_sin(&out->dst, &a4[1], dport);
	} else if (need == V2_ADDR6_LEN) {
		memcpy(&a6[0], a, 16);
		memcpy(&a6[1], a + 16, 16);
		sport = (unsigned)a[32] << 8 | a[33];
		dport = (unsigned)a[34] << 8 | a[35];
		set_sin6(&out->src, &a6[0], sport);
		set_sin6(&out->dst, &a6[1], dport);
	}
	/* Whatever follows the addresses (TLVs) is skipped. */
	*consumed = V2_HDR_LEN + len;
	return PROXY_OK;
}

/*
 * proxy_parse: see proxy_proto.h.  buf is borrowed.  *out is cleared on
 * every call and filled on PROXY_OK; *consumed is 0 unless PROXY_OK.  The
 * first byte tells the versions apart ('P' or CR), so a version not in
 * accept is BAD at once.
 */
enum proxy_status
proxy_parse(const unsigned char *buf, size_t n, unsigned accept,
    struct proxy_hdr *out, size_t *consumed)
{
	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if ((accept & (PROXY_ACCEPT_V1 | PROXY_ACCEPT_V2)) == 0)
		return PROXY_BAD;
	if (n == 0)
		return PROXY_MORE;
	if (buf[0] == 'P' && (accept & PROXY_ACCEPT_V1))
		return proxy_parse_v1(buf, n, out, consumed);
	if (buf[0] == v2_sig[0] && (accept & PROXY_ACCEPT_V2))
		return proxy_parse_v2(buf, n, out, consumed);
	return PROXY_BAD;
}

/*
 * Copy the address and port of sa (AF_INET or AF_INET6) out, without
 * assuming sa is aligned for the larger struct.  Returns the family, or -1.
 */
static int
sa_get(const struct sockaddr *sa, void *addr, uint16_t *port_be)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		memcpy(addr, &sin.sin_addr, 4);
		*port_be = sin.sin_port;
		return AF_INET;
	case AF_INET6:
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(addr, &sin6.sin6_addr, 16);
		*port_be = sin6.sin6_port;
		return AF_INET6;
	default:
		return -1;
	}
}

/*
 * proxy_build_v1: see proxy_proto.h.  Writes "PROXY TCP4|TCP6 src dst sport
 * dport\r\n" and a terminating NUL (not counted in the result); outsz must
 * leave room for it.  src and dst are borrowed, of one family.  On -1 the
 * contents of out are unspecified.
 */
int
proxy_build_v1(char *out, size_t outsz, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	unsigned char	 sa[16], da[16];
	char		 st[INET6_ADDRSTRLEN], dt[INET6_ADDRSTRLEN];
	uint16_t	 sp, dp;
	int		 af, len;

	af = sa_get(src, sa, &sp);
	if (af == -1 || sa_get(dst, da, &dp) != af)
		return -1;
	if (inet_ntop(af, sa, st, sizeof(st)) == NULL ||
	    inet_ntop(af, da, dt, sizeof(dt)) == NULL)
		return -1;
	len = snprintf(out, outsz, "PROXY %s %s %s %u %u\r\n",
	    af == AF_INET ? "TCP4" : "TCP6", st, dt,
	    (unsigned)ntohs(sp), (unsigned)ntohs(dp));
	if (len < 0 || (size_t)len >= outsz)
		return -1;
	return len;
}

/*
 * proxy_build_v2: see proxy_proto.h.  Writes the v2 PROXY command, family
 * TCP4 or TCP6, no TLVs: 28 or 52 bytes.  src and dst are borrowed, of one
 * family.  On -1 nothing is written.
 */
int
proxy_build_v2(unsigned char *out, size_t outsz,
    const struct sockaddr *src, const struct sockaddr *dst)
{
	unsigned char	 sa[16], da[16];
	uint16_t	 sp, dp;
	size_t		 alen, blen;
	int		 af;

	af = sa_get(src, sa, &sp);
	if (af == -1 || sa_get(dst, da, &dp) != af)
		return -1;
	alen = af == AF_INET ? 4 : 16;
	blen = 2 * alen + 4;
	if (outsz < V2_HDR_LEN + blen)
		return -1;
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = V2_VERSION << 4 | V2_CMD_PROXY;
	out[13] = af == AF_INET ? V2_FAM_TCP4 : V2_FAM_TCP6;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	memcpy(out + V2_HDR_LEN, sa, alen);
	memcpy(out + V2_HDR_LEN + alen, da, alen);
	/* sin_port is already in network order, as the wire wants it. */
	memcpy(out + V2_HDR_LEN + 2 * alen, &sp, 2);
	memcpy(out + V2_HDR_LEN + 2 * alen + 2, &dp, 2);
	return (int)(V2_HDR_LEN + blen);
}
