/*
 * moatctl: offline tools over the moat engine, and greylist administration.
 *
 *   moatctl scan [options] FILE|DIR...    score messages, like spamassassin -t
 *   moatctl agree [options] CORPUSDIR     agreement with SpamAssassin's hits
 *   moatctl rules [options]               load rule files, print statistics
 *   moatctl greylist [-c CONFIG] SUBCOMMAND ...
 *                                         list, look up, pass, whitelist,
 *                                         delete and count greylist state
 *   moatctl learn, moatctl bayes          the Bayes store (ctl_bayes.c)
 *   moatctl report [--json] [FILE...]     summary of moatd's log
 *                                         (tools/ctl_report.c)
 *
 * Options shared by scan, agree and rules: -r FILE (a rule file,
 * repeatable; *.cf is read as SpamAssassin), --sa-stock (Debian's stock
 * SpamAssassin rules), --tag N|off, --reject N|off, --tempfail N|off, and
 * -c CONFIG: moatd's config, read by cfg_load, its rules added and its
 * thresholds taken by moatd's own policy.c (so the two cannot disagree);
 * -r adds after the config's rules, --tag etc. override its thresholds.
 *
 * It links the same pure libraries moatd does (librules, libscoring), so a
 * score here is the score moatd gives at end of DATA with the same rules and
 * no session facts.  scan, agree and rules do not talk SMTP or touch Redis.
 *
 * greylist reads moatd's config (cfg_load) and talks to the same Redis
 * through the same store code (libstore.a), deriving triplets with the
 * same grey_triplet_make() and greylist_* parameters, so what it shows and
 * changes is exactly what moatd sees.  It deliberately does not administer
 * the memory store (that state lives inside the moatd process and has no
 * outside interface) and does not resolve names: a triplet keyed by an
 * FCrDNS name needs --name.  Invariant: every greylist output line is one
 * item in logfmt (key=value, values escaped as moatd's log does), and
 * every failure is one line on stderr and exit status 1 (2: usage, or a
 * memory store).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "moat_conf.h"
#include "clock.h"
#include "ctl_bayes.h"
#include "ctl_report.h"
#include "ctl_stats.h"
#include "engine/engine.h"
#include "engine/eng_sauth.h"
#include "engine/sauth_check.h"
#include "greylist.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "policy.h"
#include "rule.h"
#include "sbuf.h"
#include "score.h"
#include "store.h"
#include "store_cfg.h"
#include "xmalloc.h"

struct opts {
	const char	**rules;
	size_t		 nrules;
	int		 sa_stock;
	int		 verbose;
	int		 quiet;
	int		 jobs;
	int		 sub;		/* print __ rules too */
	int		 profile;	/* scan: print the N costliest rules */
	int		 all;		/* scan: run sub-rules nobody needs */
	int		 hs;		/* Hyperscan prefilter */
	const char	*hs_cache;	/* its cache directory, or NULL */
	struct score_thresholds th;
	const char	*bayes_db;	/* scan --bayes-db DIR */
	const char	*cfg;		/* -c CONFIG: moatd's rules, scores, Bayes */
	struct config	*conf;		/* it, loaded */
	int		 no_evals;	/* skip SpamAssassin's native evals */
	/* scan: sender authentication (--dns) and the envelope it needs */
	int		 dns;		/* --dns: run the checks live */
	const char	*dns_server;	/* ... against it (NULL: moatd's) */
	const char	*client_ip, *helo, *mail_from;
};

struct item {
	char		*path;
	size_t		 size;
	double		 score;
	enum score_verdict verdict;
	char		*rules;		/* "A,B" */
	char		*report;	/* -v table */
	int		 err;
	int		 bayes_known;
	double		 bayes_p;
	char		*auth;		/* scan: " spf=... skipped=..." */
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
	/* scan --profile: sums over the workers */
	struct rule_prof *prof;
	double		 parse_s;
	double		 bayes_s;	/* --profile with Bayes */
	/* scan --bayes-db: the store, read by every worker */
	struct bayes_db	*bdb;
	struct bayes_params bp;
	/* scan: the config of the sender-auth steps (-c, or moatd's
	   defaults), the checks it turns on, and the --dns context's */
	const struct config *acfg;
	const char	*auth_on;	/* "spf,dkim,dmarc", or "" */
	struct sauth_cfg sc;
};

static void
usage_print(FILE *f)
{
	fprintf(f,
	    "usage: moatctl scan [-r RULEFILE]... [--sa-stock] [-v] [-q] "
	    "[-j N]\n"
	    "                    [--tag N|off] [--tempfail N|off] "
	    "[--reject N|off]\n"
	    "                    [--all] [--profile N] [--hs] "
	    "[--hs-cache DIR] [--no-evals]\n"
	    "                    [-c CONFIG] [--bayes-db DIR]\n"
	    "                    [--dns [SERVER:PORT]] [--client-ip IP] "
	    "[--helo H]\n"
	    "                    [--mail-from A] FILE|DIR...\n"
	    "       moatctl agree [-c CONFIG] [-r RULEFILE]... [--sa-stock] "
	    "[-v] CORPUSDIR\n"
	    "       moatctl rules [-c CONFIG] [-r RULEFILE]... [--sa-stock] "
	    "[-v] [--hs]\n"
	    "                     [--hs-cache DIR]\n"
	    "       moatctl greylist [-c CONFIG] list|lookup|pass|whitelist|"
	    "delete|count ...\n"
	    "       moatctl learn --spam|--ham|--forget [-c CONFIG] "
	    "[--bayes-db DIR] FILE|DIR...\n"
	    "       moatctl bayes stats|dump|restore|reindex|tokens ...\n"
	    "       moatctl authcheck [--dns HOST:PORT] [--client-ip IP] "
	    "[--helo H] [--mail-from A] FILE...\n"

	    "       moatctl stats [-c CONFIG] [--json]\n%s",
	    report_usage_text);
}

static void
usage(void)
{
	usage_print(stderr);
	exit(2);
}

/* --tag/--tempfail/--reject take what the config's score keys take. */
static int
parse_threshold(const char *s, double *v, int *on)
{
	struct cfg_score sc;

	if (cfg_parse_score(s, &sc) == -1)
		return -1;
	*v = sc.v;
	*on = sc.on;
	return 0;
}

/*
 * -c CONFIG: read it with moatd's loader and take its score thresholds the
 * way moatd does (policy_check, policy_thresholds); its rules are added by
 * load_rules.  An error is moatd's own message.
 */
static void
opts_config(struct opts *o)
{
	char err[1024];

	if ((o->conf = cfg_load(o->cfg, err, sizeof(err))) == NULL ||
	    policy_check(o->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "moatctl: %s\n", err);
		exit(1);
	}
	policy_thresholds(o->conf, 0, &o->th);
}

/*
 * --dns SERVER:PORT: the word after --dns is its server when it reads as
 * an address ("127.0.0.1:5353", "[::1]:53", "system") and is no file, so
 * `--dns msg.eml` still scans msg.eml with moatd's resolver.
 */
static int
dns_server_arg(const char *s)
{
	struct stat sb;

	if (strcmp(s, "system") == 0)
		return 1;
	return s[0] != '\0' && s[strspn(s, "0123456789abcdefABCDEF.:[]")] ==
	    '\0' && strpbrk(s, ".:") != NULL && stat(s, &sb) == -1;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	struct score_thresholds cli;
	unsigned set = 0;	/* 1 --tag, 2 --tempfail, 4 --reject */
	int i;

	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	score_thresholds_default(&o->th);
	memset(&cli, 0, sizeof(cli));
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
			o->sub = o->all = 1;
		else if (strcmp(a, "--all") == 0)
			o->all = 1;
		else if (strcmp(a, "--no-evals") == 0)
			o->no_evals = 1;
		else if (strcmp(a, "--hs") == 0)
			o->hs = 1;
		else if (strcmp(a, "--bayes-db") == 0 && i + 1 < argc)
			o->bayes_db = argv[++i];
		else if (strcmp(a, "-c") == 0 && i + 1 < argc)
			o->cfg = argv[++i];
		else if (strcmp(a, "--dns") == 0) {
			o->dns = 1;
			if (i + 1 < argc && dns_server_arg(argv[i + 1]))
				o->dns_server = argv[++i];
		} else if (strncmp(a, "--dns=", 6) == 0 && a[6] != '\0') {
			o->dns = 1;
			o->dns_server = a + 6;
		} else if (strcmp(a, "--client-ip") == 0 && i + 1 < argc)
			o->client_ip = argv[++i];
		else if (strcmp(a, "--helo") == 0 && i + 1 < argc)
			o->helo = argv[++i];
		else if (strcmp(a, "--mail-from") == 0 && i + 1 < argc)
			o->mail_from = argv[++i];
		else if (strcmp(a, "--hs-cache") == 0 && i + 1 < argc) {
			o->hs = 1;
			o->hs_cache = argv[++i];
		}
		else if (strcmp(a, "--profile") == 0 && i + 1 < argc) {
			o->profile = atoi(argv[++i]);
			if (o->profile < 1)
				usage();
		} else if (strcmp(a, "-j") == 0 && i + 1 < argc) {
			o->jobs = atoi(argv[++i]);
			if (o->jobs < 1 || o->jobs > 64)
				usage();
		} else if (strcmp(a, "--tag") == 0 && i + 1 < argc) {
			if (parse_threshold(argv[++i], &cli.tag,
			    &cli.tag_on) != 0)
				usage();
			set |= 1;
		} else if (strcmp(a, "--reject") == 0 && i + 1 < argc) {
			if (parse_threshold(argv[++i], &cli.reject,
			    &cli.reject_on) != 0)
				usage();
			set |= 4;
		} else if (strcmp(a, "--tempfail") == 0 && i + 1 < argc) {
			if (parse_threshold(argv[++i], &cli.tempfail,
			    &cli.tempfail_on) != 0)
				usage();
			set |= 2;
		} else if (a[0] == '-' && a[1] != '\0')
			usage();
		else
			break;
	}
	if (o->cfg)
		opts_config(o);
	/* --tag etc. override the config's thresholds (and the defaults). */
	if (set & 1) {
		o->th.tag = cli.tag;
		o->th.tag_on = cli.tag_on;
	}
	if (set & 2) {
		o->th.tempfail = cli.tempfail;
		o->th.tempfail_on = cli.tempfail_on;
	}
	if (set & 4) {
		o->th.reject = cli.reject;
		o->th.reject_on = cli.reject_on;
	}
	return i;
}

static double now(void);

/*
 * --hs, --hs-cache: build (or read) the Hyperscan databases before anything
 * is scanned, and say what they hold on stderr.  Asking for it from a build
 * without it is an error; rules it cannot serve (no body, rawbody, uri or
 * full pattern) simply run without it, with the same results.
 */
static void
load_hs(const struct opts *o, struct rule_set *rs)
{
	struct rule_hs_info hi;
	struct rule_hs *h;
	char err[512];
	double t = now();

	if ((h = rule_hs_build(rs, o->hs_cache, 0, &hi, err,
	    sizeof(err))) == NULL) {
		if (!rule_hs_available()) {
			fprintf(stderr, "moatctl: %s\n", err);
			exit(1);
		}
		fprintf(stderr, "hyperscan: not used: %s\n", err);
		return;
	}
	rule_set_hs_attach(rs, h);
	fprintf(stderr, "hyperscan: %u patterns (%u with start finders, %u "
	    "refused, %u not expressible, %u unread sub-rules left out), "
	    "%.1f MB, %s in %.2f s%s\n", hi.patterns, hi.starts, hi.refused,
	    hi.skipped, hi.unread,
	    (double)hi.bytes / 1e6, hi.cached ?
	    "read from the cache" : "compiled", now() - t, hi.cache_failed ?
	    " (cache not written)" : "");
	if (hi.cache_failed)
		fprintf(stderr, "moatctl: %s\n", err);
}

static struct rule_set *
load_rules(const struct opts *o, struct rule_stats *st)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;
	size_t i;

	memset(&err, 0, sizeof(err));
	rule_builder_evals(b, !o->no_evals);
	/* The config's rules first, as moatd loads them; -r adds after. */
	if (o->conf && policy_rules_add(o->conf, b, &err) != 0)
		goto fail;
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
	if (o->hs)
		load_hs(o, rs);
	return rs;
fail:
	rule_builder_free(b);
	if (err.offset >= 0)
		fprintf(stderr, "moatctl: %s:%d: %s (offset %ld)\n", err.file,
		    err.line, err.msg, err.offset);
	else if (err.line <= 0)
		fprintf(stderr, "moatctl: %s: %s\n", err.file, err.msg);
	else
		fprintf(stderr, "moatctl: %s:%d: %s\n", err.file, err.line,
		    err.msg);
	exit(1);
}

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
		printf("%-10s %7u %7u %7u %7u\n", rule_stage_name(k),
		    st->loaded[k], st->zero[k], st->eval[k], st->badre[k]);
		tl += st->loaded[k];
		tz += st->zero[k];
		te += st->eval[k];
		tb += st->badre[k];
	}
	printf("%-10s %7u %7u %7u %7u\n", "total", tl, tz, te, tb);
	printf("files %u, lines %u; inactive (if/ifplugin) %u; plugin/"
	    "unsupported %u; bad metas %u;\nreplace_rules expanded %u; "
	    "capture templates %u; JIT-compiled %u; literal prefilter %u; "
	    "core prefilter %u; other settings %u\n", st->files, st->lines,
	    st->inactive, st->plugin, st->meta_bad, st->replaced,
	    st->templates, st->jit, st->prefiltered, st->cored,
	    st->unknown_keys);
	printf("SpamAssassin evals run natively %u (in \"run\"); patterns "
	    "over PCRE2's size limit rewritten %u\n", st->evals, st->bigre);
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

int
ctl_read_file(const char *path, struct sbuf *out)
{
	return read_file(path, out);
}

void
ctl_collect(const char *path, char ***v, size_t *n)
{
	collect(path, v, n);
}

static double now(void);

/* agree: every hit's name, sub-rules too, as the engine evaluates. */
struct scan_hits {
	struct job	*j;
	size_t		 idx;
};

static void
scan_hits_cb(void *arg, const struct rule_hit *h, size_t n)
{
	struct scan_hits *sh = arg;
	struct job *j = sh->j;
	size_t i;

	j->names[sh->idx] = xreallocarray(NULL, n + 1, sizeof(char *));
	j->nnames[sh->idx] = 0;
	for (i = 0; i < n; i++)
		if (!(h[i].flags & RULE_HIT_LIMIT))
			j->names[sh->idx][j->nnames[sh->idx]++] =
			    (char *)h[i].name;
}

/* The engine's data stage needs a config; this one has only defaults. */
static const struct config scan_noconf;

static void
scan_done(void *arg, struct eng_tx *tx, const struct eng_outcome *o)
{
	(void)arg;
	(void)tx;
	(void)o;
}

/* Run one stage of the envelope; the first refusal goes into refused. */
static void
scan_stage(struct eng_tx *tx, enum eng_stage st, struct sbuf *refused)
{
	if (eng_stage(tx, st, scan_done, NULL) != ENG_DONE)
		fatal("scan: stage %s waits without a loop",
		    eng_stage_name(st));
	if (tx->out.act == ENG_REPLY && refused->len == 0)
		sbuf_printf(refused, " refused=%d/%s", tx->out.code,
		    eng_stage_name(st));
}

/*
 * --client-ip: the envelope before the message, as moatd meets it
 * (connect, banner, HELO, MAIL): the DNS lists, SPF and the envelope
 * rules run at their own stages.  No recipient: RCPT's policies (relay,
 * spf_fail_action) are moatd's to apply.
 */
static void
scan_envelope(const struct opts *o, struct eng_tx *tx, struct sbuf *refused)
{
	struct netaddr a;

	if (netaddr_parse(&a, o->client_ip) != 0) {
		fprintf(stderr, "moatctl: scan: --client-ip %s: not an "
		    "address\n", o->client_ip);
		exit(2);
	}
	eng_tx_client(tx, &a, 0, 0);
	scan_stage(tx, ENG_CONNECT, refused);
	scan_stage(tx, ENG_BANNER, refused);
	if (o->helo != NULL) {
		eng_tx_helo(tx, o->helo, o->helo);
		scan_stage(tx, ENG_HELO, refused);
	}
	eng_tx_mail(tx, o->mail_from != NULL ? o->mail_from : "", 0, 0, 0);
	scan_stage(tx, ENG_MAIL, refused);
}

/* eng_sauth_log_fields' fields, as moatd's event=tx line has them. */
static void
scan_auth_field(void *arg, const char *key, const char *val)
{
	sbuf_printf(arg, " %s=%s", key, val);
}

/*
 * Offline, a DKIM signature is only seen, never verified (its key is in
 * DNS): " dkim=unverified(d=DOMAIN),..." for the message's signatures.
 */
static void
scan_dkim_unverified(const struct msg *m, struct sbuf *out)
{
	const struct msg_header *h;
	const char *v, *end, *d;
	size_t n, i, k = 0;

	h = msg_headers(m, &n);
	for (i = 0; i < n; i++) {
		if (h[i].name_len != 14 ||
		    strncasecmp(h[i].name, "DKIM-Signature", 14) != 0)
			continue;
		v = h[i].value;
		end = v + h[i].value_len;
		/* the d= tag: at the start or after a ';' and blanks */
		for (d = v; d < end; d++)
			if ((d == v || d[-1] == ';' || d[-1] == ' ' ||
			    d[-1] == '\t') && end - d > 2 && d[0] == 'd' &&
			    d[1] == '=')
				break;
		sbuf_printf(out, "%s", k++ ? "," : " dkim=");
		if (d < end) {
			d += 2;
			d += strspn(d, " \t");
			sbuf_printf(out, "unverified(d=%.*s)",
			    (int)strcspn(d, "; \t"), d);
		} else
			sbuf_printf(out, "unverified");
	}
}

/*
 * The sender-auth fields of one message's line: with --dns and a client,
 * the results exactly as moatd logs them (the same steps wrote them);
 * otherwise which checks were skipped.  The reason is said once, after
 * the summary (scan_auth_note).
 */
static void
scan_auth(const struct job *j, struct eng_tx *tx, const struct msg *m,
    const struct sbuf *refused, struct sbuf *out)
{
	const struct opts *o = j->o;

	if (o->dns && tx->client_known && !tx->trusted) {
		eng_sauth_log_fields(tx, scan_auth_field, out);
	} else {
		if (j->auth_on != NULL && j->auth_on[0] != '\0')
			sbuf_printf(out, " skipped=%s", j->auth_on);
		if (!o->dns && m != NULL)
			scan_dkim_unverified(m, out);
	}
	if (refused->len > 0)
		sbuf_add(out, refused->p, refused->len);
	sbuf_addc(out, '\0');
}


/*
 * One message through the engine's DATA stage, with the null io (no
 * loop, no store, no DNS): Bayes, the rules and score_rules, the same
 * steps as moatd at the end of DATA, so the two cannot disagree.
 */
static void
scan_one(struct job *j, size_t idx, struct eng_io *io, struct sbuf *raw,
    double *parse_s, double *bayes_s)
{
	double t0;
	struct item *it = &j->items[idx];
	struct scan_hits sh = { j, idx };
	struct score_card *card;
	struct sbuf s = SBUF_INIT, refused = SBUF_INIT;
	struct eng_tx *tx;
	struct msg *m;
	size_t i;

	if (read_file(it->path, raw) != 0) {
		it->err = errno ? errno : EIO;
		return;
	}
	it->size = raw->len;
	t0 = j->o->profile ? now() : 0;
	m = msg_parse(raw->p ? raw->p : "", raw->len, NULL);
	if (j->o->profile)
		*parse_s += now() - t0;
	/* No connection, no envelope: only the message's rules can hit. */
	tx = eng_tx_new(j->acfg != NULL ? j->acfg : &scan_noconf, NULL, io,
	    "scan");
	if (j->o->client_ip != NULL)
		scan_envelope(j->o, tx, &refused);
	eng_tx_message(tx, m, raw->p ? raw->p : "", raw->len);
	io->hits_arg = &sh;
	io->on_hits = j->collect_all ? scan_hits_cb : NULL;
	(void)eng_stage(tx, ENG_DATA, scan_done, NULL);
	if (tx->bayes_err[0] != '\0')
		fprintf(stderr, "moatctl: %s: %s\n", it->path, tx->bayes_err);
	it->bayes_known = tx->bayes_known;
	it->bayes_p = tx->bayes_p;
	*bayes_s += (double)tx->bayes_ns / 1e9;
	card = &tx->card;
	it->verdict = tx->verdict;
	it->score = score_card_total(card);
	score_card_tests(card, &s);
	it->rules = xstrdup(s.p ? s.p : "");
	sbuf_reset(&s);
	scan_auth(j, tx, m, &refused, &s);
	it->auth = xstrdup(s.p);
	sbuf_free(&refused);
	if (j->o->verbose) {
		sbuf_reset(&s);
		sbuf_printf(&s, "Content analysis details:   (%.1f points, "
		    "%.1f required)\n\n pts rule name              "
		    "description\n---- ---------------------- "
		    "--------------------------------------------------\n",
		    it->score, j->o->th.tag_on ? j->o->th.tag : 0.0);
		for (i = 0; i < card->nhits; i++)
			sbuf_printf(&s, "%4.1f %-22s %s\n", card->hits[i].score,
			    card->hits[i].name, card->hits[i].desc);
		it->report = xstrdup(s.p);
	}
	sbuf_free(&s);
	eng_tx_free(tx);
	msg_free(m);
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct rule_scratch *sc = rule_scratch_new();
	struct sbuf raw = SBUF_INIT;
	struct rule_prof p;
	struct eng_io io;
	double parse_s = 0, bayes_s = 0;
	size_t idx;
	char err[256];

	/* The null io: this thread's scratch and moatctl's own choices. */
	memset(&io, 0, sizeof(io));
	io.scratch = sc;
	io.rules = j->rs;
	io.th = &j->o->th;
	io.score_flags = j->o->sub ? SCORE_RULES_LIST_SUB : 0;
	io.bayes_db = j->bdb;
	io.bayes_params = &j->bp;
	if (j->o->profile)
		rule_scratch_profile(sc, 1);
	/* scan --dns: this thread's checks, blocking (no loop here). */
	if (j->o->dns && (io.sauth_sync = sauth_ctx_new(&j->sc, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "moatctl: scan: --dns: %s\n", err);
		exit(1);
	}
	/* agree compares sub-rule hits too, so it needs them all */
	rule_scratch_lazy(sc, !j->o->all && !j->collect_all);
	for (;;) {
		pthread_mutex_lock(&j->lock);
		idx = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (idx >= j->nitems)
			break;
		scan_one(j, idx, &io, &raw, &parse_s, &bayes_s);
	}
	if (j->o->profile) {
		pthread_mutex_lock(&j->lock);
		j->parse_s += parse_s;
		j->bayes_s += bayes_s;
		for (idx = 0; idx < rule_set_count(j->rs); idx++)
			if (rule_scratch_profile_get(sc, idx, &p) == 0) {
				j->prof[idx].ns += p.ns;
				j->prof[idx].runs += p.runs;
				j->prof[idx].skipped += p.skipped;
			}
		pthread_mutex_unlock(&j->lock);
	}
	sbuf_free(&raw);
	sauth_ctx_free(io.sauth_sync);
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
	return (double)clock_mono_ns() / 1e9;
}

/* CPU seconds of the whole process: fair figures on a busy machine */
static double
cpu(void)
{
	return clock_secs(CLOCK_PROCESS_CPUTIME_ID);
}

/*
 * scan: the sender-auth checks the config (or moatd's defaults) turns
 * on, "spf,dkim,dmarc,dnsbl,..." into buf; and the context --dns runs
 * them with, as moatd's pool (proxy/main.c, sauth_setup) makes it.
 */
static void
scan_auth_setup(struct job *j, const struct config *c, char *buf,
    size_t bufsz)
{
	const struct opts *o = j->o;

	snprintf(buf, bufsz, "%s%s%s%s%s%s", c->spf ? ",spf" : "",
	    c->dkim ? ",dkim" : "", c->dmarc ? ",dmarc" : "",
	    c->dnsbl_sites != NULL ? ",dnsbl" : "",
	    c->rhsbl_sites != NULL ? ",rhsbl" : "",
	    c->uribl_sites != NULL ? ",uribl" : "");
	j->auth_on = buf[0] == ',' ? buf + 1 : buf;
	memset(&j->sc, 0, sizeof(j->sc));
	j->sc.resolver = o->dns_server != NULL ? o->dns_server :
	    c->dns_resolver != NULL ? c->dns_resolver : SAUTH_RESOLVER_SYSTEM;
	j->sc.timeout_ms = c->dns_timeout_ms;
	j->sc.spf = j->sc.dkim = j->sc.dmarc = 1;
	/* The steps' config: -c's, or the defaults when --dns asks for
	   checks scan_noconf has off. */
	j->acfg = o->conf != NULL ? o->conf : o->dns ? c : NULL;
}

/* Why the skipped= checks were skipped, once after the summary. */
static void
scan_auth_note(const struct job *j)
{
	const struct opts *o = j->o;
	struct netaddr a;

	if (j->auth_on[0] == '\0')
		return;
	if (!o->dns)
		printf("skipped: %s: they need DNS (give --dns); a DKIM "
		    "signature cannot be verified without its key, which is "
		    "in DNS\n", j->auth_on);
	else if (o->client_ip == NULL)
		printf("skipped: %s: no --client-ip (moatd checks mail from a "
		    "known client only)\n", j->auth_on);
	else if (j->acfg != NULL && netaddr_parse(&a, o->client_ip) == 0 &&
	    cidr_list_match(&j->acfg->trusted_networks, &a))
		printf("skipped: %s: --client-ip is in trusted_networks\n",
		    j->auth_on);
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

static const struct job *prof_job;	/* for the qsort comparator */

static int
cmp_prof(const void *a, const void *b)
{
	unsigned long long x = prof_job->prof[*(const size_t *)a].ns;
	unsigned long long y = prof_job->prof[*(const size_t *)b].ns;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * scan --profile: where the time went, per stage and for the costliest
 * rules, in milliseconds summed over the messages (wall clock per thread).
 */
static void
print_profile(const struct job *j, size_t nmsg)
{
	unsigned long long stage[RULE_ST_COUNT] = { 0 }, total = 0;
	size_t n = rule_set_count(j->rs), i, *idx;
	struct rule_info ri;
	int k;

	idx = xreallocarray(NULL, n + 1, sizeof(size_t));
	for (i = 0; i < n; i++) {
		idx[i] = i;
		rule_set_info(j->rs, i, &ri);
		stage[ri.stage] += j->prof[i].ns;
		total += j->prof[i].ns;
	}
	printf("profile: %zu messages; parsing %.1f ms, rules %.1f ms "
	    "(%.3f ms per message)\n", nmsg, j->parse_s * 1e3,
	    (double)total / 1e6, nmsg ? (double)total / 1e6 / (double)nmsg :
	    0.0);
	if (j->bdb)
		printf("profile: bayes %.1f ms (%.3f ms per message: tokens, "
		    "store, combining)\n", j->bayes_s * 1e3, nmsg ? j->bayes_s *
		    1e3 / (double)nmsg : 0.0);
	printf("profile: by stage:");
	for (k = 0; k < RULE_ST_COUNT; k++)
		if (stage[k] > 0)
			printf(" %s %.1f ms", rule_stage_name(k),
			    (double)stage[k] / 1e6);
	printf("\nprofile: %-8s %6s %8s %8s  %-10s %s\n", "ms", "%", "runs",
	    "skipped", "stage", "rule");
	prof_job = j;
	qsort(idx, n, sizeof(size_t), cmp_prof);
	for (i = 0; i < n && i < (size_t)j->o->profile; i++) {
		const struct rule_prof *p = &j->prof[idx[i]];

		if (p->ns == 0)
			break;
		rule_set_info(j->rs, idx[i], &ri);
		printf("profile: %-8.2f %6.2f %8lu %8lu  %-10s %s\n",
		    (double)p->ns / 1e6, total ? 100.0 * (double)p->ns /
		    (double)total : 0.0, p->runs, p->skipped,
		    rule_stage_name(ri.stage), ri.name);
	}
	free(idx);
}

static int
cmd_scan(int argc, char **argv)
{
	struct opts o;
	struct job j;
	struct rule_stats st;
	struct rule_set *rs;
	struct config *defaults = cfg_defaults();
	char **paths = NULL, auth_on[64];
	size_t np = 0, i, nv[5] = { 0 }, bytes = 0, errs = 0;
	double secs, load0, cpu0, sum = 0;
	int k;

	k = parse_opts(argc, argv, &o);
	if (k >= argc)
		usage();
	load0 = now();
	rs = load_rules(&o, &st);
	load0 = now() - load0;
	/*
	 * Scoring with nothing loaded says 0 for spam too: refuse to, unless
	 * Bayes is asked for (its probability is then the output).
	 */
	if (rule_set_count(rs) == 0 && o.bayes_db == NULL &&
	    !(o.cfg && ctl_bayes_on(o.cfg))) {
		fprintf(stderr, "moatctl: scan: no rules loaded; give -r FILE "
		    "(e.g. the default.rules moatd loads) or --sa-stock\n");
		return 1;
	}
	for (; k < argc; k++)
		collect(argv[k], &paths, &np);
	cpu0 = cpu();
	memset(&j, 0, sizeof(j));
	j.o = &o;
	j.rs = rs;
	scan_auth_setup(&j, o.conf != NULL ? o.conf : defaults, auth_on,
	    sizeof(auth_on));
	if (o.bayes_db || (o.cfg && ctl_bayes_on(o.cfg)))
		j.bdb = ctl_bayes_open_ro(o.bayes_db, o.cfg, &j.bp);
	j.nitems = np;
	j.items = xcalloc(np + 1, sizeof(struct item));
	for (i = 0; i < np; i++)
		j.items[i].path = paths[i];
	if (o.profile)
		j.prof = xcalloc(rule_set_count(rs) + 1, sizeof(*j.prof));
	secs = run_job(&j);
	cpu0 = cpu() - cpu0;
	for (i = 0; i < np; i++) {
		struct item *it = &j.items[i];

		if (it->err) {
			fprintf(stderr, "moatctl: %s: %s\n", it->path,
			    strerror(it->err));
			errs++;
			free(it->path);
			continue;
		}
		nv[it->verdict]++;
		bytes += it->size;
		sum += it->score;
		if (!o.quiet && j.bdb == NULL)
			printf("%s score=%.1f verdict=%s%s rules=%s\n",
			    it->path, it->score,
			    score_verdict_name(it->verdict), it->auth,
			    it->rules);
		else if (!o.quiet && it->bayes_known)
			printf("%s score=%.1f verdict=%s bayes=%.4f%s "
			    "rules=%s\n", it->path, it->score,
			    score_verdict_name(it->verdict), it->bayes_p,
			    it->auth, it->rules);
		else if (!o.quiet)
			printf("%s score=%.1f verdict=%s bayes=-%s rules=%s\n",
			    it->path, it->score,
			    score_verdict_name(it->verdict), it->auth,
			    it->rules);
		if (o.verbose && it->report != NULL)
			printf("\n%s\n", it->report);
		free(it->rules);
		free(it->auth);
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
	scan_auth_note(&j);
	if (o.profile)
		print_profile(&j, np);
	free(j.prof);
	bayes_db_close(j.bdb);
	free(paths);
	free(j.items);
	free(o.rules);
	cfg_unref(o.conf);
	cfg_unref(defaults);
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
			    rule_stage_name(ri.stage), ri.score,
			    ri.runs ? "runs" : ri.why, ri.file, ri.line);
		}
	free(o.rules);
	cfg_unref(o.conf);
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

/*
 * The evals moat runs natively, against sa_hits.tsv (every scored rule SA
 * hit): per eval rule with a score, and every scored rule together.
 */
struct evagree {
	struct names	 ev;		/* scored native eval rules, sorted */
	struct names	 skipped;	/* scored evals moat does not run */
	struct names	 metas;		/* scored metas over evals */
	size_t		 minter, muni;
	struct names	 all;		/* every rule with a score */
	struct sa_msg	*msgs;		/* SA's hits, indexed as all */
	size_t		 nmsgs;
	struct diff	*d;		/* per ev rule */
	size_t		*skiphits;	/* per skipped rule: SA's hits */
	struct diff	*alld;		/* per rule of all */
	size_t		 inter, uni, allinter, alluni;
};

/* an empty list is NULL, and qsort(NULL, 0) is undefined */
static void
sort_names(struct names *nm)
{
	if (nm->n > 0)
		qsort(nm->v, nm->n, sizeof(char *), cmp_str);
}

static int
evagree_init(struct evagree *e, const struct rule_set *rs, const char *dir,
    const struct names *pure)
{
	struct rule_info ri;
	char *path;
	size_t i;
	int rc;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < rule_set_count(rs); i++) {
		rule_set_info(rs, i, &ri);
		if (ri.sub || ri.score == 0)
			continue;
		add_path(&e->all.v, &e->all.n, xstrdup(ri.name));
		if (ri.eval != NULL && ri.runs)
			add_path(&e->ev.v, &e->ev.n, xstrdup(ri.name));
		else if (!ri.runs && strcmp(ri.why, "eval") == 0)
			add_path(&e->skipped.v, &e->skipped.n,
			    xstrdup(ri.name));
		else if (ri.runs && ri.stage == RULE_ST_META &&
		    name_index(pure, ri.name) < 0)
			add_path(&e->metas.v, &e->metas.n, xstrdup(ri.name));
	}
	sort_names(&e->metas);
	sort_names(&e->ev);
	sort_names(&e->skipped);
	e->skiphits = xcalloc(e->skipped.n + 1, sizeof(size_t));
	e->alld = xcalloc(e->all.n + 1, sizeof(*e->alld));
	for (i = 0; i < e->all.n; i++)
		e->alld[i].rule = (long)i;
	sort_names(&e->all);
	path = xasprintf("%s/sa_hits.tsv", dir);
	rc = read_hits(path, 3, &e->all, &e->msgs, &e->nmsgs, 1);
	free(path);
	if (rc != 0)
		return -1;
	e->d = xcalloc(e->ev.n + 1, sizeof(*e->d));
	for (i = 0; i < e->ev.n; i++)
		e->d[i].rule = (long)i;
	return 0;
}

/* One message: the names moat hit against SA's. */
static void
evagree_msg(struct evagree *e, const char *file, char **names, size_t n,
    int verbose)
{
	ssize_t mi = find_msg(e->msgs, e->nmsgs, file);
	unsigned char *mine;
	size_t k;

	if (mi < 0)
		return;
	mine = xcalloc(e->all.n + 1, 1);
	for (k = 0; k < n; k++) {
		long x = name_index(&e->all, names[k]);

		if (x >= 0)
			mine[x] = 1;
	}
	for (k = 0; k < e->all.n; k++) {
		int a = mine[k], b = e->msgs[mi].hit[k];
		long x = name_index(&e->ev, e->all.v[k]);

		e->allinter += a && b;
		e->alluni += a || b;
		e->alld[k].both += a && b;
		e->alld[k].moat_only += a && !b;
		e->alld[k].sa_only += b && !a;
		if (x < 0) {
			if (b && (x = name_index(&e->skipped, e->all.v[k])) >=
			    0)
				e->skiphits[x]++;
			if (name_index(&e->metas, e->all.v[k]) >= 0) {
				e->minter += a && b;
				e->muni += a || b;
			}
			continue;
		}
		e->inter += a && b;
		e->uni += a || b;
		if (a && b)
			e->d[x].both++;
		else if (a)
			e->d[x].moat_only++;
		else if (b)
			e->d[x].sa_only++;
		if (verbose && a != b)
			printf("diff %s %s %s\n", file, e->all.v[k],
			    a ? "moat-only" : "sa-only");
	}
	free(mine);
}

static void
evagree_report(struct evagree *e)
{
	size_t k;

	printf("native eval rules (rule, both, moat-only, sa-only, IoU):\n");
	for (k = 0; k < e->ev.n; k++) {
		size_t u = e->d[k].both + e->d[k].moat_only + e->d[k].sa_only;

		printf("  %-32s %6zu %6zu %6zu  %6.2f%%\n", e->ev.v[k],
		    e->d[k].both, e->d[k].moat_only, e->d[k].sa_only,
		    u ? 100.0 * (double)e->d[k].both / (double)u : 100.0);
	}
	printf("native eval rules %zu, agreement (intersection over union): "
	    "%.2f%%\n", e->ev.n, e->uni ? 100.0 * (double)e->inter /
	    (double)e->uni : 100.0);
	printf("metas over evals %zu, agreement (intersection over union): "
	    "%.2f%%\n", e->metas.n, e->muni ? 100.0 * (double)e->minter /
	    (double)e->muni : 100.0);
	printf("evals not run (rule, SpamAssassin's hits):");
	for (k = 0; k < e->skipped.n; k++)
		if (e->skiphits[k] > 0)
			printf(" %s %zu", e->skipped.v[k], e->skiphits[k]);
	printf("\n");
	qsort(e->alld, e->all.n, sizeof(*e->alld), cmp_diff);
	printf("scored rules differing most (rule, both, moat-only, "
	    "sa-only):\n");
	for (k = 0; k < e->all.n && k < 25; k++)
		if (e->alld[k].moat_only + e->alld[k].sa_only > 0)
			printf("  %-32s %6zu %6zu %6zu\n",
			    e->all.v[e->alld[k].rule], e->alld[k].both,
			    e->alld[k].moat_only, e->alld[k].sa_only);
	printf("all scored rules %zu, agreement with sa_hits.tsv: %.2f%%\n",
	    e->all.n, e->alluni ? 100.0 * (double)e->allinter /
	    (double)e->alluni : 100.0);
	for (k = 0; k < e->metas.n; k++)
		free(e->metas.v[k]);
	free(e->metas.v);
	for (k = 0; k < e->skipped.n; k++)
		free(e->skipped.v[k]);
	free(e->skipped.v);
	free(e->skiphits);
	free(e->alld);
	for (k = 0; k < e->nmsgs; k++) {
		free(e->msgs[k].file);
		free(e->msgs[k].hit);
	}
	free(e->msgs);
	for (k = 0; k < e->ev.n; k++)
		free(e->ev.v[k]);
	free(e->ev.v);
	for (k = 0; k < e->all.n; k++)
		free(e->all.v[k]);
	free(e->all.v);
	free(e->d);
}

static int
cmd_agree(int argc, char **argv)
{
	struct evagree ea;
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
	if (evagree_init(&ea, rs, argv[a], &pure) != 0)
		return 1;

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
		evagree_msg(&ea, msgs[i].file, j.names[i], j.nnames[i],
		    o.verbose);
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
	evagree_report(&ea);
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
	cfg_unref(o.conf);
	rule_set_unref(rs);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* greylist: administration of the greylist state in Redis */

#define GC_PAGE		200	/* entries asked for per SCAN page */
/* whitelist: a network may stand for at most 2^8 client parts (a /16 of
 * /24s); wider ones belong in the greylist_whitelist file. */
#define GC_EXPAND_BITS	8

/* One looked-up entry with its own copy of the key. */
struct gc_item {
	int		 found;
	struct store_entry e;
	char		 key[GREY_KEY_MAX + 1];
};

struct gctl {
	struct config	*cfg;
	struct grey_params gp;
	struct store	*st;
	struct event_base *base;
	struct store_conn *conn;
	const char	*what;	/* the subcommand, for messages */
	int64_t		 now;	/* ms, this host's clock, for states */

	/* the request in flight (one at a time) */
	int		 done;
	int		 err;
	struct gc_item	*out;		/* lookup */
	uint64_t	 cursor;	/* list: the next page */
	void		(*page)(struct gctl *, const struct store_entry *);

	/* list and count */
	const char	*pattern;
	long		 limit, shown;
	long long	 n_pending, n_passed, n_expired;
	long long	 n_awl_on, n_awl_counting, n_white;
};

static const char *const gc_type_name[] = {
	[STORE_E_TRIPLET] = "triplet",
	[STORE_E_AWL] = "awl",
	[STORE_E_WHITE] = "whitelist",
};

static void
gc_usage_print(FILE *f)
{
	fprintf(f,
	    "usage: moatctl greylist [-c CONFIG] list [PATTERN] [--limit N]\n"
	    "       moatctl greylist [-c CONFIG] lookup CLIENT_IP SENDER RCPT "
	    "[--name NAME]\n"
	    "       moatctl greylist [-c CONFIG] pass CLIENT_IP SENDER RCPT "
	    "[--name NAME]\n"
	    "       moatctl greylist [-c CONFIG] whitelist NETWORK|IP|NAME... "
	    "[--ttl DURATION]\n"
	    "       moatctl greylist [-c CONFIG] delete KEY|CLIENT_IP SENDER "
	    "RCPT...\n"
	    "       moatctl greylist [-c CONFIG] count\n"
	    "CONFIG defaults to %s (moatd's).\n", SYSCONFDIR "/moat/moat.conf");
}

static void
gc_usage(void)
{
	gc_usage_print(stderr);
	exit(2);
}

static const char *
gc_err_text(int err)
{
	switch (err) {
	case STORE_ERR_DOWN:
		return "cannot reach Redis (is redis-server running, and are "
		    "redis_server, redis_user and redis_password_file right?)";
	case STORE_ERR_TIMEOUT:
		return "no answer from Redis within the deadline (timeout)";
	case STORE_ERR_BUSY:
		return "too many requests in flight (busy)";
	case STORE_ERR_PROTO:
		return "unexpected reply from Redis (protocol error)";
	case STORE_ERR_ARG:
		return "the store refused the argument (a key too long or "
		    "malformed)";
	}
	return store_err_name(err);
}

static void __attribute__((noreturn))
gc_fail(const struct gctl *g, int err)
{
	fprintf(stderr, "moatctl: greylist %s: redis %s: %s\n", g->what,
	    g->cfg->redis_server, gc_err_text(err));
	exit(1);
}

/*
 * Run the loop until the request in flight has called back.  The store
 * always calls back (an answer, an error, or its deadline), and its
 * deadline timer keeps the loop from running dry meanwhile.
 */
static int
gc_wait(struct gctl *g)
{
	while (!g->done)
		if (event_base_loop(g->base, EVLOOP_ONCE) != 0) {
			g->err = STORE_ERR_DOWN;
			break;
		}
	g->done = 0;
	return g->err;
}

static void
gc_void_cb(void *arg, uint64_t id, int err)
{
	struct gctl *g = arg;

	(void)id;
	g->err = err;
	g->done = 1;
}

/* e and its key are valid during the call only: copy both. */
static void
gc_entry_cb(void *arg, uint64_t id, int err, int found,
    const struct store_entry *e)
{
	struct gctl *g = arg;
	struct gc_item *it = g->out;

	(void)id;
	g->err = err;
	g->done = 1;
	it->found = err == STORE_OK && found;
	if (!it->found)
		return;
	it->e = *e;
	snprintf(it->key, sizeof(it->key), "%s", e->key);
	it->e.key = it->key;
}

static void
gc_list_cb(void *arg, uint64_t id, int err, const struct store_entry *v,
    size_t n, uint64_t next_cursor)
{
	struct gctl *g = arg;
	size_t i;

	(void)id;
	g->err = err;
	g->done = 1;
	g->cursor = next_cursor;
	if (err != STORE_OK)
		return;
	for (i = 0; i < n; i++)
		g->page(g, &v[i]);
}

static void
gc_lookup(struct gctl *g, const char *key, struct gc_item *it)
{
	memset(it, 0, sizeof(*it));
	g->out = it;
	store_admin_lookup(g->conn, key, gc_entry_cb, g);
	if (gc_wait(g) != STORE_OK)
		gc_fail(g, g->err);
}

/* Every entry of kind, page by page, through fn (which may stop early by
 * reaching g->limit). */
static void
gc_walk(struct gctl *g, enum store_kind_entry kind,
    void (*fn)(struct gctl *, const struct store_entry *))
{
	uint64_t cursor = 0;

	do {
		if (g->limit > 0 && g->shown >= g->limit)
			return;
		g->page = fn;
		store_admin_list(g->conn, kind, cursor, GC_PAGE, gc_list_cb, g);
		if (gc_wait(g) != STORE_OK)
			gc_fail(g, g->err);
		cursor = g->cursor;
	} while (cursor != 0);
}

/* ---- output: one logfmt line per item */

/* key=value; the value escaped as moatd's log escapes client data, and
 * quoted when it is empty or holds a space, '=' or '"'. */
static void
gc_kv(struct sbuf *b, const char *key, const char *val)
{
	char esc[LOG_ESCAPE_SIZE(GREY_KEY_MAX)];
	int quote = val[0] == '\0' || strpbrk(val, " =\"") != NULL;

	log_escape(esc, sizeof(esc), val, strlen(val), GREY_KEY_MAX);
	sbuf_printf(b, "%s%s=%s%s%s", b->len ? " " : "", key,
	    quote ? "\"" : "", esc, quote ? "\"" : "");
}

static void
gc_kv_int(struct sbuf *b, const char *key, long long v)
{
	sbuf_printf(b, " %s=%lld", key, v);
}

/* RFC 3339 UTC to the second; "-" for 0 (never). */
static void
gc_kv_time(struct sbuf *b, const char *key, int64_t ms)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (ms <= 0) {
		sbuf_printf(b, " %s=-", key);
		return;
	}
	gmtime_r(&t, &tm);
	sbuf_printf(b, " %s=%04d-%02d-%02dT%02d:%02d:%02dZ", key,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

/* Whole seconds, rounded up, in the config's duration syntax ("300s"). */
static void
gc_kv_secs(struct sbuf *b, const char *key, int64_t ms)
{
	if (ms < 0) {
		sbuf_printf(b, " %s=-", key);
		return;
	}
	sbuf_printf(b, " %s=%llds", key, (long long)((ms + 999) / 1000));
}

/* This host's clock, in ms since the epoch: the states and waits shown are
 * computed with it, moatd's decisions with Redis's (the same on one host). */
static int64_t
gc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
gc_triplet_state(const struct gctl *g, const struct grey_record *r)
{
	if (r->passed_until != 0)
		return r->passed_until > g->now ? "passed" : "expired";
	return g->now < r->first_seen + g->gp.retry_window_ms ? "pending" :
	    "expired";
}

static int
gc_awl_on(const struct gctl *g, const struct grey_awl *a)
{
	return g->gp.awl_passes > 0 && a->count >= g->gp.awl_passes;
}

/*
 * One item: kind and key always; state (derived, or given: "none",
 * "deleted"); the record's fields unless state is "none"; next= (what a
 * delivery attempt would get now) when next is not NULL.
 */
static void
gc_print(const struct gctl *g, enum store_kind_entry kind, const char *key,
    const struct store_entry *e, const char *state, const char *next)
{
	struct sbuf b = SBUF_INIT;
	struct grey_triplet t;
	int none = state != NULL && strcmp(state, "none") == 0;

	gc_kv(&b, "type", gc_type_name[kind]);
	gc_kv(&b, "key", key);
	if (kind == STORE_E_TRIPLET && grey_key_split(&t, key) == 0) {
		gc_kv(&b, "client", t.client);
		gc_kv(&b, "sender", t.sender);
		gc_kv(&b, "rcpt", t.rcpt);
	} else if (kind != STORE_E_TRIPLET)
		gc_kv(&b, "client", key + 2);
	switch (kind) {
	case STORE_E_TRIPLET:
		gc_kv(&b, "state", state ? state :
		    gc_triplet_state(g, &e->rec));
		if (none)
			break;
		gc_kv_time(&b, "first_seen", e->rec.first_seen);
		gc_kv_time(&b, "last_seen", e->rec.last_seen);
		gc_kv_time(&b, "passed_until", e->rec.passed_until);
		gc_kv_int(&b, "pass_count", e->rec.pass_count);
		/* Until a retry passes; only a pending triplet has one. */
		gc_kv_secs(&b, "wait", e->rec.passed_until == 0 &&
		    g->now < e->rec.first_seen + g->gp.retry_window_ms ?
		    (e->rec.first_seen + g->gp.delay_ms > g->now ?
		    e->rec.first_seen + g->gp.delay_ms - g->now : 0) : -1);
		gc_kv_secs(&b, "ttl", e->ttl_ms);
		break;
	case STORE_E_AWL:
		gc_kv(&b, "state", state ? state : gc_awl_on(g, &e->awl) ?
		    "whitelisted" : "counting");
		if (none)
			break;
		gc_kv_int(&b, "passes", e->awl.count);
		gc_kv_int(&b, "needed", g->gp.awl_passes);
		gc_kv_time(&b, "last_counted", e->awl.last_counted);
		gc_kv_secs(&b, "ttl", e->ttl_ms);
		break;
	case STORE_E_WHITE:
		gc_kv(&b, "state", state ? state : "whitelisted");
		if (none)
			break;
		gc_kv_secs(&b, "ttl", e->ttl_ms);
		break;
	}
	if (next != NULL)
		gc_kv(&b, "next", next);
	printf("%s\n", b.p);
	sbuf_free(&b);
}

static void
gc_print_item(const struct gctl *g, const struct store_entry *e)
{
	gc_print(g, e->kind, e->key, e, NULL, NULL);
}

/* ---- arguments */

/* "<a@b>" -> "a@b", "<>" -> "" (the null sender), as moatd sees them. */
static void
gc_unangle(char *out, size_t outsz, const char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		snprintf(out, outsz, "%.*s", (int)(n - 2), s + 1);
	else
		snprintf(out, outsz, "%s", s);
}

/* The triplet moatd derives for this attempt (session.c, sess_grey_start):
 * the same function and the config's parameters. */
static void
gc_triplet(const struct gctl *g, const char *ip, const char *sender,
    const char *rcpt, const char *name, struct grey_triplet *t)
{
	char s[GREY_ADDR_MAX * 4], r[GREY_ADDR_MAX * 4];
	struct netaddr a;

	if (netaddr_parse(&a, ip) == -1) {
		fprintf(stderr, "moatctl: greylist %s: %s: not an IP address "
		    "(want CLIENT_IP SENDER RCPT)\n", g->what, ip);
		exit(1);
	}
	gc_unangle(s, sizeof(s), sender);
	gc_unangle(r, sizeof(r), rcpt);
	if (r[0] == '\0') {
		fprintf(stderr, "moatctl: greylist %s: empty recipient\n",
		    g->what);
		exit(1);
	}
	if (grey_triplet_make(t, &g->gp, a.a, a.family == AF_INET6, name, s,
	    r) == -1) {
		fprintf(stderr, "moatctl: greylist %s: cannot make a triplet "
		    "(greylist_ipv4_prefix/greylist_ipv6_prefix)\n", g->what);
		exit(1);
	}
}

/* Add 1 at bit position bit (0 = the top bit of a[0]), carrying left. */
static void
gc_addr_step(unsigned char *a, int bit)
{
	int i = bit / 8;
	unsigned v = (unsigned)a[i] + (1u << (7 - bit % 8));

	a[i] = (unsigned char)v;
	while (v > 0xff && i > 0) {
		v = (unsigned)a[--i] + 1;
		a[i] = (unsigned char)v;
	}
}

/* A client part keyed by an FCrDNS name: a domain of at least two labels
 * whose last label is not all digits (that is a mistyped address). */
static int
gc_name_ok(const char *s)
{
	size_t n = strlen(s), i;
	const char *last;

	if (n == 0 || n > GREY_CLIENT_MAX || s[0] == '.' || s[n - 1] == '.' ||
	    strchr(s, '.') == NULL || strstr(s, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	last = strrchr(s, '.') + 1;
	return last[strspn(last, "0123456789")] != '\0';
}

/*
 * The client parts arg stands for, as moatd keys them: an address is its
 * network (greylist_ipv4_prefix/ipv6_prefix); a network of exactly that
 * length is itself; a wider one is every client part in it (at most
 * 2^GC_EXPAND_BITS); a name is an FCrDNS client part ("sg.example").
 * Appends xstrdup'ed strings to *v; exits 1 with the reason on a bad arg.
 */
static void
gc_client_parts(const struct gctl *g, const char *arg, char ***v, size_t *n)
{
	char buf[GREY_CLIENT_MAX + 1];
	struct netaddr a;
	struct cidr c;
	size_t i, k, count;
	int plen, v6;

	if (netaddr_parse(&a, arg) == 0) {
		v6 = a.family == AF_INET6;
		grey_client_net(buf, sizeof(buf), a.a, v6, v6 ?
		    g->gp.v6_prefix : g->gp.v4_prefix);
		add_path(v, n, xstrdup(buf));
		return;
	}
	if (strchr(arg, '/') != NULL) {
		if (cidr_parse(&c, arg) == -1) {
			fprintf(stderr, "moatctl: greylist whitelist: %s: not "
			    "a network (bits set past the prefix length?)\n",
			    arg);
			exit(1);
		}
		v6 = c.net.family == AF_INET6;
		plen = v6 ? g->gp.v6_prefix : g->gp.v4_prefix;
		if (c.bits > plen) {
			fprintf(stderr, "moatctl: greylist whitelist: %s is "
			    "narrower than a client part: moatd keys "
			    "greylisting by /%d (greylist_ipv%d_prefix); "
			    "whitelist the whole /%d, or put \"client %s\" "
			    "in the greylist_whitelist file\n", arg, plen,
			    v6 ? 6 : 4, plen, arg);
			exit(1);
		}
		if (plen - c.bits > GC_EXPAND_BITS) {
			fprintf(stderr, "moatctl: greylist whitelist: %s holds "
			    "more than %d client parts of /%d; put \"client "
			    "%s\" in the greylist_whitelist file instead\n",
			    arg, 1 << GC_EXPAND_BITS, plen, arg);
			exit(1);
		}
		count = (size_t)1 << (plen - c.bits);
		for (k = 0; k < count; k++) {
			grey_client_net(buf, sizeof(buf), c.net.a, v6, plen);
			add_path(v, n, xstrdup(buf));
			if (k + 1 < count)
				gc_addr_step(c.net.a, plen - 1);
		}
		return;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	if (strlen(arg) > GREY_CLIENT_MAX || !gc_name_ok(buf)) {
		fprintf(stderr, "moatctl: greylist whitelist: %s: not an IP "
		    "address, a network or a host name\n", arg);
		exit(1);
	}
	add_path(v, n, xstrdup(buf));
}

/* Is arg a store key ("t:...", "a:...", "w:...")? */
static int
gc_is_key(const char *arg, enum store_kind_entry *kind)
{
	if (arg[0] == '\0' || arg[1] != ':')
		return 0;
	switch (arg[0]) {
	case 't':
		*kind = STORE_E_TRIPLET;
		return 1;
	case 'a':
		*kind = STORE_E_AWL;
		return 1;
	case 'w':
		*kind = STORE_E_WHITE;
		return 1;
	}
	return 0;
}

/* ---- the store, made from the config as moatd makes it (main.c) */

/*
 * The config, the greylist parameters and a connection to the Redis store
 * of cfg_path.  Exits 1 on a config error, 2 for the memory store.
 */
static void
gc_open(struct gctl *g, const char *cfg_path)
{
	struct config *cfg;
	char err[1024];

	if ((cfg = cfg_load(cfg_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "moatctl: %s\n", err);
		exit(1);
	}
	g->cfg = cfg;
	if (cfg->store_kind == CFG_STORE_MEMORY) {
		fprintf(stderr, "moatctl: greylist: %s has \"store memory\"%s: "
		    "the memory store lives inside the moatd process and "
		    "cannot be administered from outside (restarting moatd "
		    "empties it); use \"store redis\" to share and "
		    "administer greylisting state\n", cfg->path ? cfg->path :
		    cfg_path, cfg->greylist ? "" : " (and greylist off)");
		exit(2);
	}
	/* Exactly as moatd reads them (store/store_cfg.c). */
	store_cfg_grey_params(cfg, &g->gp);
	if (grey_params_check(&g->gp, err, sizeof(err)) == -1) {
		fprintf(stderr, "moatctl: %s: greylist: %s\n", cfg_path, err);
		exit(1);
	}
	if (store_cfg_open(cfg, &g->st, err, sizeof(err)) == -1) {
		fprintf(stderr, "moatctl: %s: store: %s\n", cfg_path, err);
		exit(1);
	}
	if ((g->base = event_base_new()) == NULL) {
		fprintf(stderr, "moatctl: event_base_new failed\n");
		exit(1);
	}
	g->conn = store_conn_new(g->st, g->base);
}

static void
gc_close(struct gctl *g)
{
	store_conn_free(g->conn);
	store_free(g->st);
	event_base_free(g->base);
	cfg_unref(g->cfg);
}

/* ---- subcommands */

static int
gc_match(const char *pattern, const char *key)
{
	if (pattern == NULL)
		return 1;
	if (strpbrk(pattern, "*?[") != NULL)
		return fnmatch(pattern, key, 0) == 0;
	return strstr(key, pattern) != NULL;
}

static void
gc_list_one(struct gctl *g, const struct store_entry *e)
{
	if (!gc_match(g->pattern, e->key) ||
	    (g->limit > 0 && g->shown >= g->limit))
		return;
	gc_print_item(g, e);
	g->shown++;
}

static void
gc_count_one(struct gctl *g, const struct store_entry *e)
{
	const char *st;

	switch (e->kind) {
	case STORE_E_TRIPLET:
		st = gc_triplet_state(g, &e->rec);
		if (strcmp(st, "pending") == 0)
			g->n_pending++;
		else if (strcmp(st, "passed") == 0)
			g->n_passed++;
		else
			g->n_expired++;
		break;
	case STORE_E_AWL:
		if (gc_awl_on(g, &e->awl))
			g->n_awl_on++;
		else
			g->n_awl_counting++;
		break;
	case STORE_E_WHITE:
		g->n_white++;
		break;
	}
}

/* lookup and pass: the triplet's line with next=, then the client part's
 * whitelist entries, if any. */
static void
gc_show_triplet(struct gctl *g, const struct grey_triplet *t)
{
	char key[GREY_KEY_MAX + 1];
	struct gc_item *ti = xcalloc(3, sizeof(*ti));
	struct gc_item *ai = ti + 1, *wi = ti + 2;
	struct grey_outcome o;

	grey_key_triplet(key, sizeof(key), "", t);
	gc_lookup(g, key, ti);
	grey_key_client(key, sizeof(key), "", 'a', t->client);
	gc_lookup(g, key, ai);
	grey_key_client(key, sizeof(key), "", 'w', t->client);
	gc_lookup(g, key, wi);
	/* What the store's check would decide now (grey_decide, as the Lua
	 * script does), a manual entry first. */
	grey_decide(&g->gp, g->now, ti->found ? &ti->e.rec : NULL,
	    ai->found ? &ai->e.awl : NULL, &o);
	grey_key_triplet(key, sizeof(key), "", t);
	gc_print(g, STORE_E_TRIPLET, key, &ti->e, ti->found ? NULL : "none",
	    wi->found ? "whitelisted" : grey_decision_name(o.decision));
	if (ai->found)
		gc_print_item(g, &ai->e);
	if (wi->found)
		gc_print_item(g, &wi->e);
	free(ti);
}

struct gc_args {
	char		**pos;		/* positional arguments */
	size_t		 npos;
	long		 limit;		/* --limit; -1 if not given */
	const char	*ttl;		/* --ttl */
	const char	*name;		/* --name */
};

static void
gc_parse_args(int argc, char **argv, struct gc_args *a)
{
	char *end;
	int i;

	memset(a, 0, sizeof(*a));
	a->limit = -1;
	a->pos = xcalloc((size_t)argc + 1, sizeof(char *));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			a->limit = strtol(argv[++i], &end, 10);
			if (*argv[i] == '\0' || *end != '\0' || a->limit < 1)
				gc_usage();
		} else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			a->ttl = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			a->name = argv[++i];
		else if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				a->pos[a->npos++] = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1] == '-')
			gc_usage();
		else
			a->pos[a->npos++] = argv[i];
	}
}

static int
cmd_greylist(int argc, char **argv)
{
	struct gctl g;
	struct gc_args a;
	struct grey_triplet t;
	struct gc_item *it;
	const char *cfg_path = SYSCONFDIR "/moat/moat.conf", *sub;
	char key[GREY_KEY_MAX + 1], **clients = NULL;
	enum store_kind_entry kind;
	size_t nclients = 0, i;
	long ttl_ms = 0;
	int k = 0;

	while (k < argc && argv[k][0] == '-') {
		if (strcmp(argv[k], "-c") == 0 && k + 1 < argc)
			cfg_path = argv[k + 1];
		else
			gc_usage();
		k += 2;
	}
	if (k >= argc)
		gc_usage();
	sub = argv[k++];
	gc_parse_args(argc - k, argv + k, &a);
	/* Check the words before the config and the network are touched. */
	if ((a.limit >= 0 && strcmp(sub, "list") != 0) ||
	    (a.ttl != NULL && strcmp(sub, "whitelist") != 0) ||
	    (a.name != NULL && strcmp(sub, "lookup") != 0 &&
	    strcmp(sub, "pass") != 0))
		gc_usage();
	if (strcmp(sub, "list") == 0) {
		if (a.npos > 1)
			gc_usage();
	} else if (strcmp(sub, "lookup") == 0 || strcmp(sub, "pass") == 0) {
		if (a.npos != 3)
			gc_usage();
	} else if (strcmp(sub, "whitelist") == 0 ||
	    strcmp(sub, "delete") == 0) {
		if (a.npos == 0)
			gc_usage();
	} else if (strcmp(sub, "count") == 0) {
		if (a.npos != 0)
			gc_usage();
	} else
		gc_usage();
	if (a.ttl != NULL && (cfg_parse_duration_ms(a.ttl, &ttl_ms) == -1 ||
	    ttl_ms <= 0)) {
		fprintf(stderr, "moatctl: greylist whitelist: --ttl %s: want a "
		    "duration such as 30m, 12h, 7d\n", a.ttl);
		return 1;
	}

	memset(&g, 0, sizeof(g));
	g.what = sub;
	log_init(0, 0, "moatctl", LOG_FMT_LOGFMT);
	/* A Redis that goes away mid-write must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	gc_open(&g, cfg_path);
	g.now = gc_now_ms();

	if (strcmp(sub, "list") == 0) {
		g.pattern = a.npos ? a.pos[0] : NULL;
		g.limit = a.limit > 0 ? a.limit : 0;
		gc_walk(&g, STORE_E_TRIPLET, gc_list_one);
		gc_walk(&g, STORE_E_AWL, gc_list_one);
		gc_walk(&g, STORE_E_WHITE, gc_list_one);
	} else if (strcmp(sub, "count") == 0) {
		gc_walk(&g, STORE_E_TRIPLET, gc_count_one);
		gc_walk(&g, STORE_E_AWL, gc_count_one);
		gc_walk(&g, STORE_E_WHITE, gc_count_one);
		printf("triplets=%lld pending=%lld passed=%lld expired=%lld "
		    "whitelisted=%lld auto_whitelisted=%lld "
		    "awl_counting=%lld\n", g.n_pending + g.n_passed +
		    g.n_expired, g.n_pending, g.n_passed, g.n_expired,
		    g.n_white, g.n_awl_on, g.n_awl_counting);
	} else if (strcmp(sub, "lookup") == 0) {
		gc_triplet(&g, a.pos[0], a.pos[1], a.pos[2], a.name, &t);
		gc_show_triplet(&g, &t);
	} else if (strcmp(sub, "pass") == 0) {
		gc_triplet(&g, a.pos[0], a.pos[1], a.pos[2], a.name, &t);
		store_admin_pass(g.conn, &t, &g.gp, gc_void_cb, &g);
		if (gc_wait(&g) != STORE_OK)
			gc_fail(&g, g.err);
		g.now = gc_now_ms();
		gc_show_triplet(&g, &t);
	} else if (strcmp(sub, "whitelist") == 0) {
		if (ttl_ms == 0)
			ttl_ms = (long)g.gp.pass_lifetime_ms;
		for (i = 0; i < a.npos; i++)
			gc_client_parts(&g, a.pos[i], &clients, &nclients);
		it = xcalloc(1, sizeof(*it));
		for (i = 0; i < nclients; i++) {
			store_white_add(g.conn, clients[i], ttl_ms, gc_void_cb,
			    &g);
			if (gc_wait(&g) != STORE_OK)
				gc_fail(&g, g.err);
			grey_key_client(key, sizeof(key), "", 'w', clients[i]);
			gc_lookup(&g, key, it);
			if (it->found)
				gc_print_item(&g, &it->e);
			else
				gc_print(&g, STORE_E_WHITE, key, NULL, "none",
				    NULL);
			free(clients[i]);
		}
		free(it);
		free(clients);
	} else {	/* delete */
		it = xcalloc(1, sizeof(*it));
		for (i = 0; i < a.npos; i++) {
			if (gc_is_key(a.pos[i], &kind))
				snprintf(key, sizeof(key), "%s", a.pos[i]);
			else if (i + 2 < a.npos) {
				gc_triplet(&g, a.pos[i], a.pos[i + 1],
				    a.pos[i + 2], NULL, &t);
				grey_key_triplet(key, sizeof(key), "", &t);
				kind = STORE_E_TRIPLET;
				i += 2;
			} else {
				fprintf(stderr, "moatctl: greylist delete: %s: "
				    "not a key (t:..., a:..., w:...) or "
				    "CLIENT_IP SENDER RCPT\n", a.pos[i]);
				return 1;
			}
			gc_lookup(&g, key, it);
			if (!it->found) {
				gc_print(&g, kind, key, NULL, "none", NULL);
				continue;
			}
			store_admin_delete(g.conn, key, gc_void_cb, &g);
			if (gc_wait(&g) != STORE_OK)
				gc_fail(&g, g.err);
			gc_print(&g, kind, key, &it->e, "deleted", NULL);
		}
		free(it);
	}
	free(a.pos);
	gc_close(&g);
	return 0;
}

int	ctl_auth_main(int, char **);

/*
 * moatctl help [SUBCOMMAND], and SUBCOMMAND --help or -h anywhere: the
 * usage on stdout, exit 0 (a usage error prints the same on stderr, 2).
 */
static int
help(const char *sub)
{
	if (sub != NULL && strcmp(sub, "greylist") == 0)
		gc_usage_print(stdout);
	else if (sub != NULL && strcmp(sub, "report") == 0)
		report_help(stdout);
	else if (sub != NULL && strcmp(sub, "stats") == 0)
		stats_help(stdout);
	else {
		usage_print(stdout);
		printf("Options of scan, agree and rules:\n"
		    "  -r FILE          a rule file (repeatable; *.cf is read "
		    "as SpamAssassin)\n"
		    "  --sa-stock       also Debian's stock SpamAssassin rules\n"
		    "  --tag N|off, --tempfail N|off, --reject N|off\n"
		    "                   the score thresholds (default: "
		    "moatd's)\n"
		    "  -v               every rule hit with its score\n"
		    "  -q               the summary only\n"
		    "  -j N             scan with N threads (1..64)\n"
		    "  --all            also run sub-rules nobody needs\n"
		    "  --profile N      print the N costliest rules\n"
		    "  --hs             use the Hyperscan prefilter\n"
		    "  --hs-cache DIR   ... with its database cached in DIR\n"
		    "  -c CONFIG        moatd's config: its rules files and "
		    "sa_rules, in order,\n"
		    "                   its score_* thresholds and (scan) its "
		    "Bayes settings;\n"
		    "                   -r adds rules after them, --tag etc. "
		    "override them\n"
		    "  --bayes-db DIR   scan: classify with this Bayes store\n"
		    "  --dns [SERVER:PORT]\n"
		    "                   scan: run SPF, DKIM, DMARC and the DNS "
		    "lists live (off:\n"
		    "                   the line says skipped=...)\n"
		    "  --client-ip IP, --helo H, --mail-from A\n"
		    "                   scan: the envelope; its stages run "
		    "before the message\n");
	}
	printf("See moatctl(1).\n");
	return 0;
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		usage();
	/* moatd's file or moat-milter's: listen and backend are moatd's. */
	cfg_set_front(CFG_FRONT_TOOL);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return help(argv[1]);
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 2, argv + 2);
	if (strcmp(argv[1], "agree") == 0)
		return cmd_agree(argc - 2, argv + 2);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 2, argv + 2);
	if (strcmp(argv[1], "greylist") == 0)
		return cmd_greylist(argc - 2, argv + 2);
	if (strcmp(argv[1], "learn") == 0)
		return ctl_learn(argc - 2, argv + 2);
	if (strcmp(argv[1], "bayes") == 0)
		return ctl_bayes(argc - 2, argv + 2);
	if (strcmp(argv[1], "report") == 0)
		return report_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "authcheck") == 0)
		return ctl_auth_main(argc - 2, argv + 2);	/* ctl_auth.c */
	if (strcmp(argv[1], "stats") == 0)
		return stats_main(argc - 2, argv + 2);
	usage();
	return 2;
}
