/*
 * rule_int.h: the inside of a compiled rule set, shared by rule_load.c
 * (which builds it) and rule_eval.c (which runs it).  Nothing outside rules/
 * includes this file; the public interface is rule.h.
 */
#ifndef MOAT_RULE_INT_H
#define MOAT_RULE_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>

#include "rule.h"

/* struct rule.flags */
#define RF_NEG		0x0001	/* !~: hits when the pattern does not match */
#define RF_MULTIPLE	0x0002	/* counts every match (tflags multiple) */
#define RF_NOSUBJECT	0x0004	/* body: skip the Subject line */
#define RF_EXISTS	0x0008	/* header exists:NAME */
#define RF_NICE		0x0010	/* tflags nice: default score negative */
#define RF_SA		0x0020	/* defined in a SpamAssassin file */
#define RF_TEMPLATE	0x0040	/* pattern holds %{TAG} capture templates */
#define RF_NAMED	0x0080	/* pattern has named groups (capture tags) */
#define RF_SCORED	0x0100	/* a score was given (builder only) */
#define RF_SUB		0x0200	/* "__" rule */
#define RF_NEEDMSG	0x0400	/* meta: depends on a message-stage rule */

/* Why a rule does not run. */
enum rule_skip {
	RSKIP_NONE,		/* it runs */
	RSKIP_ZERO,		/* score 0 */
	RSKIP_EVAL,		/* eval: Perl code */
	RSKIP_PLUGIN,		/* a plugin moat does not have */
	RSKIP_BADRE,		/* pattern not translatable/compilable */
	RSKIP_UNSUPP,		/* header operand the message model lacks */
	RSKIP_BADMETA,		/* bad expression or dependency cycle */
	RSKIP_TEMPLATE		/* %{TAG} template, SA's frozen /o match */
};

struct saeval_call;
struct saeval_conf;

/* Connect-stage operands. */
enum rule_target { RT_NONE, RT_ADDR, RT_NAME, RT_FACTS };

/*
 * Meta expression, compiled to postfix.  && || and ?: short-circuit as
 * Perl's do, through forward jumps, so a lazy evaluation never computes an
 * operand whose value cannot matter:
 *   A && B   [A] ANDJ->end [B] end:   (A false: A stays as the value)
 *   A || B   [A] ORJ->end  [B] end:   (A true: A stays)
 *   C ? X : Y   [C] CONDJ->else [X] JMP->end else: [Y] end:
 */
enum meta_opc {
	MOP_NUM, MOP_RULE, MOP_NOT, MOP_NEG, MOP_ADD, MOP_SUB, MOP_MUL,
	MOP_DIV, MOP_LT, MOP_LE, MOP_GT, MOP_GE, MOP_EQ, MOP_NE, MOP_XOR,
	MOP_ANDJ, MOP_ORJ, MOP_CONDJ, MOP_JMP
};

/*
 * 16 bytes, not 24: a message evaluates most metas of the stock set, their
 * code is cold by then (the body scan came between), and the load of each
 * op was half of eval_meta's time, so the fewer cache lines the better.
 */
struct meta_op {
	enum meta_opc	 op;
	union {
		long	 rule;	/* MOP_RULE: the operand; jumps: the target */
		double	 num;	/* MOP_NUM */
	};
};

struct rule {
	char		*name;
	char		*desc;
	const char	*file;		/* interned in the set */
	int		 line;
	enum rule_stage	 stage;
	unsigned	 flags;
	unsigned	 maxhits;	/* 0: no limit */
	double		 score;
	enum rule_skip	 skip;
	char		*src;		/* pattern, or meta expression */
	char		*mods;		/* Perl modifiers */
	char		*hdr;		/* header operand, e.g. "From:addr" */
	char		*unset;		/* [if-unset: STR], NULL if none */
	int		 spec;		/* index into rule_set.specs */
	enum rule_target target;
	pcre2_code	*re;
	uint32_t	 copts;		/* compile options (for templates) */
	struct meta_op	*code;
	size_t		 ncode;
	struct saeval_call *ev;		/* eval: run natively (rule_saeval.c),
					   or NULL */
	unsigned	 mdepth;	/* meta: longest chain of metas below */
	char		*err;		/* why the pattern was refused */
	char		**lits;		/* prefilter: literal sets, one after
					   the other; every set must have
					   one member in the text */
	size_t		*litlen;	/* strlen(lits[i]), not computed
					   per message */
	size_t		 nlits;		/* 0: no prefilter, always run */
	size_t		*setend;	/* set k ends before lits[setend[k]] */
	size_t		 nsets;
	pcre2_code	*core;		/* must match where re does, or NULL */
	atomic_int	 limit_seen;
	atomic_int	 unset_memo;	/* header: count when the operand is
					   absent, plus 1; 0 not known yet */
};

struct rule_set {
	atomic_int	 refs;
	struct rule	*rules;
	size_t		 nrules;
	char		**files;	/* interned file names */
	size_t		 nfiles;
	char		**specs;	/* distinct header operands */
	size_t		 nspecs;
	long		*order[RULE_ST_COUNT];	/* running rules per stage;
						   metas in dependency order */
	size_t		 norder[RULE_ST_COUNT];
	long		*eager[RULE_ST_COUNT];	/* order[] minus the sub-rules
						   lazy evaluation leaves to
						   the metas: the loop then
						   reads no struct rule */
	size_t		 neager[RULE_ST_COUNT];
	struct rule_stats stats;
	const uint8_t	*tables;	/* PCRE2 character tables, Latin-1 /i */
	long		*hash;		/* name -> index, open addressing */
	size_t		 hashcap;
	struct relays	*relays;	/* X-Spam-Relays-* parser, or NULL */
	unsigned	 meta_depth;	/* deepest meta chain */
	struct rule_hs	*_Atomic hs;	/* rule_set_hs_attach(), or NULL */
	struct saeval_conf *saconf;	/* what the evals read (freemail...) */
	struct meta_op	*metacode;	/* every running meta's code, in
					   order[RULE_ST_META]'s order */
};

/*
 * Lazy evaluation recurses once per meta level; a set with deeper chains
 * (none in practice: SpamAssassin's stock set has fewer than 10) is
 * evaluated eagerly instead, so the stack stays small.
 */
#define RULE_LAZY_DEPTH_MAX	64

/*
 * rule_relays.c: SpamAssassin's X-Spam-Relays-{Trusted,Untrusted,Internal,
 * External} from the Received fields.  rule_relays_get() returns -1 when
 * spec is not one of those, else 1 with the text in out.
 */
struct relays;
struct relays_cache;
struct msg;
struct sbuf;
struct relays	*rule_relays_new(void);
void		 rule_relays_free(struct relays *);
int		 rule_relays_get(const struct relays *, const struct msg *,
		    const char *spec, pcre2_match_data *,
		    struct relays_cache *, struct sbuf *out);
/* Per-thread memo of parsed Received fields; reset for every message. */
struct relays_cache *rule_relays_cache_new(void);
void		 rule_relays_cache_reset(struct relays_cache *);
void		 rule_relays_cache_free(struct relays_cache *);

/*
 * rule_prefilter.c: required literals of a pattern, and a per-message
 * trigram bitmap of a stage's text that rules them out cheaply.
 */
struct msg_str;
struct rule_bitmap {
	unsigned char	*map;
	size_t		 cap;
	uint32_t	 mask;
	int		 ready;
};
int	rule_prefilter_compile(struct rule *);
void	rule_prefilter_build(struct rule_bitmap *, const struct msg_str *,
	    size_t);
int	rule_prefilter_may_match(const struct rule_bitmap *,
	    const struct rule *);
void	rule_prefilter_fold(struct sbuf *, const char *, size_t);
int	rule_prefilter_may_match_text(const struct rule *,
	    const struct rule_bitmap *, const char *folded, size_t);
/*
 * The quantifier at *pp, for the pattern readers here and in rule_core.c:
 * 1 with its minimum in *min and *pp past it (and past a lazy or possessive
 * mark), 0 when there is none (a "{" that starts none is a literal), -1 for
 * "{,n}", which PCRE2 reads as a literal before 10.43 and as {0,n} since:
 * a reader that gets it wrong would require text that need not be there.
 */
int	rule_re_quantifier(const char **pp, long *min);

/*
 * rule_core.c: the pattern without the leading and trailing parts that can
 * match the empty string, a cheap necessary condition (r->core).
 */
int	rule_core_compile(struct rule *, const uint8_t *tables);

/*
 * rule_hs.c: the Hyperscan expression for a pattern (0, or -1 when it has
 * none), which rules a database covers, and the per-message scan that sets
 * mark[i] for every rule i that may match.  rule_hs_scan() returns -1 when
 * it could not scan: then the stage's rules fall back to the literal
 * prefilter (rule_eval.c).
 */
struct rule_hs_scratch;
int	rule_hs_expression(const char *src, uint32_t copts,
	    const uint8_t *tables, struct sbuf *out, unsigned *flags);
int	rule_hs_covers(const struct rule_hs *, size_t idx);
struct rule_hs_scratch *rule_hs_scratch_new(void);
void	rule_hs_scratch_free(struct rule_hs_scratch *);
int	rule_hs_scan(const struct rule_hs *, struct rule_hs_scratch *,
	    enum rule_stage, const struct msg_str *, size_t,
	    unsigned char *mark);

/*
 * Where rule idx's matches can start, in its stage's texts v[0..n) (those
 * of the last rule_hs_scan() of the stage) joined by "\n" as scanned:
 * ascending offsets, valid until the next call, and re, the rule's pattern
 * compiled with PCRE2_USE_OFFSET_LIMIT.  -1 when the rule has no start
 * finder (the mark says it all), 0 when the starts could not be found
 * (too many, or a failed scan: run the rule everywhere).
 */
int	rule_hs_starts(const struct rule_hs *, struct rule_hs_scratch *,
	    size_t idx, const struct msg_str *v, size_t n,
	    const uint32_t **pos, size_t *npos, const pcre2_code **re);

/* The reverse of a Hyperscan expression, for the start finders. */
int	rule_hs_reverse(const char *expr, struct sbuf *out);

/*
 * rule_bigre.c: a pattern PCRE2 refused as too large, rewritten with
 * subroutine calls so it fits; NULL (and *ec) when it cannot be.
 * rule_bigre_rewritable(): whether src is free of what dropping or moving
 * a group would change the meaning of (numbered references, calls, option
 * settings, \Q).
 */
int	rule_bigre_rewritable(const char *src);
pcre2_code *rule_bigre_compile(const char *src, uint32_t opts,
	    pcre2_compile_context *cc, int *ec, PCRE2_SIZE *off);

/* Shared helper (rule_load.c): compile options for Perl modifiers. */
int	rule_mods_options(const char *mods, uint32_t *opts);

#endif
