/*
 * test_sasl.c: the SASL PLAIN and LOGIN server exchanges (auth/sasl.c):
 * every action and every failure code, each bound on both sides, the
 * strict base64 decoder against valid and invalid quanta, and the wiping
 * of decoded credentials.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

/* A plain base64 encoder for building inputs. */
static char *
b64(const void *data, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *out = malloc(n / 3 * 4 + 8), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*o++ = a[p[i] >> 2];
		*o++ = a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = a[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*o++ = a[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = a[p[i] >> 2];
		*o++ = a[(p[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		*o++ = a[p[i] >> 2];
		*o++ = a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = a[(p[i + 1] & 15) << 2];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static void
start(struct sasl *s, const char *arg, struct sasl_action *a)
{
	sasl_start(s, arg, strlen(arg), a);
}

static void
step(struct sasl *s, const char *line, struct sasl_action *a)
{
	sasl_step(s, line, strlen(line), a);
}

/* "AUTH PLAIN <b64 of msg[0..n)>" */
static void
start_plain_ir(struct sasl *s, const void *msg, size_t n,
    struct sasl_action *a)
{
	char *enc = b64(msg, n), *arg = malloc(strlen(enc) + 8);

	snprintf(arg, strlen(enc) + 8, "PLAIN %s", enc);
	start(s, arg, a);
	free(enc);
	free(arg);
}

static void
step_b64(struct sasl *s, const void *msg, size_t n, struct sasl_action *a)
{
	char *enc = b64(msg, n);

	step(s, enc, a);
	free(enc);
}

static void
assert_fail(const struct sasl_action *a, int code, const char *enh,
    enum sasl_fail why)
{
	assert_int_equal(a->kind, SASL_ACT_FAIL);
	assert_int_equal(a->code, code);
	assert_string_equal(a->enh, enh);
	assert_int_equal(a->why, why);
	assert_non_null(a->text);
	assert_null(a->login);
	assert_null(a->pass);
}

static void
assert_verify(const struct sasl_action *a, const char *login,
    const char *pass, size_t plen)
{
	assert_int_equal(a->kind, SASL_ACT_VERIFY);
	assert_string_equal(a->login, login);
	assert_int_equal(a->pass_len, plen);
	assert_memory_equal(a->pass, pass, plen);
	assert_int_equal(a->pass[plen], '\0');
}

static void
test_mech(void **state)
{
	(void)state;
	assert_int_equal(sasl_mech_parse("PLAIN", 5), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse("plain", 5), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse("LOGIN", 5), SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_parse("LoGiN", 5), SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_parse("PLAI", 4), SASL_MECH_NONE);
	assert_int_equal(sasl_mech_parse("PLAINX", 6), SASL_MECH_NONE);
	assert_int_equal(sasl_mech_parse("CRAM-MD5", 8), SASL_MECH_NONE);
	assert_int_equal(sasl_mech_parse("", 0), SASL_MECH_NONE);
	assert_string_equal(sasl_mech_name(SASL_MECH_PLAIN), "PLAIN");
	assert_string_equal(sasl_mech_name(SASL_MECH_LOGIN), "LOGIN");
	assert_string_equal(sasl_mech_name(SASL_MECH_NONE), "");
	assert_string_equal(SASL_EHLO_MECHS, "PLAIN LOGIN");
}

struct b64_case {
	const char	*in;
	long		 n;		/* -1: refused */
	const char	*out;
};

static const struct b64_case b64_cases[] = {
	{ "", 0, "" },
	{ "QQ==", 1, "A" },
	{ "QUI=", 2, "AB" },
	{ "QUJD", 3, "ABC" },
	{ "QUJDRA==", 4, "ABCD" },
	{ "+/+/", 3, "\xfb\xff\xbf" },
	{ "AAAA", 3, "\0\0\0" },
	{ "Q", -1, NULL },		/* length not a multiple of 4 */
	{ "QQ=", -1, NULL },
	{ "QUJDR", -1, NULL },
	{ "Q===", -1, NULL },		/* '=' in the second position */
	{ "====", -1, NULL },
	{ "QQ=A", -1, NULL },		/* data after '=' */
	{ "QQ==QUJD", -1, NULL },	/* padding before the last quantum */
	{ "QR==", -1, NULL },		/* non-zero pad bits */
	{ "QUJ=", -1, NULL },
	{ "QU!D", -1, NULL },		/* outside the alphabet */
	{ " QUJ", -1, NULL },
	{ "QUJ\n", -1, NULL },
	{ "QU-_", -1, NULL },		/* base64url is not base64 */
	{ "QUJ\x80", -1, NULL },
};

static void
test_b64(void **state)
{
	unsigned char out[64];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];

		n = sasl_b64_decode(c->in, strlen(c->in), out);
		if (n != c->n)
			fail_msg("case %zu (%s): got %ld want %ld", i, c->in,
			    n, c->n);
		if (n > 0)
			assert_memory_equal(out, c->out, (size_t)n);
	}
}

static void
test_plain_ir(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start_plain_ir(s, "\0alice\0secret", 13, &a);
	assert_verify(&a, "alice", "secret", 6);
	assert_int_equal(a.mech, SASL_MECH_PLAIN);
	assert_false(sasl_active(s));

	/* authzid equal to authcid is the login itself. */
	start_plain_ir(s, "alice\0alice\0s", 13, &a);
	assert_verify(&a, "alice", "s", 1);

	/* Known vector: RFC 4616 4's "\0tim\0tanstaaftanstaaf". */
	start(s, "PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm", &a);
	assert_verify(&a, "tim", "tanstaaftanstaaf", 16);

	/* The mechanism name is case-insensitive. */
	start(s, "plain AHRpbQB0YW5zdGFhZnRhbnN0YWFm", &a);
	assert_verify(&a, "tim", "tanstaaftanstaaf", 16);
	sasl_free(s);
}

static void
test_plain_authz(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start_plain_ir(s, "bob\0alice\0secret", 16, &a);
	assert_fail(&a, 535, "5.7.8", SASL_FAIL_AUTHZ);
	assert_int_equal(a.mech, SASL_MECH_PLAIN);
	assert_false(sasl_active(s));
	/* Same length, other bytes. */
	start_plain_ir(s, "alicf\0alice\0secret", 18, &a);
	assert_fail(&a, 535, "5.7.8", SASL_FAIL_AUTHZ);
	/* A prefix of the login is someone else. */
	start_plain_ir(s, "alic\0alice\0secret", 17, &a);
	assert_fail(&a, 535, "5.7.8", SASL_FAIL_AUTHZ);
	sasl_free(s);
}

struct msg_case {
	const char	*m;
	size_t		 n;
};

static void
test_plain_malformed(void **state)
{
	static const struct msg_case cases[] = {
		{ "alice", 5 },			/* no NUL */
		{ "\0alice", 6 },		/* one NUL */
		{ "\0\0secret", 8 },		/* empty authcid */
		{ "\0alice\0", 7 },		/* empty password */
		{ "\0alice\0sec\0ret", 14 },	/* third NUL */
		{ "\0alice\0\0", 8 },
	};
	struct sasl *s = sasl_new();
	struct sasl_action a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start_plain_ir(s, cases[i].m, cases[i].n, &a);
		assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
		assert_false(sasl_active(s));
	}
	/* "=" is the empty initial response: an empty PLAIN message. */
	start(s, "PLAIN =", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	sasl_free(s);
}

/* Bounds: authcid, authzid SASL_LOGIN_MAX; password SASL_PASS_MAX. */
static void
test_plain_bounds(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;
	size_t big = 2 * SASL_LOGIN_MAX + SASL_PASS_MAX + 8, n;
	char *m = malloc(big), *login = malloc(SASL_LOGIN_MAX + 2);
	char *pass = malloc(SASL_PASS_MAX + 2);

	(void)state;
	memset(login, 'l', SASL_LOGIN_MAX + 1);
	memset(pass, 'p', SASL_PASS_MAX + 1);

	/* authcid at the limit, and one over. */
	m[0] = '\0';
	memcpy(m + 1, login, SASL_LOGIN_MAX);
	m[1 + SASL_LOGIN_MAX] = '\0';
	m[2 + SASL_LOGIN_MAX] = 'x';
	start_plain_ir(s, m, 3 + SASL_LOGIN_MAX, &a);
	assert_int_equal(a.kind, SASL_ACT_VERIFY);
	assert_int_equal(strlen(a.login), SASL_LOGIN_MAX);
	memcpy(m + 1, login, SASL_LOGIN_MAX + 1);
	m[2 + SASL_LOGIN_MAX] = '\0';
	m[3 + SASL_LOGIN_MAX] = 'x';
	start_plain_ir(s, m, 4 + SASL_LOGIN_MAX, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);

	/* password at the limit, and one over. */
	memcpy(m, "\0u\0", 3);
	memcpy(m + 3, pass, SASL_PASS_MAX);
	start_plain_ir(s, m, 3 + SASL_PASS_MAX, &a);
	assert_int_equal(a.kind, SASL_ACT_VERIFY);
	assert_int_equal(a.pass_len, SASL_PASS_MAX);
	memcpy(m + 3, pass, SASL_PASS_MAX + 1);
	start_plain_ir(s, m, 4 + SASL_PASS_MAX, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);

	/* authzid over the limit (and so not the login either). */
	memcpy(m, login, SASL_LOGIN_MAX + 1);
	n = SASL_LOGIN_MAX + 1;
	memcpy(m + n, "\0u\0p", 4);
	start_plain_ir(s, m, n + 4, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	/* authzid at the limit and equal to the login. */
	n = SASL_LOGIN_MAX;
	memcpy(m, login, n);
	m[n] = '\0';
	memcpy(m + n + 1, login, n);
	memcpy(m + 2 * n + 1, "\0p", 2);
	start_plain_ir(s, m, 2 * n + 3, &a);
	assert_int_equal(a.kind, SASL_ACT_VERIFY);
	free(m);
	free(login);
	free(pass);
	sasl_free(s);
}

static void
test_plain_challenge(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start(s, "PLAIN", &a);
	assert_int_equal(a.kind, SASL_ACT_CHALLENGE);
	assert_string_equal(a.challenge, "");
	assert_int_equal(a.mech, SASL_MECH_PLAIN);
	assert_true(sasl_active(s));
	step_b64(s, "\0alice\0secret", 13, &a);
	assert_verify(&a, "alice", "secret", 6);
	assert_false(sasl_active(s));

	/* An empty line is an empty response: a malformed message. */
	start(s, "PLAIN", &a);
	step(s, "", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);

	/* Bad base64 in the continuation line. */
	start(s, "PLAIN", &a);
	step(s, "AGFsaWNlAHNlY3JldA=", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);
	assert_false(sasl_active(s));
	start(s, "PLAIN", &a);
	step(s, "AGFsaWNlAHNlY3JldA== ", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);
	sasl_free(s);
}

static void
test_login(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start(s, "LOGIN", &a);
	assert_int_equal(a.kind, SASL_ACT_CHALLENGE);
	assert_string_equal(a.challenge, "VXNlcm5hbWU6");	/* Username: */
	assert_int_equal(a.mech, SASL_MECH_LOGIN);
	step(s, "YWxpY2U=", &a);
	assert_int_equal(a.kind, SASL_ACT_CHALLENGE);
	assert_string_equal(a.challenge, "UGFzc3dvcmQ6");	/* Password: */
	assert_true(sasl_active(s));
	step(s, "c2VjcmV0", &a);
	assert_verify(&a, "alice", "secret", 6);
	assert_int_equal(a.mech, SASL_MECH_LOGIN);
	assert_false(sasl_active(s));

	/* The user name as initial response (Outlook, some libraries). */
	start(s, "LOGIN YWxpY2U=", &a);
	assert_int_equal(a.kind, SASL_ACT_CHALLENGE);
	assert_string_equal(a.challenge, "UGFzc3dvcmQ6");
	step(s, "c2VjcmV0", &a);
	assert_verify(&a, "alice", "secret", 6);
	sasl_free(s);
}

static void
test_login_malformed(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;
	char big[SASL_PASS_MAX + 2];

	(void)state;
	start(s, "LOGIN =", &a);		/* empty user name */
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	assert_int_equal(a.mech, SASL_MECH_LOGIN);
	start(s, "LOGIN", &a);
	step(s, "", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	start(s, "LOGIN", &a);
	step_b64(s, "al\0ce", 5, &a);		/* NUL in the user name */
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	start(s, "LOGIN", &a);
	step(s, "YWxpY2U=", &a);
	step_b64(s, "sec\0ret", 7, &a);		/* NUL in the password */
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	start(s, "LOGIN", &a);
	step(s, "YWxpY2U=", &a);
	step(s, "", &a);			/* empty password */
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	start(s, "LOGIN", &a);
	step(s, "YWxpY2U=", &a);
	step(s, "c2VjcmV0=", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);

	/* Password bounds in LOGIN. */
	memset(big, 'p', sizeof(big));
	start(s, "LOGIN YWxpY2U=", &a);
	step_b64(s, big, SASL_PASS_MAX, &a);
	assert_int_equal(a.kind, SASL_ACT_VERIFY);
	assert_int_equal(a.pass_len, SASL_PASS_MAX);
	start(s, "LOGIN YWxpY2U=", &a);
	step_b64(s, big, SASL_PASS_MAX + 1, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	/* User name bounds. */
	start(s, "LOGIN", &a);
	step_b64(s, big, SASL_LOGIN_MAX, &a);
	assert_int_equal(a.kind, SASL_ACT_CHALLENGE);
	start(s, "LOGIN", &a);
	step_b64(s, big, SASL_LOGIN_MAX + 1, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);
	sasl_free(s);
}

static void
test_start_syntax(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start(s, "", &a);
	assert_fail(&a, 501, "5.5.4", SASL_FAIL_SYNTAX);
	start(s, " PLAIN", &a);
	assert_fail(&a, 501, "5.5.4", SASL_FAIL_SYNTAX);
	start(s, "PLAIN ", &a);
	assert_fail(&a, 501, "5.5.4", SASL_FAIL_SYNTAX);
	start(s, "PLAIN AGFsaWNlAHNlY3JldA== x", &a);
	assert_fail(&a, 501, "5.5.4", SASL_FAIL_SYNTAX);
	start(s, "PLAIN  AGFsaWNlAHNlY3JldA==", &a);
	assert_fail(&a, 501, "5.5.4", SASL_FAIL_SYNTAX);
	start(s, "CRAM-MD5", &a);
	assert_fail(&a, 504, "5.5.4", SASL_FAIL_MECH);
	assert_int_equal(a.mech, SASL_MECH_NONE);
	start(s, "GSSAPI YWJj", &a);
	assert_fail(&a, 504, "5.5.4", SASL_FAIL_MECH);
	start(s, "PLAIN !!!!", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);
	start(s, "PLAIN AGFsaWNlAHNlY3JldA", &a);	/* unpadded */
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);
	assert_false(sasl_active(s));
	sasl_free(s);
}

static void
test_cancel(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start(s, "PLAIN *", &a);
	assert_fail(&a, 501, "5.7.0", SASL_FAIL_CANCEL);
	assert_int_equal(a.mech, SASL_MECH_PLAIN);
	start(s, "LOGIN *", &a);
	assert_fail(&a, 501, "5.7.0", SASL_FAIL_CANCEL);
	start(s, "PLAIN", &a);
	step(s, "*", &a);
	assert_fail(&a, 501, "5.7.0", SASL_FAIL_CANCEL);
	assert_false(sasl_active(s));
	start(s, "LOGIN", &a);
	step(s, "YWxpY2U=", &a);
	step(s, "*", &a);
	assert_fail(&a, 501, "5.7.0", SASL_FAIL_CANCEL);
	assert_false(sasl_active(s));
	/* "**" is not a cancel: bad base64. */
	start(s, "PLAIN", &a);
	step(s, "**", &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);
	sasl_free(s);
}

static void
test_too_long(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;
	char *line = malloc(SASL_LINE_MAX + 8);
	size_t n;

	(void)state;
	/* A continuation line of exactly SASL_LINE_MAX is decoded. */
	memset(line, 'A', SASL_LINE_MAX);
	start(s, "PLAIN", &a);
	sasl_step(s, line, SASL_LINE_MAX, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_MESSAGE);  /* all NULs */
	start(s, "PLAIN", &a);
	sasl_step(s, line, SASL_LINE_MAX + 1, &a);
	assert_fail(&a, 500, "5.5.6", SASL_FAIL_TOO_LONG);
	assert_false(sasl_active(s));

	/* The AUTH argument itself. */
	memcpy(line, "PLAIN ", 6);
	n = SASL_LINE_MAX + 1;
	sasl_start(s, line, n, &a);
	assert_fail(&a, 500, "5.5.6", SASL_FAIL_TOO_LONG);
	sasl_start(s, line, SASL_LINE_MAX, &a);
	assert_fail(&a, 501, "5.5.2", SASL_FAIL_BASE64);   /* 12282 % 4 */

	/* The session's scanner saw the overlong line. */
	start(s, "LOGIN", &a);
	sasl_too_long(s, &a);
	assert_fail(&a, 500, "5.5.6", SASL_FAIL_TOO_LONG);
	assert_int_equal(a.mech, SASL_MECH_LOGIN);
	assert_false(sasl_active(s));
	free(line);
	sasl_free(s);
}

static void
test_state(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	assert_false(sasl_active(s));
	step(s, "AGFsaWNlAHNlY3JldA==", &a);
	assert_fail(&a, 503, "5.5.1", SASL_FAIL_STATE);
	/* After a finished exchange, too. */
	start(s, "PLAIN AGFsaWNlAHNlY3JldA==", &a);
	assert_int_equal(a.kind, SASL_ACT_VERIFY);
	step(s, "AGFsaWNlAHNlY3JldA==", &a);
	assert_fail(&a, 503, "5.5.1", SASL_FAIL_STATE);
	/* A new AUTH while one is open starts over. */
	start(s, "LOGIN", &a);
	start(s, "PLAIN", &a);
	assert_string_equal(a.challenge, "");
	step(s, "AGJvYgBwdw==", &a);			/* \0bob\0pw */
	assert_verify(&a, "bob", "pw", 2);
	sasl_free(s);
	sasl_free(NULL);
}

/* The password handed out is wiped by sasl_clear (it lives in s). */
static void
test_wipe(void **state)
{
	struct sasl *s = sasl_new();
	struct sasl_action a;

	(void)state;
	start(s, "PLAIN AGFsaWNlAHNlY3JldA==", &a);
	assert_verify(&a, "alice", "secret", 6);
	sasl_clear(s);
	assert_memory_equal(a.pass, "\0\0\0\0\0\0", 6);
	assert_string_equal(a.login, "");
	assert_false(sasl_active(s));
	/* A failure wipes what was decoded before it. */
	start(s, "LOGIN YWxpY2U=", &a);
	step(s, "*", &a);
	start(s, "PLAIN", &a);
	step(s, "*", &a);
	sasl_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_plain_ir),
		cmocka_unit_test(test_plain_authz),
		cmocka_unit_test(test_plain_malformed),
		cmocka_unit_test(test_plain_bounds),
		cmocka_unit_test(test_plain_challenge),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_login_malformed),
		cmocka_unit_test(test_start_syntax),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
