/*
 * sender_map.h: `sender_login_map FILE`, which envelope senders each
 * authenticated login may use (issue 5: else 553 5.7.1).
 *
 * The file: one login per line followed by what it may use, separated by
 * blanks and/or commas; '#' comments and blank lines; a login may appear
 * on several lines (the lists add up).
 *
 *     alice      alice@example.com, a.smith@example.com
 *     shop       @shop.example.com
 *     postmaster *
 *
 * An entry is an address (local@domain), "@domain" (any local part in
 * exactly that domain: no subdomains), or "*" (any sender).
 *
 * Matching: the login byte for byte (as in `passwd`); the sender's domain
 * ASCII-case-insensitively (RFC 5321 2.4); the local part also
 * ASCII-case-insensitively: RFC 5321 lets a server treat local parts as
 * case-sensitive, but the MTAs moat fronts (Postfix, Exchange) deliver
 * "John@" and "john@" to one mailbox, so a case-exact rule would only
 * refuse a user's own address.  Nothing else is folded: a trailing dot, a
 * quoted local part or an address literal is a different address and
 * does not match.
 * Implicit rules: the null sender <> is allowed for every login (bounces,
 * vacation replies; Postfix's reject_sender_login_mismatch allows it too),
 * and a login that is itself an address may use that address.
 *
 * Ownership: immutable after load; moatd's snapshot (proxy/snapshot.c)
 * owns it (sender_map_free).
 */
#ifndef MOAT_SENDER_MAP_H
#define MOAT_SENDER_MAP_H

#include <stddef.h>

#define SENDER_MAP_LINE_MAX	8192

struct sender_map;

/*
 * sender_map_load: read path; 0 and *out (caller owns) or -1 with
 * "path:line: reason" in err.  Errors: a line with a login and no entry,
 * an entry that is not an address, "@domain" or "*" (empty local part,
 * invalid domain as smtp_domain_valid() judges it with UTF-8 allowed),
 * login too long, line too long.
 * sender_map_parse: the same from text[0..len), with name for messages.
 */
int	sender_map_load(const char *path, struct sender_map **out, char *err,
	    size_t errlen);
int	sender_map_parse(const char *text, size_t len, const char *name,
	    struct sender_map **out, char *err, size_t errlen);
void	sender_map_free(struct sender_map *);

/*
 * sender_map_allowed: 1 if login may use sender (the reverse-path's
 * address as smtp_path.addr gives it: "local@domain", or "" for <>),
 * else 0.  A NULL map allows nothing but the implicit rules.
 */
int	sender_map_allowed(const struct sender_map *, const char *login,
	    const char *sender);

#endif
