/*
 * test_smtp_line.c: smtp_line_scan() against a table of buffers, covering
 * every status, every flag, and both sides of every limit edge (content of
 * exactly limit bytes, a CR waiting for its LF at limit + 1, limit 0).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp_line.h"

struct line_case {
	const char		*buf;
	size_t			 n;		/* 0: strlen(buf) */
	size_t			 limit;
	enum smtp_line_status	 st;
	size_t			 len;
	size_t			 consumed;
	unsigned		 flags;
};

#define BLF	SMTP_LINE_BARE_LF
#define BCR	SMTP_LINE_BARE_CR
#define NUL	SMTP_LINE_NUL

static const struct line_case line_cases[] = {
	/* Ordinary lines. */
	{ "HELO x\r\n", 0, 512, SMTP_LINE_OK, 6, 8, 0 },
	{ "\r\n", 0, 512, SMTP_LINE_OK, 0, 2, 0 },
	{ "one\r\ntwo\r\n", 0, 512, SMTP_LINE_OK, 3, 5, 0 },
	{ "abc\r\nxyz", 0, 512, SMTP_LINE_OK, 3, 5, 0 },
	/* Bare LF, bare CR, NUL, and their combinations. */
	{ "HELO x\n", 0, 512, SMTP_LINE_OK, 6, 7, BLF },
	{ "\n", 0, 512, SMTP_LINE_OK, 0, 1, BLF },
	{ "a\rb\r\n", 0, 512, SMTP_LINE_OK, 3, 5, BCR },
	{ "a\r\r\n", 0, 512, SMTP_LINE_OK, 2, 4, BCR },
	{ "\r\r\n", 0, 512, SMTP_LINE_OK, 1, 3, BCR },
	{ "a\rb\n", 0, 512, SMTP_LINE_OK, 3, 4, BCR | BLF },
	{ "a\0b\r\n", 5, 512, SMTP_LINE_OK, 3, 5, NUL },
	{ "\0\r\n", 3, 512, SMTP_LINE_OK, 1, 3, NUL },
	{ "a\rb\0\n", 5, 512, SMTP_LINE_OK, 4, 5, BCR | NUL | BLF },
	{ "data\r\n.\r\n", 0, 512, SMTP_LINE_OK, 4, 6, 0 },
	/* SMTP smuggling shape: "\n.\r\n" is a bare-LF line first. */
	{ "x\n.\r\n", 0, 512, SMTP_LINE_OK, 1, 2, BLF },
	/* Nothing complete yet. */
	{ "", 0, 512, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "HELO x", 0, 512, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "\r", 0, 512, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "HELO x\r", 0, 512, SMTP_LINE_PARTIAL, 0, 0, 0 },
	/* Limit edges, limit 4. */
	{ "abcd\r\n", 0, 4, SMTP_LINE_OK, 4, 6, 0 },
	{ "abcd\n", 0, 4, SMTP_LINE_OK, 4, 5, BLF },
	{ "abc\r\n", 0, 4, SMTP_LINE_OK, 3, 5, 0 },
	{ "abcde\r\n", 0, 4, SMTP_LINE_TOO_LONG, 5, 7, 0 },
	{ "abcde\n", 0, 4, SMTP_LINE_TOO_LONG, 5, 6, BLF },
	{ "abcd", 0, 4, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "abcd\r", 0, 4, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "abcde", 0, 4, SMTP_LINE_TOO_LONG, 0, 0, 0 },
	{ "abcd\r\r", 0, 4, SMTP_LINE_TOO_LONG, 0, 0, 0 },
	{ "abcdefghij", 0, 4, SMTP_LINE_TOO_LONG, 0, 0, 0 },
	{ "abcdefgh\r\nok\r\n", 0, 4, SMTP_LINE_TOO_LONG, 8, 10, 0 },
	{ "abc\r", 0, 4, SMTP_LINE_PARTIAL, 0, 0, 0 },
	/* A CR inside content of limit + 1 bytes is still too long. */
	{ "abc\rd\r\n", 0, 4, SMTP_LINE_TOO_LONG, 5, 7, 0 },
	/* Limit 0: only empty lines. */
	{ "\r\n", 0, 0, SMTP_LINE_OK, 0, 2, 0 },
	{ "\n", 0, 0, SMTP_LINE_OK, 0, 1, BLF },
	{ "\r", 0, 0, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "", 0, 0, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "x", 0, 0, SMTP_LINE_TOO_LONG, 0, 0, 0 },
	{ "x\r\n", 0, 0, SMTP_LINE_TOO_LONG, 1, 3, 0 },
	{ "\r\r", 0, 0, SMTP_LINE_TOO_LONG, 0, 0, 0 },
	/* A limit that cannot be reached must not wrap around. */
	{ "abc", 0, (size_t)-1, SMTP_LINE_PARTIAL, 0, 0, 0 },
	{ "abc\r\n", 0, (size_t)-1, SMTP_LINE_OK, 3, 5, 0 },
};

static void
test_line_table(void **state)
{
	struct smtp_line l;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];

		n = c->n ? c->n : strlen(c->buf);
		memset(&l, 0xa5, sizeof(l));
		printf("# case %zu\n", i);
		assert_int_equal(smtp_line_scan(c->buf, n, c->limit, &l),
		    c->st);
		if (c->st == SMTP_LINE_PARTIAL) {
			assert_int_equal(l.consumed, 0);
			continue;
		}
		assert_int_equal(l.consumed, c->consumed);
		if (c->consumed > 0)
			assert_int_equal(l.len, c->len);
		if (c->st == SMTP_LINE_OK)
			assert_int_equal(l.flags, c->flags);
		assert_true(l.consumed <= n);
	}
}

/* A whole pipelined buffer splits into its lines, and nothing is left. */
static void
test_line_pipeline(void **state)
{
	static const char buf[] =
	    "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "RCPT TO:<e@f.example>\nDATA\r\nQUIT";
	static const size_t want_len[] = { 23, 21, 21, 4 };
	static const unsigned want_flags[] = { 0, 0, BLF, 0 };
	struct smtp_line l;
	size_t off = 0, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(smtp_line_scan(buf + off,
		    sizeof(buf) - 1 - off, 512, &l), SMTP_LINE_OK);
		assert_int_equal(l.len, want_len[i]);
		assert_int_equal(l.flags, want_flags[i]);
		off += l.consumed;
	}
	assert_string_equal(buf + off, "QUIT");
	assert_int_equal(smtp_line_scan(buf + off, sizeof(buf) - 1 - off, 512,
	    &l), SMTP_LINE_PARTIAL);
}

/* Skipping an overlong line by its consumed count resynchronises. */
static void
test_line_resync(void **state)
{
	char buf[600];
	struct smtp_line l;

	(void)state;
	memset(buf, 'x', 520);
	memcpy(buf + 520, "\r\nNOOP\r\n", 8);
	assert_int_equal(smtp_line_scan(buf, 528, 512, &l), SMTP_LINE_TOO_LONG);
	assert_int_equal(l.consumed, 522);
	assert_int_equal(smtp_line_scan(buf + l.consumed, 528 - 522, 512, &l),
	    SMTP_LINE_OK);
	assert_int_equal(l.len, 4);
	/* Unterminated: too long as soon as limit + 1 non-CR bytes are in. */
	assert_int_equal(smtp_line_scan(buf, 512, 512, &l), SMTP_LINE_PARTIAL);
	assert_int_equal(smtp_line_scan(buf, 513, 512, &l),
	    SMTP_LINE_TOO_LONG);
	assert_int_equal(l.consumed, 0);
	buf[512] = '\r';
	assert_int_equal(smtp_line_scan(buf, 513, 512, &l), SMTP_LINE_PARTIAL);
	buf[513] = '\n';
	assert_int_equal(smtp_line_scan(buf, 514, 512, &l), SMTP_LINE_OK);
	assert_int_equal(l.len, 512);
	assert_int_equal(l.consumed, 514);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_table),
		cmocka_unit_test(test_line_pipeline),
		cmocka_unit_test(test_line_resync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
