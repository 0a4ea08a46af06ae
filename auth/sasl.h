/*
 * sasl.h: the server side of SASL PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login-00) as SMTP AUTH carries them (RFC 4954).
 * Pure: no fds, no logs, no clock, no credential store.
 *
 * The session owns one struct sasl per AUTH exchange (sasl_new/sasl_free).
 * It hands over the AUTH argument (sasl_start), then each client line while
 * sasl_active() says an exchange is open (sasl_step), and carries out the
 * action it gets back: send "334 <challenge>", verify (login, password)
 * with a credential backend, or send the failure reply given.
 *
 * What the session still decides itself (RFC 4954 4): AUTH when already
 * authenticated (503 5.5.1), AUTH in a transaction (503 5.5.1), AUTH not
 * allowed on this listener or before TLS (503 5.5.1 / 538 5.7.11), and the
 * reply to a verification: 235 2.7.0, 535 5.7.8 or 454 4.7.0
 * (SASL_REPLY_* below).
 */
#ifndef MOAT_SASL_H
#define MOAT_SASL_H

#include <stddef.h>

/*
 * RFC 4954 4: a line of the exchange, and the AUTH command line with an
 * initial response, may be 12288 octets long (without CRLF).  The session
 * scans AUTH lines with this limit; a longer line is answered with
 * sasl_too_long().
 */
#define SASL_LINE_MAX		12288
/* Bounds on what a client may claim; longer is a 501 5.5.2. */
#define SASL_LOGIN_MAX		255	/* authcid / authzid / LOGIN user */
#define SASL_PASS_MAX		1024	/* bounds the hash cost, too */

/* For EHLO: "250-AUTH " SASL_EHLO_MECHS. */
#define SASL_EHLO_MECHS		"PLAIN LOGIN"

/* Replies to a verification, for the session (RFC 4954 6). */
#define SASL_REPLY_OK_CODE	235
#define SASL_REPLY_OK_ENH	"2.7.0"
#define SASL_REPLY_OK_TEXT	"Authentication successful"
#define SASL_REPLY_BAD_CODE	535
#define SASL_REPLY_BAD_ENH	"5.7.8"
#define SASL_REPLY_BAD_TEXT	"Authentication credentials invalid"
#define SASL_REPLY_TEMP_CODE	454
#define SASL_REPLY_TEMP_ENH	"4.7.0"
#define SASL_REPLY_TEMP_TEXT	"Temporary authentication failure"

enum sasl_mech {
	SASL_MECH_NONE = 0,
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
};

enum sasl_act_kind {
	SASL_ACT_CHALLENGE,	/* send "334 " challenge, feed the next line */
	SASL_ACT_VERIFY,	/* check login/pass; the exchange is over */
	SASL_ACT_FAIL,		/* send code enh text; the exchange is over */
};

/*
 * Why an exchange failed, for logs and counters.  Only SASL_FAIL_AUTHZ
 * is a refusal of credentials (535, counts as an authentication failure);
 * the others are protocol errors that carried no credentials to judge.
 */
enum sasl_fail {
	SASL_FAIL_NONE = 0,
	SASL_FAIL_MECH,		/* 504 5.5.4 unknown mechanism */
	SASL_FAIL_SYNTAX,	/* 501 5.5.2 AUTH argument malformed */
	SASL_FAIL_BASE64,	/* 501 5.5.2 not strict base64 */
	SASL_FAIL_MESSAGE,	/* 501 5.5.2 decoded message malformed */
	SASL_FAIL_CANCEL,	/* 501 5.7.0 client sent "*" */
	SASL_FAIL_TOO_LONG,	/* 500 5.5.6 line over SASL_LINE_MAX */
	SASL_FAIL_AUTHZ,	/* 535 5.7.8 authzid differs from authcid */
	SASL_FAIL_STATE,	/* 503 5.5.1 step without an open exchange */
};

/*
 * The result of one call.  Strings point into the struct sasl or into
 * static storage; they are valid until the next sasl_* call on the same
 * struct.  login/pass are set for SASL_ACT_VERIFY only; both are
 * non-empty, NUL-terminated and free of NUL bytes (so strlen(pass) ==
 * pass_len), within SASL_LOGIN_MAX / SASL_PASS_MAX.  The session must
 * never log pass.
 */
struct sasl_action {
	enum sasl_act_kind	 kind;
	const char		*challenge;	/* base64, may be "" */
	int			 code;		/* FAIL */
	const char		*enh;		/* FAIL */
	const char		*text;		/* FAIL */
	enum sasl_fail		 why;		/* FAIL */
	enum sasl_mech		 mech;		/* the mechanism, once known */
	const char		*login;		/* VERIFY: the authcid */
	const char		*pass;		/* VERIFY */
	size_t			 pass_len;	/* VERIFY */
};

struct sasl;

/* sasl_new: an idle exchange state (owned by the caller; sasl_free it). */
struct sasl	*sasl_new(void);
/* sasl_free: wipe the decoded credentials and free; NULL is a no-op. */
void		 sasl_free(struct sasl *);

/*
 * sasl_mech_parse: the mechanism named by name[0..len), case-insensitive
 * (RFC 4422 3.1); SASL_MECH_NONE for any other.
 */
enum sasl_mech	 sasl_mech_parse(const char *name, size_t len);
const char	*sasl_mech_name(enum sasl_mech);

/*
 * sasl_start: begin an exchange from the argument of AUTH, arg[0..len)
 * (the bytes after "AUTH ", without CRLF): a mechanism name, optionally one
 * SP and an initial response (RFC 4954 4; "=" is an empty one).
 * Any previous exchange on s is discarded (and its secrets wiped).
 * Results: CHALLENGE (PLAIN without initial response: "334 "; LOGIN:
 * "334 VXNlcm5hbWU6" or, with the user name as initial response,
 * "334 UGFzc3dvcmQ6"), VERIFY (PLAIN with initial response), or FAIL:
 * 504 5.5.4 unknown mechanism, 501 5.5.4 bad argument syntax (empty, more
 * than one SP-separated response), 501 5.5.2 bad base64 or message,
 * 501 5.7.0 "*" as initial response, 535 5.7.8 foreign authzid,
 * 500 5.5.6 len > SASL_LINE_MAX.
 */
void	sasl_start(struct sasl *s, const char *arg, size_t len,
	    struct sasl_action *out);

/*
 * sasl_step: one client line line[0..len) (without CRLF) of an open
 * exchange.  "*" cancels (501 5.7.0, RFC 4954 4); anything else must be
 * strict base64 (RFC 4648 4: the 64-letter alphabet, length a multiple of
 * 4, '=' padding only at the end, zero pad bits; no spaces), else
 * 501 5.5.2; an empty line is an empty response.  Results as for
 * sasl_start; FAIL 503 5.5.1 (SASL_FAIL_STATE) when no exchange is open.
 */
void	sasl_step(struct sasl *s, const char *line, size_t len,
	    struct sasl_action *out);

/*
 * sasl_too_long: the client sent a line longer than SASL_LINE_MAX during
 * the exchange (the session's line scanner noticed): 500 5.5.6, and the
 * exchange is over (RFC 4954 4).
 */
void	sasl_too_long(struct sasl *s, struct sasl_action *out);

/* 1 while an exchange awaits a client line (after a CHALLENGE). */
int	sasl_active(const struct sasl *s);

/*
 * sasl_clear: end any exchange and wipe the decoded credentials.  Call it
 * once the password handed out with VERIFY has been copied or used.
 */
void	sasl_clear(struct sasl *s);

/*
 * sasl_b64_decode: strict RFC 4648 base64 of in[0..len) into out, which
 * must hold len / 4 * 3 bytes.  Returns the decoded length, -1 if the
 * input is not strict base64.  Exposed for tests and the fuzzer.
 */
long	sasl_b64_decode(const char *in, size_t len, unsigned char *out);

#endif
