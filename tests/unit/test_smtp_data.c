/*
 * test_smtp_data.c: the DATA reader and the dot-stuffer.
 *
 * Every vector is fed whole, byte by byte, split at every position into two
 * calls and (for short ones) at every pair of positions into three, and each
 * way must give exactly the expected output, status, consumed count, error
 * bits and counters: the reader's promise is that the split never matters,
 * which is what keeps a CR at the end of a TCP segment from changing where
 * the data ends.  The smuggling sequences of CVE-2023-51764 and its
 * relatives are among the vectors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "xmalloc.h"

#define LMAX_DEF	1000
#define SMAX_DEF	(1ULL << 20)

struct vec {
	const char		*name;
	const char		*in;
	size_t			 inlen;
	enum smtp_data_bare	 bare;
	size_t			 line_max;	/* 0: LMAX_DEF */
	unsigned long long	 size_max;	/* 0: SMAX_DEF */
	size_t			 end;		/* 0: MORE, else END at end */
	const char		*out;
	size_t			 outlen;
	unsigned		 err;
	unsigned		 first_err;
	unsigned long		 bare_lf;
	unsigned long		 bare_cr;
	unsigned long long	 lines;
	unsigned long long	 size;		/* 0 with err == 0: outlen */
	size_t			 longest;
};

#define IN(s)	.in = (s), .inlen = sizeof(s) - 1
#define OUT(s)	.out = (s), .outlen = sizeof(s) - 1
#define REJ	.bare = SMTP_DATA_BARE_REJECT

static const struct vec vecs[] = {
	/* The end of data, stuffing, pipelining. */
	{ "empty message", IN(".\r\n"), .end = 3, OUT("") },
	{ "one line", IN("a\r\n.\r\n"), .end = 6, OUT("a\r\n"),
	    .lines = 1, .longest = 1 },
	{ "pipelined rest stays", IN("a\r\n.\r\nQUIT\r\n"), .end = 6,
	    OUT("a\r\n"), .lines = 1, .longest = 1 },
	{ "end marker twice", IN(".\r\n.\r\n"), .end = 3, OUT("") },
	{ "empty line message", IN("\r\n.\r\n"), .end = 5, OUT("\r\n"),
	    .lines = 1 },
	{ "dot dot", IN("..\r\n.\r\n"), .end = 7, OUT(".\r\n"), .lines = 1,
	    .longest = 1 },
	{ "three dots", IN("...\r\n.\r\n"), .end = 8, OUT("..\r\n"),
	    .lines = 1, .longest = 2 },
	{ "dot x loses the dot", IN(".x\r\n.\r\n"), .end = 7, OUT("x\r\n"),
	    .lines = 1, .longest = 1 },
	{ "dot space", IN(". \r\n.\r\n"), .end = 7, OUT(" \r\n"), .lines = 1,
	    .longest = 1 },
	{ "stuffed line in the middle", IN("a\r\n..b\r\n.\r\n"), .end = 11,
	    OUT("a\r\n.b\r\n"), .lines = 2, .longest = 2 },
	{ "dot inside a line is text", IN("a.b\r\n.\r\n"), .end = 8,
	    OUT("a.b\r\n"), .lines = 1, .longest = 3 },
	{ "no end yet", IN("a\r\nb"), OUT("a\r\nb"), .lines = 1,
	    .longest = 1 },
	{ "pending dot", IN("a\r\n."), OUT("a\r\n"), .lines = 1,
	    .longest = 1 },
	{ "pending CR", IN("a\r"), OUT("a"), .longest = 1 },
	{ "pending dot CR", IN("a\r\n.\r"), OUT("a\r\n"), .lines = 1,
	    .longest = 1 },

	/* Smuggling: none of these ends the data. */
	{ "LF dot LF", IN("a\n.\n"), OUT("a\r\n.\r\n"), .bare_lf = 2,
	    .lines = 2, .longest = 1 },
	{ "LF dot LF then real end", IN("a\n.\n.\r\n.\r\n"), .end = 10,
	    OUT("a\r\n.\r\n.\r\n"), .bare_lf = 2, .lines = 3, .longest = 1 },
	{ "CRLF dot LF", IN("a\r\n.\n"), OUT("a\r\n\r\n"), .bare_lf = 1,
	    .lines = 2, .longest = 1 },
	{ "LF dot CRLF", IN("a\n.\r\n"), OUT("a\r\n.\r\n"), .bare_lf = 1,
	    .lines = 2, .longest = 1 },
	{ "CR dot CR", IN("a\r.\r"), OUT("a\r\n."), .bare_cr = 1,
	    .lines = 1, .longest = 1 },
	{ "CR dot CRLF", IN("a\r.\r\n"), OUT("a\r\n.\r\n"), .bare_cr = 1,
	    .lines = 2, .longest = 1 },
	{ "CRLF dot CR CRLF", IN("a\r\n.\r\r\n"), OUT("a\r\n\r\n\r\n"),
	    .bare_cr = 1, .lines = 3, .longest = 1 },
	{ "CRLF dot CR CRLF then end", IN("a\r\n.\r\r\n.\r\n"), .end = 10,
	    OUT("a\r\n\r\n\r\n"), .bare_cr = 1, .lines = 3, .longest = 1 },
	{ "CRLF dot CR x", IN("a\r\n.\rx"), OUT("a\r\n\r\nx"), .bare_cr = 1,
	    .lines = 2, .longest = 1 },
	{ "LF at start then dot CRLF", IN("\n.\r\n"), OUT("\r\n.\r\n"),
	    .bare_lf = 1, .lines = 2, .longest = 1 },
	{ "dot LF at start", IN(".\n"), OUT("\r\n"), .bare_lf = 1,
	    .lines = 1 },
	{ "dot CR x at start", IN(".\rx"), OUT("\r\nx"), .bare_cr = 1,
	    .lines = 1, .longest = 1 },
	{ "dot CR dot CRLF at start", IN(".\r.\r\n"), OUT("\r\n.\r\n"),
	    .bare_cr = 1, .lines = 2, .longest = 1 },
	{ "CRLF CR dot CRLF", IN("a\r\n\r.\r\n"), OUT("a\r\n\r\n.\r\n"),
	    .bare_cr = 1, .lines = 3, .longest = 1 },
	{ "classic smuggle normalized",
	    IN("x\r\n\n.\n\r\nMAIL FROM:<a>\r\n.\r\n"), .end = 26,
	    OUT("x\r\n\r\n.\r\n\r\nMAIL FROM:<a>\r\n"), .bare_lf = 2,
	    .lines = 5, .longest = 13 },

	/* Bare CR and LF, normalized. */
	{ "CR CR LF", IN("a\r\r\n.\r\n"), .end = 7, OUT("a\r\n\r\n"),
	    .bare_cr = 1, .lines = 2, .longest = 1 },
	{ "bare CR mid line", IN("a\rb\r\n.\r\n"), .end = 8,
	    OUT("a\r\nb\r\n"), .bare_cr = 1, .lines = 2, .longest = 1 },
	{ "LF CRLF", IN("a\n\r\n.\r\n"), .end = 7, OUT("a\r\n\r\n"),
	    .bare_lf = 1, .lines = 2, .longest = 1 },
	{ "CR CR CR LF", IN("\r\r\r\n.\r\n"), .end = 7, OUT("\r\n\r\n\r\n"),
	    .bare_cr = 2, .lines = 3 },
	{ "bare CR then dot line stays", IN("a\r..\r\n.\r\n"), .end = 9,
	    OUT("a\r\n..\r\n"), .bare_cr = 1, .lines = 2, .longest = 2 },

	/* Reject mode: the error, and the real end still found. */
	{ "reject clean", REJ, IN("a\r\n.\r\n"), .end = 6, OUT("a\r\n"),
	    .lines = 1, .longest = 1 },
	{ "reject bare LF", REJ, IN("a\nb\r\n.\r\n"), .end = 8, OUT("a"),
	    .err = SMTP_DATA_E_BARE, .first_err = SMTP_DATA_E_BARE,
	    .bare_lf = 1, .lines = 2, .size = 6, .longest = 1 },
	{ "reject smuggle", REJ,
	    IN("a\r\n.\nMAIL FROM:<evil>\r\n.\r\n"), .end = 26, OUT("a\r\n"),
	    .err = SMTP_DATA_E_BARE, .first_err = SMTP_DATA_E_BARE,
	    .bare_lf = 1, .lines = 3, .size = 23, .longest = 16 },
	{ "reject CR and LF", REJ, IN("a\rb\nc\r\n.\r\n"), .end = 10,
	    OUT("a"), .err = SMTP_DATA_E_BARE, .first_err = SMTP_DATA_E_BARE,
	    .bare_lf = 1, .bare_cr = 1, .lines = 3, .size = 9, .longest = 1 },
	{ "reject dot CR CRLF", REJ, IN("\r\n.\r\r\n.\r\n"), .end = 9,
	    OUT("\r\n"), .err = SMTP_DATA_E_BARE,
	    .first_err = SMTP_DATA_E_BARE, .bare_cr = 1, .lines = 3,
	    .size = 6 },
	{ "reject then NUL", REJ, IN("a\nb\0\r\n.\r\n"), .end = 9, OUT("a"),
	    .err = SMTP_DATA_E_BARE | SMTP_DATA_E_NUL,
	    .first_err = SMTP_DATA_E_BARE, .bare_lf = 1, .lines = 2,
	    .size = 7, .longest = 2 },
	{ "reject pending bare CR at end", REJ, IN("a\r"), OUT("a"),
	    .longest = 1 },

	/* NUL. */
	{ "NUL", IN("a\0b\r\n.\r\n"), .end = 8, OUT("a"),
	    .err = SMTP_DATA_E_NUL, .first_err = SMTP_DATA_E_NUL,
	    .lines = 1, .size = 5, .longest = 3 },
	{ "NUL first", IN("\0\r\n.\r\n"), .end = 6, OUT(""),
	    .err = SMTP_DATA_E_NUL, .first_err = SMTP_DATA_E_NUL,
	    .lines = 1, .size = 3, .longest = 1 },
	{ "NUL after stuffing dot", IN(".\0\r\n.\r\n"), .end = 7, OUT(""),
	    .err = SMTP_DATA_E_NUL, .first_err = SMTP_DATA_E_NUL,
	    .lines = 1, .size = 3, .longest = 1 },

	/* line_max. */
	{ "line at max", IN("abc\r\n.\r\n"), .line_max = 3, .end = 8,
	    OUT("abc\r\n"), .lines = 1, .longest = 3 },
	{ "line over max", IN("abcd\r\n.\r\n"), .line_max = 3, .end = 9,
	    OUT("abc"), .err = SMTP_DATA_E_LINE,
	    .first_err = SMTP_DATA_E_LINE, .lines = 1, .size = 6,
	    .longest = 4 },
	{ "stuffing dot not counted", IN("..bc\r\n.\r\n"), .line_max = 3,
	    .end = 9, OUT(".bc\r\n"), .lines = 1, .longest = 3 },
	{ "long line in the middle", IN("ab\r\nabcd\r\nabc\r\n.\r\n"),
	    .line_max = 3, .end = 18, OUT("ab\r\nabc"),
	    .err = SMTP_DATA_E_LINE, .first_err = SMTP_DATA_E_LINE,
	    .lines = 3, .size = 15, .longest = 4 },
	{ "long line without CRLF yet", IN("abcdef"), .line_max = 3,
	    OUT("abc"), .err = SMTP_DATA_E_LINE,
	    .first_err = SMTP_DATA_E_LINE, .size = 6, .longest = 6 },
	{ "bare LF splits long line", IN("abc\ndef\r\n.\r\n"), .line_max = 3,
	    .end = 12, OUT("abc\r\ndef\r\n"), .bare_lf = 1, .lines = 2,
	    .longest = 3 },

	/* size_max. */
	{ "size at max", IN("abc\r\n.\r\n"), .size_max = 5, .end = 8,
	    OUT("abc\r\n"), .lines = 1, .longest = 3 },
	{ "size over by the CRLF", IN("abc\r\n.\r\n"), .size_max = 4,
	    .end = 8, OUT("abc"), .err = SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_SIZE, .lines = 1, .size = 5,
	    .longest = 3 },
	{ "size over in text", IN("abc\r\n.\r\n"), .size_max = 2, .end = 8,
	    OUT("ab"), .err = SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_SIZE, .lines = 1, .size = 5,
	    .longest = 3 },
	{ "size over by a bare LF", IN("ab\nc\r\n.\r\n"), .size_max = 3,
	    .end = 9, OUT("ab"), .err = SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_SIZE, .bare_lf = 1, .lines = 2,
	    .size = 7, .longest = 2 },
	{ "size counted on after error", IN("abcdef\r\nghij\r\n.\r\n"),
	    .size_max = 1, .end = 17, OUT("a"), .err = SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_SIZE, .lines = 2, .size = 14,
	    .longest = 6 },

	/* Both limits: the earlier byte decides which error is first. */
	{ "line and size on one byte", IN("abc\r\n.\r\n"), .line_max = 2,
	    .size_max = 2, .end = 8, OUT("ab"),
	    .err = SMTP_DATA_E_LINE | SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_LINE, .lines = 1, .size = 5,
	    .longest = 3 },
	{ "size before line, other line", IN("ab\r\ncdef\r\n.\r\n"),
	    .line_max = 3, .size_max = 4, .end = 13, OUT("ab\r\n"),
	    .err = SMTP_DATA_E_LINE | SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_SIZE, .lines = 2, .size = 10,
	    .longest = 4 },
	{ "size before line, same run", IN("abcdefg\r\n.\r\n"),
	    .line_max = 5, .size_max = 3, .end = 12, OUT("abc"),
	    .err = SMTP_DATA_E_LINE | SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_SIZE, .lines = 1, .size = 9,
	    .longest = 7 },
	{ "line before size, same run", IN("abcdefg\r\n.\r\n"),
	    .line_max = 2, .size_max = 4, .end = 12, OUT("ab"),
	    .err = SMTP_DATA_E_LINE | SMTP_DATA_E_SIZE,
	    .first_err = SMTP_DATA_E_LINE, .lines = 1, .size = 9,
	    .longest = 7 },
	{ "NUL before line", IN("ab\0d\r\n.\r\n"), .line_max = 3, .end = 9,
	    OUT("ab"), .err = SMTP_DATA_E_NUL | SMTP_DATA_E_LINE,
	    .first_err = SMTP_DATA_E_NUL, .lines = 1, .size = 6,
	    .longest = 4 },
	{ "NUL as the byte over the line max", IN("abc\0\r\n.\r\n"),
	    .line_max = 3, .end = 9, OUT("abc"),
	    .err = SMTP_DATA_E_NUL | SMTP_DATA_E_LINE,
	    .first_err = SMTP_DATA_E_NUL, .lines = 1, .size = 6,
	    .longest = 4 },
};

/* What one run of the reader produced. */
struct result {
	struct smtp_data	 d;
	int			 ended;
	size_t			 consumed;
	char			*out;
	size_t			 outlen;
	size_t			 outcap;
	size_t			 calls;
};

static void
collect(void *arg, const char *p, size_t n)
{
	struct result *r = arg;

	/* No emit after an error, and never an empty one. */
	assert_int_equal(r->d.err, 0);
	assert_true(n > 0);
	if (r->outlen + n > r->outcap) {
		r->outcap = (r->outlen + n) * 2;
		r->out = xrealloc(r->out, r->outcap);
	}
	memcpy(r->out + r->outlen, p, n);
	r->outlen += n;
	r->calls++;
}

/*
 * Feed in[0..n) cut at the ascending offsets cuts[0..ncuts).  After END the
 * reader must keep saying END and take nothing more.
 */
static void
run(struct result *r, const struct vec *v, const char *in, size_t n,
    const size_t *cuts, size_t ncuts)
{
	size_t	 from, to, k, c;
	enum smtp_data_status st;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&r->d, v->line_max ? v->line_max : LMAX_DEF,
	    v->size_max ? v->size_max : SMAX_DEF, v->bare);
	from = 0;
	for (k = 0; k <= ncuts; k++) {
		to = k < ncuts ? cuts[k] : n;
		st = smtp_data_feed(&r->d, in + from, to - from, &c, collect, r);
		if (st == SMTP_DATA_END) {
			assert_true(c <= to - from);
			r->ended = 1;
			r->consumed = from + c;
			st = smtp_data_feed(&r->d, in + to, n - to, &c, collect,
			    r);
			assert_int_equal(st, SMTP_DATA_END);
			assert_int_equal(c, 0);
			return;
		}
		assert_int_equal(st, SMTP_DATA_MORE);
		assert_int_equal(c, to - from);
		from = to;
	}
	r->consumed = n;
}

static void
check(const struct vec *v, struct result *r, const char *how)
{
	unsigned long long size;

	size = v->size != 0 || v->err != 0 ? v->size : v->outlen;
	if (r->ended != (v->end != 0) ||
	    r->consumed != (v->end ? v->end : v->inlen) ||
	    r->outlen != v->outlen ||
	    (v->outlen > 0 && memcmp(r->out, v->out, v->outlen) != 0) ||
	    r->d.err != v->err || r->d.first_err != v->first_err ||
	    r->d.bare_lf != v->bare_lf || r->d.bare_cr != v->bare_cr ||
	    r->d.lines != v->lines || r->d.size != size ||
	    r->d.longest != v->longest) {
		print_error("vector \"%s\" fed %s: ended %d consumed %zu "
		    "outlen %zu err %#x first %#x lf %lu cr %lu lines %llu "
		    "size %llu longest %zu\n", v->name, how, r->ended,
		    r->consumed, r->outlen, r->d.err, r->d.first_err,
		    r->d.bare_lf, r->d.bare_cr, r->d.lines, r->d.size,
		    r->d.longest);
		fail();
	}
}

static void
check_all_splits(const struct vec *v)
{
	struct result	 r;
	size_t		*cuts, i, j, n = v->inlen;
	char		 how[64];

	run(&r, v, v->in, n, NULL, 0);
	check(v, &r, "whole");
	free(r.out);

	cuts = xcalloc(n + 1, sizeof(*cuts));
	for (i = 0; i < n; i++)
		cuts[i] = i + 1;
	run(&r, v, v->in, n, cuts, n > 0 ? n - 1 : 0);
	check(v, &r, "byte by byte");
	free(r.out);

	for (i = 0; i <= n; i++) {
		cuts[0] = i;
		run(&r, v, v->in, n, cuts, 1);
		snprintf(how, sizeof(how), "cut at %zu", i);
		check(v, &r, how);
		free(r.out);
	}
	if (n <= 40) {
		for (i = 0; i <= n; i++)
			for (j = i; j <= n; j++) {
				cuts[0] = i;
				cuts[1] = j;
				run(&r, v, v->in, n, cuts, 2);
				snprintf(how, sizeof(how), "cut at %zu, %zu",
				    i, j);
				check(v, &r, how);
				free(r.out);
			}
	}
	free(cuts);
}

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
		check_all_splits(&vecs[i]);
}

/* The one-emit-per-feed batching, including a CRLF that is in the input. */
static void
test_one_emit_when_clean(void **state)
{
	static const struct vec v = { "clean", IN("ab\r\ncd\r\n\r\n.\r\n"),
	    .end = 13, OUT("ab\r\ncd\r\n\r\n"), .lines = 3, .longest = 2 };
	struct result r;

	(void)state;
	run(&r, &v, v.in, v.inlen, NULL, 0);
	check(&v, &r, "whole");
	assert_int_equal(r.calls, 1);
	free(r.out);
}

/* A line of exactly line_max bytes passes; one more byte is E_LINE. */
static void
test_line_max_boundary(void **state)
{
	struct vec	 v;
	char		*in;
	size_t		 len;

	(void)state;
	for (len = 998; len <= 1001; len++) {
		in = xmalloc(len + 5);
		memset(in, 'x', len);
		memcpy(in + len, "\r\n.\r\n", 5);
		memset(&v, 0, sizeof(v));
		v.name = "boundary";
		v.in = in;
		v.inlen = len + 5;
		v.line_max = 1000;
		v.end = len + 5;
		v.lines = 1;
		v.longest = len;
		if (len <= 1000) {
			v.out = in;
			v.outlen = len + 2;
		} else {
			v.out = in;
			v.outlen = 1000;
			v.err = v.first_err = SMTP_DATA_E_LINE;
			v.size = len + 2;
		}
		check_all_splits(&v);
		free(in);
	}
}

/* Limits of zero: only the empty line fits in line_max 0. */
static void
test_zero_limits(void **state)
{
	struct smtp_data d;
	struct result	 r;
	size_t		 c;

	(void)state;
	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 0, 100, SMTP_DATA_BARE_NORMALIZE);
	assert_int_equal(smtp_data_feed(&r.d, "\r\n.\r\n", 5, &c, collect,
	    &r), SMTP_DATA_END);
	assert_int_equal(r.d.err, 0);
	assert_int_equal(r.outlen, 2);
	free(r.out);

	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 0, 100, SMTP_DATA_BARE_NORMALIZE);
	assert_int_equal(smtp_data_feed(&r.d, "a\r\n.\r\n", 6, &c, collect,
	    &r), SMTP_DATA_END);
	assert_int_equal(r.d.err, SMTP_DATA_E_LINE);
	assert_int_equal(r.outlen, 0);
	free(r.out);

	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 10, 0, SMTP_DATA_BARE_NORMALIZE);
	assert_int_equal(smtp_data_feed(&r.d, ".\r\n", 3, &c, collect, &r),
	    SMTP_DATA_END);
	assert_int_equal(r.d.err, 0);
	assert_int_equal(c, 3);
	free(r.out);

	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 10, 0, SMTP_DATA_BARE_NORMALIZE);
	assert_int_equal(smtp_data_feed(&r.d, "\r\n.\r\n", 5, &c, collect,
	    &r), SMTP_DATA_END);
	assert_int_equal(r.d.err, SMTP_DATA_E_SIZE);
	assert_int_equal(r.d.first_err, SMTP_DATA_E_SIZE);
	assert_int_equal(r.d.size, 2);
	assert_int_equal(r.outlen, 0);
	free(r.out);

	/* init resets everything, so a struct can be reused. */
	memset(&d, 0xa5, sizeof(d));
	smtp_data_init(&d, 5, 6, SMTP_DATA_BARE_REJECT);
	assert_int_equal(d.line_max, 5);
	assert_int_equal(d.size_max, 6);
	assert_int_equal(d.bare, SMTP_DATA_BARE_REJECT);
	assert_int_equal(d.err, 0);
	assert_int_equal(d.first_err, 0);
	assert_int_equal(d.size, 0);
	assert_int_equal(d.lines, 0);
	assert_int_equal(d.bare_lf, 0);
	assert_int_equal(d.bare_cr, 0);
	assert_int_equal(d.longest, 0);
}

/* An empty feed changes nothing, in any state. */
static void
test_empty_feeds(void **state)
{
	struct result	 r;
	size_t		 c;
	const char	*in = "a\r\n.\r\n";
	size_t		 i;

	(void)state;
	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 100, 100, SMTP_DATA_BARE_NORMALIZE);
	for (i = 0; i < 6; i++) {
		c = 99;
		assert_int_equal(smtp_data_feed(&r.d, in + i, 0, &c, collect,
		    &r), SMTP_DATA_MORE);
		assert_int_equal(c, 0);
		assert_int_equal(smtp_data_feed(&r.d, in + i, 1, &c, collect,
		    &r), i == 5 ? SMTP_DATA_END : SMTP_DATA_MORE);
		assert_int_equal(c, 1);
	}
	assert_int_equal(r.outlen, 3);
	assert_memory_equal(r.out, "a\r\n", 3);
	free(r.out);
}

/* smtp_data_stuff */

struct sbuf_out {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
append(void *arg, const char *p, size_t n)
{
	struct sbuf_out *o = arg;

	assert_true(n > 0);
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 16;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void
stuff_check(const char *in, const char *want)
{
	struct sbuf_out	 o;
	size_t		 n = strlen(in), i, j;
	int		 bol;

	/* Whole, then every two- and three-way split. */
	for (i = 0; i <= n; i++)
		for (j = i; j <= n; j++) {
			memset(&o, 0, sizeof(o));
			bol = 1;
			smtp_data_stuff(in, i, &bol, append, &o);
			smtp_data_stuff(in + i, j - i, &bol, append, &o);
			smtp_data_stuff(in + j, n - j, &bol, append, &o);
			if (o.len != strlen(want) ||
			    (o.len > 0 && memcmp(o.p, want, o.len) != 0)) {
				print_error("stuff \"%s\" cut %zu %zu\n", in, i,
				    j);
				fail();
			}
			assert_int_equal(bol, n == 0 || in[n - 1] == '\n');
			free(o.p);
		}
}

static void
test_stuff(void **state)
{
	struct sbuf_out	 o;
	int		 bol;

	(void)state;
	stuff_check("", "");
	stuff_check("a\r\n", "a\r\n");
	stuff_check(".\r\n", "..\r\n");
	stuff_check("..\r\n", "...\r\n");
	stuff_check("a\r\n.b\r\n..\r\n", "a\r\n..b\r\n...\r\n");
	stuff_check("a.b\r\n", "a.b\r\n");
	stuff_check(".", "..");
	stuff_check("\r\n.\r\n.", "\r\n..\r\n..");
	stuff_check("x\r\n.\r\n", "x\r\n..\r\n");

	/* A call that ends mid-line leaves bol clear. */
	memset(&o, 0, sizeof(o));
	bol = 1;
	smtp_data_stuff("a", 1, &bol, append, &o);
	assert_int_equal(bol, 0);
	smtp_data_stuff(".b\r\n", 4, &bol, append, &o);
	assert_int_equal(bol, 1);
	assert_int_equal(o.len, 5);
	assert_memory_equal(o.p, "a.b\r\n", 5);
	free(o.p);

	/* An empty call keeps bol as it was. */
	bol = 0;
	smtp_data_stuff("", 0, &bol, append, NULL);
	assert_int_equal(bol, 0);
	bol = 1;
	smtp_data_stuff("", 0, &bol, append, NULL);
	assert_int_equal(bol, 1);
}

/* Round trip: stuff(M) + ".\r\n" through the reader gives M back. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
roundtrip(const char *m, size_t mlen)
{
	struct sbuf_out	 wire;
	struct result	 r;
	size_t		 off, len, c;
	int		 bol;
	enum smtp_data_status st;

	memset(&wire, 0, sizeof(wire));
	bol = 1;
	for (off = 0; off < mlen; off += len) {
		len = 1 + rng() % 7;
		if (len > mlen - off)
			len = mlen - off;
		smtp_data_stuff(m + off, len, &bol, append, &wire);
	}
	append(&wire, ".\r\nNOOP\r\n", 9);

	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 1000, SMAX_DEF, SMTP_DATA_BARE_REJECT);
	st = SMTP_DATA_MORE;
	for (off = 0; off < wire.len; off += len) {
		len = 1 + rng() % 9;
		if (len > wire.len - off)
			len = wire.len - off;
		st = smtp_data_feed(&r.d, wire.p + off, len, &c, collect, &r);
		if (st == SMTP_DATA_END) {
			off += c;
			break;
		}
		assert_int_equal(c, len);
	}
	assert_int_equal(st, SMTP_DATA_END);
	assert_int_equal(off, wire.len - 6);
	assert_int_equal(r.d.err, 0);
	assert_int_equal(r.outlen, mlen);
	if (mlen > 0)
		assert_memory_equal(r.out, m, mlen);
	assert_int_equal(r.d.size, mlen);
	assert_int_equal(r.d.bare_lf + r.d.bare_cr, 0);
	free(r.out);
	free(wire.p);
}

static void
test_roundtrip(void **state)
{
	static const char *const fixed[] = {
		"", "\r\n", ".\r\n", "..\r\n", ".\r\n.\r\n", "\r\n.\r\n",
		"a\r\n.\r\nb\r\n", "...\r\n\r\n.\r\n", ". .\r\n",
	};
	static const char alphabet[] = "..a .x\t";
	char		 m[600];
	size_t		 i, k, lines, len, mlen;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		roundtrip(fixed[i], strlen(fixed[i]));
	for (i = 0; i < 3000; i++) {
		mlen = 0;
		lines = rng() % 12;
		while (lines-- > 0) {
			len = rng() % 8;
			for (k = 0; k < len; k++)
				m[mlen++] = alphabet[rng() %
				    (sizeof(alphabet) - 1)];
			m[mlen++] = '\r';
			m[mlen++] = '\n';
		}
		roundtrip(m, mlen);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_one_emit_when_clean),
		cmocka_unit_test(test_line_max_boundary),
		cmocka_unit_test(test_zero_limits),
		cmocka_unit_test(test_empty_feeds),
		cmocka_unit_test(test_stuff),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
