/*
 * msgstore.h: where one message waits between DATA and the backend.
 * In memory up to a bound, then in an unlinked 0600 temp file in the spool
 * directory, so it is cleaned up always, whatever happens to the process.
 * Owner: the transaction (struct smtp_tx); ms_free() releases everything.
 */
#ifndef MOAT_MSGSTORE_H
#define MOAT_MSGSTORE_H

#include <stddef.h>
#include <sys/types.h>

#include "sbuf.h"

struct msgstore {
	struct sbuf	 mem;
	int		 fd;		/* -1 while in memory */
	size_t		 mem_max;
	const char	*spool_dir;	/* borrowed from the config */
	unsigned long long size;
	int		 err;		/* errno of the first write failure */
};

void	ms_init(struct msgstore *, size_t mem_max, const char *spool_dir);
/* Append; on failure sets ms->err and returns -1 (later writes are no-ops). */
int	ms_write(struct msgstore *, const void *, size_t);
/* Read up to n bytes at off into buf; returns bytes read, 0 at end, -1. */
ssize_t	ms_read(struct msgstore *, unsigned long long off, void *buf,
	    size_t n);
/* A pointer to the bytes when in memory (NULL when spilled). */
const char *ms_mem(const struct msgstore *);
/*
 * ms_map: the whole message as one read-only span (the memory buffer, or
 * an mmap of the spool file); NULL on failure.  ms_unmap releases a span
 * ms_map returned (a no-op for memory).
 */
const char *ms_map(struct msgstore *, size_t *len);
void	ms_unmap(struct msgstore *, const char *p, size_t len);
void	ms_free(struct msgstore *);

#endif
