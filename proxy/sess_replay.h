/*
 * sess_replay.h: the replay of a backend transaction without its
 * greylisted recipients (doc/greylisting.md).  The backend took a
 * recipient the client was told to retry later; before the message goes
 * out, the backend's transaction is started over with only the recipients
 * the client was told were accepted: RSET, MAIL, each RCPT, each of which
 * must be accepted again.  A leaf below proxy/session.c: it says which
 * command comes next and the session sends it.
 */
#ifndef MOAT_SESS_REPLAY_H
#define MOAT_SESS_REPLAY_H

#include "sbuf.h"

/*
 * sess_replay_line: the command of replay step step (0 first) into line
 * (reset first): RSET, then mail_line, then "RCPT TO:<rcpt[i]>" with
 * rcpt_dsn[i] (NULL: no DSN parameters) for each of the nrcpt
 * recipients.  Returns 1, or 0 when the replay is complete (the message
 * goes next) and line is left empty.  The caller sends each command and
 * goes on with step + 1 only after a 2xx reply.
 */
int	sess_replay_line(int step, const char *mail_line, char *const *rcpt,
	    char *const *rcpt_dsn, int nrcpt, struct sbuf *line);

#endif
