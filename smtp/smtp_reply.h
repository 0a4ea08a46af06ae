/*
 * smtp_reply.h: SMTP replies, both directions.  Pure.
 *
 * - smtp_reply_add(): format our own reply (single or multi-line) into a
 *   buffer, with the enhanced status code (RFC 3463, RFC 2034) on each line.
 * - struct smtp_reply: read a (possibly multi-line) reply from the backend,
 *   line by line, keeping the exact text so it can be passed on faithfully.
 * - smtp_ehlo_parse(): the capabilities in a backend EHLO reply.
 */
#ifndef MOAT_SMTP_REPLY_H
#define MOAT_SMTP_REPLY_H

#include <stddef.h>

#include "sbuf.h"

/*
 * smtp_reply_add: append to out a reply "code enh text" with CRLF.
 * text may contain '\n' to make a multi-line reply: every line but the last
 * gets "code-", the last "code "; enh (e.g. "5.5.2", may be NULL for none)
 * is repeated on every line.  Control characters in text are replaced by
 * '?' so that nothing the client said can break the reply's framing.
 */
void	smtp_reply_add(struct sbuf *out, int code, const char *enh,
	    const char *text);

/* Bound on one backend reply: more lines or bytes is a protocol error. */
#define SMTP_REPLY_MAX_BYTES	65536
#define SMTP_REPLY_MAX_LINES	256

enum smtp_reply_status {
	SMTP_REPLY_MORE,	/* a continuation line was read; feed more */
	SMTP_REPLY_DONE,	/* the last line was read */
	SMTP_REPLY_BAD,		/* not a reply line, codes differ, or too big */
};

struct smtp_reply {
	int		code;		/* 3 digits, 200..599; 0 before any */
	char		enh[16];	/* enhanced code of the first line, "" if none */
	int		nlines;
	struct sbuf	text;		/* the whole reply, each line + CRLF */
};

void	smtp_reply_init(struct smtp_reply *);
void	smtp_reply_free(struct smtp_reply *);	/* frees text; reusable */
void	smtp_reply_reset(struct smtp_reply *);	/* for the next reply */

/*
 * smtp_reply_feed: one line (without CRLF) of a backend reply.
 * A reply line is 3 digits (first 2..5) followed by '-' (more follow), ' ',
 * or end of line (RFC 5321 4.2); all lines of one reply share the code.
 * The line is stored in r->text with CRLF appended (a bare-LF backend is
 * thus normalised).  Returns DONE at the last line.  A NUL or CR inside the
 * line is BAD; BAD leaves r unchanged.  Reset r after DONE or BAD.
 */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *line,
	    size_t len);

/*
 * smtp_reply_text: the text after "NNN " and the enhanced code of reply
 * line number i (0-based), copied into buf (NUL-terminated, truncated to
 * bufsz).  For reusing a backend's message under another code.
 */
void	smtp_reply_line_text(const struct smtp_reply *r, int i, char *buf,
	    size_t bufsz);

/* Capabilities seen in an EHLO reply (RFC 5321 4.1.1.1 ehlo-line). */
#define SMTP_EXT_PIPELINING	0x0001
#define SMTP_EXT_SIZE		0x0002
#define SMTP_EXT_8BITMIME	0x0004
#define SMTP_EXT_ENHANCED	0x0008	/* ENHANCEDSTATUSCODES */
#define SMTP_EXT_SMTPUTF8	0x0010
#define SMTP_EXT_STARTTLS	0x0020
#define SMTP_EXT_AUTH		0x0040
#define SMTP_EXT_XCLIENT	0x0080
#define SMTP_EXT_XFORWARD	0x0100
#define SMTP_EXT_CHUNKING	0x0200
#define SMTP_EXT_DSN		0x0400

struct smtp_ehlo {
	unsigned	exts;		/* SMTP_EXT_* */
	unsigned long long size;	/* SIZE value; 0 = none or unlimited */
	char		auth[256];	/* AUTH mechanisms, space-separated,
					   upper-cased, deduplicated */
	char		xclient[256];	/* XCLIENT attribute names */
	char		xforward[256];	/* XFORWARD attribute names */
};

/* Parse a complete 250 EHLO reply (r->code must be 250). */
void	smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out);

/*
 * smtp_xtext_encode: RFC 3461 4 xtext (used by XCLIENT/XFORWARD values):
 * '+', '=', and bytes outside 33..126 become "+HH".  Appends to out.
 */
void	smtp_xtext_encode(struct sbuf *out, const char *s);

#endif
