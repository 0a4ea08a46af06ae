/*
 * smtp_line.c: find the first line in a byte buffer (see smtp_line.h).
 *
 * Purpose: split client and backend input into lines without copying, and
 * tell the caller about every irregular line end so the bare_newline policy
 * (RFC 5321 2.3.8, 4.1.1.4) can be applied by the session.
 *
 * Deliberately not done here: no buffering, no normalisation, no copying.
 * The caller owns the bytes and decides what a flagged line means.
 *
 * Invariants: on SMTP_LINE_OK, len <= limit, consumed is len + 1 or len + 2
 * and consumed <= n; the result depends only on buf[0..n) and limit, so
 * calling again after more bytes arrived is always safe.
 */
#include <string.h>

#include "smtp_line.h"

/*
 * smtp_line_scan: see smtp_line.h.  out must not be NULL; it is always
 * written.  The search for LF runs over the whole buffer so that an overlong
 * line that did end can be skipped in one step (consumed), which lets the
 * session answer "line too long" and resynchronise instead of closing.
 * A CR at buf[n - 1] with n == limit + 1 is PARTIAL: the next byte may be
 * the LF that makes the content exactly limit bytes long.
 */
enum smtp_line_status
smtp_line_scan(const char *buf, size_t n, size_t limit, struct smtp_line *out)
{
	const char *lf;
	size_t end;

	out->len = 0;
	out->consumed = 0;
	out->flags = 0;

	lf = n > 0 ? memchr(buf, '\n', n) : NULL;
	if (lf == NULL) {
		if (n <= limit)
			return SMTP_LINE_PARTIAL;
		/* Written as n - 1 so that limit == SIZE_MAX cannot wrap. */
		if (n - 1 == limit && buf[n - 1] == '\r')
			return SMTP_LINE_PARTIAL;
		return SMTP_LINE_TOO_LONG;
	}

	end = (size_t)(lf - buf);
	out->consumed = end + 1;
	if (end > 0 && buf[end - 1] == '\r')
		end--;
	else
		out->flags |= SMTP_LINE_BARE_LF;
	out->len = end;
	if (end > limit)
		return SMTP_LINE_TOO_LONG;

	/*
	 * Any CR left in the content is not part of a CRLF: the classic SMTP
	 * smuggling vector (a backend that takes bare CR or LF as a line end
	 * sees a different dialogue than we do).
	 */
	if (memchr(buf, '\r', end) != NULL)
		out->flags |= SMTP_LINE_BARE_CR;
	if (memchr(buf, '\0', end) != NULL)
		out->flags |= SMTP_LINE_NUL;
	return SMTP_LINE_OK;
}
