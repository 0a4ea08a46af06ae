/*
 * bench/rule-cost.c: what each pattern of one stage of the stock
 * SpamAssassin rules costs on given messages, with Hyperscan and with
 * PCRE2, alone; and what the stage's Hyperscan database costs whole and
 * without the most costly patterns.  It answers "how low can the scan of
 * this stage go" for doc/rules.md, section 10.  It prints figures and
 * asserts nothing.
 *
 *   rule-cost [--stage body|rawbody|uri|full] [--top N] [--rounds R] FILE...
 *
 * Times are CPU-ms per message, the best of R rounds (default 5) so that
 * another process's burst does not count.  The patterns are those moat
 * gives Hyperscan (rule_hs_expression(), the same flags), each rule that
 * Hyperscan takes alone; unread sub-rules, which moatd leaves out of its
 * databases, are in.  The PCRE2 figure is the rule's own compiled pattern
 * (JIT) over the stage's elements, stopping at the first hit, which is
 * what rule_eval() does for a rule Hyperscan does not rule out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "rule.h"
#include "rule_int.h"
#include "sbuf.h"
#include "xmalloc.h"

#ifdef HAVE_HYPERSCAN
#include <hs/hs.h>

struct pat {
	size_t		 idx;		/* rule index */
	char		*expr;
	unsigned	 flags;
	double		 hs, pcre;	/* ms per message */
};

struct texts {
	struct msg	**m;
	struct sbuf	*join;		/* as rule_hs_scan() joins them */
	size_t		 n;
	enum rule_stage	 st;
};

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const struct msg_str *
elements(const struct texts *tx, size_t k, size_t *n, struct msg_str *one)
{
	switch (tx->st) {
	case RULE_ST_BODY:
		return msg_body(tx->m[k], n);
	case RULE_ST_RAWBODY:
		return msg_rawbody(tx->m[k], n);
	case RULE_ST_URI:
		return msg_uris(tx->m[k], n);
	default:
		one->p = msg_full(tx->m[k], &one->len);
		*n = 1;
		return one;
	}
}

static int
on_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned fl, void *ctx)
{
	(void)id; (void)from; (void)to; (void)fl; (void)ctx;
	return 0;
}

/* Best of rounds, ms per message, for db over every text; -1 on error. */
static double
time_db(const hs_database_t *db, const struct texts *tx, int rounds)
{
	hs_scratch_t *s = NULL;
	double best = -1, t0, t;
	size_t k;
	int r;

	if (hs_alloc_scratch(db, &s) != HS_SUCCESS)
		return -1;
	for (r = 0; r < rounds; r++) {
		t0 = cpu_ms();
		for (k = 0; k < tx->n; k++)
			if (hs_scan(db, tx->join[k].p != NULL ?
			    tx->join[k].p : "", (unsigned)tx->join[k].len, 0,
			    s, on_match, NULL) != HS_SUCCESS) {
				hs_free_scratch(s);
				return -1;
			}
		t = (cpu_ms() - t0) / (double)tx->n;
		if (best < 0 || t < best)
			best = t;
	}
	hs_free_scratch(s);
	return best;
}

static double
time_pcre(const pcre2_code *re, const struct texts *tx, int rounds)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	const struct msg_str *v;
	struct msg_str one;
	double best = -1, t0, t;
	size_t k, j, n;
	int r;

	for (r = 0; r < rounds; r++) {
		t0 = cpu_ms();
		for (k = 0; k < tx->n; k++) {
			v = elements(tx, k, &n, &one);
			for (j = 0; j < n; j++)
				if (pcre2_match(re, (PCRE2_SPTR)(v[j].p != NULL ?
				    v[j].p : ""), v[j].len, 0, 0, md, NULL) >= 0)
					break;
		}
		t = (cpu_ms() - t0) / (double)tx->n;
		if (best < 0 || t < best)
			best = t;
	}
	pcre2_match_data_free(md);
	return best;
}

/* The database of pats[from..n), or NULL with a message. */
static hs_database_t *
compile_all(const struct pat *pats, size_t from, size_t n)
{
	const char **ex = xcalloc(n - from + 1, sizeof(*ex));
	unsigned *fl = xcalloc(n - from + 1, sizeof(*fl));
	unsigned *ids = xcalloc(n - from + 1, sizeof(*ids));
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	size_t i;

	for (i = from; i < n; i++) {
		ex[i - from] = pats[i].expr;
		fl[i - from] = pats[i].flags;
		ids[i - from] = (unsigned)i;
	}
	if (hs_compile_multi(ex, fl, ids, (unsigned)(n - from),
	    HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
		fprintf(stderr, "rule-cost: %s\n", ce->message);
		hs_free_compile_error(ce);
		db = NULL;
	}
	free(ex);
	free(fl);
	free(ids);
	return db;
}

static int
by_hs_cost(const void *a, const void *b)
{
	const struct pat *x = a, *y = b;

	return x->hs < y->hs ? 1 : x->hs > y->hs ? -1 :
	    x->idx < y->idx ? -1 : x->idx > y->idx;
}

static char *
slurp(const char *path, size_t *len)
{
	struct sbuf b = SBUF_INIT;
	char buf[65536];
	size_t got;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, got);
	fclose(f);
	*len = b.len;
	sbuf_addc(&b, '\0');
	return b.p;
}

static void
whole_db(const char *what, const struct pat *pats, size_t from, size_t n,
    const struct texts *tx, int rounds)
{
	hs_database_t *db;

	if (from >= n)
		return;
	if ((db = compile_all(pats, from, n)) == NULL)
		return;
	printf("one database, %s (%zu patterns): %.3f ms per message\n",
	    what, n - from, time_db(db, tx, rounds));
	hs_free_database(db);
}

int
main(int argc, char **argv)
{
	static const char *names[] = { "body", "uri", "rawbody", "full" };
	static const enum rule_stage stages[] = { RULE_ST_BODY, RULE_ST_URI,
	    RULE_ST_RAWBODY, RULE_ST_FULL };
	struct rule_builder *b;
	struct rule_error err;
	struct rule_stats stats;
	struct rule_set *rs;
	struct texts tx;
	struct pat *pats = NULL;
	struct sbuf o = SBUF_INIT;
	const struct msg_str *v;
	struct msg_str one;
	size_t i, k, j, n, npats = 0, top = 100, bytes = 0;
	double shs = 0, spc = 0, smin = 0;
	int a, rounds = 5;
	char *raw, *end;

	memset(&tx, 0, sizeof(tx));
	tx.st = RULE_ST_BODY;
	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--stage") == 0 && a + 1 < argc) {
			for (k = 0; k < 4 && strcmp(names[k], argv[a + 1]);
			    k++)
				;
			if (k == 4)
				goto usage;
			tx.st = stages[k];
			a++;
		} else if (strcmp(argv[a], "--top") == 0 && a + 1 < argc) {
			top = strtoul(argv[++a], &end, 10);
			if (*argv[a] == '\0' || *end != '\0' || top == 0)
				goto usage;
		} else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc) {
			rounds = (int)strtol(argv[++a], &end, 10);
			if (*argv[a] == '\0' || *end != '\0' || rounds <= 0 ||
			    rounds > 1000)
				goto usage;
		} else
			goto usage;
	}
	if (a == argc)
		goto usage;
	tx.n = (size_t)(argc - a);
	tx.m = xcalloc(tx.n, sizeof(*tx.m));
	tx.join = xcalloc(tx.n, sizeof(*tx.join));
	for (k = 0; k < tx.n; k++) {
		if ((raw = slurp(argv[a + (int)k], &n)) == NULL) {
			perror(argv[a + (int)k]);
			return 1;
		}
		tx.m[k] = msg_parse(raw, n, NULL);
		free(raw);
		v = elements(&tx, k, &n, &one);
		if (n == 1)
			sbuf_add(&tx.join[k], v[0].p, v[0].len);
		else
			for (j = 0; j < n; j++) {
				sbuf_add(&tx.join[k], v[j].p, v[j].len);
				sbuf_addc(&tx.join[k], '\n');
			}
		bytes += tx.join[k].len;
	}

	memset(&err, 0, sizeof(err));
	b = rule_builder_new();
	if (rule_builder_add_sa_dirs(b, NULL, NULL, &err) != 0 ||
	    (rs = rule_builder_finish(b, &stats, &err)) == NULL) {
		fprintf(stderr, "rule-cost: %s:%d: %s\n", err.file, err.line,
		    err.msg);
		return 1;
	}
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		hs_database_t *db;
		hs_compile_error_t *ce;
		unsigned f;

		if (r->stage != tx.st || r->re == NULL ||
		    r->skip != RSKIP_NONE ||
		    rule_hs_expression(r->src, r->copts, rs->tables, &o,
		    &f) != 0)
			continue;
		sbuf_addc(&o, '\0');
		if (hs_compile(o.p, f, HS_MODE_BLOCK, NULL, &db, &ce) !=
		    HS_SUCCESS) {
			hs_free_compile_error(ce);
			continue;
		}
		pats = xreallocarray(pats, npats + 1, sizeof(*pats));
		pats[npats].idx = i;
		pats[npats].expr = xstrdup(o.p);
		pats[npats].flags = f;
		pats[npats].hs = time_db(db, &tx, rounds);
		pats[npats].pcre = time_pcre(r->re, &tx, rounds);
		npats++;
		hs_free_database(db);
	}
	for (k = 0; k < 4 && stages[k] != tx.st; k++)
		;
	if (npats == 0) {
		printf("rule-cost: no pattern of stage %s\n", names[k]);
		return 0;
	}
	qsort(pats, npats, sizeof(*pats), by_hs_cost);
	if (top > npats)
		top = npats;
	printf("stage %s: %zu patterns; %zu messages, %.1f KiB of stage "
	    "text per message; CPU-ms per message, best of %d rounds\n",
	    names[k], npats, tx.n, (double)bytes / 1024 / (double)tx.n,
	    rounds);
	printf("%5s %10s %10s  %s\n", "rank", "hyperscan", "pcre2-jit",
	    "rule (alone)");
	for (i = 0; i < top; i++) {
		printf("%5zu %10.4f %10.4f  %s\n", i + 1, pats[i].hs,
		    pats[i].pcre, rs->rules[pats[i].idx].name);
		shs += pats[i].hs;
		spc += pats[i].pcre;
		smin += pats[i].hs < pats[i].pcre ? pats[i].hs : pats[i].pcre;
	}
	printf("the %zu most costly, each alone: Hyperscan %.3f, PCRE2 JIT "
	    "%.3f, the cheaper of the two for each %.3f ms per message\n",
	    top, shs, spc, smin);
	fflush(stdout);
	whole_db("all of them", pats, 0, npats, &tx, rounds);
	whole_db("without the most costly", pats, top, npats, &tx, rounds);
	return 0;
usage:
	fprintf(stderr, "usage: rule-cost [--stage body|rawbody|uri|full] "
	    "[--top N] [--rounds R] FILE...\n");
	return 2;
}
#else
int
main(void)
{
	fprintf(stderr, "rule-cost: moat was built without Hyperscan\n");
	return 1;
}
#endif
