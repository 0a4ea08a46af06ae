/*
 * sauth_check.h: SPF (libspf2), DKIM (libopendkim) and DMARC
 * (libopendmarc) for one message, with every DNS query sent to one
 * configured resolver (HOST:PORT, any port) through res_nquery and a
 * timeout.
 *
 * Blocking: each call may wait up to timeout_ms per query and a bounded
 * number of queries.  On an event loop use sauth_pool.h, which runs them
 * on a small bounded pool (as auth/passwd.c hashes passwords); moatctl
 * calls them directly.  One struct sauth_ctx per thread.
 */
#ifndef SAUTH_CHECK_H
#define SAUTH_CHECK_H

#include <stdint.h>

#include "engine/sauth.h"

struct sauth_ctx;

struct sauth_cfg {
	const char	*resolver;	/* "IP", "IP:PORT" or
					   SAUTH_RESOLVER_SYSTEM (resolv.conf's
					   servers); NULL = skip all */
	long		 timeout_ms;	/* per query, rounded up to seconds */
	int		 spf, dkim, dmarc;	/* on (1) or off (0) */
	int		 dkim_min_bits;	/* smaller RSA keys fail */
	size_t		 body_max;	/* body bytes hashed per message */
	const char	*psl;		/* the Public Suffix List file */
	long		 deadline_ms;	/* sauth_check: per message; 0 none */
};

#define SAUTH_RESOLVER_SYSTEM	"system"
#define SAUTH_DKIM_MIN_BITS	1024	/* RFC 8301 3.2 */
#define SAUTH_BODY_MAX		(4 * 1024 * 1024)
#define SAUTH_PSL	"/usr/share/publicsuffix/effective_tld_names.dat"

/* New context, or NULL with a reason in msg. */
struct sauth_ctx *sauth_ctx_new(const struct sauth_cfg *, char *msg,
		    size_t msgsz);
void		 sauth_ctx_free(struct sauth_ctx *);

/*
 * A new context with peer's config that shares peer's answer cache (for
 * another thread: the cache is locked; everything else is per context).
 * The cache lives until its last context is freed.
 */
struct sauth_ctx *sauth_ctx_new_shared(const struct sauth_ctx *peer,
		    char *msg, size_t msgsz);

/*
 * Cache-only mode (on: 1), for a context on an event loop: no query is
 * sent; an answer the cache does not hold is a temperror and marks the
 * context (sauth_cache_missed), and the caller then throws the results
 * away and runs the check where it may block.  Turning it on clears the
 * mark.
 */
void		 sauth_cache_only(struct sauth_ctx *, int on);
int		 sauth_cache_missed(const struct sauth_ctx *);

/* How many DKIM public keys this context decoded, and how many times it
 * reused one it had decoded (the decoded-key cache, sauth_check.c). */
void		 sauth_ctx_stats(const struct sauth_ctx *, unsigned long *hits,
		    unsigned long *misses);

/*
 * Run the enabled checks on one message (msg: the whole message as
 * received, header and body, CRLF or LF line ends) for the SMTP facts
 * given (mail_from "" for the null sender; helo may be NULL).  Fills r;
 * a disabled check or one without a resolver is SAUTH_SKIPPED.  Never
 * fails as a whole: DNS trouble is SAUTH_TEMPERROR for that check.
 */
void		 sauth_check(struct sauth_ctx *, const char *client_ip,
		    const char *helo, const char *mail_from, const char *msg,
		    size_t len, struct sauth_results *r);

/*
 * The same checks in two parts, for a caller that runs them at their
 * SMTP stages (the engine: SPF at MAIL, DKIM and DMARC at end of DATA).
 * sauth_results_init: every check SKIPPED.  sauth_check_spf fills the
 * SPF members of r; sauth_check_msg the From domain, DKIM, DMARC (its
 * alignment uses r's SPF result, so r carries over from the first part).
 */
#define SAUTH_DO_SPF	0x01	/* sauth_check_spf */
#define SAUTH_DO_DKIM	0x02	/* sauth_check_msg: DKIM */
#define SAUTH_DO_DMARC	0x20	/* sauth_check_msg: DMARC */
#define SAUTH_DO_MSG	(SAUTH_DO_DKIM | SAUTH_DO_DMARC)
void		 sauth_results_init(struct sauth_results *r);
void		 sauth_check_spf(struct sauth_ctx *, const char *client_ip,
		    const char *helo, const char *mail_from,
		    struct sauth_results *r);
/* what: SAUTH_DO_DKIM and/or SAUTH_DO_DMARC (each also needs its cfg
 * switch on). */
void		 sauth_check_msg(struct sauth_ctx *, const char *client_ip,
		    const char *msg, size_t len, unsigned what,
		    struct sauth_results *r);

/*
 * No query leaves this context after at (clock_mono_ms(); 0: no
 * deadline): a check that needs one then is temperror, and a query sent
 * before it waits at most until it (whole seconds, rounded up).  The
 * per-message deadline (auth_deadline); sauth_check sets it from
 * cfg.deadline_ms itself.
 */
void		 sauth_deadline(struct sauth_ctx *, int64_t at);

struct sbuf;

/*
 * DNS lists (RFC 5782): ask each site of sites about name: for kind
 * "dnsbl" name is an IPv4 or IPv6 address, asked reversed (octets or
 * nibbles, RFC 5782 2.1 and 2.4); for "rhsbl" and "uribl" a domain, asked
 * as is (2.2).  A site whose A answers include one its filter accepts adds
 * its weight to *weight once, and the words " KIND_HIT" (positive weight)
 * or " KIND_ALLOW" (negative) and " kind:ZONE" to facts, each once.
 * Returns the number of sites that listed name; *temp counts sites whose
 * query failed (their weight is not added: RFC 5782 5, a failing list
 * must not block mail).
 */
int		 sauth_lists(struct sauth_ctx *, const struct sauth_sites *,
		    const char *kind, const char *name, struct sbuf *facts,
		    int *weight, int *temp);

/* The organizational domain of host by the Public Suffix List (what a URI
 * list is asked about); 0 or -1.  Needs a resolver-backed context. */
int		 sauth_org_domain(struct sauth_ctx *, const char *host,
		    char *out, size_t outsz);

/* The domain of the message's single From: address into out; -1 if
 * none or several (RFC 7489 6.6.1). */
int		 sauth_from_domain(const char *msg, size_t len, char *out,
		    size_t outsz);

#endif
