/*
 * metrics.h: moatd's counters for Prometheus (metrics_listen) and
 * `moatctl stats`.  Hooks are called where the event is already logged;
 * they never take a lock (atomics in a fixed table), so the session path
 * does not serialize on them.  The scrape formats the text exposition 0.0.4.
 */
#ifndef MOAT_METRICS_H
#define MOAT_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sbuf;
struct score_card;

/* Series the table holds at most; more are counted in moat_metrics_dropped. */
#define METRICS_SLOTS		4096
/* Rule series a scrape shows: the N rules with the most hits. */
#define METRICS_TOP_RULES	50

/* Hooks: a NULL or "" label value is written as "". */
void	metrics_session(const char *listener, const char *reason);
void	metrics_tx(const char *listener, const char *verdict,
	    const char *status, const char *greylist,
	    const struct score_card *, int64_t start_ms, int64_t now_ms);
/* reply: the refusal's reply; only its codes ("550 5.7.1") become a label. */
void	metrics_refusal(const char *stage, const char *reply);
void	metrics_ratelimit(const char *limit, int store_failed);
void	metrics_backend_error(const char *error);
void	metrics_tls(const char *result);
void	metrics_auth(const char *result);
void	metrics_store_failure(const char *op);
/*
 * A session's wait (sess_enter_wait) named wait, begun at since_ms, ends
 * now; NULL: none ended.  Returns now (clock_mono_ms), when the next
 * wait begins.
 */
int64_t	metrics_wait(const char *wait, int64_t since_ms);
/* ok: 1 taken, 0 refused; -1 the start (no reload counted).  when: time(). */
void	metrics_reload(int ok, int64_t when);
void	metrics_build_info(const char *version);

/* The whole exposition, appended to out. */
void	metrics_format(struct sbuf *out);

/* The HTTP listener on base: 0, or -1 with err set. */
int	metrics_start(struct event_base *base, const char *addr, char *err,
	    size_t errsz);
void	metrics_stop(void);

#endif
