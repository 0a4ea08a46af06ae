/*
 * rule_hs.c: Hyperscan as a prefilter for body, rawbody, uri and full rules.
 *
 * Every such pattern Hyperscan can take is compiled, with HS_FLAG_PREFILTER,
 * into one database per stage; a message's text for the stage is scanned
 * once, and a rule whose id Hyperscan does not report cannot match, so its
 * PCRE2 run is skipped.  Hyperscan only ever decides "skip": the hits
 * themselves still come from PCRE2, so the results are exactly those of a
 * run without it.  That needs every expression to match wherever the PCRE2
 * pattern can (a superset, never a subset):
 *
 *  - the stage's elements are scanned joined by "\n" with HS_FLAG_MULTILINE,
 *    so ^ and $ hold at every element's ends; \A \G become ^, \z \Z $;
 *  - PCRE2 folds Latin-1 letters under /i (rule_load.c's tables) and
 *    Hyperscan only ASCII, so every Latin-1 letter outside a negated class
 *    is widened to both cases;
 *  - what Hyperscan cannot take (\Q, /x, a refused construct) stays out and
 *    runs as before.
 *
 * Compiling takes up to a couple of minutes (SpamAssassin's stock set), so
 * the compiled databases can be kept in a cache directory, named by a hash
 * of everything that went into them; the caller decides whether the build
 * happens at all and on which thread (moatd builds off the event loop,
 * doc/rules.md "Hyperscan").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digits.h"
#include "rule_int.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"

#ifdef HAVE_HYPERSCAN
#include <hs/hs.h>

struct rule_hs {
	hs_database_t	*db[RULE_ST_COUNT];
	unsigned char	*covered;	/* per rule: in its stage's db */
	size_t		 nrules;
	struct rule_hs_info info;
};

static void
put_hex(struct sbuf *o, unsigned v)
{
	static const char hx[] = "0123456789abcdef";

	sbuf_adds(o, "\\x");
	sbuf_addc(o, hx[(v >> 4) & 15]);
	sbuf_addc(o, hx[v & 15]);
}

/*
 * The byte a \x escape at p (p[0] == 'x') stands for; *end is set past it.
 * -1 for what is not one byte (\x{100} and up).
 */
static int
hex_escape(const char *p, const char **end)
{
	int v = 0, d, k;

	p++;
	if (*p == '{') {
		for (p++, k = 0; (d = hex_digit(*p)) >= 0; p++, k++)
			if ((v = v * 16 + d) > 0xFF)
				return -1;
		if (*p != '}' || k == 0)
			return -1;
		*end = p + 1;
		return v;
	}
	for (k = 0; k < 2 && (d = hex_digit(*p)) >= 0; k++, p++)
		v = v * 16 + d;
	*end = p;
	return v;
}

/*
 * A class member at *pp that stands for one byte (a literal, \xHH, \n,
 * escaped punctuation), advancing *pp; -1 for a class escape (\d, \w...)
 * and -2 for something we do not handle.
 */
static int
class_value(const char **pp)
{
	const char *p = *pp;
	int v;

	if (*p != '\\') {
		*pp = p + 1;
		return (unsigned char)*p;
	}
	p++;
	switch (*p) {
	case 'x':
		if ((v = hex_escape(p, pp)) < 0)
			return -2;
		return v;
	case 'n': v = '\n'; break;
	case 't': v = '\t'; break;
	case 'r': v = '\r'; break;
	case 'f': v = '\f'; break;
	case 'e': v = 0x1B; break;
	case 'a': v = 0x07; break;
	case 'b': v = 0x08; break;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
	case 'h': case 'H': case 'v': case 'V':
		*pp = p + 1;
		return -1;
	case '\0':
		return -2;
	default:
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z'))
			return -2;	/* octal, \p, \N...: not taken */
		v = (unsigned char)*p;
		break;
	}
	*pp = p + 1;
	return v;
}

/*
 * The other case of a byte >= 0x80 under PCRE2's /i, from the rule set's
 * character tables (fcc, rule_load.c adds the Latin-1 letters), or -1.
 * ASCII is left to HS_FLAG_CASELESS.
 */
static int
high_partner(const uint8_t *tables, int c)
{
	int f = tables[256 + c];

	return c >= 0x80 && f != c ? f : -1;
}

/*
 * A class, p just past its '['.  Its byte members are collected, with their
 * case partners unless the class is negated (adding members would make it
 * match less), and written as \xHH runs; class escapes (\d...) and POSIX
 * classes are copied as they are.  Returns the position past ']', or NULL
 * when the class is not taken.
 */
static const char *
copy_class(const char *p, const uint8_t *tables, struct sbuf *o)
{
	unsigned char set[256];
	int neg = 0, first = 1, v, w, c, e;

	memset(set, 0, sizeof(set));
	sbuf_addc(o, '[');
	if (*p == '^') {
		neg = 1;
		sbuf_addc(o, '^');
		p++;
	}
	for (; *p != ']' || first; first = 0) {
		if (*p == '\0')
			return NULL;
		if (p[0] == '[' && p[1] == ':') {
			const char *end = strstr(p + 2, ":]");

			if (end == NULL)
				return NULL;
			sbuf_add(o, p, (size_t)(end + 2 - p));
			p = end + 2;
			continue;
		}
		if (*p == '[')	/* a literal '[' (PCRE2 has no nesting) */
			p++, v = '[';
		else {
			const char *s = p;

			if ((v = class_value(&p)) == -2)
				return NULL;
			if (v == -1) {	/* \d and the like, as they are */
				sbuf_add(o, s, (size_t)(p - s));
				continue;
			}
		}
		w = v;
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (*p == '[' || (w = class_value(&p)) < 0 || w < v)
				return NULL;
		}
		for (c = v; c <= w; c++) {
			set[c] = 1;
			if (!neg && (e = high_partner(tables, c)) >= 0)
				set[e] = 1;
		}
	}
	for (c = 0; c < 256; c = e + 1) {
		if (!set[c]) {
			e = c;
			continue;
		}
		for (e = c; e < 255 && set[e + 1]; e++)
			;
		put_hex(o, (unsigned)c);
		if (e > c + 1)
			sbuf_addc(o, '-');
		if (e > c)
			put_hex(o, (unsigned)e);
	}
	sbuf_addc(o, ']');
	return p + 1;
}

/*
 * Whether an option setting turns /x on inside the pattern: its comments
 * and spaces would be read differently by the copy below.
 */
static int
inline_x(const char *p)
{
	for (; (p = strstr(p, "(?")) != NULL; p += 2) {
		const char *q = p + 2;

		while (*q == '^' || *q == '-' || (*q >= 'a' && *q <= 'z') ||
		    (*q >= 'A' && *q <= 'Z')) {
			if (*q == 'x')
				return 1;
			q++;
		}
	}
	return 0;
}

int
rule_hs_expression(const char *src, uint32_t copts, const uint8_t *tables,
    struct sbuf *o, unsigned *flags)
{
	const char *p = src, *e;
	int v, pv;

	sbuf_reset(o);
	if ((copts & PCRE2_EXTENDED) || inline_x(src))
		return -1;
	while (*p != '\0') {
		if (*p == '[') {
			if ((p = copy_class(p + 1, tables, o)) == NULL)
				return -1;
			continue;
		}
		if (p[0] == '(' && p[1] == '?' && p[2] == '#') {
			/* a comment may hold anything, '[' included */
			if ((e = strchr(p, ')')) == NULL)
				return -1;
			p = e + 1;
			continue;
		}
		if (*p == '\\') {
			switch (p[1]) {
			case 'A': case 'G':
				sbuf_addc(o, '^');
				p += 2;
				continue;
			case 'z': case 'Z':
				sbuf_addc(o, '$');
				p += 2;
				continue;
			case 'Q': case 'E': case 'p': case 'P': case 'X':
			case 'C': case 'K': case '\0':
				return -1;
			case 'x':
				if ((v = hex_escape(p + 1, &e)) < 0)
					return -1;
				p = e;
				break;
			case 'c':
				if (p[2] == '\0')
					return -1;
				sbuf_add(o, p, 3);
				p += 3;
				continue;
			default:
				/* the letters Hyperscan reads as PCRE2 does */
				if (((p[1] >= 'a' && p[1] <= 'z') ||
				    (p[1] >= 'A' && p[1] <= 'Z')) &&
				    strchr("dDwWsSbBntrfeahHvV", p[1]) == NULL)
					return -1;
				sbuf_add(o, p, 2);
				p += 2;
				continue;
			}
		} else if ((unsigned char)*p >= 0x80) {
			v = (unsigned char)*p++;
		} else {
			sbuf_addc(o, *p++);
			continue;
		}
		/* one byte, v: with its other case if it has one */
		if ((pv = high_partner(tables, v)) < 0) {
			put_hex(o, (unsigned)v);
			continue;
		}
		sbuf_addc(o, '[');
		put_hex(o, (unsigned)v);
		put_hex(o, (unsigned)pv);
		sbuf_addc(o, ']');
	}
	*flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_MULTILINE |
	    HS_FLAG_ALLOWEMPTY;
	if (copts & PCRE2_CASELESS)
		*flags |= HS_FLAG_CASELESS;
	if (copts & PCRE2_DOTALL)
		*flags |= HS_FLAG_DOTALL;
	return 0;
}

/* The stages Hyperscan serves: the ones whose texts are long. */
static int
hs_stage(enum rule_stage st)
{
	return st == RULE_ST_BODY || st == RULE_ST_URI ||
	    st == RULE_ST_RAWBODY || st == RULE_ST_FULL;
}

/* The expressions of one stage, and the cache key over all of them. */
struct hs_input {
	char		**expr;
	unsigned	*flags;
	unsigned	*ids;		/* rule indices */
	size_t		 n;
};

static void
input_free(struct hs_input *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		free(in->expr[i]);
	free(in->expr);
	free(in->flags);
	free(in->ids);
	memset(in, 0, sizeof(*in));
}

static void
input_drop(struct hs_input *in, size_t k)
{
	free(in->expr[k]);
	in->n--;
	memmove(in->expr + k, in->expr + k + 1, (in->n - k) * sizeof(char *));
	memmove(in->flags + k, in->flags + k + 1, (in->n - k) *
	    sizeof(unsigned));
	memmove(in->ids + k, in->ids + k + 1, (in->n - k) * sizeof(unsigned));
}

/*
 * FNV-1a, twice with different bases: 128 bits that name a cache file by
 * what went into it, and check that what is read back is what was written.
 */
static void
key_init(uint64_t k[2])
{
	k[0] = 0xcbf29ce484222325ULL;
	k[1] = 0x84222325cbf29ce4ULL;
}

static void
key_add(uint64_t k[2], const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		k[0] = (k[0] ^ b[i]) * 0x100000001b3ULL;
		k[1] = (k[1] ^ b[i]) * 0x100000001b3ULL;
		k[1] ^= k[1] >> 29;
	}
}

/*
 * The rules a lazy evaluation (what moatd does) can ever run: every rule
 * that is not a "__" sub-rule, sub-rules with captures or templates, and
 * what the metas among those read, transitively.  A sub-rule nothing reads
 * would only make every scan longer; it stays out of the databases (a full
 * evaluation runs it through PCRE2 as before).
 */
static unsigned char *
reachable(const struct rule_set *rs)
{
	unsigned char *need = xcalloc(rs->nrules + 1, 1);
	const struct rule *r;
	size_t i, k, j;

	for (i = 0; i < rs->nrules; i++)
		if ((rs->rules[i].flags & (RF_SUB | RF_NAMED | RF_TEMPLATE)) !=
		    RF_SUB)
			need[i] = 1;
	/* metas come after what they read: walk back, passing need down */
	for (k = rs->norder[RULE_ST_META]; k-- > 0;) {
		r = &rs->rules[rs->order[RULE_ST_META][k]];
		if (!need[rs->order[RULE_ST_META][k]])
			continue;
		for (j = 0; j < r->ncode; j++)
			if (r->code[j].op == MOP_RULE && r->code[j].rule >= 0 &&
			    (size_t)r->code[j].rule < rs->nrules)
				need[r->code[j].rule] = 1;
	}
	return need;
}

static void
gather(const struct rule_set *rs, struct hs_input in[RULE_ST_COUNT],
    uint64_t key[2], struct rule_hs_info *info)
{
	struct sbuf o = SBUF_INIT;
	const char *v = hs_version();
	unsigned char *need = reachable(rs);
	hs_platform_info_t plat;
	size_t i;

	key_init(key);
	key_add(key, v, strlen(v) + 1);
	/* databases are built for this CPU's features */
	if (hs_populate_platform(&plat) == HS_SUCCESS)
		key_add(key, &plat, sizeof(plat));
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		struct hs_input *d = &in[r->stage];
		unsigned f;

		if (!hs_stage(r->stage) || r->re == NULL ||
		    r->skip != RSKIP_NONE)
			continue;
		if (!need[i]) {
			info->unread++;
			continue;
		}
		if (rule_hs_expression(r->src, r->copts, rs->tables, &o,
		    &f) != 0) {
			info->skipped++;
			continue;
		}
		d->expr = xreallocarray(d->expr, d->n + 1, sizeof(char *));
		d->flags = xreallocarray(d->flags, d->n + 1, sizeof(unsigned));
		d->ids = xreallocarray(d->ids, d->n + 1, sizeof(unsigned));
		d->expr[d->n] = xstrndup(o.p != NULL ? o.p : "", o.len);
		d->flags[d->n] = f;
		d->ids[d->n] = (unsigned)i;
		d->n++;
		/* the stage too: the same rule moved to another stage */
		key_add(key, &r->stage, sizeof(r->stage));
		key_add(key, &i, sizeof(i));
		key_add(key, &f, sizeof(f));
		key_add(key, d->expr[d->n - 1], o.len + 1);
	}
	free(need);
	sbuf_free(&o);
}

void
rule_hs_free(struct rule_hs *h)
{
	int st;

	if (h == NULL)
		return;
	for (st = 0; st < RULE_ST_COUNT; st++)
		if (h->db[st] != NULL)
			hs_free_database(h->db[st]);
	free(h->covered);
	free(h);
}

/*
 * Compile one stage.  A pattern Hyperscan refuses is dropped and the rest
 * tried again; hs_expression_info() finds most of them cheaply first.
 */
static hs_database_t *
compile_stage(struct hs_input *in, struct rule_hs_info *info, char *err,
    size_t errlen)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *ce;
	hs_expr_info_t *xi;
	size_t k;

	for (k = 0; k < in->n;) {
		if (hs_expression_info(in->expr[k], in->flags[k], &xi,
		    &ce) != HS_SUCCESS) {
			hs_free_compile_error(ce);
			input_drop(in, k);
			info->refused++;
			continue;
		}
		free(xi);
		k++;
	}
	while (in->n > 0) {
		if (hs_compile_multi((const char *const *)in->expr, in->flags,
		    in->ids, (unsigned)in->n, HS_MODE_BLOCK, NULL, &db,
		    &ce) == HS_SUCCESS)
			return db;
		if (ce->expression < 0 || (size_t)ce->expression >= in->n) {
			snprintf(err, errlen, "hyperscan: %s", ce->message);
			hs_free_compile_error(ce);
			return NULL;
		}
		hs_free_compile_error(ce);
		input_drop(in, (size_t)ce->expression);
		info->refused++;
	}
	return NULL;
}

#define CACHE_MAGIC	"moat-hs 3\n"
#define CACHE_MAX	(1024UL * 1024 * 1024)

static char *
cache_path(const char *dir, const uint64_t key[2])
{
	return xasprintf("%s/moat-hs-%016llx%016llx.db", dir,
	    (unsigned long long)key[0], (unsigned long long)key[1]);
}

static void
put32(struct sbuf *o, uint32_t v)
{
	sbuf_add(o, (const char *)&v, sizeof(v));
}

/* Write h to path, through a temporary file and rename(2). */
static int
cache_write(const struct rule_hs *h, const char *path, char *err,
    size_t errlen)
{
	struct sbuf o = SBUF_INIT;
	char *tmp, *bytes;
	uint64_t sum[2];
	size_t len, i;
	FILE *fp;
	int st, ok;

	sbuf_adds(&o, CACHE_MAGIC);
	put32(&o, h->info.refused);
	for (st = 0; st < RULE_ST_COUNT; st++) {
		uint32_t nc = 0;

		if (h->db[st] == NULL)
			continue;
		for (i = 0; i < h->nrules; i++)
			nc += h->covered[i] == st + 1;
		put32(&o, (uint32_t)st);
		put32(&o, nc);
		for (i = 0; i < h->nrules; i++)
			if (h->covered[i] == st + 1)
				put32(&o, (uint32_t)i);
		if (hs_serialize_database(h->db[st], &bytes, &len) !=
		    HS_SUCCESS) {
			snprintf(err, errlen, "hyperscan: cannot serialize");
			sbuf_free(&o);
			return -1;
		}
		put32(&o, (uint32_t)len);
		sbuf_add(&o, bytes, len);
		free(bytes);
	}
	key_init(sum);
	key_add(sum, o.p, o.len);
	sbuf_add(&o, (const char *)sum, sizeof(sum));
	tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	ok = (fp = fopen(tmp, "wb")) != NULL &&
	    fwrite(o.p, 1, o.len, fp) == o.len;
	if (fp != NULL && fclose(fp) != 0)
		ok = 0;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	sbuf_free(&o);
	return ok ? 0 : -1;
}

static int
get32(const char **p, const char *end, uint32_t *v)
{
	if ((size_t)(end - *p) < sizeof(*v))
		return -1;
	memcpy(v, *p, sizeof(*v));
	*p += sizeof(*v);
	return 0;
}

/*
 * Read a cached h.  Anything wrong (short, damaged, another Hyperscan, a
 * rule index out of range) makes it a miss, and the caller compiles
 * afresh: a wrong list of covered rules would skip rules that can match.
 */
static struct rule_hs *
cache_read(const char *path, size_t nrules)
{
	struct rule_hs *h;
	struct stat sb;
	const char *p, *end;
	char *buf;
	uint32_t st, nc, id, len, k;
	uint64_t sum[2];
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0 ||
	    (unsigned long)sb.st_size > CACHE_MAX) {
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size);
	if (read(fd, buf, (size_t)sb.st_size) != (ssize_t)sb.st_size) {
		close(fd);
		free(buf);
		return NULL;
	}
	close(fd);
	h = xcalloc(1, sizeof(*h));
	h->nrules = nrules;
	h->covered = xcalloc(nrules > 0 ? nrules : 1, 1);
	p = buf;
	end = buf + sb.st_size;
	/* the checksum at the end covers everything before it */
	if ((size_t)(end - p) < strlen(CACHE_MAGIC) + sizeof(sum))
		goto bad;
	end -= sizeof(sum);
	key_init(sum);
	key_add(sum, p, (size_t)(end - p));
	if (memcmp(end, sum, sizeof(sum)) != 0 ||
	    memcmp(p, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0)
		goto bad;
	p += strlen(CACHE_MAGIC);
	if (get32(&p, end, &h->info.refused) != 0)
		goto bad;
	while (p < end) {
		if (get32(&p, end, &st) != 0 || st >= RULE_ST_COUNT ||
		    !hs_stage((enum rule_stage)st) || h->db[st] != NULL ||
		    get32(&p, end, &nc) != 0)
			goto bad;
		for (k = 0; k < nc; k++) {
			if (get32(&p, end, &id) != 0 || id >= nrules)
				goto bad;
			h->covered[id] = (unsigned char)(st + 1);
			h->info.patterns++;
		}
		if (get32(&p, end, &len) != 0 || (size_t)(end - p) < len ||
		    hs_deserialize_database(p, len, &h->db[st]) != HS_SUCCESS)
			goto bad;
		h->info.bytes += len;
		p += len;
	}
	free(buf);
	h->info.cached = 1;
	return h;
bad:
	free(buf);
	rule_hs_free(h);
	return NULL;
}

int
rule_hs_available(void)
{
	return hs_valid_platform() == HS_SUCCESS;
}

struct rule_hs *
rule_hs_build(const struct rule_set *rs, const char *cachedir, int flags,
    struct rule_hs_info *info, char *err, size_t errlen)
{
	struct hs_input in[RULE_ST_COUNT];
	struct rule_hs_info inf;
	struct rule_hs *h = NULL;
	uint64_t key[2];
	char *path = NULL;
	size_t bytes, i;
	int st;

	memset(in, 0, sizeof(in));
	memset(&inf, 0, sizeof(inf));
	snprintf(err, errlen, "no pattern for Hyperscan");
	if (!rule_hs_available()) {
		snprintf(err, errlen, "hyperscan: this CPU lacks SSSE3");
		goto out;
	}
	gather(rs, in, key, &inf);
	if (cachedir != NULL) {
		path = cache_path(cachedir, key);
		if ((h = cache_read(path, rs->nrules)) != NULL) {
			h->info.skipped = inf.skipped;
			h->info.unread = inf.unread;
			inf = h->info;
			goto out;
		}
		if (flags & RULE_HS_CACHED_ONLY) {
			snprintf(err, errlen, "%s: not built yet", path);
			goto out;
		}
	}
	h = xcalloc(1, sizeof(*h));
	h->nrules = rs->nrules;
	h->covered = xcalloc(rs->nrules > 0 ? rs->nrules : 1, 1);
	for (st = 0; st < RULE_ST_COUNT; st++) {
		if (in[st].n == 0)
			continue;
		if ((h->db[st] = compile_stage(&in[st], &inf, err,
		    errlen)) == NULL && in[st].n > 0) {
			rule_hs_free(h);
			h = NULL;
			goto out;
		}
		if (h->db[st] == NULL)
			continue;
		for (i = 0; i < in[st].n; i++)
			h->covered[in[st].ids[i]] = (unsigned char)(st + 1);
		inf.patterns += (unsigned)in[st].n;
		if (hs_database_size(h->db[st], &bytes) == HS_SUCCESS)
			inf.bytes += bytes;
	}
	if (inf.patterns == 0) {
		rule_hs_free(h);
		h = NULL;
		goto out;
	}
	h->info = inf;
	/* a cache that cannot be written costs speed at the next load only */
	if (path != NULL && cache_write(h, path, err, errlen) != 0)
		h->info.cache_failed = 1;
out:
	for (st = 0; st < RULE_ST_COUNT; st++)
		input_free(&in[st]);
	free(path);
	if (info != NULL)
		*info = h != NULL ? h->info : inf;
	return h;
}

int
rule_hs_covers(const struct rule_hs *h, size_t idx)
{
	return idx < h->nrules && h->covered[idx] != 0;
}

struct rule_hs_scratch {
	hs_scratch_t		*s;
	const struct rule_hs	*for_h;
	struct sbuf		 join;
};

struct rule_hs_scratch *
rule_hs_scratch_new(void)
{
	return xcalloc(1, sizeof(struct rule_hs_scratch));
}

void
rule_hs_scratch_free(struct rule_hs_scratch *hs)
{
	if (hs == NULL)
		return;
	if (hs->s != NULL)
		hs_free_scratch(hs->s);
	sbuf_free(&hs->join);
	free(hs);
}

static int
on_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned fl, void *ctx)
{
	(void)from;
	(void)to;
	(void)fl;
	((unsigned char *)ctx)[id] = 1;
	return 0;
}

int
rule_hs_scan(const struct rule_hs *h, struct rule_hs_scratch *hs,
    enum rule_stage st, const struct msg_str *v, size_t n,
    unsigned char *mark)
{
	const char *text = "";
	size_t len = 0, i;
	int s;

	if (h->db[st] == NULL)
		return -1;
	if (hs->for_h != h) {
		for (s = 0; s < RULE_ST_COUNT; s++)
			if (h->db[s] != NULL &&
			    hs_alloc_scratch(h->db[s], &hs->s) != HS_SUCCESS)
				return -1;
		hs->for_h = h;
	}
	if (n == 1) {
		text = v[0].p;
		len = v[0].len;
	} else if (n > 1) {
		sbuf_reset(&hs->join);
		for (i = 0; i < n; i++) {
			sbuf_add(&hs->join, v[i].p, v[i].len);
			sbuf_addc(&hs->join, '\n');
		}
		text = hs->join.p;
		len = hs->join.len;
	}
	if (len > 0xFFFFFFFFUL)
		return -1;
	if (hs_scan(h->db[st], text != NULL ? text : "", (unsigned)len, 0,
	    hs->s, on_match, mark) != HS_SUCCESS)
		return -1;
	return 0;
}

#else /* !HAVE_HYPERSCAN */

int
rule_hs_available(void)
{
	return 0;
}

struct rule_hs *
rule_hs_build(const struct rule_set *rs, const char *cachedir, int flags,
    struct rule_hs_info *info, char *err, size_t errlen)
{
	(void)rs;
	(void)cachedir;
	(void)flags;
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	snprintf(err, errlen, "moat was built without Hyperscan");
	return NULL;
}

void
rule_hs_free(struct rule_hs *h)
{
	(void)h;
}

/* Never called without a database; here so rule_eval.c needs no #ifdef. */
int
rule_hs_covers(const struct rule_hs *h, size_t idx)
{
	(void)h;
	(void)idx;
	return 0;
}

struct rule_hs_scratch *
rule_hs_scratch_new(void)
{
	return NULL;
}

void
rule_hs_scratch_free(struct rule_hs_scratch *hs)
{
	(void)hs;
}

int
rule_hs_scan(const struct rule_hs *h, struct rule_hs_scratch *hs,
    enum rule_stage st, const struct msg_str *v, size_t n,
    unsigned char *mark)
{
	(void)h;
	(void)hs;
	(void)st;
	(void)v;
	(void)n;
	(void)mark;
	return -1;
}
#endif /* HAVE_HYPERSCAN */

int
rule_set_hs_attach(struct rule_set *rs, struct rule_hs *h)
{
	struct rule_hs *none = NULL;

	if (h == NULL)
		return -1;
	if (!atomic_compare_exchange_strong(&rs->hs, &none, h)) {
		rule_hs_free(h);
		return -1;
	}
	return 0;
}

const struct rule_hs_info *
rule_set_hs_info(const struct rule_set *rs)
{
	struct rule_hs *h = atomic_load(&((struct rule_set *)rs)->hs);

#ifdef HAVE_HYPERSCAN
	return h != NULL ? &h->info : NULL;
#else
	(void)h;
	return NULL;
#endif
}
