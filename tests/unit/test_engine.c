/*
 * test_engine.c: the step driver (engine/engine.c) through real steps:
 * a stage decided at once (relay control: DONE, done called inside
 * eng_stage), a stage that waits for the store (PENDING, the wait's name,
 * resumed from the loop, one done per stage), and a transaction freed
 * while a step waits (no completion ever comes).  Memory store on a
 * private event loop; no sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <event2/event.h>

#include "engine.h"
#include "moat_conf.h"
#include "rule.h"
#include "smtp_cmd.h"
#include "store.h"

static char tmpdir[] = "/tmp/test_engine.XXXXXX";

struct got {
	int			 calls;
	struct eng_outcome	 o;
};

static void
done_cb(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	struct got *g = arg;

	(void)tx;
	g->calls++;
	g->o = *o;
}

static struct config *
load(const char *text)
{
	char path[PATH_MAX], err[512];
	struct config *cfg;
	int fd;

	snprintf(path, sizeof(path), "%s/moat.conf", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cfg = cfg_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("cfg_load: %s", err);
	return cfg;
}

#define BASE	"listen 127.0.0.1:2525\nbackend 127.0.0.1:10025\n" \
		"hostname mx.example.test\nlocal_domains example.test\n"

static void
rcpt(struct eng_tx *tx, const char *addr)
{
	char store[256];
	struct smtp_path p;
	size_t end;
	char buf[128];

	snprintf(buf, sizeof(buf), "<%s>", addr);
	assert_int_equal(smtp_path_parse(buf, strlen(buf), store,
	    sizeof(store), &p, &end), 0);
	eng_tx_rcpt_path(tx, &p);
}

/* Relay control decides at once; a local recipient goes on. */
static void
test_relay_at_once(void **state)
{
	struct config *cfg = load(BASE);
	struct rule_scratch *sc = rule_scratch_new();
	struct eng_io io;
	struct netaddr a;
	struct eng_tx *tx;
	struct got g;

	(void)state;
	memset(&io, 0, sizeof(io));
	io.scratch = sc;
	tx = eng_tx_new(cfg, NULL, &io, "0123456789abcdef");
	assert_int_equal(netaddr_parse(&a, "192.0.2.7"), 0);
	eng_tx_client(tx, &a, 2525, 0);
	eng_tx_mail(tx, "s@example.org", 0, 0, 0);

	memset(&g, 0, sizeof(g));
	rcpt(tx, "someone@elsewhere.test");
	assert_int_equal(eng_stage(tx, ENG_RCPT, done_cb, &g), ENG_DONE);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.o.act, ENG_REPLY);
	assert_int_equal(g.o.code, 554);
	assert_string_equal(g.o.enh, "5.7.1");
	assert_string_equal(g.o.text,
	    "<someone@elsewhere.test>: Relay access denied");
	assert_string_equal(g.o.log_key, "rcpt");

	memset(&g, 0, sizeof(g));
	rcpt(tx, "alice@example.test");
	assert_int_equal(eng_stage(tx, ENG_RCPT, done_cb, &g), ENG_DONE);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.o.act, ENG_CONTINUE);
	eng_tx_rcpt_accepted(tx);
	assert_int_equal(tx->nrcpt, 1);
	assert_string_equal(tx->rcpt[0], "alice@example.test");
	/* A trick is refused even for a local domain. */
	memset(&g, 0, sizeof(g));
	rcpt(tx, "bob%elsewhere.test@example.test");
	eng_stage(tx, ENG_RCPT, done_cb, &g);
	assert_int_equal(g.o.code, 554);

	eng_tx_free(tx);
	rule_scratch_free(sc);
	cfg_unref(cfg);
}

/*
 * A rate limit waits for the store: PENDING, named RATE, resumed from the
 * loop with one done; the second connection goes over the limit.  A third
 * freed while its step waits never completes.
 */
static void
test_pending_resume_cancel(void **state)
{
	struct config *cfg = load(BASE "ratelimit_conn_per_ip 1/60s\n");
	struct rule_scratch *sc = rule_scratch_new();
	struct store_mem_params mp = { 0, 0 };
	struct event_base *base = event_base_new();
	struct store *st = store_mem_new(&mp);
	struct store_conn *sconn = store_conn_new(st, base);
	struct eng_io io;
	struct netaddr a;
	struct eng_tx *tx;
	struct got g;
	int i;

	(void)state;
	memset(&io, 0, sizeof(io));
	io.base = base;
	io.store = sconn;
	io.scratch = sc;
	assert_int_equal(netaddr_parse(&a, "192.0.2.8"), 0);
	for (i = 0; i < 2; i++) {
		tx = eng_tx_new(cfg, NULL, &io, "0123456789abcdef");
		eng_tx_client(tx, &a, 2525, 0);
		memset(&g, 0, sizeof(g));
		assert_int_equal(eng_stage(tx, ENG_CONNECT, done_cb, &g),
		    ENG_PENDING);
		assert_int_equal(g.calls, 0);
		assert_string_equal(eng_wait_name(tx), "RATE");
		event_base_loop(base, EVLOOP_ONCE);
		assert_int_equal(g.calls, 1);
		assert_null(eng_wait_name(tx));
		if (i == 0)
			assert_int_equal(g.o.act, ENG_CONTINUE);
		else {
			assert_int_equal(g.o.act, ENG_REPLY);
			assert_int_equal(g.o.code, 421);
			assert_true(g.o.close);
			assert_string_equal(g.o.reason, "ratelimit");
		}
		eng_tx_free(tx);
	}
	tx = eng_tx_new(cfg, NULL, &io, "0123456789abcdef");
	eng_tx_client(tx, &a, 2525, 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(eng_stage(tx, ENG_CONNECT, done_cb, &g), ENG_PENDING);
	eng_tx_free(tx);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 0);

	store_conn_free(sconn);
	store_free(st);
	event_base_free(base);
	rule_scratch_free(sc);
	cfg_unref(cfg);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_at_once),
		cmocka_unit_test(test_pending_resume_cancel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
