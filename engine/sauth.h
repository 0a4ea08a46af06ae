/*
 * sauth.h: sender authentication (SPF, DKIM, DMARC) and DNS lists, as
 * checks whose results become rule facts and an Authentication-Results
 * header (issue 16).
 *
 * The pure part (results, facts, the header writer and parser, the DNS
 * list syntax) has no I/O and is in libengine.a for conf/, tools and the unit
 * tests.  The checks themselves (sauth_check.c) call libspf2, libopendkim
 * and libopendmarc, whose DNS goes through sauth_check.c's own resolver
 * layer: blocking, bounded by a timeout and a per-message deadline, so a
 * caller on an event loop runs them on a pool (sauth_pool.h; the engine's
 * steps in eng_sauth.c).
 */
#ifndef SAUTH_H
#define SAUTH_H

#include <stddef.h>

struct sbuf;

/* One result word for every method (RFC 8601 2.7; RFC 7208 2.6). */
enum sauth_res {
	SAUTH_NONE = 0, SAUTH_PASS, SAUTH_FAIL, SAUTH_SOFTFAIL, SAUTH_NEUTRAL,
	SAUTH_TEMPERROR, SAUTH_PERMERROR, SAUTH_POLICY, SAUTH_SKIPPED
};

/* DMARC's published policy, for the DMARC_* facts. */
enum sauth_policy {
	SAUTH_P_UNKNOWN = 0, SAUTH_P_NONE, SAUTH_P_QUARANTINE, SAUTH_P_REJECT
};

#define SAUTH_SIG_MAX	8	/* DKIM signatures verified per message */
#define SAUTH_DOMAIN_MAX 256	/* a domain name, NUL included */

struct sauth_sig {
	enum sauth_res	res;
	char		domain[SAUTH_DOMAIN_MAX];	/* d= */
	char		selector[64];			/* s= */
	char		reason[64];	/* why not pass, for the header */
};

/*
 * The outcome of the checks for one message.  Plain data: a front end
 * fills it (sauth_check.c or a test), the functions below read it.
 */
struct sauth_results {
	enum sauth_res	spf;		/* MAIL FROM identity */
	enum sauth_res	spf_helo;	/* HELO identity */
	char		spf_domain[SAUTH_DOMAIN_MAX];	/* smtp.mailfrom */
	char		helo[SAUTH_DOMAIN_MAX];		/* smtp.helo */
	int		nsigs;
	struct sauth_sig sigs[SAUTH_SIG_MAX];
	enum sauth_res	dmarc;
	enum sauth_policy dmarc_policy;	/* the policy that applies */
	char		from_domain[SAUTH_DOMAIN_MAX];	/* header.from */
};

const char	*sauth_res_name(enum sauth_res);
int		 sauth_res_parse(const char *, size_t, enum sauth_res *);

/*
 * Append the facts words for r to sb, each preceded by a space, e.g.
 * " SPF_PASS DKIM_SIGNED DKIM_VALID DKIM_VALID_AU DMARC_PASS".  A rule
 * tests them with facts =~ /(?:^|\s)SPF_FAIL(?:\s|$)/ (rules/auth.rules).
 * SKIPPED checks add nothing.
 */
void		 sauth_facts(const struct sauth_results *r, struct sbuf *sb);

/*
 * Write an Authentication-Results header field (RFC 8601 2.2) for r under
 * authserv_id, folded, CRLF-terminated, to sb.  Values the sender chose
 * (domains) are written as quoted-string when they are not tokens.
 */
void		 sauth_ar_write(const char *authserv_id,
		    const struct sauth_results *r, struct sbuf *sb);

/*
 * Parse the value of an Authentication-Results field (what follows the
 * colon, unfolded or not) far enough to return its authserv-id: comments
 * (nested) skipped, quoted-string allowed (RFC 8601 2.2).  Returns 0 and
 * copies the id (NUL-terminated) into id, or -1 when the field is
 * malformed or the id does not fit.  Used to strip fields that claim to
 * be ours before we add our own (RFC 8601 5).
 */
int		 sauth_ar_authserv_id(const char *v, size_t len, char *id,
		    size_t idsz);

/*
 * Return 1 if the header field hdr (name ":" value, len bytes) is an
 * Authentication-Results field whose authserv-id is authserv_id
 * (case-insensitive), or is malformed (it cannot be proven not ours), else
 * 0.
 */
int		 sauth_ar_is_ours(const char *hdr, size_t len,
		    const char *authserv_id);

/*
 * Copy the header block hdr (len bytes: header fields, CRLF or LF line
 * ends; anything from an empty line on is copied untouched) to out
 * without every Authentication-Results field that sauth_ar_is_ours()
 * says is ours, continuation lines included (RFC 8601 5: a field with
 * our authserv-id that came from outside is a forgery, removed before we
 * add our own).  Every other byte is kept as it was.  Returns the number
 * of fields removed.
 */
int		 sauth_ar_strip(const char *hdr, size_t len,
		    const char *authserv_id, struct sbuf *out);

/*
 * DNS lists in postscreen's syntax: "zone[=answer-filter][*weight]",
 * answer-filter "127.0.0.2" or "127.0.0.[2;4..7]".  Weight may be negative
 * (an allow list).  At most SAUTH_LIST_MAX sites.
 */
#define SAUTH_LIST_MAX	32
#define SAUTH_URI_MAX	20	/* distinct URI domains asked per message */
struct sauth_site {
	char		zone[SAUTH_DOMAIN_MAX];
	char		filter[64];	/* "" = any 127.0.0.0/8 answer */
	int		weight;
};
struct sauth_sites {
	int		n;
	struct sauth_site site[SAUTH_LIST_MAX];
};

/* Parse a space-separated list s.  0 or -1 with a message in msg. */
int		 sauth_sites_parse(const char *s, struct sauth_sites *out,
		    char *msg, size_t msgsz);

/* Whether answer (dotted IPv4) matches the site's filter. */
int		 sauth_site_match(const struct sauth_site *, const char *answer);

/*
 * The host of a URI as URI lists are asked about: scheme "http", "https"
 * or "ftp" (or none, "www.example.org/x"), userinfo and port dropped,
 * lower-cased, a trailing dot removed; "mailto:" gives the address's
 * domain.  0 and the host in out, or -1 (no host, an IP literal, not a
 * DNS name, or too long).
 */
int		 sauth_uri_host(const char *uri, size_t len, char *out,
		    size_t outsz);

#endif
