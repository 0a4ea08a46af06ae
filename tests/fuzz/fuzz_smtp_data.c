/*
 * fuzz_smtp_data.c: libFuzzer target for the DATA reader.
 *
 * Input: three setting bytes (bare mode, line_max, size_max from small
 * tables, so the limits are hit often) and then the DATA stream.  The stream
 * is fed whole, in two halves, cut at a position the input chooses, and
 * (when short) byte by byte; all must agree exactly, and agree with a
 * whole-buffer reference reader written with lookahead instead of state.
 * A clean result must be canonical and must survive stuff + ".\r\n" + read
 * unchanged.  Any difference is an abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t line_maxes[] = {
	0, 1, 2, 3, 4, 5, 8, 16, 78, 998, 1000, (size_t)-1,
};
static const unsigned long long size_maxes[] = {
	0, 1, 2, 3, 5, 8, 13, 64, 100, 1000, 65536, ~0ULL,
};

struct run {
	struct smtp_data d;
	int		 ended;
	size_t		 consumed;
	unsigned char	*out;
	size_t		 outlen;
	size_t		 outcap;
};

static void
put(struct run *r, const void *p, size_t n)
{
	if (r->outlen + n > r->outcap) {
		r->outcap = (r->outlen + n) * 2 + 64;
		r->out = xrealloc(r->out, r->outcap);
	}
	memcpy(r->out + r->outlen, p, n);
	r->outlen += n;
}

static void
collect(void *arg, const char *p, size_t n)
{
	struct run *r = arg;

	if (r->d.err != 0 || n == 0)
		abort();
	put(r, p, n);
}

static void
feed(struct run *r, const char *in, size_t n, size_t line_max,
    unsigned long long size_max, enum smtp_data_bare bare, size_t cut1,
    size_t cut2, int bytewise)
{
	size_t	from, to, c;
	enum smtp_data_status st;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&r->d, line_max, size_max, bare);
	from = 0;
	while (from < n || (from == 0 && n == 0)) {
		if (bytewise)
			to = from < n ? from + 1 : n;
		else if (from < cut1)
			to = cut1;
		else if (from < cut2)
			to = cut2;
		else
			to = n;
		st = smtp_data_feed(&r->d, in + from, to - from, &c, collect,
		    r);
		if (st == SMTP_DATA_END) {
			if (c > to - from)
				abort();
			r->ended = 1;
			r->consumed = from + c;
			if (smtp_data_feed(&r->d, in, n, &c, collect, r) !=
			    SMTP_DATA_END || c != 0)
				abort();
			return;
		}
		if (st != SMTP_DATA_MORE || c != to - from)
			abort();
		from = to;
		if (n == 0)
			break;
	}
	r->consumed = n;
}

/* The reference: whole buffer, lookahead, one byte at a time. */
static void
ref_err(struct run *r, unsigned bit)
{
	if (r->d.err == 0)
		r->d.first_err = bit;
	r->d.err |= bit;
}

static void
ref_text(struct run *r, unsigned char c)
{
	if (c == '\0')
		ref_err(r, SMTP_DATA_E_NUL);
	r->d.linelen++;
	r->d.size++;
	if (r->d.linelen > r->d.longest)
		r->d.longest = r->d.linelen;
	if (r->d.linelen > r->d.line_max)
		ref_err(r, SMTP_DATA_E_LINE);
	if (r->d.size > r->d.size_max)
		ref_err(r, SMTP_DATA_E_SIZE);
	if (r->d.err == 0)
		put(r, &c, 1);
}

static void
ref_break(struct run *r, int bare)
{
	if (bare && r->d.bare == SMTP_DATA_BARE_REJECT)
		ref_err(r, SMTP_DATA_E_BARE);
	r->d.size += 2;
	r->d.lines++;
	r->d.linelen = 0;
	if (r->d.size > r->d.size_max)
		ref_err(r, SMTP_DATA_E_SIZE);
	if (r->d.err == 0)
		put(r, "\r\n", 2);
}

static void
ref(struct run *r, const unsigned char *in, size_t n, size_t line_max,
    unsigned long long size_max, enum smtp_data_bare bare)
{
	size_t	i;
	int	real_bol;

	memset(r, 0, sizeof(*r));
	r->d.line_max = line_max;
	r->d.size_max = size_max;
	r->d.bare = bare;
	i = 0;
	real_bol = 1;
	for (;;) {
		if (real_bol && i < n && in[i] == '.') {
			if (i + 1 >= n ||
			    (in[i + 1] == '\r' && i + 2 >= n))
				break;
			if (in[i + 1] == '\r' && in[i + 2] == '\n') {
				r->ended = 1;
				r->consumed = i + 3;
				return;
			}
			i++;
		}
		while (i < n && in[i] != '\r' && in[i] != '\n')
			ref_text(r, in[i++]);
		if (i >= n)
			break;
		if (in[i] == '\n') {
			r->d.bare_lf++;
			ref_break(r, 1);
			real_bol = 0;
			i++;
			continue;
		}
		if (i + 1 >= n)
			break;
		if (in[i + 1] == '\n') {
			ref_break(r, 0);
			real_bol = 1;
			i += 2;
			continue;
		}
		r->d.bare_cr++;
		ref_break(r, 1);
		real_bol = 0;
		i++;
	}
	r->consumed = n;
}

static void
same(const struct run *a, const struct run *b)
{
	if (a->ended != b->ended || a->consumed != b->consumed ||
	    a->outlen != b->outlen ||
	    (a->outlen > 0 && memcmp(a->out, b->out, a->outlen) != 0) ||
	    a->d.err != b->d.err || a->d.first_err != b->d.first_err ||
	    a->d.size != b->d.size || a->d.lines != b->d.lines ||
	    a->d.bare_lf != b->d.bare_lf || a->d.bare_cr != b->d.bare_cr ||
	    a->d.longest != b->d.longest)
		abort();
}

static void
stuff_emit(void *arg, const char *p, size_t n)
{
	put(arg, p, n);
}

/* A clean result is canonical and reads back unchanged. */
static void
check_clean(const struct run *r, size_t line_max)
{
	struct run	 wire, back;
	size_t		 i, len;
	int		 bol;

	if (r->d.size != r->outlen)
		abort();
	len = 0;
	for (i = 0; i < r->outlen; i++) {
		if (r->out[i] == '\0')
			abort();
		if (r->out[i] == '\r') {
			if (i + 1 >= r->outlen || r->out[i + 1] != '\n')
				abort();
			continue;
		}
		if (r->out[i] == '\n') {
			if (i == 0 || r->out[i - 1] != '\r')
				abort();
			len = 0;
			continue;
		}
		if (++len > line_max)
			abort();
	}
	if (!r->ended)
		return;
	if (r->outlen > 0 && (r->outlen < 2 ||
	    memcmp(r->out + r->outlen - 2, "\r\n", 2) != 0))
		abort();

	memset(&wire, 0, sizeof(wire));
	bol = 1;
	smtp_data_stuff((const char *)r->out, r->outlen, &bol, stuff_emit,
	    &wire);
	if (!bol)
		abort();
	put(&wire, ".\r\n", 3);
	feed(&back, (const char *)wire.out, wire.outlen, (size_t)-1, ~0ULL,
	    SMTP_DATA_BARE_REJECT, wire.outlen / 2, wire.outlen, 0);
	if (!back.ended || back.consumed != wire.outlen || back.d.err != 0 ||
	    back.outlen != r->outlen ||
	    (r->outlen > 0 && memcmp(back.out, r->out, r->outlen) != 0))
		abort();
	free(wire.out);
	free(back.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run		 whole, part, expect;
	const char		*in;
	size_t			 n, line_max, cut;
	unsigned long long	 size_max;
	enum smtp_data_bare	 bare;

	if (size < 3)
		return 0;
	bare = data[0] & 1 ? SMTP_DATA_BARE_REJECT : SMTP_DATA_BARE_NORMALIZE;
	line_max = line_maxes[data[1] % (sizeof(line_maxes) /
	    sizeof(line_maxes[0]))];
	size_max = size_maxes[data[2] % (sizeof(size_maxes) /
	    sizeof(size_maxes[0]))];
	in = (const char *)data + 3;
	n = size - 3;

	feed(&whole, in, n, line_max, size_max, bare, n, n, 0);
	ref(&expect, (const unsigned char *)in, n, line_max, size_max, bare);
	same(&whole, &expect);
	free(expect.out);

	feed(&part, in, n, line_max, size_max, bare, n / 2, n, 0);
	same(&whole, &part);
	free(part.out);

	cut = n > 0 ? (size_t)(data[0] >> 1) * 7 % (n + 1) : 0;
	feed(&part, in, n, line_max, size_max, bare, cut, cut + (n - cut) / 3,
	    0);
	same(&whole, &part);
	free(part.out);

	if (n <= 4096) {
		feed(&part, in, n, line_max, size_max, bare, 0, 0, 1);
		same(&whole, &part);
		free(part.out);
	}

	if (whole.d.err == 0)
		check_clean(&whole, line_max);
	free(whole.out);
	return 0;
}
