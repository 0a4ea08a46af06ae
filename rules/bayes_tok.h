/*
 * bayes_tok.h: the Bayesian classifier's tokens (doc/rules.md, "Bayes").
 *
 * A message, as the rules see it (msg.h), becomes a bounded set of 64-bit
 * token hashes: words and word pairs of the rendered body, header tokens
 * by field, URI hosts and paths.  The same message always gives the same
 * set, in moatd and in moatctl, which is what lets `moatctl learn` train
 * the database moatd reads.  Pure: no I/O, no clock, no logging.
 */
#ifndef MOAT_BAYES_TOK_H
#define MOAT_BAYES_TOK_H

#include <stddef.h>
#include <stdint.h>

struct msg;

/*
 * Distinct tokens kept per message.  SpamAssassin looks at 150 at most
 * when combining; a few thousand is ample to choose them from and bounds
 * the store lookups one message can cause.
 */
#define BAYES_TOK_MAX		4000
/* Bytes of rendered body text tokenized; the rest is ignored. */
#define BAYES_TOK_TEXT_MAX	(256u * 1024)
/* Shortest and longest plain word; longer ones become "sk:" tokens. */
#define BAYES_TOK_WORD_MIN	3
#define BAYES_TOK_WORD_MAX	15

/* The token set of one message; owned by the caller. */
struct bayes_toks {
	uint64_t	*v;		/* sorted ascending, distinct */
	size_t		 n;
	uint64_t	*set;		/* open-addressing set, internal */
	int		 full;		/* BAYES_TOK_MAX was reached */
};

/*
 * Called once per token string, before hashing and deduplication; tok is
 * not NUL-terminated and is valid only during the call.  Return non-zero
 * to stop the walk.
 */
typedef int	bayes_tok_fn(void *arg, const char *tok, size_t len);

/*
 * Walk the token strings of m in a fixed order (headers, body, URIs),
 * calling fn for each (duplicates included).  For tests and
 * `moatctl bayes tokens`.
 */
void	bayes_tok_walk(const struct msg *m, bayes_tok_fn *fn, void *arg);

/*
 * Fill t (reset first; t may be zeroed or reused) with the distinct
 * hashes of m's tokens, at most BAYES_TOK_MAX, sorted.  Returns t->n.
 */
size_t	bayes_tokenize(const struct msg *m, struct bayes_toks *t);

/* Release what t holds; the struct itself is the caller's. */
void	bayes_toks_free(struct bayes_toks *t);

/* The hash of one token string, as bayes_tokenize() computes it. */
uint64_t	bayes_tok_hash(const char *s, size_t len);

/*
 * The identity of m for the "seen" database, so a message learned twice
 * counts once: 128 bits over its Message-ID (or Date and Subject when it
 * has none) and its rendered body, not over the raw bytes, so the copy a
 * user saves from a mailbox (with Received and X-Spam-* fields added on
 * the way) is the message moatd saw.
 */
void	bayes_tok_digest(const struct msg *m, uint8_t out[16]);

#endif
