/*
 * smtp_esmtp.h: the values of the MAIL and RCPT parameters moatd passes
 * through to the backend: DSN (RFC 3461: RET, ENVID, NOTIFY, ORCPT, with
 * RFC 6533's UTF-8 ORCPT) and AUTH= (RFC 4954 5).  Pure: a value in, a
 * verdict out.  What a valid value means, and whether it goes on, is the
 * session's business.
 *
 * Every check bounds the length, so a value that passes can be copied into
 * a backend command line as it is.
 */
#ifndef MOAT_SMTP_ESMTP_H
#define MOAT_SMTP_ESMTP_H

#include <stddef.h>

/* RFC 3461 4.4: an ENVID value is at most 100 characters. */
#define SMTP_ENVID_MAX		100
/* RFC 3461 4.2: an ORCPT value is at most 500 characters. */
#define SMTP_ORCPT_MAX		500
/* AUTH= carries a mailbox in xtext: 256 octets, each at most "+XX". */
#define SMTP_AUTH_PARAM_MAX	(3 * 256)

/*
 * smtp_xtext_valid: 1 if v is RFC 3461 4 xtext of 1..max characters:
 * xchar (%x21-2A / %x2C-3C / %x3E-7E) or "+" and two upper-case hex
 * digits; else 0.  NULL is not valid.
 */
int	smtp_xtext_valid(const char *v, size_t max);

/* RET= (RFC 3461 4.3): 1 for FULL or HDRS (any case), else 0. */
int	smtp_dsn_ret_valid(const char *v);

/*
 * NOTIFY= (RFC 3461 4.1): "NEVER" or a comma list of SUCCESS, FAILURE,
 * DELAY (any case, each at most once).  Returns a mask of the SMTP_NOTIFY_*
 * bits, or 0 if not valid.
 */
#define SMTP_NOTIFY_NEVER	0x01
#define SMTP_NOTIFY_SUCCESS	0x02
#define SMTP_NOTIFY_FAILURE	0x04
#define SMTP_NOTIFY_DELAY	0x08
unsigned smtp_dsn_notify(const char *v);

/*
 * ORCPT= (RFC 3461 4.2): addr-type ";" xtext, at most SMTP_ORCPT_MAX
 * characters.  addr-type is an atom (letters, digits, '-').  With the
 * "utf-8" addr-type (RFC 6533 3) the address is utf-8-addr-xtext
 * ("\x{HEX}" escapes), or, when utf8 is set (the transaction has SMTPUTF8),
 * utf-8-addr-unitext with raw UTF-8 too.  1 if valid, else 0.
 */
int	smtp_dsn_orcpt_valid(const char *v, int utf8);

/* AUTH= (RFC 4954 5): "<>" or xtext up to SMTP_AUTH_PARAM_MAX.  1 if valid. */
int	smtp_auth_param_valid(const char *v);

#endif
