/*
 * dns.h: the client's forward-confirmed reverse name (FCrDNS), looked up
 * asynchronously with evdns on the session's worker: PTR of the address,
 * then A/AAAA of that name, which must include the address.
 */
#ifndef MOAT_DNS_H
#define MOAT_DNS_H

#include "netaddr.h"

struct evdns_base;
struct dns_lookup;

/*
 * What became of the lookup of a session's client name.  One list makes
 * the enum and the names logged as dns= (dns_status_name), so the two
 * cannot drift apart:
 * off (no lookup: reverse_dns off), pending (asked, no answer yet),
 * ok (verified), unverified (a PTR without a matching A/AAAA, or a PTR
 * that is no host name), none (no PTR), error (temporary failure),
 * timeout (the session stopped waiting for it).
 */
#define DNS_STATUS_LIST(X)						\
	X(DNS_ST_OFF, "off")						\
	X(DNS_ST_PENDING, "pending")					\
	X(DNS_ST_OK, "ok")						\
	X(DNS_ST_UNVERIFIED, "unverified")				\
	X(DNS_ST_NONE, "none")						\
	X(DNS_ST_ERROR, "error")					\
	X(DNS_ST_TIMEOUT, "timeout")

enum dns_status {
#define DNS_ST_ENUM(e, name)	e,
	DNS_STATUS_LIST(DNS_ST_ENUM)
#undef DNS_ST_ENUM
};

/* dns_status_name: the logged name of a status. */
const char *dns_status_name(enum dns_status);
/* dns_status_temp: 1 if the name may be found on another try. */
int	dns_status_temp(enum dns_status);

/*
 * name: the verified name (valid during the call only) or NULL.
 * ptr: the PTR name as found (a sane host name), verified or not, or NULL.
 * status: DNS_ST_OK, _UNVERIFIED, _NONE or _ERROR.
 */
typedef void dns_name_cb(void *arg, const char *name, const char *ptr,
    enum dns_status status);

/*
 * dns_client_name: start the lookup; cb is called once, later, from the
 * event loop, unless dns_cancel() is called first.  Returns the handle
 * (owned by the lookup itself, valid until cb runs or dns_cancel()).
 */
struct dns_lookup *dns_client_name(struct evdns_base *, const struct netaddr *,
	    dns_name_cb *cb, void *arg);
/* dns_cancel: cb will not be called; the handle is gone. */
void	dns_cancel(struct dns_lookup *);

/* dns_name_sane: 1 if name is a plausible host name (LDH labels, dots). */
int	dns_name_sane(const char *name);

#endif
