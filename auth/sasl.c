/*
 * sasl.c: SASL PLAIN and LOGIN, server side, as SMTP AUTH uses them
 * (RFC 4954, RFC 4616, draft-murchison-sasl-login-00).  See sasl.h.
 *
 * Purpose: turn the AUTH argument and the client's continuation lines into
 * one of three actions (challenge, verify, fail) with the exact RFC 4954
 * reply codes, so that the session never touches base64 or NUL-separated
 * messages itself.
 *
 * Deliberately not done here: no credential lookup, no reply formatting,
 * no logging (the password must never reach a log, and a pure module
 * cannot log anyway), no policy on when AUTH is allowed.
 *
 * Invariants: s->st is ST_IDLE whenever an action other than CHALLENGE has
 * been returned; the decoded credentials live only in s and are wiped by
 * sasl_clear(), sasl_start() and sasl_free(); login and pass handed out by
 * VERIFY never contain NUL, are NUL-terminated, non-empty and within
 * SASL_LOGIN_MAX / SASL_PASS_MAX.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digits.h"
#include "sasl.h"
#include "xmalloc.h"

enum sasl_state {
	ST_IDLE,
	ST_PLAIN,		/* 334 sent, the PLAIN message is due */
	ST_LOGIN_USER,		/* "Username:" sent */
	ST_LOGIN_PASS,		/* "Password:" sent */
};

/* Room for the decoding of one SASL_LINE_MAX line. */
#define SASL_DECODED_MAX	(SASL_LINE_MAX / 4 * 3)

struct sasl {
	enum sasl_state	 st;
	enum sasl_mech	 mech;
	char		 login[SASL_LOGIN_MAX + 1];
	char		 pass[SASL_PASS_MAX + 1];
	size_t		 pass_len;
	size_t		 buf_used;	/* high-water mark of buf */
	unsigned char	 buf[SASL_DECODED_MAX];
};

/* LOGIN's challenges are base64 of "Username:" and "Password:". */
#define LOGIN_CHAL_USER	"VXNlcm5hbWU6"
#define LOGIN_CHAL_PASS	"UGFzc3dvcmQ6"

/*
 * explicit_bzero: a wipe the compiler may not drop as a dead store; the
 * password must not linger in freed memory (STYLE.md 6, secrets).
 */
#define wipe(p, n)	explicit_bzero((p), (n))

struct sasl *
sasl_new(void)
{
	return xcalloc(1, sizeof(struct sasl));
}

void
sasl_clear(struct sasl *s)
{
	s->st = ST_IDLE;
	s->mech = SASL_MECH_NONE;
	wipe(s->login, sizeof(s->login));
	wipe(s->pass, sizeof(s->pass));
	wipe(s->buf, s->buf_used);
	s->buf_used = 0;
	s->pass_len = 0;
}

void
sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	sasl_clear(s);
	free(s);
}

int
sasl_active(const struct sasl *s)
{
	return s->st != ST_IDLE;
}

enum sasl_mech
sasl_mech_parse(const char *name, size_t len)
{
	if (len == 5 && strncasecmp(name, "PLAIN", 5) == 0)
		return SASL_MECH_PLAIN;
	if (len == 5 && strncasecmp(name, "LOGIN", 5) == 0)
		return SASL_MECH_LOGIN;
	return SASL_MECH_NONE;
}

const char *
sasl_mech_name(enum sasl_mech m)
{
	switch (m) {
	case SASL_MECH_PLAIN:
		return "PLAIN";
	case SASL_MECH_LOGIN:
		return "LOGIN";
	case SASL_MECH_NONE:
		break;
	}
	return "";
}

/*
 * Strict, because RFC 4954 4 says a response the server cannot decode is
 * refused with 501 5.5.2, and leniency (skipping junk, accepting non-zero
 * pad bits) gives two spellings of one credential, which confuses log
 * analysis and lets fuzzers find disagreements with the backend's decoder.
 */
long
sasl_b64_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i, o = 0;
	int v[4], k, pad;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (p[i + k] == '=') {
				/* Padding: only in the last quantum's tail. */
				if (i + 4 != len || k < 2)
					return -1;
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad)
				return -1;	/* data after '=' */
			if ((v[k] = b64_digit(p[i + k])) < 0)
				return -1;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad == 2) {
			if (v[1] & 0x0f)
				return -1;	/* non-zero pad bits */
			break;
		}
		out[o++] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
		if (pad == 1) {
			if (v[2] & 0x03)
				return -1;
			break;
		}
		out[o++] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
	}
	return (long)o;
}

static void
act_fail(struct sasl *s, struct sasl_action *out, enum sasl_fail why)
{
	enum sasl_mech m = s->mech;

	sasl_clear(s);
	memset(out, 0, sizeof(*out));
	out->kind = SASL_ACT_FAIL;
	out->why = why;
	out->mech = m;
	switch (why) {
	case SASL_FAIL_MECH:
		out->code = 504;
		out->enh = "5.5.4";
		out->text = "Unrecognized authentication type";
		break;
	case SASL_FAIL_SYNTAX:
		out->code = 501;
		out->enh = "5.5.4";
		out->text = "Syntax error in AUTH parameters";
		break;
	case SASL_FAIL_BASE64:
		out->code = 501;
		out->enh = "5.5.2";
		out->text = "Cannot decode response";
		break;
	case SASL_FAIL_MESSAGE:
		out->code = 501;
		out->enh = "5.5.2";
		out->text = "Malformed authentication message";
		break;
	case SASL_FAIL_CANCEL:
		out->code = 501;
		out->enh = "5.7.0";
		out->text = "Authentication aborted";
		break;
	case SASL_FAIL_TOO_LONG:
		out->code = 500;
		out->enh = "5.5.6";
		out->text = "Authentication exchange line is too long";
		break;
	case SASL_FAIL_AUTHZ:
		out->code = SASL_REPLY_BAD_CODE;
		out->enh = SASL_REPLY_BAD_ENH;
		out->text = SASL_REPLY_BAD_TEXT;
		break;
	case SASL_FAIL_STATE:
	case SASL_FAIL_NONE:
		out->code = 503;
		out->enh = "5.5.1";
		out->text = "No authentication exchange in progress";
		out->why = SASL_FAIL_STATE;
		break;
	}
}

static void
act_challenge(struct sasl *s, struct sasl_action *out, enum sasl_state st,
    const char *chal)
{
	memset(out, 0, sizeof(*out));
	s->st = st;
	out->kind = SASL_ACT_CHALLENGE;
	out->challenge = chal;
	out->mech = s->mech;
}

static void
act_verify(struct sasl *s, struct sasl_action *out)
{
	memset(out, 0, sizeof(*out));
	s->st = ST_IDLE;
	out->kind = SASL_ACT_VERIFY;
	out->mech = s->mech;
	out->login = s->login;
	out->pass = s->pass;
	out->pass_len = s->pass_len;
}

/* Store one field; 0 if it fits and holds no NUL, else -1. */
static int
put_field(char *dst, size_t max, const unsigned char *src, size_t n)
{
	if (n == 0 || n > max || memchr(src, '\0', n) != NULL)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/*
 * RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, with
 * authcid and passwd 1*SAFE (no NUL).  We act for nobody but the login
 * itself: an authzid naming someone else is refused like a bad password
 * (RFC 4616 2: "the server ... MUST fail" if it may not authorize), and
 * without hashing, which reveals nothing since it does not depend on
 * whether the login exists.
 */
static void
plain_message(struct sasl *s, size_t n, struct sasl_action *out)
{
	const unsigned char *m = s->buf, *nul1, *nul2;
	size_t zlen, clen, plen;

	nul1 = memchr(m, '\0', n);
	if (nul1 == NULL)
		goto bad;
	zlen = (size_t)(nul1 - m);
	nul2 = memchr(nul1 + 1, '\0', n - zlen - 1);
	if (nul2 == NULL)
		goto bad;
	clen = (size_t)(nul2 - nul1 - 1);
	plen = n - zlen - clen - 2;
	if (zlen > SASL_LOGIN_MAX)
		goto bad;
	if (put_field(s->login, SASL_LOGIN_MAX, nul1 + 1, clen) == -1 ||
	    put_field(s->pass, SASL_PASS_MAX, nul2 + 1, plen) == -1)
		goto bad;
	s->pass_len = plen;
	if (zlen != 0 && (zlen != clen || memcmp(m, nul1 + 1, clen) != 0)) {
		act_fail(s, out, SASL_FAIL_AUTHZ);
		return;
	}
	wipe(s->buf, n);
	act_verify(s, out);
	return;
bad:
	act_fail(s, out, SASL_FAIL_MESSAGE);
}

/* One decoded response, in s->buf[0..n), in state st. */
static void
respond(struct sasl *s, size_t n, struct sasl_action *out)
{
	switch (s->st) {
	case ST_PLAIN:
		plain_message(s, n, out);
		return;
	case ST_LOGIN_USER:
		if (put_field(s->login, SASL_LOGIN_MAX, s->buf, n) == -1) {
			act_fail(s, out, SASL_FAIL_MESSAGE);
			return;
		}
		wipe(s->buf, n);
		act_challenge(s, out, ST_LOGIN_PASS, LOGIN_CHAL_PASS);
		return;
	case ST_LOGIN_PASS:
		if (put_field(s->pass, SASL_PASS_MAX, s->buf, n) == -1) {
			act_fail(s, out, SASL_FAIL_MESSAGE);
			return;
		}
		s->pass_len = n;
		wipe(s->buf, n);
		act_verify(s, out);
		return;
	case ST_IDLE:
		break;
	}
	act_fail(s, out, SASL_FAIL_STATE);
}

/* Decode a response line (not "*") into s->buf and act on it. */
static void
decode_and_respond(struct sasl *s, const char *line, size_t len,
    struct sasl_action *out)
{
	long n;

	/* The decoder may write before it finds an error: wipe that too. */
	if (len / 4 * 3 > s->buf_used)
		s->buf_used = len / 4 * 3;
	if ((n = sasl_b64_decode(line, len, s->buf)) < 0) {
		act_fail(s, out, SASL_FAIL_BASE64);
		return;
	}
	respond(s, (size_t)n, out);
}

void
sasl_start(struct sasl *s, const char *arg, size_t len,
    struct sasl_action *out)
{
	const char *sp, *ir;
	size_t mlen, irlen;

	sasl_clear(s);
	if (len > SASL_LINE_MAX) {
		act_fail(s, out, SASL_FAIL_TOO_LONG);
		return;
	}
	sp = memchr(arg, ' ', len);
	mlen = sp ? (size_t)(sp - arg) : len;
	if (mlen == 0) {
		act_fail(s, out, SASL_FAIL_SYNTAX);
		return;
	}
	if ((s->mech = sasl_mech_parse(arg, mlen)) == SASL_MECH_NONE) {
		act_fail(s, out, SASL_FAIL_MECH);
		return;
	}
	s->st = s->mech == SASL_MECH_PLAIN ? ST_PLAIN : ST_LOGIN_USER;
	if (sp == NULL) {
		/* RFC 4954 4: no initial response, so an empty challenge. */
		act_challenge(s, out, s->st, s->mech == SASL_MECH_PLAIN ?
		    "" : LOGIN_CHAL_USER);
		return;
	}
	ir = sp + 1;
	irlen = len - mlen - 1;
	if (irlen == 0 || memchr(ir, ' ', irlen) != NULL) {
		act_fail(s, out, SASL_FAIL_SYNTAX);
		return;
	}
	if (irlen == 1 && ir[0] == '*') {
		act_fail(s, out, SASL_FAIL_CANCEL);
		return;
	}
	/* RFC 4954 4: "=" is the zero-length initial response. */
	if (irlen == 1 && ir[0] == '=') {
		respond(s, 0, out);
		return;
	}
	decode_and_respond(s, ir, irlen, out);
}

void
sasl_step(struct sasl *s, const char *line, size_t len,
    struct sasl_action *out)
{
	if (s->st == ST_IDLE) {
		act_fail(s, out, SASL_FAIL_STATE);
		return;
	}
	if (len > SASL_LINE_MAX) {
		act_fail(s, out, SASL_FAIL_TOO_LONG);
		return;
	}
	if (len == 1 && line[0] == '*') {
		act_fail(s, out, SASL_FAIL_CANCEL);
		return;
	}
	decode_and_respond(s, line, len, out);
}

void
sasl_too_long(struct sasl *s, struct sasl_action *out)
{
	act_fail(s, out, SASL_FAIL_TOO_LONG);
}
