/*
 * fuzz_smtp_bdat.c: libFuzzer target for the BDAT chunk reader.
 *
 * Input: three setting bytes (bare mode, line_max, size_max from small
 * tables) and then a BDAT session as a client would send it: each chunk is
 * a length byte (its top bit: a refused chunk, dropped) and that many
 * bytes; what is left after the last whole chunk is "the next command".
 * The stream is fed whole, cut where the input says, and byte by byte;
 * all must agree exactly, consume exactly the chunk bytes, leave the rest
 * alone, and agree with a reference that canonicalises the concatenation
 * of the kept chunks with lookahead.  Also each chunk's argument line is
 * run through smtp_bdat_parse() and must read back its own count.  Any
 * difference is an abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t line_maxes[] = { 0, 1, 2, 5, 16, 998, (size_t)-1 };
static const unsigned long long size_maxes[] = {
	0, 1, 2, 3, 8, 64, 1000, ~0ULL,
};

#define CHUNKS_MAX	256

struct out {
	unsigned char	*p;
	size_t		 len, cap;
	const struct smtp_data *d;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void
collect(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	if (n == 0 || (o->d != NULL && o->d->err != 0))
		abort();
	put(o, p, n);
}

struct chunk {
	size_t	off, len;
	int	keep;
};

/*
 * Feed the stream; step 0 whole, else pieces of step bytes; cut splits
 * the first call.  Returns where the reader stopped.
 */
static size_t
feed(struct smtp_bdat *b, struct out *o, const char *s, size_t slen,
    const struct chunk *ch, size_t nch, size_t line_max,
    unsigned long long size_max, enum smtp_data_bare bare, size_t step,
    size_t cut)
{
	size_t pos = 0, end, c, i, before;

	memset(o, 0, sizeof(*o));
	smtp_bdat_init(b, line_max, size_max, bare);
	o->d = &b->data;
	for (i = 0; i < nch; i++) {
		if (pos != ch[i].off)
			abort();
		smtp_bdat_chunk(b, ch[i].len, ch[i].keep);
		for (;;) {
			end = step ? (pos + step < slen ? pos + step : slen) :
			    (pos < cut ? cut : slen);
			before = pos;
			if (smtp_bdat_feed(b, s + pos, end - pos, &c, collect,
			    o) == SMTP_BDAT_CHUNK_END) {
				pos += c;
				break;
			}
			if (c != end - before || end == slen)
				abort();
			pos += c;
		}
	}
	smtp_bdat_finish(b, collect, o);
	return pos;
}

static void
ref_err(struct smtp_data *d, unsigned bit)
{
	if (d->err == 0)
		d->first_err = bit;
	d->err |= bit;
}

static void
ref_text(struct smtp_data *d, struct out *o, unsigned char c)
{
	if (c == '\0')
		ref_err(d, SMTP_DATA_E_NUL);
	d->linelen++;
	d->size++;
	if (d->linelen > d->longest)
		d->longest = d->linelen;
	if (d->linelen > d->line_max)
		ref_err(d, SMTP_DATA_E_LINE);
	if (d->size > d->size_max)
		ref_err(d, SMTP_DATA_E_SIZE);
	if (d->err == 0)
		put(o, &c, 1);
}

static void
ref_break(struct smtp_data *d, struct out *o, int bare)
{
	if (bare && d->bare == SMTP_DATA_BARE_REJECT)
		ref_err(d, SMTP_DATA_E_BARE);
	d->size += 2;
	d->lines++;
	d->linelen = 0;
	if (d->size > d->size_max)
		ref_err(d, SMTP_DATA_E_SIZE);
	if (d->err == 0)
		put(o, "\r\n", 2);
}

/* The kept bytes, canonicalised with lookahead. */
static void
ref(struct smtp_data *d, struct out *o, const unsigned char *m, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (m[i] == '\r' && i + 1 < n && m[i + 1] == '\n') {
			ref_break(d, o, 0);
			i += 2;
		} else if (m[i] == '\r') {
			d->bare_cr++;
			ref_break(d, o, 1);
			i++;
		} else if (m[i] == '\n') {
			d->bare_lf++;
			ref_break(d, o, 1);
			i++;
		} else
			ref_text(d, o, m[i++]);
	}
	if (d->linelen > 0)
		ref_break(d, o, 0);
}

static void
same(const struct smtp_bdat *a, const struct out *ao,
    const struct smtp_data *b, const struct out *bo)
{
	const struct smtp_data *d = &a->data;

	if (ao->len != bo->len ||
	    (ao->len > 0 && memcmp(ao->p, bo->p, ao->len) != 0) ||
	    d->err != b->err || d->first_err != b->first_err ||
	    d->size != b->size || d->lines != b->lines ||
	    d->bare_lf != b->bare_lf || d->bare_cr != b->bare_cr ||
	    d->longest != b->longest)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk		 ch[CHUNKS_MAX];
	struct smtp_bdat	 b, b2;
	struct smtp_data	 rd;
	struct out		 o, o2, ro;
	unsigned char		*kept;
	const char		*s;
	char			 arg[64];
	size_t			 slen, nch = 0, i, pos, klen = 0, line_max, cut;
	size_t			 endpos;
	unsigned long long	 size_max, cnt;
	enum smtp_data_bare	 bare;
	int			 last;

	if (size < 3)
		return 0;
	bare = data[0] & 1 ? SMTP_DATA_BARE_REJECT : SMTP_DATA_BARE_NORMALIZE;
	line_max = line_maxes[data[1] % (sizeof(line_maxes) /
	    sizeof(line_maxes[0]))];
	size_max = size_maxes[data[2] % (sizeof(size_maxes) /
	    sizeof(size_maxes[0]))];

	/* Split off the chunks: the length bytes are not part of the stream. */
	s = xmalloc(size);
	slen = 0;
	kept = xmalloc(size);
	i = 3;
	while (i < size && nch < CHUNKS_MAX) {
		size_t len = data[i] & 0x7f;

		if (i + 1 + len > size)
			break;
		ch[nch].off = slen;
		ch[nch].len = len;
		ch[nch].keep = !(data[i] & 0x80);
		memcpy((char *)s + slen, data + i + 1, len);
		if (ch[nch].keep) {
			memcpy(kept + klen, data + i + 1, len);
			klen += len;
		}
		slen += len;
		i += 1 + len;
		nch++;

		snprintf(arg, sizeof(arg), "%zu%s", len, len & 1 ? " LAST" :
		    "");
		if (smtp_bdat_parse(arg, &cnt, &last) != SMTP_BDAT_ARG_OK ||
		    cnt != len || last != (int)(len & 1))
			abort();
	}
	endpos = slen;
	/* The rest is the next command: it must be left alone. */
	memcpy((char *)s + slen, data + i, size - i);
	slen += size - i;

	pos = feed(&b, &o, s, slen, ch, nch, line_max, size_max, bare, 0,
	    slen);
	if (pos != endpos)
		abort();
	memset(&rd, 0, sizeof(rd));
	rd.line_max = line_max;
	rd.size_max = size_max;
	rd.bare = bare;
	memset(&ro, 0, sizeof(ro));
	ref(&rd, &ro, kept, klen);
	same(&b, &o, &rd, &ro);
	if (b.taken != klen || b.taken + b.dropped != endpos)
		abort();

	cut = slen > 0 ? (size_t)data[0] * 13 % (slen + 1) : 0;
	if (feed(&b2, &o2, s, slen, ch, nch, line_max, size_max, bare, 0,
	    cut) != endpos)
		abort();
	same(&b2, &o2, &rd, &ro);
	free(o2.p);
	if (slen <= 4096) {
		if (feed(&b2, &o2, s, slen, ch, nch, line_max, size_max, bare,
		    1, 0) != endpos)
			abort();
		same(&b2, &o2, &rd, &ro);
		free(o2.p);
	}
	free(o.p);
	free(ro.p);
	free((char *)s);
	free(kept);
	return 0;
}
