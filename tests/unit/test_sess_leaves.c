/*
 * test_sess_leaves.c: the leaves below moatd's session (issue 13): the
 * AUTH glue's decisions (proxy/sess_auth.c) and the greylist replay's
 * commands (proxy/sess_replay.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "moat_conf.h"
#include "sess_auth.h"
#include "sess_replay.h"

static void
test_plain_line(void **state)
{
	char *l;

	(void)state;
	/* RFC 4616 example: authzid empty, "tim", "tanstaaftanstaaf". */
	l = sess_auth_plain_line("tim", "tanstaaftanstaaf", 16);
	assert_string_equal(l, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	free(l);
	/* Padding: 1 and 2 bytes over a multiple of 3, a NUL in the pass. */
	l = sess_auth_plain_line("u", "p", 1);
	assert_string_equal(l, "AUTH PLAIN AHUAcA==");
	free(l);
	l = sess_auth_plain_line("us", "p", 1);
	assert_string_equal(l, "AUTH PLAIN AHVzAHA=");
	free(l);
	l = sess_auth_plain_line("u", "a\0b", 3);
	assert_string_equal(l, "AUTH PLAIN AHUAYQBi");
	free(l);
}

static void
test_backend_result(void **state)
{
	(void)state;
	assert_int_equal(sess_auth_backend_result(235), PASSWD_OK);
	assert_int_equal(sess_auth_backend_result(535), PASSWD_BAD);
	assert_int_equal(sess_auth_backend_result(554), PASSWD_BAD);
	/* 530 is about moatd's own link: never the client's fault. */
	assert_int_equal(sess_auth_backend_result(530), PASSWD_ERROR);
	assert_int_equal(sess_auth_backend_result(454), PASSWD_ERROR);
	assert_int_equal(sess_auth_backend_result(250), PASSWD_ERROR);
}

static void
test_penalty(void **state)
{
	(void)state;
	assert_int_equal(sess_auth_penalty_ms(0), 0);
	assert_int_equal(sess_auth_penalty_ms(1), 0);
	assert_int_equal(sess_auth_penalty_ms(2), SESS_AUTH_PENALTY_MS);
	assert_int_equal(sess_auth_penalty_ms(4), 3 * SESS_AUTH_PENALTY_MS);
	assert_int_equal(sess_auth_penalty_ms(11), SESS_AUTH_PENALTY_MAX_MS);
	assert_int_equal(sess_auth_penalty_ms(12), SESS_AUTH_PENALTY_MAX_MS);
	/* A huge count from the store must not overflow into a short wait. */
	assert_int_equal(sess_auth_penalty_ms(0x7fffffffffffffffLL),
	    SESS_AUTH_PENALTY_MAX_MS);
}

static void
test_offered(void **state)
{
	struct config cfg;
	struct cfg_listen lst;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&lst, 0, sizeof(lst));
	cfg.auth_backend = 1;
	lst.auth = 1;
	assert_false(sess_auth_offered(&cfg, NULL, NULL, 1, 0));
	/* Only under TLS, unless auth_plaintext. */
	assert_false(sess_auth_offered(&cfg, NULL, &lst, 0, 0));
	assert_true(sess_auth_offered(&cfg, NULL, &lst, 1, 0));
	lst.auth_plaintext = 1;
	assert_true(sess_auth_offered(&cfg, NULL, &lst, 0, 0));
	/* Not again once logged in; not without a way to check. */
	assert_false(sess_auth_offered(&cfg, NULL, &lst, 1, 1));
	cfg.auth_backend = 0;
	assert_false(sess_auth_offered(&cfg, NULL, &lst, 1, 0));
	/* A password file (the snapshot's) is a way to check. */
	assert_true(sess_auth_offered(&cfg, (const struct passwd_db *)&lst,
	    &lst, 1, 0));
	lst.auth = 0;
	cfg.auth_backend = 1;
	assert_false(sess_auth_offered(&cfg, NULL, &lst, 1, 0));
}

static void
test_replay(void **state)
{
	char *rcpt[] = { "a@example.test", "b@example.test" };
	char *dsn[] = { NULL, " NOTIFY=NEVER" };
	struct sbuf l = SBUF_INIT;
	const char *mail = "MAIL FROM:<s@example.org> SIZE=10";

	(void)state;
	assert_int_equal(sess_replay_line(0, mail, rcpt, dsn, 2, &l), 1);
	assert_string_equal(l.p, "RSET");
	assert_int_equal(sess_replay_line(1, mail, rcpt, dsn, 2, &l), 1);
	assert_string_equal(l.p, mail);
	assert_int_equal(sess_replay_line(2, mail, rcpt, dsn, 2, &l), 1);
	assert_string_equal(l.p, "RCPT TO:<a@example.test>");
	assert_int_equal(sess_replay_line(3, mail, rcpt, dsn, 2, &l), 1);
	assert_string_equal(l.p, "RCPT TO:<b@example.test> NOTIFY=NEVER");
	/* Then the message: no recipient beyond those accepted. */
	assert_int_equal(sess_replay_line(4, mail, rcpt, dsn, 2, &l), 0);
	assert_int_equal(l.len, 0);
	assert_int_equal(sess_replay_line(2, mail, rcpt, dsn, 0, &l), 0);
	sbuf_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_line),
		cmocka_unit_test(test_backend_result),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_offered),
		cmocka_unit_test(test_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
