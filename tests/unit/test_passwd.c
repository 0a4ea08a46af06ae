/*
 * test_passwd.c: the `passwd FILE` store (auth/passwd.c): every load
 * error with its file:line, each hash family verified with hashes made
 * here through crypt_gensalt_rn/crypt_rn (yescrypt, bcrypt, sha512-crypt),
 * unknown and locked logins, bad passwords, the choice of the dummy hash,
 * and the hashing pool: results delivered on the loop, cancel in the
 * queued and done states, a full queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "passwd.h"

static char tmpl[] = "/tmp/test_passwd.XXXXXX";
static char path[sizeof(tmpl)];

/* Cheap hashes: these tests check behaviour, not cost. */
static char *
mkhash(const char *prefix, unsigned long count, const char *pass)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, setting,
	    sizeof(setting)));
	memset(&cd, 0, sizeof(cd));
	h = crypt_rn(pass, setting, &cd, sizeof(cd));
	assert_non_null(h);
	assert_true(h[0] == '$');
	return strdup(h);
}

static void
write_file(const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static struct passwd_db *
load_ok(const char *text)
{
	struct passwd_db *db = NULL;
	char err[512] = "";

	write_file(text);
	if (passwd_db_load(path, &db, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	return db;
}

static void
load_err(const char *text, int line, const char *why)
{
	struct passwd_db *db = NULL;
	char err[512] = "", want[512];

	write_file(text);
	assert_int_equal(passwd_db_load(path, &db, err, sizeof(err)), -1);
	assert_null(db);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, why);
	assert_string_equal(err, want);
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	memcpy(path, tmpl, sizeof(tmpl));
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void
check(const struct passwd_db *db, const char *login, const char *pass,
    enum passwd_result want)
{
	assert_int_equal(passwd_check(db, login, pass, strlen(pass)), want);
}

static void
test_verify_each_method(void **state)
{
	char *y = mkhash("$y$", 1, "yes pass");
	char *b = mkhash("$2b$", 4, "bcrypt pass");
	char *s = mkhash("$6$", 1000, "sha pass");
	char *text;
	struct passwd_db *db;

	(void)state;
	assert_true(asprintf(&text, "# users\nyuser:%s\n\n"
	    "  buser:%s  \r\nsuser:%s\nlocked:!%s\nstar:*\nbang:!\n",
	    y, b, s, s) > 0);
	db = load_ok(text);
	assert_int_equal(passwd_db_count(db), 6);

	check(db, "yuser", "yes pass", PASSWD_OK);
	check(db, "buser", "bcrypt pass", PASSWD_OK);
	check(db, "suser", "sha pass", PASSWD_OK);
	check(db, "yuser", "yes pas", PASSWD_BAD);
	check(db, "buser", "Bcrypt pass", PASSWD_BAD);
	check(db, "suser", "", PASSWD_BAD);
	/* The right password for another login. */
	check(db, "suser", "yes pass", PASSWD_BAD);
	/* Logins are case-sensitive. */
	check(db, "YUSER", "yes pass", PASSWD_UNKNOWN);
	check(db, "nobody", "yes pass", PASSWD_UNKNOWN);
	check(db, "", "x", PASSWD_UNKNOWN);
	/* Locked: even the password of the hash behind '!' fails. */
	check(db, "locked", "sha pass", PASSWD_LOCKED);
	check(db, "star", "", PASSWD_LOCKED);
	check(db, "bang", "x", PASSWD_LOCKED);
	/* A NUL in the password, or one over the bound: never OK. */
	assert_int_equal(passwd_check(db, "yuser", "yes pass\0x", 10),
	    PASSWD_BAD);
	{
		char *big = calloc(1, PASSWD_PASS_MAX + 2);

		memset(big, 'p', PASSWD_PASS_MAX + 1);
		assert_int_equal(passwd_check(db, "yuser", big,
		    PASSWD_PASS_MAX + 1), PASSWD_BAD);
		assert_int_equal(passwd_check(db, "nobody", big,
		    PASSWD_PASS_MAX + 1), PASSWD_UNKNOWN);
		free(big);
	}
	passwd_db_free(db);
	passwd_db_free(NULL);
	free(text);
	free(y);
	free(b);
	free(s);
}

static void
test_result_names(void **state)
{
	(void)state;
	assert_string_equal(passwd_result_name(PASSWD_OK), "ok");
	assert_string_equal(passwd_result_name(PASSWD_BAD), "bad-password");
	assert_string_equal(passwd_result_name(PASSWD_UNKNOWN),
	    "unknown-login");
	assert_string_equal(passwd_result_name(PASSWD_LOCKED), "locked");
	assert_string_equal(passwd_result_name(PASSWD_ERROR), "error");
}

/* The dummy has the most common method and cost of the file. */
static void
test_dummy(void **state)
{
	char *b1 = mkhash("$2b$", 4, "a"), *b2 = mkhash("$2b$", 4, "b");
	char *b3 = mkhash("$2b$", 5, "c"), *s1 = mkhash("$6$", 1000, "d");
	char *f1 = mkhash("$6$", 0, "e"), *f2 = mkhash("$6$", 0, "f");
	char *f3 = mkhash("$6$", 0, "g");
	char *text;
	struct passwd_db *db;

	(void)state;
	assert_true(asprintf(&text, "a:%s\nb:%s\nc:%s\nd:%s\n", b1, s1, b2,
	    b3) > 0);
	db = load_ok(text);
	assert_int_equal(strncmp(passwd_db_dummy(db), "$2b$04$", 7), 0);
	passwd_db_free(db);
	free(text);
	/* Three sha512-crypt at the default cost outnumber them. */
	assert_true(asprintf(&text, "a:%s\nb:%s\nc:%s\nd:%s\ne:%s\nf:%s\n",
	    b1, f1, b2, f2, s1, f3) > 0);
	db = load_ok(text);
	assert_int_equal(strncmp(passwd_db_dummy(db), "$6$", 3), 0);
	assert_null(strstr(passwd_db_dummy(db), "rounds="));
	check(db, "b", "e", PASSWD_OK);
	passwd_db_free(db);
	free(text);
	free(f1);
	free(f2);
	free(f3);

	/* Only locked logins, or none: libcrypt's preferred method. */
	db = load_ok("x:!\n");
	assert_int_equal(strncmp(passwd_db_dummy(db), "$y$", 3), 0);
	check(db, "x", "p", PASSWD_LOCKED);
	check(db, "y", "p", PASSWD_UNKNOWN);
	passwd_db_free(db);
	db = load_ok("");
	assert_int_equal(passwd_db_count(db), 0);
	check(db, "y", "p", PASSWD_UNKNOWN);
	passwd_db_free(db);
	free(b1);
	free(b2);
	free(b3);
	free(s1);
}

static void
test_load_errors(void **state)
{
	char *s = mkhash("$6$", 1000, "p"), *t, big[PASSWD_LINE_MAX + 8];
	const char *why;
	struct passwd_db *db = NULL;
	char err[512];

	(void)state;
	load_err("alice\n", 1, "expected login:hash");
	load_err("# c\n:$6$x\n", 2, "empty login");
	load_err("al ice:!\n", 1, "blank or control character in login");
	load_err("al\tice:!\n", 1, "blank or control character in login");
	load_err("al\x7f" "ice:!\n", 1, "blank or control character in "
	    "login");
	load_err("alice:\n", 1, "empty hash (use '!' to lock a login)");
	load_err("alice:!:0:0::\n", 1, "extra ':' field (only login:hash, "
	    "not a shadow line)");
	load_err("alice:$6$ab c\n", 1, "blank or control character in hash");
	load_err("alice:secret\n", 1, "unsupported hash method (use yescrypt "
	    "$y$, bcrypt $2b$ or sha512-crypt $6$)");
	load_err("alice:$1$abcdefgh$abcdefghijklmnopqrstuv\n", 1,
	    "unsupported hash method (use yescrypt $y$, bcrypt $2b$ or "
	    "sha512-crypt $6$)");
	load_err("alice:$5$abcdefgh$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n",
	    1, "unsupported hash method (use yescrypt $y$, bcrypt $2b$ or "
	    "sha512-crypt $6$)");
	load_err("alice:$2a$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz"
	    "01234\n", 1, "unsupported hash method (use yescrypt $y$, bcrypt "
	    "$2b$ or sha512-crypt $6$)");
	load_err("alice:$2b$04$short\n", 1, "malformed bcrypt hash");
	load_err("alice:$2b$x4$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz"
	    "01234\n", 1, "malformed bcrypt hash");
	load_err("alice:$6$salt$tooshort\n", 1, "malformed hash (truncated?)");
	load_err("alice:$6$\n", 1, "malformed hash (truncated?)");
	/* A hash cut at its end: one character missing. */
	assert_true(asprintf(&t, "alice:%.*s\n", (int)strlen(s) - 1, s) > 0);
	load_err(t, 1, "malformed hash (truncated?)");
	free(t);
	assert_true(asprintf(&t, "bob:%s\nalice:%s\n\nbob:%s\n", s, s, s) > 0);
	load_err(t, 4, "duplicate login (first at line 1)");
	free(t);
	memset(big, 'a', sizeof(big));
	big[PASSWD_LINE_MAX + 1] = '\n';
	big[PASSWD_LINE_MAX + 2] = '\0';
	load_err(big, 1, "line too long");
	memset(big, 'l', PASSWD_LOGIN_MAX + 1);
	memcpy(big + PASSWD_LOGIN_MAX + 1, ":!\n", 4);
	load_err(big, 1, "login too long");
	{
		FILE *fp = fopen(path, "w");

		fwrite("a:!\nb\0:!\n", 1, 9, fp);
		fclose(fp);
		assert_int_equal(passwd_db_load(path, &db, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, ":2: NUL byte in line"));
	}
	assert_int_equal(passwd_db_load("/nonexistent/passwd", &db, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/passwd: No such file or "
	    "directory");
	assert_null(db);

	assert_int_equal(passwd_hash_ok(s, &why), 0);
	assert_null(why);
	assert_int_equal(passwd_hash_ok("!", &why), 0);
	assert_int_equal(passwd_hash_ok("$y$", &why), -1);
	assert_non_null(why);
	free(s);
}

/* ---- the pool ---------------------------------------------------------- */

struct got {
	int			 calls;
	enum passwd_result	 res;
	struct event_base	*base;
	int			*pending;
};

static void
got_cb(void *arg, enum passwd_result r)
{
	struct got *g = arg;

	g->calls++;
	g->res = r;
	if (--*g->pending == 0)
		event_base_loopbreak(g->base);
}

static struct passwd_db *
pool_db(void)
{
	char *b = mkhash("$2b$", 4, "pw"), *t;
	struct passwd_db *db;

	assert_true(asprintf(&t, "alice:%s\nlocked:!\n", b) > 0);
	db = load_ok(t);
	free(t);
	free(b);
	return db;
}

static void
test_pool_results(void **state)
{
	struct event_base *base = event_base_new();
	struct passwd_pool *pool = passwd_pool_new(2, 16);
	struct passwd_db *db = pool_db();
	struct got g[5];
	int pending = 5, i;

	(void)state;
	memset(g, 0, sizeof(g));
	for (i = 0; i < 5; i++) {
		g[i].base = base;
		g[i].pending = &pending;
	}
	assert_non_null(passwd_verify(pool, base, db, "alice", "pw", 2,
	    got_cb, &g[0]));
	assert_non_null(passwd_verify(pool, base, db, "alice", "PW", 2,
	    got_cb, &g[1]));
	assert_non_null(passwd_verify(pool, base, db, "carol", "pw", 2,
	    got_cb, &g[2]));
	assert_non_null(passwd_verify(pool, base, db, "locked", "pw", 2,
	    got_cb, &g[3]));
	/* A NUL after the right password is not the right password. */
	assert_non_null(passwd_verify(pool, base, db, "alice", "pw\0x", 4,
	    got_cb, &g[4]));
	/* Everything was copied: the db may go now (a reload). */
	passwd_db_free(db);
	/* Never delivered synchronously. */
	for (i = 0; i < 5; i++)
		assert_int_equal(g[i].calls, 0);
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	assert_int_equal(pending, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(g[i].calls, 1);
	assert_int_equal(g[4].res, PASSWD_BAD);
	assert_int_equal(g[0].res, PASSWD_OK);
	assert_int_equal(g[1].res, PASSWD_BAD);
	assert_int_equal(g[2].res, PASSWD_UNKNOWN);
	assert_int_equal(g[3].res, PASSWD_LOCKED);
	passwd_pool_free(pool);
	passwd_pool_free(NULL);
	event_base_free(base);
}

static void
test_pool_cancel(void **state)
{
	struct event_base *base = event_base_new(), *idle = event_base_new();
	struct passwd_pool *pool = passwd_pool_new(1, 16);
	struct passwd_db *db = pool_db();
	struct passwd_req *a, *b, *d, *e;
	struct got g[5];
	int pending = 1, i;

	(void)state;
	memset(g, 0, sizeof(g));
	for (i = 0; i < 5; i++) {
		g[i].base = base;
		g[i].pending = &pending;
	}
	/* a: queued or running; b: queued behind it.  Both cancelled. */
	a = passwd_verify(pool, base, db, "alice", "pw", 2, got_cb, &g[0]);
	b = passwd_verify(pool, base, db, "alice", "pw", 2, got_cb, &g[1]);
	e = passwd_verify(pool, base, db, "alice", "pw", 2, got_cb, &g[4]);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(e);
	passwd_cancel(b);	/* between a and e */
	passwd_cancel(e);
	passwd_cancel(a);
	passwd_cancel(NULL);
	/*
	 * d is delivered to a base nobody runs; c, behind it on the one
	 * thread, to ours.  When c's result arrives d is done and waiting:
	 * cancel it there.
	 */
	d = passwd_verify(pool, idle, db, "alice", "pw", 2, got_cb, &g[3]);
	assert_non_null(passwd_verify(pool, base, db, "alice", "pw", 2,
	    got_cb, &g[2]));
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	assert_int_equal(g[2].calls, 1);
	assert_int_equal(g[2].res, PASSWD_OK);
	passwd_cancel(d);
	event_base_loop(idle, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g[0].calls, 0);
	assert_int_equal(g[1].calls, 0);
	assert_int_equal(g[3].calls, 0);
	assert_int_equal(g[4].calls, 0);
	passwd_pool_free(pool);
	passwd_db_free(db);
	event_base_free(base);
	event_base_free(idle);
}

static void
test_pool_full(void **state)
{
	struct event_base *base = event_base_new();
	struct passwd_pool *pool = passwd_pool_new(1, 1);
	char *y = mkhash("$y$", 5, "pw"), *t;	/* slow enough to queue */
	struct passwd_req *r[3];
	struct passwd_db *db;
	struct got g[3];
	int i;

	(void)state;
	assert_true(asprintf(&t, "alice:%s\n", y) > 0);
	db = load_ok(t);
	memset(g, 0, sizeof(g));
	for (i = 0; i < 3; i++)
		r[i] = passwd_verify(pool, base, db, "alice", "pw", 2,
		    got_cb, &g[i]);
	/*
	 * One running at most and one queued: of the two after the first,
	 * one at least found the queue full.
	 */
	assert_non_null(r[0]);
	assert_true(r[1] == NULL || r[2] == NULL);
	/* The running one is cancelled; the queued one is left to... */
	passwd_cancel(r[0]);
	/* ...freeing the pool, which joins the thread and drops it. */
	passwd_pool_free(pool);
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < 3; i++)
		assert_int_equal(g[i].calls, 0);
	passwd_db_free(db);
	event_base_free(base);
	free(t);
	free(y);

	/* Out-of-range sizes are clamped, not refused. */
	pool = passwd_pool_new(0, 0);
	assert_non_null(pool);
	passwd_pool_free(pool);
	pool = passwd_pool_new(PASSWD_THREADS_MAX + 1, PASSWD_QUEUE_MAX + 1);
	assert_non_null(pool);
	passwd_pool_free(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify_each_method, setup,
		    teardown),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test_setup_teardown(test_dummy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pool_results, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pool_cancel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pool_full, setup,
		    teardown),
	};

	if (evthread_use_pthreads() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
