/*
 * test_smtp_cmd.c: smtp_cmd_parse(), smtp_path_parse(), smtp_domain_valid()
 * and the relay-trick detector, table-driven.  Every error code, every relay
 * trick of DESIGN.md (percent hack, bang path, source route, quoted local
 * part, a@b@c), address literals, trailing dots, case variations, UTF-8,
 * and both sides of every RFC 5321 4.5.3.1 length bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"

static struct smtp_cmd cmd;

/* Verb recognition, argument rules, and the error codes around them. */
struct verb_case {
	const char		*line;
	size_t			 len;		/* 0: strlen(line) */
	enum smtp_cmd_err	 err;
	enum smtp_verb		 verb;
	const char		*arg;		/* NULL: not checked */
};

static const struct verb_case verb_cases[] = {
	{ "HELO example.com", 0, SMTP_CMD_OK, SMTP_CMD_HELO, "example.com" },
	{ "helo example.com", 0, SMTP_CMD_OK, SMTP_CMD_HELO, "example.com" },
	{ "HeLo example.com", 0, SMTP_CMD_OK, SMTP_CMD_HELO, "example.com" },
	{ "EHLO [192.0.2.1]", 0, SMTP_CMD_OK, SMTP_CMD_EHLO, "[192.0.2.1]" },
	{ "EHLO  spaced.example  ", 0, SMTP_CMD_OK, SMTP_CMD_EHLO,
	    "spaced.example" },
	{ "EHLO", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_EHLO, "" },
	{ "EHLO ", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_EHLO, "" },
	{ "HELO    ", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_HELO, "" },
	{ "DATA", 0, SMTP_CMD_OK, SMTP_CMD_DATA, "" },
	{ "data", 0, SMTP_CMD_OK, SMTP_CMD_DATA, "" },
	{ "DATA ", 0, SMTP_CMD_OK, SMTP_CMD_DATA, "" },
	{ "DATA\t", 0, SMTP_CMD_OK, SMTP_CMD_DATA, "" },
	{ "DATA x", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_DATA, "x" },
	{ "RSET", 0, SMTP_CMD_OK, SMTP_CMD_RSET, "" },
	{ "RSET now", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_RSET, NULL },
	{ "QUIT", 0, SMTP_CMD_OK, SMTP_CMD_QUIT, "" },
	{ "quit  ", 0, SMTP_CMD_OK, SMTP_CMD_QUIT, "" },
	{ "QUIT bye", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_QUIT, NULL },
	{ "STARTTLS", 0, SMTP_CMD_OK, SMTP_CMD_STARTTLS, "" },
	{ "StartTLS", 0, SMTP_CMD_OK, SMTP_CMD_STARTTLS, "" },
	{ "STARTTLS x", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_STARTTLS, NULL },
	{ "NOOP", 0, SMTP_CMD_OK, SMTP_CMD_NOOP, "" },
	{ "NOOP hello  there", 0, SMTP_CMD_OK, SMTP_CMD_NOOP, "hello  there" },
	{ "HELP", 0, SMTP_CMD_OK, SMTP_CMD_HELP, "" },
	{ "HELP MAIL", 0, SMTP_CMD_OK, SMTP_CMD_HELP, "MAIL" },
	{ "VRFY root", 0, SMTP_CMD_OK, SMTP_CMD_VRFY, "root" },
	{ "EXPN staff", 0, SMTP_CMD_OK, SMTP_CMD_EXPN, "staff" },
	{ "AUTH PLAIN AGJvYgBzZWNyZXQ=", 0, SMTP_CMD_OK, SMTP_CMD_AUTH,
	    "PLAIN AGJvYgBzZWNyZXQ=" },
	{ "auth login", 0, SMTP_CMD_OK, SMTP_CMD_AUTH, "login" },
	{ "BDAT 1000 LAST", 0, SMTP_CMD_OK, SMTP_CMD_BDAT, "1000 LAST" },
	{ "ETRN example.com", 0, SMTP_CMD_OK, SMTP_CMD_ETRN, "example.com" },
	{ "XCLIENT ADDR=192.0.2.1 NAME=[UNAVAILABLE]", 0, SMTP_CMD_OK,
	    SMTP_CMD_XCLIENT, "ADDR=192.0.2.1 NAME=[UNAVAILABLE]" },
	{ "XFORWARD HELO=x", 0, SMTP_CMD_OK, SMTP_CMD_XFORWARD, "HELO=x" },
	/* NOOP etc. keep any argument, 8-bit included. */
	{ "NOOP caf\xc3\xa9", 0, SMTP_CMD_OK, SMTP_CMD_NOOP, "caf\xc3\xa9" },
	/* Unknown verbs: glued, misspelt, empty, leading space, tab. */
	{ "MAILFROM:<a@b.example>", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN,
	    NULL },
	{ "RCPTTO:<a@b.example>", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN,
	    NULL },
	{ "HELOX", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "HEL", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "FOO bar", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "GET / HTTP/1.0", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "   ", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ " HELO x", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "HELO\tx", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	{ "UNKNOWN", 0, SMTP_CMD_ERR_UNKNOWN, SMTP_CMD_UNKNOWN, NULL },
	/* NUL anywhere, verb kept when recognisable. */
	{ "NOOP a\0b", 8, SMTP_CMD_ERR_NUL, SMTP_CMD_NOOP, NULL },
	{ "DATA\0", 5, SMTP_CMD_ERR_NUL, SMTP_CMD_UNKNOWN, NULL },
	{ "\0", 1, SMTP_CMD_ERR_NUL, SMTP_CMD_UNKNOWN, NULL },
	{ "MAIL FROM:<a\0@b.example>", 24, SMTP_CMD_ERR_NUL, SMTP_CMD_MAIL,
	    NULL },
	/* 8-bit verbs. */
	{ "N\xc3\x96OP", 0, SMTP_CMD_ERR_8BIT, SMTP_CMD_UNKNOWN, NULL },
	{ "\xff", 0, SMTP_CMD_ERR_8BIT, SMTP_CMD_UNKNOWN, NULL },
	/* MAIL/RCPT framing. */
	{ "MAIL", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_MAIL, NULL },
	{ "MAIL FROM", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_MAIL, NULL },
	{ "MAIL FRO:<a@b.example>", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_MAIL,
	    NULL },
	{ "MAIL TO:<a@b.example>", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_MAIL,
	    NULL },
	{ "RCPT FROM:<a@b.example>", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_RCPT,
	    NULL },
	{ "RCPT", 0, SMTP_CMD_ERR_SYNTAX, SMTP_CMD_RCPT, NULL },
	{ "MAIL FR\xc3\x96M:<a@b.example>", 0, SMTP_CMD_ERR_8BIT,
	    SMTP_CMD_MAIL, NULL },
	{ "MAIL FROM:", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL, NULL },
	{ "MAIL FROM: ", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL, NULL },
	{ "MAIL FROM:a@b.example", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL, NULL },
	{ "MAIL FROM: a@b.example", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL,
	    NULL },
	{ "MAIL FROM:  <a@b.example>", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL,
	    NULL },
	{ "MAIL FROM:<a@b.example", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL,
	    NULL },
	{ "MAIL FROM:<a@b.example>x", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL,
	    NULL },
	{ "MAIL FROM:<a@b.example>>", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL,
	    NULL },
	{ "MAIL FROM:\t<a@b.example>", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_MAIL,
	    NULL },
	{ "RCPT TO:", 0, SMTP_CMD_ERR_PATH, SMTP_CMD_RCPT, NULL },
	{ "MAIL FROM:<a@b.example>  ", 0, SMTP_CMD_OK, SMTP_CMD_MAIL,
	    "FROM:<a@b.example>" },
	{ "MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME", 0, SMTP_CMD_OK,
	    SMTP_CMD_MAIL, "FROM:<a@b.example> SIZE=10 BODY=8BITMIME" },
};

static void
test_verbs(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(verb_cases) / sizeof(verb_cases[0]); i++) {
		const struct verb_case *c = &verb_cases[i];

		len = c->len ? c->len : strlen(c->line);
		printf("# verb case %zu: %s\n", i, c->line);
		assert_int_equal(smtp_cmd_parse(c->line, len, &cmd), c->err);
		assert_int_equal(cmd.verb, c->verb);
		if (c->arg != NULL)
			assert_string_equal(cmd.arg, c->arg);
		if (c->err != SMTP_CMD_OK)
			assert_null(cmd.path.addr);
	}
}

/* Paths: what parses, into what, and whether it smells of relaying. */
struct path_case {
	const char		*line;
	enum smtp_cmd_err	 err;
	const char		*addr;
	const char		*local;
	const char		*domain;	/* NULL: none expected */
	int			 null, route, quoted, literal, utf8, suspect;
};

#define PATH_ERR(l) { l, SMTP_CMD_ERR_PATH, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0 }

static const struct path_case path_cases[] = {
	/* Plain mailboxes and case variations. */
	{ "MAIL FROM:<user@example.com>", SMTP_CMD_OK, "user@example.com",
	    "user", "example.com", 0, 0, 0, 0, 0, 0 },
	{ "MAIL FROM: <user@example.com>", SMTP_CMD_OK, "user@example.com",
	    "user", "example.com", 0, 0, 0, 0, 0, 0 },
	{ "mail from:<First.Last@Sub.Example.COM>", SMTP_CMD_OK,
	    "First.Last@Sub.Example.COM", "First.Last", "Sub.Example.COM",
	    0, 0, 0, 0, 0, 0 },
	{ "rCpT tO:<User@Example.COM>", SMTP_CMD_OK, "User@Example.COM",
	    "User", "Example.COM", 0, 0, 0, 0, 0, 0 },
	{ "RCPT TO: <a@b.example>", SMTP_CMD_OK, "a@b.example", "a",
	    "b.example", 0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<user+tag@ex-ample.com>", SMTP_CMD_OK,
	    "user+tag@ex-ample.com", "user+tag", "ex-ample.com",
	    0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<a!#$&'*+-/=?^_`{|}~b@x.example>", SMTP_CMD_OK,
	    "a!#$&'*+-/=?^_`{|}~b@x.example", "a!#$&'*+-/=?^_`{|}~b",
	    "x.example", 0, 0, 0, 0, 0, 1 },
	{ "RCPT TO:<u@localhost>", SMTP_CMD_OK, "u@localhost", "u",
	    "localhost", 0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<u@1.2.3.4>", SMTP_CMD_OK, "u@1.2.3.4", "u", "1.2.3.4",
	    0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<u@123.example>", SMTP_CMD_OK, "u@123.example", "u",
	    "123.example", 0, 0, 0, 0, 0, 0 },
	/* Null reverse-path. */
	{ "MAIL FROM:<>", SMTP_CMD_OK, "", "", NULL, 1, 0, 0, 0, 0, 0 },
	{ "MAIL FROM: <>", SMTP_CMD_OK, "", "", NULL, 1, 0, 0, 0, 0, 0 },
	{ "MAIL FROM:<> SIZE=100", SMTP_CMD_OK, "", "", NULL, 1, 0, 0, 0, 0,
	    0 },
	PATH_ERR("RCPT TO:<>"),
	PATH_ERR("MAIL FROM:< >"),
	PATH_ERR("MAIL FROM:<<>>"),
	/* Postmaster without a domain: RCPT only, any case, unquoted. */
	{ "RCPT TO:<postmaster>", SMTP_CMD_OK, "postmaster", "postmaster",
	    NULL, 0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<PostMaster>", SMTP_CMD_OK, "PostMaster", "PostMaster",
	    NULL, 0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<POSTMASTER>", SMTP_CMD_OK, "POSTMASTER", "POSTMASTER",
	    NULL, 0, 0, 0, 0, 0, 0 },
	{ "RCPT TO:<postmaster@example.com>", SMTP_CMD_OK,
	    "postmaster@example.com", "postmaster", "example.com",
	    0, 0, 0, 0, 0, 0 },
	PATH_ERR("RCPT TO:<root>"),
	PATH_ERR("RCPT TO:<postmaste>"),
	PATH_ERR("RCPT TO:<postmasters>"),
	PATH_ERR("RCPT TO:<\"postmaster\">"),
	PATH_ERR("RCPT TO:<@relay.example:postmaster>"),
	PATH_ERR("MAIL FROM:<postmaster>"),
	PATH_ERR("MAIL FROM:<user>"),
	/* Dot-string shape. */
	PATH_ERR("RCPT TO:<.user@example.com>"),
	PATH_ERR("RCPT TO:<user.@example.com>"),
	PATH_ERR("RCPT TO:<us..er@example.com>"),
	PATH_ERR("RCPT TO:<@example.com>"),
	PATH_ERR("RCPT TO:<user@>"),
	PATH_ERR("RCPT TO:<user>"),
	PATH_ERR("RCPT TO:<a b@example.com>"),
	PATH_ERR("RCPT TO:<a(b)@example.com>"),
	PATH_ERR("RCPT TO:<a,b@example.com>"),
	PATH_ERR("RCPT TO:<a\\b@example.com>"),
	PATH_ERR("RCPT TO:<a[b]@example.com>"),
	PATH_ERR("RCPT TO:< user@example.com>"),
	PATH_ERR("RCPT TO:<user@example.com >"),
	PATH_ERR("RCPT TO:<a\x01" "b@example.com>"),
	PATH_ERR("RCPT TO:<a\x7f" "b@example.com>"),
	PATH_ERR("RCPT TO:<a\tb@example.com>"),
	/* Domains: trailing dot, empty labels, hyphens, bad characters. */
	PATH_ERR("RCPT TO:<user@example.com.>"),
	PATH_ERR("RCPT TO:<user@.example.com>"),
	PATH_ERR("RCPT TO:<user@exa..mple.com>"),
	PATH_ERR("RCPT TO:<user@.>"),
	PATH_ERR("RCPT TO:<user@-example.com>"),
	PATH_ERR("RCPT TO:<user@example-.com>"),
	PATH_ERR("RCPT TO:<user@example.-com>"),
	PATH_ERR("RCPT TO:<user@ex_ample.com>"),
	PATH_ERR("RCPT TO:<user@exa mple.com>"),
	PATH_ERR("RCPT TO:<user@example.com\x7f>"),
	PATH_ERR("RCPT TO:<user@exa\x01mple.com>"),
	/* a@b@c unquoted. */
	PATH_ERR("RCPT TO:<a@b@c.example>"),
	PATH_ERR("RCPT TO:<victim@remote.example@relay.example>"),
	/* Percent hack and bang paths: legal syntax, but suspect. */
	{ "RCPT TO:<victim%remote.example@relay.example>", SMTP_CMD_OK,
	    "victim%remote.example@relay.example", "victim%remote.example",
	    "relay.example", 0, 0, 0, 0, 0, 1 },
	{ "RCPT TO:<remote.example!victim@relay.example>", SMTP_CMD_OK,
	    "remote.example!victim@relay.example", "remote.example!victim",
	    "relay.example", 0, 0, 0, 0, 0, 1 },
	{ "RCPT TO:<a%b%c@relay.example>", SMTP_CMD_OK, "a%b%c@relay.example",
	    "a%b%c", "relay.example", 0, 0, 0, 0, 0, 1 },
	/* Source routes: parsed, dropped from addr, suspect. */
	{ "RCPT TO:<@a.example,@b.example:user@c.example>", SMTP_CMD_OK,
	    "user@c.example", "user", "c.example", 0, 1, 0, 0, 0, 1 },
	{ "RCPT TO:<@relay.example:user@c.example>", SMTP_CMD_OK,
	    "user@c.example", "user", "c.example", 0, 1, 0, 0, 0, 1 },
	{ "MAIL FROM:<@relay.example:user@c.example>", SMTP_CMD_OK,
	    "user@c.example", "user", "c.example", 0, 1, 0, 0, 0, 1 },
	PATH_ERR("RCPT TO:<@a.example,user@c.example>"),
	PATH_ERR("RCPT TO:<@a.example:>"),
	PATH_ERR("RCPT TO:<@a.example,:user@c.example>"),
	PATH_ERR("RCPT TO:<@a.example,,@b.example:user@c.example>"),
	PATH_ERR("RCPT TO:<@:user@c.example>"),
	PATH_ERR("RCPT TO:<@a..example:user@c.example>"),
	PATH_ERR("RCPT TO:<@[192.0.2.1]:user@c.example>"),
	PATH_ERR("RCPT TO:<@a.example:@b.example>"),
	PATH_ERR("RCPT TO:<@a.example>"),
	/* Quoted local parts. */
	{ "RCPT TO:<\"a@b\"@c.example>", SMTP_CMD_OK, "\"a@b\"@c.example",
	    "\"a@b\"", "c.example", 0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"john doe\"@example.com>", SMTP_CMD_OK,
	    "\"john doe\"@example.com", "\"john doe\"", "example.com",
	    0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"a\\\"b\"@example.com>", SMTP_CMD_OK,
	    "\"a\\\"b\"@example.com", "\"a\\\"b\"", "example.com",
	    0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"a\\\\b\"@example.com>", SMTP_CMD_OK,
	    "\"a\\\\b\"@example.com", "\"a\\\\b\"", "example.com",
	    0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"\"@example.com>", SMTP_CMD_OK, "\"\"@example.com",
	    "\"\"", "example.com", 0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"a>b\"@example.com>", SMTP_CMD_OK, "\"a>b\"@example.com",
	    "\"a>b\"", "example.com", 0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"v%r\"@example.com>", SMTP_CMD_OK, "\"v%r\"@example.com",
	    "\"v%r\"", "example.com", 0, 0, 1, 0, 0, 1 },
	{ "RCPT TO:<\"caf\xc3\xa9\"@example.com>", SMTP_CMD_OK,
	    "\"caf\xc3\xa9\"@example.com", "\"caf\xc3\xa9\"", "example.com",
	    0, 0, 1, 0, 1, 1 },
	PATH_ERR("RCPT TO:<\"abc@example.com>"),
	PATH_ERR("RCPT TO:<\"a\"b@example.com>"),
	PATH_ERR("RCPT TO:<\"a\".b@example.com>"),
	PATH_ERR("RCPT TO:<\"a\x01\"@example.com>"),
	PATH_ERR("RCPT TO:<\"a\tb\"@example.com>"),
	PATH_ERR("RCPT TO:<\"a\\\x01\"@example.com>"),
	PATH_ERR("RCPT TO:<\"a\\\xc3\xa9\"@example.com>"),
	PATH_ERR("RCPT TO:<\"a\\"),
	PATH_ERR("RCPT TO:<\"a\xff\"@example.com>"),
	/* IPv4 literals. */
	{ "RCPT TO:<user@[192.0.2.1]>", SMTP_CMD_OK, "user@[192.0.2.1]",
	    "user", "[192.0.2.1]", 0, 0, 0, 1, 0, 0 },
	{ "RCPT TO:<user@[255.255.255.255]>", SMTP_CMD_OK,
	    "user@[255.255.255.255]", "user", "[255.255.255.255]",
	    0, 0, 0, 1, 0, 0 },
	{ "RCPT TO:<user@[0.0.0.0]>", SMTP_CMD_OK, "user@[0.0.0.0]", "user",
	    "[0.0.0.0]", 0, 0, 0, 1, 0, 0 },
	PATH_ERR("RCPT TO:<user@[256.1.1.1]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.999]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.4.5]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.]>"),
	PATH_ERR("RCPT TO:<user@[.1.2.3]>"),
	PATH_ERR("RCPT TO:<user@[1..2.3]>"),
	PATH_ERR("RCPT TO:<user@[01.2.3.4]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.0004]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.a]>"),
	PATH_ERR("RCPT TO:<user@[ 1.2.3.4]>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.4]x>"),
	PATH_ERR("RCPT TO:<user@[1.2.3.4>"),
	PATH_ERR("RCPT TO:<user@1.2.3.4]>"),
	PATH_ERR("RCPT TO:<user@[]>"),
	PATH_ERR("RCPT TO:<user@[192.0.2.1].example>"),
	/* IPv6 literals. */
	{ "RCPT TO:<user@[IPv6:2001:db8::1]>", SMTP_CMD_OK,
	    "user@[IPv6:2001:db8::1]", "user", "[IPv6:2001:db8::1]",
	    0, 0, 0, 1, 0, 0 },
	{ "RCPT TO:<user@[ipv6:2001:DB8:0:0:0:0:0:1]>", SMTP_CMD_OK,
	    "user@[ipv6:2001:DB8:0:0:0:0:0:1]", "user",
	    "[ipv6:2001:DB8:0:0:0:0:0:1]", 0, 0, 0, 1, 0, 0 },
	{ "RCPT TO:<user@[IPv6:::ffff:192.0.2.1]>", SMTP_CMD_OK,
	    "user@[IPv6:::ffff:192.0.2.1]", "user", "[IPv6:::ffff:192.0.2.1]",
	    0, 0, 0, 1, 0, 0 },
	{ "RCPT TO:<user@[IPv6:::1]>", SMTP_CMD_OK, "user@[IPv6:::1]", "user",
	    "[IPv6:::1]", 0, 0, 0, 1, 0, 0 },
	PATH_ERR("RCPT TO:<user@[IPv6:2001:db8::g]>"),
	PATH_ERR("RCPT TO:<user@[IPv6:2001:db8:::1]>"),
	PATH_ERR("RCPT TO:<user@[IPv6:fe80::1%eth0]>"),
	PATH_ERR("RCPT TO:<user@[IPv6:192.0.2.1]>"),
	PATH_ERR("RCPT TO:<user@[IPv6:]>"),
	PATH_ERR("RCPT TO:<user@[IPv6]>"),
	PATH_ERR("RCPT TO:<user@[2001:db8::1]>"),
	PATH_ERR("RCPT TO:<user@[IPv6:1:2:3:4:5:6:7:8:9]>"),
	/* General-address-literal is refused. */
	PATH_ERR("RCPT TO:<user@[x-tag:content]>"),
	PATH_ERR("RCPT TO:<user@[IPv7:1.2.3.4]>"),
	/* RFC 6531 UTF-8 in local part and domain. */
	{ "RCPT TO:<jos\xc3\xa9@example.com>", SMTP_CMD_OK,
	    "jos\xc3\xa9@example.com", "jos\xc3\xa9", "example.com",
	    0, 0, 0, 0, 1, 0 },
	{ "RCPT TO:<user@b\xc3\xbc" "cher.example>", SMTP_CMD_OK,
	    "user@b\xc3\xbc" "cher.example", "user", "b\xc3\xbc" "cher.example",
	    0, 0, 0, 0, 1, 0 },
	{ "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a>", SMTP_CMD_OK,
	    "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a", "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	    0, 0, 0, 0, 1, 0 },
	{ "RCPT TO:<\xf0\x9f\x98\x80@example.com>", SMTP_CMD_OK,
	    "\xf0\x9f\x98\x80@example.com", "\xf0\x9f\x98\x80", "example.com",
	    0, 0, 0, 0, 1, 0 },
	PATH_ERR("RCPT TO:<a\xff@example.com>"),
	PATH_ERR("RCPT TO:<a\xc3@example.com>"),
	PATH_ERR("RCPT TO:<a\xc3(@example.com>"),
	PATH_ERR("RCPT TO:<\xc0\xaf@example.com>"),
	PATH_ERR("RCPT TO:<\xe0\x80\xaf@example.com>"),
	PATH_ERR("RCPT TO:<\xed\xa0\x80@example.com>"),
	PATH_ERR("RCPT TO:<\xf4\x90\x80\x80@example.com>"),
	PATH_ERR("RCPT TO:<\xf5\x80\x80\x80@example.com>"),
	PATH_ERR("RCPT TO:<\x80@example.com>"),
	PATH_ERR("RCPT TO:<user@exa\xff" "mple.com>"),
	PATH_ERR("RCPT TO:<user@\xe4\xbe>"),
	PATH_ERR("RCPT TO:<user@[192.0.2.\xc3\xa9]>"),
};

static void
check_str(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void
test_paths(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const struct path_case *c = &path_cases[i];

		printf("# path case %zu: %s\n", i, c->line);
		assert_int_equal(smtp_cmd_parse(c->line, strlen(c->line), &cmd),
		    c->err);
		if (c->err != SMTP_CMD_OK) {
			assert_null(cmd.path.addr);
			continue;
		}
		check_str(cmd.path.addr, c->addr);
		check_str(cmd.path.local, c->local);
		check_str(cmd.path.domain, c->domain);
		assert_int_equal(cmd.path.null, c->null);
		assert_int_equal(cmd.path.route, c->route);
		assert_int_equal(cmd.path.quoted, c->quoted);
		assert_int_equal(cmd.path.literal, c->literal);
		assert_int_equal(cmd.path.utf8, c->utf8);
		assert_int_equal(smtp_path_relay_suspect(&cmd.path),
		    c->suspect);
	}
}

/* ESMTP parameters. */
struct param_case {
	const char		*line;
	enum smtp_cmd_err	 err;
	size_t			 nparams;
	const char		*kv[6];		/* keyword, value pairs */
};

static const struct param_case param_cases[] = {
	{ "MAIL FROM:<a@b.example>", SMTP_CMD_OK, 0, { NULL } },
	{ "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME", SMTP_CMD_OK, 2,
	    { "SIZE", "1000", "BODY", "8BITMIME" } },
	{ "MAIL FROM:<a@b.example>   SIZE=1000    BODY=8BITMIME  ",
	    SMTP_CMD_OK, 2, { "SIZE", "1000", "BODY", "8BITMIME" } },
	{ "MAIL FROM:<a@b.example> SMTPUTF8", SMTP_CMD_OK, 1,
	    { "SMTPUTF8", NULL } },
	{ "MAIL FROM:<> SMTPUTF8 size=5", SMTP_CMD_OK, 2,
	    { "SMTPUTF8", NULL, "size", "5" } },
	{ "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b",
	    SMTP_CMD_OK, 2,
	    { "NOTIFY", "SUCCESS,FAILURE", "ORCPT", "rfc822;a+40b" } },
	{ "MAIL FROM:<a@b.example> X-Y=1 9X=2 a-b-", SMTP_CMD_OK, 3,
	    { "X-Y", "1", "9X", "2", "a-b-", NULL } },
	{ "MAIL FROM:<a@b.example> ENVID=!~<>", SMTP_CMD_OK, 1,
	    { "ENVID", "!~<>" } },
	{ "MAIL FROM:<a@b.example> ENVID=caf\xc3\xa9", SMTP_CMD_OK, 1,
	    { "ENVID", "caf\xc3\xa9" } },
	{ "MAIL FROM:<a@b.example> SIZE=1\t", SMTP_CMD_OK, 1,
	    { "SIZE", "1" } },
	{ "MAIL FROM:<a@b.example> SIZE=", SMTP_CMD_ERR_PARAM, 0, { NULL } },
	{ "MAIL FROM:<a@b.example> SIZE= BODY=7BIT", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> =x", SMTP_CMD_ERR_PARAM, 0, { NULL } },
	{ "MAIL FROM:<a@b.example> -X=1", SMTP_CMD_ERR_PARAM, 0, { NULL } },
	{ "MAIL FROM:<a@b.example> X_Y=1", SMTP_CMD_ERR_PARAM, 0, { NULL } },
	{ "MAIL FROM:<a@b.example> X.Y", SMTP_CMD_ERR_PARAM, 0, { NULL } },
	{ "MAIL FROM:<a@b.example> SIZE=1=2", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> SIZE=1\tBODY=7BIT", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> ENVID=a\x01", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> ENVID=a\x7f", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> ENVID=a\xff", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> ENVID=a\xc3", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> \xc3\x89=1", SMTP_CMD_ERR_8BIT, 0,
	    { NULL } },
	{ "MAIL FROM:<a@b.example> SIZE\xc3\xa9=1", SMTP_CMD_ERR_8BIT, 0,
	    { NULL } },
	{ "RCPT TO:<a@b.example> \tNOTIFY=NEVER", SMTP_CMD_ERR_PARAM, 0,
	    { NULL } },
};

static void
test_params(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(param_cases) / sizeof(param_cases[0]); i++) {
		const struct param_case *c = &param_cases[i];

		printf("# param case %zu: %s\n", i, c->line);
		assert_int_equal(smtp_cmd_parse(c->line, strlen(c->line), &cmd),
		    c->err);
		if (c->err != SMTP_CMD_OK)
			continue;
		assert_int_equal(cmd.nparams, c->nparams);
		for (j = 0; j < c->nparams; j++) {
			assert_string_equal(cmd.params[j].keyword,
			    c->kv[2 * j]);
			check_str(cmd.params[j].value, c->kv[2 * j + 1]);
		}
	}
}

static void
test_param_lookup_and_count(void **state)
{
	char line[512];
	const struct smtp_param *p;
	size_t i;

	(void)state;
	strcpy(line, "MAIL FROM:<a@b.example> SIZE=42 smtputf8 Body=8BITMIME");
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_OK);
	p = smtp_cmd_param(&cmd, "size");
	assert_non_null(p);
	assert_string_equal(p->value, "42");
	p = smtp_cmd_param(&cmd, "SMTPUTF8");
	assert_non_null(p);
	assert_null(p->value);
	p = smtp_cmd_param(&cmd, "BODY");
	assert_non_null(p);
	assert_string_equal(p->value, "8BITMIME");
	assert_null(smtp_cmd_param(&cmd, "RET"));
	assert_null(smtp_cmd_param(&cmd, "SIZ"));
	/* The argument is kept whole even though the parameters were cut. */
	assert_string_equal(cmd.arg,
	    "FROM:<a@b.example> SIZE=42 smtputf8 Body=8BITMIME");
	assert_string_equal(cmd.path.addr, "a@b.example");

	/* SMTP_PARAMS_MAX is fine, one more is TOO_MANY. */
	strcpy(line, "MAIL FROM:<a@b.example>");
	for (i = 0; i < SMTP_PARAMS_MAX; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    " P%zu=%zu", i, i);
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_OK);
	assert_int_equal(cmd.nparams, SMTP_PARAMS_MAX);
	assert_string_equal(cmd.params[SMTP_PARAMS_MAX - 1].keyword, "P15");
	assert_string_equal(cmd.params[SMTP_PARAMS_MAX - 1].value, "15");
	strcat(line, " X");
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_ERR_TOO_MANY);
	assert_int_equal(cmd.verb, SMTP_CMD_MAIL);
	assert_int_equal(cmd.nparams, 0);
	assert_null(cmd.path.addr);
}

static enum smtp_cmd_err
parse_str(const char *s)
{
	return smtp_cmd_parse(s, strlen(s), &cmd);
}

/* Build "<" local "@" domain ">" with the given lengths. */
static char *
make_path(char *buf, const char *verb, size_t llen, const char *domain)
{
	size_t n;

	n = (size_t)sprintf(buf, "%s<", verb);
	memset(buf + n, 'l', llen);
	n += llen;
	sprintf(buf + n, "@%s>", domain);
	return buf;
}

/* "a"x63 "." ... : a domain of exactly len bytes with labels <= 63. */
static char *
make_domain(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'd';
	/* Never end on a dot or with an empty last label. */
	if (len > 0 && buf[len - 1] == '.')
		buf[len - 2] = '.', buf[len - 1] = 'd', buf[len - 3] = 'd';
	buf[len] = '\0';
	return buf;
}

static void
test_lengths(void **state)
{
	char line[8192], dom[300], q[80];
	size_t n;

	(void)state;
	/* Local part: 64 fine, 65 not (RFC 5321 4.5.3.1.1). */
	assert_int_equal(parse_str(make_path(line, "RCPT TO:", 64,
	    "x.example")), SMTP_CMD_OK);
	assert_int_equal(strlen(cmd.path.local), 64);
	assert_int_equal(parse_str(make_path(line, "RCPT TO:", 65,
	    "x.example")), SMTP_CMD_ERR_PATH);
	/* A quoted local part counts its quotes. */
	memset(q, 'q', sizeof(q));
	snprintf(line, sizeof(line), "RCPT TO:<\"%.62s\"@x.example>", q);
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_OK);
	snprintf(line, sizeof(line), "RCPT TO:<\"%.63s\"@x.example>", q);
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_ERR_PATH);

	/* Whole path, brackets included: 256 fine, 257 not (4.5.3.1.3). */
	make_domain(dom, 189);
	assert_int_equal(parse_str(make_path(line, "RCPT TO:", 64, dom)),
	    SMTP_CMD_OK);
	assert_int_equal(strlen(cmd.path.domain), 189);
	assert_int_equal(strlen(cmd.path.addr), 254);
	make_domain(dom, 190);
	assert_int_equal(parse_str(make_path(line, "RCPT TO:", 64, dom)),
	    SMTP_CMD_ERR_PATH);
	/* A source route counts towards the 256. */
	make_domain(dom, 189 - 11);
	strcpy(line, "RCPT TO:<@r.example:");
	n = strlen(line);
	memset(line + n, 'l', 64);
	sprintf(line + n + 64, "@%s>", dom);
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_OK);
	assert_int_equal(cmd.path.route, 1);
	make_domain(dom, 189 - 10);
	memset(line + n, 'l', 64);
	sprintf(line + n + 64, "@%s>", dom);
	assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd),
	    SMTP_CMD_ERR_PATH);

	/* Labels: 63 fine, 64 not. */
	memset(dom, 'd', 63);
	strcpy(dom + 63, ".example");
	assert_int_equal(parse_str(make_path(line, "RCPT TO:", 1, dom)),
	    SMTP_CMD_OK);
	memset(dom, 'd', 64);
	strcpy(dom + 64, ".example");
	assert_int_equal(parse_str(make_path(line, "RCPT TO:", 1, dom)),
	    SMTP_CMD_ERR_PATH);

	/* Command line: SMTP_CMD_LINE_MAX fine, one more is SYNTAX. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	assert_int_equal(smtp_cmd_parse(line, SMTP_CMD_LINE_MAX, &cmd),
	    SMTP_CMD_OK);
	assert_int_equal(strlen(cmd.arg), SMTP_CMD_LINE_MAX - 5);
	assert_int_equal(smtp_cmd_parse(line, SMTP_CMD_LINE_MAX + 1, &cmd),
	    SMTP_CMD_ERR_SYNTAX);
	assert_int_equal(cmd.verb, SMTP_CMD_NOOP);
	/* Trailing spaces beyond the limit are dropped first. */
	memset(line + SMTP_CMD_LINE_MAX, ' ', 10);
	assert_int_equal(smtp_cmd_parse(line, SMTP_CMD_LINE_MAX + 10, &cmd),
	    SMTP_CMD_OK);

	/* The longest MAIL line: biggest path plus one huge parameter. */
	make_domain(dom, 189);
	make_path(line, "MAIL FROM:", 64, dom);
	n = strlen(line);
	memcpy(line + n, " X=", 3);
	n += 3;
	memset(line + n, 'v', SMTP_CMD_LINE_MAX - n);
	assert_int_equal(smtp_cmd_parse(line, SMTP_CMD_LINE_MAX, &cmd),
	    SMTP_CMD_OK);
	assert_int_equal(cmd.nparams, 1);
	assert_int_equal(strlen(cmd.params[0].value), SMTP_CMD_LINE_MAX - n);
	assert_int_equal(strlen(cmd.arg), SMTP_CMD_LINE_MAX - 5);
	assert_int_equal(strlen(cmd.path.addr), 254);
	/* Many tiny parameters: each cut costs nothing extra. */
	memcpy(line + n - 3, " X=1", 4);
	assert_int_equal(smtp_cmd_parse(line, n + 1, &cmd), SMTP_CMD_OK);
}

static void
test_domain_valid(void **state)
{
	static const struct {
		const char	*s;
		int		 utf8, want;
	} cases[] = {
		{ "example.com", 0, 1 },
		{ "EXAMPLE.com", 0, 1 },
		{ "a", 0, 1 },
		{ "a-b.c-d", 0, 1 },
		{ "1.2.3.4", 0, 1 },
		{ "xn--bcher-kva.example", 0, 1 },
		{ "[192.0.2.1]", 0, 1 },
		{ "[IPv6:2001:db8::1]", 0, 1 },
		{ "[IPv6:2001:db8::1%1]", 0, 0 },
		{ "[192.0.2.256]", 0, 0 },
		{ "[x:y]", 0, 0 },
		{ "", 0, 0 },
		{ ".", 0, 0 },
		{ "example.com.", 0, 0 },
		{ ".example.com", 0, 0 },
		{ "a..b", 0, 0 },
		{ "-a.b", 0, 0 },
		{ "a-.b", 0, 0 },
		{ "a_b.c", 0, 0 },
		{ "a b", 0, 0 },
		{ "a@b", 0, 0 },
		{ "b\xc3\xbc" "cher.example", 0, 0 },
		{ "b\xc3\xbc" "cher.example", 1, 1 },
		{ "b\xff.example", 1, 0 },
		{ "\xc3\xbc", 1, 1 },
		{ "-\xc3\xbc", 1, 0 },
	};
	char dom[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		printf("# domain case %zu: %s\n", i, cases[i].s);
		assert_int_equal(smtp_domain_valid(cases[i].s, cases[i].utf8),
		    cases[i].want);
	}
	assert_int_equal(smtp_domain_valid(NULL, 1), 0);
	/* Total length: 255 fine, 256 not (RFC 5321 4.5.3.1.2). */
	assert_int_equal(smtp_domain_valid(make_domain(dom, 255), 0), 1);
	assert_int_equal(strlen(dom), 255);
	assert_int_equal(smtp_domain_valid(make_domain(dom, 256), 0), 0);
	assert_int_equal(smtp_domain_valid(make_domain(dom, 254), 0), 1);
}

static void
test_path_parse_direct(void **state)
{
	char store[600];
	struct smtp_path p;
	size_t end = 99;

	(void)state;
	assert_int_equal(smtp_path_parse("<a@b.example> SIZE=1", 20, store,
	    sizeof(store), &p, &end), 0);
	assert_int_equal(end, 13);
	assert_string_equal(p.addr, "a@b.example");
	assert_int_equal(smtp_path_parse("<>x", 3, store, sizeof(store), &p,
	    &end), 0);
	assert_int_equal(end, 2);
	assert_int_equal(p.null, 1);
	assert_int_equal(smtp_path_relay_suspect(&p), 0);
	/* Length is honoured: the '>' beyond len is not seen. */
	end = 99;
	assert_int_equal(smtp_path_parse("<a@b.example>", 12, store,
	    sizeof(store), &p, &end), -1);
	assert_int_equal(end, 99);
	assert_null(p.addr);
	assert_int_equal(smtp_path_parse("a@b.example", 11, store,
	    sizeof(store), &p, &end), -1);
	assert_int_equal(smtp_path_parse("<", 1, store, sizeof(store), &p,
	    &end), -1);
	assert_int_equal(smtp_path_parse("", 0, store, sizeof(store), &p,
	    &end), -1);
	/* Too little store: refused, nothing written past it. */
	store[5] = 'Z';
	assert_int_equal(smtp_path_parse("<a@b.example>", 13, store, 5, &p,
	    &end), -1);
	assert_int_equal(store[5], 'Z');
	assert_int_equal(smtp_path_parse("<>", 2, store, 0, &p, &end), -1);
	/* Exactly 2 * len + 8 is always enough. */
	assert_int_equal(smtp_path_parse("<a@b>", 5, store, 18, &p, &end), 0);
	assert_string_equal(p.local, "a");
	assert_string_equal(p.domain, "b");
	assert_string_equal(p.addr, "a@b");
}

static void
test_relay_suspect(void **state)
{
	struct smtp_path p;

	(void)state;
	assert_int_equal(smtp_path_relay_suspect(NULL), 0);
	memset(&p, 0, sizeof(p));
	assert_int_equal(smtp_path_relay_suspect(&p), 0);
	p.local = "plain";
	assert_int_equal(smtp_path_relay_suspect(&p), 0);
	p.local = "a@b";
	assert_int_equal(smtp_path_relay_suspect(&p), 1);
	p.local = "a!b";
	assert_int_equal(smtp_path_relay_suspect(&p), 1);
	p.local = "a%b";
	assert_int_equal(smtp_path_relay_suspect(&p), 1);
	p.local = "plain";
	p.route = 1;
	assert_int_equal(smtp_path_relay_suspect(&p), 1);
	p.route = 0;
	p.quoted = 1;
	assert_int_equal(smtp_path_relay_suspect(&p), 1);
	p.null = 1;
	assert_int_equal(smtp_path_relay_suspect(&p), 0);
}

static void
test_verb_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_CMD_HELO), "HELO");
	assert_string_equal(smtp_verb_name(SMTP_CMD_MAIL), "MAIL");
	assert_string_equal(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_CMD_XFORWARD), "XFORWARD");
	assert_string_equal(smtp_verb_name(SMTP_CMD__COUNT), "UNKNOWN");
	assert_string_equal(smtp_verb_name((enum smtp_verb)-1), "UNKNOWN");
}

/* Every verb's own name parses back to it, in both cases. */
static void
test_verb_roundtrip(void **state)
{
	char line[64];
	enum smtp_verb v;
	size_t i;

	(void)state;
	for (v = SMTP_CMD_HELO; v < SMTP_CMD__COUNT; v++) {
		snprintf(line, sizeof(line), "%s x", smtp_verb_name(v));
		smtp_cmd_parse(line, strlen(line), &cmd);
		assert_int_equal(cmd.verb, v);
		for (i = 0; line[i] != '\0'; i++)
			if (line[i] >= 'A' && line[i] <= 'Z')
				line[i] = (char)(line[i] - 'A' + 'a');
		smtp_cmd_parse(line, strlen(line), &cmd);
		assert_int_equal(cmd.verb, v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_param_lookup_and_count),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_path_parse_direct),
		cmocka_unit_test(test_relay_suspect),
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_verb_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
