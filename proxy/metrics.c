/*
 * metrics.c: the counters behind metrics_listen and `moatctl stats`.
 *
 * Every series (a family and its label values) lives in one fixed table of
 * METRICS_SLOTS, open addressing, found by hash.  A slot is claimed once
 * with a compare-and-swap and never freed, and its values are atomics:
 * worker threads count without a lock and the scrape reads the same
 * atomics (a scrape may see one counter a step ahead of another; Prometheus
 * allows that).  The table bounds the label cardinality: past it a series
 * is not made and moat_metrics_dropped_total says so.  Rule hits are kept
 * per rule of the loaded sets (names come from the rule files, never from
 * the client) and a scrape shows the METRICS_TOP_RULES most hit.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "metrics.h"
#include "sbuf.h"
#include "score.h"

#define MET_LABELS_MAX	192

enum met_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

enum met_fam {
	F_BUILD, F_SESSIONS, F_TX, F_REFUSALS, F_GREYLIST, F_RATELIMIT,
	F_BACKEND_ERR, F_TX_SECONDS, F_WAIT_SECONDS, F_STORE_FAIL, F_TLS,
	F_AUTH, F_RULE_HITS,
	F_RELOAD_OK, F_RELOAD_TIME, F_RELOADS, F_DROPPED, F_NFAM
};

static const struct {
	const char	*name;
	enum met_type	 type;
	const char	*help;
} fams[F_NFAM] = {
	[F_BUILD] = { "moat_build_info", MT_GAUGE,
	    "moatd's version, always 1" },
	[F_SESSIONS] = { "moat_sessions_total", MT_COUNTER,
	    "client sessions ended, by listener and close reason" },
	[F_TX] = { "moat_transactions_total", MT_COUNTER,
	    "transactions ended, by listener, verdict and status" },
	[F_REFUSALS] = { "moat_refusals_total", MT_COUNTER,
	    "refusals (event=reject), by stage and reply code" },
	[F_GREYLIST] = { "moat_greylist_total", MT_COUNTER,
	    "transactions by greylist outcome (greylisting on)" },
	[F_RATELIMIT] = { "moat_ratelimit_hits_total", MT_COUNTER,
	    "rate limits exceeded, by limit" },
	[F_BACKEND_ERR] = { "moat_backend_errors_total", MT_COUNTER,
	    "backend failures, by error" },
	[F_TX_SECONDS] = { "moat_transaction_seconds", MT_HISTOGRAM,
	    "MAIL to the end of the transaction (backend reply included)" },
	[F_WAIT_SECONDS] = { "moat_wait_seconds", MT_HISTOGRAM,
	    "how long sessions waited, by what for: the backend's replies "
	    "(CONNECT, RSET, MAIL, RCPT, DATA, REPLAY, AUTHBE), the store "
	    "(GREY, RATE), DNS, AUTH hashing, TLS, AUTHDELAY" },
	[F_STORE_FAIL] = { "moat_store_failures_total", MT_COUNTER,
	    "greylist/rate-limit store errors, by operation" },
	[F_TLS] = { "moat_tls_handshakes_total", MT_COUNTER,
	    "TLS handshakes with clients, by result" },
	[F_AUTH] = { "moat_auth_total", MT_COUNTER,
	    "AUTH attempts, by result (ok or the failure)" },
	[F_RULE_HITS] = { "moat_rule_hits_total", MT_COUNTER,
	    "rule hits in ended transactions (the most hit rules only)" },
	[F_RELOAD_OK] = { "moat_config_last_reload_successful", MT_GAUGE,
	    "1 if the last reload (SIGHUP) was taken, 0 if refused" },
	[F_RELOAD_TIME] = { "moat_config_last_reload_timestamp_seconds",
	    MT_GAUGE, "when the configuration and rules in force were "
	    "loaded" },
	[F_RELOADS] = { "moat_config_reloads_total", MT_COUNTER,
	    "reloads (SIGHUP), by result" },
	[F_DROPPED] = { "moat_metrics_dropped_total", MT_COUNTER,
	    "counts lost because the series table was full" },
};

/* Upper bounds of the histogram buckets, in milliseconds. */
static const int64_t met_bounds_ms[] = {
	10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000
};
#define MET_NBUCKETS	(sizeof(met_bounds_ms) / sizeof(met_bounds_ms[0]))

/*
 * state: 0 free, 1 being claimed, 2 ready.  v: the counter, the gauge or
 * the histogram's count; b[]: per bucket, not cumulative as le is.
 */
struct met_series {
	atomic_int		 state;
	int			 fam;
	char			 labels[MET_LABELS_MAX];
	atomic_uint_least64_t	 v;
	atomic_uint_least64_t	 sum_us;
	atomic_uint_least64_t	 b[MET_NBUCKETS];
};

static struct met_series met_tab[METRICS_SLOTS];
static atomic_uint_least64_t met_dropped;

static uint64_t
met_hash(int fam, const char *s)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)fam;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The series of fam with these labels, made if new; NULL: the table is full. */
static struct met_series *
met_get(int fam, const char *labels)
{
	uint64_t h = met_hash(fam, labels);
	size_t i, spins;

	for (i = 0; i < METRICS_SLOTS; i++) {
		struct met_series *m = &met_tab[(h + i) % METRICS_SLOTS];
		int st = atomic_load_explicit(&m->state, memory_order_acquire);

		if (st == 0) {
			int zero = 0;

			if (atomic_compare_exchange_strong(&m->state, &zero,
			    1)) {
				m->fam = fam;
				snprintf(m->labels, sizeof(m->labels), "%s",
				    labels);
				atomic_store_explicit(&m->state, 2,
				    memory_order_release);
				return m;
			}
			st = zero;
		}
		/* Another thread is filling it in: a few stores away. */
		for (spins = 0; st == 1 && spins < 1000000; spins++) {
			sched_yield();
			st = atomic_load_explicit(&m->state,
			    memory_order_acquire);
		}
		if (st == 2 && m->fam == fam && strcmp(m->labels, labels) == 0)
			return m;
	}
	atomic_fetch_add_explicit(&met_dropped, 1, memory_order_relaxed);
	return NULL;
}

/*
 * met_labels: k1="v1",k2="v2"... into buf, values escaped as the text
 * format wants.  0, or -1 if it does not fit (the series is not counted).
 */
static int
met_labels(char *buf, size_t bufsz, ...)
{
	va_list ap;
	const char *k, *v;
	size_t n = 0;
	int rc = 0;

	buf[0] = '\0';
	va_start(ap, bufsz);
	while (rc == 0 && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			v = "";
		if (n + strlen(k) + 4 >= bufsz) {
			rc = -1;
			break;
		}
		n += (size_t)snprintf(buf + n, bufsz - n, "%s%s=\"",
		    n ? "," : "", k);
		for (; *v && rc == 0; v++) {
			const char *esc = *v == '\\' ? "\\\\" :
			    *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
			size_t need = esc ? 2 : 1;

			if (n + need + 2 >= bufsz) {
				rc = -1;
				break;
			}
			if (esc) {
				memcpy(buf + n, esc, 2);
				n += 2;
			} else
				buf[n++] = *v;
		}
		if (rc == 0) {
			buf[n++] = '"';
			buf[n] = '\0';
		}
	}
	va_end(ap);
	if (rc == -1) {
		buf[0] = '\0';
		atomic_fetch_add_explicit(&met_dropped, 1,
		    memory_order_relaxed);
	}
	return rc;
}

static void
met_add(int fam, const char *labels, uint64_t n)
{
	struct met_series *m = met_get(fam, labels);

	if (m != NULL)
		atomic_fetch_add_explicit(&m->v, n, memory_order_relaxed);
}

static void
met_set(int fam, const char *labels, uint64_t v)
{
	struct met_series *m = met_get(fam, labels);

	if (m != NULL)
		atomic_store_explicit(&m->v, v, memory_order_relaxed);
}

static void
met_observe_ms(int fam, const char *labels, int64_t ms)
{
	struct met_series *m = met_get(fam, labels);
	size_t i;

	if (m == NULL)
		return;
	if (ms < 0)
		ms = 0;
	for (i = 0; i < MET_NBUCKETS && ms > met_bounds_ms[i]; i++)
		;
	if (i < MET_NBUCKETS)
		atomic_fetch_add_explicit(&m->b[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us, (uint64_t)ms * 1000,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->v, 1, memory_order_relaxed);
}

/* One label: the hooks below are one-liners around this. */
static void
met_inc1(int fam, const char *k, const char *v)
{
	char lb[MET_LABELS_MAX];

	if (met_labels(lb, sizeof(lb), k, v, (const char *)NULL) == 0)
		met_add(fam, lb, 1);
}

void
metrics_session(const char *listener, const char *reason)
{
	char lb[MET_LABELS_MAX];

	if (met_labels(lb, sizeof(lb), "listener", listener, "reason", reason,
	    (const char *)NULL) == 0)
		met_add(F_SESSIONS, lb, 1);
}

void
metrics_tx(const char *listener, const char *verdict, const char *status,
    const char *greylist, const struct score_card *card, int64_t start_ms,
    int64_t now_ms)
{
	char lb[MET_LABELS_MAX];
	size_t i;

	if (met_labels(lb, sizeof(lb), "listener", listener, "verdict",
	    verdict, "status", status, (const char *)NULL) == 0)
		met_add(F_TX, lb, 1);
	if (greylist != NULL && strcmp(greylist, "off") != 0)
		met_inc1(F_GREYLIST, "result", greylist);
	if (start_ms > 0)
		met_observe_ms(F_TX_SECONDS, "", now_ms - start_ms);
	for (i = 0; card != NULL && i < card->nhits; i++)
		if (strcmp(card->hits[i].source, "rules") == 0)
			met_inc1(F_RULE_HITS, "rule", card->hits[i].name);
}

/*
 * The reply's codes, "550" or "550 5.7.1", into out (""): digits and dots
 * only, so the text after them (an address, a rule name) never becomes a
 * label and the values stay few.
 */
static void
met_reply_code(const char *reply, char *out, size_t outsz)
{
	size_t n = 0, dots = 0;

	out[0] = '\0';
	if (reply == NULL || strspn(reply, "0123456789") != 3 ||
	    (reply[3] != '\0' && reply[3] != ' ' && reply[3] != '-'))
		return;
	memcpy(out, reply, 3);
	n = 3;
	if (reply[3] == ' ' && reply[4] >= '2' && reply[4] <= '5' &&
	    reply[5] == '.') {
		size_t len = strspn(reply + 4, "0123456789.");
		const char *p;

		for (p = reply + 4; p < reply + 4 + len; p++)
			dots += *p == '.';
		if (dots == 2 && len <= 11 && n + 1 + len < outsz &&
		    (reply[4 + len] == '\0' || reply[4 + len] == ' ')) {
			out[n++] = ' ';
			memcpy(out + n, reply + 4, len);
			n += len;
		}
	}
	out[n] = '\0';
}

void
metrics_refusal(const char *stage, const char *reply)
{
	char lb[MET_LABELS_MAX], code[16];

	met_reply_code(reply, code, sizeof(code));
	if (met_labels(lb, sizeof(lb), "stage", stage, "code", code,
	    (const char *)NULL) == 0)
		met_add(F_REFUSALS, lb, 1);
}

void
metrics_ratelimit(const char *limit, int store_failed)
{
	met_inc1(F_RATELIMIT, "limit", limit);
	if (store_failed)
		met_inc1(F_STORE_FAIL, "op", "ratelimit");
}

void
metrics_backend_error(const char *error)
{
	met_inc1(F_BACKEND_ERR, "error", error);
}

void
metrics_tls(const char *result)
{
	met_inc1(F_TLS, "result", result);
}

void
metrics_auth(const char *result)
{
	met_inc1(F_AUTH, "result", result);
}

void
metrics_store_failure(const char *op)
{
	met_inc1(F_STORE_FAIL, "op", op);
}

int64_t
metrics_wait(const char *wait, int64_t since_ms)
{
	char lb[MET_LABELS_MAX];
	int64_t now = clock_mono_ms();

	if (wait != NULL && met_labels(lb, sizeof(lb), "wait", wait,
	    (const char *)NULL) == 0)
		met_observe_ms(F_WAIT_SECONDS, lb, now - since_ms);
	return now;
}

void
metrics_reload(int ok, int64_t when)
{
	if (ok >= 0)
		met_inc1(F_RELOADS, "result", ok ? "ok" : "refused");
	met_set(F_RELOAD_OK, "", ok != 0);
	if (ok != 0)
		met_set(F_RELOAD_TIME, "", (uint64_t)when);
}

void
metrics_build_info(const char *version)
{
	char lb[MET_LABELS_MAX];

	if (met_labels(lb, sizeof(lb), "version", version,
	    (const char *)NULL) == 0)
		met_set(F_BUILD, lb, 1);
	/* The histogram shows its zero buckets before the first mail. */
	(void)met_get(F_TX_SECONDS, "");
}

/* ---- the exposition --------------------------------------------------- */

struct met_row {
	int		 fam;
	const char	*labels;
	uint64_t	 v;
	const struct met_series *m;
};

static int
met_row_cmp(const void *a, const void *b)
{
	const struct met_row *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	/* The most hit rules first, so the cut keeps them. */
	if (x->fam == F_RULE_HITS && x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

static void
met_name_labels(struct sbuf *out, const char *name, const char *suffix,
    const char *labels, const char *extra)
{
	sbuf_printf(out, "%s%s", name, suffix);
	if (labels[0] || extra)
		sbuf_printf(out, "{%s%s%s}", labels,
		    labels[0] && extra ? "," : "", extra ? extra : "");
}

static void
met_format_hist(struct sbuf *out, const char *name, const struct met_row *r)
{
	char le[48];
	uint64_t cum = 0, count;
	size_t i;

	for (i = 0; i < MET_NBUCKETS; i++) {
		cum += atomic_load_explicit(&r->m->b[i], memory_order_relaxed);
		snprintf(le, sizeof(le), "le=\"%g\"",
		    (double)met_bounds_ms[i] / 1000.0);
		met_name_labels(out, name, "_bucket", r->labels, le);
		sbuf_printf(out, " %llu\n", (unsigned long long)cum);
	}
	count = r->v;
	met_name_labels(out, name, "_bucket", r->labels, "le=\"+Inf\"");
	sbuf_printf(out, " %llu\n", (unsigned long long)count);
	met_name_labels(out, name, "_sum", r->labels, NULL);
	sbuf_printf(out, " %.6f\n", (double)atomic_load_explicit(&r->m->sum_us,
	    memory_order_relaxed) / 1e6);
	met_name_labels(out, name, "_count", r->labels, NULL);
	sbuf_printf(out, " %llu\n", (unsigned long long)count);
}

void
metrics_format(struct sbuf *out)
{
	struct met_row *rows;
	size_t i, n = 0, j, shown;
	int f;

	rows = calloc(METRICS_SLOTS, sizeof(*rows));
	if (rows == NULL)
		return;
	for (i = 0; i < METRICS_SLOTS; i++) {
		struct met_series *m = &met_tab[i];

		if (atomic_load_explicit(&m->state, memory_order_acquire) != 2)
			continue;
		rows[n].fam = m->fam;
		rows[n].labels = m->labels;
		rows[n].v = atomic_load_explicit(&m->v, memory_order_relaxed);
		rows[n].m = m;
		n++;
	}
	qsort(rows, n, sizeof(*rows), met_row_cmp);
	for (f = 0, j = 0; f < F_NFAM; f++) {
		const char *type = fams[f].type == MT_COUNTER ? "counter" :
		    fams[f].type == MT_GAUGE ? "gauge" : "histogram";

		sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name,
		    fams[f].help, fams[f].name, type);
		if (f == F_DROPPED) {
			sbuf_printf(out, "%s %llu\n", fams[f].name,
			    (unsigned long long)atomic_load_explicit(
			    &met_dropped, memory_order_relaxed));
			continue;
		}
		for (shown = 0; j < n && rows[j].fam == f; j++, shown++) {
			if (f == F_RULE_HITS && shown >= METRICS_TOP_RULES)
				continue;
			if (fams[f].type == MT_HISTOGRAM) {
				met_format_hist(out, fams[f].name, &rows[j]);
				continue;
			}
			met_name_labels(out, fams[f].name, "", rows[j].labels,
			    NULL);
			sbuf_printf(out, " %llu\n",
			    (unsigned long long)rows[j].v);
		}
	}
	free(rows);
}
