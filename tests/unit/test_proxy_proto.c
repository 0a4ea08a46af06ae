/*
 * test_proxy_proto.c: PROXY protocol v1/v2 parsing and building.
 *
 * Valid headers must parse to exactly the addresses they carry, with every
 * proper prefix MORE.  Invalid ones must turn BAD at the first byte that
 * rules them out (checked by feeding every prefix), never later, so a
 * client that talks SMTP at a PROXY listener is not waited for.  The
 * address prefix checks are compared against inet_pton itself over every
 * short string of a small alphabet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"
#include "xmalloc.h"

#define BOTH	(PROXY_ACCEPT_V1 | PROXY_ACCEPT_V2)

static enum proxy_status
parse(const void *buf, size_t n, unsigned accept, struct proxy_hdr *h,
    size_t *c)
{
	return proxy_parse(buf, n, accept, h, c);
}

/*
 * Every proper prefix of buf[0..n) is MORE, and buf[0..n) is BAD, and stays
 * BAD with any of a few continuations.
 */
static void
expect_bad_at(const void *buf, size_t n, unsigned accept)
{
	static const char *const tails[] = {
		":", "::", ".", "0", "1", "f", " ", "\r", "\r\n", "\n", "P",
	};
	struct proxy_hdr	h;
	size_t			c, k;
	enum proxy_status	st;

	for (k = 0; k < n; k++) {
		st = parse(buf, k, accept, &h, &c);
		if (st != PROXY_MORE) {
			print_error("prefix %zu of %zu: %d, want MORE\n", k, n,
			    st);
			fail();
		}
	}
	st = parse(buf, n, accept, &h, &c);
	if (st != PROXY_BAD) {
		print_error("%zu bytes: %d, want BAD\n", n, st);
		fail();
	}
	assert_int_equal(c, 0);
	/* A BAD header stays BAD whatever follows. */
	for (k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
		unsigned char *more = xmalloc(n + 4);

		memcpy(more, buf, n);
		memcpy(more + n, tails[k], strlen(tails[k]));
		st = parse(more, n + strlen(tails[k]), accept, &h, &c);
		free(more);
		if (st != PROXY_BAD) {
			print_error("%zu bytes + \"%s\": %d, want BAD\n", n,
			    tails[k], st);
			fail();
		}
	}
}

static void
expect_bad_str(const char *s)
{
	expect_bad_at(s, strlen(s), BOTH);
}

/*
 * buf[0..hlen) is a complete header followed by n - hlen other bytes: every
 * proper prefix of the header is MORE and any longer one is OK with
 * *consumed == hlen.  Returns the parsed header.
 */
static void
expect_ok(const void *buf, size_t hlen, size_t n, unsigned accept,
    struct proxy_hdr *out)
{
	struct proxy_hdr	h;
	size_t			c, k;
	enum proxy_status	st;

	for (k = 0; k <= n; k++) {
		st = parse(buf, k, accept, &h, &c);
		if (k < hlen && st != PROXY_MORE) {
			print_error("prefix %zu of %zu: %d, want MORE\n", k,
			    hlen, st);
			fail();
		}
		if (k >= hlen && (st != PROXY_OK || c != hlen)) {
			print_error("%zu bytes: %d consumed %zu, want OK %zu\n",
			    k, st, c, hlen);
			fail();
		}
		if (k == hlen)
			*out = h;
		if (k > hlen)
			assert_memory_equal(&h, out, sizeof(h));
	}
}

static void
check_v4(const struct sockaddr_storage *ss, const char *addr, unsigned port)
{
	struct sockaddr_in	sin;
	char			buf[INET_ADDRSTRLEN];

	memcpy(&sin, ss, sizeof(sin));
	assert_int_equal(sin.sin_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(ntohs(sin.sin_port), port);
}

static void
check_v6(const struct sockaddr_storage *ss, const char *addr, unsigned port)
{
	struct sockaddr_in6	sin6;
	struct in6_addr		want;

	memcpy(&sin6, ss, sizeof(sin6));
	assert_int_equal(sin6.sin6_family, AF_INET6);
	assert_int_equal(inet_pton(AF_INET6, addr, &want), 1);
	assert_memory_equal(&sin6.sin6_addr, &want, sizeof(want));
	assert_int_equal(ntohs(sin6.sin6_port), port);
	assert_int_equal(sin6.sin6_flowinfo, 0);
	assert_int_equal(sin6.sin6_scope_id, 0);
}

/* v1 */

static void
ok_v1(const char *s, const char *trail, struct proxy_hdr *h)
{
	char	buf[256];
	size_t	hlen = strlen(s);

	snprintf(buf, sizeof(buf), "%s%s", s, trail);
	expect_ok(buf, hlen, strlen(buf), PROXY_ACCEPT_V1, h);
	assert_int_equal(h->version, 1);
}

static void
test_v1_valid(void **state)
{
	struct proxy_hdr h;

	(void)state;
	ok_v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n", "", &h);
	assert_int_equal(h.local, 0);
	check_v4(&h.src, "192.0.2.1", 56324);
	check_v4(&h.dst, "198.51.100.2", 25);

	/* Pipelined SMTP after the header is not consumed. */
	ok_v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n", "EHLO x\r\n",
	    &h);
	check_v4(&h.src, "192.0.2.1", 56324);

	ok_v1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "", &h);
	check_v4(&h.src, "0.0.0.0", 0);
	check_v4(&h.dst, "255.255.255.255", 65535);

	ok_v1("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", "QUIT", &h);
	assert_int_equal(h.local, 0);
	check_v6(&h.src, "2001:db8::1", 1);
	check_v6(&h.dst, "2001:db8::2", 65535);

	ok_v1("PROXY TCP6 ::ffff:192.0.2.1 :: 10 20\r\n", "", &h);
	check_v6(&h.src, "::ffff:192.0.2.1", 10);
	check_v6(&h.dst, "::", 20);

	ok_v1("PROXY TCP6 1:2:3:4:5:6:7:8 1:2:3:4:5:6:1.2.3.4 1 2\r\n", "", &h);
	check_v6(&h.src, "1:2:3:4:5:6:7:8", 1);
	check_v6(&h.dst, "1:2:3:4:5:6:1.2.3.4", 2);

	ok_v1("PROXY TCP6 ABCD::EF 1:: 1 2\r\n", "", &h);
	check_v6(&h.src, "abcd::ef", 1);
	check_v6(&h.dst, "1::", 2);

	/* The longest TCP6 line: 104 bytes. */
	ok_v1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", "", &h);
	check_v6(&h.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);

	ok_v1("PROXY UNKNOWN\r\n", "EHLO", &h);
	assert_int_equal(h.local, 1);
	assert_int_equal(h.src.ss_family, 0);
	assert_int_equal(h.dst.ss_family, 0);

	ok_v1("PROXY UNKNOWN \r\n", "", &h);
	assert_int_equal(h.local, 1);
	ok_v1("PROXY UNKNOWN 1.2.3.4 x\ty\x01\x80 \r\n", "", &h);
	assert_int_equal(h.local, 1);

	/* The spec's worst case: exactly 107 bytes. */
	ok_v1("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", "x", &h);
	assert_int_equal(h.local, 1);
}

static void
test_v1_length(void **state)
{
	char			buf[200];
	struct proxy_hdr	h;
	size_t			c;

	(void)state;
	/* 107 bytes with CRLF is OK, 108 is BAD. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 105, "\r\n", 2);
	assert_int_equal(parse(buf, 107, BOTH, &h, &c), PROXY_OK);
	assert_int_equal(c, 107);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 106, "\r\n", 2);
	assert_int_equal(parse(buf, 106, BOTH, &h, &c), PROXY_MORE);
	assert_int_equal(parse(buf, 107, BOTH, &h, &c), PROXY_BAD);
	assert_int_equal(parse(buf, 108, BOTH, &h, &c), PROXY_BAD);

	/* No CRLF in 107 bytes: BAD even with the CR as byte 107. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	buf[106] = '\r';
	assert_int_equal(parse(buf, 107, BOTH, &h, &c), PROXY_BAD);
	expect_bad_at(buf, 107, BOTH);

	/* A TCP6 line with IPv4 tails is valid text but 116 bytes long. */
	snprintf(buf, sizeof(buf), "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n");
	assert_int_equal(strlen(buf), 116);
	expect_bad_at(buf, 107, BOTH);
}

static void
test_v1_bad(void **state)
{
	(void)state;
	/* Each is BAD exactly at its last byte. */
	expect_bad_str("E");
	expect_bad_str("X");
	expect_bad_str("p");
	expect_bad_str("PROXX");
	expect_bad_str("PROXY\t");
	expect_bad_str("PROXY  ");
	expect_bad_str("PROXY t");
	expect_bad_str("PROXY TCP5");
	expect_bad_str("PROXY TCP4\r");
	expect_bad_str("PROXY TCP4  ");
	expect_bad_str("PROXY UNKNOWNX");
	expect_bad_str("PROXY UNKNOWN\n");
	expect_bad_str("PROXY UNKNOWN\rX");
	expect_bad_str("PROXY UNKNOWN junk\n");
	expect_bad_str("PROXY UNKNOWN junk\r\r");
	expect_bad_str("PROXY UNKNOWN\r\r");

	/* IPv4 addresses. */
	expect_bad_str("PROXY TCP4 01");
	expect_bad_str("PROXY TCP4 00");
	expect_bad_str("PROXY TCP4 256");
	expect_bad_str("PROXY TCP4 1.2.3.4.");
	expect_bad_str("PROXY TCP4 1..");
	expect_bad_str("PROXY TCP4 .");
	expect_bad_str("PROXY TCP4 1.2.3 ");
	expect_bad_str("PROXY TCP4 1.2.3. ");
	expect_bad_str("PROXY TCP4 1.2.3.04");
	expect_bad_str("PROXY TCP4 1.2.3.4x");
	expect_bad_str("PROXY TCP4 :");
	expect_bad_str("PROXY TCP4 1.2.3.4 :");
	expect_bad_str("PROXY TCP4 1.2.3.4\r");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8\r");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8  ");

	/* IPv6 addresses. */
	expect_bad_str("PROXY TCP6 1.");
	expect_bad_str("PROXY TCP6 :1");
	expect_bad_str("PROXY TCP6 :::");
	expect_bad_str("PROXY TCP6 1::2::");
	expect_bad_str("PROXY TCP6 12345");
	expect_bad_str("PROXY TCP6 g");
	expect_bad_str("PROXY TCP6 fe80::1%");
	expect_bad_str("PROXY TCP6 1:2:3:4:5:6:7:8:");
	{
		/* Nine groups, scanned as one token when it all arrives. */
		static const char nine[] = "PROXY TCP6 1:2:3:4:5:6:7:8:9:";
		struct proxy_hdr h;
		size_t c;

		assert_int_equal(parse(nine, sizeof(nine) - 1, BOTH, &h, &c),
		    PROXY_BAD);
	}
	expect_bad_str("PROXY TCP6 1: ");
	expect_bad_str("PROXY TCP6 1:2:3:4:5:6:7 ");
	expect_bad_str("PROXY TCP6 1:2:3:4:5:1.");
	expect_bad_str("PROXY TCP6 1::2:3:4:5:6:1.");
	expect_bad_str("PROXY TCP6 ::1.2.3.4.");
	expect_bad_str("PROXY TCP6 ::1.2.3 ");
	expect_bad_str("PROXY TCP6 ::01.");
	expect_bad_str("PROXY TCP6 ::1 1.");

	/* Ports. */
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 01");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 00");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 65536");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 99999");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 -");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 +");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1\r");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 02");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 123456");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX");
	expect_bad_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r");
}

/* Boundaries that are still MORE (and then OK). */
static void
test_v1_more(void **state)
{
	static const char *const more[] = {
		"", "P", "PROXY", "PROXY ", "PROXY T", "PROXY TCP", "PROXY U",
		"PROXY UNKNOWN", "PROXY UNKNOWN\r", "PROXY UNKNOWN junk",
		"PROXY TCP4 ", "PROXY TCP4 0", "PROXY TCP4 255.", "PROXY TCP4 1.",
		"PROXY TCP4 1.2.3.4", "PROXY TCP4 1.2.3.4 ", "PROXY TCP4 1.2.3.4 "
		"5.6.7.8 0", "PROXY TCP4 1.2.3.4 5.6.7.8 6553",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65535 0\r",
		"PROXY TCP6 :", "PROXY TCP6 ::", "PROXY TCP6 1:",
		"PROXY TCP6 1:2:3:4:5:6:7:", "PROXY TCP6 1:2:3:4:5:6:1.",
		"PROXY TCP6 ::1.2.3.", "PROXY TCP6 1::2:3:4:5:1.",
		"PROXY TCP6 1:2:3:4:5:6:7:8", "PROXY TCP6 1:2:3:4:5:6:7::",
		"PROXY TCP6 1::2:3:4:5:1.2.3.4",
	};
	struct proxy_hdr	h;
	size_t			c, i;

	(void)state;
	for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		if (parse(more[i], strlen(more[i]), BOTH, &h, &c) !=
		    PROXY_MORE) {
			print_error("\"%s\" is not MORE\n", more[i]);
			fail();
		}
		assert_int_equal(c, 0);
	}
}

/* v2 */

static const unsigned char sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header: signature, ver/cmd, family, len, then body. */
static size_t
v2(unsigned char *buf, unsigned vercmd, unsigned fam, unsigned len,
    const void *body, size_t bodylen)
{
	memcpy(buf, sig, 12);
	buf[12] = (unsigned char)vercmd;
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(len >> 8);
	buf[15] = (unsigned char)len;
	if (bodylen > 0)
		memcpy(buf + 16, body, bodylen);
	return 16 + bodylen;
}

static const unsigned char body4[] = {
	192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x00, 0x19,
};

static const unsigned char body6[] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
	0x00, 0x01, 0xff, 0xff,
};

static void
test_v2_valid(void **state)
{
	unsigned char		 buf[128], *big;
	struct proxy_hdr	 h;
	size_t			 n;

	(void)state;
	n = v2(buf, 0x21, 0x11, 12, body4, sizeof(body4));
	expect_ok(buf, n, n, PROXY_ACCEPT_V2, &h);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.local, 0);
	check_v4(&h.src, "192.0.2.1", 56324);
	check_v4(&h.dst, "198.51.100.2", 25);

	/* Followed by SMTP. */
	memcpy(buf + n, "EHLO x\r\n", 8);
	expect_ok(buf, n, n + 8, BOTH, &h);
	check_v4(&h.src, "192.0.2.1", 56324);

	n = v2(buf, 0x21, 0x21, 36, body6, sizeof(body6));
	expect_ok(buf, n, n, PROXY_ACCEPT_V2, &h);
	assert_int_equal(h.local, 0);
	check_v6(&h.src, "2001:db8::1", 1);
	check_v6(&h.dst, "2001:db8::2", 65535);

	/* TLVs after the addresses are skipped. */
	memcpy(buf + 16, body4, sizeof(body4));
	memcpy(buf + 16 + 12, "\x04\x00\x04" "abcd", 7);
	n = v2(buf, 0x21, 0x11, 19, NULL, 0) + 19;
	memcpy(buf + n, "QUIT", 4);
	expect_ok(buf, n, n + 4, BOTH, &h);
	assert_int_equal(n, 35);
	check_v4(&h.dst, "198.51.100.2", 25);

	/* LOCAL: no addresses, whatever the family says. */
	n = v2(buf, 0x20, 0x00, 0, NULL, 0);
	expect_ok(buf, n, n, BOTH, &h);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.local, 1);
	assert_int_equal(h.src.ss_family, 0);
	n = v2(buf, 0x20, 0x11, 12, body4, sizeof(body4));
	expect_ok(buf, n, n, BOTH, &h);
	assert_int_equal(h.local, 1);
	assert_int_equal(h.src.ss_family, 0);
	n = v2(buf, 0x20, 0x31, 3, "abc", 3);
	expect_ok(buf, n, n, BOTH, &h);
	assert_int_equal(h.local, 1);
	n = v2(buf, 0x20, 0x11, 0, NULL, 0);
	expect_ok(buf, n, n, BOTH, &h);
	assert_int_equal(h.local, 1);

	/* PROXY with UNSPEC: addresses unknown, taken as local. */
	n = v2(buf, 0x21, 0x00, 0, NULL, 0);
	expect_ok(buf, n, n, BOTH, &h);
	assert_int_equal(h.local, 1);
	n = v2(buf, 0x21, 0x00, 5, "\x01\x02\x03\x04\x05", 5);
	expect_ok(buf, n, n, BOTH, &h);
	assert_int_equal(h.local, 1);

	/* The largest length. */
	big = xcalloc(1, PROXY_V2_MAX + 10);
	v2(big, 0x21, 0x11, 65535, body4, sizeof(body4));
	{
		size_t c;

		assert_int_equal(parse(big, PROXY_V2_MAX - 1, BOTH, &h, &c),
		    PROXY_MORE);
		assert_int_equal(parse(big, PROXY_V2_MAX, BOTH, &h, &c),
		    PROXY_OK);
		assert_int_equal(c, PROXY_V2_MAX);
		assert_int_equal(parse(big, PROXY_V2_MAX + 10, BOTH, &h, &c),
		    PROXY_OK);
		assert_int_equal(c, PROXY_V2_MAX);
		check_v4(&h.src, "192.0.2.1", 56324);
	}
	free(big);
}

static void
test_v2_bad(void **state)
{
	static const unsigned fams[] = {
		0x01, 0x02, 0x10, 0x12, 0x13, 0x20, 0x22, 0x31, 0x32, 0x41,
		0xff,
	};
	static const unsigned vercmds[] = {
		0x00, 0x01, 0x10, 0x11, 0x22, 0x2f, 0x31, 0xf1,
	};
	unsigned char	buf[128];
	size_t		i;

	(void)state;
	/* A wrong signature byte is BAD at once. */
	for (i = 0; i < 12; i++) {
		v2(buf, 0x21, 0x11, 12, body4, sizeof(body4));
		buf[i] ^= 0x01;
		expect_bad_at(buf, i + 1, BOTH);
		v2(buf, 0x21, 0x11, 12, body4, sizeof(body4));
		buf[i] = 'P';
		if (i > 0)
			expect_bad_at(buf, i + 1, BOTH);
	}
	for (i = 0; i < sizeof(vercmds) / sizeof(vercmds[0]); i++) {
		v2(buf, vercmds[i], 0x11, 12, body4, sizeof(body4));
		expect_bad_at(buf, 13, BOTH);
	}
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		v2(buf, 0x21, fams[i], 12, body4, sizeof(body4));
		expect_bad_at(buf, 14, BOTH);
	}
	/* Too short for the family's addresses: BAD on the length. */
	v2(buf, 0x21, 0x11, 11, body4, sizeof(body4));
	expect_bad_at(buf, 16, BOTH);
	v2(buf, 0x21, 0x11, 0, NULL, 0);
	expect_bad_at(buf, 16, BOTH);
	v2(buf, 0x21, 0x21, 35, body6, sizeof(body6));
	expect_bad_at(buf, 16, BOTH);
	v2(buf, 0x21, 0x21, 12, body6, sizeof(body6));
	expect_bad_at(buf, 16, BOTH);
}

static void
test_accept_mask(void **state)
{
	static const char v1[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
	unsigned char		buf[64];
	struct proxy_hdr	h;
	size_t			c, n;

	(void)state;
	n = v2(buf, 0x21, 0x11, 12, body4, sizeof(body4));
	assert_int_equal(parse(v1, 0, PROXY_ACCEPT_V1, &h, &c), PROXY_MORE);
	assert_int_equal(parse(v1, 0, PROXY_ACCEPT_V2, &h, &c), PROXY_MORE);
	assert_int_equal(parse(v1, 0, 0, &h, &c), PROXY_BAD);
	assert_int_equal(parse(v1, 0, 0x4, &h, &c), PROXY_BAD);
	assert_int_equal(parse(v1, sizeof(v1) - 1, 0, &h, &c), PROXY_BAD);

	/* The first byte shows the version. */
	expect_bad_at(v1, 1, PROXY_ACCEPT_V2);
	expect_bad_at(buf, 1, PROXY_ACCEPT_V1);
	expect_ok(v1, sizeof(v1) - 1, sizeof(v1) - 1, PROXY_ACCEPT_V1, &h);
	expect_ok(buf, n, n, PROXY_ACCEPT_V2, &h);
	expect_ok(v1, sizeof(v1) - 1, sizeof(v1) - 1, BOTH | 0x4, &h);

	/* out and consumed are cleared when not OK. */
	memset(&h, 0x5a, sizeof(h));
	c = 77;
	assert_int_equal(parse("X", 1, BOTH, &h, &c), PROXY_BAD);
	assert_int_equal(c, 0);
	assert_int_equal(h.version, 0);
	assert_int_equal(h.local, 0);
	assert_int_equal(h.src.ss_family, 0);
}

/* Builders */

static struct sockaddr_storage
mk4(const char *a, unsigned port)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	sin;

	memset(&ss, 0, sizeof(ss));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	memcpy(&ss, &sin, sizeof(sin));
	return ss;
}

static struct sockaddr_storage
mk6(const char *a, unsigned port)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in6	sin6;

	memset(&ss, 0, sizeof(ss));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	memcpy(&ss, &sin6, sizeof(sin6));
	return ss;
}

#define SA(ss)	((const struct sockaddr *)(ss))

static void
test_build_v1(void **state)
{
	static const char want4[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	static const char want6[] =
	    "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n";
	struct sockaddr_storage	s4, d4, s6, d6, un;
	char			buf[PROXY_V1_MAX + 1];
	size_t			sz;

	(void)state;
	s4 = mk4("192.0.2.1", 56324);
	d4 = mk4("198.51.100.2", 25);
	s6 = mk6("2001:db8::1", 1);
	d6 = mk6("2001:db8::2", 65535);

	assert_int_equal(proxy_build_v1(buf, sizeof(buf), SA(&s4), SA(&d4)),
	    sizeof(want4) - 1);
	assert_string_equal(buf, want4);
	assert_int_equal(proxy_build_v1(buf, sizeof(buf), SA(&s6), SA(&d6)),
	    sizeof(want6) - 1);
	assert_string_equal(buf, want6);

	/* Room for the NUL is needed; one byte less fails. */
	for (sz = 0; sz < sizeof(want4); sz++)
		assert_int_equal(proxy_build_v1(buf, sz, SA(&s4), SA(&d4)), -1);
	assert_int_equal(proxy_build_v1(buf, sizeof(want4), SA(&s4), SA(&d4)),
	    sizeof(want4) - 1);

	/* Mixed or unusable families. */
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	assert_int_equal(proxy_build_v1(buf, sizeof(buf), SA(&s4), SA(&d6)),
	    -1);
	assert_int_equal(proxy_build_v1(buf, sizeof(buf), SA(&s6), SA(&d4)),
	    -1);
	assert_int_equal(proxy_build_v1(buf, sizeof(buf), SA(&un), SA(&un)),
	    -1);
	assert_int_equal(proxy_build_v1(buf, sizeof(buf), SA(&s4), SA(&un)),
	    -1);
}

static void
test_build_v2(void **state)
{
	struct sockaddr_storage	s4, d4, s6, d6, un;
	unsigned char		buf[64], want[64];
	size_t			n, sz;

	(void)state;
	s4 = mk4("192.0.2.1", 56324);
	d4 = mk4("198.51.100.2", 25);
	s6 = mk6("2001:db8::1", 1);
	d6 = mk6("2001:db8::2", 65535);

	n = v2(want, 0x21, 0x11, 12, body4, sizeof(body4));
	assert_int_equal(proxy_build_v2(buf, sizeof(buf), SA(&s4), SA(&d4)),
	    n);
	assert_int_equal(n, 28);
	assert_memory_equal(buf, want, n);
	for (sz = 0; sz < n; sz++)
		assert_int_equal(proxy_build_v2(buf, sz, SA(&s4), SA(&d4)), -1);
	assert_int_equal(proxy_build_v2(buf, n, SA(&s4), SA(&d4)), n);

	n = v2(want, 0x21, 0x21, 36, body6, sizeof(body6));
	assert_int_equal(proxy_build_v2(buf, sizeof(buf), SA(&s6), SA(&d6)),
	    n);
	assert_int_equal(n, 52);
	assert_memory_equal(buf, want, n);
	assert_int_equal(proxy_build_v2(buf, n - 1, SA(&s6), SA(&d6)), -1);

	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	assert_int_equal(proxy_build_v2(buf, sizeof(buf), SA(&s4), SA(&d6)),
	    -1);
	assert_int_equal(proxy_build_v2(buf, sizeof(buf), SA(&un), SA(&un)),
	    -1);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
rand_addr(struct sockaddr_storage *ss, int af)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	uint64_t		r[2];
	int			k;

	memset(ss, 0, sizeof(*ss));
	r[0] = rng();
	r[1] = rng();
	/* Plenty of zero runs, so that "::" forms appear. */
	for (k = 0; k < 2; k++)
		if (rng() % 2)
			r[k] &= rng() & rng();
	if (af == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, r, 4);
		sin.sin_port = (uint16_t)rng();
		memcpy(ss, &sin, sizeof(sin));
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, r, 16);
		if (rng() % 4 == 0)
			memcpy(&sin6.sin6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff",
			    12);
		sin6.sin6_port = (uint16_t)rng();
		memcpy(ss, &sin6, sizeof(sin6));
	}
}

static void
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	size_t len;

	assert_int_equal(a->ss_family, b->ss_family);
	len = a->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	assert_memory_equal(a, b, len);
}

/* parse(build(x)) == x, both versions, both families. */
static void
test_roundtrip(void **state)
{
	struct sockaddr_storage	src, dst;
	struct proxy_hdr	h;
	char			b1[PROXY_V1_MAX + 1];
	unsigned char		b2[64];
	size_t			c;
	int			i, af, n;

	(void)state;
	for (i = 0; i < 4000; i++) {
		af = i % 2 ? AF_INET6 : AF_INET;
		rand_addr(&src, af);
		rand_addr(&dst, af);

		n = proxy_build_v1(b1, sizeof(b1), SA(&src), SA(&dst));
		assert_true(n > 0 && n <= PROXY_V1_MAX);
		assert_int_equal(proxy_parse((unsigned char *)b1, (size_t)n,
		    PROXY_ACCEPT_V1, &h, &c), PROXY_OK);
		assert_int_equal(c, n);
		assert_int_equal(h.version, 1);
		assert_int_equal(h.local, 0);
		same_addr(&h.src, &src);
		same_addr(&h.dst, &dst);
		assert_int_equal(proxy_parse((unsigned char *)b1, (size_t)n - 1,
		    PROXY_ACCEPT_V1, &h, &c), PROXY_MORE);

		n = proxy_build_v2(b2, sizeof(b2), SA(&src), SA(&dst));
		assert_int_equal(n, af == AF_INET ? 28 : 52);
		assert_int_equal(proxy_parse(b2, (size_t)n, PROXY_ACCEPT_V2,
		    &h, &c), PROXY_OK);
		assert_int_equal(c, n);
		assert_int_equal(h.version, 2);
		assert_int_equal(h.local, 0);
		same_addr(&h.src, &src);
		same_addr(&h.dst, &dst);
	}
}

/*
 * The address prefix checks against inet_pton: over every string of up to
 * MAXLEN characters from a small alphabet, a whole token is accepted iff
 * inet_pton takes it, every prefix of one inet_pton takes is MORE, and (for
 * strings short enough that any completion fits in MAXLEN) MORE means some
 * completion exists.
 */
#define MAXLEN		9
#define EXACTLEN	4

struct oracle {
	int		 af;
	const char	*alpha;		/* 5 characters */
	const char	*head;		/* "PROXY TCP4 " */
	unsigned char	*viable;	/* bitmap over string index */
	char		 s[MAXLEN + 1];
	size_t		 stack[MAXLEN + 1];
	unsigned long	 nvalid;
};

static int
bit(const unsigned char *b, size_t i)
{
	return b[i / 8] >> (i % 8) & 1;
}

static int
pton_ok(int af, const char *s)
{
	unsigned char a[16];

	return inet_pton(af, s, a) == 1;
}

/* Pass 1: mark every prefix of every string inet_pton accepts. */
static void
mark(struct oracle *o, size_t len, size_t idx)
{
	size_t	k;
	int	c;

	o->stack[len] = idx;
	o->s[len] = '\0';
	if (len > 0 && pton_ok(o->af, o->s)) {
		o->nvalid++;
		for (k = 0; k <= len; k++)
			o->viable[o->stack[k] / 8] |= 1 << (o->stack[k] % 8);
	}
	if (len == MAXLEN)
		return;
	for (c = 0; c < 5; c++) {
		o->s[len] = o->alpha[c];
		mark(o, len + 1, idx * 6 + (size_t)c + 1);
	}
}

/* Pass 2: compare the parser with what pass 1 found. */
static void
compare(struct oracle *o, size_t len, size_t idx, int parent_bad)
{
	char			 buf[64];
	struct proxy_hdr	 h;
	size_t			 c, hl;
	enum proxy_status	 st;
	int			 k;

	o->s[len] = '\0';
	hl = strlen(o->head);
	memcpy(buf, o->head, hl);
	memcpy(buf + hl, o->s, len);

	st = parse(buf, hl + len, BOTH, &h, &c);
	if (bit(o->viable, idx) && st != PROXY_MORE) {
		print_error("\"%s\": viable prefix, got %d\n", o->s, st);
		fail();
	}
	if (len <= EXACTLEN && !bit(o->viable, idx) && st != PROXY_BAD) {
		print_error("\"%s\": no completion, got %d\n", o->s, st);
		fail();
	}
	if (parent_bad && st != PROXY_BAD) {
		print_error("\"%s\": BAD prefix, got %d\n", o->s, st);
		fail();
	}
	parent_bad = st == PROXY_BAD;
	buf[hl + len] = ' ';
	st = parse(buf, hl + len + 1, BOTH, &h, &c);
	if (st != (len > 0 && pton_ok(o->af, o->s) ? PROXY_MORE : PROXY_BAD)) {
		print_error("\"%s \": got %d\n", o->s, st);
		fail();
	}
	if (len == MAXLEN)
		return;
	for (k = 0; k < 5; k++) {
		o->s[len] = o->alpha[k];
		compare(o, len + 1, idx * 6 + (size_t)k + 1, parent_bad);
	}
}

static void
oracle_run(int af, const char *alpha, const char *head)
{
	struct oracle	o;
	size_t		nidx = 1;
	int		i;

	/* Indexes are bijective base 6, so all are below 6^MAXLEN. */
	for (i = 0; i < MAXLEN; i++)
		nidx *= 6;
	memset(&o, 0, sizeof(o));
	o.af = af;
	o.alpha = alpha;
	o.head = head;
	o.viable = xcalloc(nidx / 8 + 1, 1);
	mark(&o, 0, 0);
	assert_true(o.nvalid > 100);
	compare(&o, 0, 0, 0);
	free(o.viable);
}

static void
test_addr_oracle_v4(void **state)
{
	(void)state;
	oracle_run(AF_INET, "0256.", "PROXY TCP4 ");
}

static void
test_addr_oracle_v6(void **state)
{
	(void)state;
	oracle_run(AF_INET6, "01f:.", "PROXY TCP6 ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_valid),
		cmocka_unit_test(test_v1_length),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v1_more),
		cmocka_unit_test(test_v2_valid),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_accept_mask),
		cmocka_unit_test(test_build_v1),
		cmocka_unit_test(test_build_v2),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_addr_oracle_v4),
		cmocka_unit_test(test_addr_oracle_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
