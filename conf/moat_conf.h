/*
 * moat_conf.h: moat.conf, parsed into an immutable, refcounted struct config.
 *
 * Every key is declared once in the table in moat_conf.c (name, type, default,
 * bounds, RELOADABLE/RESTART, offset, help); the parser, --dump-config,
 * validation and doc/config.md come from it (STYLE.md 7).  A struct config
 * is never changed after cfg_load() returns it: a reload builds a new one,
 * and moatd builds the runtime objects it names (rules, TLS contexts,
 * password file, sender map) beside it in one snapshot (proxy/snapshot.h)
 * that it swaps whole; sessions keep the one they started with.
 */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

#include "netaddr.h"

#define CFG_LISTEN_MAX	32

enum cfg_identity {
	CFG_ID_XCLIENT, CFG_ID_XFORWARD, CFG_ID_PROXY_V1, CFG_ID_PROXY_V2,
	CFG_ID_NONE,
};

enum cfg_bare { CFG_BARE_NORMALIZE, CFG_BARE_REJECT };
enum cfg_auth_temp { CFG_AUTH_TEMP_ACCEPT, CFG_AUTH_TEMP_TEMPFAIL };

/*
 * A score setting: a number, parsed once at load, or "off" (on 0, v 0).
 * A threshold that is off never triggers.
 */
struct cfg_score {
	int	on;
	double	v;
};

/* A rate limit "N/DURATION": at most n events per window_ms; n 0 = off. */
struct cfg_rate {
	int	n;
	long	window_ms;
};
enum cfg_pregreet { CFG_PREGREET_REJECT, CFG_PREGREET_IGNORE, CFG_PREGREET_SCORE };

/*
 * One "listen ADDR:PORT [option...]" line.  Options:
 *   proxy=v1|v2|any   expect a PROXY header first (else: none expected)
 *   name=WORD         a name for logs (default "smtp")
 *   tls=off|starttls|required|implicit   STARTTLS offered, required
 *                     before MAIL, or TLS from the first byte (port 465)
 *   auth=off|optional|required   SMTP AUTH offered (after TLS), or
 *                     required before MAIL (a submission port)
 *   auth_plaintext=on  offer AUTH without TLS too (not recommended)
 */
enum cfg_tls { CFG_TLS_OFF, CFG_TLS_STARTTLS, CFG_TLS_REQUIRED,
	CFG_TLS_IMPLICIT };
enum cfg_auth { CFG_AUTH_OFF, CFG_AUTH_OPTIONAL, CFG_AUTH_REQUIRED };

/*
 * The other enum settings; each has its name table (the words the file
 * takes, which cfg_dump writes back) in moat_conf.c.
 */
enum cfg_backend_tls { CFG_BTLS_OFF, CFG_BTLS_OPPORTUNISTIC,
	CFG_BTLS_REQUIRED };
enum cfg_auth_backend { CFG_AUTHBE_PASSWD, CFG_AUTHBE_MTA };
enum cfg_store_kind { CFG_STORE_MEMORY, CFG_STORE_REDIS };
enum cfg_bayes_store { CFG_BAYES_LMDB, CFG_BAYES_REDIS };
enum cfg_on_failure { CFG_FAIL_PASS, CFG_FAIL_TEMPFAIL };
enum cfg_spf_action { CFG_SPF_OFF, CFG_SPF_TAG, CFG_SPF_REJECT };

struct cfg_listen {
	enum cfg_tls	tls;		/* tls=off|starttls|required|implicit */
	enum cfg_auth	auth;		/* off|optional|required */
	int		auth_plaintext;	/* offer AUTH before TLS too */
	char		name[32];
	char		text[128];	/* as written, for logs */
	struct sockaddr_storage addr;
	socklen_t	addrlen;
	unsigned	proxy_accept;	/* PROXY_ACCEPT_* mask, 0 = none */
};

struct config {
	int		refs;		/* cfg_ref/cfg_unref, atomically */
	char		*path;		/* the file it was read from */

	/* process (RESTART keys) */
	int		workers;	/* 0 = number of online CPUs */
	char		*user;		/* drop to this user; NULL = stay */
	char		*pidfile;	/* NULL = none */
	struct cfg_listen listen[CFG_LISTEN_MAX];
	int		nlisten;
	int		listen_backlog;
	char		*metrics_listen;	/* ADDR:PORT; NULL = off */

	/* logging */
	int		log_syslog;	/* 0 stderr, 1 syslog */
	int		log_facility;	/* LOG_MAIL etc. */
	int		log_json;	/* log_format json */

	/* identity and greeting */
	char		*hostname;	/* our name in banner/EHLO/Received */
	char		*banner;	/* text after "220 hostname " */
	long		greet_wait_ms;	/* pregreet wait, 0 = off */
	enum cfg_pregreet pregreet;

	/* advertised extensions (checked against the backend's EHLO) */
	int		ext_pipelining, ext_8bitmime, ext_smtputf8;
	int		ext_chunking;	/* offer CHUNKING (BDAT, RFC 3030) */
	unsigned long long message_size_limit;	/* SIZE; also enforced */

	/* relay control */
	struct domain_set *local_domains;	/* local_domains + _file */
	char		*local_domains_file;
	struct cidr_list trusted_networks;

	/* trace header */
	int		received_header;

	/* the client's forward-confirmed reverse name (FCrDNS) */
	int		reverse_dns;		/* look it up at all */
	char		*dns_resolver;	/* "ip[:port]"; NULL = resolv.conf */
	long		dns_timeout_ms;	/* how long MAIL may wait for it */

	/* backend */
	char		*backend;	/* "host:port" as written */
	struct sockaddr_storage backend_addr;
	socklen_t	backend_addrlen;
	enum cfg_identity backend_identity;
	char		*backend_helo;	/* set; = hostname if not given */
	long		backend_connect_timeout_ms;
	long		backend_reply_timeout_ms;	/* MAIL/RCPT/DATA */
	long		backend_data_timeout_ms;	/* sending + final reply */
	int		backend_check;	/* probe the backend's EHLO at start */
	enum cfg_backend_tls backend_tls;
	char		*backend_tls_ca;
	char		*backend_tls_name;

	/* DATA */
	enum cfg_bare	bare_newline;
	size_t		data_line_max;
	size_t		message_memory_max;	/* then spill to spool_dir */
	char		*spool_dir;

	/* bounds */
	size_t		command_line_max;
	int		max_recipients;		/* per transaction */
	int		max_commands;		/* per session */
	int		max_errors;		/* per session, then 421 */
	int		max_sessions;		/* whole daemon */
	int		max_sessions_per_ip;

	/* rules and scoring (compiled by policy_load(), not by cfg_load()) */
	char		**rules_files;		/* "rules FILE", in order */
	int		nrules_files;
	int		sa_rules;		/* load SpamAssassin's config */
	char		*sa_rules_dir;		/* its rules (datadir) */
	char		*sa_site_dir;		/* its site config (sitedir) */
	int		hyperscan;		/* build the Hyperscan prefilter */
	char		*hyperscan_cache;	/* its cache directory, or NULL */
	struct cfg_score score_tag;
	struct cfg_score score_tempfail;
	struct cfg_score score_reject;
	struct cfg_score auth_score_tag;	/* for AUTH sessions */
	struct cfg_score auth_score_tempfail;
	struct cfg_score auth_score_reject;
	char		*subject_prefix;	/* for tagged mail; NULL = none */
	int		reply_show_rules;	/* name rules in refusals */

	/* the Bayesian classifier (doc/rules.md, "Bayes") */
	int		bayes;			/* classify at end of DATA */
	enum cfg_bayes_store bayes_store;
	char		*bayes_path;		/* the LMDB directory */
	int		bayes_min_spam;		/* learned before it speaks */
	int		bayes_min_ham;
	int		bayes_autolearn;
	struct cfg_score bayes_autolearn_spam;
	struct cfg_score bayes_autolearn_ham;
	long		bayes_timeout_ms;	/* bayes_store redis: per request */
	long		bayes_redis_seen_ttl_ms; /* seen digests, token buckets */

	/* greylisting and its store (doc/greylisting.md) */
	int		greylist;
	long		greylist_delay_ms;
	long		greylist_retry_window_ms;
	long		greylist_pass_lifetime_ms;
	int		greylist_awl_passes;
	long		greylist_awl_interval_ms;
	int		greylist_ipv4_prefix;
	int		greylist_ipv6_prefix;
	int		greylist_fcrdns;
	struct cfg_score greylist_min_score;	/* off counts as 0 */
	enum cfg_on_failure greylist_on_store_failure;
	char		*greylist_whitelist;	/* the file, as written */
	long		greylist_cache_ttl_ms;	/* passed triplets kept locally */
	struct cidr_list grey_wl_clients;	/* "client CIDR" lines */
	struct domain_set *grey_wl_names;	/* "name SUFFIX" */
	struct domain_set *grey_wl_senders;	/* "sender DOMAIN" */
	struct domain_set *grey_wl_rcpts;	/* "rcpt ADDRESS|@DOMAIN" */
	enum cfg_store_kind store_kind;		/* store memory|redis */
	int		store_memory_max_entries;
	char		*redis_server;		/* host:port, [v6]:port, unix:/p */
	char		*redis_user;
	char		*redis_password_file;
	int		redis_db;
	char		*redis_prefix;
	long		redis_timeout_ms;

	/* rate limits, counted in the store (doc/greylisting.md) */
	struct cfg_rate	ratelimit_conn_per_ip;
	struct cfg_rate	ratelimit_msg_per_ip;
	struct cfg_rate	ratelimit_rcpt_per_sender;
	struct cfg_rate	ratelimit_msg_per_user;	/* per AUTH login */
	int		ratelimit_sliding;	/* sliding (1) or fixed windows */
	enum cfg_on_failure ratelimit_on_store_failure;

	/* TLS toward clients (listen ... tls=); contexts: proxy/snapshot.c */
	char		*tls_cert;		/* PEM chain */
	char		*tls_key;
	char		*tls_min_version;
	char		*tls_ciphers;
	long		tls_handshake_timeout_ms;

	/* SMTP AUTH (listen ... auth=); files loaded by proxy/snapshot.c */
	enum cfg_auth_backend auth_backend;	/* passwd file or the MTA */
	char		*passwd;		/* login:crypt-hash file */
	char		*sender_login_map;	/* login -> senders file */
	int		auth_threads;		/* hashing threads (RESTART) */
	struct cfg_rate	auth_fail_limit;	/* per client address */
	struct cfg_rate	auth_fail_net_limit;	/* per /24 or /64 */

	/* client timeouts (a whole command or DATA phase, not per byte) */
	long		timeout_command_ms;	/* RFC 5321 4.5.3.2.7: 5 min */
	long		timeout_data_ms;	/* whole DATA phase */
	long		drain_timeout_ms;	/* SIGTERM: sessions may finish */

	/* sender authentication and DNS lists (issue 16): parsed and
	 * checked now, used once the engine runs the checks */
	int		spf;
	enum cfg_spf_action spf_fail_action;
	int		dkim;
	int		dmarc;
	int		dmarc_enforce;
	char		*authserv_id;		/* NULL = hostname */
	char		*dnsbl_sites;		/* as written (sauth_sites_parse) */
	int		dnsbl_threshold;
	char		*rhsbl_sites;
	char		*uribl_sites;
	long		auth_deadline_ms;	/* per message, all checks */
	int		auth_temperror;		/* CFG_AUTH_TEMP_* */
	char		*dmarc_forwarders;	/* domains, space-separated */

	/* moat-milter (issue 15) */
	char		*milter_listen;		/* libmilter's smfi_setconn */
	int		milter_max_inflight;	/* transactions at once */
	long		milter_timeout_ms;	/* one callback's wait */
	struct cfg_score milter_quarantine_score;	/* or off */
};

/*
 * cfg_load: read and validate path.  On success returns a new config with
 * one reference.  On failure returns NULL and writes to err (NUL-terminated,
 * at most errsz bytes) "FILE:LINE: key: what is wrong" for the first error
 * ("FILE: key: ..." for a missing required key or an unreadable file).
 * Reads local_domains_file too (errors name that file and line).
 * Does not bind, resolve names over the network, or log.
 */
struct config *cfg_load(const char *path, char *err, size_t errsz);

/*
 * Which program the file is checked for.  moatd (the default) needs
 * listen and backend; moat-milter needs neither (it listens on
 * milter_listen, which has a default, and the MTA delivers), nor does
 * moatctl (offline: rules, stores, Bayes), so a file written for
 * moat-milter alone loads there and moatd refuses it, naming the
 * milter_listen line.  Every other check is the same for all.  Set once
 * at start, before the first cfg_load (a forked privileged parent
 * inherits it); not for use while other threads load.
 */
enum cfg_front {
	CFG_FRONT_MOATD = 0,
	CFG_FRONT_MILTER,
	CFG_FRONT_TOOL
};
void	cfg_set_front(enum cfg_front);

/* A config with every default and no file; for tests and tools. */
struct config *cfg_defaults(void);

struct config *cfg_ref(struct config *);
void	cfg_unref(struct config *);	/* frees at zero; NULL ok */

/*
 * cfg_restart_diff: names of RESTART keys whose values differ between old
 * and new, comma-separated into buf ("" if none), for the reload warning.
 */
void	cfg_restart_diff(const struct config *old, const struct config *new,
	    char *buf, size_t bufsz);

/* cfg_dump: the effective configuration, one "key value" line each. */
void	cfg_dump(const struct config *, int fd);

/* cfg_doc: the key reference (Markdown table) that doc/config.md holds. */
void	cfg_doc(int fd);

/* Parse helpers, exposed for tests: "30s", "5m", "250ms", "2h", "1d";
 * "10k", "25M", "1G" (powers of 1024); on/off/yes/no/true/false/1/0.
 * Return 0 or -1. */
int	cfg_parse_duration_ms(const char *, long *);
int	cfg_parse_size(const char *, unsigned long long *);
int	cfg_parse_bool(const char *, int *);
/* A score: a finite decimal number (may be negative) or "off". */
int	cfg_parse_score(const char *, struct cfg_score *);
/* "1.2.3.4:25", "[::1]:25", "*:25" (all v4), "[::]:25"; 0 or -1. */
int	cfg_parse_hostport(const char *, struct sockaddr_storage *,
	    socklen_t *);

#endif
