/*
 * smtp_data.c: the DATA reader and the dot-stuffer.  Pure: no fds, no logs,
 * no allocation.
 *
 * The reader is a byte-level state machine over the client's DATA stream
 * (RFC 5321 4.1.1.4, 4.5.2).  It hands the canonical, dot-unstuffed message
 * to a callback and stops right after the one sequence that ends the data:
 * <CRLF>.<CRLF> where the first CRLF is a real CR LF pair (or the start of
 * the data).  That rule, and never passing a bare CR or LF on raw, is what
 * defeats SMTP smuggling (CVE-2023-51764 and kin): a receiver behind us that
 * would take "\n.\n" or "\r.\r\n" as the end only ever sees CRLF lines.
 *
 * It does not: buffer the message (the caller does, through emit), look at
 * headers or MIME, choose replies, or stuff dots (smtp_data_stuff does that,
 * for the way out).
 *
 * Invariants:
 *  - Every byte is consumed when it is seen.  A byte whose meaning depends on
 *    the next one (a CR, a dot at the start of a line, the CR after such a
 *    dot) is remembered in d->st, never looked ahead at, so the output, the
 *    counters and *consumed are the same however the stream is split.
 *  - The output is a sequence of pieces: text bytes and CRLF line breaks.
 *    Each piece is checked against line_max and size_max before it is
 *    emitted; once any error bit is set nothing more is emitted, but the
 *    counters keep describing the canonical message, so they too do not
 *    depend on how the stream was split.
 *  - With no error, the output is canonical: only CRLF line ends, no NUL, no
 *    line longer than line_max, and it ends in CRLF unless it is empty.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

/*
 * Reader states, kept in struct smtp_data.st.  A lexer, not a protocol side:
 * it changes state once per byte and has nothing to trace, so it does not go
 * through an enter_state function.
 */
enum data_state {
	DS_BOL = 0,	/* start of data or after a real CRLF: a dot here is
			 * stuffing or the start of the end marker */
	DS_DOT,		/* DS_BOL then "." (dropped: it was stuffing, or it
			 * is the end marker's dot) */
	DS_DOT_CR,	/* DS_DOT then CR: an LF now ends the data */
	DS_TEXT,	/* inside a line, or at the start of an ordinary line
			 * (one after a bare CR or LF) */
	DS_CR,		/* DS_TEXT then CR: an LF now makes a real CRLF */
	DS_END,		/* the end of data has been consumed */
};

/*
 * Pending output: a slice of the current input that is emitted in one call
 * when it can no longer grow, so a clean message costs one emit per feed.
 */
struct data_out {
	const char		*in;
	size_t			 off;
	size_t			 len;
	smtp_data_emit_fn	*emit;
	void			*arg;
};

static void
out_flush(struct data_out *o)
{
	if (o->len > 0)
		o->emit(o->arg, o->in + o->off, o->len);
	o->len = 0;
}

static void
out_slice(struct data_out *o, size_t off, size_t len)
{
	if (len == 0)
		return;
	if (o->len > 0 && o->off + o->len == off) {
		o->len += len;
		return;
	}
	out_flush(o);
	o->off = off;
	o->len = len;
}

static void
out_crlf(struct data_out *o)
{
	out_flush(o);
	o->emit(o->arg, "\r\n", 2);
}

/*
 * Set an error bit.  What was accepted before it is emitted now, so that no
 * emit call ever sees an error set.
 */
static void
data_err(struct smtp_data *d, struct data_out *o, unsigned bit)
{
	if (d->err == 0) {
		out_flush(o);
		d->first_err = bit;
	}
	d->err |= bit;
}

/*
 * Text bytes in[off..off+len) of the current line.  Behaves exactly as if
 * the bytes came one at a time (line check before size check on the same
 * byte), so that a run cut at any point gives the same result.
 */
static void
data_text(struct smtp_data *d, struct data_out *o, size_t off, size_t len)
{
	size_t			 lroom, ok;
	unsigned long long	 sroom;
	int			 lerr, serr;

	lroom = d->linelen >= d->line_max ? 0 : d->line_max - d->linelen;
	sroom = d->size >= d->size_max ? 0 : d->size_max - d->size;
	lerr = len > lroom;
	serr = len > sroom;
	ok = lerr ? lroom : len;
	if (serr && ok > sroom)
		ok = (size_t)sroom;

	if (d->err == 0)
		out_slice(o, off, ok);
	/* The error that hits the earlier byte is the first one. */
	if (lerr && serr && sroom < lroom) {
		data_err(d, o, SMTP_DATA_E_SIZE);
		data_err(d, o, SMTP_DATA_E_LINE);
	} else {
		if (lerr)
			data_err(d, o, SMTP_DATA_E_LINE);
		if (serr)
			data_err(d, o, SMTP_DATA_E_SIZE);
	}

	d->linelen += len;
	d->size += len;
	if (d->linelen > d->longest)
		d->longest = d->linelen;
}

/*
 * A line break in the output.  at is the input offset of the LF of a real
 * CRLF, or (size_t)-1 for a break that stands for a bare CR or LF.  A real
 * CRLF whose CR is in this same input is emitted from the input itself.
 */
static void
data_break(struct smtp_data *d, struct data_out *o, size_t at)
{
	d->size += 2;
	d->lines++;
	d->linelen = 0;
	if (d->size > d->size_max)
		data_err(d, o, SMTP_DATA_E_SIZE);
	if (d->err != 0)
		return;
	if (at != (size_t)-1 && at > 0)
		out_slice(o, at - 1, 2);
	else
		out_crlf(o);
}

static void
data_bare(struct smtp_data *d, struct data_out *o, int lf)
{
	if (lf)
		d->bare_lf++;
	else
		d->bare_cr++;
	if (d->bare == SMTP_DATA_BARE_REJECT)
		data_err(d, o, SMTP_DATA_E_BARE);
	data_break(d, o, (size_t)-1);
}

/*
 * smtp_data_init: set up d for one message.  line_max is the longest line
 * content (without CRLF) accepted; size_max the largest message in output
 * bytes (CRLFs included, the final ".\r\n" not).  A limit of 0 allows no
 * content at all; pass SIZE_MAX / ULLONG_MAX for "no limit".  d is the
 * caller's; nothing is allocated, so there is no smtp_data_free().
 */
void
smtp_data_init(struct smtp_data *d, size_t line_max,
    unsigned long long size_max, enum smtp_data_bare bare)
{
	memset(d, 0, sizeof(*d));
	d->line_max = line_max;
	d->size_max = size_max;
	d->bare = bare;
	d->st = DS_BOL;
}

/*
 * smtp_data_feed: see smtp_data.h.  in[0..n) is borrowed for the call; emit
 * gets pointers into in or into static storage, valid only during the emit
 * call.  After SMTP_DATA_END every further call returns SMTP_DATA_END with
 * *consumed == 0.  RFC 5321 4.1.1.4 (end of data), 4.5.2 (transparency),
 * 2.3.8 (CR and LF only as CRLF).
 */
enum smtp_data_status
smtp_data_feed(struct smtp_data *d, const char *in, size_t n,
    size_t *consumed, smtp_data_emit_fn *emit, void *arg)
{
	struct data_out	 o;
	size_t		 i, j;
	unsigned char	 c;

	if (d->st == DS_END) {
		*consumed = 0;
		return SMTP_DATA_END;
	}
	o.in = in;
	o.off = 0;
	o.len = 0;
	o.emit = emit;
	o.arg = arg;

	i = 0;
	while (i < n) {
		c = (unsigned char)in[i];
		switch (d->st) {
		case DS_BOL:
			/* BDAT content has no stuffing and no end marker. */
			if (c == '.' && !d->raw) {
				d->st = DS_DOT;
				i++;
			} else
				d->st = DS_TEXT;
			break;
		case DS_DOT:
			if (c == '\r') {
				d->st = DS_DOT_CR;
				i++;
			} else {
				/*
				 * The dot was stuffing and is dropped, even
				 * when the line goes on with a bare CR or LF
				 * or with something other than a dot: RFC
				 * 5321 4.5.2 removes the first dot of every
				 * line that has one.
				 */
				d->st = DS_TEXT;
			}
			break;
		case DS_DOT_CR:
			if (c == '\n') {
				i++;
				d->st = DS_END;
				out_flush(&o);
				*consumed = i;
				return SMTP_DATA_END;
			}
			/* "\r\n.\r" + not LF: never the end (smuggling). */
			data_bare(d, &o, 0);
			d->st = DS_TEXT;
			break;
		case DS_CR:
			if (c == '\n') {
				data_break(d, &o, i);
				d->st = DS_BOL;
				i++;
				break;
			}
			/*
			 * A bare CR ends an ordinary line; c starts the next
			 * ordinary line (and may itself be a CR: CR CR LF is
			 * a bare CR, then a CRLF).
			 */
			data_bare(d, &o, 0);
			d->st = DS_TEXT;
			break;
		case DS_TEXT:
			if (c == '\r') {
				d->st = DS_CR;
				i++;
			} else if (c == '\n') {
				/* The line after a bare LF was never stuffed. */
				data_bare(d, &o, 1);
				i++;
			} else if (c == '\0') {
				data_err(d, &o, SMTP_DATA_E_NUL);
				data_text(d, &o, i, 1);
				i++;
			} else {
				for (j = i + 1; j < n; j++)
					if (in[j] == '\r' || in[j] == '\n' ||
					    in[j] == '\0')
						break;
				data_text(d, &o, i, j - i);
				i = j;
			}
			break;
		default:
			/* DS_END returned above; anything else is memory
			 * corruption, and guessing would be smuggling. */
			abort();
		}
	}
	out_flush(&o);
	*consumed = n;
	return SMTP_DATA_MORE;
}

/* smtp_data_raw: see smtp_data.h. */
void
smtp_data_raw(struct smtp_data *d)
{
	d->raw = 1;
}

/*
 * smtp_data_finish: see smtp_data.h.  Meant for raw mode; on a DATA
 * reader it is the same as a client that stopped mid-message: what is
 * pending is closed as a line.  The emit pointers are static storage.
 */
void
smtp_data_finish(struct smtp_data *d, smtp_data_emit_fn *emit, void *arg)
{
	struct data_out	 o;

	if (d->st == DS_END)
		return;
	o.in = NULL;
	o.off = 0;
	o.len = 0;
	o.emit = emit;
	o.arg = arg;
	if (d->st == DS_CR || d->st == DS_DOT_CR)
		data_bare(d, &o, 0);
	else if (d->linelen > 0)
		data_break(d, &o, (size_t)-1);
	out_flush(&o);
	d->st = DS_END;
}

/*
 * smtp_data_stuff: see smtp_data.h.  in is borrowed; emit gets pointers into
 * in or static storage.  A line starts after every LF; the input is meant
 * to be canonical CRLF text, so a CR alone does not start one.  RFC 5321
 * 4.5.2.
 */
void
smtp_data_stuff(const char *in, size_t n, int *bol,
    smtp_data_emit_fn *emit, void *arg)
{
	const char	*nl;
	size_t		 i, start;

	i = 0;
	start = 0;
	while (i < n) {
		if (*bol && in[i] == '.') {
			if (i > start)
				emit(arg, in + start, i - start);
			emit(arg, ".", 1);
			/* The line's own dot goes out with what follows. */
			start = i;
		}
		nl = memchr(in + i, '\n', n - i);
		if (nl == NULL) {
			*bol = 0;
			break;
		}
		i = (size_t)(nl - in) + 1;
		*bol = 1;
	}
	if (n > start)
		emit(arg, in + start, n - start);
}
