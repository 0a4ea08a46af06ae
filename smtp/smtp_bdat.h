/*
 * smtp_bdat.h: the BDAT chunk reader (RFC 3030 CHUNKING).  Pure: the
 * "BDAT n [LAST]" argument in, chunk bytes in, canonical message bytes out.
 *
 * A BDAT chunk is exactly n octets after the command line: never lines,
 * never dot-unstuffed, never a command, whatever they contain.  The reader
 * counts them off; the ones of an accepted chunk go through a raw-mode DATA
 * reader (smtp_data_raw()) so the assembled message is canonical CRLF text
 * under the same bare_newline policy, line and size limits as DATA, and
 * the ones of a refused chunk are consumed and dropped, so that the
 * client's stream stays in step (RFC 3030 2: the chunk follows the command
 * whatever the reply).
 *
 * The result does not depend on how the input is cut into calls, nor on
 * how the message was cut into chunks: a CR at the end of one chunk and an
 * LF at the start of the next are one CRLF.
 */
#ifndef MOAT_SMTP_BDAT_H
#define MOAT_SMTP_BDAT_H

#include <stddef.h>

#include "smtp_data.h"

/* Digits in a chunk size: 20 hold any 64-bit count (RFC 3030 2 is 1*DIGIT). */
#define SMTP_BDAT_DIGITS_MAX	20

enum smtp_bdat_arg {
	SMTP_BDAT_ARG_OK,	/* count and last are set */
	SMTP_BDAT_ARG_BAD,	/* count is set, the rest is not "LAST":
				 * refuse, but skip count bytes */
	SMTP_BDAT_ARG_NOCOUNT,	/* no usable count: the stream cannot be
				 * followed; the client must be closed */
};

/*
 * smtp_bdat_parse: the argument of BDAT (the text after "BDAT "):
 * chunk-size [SP "LAST"] (RFC 3030 2; LAST case-insensitive, trailing
 * spaces allowed as for every command).  *count and *last are set for
 * ARG_OK and ARG_BAD.
 */
enum smtp_bdat_arg smtp_bdat_parse(const char *arg,
	    unsigned long long *count, int *last);

enum smtp_bdat_status {
	SMTP_BDAT_MORE,		/* all input consumed; chunk not complete */
	SMTP_BDAT_CHUNK_END,	/* the chunk's last byte was consumed */
};

struct smtp_bdat {
	struct smtp_data	 data;	/* the message so far (raw mode) */
	unsigned long long	 remain;	/* bytes of this chunk to come */
	unsigned long long	 taken;	/* chunk bytes put into the message */
	unsigned long long	 dropped;	/* bytes of refused chunks */
	int			 keep;	/* this chunk is part of the message */
};

/*
 * smtp_bdat_init: one message; the limits and the bare-line policy are
 * those of smtp_data_init().  b is the caller's; nothing is allocated.
 */
void	smtp_bdat_init(struct smtp_bdat *b, size_t line_max,
	    unsigned long long size_max, enum smtp_data_bare bare);

/*
 * smtp_bdat_chunk: the next n bytes of input are a chunk; keep says whether
 * they belong to the message (1) or are to be dropped (0, a refused BDAT).
 * A dropping chunk may be started on a reader that was never initialised
 * for a message only if it was zeroed or init'ed once.
 */
void	smtp_bdat_chunk(struct smtp_bdat *b, unsigned long long n, int keep);

/*
 * smtp_bdat_feed: consume at most the rest of the chunk from in[0..n).
 * Message bytes go to emit(arg, p, len) as in smtp_data_feed().  Returns
 * SMTP_BDAT_CHUNK_END when the chunk is complete (*consumed tells how many
 * bytes of in it took; the rest is the next command), else SMTP_BDAT_MORE
 * with *consumed == n.  A chunk of 0 bytes is complete at once.
 */
enum smtp_bdat_status smtp_bdat_feed(struct smtp_bdat *b, const char *in,
	    size_t n, size_t *consumed, smtp_data_emit_fn *emit, void *arg);

/*
 * smtp_bdat_finish: after the LAST chunk: close the message (see
 * smtp_data_finish()).  The results (err, size, bare counts) are in
 * b->data afterwards.
 */
void	smtp_bdat_finish(struct smtp_bdat *b, smtp_data_emit_fn *emit,
	    void *arg);

#endif
