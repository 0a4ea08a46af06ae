/*
 * sess_auth.h: the decisions of moatd's AUTH glue (RFC 4954) that need
 * no session: when AUTH is offered, the AUTH PLAIN line a backend that
 * judges the credentials gets, what its reply means, and how long a
 * failed login's reply is held.  A leaf below proxy/session.c: it calls
 * nothing of the session, which carries out what it says.
 */
#ifndef MOAT_SESS_AUTH_H
#define MOAT_SESS_AUTH_H

#include <stddef.h>

#include "moat_conf.h"
#include "passwd.h"

/* Per earlier failure of a login, its next failure replies wait this long. */
#define SESS_AUTH_PENALTY_MS		1000
#define SESS_AUTH_PENALTY_MAX_MS	10000

/*
 * sess_auth_offered: AUTH is offered on an auth= listener (lst, NULL for
 * none) with a password file (db, the session's snapshot's; NULL: none)
 * or auth_backend, once TLS is up (tls_up) or without TLS where
 * auth_plaintext says so, until the client has logged in (logged_in).
 */
int	sess_auth_offered(const struct config *cfg,
	    const struct passwd_db *db, const struct cfg_listen *lst,
	    int tls_up, int logged_in);

/*
 * sess_auth_plain_line: "AUTH PLAIN " and the RFC 4616 message (empty
 * authzid, login, password) in base64, for auth_backend: the backend gets
 * one AUTH PLAIN whatever mechanism the client used.  Returns a string
 * the caller must explicit_bzero() and free(); no copy of the password
 * is left behind in memory this function used.
 */
char	*sess_auth_plain_line(const char *login, const char *pass,
	    size_t pass_len);

/*
 * sess_auth_backend_result: what the backend's reply code to our AUTH
 * PLAIN says: 235 OK; another 5xx a bad login, except 530 (the backend
 * wants TLS or AUTH of moatd itself, not of the client) which, like any
 * other reply, is a temporary error.
 */
enum passwd_result sess_auth_backend_result(int code);

/*
 * sess_auth_penalty_ms: how long the reply to a failed login is held
 * when that login has failed fails times (counting this one): nothing
 * for the first, then SESS_AUTH_PENALTY_MS per earlier failure, at most
 * SESS_AUTH_PENALTY_MAX_MS.
 */
long	sess_auth_penalty_ms(long long fails);

#endif
