/*
 * engine.h: the transaction engine below every front end (issue 13,
 * doc/engine.md).  moatd's session, moat-milter and `moatctl scan` hand it
 * the facts of one client's transaction as they arrive and ask it, once per
 * stage, what to do; it runs that stage's checks (steps) through one step
 * driver and answers with one outcome.
 *
 * The engine never touches the client's or the backend's socket and never
 * writes a reply: it says "continue" or "reply CODE ENH TEXT" and the front
 * end carries that out (an SMTP reply in moatd, smfi_setreply in the
 * milter).  The backend stays with the front end: moatd forwards MAIL and
 * RCPT itself and asks the engine around them (ENG_RCPT before, ENG_GREY
 * after the backend's 2xx).  Its I/O (the store for rate limits and
 * greylisting, DNS, the job pool) goes through the struct eng_io the front
 * end hands in, on the front end's event loop.
 *
 * Threads: an eng_tx and its eng_io belong to one thread, the one running
 * io->base; everything below is called on it, and every completion runs on
 * it.  The milter's libmilter threads therefore post their requests to an
 * engine thread (doc/engine.md, "How the milter calls it"): each callback
 * posts (tx, stage) to the engine thread's loop, which calls eng_stage();
 * the done_fn signals a condition variable the callback waits on, and the
 * callback turns the outcome into smfi_setreply() and SMFIS_*.
 *
 * Extending: new stages, steps, io members and eng_tx members are added
 * (a row in a list, a member at the end of its group); nothing here is
 * renamed or reordered, so front ends written against it keep building.
 */
#ifndef MOAT_ENGINE_H
#define MOAT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "netaddr.h"
#include "sbuf.h"
#include "score.h"
#include "smtp_cmd.h"

struct config;
struct event;
struct event_base;
struct evdns_base;
struct jobpool;
struct bayes_aredis;
struct bayes_db;
struct bayes_params;
struct msg;
struct rule_hit;
struct rule_scratch;
struct rule_set;
struct store_conn;
struct eng_tx;
struct eng_sauth;
struct sauth_pool;
struct sauth_ctx;

/*
 * The stages, in the order a transaction meets them.  One list makes the
 * enum and the names (eng_stage_name) used in traces and doc/engine.md.
 *   CONNECT    the connection is accepted, before any banner: limits that
 *              refuse a client outright (421 and close).
 *   BANNER     just before the final banner line (after greet_wait, so a
 *              pregreet is known): the connect-stage rules (554, close).
 *   HELO       HELO/EHLO argument known (eng_tx_helo): HELO rules.
 *   MAIL       MAIL FROM known (eng_tx_mail): the client's name, the MAIL
 *              rules, message rates.  Continue: the front end forwards MAIL.
 *   RCPT       one recipient (eng_tx_rcpt): relay control, RCPT rules,
 *              recipient rate.  Continue: the front end forwards the RCPT.
 *   GREY       the backend took that recipient (moatd; the milter runs it
 *              right after RCPT): greylisting.  ENG_DEFER_RCPT: answer the
 *              recipient with the outcome's 4xx instead of the backend's
 *              2xx (the backend holds it: see doc/greylisting.md, replay).
 *   DATA       the message (eng_tx_message): Bayes, the message rules, the
 *              verdict and the X-Spam-* header (eng_tx.hdr).
 *   AUTHLOGIN  a login failed (eng_tx.auth_try set): its failures so far,
 *              for the reply delay (eng_tx.auth_fails).  Always continues.
 *   AUTHFAIL   a login failed and was answered: the client's and its
 *              network's failure counters (421 and close over the limit).
 */
#define ENG_STAGE_LIST(X)						\
	X(ENG_CONNECT, "connect")					\
	X(ENG_BANNER, "banner")						\
	X(ENG_HELO, "helo")						\
	X(ENG_MAIL, "mail")						\
	X(ENG_RCPT, "rcpt")						\
	X(ENG_GREY, "grey")						\
	X(ENG_DATA, "data")						\
	X(ENG_AUTHLOGIN, "authlogin")					\
	X(ENG_AUTHFAIL, "authfail")

enum eng_stage {
#define ENG_STAGE_ENUM(e, name)	e,
	ENG_STAGE_LIST(ENG_STAGE_ENUM)
#undef ENG_STAGE_ENUM
	ENG_NSTAGES
};

const char *eng_stage_name(enum eng_stage);

/*
 * What the front end does after a stage.
 *   ENG_CONTINUE    go on (forward the command, send the banner, ...).
 *   ENG_REPLY       answer with code/enh/text instead; for CONNECT and
 *                   BANNER, and whenever close is set, then end the
 *                   session; for MAIL and DATA the transaction ends
 *                   (verdict, status); for RCPT the recipient is refused.
 *   ENG_DEFER_RCPT  GREY only: the backend holds the recipient but the
 *                   client gets this 4xx (moatd replays the transaction
 *                   without it before the message goes out).
 */
enum eng_act {
	ENG_CONTINUE = 0,
	ENG_REPLY,
	ENG_DEFER_RCPT
};

#define ENG_TEXT_MAX	600
/* Slots of a loop's cache of passed greylist triplets (a power of 2). */
#define ENG_GREY_CACHE_SLOTS	8192

/*
 * One outcome per stage.  Strings are in the outcome or in the eng_tx and
 * stay valid until the next stage of the same eng_tx starts.
 */
struct eng_outcome {
	enum eng_act	 act;
	int		 code;		/* 421, 451, 550, 554, ... */
	const char	*enh;		/* "5.7.1", or NULL */
	char		 text[ENG_TEXT_MAX];	/* reply text, no CRLF */
	int		 close;		/* end the session after the reply */
	const char	*reason;	/* close reason or the transaction's
					   status for its log line
					   ("ratelimit", "policy", "refused") */
	const char	*verdict;	/* transaction verdict for its log line
					   ("reject", "tempfail"), or NULL */
	/*
	 * The event=reject line the front end writes (NULL log_key: none):
	 * log_key=log_val reply=log_reply, e.g. rcpt=<addr> reply="550 5.7.1".
	 */
	const char	*log_key;
	const char	*log_val;
	char		 log_reply[ENG_TEXT_MAX];
};

/*
 * The I/O a front end hands the engine, one per event loop (a moatd
 * worker, the milter's engine thread), shared by every eng_tx on it.
 * Zero it, then set what exists: a NULL member turns off the steps that
 * need it (no store: no rate limits, no greylisting; no dns: no client
 * name).  All NULL is the null io of `moatctl scan`: the same steps, none
 * of them waiting.  Members added later default to off the same way.
 */
struct eng_io {
	struct event_base	*base;		/* the loop completions run on */
	struct store_conn	*store;		/* rate limits, greylisting */
	struct evdns_base	*dns;		/* the client's reverse name */
	struct jobpool		*pool;		/* blocking work off the loop */
	struct rule_scratch	*scratch;	/* this thread's PCRE2 state
						   (required) */
	/* The loop's cache of passed greylist triplets: ENG_GREY_CACHE_SLOTS
	   hashes and expiry times, or NULL (no cache). */
	uint64_t		*gcache_key;
	int64_t			*gcache_exp;
	/*
	 * Counters for the front end's metrics (NULL: none): a rate limit
	 * went over (store_failed: because the store failed, policy said
	 * refuse), a store request failed for what ("greylist").
	 */
	void	(*on_ratelimit)(const char *limit, int store_failed);
	void	(*on_store_failure)(const char *what);
	/*
	 * For an offline front end (`moatctl scan`; all 0 in moatd): the
	 * rule set, thresholds and score_rules flags the rule steps use
	 * instead of the session's (tx->rules, cfg); a Bayes store (and
	 * its parameters) the bayes step reads instead of moatd's
	 * (bayes_live); and a look at
	 * every DATA evaluation's raw hits (sub-rules, limits) before they
	 * are scored.  Without a loop (base NULL) nothing is autolearned.
	 */
	const struct rule_set		*rules;
	const struct score_thresholds	*th;
	unsigned			 score_flags;
	struct bayes_db			*bayes_db;
	const struct bayes_params	*bayes_params;
	void	(*on_hits)(void *arg, const struct rule_hit *h, size_t n);
	void	*hits_arg;
	/*
	 * bayes_store redis: the loop's asynchronous connection, made by the
	 * bayes step at first use; the front end frees it
	 * (bayes_aredis_free) with the loop.
	 */
	struct bayes_aredis		*bayes_redis;
	/* Sender authentication's pool (engine/eng_sauth.c; NULL: no SPF,
	   DKIM, DMARC or DNS lists). */
	struct sauth_pool	*sauth;
	/*
	 * For an offline front end without a loop (`moatctl scan --dns`;
	 * NULL in moatd): run sender authentication's jobs on the calling
	 * thread with this context, blocking, instead of on io->sauth's
	 * pool.  The same steps and results; no step waits.
	 */
	struct sauth_ctx	*sauth_sync;
	/*
	 * moatd: this loop's context over io->sauth's answer cache
	 * (sauth_pool_ctx), or NULL.  A job whose every answer is cached
	 * runs on the loop at once (sauth_job_try; no DNS, no wait), and
	 * only the others go to the pool: a warm message costs no hand-off.
	 */
	struct sauth_ctx	*sauth_fast;
};

/*
 * Step results.  A step returns ENG_DONE when it has finished (having
 * set tx->out.act to something other than ENG_CONTINUE if it decided the
 * stage), or ENG_PENDING after starting I/O through io; the completion of
 * that I/O, on io->base's loop, sets tx->out if it decides and calls
 * eng_resume(tx).  A pending step sets tx->cancel, which eng_tx_free
 * calls so that no completion arrives for a freed eng_tx.
 */
enum eng_ret {
	ENG_DONE = 0,
	ENG_PENDING
};

typedef enum eng_ret eng_step_fn(struct eng_tx *tx, struct eng_io *io);

/*
 * A step in a stage's list.  The lists are one table, ENG_STEP_LIST in
 * engine/eng_steps.h: a new check is one row there (its stage, its name,
 * what the front end shows while it waits, its function) and its function
 * in a file of its own under engine/.  Rows of a stage run in table order;
 * the first step that decides ends the stage.
 */
struct eng_step {
	enum eng_stage	 stage;
	const char	*name;		/* "rate_conn", "rules_mail", ... */
	const char	*wait;		/* while pending: "RATE", "GREY", "DNS" */
	eng_step_fn	*fn;
};

/*
 * Called once per eng_stage(), with the outcome (valid during the call,
 * and in tx->out until the next stage).  It may start the next stage, or
 * free tx (the engine touches nothing of tx after it returns).
 */
typedef void eng_done_fn(void *arg, struct eng_tx *tx,
	    const struct eng_outcome *o);

#define ENG_HELO_MAX	256

/*
 * The facts of one client's session and of its current transaction, and
 * what the steps made of them.  Owned by the front end (eng_tx_new /
 * eng_tx_free).  Front ends and steps read the members freely; they are
 * written only through the eng_tx_* setters below and by the steps.
 */
struct eng_tx {
	const struct config	*cfg;	/* the front end's reference */
	const struct rule_set	*rules;	/* cfg's; NULL: none */
	struct eng_io		*io;
	char			 sid[17];	/* session id, for log lines */

	/* The connection (eng_tx_client, eng_tx_tls, eng_tx_auth). */
	struct netaddr		 client;
	char			 client_str[64];	/* "unknown" if none */
	int			 client_port;
	int			 has_conn;	/* eng_tx_client was called */
	int			 client_known;	/* client holds an address */
	int			 trusted;	/* trusted_networks */
	int			 auth_listener;	/* AUTH is offered here */
	int			 pregreet;	/* talked before the banner */
	int			 tls;		/* TLS is up */
	char			*auth_login;	/* authenticated as, or NULL */
	char			*auth_try;	/* the login being checked */
	long long		 auth_fails;	/* AUTHLOGIN: its failures */
	/* The client's name (a CONNECT step starts the lookup). */
	enum dns_status		 dns_status;
	char			*client_name;	/* verified, or NULL */
	char			*client_ptr;	/* PTR as found, or NULL */
	char			 helo[ENG_HELO_MAX];	/* first word, or "" */
	const char		*helo_arg;	/* the whole argument (logs) */

	/* The transaction: eng_tx_mail .. eng_tx_end. */
	int			 in_tx;
	char			*mail_from;	/* reverse-path, "" for <> */
	unsigned long long	 size_decl;	/* SIZE=, 0 if none */
	int			 body8, smtputf8;
	char			**rcpt;		/* accepted recipients */
	size_t			 nrcpt;
	char			*rcpt_cur;	/* the one being judged */
	struct smtp_path	*rcpt_path;	/* ... as parsed, or NULL */
	const struct msg	*msg;		/* DATA: the parsed message */
	const char		*raw;		/* ... and its bytes */
	size_t			 raw_len;
	struct score_card	 card;		/* every check's hits */
	const char		*grey;		/* greylist= for the tx log */
	int			 bayes_known;	/* Bayes spoke on the message */
	double			 bayes_p;
	enum score_verdict	 verdict;	/* DATA's verdict */
	struct sbuf		 hdr;		/* DATA: X-Spam-* fields, CRLF */
	/* io->bayes_db: its error ("" none) and the time it took. */
	char			 bayes_err[256];
	int64_t			 bayes_ns;
	void			*bayes_req;	/* a pending Redis read */

	/* The driver's (steps read stage and may write out). */
	enum eng_stage		 stage;
	struct eng_outcome	 out;
	size_t			 step;		/* index into the table */
	int			 running;	/* eng_stage() on the stack */
	int			 pending;	/* a step waits for I/O */
	eng_done_fn		*done;
	void			*done_arg;
	/* The pending step's I/O, for eng_tx_free (set by the step). */
	void			(*cancel)(struct eng_tx *);
	uint64_t		 req;		/* a store request, 0 none */
	struct dns_lookup	*dnsq;		/* the client name lookup */
	struct event		*timer;		/* a step's deadline */
	uint64_t		 grey_hash;	/* the triplet being checked */
	int			 rate_kind;	/* the counter being checked */
	/* Sender authentication's state and results (eng_sauth.c). */
	struct eng_sauth	*sauth;
};

/*
 * eng_tx_new: the facts of one session on io's loop, under cfg and the
 * rules built from it (both borrowed: the front end holds its snapshot,
 * proxy/snapshot.h, for tx's life; rules NULL: none configured).  sid is
 * copied.
 * eng_tx_free: cancels pending I/O (no completion runs after it), frees
 * everything; NULL ok; safe from inside done_fn.
 */
struct eng_tx	*eng_tx_new(const struct config *cfg,
		    const struct rule_set *rules, struct eng_io *io,
		    const char *sid);
void		 eng_tx_free(struct eng_tx *);

/* Setters: strings are copied unless said otherwise. */
/* The client (NULL addr: unknown); trusted from cfg; auth_listener: the
 * listener offers AUTH (only then do failed-AUTH counters apply). */
void	eng_tx_client(struct eng_tx *, const struct netaddr *addr, int port,
	    int auth_listener);
/* The client's name as someone else verified it (the MTA, for the
 * milter): name, or NULL for none (dns=none, the no-rdns fact).  No lookup
 * runs then. */
void	eng_tx_client_name(struct eng_tx *, const char *name);
void	eng_tx_pregreet(struct eng_tx *, int on);
void	eng_tx_tls(struct eng_tx *, int on);
/* HELO: name (its first word, capped) and the whole argument for logs
 * (borrowed: valid until the next eng_tx_helo).  NULL name: forget it. */
void	eng_tx_helo(struct eng_tx *, const char *name, const char *arg);
/* AUTH: login succeeded (NULL: none, e.g. TLS started over). */
void	eng_tx_auth(struct eng_tx *, const char *login);
/* AUTH: the login being checked (NULL: none). */
void	eng_tx_auth_try(struct eng_tx *, const char *login);
/* MAIL: starts a transaction (ends one still open). */
void	eng_tx_mail(struct eng_tx *, const char *from,
	    unsigned long long size, int body8, int smtputf8);
/* RCPT: the recipient to judge (RCPT, GREY stages). */
void	eng_tx_rcpt(struct eng_tx *, const char *rcpt);
/* RCPT with the path as parsed (copied): the relay step judges its form
 * (quoted local part, source route); without it no relay control runs. */
void	eng_tx_rcpt_path(struct eng_tx *, const struct smtp_path *path);
/* The recipient being judged was accepted: it joins tx->rcpt. */
void	eng_tx_rcpt_accepted(struct eng_tx *);
/* DATA: the message (borrowed until the DATA stage's done_fn returns). */
void	eng_tx_message(struct eng_tx *, const struct msg *m,
	    const char *raw, size_t len);
/* The transaction is over (sent, refused, RSET): forget its facts. */
void	eng_tx_end(struct eng_tx *);

/*
 * eng_stage: run stage's steps for tx, in order, and call done(arg, tx,
 * outcome) exactly once.  Returns ENG_DONE if done has already run
 * (every step finished at once: nothing was waited for), or ENG_PENDING
 * if done will run later from io->base's loop.  Never call it while a
 * stage of tx is pending.
 */
enum eng_ret eng_stage(struct eng_tx *tx, enum eng_stage stage,
	    eng_done_fn *done, void *arg);

/*
 * eng_wait_name: while a stage is pending, what it waits for (the step
 * row's wait: "RATE", "GREY", "DNS"), else NULL.  For traces and metrics.
 */
const char *eng_wait_name(const struct eng_tx *);

/*
 * For steps: the pending step's I/O completed (tx->out set if it decided
 * the stage); run the rest of the stage.  Call it from the loop, not from
 * inside the step function.
 */
void	eng_resume(struct eng_tx *);

/* For steps: a tx->cancel for a pending store request in tx->req. */
void	eng_cancel_store(struct eng_tx *);

#endif
