/*
 * test_store_cfg.c: the greylist parameters and the store as the config
 * gives them (store/store_cfg.c), shared by moatd and moatctl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "moat_conf.h"
#include "store_cfg.h"

static void
test_grey_params(void **state)
{
	struct config *c = cfg_defaults();
	struct grey_params p;
	char err[256];

	(void)state;
	c->greylist_delay_ms = 2000;
	c->greylist_ipv4_prefix = 16;
	c->greylist_fcrdns = 0;
	store_cfg_grey_params(c, &p);
	assert_int_equal(p.delay_ms, 2000);
	assert_int_equal(p.v4_prefix, 16);
	assert_int_equal(p.v6_prefix, 64);
	assert_int_equal(p.use_fcrdns, 0);
	assert_int_equal(p.pass_lifetime_ms, 35LL * 86400 * 1000);
	assert_int_equal(grey_params_check(&p, err, sizeof(err)), 0);
	cfg_unref(c);
}

static void
test_open(void **state)
{
	struct config *c = cfg_defaults();
	struct store *st = NULL;
	char err[256] = "";

	(void)state;
	/* memory (the default) */
	assert_int_equal(store_cfg_open(c, &st, err, sizeof(err)), 0);
	assert_string_equal(store_kind(st), "memory");
	store_free(st);
	/* redis: where to connect, nothing connected yet */
	c->store_kind = CFG_STORE_REDIS;
	st = NULL;
	assert_int_equal(store_cfg_open(c, &st, err, sizeof(err)), 0);
	assert_string_equal(store_kind(st), "redis");
	store_free(st);
	/* a server without a port */
	free(c->redis_server);
	c->redis_server = strdup("localhost");
	assert_int_equal(store_cfg_open(c, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "redis_server localhost: want"));
	/* a password file that is not there */
	free(c->redis_server);
	c->redis_server = strdup("unix:/nonexistent/redis.sock");
	c->redis_password_file = strdup("/nonexistent/moat-redis-pass");
	assert_int_equal(store_cfg_open(c, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err,
	    "redis_password_file /nonexistent/moat-redis-pass:"));
	cfg_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grey_params),
		cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
