/*
 * test_smtp_esmtp.c: the pass-through parameter values (DSN, AUTH=).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "smtp_esmtp.h"

static void
test_xtext(void **state)
{
	char big[SMTP_ENVID_MAX + 2];

	(void)state;
	assert_true(smtp_xtext_valid("abc", 100));
	assert_true(smtp_xtext_valid("a+2Bb+3Dc", 100));	/* '+', '=' */
	assert_true(smtp_xtext_valid("<>", 100));
	assert_true(smtp_xtext_valid("QQ12345@host.example", 100));
	assert_false(smtp_xtext_valid("", 100));
	assert_false(smtp_xtext_valid(NULL, 100));
	assert_false(smtp_xtext_valid("a+2b", 100));	/* lower-case hex */
	assert_false(smtp_xtext_valid("a+2", 100));
	assert_false(smtp_xtext_valid("a+", 100));
	assert_false(smtp_xtext_valid("a=b", 100));
	assert_false(smtp_xtext_valid("a b", 100));
	assert_false(smtp_xtext_valid("a\x7f", 100));
	assert_false(smtp_xtext_valid("\xc3\xa9", 100));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(smtp_xtext_valid(big, SMTP_ENVID_MAX));
	big[SMTP_ENVID_MAX] = '\0';
	assert_true(smtp_xtext_valid(big, SMTP_ENVID_MAX));
}

static void
test_ret(void **state)
{
	(void)state;
	assert_true(smtp_dsn_ret_valid("FULL"));
	assert_true(smtp_dsn_ret_valid("hdrs"));
	assert_false(smtp_dsn_ret_valid("HEADERS"));
	assert_false(smtp_dsn_ret_valid(""));
	assert_false(smtp_dsn_ret_valid(NULL));
}

static void
test_notify(void **state)
{
	(void)state;
	assert_int_equal(smtp_dsn_notify("NEVER"), SMTP_NOTIFY_NEVER);
	assert_int_equal(smtp_dsn_notify("success"), SMTP_NOTIFY_SUCCESS);
	assert_int_equal(smtp_dsn_notify("SUCCESS,FAILURE,DELAY"),
	    SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
	assert_int_equal(smtp_dsn_notify("DELAY,FAILURE"),
	    SMTP_NOTIFY_DELAY | SMTP_NOTIFY_FAILURE);
	assert_int_equal(smtp_dsn_notify("NEVER,SUCCESS"), 0);
	assert_int_equal(smtp_dsn_notify("SUCCESS,SUCCESS"), 0);
	assert_int_equal(smtp_dsn_notify("SUCCESS,"), 0);
	assert_int_equal(smtp_dsn_notify(",SUCCESS"), 0);
	assert_int_equal(smtp_dsn_notify("SUCCES"), 0);
	assert_int_equal(smtp_dsn_notify(""), 0);
	assert_int_equal(smtp_dsn_notify(NULL), 0);
}

static void
test_orcpt(void **state)
{
	char big[SMTP_ORCPT_MAX + 2];

	(void)state;
	assert_true(smtp_dsn_orcpt_valid("rfc822;alice@example.test", 0));
	assert_true(smtp_dsn_orcpt_valid("RFC822;a+2Bb@example.test", 0));
	assert_true(smtp_dsn_orcpt_valid("x-local;12", 0));
	assert_false(smtp_dsn_orcpt_valid("rfc822", 0));
	assert_false(smtp_dsn_orcpt_valid(";a@b", 0));
	assert_false(smtp_dsn_orcpt_valid("rfc 822;a@b", 0));
	assert_false(smtp_dsn_orcpt_valid("rfc822;", 0));
	assert_false(smtp_dsn_orcpt_valid("rfc822;a=b", 0));
	assert_false(smtp_dsn_orcpt_valid("rfc822;\xc3\xa9@b", 1));
	/* RFC 6533: utf-8 addr-type. */
	assert_true(smtp_dsn_orcpt_valid("utf-8;j\\x{E9}r\\x{f4}me@b", 0));
	assert_true(smtp_dsn_orcpt_valid("UTF-8;\xc3\xa9@b", 1));
	assert_false(smtp_dsn_orcpt_valid("utf-8;\xc3\xa9@b", 0));
	assert_false(smtp_dsn_orcpt_valid("utf-8;a\\x{}b", 0));
	assert_false(smtp_dsn_orcpt_valid("utf-8;a\\x{1234567}b", 0));
	assert_false(smtp_dsn_orcpt_valid("utf-8;a\\b", 0));
	assert_false(smtp_dsn_orcpt_valid("utf-8;a+2Bb", 0));
	memcpy(big, "rfc822;", 7);
	memset(big + 7, 'x', sizeof(big) - 8);
	big[sizeof(big) - 1] = '\0';
	assert_false(smtp_dsn_orcpt_valid(big, 0));
	big[SMTP_ORCPT_MAX] = '\0';
	assert_true(smtp_dsn_orcpt_valid(big, 0));
}

static void
test_auth(void **state)
{
	(void)state;
	assert_true(smtp_auth_param_valid("<>"));
	assert_true(smtp_auth_param_valid("alice@example.test"));
	assert_true(smtp_auth_param_valid("e+3Dmc2@example.com"));
	assert_false(smtp_auth_param_valid("e=mc2@example.com"));
	assert_false(smtp_auth_param_valid(""));
	assert_false(smtp_auth_param_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_ret),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_orcpt),
		cmocka_unit_test(test_auth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
