/*
 * fdio.c: the one write(2) loop (see fdio.h), for the log, the spool and
 * the config dump.  It does not poll: for non-blocking sockets the daemon
 * uses bufferevents, never this.
 */
#include <errno.h>
#include <unistd.h>

#include "fdio.h"

int
fdio_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
