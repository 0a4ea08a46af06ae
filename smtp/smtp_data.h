/*
 * smtp_data.h: the DATA reader.  Pure: bytes in, canonical message bytes out.
 *
 * It turns the client's DATA stream into the message as it was meant
 * (dot-unstuffed, every line ending in CRLF) and finds the end of data.
 * RFC 5321 4.1.1.4 and 4.5.2; the SMTP smuggling lessons of 2023:
 *
 *  - Only <CRLF>.<CRLF> ends the data, where the first CRLF is a real CRLF
 *    (or the start of the data).  "\n.\n", "\r.\r\n", "\n.\r\n", "\r\n.\n",
 *    "\r\n.\r" and the like never end it.
 *  - A bare LF or a bare CR is never passed on raw.  With
 *    SMTP_DATA_BARE_NORMALIZE it becomes a CRLF line break in the output;
 *    the line after it is an ordinary line (its leading dot, if any, is
 *    kept, not unstuffed, because only a line after a real CRLF can have
 *    been dot-stuffed).  With SMTP_DATA_BARE_REJECT the message is marked
 *    SMTP_DATA_E_BARE.
 *  - A line starting with "." after a real CRLF loses that one dot (RFC
 *    5321 4.5.2).  The output is the unstuffed message; whoever sends it on
 *    must stuff it again.
 *
 * Errors never stop the reader: after an error it keeps consuming (and
 * emitting nothing more) until the real end of data, so that the session can
 * give its reply in step with the client (RFC 5321 4.1.1.4: the reply comes
 * after the end of data).
 *
 * Limits are checked per output piece (a text byte, or a CRLF): a line whose
 * content passes line_max, or a piece that takes the output past size_max,
 * sets the error before it is emitted, so the output is cut there.  With no
 * error the output is canonical (CRLF only, no NUL, lines within line_max)
 * and ends in CRLF unless it is empty.  The counters (size, lines, bare_*,
 * longest) always describe the canonical message, errors or not; bytes
 * whose meaning waits on the next byte (a trailing CR, a dot at the start of
 * a line) are counted once that byte arrives.
 */
#ifndef MOAT_SMTP_DATA_H
#define MOAT_SMTP_DATA_H

#include <stddef.h>

enum smtp_data_bare {
	SMTP_DATA_BARE_NORMALIZE,
	SMTP_DATA_BARE_REJECT,
};

/* Error bits in struct smtp_data.err; the first one seen wins the reply. */
#define SMTP_DATA_E_SIZE	0x01	/* more than size_max output bytes */
#define SMTP_DATA_E_LINE	0x02	/* a line longer than line_max */
#define SMTP_DATA_E_BARE	0x04	/* bare CR/LF in reject mode */
#define SMTP_DATA_E_NUL		0x08	/* a NUL byte */

enum smtp_data_status {
	SMTP_DATA_MORE,		/* all input consumed; end not yet seen */
	SMTP_DATA_END,		/* end of data seen; see *consumed */
};

typedef void smtp_data_emit_fn(void *arg, const char *p, size_t n);

struct smtp_data {
	/* settings, from smtp_data_init() */
	size_t		 line_max;	/* longest line content accepted */
	unsigned long long size_max;	/* largest message (output bytes) */
	enum smtp_data_bare bare;
	int		 raw;		/* BDAT content: see smtp_data_raw() */

	/* results, read them after SMTP_DATA_END */
	unsigned	 err;		/* SMTP_DATA_E_* bits */
	unsigned	 first_err;	/* the first SMTP_DATA_E_* bit set */
	unsigned long long size;	/* output bytes (counted past size_max too) */
	unsigned long long lines;	/* output lines */
	unsigned long	 bare_lf;	/* bare LFs seen */
	unsigned long	 bare_cr;	/* bare CRs seen */
	size_t		 longest;	/* longest line content seen */

	/* private state */
	int		 st;
	size_t		 linelen;
};

/*
 * smtp_data_init: reset d for one message.  line_max: longest line content
 * (without CRLF); size_max: largest output (CRLFs counted, the final ".\r\n"
 * not).  A limit of 0 allows nothing; pass SIZE_MAX / ULLONG_MAX for none.
 */
void	smtp_data_init(struct smtp_data *d, size_t line_max,
	    unsigned long long size_max, enum smtp_data_bare bare);

/*
 * smtp_data_feed: consume input in[0..n).  Message bytes are handed to
 * emit(arg, p, len) in order (possibly in many small pieces, len > 0, the
 * pointer valid only during that call); no emit call happens once an error
 * bit is set.  Returns SMTP_DATA_END when the end of data has been consumed,
 * with *consumed telling how many bytes of in were used (the rest belongs to
 * the next command: PIPELINING); otherwise SMTP_DATA_MORE with *consumed ==
 * n.  The input may be split anywhere: the result does not depend on how the
 * stream is cut into calls.  After SMTP_DATA_END, further calls return
 * SMTP_DATA_END with *consumed == 0 until smtp_data_init().
 */
enum smtp_data_status smtp_data_feed(struct smtp_data *d, const char *in,
	    size_t n, size_t *consumed, smtp_data_emit_fn *emit, void *arg);

/*
 * smtp_data_raw: after smtp_data_init(), read d as BDAT content (RFC 3030)
 * instead of a DATA stream: no dot is unstuffed, nothing ends the data (the
 * caller counts the bytes), and the end comes from smtp_data_finish().
 * Line ends are made canonical as for DATA: a bare CR or LF becomes CRLF
 * (or sets SMTP_DATA_E_BARE in reject mode); limits, NUL and counters are
 * as for DATA.
 */
void	smtp_data_raw(struct smtp_data *d);

/*
 * smtp_data_finish: the end of a raw (BDAT) message.  A CR still waiting
 * for its LF is a bare CR; a last line without a line end gets CRLF (RFC
 * 5321 2.3.8: a message is lines, each ending in CRLF), counted like any
 * line break.  Afterwards d is at its end: smtp_data_feed() returns
 * SMTP_DATA_END and consumes nothing.
 */
void	smtp_data_finish(struct smtp_data *d, smtp_data_emit_fn *emit,
	    void *arg);

/*
 * smtp_data_stuff: the reverse, for sending a canonical (CRLF) message on:
 * append in[0..n) to emit with a dot doubled at the start of every line.
 * *bol carries "at beginning of line" across calls (start with 1).  The
 * caller sends ".\r\n" after the last chunk; if the message did not end in
 * CRLF the caller must first send "\r\n" (smtp_data_feed output always
 * ends in CRLF).
 */
void	smtp_data_stuff(const char *in, size_t n, int *bol,
	    smtp_data_emit_fn *emit, void *arg);

#endif
