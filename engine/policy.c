/*
 * policy.c: the glue between moatd and the pure rule and scoring libraries.
 *
 * It loads and compiles rule files (once per config, shared read-only by
 * every worker), turns an evaluation into hits on a transaction's score card
 * and a verdict, and edits the header section of a message that is tagged.
 * It does not decide replies or talk to sockets; session.c does.
 */
#include <sys/resource.h>
#include <sys/syscall.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "policy.h"
#include "store_cfg.h"
#include "xmalloc.h"

void
policy_thresholds(const struct config *cfg, int auth,
    struct score_thresholds *t)
{
	const struct cfg_score *tag = auth ? &cfg->auth_score_tag :
	    &cfg->score_tag;
	const struct cfg_score *tf = auth ? &cfg->auth_score_tempfail :
	    &cfg->score_tempfail;
	const struct cfg_score *rej = auth ? &cfg->auth_score_reject :
	    &cfg->score_reject;

	/* Numbers since cfg_load: nothing is parsed per message. */
	t->tag = tag->v;
	t->tag_on = tag->on;
	t->tempfail = tf->v;
	t->tempfail_on = tf->on;
	t->reject = rej->v;
	t->reject_on = rej->on;
}

int
policy_check(const struct config *cfg, char *err, size_t errsz)
{
	if (cfg->greylist) {
		struct grey_params gp;
		char gerr[256];

		store_cfg_grey_params(cfg, &gp);
		if (grey_params_check(&gp, gerr, sizeof(gerr)) == -1) {
			snprintf(err, errsz, "%s: greylist: %s", cfg->path ?
			    cfg->path : "config", gerr);
			return -1;
		}
	}
	return 0;
}

int
policy_rules_add(const struct config *cfg, struct rule_builder *b,
    struct rule_error *re)
{
	int i;

	if (cfg->sa_rules && rule_builder_add_sa_dirs(b, cfg->sa_rules_dir,
	    cfg->sa_site_dir, re) == -1)
		return -1;
	for (i = 0; i < cfg->nrules_files; i++)
		if (rule_builder_add_file(b, cfg->rules_files[i],
		    RULE_FMT_AUTO, re) == -1)
			return -1;
	return 0;
}

int
policy_load(const struct config *cfg, struct rule_set **out, char *err,
    size_t errsz)
{
	struct rule_builder *b;
	struct rule_error re;
	struct rule_set *rs;

	*out = NULL;
	if (policy_check(cfg, err, errsz) == -1)
		return -1;
	if (cfg->nrules_files == 0 && !cfg->sa_rules)
		return 0;
	b = rule_builder_new();
	memset(&re, 0, sizeof(re));
	if (policy_rules_add(cfg, b, &re) == -1)
		goto fail;
	if ((rs = rule_builder_finish(b, NULL, &re)) == NULL) {
		b = NULL;
		goto fail;
	}
	*out = rs;
	return 0;
fail:
	rule_builder_free(b);
	if (re.offset >= 0 && re.line > 0)
		snprintf(err, errsz, "%s:%d: %s (at offset %ld of the pattern)",
		    re.file, re.line, re.msg, re.offset);
	else if (re.line > 0)
		snprintf(err, errsz, "%s:%d: %s", re.file, re.line, re.msg);
	else
		snprintf(err, errsz, "%s: %s", re.file[0] ? re.file : "rules",
		    re.msg);
	return -1;
}

void
policy_log_stats(const struct rule_set *rs)
{
	const struct rule_stats *st;
	struct logline l;
	unsigned loaded = 0, zero = 0, eval = 0, badre = 0;
	int i;

	if (rs == NULL)
		return;
	st = rule_set_stats(rs);
	for (i = 0; i < RULE_ST_COUNT; i++) {
		loaded += st->loaded[i];
		zero += st->zero[i];
		eval += st->eval[i];
		badre += st->badre[i];
	}
	logline_begin(&l, "rules");
	logline_int(&l, "files", st->files);
	logline_int(&l, "rules", (long long)rule_set_count(rs));
	logline_int(&l, "run", loaded);
	logline_int(&l, "score0", zero);
	logline_int(&l, "skipped_eval", eval);
	logline_int(&l, "skipped_plugin", st->plugin);
	logline_int(&l, "bad_pattern", badre);
	logline_int(&l, "bad_meta", st->meta_bad);
	logline_int(&l, "jit", st->jit);
	logline_emit(&l);
}

struct hs_job {
	struct rule_set	*rs;
	char		*cache;
};

/*
 * One build at a time (each takes minutes and half a gigabyte for the
 * stock set): a reload while one runs leaves its rule set pending, and a
 * later reload replaces the pending one, so at most one runs and one waits.
 */
static pthread_mutex_t	 hs_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct hs_job	*hs_pending;
static int		 hs_running;

static void
hs_job_free(struct hs_job *job)
{
	rule_set_unref(job->rs);
	free(job->cache);
	free(job);
}

static void
hs_build_one(struct hs_job *job)
{
	struct rule_hs_info hi;
	struct rule_hs *h;
	uint64_t ns;
	struct logline l;
	char err[512];

	ns = clock_mono_ns();
	h = rule_hs_build(job->rs, job->cache, 0, &hi, err, sizeof(err));
	ns = clock_mono_ns() - ns;
	logline_begin(&l, "hyperscan");
	if (h == NULL) {
		logline_str(&l, "state", "off");
		logline_str(&l, "reason", err);
	} else {
		logline_str(&l, "state", "ready");
		logline_int(&l, "patterns", hi.patterns);
		logline_int(&l, "start_finders", hi.starts);
		logline_int(&l, "refused", hi.refused);
		logline_int(&l, "not_expressible", hi.skipped);
		logline_int(&l, "unread", hi.unread);
		logline_int(&l, "bytes", (long long)hi.bytes);
		logline_str(&l, "source", hi.cached ? "cache" : "compiled");
		if (hi.cache_failed)
			logline_str(&l, "cache_error", err);
	}
	logline_dbl(&l, "seconds", (double)ns / 1e9);
	logline_emit(&l);
	if (h != NULL)
		rule_set_hs_attach(job->rs, h);
}

static void *
hs_build_thread(void *arg)
{
	struct hs_job *job;

	(void)arg;
	/* Linux: this thread only; workers keep their priority */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	for (;;) {
		pthread_mutex_lock(&hs_mtx);
		if ((job = hs_pending) == NULL)
			hs_running = 0;
		hs_pending = NULL;
		pthread_mutex_unlock(&hs_mtx);
		if (job == NULL)
			return NULL;
		hs_build_one(job);
		hs_job_free(job);
	}
}

void
policy_start_hs(const struct config *cfg, struct rule_set *rs)
{
	struct hs_job *job, *old;
	pthread_attr_t attr;
	pthread_t t;
	int start;

	if (!cfg->hyperscan || rs == NULL)
		return;
	if (!rule_hs_available()) {
		log_warn("hyperscan on, but moatd was built without it (or the "
		    "CPU lacks SSSE3); the rules run without it");
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->rs = rule_set_ref(rs);
	job->cache = cfg->hyperscan_cache ? xstrdup(cfg->hyperscan_cache) :
	    NULL;
	pthread_mutex_lock(&hs_mtx);
	old = hs_pending;
	hs_pending = job;
	start = !hs_running;
	hs_running = 1;
	pthread_mutex_unlock(&hs_mtx);
	if (old != NULL)
		hs_job_free(old);	/* never started: a newer set came */
	if (!start)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, hs_build_thread, NULL) != 0) {
		log_warn("hyperscan: cannot start a thread; the rules run "
		    "without it");
		pthread_mutex_lock(&hs_mtx);
		job = hs_pending;
		hs_pending = NULL;
		hs_running = 0;
		pthread_mutex_unlock(&hs_mtx);
		if (job != NULL)
			hs_job_free(job);
	}
	pthread_attr_destroy(&attr);
}

size_t
policy_header_end(const char *msg, size_t len)
{
	size_t i = 0;

	/* The canonical message has CRLF line ends only. */
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	while (i + 3 < len) {
		const char *p = memchr(msg + i, '\r', len - i - 3);

		if (p == NULL)
			break;
		i = (size_t)(p - msg);
		if (msg[i + 1] == '\n' && msg[i + 2] == '\r' &&
		    msg[i + 3] == '\n')
			return i + 4;
		i++;
	}
	return len;
}

void
policy_rewrite_headers(const char *hdr, size_t len, const char *prefix,
    struct sbuf *out)
{
	size_t i = 0, eol, name;
	int drop = 0, subject;

	while (i < len) {
		const char *nl = memchr(hdr + i, '\n', len - i);

		eol = nl ? (size_t)(nl - hdr) + 1 : len;
		if (hdr[i] == ' ' || hdr[i] == '\t') {
			/* A continuation belongs to the field before it. */
			if (!drop)
				sbuf_add(out, hdr + i, eol - i);
			i = eol;
			continue;
		}
		for (name = i; name < eol && hdr[name] != ':' &&
		    hdr[name] != '\r'; name++)
			;
		drop = name < eol && hdr[name] == ':' &&
		    score_header_is_ours(hdr + i, name - i);
		subject = name - i == 7 && strncasecmp(hdr + i, "Subject", 7) ==
		    0 && name < eol && hdr[name] == ':';
		if (!drop && subject && prefix) {
			size_t v = name + 1;

			while (v < eol && (hdr[v] == ' ' || hdr[v] == '\t'))
				v++;
			sbuf_add(out, hdr + i, name + 1 - i);
			sbuf_addc(out, ' ');
			sbuf_adds(out, prefix);
			if (v < eol && hdr[v] != '\r')
				sbuf_addc(out, ' ');
			sbuf_add(out, hdr + v, eol - v);
		} else if (!drop)
			sbuf_add(out, hdr + i, eol - i);
		i = eol;
	}
}
