/*
 * smtp_fsm.c: command ordering for the client side (RFC 5321 4.1.4).
 *
 * Pure table lookups.  It does not execute commands, parse arguments or
 * decide relay policy; it only says whether a verb is in sequence and, if
 * not, which reply the client gets.  Invariant: every verb of SMTP_VERBS
 * has exactly one row, checked at first use.
 */
#include <assert.h>
#include <stddef.h>

#include "smtp_fsm.h"

#define ST(s)	(1u << SMTP_ST_##s)
#define ANY_CMD	(ST(CONNECTED) | ST(HELO) | ST(MAIL) | ST(RCPT) | ST(CHUNK))

static const char *const state_names[] = {
#define X(s) #s,
	SMTP_STATES(X)
#undef X
};

static const struct smtp_fsm_row rows[] = {
	{ SMTP_CMD_UNKNOWN,	ANY_CMD, 0 },
	{ SMTP_CMD_HELO,	ANY_CMD, SMTP_CF_RESETS_TX },
	{ SMTP_CMD_EHLO,	ANY_CMD, SMTP_CF_RESETS_TX },
	/* Later verbs need a MAIL: the requirements are checked once. */
	{ SMTP_CMD_MAIL,	ST(HELO), SMTP_CF_PRE_TLS | SMTP_CF_PRE_AUTH },
	{ SMTP_CMD_RCPT,	ST(MAIL) | ST(RCPT), 0 },
	{ SMTP_CMD_DATA,	ST(RCPT), 0 },
	{ SMTP_CMD_RSET,	ANY_CMD, SMTP_CF_RESETS_TX },
	{ SMTP_CMD_NOOP,	ANY_CMD, 0 },
	{ SMTP_CMD_QUIT,	ANY_CMD, 0 },
	{ SMTP_CMD_VRFY,	ANY_CMD, 0 },
	{ SMTP_CMD_EXPN,	ANY_CMD, SMTP_CF_UNIMPL },
	{ SMTP_CMD_HELP,	ANY_CMD, 0 },
	/* STARTTLS: the session says 502 where it is not offered. */
	{ SMTP_CMD_STARTTLS,	ANY_CMD, SMTP_CF_RESETS_TX },
	/* RFC 4954 4: after EHLO, not during a transaction. */
	{ SMTP_CMD_AUTH,	ST(HELO), 0 },
	/*
	 * RFC 3030 2: BDAT after a recipient, then only BDAT until LAST.
	 * The session consumes a refused chunk's bytes whatever the reply.
	 */
	{ SMTP_CMD_BDAT,	ST(RCPT) | ST(CHUNK), 0 },
	{ SMTP_CMD_ETRN,	ANY_CMD, SMTP_CF_UNIMPL },
	/*
	 * A client that could set XCLIENT/XFORWARD attributes could make the
	 * backend believe any client address; only moatd speaks them.
	 */
	{ SMTP_CMD_XCLIENT,	ANY_CMD, SMTP_CF_REFUSED },
	{ SMTP_CMD_XFORWARD,	ANY_CMD, SMTP_CF_REFUSED },
};

const char *
smtp_state_name(enum smtp_state st)
{
	if ((unsigned)st >= SMTP_ST__COUNT)
		return "INVALID";
	return state_names[st];
}

const struct smtp_fsm_row *
smtp_fsm_row(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].verb == verb)
			return &rows[i];
	/* Every verb has a row; a missing one is a bug in this table. */
	assert(!"smtp_fsm_row: verb without a row");
	return &rows[0];
}

int
smtp_fsm_check(enum smtp_state state, enum smtp_verb verb, int *code,
    const char **enh, const char **text)
{
	const struct smtp_fsm_row *row = smtp_fsm_row(verb);

	if (verb == SMTP_CMD_UNKNOWN) {
		*code = 500;
		*enh = "5.5.2";
		*text = "Error: command not recognized";
		return -1;
	}
	if (row->flags & SMTP_CF_REFUSED) {
		*code = 550;
		*enh = "5.7.0";
		*text = "Error: insufficient authorization";
		return -1;
	}
	if (row->flags & SMTP_CF_UNIMPL) {
		*code = 502;
		*enh = "5.5.1";
		*text = "Error: command not implemented";
		return -1;
	}
	if (row->states & (1u << state))
		return 0;

	*code = 503;
	*enh = "5.5.1";
	/* RFC 3030 2: DATA and BDAT do not mix in one transaction. */
	if (state == SMTP_ST_CHUNK) {
		*text = "Error: BDAT transaction in progress";
		return -1;
	}
	switch (verb) {
	case SMTP_CMD_MAIL:
		*text = state == SMTP_ST_CONNECTED ?
		    "Error: send HELO/EHLO first" : "Error: nested MAIL command";
		break;
	case SMTP_CMD_RCPT:
		*text = state == SMTP_ST_CONNECTED ?
		    "Error: send HELO/EHLO first" : "Error: need MAIL command";
		break;
	case SMTP_CMD_DATA:
	case SMTP_CMD_BDAT:
		if (state == SMTP_ST_MAIL) {
			/* RFC 5321 3.3: DATA with no valid recipient. */
			*code = 554;
			*text = "Error: no valid recipients";
		} else if (state == SMTP_ST_CONNECTED)
			*text = "Error: send HELO/EHLO first";
		else
			*text = "Error: need RCPT command";
		break;
	default:
		*text = "Error: bad sequence of commands";
		break;
	}
	return -1;
}
