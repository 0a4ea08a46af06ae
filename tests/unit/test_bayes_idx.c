/*
 * test_bayes_idx.c: the token index (store/bayes_idx.c) behind the LMDB
 * Bayes store: reads through it equal LMDB's after learning, forgetting
 * and relearning; a stale or cleared stamp sends readers to LMDB and the
 * next writer builds it again; growth past the load bound builds a new
 * file that a reader holding the old one moves to; a corrupt, truncated or
 * random-header file is a clear error naming it and never a crash; and a
 * learner in another process never makes a reader see anything but a
 * committed state.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
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
#include "bayes_idx.h"

static char tmpdir[] = "/tmp/test_bayes_idx.XXXXXX";
static int ndirs;

/* Offsets in tokens.idx's header (bayes_idx.c struct idx_hdr). */
#define OFF_STAMP	64
#define HDR_SIZE	4096

static const char *
newdir(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/db%d", tmpdir, ndirs++);
	return path;
}

static struct bayes_db *
open_db(const char *dir, int flags)
{
	char err[512];
	struct bayes_db *db = bayes_db_open(dir, flags, err, sizeof(err));

	if (db == NULL)
		fail_msg("%s", err);
	return db;
}

/* A deterministic generator: the tests must fail the same way twice. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

/* The truth: every token LMDB holds, by a cursor walk. */
struct truth {
	uint64_t	*tok;
	struct bayes_counts *c;
	size_t		 n, cap;
};

static int
truth_cb(void *arg, uint64_t tok, const struct bayes_counts *c, uint32_t at)
{
	struct truth *t = arg;

	(void)at;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->tok = realloc(t->tok, t->cap * sizeof(*t->tok));
		t->c = realloc(t->c, t->cap * sizeof(*t->c));
		assert_non_null(t->tok);
		assert_non_null(t->c);
	}
	t->tok[t->n] = tok;
	t->c[t->n++] = *c;
	return 0;
}

static void
truth_free(struct truth *t)
{
	free(t->tok);
	free(t->c);
	memset(t, 0, sizeof(*t));
}

/*
 * Read every token in extra[0..nx) and every token LMDB holds through db
 * and compare with the walk; returns how the read was answered (1: the
 * index).
 */
static int
check_reads(struct bayes_db *db, const uint64_t *extra, size_t nx)
{
	struct truth t;
	struct bayes_totals tot, tot2;
	struct bayes_counts *out;
	uint64_t *all, ix0, ix1, lm;
	char err[512];
	size_t i, j, n;

	memset(&t, 0, sizeof(t));
	assert_int_equal(bayes_db_walk(db, truth_cb, &t, &tot, err,
	    sizeof(err)), 0);
	n = t.n + nx;
	all = calloc(n + 1, sizeof(*all));
	out = calloc(n + 1, sizeof(*out));
	memcpy(all, t.tok, t.n * sizeof(*all));
	memcpy(all + t.n, extra, nx * sizeof(*all));
	bayes_db_read_stats(db, &ix0, &lm);
	assert_int_equal(bayes_db_read(db, all, n, out, &tot2, err,
	    sizeof(err)), 0);
	bayes_db_read_stats(db, &ix1, &lm);
	assert_int_equal(tot2.nspam, tot.nspam);
	assert_int_equal(tot2.nham, tot.nham);
	for (i = 0; i < t.n; i++) {
		assert_int_equal(out[i].spam, t.c[i].spam);
		assert_int_equal(out[i].ham, t.c[i].ham);
	}
	/* the extra tokens: LMDB's count, or 0/0 when it has none */
	for (i = 0; i < nx; i++) {
		struct bayes_counts want = { 0, 0 };

		for (j = 0; j < t.n; j++)
			if (t.tok[j] == extra[i])
				want = t.c[j];
		assert_int_equal(out[t.n + i].spam, want.spam);
		assert_int_equal(out[t.n + i].ham, want.ham);
	}
	free(all);
	free(out);
	truth_free(&t);
	return ix1 > ix0;
}

static void
learn(struct bayes_db *db, uint8_t idb, enum bayes_class cls,
    const uint64_t *tok, size_t n, enum bayes_learned want)
{
	uint8_t id[16] = { idb, 0x5a };
	enum bayes_learned res;
	char err[512];

	if (bayes_db_learn(db, id, cls, tok, n, 1000 + idb, &res, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(res, want);
}

static enum bayes_ixstate
ixstate(struct bayes_db *db, char *msg, size_t msz)
{
	return bayes_db_index_state(db, msg, msz);
}

static char *
idx_path(const char *dir)
{
	static char p[300];

	snprintf(p, sizeof(p), "%s/%s", dir, BAYES_IDX_FILE);
	return p;
}

static void
pwrite_u64(const char *file, off_t off, uint64_t v)
{
	int fd = open(file, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, sizeof(v), off), (ssize_t)sizeof(v));
	close(fd);
}

static uint64_t
pread_u64(const char *file, off_t off)
{
	uint64_t v = 0;
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, sizeof(v), off), (ssize_t)sizeof(v));
	close(fd);
	return v;
}

/* Make token tok's slot in dir's index say spam=999 (a planted lie). */
static void
plant_lie(const char *dir, uint64_t tok)
{
	const char *file = idx_path(dir);
	uint64_t nslots = pread_u64(file, 16), j, t;
	unsigned bits = 0;
	uint32_t lie = 999;
	int fd;

	while ((1ULL << bits) < nslots)
		bits++;
	fd = open(file, O_RDWR);
	assert_true(fd >= 0);
	for (j = tok >> (64 - bits);; j = (j + 1) & (nslots - 1)) {
		assert_int_equal(pread(fd, &t, 8, HDR_SIZE + (off_t)j * 16), 8);
		assert_true(t != 0);
		if (t == tok)
			break;
	}
	assert_int_equal(pwrite(fd, &lie, 4, HDR_SIZE + (off_t)j * 16 + 8), 4);
	close(fd);
}

/* Learn, relearn, forget: the index answers, and says what LMDB says. */
static void
test_learn_forget(void **state)
{
	uint64_t s = 1, a[300], b[300], none[3] = { 7, 1ULL << 63, ~0ULL };
	const char *dir = newdir();
	struct bayes_db *db = open_db(dir, 0);
	char msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++) {
		a[i] = rnd(&s);
		b[i] = i < 100 ? a[i] : rnd(&s);	/* a third shared */
	}
	learn(db, 1, BAYES_SPAM, a, 300, BAYES_L_LEARNED);
	assert_int_equal(ixstate(db, msg, sizeof(msg)), BAYES_IX_CURRENT);
	assert_true(check_reads(db, none, 3));
	learn(db, 2, BAYES_HAM, b, 300, BAYES_L_LEARNED);
	assert_true(check_reads(db, none, 3));
	learn(db, 2, BAYES_HAM, b, 300, BAYES_L_ALREADY);
	assert_true(check_reads(db, none, 3));
	learn(db, 1, BAYES_HAM, a, 300, BAYES_L_MOVED);
	assert_true(check_reads(db, none, 3));
	/* forgotten: its tokens leave LMDB and read 0/0 from the index */
	learn(db, 1, BAYES_FORGET, a, 300, BAYES_L_FORGOTTEN);
	assert_int_equal(ixstate(db, msg, sizeof(msg)), BAYES_IX_CURRENT);
	assert_true(check_reads(db, a, 300));
	learn(db, 1, BAYES_SPAM, a, 300, BAYES_L_LEARNED);
	assert_true(check_reads(db, a, 300));
	/* a read-only reader in the same process, as moatd's workers */
	{
		struct bayes_db *ro = open_db(dir, BAYES_DB_RDONLY);

		assert_true(check_reads(ro, b, 300));
		bayes_db_close(ro);
	}
	bayes_db_close(db);
}

/* A stamp for another state sends reads to LMDB; the right one does not. */
static void
test_stale_and_crash(void **state)
{
	uint64_t s = 2, a[200], stamp, nread, nl0, nl1;
	const char *dir = newdir();
	struct bayes_db *db = open_db(dir, 0), *ro;
	struct bayes_counts c;
	struct bayes_totals tot;
	char msg[512], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < 200; i++)
		a[i] = rnd(&s);
	learn(db, 1, BAYES_SPAM, a, 200, BAYES_L_LEARNED);
	stamp = pread_u64(idx_path(dir), OFF_STAMP);
	assert_true(stamp != 0);
	plant_lie(dir, a[5]);
	ro = open_db(dir, BAYES_DB_RDONLY);
	/* stamped: the index answers, lie included (proof it is read) */
	assert_int_equal(bayes_db_read(ro, &a[5], 1, &c, &tot, err,
	    sizeof(err)), 0);
	assert_int_equal(c.spam, 999);
	/* stale stamp: LMDB answers, the lie is not seen */
	pwrite_u64(idx_path(dir), OFF_STAMP, stamp - 1);
	bayes_db_read_stats(ro, &nread, &nl0);
	assert_int_equal(bayes_db_read(ro, &a[5], 1, &c, &tot, err,
	    sizeof(err)), 0);
	bayes_db_read_stats(ro, &nread, &nl1);
	assert_int_equal(c.spam, 1);
	assert_int_equal(nl1, nl0 + 1);
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_STALE);
	assert_non_null(strstr(msg, "stale"));
	/* a writer that died half way leaves 0: the same */
	pwrite_u64(idx_path(dir), OFF_STAMP, 0);
	assert_false(check_reads(ro, a, 200));
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_STALE);
	/* the next writer builds it again: current, and the lie is gone */
	learn(db, 2, BAYES_HAM, a, 10, BAYES_L_LEARNED);
	assert_int_equal(ixstate(db, msg, sizeof(msg)), BAYES_IX_CURRENT);
	assert_true(check_reads(ro, a, 200));
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_CURRENT);
	/* so does reindex, and a commit that changes nothing keeps it */
	pwrite_u64(idx_path(dir), OFF_STAMP, 0);
	assert_int_equal(bayes_db_reindex(db, err, sizeof(err)), 0);
	assert_true(check_reads(ro, a, 200));
	learn(db, 2, BAYES_HAM, a, 10, BAYES_L_ALREADY);
	assert_true(check_reads(ro, a, 200));
	bayes_db_close(ro);
	bayes_db_close(db);
}

/* Past the load bound: a new, larger file; a reader on the old moves. */
static void
test_growth(void **state)
{
	uint64_t s = 3, *tok, slots0, slots1, ix0, ix1, lm;
	const char *dir = newdir();
	struct bayes_db *db = open_db(dir, 0), *ro;
	struct stat st0, st1;
	char msg[512];
	size_t i, n = 3000;

	(void)state;
	tok = calloc(n, sizeof(*tok));
	for (i = 0; i < n; i++)
		tok[i] = rnd(&s);
	learn(db, 1, BAYES_SPAM, tok, 100, BAYES_L_LEARNED);
	slots0 = pread_u64(idx_path(dir), 16);
	assert_int_equal(slots0, BAYES_IDX_MIN_SLOTS);
	assert_int_equal(stat(idx_path(dir), &st0), 0);
	ro = open_db(dir, BAYES_DB_RDONLY);
	assert_true(check_reads(ro, tok, n));
	/* 3,000 tokens in 4,096 slots: past one half */
	learn(db, 2, BAYES_HAM, tok, n, BAYES_L_LEARNED);
	assert_int_equal(stat(idx_path(dir), &st1), 0);
	assert_true(st1.st_ino != st0.st_ino);
	slots1 = pread_u64(idx_path(dir), 16);
	assert_true(slots1 > slots0);
	/* the reader still maps the old file, now marked superseded: its
	 * next read reopens and is answered by the new one */
	bayes_db_read_stats(ro, &ix0, &lm);
	assert_true(check_reads(ro, tok, n));
	bayes_db_read_stats(ro, &ix1, &lm);
	assert_int_equal(ix1, ix0 + 1);
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_CURRENT);
	bayes_db_close(ro);
	bayes_db_close(db);
	free(tok);
}

/* Put bytes at offset in dir's index (or make it size bytes long). */
static void
damage(const char *dir, off_t off, const void *p, size_t len, off_t size)
{
	int fd = open(idx_path(dir), O_RDWR);

	assert_true(fd >= 0);
	if (p != NULL)
		assert_int_equal(pwrite(fd, p, len, off), (ssize_t)len);
	if (size >= 0)
		assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* Bad files: a clear error naming the file, reads from LMDB, no crash. */
static void
test_corrupt(void **state)
{
	uint64_t s = 4, a[100], seed = 77;
	const char *dir = newdir();
	struct bayes_db *db = open_db(dir, 0), *ro;
	unsigned char junk[HDR_SIZE];
	struct stat st;
	char msg[512];
	size_t i, k;

	(void)state;
	for (i = 0; i < 100; i++)
		a[i] = rnd(&s);
	learn(db, 1, BAYES_SPAM, a, 100, BAYES_L_LEARNED);
	bayes_db_close(db);
	assert_int_equal(stat(idx_path(dir), &st), 0);

	/* truncated */
	damage(dir, 0, NULL, 0, st.st_size / 2);
	ro = open_db(dir, BAYES_DB_RDONLY);
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_BAD);
	assert_non_null(strstr(msg, idx_path(dir)));
	assert_non_null(strstr(msg, "truncated"));
	assert_false(check_reads(ro, a, 100));
	bayes_db_close(ro);

	/* shorter than its header, and empty */
	damage(dir, 0, NULL, 0, 100);
	ro = open_db(dir, BAYES_DB_RDONLY);
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_BAD);
	assert_false(check_reads(ro, a, 100));
	bayes_db_close(ro);
	damage(dir, 0, NULL, 0, 0);
	ro = open_db(dir, BAYES_DB_RDONLY);
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_BAD);
	bayes_db_close(ro);

	/* garbage of the right size; a writer replaces it */
	for (k = 0; k < sizeof(junk); k++)
		junk[k] = (unsigned char)(k * 31 + 7);
	damage(dir, 0, junk, sizeof(junk), st.st_size);
	ro = open_db(dir, BAYES_DB_RDONLY);
	assert_int_equal(ixstate(ro, msg, sizeof(msg)), BAYES_IX_BAD);
	assert_non_null(strstr(msg, "not a moat token index"));
	assert_false(check_reads(ro, a, 100));
	db = open_db(dir, 0);
	learn(db, 2, BAYES_HAM, a, 50, BAYES_L_LEARNED);
	assert_int_equal(ixstate(db, msg, sizeof(msg)), BAYES_IX_CURRENT);
	bayes_db_close(db);
	/* the reader had none: it looks again (IX_RETRY_MS) and finds it */
	sleep(1);
	usleep(100000);
	assert_true(check_reads(ro, a, 100));
	bayes_db_close(ro);

	/* random headers behind a valid magic and version: never a crash,
	 * never an answer other than LMDB's */
	assert_int_equal(stat(idx_path(dir), &st), 0);
	for (k = 0; k < 300; k++) {
		unsigned char h[128];
		int fd = open(idx_path(dir), O_RDONLY);

		assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
		close(fd);
		for (i = 16; i < sizeof(h); i++)
			h[i] = (unsigned char)rnd(&seed);
		/* now and then a plausible slot count and a small maxprobe */
		if (k % 3 == 0) {
			uint64_t ns = 1ULL << (12 + k % 8), mp = k % 5,
			    nu = k % 1000;

			memcpy(h + 16, &ns, 8);
			memcpy(h + 24, &nu, 8);
			memcpy(h + 32, &mp, 8);
		}
		damage(dir, 0, h, sizeof(h), -1);
		ro = open_db(dir, BAYES_DB_RDONLY);
		(void)ixstate(ro, msg, sizeof(msg));
		assert_false(check_reads(ro, a, 100));
		bayes_db_close(ro);
	}
	/* and the writer puts it right */
	db = open_db(dir, 0);
	learn(db, 3, BAYES_SPAM, a, 20, BAYES_L_LEARNED);
	assert_true(check_reads(db, a, 100));
	bayes_db_close(db);
}

/*
 * A learner process and two reader threads.  Every message holds the same
 * 64 common tokens (and 200 of its own), so in every committed state each
 * common token's counts equal the totals nspam and nham: a reader that
 * ever mixed two states, or read half an update, would see them differ.
 * The learner's own tokens push the index past its bound more than once.
 */
#define CC_COMMON	64
#define CC_OWN		200
#define CC_MSGS		120

struct cc_reader {
	const char	*dir;
	struct bayes_db	*db;
	const uint64_t	*common;
	volatile int	*stop;
	long		 reads, bad;
};

static void *
cc_read(void *arg)
{
	struct cc_reader *r = arg;
	struct bayes_counts c[CC_COMMON];
	struct bayes_totals tot;
	char err[512];
	size_t i;

	while (!*r->stop) {
		if (bayes_db_read(r->db, r->common, CC_COMMON, c, &tot, err,
		    sizeof(err)) != 0) {
			r->bad++;
			continue;
		}
		for (i = 0; i < CC_COMMON; i++)
			if (c[i].spam != tot.nspam || c[i].ham != tot.nham)
				r->bad++;
		r->reads++;
	}
	return NULL;
}

static void
cc_learner(const char *dir, const uint64_t *common)
{
	uint64_t tok[CC_COMMON + CC_OWN], s = 99;
	struct bayes_db *db;
	enum bayes_learned res;
	char err[512];
	int i, k;

	if ((db = bayes_db_open(dir, 0, err, sizeof(err))) == NULL)
		_exit(2);
	memcpy(tok, common, CC_COMMON * sizeof(*tok));
	for (i = 1; i <= CC_MSGS; i++) {
		uint8_t id[16] = { (uint8_t)i, (uint8_t)(i >> 8), 1 };

		for (k = CC_COMMON; k < CC_COMMON + CC_OWN; k++)
			tok[k] = rnd(&s);
		if (bayes_db_learn(db, id, i % 3 ? BAYES_SPAM : BAYES_HAM,
		    tok, CC_COMMON + CC_OWN, i, &res, err, sizeof(err)) != 0)
			_exit(3);
		/* forget one now and then, and move one: decrements too */
		if (i % 7 == 0) {
			id[0] = (uint8_t)(i - 3);
			if (bayes_db_learn(db, id, BAYES_FORGET, tok,
			    CC_COMMON, i, &res, err, sizeof(err)) != 0)
				_exit(4);
		}
	}
	bayes_db_close(db);
	_exit(0);
}

static void
test_concurrent(void **state)
{
	uint64_t common[CC_COMMON], s = 5, nix, nlm;
	const char *dir = newdir();
	struct bayes_db *db = open_db(dir, 0), *ro;
	struct cc_reader r[2];
	pthread_t th[2];
	volatile int stop = 0;
	uint8_t id0[16] = { 0xee };
	enum bayes_learned res;
	char err[512];
	pid_t pid;
	int st, i;

	(void)state;
	for (i = 0; i < CC_COMMON; i++)
		common[i] = rnd(&s);
	/* one message first, so the readers have a store and an index */
	assert_int_equal(bayes_db_learn(db, id0, BAYES_SPAM, common,
	    CC_COMMON, 1, &res, err, sizeof(err)), 0);
	bayes_db_close(db);
	ro = open_db(dir, BAYES_DB_RDONLY);
	/* the learner first: no thread of ours exists when it forks */
	fflush(NULL);
	if ((pid = fork()) == 0)
		cc_learner(dir, common);
	assert_true(pid > 0);
	for (i = 0; i < 2; i++) {
		r[i].dir = dir;
		r[i].db = ro;
		r[i].common = common;
		r[i].stop = &stop;
		r[i].reads = r[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, cc_read, &r[i]),
		    0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	usleep(100000);
	stop = 1;
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	bayes_db_read_stats(ro, &nix, &nlm);
	print_message("concurrent: %ld + %ld reads, %" PRIu64 " from the "
	    "index, %" PRIu64 " from LMDB\n", r[0].reads, r[1].reads, nix,
	    nlm);
	assert_int_equal(r[0].bad + r[1].bad, 0);
	assert_true(r[0].reads > 0 && r[1].reads > 0);
	/* the final state is read from the index again */
	assert_true(check_reads(ro, common, CC_COMMON));
	bayes_db_close(ro);
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
		cmocka_unit_test(test_learn_forget),
		cmocka_unit_test(test_stale_and_crash),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
