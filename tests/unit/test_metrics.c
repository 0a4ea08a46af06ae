/*
 * test_metrics.c: proxy/metrics.c, the counters behind metrics_listen.
 * A golden exposition (every family, HELP/TYPE, label escaping, the
 * histogram's cumulative buckets), the top-N cut of rule hits, exact sums
 * from threads counting at once without a lock, and the bounds: an
 * oversized label and a full table are counted as dropped, never written.
 * The table is process-wide, so the tests run in this order on purpose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "metrics.h"
#include "sbuf.h"
#include "score.h"

static char *
scrape(void)
{
	struct sbuf b = SBUF_INIT;

	metrics_format(&b);
	sbuf_addc(&b, '\0');
	return b.p;
}

/* The value of the line that starts with series + " ", or -1. */
static long long
value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atoll(p + n + 1);
		p += n;
	}
	return -1;
}

static const char golden[] =
"# HELP moat_build_info moatd's version, always 1\n"
"# TYPE moat_build_info gauge\n"
"moat_build_info{version=\"1.2.3\"} 1\n"
"# HELP moat_sessions_total client sessions ended, by listener and close "
"reason\n"
"# TYPE moat_sessions_total counter\n"
"moat_sessions_total{listener=\"smtp\",reason=\"pregreet\"} 1\n"
"moat_sessions_total{listener=\"smtp\",reason=\"quit\"} 2\n"
"# HELP moat_transactions_total transactions ended, by listener, verdict "
"and status\n"
"# TYPE moat_transactions_total counter\n"
"moat_transactions_total{listener=\"smtp\",verdict=\"reject\","
"status=\"refused\"} 1\n"
"# HELP moat_refusals_total refusals (event=reject), by stage and reply "
"code\n"
"# TYPE moat_refusals_total counter\n"
"moat_refusals_total{stage=\"connect\",code=\"\"} 1\n"
"moat_refusals_total{stage=\"data\",code=\"550\"} 1\n"
"moat_refusals_total{stage=\"helo\",code=\"550\"} 1\n"
"moat_refusals_total{stage=\"rcpt\",code=\"554 5.7.1\"} 2\n"
"# HELP moat_greylist_total transactions by greylist outcome (greylisting "
"on)\n"
"# TYPE moat_greylist_total counter\n"
"moat_greylist_total{result=\"new\"} 1\n"
"# HELP moat_ratelimit_hits_total rate limits exceeded, by limit\n"
"# TYPE moat_ratelimit_hits_total counter\n"
"moat_ratelimit_hits_total{limit=\"conn_per_ip\"} 1\n"
"# HELP moat_backend_errors_total backend failures, by error\n"
"# TYPE moat_backend_errors_total counter\n"
"moat_backend_errors_total{error=\"a\\\"b\\\\c\\nd\"} 1\n"
"# HELP moat_transaction_seconds MAIL to the end of the transaction "
"(backend reply included)\n"
"# TYPE moat_transaction_seconds histogram\n"
"moat_transaction_seconds_bucket{le=\"0.01\"} 0\n"
"moat_transaction_seconds_bucket{le=\"0.05\"} 0\n"
"moat_transaction_seconds_bucket{le=\"0.1\"} 0\n"
"moat_transaction_seconds_bucket{le=\"0.25\"} 1\n"
"moat_transaction_seconds_bucket{le=\"0.5\"} 1\n"
"moat_transaction_seconds_bucket{le=\"1\"} 1\n"
"moat_transaction_seconds_bucket{le=\"2.5\"} 1\n"
"moat_transaction_seconds_bucket{le=\"5\"} 1\n"
"moat_transaction_seconds_bucket{le=\"10\"} 1\n"
"moat_transaction_seconds_bucket{le=\"30\"} 1\n"
"moat_transaction_seconds_bucket{le=\"60\"} 1\n"
"moat_transaction_seconds_bucket{le=\"+Inf\"} 1\n"
"moat_transaction_seconds_sum 0.120000\n"
"moat_transaction_seconds_count 1\n"
"# HELP moat_wait_seconds how long sessions waited, by what for: the "
"backend's replies (CONNECT, RSET, MAIL, RCPT, DATA, REPLAY, AUTHBE), the "
"store (GREY, RATE), DNS, AUTH hashing, TLS, AUTHDELAY\n"
"# TYPE moat_wait_seconds histogram\n"
"# HELP moat_store_failures_total greylist/rate-limit store errors, by "
"operation\n"
"# TYPE moat_store_failures_total counter\n"
"moat_store_failures_total{op=\"ratelimit\"} 1\n"
"# HELP moat_tls_handshakes_total TLS handshakes with clients, by result\n"
"# TYPE moat_tls_handshakes_total counter\n"
"moat_tls_handshakes_total{result=\"ok\"} 1\n"
"# HELP moat_auth_total AUTH attempts, by result (ok or the failure)\n"
"# TYPE moat_auth_total counter\n"
"moat_auth_total{result=\"bad-password\"} 1\n"
"# HELP moat_rule_hits_total rule hits in ended transactions (the most "
"hit rules only)\n"
"# TYPE moat_rule_hits_total counter\n"
"moat_rule_hits_total{rule=\"MOAT_GTUBE\"} 1\n"
"# HELP moat_config_last_reload_successful 1 if the last reload (SIGHUP) "
"was taken, 0 if refused\n"
"# TYPE moat_config_last_reload_successful gauge\n"
"moat_config_last_reload_successful 0\n"
"# HELP moat_config_last_reload_timestamp_seconds when the configuration "
"and rules in force were loaded\n"
"# TYPE moat_config_last_reload_timestamp_seconds gauge\n"
"moat_config_last_reload_timestamp_seconds 1700000000\n"
"# HELP moat_config_reloads_total reloads (SIGHUP), by result\n"
"# TYPE moat_config_reloads_total counter\n"
"moat_config_reloads_total{result=\"ok\"} 1\n"
"moat_config_reloads_total{result=\"refused\"} 1\n"
"# HELP moat_metrics_dropped_total counts lost because the series table "
"was full\n"
"# TYPE moat_metrics_dropped_total counter\n"
"moat_metrics_dropped_total 0\n";

static void
test_golden(void **state)
{
	struct score_card card;
	char *got;

	(void)state;
	score_card_init(&card);
	score_card_add(&card, "MOAT_GTUBE", 1000, 1, "GTUBE", "rules");
	score_card_add(&card, "BAYES_99", 3, 1, "bayes", "bayes");
	metrics_build_info("1.2.3");
	metrics_session("smtp", "quit");
	metrics_session("smtp", "quit");
	metrics_session("smtp", "pregreet");
	metrics_tx("smtp", "reject", "refused", "new", &card, 1000, 1120);
	metrics_tx(NULL, NULL, NULL, "off", NULL, 0, 0);	/* see below */
	/* Only the codes of the reply: the address stays out. */
	metrics_refusal("rcpt", "554 5.7.1 <a@b.test>: Relay access denied");
	metrics_refusal("rcpt", "554 5.7.1");
	metrics_refusal("data", "550 5.7.1x spam");	/* not a code: 550 */
	metrics_refusal("helo", "550-5.7.1 first line");
	metrics_refusal("connect", NULL);
	metrics_ratelimit("conn_per_ip", 1);
	metrics_backend_error("a\"b\\c\nd");
	metrics_tls("ok");
	metrics_auth("bad-password");
	metrics_reload(1, 1700000000);
	metrics_reload(0, 1800000000);
	score_card_free(&card);
	got = scrape();
	/* The NULL labels went in as "", in a series of their own. */
	assert_int_equal(value_of(got, "moat_transactions_total{listener=\"\","
	    "verdict=\"\",status=\"\"}"), 1);
	{
		/* Cut that one line out; the rest is the golden text. */
		char *p = strstr(got, "moat_transactions_total{listener=\"\"");
		char *e = strchr(p, '\n');

		memmove(p, e + 1, strlen(e + 1) + 1);
	}
	assert_string_equal(got, golden);
	free(got);
}

/* A wait of about 3 s lands in the le="5" bucket, not below. */
static void
test_wait(void **state)
{
	int64_t t0 = clock_mono_ms();
	char *got;

	(void)state;
	assert_true(metrics_wait(NULL, 0) >= t0);
	assert_true(metrics_wait("GREY", t0 - 3000) >= t0);
	got = scrape();
	assert_int_equal(value_of(got,
	    "moat_wait_seconds_bucket{wait=\"GREY\",le=\"2.5\"}"), 0);
	assert_int_equal(value_of(got,
	    "moat_wait_seconds_bucket{wait=\"GREY\",le=\"5\"}"), 1);
	assert_int_equal(value_of(got,
	    "moat_wait_seconds_bucket{wait=\"GREY\",le=\"+Inf\"}"), 1);
	assert_int_equal(value_of(got, "moat_wait_seconds_count{wait="
	    "\"GREY\"}"), 1);
	free(got);
}

static void
test_top_rules(void **state)
{
	struct score_card card;
	char name[32];
	char *got;
	int i, j, lines = 0;
	const char *p;

	(void)state;
	/* T00..T59 hit 2..61 times: only the 50 most hit (T10..) show. */
	for (i = 0; i < 60; i++) {
		score_card_init(&card);
		snprintf(name, sizeof(name), "T%02d", i);
		score_card_add(&card, name, 1, 1, "", "rules");
		for (j = 0; j < i + 2; j++)
			metrics_tx("smtp", "accept", "sent", NULL, &card, 0, 0);
		score_card_free(&card);
	}
	got = scrape();
	for (p = got; (p = strstr(p, "\nmoat_rule_hits_total{")) != NULL; p++)
		lines++;
	assert_int_equal(lines, METRICS_TOP_RULES);
	assert_int_equal(value_of(got, "moat_rule_hits_total{rule=\"T59\"}"),
	    61);
	assert_int_equal(value_of(got, "moat_rule_hits_total{rule=\"T10\"}"),
	    12);
	assert_int_equal(value_of(got, "moat_rule_hits_total{rule=\"T09\"}"),
	    -1);
	assert_int_equal(value_of(got,
	    "moat_rule_hits_total{rule=\"MOAT_GTUBE\"}"), -1);
	free(got);
}

#define NTHREADS	4
#define NINC		100000

static void *
counter_thread(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < NINC; i++) {
		metrics_refusal("helo", "550 5.7.1");
		metrics_auth(i % 2 ? "ok" : "bad-password");
	}
	return NULL;
}

static void
test_threads_count_exactly(void **state)
{
	pthread_t t[NTHREADS];
	char *got;
	int i;

	(void)state;
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, counter_thread,
		    NULL), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	got = scrape();
	assert_int_equal(value_of(got, "moat_refusals_total{stage=\"helo\","
	    "code=\"550 5.7.1\"}"),
	    NTHREADS * NINC);
	assert_int_equal(value_of(got, "moat_auth_total{result=\"ok\"}"),
	    NTHREADS * NINC / 2);
	assert_int_equal(value_of(got,
	    "moat_auth_total{result=\"bad-password\"}"),
	    NTHREADS * NINC / 2 + 1);
	free(got);
}

static void
test_bounds(void **state)
{
	char big[400], name[32];
	char *got;
	int i;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	metrics_refusal(big, NULL);
	got = scrape();
	assert_null(strstr(got, "xxxxxxxx"));
	assert_int_equal(value_of(got, "moat_metrics_dropped_total"), 1);
	free(got);
	/* More series than slots: the table fills, the rest is dropped. */
	for (i = 0; i < METRICS_SLOTS + 100; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		metrics_refusal(name, NULL);
	}
	got = scrape();
	assert_true(value_of(got, "moat_metrics_dropped_total") > 100);
	assert_int_equal(value_of(got, "moat_refusals_total{stage=\"helo\","
	    "code=\"550 5.7.1\"}"),
	    NTHREADS * NINC);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_top_rules),
		cmocka_unit_test(test_threads_count_exactly),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
