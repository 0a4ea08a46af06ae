/*
 * moatctl: offline tools over the moat engine.
 *
 *   moatctl scan [options] FILE|DIR...    score messages, like spamassassin -t
 *   moatctl agree [options] CORPUSDIR     agreement with SpamAssassin's hits
 *   moatctl rules [options]               load rule files, print statistics
 *
 * Options shared by all: -r FILE (a rule file, repeatable; *.cf is read as
 * SpamAssassin), --sa-stock (Debian's stock SpamAssassin rules),
 * --tag N|off, --reject N|off, --tempfail N|off.
 *
 * It links the same pure libraries moatd does (librules, libscoring), so a
 * score here is the score moatd gives at end of DATA with the same rules and
 * no session facts.  It does not talk SMTP, touch Redis or greylist.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "rule.h"
#include "sbuf.h"
#include "score.h"
#include "xmalloc.h"

struct opts {
	const char	**rules;
	size_t		 nrules;
	int		 sa_stock;
	int		 verbose;
	int		 quiet;
	int		 jobs;
	int		 sub;		/* print __ rules too */
	struct score_thresholds th;
};

struct item {
	char		*path;
	size_t		 size;
	double		 score;
	enum score_verdict verdict;
	char		*rules;		/* "A,B" */
	char		*report;	/* -v table */
	int		 err;
};

struct job {
	const struct opts *o;
	const struct rule_set *rs;
	struct item	*items;
	size_t		 nitems;
	size_t		 next;
	pthread_mutex_t	 lock;
	/* agree */
	int		 collect_all;
	char		***names;	/* per item: hit names incl. __ */
	size_t		*nnames;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: moatctl scan [-r RULEFILE]... [--sa-stock] [-v] [-q] "
	    "[-j N]\n"
	    "                    [--tag N|off] [--tempfail N|off] "
	    "[--reject N|off] FILE|DIR...\n"
	    "       moatctl agree [-r RULEFILE]... [--sa-stock] [-v] "
	    "CORPUSDIR\n"
	    "       moatctl rules [-r RULEFILE]... [--sa-stock] [-v]\n");
	exit(2);
}

static int
parse_threshold(const char *s, double *v, int *on)
{
	char *end;

	if (strcmp(s, "off") == 0) {
		*on = 0;
		return 0;
	}
	*v = strtod(s, &end);
	if (*end != '\0' || !isfinite(*v))
		return -1;
	*on = 1;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	score_thresholds_default(&o->th);
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-r") == 0 && i + 1 < argc) {
			o->rules = xreallocarray(o->rules, o->nrules + 1,
			    sizeof(char *));
			o->rules[o->nrules++] = argv[++i];
		} else if (strcmp(a, "--sa-stock") == 0)
			o->sa_stock = 1;
		else if (strcmp(a, "-v") == 0)
			o->verbose = 1;
		else if (strcmp(a, "-q") == 0)
			o->quiet = 1;
		else if (strcmp(a, "--sub") == 0)
			o->sub = 1;
		else if (strcmp(a, "-j") == 0 && i + 1 < argc) {
			o->jobs = atoi(argv[++i]);
			if (o->jobs < 1 || o->jobs > 64)
				usage();
		} else if (strcmp(a, "--tag") == 0 && i + 1 < argc) {
			if (parse_threshold(argv[++i], &o->th.tag,
			    &o->th.tag_on) != 0)
				usage();
		} else if (strcmp(a, "--reject") == 0 && i + 1 < argc) {
			if (parse_threshold(argv[++i], &o->th.reject,
			    &o->th.reject_on) != 0)
				usage();
		} else if (strcmp(a, "--tempfail") == 0 && i + 1 < argc) {
			if (parse_threshold(argv[++i], &o->th.tempfail,
			    &o->th.tempfail_on) != 0)
				usage();
		} else if (a[0] == '-' && a[1] != '\0')
			usage();
		else
			break;
	}
	return i;
}

static struct rule_set *
load_rules(const struct opts *o, struct rule_stats *st)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;
	size_t i;

	memset(&err, 0, sizeof(err));
	if (o->sa_stock && rule_builder_add_sa_dirs(b, NULL, NULL, &err) != 0)
		goto fail;
	for (i = 0; i < o->nrules; i++)
		if (rule_builder_add_file(b, o->rules[i], RULE_FMT_AUTO,
		    &err) != 0)
			goto fail;
	if ((rs = rule_builder_finish(b, st, &err)) == NULL) {
		b = NULL;
		goto fail;
	}
	return rs;
fail:
	rule_builder_free(b);
	if (err.offset >= 0)
		fprintf(stderr, "moatctl: %s:%d: %s (offset %ld)\n", err.file,
		    err.line, err.msg, err.offset);
	else
		fprintf(stderr, "moatctl: %s:%d: %s\n", err.file, err.line,
		    err.msg);
	exit(1);
}

static const char *const stage_name[RULE_ST_COUNT] = {
	"connect", "helo", "mail", "rcpt", "header", "body", "uri",
	"rawbody", "full", "mimeheader", "meta"
};

static void
print_stats(const struct rule_stats *st)
{
	unsigned tl = 0, tz = 0, te = 0, tb = 0;
	size_t k;

	printf("%-10s %7s %7s %7s %7s\n", "type", "run", "score0", "eval",
	    "badre");
	for (k = 0; k < RULE_ST_COUNT; k++) {
		if (st->loaded[k] + st->zero[k] + st->eval[k] + st->badre[k] ==
		    0)
			continue;
		printf("%-10s %7u %7u %7u %7u\n", stage_name[k], st->loaded[k],
		    st->zero[k], st->eval[k], st->badre[k]);
		tl += st->loaded[k];
		tz += st->zero[k];
		te += st->eval[k];
		tb += st->badre[k];
	}
	printf("%-10s %7u %7u %7u %7u\n", "total", tl, tz, te, tb);
	printf("files %u, lines %u; inactive (if/ifplugin) %u; plugin/"
	    "unsupported %u; bad metas %u;\nreplace_rules expanded %u; "
	    "capture templates %u; JIT-compiled %u; literal prefilter %u; "
	    "other settings %u\n", st->files, st->lines, st->inactive,
	    st->plugin, st->meta_bad, st->replaced, st->templates, st->jit,
	    st->prefiltered, st->unknown_keys);
}

/* ---------------------------------------------------------------------- */

static int
read_file(const char *path, struct sbuf *out)
{
	FILE *fp = fopen(path, "r");
	char buf[65536];
	size_t n;

	sbuf_reset(out);
	if (fp == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(out, buf, n);
	n = ferror(fp);
	fclose(fp);
	return n ? -1 : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
add_path(char ***v, size_t *n, char *p)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = p;
}

/* Files of a directory (a maildir's cur/ and new/), sorted. */
static void
collect(const char *path, char ***v, size_t *n)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	size_t first = *n;
	char *sub;

	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		add_path(v, n, xstrdup(path));
		return;
	}
	sub = xasprintf("%s/cur", path);
	if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		collect(sub, v, n);
		free(sub);
		sub = xasprintf("%s/new", path);
		collect(sub, v, n);
		free(sub);
		return;
	}
	free(sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *f;

		if (de->d_name[0] == '.')
			continue;
		f = xasprintf("%s/%s", path, de->d_name);
		if (stat(f, &sb) == 0 && S_ISREG(sb.st_mode))
			add_path(v, n, f);
		else
			free(f);
	}
	closedir(d);
	qsort(*v + first, *n - first, sizeof(char *), cmp_str);
}

static void
scan_one(struct job *j, size_t idx, struct rule_scratch *sc,
    struct sbuf *raw)
{
	struct item *it = &j->items[idx];
	const struct rule_hit *h;
	struct score_card card;
	struct sbuf s = SBUF_INIT;
	struct msg *m;
	size_t n, i;

	if (read_file(it->path, raw) != 0) {
		it->err = errno ? errno : EIO;
		return;
	}
	it->size = raw->len;
	m = msg_parse(raw->p ? raw->p : "", raw->len, NULL);
	h = rule_eval(j->rs, sc, NULL, m, &n);
	score_card_init(&card);
	if (j->collect_all) {
		j->names[idx] = xreallocarray(NULL, n + 1, sizeof(char *));
		j->nnames[idx] = 0;
	}
	for (i = 0; i < n; i++) {
		if (h[i].flags & RULE_HIT_LIMIT)
			continue;
		if (j->collect_all)
			j->names[idx][j->nnames[idx]++] = (char *)h[i].name;
		if ((h[i].flags & RULE_HIT_SUB) && !j->o->sub)
			continue;
		score_card_add(&card, h[i].name, (h[i].flags & RULE_HIT_SUB) ?
		    0 : h[i].score * h[i].count, h[i].count, h[i].desc,
		    "rules");
	}
	it->score = score_card_total(&card);
	it->verdict = score_verdict(&card, &j->o->th);
	score_card_tests(&card, &s);
	it->rules = xstrdup(s.p ? s.p : "");
	if (j->o->verbose) {
		sbuf_reset(&s);
		sbuf_printf(&s, "Content analysis details:   (%.1f points, "
		    "%.1f required)\n\n pts rule name              "
		    "description\n---- ---------------------- "
		    "--------------------------------------------------\n",
		    it->score, j->o->th.tag_on ? j->o->th.tag : 0.0);
		for (i = 0; i < card.nhits; i++)
			sbuf_printf(&s, "%4.1f %-22s %s\n", card.hits[i].score,
			    card.hits[i].name, card.hits[i].desc);
		it->report = xstrdup(s.p);
	}
	sbuf_free(&s);
	score_card_free(&card);
	msg_free(m);
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct rule_scratch *sc = rule_scratch_new();
	struct sbuf raw = SBUF_INIT;
	size_t idx;

	for (;;) {
		pthread_mutex_lock(&j->lock);
		idx = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (idx >= j->nitems)
			break;
		scan_one(j, idx, sc, &raw);
	}
	sbuf_free(&raw);
	rule_scratch_free(sc);
	return NULL;
}

static double
clock_secs(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now(void)
{
	return clock_secs(CLOCK_MONOTONIC);
}

/* CPU seconds of the whole process: fair figures on a busy machine */
static double
cpu(void)
{
	return clock_secs(CLOCK_PROCESS_CPUTIME_ID);
}

/* Scan j->items with o->jobs threads; returns the seconds it took. */
static double
run_job(struct job *j)
{
	pthread_t tid[64];
	int k, nt = j->o->jobs;
	double t0 = now();

	pthread_mutex_init(&j->lock, NULL);
	if (nt == 1)
		worker(j);
	else {
		for (k = 0; k < nt; k++)
			if (pthread_create(&tid[k], NULL, worker, j) != 0) {
				fprintf(stderr, "moatctl: pthread_create\n");
				exit(1);
			}
		for (k = 0; k < nt; k++)
			pthread_join(tid[k], NULL);
	}
	pthread_mutex_destroy(&j->lock);
	return now() - t0;
}

static int
cmd_scan(int argc, char **argv)
{
	struct opts o;
	struct job j;
	struct rule_stats st;
	struct rule_set *rs;
	char **paths = NULL;
	size_t np = 0, i, nv[5] = { 0 }, bytes = 0, errs = 0;
	double secs, load0, cpu0, sum = 0;
	int k;

	k = parse_opts(argc, argv, &o);
	if (k >= argc)
		usage();
	load0 = now();
	rs = load_rules(&o, &st);
	load0 = now() - load0;
	for (; k < argc; k++)
		collect(argv[k], &paths, &np);
	cpu0 = cpu();
	memset(&j, 0, sizeof(j));
	j.o = &o;
	j.rs = rs;
	j.nitems = np;
	j.items = xcalloc(np + 1, sizeof(struct item));
	for (i = 0; i < np; i++)
		j.items[i].path = paths[i];
	secs = run_job(&j);
	cpu0 = cpu() - cpu0;
	for (i = 0; i < np; i++) {
		struct item *it = &j.items[i];

		if (it->err) {
			fprintf(stderr, "moatctl: %s: %s\n", it->path,
			    strerror(it->err));
			errs++;
			continue;
		}
		nv[it->verdict]++;
		bytes += it->size;
		sum += it->score;
		if (!o.quiet)
			printf("%s score=%.1f verdict=%s rules=%s\n", it->path,
			    it->score, score_verdict_name(it->verdict),
			    it->rules);
		if (o.verbose && it->report != NULL)
			printf("\n%s\n", it->report);
		free(it->rules);
		free(it->report);
		free(it->path);
	}
	np -= errs;
	printf("summary: %zu messages, %zu bytes; accept %zu, tag %zu, "
	    "tempfail %zu, reject %zu; tag or worse %.1f%%; mean score %.2f\n",
	    np, bytes, nv[SCORE_ACCEPT], nv[SCORE_TAG], nv[SCORE_TEMPFAIL],
	    nv[SCORE_REJECT], np ? 100.0 * (double)(np - nv[SCORE_ACCEPT]) /
	    (double)np : 0.0, np ? sum / (double)np : 0.0);
	printf("speed: %.3f s for %zu messages with %d thread(s): %.1f "
	    "messages/s, %.3f ms per 50 KiB (rules loaded in %.2f s)\n",
	    secs, np, o.jobs, secs > 0 ? (double)np / secs : 0.0,
	    bytes ? secs * 1000.0 * 51200.0 / (double)bytes : 0.0, load0);
	printf("cpu: %.3f s: %.1f messages per CPU-second, %.3f CPU-ms per "
	    "50 KiB\n", cpu0, cpu0 > 0 ? (double)np / cpu0 : 0.0,
	    bytes ? cpu0 * 1000.0 * 51200.0 / (double)bytes : 0.0);
	free(paths);
	free(j.items);
	free(o.rules);
	rule_set_unref(rs);
	return errs ? 1 : 0;
}

static int
cmd_rules(int argc, char **argv)
{
	struct opts o;
	struct rule_stats st;
	struct rule_set *rs;
	struct rule_info ri;
	size_t i;

	if (parse_opts(argc, argv, &o) != argc)
		usage();
	rs = load_rules(&o, &st);
	print_stats(&st);
	if (o.verbose)
		for (i = 0; i < rule_set_count(rs); i++) {
			rule_set_info(rs, i, &ri);
			printf("%s\t%s\t%g\t%s\t%s:%d\n", ri.name,
			    stage_name[ri.stage], ri.score,
			    ri.runs ? "runs" : ri.why, ri.file, ri.line);
		}
	free(o.rules);
	rule_set_unref(rs);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* agree */

struct names {
	char		**v;
	size_t		 n;
};

static long
name_index(const struct names *nm, const char *s)
{
	size_t lo = 0, hi = nm->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(nm->v[mid], s);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static FILE *
open_maybe_gz(const char *path, int *piped)
{
	size_t n = strlen(path);
	char *cmd;
	FILE *fp;

	*piped = 0;
	if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
		if (strchr(path, '\'') != NULL)
			return NULL;
		cmd = xasprintf("gzip -dc '%s'", path);
		fp = popen(cmd, "r");
		free(cmd);
		*piped = 1;
		return fp;
	}
	return fopen(path, "r");
}

struct sa_msg {
	char		*file;
	unsigned char	*hit;	/* per pure rule */
};

static ssize_t
find_msg(struct sa_msg *v, size_t n, const char *file)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid].file, file);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
cmp_msg(const void *a, const void *b)
{
	return strcmp(((const struct sa_msg *)a)->file,
	    ((const struct sa_msg *)b)->file);
}

/* Read "file<TAB>...<TAB>rules" lines, rules in column col (0-based). */
static int
read_hits(const char *path, int col, const struct names *pure,
    struct sa_msg **msgs, size_t *nmsgs, int add)
{
	int piped;
	FILE *fp = open_maybe_gz(path, &piped);
	char *line = NULL, *p, *f, *r, *tok;
	size_t cap = 0;
	ssize_t len, mi;
	int c;

	if (fp == NULL) {
		fprintf(stderr, "moatctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (getline(&line, &cap, fp) < 0) {	/* header */
		fprintf(stderr, "moatctl: %s: empty\n", path);
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		p = line;
		f = strsep(&p, "\t");
		for (c = 1, r = NULL; c <= col && p != NULL; c++)
			r = strsep(&p, "\t");
		if (add) {
			*msgs = xreallocarray(*msgs, *nmsgs + 1,
			    sizeof(struct sa_msg));
			(*msgs)[*nmsgs].file = xstrdup(f);
			(*msgs)[*nmsgs].hit = xcalloc(pure->n + 1, 1);
			mi = (ssize_t)(*nmsgs)++;
		} else if ((mi = find_msg(*msgs, *nmsgs, f)) < 0)
			continue;
		while (r != NULL && (tok = strsep(&r, ",")) != NULL) {
			long k = name_index(pure, tok);

			if (k >= 0)
				(*msgs)[mi].hit[k] = 1;
		}
	}
	free(line);
	if (piped)
		pclose(fp);
	else
		fclose(fp);
	if (add)
		qsort(*msgs, *nmsgs, sizeof(struct sa_msg), cmp_msg);
	return 0;
}

struct diff {
	long		 rule;
	size_t		 moat_only, sa_only, both;
};

static int
cmp_diff(const void *a, const void *b)
{
	const struct diff *x = a, *y = b;
	size_t dx = x->moat_only + x->sa_only, dy = y->moat_only + y->sa_only;

	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

static int
cmd_agree(int argc, char **argv)
{
	struct opts o;
	struct rule_stats st;
	struct rule_set *rs;
	struct names pure = { NULL, 0 };
	struct sa_msg *msgs = NULL;
	struct diff *d;
	struct job j;
	size_t nmsgs = 0, i, k, inter = 0, uni = 0, nm = 0, ns = 0;
	char *path, *line = NULL, *tab;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	double secs;
	int a;

	a = parse_opts(argc, argv, &o);
	if (a != argc - 1)
		usage();
	if (!o.sa_stock && o.nrules == 0)
		o.sa_stock = 1;
	path = xasprintf("%s/sa_pure_regex_rules.tsv", argv[a]);
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "moatctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	free(path);
	(void)getline(&line, &cap, fp);
	while ((len = getline(&line, &cap, fp)) > 0) {
		if ((tab = strchr(line, '\t')) != NULL)
			*tab = '\0';
		add_path(&pure.v, &pure.n, xstrdup(line));
	}
	fclose(fp);
	free(line);
	qsort(pure.v, pure.n, sizeof(char *), cmp_str);
	path = xasprintf("%s/sa_hits_pure_regex.tsv", argv[a]);
	if (read_hits(path, 3, &pure, &msgs, &nmsgs, 1) != 0)
		return 1;
	free(path);
	path = xasprintf("%s/sa_subhits_pure_regex.tsv.gz", argv[a]);
	if (read_hits(path, 1, &pure, &msgs, &nmsgs, 0) != 0)
		return 1;
	free(path);

	rs = load_rules(&o, &st);
	memset(&j, 0, sizeof(j));
	j.o = &o;
	j.rs = rs;
	j.nitems = nmsgs;
	j.items = xcalloc(nmsgs + 1, sizeof(struct item));
	j.collect_all = 1;
	j.names = xcalloc(nmsgs + 1, sizeof(char **));
	j.nnames = xcalloc(nmsgs + 1, sizeof(size_t));
	for (i = 0; i < nmsgs; i++)
		j.items[i].path = xasprintf("%s/%s", argv[a], msgs[i].file);
	secs = run_job(&j);

	d = xcalloc(pure.n + 1, sizeof(*d));
	for (k = 0; k < pure.n; k++)
		d[k].rule = (long)k;
	for (i = 0; i < nmsgs; i++) {
		unsigned char *mine = xcalloc(pure.n + 1, 1);

		if (j.items[i].err)
			fprintf(stderr, "moatctl: %s: %s\n", j.items[i].path,
			    strerror(j.items[i].err));
		for (k = 0; k < j.nnames[i]; k++) {
			long x = name_index(&pure, j.names[i][k]);

			if (x >= 0)
				mine[x] = 1;
		}
		for (k = 0; k < pure.n; k++) {
			if (mine[k] && msgs[i].hit[k]) {
				inter++;
				d[k].both++;
			} else if (mine[k]) {
				nm++;
				d[k].moat_only++;
			} else if (msgs[i].hit[k]) {
				ns++;
				d[k].sa_only++;
			}
			if (mine[k] || msgs[i].hit[k])
				uni++;
		}
		if (o.verbose)
			for (k = 0; k < pure.n; k++)
				if (mine[k] != msgs[i].hit[k])
					printf("diff %s %s %s\n", msgs[i].file,
					    pure.v[k], mine[k] ? "moat-only" :
					    "sa-only");
		free(mine);
		free(j.names[i]);
		free(j.items[i].rules);
		free(j.items[i].report);
		free(j.items[i].path);
	}
	qsort(d, pure.n, sizeof(*d), cmp_diff);
	printf("rules differing most (rule, both, moat-only, sa-only):\n");
	for (k = 0; k < pure.n && k < 40; k++) {
		long x;
		struct rule_info ri;

		if (d[k].moat_only + d[k].sa_only == 0)
			break;
		x = rule_set_find(rs, pure.v[d[k].rule]);
		if (x >= 0)
			rule_set_info(rs, (size_t)x, &ri);
		printf("  %-32s %6zu %6zu %6zu  %s\n", pure.v[d[k].rule],
		    d[k].both, d[k].moat_only, d[k].sa_only, x < 0 ?
		    "(not loaded)" : ri.runs ? "" : ri.why);
	}
	printf("messages %zu, pure-regex rules %zu, scan %.2f s\n", nmsgs,
	    pure.n, secs);
	printf("hits: both %zu, moat only %zu, SpamAssassin only %zu\n",
	    inter, nm, ns);
	printf("agreement (intersection over union): %.2f%%\n",
	    uni ? 100.0 * (double)inter / (double)uni : 100.0);
	free(d);
	for (i = 0; i < nmsgs; i++) {
		free(msgs[i].file);
		free(msgs[i].hit);
	}
	free(msgs);
	for (k = 0; k < pure.n; k++)
		free(pure.v[k]);
	free(pure.v);
	free(j.names);
	free(j.nnames);
	free(j.items);
	free(o.rules);
	rule_set_unref(rs);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 2, argv + 2);
	if (strcmp(argv[1], "agree") == 0)
		return cmd_agree(argc - 2, argv + 2);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 2, argv + 2);
	usage();
	return 2;
}
