/*
 * sess_replay.c: the commands of a greylist replay (sess_replay.h).
 *
 * Pure: no I/O.  It never adds a recipient the client did not see
 * accepted, and it puts MAIL's line through unchanged (AUTH= included),
 * so the replayed transaction is the one the client sent minus the
 * deferred recipients.
 */
#include "sess_replay.h"

int
sess_replay_line(int step, const char *mail_line, char *const *rcpt,
    char *const *rcpt_dsn, int nrcpt, struct sbuf *line)
{
	sbuf_reset(line);
	if (step < 0)
		return 0;
	if (step == 0) {
		sbuf_adds(line, "RSET");
		return 1;
	}
	if (step == 1) {
		sbuf_adds(line, mail_line);
		return 1;
	}
	if (step - 2 < nrcpt) {
		sbuf_printf(line, "RCPT TO:<%s>%s", rcpt[step - 2],
		    rcpt_dsn[step - 2] ? rcpt_dsn[step - 2] : "");
		return 1;
	}
	return 0;
}
