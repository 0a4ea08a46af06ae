/*
 * dns.c: forward-confirmed reverse DNS for the client (see dns.h).
 *
 * It never blocks: evdns sends the queries and calls back on the worker's
 * loop.  It does not decide anything about the client; the session records
 * the name (Received:, XCLIENT NAME=, logs) and, later, checks may score it.
 * A PTR name is believed only when its A/AAAA records include the client's
 * address, since anyone controlling the reverse zone of their own addresses
 * can claim any name.  Invariant: a lookup owns itself; after dns_cancel()
 * it lives on only until evdns hands back the cancelled request.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "dns.h"
#include "xmalloc.h"

struct dns_lookup {
	struct evdns_base	*base;
	struct evdns_request	*req;
	struct netaddr		 addr;
	dns_name_cb		*cb;
	void			*arg;
	char			*ptr;
	int			 cancelled;
};

int
dns_name_sane(const char *name)
{
	size_t len = strlen(name), label = 0;
	const char *p;

	if (len == 0 || len > 253)
		return 0;
	for (p = name; *p; p++) {
		if (*p == '.') {
			/* RFC 952/1123: no empty label, no '-' at its end. */
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (*p == '-' && label == 0)
			return 0;	/* nor at its start */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return p[-1] != '-';
}

static void
dns_finish(struct dns_lookup *l, const char *name, enum dns_status status)
{
	l->cb(l->arg, name, l->ptr, status);
	free(l->ptr);
	free(l);
}

static void
dns_forward_cb(int result, char type, int count, int ttl, void *addrs,
    void *arg)
{
	struct dns_lookup *l = arg;
	int i, n = l->addr.family == AF_INET ? 4 : 16;

	(void)ttl;
	l->req = NULL;
	if (l->cancelled) {
		free(l->ptr);
		free(l);
		return;
	}
	if (result == DNS_ERR_NONE &&
	    ((type == DNS_IPv4_A && l->addr.family == AF_INET) ||
	    (type == DNS_IPv6_AAAA && l->addr.family == AF_INET6))) {
		for (i = 0; i < count; i++)
			if (memcmp((char *)addrs + (size_t)i * (size_t)n,
			    l->addr.a, (size_t)n) == 0) {
				dns_finish(l, l->ptr, DNS_ST_OK);
				return;
			}
		dns_finish(l, NULL, DNS_ST_UNVERIFIED);
		return;
	}
	dns_finish(l, NULL, result == DNS_ERR_NOTEXIST ||
	    result == DNS_ERR_NONE ? DNS_ST_UNVERIFIED : DNS_ST_ERROR);
}

static void
dns_ptr_cb(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct dns_lookup *l = arg;
	const char *name;

	(void)ttl;
	l->req = NULL;
	if (l->cancelled) {
		free(l);
		return;
	}
	if (result != DNS_ERR_NONE || type != DNS_PTR || count < 1) {
		dns_finish(l, NULL, result == DNS_ERR_NOTEXIST ||
		    result == DNS_ERR_NONE ? DNS_ST_NONE : DNS_ST_ERROR);
		return;
	}
	name = *(const char **)addrs;
	if (name == NULL || !dns_name_sane(name)) {
		/* A PTR that is no host name is reported as none at all. */
		dns_finish(l, NULL, DNS_ST_UNVERIFIED);
		return;
	}
	l->ptr = xstrdup(name);
	if (l->addr.family == AF_INET)
		l->req = evdns_base_resolve_ipv4(l->base, l->ptr,
		    DNS_QUERY_NO_SEARCH, dns_forward_cb, l);
	else
		l->req = evdns_base_resolve_ipv6(l->base, l->ptr,
		    DNS_QUERY_NO_SEARCH, dns_forward_cb, l);
	if (l->req == NULL)
		dns_finish(l, NULL, DNS_ST_ERROR);
}

static const char *const dns_status_names[] = {
#define DNS_ST_NAME(e, name)	name,
	DNS_STATUS_LIST(DNS_ST_NAME)
#undef DNS_ST_NAME
};

const char *
dns_status_name(enum dns_status st)
{
	if ((size_t)st >= sizeof(dns_status_names) / sizeof(*dns_status_names))
		return "?";
	return dns_status_names[st];
}

int
dns_status_temp(enum dns_status st)
{
	return st == DNS_ST_ERROR || st == DNS_ST_TIMEOUT ||
	    st == DNS_ST_PENDING;
}

struct dns_lookup *
dns_client_name(struct evdns_base *base, const struct netaddr *a,
    dns_name_cb *cb, void *arg)
{
	struct dns_lookup *l = xcalloc(1, sizeof(*l));

	l->base = base;
	l->addr = *a;
	l->cb = cb;
	l->arg = arg;
	if (a->family == AF_INET)
		l->req = evdns_base_resolve_reverse(base,
		    (const struct in_addr *)a->a, DNS_QUERY_NO_SEARCH,
		    dns_ptr_cb, l);
	else
		l->req = evdns_base_resolve_reverse_ipv6(base,
		    (const struct in6_addr *)a->a, DNS_QUERY_NO_SEARCH,
		    dns_ptr_cb, l);
	if (l->req == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void
dns_cancel(struct dns_lookup *l)
{
	if (l == NULL)
		return;
	l->cancelled = 1;
	/* evdns hands the request back (DNS_ERR_CANCEL); that frees l. */
	evdns_cancel_request(l->base, l->req);
}
