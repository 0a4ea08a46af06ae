/*
 * ctl_report.c: `moatctl report [--json] [--top N] [FILE...]`, what
 * pflogsumm is to Postfix, for moatd's log (issue 17).
 *
 * It reads moatd's log lines from files (plain or gzip'd, rotated ones
 * included: the order of the files does not matter) or stdin, in either
 * log_format (logfmt or JSON), as moatd writes them to stderr ("ts=..."),
 * or behind a syslog prefix ("Dec  6 16:11:42 host moatd[42]: ..."), and
 * prints: sessions and their close reasons, messages by verdict and
 * status, refusals by stage and reply, the clients, senders and recipient
 * domains refused most, AUTH failures, rate-limit hits, greylisting
 * (outcomes, the share of greylisted client/sender pairs that came back
 * and passed, and how long they took), the rules that hit most and that
 * contributed the most score, backend errors, and traffic per hour.
 *
 * It does not follow files, guess a year for syslog dates beyond the
 * current one, or unescape values: a value is shown in moatd's logfmt
 * escaping (JSON's \u00NN becomes \xNN), so what it prints is as safe on
 * a terminal as the log itself and the same in both formats.
 *
 * Greylisting delay: moatd's tx line carries the client and sender but not
 * the deferred recipient, so a "triplet" here is the (client, sender) pair:
 * the delay is from its first greylist=new line to its first
 * greylist=passed line.
 *
 * Speed: one pass, no regex, no allocation per line except for new keys
 * of the tables (open addressing, FNV-1a).  bench/report-bench.sh
 * measures it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "ctl_report.h"
#include "sbuf.h"
#include "xmalloc.h"

const char report_usage_text[] =
    "       moatctl report [--json] [--top N] [FILE...]\n";

#define REPORT_READ_SZ	(1 << 20)	/* bytes per gzread */
#define REPORT_LINE_MAX	(64 * 1024)	/* longer lines are skipped */
#define REPORT_KV_MAX	48		/* keys per line we look at */
#define REPORT_TOP_DEF	10
#define REPORT_TOP_MAX	100000

/* One key=value of a line: pointers into the line, value still escaped. */
struct rkv {
	const char	*k, *v;
	size_t		 kl, vl;
	int		 json;		/* value from a JSON string */
};

struct rline {
	struct rkv	 kv[REPORT_KV_MAX];
	int		 n;
	int64_t		 t;		/* seconds since the epoch, or -1 */
	char		 hour[24];	/* "2026-12-06 16" or "" */
};

/* A counter table entry: key (canonical escaping), count, sum, times. */
struct rent {
	char		*key;
	uint64_t	 h;
	long long	 n;
	double		 sum;
	int64_t		 t0;		/* greylist: first new */
	int64_t		 t1;		/* greylist: first passed */
	long long	 c[4];		/* per-hour columns */
};

struct rmap {
	struct rent	*e;
	size_t		 cap, used;
};

struct report {
	long long	 lines, parsed, bad;
	int64_t		 tmin, tmax;
	long long	 sessions, txs, auth_fail, rejects, grey_delays;
	long long	 bytes_in;
	struct rmap	 verdict, status, close_reason, reject_stage,
			 reject_reply, rej_client, rej_sender, rej_domain,
			 auth_client, auth_result, ratelimit, grey, grey_pair,
			 rule, backend, hour;
	int		 top;
};

enum { HOUR_SESS, HOUR_TX, HOUR_DELIV, HOUR_REJ };

/* ---- tables ----------------------------------------------------------- */

static uint64_t
fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* rmap_get: the entry for key[0..n), created zeroed if new. */
static struct rent *
rmap_get(struct rmap *m, const char *key, size_t n)
{
	uint64_t h = fnv(key, n);
	size_t i, j;
	struct rent *old;

	if (m->used * 2 >= m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;

		old = m->e;
		m->e = xcalloc(ncap, sizeof(*m->e));
		for (i = 0; i < m->cap; i++) {
			if (old[i].key == NULL)
				continue;
			for (j = old[i].h & (ncap - 1); m->e[j].key != NULL;
			    j = (j + 1) & (ncap - 1))
				;
			m->e[j] = old[i];
		}
		free(old);
		m->cap = ncap;
	}
	for (i = h & (m->cap - 1); m->e[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->e[i].h == h && strncmp(m->e[i].key, key, n) == 0 &&
		    m->e[i].key[n] == '\0')
			return &m->e[i];
	m->e[i].key = xstrndup(key, n);
	m->e[i].h = h;
	m->e[i].t0 = m->e[i].t1 = -1;
	m->used++;
	return &m->e[i];
}

static void
rmap_add(struct rmap *m, const char *key, size_t n, double sum)
{
	struct rent *e = rmap_get(m, key, n);

	e->n++;
	e->sum += sum;
}

static void
rmap_free(struct rmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	m->e = NULL;
	m->cap = m->used = 0;
}

/* ---- parsing ---------------------------------------------------------- */

static const char *const mon_names[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Hinnant's formula). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* "2026-12-06T16:11:42..." -> seconds and the hour label; -1 if not. */
static int64_t
parse_iso(const char *p, size_t n, char *hour, size_t hoursz)
{
	int y, mo, d, h, mi, s;

	if (n < 19 || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
	    p[13] != ':' || p[16] != ':')
		return -1;
	y = digits(p, 4);
	mo = digits(p + 5, 2);
	d = digits(p + 8, 2);
	h = digits(p + 11, 2);
	mi = digits(p + 14, 2);
	s = digits(p + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || s < 0)
		return -1;
	snprintf(hour, hoursz, "%.10s %.2s", p, p + 11);
	return days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + s;
}

/*
 * "Dec  6 16:11:42 " (RFC 3164) -> seconds in the current year, and the
 * hour label; -1 if the line does not start so.
 */
static int64_t
parse_syslog_date(const char *p, size_t n, int year, char *hour,
    size_t hoursz)
{
	int mo, d, h, mi, s;

	if (n < 16 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' ||
	    p[12] != ':')
		return -1;
	for (mo = 0; mo < 12; mo++)
		if (memcmp(p, mon_names[mo], 3) == 0)
			break;
	if (mo == 12)
		return -1;
	d = p[4] == ' ' ? digits(p + 5, 1) : digits(p + 4, 2);
	h = digits(p + 7, 2);
	mi = digits(p + 10, 2);
	s = digits(p + 13, 2);
	if (d < 1 || h < 0 || h > 23 || mi < 0 || s < 0)
		return -1;
	snprintf(hour, hoursz, "%04d-%02d-%02d %02d", year, mo + 1, d, h);
	return days_from_civil(year, (unsigned)mo + 1, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + s;
}

/* logfmt: key=value pairs from p; quoted values may hold \" and \\. */
static void
parse_logfmt(struct rline *l, const char *p, const char *e)
{
	const char *k;

	while (p < e && l->n < REPORT_KV_MAX) {
		while (p < e && *p == ' ')
			p++;
		k = p;
		while (p < e && *p != '=' && *p != ' ')
			p++;
		if (p >= e || *p != '=')
			return;
		l->kv[l->n].k = k;
		l->kv[l->n].kl = (size_t)(p - k);
		l->kv[l->n].json = 0;
		p++;
		if (p < e && *p == '"') {
			const char *v = ++p;

			while (p < e && *p != '"')
				p += *p == '\\' && p + 1 < e ? 2 : 1;
			l->kv[l->n].v = v;
			l->kv[l->n].vl = (size_t)((p < e ? p : e) - v);
			p++;
		} else {
			l->kv[l->n].v = p;
			while (p < e && *p != ' ')
				p++;
			l->kv[l->n].vl = (size_t)(p - l->kv[l->n].v);
		}
		l->n++;
	}
}

/* JSON: one flat object of strings and numbers, as log.c writes it. */
static void
parse_json(struct rline *l, const char *p, const char *e)
{
	const char *k;
	size_t kl;

	if (p < e && *p == '{')
		p++;
	while (p < e && l->n < REPORT_KV_MAX) {
		while (p < e && (*p == ',' || *p == ' '))
			p++;
		if (p >= e || *p != '"')
			return;
		k = ++p;
		while (p < e && *p != '"')
			p++;
		kl = (size_t)(p - k);
		p++;
		if (p >= e || *p != ':')
			return;
		p++;
		l->kv[l->n].k = k;
		l->kv[l->n].kl = kl;
		if (p < e && *p == '"') {
			const char *v = ++p;

			while (p < e && *p != '"')
				p += *p == '\\' && p + 1 < e ? 2 : 1;
			l->kv[l->n].v = v;
			l->kv[l->n].vl = (size_t)((p < e ? p : e) - v);
			l->kv[l->n].json = 1;
			p++;
		} else {
			l->kv[l->n].v = p;
			while (p < e && *p != ',' && *p != '}')
				p++;
			l->kv[l->n].vl = (size_t)(p - l->kv[l->n].v);
			l->kv[l->n].json = 0;
		}
		l->n++;
	}
}

/*
 * The start of moatd's own text in a line: "ts=", "event=", "level=" or
 * "{" at the start or after a syslog prefix ending in ": ".  Returns NULL
 * for a line that is not moatd's.
 */
static const char *
moat_text(const char *p, const char *e, int *json)
{
	const char *c;

	for (;;) {
		if (e - p >= 1 && *p == '{') {
			*json = 1;
			return p;
		}
		if ((e - p >= 3 && memcmp(p, "ts=", 3) == 0) ||
		    (e - p >= 6 && memcmp(p, "event=", 6) == 0) ||
		    (e - p >= 6 && memcmp(p, "level=", 6) == 0)) {
			*json = 0;
			return p;
		}
		c = memchr(p, ':', (size_t)(e - p));
		/* The syslog tag ends "]: " or ": "; dates have ':' too. */
		while (c != NULL && c + 1 < e && c[1] != ' ')
			c = memchr(c + 1, ':', (size_t)(e - c - 1));
		if (c == NULL || c + 1 >= e)
			return NULL;
		p = c + 2;
	}
}

static const struct rkv *
get(const struct rline *l, const char *key)
{
	size_t n = strlen(key);
	int i;

	for (i = 0; i < l->n; i++)
		if (l->kv[i].kl == n && memcmp(l->kv[i].k, key, n) == 0)
			return &l->kv[i];
	return NULL;
}

static int
is(const struct rkv *kv, const char *s)
{
	size_t n = strlen(s);

	return kv != NULL && kv->vl == n && memcmp(kv->v, s, n) == 0;
}

/*
 * The canonical form of a value: logfmt's escaping.  A JSON value's
 * \u00NN becomes \xNN (log.c writes only those for bytes outside
 * printable ASCII), so a key counts the same in both formats.  Returns
 * a pointer to tmp or to the value itself; *n is the length.
 */
static const char *
canon(const struct rkv *kv, char *tmp, size_t tmpsz, size_t *n)
{
	size_t i, o = 0;

	if (!kv->json || memchr(kv->v, '\\', kv->vl) == NULL) {
		*n = kv->vl;
		return kv->v;
	}
	for (i = 0; i < kv->vl && o + 4 < tmpsz; i++) {
		if (kv->v[i] == '\\' && i + 5 < kv->vl &&
		    kv->v[i + 1] == 'u' && kv->v[i + 2] == '0' &&
		    kv->v[i + 3] == '0') {
			tmp[o++] = '\\';
			tmp[o++] = 'x';
			i += 3;
			continue;
		}
		tmp[o++] = kv->v[i];
	}
	*n = o;
	return tmp;
}

static void
count(struct rmap *m, const struct rkv *kv, double sum)
{
	char tmp[2048];
	const char *s;
	size_t n;

	if (kv == NULL)
		return;
	s = canon(kv, tmp, sizeof(tmp), &n);
	rmap_add(m, s, n, sum);
}

static void
hour_add(struct report *r, const struct rline *l, int col)
{
	struct rent *e;

	if (l->hour[0] == '\0')
		return;
	e = rmap_get(&r->hour, l->hour, strlen(l->hour));
	e->c[col]++;
}

/* The domains of "a@x,b@y" (lower case), each counted once per line. */
static void
count_domains(struct rmap *m, const struct rkv *kv)
{
	char tmp[2048], dom[256];
	const char *s, *p, *e, *at, *end;
	size_t n, dl, i;

	if (kv == NULL)
		return;
	s = canon(kv, tmp, sizeof(tmp), &n);
	end = s + n;
	for (p = s; p < end; p = e + 1) {
		e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		at = NULL;
		for (i = 0; p + i < e; i++)
			if (p[i] == '@')
				at = p + i;
		if (at != NULL && e - at - 1 > 0) {
			dl = (size_t)(e - at - 1);
			if (dl >= sizeof(dom))
				dl = sizeof(dom) - 1;
			for (i = 0; i < dl; i++)
				dom[i] = (char)tolower((unsigned char)at[1 + i]);
			rmap_add(m, dom, dl, 0);
		}
		if (e == end)
			break;
	}
}

/* rules="NAME=1.5,OTHER=-0.2": hits and score per rule. */
static void
count_rules(struct rmap *m, const struct rkv *kv)
{
	const char *p, *e, *eq, *end;

	if (kv == NULL)
		return;
	end = kv->v + kv->vl;
	for (p = kv->v; p < end; p = e + 1) {
		e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq != NULL && eq > p)
			rmap_add(m, p, (size_t)(eq - p), strtod(eq + 1, NULL));
		if (e == end)
			break;
	}
}

/* The (client, sender) pair of a tx line, for the greylisting delay. */
static struct rent *
grey_pair(struct report *r, const struct rline *l)
{
	const struct rkv *c = get(l, "client"), *f = get(l, "from");
	char key[1024];
	int n;

	if (c == NULL || f == NULL)
		return NULL;
	n = snprintf(key, sizeof(key), "%.*s %.*s", (int)c->vl, c->v,
	    (int)f->vl, f->v);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return rmap_get(&r->grey_pair, key, (size_t)n);
}

static void
on_tx(struct report *r, const struct rline *l)
{
	const struct rkv *verdict = get(l, "verdict"), *status = get(l, "status");
	const struct rkv *grey = get(l, "greylist");
	struct rent *pair;

	r->txs++;
	hour_add(r, l, HOUR_TX);
	count(&r->verdict, verdict, 0);
	count(&r->status, status, 0);
	if (is(status, "sent"))
		hour_add(r, l, HOUR_DELIV);
	if (is(status, "refused")) {
		count(&r->rej_sender, get(l, "from"), 0);
		count_domains(&r->rej_domain, get(l, "rcpt"));
	}
	count_rules(&r->rule, get(l, "rules"));
	if (grey != NULL && !is(grey, "off")) {
		count(&r->grey, grey, 0);
		if ((is(grey, "new") || is(grey, "passed")) && l->t >= 0 &&
		    (pair = grey_pair(r, l)) != NULL) {
			if (is(grey, "new") && pair->t0 < 0)
				pair->t0 = l->t;
			else if (is(grey, "passed") && pair->t1 < 0)
				pair->t1 = l->t;
		}
	}
}

static void
on_reject(struct report *r, const struct rline *l)
{
	static const char *const keyed[] = { "helo", "from", "rcpt" };
	const struct rkv *stage = get(l, "stage"), *kv;
	size_t i;

	r->rejects++;
	hour_add(r, l, HOUR_REJ);
	count(&r->rej_client, get(l, "client"), 0);
	count(&r->reject_reply, get(l, "reply"), 0);
	if (stage != NULL) {
		count(&r->reject_stage, stage, 0);
		return;
	}
	/* A refusal of a command names its stage by its key. */
	for (i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
		if ((kv = get(l, keyed[i])) != NULL) {
			rmap_add(&r->reject_stage, keyed[i], strlen(keyed[i]),
			    0);
			if (i == 1)
				count(&r->rej_sender, kv, 0);
			else if (i == 2)
				count_domains(&r->rej_domain, kv);
			return;
		}
	rmap_add(&r->reject_stage, "other", 5, 0);
}

static void
on_line(struct report *r, const char *p, const char *e, int year)
{
	struct rline l;
	const struct rkv *ev, *ts, *kv;
	const char *t;
	int json;

	r->lines++;
	l.n = 0;
	l.t = -1;
	l.hour[0] = '\0';
	if ((t = moat_text(p, e, &json)) == NULL) {
		r->bad++;
		return;
	}
	if (json)
		parse_json(&l, t, e);
	else
		parse_logfmt(&l, t, e);
	if ((ts = get(&l, "ts")) != NULL)
		l.t = parse_iso(ts->v, ts->vl, l.hour, sizeof(l.hour));
	else if (t > p)
		l.t = parse_syslog_date(p, (size_t)(e - p), year, l.hour,
		    sizeof(l.hour));
	if (l.t >= 0) {
		if (r->tmin < 0 || l.t < r->tmin)
			r->tmin = l.t;
		if (l.t > r->tmax)
			r->tmax = l.t;
	}
	if ((ev = get(&l, "event")) == NULL) {
		/* level=... free-text lines: counted as read, not parsed. */
		return;
	}
	r->parsed++;
	switch (ev->vl) {
	case 2:
		if (is(ev, "tx"))
			on_tx(r, &l);
		break;
	case 6:
		if (is(ev, "reject"))
			on_reject(r, &l);
		break;
	case 7:
		if (is(ev, "session")) {
			r->sessions++;
			hour_add(r, &l, HOUR_SESS);
			count(&r->close_reason, get(&l, "reason"), 0);
			if ((kv = get(&l, "bytes_in")) != NULL)
				r->bytes_in += strtoll(kv->v, NULL, 10);
		} else if (is(ev, "backend"))
			count(&r->backend, get(&l, "error"), 0);
		break;
	case 9:
		if (is(ev, "ratelimit"))
			count(&r->ratelimit, get(&l, "limit"), 0);
		break;
	case 11:
		if (is(ev, "auth_failed")) {
			r->auth_fail++;
			count(&r->auth_client, get(&l, "client"), 0);
			count(&r->auth_result, get(&l, "result"), 0);
		}
		break;
	case 13:
		if (is(ev, "backend_check") &&
		    is(get(&l, "result"), "unreachable"))
			rmap_add(&r->backend, "unreachable at start", 20, 0);
		break;
	default:
		break;
	}
}

/* Read one input (plain or gzip, zlib tells them apart) line by line. */
static int
read_input(struct report *r, const char *name, int fd, int year)
{
	gzFile gz;
	char *buf;
	size_t have = 0, cap = REPORT_READ_SZ + REPORT_LINE_MAX;
	int n, skipping = 0, ret = 0;

	if ((gz = gzdopen(fd, "rb")) == NULL) {
		fprintf(stderr, "moatctl: %s: cannot read\n", name);
		close(fd);
		return -1;
	}
	gzbuffer(gz, 256 * 1024);
	buf = xmalloc(cap);
	for (;;) {
		char *p, *nl, *end;

		n = gzread(gz, buf + have, REPORT_READ_SZ);
		if (n < 0) {
			int err;

			fprintf(stderr, "moatctl: %s: %s\n", name,
			    gzerror(gz, &err));
			ret = -1;
			break;
		}
		if (n == 0) {
			int err;
			const char *msg = gzerror(gz, &err);

			if (err != Z_OK && err != Z_STREAM_END) {
				fprintf(stderr, "moatctl: %s: %s\n", name, msg);
				ret = -1;
			}
			/* A last line without a newline still counts. */
			if (have > 0 && !skipping)
				on_line(r, buf, buf + have, year);
			break;
		}
		have += (size_t)n;
		end = buf + have;
		for (p = buf; (nl = memchr(p, '\n', (size_t)(end - p))) !=
		    NULL; p = nl + 1) {
			if (skipping) {
				skipping = 0;
				continue;
			}
			on_line(r, p, nl > p && nl[-1] == '\r' ? nl - 1 : nl,
			    year);
		}
		have = (size_t)(end - p);
		if (have > REPORT_LINE_MAX) {
			/* Not a moatd line: drop it up to its newline. */
			if (!skipping) {
				r->lines++;
				r->bad++;
			}
			skipping = 1;
			have = 0;
		} else
			memmove(buf, p, have);
	}
	free(buf);
	gzclose(gz);
	return ret;
}

/* The inflating thread of read_file: the file in, plain text to a pipe. */
struct inflater {
	gzFile		 gz;
	int		 out;
	int		 err;		/* 0, or -1 with msg set */
	char		 msg[256];
};

static void *
inflate_main(void *arg)
{
	struct inflater *in = arg;
	char *buf = xmalloc(REPORT_READ_SZ);
	const char *e;
	ssize_t w;
	int n, zerr;

	while ((n = gzread(in->gz, buf, REPORT_READ_SZ)) > 0) {
		for (e = buf; n > 0; e += w, n -= (int)w) {
			if ((w = write(in->out, e, (size_t)n)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				/* The reader is gone: nothing more to do. */
				goto done;
			}
		}
	}
	/* A cut file ends in 0 with Z_BUF_ERROR set, not in -1. */
	e = gzerror(in->gz, &zerr);
	if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
		in->err = -1;
		snprintf(in->msg, sizeof(in->msg), "%s", e);
	}
done:
	free(buf);
	close(in->out);
	return NULL;
}

/*
 * read_file: a named file.  A gzip'd one is inflated by a thread of its
 * own, so inflating and counting run on two cores instead of adding up
 * (bench/report-bench.sh); the text reaches read_input through a pipe.
 */
static int
read_file(struct report *r, const char *name, int fd, int year)
{
	struct inflater in;
	unsigned char magic[2];
	pthread_t t;
	int p[2], ret;

	if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f ||
	    magic[1] != 0x8b || pipe(p) == -1)
		return read_input(r, name, fd, year);
	memset(&in, 0, sizeof(in));
	in.out = p[1];
	if ((in.gz = gzdopen(fd, "rb")) == NULL) {
		close(p[0]);
		close(p[1]);
		return read_input(r, name, fd, year);
	}
	gzbuffer(in.gz, 256 * 1024);
	if (pthread_create(&t, NULL, inflate_main, &in) != 0) {
		close(p[0]);
		close(p[1]);
		gzclose(in.gz);
		fprintf(stderr, "moatctl: %s: cannot start a thread\n", name);
		return -1;
	}
	ret = read_input(r, name, p[0], year);
	pthread_join(t, NULL);
	gzclose(in.gz);
	if (in.err) {
		fprintf(stderr, "moatctl: %s: %s\n", name, in.msg);
		return -1;
	}
	return ret;
}

/* ---- output ----------------------------------------------------------- */

static int
by_n(const void *a, const void *b)
{
	const struct rent *x = *(const struct rent *const *)a;
	const struct rent *y = *(const struct rent *const *)b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int
by_sum(const void *a, const void *b)
{
	const struct rent *x = *(const struct rent *const *)a;
	const struct rent *y = *(const struct rent *const *)b;

	if (x->sum != y->sum)
		return x->sum < y->sum ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int
by_key(const void *a, const void *b)
{
	return strcmp((*(const struct rent *const *)a)->key,
	    (*(const struct rent *const *)b)->key);
}

/* The entries of m, sorted; *n their number.  The caller frees. */
static struct rent **
sorted(const struct rmap *m, int (*cmp)(const void *, const void *),
    size_t *n)
{
	struct rent **v = xcalloc(m->used + 1, sizeof(*v));
	size_t i, k = 0;

	for (i = 0; i < m->cap; i++)
		if (m->e[i].key != NULL)
			v[k++] = &m->e[i];
	qsort(v, k, sizeof(*v), cmp);
	*n = k;
	return v;
}

/* The greylisting figures: pairs greylisted, passed later, delays. */
struct grey_stats {
	long long	 pairs, passed;
	double		 min, max, avg, median;
};

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
grey_stats(const struct report *r, struct grey_stats *g)
{
	double *d = xcalloc(r->grey_pair.used + 1, sizeof(*d));
	size_t i, k = 0;
	double sum = 0;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < r->grey_pair.cap; i++) {
		const struct rent *e = &r->grey_pair.e[i];

		if (e->key == NULL || e->t0 < 0)
			continue;
		g->pairs++;
		if (e->t1 >= e->t0) {
			d[k++] = (double)(e->t1 - e->t0);
			sum += d[k - 1];
		}
	}
	g->passed = (long long)k;
	if (k > 0) {
		qsort(d, k, sizeof(*d), cmp_dbl);
		g->min = d[0];
		g->max = d[k - 1];
		g->avg = sum / (double)k;
		g->median = k % 2 ? d[k / 2] : (d[k / 2 - 1] + d[k / 2]) / 2;
	}
	free(d);
}

static void
fmt_time(char *out, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0) {
		snprintf(out, n, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void text_str(const char *);

static void
text_table(const char *title, const struct rmap *m, int top, int score)
{
	struct rent **v;
	size_t n, i;

	printf("\n%s\n", title);
	v = sorted(m, score ? by_sum : by_n, &n);
	if (n == 0)
		printf("  (none)\n");
	for (i = 0; i < n && (top <= 0 || i < (size_t)top); i++) {
		if (score)
			printf("  %10.1f  %8lld  ", v[i]->sum, v[i]->n);
		else
			printf("  %10lld  ", v[i]->n);
		text_str(v[i]->key);
	}
	if (top > 0 && n > (size_t)top)
		printf("  ... %zu more\n", n - (size_t)top);
	free(v);
}

static void
print_text(const struct report *r)
{
	char a[32], b[32];
	struct grey_stats g;
	struct rent **v;
	size_t n, i;

	fmt_time(a, sizeof(a), r->tmin);
	fmt_time(b, sizeof(b), r->tmax);
	printf("moat log summary: %s .. %s\n\n", a, b);
	printf("  %10lld  lines read (%lld moatd events, %lld not moatd's)\n",
	    r->lines, r->parsed, r->bad);
	printf("  %10lld  sessions (%lld bytes in)\n", r->sessions,
	    r->bytes_in);
	printf("  %10lld  transactions\n", r->txs);
	printf("  %10lld  refusals\n", r->rejects);
	printf("  %10lld  AUTH failures\n", r->auth_fail);
	text_table("Messages by verdict", &r->verdict, 0, 0);
	text_table("Transactions by status", &r->status, 0, 0);
	text_table("Refusals by stage", &r->reject_stage, 0, 0);
	text_table("Refusals by reply", &r->reject_reply, r->top, 0);
	text_table("Sessions by close reason", &r->close_reason, 0, 0);
	text_table("Top clients refused", &r->rej_client, r->top, 0);
	text_table("Top senders refused", &r->rej_sender, r->top, 0);
	text_table("Top recipient domains refused", &r->rej_domain, r->top,
	    0);
	text_table("AUTH failures by client", &r->auth_client, r->top, 0);
	text_table("AUTH failures by result", &r->auth_result, 0, 0);
	text_table("Rate-limit hits", &r->ratelimit, 0, 0);
	text_table("Greylisting outcomes", &r->grey, 0, 0);
	grey_stats(r, &g);
	printf("  greylisted client/sender pairs %lld, came back and passed "
	    "%lld (%.1f%%)\n", g.pairs, g.passed,
	    g.pairs ? 100.0 * (double)g.passed / (double)g.pairs : 0.0);
	if (g.passed)
		printf("  delay to pass: min %.0fs, median %.0fs, average "
		    "%.0fs, max %.0fs\n", g.min, g.median, g.avg, g.max);
	text_table("Top rules by hits", &r->rule, r->top, 0);
	text_table("Top rules by score contributed (score, hits, rule)",
	    &r->rule, r->top, 1);
	text_table("Backend errors", &r->backend, r->top, 0);
	printf("\nPer hour (UTC)   sessions  transactions  delivered  "
	    "refusals\n");
	v = sorted(&r->hour, by_key, &n);
	if (n == 0)
		printf("  (none)\n");
	for (i = 0; i < n; i++)
		printf("  %s  %9lld  %12lld  %9lld  %8lld\n", v[i]->key,
		    v[i]->c[HOUR_SESS], v[i]->c[HOUR_TX], v[i]->c[HOUR_DELIV],
		    v[i]->c[HOUR_REJ]);
	free(v);
}

/*
 * A key as a JSON string.  Keys are in logfmt's escaping; \" and \\ stay,
 * \xNN (no JSON escape) becomes the text "\\xNN", and any other byte that
 * is not printable ASCII (a line that was not moatd's) becomes \u00NN, so
 * the output is valid JSON whatever the input held.
 */
static void
json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p; p++) {
		if (p[0] == '\\' && (p[1] == '"' || p[1] == '\\')) {
			putchar(*p++);
			putchar(*p);
		} else if (*p == '\\' || *p == '"')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* A key on the terminal: bytes outside printable ASCII as \xNN. */
static void
text_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	putchar('\n');
}

static void
json_table(const char *name, const struct rmap *m, int top, int score,
    int comma)
{
	struct rent **v;
	size_t n, i;

	printf("\"%s\":[", name);
	v = sorted(m, score ? by_sum : by_n, &n);
	for (i = 0; i < n && (top <= 0 || i < (size_t)top); i++) {
		printf("%s{\"key\":", i ? "," : "");
		json_str(v[i]->key);
		printf(",\"count\":%lld", v[i]->n);
		if (score)
			printf(",\"score\":%.3f", v[i]->sum);
		putchar('}');
	}
	printf("]%s", comma ? "," : "");
	free(v);
}

static void
print_json(const struct report *r)
{
	char a[32], b[32];
	struct grey_stats g;
	struct rent **v;
	size_t n, i;

	fmt_time(a, sizeof(a), r->tmin);
	fmt_time(b, sizeof(b), r->tmax);
	grey_stats(r, &g);
	printf("{\"from\":\"%s\",\"to\":\"%s\",\"lines\":%lld,"
	    "\"events\":%lld,\"foreign_lines\":%lld,\"sessions\":%lld,"
	    "\"bytes_in\":%lld,\"transactions\":%lld,\"refusals\":%lld,"
	    "\"auth_failures\":%lld,", a, b, r->lines, r->parsed, r->bad,
	    r->sessions, r->bytes_in, r->txs, r->rejects, r->auth_fail);
	json_table("verdicts", &r->verdict, 0, 0, 1);
	json_table("statuses", &r->status, 0, 0, 1);
	json_table("refusal_stages", &r->reject_stage, 0, 0, 1);
	json_table("refusal_replies", &r->reject_reply, r->top, 0, 1);
	json_table("close_reasons", &r->close_reason, 0, 0, 1);
	json_table("refused_clients", &r->rej_client, r->top, 0, 1);
	json_table("refused_senders", &r->rej_sender, r->top, 0, 1);
	json_table("refused_recipient_domains", &r->rej_domain, r->top, 0, 1);
	json_table("auth_failure_clients", &r->auth_client, r->top, 0, 1);
	json_table("auth_failure_results", &r->auth_result, 0, 0, 1);
	json_table("ratelimit", &r->ratelimit, 0, 0, 1);
	json_table("greylist", &r->grey, 0, 0, 1);
	printf("\"greylist_pairs\":%lld,\"greylist_passed\":%lld,", g.pairs,
	    g.passed);
	if (g.passed)
		printf("\"greylist_delay_s\":{\"min\":%.0f,\"median\":%.0f,"
		    "\"avg\":%.0f,\"max\":%.0f},", g.min, g.median, g.avg,
		    g.max);
	json_table("rules_by_hits", &r->rule, r->top, 0, 1);
	json_table("rules_by_score", &r->rule, r->top, 1, 1);
	json_table("backend_errors", &r->backend, r->top, 0, 1);
	printf("\"hours\":[");
	v = sorted(&r->hour, by_key, &n);
	for (i = 0; i < n; i++)
		printf("%s{\"hour\":\"%s\",\"sessions\":%lld,"
		    "\"transactions\":%lld,\"delivered\":%lld,"
		    "\"refusals\":%lld}", i ? "," : "", v[i]->key,
		    v[i]->c[HOUR_SESS], v[i]->c[HOUR_TX], v[i]->c[HOUR_DELIV],
		    v[i]->c[HOUR_REJ]);
	free(v);
	printf("]}\n");
}

void
report_help(FILE *f)
{
	fprintf(f, "usage: moatctl report [--json] [--top N] [FILE...]\n"
	    "  Summarise moatd's log: FILEs (plain or gzip'd, rotated ones in "
	    "any order;\n"
	    "  - is stdin) or stdin, logfmt or JSON, with or without a syslog "
	    "prefix.\n"
	    "  --json   one JSON object instead of the text tables\n"
	    "  --top N  rows in each ranking (default %d)\n", REPORT_TOP_DEF);
}

static void
report_usage(void)
{
	report_help(stderr);
	exit(2);
}

int
report_main(int argc, char **argv)
{
	struct report r;
	struct rmap *maps[] = { &r.verdict, &r.status, &r.close_reason,
	    &r.reject_stage, &r.reject_reply, &r.rej_client, &r.rej_sender,
	    &r.rej_domain, &r.auth_client, &r.auth_result, &r.ratelimit,
	    &r.grey, &r.grey_pair, &r.rule, &r.backend, &r.hour };
	int i, json = 0, nfiles = 0, ret = 0, fd, year;
	time_t now = time(NULL);
	struct tm tm;
	char *end;
	long v;

	/* A reader that stops early (| head) ends in EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	memset(&r, 0, sizeof(r));
	r.tmin = r.tmax = -1;
	r.top = REPORT_TOP_DEF;
	gmtime_r(&now, &tm);
	year = tm.tm_year + 1900;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (errno || *end != '\0' || v < 1 ||
			    v > REPORT_TOP_MAX)
				report_usage();
			r.top = (int)v;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			report_usage();
		else
			break;
	}
	for (; i < argc; i++) {
		nfiles++;
		if (strcmp(argv[i], "-") == 0)
			fd = dup(STDIN_FILENO);
		else
			fd = open(argv[i], O_RDONLY);
		if (fd == -1) {
			fprintf(stderr, "moatctl: %s: %s\n", argv[i],
			    strerror(errno));
			ret = 1;
			continue;
		}
		if (read_file(&r, argv[i], fd, year) == -1)
			ret = 1;
	}
	if (nfiles == 0 && read_input(&r, "stdin", dup(STDIN_FILENO),
	    year) == -1)
		ret = 1;
	if (json)
		print_json(&r);
	else
		print_text(&r);
	for (i = 0; i < (int)(sizeof(maps) / sizeof(maps[0])); i++)
		rmap_free(maps[i]);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
