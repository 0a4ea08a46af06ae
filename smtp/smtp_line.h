/*
 * smtp_line.h: find one SMTP line in a byte buffer.  Pure (no fds, no logs).
 *
 * The caller owns the bytes; the result only describes them.  A line ends at
 * LF.  CRLF is the only proper end; a bare LF ending and a bare CR inside the
 * line are reported as flags so the session can apply the bare_newline policy
 * (RFC 5321 2.3.8).  The limit is enforced before the end of line has arrived,
 * so a client cannot stream megabytes without a newline.
 */
#ifndef MOAT_SMTP_LINE_H
#define MOAT_SMTP_LINE_H

#include <stddef.h>

enum smtp_line_status {
	SMTP_LINE_OK,		/* a whole line: see struct smtp_line */
	SMTP_LINE_PARTIAL,	/* no LF yet, and still within the limit */
	SMTP_LINE_TOO_LONG,	/* content longer than limit, ended or not */
};

#define SMTP_LINE_BARE_LF	0x01	/* ended in LF not preceded by CR */
#define SMTP_LINE_BARE_CR	0x02	/* a CR not followed by LF inside */
#define SMTP_LINE_NUL		0x04	/* a NUL byte inside the content */

struct smtp_line {
	size_t		len;		/* content bytes, without CRLF/LF */
	size_t		consumed;	/* len + 2 (CRLF) or len + 1 (LF) */
	unsigned	flags;		/* SMTP_LINE_* */
};

/*
 * smtp_line_scan: look for the first line in buf[0..n).
 * limit is the largest content length (without the line end) accepted.
 * Returns SMTP_LINE_OK and fills *out; SMTP_LINE_PARTIAL when no LF is
 * present and n <= limit, or n == limit + 1 and the last byte is CR (it may
 * still be followed by LF);
 * SMTP_LINE_TOO_LONG when the content is, or must become, longer than limit.
 * On TOO_LONG with an LF present, out->consumed tells how much to drop to
 * skip that line; without an LF, out->consumed is 0.
 */
enum smtp_line_status smtp_line_scan(const char *buf, size_t n, size_t limit,
    struct smtp_line *out);

#endif
