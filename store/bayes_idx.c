/*
 * bayes_idx.c: tokens.idx, the Bayes store's token counts laid out for
 * one memory miss per token (bayes_idx.h).
 *
 * Why: a token read through LMDB is a B-tree descent whose last steps (a
 * binary search over a leaf nobody touched lately) are dependent cache
 * misses, about 0.7-1.2 us each, and a message asks for ~550 tokens.  Here
 * a token's slot is fixed by its hash, so the reader computes every
 * address up front and prefetches several ahead: the misses overlap.
 *
 * File: a 4096-byte header, then a power of 2 of 16-byte slots
 * {u64 token, u32 spam, u32 ham} (native byte order: a cache of this
 * machine's LMDB file, never copied elsewhere; another byte order fails the
 * magic).  Token 0 marks an empty slot (the tokenizer never makes it).  A
 * token's home slot is its top bits (the hashes are already uniform, and
 * sorted tokens then visit the table in address order); collisions probe
 * linearly, never further than the header's maxprobe.  Slots are never
 * emptied: a token LMDB deleted stays as 0/0, which the combiner treats
 * as unseen, exactly as a missing key.
 *
 * Consistency (the invariant the whole thing rests on): the stamp is
 * non-zero only while every slot holds what LMDB holds at that
 * transaction id.  Writers clear it before changing anything and set it
 * (release) only after the slots are on disk (msync), so neither another
 * process reading concurrently nor a crash at any point (process or power)
 * can show a stamp with other counts.  Readers load it with acquire before
 * the lookups and again after an acquire fence (a seqlock), and also
 * compare the totals stored beside it with the ones their read transaction
 * sees, so an index left over from another data.mdb is not taken.  What it
 * does not do: it never reads LMDB (bayes_db.c feeds it) and it does not
 * defend against a file truncated while mapped (writers never truncate,
 * they rename).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bayes_idx.h"
#include "xmalloc.h"

#define IDX_MAGIC	"MOATBIDX"
#define IDX_VERSION	1
#define IDX_HDR_SIZE	4096
/* 2^30 slots is a 16 GiB file: far past any store's map size */
#define IDX_MAX_SLOTS	(1ULL << 30)
/* Lookups in flight: enough to cover a memory latency with ~20 ns each */
#define IDX_AHEAD	16

struct idx_slot {
	uint64_t	tok;
	uint32_t	spam, ham;
};

struct idx_hdr {
	char		magic[8];
	uint32_t	version;
	uint32_t	slot_size;
	uint64_t	nslots;
	uint64_t	nused;		/* slots holding a token */
	uint64_t	maxprobe;	/* longest displacement from home */
	uint32_t	superseded;	/* a newer file took this one's name */
	uint32_t	pad0;
	uint64_t	pad1[2];
	/* its own cache line: the one every reader loads twice */
	uint64_t	stamp __attribute__((aligned(64)));
	uint64_t	gen;
	uint64_t	nspam, nham, ntokens;
	int64_t		last_learn;
};

_Static_assert(sizeof(struct idx_slot) == 16, "16-byte slots");
_Static_assert(sizeof(struct idx_hdr) <= IDX_HDR_SIZE, "header fits");

struct bayes_idx {
	int		 fd;
	unsigned char	*base;
	size_t		 size;
	struct idx_hdr	*h;
	struct idx_slot	*slot;
	uint64_t	 nslots;
	unsigned	 shift;		/* 64 - log2(nslots) */
	int		 writable;
	char		*path;
};

struct bayes_idx_build {
	struct bayes_idx ix;		/* the mapping of the temporary */
	char		*tmp;
	uint64_t	 nused, maxprobe;
};

#define LD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

static unsigned
log2_u64(uint64_t v)
{
	unsigned b = 0;

	while (v > 1) {
		v >>= 1;
		b++;
	}
	return b;
}

static void
idx_layout(struct bayes_idx *ix)
{
	ix->h = (struct idx_hdr *)ix->base;
	ix->slot = (struct idx_slot *)(ix->base + IDX_HDR_SIZE);
	ix->shift = 64 - log2_u64(ix->nslots);
}

/*
 * Check a header read from a file of size bytes; NULL if it is one we can
 * map, else what is wrong with it.
 */
static const char *
hdr_check(const struct idx_hdr *h, uint64_t size)
{
	if (size < IDX_HDR_SIZE)
		return "truncated (shorter than its header)";
	if (memcmp(h->magic, IDX_MAGIC, 8) != 0)
		return "not a moat token index (bad magic)";
	if (h->version != IDX_VERSION || h->slot_size != sizeof(struct idx_slot))
		return "token index version not understood";
	if (h->nslots < BAYES_IDX_MIN_SLOTS || h->nslots > IDX_MAX_SLOTS ||
	    (h->nslots & (h->nslots - 1)) != 0)
		return "bad header (slot count)";
	if (size != IDX_HDR_SIZE + h->nslots * sizeof(struct idx_slot))
		return "truncated or wrong size for its slot count";
	if (h->nused > h->nslots / 2 || h->maxprobe >= h->nslots)
		return "bad header (slots used)";
	return NULL;
}

struct bayes_idx *
bayes_idx_open(const char *dir, int writable, int *missing, char *err,
    size_t errsz)
{
	struct bayes_idx *ix = xcalloc(1, sizeof(*ix));
	struct idx_hdr h;
	struct stat sb;
	const char *why;
	ssize_t r;

	*missing = 0;
	ix->fd = -1;
	ix->path = xasprintf("%s/%s", dir, BAYES_IDX_FILE);
	ix->writable = writable;
	if ((ix->fd = open(ix->path, (writable ? O_RDWR : O_RDONLY) |
	    O_CLOEXEC)) < 0) {
		*missing = errno == ENOENT;
		snprintf(err, errsz, "%s: %s", ix->path, strerror(errno));
		goto fail;
	}
	/* check the header with read(), not through the mapping: a short
	 * file must be an error, not a SIGBUS */
	memset(&h, 0, sizeof(h));
	if (fstat(ix->fd, &sb) != 0 ||
	    (r = pread(ix->fd, &h, sizeof(h), 0)) < 0) {
		snprintf(err, errsz, "%s: %s", ix->path, strerror(errno));
		goto fail;
	}
	if ((why = hdr_check(&h, (uint64_t)sb.st_size)) != NULL ||
	    (size_t)r < sizeof(h)) {
		snprintf(err, errsz, "%s: %s", ix->path, why ? why :
		    "truncated (shorter than its header)");
		goto fail;
	}
	ix->nslots = h.nslots;
	ix->size = (size_t)sb.st_size;
	ix->base = mmap(NULL, ix->size, PROT_READ | (writable ? PROT_WRITE :
	    0), MAP_SHARED, ix->fd, 0);
	if (ix->base == MAP_FAILED) {
		ix->base = NULL;
		snprintf(err, errsz, "%s: mmap: %s", ix->path, strerror(errno));
		goto fail;
	}
	idx_layout(ix);
	return ix;
fail:
	bayes_idx_close(ix);
	return NULL;
}

void
bayes_idx_close(struct bayes_idx *ix)
{
	if (ix == NULL)
		return;
	if (ix->base)
		munmap(ix->base, ix->size);
	if (ix->fd >= 0)
		close(ix->fd);
	free(ix->path);
	free(ix);
}

int
bayes_idx_superseded(const struct bayes_idx *ix)
{
	return __atomic_load_n(&ix->h->superseded, __ATOMIC_ACQUIRE) != 0;
}

uint64_t
bayes_idx_stamp(const struct bayes_idx *ix)
{
	return __atomic_load_n(&ix->h->stamp, __ATOMIC_ACQUIRE);
}

void
bayes_idx_info(const struct bayes_idx *ix, struct bayes_idx_id *id,
    uint64_t *nslots, uint64_t *nused)
{
	id->txnid = bayes_idx_stamp(ix);
	id->gen = LD(&ix->h->gen);
	id->nspam = LD(&ix->h->nspam);
	id->nham = LD(&ix->h->nham);
	id->ntokens = LD(&ix->h->ntokens);
	id->last_learn = LD(&ix->h->last_learn);
	*nslots = ix->nslots;
	*nused = LD(&ix->h->nused);
}

/* After an acquire load of the stamp: do the totals beside it agree? */
static int
same_state(const struct idx_hdr *h, const struct bayes_idx_id *id)
{
	return LD(&h->gen) == id->gen && LD(&h->nspam) == id->nspam &&
	    LD(&h->nham) == id->nham &&
	    LD(&h->ntokens) == id->ntokens &&
	    LD(&h->last_learn) == id->last_learn;
}

int
bayes_idx_matches(const struct bayes_idx *ix, const struct bayes_idx_id *id)
{
	uint64_t s = bayes_idx_stamp(ix);

	return s != 0 && s == id->txnid && same_state(ix->h, id);
}

int
bayes_idx_read(const struct bayes_idx *ix, const struct bayes_idx_id *id,
    const uint64_t *tok, size_t n, struct bayes_counts *out)
{
	const struct idx_slot *sl = ix->slot;
	uint64_t s1, mask = ix->nslots - 1, maxprobe, j, p, t;
	unsigned shift = ix->shift;
	size_t i;

	s1 = __atomic_load_n(&ix->h->stamp, __ATOMIC_ACQUIRE);
	if (s1 == 0 || s1 != id->txnid || !same_state(ix->h, id))
		return 0;
	maxprobe = LD(&ix->h->maxprobe);
	if (maxprobe >= ix->nslots)	/* a writer's bug or a bad file */
		return 0;
	for (i = 0; i < n && i < IDX_AHEAD; i++)
		__builtin_prefetch(&sl[tok[i] >> shift]);
	for (i = 0; i < n; i++) {
		if (i + IDX_AHEAD < n)
			__builtin_prefetch(&sl[tok[i + IDX_AHEAD] >> shift]);
		out[i].spam = out[i].ham = 0;
		for (j = tok[i] >> shift, p = 0; p <= maxprobe; p++,
		    j = (j + 1) & mask) {
			t = LD(&sl[j].tok);
			if (t == tok[i]) {
				out[i].spam = LD(&sl[j].spam);
				out[i].ham = LD(&sl[j].ham);
				break;
			}
			if (t == 0)
				break;
		}
	}
	/* the seqlock's second read: a writer that began meanwhile has
	 * cleared the stamp, and what we read may be half its work */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return LD(&ix->h->stamp) == s1;
}

void
bayes_idx_unstamp(struct bayes_idx *ix)
{
	ST(&ix->h->stamp, 0);
	/* no slot store may become visible before the cleared stamp */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
stamp_set(struct idx_hdr *h, const struct bayes_idx_id *id)
{
	ST(&h->gen, id->gen);
	ST(&h->nspam, id->nspam);
	ST(&h->nham, id->nham);
	ST(&h->ntokens, id->ntokens);
	ST(&h->last_learn, id->last_learn);
	__atomic_store_n(&h->stamp, id->txnid, __ATOMIC_RELEASE);
}

void
bayes_idx_restamp(struct bayes_idx *ix, const struct bayes_idx_id *id)
{
	stamp_set(ix->h, id);
}

/*
 * Put tok's counts in the table (nused, maxprobe: the header's or a
 * build's).  -1 when a new slot would pass half the table or tok is 0.
 */
static int
slot_put(struct idx_slot *sl, uint64_t nslots, unsigned shift,
    uint64_t *nused, uint64_t *maxprobe, uint64_t tok, uint32_t spam,
    uint32_t ham)
{
	uint64_t mask = nslots - 1, j, p, t;

	if (tok == 0)
		return -1;
	for (j = tok >> shift, p = 0; p < nslots; p++, j = (j + 1) & mask) {
		t = LD(&sl[j].tok);
		if (t == tok) {
			ST(&sl[j].spam, spam);
			ST(&sl[j].ham, ham);
			return 0;
		}
		if (t == 0)
			break;
	}
	if (p >= nslots)
		return -1;
	if (spam == 0 && ham == 0)
		return 0;	/* not there, and need not be */
	if (*nused + 1 > nslots / 2)
		return -1;
	ST(&sl[j].spam, spam);
	ST(&sl[j].ham, ham);
	ST(&sl[j].tok, tok);
	(*nused)++;
	if (p > *maxprobe)
		*maxprobe = p;
	return 0;
}

int
bayes_idx_apply(struct bayes_idx *ix, const struct bayes_idx_ent *e,
    size_t n)
{
	uint64_t nused = LD(&ix->h->nused), maxprobe = LD(&ix->h->maxprobe);
	size_t i;
	int rc = 0;

	if (!ix->writable || bayes_idx_stamp(ix) != 0)
		return -1;	/* not unstamped first: a caller's bug */
	for (i = 0; i < n && rc == 0; i++)
		rc = slot_put(ix->slot, ix->nslots, ix->shift, &nused,
		    &maxprobe, e[i].tok, e[i].spam, e[i].ham);
	/* even on failure: the header must cover every slot written (the
	 * stamp stays 0 until a rebuild replaces the file anyway) */
	ST(&ix->h->nused, nused);
	ST(&ix->h->maxprobe, maxprobe);
	return rc;
}

int
bayes_idx_publish(struct bayes_idx *ix, const struct bayes_idx_id *id,
    char *err, size_t errsz)
{
	/* the slots reach the disk before a stamp that vouches for them
	 * can: after a power cut the stamp is old, 0 or right */
	if (msync(ix->base, ix->size, MS_SYNC) != 0) {
		snprintf(err, errsz, "%s: msync: %s", ix->path,
		    strerror(errno));
		return -1;
	}
	stamp_set(ix->h, id);
	return 0;
}

struct bayes_idx_build *
bayes_idx_build_begin(const char *dir, uint64_t ntokens, long uid, long gid,
    char *err, size_t errsz)
{
	struct bayes_idx_build *b = xcalloc(1, sizeof(*b));
	uint64_t nslots = BAYES_IDX_MIN_SLOTS;

	/* load at most 0.4: room to learn before the bound of 0.5 */
	while (nslots < IDX_MAX_SLOTS && nslots * 2 < ntokens * 5)
		nslots *= 2;
	b->ix.fd = -1;
	b->ix.writable = 1;
	b->ix.path = xasprintf("%s/%s", dir, BAYES_IDX_FILE);
	b->tmp = xasprintf("%s.tmp", b->ix.path);
	b->ix.nslots = nslots;
	b->ix.size = IDX_HDR_SIZE + nslots * sizeof(struct idx_slot);
	(void)unlink(b->tmp);
	if ((b->ix.fd = open(b->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640)) < 0) {
		snprintf(err, errsz, "%s: %s", b->tmp, strerror(errno));
		goto fail;
	}
	if (uid >= 0 && geteuid() == 0 &&
	    fchown(b->ix.fd, (uid_t)uid, (gid_t)gid) != 0) {
		snprintf(err, errsz, "%s: chown: %s", b->tmp, strerror(errno));
		goto fail;
	}
	/* posix_fallocate, not ftruncate: a full disk is an error now, not
	 * a SIGBUS while filling the mapping */
	if ((errno = posix_fallocate(b->ix.fd, 0, (off_t)b->ix.size)) != 0) {
		snprintf(err, errsz, "%s: %s", b->tmp, strerror(errno));
		goto fail;
	}
	b->ix.base = mmap(NULL, b->ix.size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, b->ix.fd, 0);
	if (b->ix.base == MAP_FAILED) {
		b->ix.base = NULL;
		snprintf(err, errsz, "%s: mmap: %s", b->tmp, strerror(errno));
		goto fail;
	}
	idx_layout(&b->ix);
	return b;
fail:
	bayes_idx_build_abort(b);
	return NULL;
}

int
bayes_idx_build_add(struct bayes_idx_build *b, uint64_t tok, uint32_t spam,
    uint32_t ham, char *err, size_t errsz)
{
	if (slot_put(b->ix.slot, b->ix.nslots, b->ix.shift, &b->nused,
	    &b->maxprobe, tok, spam, ham) != 0) {
		snprintf(err, errsz, "%s: %s", b->tmp, tok == 0 ?
		    "token 0 cannot be indexed" : "more tokens than counted");
		return -1;
	}
	return 0;
}

/* Tell whoever maps the file at path that it is being replaced. */
static void
supersede(int fd)
{
	struct idx_hdr *h;
	struct stat sb;

	if (fstat(fd, &sb) != 0 || sb.st_size < IDX_HDR_SIZE)
		return;
	h = mmap(NULL, IDX_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return;
	if (memcmp(h->magic, IDX_MAGIC, 8) == 0) {
		ST(&h->stamp, 0);
		__atomic_store_n(&h->superseded, 1, __ATOMIC_RELEASE);
	}
	munmap(h, IDX_HDR_SIZE);
}

struct bayes_idx *
bayes_idx_build_finish(struct bayes_idx_build *b,
    const struct bayes_idx_id *id, char *err, size_t errsz)
{
	struct bayes_idx *ix;
	char *dir, *slash;
	int oldfd, dfd;

	memcpy(b->ix.h->magic, IDX_MAGIC, 8);
	b->ix.h->version = IDX_VERSION;
	b->ix.h->slot_size = sizeof(struct idx_slot);
	b->ix.h->nslots = b->ix.nslots;
	b->ix.h->nused = b->nused;
	b->ix.h->maxprobe = b->maxprobe;
	stamp_set(b->ix.h, id);
	if (msync(b->ix.base, b->ix.size, MS_SYNC) != 0 ||
	    fsync(b->ix.fd) != 0) {
		snprintf(err, errsz, "%s: sync: %s", b->tmp, strerror(errno));
		bayes_idx_build_abort(b);
		return NULL;
	}
	/* hold the old file, to mark it once it no longer has the name
	 * (a reader that sees the mark reopens, and must find the new one) */
	oldfd = open(b->ix.path, O_RDWR | O_CLOEXEC);
	if (rename(b->tmp, b->ix.path) != 0) {
		snprintf(err, errsz, "%s: rename: %s", b->tmp, strerror(errno));
		if (oldfd >= 0)
			close(oldfd);
		bayes_idx_build_abort(b);
		return NULL;
	}
	dir = xstrdup(b->ix.path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	if (oldfd >= 0) {
		supersede(oldfd);
		close(oldfd);
	}
	ix = xmalloc(sizeof(*ix));
	*ix = b->ix;
	free(b->tmp);
	free(b);
	return ix;
}

void
bayes_idx_build_abort(struct bayes_idx_build *b)
{
	if (b == NULL)
		return;
	if (b->ix.fd >= 0)
		(void)unlink(b->tmp);
	if (b->ix.base)
		munmap(b->ix.base, b->ix.size);
	if (b->ix.fd >= 0)
		close(b->ix.fd);
	free(b->ix.path);
	free(b->tmp);
	free(b);
}
