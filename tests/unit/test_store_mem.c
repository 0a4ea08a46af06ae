/*
 * test_store_mem.c: the memory store (store/store_mem.c) on a real
 * event_base: callbacks come from the loop, never synchronously; greylist
 * check/pending/pass/expire with delays of a few tens of ms; counters;
 * whitelist entries; admin operations; cancel; the entry bound.  Every
 * wait is bounded (run_until gives up after 2 s).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "store.h"

struct ctx {
	struct event_base *base;
	struct store	*st;
	struct store_conn *c;
	struct grey_params p;
	int		 calls;
	int		 err;
	uint64_t	 id;
	struct store_grey_result g;
	long long	 count;
	int		 found;
	struct store_entry e;
	char		 key[GREY_KEY_MAX];
	size_t		 nlist;
	uint64_t	 next;
	long long	 tot[3];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until x->calls reaches n; fail after 2 s. */
static void
run_until(struct ctx *x, int n)
{
	int64_t t0 = mono_ms();

	while (x->calls < n) {
		event_base_loop(x->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (mono_ms() - t0 > 2000)
			fail_msg("no callback within 2 s");
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Sleep until just after the start of a window of w ms (store clock). */
static void
align(long w)
{
	struct timespec ts;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if ((ts.tv_sec % 1000 * 1000 + ts.tv_nsec / 1000000) % w < 10)
			return;
		sleep_ms(1);
	}
}

static void
grey_cb(void *arg, uint64_t id, int err, const struct store_grey_result *r)
{
	struct ctx *x = arg;

	x->calls++;
	x->err = err;
	x->id = id;
	if (r != NULL)
		x->g = *r;
}

static void
count_cb(void *arg, uint64_t id, int err, long long n)
{
	struct ctx *x = arg;

	(void)id;
	x->calls++;
	x->err = err;
	x->count = n;
}

static void
void_cb(void *arg, uint64_t id, int err)
{
	struct ctx *x = arg;

	(void)id;
	x->calls++;
	x->err = err;
}

static void
entry_cb(void *arg, uint64_t id, int err, int found,
    const struct store_entry *e)
{
	struct ctx *x = arg;

	(void)id;
	x->calls++;
	x->err = err;
	x->found = found;
	if (found) {
		x->e = *e;
		snprintf(x->key, sizeof(x->key), "%s", e->key);
		x->e.key = x->key;
	}
}

static void
list_cb(void *arg, uint64_t id, int err, const struct store_entry *v,
    size_t n, uint64_t next)
{
	struct ctx *x = arg;

	(void)id;
	(void)v;
	x->calls++;
	x->err = err;
	x->nlist += n;
	x->next = next;
}

static void
total_cb(void *arg, uint64_t id, int err, long long t, long long a,
    long long w)
{
	struct ctx *x = arg;

	(void)id;
	x->calls++;
	x->err = err;
	x->tot[0] = t;
	x->tot[1] = a;
	x->tot[2] = w;
}

static int
setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));
	struct store_mem_params mp = { 0, 0 };

	x->base = event_base_new();
	x->st = store_mem_new(&mp);
	x->c = store_conn_new(x->st, x->base);
	grey_params_default(&x->p);
	x->p.delay_ms = 60;
	x->p.retry_window_ms = 400;
	x->p.pass_lifetime_ms = 300;
	x->p.awl_passes = 0;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *x = *state;

	store_conn_free(x->c);
	store_free(x->st);
	event_base_free(x->base);
	free(x);
	return 0;
}

static void
trip(struct grey_triplet *t, const char *client, const char *s,
    const char *r)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->client, sizeof(t->client), "%s", client);
	grey_normalize_sender(t->sender, s);
	grey_normalize_rcpt(t->rcpt, r);
}

/* One greylist check, run to completion. */
static enum grey_decision
check(struct ctx *x, const struct grey_triplet *t)
{
	int n = x->calls;
	uint64_t id;

	id = store_grey_check(x->c, t, &x->p, grey_cb, x);
	assert_true(id != 0);
	/* Never synchronously. */
	assert_int_equal(x->calls, n);
	run_until(x, n + 1);
	assert_int_equal(x->err, STORE_OK);
	assert_true(x->id == id);
	return x->g.decision;
}

static void
test_greylist_cycle(void **state)
{
	struct ctx *x = *state;
	struct grey_triplet t, u;

	trip(&t, "192.0.2.0/24", "a@example.org", "b@example.net");
	trip(&u, "192.0.2.0/24", "a@example.org", "c@example.net");
	assert_int_equal(check(x, &t), GREY_NEW);
	assert_int_equal(x->g.wait_s, 1);
	assert_int_equal(check(x, &t), GREY_PENDING);
	assert_int_equal(check(x, &u), GREY_NEW);	/* other rcpt */
	sleep_ms(80);
	assert_int_equal(check(x, &t), GREY_PASSED);
	assert_int_equal(x->g.pass_count, 1);
	assert_int_equal(check(x, &t), GREY_PASSED);
	assert_int_equal(x->g.pass_count, 2);
	/* The pass lifetime (300 ms) is refreshed on use... */
	sleep_ms(200);
	assert_int_equal(check(x, &t), GREY_PASSED);
	sleep_ms(200);
	assert_int_equal(check(x, &t), GREY_PASSED);
	/* ...and expires without it. */
	sleep_ms(350);
	assert_int_equal(check(x, &t), GREY_NEW);
	/* A pending triplet expires after the retry window (400 ms). */
	sleep_ms(450);
	assert_int_equal(check(x, &u), GREY_NEW);
}

static void
test_awl_and_white(void **state)
{
	struct ctx *x = *state;
	struct grey_triplet t, u;
	int i;

	x->p.awl_passes = 2;
	x->p.awl_interval_ms = 0;
	x->p.delay_ms = 0;
	trip(&t, "sg.example", "a@example.org", "b@example.net");
	trip(&u, "sg.example", "z@example.org", "y@example.net");
	assert_int_equal(check(x, &t), GREY_NEW);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(check(x, &t), GREY_PASSED);
		assert_int_equal(x->g.awl_count, i);
	}
	assert_int_equal(check(x, &u), GREY_WHITELISTED);
	assert_int_equal(x->g.manual, 0);

	/* A manual whitelist entry, with its own TTL. */
	trip(&u, "198.51.100.0/24", "z@example.org", "y@example.net");
	store_white_add(x->c, "198.51.100.0/24", 100, void_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->err, STORE_OK);
	assert_int_equal(check(x, &u), GREY_WHITELISTED);
	assert_int_equal(x->g.manual, 1);
	sleep_ms(150);
	assert_int_equal(check(x, &u), GREY_NEW);
	store_white_add(x->c, "198.51.100.0/24", 0, void_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->err, STORE_ERR_ARG);
}

static void
test_counters(void **state)
{
	struct ctx *x = *state;
	int i;
	long long before;

	/* Fixed window: counts within it; a new window starts from 0. */
	for (i = 1; i <= 3; i++) {
		store_count(x->c, "conn:192.0.2.7", 100000, 0, 1, count_cb, x);
		run_until(x, x->calls + 1);
		assert_int_equal(x->err, STORE_OK);
		assert_true(x->count >= 1 && x->count <= i);
	}
	store_count(x->c, "conn:192.0.2.7", 100000, 0, 0, count_cb, x);
	run_until(x, x->calls + 1);
	before = x->count;
	assert_true(before >= 1 && before <= 3);
	store_count(x->c, "conn:192.0.2.7", 100000, 0, 5, count_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->count, before + 5);

	/* A short window expires. */
	store_count(x->c, "msg:x", 50, 0, 1, count_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->count, 1);
	sleep_ms(120);
	store_count(x->c, "msg:x", 50, 0, 0, count_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->count, 0);

	/* Sliding: the previous window still weighs in. */
	align(200);
	store_count(x->c, "rcpt:s", 200, 1, 10, count_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->count, 10);
	sleep_ms(210);
	store_count(x->c, "rcpt:s", 200, 1, 0, count_cb, x);
	run_until(x, x->calls + 1);
	assert_true(x->count > 0 && x->count <= 10);
	sleep_ms(450);
	store_count(x->c, "rcpt:s", 200, 1, 0, count_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->count, 0);

	/* Bad arguments. */
	store_count(x->c, "x", 0, 0, 1, count_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->err, STORE_ERR_ARG);
}

static void
test_admin(void **state)
{
	struct ctx *x = *state;
	struct grey_triplet t;
	char key[GREY_KEY_MAX];
	int i;

	x->p.pass_lifetime_ms = 100000;
	x->p.retry_window_ms = 100000;
	for (i = 0; i < 30; i++) {
		char s[32];

		snprintf(s, sizeof(s), "s%d@example.org", i);
		trip(&t, "192.0.2.0/24", s, "r@example.net");
		(void)check(x, &t);
	}
	trip(&t, "192.0.2.0/24", "s3@example.org", "r@example.net");
	grey_key_triplet(key, sizeof(key), "", &t);
	store_admin_lookup(x->c, key, entry_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->err, STORE_OK);
	assert_int_equal(x->found, 1);
	assert_int_equal(x->e.kind, STORE_E_TRIPLET);
	assert_string_equal(x->e.key, key);
	assert_int_equal(x->e.rec.passed_until, 0);
	assert_true(x->e.ttl_ms > 0 && x->e.ttl_ms <= 100000);

	store_admin_pass(x->c, &t, &x->p, void_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(check(x, &t), GREY_PASSED);
	assert_int_equal(x->g.pass_count, 2);

	store_admin_count(x->c, total_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->tot[0], 30);
	assert_int_equal(x->tot[1], 0);
	assert_int_equal(x->tot[2], 0);

	/* Pages of at most ~7 until the cursor comes back 0. */
	x->nlist = 0;
	x->next = 0;
	do {
		store_admin_list(x->c, STORE_E_TRIPLET, x->next, 7, list_cb,
		    x);
		run_until(x, x->calls + 1);
		assert_int_equal(x->err, STORE_OK);
	} while (x->next != 0);
	assert_int_equal(x->nlist, 30);

	store_admin_delete(x->c, key, void_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->err, STORE_OK);
	store_admin_lookup(x->c, key, entry_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->found, 0);
	store_admin_lookup(x->c, "q:nothing", entry_cb, x);
	run_until(x, x->calls + 1);
	assert_int_equal(x->err, STORE_ERR_ARG);
	assert_int_equal(check(x, &t), GREY_NEW);
}

static void
test_cancel(void **state)
{
	struct ctx *x = *state;
	struct grey_triplet t;
	uint64_t a, b;

	trip(&t, "192.0.2.0/24", "a@b", "c@d");
	a = store_grey_check(x->c, &t, &x->p, grey_cb, x);
	b = store_grey_check(x->c, &t, &x->p, grey_cb, x);
	assert_true(a != b);
	store_cancel(x->c, a);
	store_cancel(x->c, 0);
	store_cancel(x->c, 999999);
	run_until(x, 1);
	assert_true(x->id == b);
	assert_int_equal(x->g.decision, GREY_PENDING);	/* a was applied */
	/* Pending requests of a freed conn never call back. */
	(void)store_grey_check(x->c, &t, &x->p, grey_cb, x);
	store_conn_free(x->c);
	x->c = store_conn_new(x->st, x->base);
	event_base_loop(x->base, EVLOOP_NONBLOCK);
	assert_int_equal(x->calls, 1);
	assert_int_equal(store_conn_up(x->c), 1);
	assert_string_equal(store_kind(x->st), "memory");
}

static void
test_bound(void **state)
{
	struct ctx *x = *state;
	struct store_mem_params mp = { 50, 0 };
	struct store *st = store_mem_new(&mp);
	struct store_conn *c = store_conn_new(st, x->base);
	struct store_conn *keep = x->c;
	struct grey_triplet t;
	int i;

	x->c = c;
	for (i = 0; i < 500; i++) {
		char s[32];

		snprintf(s, sizeof(s), "s%d@example.org", i);
		trip(&t, "192.0.2.0/24", s, "r@example.net");
		(void)check(x, &t);
	}
	store_admin_count(c, total_cb, x);
	run_until(x, x->calls + 1);
	assert_true(x->tot[0] <= 50 && x->tot[0] >= 40);
	/* The newest survives. */
	assert_int_equal(check(x, &t), GREY_PENDING);
	x->c = keep;
	store_conn_free(c);
	store_free(st);
}

static void
test_err_names(void **state)
{
	(void)state;
	assert_string_equal(store_err_name(STORE_OK), "ok");
	assert_string_equal(store_err_name(STORE_ERR_TIMEOUT), "timeout");
	assert_string_equal(store_err_name(STORE_ERR_DOWN), "down");
	assert_string_equal(store_err_name(STORE_ERR_BUSY), "busy");
	assert_string_equal(store_err_name(STORE_ERR_PROTO), "protocol");
	assert_string_equal(store_err_name(STORE_ERR_ARG), "argument");
	assert_string_equal(store_err_name(99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greylist_cycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_awl_and_white, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test(test_err_names),
	};

	log_init(0, 0, "test_store_mem", LOG_FMT_LOGFMT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
