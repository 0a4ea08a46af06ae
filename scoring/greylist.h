/*
 * greylist.h: greylisting, the pure part: which triplet a delivery attempt
 * belongs to, and what the policy decides for it (doc/greylisting.md).
 *
 * A triplet is (client part, sender, recipient).  The client part is the
 * client's network (IPv4 /24, IPv6 /64 by default) or, when the client has
 * a forward-confirmed reverse name that does not look generic, that name
 * without its first label, so that big senders' rotating address pools
 * converge (o1.sg.example and o2.sg.example share "sg.example").
 *
 * Pure: no I/O, no clock (every time is an argument, in milliseconds since
 * the epoch), no logging, no socket headers.  The stores (store/store_*.c)
 * keep the records and call grey_decide(); the Redis store runs the same
 * policy as a Lua script, which must stay in step with grey_decide().
 */
#ifndef MOAT_GREYLIST_H
#define MOAT_GREYLIST_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets; longer is truncated. */
#define GREY_ADDR_MAX		256
/* A client part: "ffff:...:ffff/128" or a host name (RFC 1035: 253). */
#define GREY_CLIENT_MAX		255
/* A whole key: prefix (GREY_PREFIX_MAX) + "t:" + three parts + spaces. */
#define GREY_PREFIX_MAX		64
#define GREY_KEY_MAX	(GREY_PREFIX_MAX + 2 + GREY_CLIENT_MAX + 1 + \
			    2 * GREY_ADDR_MAX + 2 + 1)

/* Defaults (doc/greylisting.md, config keys greylist_*). */
#define GREY_DELAY_DEFAULT_MS		(300LL * 1000)
#define GREY_RETRY_WINDOW_DEFAULT_MS	(2LL * 86400 * 1000)
#define GREY_PASS_LIFETIME_DEFAULT_MS	(35LL * 86400 * 1000)
#define GREY_AWL_PASSES_DEFAULT		5
#define GREY_AWL_INTERVAL_DEFAULT_MS	(3600LL * 1000)
#define GREY_V4_PREFIX_DEFAULT		24
#define GREY_V6_PREFIX_DEFAULT		64

struct grey_params {
	int	v4_prefix;		/* 8..32 */
	int	v6_prefix;		/* 16..128 */
	int	use_fcrdns;		/* key by FCrDNS name where sound */
	int64_t	delay_ms;		/* a retry passes after this */
	int64_t	retry_window_ms;	/* a pending triplet lives this long */
	int64_t	pass_lifetime_ms;	/* a passed one, refreshed on use */
	int	awl_passes;		/* whitelist a client part after this
					   many counted passes; 0 = off */
	int64_t	awl_interval_ms;	/* at most one counted pass per this */
};

/* Fill *p with the defaults above. */
void	grey_params_default(struct grey_params *p);

/*
 * grey_params_check: 0 if *p is usable, else -1 with a reason in err
 * (NUL-terminated, at most errsz bytes).  Requires the prefixes in range,
 * 0 <= delay < retry_window, pass_lifetime > 0, awl_passes >= 0,
 * awl_interval >= 0.
 */
int	grey_params_check(const struct grey_params *p, char *err, size_t errsz);

struct grey_triplet {
	char	client[GREY_CLIENT_MAX + 1];	/* "192.0.2.0/24", "sg.example" */
	char	sender[GREY_ADDR_MAX + 1];	/* normalised; "<>" if null */
	char	rcpt[GREY_ADDR_MAX + 1];	/* lower-cased */
};

/*
 * grey_client_net: the network part for an address: addr holds 4 bytes
 * (is_v6 0) or 16 (is_v6 1); prefix is the prefix length (0..32/0..128).
 * Writes "192.0.2.0/24" or "2001:db8:1:2::/64" (RFC 5952 text of the masked
 * address) to out.  Returns 0, or -1 if the prefix is out of range or out
 * is too small (64 bytes always suffice).
 */
int	grey_client_net(char *out, size_t outsz, const unsigned char *addr,
	    int is_v6, int prefix);

/*
 * grey_client_name: the client part for a forward-confirmed reverse name
 * (the caller vouches for the confirmation; dns.h).  The rule:
 *   - lower-case the name and drop one trailing dot;
 *   - if its first label is all digits, or looks generic for this
 *     address (it holds the last three IPv4 octets as separate numbers,
 *     e.g. 1-2-3-4.dyn.isp; for IPv6 the last two 16-bit groups as hex
 *     numbers, or 12 or more digits), refuse: a dynamic pool would
 *     otherwise share one key with every bot in it.  Two octets are not
 *     enough to refuse: Amazon SES names its pool a8-30.smtp-out...;
 *   - drop the first label;
 *   - refuse if what remains has one label ("com") or is a two-label
 *     public suffix of the ccTLD kind ("co.uk", "com.au": a short
 *     second-level label from a fixed list under a two-letter TLD).
 * Returns 0 with the result in out, or -1 (the caller keys by network).
 */
int	grey_client_name(char *out, size_t outsz, const char *name,
	    const unsigned char *addr, int is_v6);

/*
 * grey_normalize_sender: the envelope sender as greylisting keys it.
 * In order: lower-case (ASCII); "" -> "<>"; SRS0/SRS1 decoded to the
 * original address; BATV tags removed (prvs=TAG=, msprvs1=TAG=, btv1==TAG==);
 * a "+tag" after the first character of the local part removed; in a local
 * part made of several tokens (alphanumeric runs), every token that is all
 * digits, or is 8 or more hex digits with at least one digit, becomes "#"
 * (VERP and bounce forms: bounce-123-456, 0100017f...-000000), and once
 * such a long token is there, shorter hex tokens with a digit too (UUID
 * groups: 1c2d).  A local part of one token ("12345@qq.example",
 * "john1985") and quoted local parts are kept as they are.
 * Bytes below 0x21 and 0x7f become '_' (keys are space-separated).
 * Output truncated to GREY_ADDR_MAX bytes.  out has GREY_ADDR_MAX + 1.
 */
void	grey_normalize_sender(char out[GREY_ADDR_MAX + 1], const char *sender);

/* grey_normalize_rcpt: lower-case (ASCII), controls/space -> '_', cap. */
void	grey_normalize_rcpt(char out[GREY_ADDR_MAX + 1], const char *rcpt);

/*
 * grey_triplet_make: fill *t.  addr/is_v6 as grey_client_net; fcrdns is
 * the forward-confirmed name or NULL; sender and rcpt are the envelope
 * addresses without angle brackets ("" for the null sender).  The name is
 * used when p->use_fcrdns and grey_client_name accepts it.  Returns 0, or
 * -1 if p's prefixes are out of range.
 */
int	grey_triplet_make(struct grey_triplet *t, const struct grey_params *p,
	    const unsigned char *addr, int is_v6, const char *fcrdns,
	    const char *sender, const char *rcpt);

/*
 * Keys: prefix (at most GREY_PREFIX_MAX bytes, may be "") then
 *   "t:" client " " sender " " rcpt     the triplet record
 *   "a:" client                         the auto-whitelist record
 *   "w:" client                         a manual whitelist entry
 * The parts never hold a space or a control byte (normalisation), so a key
 * splits back into its parts unambiguously.  Keys are not hashed: they
 * stay readable for moatctl and redis-cli, and no collision can be forged.
 * Return the length, or -1 if out (GREY_KEY_MAX bytes suffice) is short.
 */
int	grey_key_triplet(char *out, size_t outsz, const char *prefix,
	    const struct grey_triplet *t);
int	grey_key_client(char *out, size_t outsz, const char *prefix,
	    char kind, const char *client);
/*
 * grey_key_split: the reverse of grey_key_triplet for a key without its
 * prefix ("t:..."); 0 with *t filled, -1 if it is not a triplet key.
 */
int	grey_key_split(struct grey_triplet *t, const char *key);

/* The stored state of one triplet; times in ms since the epoch. */
struct grey_record {
	int64_t	first_seen;
	int64_t	last_seen;
	int64_t	passed_until;	/* 0 = not passed yet (pending) */
	long	pass_count;	/* passed deliveries */
};

/* The auto-whitelist state of one client part. */
struct grey_awl {
	long	count;		/* counted passes */
	int64_t	last_counted;
};

enum grey_decision {
	GREY_NEW,		/* first attempt (or the old record expired) */
	GREY_PENDING,		/* retried too early */
	GREY_PASSED,		/* retried in time, or passed before */
	GREY_WHITELISTED	/* the client part is (auto-)whitelisted */
};

struct grey_outcome {
	enum grey_decision decision;
	int64_t	wait_ms;	/* NEW/PENDING: until a retry passes */
	int	rec_write;	/* store rec with rec_ttl_ms */
	struct grey_record rec;
	int64_t	rec_ttl_ms;
	int	awl_write;	/* store awl with awl_ttl_ms */
	struct grey_awl awl;
	int64_t	awl_ttl_ms;
	int	awl_now;	/* this pass made the client part whitelisted */
};

/*
 * grey_decide: the policy.  rec and awl are the stored records or NULL;
 * now is the store's clock.  Fills *o; writes nothing else.
 *   awl count >= awl_passes (awl on)  -> WHITELISTED, awl TTL refreshed
 *   no record, or a pending one past the retry window, or a passed one
 *   past passed_until                 -> NEW: rec {now,now,0,0},
 *                                        TTL retry_window, wait delay
 *   pending, now < first_seen + delay -> PENDING: last_seen = now, TTL to
 *                                        first_seen + retry_window, wait
 *                                        the rest (at most delay)
 *   pending in the window, or passed  -> PASSED: pass_count + 1,
 *                                        passed_until = now + lifetime,
 *                                        TTL lifetime; the awl count + 1
 *                                        if none was counted in the last
 *                                        awl_interval (TTL lifetime)
 */
void	grey_decide(const struct grey_params *p, int64_t now,
	    const struct grey_record *rec, const struct grey_awl *awl,
	    struct grey_outcome *o);

/* Whole seconds for a reply text: wait_ms rounded up, at least 0. */
long	grey_wait_seconds(int64_t wait_ms);

/* "new", "pending", "passed", "whitelisted" (log key greylist=). */
const char *grey_decision_name(enum grey_decision);

#endif
