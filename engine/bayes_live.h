/*
 * bayes_live.h: the Bayesian classifier inside moatd (doc/rules.md,
 * "Bayes"): the store opened once per process and shared by the workers,
 * classification at end of DATA, and autolearning on a thread of its own.
 */
#ifndef MOAT_BAYES_LIVE_H
#define MOAT_BAYES_LIVE_H

#include "moat_conf.h"
#include "score.h"

struct msg;

/*
 * With `bayes on`: classify m with the store at cfg->bayes_path.  Sets
 * *known to 1 and *p to the spam probability, or *known to 0 when Bayes
 * does not speak: off, not trained to bayes_min_spam/bayes_min_ham, or
 * store trouble.  Store trouble (missing, unreadable, corrupt) is logged
 * once, naming the file, and retried at most once a minute; the message
 * goes on without Bayes.  Called from any worker thread; it reads the
 * memory-mapped store in one read transaction and never waits for a writer.
 */
void	bayes_live_classify(const struct config *cfg, const struct msg *m,
	    const char *sid, int *known, double *p);

/*
 * With `bayes_autolearn on`: if card's score without the BAYES_* rules is
 * at least bayes_autolearn_spam (or below bayes_autolearn_ham), hand a
 * copy of raw[0..len) (at most BAYES_LIVE_LEARN_MAX bytes) to the learner thread, which learns it and logs one
 * "bayes_autolearn" line.  Never blocks: when the learner is behind (more
 * than BAYES_LIVE_QUEUE_MAX messages waiting) the message is not learned
 * and that is logged.
 */
#define BAYES_LIVE_QUEUE_MAX	64
/* Larger messages are not autolearned: the queue holds copies. */
#define BAYES_LIVE_LEARN_MAX	(512u * 1024)
void	bayes_live_autolearn(const struct config *cfg,
	    const struct score_card *card, const char *raw, size_t len,
	    const char *sid);

/* The classifier's parameters from cfg (bayes_min_spam, bayes_min_ham). */
struct bayes_params;
void	bayes_live_params(const struct config *cfg, struct bayes_params *bp);

/*
 * bayes_store redis on an event loop (engine/eng_bayes.c): the loop's
 * asynchronous connection in *slot, made, or made again when a reload
 * changed its settings.  The loop's owner frees *slot at the end.
 */
struct bayes_aredis;
struct event_base;
struct bayes_aredis *bayes_live_aredis(struct bayes_aredis **slot,
	    struct event_base *base, const struct config *cfg);
/*
 * The outcome of one asynchronous read, for the log: err (naming the
 * server) is logged once until a different one or a success; a success
 * after an error says that the store answers again.
 */
void	bayes_live_redis_result(const struct config *cfg, const char *sid,
	    const char *err);

/* At exit: stop the learner (after its queue) and close the store. */
void	bayes_live_shutdown(void);

#endif
