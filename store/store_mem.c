/*
 * store_mem.c: the memory store (store.h): greylist records, whitelist
 * entries and rate-limit counters in one hash table in this process,
 * shared by every worker thread behind one mutex.
 *
 * It is the quick-start default for a single moatd: its state is per
 * process and lost on restart (it says so once, at creation), and a second
 * moatd does not see it.  It does not persist, replicate or share anything.
 *
 * Invariants: the table holds at most max_entries entries (a new key past
 * that evicts expired ones first, then the entry closest to expiry among
 * those it looked at); every entry has an expiry time and is never
 * returned after it; answers are computed under the mutex at submit time
 * and delivered from the calling conn's event loop through a zero-timeout
 * event, never synchronously.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "store_int.h"
#include "xmalloc.h"

#define MEM_BUCKETS_MIN	1024
#define MEM_EVICT_SCAN	64	/* buckets looked at per eviction */

enum ment_kind { MENT_T, MENT_A, MENT_W, MENT_R };

struct ment {
	struct ment	*next;
	char		*key;		/* "t:...", "a:...", "w:...", "r:..." */
	enum ment_kind	 kind;
	int64_t		 expires;	/* ms, realtime */
	struct grey_record rec;		/* T */
	struct grey_awl	 awl;		/* A */
	long long	 count;		/* R */
};

struct mem_store {
	struct store	 base;
	pthread_mutex_t	 mu;
	struct ment	**b;
	size_t		 nb;		/* a power of two */
	size_t		 n, max;
	size_t		 evict_at;	/* rotating eviction cursor */
};

struct mem_req {
	struct mem_req	*next, *prev;
	struct mem_conn	*conn;
	uint64_t	 id;
	struct event	*ev;
	struct store_args args;		/* cb and arg only are used */
	int		 err;
	struct store_res res;		/* list entries and keys owned */
};

struct mem_conn {
	struct store_conn base;
	struct event_base *evb;
	struct mem_req	*reqs;
};

static const struct store_ops mem_ops;

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void
ment_free(struct ment *e)
{
	free(e->key);
	free(e);
}

static void
mem_grow(struct mem_store *m)
{
	struct ment **nb, *e, *next;
	size_t i, nnb = m->nb * 2, h;

	nb = xcalloc(nnb, sizeof(*nb));
	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			h = hash_str(e->key) & (nnb - 1);
			e->next = nb[h];
			nb[h] = e;
		}
	free(m->b);
	m->b = nb;
	m->nb = nnb;
}

/* The live entry under key, dropping it if it has expired. */
static struct ment *
mem_get(struct mem_store *m, const char *key, int64_t now)
{
	struct ment **pp, *e;

	for (pp = &m->b[hash_str(key) & (m->nb - 1)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->expires > now)
			return e;
		*pp = e->next;
		ment_free(e);
		m->n--;
		return NULL;
	}
	return NULL;
}

static void
mem_del(struct mem_store *m, const char *key)
{
	struct ment **pp, *e;

	for (pp = &m->b[hash_str(key) & (m->nb - 1)]; (e = *pp) != NULL;
	    pp = &e->next)
		if (strcmp(e->key, key) == 0) {
			*pp = e->next;
			ment_free(e);
			m->n--;
			return;
		}
}

/* Make room for one entry: expired ones first, else the nearest expiry. */
static void
mem_evict(struct mem_store *m, int64_t now)
{
	struct ment **pp, *e, **victim = NULL;
	size_t scanned = 0, before = m->n;

	while (m->n > 0 && (scanned < MEM_EVICT_SCAN ||
	    (victim == NULL && m->n == before))) {
		for (pp = &m->b[m->evict_at]; (e = *pp) != NULL;) {
			if (e->expires <= now) {
				*pp = e->next;
				ment_free(e);
				m->n--;
				continue;
			}
			if (victim == NULL || e->expires < (*victim)->expires)
				victim = pp;
			pp = &e->next;
		}
		m->evict_at = (m->evict_at + 1) & (m->nb - 1);
		scanned++;
		if (m->n < before && scanned >= MEM_EVICT_SCAN)
			break;
	}
	if (m->n == before && victim != NULL) {
		e = *victim;
		*victim = e->next;
		ment_free(e);
		m->n--;
	}
}

/* The live entry under key, or a new zeroed one of kind. */
static struct ment *
mem_put(struct mem_store *m, const char *key, enum ment_kind kind,
    int64_t now)
{
	struct ment *e;
	size_t h;

	if ((e = mem_get(m, key, now)) != NULL) {
		if (e->kind == kind)
			return e;
		mem_del(m, key);
	}
	if (m->n >= m->max)
		mem_evict(m, now);
	if (m->n >= 2 * m->nb)
		mem_grow(m);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->kind = kind;
	h = hash_str(key) & (m->nb - 1);
	e->next = m->b[h];
	m->b[h] = e;
	m->n++;
	return e;
}

static void
do_grey(struct mem_store *m, const struct store_args *a, int64_t now,
    struct store_res *r)
{
	char key[GREY_KEY_MAX];
	struct ment *t, *aw;
	struct grey_outcome o;

	grey_key_client(key, sizeof(key), "", 'w', a->t->client);
	if (mem_get(m, key, now) != NULL) {
		r->grey.decision = GREY_WHITELISTED;
		r->grey.manual = 1;
		return;
	}
	grey_key_client(key, sizeof(key), "", 'a', a->t->client);
	aw = a->p.awl_passes > 0 ? mem_get(m, key, now) : NULL;
	grey_key_triplet(key, sizeof(key), "", a->t);
	t = mem_get(m, key, now);
	grey_decide(&a->p, now, t ? &t->rec : NULL, aw ? &aw->awl : NULL, &o);
	if (o.rec_write) {
		t = mem_put(m, key, MENT_T, now);
		t->rec = o.rec;
		t->expires = now + o.rec_ttl_ms;
	}
	if (o.awl_write) {
		grey_key_client(key, sizeof(key), "", 'a', a->t->client);
		aw = mem_put(m, key, MENT_A, now);
		aw->awl = o.awl;
		aw->expires = now + o.awl_ttl_ms;
	}
	r->grey.decision = o.decision;
	r->grey.wait_s = grey_wait_seconds(o.wait_ms);
	r->grey.pass_count = o.rec.pass_count;
	r->grey.awl_count = o.awl.count;
}

static int
do_count(struct mem_store *m, const struct store_args *a, int64_t now,
    struct store_res *r)
{
	char key[STORE_NAME_MAX + 64];
	struct ment *e;
	int64_t w = a->window_ms, idx = now / w;
	long long cur = 0, prev = 0;

	snprintf(key, sizeof(key), "r:%s:%lld", a->name, (long long)idx);
	if (a->incr > 0) {
		if ((e = mem_get(m, key, now)) == NULL) {
			e = mem_put(m, key, MENT_R, now);
			e->expires = now + (a->sliding ? 2 * w : w);
		}
		e->count += a->incr;
		cur = e->count;
	} else if ((e = mem_get(m, key, now)) != NULL)
		cur = e->count;
	if (a->sliding) {
		snprintf(key, sizeof(key), "r:%s:%lld", a->name,
		    (long long)idx - 1);
		if ((e = mem_get(m, key, now)) != NULL)
			prev = e->count;
		/* rounded up: a limit must not lapse the moment a window
		   ends (3 failures weighted 2.99 are still 3) */
		cur += (prev * (w - (now - idx * w)) + w - 1) / w;
	}
	r->count = cur;
	return STORE_OK;
}

static int
kind_of(const char *key, enum store_kind_entry *k)
{
	if (strncmp(key, "t:", 2) == 0)
		*k = STORE_E_TRIPLET;
	else if (strncmp(key, "a:", 2) == 0)
		*k = STORE_E_AWL;
	else if (strncmp(key, "w:", 2) == 0)
		*k = STORE_E_WHITE;
	else
		return -1;
	return 0;
}

static void
fill_entry(struct store_entry *se, const struct ment *e, int64_t now)
{
	memset(se, 0, sizeof(*se));
	(void)kind_of(e->key, &se->kind);
	se->key = xstrdup(e->key);
	se->rec = e->rec;
	se->awl = e->awl;
	se->ttl_ms = e->expires - now;
}

static void
do_list(struct mem_store *m, const struct store_args *a, int64_t now,
    struct store_res *r)
{
	struct ment *e;
	enum store_kind_entry k;
	size_t i, cap = 0, max = a->max > 0 ? a->max : 100;

	for (i = (size_t)a->cursor; i < m->nb && r->nlist < max; i++)
		for (e = m->b[i]; e != NULL; e = e->next) {
			if (e->expires <= now || kind_of(e->key, &k) == -1 ||
			    k != a->kind)
				continue;
			if (r->nlist == cap) {
				cap = cap ? cap * 2 : 16;
				r->list = xreallocarray(r->list, cap,
				    sizeof(*r->list));
			}
			fill_entry(&r->list[r->nlist++], e, now);
		}
	r->next_cursor = i < m->nb ? i : 0;
}

static int
do_request(struct mem_store *m, const struct store_args *a,
    struct store_res *r)
{
	char key[GREY_KEY_MAX];
	struct ment *e;
	enum store_kind_entry k;
	int64_t now = store_now_ms();
	size_t i;

	switch (a->op) {
	case STORE_OP_GREY:
		do_grey(m, a, now, r);
		return STORE_OK;
	case STORE_OP_COUNT:
		if (a->window_ms <= 0 || strlen(a->name) > STORE_NAME_MAX)
			return STORE_ERR_ARG;
		return do_count(m, a, now, r);
	case STORE_OP_WHITE_ADD:
		if (a->ttl_ms <= 0 || grey_key_client(key, sizeof(key), "",
		    'w', a->name) == -1)
			return STORE_ERR_ARG;
		e = mem_put(m, key, MENT_W, now);
		e->expires = now + a->ttl_ms;
		return STORE_OK;
	case STORE_OP_LOOKUP:
		if (kind_of(a->name, &k) == -1)
			return STORE_ERR_ARG;
		if ((e = mem_get(m, a->name, now)) != NULL) {
			r->found = 1;
			fill_entry(&r->entry, e, now);
		}
		return STORE_OK;
	case STORE_OP_PASS:
		grey_key_triplet(key, sizeof(key), "", a->t);
		if ((e = mem_get(m, key, now)) == NULL) {
			e = mem_put(m, key, MENT_T, now);
			e->rec.first_seen = now;
		}
		e->rec.last_seen = now;
		e->rec.passed_until = now + a->p.pass_lifetime_ms;
		if (e->rec.pass_count < 1)
			e->rec.pass_count = 1;
		e->expires = now + a->p.pass_lifetime_ms;
		return STORE_OK;
	case STORE_OP_DELETE:
		if (kind_of(a->name, &k) == -1)
			return STORE_ERR_ARG;
		mem_del(m, a->name);
		return STORE_OK;
	case STORE_OP_LIST:
		do_list(m, a, now, r);
		return STORE_OK;
	case STORE_OP_TOTAL:
		for (i = 0; i < m->nb; i++)
			for (e = m->b[i]; e != NULL; e = e->next)
				if (e->expires > now &&
				    kind_of(e->key, &k) == 0)
					r->total[k]++;
		return STORE_OK;
	}
	return STORE_ERR_ARG;
}

static void
req_free(struct mem_req *q)
{
	size_t i;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		q->conn->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	event_free(q->ev);
	for (i = 0; i < q->res.nlist; i++)
		free((char *)q->res.list[i].key);
	free(q->res.list);
	free((char *)q->res.entry.key);
	free(q);
}

static void
req_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mem_req *q = arg;
	struct store_args a = q->args;
	uint64_t id = q->id;
	int err = q->err;
	struct store_res res = q->res;
	size_t i;

	(void)fd;
	(void)what;
	/* Unlink before calling back: the callback may free the conn. */
	q->res.list = NULL;
	q->res.nlist = 0;
	q->res.entry.key = NULL;
	req_free(q);
	store_deliver(&a, id, err, &res);
	for (i = 0; i < res.nlist; i++)
		free((char *)res.list[i].key);
	free(res.list);
	free((char *)res.entry.key);
}

static uint64_t
mem_submit(struct store_conn *sc, const struct store_args *a)
{
	struct mem_conn *c = (struct mem_conn *)sc;
	struct mem_store *m = (struct mem_store *)sc->st;
	struct mem_req *q = xcalloc(1, sizeof(*q));
	struct timeval tv = { 0, 0 };

	q->conn = c;
	q->id = store_next_id(sc->st);
	q->args = *a;
	q->args.t = NULL;
	q->args.name = NULL;
	pthread_mutex_lock(&m->mu);
	q->err = do_request(m, a, &q->res);
	pthread_mutex_unlock(&m->mu);
	q->ev = evtimer_new(c->evb, req_fire, q);
	q->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = q;
	c->reqs = q;
	evtimer_add(q->ev, &tv);
	return q->id;
}

static void
mem_cancel(struct store_conn *sc, uint64_t id)
{
	struct mem_conn *c = (struct mem_conn *)sc;
	struct mem_req *q;

	for (q = c->reqs; q != NULL; q = q->next)
		if (q->id == id) {
			req_free(q);
			return;
		}
}

static struct store_conn *
mem_conn_new(struct store *st, struct event_base *evb)
{
	struct mem_conn *c = xcalloc(1, sizeof(*c));

	c->base.st = st;
	c->evb = evb;
	return &c->base;
}

static void
mem_conn_free(struct store_conn *sc)
{
	struct mem_conn *c = (struct mem_conn *)sc;

	while (c->reqs != NULL)
		req_free(c->reqs);
	free(c);
}

static int
mem_conn_up(const struct store_conn *sc)
{
	(void)sc;
	return 1;
}

static void
mem_free(struct store *st)
{
	struct mem_store *m = (struct mem_store *)st;
	struct ment *e, *next;
	size_t i;

	for (i = 0; i < m->nb; i++)
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			ment_free(e);
		}
	free(m->b);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

struct store *
store_mem_new(const struct store_mem_params *p)
{
	struct mem_store *m = xcalloc(1, sizeof(*m));

	m->base.ops = &mem_ops;
	pthread_mutex_init(&m->mu, NULL);
	m->max = p != NULL && p->max_entries > 0 ? p->max_entries :
	    STORE_MEM_ENTRIES_DEFAULT;
	m->nb = MEM_BUCKETS_MIN;
	m->b = xcalloc(m->nb, sizeof(*m->b));
	log_info("greylist store: memory (at most %zu entries); its state is "
	    "per process, not shared with other moatd instances, and lost on "
	    "restart", m->max);
	return &m->base;
}

static const struct store_ops mem_ops = {
	.name = "memory",
	.free = mem_free,
	.conn_new = mem_conn_new,
	.conn_free = mem_conn_free,
	.conn_up = mem_conn_up,
	.cancel = mem_cancel,
	.submit = mem_submit,
};
