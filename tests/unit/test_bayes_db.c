/*
 * test_bayes_db.c: the LMDB Bayes store (store/bayes_db.c): learn, learn
 * twice, relearn as the other class, forget, batches, dump and restore,
 * missing and corrupt databases, and classification end to end.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "bayes_db.h"
#include "bayes_tok.h"
#include "msg.h"
#include "sbuf.h"

static char tmpdir[] = "/tmp/test_bayes_db.XXXXXX";
static int ndirs;

/* A fresh directory path under tmpdir (not created). */
static const char *
newdir(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/db%d", tmpdir, ndirs++);
	return path;
}

static struct bayes_db *
open_rw(const char *dir)
{
	char err[512];
	struct bayes_db *db = bayes_db_open(dir, 0, err, sizeof(err));

	if (db == NULL)
		fail_msg("%s", err);
	return db;
}

static void
counts(struct bayes_db *db, uint64_t tok, uint32_t spam, uint32_t ham,
    struct bayes_totals *tot)
{
	struct bayes_counts c;
	char err[512];

	assert_int_equal(bayes_db_read(db, &tok, 1, &c, tot, err,
	    sizeof(err)), 0);
	assert_int_equal(c.spam, spam);
	assert_int_equal(c.ham, ham);
}

static void
test_learn_relearn_forget(void **state)
{
	const uint8_t id[16] = { 1, 2, 3 }, id2[16] = { 9 };
	const uint64_t tok[3] = { 1, 2, 0xffffffffffffffffULL };
	const uint64_t tok2[2] = { 2, 5 };
	struct bayes_db *db = open_rw(newdir());
	struct bayes_totals tot;
	enum bayes_learned res;
	char err[512];

	(void)state;
	assert_int_equal(bayes_db_learn(db, id, BAYES_SPAM, tok, 3, 1000,
	    &res, err, sizeof(err)), 0);
	assert_int_equal(res, BAYES_L_LEARNED);
	counts(db, 1, 1, 0, &tot);
	counts(db, 0xffffffffffffffffULL, 1, 0, &tot);
	assert_int_equal(tot.nspam, 1);
	assert_int_equal(tot.nham, 0);
	assert_int_equal(tot.ntokens, 3);
	assert_int_equal(tot.last_learn, 1000);

	/* the same message again: counted once */
	assert_int_equal(bayes_db_learn(db, id, BAYES_SPAM, tok, 3, 1001,
	    &res, err, sizeof(err)), 0);
	assert_int_equal(res, BAYES_L_ALREADY);
	counts(db, 1, 1, 0, &tot);
	assert_int_equal(tot.nspam, 1);

	/* another spam sharing token 2 */
	assert_int_equal(bayes_db_learn(db, id2, BAYES_SPAM, tok2, 2, 1002,
	    &res, err, sizeof(err)), 0);
	counts(db, 2, 2, 0, &tot);
	assert_int_equal(tot.nspam, 2);

	/* relearned as ham: moved */
	assert_int_equal(bayes_db_learn(db, id, BAYES_HAM, tok, 3, 1003, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res, BAYES_L_MOVED);
	counts(db, 1, 0, 1, &tot);
	counts(db, 2, 1, 1, &tot);
	assert_int_equal(tot.nspam, 1);
	assert_int_equal(tot.nham, 1);

	/* forgotten: its tokens go, the other message's stay */
	assert_int_equal(bayes_db_learn(db, id, BAYES_FORGET, tok, 3, 1004,
	    &res, err, sizeof(err)), 0);
	assert_int_equal(res, BAYES_L_FORGOTTEN);
	counts(db, 1, 0, 0, &tot);
	counts(db, 2, 1, 0, &tot);
	assert_int_equal(tot.nspam, 1);
	assert_int_equal(tot.nham, 0);
	assert_int_equal(tot.ntokens, 2);	/* 2 and 5 */
	assert_int_equal(bayes_db_learn(db, id, BAYES_FORGET, tok, 3, 1005,
	    &res, err, sizeof(err)), 0);
	assert_int_equal(res, BAYES_L_UNKNOWN);
	bayes_db_close(db);
}

/* A batch is one transaction; a reader sees it only once committed. */
static void
test_batch(void **state)
{
	const char *dir = newdir();
	struct bayes_db *db = open_rw(dir), *ro;
	struct bayes_totals tot;
	enum bayes_learned res;
	uint8_t id[16];
	uint64_t tok;
	char err[512];
	int i;

	(void)state;
	assert_int_equal(bayes_db_begin(db, err, sizeof(err)), 0);
	for (i = 0; i < 100; i++) {
		memset(id, 0, sizeof(id));
		id[0] = (uint8_t)i;
		tok = 42;
		assert_int_equal(bayes_db_learn(db, id, i % 2 ? BAYES_HAM :
		    BAYES_SPAM, &tok, 1, 7, &res, err, sizeof(err)), 0);
	}
	ro = bayes_db_open(dir, BAYES_DB_RDONLY, err, sizeof(err));
	assert_non_null(ro);
	counts(ro, 42, 0, 0, &tot);
	assert_int_equal(tot.nspam, 0);
	assert_int_equal(bayes_db_commit(db, err, sizeof(err)), 0);
	counts(ro, 42, 50, 50, &tot);
	assert_int_equal(tot.nspam, 50);
	assert_int_equal(tot.nham, 50);
	/* read only: no writing */
	assert_int_equal(bayes_db_begin(ro, err, sizeof(err)), -1);
	bayes_db_close(ro);
	bayes_db_close(db);
}

/*
 * The per-thread token cache (bayes_db.c) keeps counts for one committed
 * state of one open store.  Two stores whose states have the same
 * transaction id must not share entries; the same token in a slot, a
 * neighbour in the same slot and a commit from another handle must all
 * read what a fresh read gives.
 */
static void
test_cache(void **state)
{
	const uint8_t id[16] = { 7 }, id2[16] = { 8 };
	/* 3 and 3 + (1 << 40) fall in the same cache slot */
	const uint64_t tok[2] = { 3, 3 + (1ULL << 40) };
	struct bayes_db *a = open_rw(newdir()), *b = open_rw(newdir()), *ro;
	struct bayes_counts c[2];
	struct bayes_totals tot;
	enum bayes_learned res;
	char err[512];

	(void)state;
	/* one learn each: the same transaction id in both */
	assert_int_equal(bayes_db_learn(a, id, BAYES_SPAM, tok, 1, 1, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(bayes_db_learn(b, id, BAYES_HAM, tok, 2, 1, &res,
	    err, sizeof(err)), 0);
	counts(a, 3, 1, 0, &tot);
	counts(b, 3, 0, 1, &tot);
	counts(a, 3, 1, 0, &tot);
	counts(a, tok[1], 0, 0, &tot);
	counts(b, tok[1], 0, 1, &tot);
	/* both tokens of one read in the same slot */
	assert_int_equal(bayes_db_read(b, tok, 2, c, &tot, err, sizeof(err)),
	    0);
	assert_int_equal(c[0].ham, 1);
	assert_int_equal(c[1].ham, 1);
	/* a learner on another handle: the reader sees its commit */
	ro = bayes_db_open(bayes_db_path(a), BAYES_DB_RDONLY, err,
	    sizeof(err));
	assert_non_null(ro);
	counts(ro, 3, 1, 0, &tot);
	assert_int_equal(bayes_db_learn(a, id2, BAYES_SPAM, tok, 2, 2, &res,
	    err, sizeof(err)), 0);
	counts(ro, 3, 2, 0, &tot);
	counts(ro, tok[1], 1, 0, &tot);
	bayes_db_close(ro);
	bayes_db_close(a);
	bayes_db_close(b);
}

struct dump {
	uint64_t	tok[8];
	struct bayes_counts c[8];
	uint32_t	at[8];
	size_t		n;
};

static int
dump_cb(void *arg, uint64_t tok, const struct bayes_counts *c, uint32_t at)
{
	struct dump *d = arg;

	assert_true(d->n < 8);
	d->tok[d->n] = tok;
	d->c[d->n] = *c;
	d->at[d->n++] = at;
	return 0;
}

static void
test_dump_restore(void **state)
{
	const uint8_t id[16] = { 7 };
	const uint64_t tok[3] = { 30, 10, 20 };
	struct bayes_db *db = open_rw(newdir()), *db2;
	struct bayes_totals tot, tot2;
	enum bayes_learned res;
	struct dump d;
	char err[512];
	size_t i;

	(void)state;
	assert_int_equal(bayes_db_learn(db, id, BAYES_HAM, tok, 3, 99, &res,
	    err, sizeof(err)), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(bayes_db_walk(db, dump_cb, &d, &tot, err,
	    sizeof(err)), 0);
	assert_int_equal(d.n, 3);
	/* in key order */
	assert_true(d.tok[0] == 10 && d.tok[1] == 20 && d.tok[2] == 30);
	assert_int_equal(d.c[0].ham, 1);
	assert_int_equal(d.at[0], 99);
	db2 = open_rw(newdir());
	assert_int_equal(bayes_db_begin(db2, err, sizeof(err)), 0);
	for (i = 0; i < d.n; i++)
		assert_int_equal(bayes_db_put_token(db2, d.tok[i], &d.c[i],
		    d.at[i], err, sizeof(err)), 0);
	assert_int_equal(bayes_db_put_totals(db2, &tot, err, sizeof(err)), 0);
	assert_int_equal(bayes_db_commit(db2, err, sizeof(err)), 0);
	counts(db2, 20, 0, 1, &tot2);
	assert_int_equal(tot2.nham, 1);
	assert_int_equal(tot2.ntokens, 3);
	bayes_db_close(db2);
	bayes_db_close(db);
}

static void
test_missing(void **state)
{
	char err[512];
	const char *dir = newdir();

	(void)state;
	assert_null(bayes_db_open(dir, BAYES_DB_RDONLY, err, sizeof(err)));
	/* names the file */
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "data.mdb"));
	/* read-only never creates it */
	assert_int_equal(access(dir, F_OK), -1);
}

/* Garbage where data.mdb should be: a clear error, never a crash. */
static void
test_corrupt(void **state)
{
	char err[512], file[300], junk[8192];
	const char *dir = newdir();
	int fd, k;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	for (k = 0; k < (int)sizeof(junk); k++)
		junk[k] = (char)(k * 31 + 7);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_null(bayes_db_open(dir, BAYES_DB_RDONLY, err, sizeof(err)));
	assert_non_null(strstr(err, file));
	assert_null(bayes_db_open(dir, 0, err, sizeof(err)));
	assert_non_null(strstr(err, file));
	/* an empty file is no database either */
	fd = open(file, O_WRONLY | O_TRUNC);
	close(fd);
	assert_null(bayes_db_open(dir, BAYES_DB_RDONLY, err, sizeof(err)));
	assert_non_null(strstr(err, file));
}

static void
learn_text(struct bayes_db *db, const char *raw, enum bayes_class cls,
    struct bayes_toks *t)
{
	struct msg *m = msg_parse(raw, strlen(raw), NULL);
	enum bayes_learned res;
	char err[512];

	assert_int_equal(bayes_db_learn_msg(db, m, cls, t, 1, &res, err,
	    sizeof(err)), 0);
	msg_free(m);
}

static int
classify(struct bayes_db *db, const struct bayes_params *p, const char *raw,
    struct bayes_toks *t, double *prob)
{
	struct msg *m = msg_parse(raw, strlen(raw), NULL);
	char err[512];
	int rc;

	rc = bayes_db_classify(db, p, m, t, prob, NULL, err, sizeof(err));
	msg_free(m);
	return rc;
}

static void
test_classify(void **state)
{
	struct bayes_db *db = open_rw(newdir());
	struct bayes_params p;
	struct bayes_toks t;
	struct sbuf b = SBUF_INIT;
	double prob;
	int i;

	(void)state;
	memset(&t, 0, sizeof(t));
	bayes_params_default(&p);
	p.min_spam = p.min_ham = 5;
	for (i = 0; i < 5; i++) {
		sbuf_reset(&b);
		sbuf_printf(&b, "Message-ID: <s%d@x>\nSubject: cheap pills\n\n"
		    "buy cheap viagra pills online pharmacy discount %d\n", i,
		    i);
		learn_text(db, b.p, BAYES_SPAM, &t);
		if (i == 3) {
			/* not enough training yet: silent */
			assert_int_equal(classify(db, &p, b.p, &t, &prob), 0);
		}
		sbuf_reset(&b);
		sbuf_printf(&b, "Message-ID: <h%d@x>\nSubject: meeting notes\n"
		    "\nthe quarterly meeting agenda attached for review %d\n",
		    i, i);
		learn_text(db, b.p, BAYES_HAM, &t);
	}
	assert_int_equal(classify(db, &p, "Subject: pills\n\ncheap viagra "
	    "pills pharmacy\n", &t, &prob), 1);
	assert_true(prob > 0.9);
	assert_int_equal(classify(db, &p, "Subject: meeting\n\nagenda for "
	    "the quarterly meeting review\n", &t, &prob), 1);
	assert_true(prob < 0.1);
	bayes_toks_free(&t);
	sbuf_free(&b);
	bayes_db_close(db);
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
		cmocka_unit_test(test_learn_relearn_forget),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_dump_restore),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
