/*
 * smtp_fsm.h: the client-side SMTP states and which verb may come when.
 * Pure: RFC 5321 4.1.4 command ordering as a table, with no I/O.  The
 * session (session.c) owns the state variable and changes it only through
 * its sess_enter_state(); this module only names states and judges order.
 */
#ifndef MOAT_SMTP_FSM_H
#define MOAT_SMTP_FSM_H

#include "smtp_cmd.h"

#define SMTP_STATES(X)							\
	X(PROXY)	/* waiting for the PROXY header */		\
	X(GREET)	/* banner's first line out, greet_wait running */ \
	X(CONNECTED)	/* banner sent; no HELO/EHLO yet */		\
	X(HELO)		/* HELO/EHLO done, no transaction */		\
	X(MAIL)		/* MAIL accepted, no recipient yet */		\
	X(RCPT)		/* at least one recipient accepted */		\
	X(CHUNK)	/* BDAT chunks taken, no LAST yet (RFC 3030) */	\
	X(DATA)		/* reading the message */			\
	X(QUIT)		/* closing: nothing more is read */

enum smtp_state {
#define X(s) SMTP_ST_##s,
	SMTP_STATES(X)
#undef X
	SMTP_ST__COUNT
};

const char	*smtp_state_name(enum smtp_state);

/* Row flags of the command table. */
/*
 * SMTP_CF_RESETS_TX: a successful command ends any open transaction
 * (RFC 5321 4.1.1.1, 4.1.1.5, RFC 3207 4.2); the session's dispatcher
 * enforces it after the handler's 2xx/3xx reply (a handler may end it
 * sooner).  SMTP_CF_PRE_TLS / SMTP_CF_PRE_AUTH: on a listener that
 * requires TLS / AUTH, the dispatcher refuses the verb with 530 until TLS
 * is up / the client has logged in (RFC 3207 4, RFC 4954 6), before its
 * handler runs.  Every 4xx/5xx reply counts toward max_errors, whatever
 * the verb (sess_reply).
 */
#define SMTP_CF_RESETS_TX	0x01
#define SMTP_CF_REFUSED		0x04	/* never honoured from a client */
#define SMTP_CF_UNIMPL		0x08	/* recognised, not implemented here */
#define SMTP_CF_PRE_TLS		0x10
#define SMTP_CF_PRE_AUTH	0x20

struct smtp_fsm_row {
	enum smtp_verb	 verb;
	unsigned	 states;	/* mask of (1u << SMTP_ST_x) allowed */
	unsigned	 flags;
};

/* The row for a verb (never NULL; SMTP_CMD_UNKNOWN has a row). */
const struct smtp_fsm_row *smtp_fsm_row(enum smtp_verb);

/*
 * smtp_fsm_check: may verb be executed in state?  Returns 0 if so; else
 * fills the reply (code, enhanced code, text) the client must get:
 * 503 5.5.1 for a bad sequence (with the RFC 5321 4.1.4 reason), 554 5.5.1
 * for DATA without a valid recipient, 502 5.5.1 for unimplemented verbs,
 * 550 5.7.0 for client XCLIENT/XFORWARD (only moatd speaks them), 500 5.5.2
 * for unknown verbs.  Pointers returned are static strings.
 */
int	smtp_fsm_check(enum smtp_state state, enum smtp_verb verb, int *code,
	    const char **enh, const char **text);

#endif
