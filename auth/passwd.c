/*
 * passwd.c: the `passwd FILE` credential store and its hashing pool (see
 * passwd.h).
 *
 * Purpose: answer "is this the password of this login" without ever
 * stalling an event loop (a yescrypt or bcrypt check takes tens of
 * milliseconds by design), without telling an attacker by timing whether a
 * login exists, and without comparing secrets in data-dependent time.
 *
 * Deliberately not done here: no counting of failures (brute-force limits
 * live with the store), no logging of passwords or of hash output, no
 * re-reading of the file except through a new passwd_db_load() (start and
 * SIGHUP only: secrets are read once).
 *
 * Invariants: a db is immutable after load, so worker threads read it
 * without locks; who frees a request (owner, hashing thread or pool
 * shutdown) is common/jobpool.c's rule, always through req_free.  The
 * password copy is wiped as soon as it has been hashed or dropped.
 */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filesrc.h"
#include "jobpool.h"
#include "passwd.h"
#include "xmalloc.h"

enum pw_kind { PW_KNOWN, PW_UNKNOWN, PW_LOCKED };

struct pw_entry {
	char	*login;
	char	*hash;		/* NULL for a locked login */
	int	 line;
};

struct passwd_db {
	struct pw_entry	*e;		/* sorted by login */
	size_t		 n;
	char		*dummy;		/* a crypt setting of typical cost */
};

/* ---- loading ----------------------------------------------------------- */

static const char crypt_alpha[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
all_crypt_alpha(const char *s, size_t n)
{
	return n > 0 && strspn(s, crypt_alpha) >= n;
}

/*
 * Structure check: a truncated or hand-edited hash passes crypt_checksalt()
 * (which judges only the setting) yet can never match, so a typo would
 * silently lock a user out; refuse it at load time instead.
 */
int
passwd_hash_ok(const char *h, const char **why)
{
	const char *last;
	size_t want;

	*why = NULL;
	if (h[0] == '!' || h[0] == '*')
		return 0;
	if (strncmp(h, "$2b$", 4) == 0 || strncmp(h, "$2y$", 4) == 0) {
		if (strlen(h) != 60 || !isdigit((unsigned char)h[4]) ||
		    !isdigit((unsigned char)h[5]) || h[6] != '$' ||
		    !all_crypt_alpha(h + 7, 53)) {
			*why = "malformed bcrypt hash";
			return -1;
		}
		goto check;
	}
	/* Not $5$: libcrypt itself calls sha256-crypt legacy. */
	if (strncmp(h, "$y$", 3) == 0 || strncmp(h, "$gy$", 4) == 0 ||
	    strncmp(h, "$7$", 3) == 0)
		want = 43;
	else if (strncmp(h, "$6$", 3) == 0)
		want = 86;
	else {
		*why = "unsupported hash method (use yescrypt $y$, bcrypt "
		    "$2b$ or sha512-crypt $6$)";
		return -1;
	}
	last = strrchr(h, '$');
	if (last == NULL || strlen(last + 1) != want ||
	    !all_crypt_alpha(last + 1, want) ||
	    (size_t)(last - h) <= strlen("$6$")) {
		*why = "malformed hash (truncated?)";
		return -1;
	}
check:
	if (crypt_checksalt(h) != CRYPT_SALT_OK) {
		*why = "hash setting refused by libcrypt";
		return -1;
	}
	return 0;
}

/*
 * The cost-determining prefix of a hash, for choosing the dummy: "$2b$12$",
 * "$y$j9T$", "$6$rounds=N$" or "$6$".
 */
static size_t
cost_key_len(const char *h)
{
	const char *p;

	if (h[1] == '2')
		return 7;
	if (strncmp(h, "$6$", 3) == 0) {
		if (strncmp(h + 3, "rounds=", 7) == 0 &&
		    (p = strchr(h + 3, '$')) != NULL)
			return (size_t)(p - h) + 1;
		return 3;
	}
	if (strncmp(h, "$7$", 3) == 0)
		return 14;	/* $7$ N r p: 1 + 5 + 5 characters */
	/* $y$params$ and $gy$params$ */
	p = strchr(h + 1, '$');
	p = p ? strchr(p + 1, '$') : NULL;
	return p ? (size_t)(p - h) + 1 : strlen(h);
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_entry *)a)->login,
	    ((const struct pw_entry *)b)->login);
}

static int
key_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = cost_key_len(x), ly = cost_key_len(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);

	return c ? c : (lx > ly) - (lx < ly);
}

/*
 * The dummy: the hash of the most common method and cost in the file
 * itself.  Hashing an unknown login's password against it costs what a
 * real check costs; its result is never used, so which salt it carries
 * does not matter.  A file with no usable hash gets libcrypt's preferred
 * method at its default cost.
 */
static void
choose_dummy(struct passwd_db *db)
{
	const char **hs;
	size_t i, nh = 0, best = 0, bestn = 0, run;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	hs = xcalloc(db->n + 1, sizeof(*hs));
	for (i = 0; i < db->n; i++)
		if (db->e[i].hash)
			hs[nh++] = db->e[i].hash;
	if (nh > 0) {
		qsort(hs, nh, sizeof(*hs), key_cmp);
		for (i = 0; i < nh; i += run) {
			for (run = 1; i + run < nh &&
			    key_cmp(&hs[i], &hs[i + run]) == 0; run++)
				;
			if (run > bestn) {
				bestn = run;
				best = i;
			}
		}
		db->dummy = xstrdup(hs[best]);
	} else if (crypt_gensalt_rn(NULL, 0, NULL, 0, setting,
	    sizeof(setting)) != NULL)
		db->dummy = xstrdup(setting);
	else
		db->dummy = xstrdup("$6$moatdummysalt$");
	free(hs);
}

static void
seterr(char *err, size_t errlen, const char *path, int line,
    const char *why)
{
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, line, why);
	else
		snprintf(err, errlen, "%s: %s", path, why);
}

/* Parse one line (trimmed, NUL-terminated, not a comment) into e. */
static int
parse_line(char *p, struct pw_entry *e, const char **why)
{
	char *colon;
	size_t i, llen;

	colon = strchr(p, ':');
	if (colon == NULL) {
		*why = "expected login:hash";
		return -1;
	}
	*colon = '\0';
	llen = strlen(p);
	if (llen == 0) {
		*why = "empty login";
		return -1;
	}
	if (llen > PASSWD_LOGIN_MAX) {
		*why = "login too long";
		return -1;
	}
	for (i = 0; i < llen; i++)
		if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f) {
			*why = "blank or control character in login";
			return -1;
		}
	if (strchr(colon + 1, ':') != NULL) {
		*why = "extra ':' field (only login:hash, not a shadow line)";
		return -1;
	}
	for (i = 0; colon[1 + i] != '\0'; i++)
		if ((unsigned char)colon[1 + i] <= ' ') {
			*why = "blank or control character in hash";
			return -1;
		}
	if (colon[1] == '\0') {
		*why = "empty hash (use '!' to lock a login)";
		return -1;
	}
	if (passwd_hash_ok(colon + 1, why) == -1)
		return -1;
	e->login = xstrdup(p);
	e->hash = (colon[1] == '!' || colon[1] == '*') ? NULL :
	    xstrdup(colon + 1);
	return 0;
}

int
passwd_db_load(const char *path, struct passwd_db **out, char *err,
    size_t errlen)
{
	struct passwd_db *db = xcalloc(1, sizeof(*db));
	char *line = NULL, *p, *end, buf[128];
	size_t cap = 0, alloc = 0, i;
	ssize_t len;
	const char *why;
	int lineno = 0;
	FILE *fp;

	if ((fp = filesrc_fopen(path)) == NULL) {
		seterr(err, errlen, path, 0, strerror(errno));
		passwd_db_free(db);
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > PASSWD_LINE_MAX) {
			seterr(err, errlen, path, lineno, "line too long");
			goto fail;
		}
		if ((size_t)len != strlen(line)) {
			seterr(err, errlen, path, lineno, "NUL byte in line");
			goto fail;
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		end = p + strlen(p);
		while (end > p && (end[-1] == '\n' || end[-1] == '\r' ||
		    end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (db->n == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			db->e = xreallocarray(db->e, alloc, sizeof(*db->e));
		}
		if (parse_line(p, &db->e[db->n], &why) == -1) {
			seterr(err, errlen, path, lineno, why);
			goto fail;
		}
		db->e[db->n++].line = lineno;
	}
	if (ferror(fp)) {
		seterr(err, errlen, path, 0, strerror(errno));
		goto fail;
	}
	if (db->n > 0)
		qsort(db->e, db->n, sizeof(*db->e), entry_cmp);
	for (i = 1; i < db->n; i++)
		if (strcmp(db->e[i - 1].login, db->e[i].login) == 0) {
			int a = db->e[i - 1].line, b = db->e[i].line;

			snprintf(buf, sizeof(buf), "duplicate login (first at "
			    "line %d)", a < b ? a : b);
			seterr(err, errlen, path, a < b ? b : a, buf);
			goto fail;
		}
	choose_dummy(db);
	free(line);
	fclose(fp);
	*out = db;
	return 0;
fail:
	free(line);
	fclose(fp);
	passwd_db_free(db);
	return -1;
}

void
passwd_db_free(struct passwd_db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++) {
		free(db->e[i].login);
		if (db->e[i].hash) {
			explicit_bzero(db->e[i].hash, strlen(db->e[i].hash));
			free(db->e[i].hash);
		}
	}
	free(db->e);
	free(db->dummy);
	free(db);
}

size_t
passwd_db_count(const struct passwd_db *db)
{
	return db->n;
}

const char *
passwd_db_dummy(const struct passwd_db *db)
{
	return db->dummy;
}

static const struct pw_entry *
db_find(const struct passwd_db *db, const char *login)
{
	struct pw_entry key;

	if (db->n == 0)
		return NULL;
	key.login = (char *)login;
	return bsearch(&key, db->e, db->n, sizeof(*db->e), entry_cmp);
}

/* ---- checking ---------------------------------------------------------- */

/* Equal length is not secret (every hash of one method has the same). */
static int
ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

/*
 * One hash.  pass must be NUL-terminated; hash is the stored hash (or the
 * dummy).  bad forces a failure after the same work (a password with a
 * NUL or too long).
 */
static enum passwd_result
check_hash(struct crypt_data *cd, enum pw_kind kind, const char *hash,
    const char *pass, int bad)
{
	enum passwd_result r;
	const char *out;

	memset(cd, 0, sizeof(*cd));
	out = crypt_rn(pass, hash, cd, sizeof(*cd));
	switch (kind) {
	case PW_KNOWN:
		if (out == NULL || out[0] == '*')
			r = PASSWD_ERROR;
		else
			r = ct_equal(out, hash) && !bad ? PASSWD_OK :
			    PASSWD_BAD;
		break;
	case PW_LOCKED:
		r = PASSWD_LOCKED;
		break;
	case PW_UNKNOWN:
	default:
		r = PASSWD_UNKNOWN;
		break;
	}
	explicit_bzero(cd, sizeof(*cd));
	return r;
}

/* What to hash for login: its own hash, or the dummy. */
static const char *
select_hash(const struct passwd_db *db, const char *login, enum pw_kind *kind)
{
	const struct pw_entry *e = db_find(db, login);

	if (e == NULL) {
		*kind = PW_UNKNOWN;
		return db->dummy;
	}
	if (e->hash == NULL) {
		*kind = PW_LOCKED;
		return db->dummy;
	}
	*kind = PW_KNOWN;
	return e->hash;
}

enum passwd_result
passwd_check(const struct passwd_db *db, const char *login, const char *pass,
    size_t len)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char *copy = xcalloc(1, PASSWD_PASS_MAX + 1);
	enum passwd_result r;
	enum pw_kind kind;
	const char *hash;
	int bad = 0;

	hash = select_hash(db, login, &kind);
	if (len > PASSWD_PASS_MAX || memchr(pass, '\0', len) != NULL)
		bad = 1;
	else
		memcpy(copy, pass, len);
	r = check_hash(cd, kind, hash, copy, bad);
	explicit_bzero(copy, PASSWD_PASS_MAX + 1);
	free(copy);
	free(cd);
	return r;
}

const char *
passwd_result_name(enum passwd_result r)
{
	switch (r) {
	case PASSWD_OK:
		return "ok";
	case PASSWD_BAD:
		return "bad-password";
	case PASSWD_UNKNOWN:
		return "unknown-login";
	case PASSWD_LOCKED:
		return "locked";
	case PASSWD_ERROR:
		return "error";
	}
	return "error";
}

/* ---- the pool ---------------------------------------------------------- */

struct passwd_req {
	struct jobpool_job	*job;
	passwd_cb		*cb;
	void			*arg;
	enum pw_kind		 kind;
	int			 bad;
	enum passwd_result	 res;
	char			*hash;
	char			 pass[PASSWD_PASS_MAX + 1];
};

struct passwd_pool {
	struct jobpool		*jp;
};

static void
req_free(void *data)
{
	struct passwd_req *rq = data;

	explicit_bzero(rq->pass, sizeof(rq->pass));
	free(rq->hash);
	free(rq);
}

/* On the owner's loop: deliver, then free (the owner may free its arg). */
static void
req_done(void *data)
{
	struct passwd_req *rq = data;

	rq->cb(rq->arg, rq->res);
	req_free(rq);
}

static void
req_run(void *tctx, void *data)
{
	struct passwd_req *rq = data;

	rq->res = check_hash(tctx, rq->kind, rq->hash, rq->pass, rq->bad);
	explicit_bzero(rq->pass, sizeof(rq->pass));
}

/* How much lower than the event loops the hashing threads run. */
#define PASSWD_THREAD_NICE	10

/* On each hashing thread: its crypt_data, and a lower priority. */
static void *
pool_start(void *arg, int i)
{
	(void)arg;
	(void)i;
	/*
	 * Below the event loops: under mail load a hash waits, a session
	 * does not (bench/README.md, proxy-tls.py).  Linux nice is per
	 * thread; failure only costs that preference.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(),
	    PASSWD_THREAD_NICE);
	return xcalloc(1, sizeof(struct crypt_data));
}

static void
pool_finish(void *arg, void *tctx)
{
	(void)arg;
	free(tctx);
}

struct passwd_pool *
passwd_pool_new(int nthreads, int queue_max)
{
	struct passwd_pool *pool = xcalloc(1, sizeof(*pool));
	static const struct jobpool_ops ops = {
		.start = pool_start, .finish = pool_finish, .run = req_run,
		.done = req_done, .drop = req_free,
	};

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > PASSWD_THREADS_MAX)
		nthreads = PASSWD_THREADS_MAX;
	if (queue_max < 1)
		queue_max = 1;
	if (queue_max > PASSWD_QUEUE_MAX)
		queue_max = PASSWD_QUEUE_MAX;
	pool->jp = jobpool_new(&ops, nthreads, queue_max);
	if (jobpool_nthreads(pool->jp) == 0) {
		passwd_pool_free(pool);
		return NULL;
	}
	return pool;
}

void
passwd_pool_free(struct passwd_pool *pool)
{
	if (pool == NULL)
		return;
	jobpool_free(pool->jp);
	free(pool);
}

struct passwd_req *
passwd_verify(struct passwd_pool *pool, struct event_base *base,
    const struct passwd_db *db, const char *login, const char *pass,
    size_t len, passwd_cb *cb, void *arg)
{
	struct passwd_req *rq;
	const char *hash;

	rq = xcalloc(1, sizeof(*rq));
	rq->cb = cb;
	rq->arg = arg;
	hash = select_hash(db, login, &rq->kind);
	rq->hash = xstrdup(hash);
	if (len > PASSWD_PASS_MAX || memchr(pass, '\0', len) != NULL)
		rq->bad = 1;
	else
		memcpy(rq->pass, pass, len);
	if ((rq->job = jobpool_submit(pool->jp, base, rq)) == NULL) {
		req_free(rq);
		return NULL;
	}
	return rq;
}

void
passwd_cancel(struct passwd_req *rq)
{
	if (rq != NULL)
		jobpool_cancel(rq->job);
}
