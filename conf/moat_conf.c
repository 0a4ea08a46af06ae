/*
 * moat_conf.c: moat.conf into an immutable, refcounted struct config (see
 * moat_conf.h; STYLE.md 7).
 *
 * Every key is one row of cfg_keys[] below: name, type, flags (RESTART,
 * repeatable), the field it sets, its default as text, its bounds and a
 * line of help.  The parser, the defaults (parsed from the same text, so a
 * default can never lie outside its own bounds), cfg_dump(), the restart
 * diff and the reference in doc/config.md (cfg_doc()) all walk that table;
 * nothing about a key is written down twice.
 *
 * The file: "key value..." lines; '#' starts a comment at the beginning of
 * a line or after blank space; blank lines are ignored; keys are
 * case-sensitive.  Every error is "FILE:LINE: key: what is wrong" and the
 * first one stops the load: a half-understood config is worse than none.
 *
 * It does not resolve host names (backend and listen take numeric
 * addresses: a daemon that needs DNS to start is a daemon that does not
 * start when DNS is down), bind sockets, log, or touch any global state;
 * gethostname(3) is the only thing it asks the system besides the files.
 *
 * Invariants: a struct config returned by cfg_load() or cfg_defaults() is
 * complete (every key has its value or default, backend_helo filled in)
 * and is never written again except for its refcount.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "moat_conf.h"
#include "fdio.h"
#include "engine/sauth.h"
#include "netaddr.h"
#include "proxy_proto.h"
#include "sbuf.h"
#include "smtp_cmd.h"
#include "filesrc.h"
#include "xmalloc.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

/* Longest line we read; a config line this long is garbage, not intent. */
#define CFG_LINE_MAX	8192
/* Longest hostname/backend_helo: RFC 1035 2.3.4 (253 without the dot). */
#define CFG_DOMAIN_MAX	253
/* An SMTP reply line is 512 bytes with CRLF (RFC 5321 4.5.3.1.5). */
#define CFG_REPLY_MAX	512

enum cfg_type {
	CT_INT, CT_BOOL, CT_DURATION, CT_SIZE, CT_STRING, CT_ENUM, CT_SCORE,
	CT_SPECIAL
};

/* How the field is stored; derived from the field's C type (STORE_OF). */
enum cfg_store { CS_INT, CS_LONG, CS_SIZE, CS_ULL, CS_STR, CS_SCORE,
	CS_NONE };

#define CF_RESTART	0x01	/* a change needs a restart, not a reload */
#define CF_REPEAT	0x02	/* may appear on several lines; appends */
#define CF_REST		0x04	/* string: the rest of the line, spaces kept */
#define CF_WORDS	0x08	/* special: takes several words */

struct cfg_word {
	const char	*name;
	int		 value;
};

struct cfg_key;
struct cfg_parse;

typedef int	cfg_set_fn(struct config *, const struct cfg_key *,
		    struct cfg_parse *, int, char **, char *, size_t);
typedef void	cfg_dump_fn(const struct config *, const struct cfg_key *,
		    struct sbuf *);
typedef int	cfg_eq_fn(const struct config *, const struct config *);
typedef int	cfg_check_fn(const char *, char *, size_t);

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	unsigned	 flags;
	size_t		 off;
	enum cfg_store	 store;
	const char	*def;		/* default as written; NULL = unset */
	const char	*docdef;	/* default in the docs, if not def */
	long long	 min, max;	/* int, duration (ms), size (bytes) */
	const struct cfg_word *words;	/* enum; NULL-terminated */
	cfg_check_fn	*check;		/* string syntax */
	cfg_set_fn	*set;		/* special */
	cfg_dump_fn	*dump;		/* special */
	cfg_eq_fn	*eq;		/* special RESTART keys */
	void		(*reset)(struct config *);	/* repeatable: drop
							 * the default */
	const char	*help;
};

/*
 * The storage type comes from the field's declared type, so a table row
 * and struct config cannot disagree about the width of a field: a field of
 * a type not listed here does not compile.
 */
#define STORE_OF(f) _Generic(((struct config *)0)->f,			\
	int: CS_INT, long: CS_LONG, size_t: CS_SIZE,			\
	unsigned long long: CS_ULL, char *: CS_STR,			\
	struct cfg_score: CS_SCORE,					\
	enum cfg_identity: CS_INT, enum cfg_bare: CS_INT,		\
	enum cfg_pregreet: CS_INT, enum cfg_tls: CS_INT,		\
	enum cfg_backend_tls: CS_INT, enum cfg_auth_backend: CS_INT,	\
	enum cfg_store_kind: CS_INT, enum cfg_bayes_store: CS_INT,	\
	enum cfg_on_failure: CS_INT, enum cfg_spf_action: CS_INT)
#define F(f)	.off = offsetof(struct config, f), .store = STORE_OF(f)
#define FS(f)	.off = offsetof(struct config, f), .store = CS_NONE

/* Enum fields are written through an int pointer. */
_Static_assert(sizeof(enum cfg_identity) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_bare) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_pregreet) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_tls) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_backend_tls) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_auth_backend) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_store_kind) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_bayes_store) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_on_failure) == sizeof(int), "enum width");
_Static_assert(sizeof(enum cfg_spf_action) == sizeof(int), "enum width");

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define KB	1024LL
#define MB	(1024 * KB)
#define GB	(1024 * MB)

static const struct cfg_word w_log[] = {
	{ "stderr", 0 }, { "syslog", 1 }, { NULL, 0 }
};
static const struct cfg_word w_facility[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 }
};
static const struct cfg_word w_format[] = {
	{ "logfmt", 0 }, { "json", 1 }, { NULL, 0 }
};
static const struct cfg_word w_pregreet[] = {
	{ "reject", CFG_PREGREET_REJECT }, { "ignore", CFG_PREGREET_IGNORE },
	{ "score", CFG_PREGREET_SCORE }, { NULL, 0 }
};
static const struct cfg_word w_failure[] = {
	{ "pass", CFG_FAIL_PASS }, { "tempfail", CFG_FAIL_TEMPFAIL },
	{ NULL, 0 }
};
static const struct cfg_word w_window[] = {
	{ "fixed", 0 }, { "sliding", 1 }, { NULL, 0 }
};
static const struct cfg_word w_btls[] = {
	{ "off", CFG_BTLS_OFF }, { "opportunistic", CFG_BTLS_OPPORTUNISTIC },
	{ "required", CFG_BTLS_REQUIRED }, { NULL, 0 }
};
static const struct cfg_word w_authbe[] = {
	{ "passwd", CFG_AUTHBE_PASSWD }, { "backend", CFG_AUTHBE_MTA },
	{ NULL, 0 }
};
static const struct cfg_word w_store[] = {
	{ "memory", CFG_STORE_MEMORY }, { "redis", CFG_STORE_REDIS },
	{ NULL, 0 }
};
static const struct cfg_word w_identity[] = {
	{ "xclient", CFG_ID_XCLIENT }, { "xforward", CFG_ID_XFORWARD },
	{ "proxy-v1", CFG_ID_PROXY_V1 }, { "proxy-v2", CFG_ID_PROXY_V2 },
	{ "none", CFG_ID_NONE }, { NULL, 0 }
};
static const struct cfg_word w_bayes_store[] = {
	{ "lmdb", CFG_BAYES_LMDB }, { "redis", CFG_BAYES_REDIS }, { NULL, 0 }
};
static const struct cfg_word w_bare[] = {
	{ "normalize", CFG_BARE_NORMALIZE }, { "reject", CFG_BARE_REJECT },
	{ NULL, 0 }
};

static const struct cfg_word w_spf_action[] = {
	{ "off", CFG_SPF_OFF }, { "tag", CFG_SPF_TAG },
	{ "reject", CFG_SPF_REJECT }, { NULL, 0 }
};
static const struct cfg_word w_auth_temperror[] = {
	{ "accept", CFG_AUTH_TEMP_ACCEPT }, { "tempfail", CFG_AUTH_TEMP_TEMPFAIL },
	{ NULL, 0 }
};

static cfg_set_fn set_listen, set_local_domains, set_trusted, set_backend,
	    set_rules, set_rate;
static cfg_dump_fn dump_listen, dump_local_domains, dump_trusted,
	    dump_backend, dump_rules, dump_rate;
static cfg_eq_fn eq_listen;
static cfg_check_fn check_domain, check_text, check_abspath, check_path,
	    check_user, check_resolver, check_sites, check_domains,
	    check_hostport, check_milter_conn;
static void reset_trusted(struct config *);

static const struct cfg_key cfg_keys[] = {
	/* process */
	{ "workers", CT_INT, CF_RESTART, F(workers), "0", NULL, 0, 256,
	    .help = "worker threads; 0 = one per online CPU" },
	{ "user", CT_STRING, CF_RESTART, F(user), NULL, NULL, 0, 0,
	    .check = check_user,
	    .help = "drop privileges to this user after binding (a root "
	    "parent stays to read secrets on reload); unset = stay" },
	{ "pidfile", CT_STRING, CF_RESTART, F(pidfile), NULL, NULL, 0, 0,
	    .check = check_abspath,
	    .help = "write the process id here (absolute path); unset = "
	    "none" },
	{ "listen", CT_SPECIAL, CF_RESTART | CF_REPEAT | CF_WORDS, FS(listen), NULL,
	    "(required)", 1, CFG_LISTEN_MAX, .set = set_listen,
	    .dump = dump_listen, .eq = eq_listen,
	    .help = "ADDR:PORT [proxy=v1|v2|any] [name=WORD] "
	    "[tls=off|starttls|required|implicit] [auth=off|optional|required] "
	    "[auth_plaintext=on]; repeatable" },
	{ "listen_backlog", CT_INT, CF_RESTART, F(listen_backlog), "1024",
	    NULL, 1, 65535, .help = "listen(2) backlog of each socket" },
	{ "metrics_listen", CT_STRING, CF_RESTART, F(metrics_listen), NULL,
	    NULL, 0, 0, .check = check_hostport,
	    .help = "ADDR:PORT of the Prometheus endpoint (GET /metrics, "
	    "plain HTTP); unset = off" },

	/* logging */
	{ "log", CT_ENUM, 0, F(log_syslog), "stderr", NULL, 0, 0,
	    .words = w_log, .help = "where log lines go" },
	{ "log_facility", CT_ENUM, 0, F(log_facility), "mail", NULL, 0, 0,
	    .words = w_facility, .help = "syslog facility" },
	{ "log_format", CT_ENUM, 0, F(log_json), "logfmt", NULL, 0, 0,
	    .words = w_format, .help = "key=value lines or JSON lines" },

	/* identity and greeting */
	{ "hostname", CT_STRING, 0, F(hostname), NULL,
	    "the system's host name", 0, 0, .check = check_domain,
	    .help = "our name in the banner, EHLO reply and Received:" },
	{ "banner", CT_STRING, CF_REST, F(banner), "ESMTP moat", NULL, 0, 0,
	    .check = check_text,
	    .help = "text after \"220 hostname \" (rest of the line)" },
	{ "greet_wait", CT_DURATION, 0, F(greet_wait_ms), "3s", NULL, 0,
	    60 * SEC,
	    .help = "wait before the banner to catch pregreeting; 0 = off" },
	{ "pregreet_action", CT_ENUM, 0, F(pregreet), "reject", NULL, 0, 0,
	    .words = w_pregreet,
	    .help = "what to do with a client that talks before the banner" },

	/* extensions */
	{ "pipelining", CT_BOOL, 0, F(ext_pipelining), "on", NULL, 0, 1,
	    .help = "advertise PIPELINING (RFC 2920)" },
	{ "8bitmime", CT_BOOL, 0, F(ext_8bitmime), "on", NULL, 0, 1,
	    .help = "advertise 8BITMIME (RFC 6152) if the backend has it" },
	{ "smtputf8", CT_BOOL, 0, F(ext_smtputf8), "on", NULL, 0, 1,
	    .help = "advertise SMTPUTF8 (RFC 6531) if the backend has it" },
	{ "chunking", CT_BOOL, 0, F(ext_chunking), "on", NULL, 0, 1,
	    .help = "offer CHUNKING/BDAT (RFC 3030); off: BDAT gets 502" },
	{ "message_size_limit", CT_SIZE, 0, F(message_size_limit), "25M",
	    NULL, KB, 2 * GB,
	    .help = "largest message accepted; advertised as SIZE" },

	/* relay control */
	{ "local_domains", CT_SPECIAL, CF_REPEAT | CF_WORDS, FS(local_domains), NULL,
	    "(none)", 0, 0, .set = set_local_domains,
	    .dump = dump_local_domains,
	    .help = "domains we accept mail for; \".example.com\" = its "
	    "subdomains; repeatable" },
	{ "local_domains_file", CT_STRING, 0, F(local_domains_file), NULL,
	    NULL, 0, 0, .check = check_path,
	    .help = "more local domains, one per line (relative to the "
	    "config file)" },
	{ "trusted_networks", CT_SPECIAL, CF_REPEAT | CF_WORDS,
	    FS(trusted_networks),
	    NULL, "(none)", 0, 0, .set = set_trusted,
	    .dump = dump_trusted, .reset = reset_trusted,
	    .help = "clients that may relay without AUTH; none unless "
	    "listed; repeatable" },

	{ "received_header", CT_BOOL, 0, F(received_header), "on", NULL, 0,
	    1, .help = "add our Received: header (RFC 5321 4.4)" },

	/* the client's name (the resolvers are made when workers start) */
	{ "reverse_dns", CT_BOOL, CF_RESTART, F(reverse_dns), "on", NULL, 0,
	    1, .help = "look up the client's forward-confirmed reverse name "
	    "(FCrDNS)" },
	{ "dns_resolver", CT_STRING, CF_RESTART, F(dns_resolver), NULL,
	    "(resolv.conf)", 0, 0, .check = check_resolver,
	    .help = "nameserver to ask: IP, IPV4:PORT or [IPV6]:PORT; unset = "
	    "/etc/resolv.conf" },
	{ "dns_timeout", CT_DURATION, 0, F(dns_timeout_ms), "5s", NULL, 100,
	    60 * SEC, .help = "how long MAIL may wait for the client's name" },

	/* rules and scoring (doc/rules.md) */
	{ "rules", CT_SPECIAL, CF_REPEAT | CF_WORDS, FS(rules_files), NULL,
	    "(none)", 0, 0, .set = set_rules, .dump = dump_rules,
	    .help = "rule files to load, in order (native, or SpamAssassin "
	    "for *.cf); relative to the config file; repeatable" },
	{ "sa_rules", CT_BOOL, 0, F(sa_rules), "off", NULL, 0, 1,
	    .help = "also load SpamAssassin's configuration as spamd does" },
	{ "sa_rules_dir", CT_STRING, 0, F(sa_rules_dir), NULL,
	    "/usr/share/spamassassin", 0, 0, .check = check_abspath,
	    .help = "SpamAssassin's rules directory (its *.cf)" },
	{ "sa_site_dir", CT_STRING, 0, F(sa_site_dir), NULL,
	    "/etc/spamassassin", 0, 0, .check = check_abspath,
	    .help = "SpamAssassin's site directory (*.pre, local.cf)" },
	{ "hyperscan", CT_BOOL, 0, F(hyperscan), "off", NULL, 0, 1,
	    .help = "prefilter body/rawbody/uri/full patterns with Hyperscan, "
	    "built in the background after each load" },
	{ "hyperscan_cache", CT_STRING, 0, F(hyperscan_cache), NULL, "(none)",
	    0, 0, .check = check_abspath,
	    .help = "directory for compiled Hyperscan databases (writable by "
	    "user); unset = compile at every load" },
	{ "score_tag", CT_SCORE, 0, F(score_tag), "5", NULL, 0, 0,
	    .help = "score from which X-Spam-Flag: YES is added; a number "
	    "or off" },
	{ "score_tempfail", CT_SCORE, 0, F(score_tempfail), "off", NULL, 0,
	    0, .help = "score from which the message gets 451 4.7.1; a number "
	    "or off" },
	{ "score_reject", CT_SCORE, 0, F(score_reject), "10", NULL, 0, 0,
	    .help = "score from which the message gets 550 5.7.1 (554 at "
	    "connect); a number or off" },
	{ "auth_score_tag", CT_SCORE, 0, F(auth_score_tag), "5", NULL, 0, 0,
	    .help = "score_tag for authenticated sessions" },
	{ "auth_score_tempfail", CT_SCORE, 0, F(auth_score_tempfail), "off",
	    NULL, 0, 0,
	    .help = "score_tempfail for authenticated sessions" },
	{ "auth_score_reject", CT_SCORE, 0, F(auth_score_reject), "off", NULL,
	    0, 0,
	    .help = "score_reject for authenticated sessions (your own users: "
	    "tag rather than refuse, by default)" },
	{ "subject_prefix", CT_STRING, CF_REST, F(subject_prefix), NULL, NULL,
	    0, 0, .check = check_text,
	    .help = "put before the Subject of tagged mail; unset = none" },
	{ "reply_show_rules", CT_BOOL, 0, F(reply_show_rules), "off", NULL,
	    0, 1, .help = "name the rules hit in policy refusals" },

	/* the Bayesian classifier (doc/rules.md, "Bayes") */
	{ "bayes", CT_BOOL, 0, F(bayes), "off", NULL, 0, 1,
	    .help = "classify each message with the Bayes store, for the "
	    "BAYES_* rules" },
	{ "bayes_store", CT_ENUM, 0, F(bayes_store), "lmdb", NULL, 0, 0,
	    .words = w_bayes_store,
	    .help = "where the token counts live: lmdb (bayes_path) or "
	    "redis (redis_server, redis_db, redis_prefix)" },
	{ "bayes_path", CT_STRING, 0, F(bayes_path),
	    LOCALSTATEDIR "/lib/moat/bayes", "$localstatedir/lib/moat/bayes",
	    0, 0,
	    .check = check_abspath,
	    .help = "the LMDB directory moatctl learn writes and moatd "
	    "reads" },
	{ "bayes_min_spam", CT_INT, 0, F(bayes_min_spam), "200", NULL, 1,
	    100000000, .help = "spam messages learned before Bayes speaks" },
	{ "bayes_min_ham", CT_INT, 0, F(bayes_min_ham), "200", NULL, 1,
	    100000000, .help = "ham messages learned before Bayes speaks" },
	{ "bayes_autolearn", CT_BOOL, 0, F(bayes_autolearn), "off", NULL, 0,
	    1, .help = "learn mail whose score is past the thresholds below "
	    "(doc/rules.md: its risks)" },
	{ "bayes_autolearn_spam", CT_SCORE, 0, F(bayes_autolearn_spam), "12",
	    NULL, 0, 0,
	    .help = "learn as spam from this score (without the BAYES_* "
	    "rules); a number or off" },
	{ "bayes_autolearn_ham", CT_SCORE, 0, F(bayes_autolearn_ham), "0.1",
	    NULL, 0, 0,
	    .help = "learn as ham below this score (without the BAYES_* "
	    "rules); a number or off" },
	{ "bayes_timeout", CT_DURATION, 0, F(bayes_timeout_ms), "250ms",
	    NULL, 10, 60 * SEC,
	    .help = "bayes_store redis: deadline of one request; past it "
	    "the message goes on without Bayes" },
	{ "bayes_redis_seen_ttl", CT_DURATION, 0, F(bayes_redis_seen_ttl_ms),
	    "365d", NULL, 60 * SEC, 3650 * 86400 * SEC,
	    .help = "bayes_store redis: expiry of learned message digests "
	    "and of token buckets not learned into" },

	/* greylisting and its store (doc/greylisting.md) */
	{ "greylist", CT_BOOL, 0, F(greylist), "off", NULL, 0, 1,
	    .help = "greylist new (client, sender, recipient) triplets" },
	{ "greylist_delay", CT_DURATION, 0, F(greylist_delay_ms), "5m", NULL,
	    0, 24 * HOUR, .help = "a retry passes after this" },
	{ "greylist_retry_window", CT_DURATION, 0,
	    F(greylist_retry_window_ms), "2d", NULL, SEC, 30 * 24 * HOUR,
	    .help = "how long a pending triplet waits for its retry" },
	{ "greylist_pass_lifetime", CT_DURATION, 0,
	    F(greylist_pass_lifetime_ms), "35d", NULL, SEC, 365 * 24 * HOUR,
	    .help = "how long a passed triplet stays passed (refreshed on "
	    "use)" },
	{ "greylist_awl_passes", CT_INT, 0, F(greylist_awl_passes), "5", NULL,
	    0, 1000000, .help = "whitelist a client network after this many "
	    "passed deliveries; 0 = never" },
	{ "greylist_awl_interval", CT_DURATION, 0,
	    F(greylist_awl_interval_ms), "1h", NULL, 0, 30 * 24 * HOUR,
	    .help = "at most one counted pass per client network per this" },
	{ "greylist_ipv4_prefix", CT_INT, 0, F(greylist_ipv4_prefix), "24",
	    NULL, 8, 32, .help = "the client part of an IPv4 client" },
	{ "greylist_ipv6_prefix", CT_INT, 0, F(greylist_ipv6_prefix), "64",
	    NULL, 16, 128, .help = "the client part of an IPv6 client" },
	{ "greylist_fcrdns", CT_BOOL, 0, F(greylist_fcrdns), "on", NULL, 0, 1,
	    .help = "key by the forward-confirmed reverse name minus its "
	    "first label, where sound" },
	{ "greylist_min_score", CT_SCORE, 0, F(greylist_min_score), "0",
	    NULL, 0, 0,
	    .help = "greylist only transactions whose score before DATA "
	    "reaches this; 0 = every one" },
	{ "greylist_on_store_failure", CT_ENUM, 0,
	    F(greylist_on_store_failure), "pass", NULL, 0, 0,
	    .words = w_failure,
	    .help = "when the store cannot answer in time: let the "
	    "recipient pass, or 451 4.7.1" },
	{ "greylist_cache_ttl", CT_DURATION, 0, F(greylist_cache_ttl_ms), "60s",
	    NULL, 0, HOUR,
	    .help = "each worker remembers passed triplets this long and "
	    "asks the store less; 0 = ask every time" },
	{ "greylist_whitelist", CT_STRING, 0, F(greylist_whitelist), NULL,
	    NULL, 0, 0, .check = check_path,
	    .help = "file of clients, names, senders and recipients that "
	    "skip greylisting (doc/greylisting.md); relative to the config "
	    "file; re-read on reload" },
	{ "store", CT_ENUM, CF_RESTART, F(store_kind), "memory", NULL, 0, 0,
	    .words = w_store,
	    .help = "where greylist state lives: this process, or Redis "
	    "(shared by every moatd)" },
	{ "store_memory_max_entries", CT_INT, CF_RESTART,
	    F(store_memory_max_entries), "1000000", NULL, 1000, 100000000,
	    .help = "bound of the memory store" },
	{ "redis_server", CT_STRING, CF_RESTART, F(redis_server),
	    "127.0.0.1:6379", NULL, 0, 0, .check = check_path,
	    .help = "IPV4:PORT, [IPV6]:PORT or unix:/path" },
	{ "redis_user", CT_STRING, CF_RESTART, F(redis_user), NULL, NULL, 0, 0,
	    .help = "ACL user (AUTH user password); unset = AUTH password" },
	{ "redis_password_file", CT_STRING, CF_RESTART, F(redis_password_file),
	    NULL, NULL, 0, 0, .check = check_abspath,
	    .help = "file holding the Redis password, read at start" },
	{ "redis_db", CT_INT, CF_RESTART, F(redis_db), "0", NULL, 0, 1000,
	    .help = "database number (SELECT)" },
	{ "redis_prefix", CT_STRING, CF_RESTART, F(redis_prefix), "moat:",
	    NULL, 0, 0, .help = "prefix of every key moat writes" },
	{ "redis_timeout", CT_DURATION, CF_RESTART, F(redis_timeout_ms),
	    "250ms", NULL, 10, 60 * SEC,
	    .help = "deadline of one store request" },

	/* rate limits (counted in the store) */
	{ "ratelimit_conn_per_ip", CT_SPECIAL, 0, FS(ratelimit_conn_per_ip),
	    NULL, "off", 0, 0, .set = set_rate, .dump = dump_rate,
	    .help = "N/DURATION: connections per client address; past it "
	    "421 4.7.0" },
	{ "ratelimit_msg_per_ip", CT_SPECIAL, 0, FS(ratelimit_msg_per_ip),
	    NULL, "off", 0, 0, .set = set_rate, .dump = dump_rate,
	    .help = "N/DURATION: transactions (MAIL) per client address; past "
	    "it 451 4.7.0" },
	{ "ratelimit_rcpt_per_sender", CT_SPECIAL, 0,
	    FS(ratelimit_rcpt_per_sender), NULL, "off", 0, 0, .set = set_rate,
	    .dump = dump_rate,
	    .help = "N/DURATION: recipients per envelope sender; past it "
	    "451 4.7.0" },
	{ "ratelimit_msg_per_user", CT_SPECIAL, 0, FS(ratelimit_msg_per_user),
	    NULL, "off", 0, 0, .set = set_rate, .dump = dump_rate,
	    .help = "N/DURATION: transactions per authenticated login; past "
	    "it 451 4.7.0" },
	{ "ratelimit_window", CT_ENUM, 0, F(ratelimit_sliding), "sliding", NULL,
	    0, 0, .words = w_window,
	    .help = "sliding (two-window estimate) or fixed windows" },
	{ "ratelimit_on_store_failure", CT_ENUM, 0,
	    F(ratelimit_on_store_failure), "pass", NULL, 0, 0,
	    .words = w_failure,
	    .help = "when the store cannot answer in time: let it pass, or "
	    "refuse with 4xx" },

	/* TLS toward clients (listen ... tls=) */
	{ "tls_cert", CT_STRING, 0, F(tls_cert), NULL, NULL, 0, 0,
	    .check = check_abspath,
	    .help = "PEM certificate chain (server first); reloaded on "
	    "SIGHUP" },
	{ "tls_key", CT_STRING, 0, F(tls_key), NULL, NULL, 0, 0,
	    .check = check_abspath, .help = "PEM private key" },
	{ "tls_min_version", CT_STRING, 0, F(tls_min_version), "TLSv1.2",
	    NULL, 0, 0, .help = "TLSv1.2 or TLSv1.3" },
	{ "tls_ciphers", CT_STRING, 0, F(tls_ciphers), NULL,
	    "(forward-secret AEAD)", 0, 0,
	    .help = "OpenSSL cipher list for TLS 1.2" },
	{ "tls_handshake_timeout", CT_DURATION, 0,
	    F(tls_handshake_timeout_ms), "30s", NULL, SEC, 10 * MIN,
	    .help = "a TLS handshake must finish within this" },

	/* SMTP AUTH (listen ... auth=) */
	{ "auth_backend", CT_ENUM, 0, F(auth_backend), "passwd", NULL, 0, 0,
	    .words = w_authbe,
	    .help = "who checks passwords: the passwd file, or the MTA behind "
	    "us (one AUTH PLAIN there; success only on its 235)" },
	{ "passwd", CT_STRING, 0, F(passwd), NULL, NULL, 0, 0,
	    .check = check_abspath,
	    .help = "login:crypt-hash file (yescrypt, bcrypt, sha512-crypt); "
	    "read at start and on reload" },
	{ "sender_login_map", CT_STRING, 0, F(sender_login_map), NULL, NULL,
	    0, 0, .check = check_abspath,
	    .help = "login: addresses and @domains it may send as; unset = "
	    "any sender" },
	{ "auth_threads", CT_INT, CF_RESTART, F(auth_threads), "2", NULL, 1,
	    16, .help = "password hashing threads (off the event loop)" },
	{ "auth_fail_limit", CT_SPECIAL, 0, FS(auth_fail_limit), "10/10m",
	    NULL, 0, 0, .set = set_rate, .dump = dump_rate,
	    .help = "N/DURATION: failed AUTH per client address; past it "
	    "421 4.7.0 and new connections refused until the window passes" },
	{ "auth_fail_net_limit", CT_SPECIAL, 0, FS(auth_fail_net_limit),
	    "30/10m", NULL, 0, 0, .set = set_rate, .dump = dump_rate,
	    .help = "N/DURATION: failed AUTH per client network (/24, /64)" },

	/* backend */
	{ "backend", CT_SPECIAL, 0, FS(backend), NULL, "(required)", 0, 0,
	    .set = set_backend, .dump = dump_backend,
	    .help = "the MTA behind us: IPV4:PORT or [IPV6]:PORT" },
	{ "backend_identity", CT_ENUM, 0, F(backend_identity), "xclient",
	    NULL, 0, 0, .words = w_identity,
	    .help = "how the backend learns the client's address" },
	{ "backend_helo", CT_STRING, 0, F(backend_helo), NULL, "= hostname",
	    0, 0, .check = check_domain,
	    .help = "the name we give in EHLO to the backend" },
	{ "backend_connect_timeout", CT_DURATION, 0,
	    F(backend_connect_timeout_ms), "30s", NULL, 100, 10 * MIN,
	    .help = "connecting to the backend, banner included" },
	{ "backend_reply_timeout", CT_DURATION, 0,
	    F(backend_reply_timeout_ms), "300s", NULL, SEC, HOUR,
	    .help = "a backend reply to EHLO, MAIL, RCPT, DATA" },
	{ "backend_data_timeout", CT_DURATION, 0, F(backend_data_timeout_ms),
	    "600s", NULL, SEC, 2 * HOUR,
	    .help = "sending a message and its final reply" },
	{ "backend_check", CT_BOOL, 0, F(backend_check), "on", NULL, 0, 1,
	    .help = "probe the backend's EHLO at start and on reload" },
	{ "backend_tls", CT_ENUM, 0, F(backend_tls), "off", NULL, 0, 0,
	    .words = w_btls,
	    .help = "STARTTLS toward the backend: off, opportunistic (if "
	    "offered) or required (else 4xx)" },
	{ "backend_tls_ca", CT_STRING, 0, F(backend_tls_ca), NULL, NULL, 0, 0,
	    .check = check_abspath,
	    .help = "CA file to verify the backend with; unset = encrypt "
	    "without verifying" },
	{ "backend_tls_name", CT_STRING, 0, F(backend_tls_name), NULL,
	    "(the backend address)", 0, 0,
	    .help = "name the backend's certificate must carry" },

	/* DATA */
	{ "bare_newline", CT_ENUM, 0, F(bare_newline), "normalize", NULL, 0,
	    0, .words = w_bare,
	    .help = "bare CR or LF in DATA: make it CRLF, or refuse the "
	    "message" },
	{ "data_line_max", CT_SIZE, 0, F(data_line_max), "32768", NULL, 1000,
	    1048576,
	    .help = "longest DATA line accepted (RFC 5322 says 998; real "
	    "mail does not)" },
	{ "message_memory_max", CT_SIZE, 0, F(message_memory_max), "1M",
	    NULL, 4 * KB, 256 * MB,
	    .help = "message bytes kept in memory before spooling to disk" },
	{ "spool_dir", CT_STRING, 0, F(spool_dir), LOCALSTATEDIR
	    "/spool/moat", "$localstatedir/spool/moat", 0, 0,
	    .check = check_abspath,
	    .help = "where large messages are spooled (mode 0600 files)" },

	/* bounds */
	{ "command_line_max", CT_SIZE, 0, F(command_line_max), "1024", NULL,
	    512, 4096,
	    .help = "longest command line (RFC 5321 512 plus ESMTP "
	    "parameters)" },
	{ "max_recipients", CT_INT, 0, F(max_recipients), "1000", NULL, 1,
	    100000, .help = "RCPTs per transaction" },
	{ "max_commands", CT_INT, 0, F(max_commands), "10000", NULL, 10,
	    1000000, .help = "commands per session" },
	{ "max_errors", CT_INT, 0, F(max_errors), "20", NULL, 1, 1000,
	    .help = "bad commands per session, then 421 and close" },
	{ "max_sessions", CT_INT, 0, F(max_sessions), "10000", NULL, 1,
	    1000000, .help = "concurrent sessions, whole daemon" },
	{ "max_sessions_per_ip", CT_INT, 0, F(max_sessions_per_ip), "50",
	    NULL, 1, 1000000, .help = "concurrent sessions per client address" },

	/* client timeouts */
	{ "timeout_command", CT_DURATION, 0, F(timeout_command_ms), "300s",
	    NULL, SEC, HOUR,
	    .help = "waiting for a command (RFC 5321 4.5.3.2.7)" },
	{ "timeout_data", CT_DURATION, 0, F(timeout_data_ms), "600s", NULL,
	    SEC, 2 * HOUR, .help = "the whole DATA phase" },
	{ "drain_timeout", CT_DURATION, 0, F(drain_timeout_ms), "30s", NULL,
	    0, HOUR, .help = "on SIGTERM, how long sessions may finish" },

	/* sender authentication and DNS lists (issue 16; doc/config.md
	 * "Sender authentication": parsed now, used once integrated) */
	{ "spf", CT_BOOL, 0, F(spf), "on", NULL, 0, 1,
	    .help = "check SPF (RFC 7208) of MAIL FROM, and of HELO" },
	{ "spf_fail_action", CT_ENUM, 0, F(spf_fail_action), "tag", NULL, 0,
	    0, .words = w_spf_action,
	    .help = "SPF fail: score it (tag), refuse RCPT with 550 5.7.23 "
	    "(reject), or neither (off)" },
	{ "dkim", CT_BOOL, 0, F(dkim), "on", NULL, 0, 1,
	    .help = "verify DKIM signatures (RFC 6376) at end of DATA" },
	{ "dmarc", CT_BOOL, 0, F(dmarc), "on", NULL, 0, 1,
	    .help = "evaluate DMARC (RFC 7489) for the From domain" },
	{ "dmarc_enforce", CT_BOOL, 0, F(dmarc_enforce), "off", NULL, 0, 1,
	    .help = "refuse (550 5.7.1) failing mail under p=reject; off = "
	    "score only" },
	{ "authserv_id", CT_STRING, 0, F(authserv_id), NULL, "= hostname", 0,
	    0, .check = check_domain,
	    .help = "our name in Authentication-Results; fields from outside "
	    "with it are removed" },
	{ "dnsbl_sites", CT_STRING, CF_REST, F(dnsbl_sites), NULL, "(none)", 0,
	    0, .check = check_sites,
	    .help = "client address lists: ZONE[=ANSWER][*WEIGHT] ..., as "
	    "postscreen_dnsbl_sites" },
	{ "dnsbl_threshold", CT_INT, 0, F(dnsbl_threshold), "1", NULL, 1,
	    1000, .help = "summed dnsbl_sites weight that refuses at connect" },
	{ "rhsbl_sites", CT_STRING, CF_REST, F(rhsbl_sites), NULL, "(none)", 0,
	    0, .check = check_sites,
	    .help = "domain lists for the sender and HELO domains, same "
	    "syntax" },
	{ "uribl_sites", CT_STRING, CF_REST, F(uribl_sites), NULL, "(none)", 0,
	    0, .check = check_sites,
	    .help = "domain lists for the hosts of URIs in the message, same "
	    "syntax" },
	{ "auth_deadline", CT_DURATION, 0, F(auth_deadline_ms), "10s", NULL,
	    100, MIN, .help = "per message, all sender-authentication DNS; "
	    "checks not done by then are temperror" },
	{ "auth_temperror", CT_ENUM, 0, F(auth_temperror), "accept", NULL, 0,
	    0, .words = w_auth_temperror,
	    .help = "SPF or DMARC temperror: go on, no score (accept), or "
	    "451 4.4.3 (tempfail)" },
	{ "dmarc_forwarders", CT_STRING, CF_REST, F(dmarc_forwarders), NULL,
	    "(none)", 0, 0, .check = check_domains,
	    .help = "forwarders and lists (client name or SPF-passed sender "
	    "domain, and subdomains) dmarc_enforce never refuses" },

	/* moat-milter (issue 15; doc/moat-milter.8): moatd ignores these */
	{ "milter_listen", CT_STRING, CF_RESTART, F(milter_listen),
	    "inet:8894@127.0.0.1", NULL, 0, 0, .check = check_milter_conn,
	    .help = "moat-milter's socket: unix:/ABSOLUTE/PATH or "
	    "inet:PORT@IPv4 | inet6:PORT@IPv6 (numeric)" },
	{ "milter_max_inflight", CT_INT, 0, F(milter_max_inflight), "1000",
	    NULL, 1, 1000000,
	    .help = "moat-milter: transactions in progress at once; a MAIL "
	    "past it gets 451 4.3.2" },
	{ "milter_timeout", CT_DURATION, 0, F(milter_timeout_ms), "10s", NULL,
	    100, 5 * MIN,
	    .help = "moat-milter: how long one callback waits for the "
	    "engine, then tempfail (keep it below Postfix's "
	    "milter_command_timeout)" },
	{ "milter_quarantine_score", CT_SCORE, 0, F(milter_quarantine_score),
	    "off", NULL, 0, 0,
	    .help = "moat-milter: a message scoring at least this (and not "
	    "refused) goes to the MTA's hold queue (smfi_quarantine)" },
};

#define NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* What the parser knows while reading one file. */
struct cfg_parse {
	const char	*file;
	int		 line;
	int		 seen[NKEYS];	/* line a key was first set, or 0 */
};

/* ---- small helpers ---- */

/*
 * Put a token from the file into a message: at most 64 bytes, anything
 * unprintable as '?', so an error about garbage is not garbage itself.
 */
static const char *
tok(const char *s, char *buf, size_t bufsz)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && o + 4 < bufsz && i < 64; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0' && o + 4 <= bufsz) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

#define TOKBUF	72

static void *
field(struct config *c, const struct cfg_key *k)
{
	return (char *)c + k->off;
}

static const void *
cfield(const struct config *c, const struct cfg_key *k)
{
	return (const char *)c + k->off;
}

static const struct cfg_key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

/*
 * Decimal digits into *v with an optional unit suffix parsed by the
 * caller: returns the end of the digits, or NULL if there are none.
 * *ovf is set if the digits do not fit in an unsigned long long.
 */
static const char *
digits(const char *s, unsigned long long *v, int *ovf)
{
	const char *p = s;
	unsigned long long n = 0;

	*ovf = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			*ovf = 1;
		else
			n = n * 10 + (unsigned)(*p - '0');
	}
	*v = n;
	return p == s ? NULL : p;
}

/* 0 ok, -1 syntax, -2 too large. */
static int
parse_duration(const char *s, long *ms)
{
	unsigned long long n, mult;
	const char *p;
	int ovf;

	if ((p = digits(s, &n, &ovf)) == NULL)
		return -1;
	if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "s") == 0 || *p == '\0')
		mult = SEC;
	else if (strcmp(p, "m") == 0)
		mult = MIN;
	else if (strcmp(p, "h") == 0)
		mult = HOUR;
	else if (strcmp(p, "d") == 0)
		mult = 24 * HOUR;
	else
		return -1;
	if (ovf || n > (unsigned long long)LONG_MAX / mult)
		return -2;
	*ms = (long)(n * mult);
	return 0;
}

/* 0 ok, -1 syntax, -2 too large. */
static int
parse_size(const char *s, unsigned long long *v)
{
	unsigned long long n, mult;
	const char *p;
	int ovf;

	if ((p = digits(s, &n, &ovf)) == NULL)
		return -1;
	if (*p == '\0')
		mult = 1;
	else if (p[1] != '\0')
		return -1;
	else if (*p == 'k' || *p == 'K')
		mult = KB;
	else if (*p == 'm' || *p == 'M')
		mult = MB;
	else if (*p == 'g' || *p == 'G')
		mult = GB;
	else
		return -1;
	if (ovf || n > ULLONG_MAX / mult)
		return -2;
	*v = n * mult;
	return 0;
}

/*
 * cfg_parse_duration_ms: "250ms", "30s", "5m", "2h", "1d"; a bare number
 * is seconds (as in Postfix).  No sign, no spaces, one unit.  Returns 0
 * with *ms set, or -1 (syntax, or more than LONG_MAX ms).
 */
int
cfg_parse_duration_ms(const char *s, long *ms)
{
	return parse_duration(s, ms) == 0 ? 0 : -1;
}

/*
 * cfg_parse_size: bytes, or with k/M/G (either case, powers of 1024).
 * Returns 0 with *v set, or -1 (syntax or overflow).
 */
int
cfg_parse_size(const char *s, unsigned long long *v)
{
	return parse_size(s, v) == 0 ? 0 : -1;
}

/*
 * cfg_parse_bool: on/off, yes/no, true/false, 1/0, lower case only (as
 * every value word in the file).  Returns 0 with *v 1 or 0, or -1.
 */
int
cfg_parse_bool(const char *s, int *v)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "yes") == 0 ||
	    strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*v = 1;
	else if (strcmp(s, "off") == 0 || strcmp(s, "no") == 0 ||
	    strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

static void
set_sin(struct sockaddr_storage *ss, socklen_t *len, const unsigned char *a4,
    unsigned port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, a4, 4);
	sin.sin_port = htons((unsigned short)port);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

/*
 * cfg_parse_hostport: "1.2.3.4:25", "[2001:db8::1]:25", "*:25" (0.0.0.0),
 * "[::]:25".  Addresses are numeric only; an IPv6 address needs brackets
 * (otherwise the port is ambiguous); a v4-mapped v6 address becomes v4;
 * the port is 1..65535 in decimal without leading zeros.  Returns 0 with
 * ss and len set, or -1.
 */
int
cfg_parse_hostport(const char *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char a[16];
	struct sockaddr_in6 sin6;
	const char *colon, *p;
	unsigned port = 0;
	size_t alen;
	int v6 = 0;

	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		alen = (size_t)(p - s - 1);
		if (alen == 0 || alen >= sizeof(addr))
			return -1;
		memcpy(addr, s + 1, alen);
		addr[alen] = '\0';
		if (inet_pton(AF_INET6, addr, a) != 1)
			return -1;
		v6 = 1;
		colon = p + 1;
	} else {
		if ((colon = strchr(s, ':')) == NULL)
			return -1;
		alen = (size_t)(colon - s);
		if (alen == 1 && s[0] == '*')
			memset(a, 0, 4);
		else {
			if (alen == 0 || alen >= sizeof(addr))
				return -1;
			memcpy(addr, s, alen);
			addr[alen] = '\0';
			if (inet_pton(AF_INET, addr, a) != 1)
				return -1;
		}
	}
	p = colon + 1;
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		port = port * 10 + (unsigned)(*p - '0');
		if (port > 65535)
			return -1;
	}
	if (*p != '\0')
		return -1;

	if (v6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)a)) {
		set_sin(ss, len, a + 12, port);
		return 0;
	}
	if (!v6) {
		set_sin(ss, len, a, port);
		return 0;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, a, 16);
	sin6.sin6_port = htons((unsigned short)port);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin6, sizeof(sin6));
	*len = sizeof(sin6);
	return 0;
}

/* The duration in the largest unit that divides it: 3s, 5m, 250ms. */
static void
fmt_duration(char *buf, size_t bufsz, long long ms)
{
	if (ms != 0 && ms % (24 * HOUR) == 0)
		snprintf(buf, bufsz, "%lldd", ms / (24 * HOUR));
	else if (ms != 0 && ms % HOUR == 0)
		snprintf(buf, bufsz, "%lldh", ms / HOUR);
	else if (ms != 0 && ms % MIN == 0)
		snprintf(buf, bufsz, "%lldm", ms / MIN);
	else if (ms % SEC == 0)
		snprintf(buf, bufsz, "%llds", ms / SEC);
	else
		snprintf(buf, bufsz, "%lldms", ms);
}

static void
fmt_size(char *buf, size_t bufsz, unsigned long long v)
{
	if (v != 0 && v % GB == 0)
		snprintf(buf, bufsz, "%lluG", v / GB);
	else if (v != 0 && v % MB == 0)
		snprintf(buf, bufsz, "%lluM", v / MB);
	else if (v != 0 && v % KB == 0)
		snprintf(buf, bufsz, "%lluk", v / KB);
	else
		snprintf(buf, bufsz, "%llu", v);
}

/* The bounds as the user writes them, for messages and docs. */
static void
fmt_bound(char *buf, size_t bufsz, const struct cfg_key *k, long long v)
{
	switch (k->type) {
	case CT_DURATION:
		fmt_duration(buf, bufsz, v);
		break;
	case CT_SIZE:
		fmt_size(buf, bufsz, (unsigned long long)v);
		break;
	default:
		snprintf(buf, bufsz, "%lld", v);
		break;
	}
}

static void
fmt_range(char *buf, size_t bufsz, const struct cfg_key *k)
{
	char lo[32], hi[32];

	fmt_bound(lo, sizeof(lo), k, k->min);
	fmt_bound(hi, sizeof(hi), k, k->max);
	snprintf(buf, bufsz, "%s..%s", lo, hi);
}

static void
store_num(struct config *c, const struct cfg_key *k, unsigned long long v)
{
	void *p = field(c, k);

	switch (k->store) {
	case CS_INT:
		*(int *)p = (int)v;
		break;
	case CS_LONG:
		*(long *)p = (long)v;
		break;
	case CS_SIZE:
		*(size_t *)p = (size_t)v;
		break;
	case CS_ULL:
		*(unsigned long long *)p = v;
		break;
	default:
		abort();	/* a table row with a numeric type and no
				 * numeric field: a bug, caught by tests */
	}
}

static unsigned long long
load_num(const struct config *c, const struct cfg_key *k)
{
	const void *p = cfield(c, k);

	switch (k->store) {
	case CS_INT:
		return (unsigned long long)(long long)*(const int *)p;
	case CS_LONG:
		return (unsigned long long)(long long)*(const long *)p;
	case CS_SIZE:
		return *(const size_t *)p;
	case CS_ULL:
		return *(const unsigned long long *)p;
	default:
		abort();
	}
}

/* ---- string checks ---- */

/*
 * A domain as RFC 1035 names hosts: labels of letters, digits and hyphens,
 * 1..63 bytes, not starting or ending with a hyphen, 253 bytes in all, no
 * trailing dot.  lead_dot allows ".example.com" (its subdomains).
 */
static int
domain_syntax_ok(const char *s, int lead_dot)
{
	size_t n = strlen(s), label = 0, i;

	if (lead_dot && s[0] == '.') {
		s++;
		n--;
	}
	if (n == 0 || n > CFG_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
		if (label == 0 && s[i] == '-')
			return 0;
		label++;
	}
	return 1;
}

static int
check_domain(const char *s, char *msg, size_t msgsz)
{
	char t[TOKBUF];

	if (domain_syntax_ok(s, 0))
		return 0;
	snprintf(msg, msgsz, "\"%s\" is not a valid domain name (letters, "
	    "digits, hyphens and dots)", tok(s, t, sizeof(t)));
	return -1;
}

int
cfg_parse_score(const char *s, struct cfg_score *out)
{
	char *end;
	double v;

	if (strcmp(s, "off") == 0) {
		out->on = 0;
		out->v = 0;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
		return -1;
	out->on = 1;
	out->v = v;
	return 0;
}

/* The shortest "%g" that reads back as v, so a dump round-trips. */
static void
fmt_score(char *buf, size_t bufsz, const struct cfg_score *sc)
{
	int prec;

	if (!sc->on) {
		snprintf(buf, bufsz, "off");
		return;
	}
	for (prec = 6; prec < 17; prec++) {
		snprintf(buf, bufsz, "%.*g", prec, sc->v);
		if (strtod(buf, NULL) == sc->v)
			return;
	}
	snprintf(buf, bufsz, "%.17g", sc->v);
}

/* Reply text: printable ASCII only, since it goes out in SMTP replies. */
static int
check_text(const char *s, char *msg, size_t msgsz)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f) {
			snprintf(msg, msgsz, "byte 0x%02x at offset %zu is "
			    "not printable ASCII", (unsigned char)s[i], i);
			return -1;
		}
	if (i > 400) {
		snprintf(msg, msgsz, "longer than 400 bytes");
		return -1;
	}
	return 0;
}

static int
check_path(const char *s, char *msg, size_t msgsz)
{
	if (strlen(s) >= PATH_MAX) {
		snprintf(msg, msgsz, "path longer than %d bytes", PATH_MAX);
		return -1;
	}
	return 0;
}

/*
 * The daemon changes directory (and may chroot) after reading the config:
 * a relative pidfile or spool would land somewhere surprising.
 */
static int
check_abspath(const char *s, char *msg, size_t msgsz)
{
	char t[TOKBUF];

	if (s[0] != '/') {
		snprintf(msg, msgsz, "\"%s\" is not an absolute path",
		    tok(s, t, sizeof(t)));
		return -1;
	}
	return check_path(s, msg, msgsz);
}

/* ADDR:PORT as listen takes it (numeric, so no resolver at start). */
static int
check_hostport(const char *s, char *msg, size_t msgsz)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char t[TOKBUF];

	if (cfg_parse_hostport(s, &ss, &len) == -1) {
		snprintf(msg, msgsz, "\"%s\" is not ADDR:PORT (numeric IPv4, "
		    "[IPv6] or *, port 1..65535)", tok(s, t, sizeof(t)));
		return -1;
	}
	return 0;
}

/*
 * moat-milter's socket as libmilter's smfi_setconn takes it, numeric only
 * (no resolver at start): unix:/abs/path (or local:), inet:PORT@IPv4,
 * inet6:PORT@IPv6.  A bare "inet:PORT" would listen on every address.
 */
static int
check_milter_conn(const char *s, char *msg, size_t msgsz)
{
	unsigned char a[16];
	const char *at, *s0 = s;
	char t[TOKBUF];
	unsigned long port;
	char *end;
	int v6;

	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0)
		return check_abspath(strchr(s, ':') + 1, msg, msgsz);
	v6 = strncmp(s, "inet6:", 6) == 0;
	if (!v6 && strncmp(s, "inet:", 5) != 0)
		goto bad;
	s += v6 ? 6 : 5;
	errno = 0;
	port = strtoul(s, &end, 10);
	if (end == s || *end != '@' || errno != 0 || port == 0 ||
	    port > 65535)
		goto bad;
	at = end + 1;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, at, a) != 1)
		goto bad;
	return 0;
bad:
	snprintf(msg, msgsz, "\"%s\" is not unix:/PATH, inet:PORT@IPv4 or "
	    "inet6:PORT@IPv6", tok(s0, t, sizeof(t)));
	return -1;
}

/* A user name as useradd(8) takes it, or a number. */
static int
check_user(const char *s, char *msg, size_t msgsz)
{
	char t[TOKBUF];
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-' || s[i] == '.'))
			break;
	if (s[i] == '\0' && i <= 32 && s[0] != '-')
		return 0;
	snprintf(msg, msgsz, "\"%s\" is not a user name", tok(s, t,
	    sizeof(t)));
	return -1;
}

/* DNS list sites, postscreen's syntax (engine/sauth_ar.c). */
static int
check_sites(const char *s, char *msg, size_t msgsz)
{
	struct sauth_sites *sites = xmalloc(sizeof(*sites));
	int rc;

	rc = sauth_sites_parse(s, sites, msg, msgsz);
	free(sites);
	return rc;
}

/* Space-separated domain names (dmarc_forwarders). */
static int
check_domains(const char *s, char *msg, size_t msgsz)
{
	char w[256];
	size_t n;

	for (;;) {
		s += strspn(s, " \t");
		if ((n = strcspn(s, " \t")) == 0)
			return 0;
		if (n >= sizeof(w)) {
			snprintf(msg, msgsz, "a domain name is too long");
			return -1;
		}
		memcpy(w, s, n);
		w[n] = '\0';
		if (check_domain(w, msg, msgsz) == -1)
			return -1;
		s += n;
	}
}

/* What evdns_base_nameserver_ip_add() takes, numeric only. */
static int
check_resolver(const char *s, char *msg, size_t msgsz)
{
	struct sockaddr_storage ss;
	struct netaddr na;
	socklen_t len;
	char t[TOKBUF];

	if (netaddr_parse(&na, s) == 0 || (s[0] != '*' &&
	    cfg_parse_hostport(s, &ss, &len) == 0))
		return 0;
	snprintf(msg, msgsz, "\"%s\" is not IP, IPV4:PORT or [IPV6]:PORT",
	    tok(s, t, sizeof(t)));
	return -1;
}

/* ---- special keys ---- */

static int
word_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-' || s[i] == '.'))
			return 0;
	return i > 0;
}

static int
set_listen(struct config *c, const struct cfg_key *k, struct cfg_parse *ps,
    int argc, char **argv, char *msg, size_t msgsz)
{
	struct cfg_listen l;
	char t[TOKBUF];
	int i, have_proxy = 0, have_name = 0, have_tls = 0, have_auth = 0;

	(void)k;
	(void)ps;
	memset(&l, 0, sizeof(l));
	if (c->nlisten >= CFG_LISTEN_MAX) {
		snprintf(msg, msgsz, "at most %d listen lines",
		    CFG_LISTEN_MAX);
		return -1;
	}
	if (strlen(argv[0]) >= sizeof(l.text) ||
	    cfg_parse_hostport(argv[0], &l.addr, &l.addrlen) == -1) {
		snprintf(msg, msgsz, "\"%s\" is not ADDR:PORT (numeric IPv4, "
		    "[IPv6] or *, port 1..65535)", tok(argv[0], t, sizeof(t)));
		return -1;
	}
	strcpy(l.text, argv[0]);
	strcpy(l.name, "smtp");
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "proxy=", 6) == 0 && !have_proxy) {
			have_proxy = 1;
			if (strcmp(argv[i] + 6, "v1") == 0)
				l.proxy_accept = PROXY_ACCEPT_V1;
			else if (strcmp(argv[i] + 6, "v2") == 0)
				l.proxy_accept = PROXY_ACCEPT_V2;
			else if (strcmp(argv[i] + 6, "any") == 0)
				l.proxy_accept = PROXY_ACCEPT_V1 |
				    PROXY_ACCEPT_V2;
			else {
				snprintf(msg, msgsz, "\"%s\": proxy= takes "
				    "v1, v2 or any", tok(argv[i], t,
				    sizeof(t)));
				return -1;
			}
		} else if (strncmp(argv[i], "name=", 5) == 0 && !have_name) {
			have_name = 1;
			if (!word_ok(argv[i] + 5) ||
			    strlen(argv[i] + 5) >= sizeof(l.name)) {
				snprintf(msg, msgsz, "\"%s\": name= takes a "
				    "word of 1..%zu letters, digits, '.', '_' "
				    "or '-'", tok(argv[i], t, sizeof(t)),
				    sizeof(l.name) - 1);
				return -1;
			}
			strcpy(l.name, argv[i] + 5);
		} else if (strncmp(argv[i], "tls=", 4) == 0 && !have_tls) {
			static const char *const modes[] = { "off", "starttls",
			    "required", "implicit" };
			size_t m;

			have_tls = 1;
			for (m = 0; m < 4; m++)
				if (strcmp(argv[i] + 4, modes[m]) == 0)
					break;
			if (m == 4) {
				snprintf(msg, msgsz, "\"%s\": tls= takes off, "
				    "starttls, required or implicit",
				    tok(argv[i], t, sizeof(t)));
				return -1;
			}
			l.tls = (enum cfg_tls)m;
		} else if (strncmp(argv[i], "auth=", 5) == 0 && !have_auth) {
			have_auth = 1;
			if (strcmp(argv[i] + 5, "off") == 0)
				l.auth = CFG_AUTH_OFF;
			else if (strcmp(argv[i] + 5, "optional") == 0)
				l.auth = CFG_AUTH_OPTIONAL;
			else if (strcmp(argv[i] + 5, "required") == 0)
				l.auth = CFG_AUTH_REQUIRED;
			else {
				snprintf(msg, msgsz, "\"%s\": auth= takes off, "
				    "optional or required", tok(argv[i], t,
				    sizeof(t)));
				return -1;
			}
		} else if (strncmp(argv[i], "auth_plaintext=", 15) == 0) {
			if (cfg_parse_bool(argv[i] + 15, &l.auth_plaintext)
			    == -1) {
				snprintf(msg, msgsz, "\"%s\": auth_plaintext= "
				    "takes on or off", tok(argv[i], t,
				    sizeof(t)));
				return -1;
			}
		} else if (strncmp(argv[i], "proxy=", 6) == 0 ||
		    strncmp(argv[i], "name=", 5) == 0 ||
		    strncmp(argv[i], "tls=", 4) == 0 ||
		    strncmp(argv[i], "auth=", 5) == 0) {
			snprintf(msg, msgsz, "\"%s\": option given twice",
			    tok(argv[i], t, sizeof(t)));
			return -1;
		} else {
			snprintf(msg, msgsz, "unknown option \"%s\" (proxy=, "
			    "name=, tls=, auth=, auth_plaintext=)",
			    tok(argv[i], t, sizeof(t)));
			return -1;
		}
	}
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].addrlen == l.addrlen &&
		    memcmp(&c->listen[i].addr, &l.addr, l.addrlen) == 0) {
			snprintf(msg, msgsz, "%s: address already listed",
			    tok(argv[0], t, sizeof(t)));
			return -1;
		}
	c->listen[c->nlisten++] = l;
	return 0;
}

static void
dump_listen(const struct config *c, const struct cfg_key *k, struct sbuf *b)
{
	static const char *proxy[] = { "", " proxy=v1", " proxy=v2",
	    " proxy=any" };
	static const char *tls[] = { "", " tls=starttls", " tls=required",
	    " tls=implicit" };
	static const char *auth[] = { "", " auth=optional", " auth=required",
	    "" };
	int i;

	for (i = 0; i < c->nlisten; i++)
		sbuf_printf(b, "%s %s%s name=%s%s%s%s\n", k->name,
		    c->listen[i].text, proxy[c->listen[i].proxy_accept & 3],
		    c->listen[i].name, tls[c->listen[i].tls & 3],
		    auth[c->listen[i].auth & 3],
		    c->listen[i].auth_plaintext ? " auth_plaintext=on" : "");
	if (c->nlisten == 0)
		sbuf_printf(b, "# %s (none)\n", k->name);
}

static int
eq_listen(const struct config *a, const struct config *b)
{
	int i;

	if (a->nlisten != b->nlisten)
		return 0;
	for (i = 0; i < a->nlisten; i++)
		if (a->listen[i].addrlen != b->listen[i].addrlen ||
		    memcmp(&a->listen[i].addr, &b->listen[i].addr,
		    a->listen[i].addrlen) != 0 ||
		    a->listen[i].proxy_accept != b->listen[i].proxy_accept ||
		    a->listen[i].tls != b->listen[i].tls ||
		    a->listen[i].auth != b->listen[i].auth ||
		    a->listen[i].auth_plaintext != b->listen[i].auth_plaintext ||
		    strcmp(a->listen[i].name, b->listen[i].name) != 0)
			return 0;
	return 1;
}

static int
add_domain(struct config *c, const char *d, char *msg, size_t msgsz)
{
	char t[TOKBUF];

	if (!domain_syntax_ok(d, 1)) {
		snprintf(msg, msgsz, "\"%s\" is not a domain (letters, digits, "
		    "hyphens, dots; \".example.com\" for subdomains)",
		    tok(d, t, sizeof(t)));
		return -1;
	}
	domain_set_add(c->local_domains, d);
	return 0;
}

static int
set_local_domains(struct config *c, const struct cfg_key *k,
    struct cfg_parse *ps, int argc, char **argv, char *msg, size_t msgsz)
{
	int i;

	(void)k;
	(void)ps;
	for (i = 0; i < argc; i++)
		if (add_domain(c, argv[i], msg, msgsz) == -1)
			return -1;
	return 0;
}

static char *resolve_relative(const char *, const char *);

/* "N/DURATION" (e.g. 100/1h), or "off". */
static int
set_rate(struct config *c, const struct cfg_key *k, struct cfg_parse *ps,
    int argc, char **argv, char *msg, size_t msgsz)
{
	struct cfg_rate *r = (struct cfg_rate *)((char *)c + k->off);
	char t[TOKBUF], *slash, *end;
	long n, ms;

	(void)ps;
	if (argc != 1) {
		snprintf(msg, msgsz, "want N/DURATION or off");
		return -1;
	}
	if (strcmp(argv[0], "off") == 0) {
		r->n = 0;
		r->window_ms = 0;
		return 0;
	}
	slash = strchr(argv[0], '/');
	errno = 0;
	n = slash ? strtol(argv[0], &end, 10) : 0;
	if (slash == NULL || end != slash || n < 1 || n > 100000000 ||
	    errno != 0 || parse_duration(slash + 1, &ms) != 0 || ms < 1000 ||
	    ms > 30L * 86400 * 1000) {
		snprintf(msg, msgsz, "\"%s\" is not N/DURATION (e.g. 100/1h; "
		    "N 1..100000000, DURATION 1s..30d) or off",
		    tok(argv[0], t, sizeof(t)));
		return -1;
	}
	r->n = (int)n;
	r->window_ms = ms;
	return 0;
}

static void
dump_rate(const struct config *c, const struct cfg_key *k, struct sbuf *b)
{
	const struct cfg_rate *r =
	    (const struct cfg_rate *)((const char *)c + k->off);
	char d[64];

	if (r->n == 0) {
		sbuf_printf(b, "%s off\n", k->name);
		return;
	}
	fmt_duration(d, sizeof(d), r->window_ms);
	sbuf_printf(b, "%s %d/%s\n", k->name, r->n, d);
}

/* rules FILE...: kept in order, relative paths against the config's. */
static int
set_rules(struct config *c, const struct cfg_key *k, struct cfg_parse *ps,
    int argc, char **argv, char *msg, size_t msgsz)
{
	int i;

	(void)k;
	for (i = 0; i < argc; i++) {
		if (check_path(argv[i], msg, msgsz) == -1)
			return -1;
		c->rules_files = xreallocarray(c->rules_files,
		    (size_t)c->nrules_files + 1, sizeof(*c->rules_files));
		c->rules_files[c->nrules_files++] = argv[i][0] == '/' ||
		    ps->file == NULL ? xstrdup(argv[i]) :
		    resolve_relative(ps->file, argv[i]);
	}
	return 0;
}

static void
dump_rules(const struct config *c, const struct cfg_key *k, struct sbuf *b)
{
	int i;

	if (c->nrules_files == 0) {
		sbuf_printf(b, "# %s (none)\n", k->name);
		return;
	}
	for (i = 0; i < c->nrules_files; i++)
		sbuf_printf(b, "%s %s\n", k->name, c->rules_files[i]);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
dump_local_domains(const struct config *c, const struct cfg_key *k,
    struct sbuf *b)
{
	size_t n = domain_set_count(c->local_domains), i = 0, it = 0;
	const char **v, *d;

	if (n == 0) {
		sbuf_printf(b, "# %s (none)\n", k->name);
		return;
	}
	/* Sorted, so two dumps of one config are the same text. */
	v = xreallocarray(NULL, n, sizeof(*v));
	while ((d = domain_set_next(c->local_domains, &it)) != NULL && i < n)
		v[i++] = d;
	qsort(v, i, sizeof(*v), cmp_str);
	/* Eight to a line, so a long list stays readable. */
	for (n = 0; n < i; n++)
		sbuf_printf(b, "%s%s %s", n > 0 && n % 8 == 0 ? "\n" : "",
		    n % 8 == 0 ? k->name : "", v[n]);
	sbuf_adds(b, "\n");
	free(v);
}

static void
reset_trusted(struct config *c)
{
	cidr_list_free(&c->trusted_networks);
}

static int
set_trusted(struct config *c, const struct cfg_key *k, struct cfg_parse *ps,
    int argc, char **argv, char *msg, size_t msgsz)
{
	struct cidr cidr;
	struct netaddr na;
	char t[TOKBUF], addr[INET6_ADDRSTRLEN];
	const char *slash;
	size_t alen;
	int i;

	(void)k;
	(void)ps;
	for (i = 0; i < argc; i++) {
		if (cidr_parse(&cidr, argv[i]) == 0) {
			cidr_list_add(&c->trusted_networks, &cidr);
			continue;
		}
		/* Say which mistake it is: 10.1.2.3/8 is the usual one. */
		slash = strchr(argv[i], '/');
		alen = slash ? (size_t)(slash - argv[i]) : 0;
		if (slash != NULL && alen < sizeof(addr)) {
			memcpy(addr, argv[i], alen);
			addr[alen] = '\0';
		}
		if (slash != NULL && alen < sizeof(addr) &&
		    netaddr_parse(&na, addr) == 0 &&
		    cidr_parse(&cidr, addr) == 0 &&
		    slash[1] >= '0' && slash[1] <= '9' &&
		    strspn(slash + 1, "0123456789") == strlen(slash + 1) &&
		    strlen(slash + 1) <= 3 &&
		    atoi(slash + 1) <= (strchr(addr, ':') ? 128 : 32))
			snprintf(msg, msgsz, "\"%s\" has host bits set beyond "
			    "the prefix", tok(argv[i], t, sizeof(t)));
		else
			snprintf(msg, msgsz, "\"%s\" is not an address or "
			    "ADDR/BITS network", tok(argv[i], t, sizeof(t)));
		return -1;
	}
	return 0;
}

static void
dump_trusted(const struct config *c, const struct cfg_key *k,
    struct sbuf *b)
{
	char buf[INET6_ADDRSTRLEN];
	size_t i;

	if (c->trusted_networks.n == 0) {
		sbuf_printf(b, "# %s (none)\n", k->name);
		return;
	}
	sbuf_adds(b, k->name);
	for (i = 0; i < c->trusted_networks.n; i++)
		sbuf_printf(b, " %s/%d", netaddr_str(&c->trusted_networks.v[i].net,
		    buf, sizeof(buf)), c->trusted_networks.v[i].bits);
	sbuf_adds(b, "\n");
}

static int
set_backend(struct config *c, const struct cfg_key *k, struct cfg_parse *ps,
    int argc, char **argv, char *msg, size_t msgsz)
{
	struct netaddr na;
	char t[TOKBUF];
	static const unsigned char zero[16];

	(void)k;
	(void)ps;
	(void)argc;
	if (cfg_parse_hostport(argv[0], &c->backend_addr,
	    &c->backend_addrlen) == -1) {
		snprintf(msg, msgsz, "\"%s\" is not ADDR:PORT (numeric, e.g. "
		    "127.0.0.1:10025 or [::1]:10025)", tok(argv[0], t,
		    sizeof(t)));
		return -1;
	}
	if (netaddr_from_sockaddr(&na, (struct sockaddr *)&c->backend_addr)
	    == -1 || memcmp(na.a, zero, na.family == AF_INET ? 4 : 16) == 0) {
		snprintf(msg, msgsz, "\"%s\": the backend needs a real address, "
		    "not a wildcard", tok(argv[0], t, sizeof(t)));
		return -1;
	}
	c->backend = xstrdup(argv[0]);
	return 0;
}

static void
dump_backend(const struct config *c, const struct cfg_key *k,
    struct sbuf *b)
{
	if (c->backend == NULL)
		sbuf_printf(b, "# %s (not set)\n", k->name);
	else
		sbuf_printf(b, "%s %s\n", k->name, c->backend);
}

/* ---- one key ---- */

/*
 * Set key k from its values: argc words, or (CF_REST) rest, the rest of the
 * line.  On error, msg gets "what is wrong" without file, line or key.
 */
static int
set_key(struct config *c, const struct cfg_key *k, struct cfg_parse *ps,
    int argc, char **argv, const char *rest, char *msg, size_t msgsz)
{
	const struct cfg_word *w;
	unsigned long long u;
	long long ll;
	long ms;
	char t[TOKBUF], range[80];
	const char *p;
	int b, r, ovf;
	size_t len;

	if (argc == 0) {
		snprintf(msg, msgsz, "missing value");
		return -1;
	}
	if (argc > 1 && !(k->flags & (CF_REST | CF_WORDS))) {
		snprintf(msg, msgsz, "takes one value, got %d", argc);
		return -1;
	}
	fmt_range(range, sizeof(range), k);

	switch (k->type) {
	case CT_INT:
		/* "-1" is a number out of range, not garbage: say so. */
		p = argv[0] + (argv[0][0] == '-');
		if ((p = digits(p, &u, &ovf)) == NULL || *p != '\0') {
			snprintf(msg, msgsz, "\"%s\" is not a number",
			    tok(argv[0], t, sizeof(t)));
			return -1;
		}
		if (argv[0][0] == '-' || ovf ||
		    u > (unsigned long long)k->max ||
		    u < (unsigned long long)k->min)
			goto range;
		store_num(c, k, u);
		return 0;
	case CT_SIZE:
		r = parse_size(argv[0], &u);
		if (r == -1) {
			snprintf(msg, msgsz, "\"%s\" is not a size (bytes, or "
			    "with k, M, G)", tok(argv[0], t, sizeof(t)));
			return -1;
		}
		if (r == -2 || u > (unsigned long long)k->max ||
		    u < (unsigned long long)k->min)
			goto range;
		store_num(c, k, u);
		return 0;
	case CT_DURATION:
		r = parse_duration(argv[0], &ms);
		if (r == -1) {
			snprintf(msg, msgsz, "\"%s\" is not a duration (e.g. "
			    "250ms, 30s, 5m, 2h, 1d)", tok(argv[0], t,
			    sizeof(t)));
			return -1;
		}
		ll = ms;
		if (r == -2 || ll > k->max || ll < k->min)
			goto range;
		store_num(c, k, (unsigned long long)ll);
		return 0;
	case CT_BOOL:
		if (cfg_parse_bool(argv[0], &b) == -1) {
			snprintf(msg, msgsz, "\"%s\" is not on or off (also "
			    "yes/no, true/false, 1/0)", tok(argv[0], t,
			    sizeof(t)));
			return -1;
		}
		*(int *)field(c, k) = b;
		return 0;
	case CT_ENUM:
		for (w = k->words; w->name != NULL; w++)
			if (strcmp(w->name, argv[0]) == 0) {
				*(int *)field(c, k) = w->value;
				return 0;
			}
		len = (size_t)snprintf(msg, msgsz, "\"%s\" is not one of",
		    tok(argv[0], t, sizeof(t)));
		for (w = k->words; w->name != NULL && len < msgsz; w++)
			len += (size_t)snprintf(msg + len, msgsz - len, "%s %s",
			    w == k->words ? "" : ",", w->name);
		return -1;
	case CT_SCORE:
		if (cfg_parse_score(argv[0], (struct cfg_score *)field(c,
		    k)) == -1) {
			snprintf(msg, msgsz, "\"%s\" is not a number or "
			    "\"off\"", tok(argv[0], t, sizeof(t)));
			return -1;
		}
		return 0;
	case CT_STRING:
		if (!(k->flags & CF_REST))
			rest = argv[0];
		if (k->check != NULL && k->check(rest, msg, msgsz) == -1)
			return -1;
		free(*(char **)field(c, k));
		*(char **)field(c, k) = xstrdup(rest);
		return 0;
	case CT_SPECIAL:
		return k->set(c, k, ps, argc, argv, msg, msgsz);
	}
	abort();
range:
	snprintf(msg, msgsz, "%s is out of range (%s)", tok(argv[0], t,
	    sizeof(t)), range);
	return -1;
}

/* ---- the file ---- */

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' ||
	    ch == '\v';
}

/*
 * Cut a line at its comment and trailing blanks.  '#' starts a comment at
 * the start or after a blank, so "a#b" stays a word.
 */
static void
strip_comment(char *s)
{
	size_t i, n;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '#' && (i == 0 || is_blank((unsigned char)s[i - 1]))) {
			s[i] = '\0';
			break;
		}
	n = strlen(s);
	while (n > 0 && (is_blank((unsigned char)s[n - 1]) || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/* Split s in place into words; returns the count, *argv owned by caller. */
static int
split_words(char *s, char ***argv)
{
	char **v = NULL;
	int n = 0;

	for (;;) {
		while (is_blank((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (n % 16 == 0)
			v = xreallocarray(v, (size_t)n + 16, sizeof(*v));
		v[n++] = s;
		while (*s != '\0' && !is_blank((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	*argv = v;
	return n;
}

/*
 * Read path line by line, calling fn on each non-blank line (comment cut,
 * trailing blanks cut).  Errors from the reader itself ("FILE:LINE: line
 * too long") and from fn end the read.  Returns 0 or -1 with err set.
 */
static int
read_lines(const char *path, int (*fn)(void *, char *, int, char *, size_t),
    void *arg, char *err, size_t errsz)
{
	char msg[512];
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int lineno = 0, rc = -1;

	if ((fp = filesrc_fopen(path)) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* fileno -1: bytes the privileged parent read (filesrc.c). */
	if (fileno(fp) != -1 && (fstat(fileno(fp), &st) == -1 ||
	    !S_ISREG(st.st_mode))) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto done;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if ((size_t)n > CFG_LINE_MAX) {
			snprintf(err, errsz, "%s:%d: line longer than %d bytes",
			    path, lineno, CFG_LINE_MAX);
			goto done;
		}
		if (strlen(line) != (size_t)n) {
			snprintf(err, errsz, "%s:%d: NUL byte in line", path,
			    lineno);
			goto done;
		}
		strip_comment(line);
		if (line[strspn(line, " \t\r\f\v")] == '\0')
			continue;
		msg[0] = '\0';
		if (fn(arg, line, lineno, msg, sizeof(msg)) == -1) {
			snprintf(err, errsz, "%s:%d: %s", path, lineno, msg);
			goto done;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errsz, "%s:%d: %s", path, lineno + 1,
		    strerror(errno));
		goto done;
	}
	rc = 0;
done:
	free(line);
	fclose(fp);
	return rc;
}

struct line_ctx {
	struct config		*c;
	struct cfg_parse	*ps;
};

static int
config_line(void *arg, char *line, int lineno, char *msg, size_t msgsz)
{
	struct line_ctx *ctx = arg;
	const struct cfg_key *k;
	char sub[400], t[TOKBUF], **argv = NULL, *rest;
	size_t idx;
	int argc, rc = -1;

	ctx->ps->line = lineno;
	line += strspn(line, " \t\r\f\v");
	/* The rest of the line after the key, for CF_REST strings. */
	rest = line + strcspn(line, " \t\r\f\v");
	rest += strspn(rest, " \t\r\f\v");
	rest = xstrdup(rest);
	argc = split_words(line, &argv);

	if ((k = key_find(argv[0])) == NULL) {
		snprintf(msg, msgsz, "unknown key \"%s\"", tok(argv[0], t,
		    sizeof(t)));
		goto done;
	}
	idx = (size_t)(k - cfg_keys);
	if (ctx->ps->seen[idx] != 0 && !(k->flags & CF_REPEAT)) {
		snprintf(msg, msgsz, "%s: duplicate key (first set at line %d)",
		    k->name, ctx->ps->seen[idx]);
		goto done;
	}
	/* A repeatable key in the file replaces its default list. */
	if (ctx->ps->seen[idx] == 0 && k->reset != NULL)
		k->reset(ctx->c);
	if (ctx->ps->seen[idx] == 0)
		ctx->ps->seen[idx] = lineno;
	if (set_key(ctx->c, k, ctx->ps, argc - 1, argv + 1, rest, sub,
	    sizeof(sub)) == -1) {
		snprintf(msg, msgsz, "%s: %s", k->name, sub);
		goto done;
	}
	rc = 0;
done:
	free(rest);
	free(argv);
	return rc;
}

static int
domains_line(void *arg, char *line, int lineno, char *msg, size_t msgsz)
{
	struct config *c = arg;
	char **argv = NULL;
	int argc, rc;

	(void)lineno;
	argc = split_words(line, &argv);
	if (argc != 1) {
		snprintf(msg, msgsz, "one domain per line, got %d words", argc);
		rc = -1;
	} else
		rc = add_domain(c, argv[0], msg, msgsz);
	free(argv);
	return rc;
}

/*
 * One line of the greylist whitelist file:
 *   client 192.0.2.0/24      name mail.example.com (that name, or below it)
 *   sender example.org        rcpt postmaster@example.com | @example.net
 */
static int
whitelist_line(void *arg, char *line, int lineno, char *msg, size_t msgsz)
{
	struct config *c = arg;
	char **argv = NULL, t[TOKBUF], *v;
	struct cidr cidr;
	int argc, rc = -1;
	size_t i;

	(void)lineno;
	argc = split_words(line, &argv);
	if (argc != 2) {
		snprintf(msg, msgsz, "want \"client|name|sender|rcpt VALUE\", "
		    "got %d words", argc);
		goto done;
	}
	v = argv[1];
	for (i = 0; v[i]; i++)
		if (v[i] >= 'A' && v[i] <= 'Z')
			v[i] = (char)(v[i] + 32);
	if (strcmp(argv[0], "client") == 0) {
		if (cidr_parse(&cidr, v) == -1) {
			snprintf(msg, msgsz, "client: \"%s\" is not an address "
			    "or network", tok(v, t, sizeof(t)));
			goto done;
		}
		cidr_list_add(&c->grey_wl_clients, &cidr);
	} else if (strcmp(argv[0], "name") == 0 ||
	    strcmp(argv[0], "sender") == 0) {
		if (*v == '.')
			v++;
		if (!smtp_domain_valid(v, 1) || *v == '[') {
			snprintf(msg, msgsz, "%s: \"%s\" is not a domain",
			    argv[0], tok(v, t, sizeof(t)));
			goto done;
		}
		domain_set_add(argv[0][0] == 'n' ? c->grey_wl_names :
		    c->grey_wl_senders, v);
	} else if (strcmp(argv[0], "rcpt") == 0) {
		if (strchr(v, '@') == NULL) {
			snprintf(msg, msgsz, "rcpt: \"%s\" is neither an "
			    "address nor @domain", tok(v, t, sizeof(t)));
			goto done;
		}
		domain_set_add(c->grey_wl_rcpts, v);
	} else {
		snprintf(msg, msgsz, "unknown kind \"%s\" (client, name, "
		    "sender, rcpt)", tok(argv[0], t, sizeof(t)));
		goto done;
	}
	rc = 0;
done:
	free(argv);
	return rc;
}

/* local_domains_file relative to the directory of the config file. */
static char *
resolve_relative(const char *cfgpath, const char *p)
{
	const char *slash;

	if (p[0] == '/' || (slash = strrchr(cfgpath, '/')) == NULL)
		return xstrdup(p);
	return xasprintf("%.*s/%s", (int)(slash - cfgpath), cfgpath, p);
}

/* ---- whole configs ---- */

static void
cfg_free(struct config *c)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (cfg_keys[i].store == CS_STR)
			free(*(char **)field(c, &cfg_keys[i]));
	free(c->backend);
	free(c->path);
	domain_set_free(c->local_domains);
	cidr_list_free(&c->trusted_networks);
	cidr_list_free(&c->grey_wl_clients);
	domain_set_free(c->grey_wl_names);
	domain_set_free(c->grey_wl_senders);
	domain_set_free(c->grey_wl_rcpts);
	for (i = 0; i < (size_t)c->nrules_files; i++)
		free(c->rules_files[i]);
	free(c->rules_files);
	free(c);
}

/*
 * cfg_defaults: a new config (one reference) holding every default, as the
 * table gives them; no listen and no backend, so it is not runnable as it
 * is.  The hostname is gethostname(3)'s ("localhost" if that fails).
 */
struct config *
cfg_defaults(void)
{
	struct config *c;
	struct cfg_parse ps;
	char host[256], *def, **argv, msg[256];
	size_t i;
	int argc;

	c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	c->local_domains = domain_set_new();
	c->grey_wl_names = domain_set_new();
	c->grey_wl_senders = domain_set_new();
	c->grey_wl_rcpts = domain_set_new();
	memset(&ps, 0, sizeof(ps));
	ps.file = "(defaults)";
	for (i = 0; i < NKEYS; i++) {
		if (cfg_keys[i].def == NULL)
			continue;
		def = xstrdup(cfg_keys[i].def);
		argc = split_words(def, &argv);
		/* The defaults are in the table; if one fails it is a bug. */
		if (set_key(c, &cfg_keys[i], &ps, argc, argv, cfg_keys[i].def,
		    msg, sizeof(msg)) == -1) {
			fprintf(stderr, "moat: bad default for %s: %s\n",
			    cfg_keys[i].name, msg);
			abort();
		}
		free(argv);
		free(def);
	}
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	c->hostname = xstrdup(host);
	c->backend_helo = xstrdup(host);
	return c;
}

static enum cfg_front cfg_front = CFG_FRONT_MOATD;

void
cfg_set_front(enum cfg_front f)
{
	cfg_front = f;
}

/*
 * moatd's own requirements: where it listens and where it delivers.  A
 * file that sets milter_listen but no backend was most likely written for
 * moat-milter alone: say so, at that line, rather than only "missing".
 */
static int
cfg_validate_moatd(const struct config *c, const struct cfg_parse *ps,
    char *err, size_t errsz)
{
	int mline = ps->seen[key_find("milter_listen") - cfg_keys];

	if (c->backend == NULL && mline > 0) {
		snprintf(err, errsz, "%s:%d: backend: required key is missing: "
		    "moatd needs listen and backend (milter_listen here is for "
		    "moat-milter; run `moat-milter -c` with this file)",
		    ps->file, mline);
		return -1;
	}
	if (c->backend == NULL) {
		snprintf(err, errsz, "%s: backend: required key is missing",
		    ps->file);
		return -1;
	}
	if (c->nlisten == 0) {
		snprintf(err, errsz, "%s: listen: at least one listen line is "
		    "required", ps->file);
		return -1;
	}
	return 0;
}

/* Checks that need the whole file; 0, or -1 with err set. */
static int
cfg_validate(struct config *c, struct cfg_parse *ps, char *err, size_t errsz)
{
	const struct cfg_key *khost = key_find("hostname");
	char msg[256];
	int line;

	if (cfg_front == CFG_FRONT_MOATD &&
	    cfg_validate_moatd(c, ps, err, errsz) == -1)
		return -1;
	line = ps->seen[khost - cfg_keys];
	if (line == 0 && check_domain(c->hostname, msg, sizeof(msg)) == -1) {
		snprintf(err, errsz, "%s: hostname: the system's name is not "
		    "usable, set hostname: %s", ps->file, msg);
		return -1;
	}
	/* "220 " hostname " " banner CRLF must be one reply line. */
	if (strlen(c->hostname) + strlen(c->banner) + 7 > CFG_REPLY_MAX) {
		line = ps->seen[key_find("banner") - cfg_keys];
		snprintf(err, errsz, "%s:%d: banner: too long for one %d-byte "
		    "reply line with hostname", ps->file, line, CFG_REPLY_MAX);
		return -1;
	}
	return 0;
}

/*
 * cfg_load: see moat_conf.h.  The local_domains_file is read after the main
 * file, relative to its directory unless absolute.
 */
struct config *
cfg_load(const char *path, char *err, size_t errsz)
{
	struct config *c;
	struct cfg_parse ps;
	struct line_ctx ctx;
	char *dpath;
	int rc;

	if (errsz > 0)
		err[0] = '\0';
	c = cfg_defaults();
	c->path = xstrdup(path);
	memset(&ps, 0, sizeof(ps));
	ps.file = path;
	ctx.c = c;
	ctx.ps = &ps;
	if (read_lines(path, config_line, &ctx, err, errsz) == -1)
		goto fail;
	if (c->local_domains_file != NULL) {
		dpath = resolve_relative(path, c->local_domains_file);
		rc = read_lines(dpath, domains_line, c, err, errsz);
		free(dpath);
		if (rc == -1)
			goto fail;
	}
	if (c->greylist_whitelist != NULL) {
		dpath = resolve_relative(path, c->greylist_whitelist);
		rc = read_lines(dpath, whitelist_line, c, err, errsz);
		free(dpath);
		if (rc == -1)
			goto fail;
	}
	if (ps.seen[key_find("backend_helo") - cfg_keys] == 0) {
		free(c->backend_helo);
		c->backend_helo = xstrdup(c->hostname);
	}
	if (cfg_validate(c, &ps, err, errsz) == -1)
		goto fail;
	return c;
fail:
	cfg_unref(c);
	return NULL;
}

/*
 * cfg_ref / cfg_unref: the refcount is atomic, because sessions on every
 * worker thread hold the config they started with while the main thread
 * swaps in a new one.
 */
struct config *
cfg_ref(struct config *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void
cfg_unref(struct config *c)
{
	if (c == NULL)
		return;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		cfg_free(c);
}

static int
key_equal(const struct config *a, const struct config *b,
    const struct cfg_key *k)
{
	const char *sa, *sb;

	if (k->eq != NULL)
		return k->eq(a, b);
	switch (k->store) {
	case CS_STR:
		sa = *(char *const *)cfield(a, k);
		sb = *(char *const *)cfield(b, k);
		if (sa == NULL || sb == NULL)
			return sa == sb;
		return strcmp(sa, sb) == 0;
	case CS_SCORE:
		return memcmp(cfield(a, k), cfield(b, k),
		    sizeof(struct cfg_score)) == 0;
	case CS_NONE:
		abort();	/* a special RESTART key needs eq */
	default:
		return load_num(a, k) == load_num(b, k);
	}
}

/*
 * cfg_restart_diff: see moat_conf.h.  Names are joined with ", "; if buf is
 * too small the list ends at the last name that fit.
 */
void
cfg_restart_diff(const struct config *old, const struct config *new,
    char *buf, size_t bufsz)
{
	size_t i, len = 0, n;

	if (bufsz == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < NKEYS; i++) {
		if (!(cfg_keys[i].flags & CF_RESTART) ||
		    key_equal(old, new, &cfg_keys[i]))
			continue;
		n = strlen(cfg_keys[i].name) + (len > 0 ? 2 : 0);
		if (len + n + 1 > bufsz)
			break;
		snprintf(buf + len, bufsz - len, "%s%s", len > 0 ? ", " : "",
		    cfg_keys[i].name);
		len += n;
	}
}

static void
dump_key(const struct config *c, const struct cfg_key *k, struct sbuf *b)
{
	const struct cfg_word *w;
	const char *s;
	char v[64];
	int iv;

	switch (k->type) {
	case CT_SPECIAL:
		k->dump(c, k, b);
		return;
	case CT_STRING:
		s = *(char *const *)cfield(c, k);
		if (s == NULL)
			sbuf_printf(b, "# %s (not set)\n", k->name);
		else
			sbuf_printf(b, "%s %s\n", k->name, s);
		return;
	case CT_ENUM:
		iv = *(const int *)cfield(c, k);
		for (w = k->words; w->name != NULL; w++)
			if (w->value == iv)
				break;
		sbuf_printf(b, "%s %s\n", k->name, w->name ? w->name : "?");
		return;
	case CT_BOOL:
		sbuf_printf(b, "%s %s\n", k->name,
		    *(const int *)cfield(c, k) ? "on" : "off");
		return;
	case CT_SCORE:
		fmt_score(v, sizeof(v), (const struct cfg_score *)cfield(c,
		    k));
		break;
	case CT_DURATION:
		fmt_duration(v, sizeof(v), (long long)load_num(c, k));
		break;
	case CT_SIZE:
		fmt_size(v, sizeof(v), load_num(c, k));
		break;
	case CT_INT:
		snprintf(v, sizeof(v), "%lld", (long long)load_num(c, k));
		break;
	}
	sbuf_printf(b, "%s %s\n", k->name, v);
}

/*
 * cfg_dump: every key in table order as "key value", in the syntax the
 * parser reads back (lists sorted); unset keys as "# key (not set)".
 */
void
cfg_dump(const struct config *c, int fd)
{
	struct sbuf b = SBUF_INIT;
	size_t i;

	for (i = 0; i < NKEYS; i++)
		dump_key(c, &cfg_keys[i], &b);
	(void)fdio_write_all(fd, b.p, b.len);
	sbuf_free(&b);
}

static const char *
type_name(const struct cfg_key *k)
{
	switch (k->type) {
	case CT_INT:
		return "int";
	case CT_BOOL:
		return "bool";
	case CT_DURATION:
		return "duration";
	case CT_SIZE:
		return "size";
	case CT_STRING:
		return k->flags & CF_REST ? "text" : "string";
	case CT_ENUM:
		return "enum";
	case CT_SCORE:
		return "score";
	case CT_SPECIAL:
		if (k->set == set_listen)
			return "listen";
		if (k->set == set_backend)
			return "address";
		if (k->set == set_trusted)
			return "networks";
		if (k->set == set_rules)
			return "files";
		if (k->set == set_rate)
			return "rate";
		return "domains";
	}
	return "?";
}

/* A Markdown table cell: '|' would end it. */
static void
md_cell(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			sbuf_addc(b, '\\');
		sbuf_addc(b, *s);
	}
}

/*
 * cfg_doc: the key reference as a Markdown table, from the table itself;
 * doc/config.md holds a copy and a unit test keeps the two equal.
 */
void
cfg_doc(int fd)
{
	struct sbuf b = SBUF_INIT;
	const struct cfg_key *k;
	const struct cfg_word *w;
	char range[96];
	size_t i;

	sbuf_adds(&b, "| key | type | default | values | reload | meaning |\n"
	    "|-----|------|---------|--------|--------|---------|\n");
	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		range[0] = '\0';
		if (k->type == CT_INT || k->type == CT_DURATION ||
		    k->type == CT_SIZE)
			fmt_range(range, sizeof(range), k);
		else if (k->type == CT_BOOL)
			snprintf(range, sizeof(range), "on, off");
		else if (k->type == CT_SCORE)
			snprintf(range, sizeof(range), "a number, off");
		else if (k->type == CT_ENUM) {
			for (w = k->words; w->name != NULL; w++)
				snprintf(range + strlen(range), sizeof(range) -
				    strlen(range), "%s%s", w == k->words ? "" :
				    ", ", w->name);
		} else if (k->set == set_listen)
			snprintf(range, sizeof(range), "1..%d lines",
			    CFG_LISTEN_MAX);
		sbuf_printf(&b, "| `%s` | %s | %s | %s | %s | ", k->name,
		    type_name(k), k->docdef ? k->docdef : k->def ? k->def :
		    "(not set)", range, k->flags & CF_RESTART ? "RESTART" :
		    "RELOADABLE");
		md_cell(&b, k->help);
		sbuf_adds(&b, " |\n");
	}
	(void)fdio_write_all(fd, b.p, b.len);
	sbuf_free(&b);
}
