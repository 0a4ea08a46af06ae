/*
 * rule.h: the rule language.  Rule files (moat's native format and
 * SpamAssassin .cf files) are compiled into an immutable, shareable rule set;
 * a rule set is evaluated against the facts of one SMTP transaction (client,
 * HELO, envelope) and, once DATA is in, a parsed struct msg.
 *
 * Ownership and threads: a struct rule_set is built once by a struct
 * rule_builder and never changes afterwards, so every worker thread may use
 * the same one; rule_set_ref()/rule_set_unref() let a reload swap it while
 * sessions in flight keep the one they started with.  Everything that changes
 * during a match (PCRE2 match data, JIT stack, hit counters) lives in a
 * struct rule_scratch, one per thread, passed in by the caller.
 *
 * The module is pure: it reads the rule files it is told to read (and the
 * files they include), and nothing else; no sockets, no clock, no logging.
 * Problems a caller may want to log are returned as data (load statistics,
 * RULE_HIT_LIMIT entries).
 *
 * The language is described in doc/rules.md.
 */
#ifndef MOAT_RULE_H
#define MOAT_RULE_H

#include <stddef.h>

struct msg;

/* Where a rule looks.  The order is the order of evaluation. */
enum rule_stage {
	RULE_ST_CONNECT,	/* client address, reverse name, session facts */
	RULE_ST_HELO,		/* the HELO/EHLO argument */
	RULE_ST_MAIL,		/* the MAIL FROM reverse-path */
	RULE_ST_RCPT,		/* each RCPT TO forward-path */
	RULE_ST_HEADER,		/* a header, SpamAssassin's get() */
	RULE_ST_BODY,		/* rendered body paragraphs */
	RULE_ST_URI,		/* URIs */
	RULE_ST_RAWBODY,	/* decoded, unrendered text parts */
	RULE_ST_FULL,		/* the pristine message */
	RULE_ST_MIMEHEADER,	/* the headers of every MIME part */
	RULE_ST_META,		/* an expression over other rules */
	RULE_ST_COUNT
};

/* Input formats.  RULE_FMT_AUTO: *.cf and *.pre are SpamAssassin. */
enum rule_format {
	RULE_FMT_AUTO,
	RULE_FMT_NATIVE,
	RULE_FMT_SA
};

/* Bounds (see doc/rules.md, "Limits"). */
#define RULE_LINE_MAX		65536	/* bytes per logical line */
#define RULE_INCLUDE_DEPTH_MAX	8	/* nested include */
#define RULE_IF_DEPTH_MAX	64	/* nested if/ifplugin */
#define RULE_NAME_MAX		128	/* SpamAssassin's RULENAME_RE */
#define RULE_META_TOKENS_MAX	4096	/* tokens in one meta expression */
#define RULE_MATCH_LIMIT	1000000	/* pcre2_set_match_limit() */
#define RULE_DEPTH_LIMIT	10000	/* pcre2_set_depth_limit() */
#define RULE_JIT_STACK_MAX	(1024 * 1024)
#define RULE_REPLACE_MAX	(1024 * 1024)	/* replace_tags result, bytes */

/* A load or compile error: where, and why. */
struct rule_error {
	char	file[256];
	int	line;		/* 1-based; 0 when not tied to a line */
	long	offset;		/* PCRE2 error offset in the pattern, or -1 */
	char	msg[256];
};

/*
 * What a load did, by rule type.  "loaded" rules are compiled and will run;
 * "zero" rules are loaded but have score 0 and so never run (SpamAssassin
 * semantics); "eval" rules were skipped because they call Perl code
 * (eval:); "plugin" rules need a plugin moat does not have (askdns, uridnsbl,
 * ...); "badre" patterns could not be translated or compiled; "inactive"
 * definitions sat in a false if/ifplugin branch.
 */
struct rule_stats {
	unsigned	files;
	unsigned	lines;
	unsigned	loaded[RULE_ST_COUNT];
	unsigned	zero[RULE_ST_COUNT];
	unsigned	eval[RULE_ST_COUNT];
	unsigned	badre[RULE_ST_COUNT];
	unsigned	plugin;
	unsigned	inactive;
	unsigned	unknown_keys;	/* settings that are not rules: ignored */
	unsigned	replaced;	/* replace_rules expansions done */
	unsigned	templates;	/* rules using %{TAG} capture templates */
	unsigned	meta_bad;	/* metas with a bad expression or a cycle */
	unsigned	jit;		/* patterns JIT-compiled */
	unsigned	prefiltered;	/* patterns with a literal prefilter */
	unsigned	cored;		/* patterns gated by their core */
	unsigned	bigre;		/* too large for PCRE2 as written:
					   compiled with subroutines */
	unsigned	evals;		/* eval: rules run natively (among
					   "loaded"; the "eval" ones are
					   those moat has no code for) */
};

struct rule_builder;
struct rule_set;
struct rule_scratch;

/*
 * Start a rule set.  The builder owns everything added to it until
 * rule_builder_finish() or rule_builder_free().  The SpamAssassin plugin set
 * starts as the one Debian's spamassassin 4.0.1 loads (doc/rules.md);
 * `loadplugin` lines add to it.
 */
struct rule_builder	*rule_builder_new(void);

/*
 * Read the rule file at path (and what it includes) in format fmt.  Returns
 * 0, or -1 with *err filled (file, line, PCRE2 offset).  A SpamAssassin rule
 * that cannot run (eval:, a missing plugin, an untranslatable pattern) is
 * counted in the statistics, not an error; in the native format every
 * problem is an error.
 */
int	rule_builder_add_file(struct rule_builder *b, const char *path,
	    enum rule_format fmt, struct rule_error *err);

/*
 * As rule_builder_add_file(), from memory: text[0..len) is read as if it
 * were the file `name`; include paths are relative to the current directory.
 * fmt RULE_FMT_AUTO is decided from name.
 */
int	rule_builder_add_text(struct rule_builder *b, const char *name,
	    const char *text, size_t len, enum rule_format fmt,
	    struct rule_error *err);

/*
 * Load the SpamAssassin configuration as spamd would with its defaults:
 * every *.pre in sitedir, every *.cf in datadir, then every *.cf in sitedir,
 * each directory in lexical order.  NULL means /usr/share/spamassassin and
 * /etc/spamassassin.  Returns 0 or -1 with *err filled.
 */
int	rule_builder_add_sa_dirs(struct rule_builder *b, const char *datadir,
	    const char *sitedir, struct rule_error *err);

/*
 * Resolve scores, expand replace_tags and metas, and compile every pattern.
 * On success returns the new rule set (owned by the caller, refcount 1) and
 * frees b; on failure returns NULL with *err filled and frees b too.  If st
 * is not NULL it receives the load statistics either way.
 */
struct rule_set	*rule_builder_finish(struct rule_builder *b,
		    struct rule_stats *st, struct rule_error *err);

/*
 * %{TAG} capture templates (SpamAssassin 4.0 rules such as
 * GB_CUSTOM_HTM_URI) are off by default, as SpamAssassin effectively has
 * them: it compiles a template once per process with the first message's
 * values (Perl's /o), so a long-running spamd never fires them on later
 * messages.  on = 1 runs them per message with this message's values.
 */
void	rule_builder_templates(struct rule_builder *b, int on);

/*
 * SpamAssassin's eval: rules moat implements (rules/rule_saeval*.c) run by
 * default; on = 0 skips them all, as before they existed (for measuring
 * what they cost).
 */
void	rule_builder_evals(struct rule_builder *b, int on);

/* Discard a builder without finishing it.  NULL is a no-op. */
void	rule_builder_free(struct rule_builder *b);

/* Reference counting for reload (atomic).  unref(NULL) is a no-op. */
struct rule_set	*rule_set_ref(struct rule_set *rs);
void		 rule_set_unref(struct rule_set *rs);

/* The statistics of the load that built rs. */
const struct rule_stats *rule_set_stats(const struct rule_set *rs);

/* "header", "body", ... as the native format writes a stage. */
const char *rule_stage_name(enum rule_stage st);

/* Number of rules in rs (every type, those that never run included). */
size_t	rule_set_count(const struct rule_set *rs);

/* Index of the rule called name, or -1. */
long	rule_set_find(const struct rule_set *rs, const char *name);

/* Facts about one rule (pointers belong to rs). */
struct rule_info {
	const char	*name;
	const char	*desc;		/* "" when none */
	const char	*file;
	int		 line;
	enum rule_stage	 stage;
	double		 score;		/* per hit */
	int		 runs;		/* 1 if it runs; else see why */
	const char	*why;		/* "" or: "score 0", "eval",
					   "plugin", "bad pattern",
					   "unsupported header", "bad meta" */
	int		 sub;		/* "__" rule: never adds to a score */
	const char	*eval;		/* a SpamAssassin eval: run natively:
					   its function name; else NULL */
};
void	rule_set_info(const struct rule_set *rs, size_t idx,
	    struct rule_info *out);

/*
 * The facts of the SMTP transaction, all optional (NULL: not known yet, the
 * rules of that stage do not run).  facts is a space-separated list of words
 * the front end sets (e.g. "pregreet", "no-rdns", "tls", "auth").
 */
struct rule_env {
	const char	*client_addr;	/* "192.0.2.1", "2001:db8::1" */
	const char	*client_name;	/* verified reverse name, "" if none */
	const char	*facts;
	const char	*helo;
	const char	*mail_from;	/* reverse-path without <>, "" for <> */
	const char *const *rcpt;	/* forward-paths without <> */
	size_t		 nrcpt;
	/*
	 * The Bayesian classifier's verdict on the message, for SpamAssassin's
	 * eval:check_bayes() rules (BAYES_00 ... BAYES_999).  bayes_known 0
	 * (the zeroed default: Bayes off, not trained enough, store trouble):
	 * no check_bayes rule hits.  bayes_p is the spam probability, 0..1.
	 */
	int		 bayes_known;
	double		 bayes_p;
};

/*
 * Per-thread matching state for any rule set.  Never shared between
 * threads; may be reused for any number of evaluations and rule sets.
 */
struct rule_scratch	*rule_scratch_new(void);
void			 rule_scratch_free(struct rule_scratch *sc);

/* One rule that hit (or, with RULE_HIT_LIMIT, one that could not finish). */
#define RULE_HIT_SUB	0x1	/* "__" rule, never scored */
#define RULE_HIT_LIMIT	0x2	/* match/depth limit: counts as no hit; set
				   only the first time for this rule in rs */
struct rule_hit {
	const char	*name;		/* belongs to the rule set */
	const char	*desc;
	double		 score;		/* per hit */
	unsigned	 count;		/* 1, or hits for per-hit rules */
	unsigned	 flags;
};

/*
 * Evaluate every rule of rs whose input is available: stage rules when env
 * has their field, message rules when m is not NULL, and then every meta
 * over the results.  An evaluation always starts from nothing, so calling it
 * again at a later stage with more facts gives the complete picture.
 * Returns the hits in rule order (those with score 0 never run, so never
 * appear); the array belongs to sc and is valid until the next call.  *n
 * receives the count.
 */
const struct rule_hit *rule_eval(const struct rule_set *rs,
		    struct rule_scratch *sc, const struct rule_env *env,
		    const struct msg *m, size_t *n);

/*
 * Lazy evaluation (off by default): only what can change the score runs.
 * Every scored rule runs; a "__" sub-rule runs only when a meta reads it,
 * and && || ?: short-circuit as Perl's do, so "__A && __B" never runs __B
 * when __A did not hit.  Scores, verdicts and scored hits are those of a
 * full evaluation; the hit list simply lacks the sub-rules that were not
 * needed.  Sub-rules with named captures, and %{TAG} templates, always run.
 * moatd evaluates this way; `moatctl agree` and `scan --sub`, which report
 * sub-rules, do not.
 */
void	rule_scratch_lazy(struct rule_scratch *sc, int on);

/*
 * Rule profiling, for tuning (moatctl scan --profile): once switched on,
 * every rule_eval() on sc adds, per rule index, the wall-clock nanoseconds
 * its pattern took, how often it ran and how often a prefilter (literal
 * sets, or Hyperscan for the rules it covers) skipped it; a Hyperscan scan
 * counts in the first covered rule of its stage that asks for it.  Costs
 * two clock reads per rule run, so it is off by default.
 * rule_scratch_profile_get() returns 0, or -1 when idx was never seen.
 */
struct rule_prof {
	unsigned long long	ns;
	unsigned long		runs;
	unsigned long		skipped;	/* by a prefilter */
};
void	rule_scratch_profile(struct rule_scratch *sc, int on);
int	rule_scratch_profile_get(const struct rule_scratch *sc, size_t idx,
	    struct rule_prof *out);

/*
 * Hyperscan as a prefilter (doc/rules.md, "Hyperscan"): the body, rawbody,
 * uri and full patterns in one database per stage, scanned once per message
 * to rule out the patterns that cannot match.  Results never change; only
 * fewer PCRE2 runs happen.  rule_hs_build() compiles for rs, which takes
 * seconds to minutes (two for the stock set): call it off any event loop.
 * With cachedir, the compiled databases are read from and written to it
 * (files named by a hash of the patterns, the Hyperscan version and the
 * CPU's features); RULE_HS_CACHED_ONLY returns NULL at once when they are
 * not there.  NULL with err filled when there is nothing to build, on
 * error, or when moat was built without Hyperscan (rule_hs_available()
 * returns 0 then).
 */
struct rule_hs;
struct rule_hs_info {
	unsigned	patterns;	/* in the databases */
	unsigned	refused;	/* Hyperscan could not take them */
	unsigned	skipped;	/* not expressible, run as before */
	unsigned	unread;		/* sub-rules no scored rule reads */
	unsigned	starts;		/* of patterns: with a start finder */
	int		cached;		/* read from the cache */
	int		cache_failed;	/* built, but the cache not written */
	size_t		bytes;		/* database size */
};
#define RULE_HS_CACHED_ONLY	0x1
int		 rule_hs_available(void);
struct rule_hs	*rule_hs_build(const struct rule_set *rs, const char *cachedir,
		    int flags, struct rule_hs_info *info, char *err,
		    size_t errlen);
void		 rule_hs_free(struct rule_hs *h);

/*
 * Give h (built for rs) to rs, to be used by every rule_eval() that starts
 * from then on, from any thread; rs frees it.  Returns -1 and frees h when
 * rs has one already.  The one change a shared rule set ever sees.
 */
int	rule_set_hs_attach(struct rule_set *rs, struct rule_hs *h);

/* What rs's Hyperscan databases hold, or NULL when it has none (yet). */
const struct rule_hs_info *rule_set_hs_info(const struct rule_set *rs);

/* Switch the Hyperscan prefilter off (on = 0) or back on for sc. */
void	rule_scratch_hs(struct rule_scratch *sc, int on);

#endif
