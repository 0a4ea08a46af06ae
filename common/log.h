/*
 * log.h: the one logging path of moatd (STYLE.md 6).
 *
 * Events go out as one line each: logfmt (key=value) or JSON by config, to
 * stderr or syslog.  Client-supplied values are escaped (control bytes and
 * non-printables become \xNN, quotes and backslashes escaped; JSON keeps
 * well-formed UTF-8 as it is) and capped at LOG_VALUE_MAX bytes before they
 * are written.  Thread-safe: each line is
 * built in the caller's buffer and written with a single write(2)/syslog(3).
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#define LOG_VALUE_MAX	256	/* input bytes of one logged value */
#define LOG_MSG_MAX	1024	/* input bytes of a free-text message */
#define LOG_LINE_MAX	8192	/* the fields of one line */
/* A rendered line: the fields plus ts, braces and the truncation marker. */
#define LOG_RENDER_MAX	(LOG_LINE_MAX + 64)
/* log_escape output for cap input bytes: \xNN each, "...", NUL. */
#define LOG_ESCAPE_SIZE(cap)	(4 * (cap) + 4)

enum log_format { LOG_FMT_LOGFMT, LOG_FMT_JSON };

/* Trace subsystems for -T (off by default). */
#define LOG_T_IO	0x01
#define LOG_T_SMTP	0x02
#define LOG_T_BACKEND	0x04
#define LOG_T_CONFIG	0x08
#define LOG_T_RULES	0x10
#define LOG_T_ENGINE	0x20	/* engine stages and steps */

/*
 * log_init: to_syslog 0 writes to stderr, 1 to syslog with facility (e.g.
 * LOG_MAIL) and ident.  May be called again (reload) to change the target
 * or format.
 */
void	log_init(int to_syslog, int facility, const char *ident,
	    enum log_format fmt);
void	log_set_trace(unsigned mask);
unsigned log_trace_mask(void);
/* Parse "io,smtp,backend,config,rules,all" into a mask; -1 if unknown. */
int	log_trace_parse(const char *);

/*
 * Free-text events: "level=info msg=..." (logfmt) or {"level":...,"msg":..}
 * The text is escaped too (capped at LOG_MSG_MAX).  fatal() logs and
 * exit(1)s.  On stderr every line starts with ts=2026-11-24T00:05:21.123Z
 * (JSON: "ts" first); syslog stamps its own time, so no ts there.
 */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn_session(const char *sid, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	log_trace(unsigned sub, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * log_cmd_shown: how many bytes of the SMTP command line p (len bytes, no
 * line end) a log line may show.  AUTH's initial response (RFC 4954
 * section 4) is a credential: of "AUTH MECH RESPONSE" only "AUTH MECH" may
 * be shown.  Every other line may be shown whole (returns len).
 */
size_t	log_cmd_shown(const char *p, size_t len);
/*
 * log_trace_cmd: the trace line "session=SID DIR LINE" for one command
 * line (DIR e.g. "->" from the client, "backend <-" to the backend), with
 * any AUTH credentials cut to " <redacted>".  Nothing if sub is off.
 */
void	log_trace_cmd(unsigned sub, const char *sid, const char *dir,
	    const char *p, size_t len);

/*
 * Structured lines: begin, add keys in a fixed order, emit.
 *   struct logline l;
 *   logline_begin(&l, "session");   -> event=session
 *   logline_str(&l, "client", ip);  -> client=1.2.3.4 (escaped, quoted if
 *                                      it has spaces, '=' or '"' or is
 *                                      empty)
 *   logline_int(&l, "ms", 12);
 *   logline_emit(&l);
 * A value that would overflow LOG_LINE_MAX is dropped with "truncated=1".
 * NULL values are written as empty (key="" / "key":"").
 */
struct logline {
	char	buf[LOG_LINE_MAX];
	size_t	len;
	int	json;
	int	truncated;
};

void	logline_begin(struct logline *, const char *event);
void	logline_str(struct logline *, const char *key, const char *val);
void	logline_strn(struct logline *, const char *key, const char *val,
	    size_t n);
void	logline_int(struct logline *, const char *key, long long val);
void	logline_dbl(struct logline *, const char *key, double val);
void	logline_emit(struct logline *);

/*
 * log_render: the line logline_emit would write, without the newline, with
 * ts (if not NULL) first.  For tests, which have no clock.  Returns the
 * length; out is NUL-terminated (LOG_RENDER_MAX bytes suffice).
 */
size_t	log_render(char *out, size_t outsz, const struct logline *,
	    const struct timespec *ts);

/*
 * log_escape: the logfmt escaping used above (without the quotes), exposed
 * for tests and for the Received: header: at most cap input bytes of
 * s[0..n) into out, then "..." if n > cap; NUL-terminated; always fits in
 * LOG_ESCAPE_SIZE(cap) bytes (a smaller out ends at the last whole escape).
 * Returns the length written.
 */
size_t	log_escape(char *out, size_t outsz, const char *s, size_t n,
	    size_t cap);

#endif
