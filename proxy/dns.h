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
 * name: the verified name (valid during the call only) or NULL.
 * ptr: the PTR name as found (a sane host name), verified or not, or NULL.
 * status: "ok" (verified), "unverified" (PTR without a matching A/AAAA),
 * "none" (no PTR), "error" (temporary failure or timeout).
 */
typedef void dns_name_cb(void *arg, const char *name, const char *ptr,
    const char *status);

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
