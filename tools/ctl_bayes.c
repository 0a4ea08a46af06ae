/*
 * ctl_bayes.c: `moatctl learn` and `moatctl bayes`, the offline side of the
 * Bayesian classifier (doc/rules.md, "Bayes").
 *
 *   moatctl learn --spam|--ham|--forget [-c CFG] [--bayes-db DIR] [-q]
 *                 FILE|DIR...
 *   moatctl bayes stats|dump|restore [FILE]|tokens FILE [-c CFG]
 *                 [--bayes-db DIR]
 *
 * Input: single message files, maildirs (cur/ and new/), directories of
 * files, and mbox files, split on "From " separator lines (a line that
 * begins "From ADDR DAY", after an empty line or at the start).  A file
 * starting with such a line that holds one message, as the SpamAssassin
 * corpus files do, is one message.  Messages are parsed by the same
 * msg_parse() and tokenized by the same code moatd uses, so what is learned
 * here is what moatd reads.
 *
 * It learns in batches of LEARN_BATCH messages per LMDB transaction: one
 * commit (and fsync) per message would cap learning at a few hundred a
 * second on a disk; an interrupted run loses the last batch only.  A
 * file it cannot read or a database it cannot open is one line naming it on
 * stderr; learning goes on with the next file, and the exit status is 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moat_conf.h"
#include "clock.h"
#include "ctl_bayes.h"
#include "msg.h"
#include "xmalloc.h"

#define LEARN_BATCH	1000

static void
bayes_usage(void)
{
	fprintf(stderr,
	    "usage: moatctl learn --spam|--ham|--forget [-c CONFIG] "
	    "[--bayes-db DIR] [-q] FILE|DIR...\n"
	    "       moatctl bayes stats|dump|reindex [-c CONFIG] "
	    "[--bayes-db DIR]\n"
	    "       moatctl bayes restore [-c CONFIG] [--bayes-db DIR] "
	    "[FILE]\n"
	    "       moatctl bayes tokens [-c CONFIG] [--bayes-db DIR] FILE\n");
	exit(2);
}

/* bayes_store redis in the config (and no --bayes-db): where it is. */
static struct {
	char	*server, *prefix;
	int	 dbn;
	long	 timeout_ms, ttl;
} ctl_redis;

/*
 * The directory: --bayes-db, else the config's bayes_path; with
 * bayes_store redis and no --bayes-db, ctl_redis says where the store is.
 */
static char *
db_dir(const char *dir, const char *cfg_path, struct bayes_params *p)
{
	struct config *cfg;
	char err[512];
	char *d;

	cfg = cfg_path ? cfg_load(cfg_path, err, sizeof(err)) :
	    cfg_defaults();
	if (cfg == NULL) {
		fprintf(stderr, "moatctl: %s\n", err);
		exit(1);
	}
	d = xstrdup(dir ? dir : cfg->bayes_path);
	if (dir == NULL && cfg->bayes_store == CFG_BAYES_REDIS &&
	    ctl_redis.server == NULL) {
		ctl_redis.server = xstrdup(cfg->redis_server);
		ctl_redis.prefix = xstrdup(cfg->redis_prefix);
		ctl_redis.dbn = cfg->redis_db;
		ctl_redis.timeout_ms = cfg->bayes_timeout_ms;
		ctl_redis.ttl = cfg->bayes_redis_seen_ttl_ms / 1000;
	}
	if (p) {
		bayes_params_default(p);
		p->min_spam = (uint64_t)cfg->bayes_min_spam;
		p->min_ham = (uint64_t)cfg->bayes_min_ham;
	}
	cfg_unref(cfg);
	return d;
}

int
ctl_bayes_on(const char *path)
{
	struct config *cfg;
	char err[512];
	int on;

	if ((cfg = cfg_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "moatctl: %s\n", err);
		exit(1);
	}
	on = cfg->bayes;
	cfg_unref(cfg);
	return on;
}

static struct bayes_db *
open_or_die(const char *dir, int flags)
{
	struct bayes_db *db;
	char err[512];

	if (ctl_redis.server)
		db = bayes_db_open_redis(ctl_redis.server, ctl_redis.dbn,
		    ctl_redis.prefix, ctl_redis.timeout_ms, ctl_redis.ttl, err,
		    sizeof(err));
	else
		db = bayes_db_open(dir, flags, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "moatctl: %s\n", err);
		exit(1);
	}
	return db;
}

struct bayes_db *
ctl_bayes_open_ro(const char *dir, const char *cfg, struct bayes_params *p)
{
	struct bayes_db *db;
	char *d = db_dir(dir, cfg, p);

	db = open_or_die(d, BAYES_DB_RDONLY);
	free(d);
	return db;
}

/* Does the line at s (up to e) look like an mbox "From " separator? */
static int
is_from_line(const char *s, const char *e)
{
	const char *p = s + 5;

	if (e - s < 12 || memcmp(s, "From ", 5) != 0)
		return 0;
	while (p < e && *p != ' ' && *p != '\n')
		p++;		/* the envelope sender */
	while (p < e && *p == ' ')
		p++;
	/* the day of the week: "Mon " ... */
	return e - p >= 4 && p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'a' &&
	    p[1] <= 'z' && p[2] >= 'a' && p[2] <= 'z' && p[3] == ' ';
}

struct learn {
	struct bayes_db	*db;
	enum bayes_class cls;
	struct bayes_toks toks;
	int		 quiet;
	int64_t		 now;
	size_t		 count[BAYES_L_UNKNOWN + 1];
	size_t		 nmsg;		/* in the current batch */
	size_t		 skipped;
	int		 failed;	/* the store failed: stop */
};

static void
learn_one(struct learn *l, const char *path, size_t idx, const char *p,
    size_t len)
{
	enum bayes_learned res;
	struct msg *m;
	char err[512];

	if (len == 0 || (len == 1 && p[0] == '\n')) {
		fprintf(stderr, "moatctl: %s: message %zu is empty, "
		    "skipped\n", path, idx);
		l->skipped++;
		return;
	}
	if (l->nmsg == 0 && bayes_db_begin(l->db, err, sizeof(err)) != 0)
		goto fail;
	m = msg_parse(p, len, NULL);
	if (bayes_db_learn_msg(l->db, m, l->cls, &l->toks, l->now, &res, err,
	    sizeof(err)) != 0) {
		msg_free(m);
		goto fail;
	}
	msg_free(m);
	l->count[res]++;
	if (++l->nmsg >= LEARN_BATCH) {
		l->nmsg = 0;
		if (bayes_db_commit(l->db, err, sizeof(err)) != 0)
			goto fail;
	}
	return;
fail:
	fprintf(stderr, "moatctl: %s\n", err);
	l->failed = 1;
}

/* One file: a message, or an mbox of them. */
static void
learn_file(struct learn *l, const char *path, struct sbuf *raw)
{
	const char *s, *e, *line, *start;
	size_t idx = 1;

	if (ctl_read_file(path, raw) != 0) {
		fprintf(stderr, "moatctl: %s: %s\n", path,
		    strerror(errno ? errno : EIO));
		l->skipped++;
		return;
	}
	s = raw->p ? raw->p : "";
	e = s + raw->len;
	if (!is_from_line(s, memchr(s, '\n', raw->len) ?
	    (const char *)memchr(s, '\n', raw->len) : e)) {
		learn_one(l, path, idx, s, raw->len);
		return;
	}
	/* an mbox: each message keeps its From line (msg_parse drops it) */
	start = s;
	line = memchr(s, '\n', raw->len);
	while (line != NULL && line + 1 < e && !l->failed) {
		const char *next = line + 1;
		const char *eol = memchr(next, '\n', (size_t)(e - next));

		if (eol == NULL)
			eol = e;
		/* after an empty line, LF or CRLF */
		if (line > s && (line[-1] == '\n' || (line[-1] == '\r' &&
		    line - 1 > s && line[-2] == '\n')) &&
		    is_from_line(next, eol)) {
			learn_one(l, path, idx++, start,
			    (size_t)(next - start));
			start = next;
		}
		line = eol < e ? eol : NULL;
	}
	if (!l->failed) {
		/* the first line alone is a From line with no message */
		const char *nl = memchr(start, '\n', (size_t)(e - start));

		learn_one(l, path, idx, nl ? start : e, nl ? (size_t)(e -
		    start) : 0);
	}
}

int
ctl_learn(int argc, char **argv)
{
	struct learn l;
	struct sbuf raw = SBUF_INIT;
	const char *dir = NULL, *cfg = NULL;
	struct bayes_totals tot;
	struct timespec c0, c1;
	uint64_t t0;
	char **paths = NULL, *d, err[512];
	size_t np = 0, i, n;
	double secs, cpu;
	int k, cls = -1;

	memset(&l, 0, sizeof(l));
	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--spam") == 0)
			cls = BAYES_SPAM;
		else if (strcmp(argv[k], "--ham") == 0)
			cls = BAYES_HAM;
		else if (strcmp(argv[k], "--forget") == 0)
			cls = BAYES_FORGET;
		else if (strcmp(argv[k], "-c") == 0 && k + 1 < argc)
			cfg = argv[++k];
		else if (strcmp(argv[k], "--bayes-db") == 0 && k + 1 < argc)
			dir = argv[++k];
		else if (strcmp(argv[k], "-q") == 0)
			l.quiet = 1;
		else if (argv[k][0] == '-' && argv[k][1] != '\0')
			bayes_usage();
		else
			break;
	}
	if (cls < 0 || k >= argc)
		bayes_usage();
	l.cls = (enum bayes_class)cls;
	d = db_dir(dir, cfg, NULL);
	l.db = open_or_die(d, 0);
	free(d);
	l.now = (int64_t)time(NULL);
	for (; k < argc; k++)
		ctl_collect(argv[k], &paths, &np);
	t0 = clock_mono_ns();
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (i = 0; i < np && !l.failed; i++)
		learn_file(&l, paths[i], &raw);
	if (!l.failed && bayes_db_commit(l.db, err, sizeof(err)) != 0) {
		fprintf(stderr, "moatctl: %s\n", err);
		l.failed = 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	secs = (double)(clock_mono_ns() - t0) / 1e9;
	/* CPU time too: the fair figure on a shared machine */
	cpu = (double)(c1.tv_sec - c0.tv_sec) +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	n = l.count[BAYES_L_LEARNED] + l.count[BAYES_L_ALREADY] +
	    l.count[BAYES_L_MOVED] + l.count[BAYES_L_FORGOTTEN] +
	    l.count[BAYES_L_UNKNOWN];
	memset(&tot, 0, sizeof(tot));
	if (!l.failed)
		(void)bayes_db_walk(l.db, NULL, NULL, &tot, err, sizeof(err));
	/* the learning is kept either way; say when reads will be slow */
	if (!l.failed && !ctl_redis.server && bayes_db_index_state(l.db, err,
	    sizeof(err)) != BAYES_IX_CURRENT)
		fprintf(stderr, "moatctl: warning: token index: %s\n", err);
	if (!l.quiet || l.failed)
		printf("learn: %s: %zu messages: learned %zu, already %zu, "
		    "moved %zu, forgotten %zu, unknown %zu, skipped %zu%s; "
		    "%.2f s, %.0f messages/s, %.0f per CPU-second; nspam=%"
		    PRIu64 " nham=%" PRIu64 "\n", cls == BAYES_SPAM ? "spam" : cls ==
		    BAYES_HAM ? "ham" : "forget", n,
		    l.count[BAYES_L_LEARNED], l.count[BAYES_L_ALREADY],
		    l.count[BAYES_L_MOVED], l.count[BAYES_L_FORGOTTEN],
		    l.count[BAYES_L_UNKNOWN], l.skipped, l.failed ?
		    " (stopped: store failed, last batch not kept)" : "",
		    secs, secs > 0 ? (double)n / secs : 0.0, cpu > 0 ?
		    (double)n / cpu : 0.0, tot.nspam,
		    tot.nham);
	for (i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	sbuf_free(&raw);
	bayes_toks_free(&l.toks);
	bayes_db_close(l.db);
	return l.failed || l.skipped ? 1 : 0;
}

static int
dump_cb(void *arg, uint64_t tok, const struct bayes_counts *c,
    uint32_t atime)
{
	(void)arg;
	printf("%016" PRIx64 " %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", tok,
	    c->spam, c->ham, atime);
	return ferror(stdout) ? 1 : 0;
}

/*
 * restore: the dump format back into an empty store, in one transaction;
 * a bad line stops it with nothing written.
 */
static int
restore(struct bayes_db *db, const char *file)
{
	FILE *fp = file ? fopen(file, "r") : stdin;
	const char *name = file ? file : "(stdin)";
	struct bayes_totals tot, cur;
	struct bayes_counts c;
	char line[256], err[512];
	unsigned long lineno = 0, ntok = 0;
	int have_tot = 0;

	if (fp == NULL) {
		fprintf(stderr, "moatctl: %s: %s\n", name, strerror(errno));
		return 1;
	}
	memset(&tot, 0, sizeof(tot));
	if (bayes_db_walk(db, NULL, NULL, &cur, err, sizeof(err)) != 0)
		goto fail;
	if (cur.nspam + cur.nham + cur.ntokens > 0) {
		snprintf(err, sizeof(err), "%s: not empty: restore into a new "
		    "directory", bayes_db_path(db));
		goto fail;
	}
	if (bayes_db_begin(db, err, sizeof(err)) != 0)
		goto fail;
	while (fgets(line, sizeof(line), fp) != NULL) {
		uint64_t tok, a, b;
		uint32_t s, h, at;
		int64_t last;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "totals nspam=%" SCNu64 " nham=%" SCNu64
		    " last=%" SCNd64, &a, &b, &last) == 3) {
			tot.nspam = a;
			tot.nham = b;
			tot.last_learn = last;
			have_tot = 1;
			continue;
		}
		if (sscanf(line, "%16" SCNx64 " %" SCNu32 " %" SCNu32 " %"
		    SCNu32, &tok, &s, &h, &at) != 4) {
			snprintf(err, sizeof(err), "%s:%lu: not a dump line",
			    name, lineno);
			goto fail;
		}
		c.spam = s;
		c.ham = h;
		if (bayes_db_put_token(db, tok, &c, at, err, sizeof(err)) != 0)
			goto fail;
		ntok++;
	}
	if (ferror(fp) || !have_tot) {
		snprintf(err, sizeof(err), "%s: %s", name, ferror(fp) ?
		    strerror(errno) : "no totals line (truncated dump?)");
		goto fail;
	}
	if (bayes_db_put_totals(db, &tot, err, sizeof(err)) != 0 ||
	    bayes_db_commit(db, err, sizeof(err)) != 0)
		goto fail;
	if (file)
		fclose(fp);
	printf("restore: %lu tokens, nspam=%" PRIu64 " nham=%" PRIu64 "\n",
	    ntok, tot.nspam, tot.nham);
	return 0;
fail:
	if (file)
		fclose(fp);
	fprintf(stderr, "moatctl: %s\n", err);
	return 1;
}

struct tokens_arg {
	struct bayes_db		*db;	/* or NULL */
	struct bayes_params	 p;
	struct bayes_totals	 tot;
};

static int
tokens_cb(void *arg, const char *tok, size_t len)
{
	struct tokens_arg *ta = arg;
	uint64_t h = bayes_tok_hash(tok, len);
	struct bayes_counts c;
	char err[512];

	if (ta->db == NULL) {
		printf("%016" PRIx64 " %.*s\n", h, (int)len, tok);
		return 0;
	}
	if (bayes_db_read(ta->db, &h, 1, &c, &ta->tot, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "moatctl: %s\n", err);
		return 1;
	}
	printf("%016" PRIx64 " spam=%" PRIu32 " ham=%" PRIu32 " p=%.4f %.*s\n",
	    h, c.spam, c.ham, bayes_token_prob(&ta->p, &c, ta->tot.nspam,
	    ta->tot.nham), (int)len, tok);
	return 0;
}

/*
 * bayes tokens FILE: what the tokenizer makes of a message, and with a
 * store, each token's counts and probability (p=-1: never seen), for
 * tuning and for "why did Bayes say that".
 */
static int
tokens(const char *file, struct bayes_db *db, const struct bayes_params *p)
{
	struct tokens_arg ta;
	struct sbuf raw = SBUF_INIT;
	struct msg *m;

	memset(&ta, 0, sizeof(ta));
	ta.db = db;
	ta.p = *p;

	if (ctl_read_file(file, &raw) != 0) {
		fprintf(stderr, "moatctl: %s: %s\n", file, strerror(errno ?
		    errno : EIO));
		return 1;
	}
	m = msg_parse(raw.p ? raw.p : "", raw.len, NULL);
	bayes_tok_walk(m, tokens_cb, &ta);
	msg_free(m);
	sbuf_free(&raw);
	return 0;
}

/*
 * bayes stats: the token index as one more key=value word on the line;
 * why a damaged one is not used goes to stderr, naming the file.
 */
static void
index_stats(struct bayes_db *db)
{
	static const char *const name[] = {
		"none", "current", "stale", "bad"
	};
	enum bayes_ixstate st;
	char msg[512];

	st = bayes_db_index_state(db, msg, sizeof(msg));
	printf(" index=%s", name[st]);
	if (st == BAYES_IX_BAD)
		fprintf(stderr, "moatctl: token index: %s\n", msg);
}

int
ctl_bayes(int argc, char **argv)
{
	const char *dir = NULL, *cfg = NULL, *sub, *file = NULL;
	struct bayes_totals tot;
	struct bayes_db *db;
	uint64_t seen = 0;
	char err[512], *d;
	int k, rc = 0;

	if (argc < 1)
		bayes_usage();
	sub = argv[0];
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "-c") == 0 && k + 1 < argc)
			cfg = argv[++k];
		else if (strcmp(argv[k], "--bayes-db") == 0 && k + 1 < argc)
			dir = argv[++k];
		else if (argv[k][0] == '-' && argv[k][1] != '\0')
			bayes_usage();
		else if (file == NULL)
			file = argv[k];
		else
			bayes_usage();
	}
	if (strcmp(sub, "tokens") == 0) {
		struct bayes_params p;

		if (file == NULL)
			bayes_usage();
		bayes_params_default(&p);
		db = dir || cfg ? ctl_bayes_open_ro(dir, cfg, &p) : NULL;
		rc = tokens(file, db, &p);
		bayes_db_close(db);
		return rc;
	}
	if (strcmp(sub, "stats") != 0 && strcmp(sub, "dump") != 0 &&
	    strcmp(sub, "restore") != 0 && strcmp(sub, "reindex") != 0)
		bayes_usage();
	if (file != NULL && strcmp(sub, "restore") != 0)
		bayes_usage();
	d = db_dir(dir, cfg, NULL);
	db = open_or_die(d, strcmp(sub, "restore") == 0 ||
	    strcmp(sub, "reindex") == 0 ? 0 : BAYES_DB_RDONLY);
	free(d);
	if (strcmp(sub, "restore") == 0)
		rc = restore(db, file);
	else if (strcmp(sub, "reindex") == 0) {
		if (bayes_db_reindex(db, err, sizeof(err)) != 0) {
			fprintf(stderr, "moatctl: %s\n", err);
			rc = 1;
		} else {
			(void)bayes_db_index_state(db, err, sizeof(err));
			printf("index: %s\n", err);
		}
	}
	else if (strcmp(sub, "dump") == 0) {
		printf("# moat bayes dump 1: token spam ham atime\n");
		if (bayes_db_walk(db, dump_cb, NULL, &tot, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "moatctl: %s\n", err);
			rc = 1;
		} else
			printf("totals nspam=%" PRIu64 " nham=%" PRIu64
			    " last=%" PRId64 "\n", tot.nspam, tot.nham,
			    tot.last_learn);
	} else {
		if (bayes_db_walk(db, NULL, NULL, &tot, err,
		    sizeof(err)) != 0 || bayes_db_seen_count(db, &seen, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "moatctl: %s\n", err);
			rc = 1;
		} else
		{
			printf("path=%s nspam=%" PRIu64 " nham=%" PRIu64
			    " tokens=%" PRIu64 " seen=%" PRIu64
			    " last_learn=%" PRId64, bayes_db_path(db),
			    tot.nspam, tot.nham, tot.ntokens, seen,
			    tot.last_learn);
			if (!ctl_redis.server)
				index_stats(db);
			printf("\n");
		}
	}
	bayes_db_close(db);
	return rc;
}
