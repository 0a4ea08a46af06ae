/*
 * relay.c: may this client send to this recipient (relay.h)?  It is the
 * whole of moatd's open-relay protection, so it is kept pure and tested
 * by itself (tests/unit/test_relay.c).  It does not reply, log or count:
 * the session does that with the answer.  It does not judge the syntax
 * of the address, which smtp_cmd_parse() already did.
 */
#include <stddef.h>

#include "relay.h"

int
relay_rcpt_allowed(const struct smtp_path *p, int trusted, int authenticated,
    const struct domain_set *local_domains)
{
	char dom[SMTP_DOMAIN_MAX + 1];
	size_t i;

	if (trusted)
		return 1;
	if (smtp_path_relay_suspect(p))
		return 0;
	if (authenticated)
		return 1;
	if (p->domain == NULL)
		return 1;
	if (p->literal)
		return 0;
	/* ASCII only: a UTF-8 domain is matched as the client wrote it. */
	for (i = 0; p->domain[i] && i < SMTP_DOMAIN_MAX; i++)
		dom[i] = (char)((p->domain[i] >= 'A' && p->domain[i] <= 'Z') ?
		    p->domain[i] + 32 : p->domain[i]);
	dom[i] = '\0';
	return domain_set_match(local_domains, dom);
}
