/*
 * store_driver.c: drives one store conn (store.h) from line commands on
 * stdin, for tests/integration/test_store_redis.py and bench/grey-bench.sh.
 *
 * One command at a time, each answered by one line on stdout; the event
 * loop runs all the time (also while stdin is idle), so the store
 * reconnects in the background as it does in moatd.  Commands:
 *   grey CLIENT SENDER RCPT      -> "grey new|pending|passed|whitelisted
 *                                    wait=S pass=N awl=N manual=0|1 ms=T"
 *   count NAME WINDOW_MS SLIDING INCR  -> "count N ms=T"
 *   white CLIENT TTL_MS          -> "ok ms=T"
 *   pass CLIENT SENDER RCPT      -> "ok ms=T"
 *   lookup KEY                   -> "entry KEY ttl=.. first=.. last=..
 *                                    until=.. n=.. c=.." or "none"
 *   delete KEY                   -> "ok ms=T"
 *   list t|a|w                   -> "list N" then N lines "KEY ttl=.."
 *   total                        -> "total T A W"
 *   sleep MS                     -> "slept"
 *   waitup MS                    -> "up ms=T" or "down"
 *   bench N CONC                 -> "bench n=N conc=C secs=.. rate=..
 *                                    p50_us=.. p99_us=.. errors=E"
 *   churn                        -> "churn calls=1": five checks in flight;
 *                                   the first callback frees the conn and
 *                                   makes a new one; the other four must
 *                                   never call back (checked 300 ms later)
 * Any failed request answers "err NAME ms=T".  SENDER "<>" is the null
 * sender.  The client is used as the client part as it is (no network
 * derivation), so tests can name it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "store.h"
#include "xmalloc.h"

static struct event_base *base;
static struct store_conn *conn;
static struct grey_params params;
static struct evbuffer *in;
static struct event *in_ev, *timer_ev;
static int busy, in_eof;
static int64_t started_us;
static int64_t wait_until_us;

/* bench state */
static long bench_n, bench_sent, bench_done, bench_errors;
static int64_t *bench_lat;
static int64_t bench_t0;

static void	run_lines(void);

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long
elapsed_ms(void)
{
	return (long)((now_us() - started_us) / 1000);
}

static void
done(void)
{
	fflush(stdout);
	busy = 0;
	run_lines();
}

static void
triplet(struct grey_triplet *t, const char *client, const char *sender,
    const char *rcpt)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->client, sizeof(t->client), "%s", client);
	grey_normalize_sender(t->sender, strcmp(sender, "<>") == 0 ? "" :
	    sender);
	grey_normalize_rcpt(t->rcpt, rcpt);
}

static void
grey_cb(void *arg, uint64_t id, int err, const struct store_grey_result *r)
{
	(void)arg;
	(void)id;
	if (err != STORE_OK)
		printf("err %s ms=%ld\n", store_err_name(err), elapsed_ms());
	else
		printf("grey %s wait=%ld pass=%ld awl=%ld manual=%d ms=%ld\n",
		    grey_decision_name(r->decision), r->wait_s, r->pass_count,
		    r->awl_count, r->manual, elapsed_ms());
	done();
}

static void
count_cb(void *arg, uint64_t id, int err, long long n)
{
	(void)arg;
	(void)id;
	if (err != STORE_OK)
		printf("err %s ms=%ld\n", store_err_name(err), elapsed_ms());
	else
		printf("count %lld ms=%ld\n", n, elapsed_ms());
	done();
}

static void
void_cb(void *arg, uint64_t id, int err)
{
	(void)arg;
	(void)id;
	if (err != STORE_OK)
		printf("err %s ms=%ld\n", store_err_name(err), elapsed_ms());
	else
		printf("ok ms=%ld\n", elapsed_ms());
	done();
}

static void
print_entry(const struct store_entry *e)
{
	printf("%s ttl=%lld first=%lld last=%lld until=%lld n=%ld c=%ld\n",
	    e->key, (long long)e->ttl_ms, (long long)e->rec.first_seen,
	    (long long)e->rec.last_seen, (long long)e->rec.passed_until,
	    e->kind == STORE_E_AWL ? e->awl.count : e->rec.pass_count,
	    (long)e->awl.last_counted);
}

static void
entry_cb(void *arg, uint64_t id, int err, int found,
    const struct store_entry *e)
{
	(void)arg;
	(void)id;
	if (err != STORE_OK)
		printf("err %s ms=%ld\n", store_err_name(err), elapsed_ms());
	else if (!found)
		printf("none\n");
	else {
		printf("entry ");
		print_entry(e);
	}
	done();
}

/* list: walks every page, prints them all at the end. */
static struct sbuf_lines {
	char	**v;
	size_t	 n;
} listed;
static enum store_kind_entry list_kind;

static void
list_cb(void *arg, uint64_t id, int err, const struct store_entry *v,
    size_t n, uint64_t next)
{
	char line[GREY_KEY_MAX + 64];
	size_t i;

	(void)arg;
	(void)id;
	if (err != STORE_OK) {
		printf("err %s ms=%ld\n", store_err_name(err), elapsed_ms());
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s ttl=%lld", v[i].key,
		    (long long)v[i].ttl_ms);
		listed.v = xreallocarray(listed.v, listed.n + 1,
		    sizeof(*listed.v));
		listed.v[listed.n++] = xstrdup(line);
	}
	if (next != 0) {
		store_admin_list(conn, list_kind, next, 100, list_cb, NULL);
		return;
	}
	printf("list %zu\n", listed.n);
	for (i = 0; i < listed.n; i++)
		printf("%s\n", listed.v[i]);
out:
	for (i = 0; i < listed.n; i++)
		free(listed.v[i]);
	free(listed.v);
	memset(&listed, 0, sizeof(listed));
	done();
}

static void
total_cb(void *arg, uint64_t id, int err, long long t, long long a,
    long long w)
{
	(void)arg;
	(void)id;
	if (err != STORE_OK)
		printf("err %s ms=%ld\n", store_err_name(err), elapsed_ms());
	else
		printf("total %lld %lld %lld\n", t, a, w);
	done();
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void	bench_next(void);

static void
bench_cb(void *arg, uint64_t id, int err, const struct store_grey_result *r)
{
	int64_t t0 = (int64_t)(intptr_t)arg;

	(void)id;
	(void)r;
	bench_lat[bench_done++] = now_us() - t0;
	if (err != STORE_OK)
		bench_errors++;
	if (bench_done == bench_n) {
		double secs = (double)(now_us() - bench_t0) / 1e6;

		qsort(bench_lat, (size_t)bench_n, sizeof(*bench_lat), cmp64);
		printf("bench n=%ld secs=%.3f rate=%.0f p50_us=%lld "
		    "p99_us=%lld errors=%ld\n", bench_n, secs,
		    (double)bench_n / secs,
		    (long long)bench_lat[bench_n / 2],
		    (long long)bench_lat[bench_n * 99 / 100], bench_errors);
		free(bench_lat);
		done();
		return;
	}
	bench_next();
}

static void
bench_next(void)
{
	struct grey_triplet t;
	char s[64];

	if (bench_sent >= bench_n)
		return;
	snprintf(s, sizeof(s), "s%ld@bench.example", bench_sent % 1000);
	triplet(&t, "192.0.2.0/24", s, "r@bench.example");
	bench_sent++;
	store_grey_check(conn, &t, &params, bench_cb,
	    (void *)(intptr_t)now_us());
}

static struct store *store;
static int churn_calls, churning;

static void
churn_cb(void *arg, uint64_t id, int err, const struct store_grey_result *r)
{
	struct timeval tv = { 0, 300000 };

	(void)arg;
	(void)id;
	(void)err;
	(void)r;
	if (churn_calls++ > 0)
		return;
	/* Inside the store's own callback: must be safe. */
	store_conn_free(conn);
	conn = store_conn_new(store, base);
	churning = 1;
	evtimer_add(timer_ev, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	(void)arg;
	if (churning) {
		churning = 0;
		printf("churn calls=%d\n", churn_calls);
		done();
		return;
	}
	if (wait_until_us != 0) {
		if (store_conn_up(conn)) {
			wait_until_us = 0;
			printf("up ms=%ld\n", elapsed_ms());
			done();
			return;
		}
		if (now_us() < wait_until_us) {
			evtimer_add(timer_ev, &tv);
			return;
		}
		wait_until_us = 0;
		printf("down\n");
		done();
		return;
	}
	printf("slept\n");
	done();
}

static void
command(char *line)
{
	char *w[6] = { NULL };
	int n = 0, i;
	struct grey_triplet t;
	struct timeval tv;
	long ms;

	for (char *p = strtok(line, " \t"); p != NULL && n < 6;
	    p = strtok(NULL, " \t"))
		w[n++] = p;
	if (n == 0)
		return;
	busy = 1;
	started_us = now_us();
	if (strcmp(w[0], "grey") == 0 && n == 4) {
		triplet(&t, w[1], w[2], w[3]);
		store_grey_check(conn, &t, &params, grey_cb, NULL);
	} else if (strcmp(w[0], "pass") == 0 && n == 4) {
		triplet(&t, w[1], w[2], w[3]);
		store_admin_pass(conn, &t, &params, void_cb, NULL);
	} else if (strcmp(w[0], "count") == 0 && n == 5) {
		store_count(conn, w[1], atol(w[2]), atoi(w[3]),
		    (unsigned)atoi(w[4]), count_cb, NULL);
	} else if (strcmp(w[0], "white") == 0 && n == 3) {
		store_white_add(conn, w[1], atoll(w[2]), void_cb, NULL);
	} else if (strcmp(w[0], "lookup") == 0 && n >= 2) {
		/* A triplet key has spaces: the rest of the line. */
		for (i = 2; i < n; i++)
			w[i][-1] = ' ';
		store_admin_lookup(conn, w[1], entry_cb, NULL);
	} else if (strcmp(w[0], "delete") == 0 && n >= 2) {
		for (i = 2; i < n; i++)
			w[i][-1] = ' ';
		store_admin_delete(conn, w[1], void_cb, NULL);
	} else if (strcmp(w[0], "list") == 0 && n == 2) {
		list_kind = w[1][0] == 't' ? STORE_E_TRIPLET :
		    w[1][0] == 'a' ? STORE_E_AWL : STORE_E_WHITE;
		store_admin_list(conn, list_kind, 0, 100, list_cb, NULL);
	} else if (strcmp(w[0], "total") == 0) {
		store_admin_count(conn, total_cb, NULL);
	} else if (strcmp(w[0], "sleep") == 0 && n == 2) {
		ms = atol(w[1]);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(timer_ev, &tv);
	} else if (strcmp(w[0], "waitup") == 0 && n == 2) {
		wait_until_us = now_us() + atol(w[1]) * 1000;
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		evtimer_add(timer_ev, &tv);
	} else if (strcmp(w[0], "churn") == 0) {
		churn_calls = 0;
		for (i = 0; i < 5; i++) {
			char snd[32];

			snprintf(snd, sizeof(snd), "churn%d@x.example", i);
			triplet(&t, "192.0.2.0/24", snd, "r@x.example");
			store_grey_check(conn, &t, &params, churn_cb, NULL);
		}
	} else if (strcmp(w[0], "bench") == 0 && n == 3) {
		bench_n = atol(w[1]);
		bench_sent = bench_done = bench_errors = 0;
		bench_lat = xcalloc((size_t)bench_n, sizeof(*bench_lat));
		bench_t0 = now_us();
		for (i = 0; i < atoi(w[2]); i++)
			bench_next();
	} else {
		printf("usage\n");
		busy = 0;
		fflush(stdout);
	}
}

static void
run_lines(void)
{
	char *line;
	size_t n;

	while (!busy && (line = evbuffer_readln(in, &n,
	    EVBUFFER_EOL_LF)) != NULL) {
		command(line);
		free(line);
	}
	if (!busy && in_eof)
		event_base_loopbreak(base);
}

static void
in_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (evbuffer_read(in, fd, 4096) <= 0) {
		in_eof = 1;
		event_del(in_ev);
	}
	run_lines();
}

static void
usage(void)
{
	fprintf(stderr, "usage: store_driver [--mem] [--unix PATH | --host H "
	    "--port P] [--user U] [--password P] [--db N] [--prefix S]\n"
	    "\t[--deadline-ms N] [--delay-ms N] [--retry-ms N] [--life-ms N]"
	    " [--awl N] [--awl-interval-ms N] [--backoff-max-ms N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mem", no_argument, NULL, 'm' },
		{ "unix", required_argument, NULL, 'u' },
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'U' },
		{ "password", required_argument, NULL, 'P' },
		{ "db", required_argument, NULL, 'd' },
		{ "prefix", required_argument, NULL, 'x' },
		{ "deadline-ms", required_argument, NULL, 'D' },
		{ "delay-ms", required_argument, NULL, '1' },
		{ "retry-ms", required_argument, NULL, '2' },
		{ "life-ms", required_argument, NULL, '3' },
		{ "awl", required_argument, NULL, '4' },
		{ "awl-interval-ms", required_argument, NULL, '5' },
		{ "backoff-max-ms", required_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_redis_params rp;
	struct store *st;
	char err[256];

	int c, mem = 0;

	store_redis_params_default(&rp);
	grey_params_default(&params);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mem = 1; break;
		case 'u': rp.unix_path = optarg; break;
		case 'h': rp.host = optarg; break;
		case 'p': rp.port = atoi(optarg); break;
		case 'U': rp.user = optarg; break;
		case 'P': rp.password = optarg; break;
		case 'd': rp.db = atoi(optarg); break;
		case 'x': rp.key_prefix = optarg; break;
		case 'D': rp.deadline_ms = atol(optarg); break;
		case '1': params.delay_ms = atoll(optarg); break;
		case '2': params.retry_window_ms = atoll(optarg); break;
		case '3': params.pass_lifetime_ms = atoll(optarg); break;
		case '4': params.awl_passes = atoi(optarg); break;
		case '5': params.awl_interval_ms = atoll(optarg); break;
		case '6': rp.backoff_max_ms = atol(optarg); break;
		default: usage();
		}
	}
	if (grey_params_check(&params, err, sizeof(err)) == -1) {
		fprintf(stderr, "store_driver: %s\n", err);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(0, 0, "store_driver", LOG_FMT_LOGFMT);
	if (mem) {
		struct store_mem_params mp = { 0, 0 };

		st = store_mem_new(&mp);
	} else if ((st = store_redis_new(&rp, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_driver: %s\n", err);
		return 2;
	}
	base = event_base_new();
	store = st;
	conn = store_conn_new(st, base);
	in = evbuffer_new();
	timer_ev = evtimer_new(base, timer_cb, NULL);
	in_ev = event_new(base, 0, EV_READ | EV_PERSIST, in_cb, NULL);
	event_add(in_ev, NULL);
	event_base_dispatch(base);
	store_conn_free(conn);
	store_free(st);
	event_free(in_ev);
	event_free(timer_ev);
	evbuffer_free(in);
	event_base_free(base);
	return 0;
}
