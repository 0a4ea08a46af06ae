/*
 * sauth_check.c: SPF, DKIM and DMARC for one message with the libraries
 * that do the protocol work (libspf2, libopendkim, libopendmarc), all of
 * their DNS sent to one configured resolver on any port.
 *
 * libspf2's own resolver layer talks only to resolv.conf's servers on
 * port 53, so SPF gets a DNS layer of ours (lookup below) over a private
 * res_state; libopendkim asks us for keys through dkim_set_key_lookup;
 * the DMARC record is fetched here too (libopendmarc's own lookup waits
 * resolv.conf's 5 s x 2 tries) and handed to libopendmarc to parse and
 * apply.
 *
 * Does not: run on an event loop.  Every query blocks for at most
 * timeout_ms (res_state retrans, one try); callers on a loop use a pool
 * (sauth_check.h).  Does not log: results are data.
 *
 * Invariants: a DNS failure becomes temperror for the check that saw it;
 * SPF's lookup limits are libspf2's (RFC 7208 4.6.4: 10 mechanisms, 10
 * MX, 10 PTR); DKIM verifies at most SAUTH_SIG_MAX signatures over at most
 * body_max body bytes, and refuses RSA keys under dkim_min_bits.
 */
#include <sys/param.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_cache.h>
#include <dkim.h>
#include <opendmarc/dmarc.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "clock.h"
#include "sbuf.h"
#include "xmalloc.h"
#include "engine/sauth_check.h"

/*
 * The answer cache: one slot per hash of (name, type), replaced on
 * collision; answers kept for their smallest TTL (at most an hour),
 * NXDOMAIN and NODATA for SAUTH_NEG_TTL, failures never.  Shared by the
 * contexts of one pool and of the loops in front of it
 * (sauth_ctx_new_shared), under its mutex: an answer one thread fetched
 * is every thread's, which is what lets a loop run a warm message itself
 * (sauth_cache_only).
 */
#define SAUTH_SPF_TERMS_MAX	10	/* RFC 7208 4.6.4 */
#define SAUTH_SPF_VOID_MAX	2	/* ditto */
#define SAUTH_CACHE_SLOTS	1024
#define SAUTH_CACHE_ANS_MAX	2048	/* larger answers are not kept */
#define SAUTH_NEG_TTL		60
#define SAUTH_TTL_MAX		3600
struct dns_cent {
	char		 name[NS_MAXDNAME];
	int		 type;
	int		 herr;		/* 0, HOST_NOT_FOUND or NO_DATA */
	int		 len;
	long long	 expires;	/* monotonic seconds; 0 = empty */
	unsigned char	 ans[SAUTH_CACHE_ANS_MAX];
};

struct dns_cache {
	pthread_mutex_t	 mu;
	int		 refs;		/* contexts using it, under mu */
	struct dns_cent	 slot[SAUTH_CACHE_SLOTS];
};

/*
 * Decoded DKIM public keys, by their DER bytes (see d2i_PUBKEY_bio
 * below): direct-mapped, per context (so per thread, no lock), each kept
 * until its key record's DNS TTL runs out.  Keyed by content, a hit can
 * never be a stale key: a rotated or revoked record has other bytes (or
 * none) and is asked of DNS under the answer cache's TTL as before.
 */
#define SAUTH_KEYC_SLOTS	64
#define SAUTH_KEYC_DER_MAX	2048	/* RSA-8192's DER is ~1.1 kB */
struct key_cent {
	unsigned char	*der;
	size_t		 len;
	EVP_PKEY	*pk;		/* one reference, ours */
	long long	 expires;	/* monotonic seconds */
};

struct sauth_ctx {
	struct sauth_cfg cfg;
	int		 have_dns;
	struct __res_state res;
	SPF_server_t	*spf;
	SPF_dns_server_t *spf_dns;	/* our DNS layer for libspf2 */
	DKIM_LIB	*dkim;
	int		 dmarc_ok;
	int		 key_tempfail;	/* the last key lookup timed out */
	char		 tf_domain[SAUTH_DOMAIN_MAX];	/* ... for this d= */
	char		 tf_selector[64];		/* and s= */
	int		 spf_tempfail;	/* a query of this SPF check did */
	int		 spf_nq;	/* queries of this SPF check */
	int		 spf_terms;	/* ... of them, records fetched after
					   the first (include, redirect) */
	int		 spf_void;	/* ... answered NXDOMAIN or NODATA */
	long long	 deadline;	/* monotonic ms; 0 = none */
	int		 retrans;	/* per query, seconds (the timeout) */
	long long	 key_expires;	/* of the key record last looked up */
	struct key_cent	 keyc[SAUTH_KEYC_SLOTS];
	unsigned long	 keyc_hits, keyc_misses;
	struct dns_cache *cache;	/* direct-mapped, maybe shared */
	int		 cache_only;	/* sauth_cache_only: never ask DNS */
	int		 cache_missed;	/* ... and an answer was not cached */
};

/* "IP" or "IP:PORT" (IPv4; the test and bench resolvers are loopback). */
static int
parse_resolver(const char *s, struct sockaddr_in *sin)
{
	char host[64], *colon;
	long port = 53;

	if (strlen(s) >= sizeof(host))
		return -1;
	strcpy(host, s);
	if ((colon = strchr(host, ':')) != NULL) {
		*colon++ = '\0';
		port = strtol(colon, NULL, 10);
		if (port < 1 || port > 65535)
			return -1;
	}
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static long long
mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}


static struct dns_cent *
cache_slot(struct sauth_ctx *c, const char *name, int type)
{
	unsigned int h = 2166136261u ^ (unsigned int)type;
	const unsigned char *p;

	/* FNV-1a over the name, case-folded: DNS names are. */
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ (unsigned int)tolower(*p)) * 16777619u;
	return &c->cache->slot[h % SAUTH_CACHE_SLOTS];
}

/* The smallest TTL of the answer section, capped. */
static long long
answer_ttl(const unsigned char *ans, int n)
{
	ns_msg msg;
	ns_rr rr;
	long long ttl = SAUTH_TTL_MAX;
	int i;

	if (ns_initparse(ans, n, &msg) < 0)
		return 0;
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++)
		if (ns_parserr(&msg, ns_s_an, i, &rr) == 0 &&
		    (long long)ns_rr_ttl(rr) < ttl)
			ttl = ns_rr_ttl(rr);
	return ttl;
}

/*
 * One query, from the cache when it holds a live answer; the answer's
 * length, or -1 with *herr HOST_NOT_FOUND, NO_DATA or TRY_AGAIN (timeouts
 * and SERVFAIL: RFC 7208 temperror).
 */
static int
dns_query(struct sauth_ctx *c, const char *name, int type,
    unsigned char *ans, int anssz, int *herr)
{
	struct dns_cent *e = cache_slot(c, name, type);
	long long now = mono_sec(), ttl;
	int n;

	pthread_mutex_lock(&c->cache->mu);
	if (e->expires > now && e->type == type &&
	    strcasecmp(e->name, name) == 0 && e->len <= anssz) {
		*herr = e->herr;
		n = e->herr != 0 ? -1 : e->len;
		if (n > 0)
			memcpy(ans, e->ans, (size_t)n);
		pthread_mutex_unlock(&c->cache->mu);
		return n;
	}
	pthread_mutex_unlock(&c->cache->mu);
	/* A loop's context never waits: the job goes to the pool. */
	if (c->cache_only) {
		c->cache_missed = 1;
		*herr = TRY_AGAIN;
		return -1;
	}
	/* The message's deadline: what is not asked by then is a
	 * temperror, and the last query waits no longer than what is left
	 * (res_state counts whole seconds). */
	if (c->deadline > 0) {
		long long left = c->deadline - clock_mono_ms();

		if (left <= 0) {
			*herr = TRY_AGAIN;
			return -1;
		}
		c->res.retrans = (int)((left + 999) / 1000);
		if (c->res.retrans > c->retrans)
			c->res.retrans = c->retrans;
	}
	n = res_nquery(&c->res, name, ns_c_in, type, ans, anssz);
	if (n < 0) {
		*herr = c->res.res_h_errno;
		if (*herr != HOST_NOT_FOUND && *herr != NO_DATA) {
			*herr = TRY_AGAIN;
			return -1;
		}
		ttl = SAUTH_NEG_TTL;
	} else {
		*herr = 0;
		ttl = answer_ttl(ans, n);
	}
	if (ttl > 0 && n <= SAUTH_CACHE_ANS_MAX &&
	    strlen(name) < sizeof(e->name)) {
		pthread_mutex_lock(&c->cache->mu);
		strcpy(e->name, name);
		e->type = type;
		e->herr = *herr;
		e->len = n < 0 ? 0 : n;
		if (n > 0)
			memcpy(e->ans, ans, (size_t)n);
		e->expires = now + ttl;
		pthread_mutex_unlock(&c->cache->mu);
	}
	return n;
}

/* The character-strings of one TXT RR, concatenated (RFC 7208 3.3). */
static int
txt_join(const unsigned char *rd, size_t rdlen, char *out, size_t outsz)
{
	size_t i = 0, n = 0, l;

	while (i < rdlen) {
		l = rd[i++];
		if (l > rdlen - i || n + l >= outsz)
			return -1;
		memcpy(out + n, rd + i, l);
		n += l;
		i += l;
	}
	out[n] = '\0';
	return 0;
}

/* libspf2's DNS layer: answer one query from our resolver. */
static SPF_dns_rr_t *
spf_lookup(SPF_dns_server_t *d, const char *domain, ns_type type, int cache)
{
	struct sauth_ctx *c = d->hook;
	unsigned char ans[4096];
	char buf[4096];
	SPF_dns_rr_t *rr;
	ns_msg msg;
	ns_rr r;
	int n, i, herr, cnt = 0;
	size_t l;

	(void)cache;
	n = dns_query(c, domain, type, ans, sizeof(ans), &herr);
	if (n < 0 && herr == TRY_AGAIN)
		c->spf_tempfail = 1;
	/* RFC 7208 4.6.4, counted here because libspf2 1.2.10 does not
	 * count void lookups, and counts DNS terms per record rather than
	 * across includes: every record fetched after the first is an
	 * include or redirect term (a lower bound of the terms, so never a
	 * false permerror), and a term's query that finds nothing is
	 * void.  The first query (the identity's own record) is neither. */
	if (c->spf_nq++ > 0) {
		if (type == ns_t_txt)
			c->spf_terms++;
		if (n < 0 && herr != TRY_AGAIN)
			c->spf_void++;
	}
	if (n < 0 || ns_initparse(ans, n, &msg) < 0)
		return SPF_dns_rr_new_init(d, domain, type, 0,
		    n < 0 ? herr : TRY_AGAIN);
	rr = SPF_dns_rr_new_init(d, domain, type, 0, NETDB_SUCCESS);
	if (rr == NULL)
		return NULL;
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &r) < 0)
			break;
		if (ns_rr_type(r) != type)
			continue;
		rr->ttl = ns_rr_ttl(r);
		switch (type) {
		case ns_t_a:
		case ns_t_aaaa:
			l = type == ns_t_a ? 4 : 16;
			if (ns_rr_rdlen(r) != l)
				continue;
			if (SPF_dns_rr_buf_realloc(rr, cnt, l) != SPF_E_SUCCESS)
				goto out;
			memcpy(rr->rr[cnt], ns_rr_rdata(r), l);
			break;
		case ns_t_txt:
		case ns_t_spf:
			if (txt_join(ns_rr_rdata(r), ns_rr_rdlen(r), buf,
			    sizeof(buf)) == -1)
				continue;
			goto copy;
		case ns_t_mx:
		case ns_t_ptr:
			if (ns_name_uncompress(ns_msg_base(msg),
			    ns_msg_end(msg), ns_rr_rdata(r) +
			    (type == ns_t_mx ? 2 : 0), buf, sizeof(buf)) < 0)
				continue;
copy:
			l = strlen(buf) + 1;
			if (SPF_dns_rr_buf_realloc(rr, cnt, l) != SPF_E_SUCCESS)
				goto out;
			memcpy(rr->rr[cnt], buf, l);
			break;
		default:
			continue;
		}
		cnt++;
	}
out:
	rr->num_rr = cnt;
	if (cnt == 0) {
		rr->herrno = NO_DATA;
		/* An answer without a record of the type asked is void. */
		if (c->spf_nq > 1)
			c->spf_void++;
	}
	return rr;
}

static void
spf_layer_free(SPF_dns_server_t *d)
{
	free(d);
}

/*
 * When the answer to (name, type), just returned by dns_query, expires:
 * the cache slot's time when it holds it, else now plus its TTL.
 */
static long long
dns_expires(struct sauth_ctx *c, const char *name, int type,
    const unsigned char *ans, int n)
{
	struct dns_cent *e = cache_slot(c, name, type);
	long long at = 0;

	pthread_mutex_lock(&c->cache->mu);
	if (e->expires > 0 && e->type == type && strcasecmp(e->name, name) == 0)
		at = e->expires;
	pthread_mutex_unlock(&c->cache->mu);
	return at > 0 ? at : mono_sec() + answer_ttl(ans, n);
}

/*
 * The decoded-key cache.  libopendkim decodes the DER public key of every
 * signature it verifies with d2i_PUBKEY_bio(), and OpenSSL 3 builds a
 * decoder chain for each call: with a warm DNS cache that was half the
 * CPU of a whole SPF+DKIM+DMARC check (bench/sender-auth.sh under perf).
 * The library has no hook for a decoded key, so this file defines
 * d2i_PUBKEY_bio itself: the executable's definition is the one the
 * dynamic linker binds libopendkim's call to.  It serves a key from the
 * calling thread's context only inside check_dkim (dkim_cur set) and for
 * a memory BIO (libopendkim's BIO_new_mem_buf of the decoded p=); every
 * other call, from any other code, goes straight to OpenSSL's function.
 * A cached EVP_PKEY is returned with a new reference (the library frees
 * its own); the bytes of the BIO are left unread, which is harmless for a
 * read-only memory BIO its caller frees at once.
 */
static __thread struct sauth_ctx *dkim_cur;
static EVP_PKEY *(*d2i_pubkey_real)(BIO *, EVP_PKEY **);
static pthread_once_t d2i_once = PTHREAD_ONCE_INIT;

static void
d2i_resolve(void)
{
	void *f;

	/* Versioned: the plain name could find this definition again. */
	if ((f = dlvsym(RTLD_NEXT, "d2i_PUBKEY_bio", "OPENSSL_3.0.0")) ==
	    NULL)
		f = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
	*(void **)&d2i_pubkey_real = f;
}

static unsigned int
der_hash(const unsigned char *p, size_t n)
{
	unsigned int h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	struct sauth_ctx *c = dkim_cur;
	struct key_cent *e;
	char *p;
	long n;
	EVP_PKEY *pk;

	(void)pthread_once(&d2i_once, d2i_resolve);
	if (d2i_pubkey_real == NULL)
		return NULL;
	if (c == NULL || a != NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
	    (n = BIO_get_mem_data(bp, &p)) <= 0 || n > SAUTH_KEYC_DER_MAX)
		return d2i_pubkey_real(bp, a);
	e = &c->keyc[der_hash((unsigned char *)p, (size_t)n) %
	    SAUTH_KEYC_SLOTS];
	if (e->pk != NULL && e->len == (size_t)n &&
	    memcmp(e->der, p, (size_t)n) == 0 && e->expires > mono_sec() &&
	    EVP_PKEY_up_ref(e->pk) == 1) {
		c->keyc_hits++;
		return e->pk;
	}
	c->keyc_misses++;
	/* Copy the bytes first: decoding consumes the BIO. */
	e->der = xreallocarray(e->der, (size_t)n, 1);
	memcpy(e->der, p, (size_t)n);
	e->len = 0;
	EVP_PKEY_free(e->pk);
	e->pk = NULL;
	if ((pk = d2i_pubkey_real(bp, NULL)) != NULL &&
	    EVP_PKEY_up_ref(pk) == 1) {
		e->pk = pk;
		e->len = (size_t)n;
		e->expires = c->key_expires;
	}
	return pk;
}

/* Signatures past SAUTH_SIG_MAX are not verified at all. */
static DKIM_CBSTAT
dkim_prescreen(DKIM *d, DKIM_SIGINFO **sigs, int nsigs)
{
	int i;

	(void)d;
	for (i = SAUTH_SIG_MAX; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* selector._domainkey.domain TXT (RFC 6376 3.6.2.1). */
static DKIM_CBSTAT
dkim_key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct sauth_ctx *c = dkim_get_user_context(d);
	unsigned char ans[4096];
	char name[NS_MAXDNAME];
	ns_msg msg;
	ns_rr r;
	int n, i, herr;

	snprintf(name, sizeof(name), "%s._domainkey.%s",
	    dkim_sig_getselector(sig), dkim_sig_getdomain(sig));
	n = dns_query(c, name, ns_t_txt, ans, sizeof(ans), &herr);
	if (n < 0 && herr == TRY_AGAIN) {
		/* The library then stops with no signature list: keep
		 * which signature it was for the temperror. */
		c->key_tempfail = 1;
		snprintf(c->tf_domain, sizeof(c->tf_domain), "%s",
		    dkim_sig_getdomain(sig));
		snprintf(c->tf_selector, sizeof(c->tf_selector), "%s",
		    dkim_sig_getselector(sig));
		return DKIM_CBSTAT_TRYAGAIN;
	}
	if (n < 0)
		return DKIM_CBSTAT_NOTFOUND;
	if (ns_initparse(ans, n, &msg) < 0)
		return DKIM_CBSTAT_ERROR;
	c->key_expires = dns_expires(c, name, ns_t_txt, ans, n);
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++)
		if (ns_parserr(&msg, ns_s_an, i, &r) == 0 &&
		    ns_rr_type(r) == ns_t_txt &&
		    txt_join(ns_rr_rdata(r), ns_rr_rdlen(r), (char *)buf,
		    buflen) == 0)
			return DKIM_CBSTAT_CONTINUE;
	return DKIM_CBSTAT_NOTFOUND;
}

/* The PSL libopendmarc holds ("": none yet), under dmarc_mu. */
static pthread_mutex_t dmarc_mu = PTHREAD_MUTEX_INITIALIZER;
static char dmarc_psl[MAXPATHLEN];

/* A new answer cache (one reference), or peer's with one more. */
static struct dns_cache *
cache_ref(struct dns_cache *peer)
{
	struct dns_cache *dc = peer;

	if (dc == NULL) {
		dc = xcalloc(1, sizeof(*dc));
		pthread_mutex_init(&dc->mu, NULL);
	}
	pthread_mutex_lock(&dc->mu);
	dc->refs++;
	pthread_mutex_unlock(&dc->mu);
	return dc;
}

static void
cache_unref(struct dns_cache *dc)
{
	int left;

	if (dc == NULL)
		return;
	pthread_mutex_lock(&dc->mu);
	left = --dc->refs;
	pthread_mutex_unlock(&dc->mu);
	if (left > 0)
		return;
	pthread_mutex_destroy(&dc->mu);
	free(dc);
}

static struct sauth_ctx *ctx_new(const struct sauth_cfg *,
		    struct dns_cache *, char *, size_t);

struct sauth_ctx *
sauth_ctx_new(const struct sauth_cfg *cfg, char *msg, size_t msgsz)
{
	return ctx_new(cfg, NULL, msg, msgsz);
}

struct sauth_ctx *
sauth_ctx_new_shared(const struct sauth_ctx *peer, char *msg, size_t msgsz)
{
	return ctx_new(&peer->cfg, peer->cache, msg, msgsz);
}

void
sauth_cache_only(struct sauth_ctx *c, int on)
{
	c->cache_only = on;
	if (on)
		c->cache_missed = 0;
}

int
sauth_cache_missed(const struct sauth_ctx *c)
{
	return c->cache_missed;
}

static struct sauth_ctx *
ctx_new(const struct sauth_cfg *cfg, struct dns_cache *peer, char *msg,
    size_t msgsz)
{
	struct sauth_ctx *c = xcalloc(1, sizeof(*c));
	struct sockaddr_in sin;
	SPF_dns_server_t *layer;
	OPENDMARC_LIB_T li;
	unsigned int flags;
	unsigned int bits;
	long secs;

	c->cfg = *cfg;
	if (c->cfg.dkim_min_bits == 0)
		c->cfg.dkim_min_bits = SAUTH_DKIM_MIN_BITS;
	if (c->cfg.body_max == 0)
		c->cfg.body_max = SAUTH_BODY_MAX;
	if (c->cfg.psl == NULL)
		c->cfg.psl = SAUTH_PSL;
	if (cfg->resolver == NULL)
		return c;
	if (strcmp(cfg->resolver, SAUTH_RESOLVER_SYSTEM) != 0 &&
	    parse_resolver(cfg->resolver, &sin) == -1) {
		snprintf(msg, msgsz, "resolver \"%s\" is not IPV4[:PORT]",
		    cfg->resolver);
		goto fail;
	}
	if (res_ninit(&c->res) != 0) {
		snprintf(msg, msgsz, "res_ninit failed");
		goto fail;
	}
	/* Only our server (or resolv.conf's), one try of at most the
	 * timeout: a dead resolver costs one timeout per query and server,
	 * never resolv.conf's 5 s x 2. */
	if (strcmp(cfg->resolver, SAUTH_RESOLVER_SYSTEM) != 0) {
		c->res.nscount = 1;
		c->res.nsaddr_list[0] = sin;
	}
	secs = (cfg->timeout_ms + 999) / 1000;
	c->res.retrans = secs < 1 ? 1 : (int)secs;
	c->retrans = c->res.retrans;
	c->res.retry = 1;
	c->res.options &= ~(RES_DNSRCH | RES_DEFNAMES);
	c->have_dns = 1;
	c->cache = cache_ref(peer);

	layer = xcalloc(1, sizeof(*layer));
	layer->destroy = spf_layer_free;
	layer->lookup = spf_lookup;
	layer->name = "moat";
	layer->hook = c;
	/* No libspf2 cache layer over ours: dns_query caches by TTL, and
	 * every query of an SPF check must reach spf_lookup to be counted
	 * against RFC 7208's limits (a cached answer would not be).  A
	 * server made with SPF_server_new_dns() does not free the layer it
	 * was given: SPF_dns_free() does, in ctx_free. */
	c->spf_dns = layer;
	if ((c->spf = SPF_server_new_dns(layer, 0)) == NULL) {
		snprintf(msg, msgsz, "libspf2 initialisation failed");
		goto fail;
	}

	if ((c->dkim = dkim_init(NULL, NULL)) == NULL) {
		snprintf(msg, msgsz, "libopendkim initialisation failed");
		goto fail;
	}
	flags = DKIM_LIBFLAGS_FIXCRLF;
	bits = (unsigned int)c->cfg.dkim_min_bits;
	if (dkim_options(c->dkim, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(c->dkim, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits,
	    sizeof(bits)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(c->dkim, dkim_key_lookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(c->dkim, dkim_prescreen) != DKIM_STAT_OK) {
		snprintf(msg, msgsz, "libopendkim options refused");
		goto fail;
	}

	/* libopendmarc's state (the PSL) is the process's, not the
	 * context's: read it once, not once per pool thread (it took
	 * ~12 ms a time, between moatd's listen and its signal handlers). */
	pthread_mutex_lock(&dmarc_mu);
	if (strcmp(dmarc_psl, c->cfg.psl) != 0) {
		memset(&li, 0, sizeof(li));
		li.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
		snprintf((char *)li.tld_source_file,
		    sizeof(li.tld_source_file), "%s", c->cfg.psl);
		if (opendmarc_policy_library_init(&li) != DMARC_PARSE_OKAY) {
			pthread_mutex_unlock(&dmarc_mu);
			snprintf(msg, msgsz, "libopendmarc: cannot read %s",
			    c->cfg.psl);
			goto fail;
		}
		snprintf(dmarc_psl, sizeof(dmarc_psl), "%s", c->cfg.psl);
	}
	pthread_mutex_unlock(&dmarc_mu);
	c->dmarc_ok = 1;
	return c;
fail:
	sauth_ctx_free(c);
	return NULL;
}

void
sauth_ctx_free(struct sauth_ctx *c)
{
	int i;

	if (c == NULL)
		return;
	if (c->spf != NULL)
		SPF_server_free(c->spf);
	if (c->spf_dns != NULL)
		SPF_dns_free(c->spf_dns);
	if (c->dkim != NULL)
		dkim_close(c->dkim);
	if (c->have_dns)
		res_nclose(&c->res);
	for (i = 0; i < SAUTH_KEYC_SLOTS; i++) {
		EVP_PKEY_free(c->keyc[i].pk);
		free(c->keyc[i].der);
	}
	cache_unref(c->cache);
	free(c);
}

void
sauth_ctx_stats(const struct sauth_ctx *c, unsigned long *hits,
    unsigned long *misses)
{
	*hits = c->keyc_hits;
	*misses = c->keyc_misses;
}

static enum sauth_res
spf_res(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:		return SAUTH_PASS;
	case SPF_RESULT_FAIL:		return SAUTH_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SAUTH_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:	return SAUTH_NEUTRAL;
	case SPF_RESULT_NONE:		return SAUTH_NONE;
	case SPF_RESULT_TEMPERROR:	return SAUTH_TEMPERROR;
	default:			return SAUTH_PERMERROR;
	}
}

/* One SPF query: mail_from NULL checks the HELO identity. */
static enum sauth_res
spf_one(struct sauth_ctx *c, const char *ip, const char *helo,
    const char *mail_from)
{
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum sauth_res res;

	if ((req = SPF_request_new(c->spf)) == NULL)
		return SAUTH_TEMPERROR;
	if ((strchr(ip, ':') != NULL ? SPF_request_set_ipv6_str(req, ip) :
	    SPF_request_set_ipv4_str(req, ip)) != SPF_E_SUCCESS) {
		SPF_request_free(req);
		return SAUTH_PERMERROR;
	}
	if (helo != NULL)
		SPF_request_set_helo_dom(req, helo);
	if (mail_from != NULL)
		SPF_request_set_env_from(req, mail_from);
	c->spf_tempfail = 0;
	c->spf_nq = c->spf_terms = c->spf_void = 0;
	SPF_request_query_mailfrom(req, &resp);
	res = resp != NULL ? spf_res(SPF_response_result(resp)) :
	    SAUTH_TEMPERROR;
	/* RFC 7208 4.6.4: more than 10 DNS terms, or more than 2 void
	 * lookups, is a permerror (the queries made stop at the mechanism
	 * that matched, so a pass before the limit stays a pass). */
	if (res != SAUTH_TEMPERROR && (c->spf_terms > SAUTH_SPF_TERMS_MAX ||
	    c->spf_void > SAUTH_SPF_VOID_MAX))
		res = SAUTH_PERMERROR;
	/* libspf2 reports a failed query as an invalid result or a
	 * permerror; RFC 7208 4.4 makes any DNS error a temperror unless
	 * the record already matched. */
	if (c->spf_tempfail && (res == SAUTH_PERMERROR || res == SAUTH_NONE))
		res = SAUTH_TEMPERROR;
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	return res;
}

static void
check_spf(struct sauth_ctx *c, const char *ip, const char *helo,
    const char *mail_from, struct sauth_results *r)
{
	const char *at;

	if (helo != NULL && strchr(helo, '.') != NULL) {
		snprintf(r->helo, sizeof(r->helo), "%s", helo);
		r->spf_helo = spf_one(c, ip, helo, NULL);
	} else
		r->spf_helo = SAUTH_NONE;
	if (mail_from == NULL || mail_from[0] == '\0') {
		/* RFC 7208 2.4: the null sender is postmaster@HELO. */
		r->spf = r->spf_helo;
		return;
	}
	if ((at = strrchr(mail_from, '@')) != NULL)
		snprintf(r->spf_domain, sizeof(r->spf_domain), "%s", at + 1);
	r->spf = spf_one(c, ip, helo, mail_from);
}

static void
check_dkim(struct sauth_ctx *c, const char *msg, size_t len,
    struct sauth_results *r)
{
	DKIM *d;
	DKIM_SIGINFO **sigs;
	DKIM_STAT st;
	const char *eoh;
	size_t hlen;
	int i, n, err;

	/* Bound the bytes hashed: the header plus body_max of body. */
	eoh = memmem(msg, len, "\r\n\r\n", 4);
	if (eoh == NULL)
		eoh = memmem(msg, len, "\n\n", 2);
	hlen = eoh != NULL ? (size_t)(eoh - msg) : len;
	if (len - hlen > c->cfg.body_max)
		len = hlen + c->cfg.body_max;

	c->key_tempfail = 0;
	if ((d = dkim_verify(c->dkim, (const u_char *)"moat", NULL, &st)) ==
	    NULL)
		return;
	dkim_set_user_context(d, c);
	/* Keys are decoded in dkim_chunk (at the end of the header) or
	 * dkim_eom: the decoded-key cache serves both. */
	dkim_cur = c;
	st = dkim_chunk(d, (u_char *)(uintptr_t)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		(void)dkim_eom(d, NULL);
	dkim_cur = NULL;
	if (dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK)
		n = 0;
	if (st == DKIM_STAT_CBTRYAGAIN && c->key_tempfail) {
		struct sauth_sig *s = &r->sigs[r->nsigs++];

		s->res = SAUTH_TEMPERROR;
		snprintf(s->domain, sizeof(s->domain), "%s", c->tf_domain);
		snprintf(s->selector, sizeof(s->selector), "%s",
		    c->tf_selector);
		snprintf(s->reason, sizeof(s->reason), "key query timed out");
		n = 0;
	}
	for (i = 0; i < n && r->nsigs < SAUTH_SIG_MAX; i++) {
		struct sauth_sig *s = &r->sigs[r->nsigs++];
		unsigned int fl = dkim_sig_getflags(sigs[i]);
		const u_char *dom = dkim_sig_getdomain(sigs[i]);
		const u_char *sel = dkim_sig_getselector(sigs[i]);

		snprintf(s->domain, sizeof(s->domain), "%s",
		    dom != NULL ? (const char *)dom : "");
		snprintf(s->selector, sizeof(s->selector), "%s",
		    sel != NULL ? (const char *)sel : "");
		err = dkim_sig_geterror(sigs[i]);
		if ((fl & DKIM_SIGFLAG_PASSED) != 0 &&
		    dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH) {
			s->res = SAUTH_PASS;
			continue;
		}
		if (dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MISMATCH) {
			s->res = SAUTH_FAIL;
			snprintf(s->reason, sizeof(s->reason),
			    "body hash mismatch");
			continue;
		}
		if (err == DKIM_SIGERROR_KEYFAIL)
			s->res = SAUTH_TEMPERROR;
		else if (err == DKIM_SIGERROR_BADSIG || err == DKIM_SIGERROR_OK)
			s->res = SAUTH_FAIL;
		else
			s->res = SAUTH_PERMERROR;
		snprintf(s->reason, sizeof(s->reason), "%s",
		    err == DKIM_SIGERROR_OK ? "signature mismatch" :
		    dkim_sig_geterrorstr(err));
	}
	dkim_free(d);
}

/*
 * Exported by libopendmarc but missing from dmarc.h: the organizational
 * domain of a name by the Public Suffix List read at library init.
 */
int	opendmarc_get_tld(u_char *, u_char *, size_t);

/*
 * The organizational domain of name (RFC 7489 3.2) by the PSL read at
 * library init.  libopendmarc leaves out untouched when no rule matches
 * (an unlisted TLD); then the PSL's default rule "*" applies: the last
 * two labels.
 */
static int
org_domain(const char *name, char *out, size_t outsz)
{
	u_char org[SAUTH_DOMAIN_MAX];
	const char *last, *p;

	if (strlen(name) >= sizeof(org))
		return -1;
	org[0] = '\0';
	if (opendmarc_get_tld((u_char *)(uintptr_t)name, org,
	    sizeof(org)) != 0)
		return -1;
	if (org[0] == '\0') {
		if ((last = strrchr(name, '.')) == NULL || last == name)
			return -1;
		for (p = last; p > name && p[-1] != '.'; p--)
			;
		snprintf((char *)org, sizeof(org), "%s", p);
	}
	if (strlen((char *)org) >= outsz)
		return -1;
	strcpy(out, (char *)org);
	return 0;
}

/* The one DMARC record at _dmarc.name; 1 found, 0 none, -2 DNS trouble. */
static int
dmarc_txt(struct sauth_ctx *c, const char *name, char *rec, size_t recsz)
{
	unsigned char ans[4096];
	char q[NS_MAXDNAME], txt[1024];
	ns_msg msg;
	ns_rr rr;
	int n, i, herr, found = 0;

	snprintf(q, sizeof(q), "_dmarc.%s", name);
	if ((n = dns_query(c, q, ns_t_txt, ans, sizeof(ans), &herr)) < 0)
		return herr == TRY_AGAIN ? -2 : 0;
	if (ns_initparse(ans, n, &msg) < 0)
		return -2;
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 ||
		    ns_rr_type(rr) != ns_t_txt ||
		    txt_join(ns_rr_rdata(rr), ns_rr_rdlen(rr), txt,
		    sizeof(txt)) == -1 || strncmp(txt, "v=DMARC1", 8) != 0)
			continue;
		snprintf(rec, recsz, "%s", txt);
		found++;
	}
	/* RFC 7489 6.6.3: several records are as none. */
	return found == 1;
}

/*
 * Find and store the DMARC record for from (RFC 7489 6.6.3: the From
 * domain, else its organizational domain) through our resolver rather
 * than libopendmarc's, whose resolver waits resolv.conf's timeouts
 * (5 s, 2 tries).  The library's parse status, -1 none, -2 DNS trouble.
 */
static int
dmarc_record(struct sauth_ctx *c, const char *from, DMARC_POLICY_T *p)
{
	char rec[1024];
	u_char org[SAUTH_DOMAIN_MAX];
	int f;

	if ((f = dmarc_txt(c, from, rec, sizeof(rec))) == 1)
		return opendmarc_policy_store_dmarc(p, (u_char *)rec,
		    (u_char *)(uintptr_t)from, NULL);
	if (f == -2)
		return -2;
	if (org_domain(from, (char *)org, sizeof(org)) == -1 ||
	    strcasecmp((char *)org, from) == 0)
		return -1;
	if ((f = dmarc_txt(c, (char *)org, rec, sizeof(rec))) != 1)
		return f == -2 ? -2 : -1;
	return opendmarc_policy_store_dmarc(p, (u_char *)rec,
	    (u_char *)(uintptr_t)from, org);
}

static void
check_dmarc(struct sauth_ctx *c, const char *ip, struct sauth_results *r)
{
	DMARC_POLICY_T *p;
	int i, st, out, pol, pct;

	if (r->from_domain[0] == '\0') {
		r->dmarc = SAUTH_NONE;
		return;
	}
	p = opendmarc_policy_connect_init((u_char *)(uintptr_t)ip,
	    strchr(ip, ':') != NULL);
	if (p == NULL) {
		r->dmarc = SAUTH_TEMPERROR;
		return;
	}
	opendmarc_policy_store_from_domain(p, (u_char *)r->from_domain);
	for (i = 0; i < r->nsigs; i++) {
		out = r->sigs[i].res == SAUTH_PASS ?
		    DMARC_POLICY_DKIM_OUTCOME_PASS :
		    r->sigs[i].res == SAUTH_TEMPERROR ?
		    DMARC_POLICY_DKIM_OUTCOME_TMPFAIL :
		    DMARC_POLICY_DKIM_OUTCOME_FAIL;
		opendmarc_policy_store_dkim(p, (u_char *)r->sigs[i].domain,
		    (u_char *)r->sigs[i].selector, out, NULL);
	}
	if (r->spf != SAUTH_SKIPPED) {
		out = r->spf == SAUTH_PASS ? DMARC_POLICY_SPF_OUTCOME_PASS :
		    r->spf == SAUTH_TEMPERROR ?
		    DMARC_POLICY_SPF_OUTCOME_TMPFAIL :
		    r->spf == SAUTH_NONE ? DMARC_POLICY_SPF_OUTCOME_NONE :
		    DMARC_POLICY_SPF_OUTCOME_FAIL;
		opendmarc_policy_store_spf(p, (u_char *)(r->spf_domain[0] ?
		    r->spf_domain : r->helo), out, r->spf_domain[0] ?
		    DMARC_POLICY_SPF_ORIGIN_MAILFROM :
		    DMARC_POLICY_SPF_ORIGIN_HELO, NULL);
	}
	st = dmarc_record(c, r->from_domain, p);
	if (st == -2) {
		r->dmarc = SAUTH_TEMPERROR;
		goto out;
	}
	if (st == -1) {
		r->dmarc = SAUTH_NONE;
		goto out;
	}
	if (st != DMARC_PARSE_OKAY) {
		r->dmarc = SAUTH_PERMERROR;
		goto out;
	}
	pol = opendmarc_get_policy_to_enforce(p);
	/* RFC 7489 6.6.4: libopendmarc leaves pct= to the caller.  A
	 * message outside the sampled percentage gets the next policy
	 * down (reject -> quarantine -> none). */
	if ((pol == DMARC_POLICY_REJECT || pol == DMARC_POLICY_QUARANTINE) &&
	    opendmarc_policy_fetch_pct(p, &pct) == DMARC_PARSE_OKAY &&
	    pct < 100 && (pct <= 0 || (int)arc4random_uniform(100) >= pct))
		pol = pol == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE :
		    DMARC_POLICY_NONE;
	switch (pol) {
	case DMARC_POLICY_PASS:
		r->dmarc = SAUTH_PASS;
		break;
	case DMARC_POLICY_REJECT:
		r->dmarc = SAUTH_FAIL;
		r->dmarc_policy = SAUTH_P_REJECT;
		break;
	case DMARC_POLICY_QUARANTINE:
		r->dmarc = SAUTH_FAIL;
		r->dmarc_policy = SAUTH_P_QUARANTINE;
		break;
	case DMARC_POLICY_NONE:
		r->dmarc = SAUTH_FAIL;
		r->dmarc_policy = SAUTH_P_NONE;
		break;
	default:
		r->dmarc = SAUTH_NONE;
		break;
	}
out:
	opendmarc_policy_connect_shutdown(p);
}

int
sauth_from_domain(const char *msg, size_t len, char *out, size_t outsz)
{
	const char *p = msg, *end = msg + len, *eol, *v = NULL, *ve = NULL;
	const char *at, *q;
	size_t n;
	int count = 0;

	/* Header fields until the empty line; continuation lines extend
	 * the field before them. */
	while (p < end && *p != '\r' && *p != '\n') {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol != NULL ? eol + 1 : end;
		if (*p != ' ' && *p != '\t') {
			if (eol - p > 5 && strncasecmp(p, "From:", 5) == 0) {
				count++;
				v = p + 5;
			} else if (v != NULL && ve == NULL)
				ve = p;
		}
		p = eol;
	}
	if (count != 1 || v == NULL)
		return -1;
	if (ve == NULL)
		ve = p;
	/* The address is inside <...> when there is a display name. */
	if ((q = memchr(v, '<', (size_t)(ve - v))) != NULL) {
		v = q + 1;
		if ((q = memchr(v, '>', (size_t)(ve - v))) == NULL)
			return -1;
		ve = q;
	}
	if ((at = memchr(v, '@', (size_t)(ve - v))) == NULL)
		return -1;
	if (memchr(at + 1, '@', (size_t)(ve - at - 1)) != NULL ||
	    memchr(v, ',', (size_t)(ve - v)) != NULL)
		return -1;
	for (q = at + 1, n = 0; q < ve && (isalnum((unsigned char)*q) ||
	    *q == '.' || *q == '-' || *q == '_'); q++)
		n++;
	if (n == 0 || n >= outsz)
		return -1;
	memcpy(out, at + 1, n);
	out[n] = '\0';
	for (n = 0; out[n] != '\0'; n++)
		out[n] = (char)tolower((unsigned char)out[n]);
	return 0;
}

void
sauth_check(struct sauth_ctx *c, const char *client_ip, const char *helo,
    const char *mail_from, const char *msg, size_t len,
    struct sauth_results *r)
{
	sauth_results_init(r);
	if (c->cfg.deadline_ms > 0)
		sauth_deadline(c, clock_mono_ms() + c->cfg.deadline_ms);
	sauth_check_spf(c, client_ip, helo, mail_from, r);
	sauth_check_msg(c, client_ip, msg, len, SAUTH_DO_MSG, r);
}

void
sauth_results_init(struct sauth_results *r)
{
	memset(r, 0, sizeof(*r));
	r->spf = r->spf_helo = r->dmarc = SAUTH_SKIPPED;
}

void
sauth_deadline(struct sauth_ctx *c, int64_t at)
{
	c->deadline = at;
}

void
sauth_check_spf(struct sauth_ctx *c, const char *client_ip, const char *helo,
    const char *mail_from, struct sauth_results *r)
{
	if (c->have_dns && c->cfg.spf && client_ip != NULL)
		check_spf(c, client_ip, helo, mail_from, r);
}

void
sauth_check_msg(struct sauth_ctx *c, const char *client_ip, const char *msg,
    size_t len, unsigned what, struct sauth_results *r)
{
	(void)sauth_from_domain(msg, len, r->from_domain,
	    sizeof(r->from_domain));
	if (!c->have_dns)
		return;
	if (c->cfg.dkim && (what & SAUTH_DO_DKIM))
		check_dkim(c, msg, len, r);
	if (c->cfg.dmarc && (what & SAUTH_DO_DMARC) && c->dmarc_ok &&
	    client_ip != NULL)
		check_dmarc(c, client_ip, r);
}

/* Append " word" to facts unless it is there already. */
static void
add_word(struct sbuf *facts, const char *word)
{
	size_t wl = strlen(word), i;

	for (i = 0; i + wl + 1 <= facts->len; i++)
		if (facts->p[i] == ' ' && memcmp(facts->p + i + 1, word,
		    wl) == 0 && (i + wl + 1 == facts->len ||
		    facts->p[i + wl + 1] == ' '))
			return;
	sbuf_addc(facts, ' ');
	sbuf_adds(facts, word);
}

/* The name to ask a list about: reversed address or the domain. */
static int
list_query_name(const char *kind, const char *name, const char *zone,
    char *q, size_t qsz)
{
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = 0;
	int i, w;

	if (strcmp(kind, "dnsbl") != 0) {
		w = snprintf(q, qsz, "%s.%s", name, zone);
		return w < 0 || (size_t)w >= qsz ? -1 : 0;
	}
	if (inet_pton(AF_INET, name, &a4) == 1) {
		const unsigned char *b = (const unsigned char *)&a4;

		w = snprintf(q, qsz, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0],
		    zone);
		return w < 0 || (size_t)w >= qsz ? -1 : 0;
	}
	if (inet_pton(AF_INET6, name, &a6) != 1 || qsz < 64 + strlen(zone) + 1)
		return -1;
	for (i = 15; i >= 0; i--) {
		n += (size_t)snprintf(q + n, qsz - n, "%x.%x.",
		    a6.s6_addr[i] & 15, a6.s6_addr[i] >> 4);
	}
	snprintf(q + n, qsz - n, "%s", zone);
	return 0;
}

int
sauth_lists(struct sauth_ctx *c, const struct sauth_sites *sites,
    const char *kind, const char *name, struct sbuf *facts, int *weight,
    int *temp)
{
	unsigned char ans[4096];
	char q[NS_MAXDNAME], addr[INET_ADDRSTRLEN], word[SAUTH_DOMAIN_MAX + 16];
	char up[16];
	ns_msg msg;
	ns_rr rr;
	int s, i, n, herr, hit, listed = 0;
	size_t k;

	if (!c->have_dns)
		return 0;
	for (k = 0; kind[k] != '\0' && k + 1 < sizeof(up); k++)
		up[k] = (char)toupper((unsigned char)kind[k]);
	up[k] = '\0';
	for (s = 0; s < sites->n; s++) {
		const struct sauth_site *site = &sites->site[s];

		if (list_query_name(kind, name, site->zone, q, sizeof(q)) == -1)
			continue;
		n = dns_query(c, q, ns_t_a, ans, sizeof(ans), &herr);
		if (n < 0) {
			if (herr == TRY_AGAIN)
				(*temp)++;
			continue;
		}
		if (ns_initparse(ans, n, &msg) < 0)
			continue;
		hit = 0;
		for (i = 0; i < ns_msg_count(msg, ns_s_an) && !hit; i++)
			if (ns_parserr(&msg, ns_s_an, i, &rr) == 0 &&
			    ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4 &&
			    inet_ntop(AF_INET, ns_rr_rdata(rr), addr,
			    sizeof(addr)) != NULL &&
			    sauth_site_match(site, addr))
				hit = 1;
		if (!hit)
			continue;
		listed++;
		*weight += site->weight;
		snprintf(word, sizeof(word), "%s_%s", up,
		    site->weight < 0 ? "ALLOW" : "HIT");
		add_word(facts, word);
		snprintf(word, sizeof(word), "%s:%s", kind, site->zone);
		add_word(facts, word);
	}
	return listed;
}

int
sauth_org_domain(struct sauth_ctx *c, const char *host, char *out,
    size_t outsz)
{
	if (!c->dmarc_ok)
		return -1;
	return org_domain(host, out, outsz);
}
