/*
 * test_greylist.c: scoring/greylist.c: client parts (CIDR v4/v6, FCrDNS
 * names), sender and recipient normalisation, keys, and every transition
 * of the policy with an injected clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "greylist.h"

static const unsigned char v4[4] = { 192, 0, 2, 77 };
static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2,
    0xaa, 0xbb, 0, 0, 0, 0, 0x12, 0x34 };

static void
check_net(const unsigned char *a, int is_v6, int prefix, const char *want)
{
	char out[64];

	assert_int_equal(grey_client_net(out, sizeof(out), a, is_v6, prefix),
	    0);
	assert_string_equal(out, want);
}

static void
test_client_net(void **state)
{
	static const unsigned char zero6[16] = { 0 };
	static const unsigned char mid6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 1, 0, 0, 0, 0, 0, 1 };
	char out[64];

	(void)state;
	check_net(v4, 0, 24, "192.0.2.0/24");
	check_net(v4, 0, 32, "192.0.2.77/32");
	check_net(v4, 0, 16, "192.0.0.0/16");
	check_net(v4, 0, 28, "192.0.2.64/28");
	check_net(v4, 0, 0, "0.0.0.0/0");
	check_net(v6, 1, 64, "2001:db8:1:2::/64");
	check_net(v6, 1, 48, "2001:db8:1::/48");
	check_net(v6, 1, 128, "2001:db8:1:2:aabb::1234/128");
	check_net(v6, 1, 56, "2001:db8:1::/56");
	check_net(v6, 1, 60, "2001:db8:1::/60");
	check_net(zero6, 1, 64, "::/64");
	/* RFC 5952 4.2.3: the longest run is compressed; the first of ties. */
	check_net(mid6, 1, 128, "2001:db8::1:0:0:1/128");
	assert_int_equal(grey_client_net(out, sizeof(out), v4, 0, 33), -1);
	assert_int_equal(grey_client_net(out, sizeof(out), v4, 0, -1), -1);
	assert_int_equal(grey_client_net(out, sizeof(out), v6, 1, 129), -1);
	assert_int_equal(grey_client_net(out, 12, v4, 0, 24), -1);
	assert_int_equal(grey_client_net(out, 13, v4, 0, 24), 0);
}

static void
check_name(const char *name, const unsigned char *a, int is_v6,
    const char *want)
{
	char out[GREY_CLIENT_MAX + 1];
	int rc = grey_client_name(out, sizeof(out), name, a, is_v6);

	if (want == NULL) {
		if (rc != -1)
			fail_msg("%s: accepted as %s", name, out);
		return;
	}
	if (rc != 0)
		fail_msg("%s: refused", name);
	assert_string_equal(out, want);
}

static void
test_client_name(void **state)
{
	static const unsigned char ses[4] = { 54, 240, 8, 30 };
	static const unsigned char g[4] = { 209, 85, 221, 41 };
	char out[8];

	(void)state;
	check_name("o1.sg.example", v4, 0, "sg.example");
	check_name("O2.SG.Example.", v4, 0, "sg.example");
	check_name("a8-30.smtp-out.amazonses.com", ses, 0,
	    "smtp-out.amazonses.com");
	check_name("mail-wr1-f41.google.com", g, 0, "google.com");
	check_name("mail-db8eur05on2061.outbound.protection.outlook.com", v6,
	    1, "outbound.protection.outlook.com");
	/* Never one label, never a ccTLD second level. */
	check_name("example.com", v4, 0, NULL);
	check_name("mx.example.co.uk", v4, 0, "example.co.uk");
	check_name("example.co.uk", v4, 0, NULL);
	check_name("host.com.au", v4, 0, NULL);
	check_name("host.ne.jp", v4, 0, NULL);
	check_name("host.shop.uk", v4, 0, "shop.uk");
	check_name("host.co.example", v4, 0, "co.example");
	/* Generic (dynamic pool) names fall back to the network. */
	check_name("192-0-2-77.dyn.isp.example", v4, 0, NULL);
	check_name("host-0-2-77.isp.example", v4, 0, NULL);
	check_name("dsl-2-77.isp.example", v4, 0, "isp.example");
	check_name("77.2.0.192.in-addr.isp.example", v4, 0, NULL);
	check_name("c0-2-4d.isp.example", v4, 0, "isp.example");
	check_name("host77.isp.example", v4, 0, "isp.example");
	check_name("2001-db8-1-2-aabb-0-0-1234.v6.isp.example", v6, 1, NULL);
	check_name("x20010db80001000200.v6.isp.example", v6, 1, NULL);
	check_name("mx1.v6.isp.example", v6, 1, "v6.isp.example");
	/* Malformed. */
	check_name("", v4, 0, NULL);
	check_name(".", v4, 0, NULL);
	check_name("localhost", v4, 0, NULL);
	check_name(".example.com", v4, 0, NULL);
	check_name("a..example.com", v4, 0, NULL);
	check_name("a.example.com..", v4, 0, NULL);
	check_name("a b.example.com", v4, 0, NULL);
	assert_int_equal(grey_client_name(out, sizeof(out), "o1.sg.example",
	    v4, 0), -1);
}

static void
check_sender(const char *in, const char *want)
{
	char out[GREY_ADDR_MAX + 1];

	grey_normalize_sender(out, in);
	if (strcmp(out, want) != 0)
		fail_msg("%s: got %s, want %s", in, out, want);
}

static void
test_sender(void **state)
{
	char big[600], out[GREY_ADDR_MAX + 1];

	(void)state;
	check_sender("", "<>");
	check_sender("Alice@Example.ORG", "alice@example.org");
	/* "+tag" (subaddress and VERP): everything after the first '+'. */
	check_sender("alice+news@example.org", "alice@example.org");
	check_sender("bounces+12345-abcd-bob=example.net@sendgrid.example",
	    "bounces@sendgrid.example");
	check_sender("+alice@example.org", "+alice@example.org");
	/* SRS0 and SRS1 (all three separators). */
	check_sender("SRS0=HHH=TT=orig.example=alice@fwd.example",
	    "alice@orig.example");
	check_sender("srs0+HHH=TT=orig.example=alice@fwd.example",
	    "alice@orig.example");
	check_sender("SRS0-HHH=TT=orig.example=a=b@fwd.example",
	    "a=b@orig.example");
	check_sender("SRS1=HHH=fwd1.example==HHH=TT=orig.example=alice@"
	    "fwd2.example", "alice@orig.example");
	check_sender("SRS1=HHH=fwd1.example=+HHH=TT=orig.example=alice@"
	    "fwd2.example", "alice@orig.example");
	/* Malformed SRS stays as it is (lower-cased, '+' rule applies). */
	check_sender("SRS0=HHH=TT=orig.example@fwd.example",
	    "srs0=hhh=tt=orig.example@fwd.example");
	check_sender("SRS0=HHH=TT=orig.example=@fwd.example",
	    "srs0=hhh=tt=orig.example=@fwd.example");
	check_sender("SRS1=HHH=fwd1.example=HHH=TT=orig.example=a@f.example",
	    "srs1=hhh=fwd1.example=hhh=tt=orig.example=a@f.example");
	check_sender("SRS2=x=y=z=w@f.example", "srs2=x=y=z=w@f.example");
	check_sender("SRS0==TT=d=l@f.example", "srs0==tt=d=l@f.example");
	/* BATV. */
	check_sender("prvs=1234abcdef=bob@example.net", "bob@example.net");
	check_sender("PRVS=0123456789=Bob+x@Example.NET", "bob@example.net");
	check_sender("msprvs1=17592B4H0G_gcq=bob@example.net",
	    "bob@example.net");
	check_sender("btv1==5b9a6f6d4a5==bob@example.net", "bob@example.net");
	check_sender("prvs=bob@example.net", "prvs=bob@example.net");
	check_sender("prvs==bob@example.net", "prvs==bob@example.net");
	check_sender("prvs=tag=@example.net", "prvs=tag=@example.net");
	/* SRS around BATV. */
	check_sender("SRS0=h=tt=orig.example=prvs=0123456789=carol@f.example",
	    "carol@orig.example");
	/* VERP and bounce tokens. */
	check_sender("bounce-123-456@lists.example", "bounce-#-#@lists.example");
	check_sender("0100017f2a3b4c5d-6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b-"
	    "000000@amazonses.example", "#-#-#-#-#-#-#@amazonses.example");
	check_sender("bounce-md_31050260.5d5b8a8e.v1-9a7f6e9d3b@mandrill.example",
	    "bounce-md_#.#.v1-#@mandrill.example");
	/* Not over-normalised: one token, names with digits, short hex. */
	check_sender("12345@qq.example", "12345@qq.example");
	check_sender("john1985@example.org", "john1985@example.org");
	check_sender("john.smith@example.org", "john.smith@example.org");
	check_sender("john-smith@example.org", "john-smith@example.org");
	check_sender("cafe.bad@example.org", "cafe.bad@example.org");
	check_sender("info.deadbeefcafe@example.org",
	    "info.deadbeefcafe@example.org");
	check_sender("news.2024@example.org", "news.#@example.org");
	/* Quoted local parts: only lower-cased; spaces become '_'. */
	check_sender("\"John Doe+x\"@Example.org", "\"john_doe+x\"@example.org");
	/* No domain. */
	check_sender("Postmaster", "postmaster");
	check_sender("x\ty\x7f@Example.org", "x_y_@example.org");
	/* Truncated to GREY_ADDR_MAX. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	grey_normalize_sender(out, big);
	assert_int_equal(strlen(out), GREY_ADDR_MAX);
}

static void
test_rcpt(void **state)
{
	char out[GREY_ADDR_MAX + 1];

	(void)state;
	grey_normalize_rcpt(out, "Bob+Tag@Example.NET");
	assert_string_equal(out, "bob+tag@example.net");
	grey_normalize_rcpt(out, "a b\r@x");
	assert_string_equal(out, "a_b_@x");
}

static void
test_triplet_and_keys(void **state)
{
	struct grey_params p;
	struct grey_triplet t, u;
	char key[GREY_KEY_MAX], prefix[GREY_PREFIX_MAX + 2];

	(void)state;
	grey_params_default(&p);
	assert_int_equal(grey_triplet_make(&t, &p, v4, 0, NULL,
	    "Alice+x@Example.org", "Bob@Example.NET"), 0);
	assert_string_equal(t.client, "192.0.2.0/24");
	assert_string_equal(t.sender, "alice@example.org");
	assert_string_equal(t.rcpt, "bob@example.net");
	assert_int_equal(grey_key_triplet(key, sizeof(key), "moat:", &t), 53);
	assert_string_equal(key,
	    "moat:t:192.0.2.0/24 alice@example.org bob@example.net");
	assert_int_equal(grey_key_split(&u, key + 5), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	assert_int_equal(grey_key_client(key, sizeof(key), "moat:", 'a',
	    t.client), 19);
	assert_string_equal(key, "moat:a:192.0.2.0/24");
	assert_int_equal(grey_key_client(key, 10, "moat:", 'a', t.client), -1);
	assert_int_equal(grey_key_triplet(key, 10, "", &t), -1);
	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	assert_int_equal(grey_key_triplet(key, sizeof(key), prefix, &t), -1);
	assert_int_equal(grey_key_client(key, sizeof(key), prefix, 'w', "x"),
	    -1);

	/* Null sender. */
	assert_int_equal(grey_triplet_make(&t, &p, v6, 1, NULL, "",
	    "bob@example.net"), 0);
	assert_string_equal(t.client, "2001:db8:1:2::/64");
	assert_string_equal(t.sender, "<>");
	grey_key_triplet(key, sizeof(key), "", &t);
	assert_string_equal(key, "t:2001:db8:1:2::/64 <> bob@example.net");

	/* FCrDNS: used when on and sound, else the network. */
	assert_int_equal(grey_triplet_make(&t, &p, v4, 0, "o1.sg.example",
	    "a@b", "c@d"), 0);
	assert_string_equal(t.client, "sg.example");
	assert_int_equal(grey_triplet_make(&t, &p, v4, 0, "example.com",
	    "a@b", "c@d"), 0);
	assert_string_equal(t.client, "192.0.2.0/24");
	p.use_fcrdns = 0;
	assert_int_equal(grey_triplet_make(&t, &p, v4, 0, "o1.sg.example",
	    "a@b", "c@d"), 0);
	assert_string_equal(t.client, "192.0.2.0/24");
	p.v4_prefix = 32;
	assert_int_equal(grey_triplet_make(&t, &p, v4, 0, NULL, "a@b",
	    "c@d"), 0);
	assert_string_equal(t.client, "192.0.2.77/32");
	p.v4_prefix = 40;
	assert_int_equal(grey_triplet_make(&t, &p, v4, 0, NULL, "a@b",
	    "c@d"), -1);

	/* Split refuses what is not a triplet key. */
	assert_int_equal(grey_key_split(&u, "a:192.0.2.0/24"), -1);
	assert_int_equal(grey_key_split(&u, "t:x y"), -1);
	assert_int_equal(grey_key_split(&u, "t:x y z w"), -1);
	assert_int_equal(grey_key_split(&u, "t: y z"), -1);
	assert_int_equal(grey_key_split(&u, "t:x  z"), -1);
	assert_int_equal(grey_key_split(&u, "t:x y "), -1);
}

static void
test_params(void **state)
{
	struct grey_params p, q;
	char err[80];

	(void)state;
	grey_params_default(&p);
	assert_int_equal(p.delay_ms, 300000);
	assert_int_equal(p.retry_window_ms, 172800000);
	assert_int_equal(p.pass_lifetime_ms, 35LL * 86400000);
	assert_int_equal(p.awl_passes, 5);
	assert_int_equal(grey_params_check(&p, err, sizeof(err)), 0);
	q = p; q.v4_prefix = 7;
	assert_int_equal(grey_params_check(&q, err, sizeof(err)), -1);
	assert_string_equal(err, "IPv4 prefix must be 8..32");
	q = p; q.v6_prefix = 129;
	assert_int_equal(grey_params_check(&q, err, sizeof(err)), -1);
	q = p; q.delay_ms = -1;
	assert_int_equal(grey_params_check(&q, err, sizeof(err)), -1);
	q = p; q.retry_window_ms = q.delay_ms;
	assert_int_equal(grey_params_check(&q, err, sizeof(err)), -1);
	assert_string_equal(err, "retry window must be longer than the delay");
	q = p; q.pass_lifetime_ms = 0;
	assert_int_equal(grey_params_check(&q, err, sizeof(err)), -1);
	q = p; q.awl_passes = -1;
	assert_int_equal(grey_params_check(&q, err, sizeof(err)), -1);
	q = p; q.awl_interval_ms = -1;
	assert_int_equal(grey_params_check(&q, err, 0), -1);
}

/* The policy, as a store would drive it, with an injected clock. */
struct sim {
	struct grey_params p;
	struct grey_record rec;
	int64_t	rec_exp;
	int	has_rec;
	struct grey_awl awl;
	int64_t	awl_exp;
	int	has_awl;
};

static struct grey_outcome
sim_check(struct sim *s, int64_t now)
{
	struct grey_outcome o;

	if (s->has_rec && now >= s->rec_exp)
		s->has_rec = 0;
	if (s->has_awl && now >= s->awl_exp)
		s->has_awl = 0;
	grey_decide(&s->p, now, s->has_rec ? &s->rec : NULL,
	    s->has_awl ? &s->awl : NULL, &o);
	if (o.rec_write) {
		s->rec = o.rec;
		s->rec_exp = now + o.rec_ttl_ms;
		s->has_rec = 1;
	}
	if (o.awl_write) {
		s->awl = o.awl;
		s->awl_exp = now + o.awl_ttl_ms;
		s->has_awl = 1;
	}
	return o;
}

#define T0	1764000000000LL
#define S	1000LL
#define DAY	(86400 * S)

static void
test_policy_transitions(void **state)
{
	struct sim s;
	struct grey_outcome o;

	(void)state;
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	s.p.awl_passes = 0;

	o = sim_check(&s, T0);				/* new */
	assert_int_equal(o.decision, GREY_NEW);
	assert_int_equal(o.wait_ms, 300 * S);
	assert_int_equal(grey_wait_seconds(o.wait_ms), 300);
	assert_int_equal(o.rec_ttl_ms, 2 * DAY);
	assert_int_equal(o.rec.first_seen, T0);
	assert_int_equal(o.rec.passed_until, 0);
	assert_int_equal(o.awl_write, 0);

	o = sim_check(&s, T0 + 60 * S + 1);		/* pending */
	assert_int_equal(o.decision, GREY_PENDING);
	assert_int_equal(o.wait_ms, 240 * S - 1);
	assert_int_equal(grey_wait_seconds(o.wait_ms), 240);
	assert_int_equal(o.rec.first_seen, T0);
	assert_int_equal(o.rec.last_seen, T0 + 60 * S + 1);
	assert_int_equal(o.rec_ttl_ms, 2 * DAY - 60 * S - 1);

	o = sim_check(&s, T0 + 300 * S - 1);		/* 1 ms early */
	assert_int_equal(o.decision, GREY_PENDING);
	assert_int_equal(grey_wait_seconds(o.wait_ms), 1);

	o = sim_check(&s, T0 + 300 * S);		/* exactly on time */
	assert_int_equal(o.decision, GREY_PASSED);
	assert_int_equal(o.wait_ms, 0);
	assert_int_equal(o.rec.pass_count, 1);
	assert_int_equal(o.rec.first_seen, T0);
	assert_int_equal(o.rec.passed_until, T0 + 300 * S + 35 * DAY);
	assert_int_equal(o.rec_ttl_ms, 35 * DAY);

	o = sim_check(&s, T0 + 10 * DAY);		/* reuse refreshes */
	assert_int_equal(o.decision, GREY_PASSED);
	assert_int_equal(o.rec.pass_count, 2);
	assert_int_equal(o.rec.passed_until, T0 + 45 * DAY);

	o = sim_check(&s, T0 + 45 * DAY - 1);		/* still passed */
	assert_int_equal(o.decision, GREY_PASSED);
	assert_int_equal(o.rec.pass_count, 3);

	/* A passed record past passed_until starts over (the store's TTL
	 * would normally have dropped it; both paths agree). */
	s.rec_exp = T0 + 1000 * DAY;
	o = sim_check(&s, T0 + 80 * DAY);
	assert_int_equal(o.decision, GREY_NEW);
	assert_int_equal(o.rec.pass_count, 0);
	assert_int_equal(o.rec.first_seen, T0 + 80 * DAY);
}

static void
test_policy_retry_window(void **state)
{
	struct sim s;
	struct grey_outcome o;

	(void)state;
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	o = sim_check(&s, T0);
	assert_int_equal(o.decision, GREY_NEW);
	/* A retry inside the window, at its last millisecond, passes. */
	s.rec_exp = T0 + 100 * DAY;	/* look past the TTL: record kept */
	o = sim_check(&s, T0 + 2 * DAY - 1);
	assert_int_equal(o.decision, GREY_PASSED);

	/* A retry past the window (record still there) is new again. */
	memset(&s.rec, 0, sizeof(s.rec));
	s.rec.first_seen = s.rec.last_seen = T0;
	s.rec_exp = T0 + 100 * DAY;
	o = sim_check(&s, T0 + 2 * DAY);
	assert_int_equal(o.decision, GREY_NEW);
	assert_int_equal(o.rec.first_seen, T0 + 2 * DAY);

	/* The TTL drops a pending record at the window's end. */
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	(void)sim_check(&s, T0);
	o = sim_check(&s, T0 + DAY);
	assert_int_equal(o.decision, GREY_PASSED);	/* passes... */
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	(void)sim_check(&s, T0);
	(void)sim_check(&s, T0 + 10 * S);		/* pending */
	assert_int_equal(s.rec_exp, T0 + 2 * DAY);	/* not extended */
	o = sim_check(&s, T0 + 2 * DAY);
	assert_int_equal(o.decision, GREY_NEW);

	/* Clock stepped back: wait never exceeds the delay, TTL the window. */
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	(void)sim_check(&s, T0);
	o = sim_check(&s, T0 - 3600 * S);
	assert_int_equal(o.decision, GREY_PENDING);
	assert_int_equal(o.wait_ms, 300 * S);
	assert_int_equal(o.rec_ttl_ms, 2 * DAY);

	/* Zero delay: the first retry passes at once. */
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	s.p.delay_ms = 0;
	o = sim_check(&s, T0);
	assert_int_equal(o.decision, GREY_NEW);
	assert_int_equal(o.wait_ms, 0);
	o = sim_check(&s, T0);
	assert_int_equal(o.decision, GREY_PASSED);
}

static void
test_policy_awl(void **state)
{
	struct sim s;
	struct grey_outcome o;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	s.p.awl_passes = 3;
	(void)sim_check(&s, T0);
	o = sim_check(&s, T0 + 300 * S);		/* first pass counts */
	assert_int_equal(o.decision, GREY_PASSED);
	assert_int_equal(o.awl_write, 1);
	assert_int_equal(o.awl.count, 1);
	assert_int_equal(o.awl.last_counted, T0 + 300 * S);
	assert_int_equal(o.awl_ttl_ms, 35 * DAY);
	assert_int_equal(o.awl_now, 0);
	/* Passes within the hour do not count. */
	for (i = 1; i <= 10; i++) {
		o = sim_check(&s, T0 + 300 * S + i * 60 * S);
		assert_int_equal(o.decision, GREY_PASSED);
		assert_int_equal(o.awl_write, 0);
		assert_int_equal(o.awl.count, 1);
	}
	o = sim_check(&s, T0 + 300 * S + 3600 * S);	/* an hour later */
	assert_int_equal(o.awl.count, 2);
	assert_int_equal(o.awl_now, 0);
	o = sim_check(&s, T0 + 300 * S + 7200 * S);
	assert_int_equal(o.decision, GREY_PASSED);
	assert_int_equal(o.awl.count, 3);
	assert_int_equal(o.awl_now, 1);
	/* Now every triplet of the client part is whitelisted. */
	memset(&s.rec, 0, sizeof(s.rec));
	s.has_rec = 0;
	o = sim_check(&s, T0 + 3 * DAY);
	assert_int_equal(o.decision, GREY_WHITELISTED);
	assert_int_equal(o.rec_write, 0);
	assert_int_equal(o.awl_write, 1);
	assert_int_equal(o.awl_ttl_ms, 35 * DAY);
	assert_int_equal(o.awl.count, 3);
	assert_int_equal(s.has_rec, 0);
	/* Expired AWL: back to greylisting. */
	o = sim_check(&s, T0 + 3 * DAY + 35 * DAY);
	assert_int_equal(o.decision, GREY_NEW);
	/* AWL off: a full record is ignored. */
	s.p.awl_passes = 0;
	s.awl.count = 100;
	s.has_awl = 1;
	s.awl_exp = T0 + 1000 * DAY;
	o = sim_check(&s, T0 + 38 * DAY + 60 * S);
	assert_int_equal(o.decision, GREY_PENDING);
	assert_int_equal(o.awl_write, 0);
	/* Interval 0: every pass counts. */
	memset(&s, 0, sizeof(s));
	grey_params_default(&s.p);
	s.p.awl_interval_ms = 0;
	s.p.delay_ms = 0;
	(void)sim_check(&s, T0);
	for (i = 1; i <= 5; i++) {
		o = sim_check(&s, T0);
		assert_int_equal(o.decision, GREY_PASSED);
		assert_int_equal(o.awl.count, i);
	}
	assert_int_equal(o.awl_now, 1);
	o = sim_check(&s, T0);
	assert_int_equal(o.decision, GREY_WHITELISTED);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(grey_decision_name(GREY_NEW), "new");
	assert_string_equal(grey_decision_name(GREY_PENDING), "pending");
	assert_string_equal(grey_decision_name(GREY_PASSED), "passed");
	assert_string_equal(grey_decision_name(GREY_WHITELISTED),
	    "whitelisted");
	assert_string_equal(grey_decision_name((enum grey_decision)9), "?");
	assert_int_equal(grey_wait_seconds(0), 0);
	assert_int_equal(grey_wait_seconds(-5), 0);
	assert_int_equal(grey_wait_seconds(1), 1);
	assert_int_equal(grey_wait_seconds(1000), 1);
	assert_int_equal(grey_wait_seconds(1001), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_net),
		cmocka_unit_test(test_client_name),
		cmocka_unit_test(test_sender),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_triplet_and_keys),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_policy_transitions),
		cmocka_unit_test(test_policy_retry_window),
		cmocka_unit_test(test_policy_awl),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
