/*
 * store_int.h: what store.c shares with the two store back ends
 * (store_mem.c, store_redis.c).  Nothing else includes it.
 */
#ifndef MOAT_STORE_INT_H
#define MOAT_STORE_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "store.h"

enum store_op {
	STORE_OP_GREY,
	STORE_OP_COUNT,
	STORE_OP_WHITE_ADD,
	STORE_OP_LOOKUP,
	STORE_OP_PASS,
	STORE_OP_DELETE,
	STORE_OP_LIST,
	STORE_OP_TOTAL
};

/* One request as the public functions hand it to a back end; the back end
 * copies what it keeps (pointers are the caller's, valid during submit). */
struct store_args {
	enum store_op	 op;
	const struct grey_triplet *t;		/* GREY, PASS */
	struct grey_params p;			/* GREY, PASS */
	const char	*name;			/* COUNT name, WHITE client,
						   LOOKUP/DELETE key */
	long		 window_ms;		/* COUNT */
	int		 sliding;		/* COUNT */
	unsigned	 incr;			/* COUNT */
	int64_t		 ttl_ms;		/* WHITE_ADD */
	enum store_kind_entry kind;		/* LIST */
	uint64_t	 cursor;		/* LIST */
	size_t		 max;			/* LIST */
	union {
		store_grey_cb	*grey;
		store_count_cb	*count;
		store_void_cb	*v;
		store_entry_cb	*entry;
		store_list_cb	*list;
		store_total_cb	*total;
		void		*any;
	} cb;
	void		*arg;
};

/* A completed request's answer, whatever its kind. */
struct store_res {
	struct store_grey_result grey;
	long long	 count;
	int		 found;
	struct store_entry entry;
	struct store_entry *list;
	size_t		 nlist;
	uint64_t	 next_cursor;
	long long	 total[3];	/* by enum store_kind_entry */
};

struct store_ops {
	const char	*name;
	void		(*free)(struct store *);
	struct store_conn *(*conn_new)(struct store *, struct event_base *);
	void		(*conn_free)(struct store_conn *);
	int		(*conn_up)(const struct store_conn *);
	void		(*cancel)(struct store_conn *, uint64_t);
	uint64_t	(*submit)(struct store_conn *, const struct store_args *);
};

/* The head of every struct store. */
struct store {
	const struct store_ops *ops;
	atomic_int	 outage;	/* 1 between a failure and a success */
	atomic_llong	 outage_since;	/* ms, realtime */
	atomic_llong	 outage_failed;	/* requests failed in this outage */
	atomic_ullong	 next_id;
};

/* The head of every struct store_conn. */
struct store_conn {
	struct store	*st;
};

/* A new request id (never 0), unique in the process. */
uint64_t store_next_id(struct store *);

/* Call the callback in a with err and r (r may be NULL unless STORE_OK). */
void	store_deliver(const struct store_args *a, uint64_t id, int err,
	    const struct store_res *r);

/*
 * Outage bookkeeping (log once per outage): store_failed() on each failed
 * request or connection attempt (what: why, for the first log line);
 * store_succeeded() on each answer.
 */
void	store_failed(struct store *, int err, const char *what);
void	store_succeeded(struct store *);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t	store_now_ms(void);

#endif
