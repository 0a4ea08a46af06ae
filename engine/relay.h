/*
 * relay.h: the relay decision for one recipient (DESIGN.md, Safety rules),
 * as a pure function of the recipient and what is known of the client.
 */
#ifndef MOAT_RELAY_H
#define MOAT_RELAY_H

#include "netaddr.h"
#include "smtp_cmd.h"

/*
 * relay_rcpt_allowed: 1 if a client may send to rcpt, 0 if it would be
 * relaying.  trusted: the client is in trusted_networks; authenticated:
 * it logged in with AUTH; local_domains: the domains we receive for
 * (config local_domains; NULL is an empty set).
 * A trusted client may send anywhere, even with a relay trick.  For any
 * other, a relay trick (smtp_path_relay_suspect: % hack, bang path,
 * source route, quoted local part) is refused outright, authenticated or
 * not, because the MTA behind us may route by it; then an authenticated
 * client relays (RFC 4954 5); <postmaster> with no domain is always
 * taken (RFC 5321 4.5.1); an address literal is never local; otherwise
 * the domain, compared without case, must be a local domain.
 * Pure: no I/O, no clock, no allocation.
 */
int	relay_rcpt_allowed(const struct smtp_path *rcpt, int trusted,
	    int authenticated, const struct domain_set *local_domains);

#endif
