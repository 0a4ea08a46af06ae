/*
 * test_smtp_fsm.c: command ordering (RFC 5321 4.1.4) as smtp_fsm judges it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_fsm.h"

struct want {
	enum smtp_state	 st;
	enum smtp_verb	 verb;
	int		 code;		/* 0: allowed */
	const char	*enh;
};

static const struct want table[] = {
	/* Before HELO/EHLO: only session commands. */
	{ SMTP_ST_CONNECTED, SMTP_CMD_EHLO, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_HELO, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_MAIL, 503, "5.5.1" },
	{ SMTP_ST_CONNECTED, SMTP_CMD_RCPT, 503, "5.5.1" },
	{ SMTP_ST_CONNECTED, SMTP_CMD_DATA, 503, "5.5.1" },
	{ SMTP_ST_CONNECTED, SMTP_CMD_NOOP, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_RSET, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_QUIT, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_VRFY, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_HELP, 0, NULL },
	/* After HELO: a transaction may begin. */
	{ SMTP_ST_HELO, SMTP_CMD_MAIL, 0, NULL },
	{ SMTP_ST_HELO, SMTP_CMD_RCPT, 503, "5.5.1" },
	{ SMTP_ST_HELO, SMTP_CMD_DATA, 503, "5.5.1" },
	{ SMTP_ST_HELO, SMTP_CMD_EHLO, 0, NULL },
	/* In a transaction. */
	{ SMTP_ST_MAIL, SMTP_CMD_MAIL, 503, "5.5.1" },
	{ SMTP_ST_MAIL, SMTP_CMD_RCPT, 0, NULL },
	{ SMTP_ST_MAIL, SMTP_CMD_DATA, 554, "5.5.1" },
	{ SMTP_ST_MAIL, SMTP_CMD_RSET, 0, NULL },
	{ SMTP_ST_MAIL, SMTP_CMD_EHLO, 0, NULL },
	{ SMTP_ST_RCPT, SMTP_CMD_RCPT, 0, NULL },
	{ SMTP_ST_RCPT, SMTP_CMD_DATA, 0, NULL },
	{ SMTP_ST_RCPT, SMTP_CMD_MAIL, 503, "5.5.1" },
	{ SMTP_ST_RCPT, SMTP_CMD_QUIT, 0, NULL },
	/* Never from a client, whatever the state. */
	{ SMTP_ST_HELO, SMTP_CMD_XCLIENT, 550, "5.7.0" },
	{ SMTP_ST_CONNECTED, SMTP_CMD_XFORWARD, 550, "5.7.0" },
	{ SMTP_ST_RCPT, SMTP_CMD_XCLIENT, 550, "5.7.0" },
	/* Not offered in EHLO, so not implemented here. */
	{ SMTP_ST_HELO, SMTP_CMD_STARTTLS, 0, NULL },
	{ SMTP_ST_CONNECTED, SMTP_CMD_STARTTLS, 0, NULL },
	{ SMTP_ST_DATA, SMTP_CMD_STARTTLS, 503, "5.5.1" },
	{ SMTP_ST_HELO, SMTP_CMD_AUTH, 0, NULL },
	{ SMTP_ST_MAIL, SMTP_CMD_AUTH, 503, "5.5.1" },
	{ SMTP_ST_CONNECTED, SMTP_CMD_AUTH, 503, "5.5.1" },
	/* BDAT (RFC 3030): after a recipient, then only BDAT until LAST. */
	{ SMTP_ST_RCPT, SMTP_CMD_BDAT, 0, NULL },
	{ SMTP_ST_CHUNK, SMTP_CMD_BDAT, 0, NULL },
	{ SMTP_ST_MAIL, SMTP_CMD_BDAT, 554, "5.5.1" },
	{ SMTP_ST_HELO, SMTP_CMD_BDAT, 503, "5.5.1" },
	{ SMTP_ST_CHUNK, SMTP_CMD_DATA, 503, "5.5.1" },
	{ SMTP_ST_CHUNK, SMTP_CMD_RCPT, 503, "5.5.1" },
	{ SMTP_ST_CHUNK, SMTP_CMD_MAIL, 503, "5.5.1" },
	{ SMTP_ST_CHUNK, SMTP_CMD_RSET, 0, NULL },
	{ SMTP_ST_CHUNK, SMTP_CMD_QUIT, 0, NULL },
	{ SMTP_ST_HELO, SMTP_CMD_ETRN, 502, "5.5.1" },
	{ SMTP_ST_HELO, SMTP_CMD_EXPN, 502, "5.5.1" },
	{ SMTP_ST_HELO, SMTP_CMD_UNKNOWN, 500, "5.5.2" },
	/* Nothing is a command while the banner or the message is pending. */
	{ SMTP_ST_GREET, SMTP_CMD_EHLO, 503, "5.5.1" },
	{ SMTP_ST_DATA, SMTP_CMD_QUIT, 503, "5.5.1" },
	{ SMTP_ST_PROXY, SMTP_CMD_HELO, 503, "5.5.1" },
	{ SMTP_ST_QUIT, SMTP_CMD_NOOP, 503, "5.5.1" },
};

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct want *w = &table[i];
		const char *enh = NULL, *text = NULL;
		int code = 0, r;

		r = smtp_fsm_check(w->st, w->verb, &code, &enh, &text);
		if (w->code == 0) {
			assert_int_equal(r, 0);
			continue;
		}
		assert_int_equal(r, -1);
		assert_int_equal(code, w->code);
		assert_string_equal(enh, w->enh);
		assert_non_null(text);
	}
}

static void
test_every_verb_has_a_row(void **state)
{
	int v;

	(void)state;
	for (v = 0; v < SMTP_CMD__COUNT; v++)
		assert_int_equal(smtp_fsm_row((enum smtp_verb)v)->verb, v);
}

static void
test_resets(void **state)
{
	(void)state;
	assert_true(smtp_fsm_row(SMTP_CMD_RSET)->flags & SMTP_CF_RESETS_TX);
	assert_true(smtp_fsm_row(SMTP_CMD_EHLO)->flags & SMTP_CF_RESETS_TX);
	assert_true(smtp_fsm_row(SMTP_CMD_HELO)->flags & SMTP_CF_RESETS_TX);
	assert_false(smtp_fsm_row(SMTP_CMD_NOOP)->flags & SMTP_CF_RESETS_TX);
}

/*
 * MAIL carries the listener's TLS and AUTH requirements for the whole
 * transaction; the verbs that satisfy them must never carry them.
 */
static void
test_requirements(void **state)
{
	const unsigned pre = SMTP_CF_PRE_TLS | SMTP_CF_PRE_AUTH;

	(void)state;
	assert_int_equal(smtp_fsm_row(SMTP_CMD_MAIL)->flags & pre, pre);
	assert_false(smtp_fsm_row(SMTP_CMD_STARTTLS)->flags & pre);
	assert_false(smtp_fsm_row(SMTP_CMD_AUTH)->flags & pre);
	assert_false(smtp_fsm_row(SMTP_CMD_EHLO)->flags & pre);
	assert_false(smtp_fsm_row(SMTP_CMD_QUIT)->flags & pre);
	assert_false(smtp_fsm_row(SMTP_CMD_RSET)->flags & pre);
	assert_true(smtp_fsm_row(SMTP_CMD_STARTTLS)->flags &
	    SMTP_CF_RESETS_TX);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_state_name(SMTP_ST_RCPT), "RCPT");
	assert_string_equal(smtp_state_name(SMTP_ST_PROXY), "PROXY");
	assert_string_equal(smtp_state_name((enum smtp_state)99), "INVALID");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_verb_has_a_row),
		cmocka_unit_test(test_resets),
		cmocka_unit_test(test_requirements),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
