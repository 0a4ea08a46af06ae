/*
 * log.c: the one logging path of moatd (STYLE.md 6; see log.h).
 *
 * Every line is built in the caller's struct logline (or a stack buffer)
 * and leaves in one write(2) to stderr or one syslog(3) call, so lines from
 * different worker threads never interleave and no static buffer is shared.
 * The settings (target, format, trace mask) are atomics: log_init() may run
 * again on reload while workers log; a line started before the switch
 * finishes in the format it was begun in.
 *
 * It does not decide what is worth logging, rotate files, or buffer: a
 * line is written when it is emitted.  It never logs a value unescaped:
 * every value, free text included, goes through the one escaper, so a
 * client cannot forge a second log line or a key with CR/LF, quotes or
 * terminal escapes in its HELO.
 *
 * Invariants: a rendered line is at most LOG_LINE_MAX + LOG_PREFIX_MAX
 * bytes; a value that does not fit is dropped whole (never cut inside an
 * escape) and the line says truncated=1; JSON output is always valid JSON
 * and valid UTF-8, whatever bytes the values held.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "xmalloc.h"

/* Room kept at the end of every logline for the truncation marker. */
#define LOGLINE_RESERVE	16

static atomic_int log_syslog_on;
static atomic_int log_fmt = LOG_FMT_LOGFMT;
static atomic_uint log_trace_bits;
static pthread_mutex_t log_init_mtx = PTHREAD_MUTEX_INITIALIZER;
static char *log_ident;		/* handed to openlog(3); see log_init */
static int log_facility_cur = -1;

/*
 * log_init: choose the target and format.  Called before the workers start
 * and again on reload.  The ident string is copied; the previous copy is
 * deliberately never freed, because syslog(3) may still hold a pointer to
 * it in another thread (it changes at most once per reload).
 */
void
log_init(int to_syslog, int facility, const char *ident, enum log_format fmt)
{
	pthread_mutex_lock(&log_init_mtx);
	if (to_syslog) {
		if (log_ident == NULL || strcmp(log_ident, ident) != 0 ||
		    facility != log_facility_cur) {
			if (log_ident == NULL || strcmp(log_ident, ident) != 0)
				log_ident = xstrdup(ident);
			openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
			log_facility_cur = facility;
		}
	}
	atomic_store(&log_fmt, fmt == LOG_FMT_JSON ? LOG_FMT_JSON :
	    LOG_FMT_LOGFMT);
	atomic_store(&log_syslog_on, to_syslog ? 1 : 0);
	pthread_mutex_unlock(&log_init_mtx);
}

/* log_set_trace / log_trace_mask: the -T subsystems (LOG_T_*). */
void
log_set_trace(unsigned mask)
{
	atomic_store(&log_trace_bits, mask);
}

unsigned
log_trace_mask(void)
{
	return atomic_load(&log_trace_bits);
}

static const struct {
	const char	*name;
	unsigned	 bit;
} trace_names[] = {
	{ "io", LOG_T_IO },
	{ "smtp", LOG_T_SMTP },
	{ "backend", LOG_T_BACKEND },
	{ "config", LOG_T_CONFIG },
	{ "rules", LOG_T_RULES },
	{ "engine", LOG_T_ENGINE },
	{ "all", LOG_T_IO | LOG_T_SMTP | LOG_T_BACKEND | LOG_T_CONFIG |
	    LOG_T_RULES | LOG_T_ENGINE },
};

/*
 * log_trace_parse: "io,smtp" -> LOG_T_IO|LOG_T_SMTP.  Names are io, smtp,
 * backend, config, rules, all; the empty string is 0.  Returns the mask,
 * or -1 for an unknown or empty name ("io,,smtp").
 */
int
log_trace_parse(const char *s)
{
	const char *p = s, *e;
	unsigned mask = 0;
	size_t i, n;

	if (*s == '\0')
		return 0;
	for (;;) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		for (i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]);
		    i++)
			if (strlen(trace_names[i].name) == n &&
			    memcmp(trace_names[i].name, p, n) == 0)
				break;
		if (i == sizeof(trace_names) / sizeof(trace_names[0]))
			return -1;
		mask |= trace_names[i].bit;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return (int)mask;
}

/*
 * The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if there is
 * none (a stray or cut sequence).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * The escaper.  logfmt: '"' and '\' get a backslash, bytes below 0x20 and
 * from 0x7f up become \xNN.  JSON: the same, with \u00NN, except that
 * well-formed UTF-8 goes out as it is (a "sënder" must read as one in a
 * JSON log tool, not as mojibake); a byte that is not part of one is
 * escaped, so the line is valid UTF-8 whatever the value held.
 * At most cap input bytes are used; if n > cap, "..." follows.
 * *complete is 0 if out was too small; the output then ends at the last
 * escape that fit whole.
 */
static size_t
escape_core(char *out, size_t outsz, const char *s, size_t n, size_t cap,
    int json, int *complete)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, lim = n > cap ? cap : n, tl;
	unsigned char c;
	char tmp[8];

	*complete = 1;
	for (i = 0; i < lim; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (json && c >= 0x80 &&
		    (tl = utf8_len((const unsigned char *)s + i, lim - i)) > 0) {
			memcpy(tmp, s + i, tl);
			i += tl - 1;
		} else if (c < 0x20 || c >= 0x7f) {
			tl = 0;
			tmp[tl++] = '\\';
			if (json) {
				memcpy(tmp + tl, "u00", 3);
				tl += 3;
			} else
				tmp[tl++] = 'x';
			tmp[tl++] = hex[c >> 4];
			tmp[tl++] = hex[c & 0xf];
		} else {
			tmp[0] = (char)c;
			tl = 1;
		}
		if (o + tl + 1 > outsz) {
			*complete = 0;
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	if (*complete && n > cap) {
		if (o + 3 + 1 > outsz)
			*complete = 0;
		else {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	if (outsz > 0)
		out[o] = '\0';
	return o;
}

/*
 * log_escape: the logfmt escaping (see escape_core) of at most cap bytes of
 * s[0..n) into out, NUL-terminated, without the quotes logline_str adds.
 * LOG_ESCAPE_SIZE(cap) bytes always suffice; with less, the output stops at
 * the last whole escape.  Returns the length written (without the NUL).
 */
size_t
log_escape(char *out, size_t outsz, const char *s, size_t n, size_t cap)
{
	int complete;

	return escape_core(out, outsz, s, n, cap, 0, &complete);
}

/* Free space for values, keeping the reserve for the truncation marker. */
static size_t
ll_room(const struct logline *l)
{
	size_t lim = LOG_LINE_MAX - LOGLINE_RESERVE;

	return l->len >= lim ? 0 : lim - l->len;
}

/* Append raw bytes if they fit; 0 or -1 (nothing appended). */
static int
ll_raw(struct logline *l, const char *s, size_t n)
{
	if (n + 1 > ll_room(l))
		return -1;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return 0;
}

/*
 * Append the separator and key.  Keys come from our own code (lower-case
 * identifiers), never from a client, and are written as they are.
 */
static int
ll_key(struct logline *l, const char *key)
{
	if (l->json) {
		if (l->len > 0 && ll_raw(l, ",", 1) == -1)
			return -1;
		if (ll_raw(l, "\"", 1) == -1 ||
		    ll_raw(l, key, strlen(key)) == -1 ||
		    ll_raw(l, "\":", 2) == -1)
			return -1;
		return 0;
	}
	if (l->len > 0 && ll_raw(l, " ", 1) == -1)
		return -1;
	if (ll_raw(l, key, strlen(key)) == -1 || ll_raw(l, "=", 1) == -1)
		return -1;
	return 0;
}

static int
needs_quotes(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '=' || s[i] == '"')
			return 1;
	return 0;
}

/* Add key and escaped value; on overflow drop the field whole. */
static void
ll_str(struct logline *l, const char *key, const char *val, size_t n,
    size_t cap)
{
	size_t start = l->len, o;
	int quote, complete;

	if (val == NULL) {
		val = "";
		n = 0;
	}
	quote = l->json || needs_quotes(val, n > cap ? cap : n);
	if (ll_key(l, key) == -1 || (quote && ll_raw(l, "\"", 1) == -1))
		goto overflow;
	o = escape_core(l->buf + l->len, ll_room(l), val, n, cap, l->json,
	    &complete);
	if (!complete)
		goto overflow;
	l->len += o;
	if (quote && ll_raw(l, "\"", 1) == -1)
		goto overflow;
	return;
overflow:
	l->len = start;
	l->buf[l->len] = '\0';
	l->truncated = 1;
}

static void
ll_number(struct logline *l, const char *key, const char *num)
{
	size_t start = l->len;

	if (ll_key(l, key) == -1 || ll_raw(l, num, strlen(num)) == -1) {
		l->len = start;
		l->buf[l->len] = '\0';
		l->truncated = 1;
	}
}

static void
ll_start(struct logline *l)
{
	l->len = 0;
	l->buf[0] = '\0';
	l->truncated = 0;
	l->json = atomic_load(&log_fmt) == LOG_FMT_JSON;
}

/*
 * logline_begin: start a structured line "event=NAME" in the format chosen
 * by log_init().  The logline belongs to the caller (usually on its stack).
 */
void
logline_begin(struct logline *l, const char *event)
{
	ll_start(l);
	ll_str(l, "event", event, strlen(event), LOG_VALUE_MAX);
}

/*
 * logline_str / logline_strn: add key=value, the value escaped and capped
 * at LOG_VALUE_MAX input bytes (then "..." marks the cut).  logfmt quotes
 * the value if it is empty or holds a space, '=' or '"'.  NULL is written
 * as the empty string.  strn takes n bytes, NULs included (escaped).
 */
void
logline_str(struct logline *l, const char *key, const char *val)
{
	ll_str(l, key, val, val ? strlen(val) : 0, LOG_VALUE_MAX);
}

void
logline_strn(struct logline *l, const char *key, const char *val, size_t n)
{
	ll_str(l, key, val, n, LOG_VALUE_MAX);
}

/* logline_int: key=123. */
void
logline_int(struct logline *l, const char *key, long long val)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", val);
	ll_number(l, key, num);
}

/*
 * logline_dbl: key=1.5 (up to 6 significant digits).  NaN and infinities
 * have no JSON spelling: they are written as null there, nan/inf in logfmt.
 */
void
logline_dbl(struct logline *l, const char *key, double val)
{
	char num[64];

	if (!isfinite(val) && l->json)
		snprintf(num, sizeof(num), "null");
	else
		snprintf(num, sizeof(num), "%.6g", val);
	ll_number(l, key, num);
}

/*
 * log_render: the final text of l, as logline_emit writes it (without the
 * newline): the ts first when ts is not NULL (UTC, milliseconds), then the
 * fields, then the truncation marker; JSON in braces.  Returns the length;
 * out (LOG_RENDER_MAX bytes suffice) is NUL-terminated.  Exposed so tests
 * can check lines without a clock.
 */
size_t
log_render(char *out, size_t outsz, const struct logline *l,
    const struct timespec *ts)
{
	char tsbuf[96] = "";
	struct tm tm;
	int n;

	if (ts != NULL) {
		gmtime_r(&ts->tv_sec, &tm);
		snprintf(tsbuf, sizeof(tsbuf),
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(ts->tv_nsec / 1000000 % 1000));
	}
	if (l->json)
		n = snprintf(out, outsz, "{%s%s%s%s%s%s}",
		    ts ? "\"ts\":\"" : "", tsbuf, ts ? "\"" : "",
		    ts && l->len > 0 ? "," : "", l->buf,
		    l->truncated ? (l->len > 0 || ts ? ",\"truncated\":1" :
		    "\"truncated\":1") : "");
	else
		n = snprintf(out, outsz, "%s%s%s%s%s",
		    ts ? "ts=" : "", tsbuf, ts && l->len > 0 ? " " : "",
		    l->buf, l->truncated ? (l->len > 0 || ts ? " truncated=1" :
		    "truncated=1") : "");
	if (n < 0)
		n = 0;
	if ((size_t)n >= outsz)
		n = outsz > 0 ? (int)outsz - 1 : 0;
	return (size_t)n;
}

static void
emit_prio(struct logline *l, int prio)
{
	char out[LOG_RENDER_MAX + 1];
	struct timespec ts;
	size_t n;
	int saved = errno;

	if (atomic_load(&log_syslog_on)) {
		/* syslog stamps the time itself. */
		log_render(out, sizeof(out), l, NULL);
		syslog(prio, "%s", out);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		n = log_render(out, sizeof(out) - 1, l, &ts);
		out[n++] = '\n';
		/* One write(2) per line; a lost log line is not retried. */
		(void)fdio_write_all(STDERR_FILENO, out, n);
	}
	errno = saved;
}

/* logline_emit: write the line (with ts on stderr) at priority info. */
void
logline_emit(struct logline *l)
{
	emit_prio(l, LOG_INFO);
}

static void log_text(int, const char *, const char *, const char *,
    const char *, va_list) __attribute__((format(printf, 5, 0)));

static void
log_text(int prio, const char *level, const char *sub, const char *sid,
    const char *fmt, va_list ap)
{
	struct logline l;
	char msg[LOG_MSG_MAX + 1];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	ll_start(&l);
	ll_str(&l, "level", level, strlen(level), LOG_VALUE_MAX);
	if (sub != NULL)
		ll_str(&l, "sub", sub, strlen(sub), LOG_VALUE_MAX);
	if (sid != NULL)
		ll_str(&l, "session", sid, strlen(sid), LOG_VALUE_MAX);
	/* Longer than LOG_MSG_MAX: escape what we have and mark the cut. */
	ll_str(&l, "msg", msg, (size_t)n, LOG_MSG_MAX);
	emit_prio(&l, prio);
}

/*
 * log_info / log_warn: free-text events, level=info / level=warn, the text
 * escaped and capped at LOG_MSG_MAX bytes.  errno is preserved.
 */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_text(LOG_INFO, "info", NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_text(LOG_WARNING, "warn", NULL, NULL, fmt, ap);
	va_end(ap);
}

/*
 * log_warn_session: log_warn about one session, whose id goes in its own
 * session= key (after level=) so that a log parser finds every line about
 * a session by that key, never inside msg= (issue 13).
 */
void
log_warn_session(const char *sid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_text(LOG_WARNING, "warn", NULL, sid, fmt, ap);
	va_end(ap);
}

/*
 * fatal: level=fatal, then exit(1).  For startup and configuration errors
 * and broken invariants only; never for a session's error (STYLE.md 5).
 */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_text(LOG_CRIT, "fatal", NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

size_t
log_cmd_shown(const char *p, size_t len)
{
	size_t i = 0;

	/*
	 * Leading blanks too: a line the parser refuses is traced all the
	 * same, and a secret must not get through by being malformed.
	 */
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (len - i < 5 || strncasecmp(p + i, "AUTH", 4) != 0 ||
	    (p[i + 4] != ' ' && p[i + 4] != '\t'))
		return len;
	for (i += 4; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	while (i < len && p[i] != ' ' && p[i] != '\t')
		i++;
	/* Blanks after the mechanism alone are not a credential. */
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i == len ? len : i;
}

void
log_trace_cmd(unsigned sub, const char *sid, const char *dir, const char *p,
    size_t len)
{
	size_t n;

	if ((atomic_load(&log_trace_bits) & sub) == 0)
		return;
	n = log_cmd_shown(p, len);
	log_trace(sub, "session=%s %s %.*s%s", sid, dir, (int)n, p,
	    n < len ? "<redacted>" : "");
}

/* log_trace: level=trace sub=NAME, only if sub is in the -T mask. */
void
log_trace(unsigned sub, const char *fmt, ...)
{
	const char *name = "?";
	va_list ap;
	size_t i;

	if ((atomic_load(&log_trace_bits) & sub) == 0)
		return;
	for (i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]); i++)
		if (trace_names[i].bit & sub) {
			name = trace_names[i].name;
			break;
		}
	va_start(ap, fmt);
	log_text(LOG_DEBUG, "trace", name, NULL, fmt, ap);
	va_end(ap);
}
