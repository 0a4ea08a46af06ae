/*
 * passwd.h: the `passwd FILE` credential store and the thread pool that
 * checks passwords off the event loop (DESIGN.md, Concurrency: "Anything
 * slow (password hashing) runs on a small separate pool").
 *
 * The file: one "login:hash" per line; '#' comments and blank lines;
 * surrounding blanks ignored.  hash is a crypt(3) string from libcrypt:
 * yescrypt ($y$, $gy$), scrypt ($7$), bcrypt ($2b$, $2y$) or
 * sha512-crypt ($6$).  A hash starting with '!' or '*' locks the login (it
 * exists, and never authenticates).  Weak and legacy methods (DES,
 * MD5-crypt $1$, sha256-crypt $5$, $2a$, NT) are refused at load time.  Logins are
 * compared byte for byte (case-sensitive), as crypt(3) and Dovecot do.
 *
 * Ownership: a struct passwd_db is immutable once loaded; the snapshot that
 * loaded it owns it (passwd_db_free).  A verification copies what it needs,
 * so the db may be freed (reload) while checks are in flight.
 */
#ifndef MOAT_PASSWD_H
#define MOAT_PASSWD_H

#include <stddef.h>

struct event_base;
struct passwd_db;
struct passwd_pool;
struct passwd_req;

#define PASSWD_LINE_MAX		4096	/* bytes of one file line */
#define PASSWD_LOGIN_MAX	255
#define PASSWD_PASS_MAX		1024	/* longer passwords never match */
#define PASSWD_THREADS_MAX	64
#define PASSWD_QUEUE_MAX	65536

enum passwd_result {
	PASSWD_OK,		/* the password matches */
	PASSWD_BAD,		/* known login, wrong password */
	PASSWD_UNKNOWN,		/* no such login (a dummy hash was run) */
	PASSWD_LOCKED,		/* locked login ('!' or '*' hash) */
	PASSWD_ERROR,		/* crypt failed: a temporary failure (454) */
};

/*
 * passwd_db_load: read path.  On success *out is a new db (caller owns) and
 * 0 is returned; on error -1, *out untouched and err holds "path:line:
 * reason" (or "path: strerror").  Errors: missing ':', empty login, login
 * too long or with blanks/control bytes, an extra ':' field, line too
 * long, unsupported or malformed hash, duplicate login (naming the first
 * line).  The dummy hash used for unknown logins is chosen here: a hash of
 * the file's most common method and cost, so that an unknown login costs
 * what a real one does.
 */
int	passwd_db_load(const char *path, struct passwd_db **out, char *err,
	    size_t errlen);
void	passwd_db_free(struct passwd_db *);
size_t	passwd_db_count(const struct passwd_db *);
/* The hash an unknown or locked login is checked against (for tests). */
const char *passwd_db_dummy(const struct passwd_db *);

/*
 * passwd_check: verify on the calling thread (slow: one full hash, even for
 * an unknown login).  For tests and offline tools; moatd uses the pool.
 * pass[0..len) must not contain NUL and len must be <= PASSWD_PASS_MAX,
 * else the result is PASSWD_BAD (or PASSWD_UNKNOWN), after the same work.
 */
enum passwd_result passwd_check(const struct passwd_db *, const char *login,
	    const char *pass, size_t len);

/* The name of a result for logs: "ok", "bad-password", ... */
const char *passwd_result_name(enum passwd_result);

/*
 * passwd_pool_new: nthreads (1..PASSWD_THREADS_MAX) hashing threads and a
 * queue of at most queue_max (1..PASSWD_QUEUE_MAX) waiting requests.
 * libevent's threading must be on (evthread_use_pthreads()) before the
 * event_bases that receive results are created.
 * passwd_pool_free: stop and join the threads, drop queued requests
 * without calling back.  Call it after every session is gone and before
 * the bases are freed.  NULL is a no-op.
 */
struct passwd_pool *passwd_pool_new(int nthreads, int queue_max);
void	passwd_pool_free(struct passwd_pool *);

/*
 * The callback gets the result on base's thread, from the event loop,
 * never from inside passwd_verify().
 */
typedef void passwd_cb(void *arg, enum passwd_result);

/*
 * passwd_verify: queue a check of login/pass against db.  Everything is
 * copied (the password into the request, wiped once hashed); db, login and
 * pass may go away on return.  Returns a handle, or NULL when the queue is
 * full (then cb is never called; answer 454 4.7.0).  The handle is valid
 * until cb has returned or passwd_cancel() was called.
 */
struct passwd_req *passwd_verify(struct passwd_pool *, struct event_base *,
	    const struct passwd_db *, const char *login, const char *pass,
	    size_t len, passwd_cb *cb, void *arg);

/*
 * passwd_cancel: on base's thread, before cb ran (e.g. from sess_free):
 * cb will not be called, the handle is gone.  A hash already running
 * finishes on its thread and is thrown away.  NULL is a no-op.
 */
void	passwd_cancel(struct passwd_req *);

/*
 * passwd_hash_ok: 0 if hash is a supported, well-formed crypt string (or
 * a locked one), else -1 with a reason in *why.  Exposed for tests and
 * `moatd -t`.
 */
int	passwd_hash_ok(const char *hash, const char **why);

#endif
