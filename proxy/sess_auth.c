/*
 * sess_auth.c: the pure part of moatd's AUTH glue (sess_auth.h).
 *
 * It does not talk to the client, the backend or the password pool, and
 * keeps no state: proxy/session.c asks and carries out.  Credentials pass
 * through sess_auth_plain_line() only, which wipes its scratch copies.
 */
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "sess_auth.h"
#include "xmalloc.h"

int
sess_auth_offered(const struct config *cfg, const struct passwd_db *db,
    const struct cfg_listen *lst, int tls_up, int logged_in)
{
	return lst != NULL && lst->auth != CFG_AUTH_OFF &&
	    (db != NULL || cfg->auth_backend == CFG_AUTHBE_MTA) &&
	    !logged_in && (tls_up || lst->auth_plaintext);
}

char *
sess_auth_plain_line(const char *login, const char *pass, size_t pass_len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct sbuf raw = SBUF_INIT, line = SBUF_INIT;
	char *out;
	size_t i;

	sbuf_addc(&raw, '\0');
	sbuf_adds(&raw, login);
	sbuf_addc(&raw, '\0');
	sbuf_add(&raw, pass, pass_len);
	/* Reserved at once: a growing buffer would leave copies behind. */
	sbuf_reserve(&line, 16 + (raw.len + 2) / 3 * 4);
	sbuf_adds(&line, "AUTH PLAIN ");
	for (i = 0; i < raw.len; i += 3) {
		unsigned v = (unsigned)(unsigned char)raw.p[i] << 16;

		if (i + 1 < raw.len)
			v |= (unsigned)(unsigned char)raw.p[i + 1] << 8;
		if (i + 2 < raw.len)
			v |= (unsigned char)raw.p[i + 2];
		sbuf_addc(&line, b64[(v >> 18) & 63]);
		sbuf_addc(&line, b64[(v >> 12) & 63]);
		sbuf_addc(&line, i + 1 < raw.len ? b64[(v >> 6) & 63] : '=');
		sbuf_addc(&line, i + 2 < raw.len ? b64[v & 63] : '=');
	}
	explicit_bzero(raw.p, raw.len);
	sbuf_free(&raw);
	out = xstrdup(line.p);
	explicit_bzero(line.p, line.len);
	sbuf_free(&line);
	return out;
}

enum passwd_result
sess_auth_backend_result(int code)
{
	if (code == 235)
		return PASSWD_OK;
	return code / 100 == 5 && code != 530 ? PASSWD_BAD : PASSWD_ERROR;
}

long
sess_auth_penalty_ms(long long fails)
{
	if (fails <= 1)
		return 0;
	/* Compared before multiplying: a count from the store is any size. */
	if (fails - 1 >= SESS_AUTH_PENALTY_MAX_MS / SESS_AUTH_PENALTY_MS)
		return SESS_AUTH_PENALTY_MAX_MS;
	return (long)(fails - 1) * SESS_AUTH_PENALTY_MS;
}
