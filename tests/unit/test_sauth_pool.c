/*
 * test_sauth_pool.c: the sender authentication pool (engine/sauth_pool.c)
 * against a resolver that never answers (a UDP socket on loopback whose
 * queries only the test's loop reads): every check ends as temperror
 * within its timeouts, the results arrive on the event loop's thread, the
 * loop runs while the queries are outstanding (no stall), a full queue
 * refuses at once, and a cancelled request never calls back.  And a
 * loop's context (sauth_pool_ctx) runs a job itself only from the pool's
 * answer cache (sauth_job_try): a miss sends no query and gives the job
 * back untouched; once a pool thread has the answers, the same job runs
 * with no query at all.  The sockets are loopback only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "sbuf.h"
#include "engine/sauth_pool.h"

#define NREQ	8

static struct event_base *base;
static pthread_t loop_thread;
static int delivered, expected, wrong_thread, not_temperror,
	    cancelled_called;
static int queries_before_result;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The dead resolver's socket is read by the loop itself: each query a pool
 * thread sends (and that is never answered) is seen here while that thread
 * waits for it, before any result has come back: a loop that did the DNS
 * itself would only read them after its first result.  No clock.
 */
static void
query_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[512];

	(void)what;
	(void)arg;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		if (delivered == 0)
			queries_before_result++;
}

static void
done_cb(void *arg, const struct sauth_results *r)
{
	if (arg != NULL)
		cancelled_called++;
	if (!pthread_equal(pthread_self(), loop_thread))
		wrong_thread++;
	if (r->spf != SAUTH_TEMPERROR || r->dmarc != SAUTH_TEMPERROR)
		not_temperror++;
	delivered++;
	if (delivered >= expected)
		event_base_loopbreak(base);
}

/* A UDP socket on 127.0.0.1, its "127.0.0.1:PORT" in resolver. */
static int
loopback_udp(char *resolver, size_t sz)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(resolver, sz, "127.0.0.1:%u", ntohs(sin.sin_port));
	return fd;
}

static void
test_pool_dead_resolver(void **state)
{
	static const char msg[] = "From: a@x.example\r\nSubject: t\r\n\r\nb\r\n";
	struct sauth_cfg cfg = { .timeout_ms = 1000, .spf = 1, .dkim = 1,
	    .dmarc = 1 };
	struct sauth_pool *pool;
	struct sauth_req *rq[NREQ], *last = NULL;
	struct event *rd;
	char resolver[64], err[128];
	int fd, i, accepted = 0, refused = 0;
	double t0;

	(void)state;
	fd = loopback_udp(resolver, sizeof(resolver));
	cfg.resolver = resolver;

	assert_int_equal(evthread_use_pthreads(), 0);
	base = event_base_new();
	loop_thread = pthread_self();
	pool = sauth_pool_new(&cfg, 1, 2, err, sizeof(err));
	if (pool == NULL)
		fail_msg("%s", err);

	/* One running, two queued at most: the rest is refused at once. */
	for (i = 0; i < NREQ; i++) {
		rq[i] = sauth_pool_check(pool, base, "192.0.2.1", NULL,
		    "a@x.example", msg, sizeof(msg) - 1, done_cb, NULL);
		if (rq[i] != NULL) {
			accepted++;
			last = rq[i];
		} else
			refused++;
	}
	assert_true(accepted >= 2 && accepted <= 3);
	assert_int_equal(accepted + refused, NREQ);
	/* The last accepted one is still queued behind the running one:
	 * cancel it; its callback must never run. */
	sauth_cancel(last);
	expected = accepted - 1;

	rd = event_new(base, fd, EV_READ | EV_PERSIST, query_cb, NULL);
	event_add(rd, NULL);
	t0 = now();
	/* A bound on the test itself: break out after 20 s whatever
	 * happens, and fail below. */
	event_base_loopexit(base, &(struct timeval){ 20, 0 });
	event_base_dispatch(base);
	/* SPF and DMARC queries of 1 s each, per check, one at a time. */
	assert_true(now() - t0 < 15);
	assert_int_equal(delivered, accepted - 1);
	assert_int_equal(wrong_thread, 0);
	assert_int_equal(not_temperror, 0);
	assert_int_equal(cancelled_called, 0);
	/* The loop ran while the pool's first queries were outstanding. */
	assert_true(queries_before_result >= 1);

	event_free(rd);
	sauth_pool_free(pool);
	event_base_free(base);
	close(fd);
}

/* A resolver that answers every query NXDOMAIN, counting them. */
static int nx_fd, nx_stop, nx_queries;

static void *
nx_serve(void *arg)
{
	unsigned char q[512];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	size_t i;

	(void)arg;
	while (!__atomic_load_n(&nx_stop, __ATOMIC_SEQ_CST)) {
		fl = sizeof(from);
		n = recvfrom(nx_fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &fl);
		if (n < 12)
			continue;
		__atomic_add_fetch(&nx_queries, 1, __ATOMIC_SEQ_CST);
		/* The question only: header, QNAME, QTYPE, QCLASS. */
		for (i = 12; i < (size_t)n && q[i] != 0; i += q[i] + 1)
			;
		i += 5;
		if (i > (size_t)n)
			continue;
		q[2] = 0x80 | (q[2] & 0x79);	/* QR, opcode, RD */
		q[3] = 0x83;			/* RA, NXDOMAIN */
		memset(q + 6, 0, 6);		/* no AN, NS, AR */
		(void)sendto(nx_fd, q, i, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void
job_cb(void *arg, struct sauth_job *j)
{
	*(int *)arg = j->res.spf;
	event_base_loopbreak(base);
}

static void
test_loop_runs_warm_jobs_only(void **state)
{
	struct timeval tv = { 0, 100000 };
	struct sauth_cfg cfg = { .timeout_ms = 1000, .spf = 1, .dkim = 1,
	    .dmarc = 1 };
	struct sauth_pool *pool;
	struct sauth_ctx *loopc;
	struct sauth_job *j;
	pthread_t th;
	char resolver[64], err[128];
	int spf = -1, q0;
	double t0;

	(void)state;
	nx_fd = loopback_udp(resolver, sizeof(resolver));
	assert_int_equal(setsockopt(nx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	cfg.resolver = resolver;
	assert_int_equal(pthread_create(&th, NULL, nx_serve, NULL), 0);
	base = event_base_new();
	pool = sauth_pool_new(&cfg, 1, 4, err, sizeof(err));
	if (pool == NULL)
		fail_msg("%s", err);
	loopc = sauth_pool_ctx(pool, err, sizeof(err));
	if (loopc == NULL)
		fail_msg("%s", err);

	/* Cold: no query, no wait, the job as it was. */
	j = sauth_job_new(SAUTH_DO_SPF);
	sauth_job_set(j, "192.0.2.1", NULL, "a@x.example", NULL, 0);
	t0 = now();
	assert_int_equal(sauth_job_try(loopc, j), -1);
	assert_true(now() - t0 < 0.1);
	assert_int_equal(__atomic_load_n(&nx_queries, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(j->res.spf, SAUTH_SKIPPED);
	assert_int_equal(j->facts->len, 0);

	/* The pool asks DNS (x.example has no record: SPF none)... */
	assert_non_null(sauth_pool_submit(pool, base, j, job_cb, &spf));
	event_base_loopexit(base, &(struct timeval){ 10, 0 });
	event_base_dispatch(base);
	assert_int_equal(spf, SAUTH_NONE);
	q0 = __atomic_load_n(&nx_queries, __ATOMIC_SEQ_CST);
	assert_true(q0 >= 1);

	/* ... and then the loop's context has the answers: no query. */
	j = sauth_job_new(SAUTH_DO_SPF);
	sauth_job_set(j, "192.0.2.1", NULL, "a@x.example", NULL, 0);
	assert_int_equal(sauth_job_try(loopc, j), 0);
	assert_int_equal(j->res.spf, SAUTH_NONE);
	assert_int_equal(__atomic_load_n(&nx_queries, __ATOMIC_SEQ_CST), q0);
	sauth_job_free(j);

	/* The loop's context may outlive the pool (shared cache). */
	sauth_pool_free(pool);
	sauth_ctx_free(loopc);
	__atomic_store_n(&nx_stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	event_base_free(base);
	close(nx_fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_dead_resolver),
		cmocka_unit_test(test_loop_runs_warm_jobs_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
