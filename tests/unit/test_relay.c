/*
 * test_relay.c: relay_rcpt_allowed(), the open-relay protection, with
 * recipients parsed the way the session parses them (smtp_cmd_parse):
 * local domains (case, subdomains, look-alikes), every relay trick for an
 * untrusted, an authenticated and a trusted client, <postmaster>, address
 * literals, and no local domains at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "netaddr.h"
#include "relay.h"
#include "smtp_cmd.h"

enum { UNTRUSTED, AUTHED, TRUSTED };

struct relay_case {
	const char	*rcpt;		/* inside RCPT TO:<...> */
	int		 who;
	int		 allowed;
};

static const struct relay_case cases[] = {
	/* Local domains: exact, any case, subdomains of a ".suffix" entry. */
	{ "alice@example.test", UNTRUSTED, 1 },
	{ "alice@EXAMPLE.Test", UNTRUSTED, 1 },
	{ "alice@mx.sub.example.org", UNTRUSTED, 1 },
	{ "alice@other.test", UNTRUSTED, 0 },
	{ "alice@notexample.test", UNTRUSTED, 0 },
	{ "alice@example.test.evil.test", UNTRUSTED, 0 },
	{ "alice@sub.example.test", UNTRUSTED, 0 },
	/* RFC 5321 4.5.1: <postmaster> is always taken. */
	{ "postmaster", UNTRUSTED, 1 },
	/* An address literal is never one of ours. */
	{ "alice@[192.0.2.1]", UNTRUSTED, 0 },
	/* The tricks, each to a local domain: refused all the same. */
	{ "alice%other.test@example.test", UNTRUSTED, 0 },
	{ "other.test!alice@example.test", UNTRUSTED, 0 },
	{ "@example.test:alice@other.test", UNTRUSTED, 0 },
	{ "\"alice@other.test\"@example.test", UNTRUSTED, 0 },
	{ "\"alice\"@example.test", UNTRUSTED, 0 },
	/* Authenticated: anywhere, but never by a trick (RFC 4954 5). */
	{ "alice@other.test", AUTHED, 1 },
	{ "alice@[192.0.2.1]", AUTHED, 1 },
	{ "alice%other.test@example.test", AUTHED, 0 },
	{ "other.test!alice@example.test", AUTHED, 0 },
	{ "@example.test:alice@other.test", AUTHED, 0 },
	/* Trusted networks: everything, tricks included. */
	{ "alice@other.test", TRUSTED, 1 },
	{ "alice%other.test@example.test", TRUSTED, 1 },
	{ "@example.test:alice@other.test", TRUSTED, 1 },
};

static struct domain_set *local;

static int
setup(void **state)
{
	(void)state;
	local = domain_set_new();
	domain_set_add(local, "example.test");
	domain_set_add(local, ".sub.example.org");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	domain_set_free(local);
	return 0;
}

static int
check(const char *rcpt, int who, const struct domain_set *ds)
{
	static struct smtp_cmd c;
	char line[600];
	int n;

	n = snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpt);
	if (smtp_cmd_parse(line, (size_t)n, &c) != SMTP_CMD_OK)
		fail_msg("does not parse: %s", line);
	return relay_rcpt_allowed(&c.path, who == TRUSTED, who == AUTHED, ds);
}

static void
test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (check(cases[i].rcpt, cases[i].who, local) !=
		    cases[i].allowed)
			fail_msg("case %zu <%s> who=%d: expected %d", i,
			    cases[i].rcpt, cases[i].who, cases[i].allowed);
}

/* No local domains: an untrusted client reaches only postmaster. */
static void
test_no_local_domains(void **state)
{
	(void)state;
	assert_int_equal(check("alice@example.test", UNTRUSTED, NULL), 0);
	assert_int_equal(check("postmaster", UNTRUSTED, NULL), 1);
	assert_int_equal(check("alice@example.test", AUTHED, NULL), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_no_local_domains),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
