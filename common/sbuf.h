/*
 * sbuf.h: a growable byte buffer.
 *
 * The owner of a struct sbuf owns its bytes; sbuf_free() releases them and
 * leaves an empty buffer.  The contents are always NUL-terminated one byte past
 * len (not counted in len), so a buffer of text can be handed to string
 * functions, but binary data with NULs is fine too.
 */
#ifndef MOAT_SBUF_H
#define MOAT_SBUF_H

#include <stddef.h>

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void	sbuf_reserve(struct sbuf *, size_t);
void	sbuf_add(struct sbuf *, const void *, size_t);
void	sbuf_adds(struct sbuf *, const char *);
void	sbuf_printf(struct sbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	sbuf_reset(struct sbuf *);
void	sbuf_free(struct sbuf *);

/*
 * One byte: inline, because the message model appends text a byte at a
 * time and a call per byte was a sixth of its parse time.
 */
static inline void
sbuf_addc(struct sbuf *b, int c)
{
	if (b->len + 2 > b->cap)
		sbuf_reserve(b, 1);
	b->p[b->len++] = (char)c;
	b->p[b->len] = '\0';
}

#endif
