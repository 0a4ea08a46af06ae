/*
 * test_smtp_bdat.c: the BDAT argument parser and chunk reader.
 *
 * Each message is sent as a list of chunks, with the next command glued
 * behind the last one; the stream is fed whole, byte by byte and split at
 * every position, and every way must give the same message, the same
 * consumed counts and leave the next command untouched: what a chunk
 * holds (a dot line, "\r\n.\r\n", a MAIL command, bare CR and LF) is
 * payload and nothing else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"
#include "xmalloc.h"

static void
test_parse(void **state)
{
	unsigned long long n;
	int last;

	(void)state;
	assert_int_equal(smtp_bdat_parse("0 LAST", &n, &last),
	    SMTP_BDAT_ARG_OK);
	assert_true(n == 0 && last == 1);
	assert_int_equal(smtp_bdat_parse("1234", &n, &last), SMTP_BDAT_ARG_OK);
	assert_true(n == 1234 && last == 0);
	assert_int_equal(smtp_bdat_parse("7 last  ", &n, &last),
	    SMTP_BDAT_ARG_OK);
	assert_true(n == 7 && last == 1);
	assert_int_equal(smtp_bdat_parse("007", &n, &last), SMTP_BDAT_ARG_OK);
	assert_true(n == 7);
	assert_int_equal(smtp_bdat_parse("18446744073709551615", &n, &last),
	    SMTP_BDAT_ARG_OK);
	assert_true(n == ~0ULL);
	/* The count is known: refuse, but skip the bytes. */
	assert_int_equal(smtp_bdat_parse("5 FIRST", &n, &last),
	    SMTP_BDAT_ARG_BAD);
	assert_true(n == 5);
	assert_int_equal(smtp_bdat_parse("5 LAST x", &n, &last),
	    SMTP_BDAT_ARG_BAD);
	assert_int_equal(smtp_bdat_parse("5  LAST", &n, &last),
	    SMTP_BDAT_ARG_BAD);
	/* No count: the stream cannot be followed. */
	assert_int_equal(smtp_bdat_parse("", &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
	assert_int_equal(smtp_bdat_parse("LAST", &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
	assert_int_equal(smtp_bdat_parse("-1", &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
	assert_int_equal(smtp_bdat_parse("12x LAST", &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
	assert_int_equal(smtp_bdat_parse("18446744073709551616", &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
	assert_int_equal(smtp_bdat_parse("000000000000000000001", &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
	assert_int_equal(smtp_bdat_parse(NULL, &n, &last),
	    SMTP_BDAT_ARG_NOCOUNT);
}

struct sink {
	char	*p;
	size_t	 len;
};

static void
collect(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	assert_true(n > 0);
	s->p = xrealloc(s->p, s->len + n + 1);
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

#define CHUNKS_MAX	8

struct vec {
	const char		*name;
	const char		*chunks[CHUNKS_MAX];	/* NULL ends */
	int			 keep[CHUNKS_MAX];	/* 0 keep, 1 drop */
	enum smtp_data_bare	 bare;
	unsigned long long	 size_max;		/* 0: none */
	const char		*out;
	unsigned		 err;
	unsigned long		 bare_lf, bare_cr;
	size_t			 len0;		/* chunks[0]'s length if it
						 * holds a NUL */
};

static const struct vec vecs[] = {
	{ "empty (BDAT 0 LAST)", { "" }, .out = "" },
	{ "one line", { "a\r\n" }, .out = "a\r\n" },
	{ "no final CRLF gets one", { "a\r\nb" }, .out = "a\r\nb\r\n" },
	{ "dot lines are text", { ".\r\n..x\r\n" }, .out = ".\r\n..x\r\n" },
	{ "the DATA end marker is payload", { "a\r\n.\r\nMAIL FROM:<x@y>\r\n" },
	    .out = "a\r\n.\r\nMAIL FROM:<x@y>\r\n" },
	{ "CRLF split over chunks", { "a\r", "\nb\r\n" }, .out = "a\r\nb\r\n" },
	{ "one-byte chunks", { "h", "i", "\r", "\n", ".", "\r", "\n" },
	    .out = "hi\r\n.\r\n" },
	{ "bare LF normalised", { "a\nb\r\n" }, .out = "a\r\nb\r\n",
	    .bare_lf = 1 },
	{ "bare CR normalised", { "a\rb\r\n" }, .out = "a\r\nb\r\n",
	    .bare_cr = 1 },
	{ "trailing bare CR", { "a\r" }, .out = "a\r\n", .bare_cr = 1 },
	{ "bare LF refused", { "a\nb\r\n" }, .bare = SMTP_DATA_BARE_REJECT,
	    .out = "a", .err = SMTP_DATA_E_BARE, .bare_lf = 1 },
	{ "NUL refused", { "a\0b" }, .len0 = 3, .out = "a",
	    .err = SMTP_DATA_E_NUL },
	{ "dropped chunk emits nothing", { "MAIL FROM:<a@b>\r\n", "ok\r\n" },
	    .keep = { 1, 0 }, .out = "ok\r\n" },
	{ "size limit", { "abcd\r\n", "efgh\r\n" }, .size_max = 8,
	    .out = "abcd\r\nef", .err = SMTP_DATA_E_SIZE },
};

/*
 * Feed the stream "chunk0 chunk1 ... NEXT" in pieces of at most step bytes
 * (0: whole), or split once at cut when cut is not (size_t)-1.
 */
static void
run(const struct vec *v, size_t step, size_t cut)
{
	static const char next[] = "QUIT\r\n";
	struct smtp_bdat b;
	struct sink out = { NULL, 0 };
	char stream[512];
	size_t lens[CHUNKS_MAX], slen = 0, pos, end, c, nch = 0, i, before;
	enum smtp_bdat_status st;

	for (i = 0; i < CHUNKS_MAX && v->chunks[i] != NULL; i++) {
		lens[i] = i == 0 && v->len0 ? v->len0 : strlen(v->chunks[i]);
		memcpy(stream + slen, v->chunks[i], lens[i]);
		slen += lens[i];
		nch++;
	}
	memcpy(stream + slen, next, sizeof(next) - 1);
	slen += sizeof(next) - 1;

	smtp_bdat_init(&b, 1000, v->size_max ? v->size_max : ~0ULL, v->bare);
	pos = 0;
	for (i = 0; i < nch; i++) {
		smtp_bdat_chunk(&b, lens[i], !v->keep[i]);
		for (;;) {
			end = slen;
			if (step)
				end = pos + step < slen ? pos + step : slen;
			else if (cut != (size_t)-1 && pos < cut)
				end = cut;
			before = pos;
			st = smtp_bdat_feed(&b, stream + pos, end - pos, &c,
			    collect, &out);
			assert_true(c <= end - before);
			pos += c;
			if (st == SMTP_BDAT_CHUNK_END)
				break;
			assert_int_equal(pos, end);
		}
	}
	smtp_bdat_finish(&b, collect, &out);
	/* The next command is untouched. */
	assert_int_equal(slen - pos, sizeof(next) - 1);
	assert_memory_equal(stream + pos, next, sizeof(next) - 1);
	assert_int_equal(out.len, strlen(v->out));
	if (out.len)
		assert_memory_equal(out.p, v->out, out.len);
	assert_int_equal(b.data.err, v->err);
	assert_int_equal(b.data.bare_lf, v->bare_lf);
	assert_int_equal(b.data.bare_cr, v->bare_cr);
	if (v->err == 0)
		assert_true(b.data.size == out.len);
	free(out.p);
}

static void
test_vectors(void **state)
{
	size_t i, cut;

	(void)state;
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		print_message("%s\n", vecs[i].name);
		run(&vecs[i], 0, (size_t)-1);
		run(&vecs[i], 1, (size_t)-1);
		run(&vecs[i], 2, (size_t)-1);
		for (cut = 0; cut < 40; cut++)
			run(&vecs[i], 0, cut);
	}
}

/* A zero-byte chunk is complete without input. */
static void
test_zero_chunk(void **state)
{
	struct smtp_bdat b;
	struct sink out = { NULL, 0 };
	size_t c = 99;

	(void)state;
	smtp_bdat_init(&b, 1000, ~0ULL, SMTP_DATA_BARE_NORMALIZE);
	smtp_bdat_chunk(&b, 0, 1);
	assert_int_equal(smtp_bdat_feed(&b, "RSET\r\n", 6, &c, collect, &out),
	    SMTP_BDAT_CHUNK_END);
	assert_int_equal(c, 0);
	assert_int_equal(smtp_bdat_feed(&b, NULL, 0, &c, collect, &out),
	    SMTP_BDAT_CHUNK_END);
	smtp_bdat_finish(&b, collect, &out);
	assert_int_equal(out.len, 0);
	assert_true(b.taken == 0 && b.dropped == 0);
}

/* A huge dropped chunk is counted off without any output. */
static void
test_drop_counts(void **state)
{
	struct smtp_bdat b;
	struct sink out = { NULL, 0 };
	char buf[4096];
	size_t c, i;

	(void)state;
	memset(buf, '\n', sizeof(buf));
	smtp_bdat_init(&b, 10, 100, SMTP_DATA_BARE_REJECT);
	smtp_bdat_chunk(&b, 10 * sizeof(buf) + 3, 0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(smtp_bdat_feed(&b, buf, sizeof(buf), &c,
		    collect, &out), SMTP_BDAT_MORE);
		assert_int_equal(c, sizeof(buf));
	}
	assert_int_equal(smtp_bdat_feed(&b, buf, sizeof(buf), &c, collect,
	    &out), SMTP_BDAT_CHUNK_END);
	assert_int_equal(c, 3);
	assert_true(b.dropped == 10 * sizeof(buf) + 3);
	assert_int_equal(b.data.err, 0);
	assert_int_equal(out.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_zero_chunk),
		cmocka_unit_test(test_drop_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
