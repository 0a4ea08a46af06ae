/*
 * smtp_cmd.h: parse one SMTP command line (RFC 5321 4.1) into a struct.
 * Pure: a function from bytes to a struct or an error code.  It never
 * decides the reply; the session maps the error to a reply.
 *
 * A struct smtp_cmd owns a private copy of the line (store[]); every char *
 * in it points into that copy and lives as long as the struct.
 */
#ifndef MOAT_SMTP_CMD_H
#define MOAT_SMTP_CMD_H

#include <stddef.h>

/* The verbs the session knows.  X-macro: enum and name table from one list. */
#define SMTP_VERBS(X)							\
	X(HELO) X(EHLO) X(MAIL) X(RCPT) X(DATA) X(RSET) X(NOOP) X(QUIT)	\
	X(VRFY) X(EXPN) X(HELP) X(STARTTLS) X(AUTH) X(BDAT) X(ETRN)	\
	X(XCLIENT) X(XFORWARD)

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
#define X(v) SMTP_CMD_##v,
	SMTP_VERBS(X)
#undef X
	SMTP_CMD__COUNT
};

/* "HELO", ...; "UNKNOWN" for SMTP_CMD_UNKNOWN. */
const char	*smtp_verb_name(enum smtp_verb);

/* Hard cap on a command line's content (without CRLF). */
#define SMTP_CMD_LINE_MAX	4096
#define SMTP_PARAMS_MAX		16	/* ESMTP parameters on MAIL/RCPT */
#define SMTP_LOCAL_MAX		64	/* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define SMTP_PATH_MAX		256	/* RFC 5321 4.5.3.1.3, with <> */

enum smtp_cmd_err {
	SMTP_CMD_OK = 0,
	SMTP_CMD_ERR_UNKNOWN,	/* verb not recognised: 500 5.5.2 */
	SMTP_CMD_ERR_SYNTAX,	/* bad arguments for the verb: 501 5.5.4 */
	SMTP_CMD_ERR_PATH,	/* MAIL/RCPT path syntax: 501 5.1.7 / 5.1.3 */
	SMTP_CMD_ERR_PARAM,	/* bad ESMTP parameter syntax: 555 5.5.4 */
	SMTP_CMD_ERR_TOO_MANY,	/* over SMTP_PARAMS_MAX parameters: 555 5.5.4 */
	SMTP_CMD_ERR_NUL,	/* NUL byte in the line: 500 5.5.2 */
	SMTP_CMD_ERR_8BIT,	/* non-ASCII in verb or where not allowed */
};

struct smtp_param {
	char	*keyword;	/* as written; compare with strcasecmp */
	char	*value;		/* NULL when the keyword had no "=value" */
};

/*
 * A reverse-path or forward-path.  RFC 5321 4.1.2:
 *   Path = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox = Local-part "@" ( Domain / address-literal )
 * RCPT TO:<postmaster> (no domain, case-insensitive) is also legal.
 */
struct smtp_path {
	int	 null;		/* "<>" */
	int	 route;		/* a source route (A-d-l) was present: dropped */
	int	 quoted;	/* local part was a Quoted-string */
	int	 literal;	/* domain is an address literal "[...]" */
	int	 utf8;		/* non-ASCII bytes present (RFC 6531) */
	char	*local;		/* local part as written (quotes kept) */
	char	*domain;	/* domain as written, "[...]" kept; NULL if none */
	char	*addr;		/* "local@domain", "local" or "" for <> */
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	char		*arg;		/* text after the verb and its SP(s), or "" */
	struct smtp_path path;		/* MAIL and RCPT only */
	size_t		 nparams;	/* MAIL and RCPT only */
	struct smtp_param params[SMTP_PARAMS_MAX];
	/* arg, then the path's strings, then the parameters cut in place. */
	char		 store[3 * SMTP_CMD_LINE_MAX + 8];
};

/*
 * smtp_cmd_parse: parse line[0..len), without its CRLF.
 * The verb is case-insensitive.  MAIL must be "MAIL FROM:" and RCPT
 * "RCPT TO:" (case-insensitive), optionally followed by one SP before the
 * "<" (a common client quirk that Postfix accepts too); the path must be in
 * angle brackets.  Parameters are esmtp-keyword ["=" esmtp-value] separated
 * by SP (RFC 5321 4.1.2); RFC 6531 UTF-8 is accepted in the path and values.
 * HELO/EHLO require an argument (a domain or address literal; the syntax of
 * the name itself is not judged here).  DATA, RSET, QUIT, STARTTLS take no
 * argument (SYNTAX if given one); NOOP, HELP, VRFY, EXPN, AUTH, BDAT, ETRN,
 * XCLIENT, XFORWARD keep their argument in arg unparsed.
 * Trailing SP/HTAB are ignored (real clients send them).  The verb must be
 * followed by SP or end of line ("MAILFROM:" is UNKNOWN).  Lines longer
 * than SMTP_CMD_LINE_MAX are SYNTAX; a NUL anywhere is NUL.  RCPT TO:<> and
 * MAIL FROM:<postmaster> are PATH errors; a relay-suspect path is not an
 * error here (see smtp_path_relay_suspect()).
 * Returns SMTP_CMD_OK or an error; on error, out->verb is still set when the
 * verb was recognised (so the session can count per-verb errors), and
 * path/params are zeroed.
 */
enum smtp_cmd_err smtp_cmd_parse(const char *line, size_t len,
    struct smtp_cmd *out);

/*
 * smtp_path_parse: parse a Path (with its angle brackets) at s[0..len).
 * Text is copied into store (storesz >= 2 * len + 8 suffices); *endp is set
 * to the first byte after ">".  Returns 0 or -1 on syntax error.
 * Exposed for the unit tests and for tools that parse addresses from files.
 */
int	smtp_path_parse(const char *s, size_t len, char *store, size_t storesz,
	    struct smtp_path *out, size_t *endp);

/*
 * smtp_path_relay_suspect: 1 if the path uses a classic relay trick that an
 * MTA behind us might honour to route mail elsewhere: a source route, '%' or
 * '!' in the local part, '@' in a quoted local part (a@b@c), a quoted local
 * part at all.  Such recipients are refused unless the client may relay.
 */
int	smtp_path_relay_suspect(const struct smtp_path *);

/* Find a parameter by keyword (case-insensitive); NULL if absent. */
const struct smtp_param *smtp_cmd_param(const struct smtp_cmd *,
	    const char *keyword);

/*
 * smtp_domain_valid: 1 if s is a syntactically valid RFC 5321 Domain
 * (letters, digits, hyphens, dots; no empty label, no leading/trailing dot or
 * hyphen in a label, labels <= 63, total <= 255) or address literal
 * ("[1.2.3.4]", "[IPv6:...]"); with allow_utf8, U-labels (bytes >= 0x80)
 * are also accepted.
 */
int	smtp_domain_valid(const char *s, int allow_utf8);

#endif
