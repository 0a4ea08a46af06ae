/*
 * test_netaddr.c: addresses, CIDR networks, domain sets (common/netaddr.c).
 * These decide who may relay, so every accept and every refusal is pinned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "netaddr.h"

static const char *
str(const struct netaddr *na)
{
	static char buf[64];

	return netaddr_str(na, buf, sizeof(buf));
}

static void
test_parse(void **state)
{
	struct netaddr na;

	(void)state;
	assert_int_equal(netaddr_parse(&na, "192.0.2.1"), 0);
	assert_int_equal(na.family, AF_INET);
	assert_memory_equal(na.a, "\xc0\x00\x02\x01", 4);
	assert_string_equal(str(&na), "192.0.2.1");

	assert_int_equal(netaddr_parse(&na, "2001:DB8:0:0::1"), 0);
	assert_int_equal(na.family, AF_INET6);
	assert_string_equal(str(&na), "2001:db8::1");

	/* v4-mapped folds to v4 */
	assert_int_equal(netaddr_parse(&na, "::ffff:192.0.2.7"), 0);
	assert_int_equal(na.family, AF_INET);
	assert_string_equal(str(&na), "192.0.2.7");
	/* v4-compatible (deprecated) is not mapped: stays v6 */
	assert_int_equal(netaddr_parse(&na, "::192.0.2.7"), 0);
	assert_int_equal(na.family, AF_INET6);

	assert_int_equal(netaddr_parse(&na, ""), -1);
	assert_int_equal(netaddr_parse(&na, "1.2.3"), -1);
	assert_int_equal(netaddr_parse(&na, "1.2.3.4.5"), -1);
	assert_int_equal(netaddr_parse(&na, "256.1.1.1"), -1);
	assert_int_equal(netaddr_parse(&na, " 1.2.3.4"), -1);
	assert_int_equal(netaddr_parse(&na, "1.2.3.4 "), -1);
	assert_int_equal(netaddr_parse(&na, "::g"), -1);
	assert_int_equal(netaddr_parse(&na, "fe80::1%eth0"), -1);
	assert_int_equal(netaddr_parse(&na, "[::1]"), -1);
	assert_int_equal(netaddr_parse(&na, "example.com"), -1);
}

static void
test_from_sockaddr(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct netaddr na;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(25);
	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	assert_int_equal(netaddr_from_sockaddr(&na,
	    (struct sockaddr *)&sin), 0);
	assert_string_equal(str(&na), "198.51.100.9");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::25", &sin6.sin6_addr);
	assert_int_equal(netaddr_from_sockaddr(&na,
	    (struct sockaddr *)&sin6), 0);
	assert_int_equal(na.family, AF_INET6);
	assert_string_equal(str(&na), "2001:db8::25");

	inet_pton(AF_INET6, "::ffff:203.0.113.5", &sin6.sin6_addr);
	assert_int_equal(netaddr_from_sockaddr(&na,
	    (struct sockaddr *)&sin6), 0);
	assert_int_equal(na.family, AF_INET);
	assert_string_equal(str(&na), "203.0.113.5");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(netaddr_from_sockaddr(&na,
	    (struct sockaddr *)&sun), -1);
}

static void
test_str_small(void **state)
{
	struct netaddr na;
	char buf[8];

	(void)state;
	assert_int_equal(netaddr_parse(&na, "2001:db8::1"), 0);
	assert_string_equal(netaddr_str(&na, buf, sizeof(buf)), "?");
	na.family = 12345;
	assert_string_equal(netaddr_str(&na, buf, sizeof(buf)), "?");
	assert_int_equal(netaddr_parse(&na, "1.2.3.4"), 0);
	assert_string_equal(netaddr_str(&na, buf, sizeof(buf)), "1.2.3.4");
}

static void
check_cidr(const char *s, int family, const char *net, int bits)
{
	struct cidr c;

	if (cidr_parse(&c, s) != 0)
		fail_msg("cidr_parse(%s) failed", s);
	assert_int_equal(c.net.family, family);
	assert_string_equal(str(&c.net), net);
	assert_int_equal(c.bits, bits);
}

static void
test_cidr_parse(void **state)
{
	static const char *bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08",
		"10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.0/8/8",
		"10.1.2.3/8", "10.0.0.1/31", "192.168.1.0/23",
		"2001:db8::/129", "2001:db8::1/32", "2001:db8:8000::/32",
		"::ffff:0:0/95", "::ffff:10.0.0.0/80", "10.0.0.0 /8",
		"10.0.0.0/ 8", "10.0.0.0/999999999999", "fe80::/10%eth0",
		"example.com/8", "1.2.3.4/32 ",
		"0123:4567:89ab:cdef:0123:4567:89ab:cdef:0/128",
	};
	struct cidr c;
	size_t i;

	(void)state;
	check_cidr("10.0.0.0/8", AF_INET, "10.0.0.0", 8);
	check_cidr("0.0.0.0/0", AF_INET, "0.0.0.0", 0);
	check_cidr("192.0.2.1", AF_INET, "192.0.2.1", 32);
	check_cidr("192.0.2.1/32", AF_INET, "192.0.2.1", 32);
	check_cidr("10.0.0.0/31", AF_INET, "10.0.0.0", 31);
	check_cidr("::1", AF_INET6, "::1", 128);
	check_cidr("::/0", AF_INET6, "::", 0);
	check_cidr("2001:db8::/32", AF_INET6, "2001:db8::", 32);
	check_cidr("2001:db8:8000::/33", AF_INET6, "2001:db8:8000::", 33);
	/* mapped networks fold to v4 with 96 fewer bits */
	check_cidr("::ffff:10.0.0.0/104", AF_INET, "10.0.0.0", 8);
	check_cidr("::ffff:0:0/96", AF_INET, "0.0.0.0", 0);
	check_cidr("::ffff:192.0.2.1", AF_INET, "192.0.2.1", 32);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(&c, bad[i]) != -1)
			fail_msg("cidr_parse(\"%s\") accepted", bad[i]);
}

static void
test_cidr_match(void **state)
{
	struct cidr c;
	struct netaddr na;

	(void)state;
	assert_int_equal(cidr_parse(&c, "10.0.0.0/8"), 0);
	netaddr_parse(&na, "10.255.255.255");
	assert_true(cidr_match(&c, &na));
	netaddr_parse(&na, "11.0.0.0");
	assert_false(cidr_match(&c, &na));
	netaddr_parse(&na, "9.255.255.255");
	assert_false(cidr_match(&c, &na));
	/* a v4 client seen on a dual-stack socket */
	netaddr_parse(&na, "::ffff:10.1.2.3");
	assert_true(cidr_match(&c, &na));
	/* family mismatch never matches, even ::/0 against v4 */
	assert_int_equal(cidr_parse(&c, "::/0"), 0);
	netaddr_parse(&na, "10.1.2.3");
	assert_false(cidr_match(&c, &na));
	netaddr_parse(&na, "2001:db8::1");
	assert_true(cidr_match(&c, &na));

	assert_int_equal(cidr_parse(&c, "192.0.2.4/31"), 0);
	netaddr_parse(&na, "192.0.2.5");
	assert_true(cidr_match(&c, &na));
	netaddr_parse(&na, "192.0.2.6");
	assert_false(cidr_match(&c, &na));
	netaddr_parse(&na, "192.0.2.3");
	assert_false(cidr_match(&c, &na));

	assert_int_equal(cidr_parse(&c, "2001:db8:8000::/33"), 0);
	netaddr_parse(&na, "2001:db8:ffff::1");
	assert_true(cidr_match(&c, &na));
	netaddr_parse(&na, "2001:db8:7fff::1");
	assert_false(cidr_match(&c, &na));

	assert_int_equal(cidr_parse(&c, "0.0.0.0/0"), 0);
	netaddr_parse(&na, "255.255.255.255");
	assert_true(cidr_match(&c, &na));

	assert_int_equal(cidr_parse(&c, "::ffff:10.0.0.0/104"), 0);
	netaddr_parse(&na, "10.9.9.9");
	assert_true(cidr_match(&c, &na));
}

static void
test_cidr_list(void **state)
{
	struct cidr_list l = { NULL, 0 };
	struct cidr c;
	struct netaddr na;
	char buf[32];
	int i;

	(void)state;
	netaddr_parse(&na, "10.0.0.1");
	assert_false(cidr_list_match(&l, &na));
	for (i = 0; i < 37; i++) {
		snprintf(buf, sizeof(buf), "10.%d.0.0/16", i);
		assert_int_equal(cidr_parse(&c, buf), 0);
		cidr_list_add(&l, &c);
	}
	assert_int_equal(l.n, 37);
	for (i = 0; i < 37; i++) {
		snprintf(buf, sizeof(buf), "10.%d.200.1", i);
		netaddr_parse(&na, buf);
		assert_true(cidr_list_match(&l, &na));
	}
	netaddr_parse(&na, "10.37.0.1");
	assert_false(cidr_list_match(&l, &na));
	assert_string_equal(str(&l.v[36].net), "10.36.0.0");
	cidr_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	cidr_list_free(&l);
}

static void
test_domain_set(void **state)
{
	struct domain_set *ds = domain_set_new();

	(void)state;
	assert_false(domain_set_match(ds, "example.com"));
	domain_set_add(ds, "Example.COM");
	domain_set_add(ds, "example.com");
	domain_set_add(ds, ".Example.Org");
	assert_int_equal(domain_set_count(ds), 2);

	assert_true(domain_set_match(ds, "example.com"));
	assert_true(domain_set_match(ds, "EXAMPLE.com"));
	assert_false(domain_set_match(ds, "a.example.com"));
	assert_false(domain_set_match(ds, "xexample.com"));
	assert_false(domain_set_match(ds, "example.co"));
	assert_false(domain_set_match(ds, "example.com."));
	assert_false(domain_set_match(ds, "example.comx"));
	assert_false(domain_set_match(ds, "com"));

	assert_false(domain_set_match(ds, "example.org"));
	assert_true(domain_set_match(ds, "a.example.org"));
	assert_true(domain_set_match(ds, "A.B.EXAMPLE.ORG"));
	assert_false(domain_set_match(ds, "xexample.org"));
	assert_false(domain_set_match(ds, ".example.org"));
	assert_false(domain_set_match(ds, "a.example.org."));
	assert_false(domain_set_match(ds, "a..example.org"));
	assert_false(domain_set_match(ds, ""));
	assert_false(domain_set_match(ds, "."));

	assert_false(domain_set_match(NULL, "example.com"));
	assert_int_equal(domain_set_count(NULL), 0);
	domain_set_free(ds);
	domain_set_free(NULL);
}

static void
test_domain_set_many(void **state)
{
	struct domain_set *ds = domain_set_new();
	char buf[64];
	const char *d;
	size_t it = 0, n = 0;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "d%d.example", i);
		domain_set_add(ds, buf);
	}
	assert_int_equal(domain_set_count(ds), 2000);
	for (i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "D%d.EXAMPLE", i);
		assert_true(domain_set_match(ds, buf));
	}
	assert_false(domain_set_match(ds, "d2000.example"));
	while ((d = domain_set_next(ds, &it)) != NULL) {
		assert_true(strncmp(d, "d", 1) == 0);
		n++;
	}
	assert_int_equal(n, 2000);
	domain_set_free(ds);
	it = 0;
	assert_null(domain_set_next(NULL, &it));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_from_sockaddr),
		cmocka_unit_test(test_str_small),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_cidr_list),
		cmocka_unit_test(test_domain_set),
		cmocka_unit_test(test_domain_set_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
