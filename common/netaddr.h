/*
 * netaddr.h: addresses, CIDR networks and domain sets.  Pure.
 */
#ifndef MOAT_NETADDR_H
#define MOAT_NETADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* An address in a family-neutral form; IPv4-mapped IPv6 is folded to v4. */
struct netaddr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	a[16];		/* 4 or 16 bytes used */
};

struct cidr {
	struct netaddr	net;
	int		bits;		/* prefix length */
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
};

/* From a sockaddr (AF_INET/AF_INET6); -1 for other families. */
int	netaddr_from_sockaddr(struct netaddr *, const struct sockaddr *);
/* Parse "1.2.3.4" or "2001:db8::1"; -1 if invalid. */
int	netaddr_parse(struct netaddr *, const char *);
/* "1.2.3.4" / "2001:db8::1"; buf of at least 46 bytes. */
const char *netaddr_str(const struct netaddr *, char *buf, size_t bufsz);

/*
 * cidr_parse: "10.0.0.0/8", "2001:db8::/32", or a bare address (a host
 * route).  Host bits set beyond the prefix are an error (a typo such as
 * 10.1.2.3/8 usually means the postmaster meant something else).
 */
int	cidr_parse(struct cidr *, const char *);
int	cidr_match(const struct cidr *, const struct netaddr *);
void	cidr_list_add(struct cidr_list *, const struct cidr *);
int	cidr_list_match(const struct cidr_list *, const struct netaddr *);
void	cidr_list_free(struct cidr_list *);

/*
 * A set of domains, matched case-insensitively and exactly (no implied
 * subdomains: "example.com" does not cover "a.example.com"; a leading dot,
 * ".example.com", covers the subdomains but not the domain itself).
 * A trailing dot on either side is not ignored: "example.com." is not a
 * valid RFC 5321 domain and never matches.
 */
struct domain_set;
struct domain_set *domain_set_new(void);
void	domain_set_add(struct domain_set *, const char *domain);
int	domain_set_match(const struct domain_set *, const char *domain);
size_t	domain_set_count(const struct domain_set *);
/* Iterate, in no particular order: *iter = 0 first; NULL at the end. */
const char *domain_set_next(const struct domain_set *, size_t *iter);
void	domain_set_free(struct domain_set *);

#endif
