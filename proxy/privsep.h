/*
 * privsep.h: the root parent and the unprivileged daemon (issue 17).
 */
#ifndef MOAT_PRIVSEP_H
#define MOAT_PRIVSEP_H

#include <stddef.h>

/*
 * privsep_split: fork.  The parent stays root, closes the listeners, and
 * serves reloads until it or the child ends; it never returns (exits with
 * the child's status).  The child returns the socket to the parent; it
 * drops privileges itself.
 */
int	privsep_split(const char *cfg_path, const char *pidfile,
	    const int *fds, int nfds);

/*
 * privsep_drop: become user (setgroups, setresgid, setresuid, checked;
 * fatal on failure, and if root could be regained).  NULL: stay.
 */
void	privsep_drop(const char *user);

/* Child: ask the parent for a reload (SIGHUP reached the child).  0/-1. */
int	privsep_request_reload(int fd);

/*
 * Child: read one message from the parent.  1: the files for a reload are
 * installed (filesrc.h; the caller reloads, then filesrc_clear), 0: the
 * parent has gone or asks the child to stop, -1: a malformed message
 * (err says why).
 */
int	privsep_recv(int fd, char *err, size_t errsz);

#endif
