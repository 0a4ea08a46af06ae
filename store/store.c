/*
 * store.c: the store interface (store.h) in front of its two back ends,
 * and what they share: request ids, callback dispatch, outage logging.
 *
 * It deliberately holds no policy: what an error means for a mail (pass
 * or tempfail) is the session's choice.  Invariant: an outage is logged
 * once when it begins and once when it ends, however many workers and
 * requests see it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_int.h"

const char *
store_err_name(int err)
{
	switch (err) {
	case STORE_OK:
		return "ok";
	case STORE_ERR_TIMEOUT:
		return "timeout";
	case STORE_ERR_DOWN:
		return "down";
	case STORE_ERR_BUSY:
		return "busy";
	case STORE_ERR_PROTO:
		return "protocol";
	case STORE_ERR_ARG:
		return "argument";
	}
	return "?";
}

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
store_next_id(struct store *st)
{
	return atomic_fetch_add(&st->next_id, 1) + 1;
}

void
store_deliver(const struct store_args *a, uint64_t id, int err,
    const struct store_res *r)
{
	int ok = err == STORE_OK && r != NULL;

	switch (a->op) {
	case STORE_OP_GREY:
		a->cb.grey(a->arg, id, err, ok ? &r->grey : NULL);
		break;
	case STORE_OP_COUNT:
		a->cb.count(a->arg, id, err, ok ? r->count : 0);
		break;
	case STORE_OP_WHITE_ADD:
	case STORE_OP_PASS:
	case STORE_OP_DELETE:
		a->cb.v(a->arg, id, err);
		break;
	case STORE_OP_LOOKUP:
		a->cb.entry(a->arg, id, err, ok ? r->found : 0,
		    ok && r->found ? &r->entry : NULL);
		break;
	case STORE_OP_LIST:
		a->cb.list(a->arg, id, err, ok ? r->list : NULL,
		    ok ? r->nlist : 0, ok ? r->next_cursor : 0);
		break;
	case STORE_OP_TOTAL:
		a->cb.total(a->arg, id, err, ok ? r->total[0] : 0,
		    ok ? r->total[1] : 0, ok ? r->total[2] : 0);
		break;
	}
}

void
store_failed(struct store *st, int err, const char *what)
{
	int was = 0;

	atomic_fetch_add(&st->outage_failed, 1);
	if (!atomic_compare_exchange_strong(&st->outage, &was, 1))
		return;
	atomic_store(&st->outage_since, store_now_ms());
	log_warn("store %s unavailable (%s: %s); greylist and rate-limit "
	    "checks fail until it recovers (greylist_on_store_failure "
	    "applies); logged once per outage", st->ops->name,
	    store_err_name(err), what);
}

void
store_succeeded(struct store *st)
{
	int was = 1;

	if (atomic_load(&st->outage) == 0 ||
	    !atomic_compare_exchange_strong(&st->outage, &was, 0))
		return;
	log_info("store %s recovered after %lld ms; %lld requests failed "
	    "during the outage", st->ops->name,
	    (long long)(store_now_ms() - atomic_load(&st->outage_since)),
	    (long long)atomic_exchange(&st->outage_failed, 0));
}

void
store_free(struct store *st)
{
	if (st != NULL)
		st->ops->free(st);
}

const char *
store_kind(const struct store *st)
{
	return st->ops->name;
}

struct store_conn *
store_conn_new(struct store *st, struct event_base *base)
{
	return st->ops->conn_new(st, base);
}

void
store_conn_free(struct store_conn *c)
{
	if (c != NULL)
		c->st->ops->conn_free(c);
}

int
store_conn_up(const struct store_conn *c)
{
	return c->st->ops->conn_up(c);
}

void
store_cancel(struct store_conn *c, uint64_t id)
{
	if (id != 0)
		c->st->ops->cancel(c, id);
}

static uint64_t
submit(struct store_conn *c, struct store_args *a, void *arg)
{
	a->arg = arg;
	return c->st->ops->submit(c, a);
}

uint64_t
store_grey_check(struct store_conn *c, const struct grey_triplet *t,
    const struct grey_params *p, store_grey_cb *cb, void *arg)
{
	struct store_args a = { .op = STORE_OP_GREY, .cb.grey = cb, .t = t,
	    .p = *p };

	return submit(c, &a, arg);
}

uint64_t
store_count(struct store_conn *c, const char *name, long window_ms,
    int sliding, unsigned incr, store_count_cb *cb, void *arg)
{
	struct store_args a = { .op = STORE_OP_COUNT, .cb.count = cb,
	    .name = name, .window_ms = window_ms, .sliding = sliding,
	    .incr = incr };

	return submit(c, &a, arg);
}

uint64_t
store_white_add(struct store_conn *c, const char *client, int64_t ttl_ms,
    store_void_cb *cb, void *arg)
{
	struct store_args a = { .op = STORE_OP_WHITE_ADD, .cb.v = cb,
	    .name = client, .ttl_ms = ttl_ms };

	return submit(c, &a, arg);
}

uint64_t
store_admin_lookup(struct store_conn *c, const char *key, store_entry_cb *cb,
    void *arg)
{
	struct store_args a = { .op = STORE_OP_LOOKUP, .cb.entry = cb,
	    .name = key };

	return submit(c, &a, arg);
}

uint64_t
store_admin_pass(struct store_conn *c, const struct grey_triplet *t,
    const struct grey_params *p, store_void_cb *cb, void *arg)
{
	struct store_args a = { .op = STORE_OP_PASS, .cb.v = cb, .t = t,
	    .p = *p };

	return submit(c, &a, arg);
}

uint64_t
store_admin_delete(struct store_conn *c, const char *key, store_void_cb *cb,
    void *arg)
{
	struct store_args a = { .op = STORE_OP_DELETE, .cb.v = cb,
	    .name = key };

	return submit(c, &a, arg);
}

uint64_t
store_admin_list(struct store_conn *c, enum store_kind_entry kind,
    uint64_t cursor, size_t max, store_list_cb *cb, void *arg)
{
	struct store_args a = { .op = STORE_OP_LIST, .cb.list = cb,
	    .kind = kind, .cursor = cursor, .max = max };

	return submit(c, &a, arg);
}

uint64_t
store_admin_count(struct store_conn *c, store_total_cb *cb, void *arg)
{
	struct store_args a = { .op = STORE_OP_TOTAL, .cb.total = cb };

	return submit(c, &a, arg);
}
