/*
 * test_msg.c: unit tests of the message model (rules/msg.h).  Expected
 * values were checked against SpamAssassin 4.0.1 itself with
 * tools/sa_msgdump.pl: every string below is what SA gives its rules for
 * the same message, unless the test says it checks a moat-only bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "msg_impl.h"
#include "sbuf.h"
#include "xmalloc.h"

static struct msg *
parse(const char *s)
{
	return msg_parse(s, strlen(s), NULL);
}

/* The body lines joined with "|" (lines keep their own "\n"). */
static char *
join(const struct msg_str *v, size_t n)
{
	struct sbuf	b = SBUF_INIT;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			sbuf_addc(&b, '|');
		sbuf_add(&b, v[i].p, v[i].len);
	}
	sbuf_addc(&b, '\0');
	return b.p;
}

static void
assert_body(const struct msg *m, const char *want)
{
	const struct msg_str	*v;
	size_t			 n;
	char			*got;

	v = msg_body(m, &n);
	got = join(v, n);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_rawbody(const struct msg *m, const char *want)
{
	const struct msg_str	*v;
	size_t			 n;
	char			*got;

	v = msg_rawbody(m, &n);
	got = join(v, n);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_get(const struct msg *m, const char *spec, int ret, const char *want)
{
	struct sbuf	out = SBUF_INIT;
	int		r;

	r = msg_get(m, spec, &out);
	assert_int_equal(r, ret);
	assert_int_equal(out.len, strlen(want));
	if (out.len > 0)
		assert_memory_equal(out.p, want, out.len);
	sbuf_free(&out);
}

static int
has_uri(const struct msg *m, const char *u)
{
	const struct msg_str	*v;
	size_t			 n, i;

	v = msg_uris(m, &n);
	for (i = 0; i < n; i++)
		if (v[i].len == strlen(u) && memcmp(v[i].p, u, v[i].len) == 0)
			return 1;
	return 0;
}

static const char t1[] =
    "From x@y Mon Jan  1 00:00:00 2002\n"
    "Subject: =?iso-8859-1?q?Caf=E9?= test\n\tfolded\n"
    "To: a@b.c\n"
    "To: \"D, E\" <d@e.f>\n"
    "From: =?utf-8?b?SsO8cmdlbg==?= <j@example.com>\n"
    "Message-ID: <=?utf-8?q?x?=@y>\n"
    "X-Two: =?utf-8?q?a?= =?utf-8?q?b?=  c =?utf-8?q?=E2=82?= "
    "=?utf-8?q?=AC?=\n"
    "\n"
    "Hello\n\n\nworld  para2\n";

static void
test_rfc2047(void **state)
{
	struct msg	*m = parse(t1);

	(void)state;
	assert_get(m, "Subject", 1, "Caf\xc3\xa9 test folded\n");
	assert_get(m, "Subject:raw", 1,
	    " =?iso-8859-1?q?Caf=E9?= test\n\tfolded\n");
	/* Adjacent words join; a character split across words survives. */
	assert_get(m, "X-Two", 1, "ab  c \xe2\x82\xac\n");
	assert_get(m, "From:name", 1, "J\xc3\xbcrgen");
	assert_get(m, "From:addr", 1, "j@example.com");
	/* Message-ID is never decoded. */
	assert_get(m, "Message-ID", 1, "<=?utf-8?q?x?=@y>\n");
	assert_get(m, "MESSAGEID", 1, "<=?utf-8?q?x?=@y>\n");
	assert_true(msg_flags(m) & MSG_F_MBOX_FROM);
	msg_free(m);

	m = parse("Subject: =?x-unknown?q?abc?= =?x-unknown?q?=E9?= "
	    "=?utf-8?q?abc x\nSubject: caf\xe9 two\n"
	    "X-Lat: =?iso-8859-1?b?Y2Fm6Q==?=\n\nbody\n");
	/* Unknown charset: ASCII as is, 8-bit as Windows-1252; a broken
	 * word stays; raw Latin-1 becomes UTF-8. */
	assert_get(m, "Subject", 1,
	    "abc\xc3\xa9 =?utf-8?q?abc x\ncaf\xc3\xa9 two\n");
	assert_get(m, "X-Lat", 1, "caf\xc3\xa9\n");
	assert_true(msg_flags(m) & MSG_F_HDR_8BIT);
	msg_free(m);
}

static void
test_headers(void **state)
{
	struct msg		*m = parse(t1);
	const struct msg_header	*h;
	size_t			 n;

	(void)state;
	assert_get(m, "To", 1, "a@b.c\n\"D, E\" <d@e.f>\n");
	assert_get(m, "to", 1, "a@b.c\n\"D, E\" <d@e.f>\n");
	assert_get(m, "To:addr", 1, "a@b.c\nd@e.f");
	assert_get(m, "ToCc", 1, "a@b.c\n\"D, E\" <d@e.f>\n");
	assert_get(m, "To:first:addr", 1, "a@b.c");
	assert_get(m, "To:last:addr", 1, "d@e.f");
	assert_get(m, "X-Missing", 0, "");
	assert_get(m, "X-Missing:addr", 0, "");
	assert_get(m, "EnvelopeFrom", 0, "");
	assert_get(m, "X-Spam-Relays-External", -1, "");
	assert_get(m, "ALL-EXTERNAL", -1, "");
	assert_get(m, "From:host", -1, "");
	assert_get(m, "ALL", 1,
	    "Subject: Caf\xc3\xa9 test folded\nTo: a@b.c\n"
	    "To: \"D, E\" <d@e.f>\nFrom: J\xc3\xbcrgen <j@example.com>\n"
	    "Message-ID: <=?utf-8?q?x?=@y>\nX-Two: ab  c \xe2\x82\xac\n");
	assert_get(m, "ALL:raw", 1,
	    "Subject: =?iso-8859-1?q?Caf=E9?= test\n\tfolded\nTo: a@b.c\n"
	    "To: \"D, E\" <d@e.f>\n"
	    "From: =?utf-8?b?SsO8cmdlbg==?= <j@example.com>\n"
	    "Message-ID: <=?utf-8?q?x?=@y>\n"
	    "X-Two: =?utf-8?q?a?= =?utf-8?q?b?=  c =?utf-8?q?=E2=82?= "
	    "=?utf-8?q?=AC?=\n");
	h = msg_headers(m, &n);
	assert_int_equal(n, 6);
	assert_string_equal(h[0].name, "Subject");
	assert_string_equal(h[0].value, "Caf\xc3\xa9 test folded");
	assert_string_equal(h[0].raw, " =?iso-8859-1?q?Caf=E9?= test\n\tfolded\n");
	msg_free(m);

	m = parse("From: \"\" <>\nReply-To: a@b.c ()\n"
	    "To: Undisclosed-Recipient:;@x.com\nCc: <C:x@y.org>\n"
	    "Return-Path: <bounce@ex.org>\n\nx\n");
	/* Display names as SA gives them. */
	assert_get(m, "From:name", 1, " ");
	assert_get(m, "Reply-To:name", 1, "");
	assert_get(m, "To:addr", 0, "");
	assert_get(m, "Cc:addr", 0, "");
	assert_get(m, "EnvelopeFrom", 1, "bounce@ex.org");

	/* mimeheader sees the last instance only */
	{
		struct sbuf o = SBUF_INIT;

		assert_int_equal(msg_part_get(m, 0, "Return-Path", &o), 1);
		assert_string_equal(o.p, "<bounce@ex.org>\n");
		sbuf_free(&o);
	}
	msg_free(m);
	m = parse("X-A: one\nX-A: two\n\nx\n");
	{
		struct sbuf o = SBUF_INIT;

		assert_int_equal(msg_part_get(m, 0, "X-A", &o), 1);
		assert_string_equal(o.p, "two\n");
		assert_int_equal(msg_part_get(m, 0, "X-A:raw", &o), 1);
		assert_string_equal(o.p, " two\n");
		sbuf_free(&o);
	}
	assert_get(m, "X-A", 1, "one\ntwo\n");
	msg_free(m);

	/* A Received field above Return-Path: not an envelope sender. */
	m = parse("Received: from x\nReturn-Path: <b@ex.org>\n\nx\n");
	assert_get(m, "EnvelopeFrom", 0, "");
	msg_free(m);
}

static const char t2[] =
    "Subject: qp\nContent-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n\n"
    "soft=\nbreak trailing   \n=E9t=E9 =3D =ZZ =4a lower=e9\n";

static void
test_qp(void **state)
{
	struct msg	*m = parse(t2);
	struct sbuf	 o = SBUF_INIT;
	int		 bad = 0;

	(void)state;
	assert_rawbody(m, "softbreak trailing\n\xe9t\xe9 = =ZZ J lower\xe9\n");
	assert_body(m, "qp\n|softbreak trailing \xc3\xa9t\xc3\xa9 = =ZZ J "
	    "lower\xc3\xa9 ");
	assert_true(msg_flags(m) & MSG_F_BAD_QP);
	msg_free(m);

	/* Blanks at the very end (no line end) stay; CRLF soft breaks. */
	msg_qp_decode("a=\r\nb \t\r\nc  ", 13, &o, &bad);
	assert_string_equal(o.p, "ab\r\nc  ");
	assert_int_equal(bad, 0);
	sbuf_reset(&o);
	msg_qp_decode("=", 1, &o, &bad);
	assert_string_equal(o.p, "=");
	assert_int_equal(bad, 1);
	sbuf_free(&o);
}

static void
test_base64(void **state)
{
	struct msg	*m;
	struct sbuf	 o = SBUF_INIT;
	int		 bad = 0;

	(void)state;
	m = parse("Subject: b64\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: base64\n\naGVs bG8g\nd29y\nbGQ=\n");
	assert_rawbody(m, "hello world");
	assert_body(m, "b64\n|hello world");
	assert_false(msg_flags(m) & MSG_F_BAD_BASE64);
	msg_free(m);

	/* Junk and a length not divisible by 4: the uudecode fallback. */
	m = parse("Subject: b64bad\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: base64\n\naGVsbG8*gd29ybGQ\n");
	assert_rawbody(m, "hello world");
	assert_true(msg_flags(m) & MSG_F_BAD_BASE64);
	msg_free(m);

	/* An inner "=" reads as "A" on the clean path ... */
	msg_b64_decode("QQ==QUJD", 8, &o, &bad);
	assert_int_equal(o.len, 6);
	assert_memory_equal(o.p, "A\0\0ABC", 6);
	sbuf_reset(&o);
	/* ... as 63 on the fallback; a single leftover is dropped. */
	msg_b64_decode("QQ=QUJD!Q", 9, &o, &bad);
	assert_int_equal(o.len, 6);
	assert_memory_equal(o.p, "\x41\x0f\xd0\x50\x90\xd0", 6);
	sbuf_reset(&o);
	msg_b64_decode("QUJDQ", 5, &o, &bad);
	assert_int_equal(o.len, 3);
	assert_memory_equal(o.p, "ABC", 3);
	sbuf_reset(&o);
	msg_b64_decode("", 0, &o, &bad);
	assert_int_equal(o.len, 0);
	sbuf_free(&o);
}

static const char t5[] =
    "Subject: mp\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
    "preamble\n--XX\nContent-Type: text/plain\n\nplain part\n"
    "--XX\nContent-Type: multipart/alternative; boundary=YY\n\n"
    "--YY\nContent-Type: text/html; charset=utf-8\n\n"
    "<html><head><title>T</title><style>p{x}</style></head><body><p>Hi "
    "&amp; <b>bye</b>&nbsp;&copy;<script>no</script><br>x<a "
    "href=\"http://ex.com/a%41b\">link</a> see www.foo.org/x and "
    "bob@ex.net.</p></body></html>\n--YY--\n"
    "--XX\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n"
    "R0lG\n--XX\nContent-Type: message/rfc822\n\nSubject: inner\n"
    "Content-Type: text/plain\n\ninner body\n--XX--\nepilogue\n";

static void
test_multipart(void **state)
{
	struct msg	*m = parse(t5);
	struct sbuf	 o = SBUF_INIT;
	size_t		 n;

	(void)state;
	/* All parts are ASCII: Perl keeps the text as bytes, so the entity
	 * gives the Latin-1 byte. */
	assert_body(m, "mp\n|plain part\n|T\n|Hi & bye \xa9 xlink see "
	    "www.foo.org/x and bob@ex.net.\n|inner body");
	assert_rawbody(m, "plain part|<html><head><title>T</title><style>"
	    "p{x}</style></head><body><p>Hi &amp; <b>bye</b>&nbsp;&copy;"
	    "<script>no</script><br>x<a href=\"http://ex.com/a%41b\">link</a>"
	    " see www.foo.org/x and bob@ex.net.</p></body></html>|inner body");
	msg_uris(m, &n);
	assert_int_equal(n, 4);
	assert_true(has_uri(m, "http://ex.com/a%41b"));
	assert_true(has_uri(m, "http://ex.com/aAb"));
	assert_true(has_uri(m, "http://www.foo.org/x"));
	assert_true(has_uri(m, "mailto:bob@ex.net"));
	assert_false(msg_flags(m) & MSG_F_BOUNDARY_OPEN);
	/* Parts: top, plain, alternative, html, gif, rfc822, inner. */
	assert_int_equal(msg_part_count(m), 7);
	assert_int_equal(msg_part_get(m, 4, "Content-Type", &o), 1);
	assert_string_equal(o.p, "image/gif\n");
	assert_int_equal(msg_part_get(m, 6, "Subject", &o), 1);
	assert_string_equal(o.p, "inner\n");
	assert_int_equal(msg_part_get(m, 6, "X-None", &o), 0);
	/* MIMEHeader: raw_header of a missing field is a defined '' */
	assert_int_equal(msg_part_get(m, 6, "X-None:raw", &o), 1);
	assert_int_equal(o.len, 0);
	assert_int_equal(msg_part_get(m, 1, "Content-Type:raw", &o), 1);
	assert_string_equal(o.p, "text/plain\n");
	assert_int_equal(msg_part_get(m, 1, "ALL", &o), 1);
	assert_string_equal(o.p, "Content-Type: text/plain\n");
	assert_int_equal(msg_part_get(m, 99, "Subject", &o), 0);
	/* header rules see only the top header */
	assert_get(m, "Content-Transfer-Encoding", 0, "");
	sbuf_free(&o);
	msg_free(m);

	/* multipart without boundary= is text/plain */
	m = parse("Subject: nobound\nContent-Type: multipart/mixed\n\n"
	    "body text\n");
	assert_body(m, "nobound\n|body text ");
	msg_free(m);

	/* multipart/digest: parts without Content-Type are messages */
	m = parse("Subject: digest\nContent-Type: multipart/digest; "
	    "boundary=D\n\n--D\n\nSubject: d1\n\ndigest one\n--D\n");
	assert_body(m, "digest\n|digest one");
	msg_free(m);

	/* no closing boundary */
	m = parse("Subject: trunc\nContent-Type: multipart/mixed; boundary=B"
	    "\n\n--B\nContent-Type: text/plain\n\nfirst\n--B\n"
	    "Content-Type: text/plain\n\nsecond, no end\n");
	assert_body(m, "trunc\n|first second, no end ");
	assert_rawbody(m, "first|second, no end\n");
	assert_true(msg_flags(m) & MSG_F_BOUNDARY_OPEN);
	msg_free(m);
}

static void
test_limits(void **state)
{
	struct sbuf		 s = SBUF_INIT;
	struct msg_limits	 lim;
	struct msg		*m;
	int			 i;

	(void)state;
	/* 40 nested multiparts: SA stops at 20 levels, so do we. */
	sbuf_adds(&s, "Subject: deep\n");
	for (i = 0; i < 40; i++)
		sbuf_printf(&s, "Content-Type: multipart/mixed; boundary=b%d"
		    "\n\n--b%d\n", i, i);
	sbuf_adds(&s, "Content-Type: text/plain\n\ndeep text\n");
	m = msg_parse(s.p, s.len, NULL);
	assert_non_null(m);
	assert_true(msg_part_count(m) <= 21);
	msg_free(m);

	msg_limits_default(&lim);
	lim.max_depth = 2;
	m = msg_parse(s.p, s.len, &lim);
	assert_true(msg_flags(m) & MSG_F_DEPTH_LIMIT);
	assert_true(msg_part_count(m) <= 3);
	msg_free(m);

	/* many parts */
	sbuf_reset(&s);
	sbuf_adds(&s, "Subject: many\nContent-Type: multipart/mixed; "
	    "boundary=B\n\n");
	for (i = 0; i < 50; i++)
		sbuf_printf(&s, "--B\n\npart %d\n", i);
	sbuf_adds(&s, "--B--\n");
	msg_limits_default(&lim);
	lim.max_parts = 10;
	m = msg_parse(s.p, s.len, &lim);
	assert_true(msg_flags(m) & MSG_F_PARTS_LIMIT);
	assert_true(msg_part_count(m) <= 10);
	msg_free(m);

	/* many headers */
	sbuf_reset(&s);
	for (i = 0; i < 50; i++)
		sbuf_printf(&s, "X-H%d: v\n", i);
	sbuf_adds(&s, "\nbody\n");
	lim.max_headers = 5;
	m = msg_parse(s.p, s.len, &lim);
	assert_true(msg_flags(m) & MSG_F_HEADERS_LIMIT);
	assert_get(m, "X-H4", 1, "v\n");
	assert_get(m, "X-H5", 0, "");
	msg_free(m);

	/* bytes copied into nested parts */
	sbuf_reset(&s);
	sbuf_adds(&s, "Subject: n\nContent-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n");
	for (i = 0; i < 100; i++)
		sbuf_adds(&s, "0123456789\n");
	msg_limits_default(&lim);
	lim.max_decoded = 200;
	m = msg_parse(s.p, s.len, &lim);
	assert_true(msg_flags(m) & MSG_F_DECODED_LIMIT);
	msg_free(m);
	lim.max_decoded = 0;
	m = msg_parse(s.p, s.len, &lim);
	assert_false(msg_flags(m) & MSG_F_DECODED_LIMIT);
	msg_free(m);

	/* decoded bytes */
	msg_limits_default(&lim);
	lim.max_decoded = 4;
	m = msg_parse("Subject: s\n\n0123456789\n", 24, &lim);
	assert_true(msg_flags(m) & MSG_F_DECODED_LIMIT);
	assert_rawbody(m, "0123");
	msg_free(m);
	sbuf_free(&s);
}

static void
test_html(void **state)
{
	struct msg	*m;

	(void)state;
	m = parse("Subject: html\nContent-Type: text/html\n\n"
	    "<p>one <font color=\"#ffffff\">two </font></p><div>three</div>"
	    "<p>&#8217;&#x41;&ampx &lt;4&gt;</p><textarea>a&amp;<b>b</b>"
	    "</textarea><iframe><p>if</p></iframe>&#xe9;\n");
	/* White text is invisible: the space before </p> is not trimmed;
	 * textarea and iframe hold literal text. */
	assert_body(m, "html\n|\n|one two \n|three\n|\xe2\x80\x99" "A&x <4>\n|"
	    "a&<b>b</b><p>if</p>\xc3\xa9 ");
	msg_free(m);

	/* A byte-string part keeps entity Latin-1 characters as bytes. */
	m = parse("Subject: l1\nContent-Type: text/html\n\n"
	    "<b>a&copy;b</b> <!-- c --> <style>x</style>d&nbsp;e\n");
	assert_body(m, "l1\n|a\xa9" "b d e ");
	msg_free(m);

	/* Unterminated markup at the end swallows the rest. */
	m = parse("Subject: u\nContent-Type: text/html\n\nok<a href=\"x\n");
	assert_body(m, "u\n|ok");
	msg_free(m);
}

static void
test_uri(void **state)
{
	struct msg	*m;

	(void)state;
	m = parse("Subject: u\n\nsee example.com/path, foo.invalidtld and "
	    "http://1113982867/x or http://ex.com?x=1 "
	    "mailto:a@b.org?subject=hi  EX@Example.COM\n");
	assert_true(has_uri(m, "http://example.com/path"));
	assert_true(has_uri(m, "http://1113982867/x"));
	assert_true(has_uri(m, "http://66.102.7.147/x"));
	assert_true(has_uri(m, "http://ex.com?x=1"));
	assert_true(has_uri(m, "http://ex.com/?x=1"));
	assert_true(has_uri(m, "mailto:a@b.org?subject=hi"));
	assert_true(has_uri(m, "mailto:a@b.org"));
	assert_true(has_uri(m, "mailto:EX@Example.COM"));
	assert_false(has_uri(m, "http://foo.invalidtld"));
	msg_free(m);

	/* A NUL inside a URI is kept (fuzz_mime found the set truncating it
	 * while reporting the full length). */
	m = msg_parse("Subject: see http://a.com/x\0y ok\n\nbody\n", 38, NULL);
	{
		const struct msg_str *v;
		size_t n;

		v = msg_uris(m, &n);
		assert_int_equal(n, 1);
		assert_int_equal(v[0].len, 16);
		assert_memory_equal(v[0].p, "http://a.com/x\0y", 16);
	}
	msg_free(m);

	m = parse("Subject: h\nContent-Type: text/html\n\n"
	    "<base href=\"http://b.org/dir/page.html\"><a href=\"x/y.html\">"
	    "l</a><a name=\"top\"></a><img src=\"/i.gif\">"
	    "<a href=\"http://http://w.org/\">z</a>\n");
	assert_true(has_uri(m, "http://b.org/dir/x/y.html"));
	assert_true(has_uri(m, "x/y.html"));
	assert_true(has_uri(m, "http://b.org/i.gif"));
	assert_true(has_uri(m, ""));
	assert_true(has_uri(m, "http://www.http.com://w.org/"));
	msg_free(m);
}

static void
test_body_split(void **state)
{
	struct sbuf		 s = SBUF_INIT;
	struct msg		*m;
	const struct msg_str	*v;
	size_t			 n, i, total = 0;

	(void)state;
	sbuf_adds(&s, "Subject: long\n\n");
	for (i = 0; i < 600; i++)
		sbuf_printf(&s, "%sword%zu", i ? " " : "", i);
	sbuf_adds(&s, "\n\n");
	for (i = 0; i < 3000; i++)
		sbuf_addc(&s, 'x');
	sbuf_adds(&s, "\n");
	m = msg_parse(s.p, s.len, NULL);
	v = msg_body(m, &n);
	/* subject, 3 pieces of the words paragraph, 2 of the x run */
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++) {
		assert_true(v[i].len <= MSG_MAX_BODY_LINE + 1);
		total += v[i].len;
	}
	assert_int_equal(total, 5 + 4690 + 3001);
	assert_int_equal(v[1].len, 2042);
	assert_int_equal(v[1].p[v[1].len - 1], ' ');
	assert_int_equal(v[3].p[v[3].len - 1], '\n');
	assert_int_equal(v[4].len, MSG_MAX_BODY_LINE);
	assert_memory_equal(v[5].p + v[5].len - 1, " ", 1);
	v = msg_rawbody(m, &n);
	assert_int_equal(n, 3);
	msg_free(m);
	sbuf_free(&s);
}

static void
test_framing(void **state)
{
	static const char crlf[] = "From nobody Mon Jan 1 00:00:00 2002\r\n"
	    "Subject: crlf\r\nTo: a@b.c\r\n\r\nline one\r\nline two\r\n";
	struct msg	*m;
	const char	*f;
	const struct msg_str *v;
	size_t		 n;

	(void)state;
	m = parse(crlf);
	assert_get(m, "To", 1, "a@b.c\n");
	assert_body(m, "crlf\n|line one line two ");
	assert_rawbody(m, "line one\nline two\n");
	assert_get(m, "ALL:raw", 1, "Subject: crlf\r\nTo: a@b.c\r\n\r\n");
	f = msg_full(m, &n);
	assert_int_equal(n, strlen(crlf) - 37);
	assert_memory_equal(f, crlf + 37, n);
	assert_true(msg_flags(m) & MSG_F_CRLF);
	assert_true(msg_flags(m) & MSG_F_MBOX_FROM);
	msg_free(m);

	/* No empty line: everything is header. */
	m = parse("Subject: only\nX-A: b");
	assert_get(m, "X-A", 1, "b\n");
	assert_body(m, "only\n");
	assert_true(msg_flags(m) & MSG_F_NO_BODY);
	msg_free(m);

	/* Garbage lines: three are skipped, the fourth starts the body. */
	m = parse("Subject: g\nbad one\nbad two\nbad three\nbad four\nX: y\n");
	assert_true(msg_flags(m) & MSG_F_HDR_GARBAGE);
	assert_get(m, "X", 0, "");
	assert_rawbody(m, "bad four\nX: y\n");
	msg_free(m);

	/* Empty input, NUL bytes, msg_free(NULL). */
	m = msg_parse(NULL, 0, NULL);
	assert_body(m, "\n");
	msg_free(m);
	m = msg_parse("Subject: a\0b\n\nc\0d\n", 18, NULL);
	assert_true(msg_flags(m) & MSG_F_NUL);
	v = msg_rawbody(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].len, 4);
	assert_memory_equal(v[0].p, "c\0d\n", 4);
	v = msg_body(m, &n);
	assert_int_equal(v[0].len, 4);
	assert_memory_equal(v[0].p, "a\0b\n", 4);
	{
		struct sbuf o = SBUF_INIT;

		assert_int_equal(msg_get(m, "Subject", &o), 1);
		assert_int_equal(o.len, 4);
		assert_memory_equal(o.p, "a\0b\n", 4);
		sbuf_free(&o);
	}
	msg_free(m);
	msg_free(NULL);
}

static void
test_charsets(void **state)
{
	struct sbuf	o = SBUF_INIT;
	int		bad = 0, dec = 0;

	(void)state;
	/* valid UTF-8 wins over the declared charset */
	msg_normalize("caf\xc3\xa9", 5, "iso-8859-1", 0, &o, &bad, &dec);
	assert_string_equal(o.p, "caf\xc3\xa9");
	assert_int_equal(dec, 1);
	sbuf_reset(&o);
	msg_normalize("\x93q\x94", 3, "iso-8859-1", 0, &o, &bad, &dec);
	assert_string_equal(o.p, "\xe2\x80\x9cq\xe2\x80\x9d");
	sbuf_reset(&o);
	msg_normalize("\xa4\xa4", 2, "big5", 0, &o, &bad, &dec);
	assert_string_equal(o.p, "\xe4\xb8\xad");
	sbuf_reset(&o);
	msg_normalize("\xf0\xee", 2, "koi8-r", 0, &o, &bad, &dec);
	assert_string_equal(o.p, "\xd0\x9f\xd0\x9d");
	sbuf_reset(&o);
	/* ASCII in an ASCII-compatible charset stays a byte string */
	msg_normalize("abc", 3, "windows-1251", 0, &o, &bad, &dec);
	assert_string_equal(o.p, "abc");
	assert_int_equal(dec, 0);
	sbuf_reset(&o);
	bad = 0;
	msg_normalize("\x81", 1, "no-such-charset", 0, &o, &bad, &dec);
	assert_string_equal(o.p, "\xef\xbf\xbd");
	assert_int_equal(bad, 1);
	sbuf_reset(&o);
	assert_int_equal(msg_utf8_valid("\xed\xa0\x80", 3), 0);
	assert_int_equal(msg_utf8_valid("\xc0\xaf", 2), 0);
	assert_int_equal(msg_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);
	assert_int_equal(msg_utf8_ws("\xe3\x80\x80", 3), 3);
	assert_int_equal(msg_utf8_ws("\xc2\xa0", 2), 2);
	assert_int_equal(msg_utf8_ws("a", 1), 0);
	sbuf_free(&o);
}

/*
 * The bounds of the parser's fast paths: moat-only checks, not values from
 * SA.  Inputs that end where a scan must stop sit in exact-size heap
 * copies, so that a sanitizer build sees a read past the end.
 */
static char *
exact(const char *s, size_t n)
{
	char	*p = xmalloc(n ? n : 1);

	memcpy(p, s, n);
	return p;
}

static void
test_ascii_run(void **state)
{
	char	 buf[40], *p;
	size_t	 n, pos;

	(void)state;
	/*
	 * Every length around the 8-byte steps, with the first 8-bit byte at
	 * every place.  buf holds ASCII past n, so a word read across the end
	 * shows as a wrong length even without a sanitizer.
	 */
	for (n = 0; n <= 25; n++) {
		memset(buf, 'a', sizeof(buf));
		assert_int_equal(msg_ascii_run(buf, n), n);
		p = exact(buf, n);
		assert_int_equal(msg_ascii_run(p, n), n);
		free(p);
		for (pos = 0; pos < n; pos++) {
			memset(buf, 'a', sizeof(buf));
			buf[pos] = (char)0x80;
			assert_int_equal(msg_ascii_run(buf, n), pos);
			buf[pos] = (char)0xff;
			assert_int_equal(msg_ascii_run(buf, n), pos);
		}
	}
	/* a sequence cut at the end, after a run long enough for a word */
	p = exact("abcdefgh\xc3", 9);
	assert_int_equal(msg_utf8_valid(p, 9), 0);
	free(p);
	p = exact("abcdefgh\xc3\xa9", 10);
	assert_int_equal(msg_utf8_valid(p, 10), 1);
	free(p);
}

static void
test_put_utf8(void **state)
{
	static const unsigned long cps[] = { 0x41, 0xe9, 0x20ac, 0x1f600 };
	static const char *const enc[] = { "A", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80" };
	struct sbuf	 o;
	size_t		 k, c;

	(void)state;
	/* each length of every byte count up to past two buffer doublings */
	for (c = 0; c < 4; c++)
		for (k = 0; k < 140; k++) {
			memset(&o, 0, sizeof(o));
			while (o.len < k)
				sbuf_addc(&o, 'x');
			msg_put_utf8(&o, cps[c]);
			assert_int_equal(o.len, k + strlen(enc[c]));
			assert_string_equal(o.p + k, enc[c]);
			sbuf_free(&o);
		}
}

static void
test_qp_ends(void **state)
{
	static const struct {
		const char	*in, *want;
	} t[] = {
		{ " ", " " },			/* blanks, then the end */
		{ "a \t", "a \t" },
		{ "  \r", "  \r" },		/* a CR that ends no line */
		{ "a \r", "a \r" },
		{ "a  \r\nb", "a\r\nb" },
		{ "a =41 \nb", "a A\nb" },
	};
	struct sbuf	 o = SBUF_INIT;
	size_t		 i, n;
	char		*p;
	int		 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = strlen(t[i].in);
		p = exact(t[i].in, n);
		sbuf_reset(&o);
		msg_qp_decode(p, n, &o, &bad);
		assert_int_equal(o.len, strlen(t[i].want));
		assert_memory_equal(o.p, t[i].want, o.len);
		free(p);
	}
	assert_int_equal(bad, 0);
	sbuf_free(&o);
}

static void
test_html_bounds(void **state)
{
	struct sbuf	 s = SBUF_INIT;
	struct msg	*m;
	int		 i;

	(void)state;
	/* More attributes, and longer, than the reused tag buffers start with */
	sbuf_adds(&s, "Subject: attrs\nContent-Type: text/html\n\n<a");
	for (i = 0; i < 40; i++)
		sbuf_printf(&s, " X%d=\"%0200d\"", i, i);
	sbuf_adds(&s, " HREF=\"http://attrs.example/\">x</a>\n");
	m = msg_parse(s.p, s.len, NULL);
	assert_true(has_uri(m, "http://attrs.example/"));
	msg_free(m);

	/* Deeper font nesting than the style stack holds */
	sbuf_reset(&s);
	sbuf_adds(&s, "Subject: deep\nContent-Type: text/html\n\n");
	for (i = 0; i < 600; i++)
		sbuf_adds(&s, "<font size=\"+1\">");
	sbuf_adds(&s, "deep");
	for (i = 0; i < 600; i++)
		sbuf_adds(&s, "</font>");
	sbuf_adds(&s, " after\n");
	m = msg_parse(s.p, s.len, NULL);
	assert_body(m, "deep\n|deep after ");
	msg_free(m);
	sbuf_free(&s);
}

static void
test_uri_bounds(void **state)
{
	struct sbuf	 s = SBUF_INIT, h = SBUF_INIT;
	struct msg_uriset *set, *seen;
	struct msg	*m;
	size_t		 n;
	int		 i;

	(void)state;
	/* The shortest host a scheme-less match takes: one letter, a dot */
	m = parse("Subject: s\n\nsee a.com now\n");
	assert_true(has_uri(m, "http://a.com"));
	msg_free(m);

	/*
	 * A repeated URI adds nothing; two longer than the set keeps, alike up
	 * to its cut, are still two URIs.
	 */
	set = msg_uriset_new();
	seen = msg_uriset_new();
	sbuf_adds(&h, "http://long.example/");
	for (i = 0; i < 3000; i++)
		sbuf_adds(&h, "%41");
	sbuf_printf(&s, "%s%%42", h.p);
	msg_uri_add(set, seen, s.p, s.len, 0);
	n = msg_uriset_count(set);
	msg_uri_add(set, seen, s.p, s.len, 0);
	assert_int_equal(msg_uriset_count(set), n);
	s.p[s.len - 1] = '3';
	msg_uri_add(set, seen, s.p, s.len, 0);
	/* the raw URI is cut to the one before; "...AAAC" is new */
	assert_int_equal(msg_uriset_count(set), n + 1);
	msg_uriset_free(set);
	msg_uriset_free(seen);
	sbuf_free(&h);
	sbuf_free(&s);
}

static void
test_blank_runs(void **state)
{
	struct sbuf		 s = SBUF_INIT;
	struct msg		*m;
	const struct msg_str	*v;
	size_t			 n, i, k, nl;

	(void)state;
	/* More lines than the line index starts with; 25 blank in a row */
	sbuf_adds(&s, "Subject: b\n\n");
	for (i = 0; i < 300; i++)
		sbuf_printf(&s, "l%zu\n", i);
	for (i = 0; i < 25; i++)
		sbuf_adds(&s, "\n");
	sbuf_adds(&s, "end");
	m = msg_parse(s.p, s.len, NULL);
	v = msg_rawbody(m, &n);
	for (i = 0, nl = 0; i < n; i++)
		for (k = 0; k < v[i].len; k++)
			nl += v[i].p[k] == '\n';
	/* 300 lines, then the first and last 19 of the blank run */
	assert_int_equal(nl, 300 + 20);
	assert_memory_equal(v[n - 1].p + v[n - 1].len - 5, "\n\nend", 5);
	msg_free(m);

	/* a run that starts the body keeps its first two and last 19 */
	sbuf_reset(&s);
	sbuf_adds(&s, "Subject: b\n\n");
	for (i = 0; i < 25; i++)
		sbuf_adds(&s, "\n");
	sbuf_adds(&s, "end\n");
	m = msg_parse(s.p, s.len, NULL);
	assert_rawbody(m, "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nend\n");
	msg_free(m);
	sbuf_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_body_split),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_ascii_run),
		cmocka_unit_test(test_put_utf8),
		cmocka_unit_test(test_qp_ends),
		cmocka_unit_test(test_html_bounds),
		cmocka_unit_test(test_uri_bounds),
		cmocka_unit_test(test_blank_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
