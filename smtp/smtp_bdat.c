/*
 * smtp_bdat.c: the BDAT chunk reader (see smtp_bdat.h).  Pure: no fds, no
 * logs, no allocation.
 *
 * Purpose: take exactly the announced number of bytes after each BDAT
 * command, whatever they look like, and hand the ones of accepted chunks
 * to the DATA reader in raw mode, which makes the line ends canonical and
 * applies the limits.  That a chunk is counted, never scanned for a line
 * end or a dot, is what keeps its payload from ever being read as a
 * command (issue 12, defect 5).
 *
 * It does not decide whether a chunk is accepted (the session does, from
 * the state and the size), reply, or send anything on.
 *
 * Invariants: remain only goes down, by exactly the bytes consumed; no
 * byte of a dropped chunk reaches emit; the output is that of one raw
 * smtp_data_feed() over the concatenation of the kept chunks.
 */
#include <string.h>
#include <strings.h>

#include "smtp_bdat.h"

/*
 * smtp_bdat_parse: see smtp_bdat.h.  A count with more than
 * SMTP_BDAT_DIGITS_MAX digits or above ULLONG_MAX is NOCOUNT: the bytes
 * cannot be skipped exactly, and a guess would run the rest of the chunk
 * as commands.  Leading zeros are digits like any other.
 */
enum smtp_bdat_arg
smtp_bdat_parse(const char *arg, unsigned long long *count, int *last)
{
	unsigned long long n = 0;
	unsigned d;
	size_t i = 0, len;

	if (arg == NULL || arg[0] < '0' || arg[0] > '9')
		return SMTP_BDAT_ARG_NOCOUNT;
	while (arg[i] >= '0' && arg[i] <= '9') {
		d = (unsigned)(arg[i] - '0');
		if (i >= SMTP_BDAT_DIGITS_MAX || n > (~0ULL - d) / 10)
			return SMTP_BDAT_ARG_NOCOUNT;
		n = n * 10 + d;
		i++;
	}
	/* "BDAT 12x" is no count either: where would the chunk start? */
	if (arg[i] != '\0' && arg[i] != ' ')
		return SMTP_BDAT_ARG_NOCOUNT;
	*count = n;
	*last = 0;
	len = strlen(arg + i);
	while (len > 0 && (arg[i + len - 1] == ' ' || arg[i + len - 1] == '\t'))
		len--;
	if (len == 0)
		return SMTP_BDAT_ARG_OK;
	if (len == 5 && strncasecmp(arg + i, " LAST", 5) == 0) {
		*last = 1;
		return SMTP_BDAT_ARG_OK;
	}
	return SMTP_BDAT_ARG_BAD;
}

/* smtp_bdat_init: see smtp_bdat.h. */
void
smtp_bdat_init(struct smtp_bdat *b, size_t line_max,
    unsigned long long size_max, enum smtp_data_bare bare)
{
	memset(b, 0, sizeof(*b));
	smtp_data_init(&b->data, line_max, size_max, bare);
	smtp_data_raw(&b->data);
}

/* smtp_bdat_chunk: see smtp_bdat.h. */
void
smtp_bdat_chunk(struct smtp_bdat *b, unsigned long long n, int keep)
{
	b->remain = n;
	b->keep = keep;
}

/*
 * smtp_bdat_feed: see smtp_bdat.h.  in is borrowed for the call; the raw
 * DATA reader never ends on its own, so it always takes all it is given.
 */
enum smtp_bdat_status
smtp_bdat_feed(struct smtp_bdat *b, const char *in, size_t n,
    size_t *consumed, smtp_data_emit_fn *emit, void *arg)
{
	size_t take, used;

	take = b->remain < n ? (size_t)b->remain : n;
	if (take > 0) {
		if (b->keep) {
			(void)smtp_data_feed(&b->data, in, take, &used, emit,
			    arg);
			b->taken += take;
		} else
			b->dropped += take;
		b->remain -= take;
	}
	*consumed = take;
	return b->remain == 0 ? SMTP_BDAT_CHUNK_END : SMTP_BDAT_MORE;
}

/* smtp_bdat_finish: see smtp_bdat.h. */
void
smtp_bdat_finish(struct smtp_bdat *b, smtp_data_emit_fn *emit, void *arg)
{
	smtp_data_finish(&b->data, emit, arg);
}
