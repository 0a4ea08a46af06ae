/*
 * rule_saeval.h: SpamAssassin's eval: checks done natively (rule_saeval.c,
 * rule_saeval_mime.c, rule_saeval_html.c).  Internal to rules/: the loader
 * parses an `eval:name(args)` into a struct saeval_call (owned by its
 * struct rule), the evaluator runs it with a struct saeval_ctx.
 *
 * A call whose function is not in the table stays RSKIP_EVAL (counted, never
 * run), as before this module existed.
 */
#ifndef MOAT_RULE_SAEVAL_H
#define MOAT_RULE_SAEVAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rule.h"
#include "sbuf.h"

#define SAEVAL_ARGS_MAX	8	/* arguments kept per call */

struct saeval_call {
	int		 fn;		/* index into the function table */
	size_t		 nargs;
	char		*args[SAEVAL_ARGS_MAX];	/* NULL for Perl undef */
	double		 num[SAEVAL_ARGS_MAX];	/* numeric value; NAN undef */
	pcre2_code	*re;		/* a regex argument, compiled */
};

/* Settings of the stock files the evals read (freemail_domains...). */
struct saeval_conf;

/* Per-thread, per-message memo of what several evals share. */
struct saeval_cache;

struct relays;
struct relays_cache;
struct msg;

/* What one evaluation gives the evals. */
struct saeval_ctx {
	const struct saeval_conf *conf;
	const struct relays	*relays;	/* NULL: no relay parser */
	struct relays_cache	*rcache;
	pcre2_match_data	*md;
	const struct rule_env	*env;
	const struct msg	*m;
	struct saeval_cache	*cache;
};

/*
 * Parse "name(args)" (what follows "eval:"): Perl's 'quoted', "quoted",
 * numeric and bareword (undef) arguments.  Returns a new call, owned by the
 * caller (rule_saeval_call_free()), when the function (with these
 * arguments) is one moat runs, else NULL: the rule then stays skipped.
 */
struct saeval_call *rule_saeval_parse(const char *text);
void	rule_saeval_call_free(struct saeval_call *);

/* The function name of a call (for statistics and documentation). */
const char *rule_saeval_name(const struct saeval_call *);

/*
 * A setting line of a SpamAssassin file that an eval reads: 1 when key was
 * one (and *cp, created on demand, took it), 0 otherwise.
 */
int	rule_saeval_setting(struct saeval_conf **cp, const char *key,
	    const char *val);
/* Compile what the settings need; conf may be NULL (then one is made). */
struct saeval_conf *rule_saeval_conf_finish(struct saeval_conf *);
void	rule_saeval_conf_free(struct saeval_conf *);

struct saeval_cache *rule_saeval_cache_new(void);
void	rule_saeval_cache_reset(struct saeval_cache *);
void	rule_saeval_cache_free(struct saeval_cache *);

/* Run call on ctx: the rule's hit count (0 or 1). */
unsigned rule_saeval_run(const struct saeval_call *, struct saeval_ctx *);

/*
 * rule_relays.c: how many relays SpamAssassin would count as trusted,
 * untrusted and unparseable (num_relays_* of PerMsgStatus).
 */
void	rule_relays_count(const struct relays *, const struct msg *,
	    pcre2_match_data *, struct relays_cache *, unsigned *trusted,
	    unsigned *untrusted, unsigned *unparseable);
int	rule_relays_envfrom(const struct relays *, const struct msg *,
	    pcre2_match_data *, struct relays_cache *, struct sbuf *);

/*
 * One relay as the evals see it (Received.pm's relay hash); the strings
 * are borrowed for the duration of the callback only.
 */
struct relay_info {
	const char	*ip, *rdns, *helo, *by;
	int		 trusted;
	int		 private;
	int		 no_rdns;	/* no_reverse_dns: the MTA that wrote
					   the field looks the rDNS up, and
					   recorded none */
};
/* NULL: a mail fetcher's handover; forget the trusted relays so far */
typedef void rule_relay_fn(const struct relay_info *, void *);

/* fn on each relay of m, trusted ones first, newest to oldest. */
void	rule_relays_each(const struct relays *, const struct msg *,
	    pcre2_match_data *, struct relays_cache *, rule_relay_fn *fn,
	    void *arg);

#endif
