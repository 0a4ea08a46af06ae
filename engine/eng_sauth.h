/*
 * eng_sauth.h: sender authentication and DNS lists as engine steps
 * (issue 16; doc/config.md "Sender authentication").  The steps are rows
 * of engine/eng_steps.h; what a front end needs of their results is here.
 */
#ifndef MOAT_ENG_SAUTH_H
#define MOAT_ENG_SAUTH_H

#include "sbuf.h"

struct config;
struct eng_tx;
struct eng_sauth;
struct sauth_pool;

/* eng_tx_free: cancel the job in flight (no callback after it) and free
 * tx's state.  eng_tx_end: forget the transaction's results. */
void	eng_sauth_free(struct eng_tx *);
void	eng_sauth_tx_end(struct eng_tx *);

/*
 * The facts words the checks found so far (DNS lists at connect, SPF at
 * MAIL, DKIM and DMARC at DATA), each preceded by a space, appended to
 * out (rules/auth.rules reads them).
 */
void	eng_sauth_facts(const struct eng_tx *, struct sbuf *out);

/*
 * The Authentication-Results field (CRLF-terminated) to put on the
 * forwarded message, or NULL when the checks did not run for it (no
 * pool, a trusted or authenticated client).  Valid until the transaction
 * ends.  Before adding it the front end removes every such field with
 * our id (sauth_ar_strip with eng_sauth_authserv_id) from the message.
 */
const struct sbuf *eng_sauth_header(const struct eng_tx *);

/* Whether cfg turns on any check (spf, dkim, dmarc, a list). */
int	eng_sauth_enabled(const struct config *);

/* Whether the DATA step needs the parsed message (URI lists). */
int	eng_sauth_needs_msg(const struct config *);

/* Our authserv-id: authserv_id, else the hostname. */
const char *eng_sauth_authserv_id(const struct config *);

/*
 * The transaction log's fields: add(arg, key, value) for spf, dkim,
 * dmarc and lists (the lists that answered, "dnsbl:ZONE,uribl:ZONE"),
 * each only when it has a value.  Values are not escaped: domains come
 * from the client.
 */
void	eng_sauth_log_fields(const struct eng_tx *,
	    void (*add)(void *arg, const char *key, const char *val),
	    void *arg);

/*
 * The sender-authentication pool for cfg (dns_resolver, dns_timeout), or
 * NULL with one warning when it cannot be made (the checks stay off).
 * Both daemons call it once, after the privilege drop.
 */
struct sauth_pool *eng_sauth_pool_setup(const struct config *);

#endif
