/*
 * test_sauth_pool.c: the sender authentication pool (engine/sauth_pool.c)
 * against a resolver that never answers (a UDP socket on loopback whose
 * queries only the test's loop reads): every check ends as temperror
 * within its timeouts, the results arrive on the event loop's thread, the
 * loop runs while the queries are outstanding (no stall), a full queue
 * refuses at once, and a cancelled
 * request never calls back.  The one socket is loopback only.
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

static void
test_pool_dead_resolver(void **state)
{
	static const char msg[] = "From: a@x.example\r\nSubject: t\r\n\r\nb\r\n";
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct sauth_cfg cfg = { .timeout_ms = 1000, .spf = 1, .dkim = 1,
	    .dmarc = 1 };
	struct sauth_pool *pool;
	struct sauth_req *rq[NREQ], *last = NULL;
	struct event *rd;
	char resolver[64], err[128];
	int fd, i, accepted = 0, refused = 0;
	double t0;

	(void)state;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(resolver, sizeof(resolver), "127.0.0.1:%u",
	    ntohs(sin.sin_port));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_dead_resolver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
