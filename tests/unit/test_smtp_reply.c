/*
 * test_smtp_reply.c: reply formatting, backend reply reading (including
 * pipelined replies split by smtp_line_scan), EHLO capability parsing and
 * xtext, table-driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "smtp_line.h"
#include "smtp_reply.h"

static void
test_reply_add(void **state)
{
	static const struct {
		int		 code;
		const char	*enh, *text, *want;
	} cases[] = {
		{ 250, NULL, "OK", "250 OK\r\n" },
		{ 250, "2.0.0", "OK", "250 2.0.0 OK\r\n" },
		{ 250, "", "OK", "250 OK\r\n" },
		{ 250, NULL, "a\nb\nc", "250-a\r\n250-b\r\n250 c\r\n" },
		{ 550, "5.7.1", "a\nb", "550-5.7.1 a\r\n550 5.7.1 b\r\n" },
		{ 421, "4.3.2", "x\ny\nz",
		    "421-4.3.2 x\r\n421-4.3.2 y\r\n421 4.3.2 z\r\n" },
		/* Client text cannot break the framing. */
		{ 500, "5.5.2", "bad\x01\tx\x7f", "500 5.5.2 bad??x?\r\n" },
		{ 250, NULL, "a\rb", "250 a?b\r\n" },
		{ 250, NULL, "a\r\nb", "250-a\r\n250 b\r\n" },
		{ 250, NULL, "a\r\r\nb", "250-a?\r\n250 b\r\n" },
		{ 250, "2.0.0", "\r\nb", "250-2.0.0\r\n250 2.0.0 b\r\n" },
		{ 501, NULL, "<\x1b[31mred>", "501 <?[31mred>\r\n" },
		/* Empty text and empty lines: no trailing SP. */
		{ 250, NULL, "", "250\r\n" },
		{ 250, "2.0.0", "", "250 2.0.0\r\n" },
		{ 250, NULL, NULL, "250\r\n" },
		{ 250, NULL, "a\n", "250 a\r\n" },
		{ 250, NULL, "\n", "250\r\n" },
		{ 250, NULL, "a\n\nb", "250-a\r\n250-\r\n250 b\r\n" },
		{ 250, "2.0.0", "a\n\n", "250-2.0.0 a\r\n250 2.0.0\r\n" },
		/* UTF-8 passes (RFC 6531 replies). */
		{ 250, NULL, "gr\xc3\xbc\xc3\x9f",
		    "250 gr\xc3\xbc\xc3\x9f\r\n" },
		{ 599, NULL, "x", "599 x\r\n" },
		{ 200, NULL, "x", "200 x\r\n" },
	};
	struct sbuf b = SBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_reset(&b);
		printf("# add case %zu\n", i);
		smtp_reply_add(&b, cases[i].code, cases[i].enh, cases[i].text);
		assert_string_equal(b.p, cases[i].want);
		assert_int_equal(b.len, strlen(cases[i].want));
	}
	/* Appends. */
	sbuf_reset(&b);
	smtp_reply_add(&b, 250, "2.1.0", "Ok");
	smtp_reply_add(&b, 354, NULL, "Go ahead");
	assert_string_equal(b.p, "250 2.1.0 Ok\r\n354 Go ahead\r\n");
	sbuf_free(&b);
}

/* One backend reply fed line by line. */
struct feed_case {
	const char		*lines[5];
	enum smtp_reply_status	 st[5];
	int			 code;
	const char		*enh;
	int			 nlines;
	const char		*text;
};

#define M SMTP_REPLY_MORE
#define D SMTP_REPLY_DONE
#define B SMTP_REPLY_BAD

static const struct feed_case feed_cases[] = {
	{ { "250 OK" }, { D }, 250, "", 1, "250 OK\r\n" },
	{ { "250" }, { D }, 250, "", 1, "250\r\n" },
	{ { "220 mx.example ESMTP" }, { D }, 220, "", 1,
	    "220 mx.example ESMTP\r\n" },
	{ { "250-" , "250 x" }, { M, D }, 250, "", 2, "250-\r\n250 x\r\n" },
	{ { "250-a", "250-b", "250 c" }, { M, M, D }, 250, "", 3,
	    "250-a\r\n250-b\r\n250 c\r\n" },
	{ { "250-a", "250" }, { M, D }, 250, "", 2, "250-a\r\n250\r\n" },
	/* Enhanced codes, first line only. */
	{ { "250-2.1.0 a", "250 2.1.5 b" }, { M, D }, 250, "2.1.0", 2,
	    "250-2.1.0 a\r\n250 2.1.5 b\r\n" },
	{ { "250-a", "250 2.1.5 b" }, { M, D }, 250, "", 2, NULL },
	{ { "550 5.7.1 denied" }, { D }, 550, "5.7.1", 1, NULL },
	{ { "550 5.7.1" }, { D }, 550, "5.7.1", 1, NULL },
	{ { "451 4.123.456 later" }, { D }, 451, "4.123.456", 1, NULL },
	{ { "451 4.0.0 later" }, { D }, 451, "4.0.0", 1, NULL },
	{ { "550 5.7.1x" }, { D }, 550, "", 1, NULL },
	{ { "550 5.7.1.2 x" }, { D }, 550, "", 1, NULL },
	{ { "550 5.7 x" }, { D }, 550, "", 1, NULL },
	{ { "550 5..1 x" }, { D }, 550, "", 1, NULL },
	{ { "550 5.1. x" }, { D }, 550, "", 1, NULL },
	{ { "451 4.1234.1 x" }, { D }, 451, "", 1, NULL },
	{ { "451 4.1.1234 x" }, { D }, 451, "", 1, NULL },
	{ { "550 2.0.0 mismatch" }, { D }, 550, "", 1, NULL },
	{ { "354 3.0.0 go" }, { D }, 354, "", 1, NULL },
	{ { "250 X.1.1 x" }, { D }, 250, "", 1, NULL },
	{ { "550  5.7.1 x" }, { D }, 550, "", 1, NULL },
	/* Not a reply line, or a code change. */
	{ { "250-a", "251 b" }, { M, B }, 250, "", 1, "250-a\r\n" },
	{ { "250-a", "550 b" }, { M, B }, 250, "", 1, "250-a\r\n" },
	{ { "099 x" }, { B }, 0, "", 0, "" },
	{ { "199 x" }, { B }, 0, "", 0, "" },
	{ { "600 x" }, { B }, 0, "", 0, "" },
	{ { "999 x" }, { B }, 0, "", 0, "" },
	{ { "2x0 x" }, { B }, 0, "", 0, "" },
	{ { "25x x" }, { B }, 0, "", 0, "" },
	{ { "x50 x" }, { B }, 0, "", 0, "" },
	{ { "25" }, { B }, 0, "", 0, "" },
	{ { "" }, { B }, 0, "", 0, "" },
	{ { "250x" }, { B }, 0, "", 0, "" },
	{ { "250\tx" }, { B }, 0, "", 0, "" },
	{ { "250_x" }, { B }, 0, "", 0, "" },
	{ { "HTTP/1.1 400 Bad" }, { B }, 0, "", 0, "" },
	{ { "250 a\rb" }, { B }, 0, "", 0, "" },
	{ { "250-a", "250 b\rc" }, { M, B }, 250, "", 1, "250-a\r\n" },
};

static void
test_reply_feed(void **state)
{
	struct smtp_reply r;
	size_t i, j;

	(void)state;
	smtp_reply_init(&r);
	for (i = 0; i < sizeof(feed_cases) / sizeof(feed_cases[0]); i++) {
		const struct feed_case *c = &feed_cases[i];

		printf("# feed case %zu: %s\n", i, c->lines[0]);
		smtp_reply_reset(&r);
		for (j = 0; c->lines[j] != NULL; j++)
			assert_int_equal(smtp_reply_feed(&r, c->lines[j],
			    strlen(c->lines[j])), c->st[j]);
		assert_int_equal(r.code, c->code);
		assert_string_equal(r.enh, c->enh);
		assert_int_equal(r.nlines, c->nlines);
		if (c->text != NULL)
			assert_string_equal(r.text.len ? r.text.p : "",
			    c->text);
	}
	/* A NUL inside a reply line is BAD. */
	smtp_reply_reset(&r);
	assert_int_equal(smtp_reply_feed(&r, "250 a\0b", 7), SMTP_REPLY_BAD);
	assert_int_equal(r.nlines, 0);
	smtp_reply_free(&r);
	assert_null(r.text.p);
	assert_int_equal(r.code, 0);
	/* Freed is reusable. */
	assert_int_equal(smtp_reply_feed(&r, "221 bye", 7), SMTP_REPLY_DONE);
	assert_int_equal(r.code, 221);
	smtp_reply_free(&r);
	smtp_reply_free(&r);
}

static void
test_reply_bounds(void **state)
{
	struct smtp_reply r;
	char *big;
	int i;

	(void)state;
	smtp_reply_init(&r);
	/* SMTP_REPLY_MAX_LINES lines fine, one more is BAD. */
	for (i = 0; i < SMTP_REPLY_MAX_LINES - 1; i++)
		assert_int_equal(smtp_reply_feed(&r, "250-x", 5),
		    SMTP_REPLY_MORE);
	assert_int_equal(smtp_reply_feed(&r, "250 x", 5), SMTP_REPLY_DONE);
	assert_int_equal(r.nlines, SMTP_REPLY_MAX_LINES);
	smtp_reply_reset(&r);
	for (i = 0; i < SMTP_REPLY_MAX_LINES; i++)
		assert_int_equal(smtp_reply_feed(&r, "250-x", 5),
		    SMTP_REPLY_MORE);
	assert_int_equal(smtp_reply_feed(&r, "250 x", 5), SMTP_REPLY_BAD);
	assert_int_equal(r.nlines, SMTP_REPLY_MAX_LINES);

	/* SMTP_REPLY_MAX_BYTES, CRLFs included: exactly fine, one more not. */
	big = malloc(SMTP_REPLY_MAX_BYTES + 1);
	assert_non_null(big);
	memset(big, 'x', SMTP_REPLY_MAX_BYTES + 1);
	memcpy(big, "250 ", 4);
	smtp_reply_reset(&r);
	assert_int_equal(smtp_reply_feed(&r, big, SMTP_REPLY_MAX_BYTES - 1),
	    SMTP_REPLY_BAD);
	assert_int_equal(smtp_reply_feed(&r, big, SMTP_REPLY_MAX_BYTES),
	    SMTP_REPLY_BAD);
	assert_int_equal(smtp_reply_feed(&r, big, SMTP_REPLY_MAX_BYTES - 2),
	    SMTP_REPLY_DONE);
	assert_int_equal(r.text.len, SMTP_REPLY_MAX_BYTES);
	/* Across lines. */
	smtp_reply_reset(&r);
	big[3] = '-';
	assert_int_equal(smtp_reply_feed(&r, big, SMTP_REPLY_MAX_BYTES - 12),
	    SMTP_REPLY_MORE);
	assert_int_equal(smtp_reply_feed(&r, "250 12345", 9), SMTP_REPLY_BAD);
	assert_int_equal(smtp_reply_feed(&r, "250 1234", 8), SMTP_REPLY_DONE);
	assert_int_equal(r.text.len, SMTP_REPLY_MAX_BYTES);
	free(big);
	smtp_reply_free(&r);
}

/*
 * Pipelined replies (RFC 2920): one read holds several replies; split with
 * smtp_line_scan, feed, and take each at DONE.  A bare-LF backend line is
 * normalised to CRLF.
 */
static void
test_reply_pipelined(void **state)
{
	static const char in[] =
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "550-5.1.1 no such user\r\n"
	    "550 5.1.1 here\r\n"
	    "250 2.1.5 Ok\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as 4";
	static const struct {
		int		 code;
		const char	*enh;
		int		 nlines;
		const char	*text;
	} want[] = {
		{ 250, "2.1.0", 1, "250 2.1.0 Ok\r\n" },
		{ 250, "2.1.5", 1, "250 2.1.5 Ok\r\n" },
		{ 550, "5.1.1", 2,
		    "550-5.1.1 no such user\r\n550 5.1.1 here\r\n" },
		{ 250, "2.1.5", 1, "250 2.1.5 Ok\r\n" },
		{ 354, "", 1, "354 End data with <CR><LF>.<CR><LF>\r\n" },
	};
	struct smtp_reply r;
	struct smtp_line l;
	size_t off = 0, n = sizeof(in) - 1, k = 0;
	enum smtp_reply_status st;

	(void)state;
	smtp_reply_init(&r);
	while (smtp_line_scan(in + off, n - off, 512, &l) == SMTP_LINE_OK) {
		st = smtp_reply_feed(&r, in + off, l.len);
		off += l.consumed;
		assert_int_not_equal(st, SMTP_REPLY_BAD);
		if (st == SMTP_REPLY_MORE)
			continue;
		assert_true(k < sizeof(want) / sizeof(want[0]));
		assert_int_equal(r.code, want[k].code);
		assert_string_equal(r.enh, want[k].enh);
		assert_int_equal(r.nlines, want[k].nlines);
		assert_string_equal(r.text.p, want[k].text);
		k++;
		smtp_reply_reset(&r);
	}
	assert_int_equal(k, 5);
	assert_string_equal(in + off, "250 2.0.0 Ok: queued as 4");
	assert_int_equal(r.nlines, 0);
	smtp_reply_free(&r);
}

static void
test_reply_line_text(void **state)
{
	static const char *lines[] = {
		"250-2.0.0 first", "250-second", "250-2.0.0", "250-",
		"250-5.0.0 wrong class", "250 2.0.0 third",
	};
	struct smtp_reply r;
	char buf[64];
	size_t i;

	(void)state;
	smtp_reply_init(&r);
	smtp_reply_line_text(&r, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	for (i = 0; i < 6; i++)
		smtp_reply_feed(&r, lines[i], strlen(lines[i]));
	assert_int_equal(r.nlines, 6);
	smtp_reply_line_text(&r, 0, buf, sizeof(buf));
	assert_string_equal(buf, "first");
	smtp_reply_line_text(&r, 1, buf, sizeof(buf));
	assert_string_equal(buf, "second");
	smtp_reply_line_text(&r, 2, buf, sizeof(buf));
	assert_string_equal(buf, "");
	smtp_reply_line_text(&r, 3, buf, sizeof(buf));
	assert_string_equal(buf, "");
	smtp_reply_line_text(&r, 4, buf, sizeof(buf));
	assert_string_equal(buf, "5.0.0 wrong class");
	smtp_reply_line_text(&r, 5, buf, sizeof(buf));
	assert_string_equal(buf, "third");
	smtp_reply_line_text(&r, 6, buf, sizeof(buf));
	assert_string_equal(buf, "");
	smtp_reply_line_text(&r, -1, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* Truncation and a zero-sized buffer. */
	smtp_reply_line_text(&r, 0, buf, 3);
	assert_string_equal(buf, "fi");
	smtp_reply_line_text(&r, 0, buf, 1);
	assert_string_equal(buf, "");
	buf[0] = 'Z';
	smtp_reply_line_text(&r, 0, buf, 0);
	assert_int_equal(buf[0], 'Z');
	/* "250" alone. */
	smtp_reply_reset(&r);
	smtp_reply_feed(&r, "250", 3);
	smtp_reply_line_text(&r, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	smtp_reply_reset(&r);
	smtp_reply_feed(&r, "550 5.7.1 Relaying denied", 25);
	smtp_reply_line_text(&r, 0, buf, sizeof(buf));
	assert_string_equal(buf, "Relaying denied");
	smtp_reply_free(&r);
}

static void
feed_all(struct smtp_reply *r, const char *const *lines)
{
	smtp_reply_reset(r);
	for (; *lines != NULL; lines++)
		smtp_reply_feed(r, *lines, strlen(*lines));
}

static void
test_ehlo_full(void **state)
{
	static const char *const lines[] = {
		"250-mx.example.com Hello PIPELINING SIZE 5",
		"250-PIPELINING",
		"250-SIZE 10240000",
		"250-8BITMIME",
		"250-ENHANCEDSTATUSCODES",
		"250-smtputf8",
		"250-STARTTLS",
		"250-AUTH PLAIN LOGIN",
		"250-AUTH=PLAIN LOGIN CRAM-MD5",
		"250-XCLIENT NAME ADDR PROTO HELO",
		"250-XFORWARD NAME ADDR",
		"250-CHUNKING",
		"250 DSN",
		NULL,
	};
	struct smtp_reply r;
	struct smtp_ehlo e;

	(void)state;
	smtp_reply_init(&r);
	feed_all(&r, lines);
	assert_int_equal(r.code, 250);
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.exts, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
	    SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCED | SMTP_EXT_SMTPUTF8 |
	    SMTP_EXT_STARTTLS | SMTP_EXT_AUTH | SMTP_EXT_XCLIENT |
	    SMTP_EXT_XFORWARD | SMTP_EXT_CHUNKING | SMTP_EXT_DSN);
	assert_true(e.size == 10240000ULL);
	assert_string_equal(e.auth, "PLAIN LOGIN CRAM-MD5");
	assert_string_equal(e.xclient, "NAME ADDR PROTO HELO");
	assert_string_equal(e.xforward, "NAME ADDR");
	smtp_reply_free(&r);
}

struct ehlo_case {
	const char	*lines[5];
	unsigned	 exts;
	unsigned long long size;
	const char	*auth;
};

static const struct ehlo_case ehlo_cases[] = {
	/* The greeting line never counts. */
	{ { "250 PIPELINING" }, 0, 0, "" },
	{ { "250-PIPELINING", "250 8BITMIME" }, SMTP_EXT_8BITMIME, 0, "" },
	{ { "250-x", "250 pipelining" }, SMTP_EXT_PIPELINING, 0, "" },
	{ { "250-x", "250 PIPELINING " }, SMTP_EXT_PIPELINING, 0, "" },
	{ { "250-x", "250 PIPELININGX" }, 0, 0, "" },
	{ { "250-x", "250 XPIPELINING" }, 0, 0, "" },
	{ { "250-x", "250 STARTTLS=1" }, 0, 0, "" },
	{ { "250-x", "250 SIZE" }, SMTP_EXT_SIZE, 0, "" },
	{ { "250-x", "250 SIZE 0" }, SMTP_EXT_SIZE, 0, "" },
	{ { "250-x", "250 size 52428800" }, SMTP_EXT_SIZE, 52428800ULL, "" },
	{ { "250-x", "250 SIZE abc" }, SMTP_EXT_SIZE, 0, "" },
	{ { "250-x", "250 SIZE 12a" }, SMTP_EXT_SIZE, 0, "" },
	{ { "250-x", "250 SIZE 18446744073709551615" }, SMTP_EXT_SIZE,
	    18446744073709551615ULL, "" },
	{ { "250-x", "250 SIZE 18446744073709551616" }, SMTP_EXT_SIZE, 0, "" },
	{ { "250-x", "250 SIZE 99999999999999999999999" }, SMTP_EXT_SIZE, 0,
	    "" },
	{ { "250-x", "250 SIZE 100 extra" }, SMTP_EXT_SIZE, 100, "" },
	{ { "250-x", "250 SIZEX 100" }, 0, 0, "" },
	{ { "250-x", "250 SIZE=100" }, 0, 0, "" },
	{ { "250-x", "250 AUTH" }, SMTP_EXT_AUTH, 0, "" },
	{ { "250-x", "250 auth plain login" }, SMTP_EXT_AUTH, 0,
	    "PLAIN LOGIN" },
	{ { "250-x", "250 AUTH=LOGIN" }, SMTP_EXT_AUTH, 0, "LOGIN" },
	{ { "250-x", "250 AUTH  PLAIN   SCRAM-SHA-256  " }, SMTP_EXT_AUTH, 0,
	    "PLAIN SCRAM-SHA-256" },
	{ { "250-x", "250 AUTH PLAIN <script> X_Y\x01 OK_1" }, SMTP_EXT_AUTH,
	    0, "PLAIN OK_1" },
	{ { "250-x", "250 AUTH ABCDEFGHIJKLMNOPQRSTU PLAIN" }, SMTP_EXT_AUTH,
	    0, "PLAIN" },
	{ { "250-x", "250 AUTH ABCDEFGHIJKLMNOPQRST" }, SMTP_EXT_AUTH, 0,
	    "ABCDEFGHIJKLMNOPQRST" },
	{ { "250-x", "250-AUTH PLAIN", "250-AUTH plain LOGIN",
	    "250 AUTH=LOGIN" }, SMTP_EXT_AUTH, 0, "PLAIN LOGIN" },
	{ { "250-x", "250 AUTHX PLAIN" }, 0, 0, "" },
	{ { "250-x", "250-DSN", "250-CHUNKING", "250 ENHANCEDSTATUSCODES" },
	    SMTP_EXT_DSN | SMTP_EXT_CHUNKING | SMTP_EXT_ENHANCED, 0, "" },
	{ { "250-x", "250-", "250 " }, 0, 0, "" },
	/* Not a 250: nothing. */
	{ { "550 no" }, 0, 0, "" },
	{ { "502-x", "502 PIPELINING" }, 0, 0, "" },
};

static void
test_ehlo_cases(void **state)
{
	struct smtp_reply r;
	struct smtp_ehlo e;
	size_t i;

	(void)state;
	smtp_reply_init(&r);
	for (i = 0; i < sizeof(ehlo_cases) / sizeof(ehlo_cases[0]); i++) {
		printf("# ehlo case %zu: %s\n", i, ehlo_cases[i].lines[1] ?
		    ehlo_cases[i].lines[1] : ehlo_cases[i].lines[0]);
		feed_all(&r, ehlo_cases[i].lines);
		memset(&e, 0xa5, sizeof(e));
		smtp_ehlo_parse(&r, &e);
		assert_int_equal(e.exts, ehlo_cases[i].exts);
		assert_true(e.size == ehlo_cases[i].size);
		assert_string_equal(e.auth, ehlo_cases[i].auth);
	}
	smtp_reply_free(&r);
}

/* Lists never overflow: whole words only, always NUL-terminated. */
static void
test_ehlo_overflow(void **state)
{
	char line[1024];
	const char *lines[3] = { "250-x", line, NULL };
	struct smtp_reply r;
	struct smtp_ehlo e;
	size_t i, n;

	(void)state;
	smtp_reply_init(&r);
	n = (size_t)snprintf(line, sizeof(line), "250 XCLIENT");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
		    " ATTRIBUTE%02zu", i);
	feed_all(&r, lines);
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.exts, SMTP_EXT_XCLIENT);
	/* 23 words of 11 bytes and 22 spaces: 275 > 255; 21 fit (251). */
	assert_int_equal(strlen(e.xclient), 21 * 11 + 20);
	assert_true(strncmp(e.xclient, "ATTRIBUTE00 ATTRIBUTE01", 23) == 0);
	assert_string_equal(e.xclient + strlen(e.xclient) - 11, "ATTRIBUTE20");
	assert_string_equal(e.auth, "");
	assert_string_equal(e.xforward, "");
	smtp_reply_free(&r);
}

static void
test_xtext(void **state)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "[192.0.2.1]", "[192.0.2.1]" },
		{ "a+b=c", "a+2Bb+3Dc" },
		{ "a b", "a+20b" },
		{ "!~", "!~" },
		{ "\x01\x1f\x7f\x80\xff", "+01+1F+7F+80+FF" },
		{ "caf\xc3\xa9", "caf+C3+A9" },
		{ "+", "+2B" },
		{ "=", "+3D" },
	};
	struct sbuf b = SBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_reset(&b);
		smtp_xtext_encode(&b, cases[i].in);
		assert_string_equal(b.len ? b.p : "", cases[i].want);
	}
	/* Appends. */
	sbuf_reset(&b);
	sbuf_adds(&b, "NAME=");
	smtp_xtext_encode(&b, "a b");
	assert_string_equal(b.p, "NAME=a+20b");
	sbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_add),
		cmocka_unit_test(test_reply_feed),
		cmocka_unit_test(test_reply_bounds),
		cmocka_unit_test(test_reply_pipelined),
		cmocka_unit_test(test_reply_line_text),
		cmocka_unit_test(test_ehlo_full),
		cmocka_unit_test(test_ehlo_cases),
		cmocka_unit_test(test_ehlo_overflow),
		cmocka_unit_test(test_xtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
