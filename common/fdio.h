/*
 * fdio.h: writing a whole buffer to a blocking file descriptor.
 */
#ifndef MOAT_FDIO_H
#define MOAT_FDIO_H

#include <stddef.h>

/*
 * fdio_write_all: write all n bytes of p to fd, again after EINTR and
 * after a short write (a full pipe, a signal).  0 when all went, -1 with
 * errno set (EIO for a write that took nothing) otherwise.
 */
int	fdio_write_all(int fd, const void *p, size_t n);

#endif
