/*
 * xmalloc.h: allocation that never returns NULL.
 *
 * Every allocation in moat goes through these.  On exhaustion they write one
 * line to stderr and abort(): a daemon that cannot allocate a few bytes cannot
 * keep any promise it made to a client, and a core is more useful than a
 * half-served session.  Callers never check for NULL.
 */
#ifndef MOAT_XMALLOC_H
#define MOAT_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
