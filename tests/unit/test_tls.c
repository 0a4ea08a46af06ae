/*
 * test_tls.c: proxy/tls.c without sockets.  Contexts from a key and a
 * self-signed certificate made here with the OpenSSL API; every load
 * error; the reload swap keeping the old context; and whole handshakes
 * between tls_server_wrap and tls_client_wrap over a libevent
 * bufferevent_pair, which shows in memory what the integration test shows
 * over TCP: plaintext buffered before STARTTLS is discarded and never
 * read after it, buffered bytes kept for implicit TLS reach OpenSSL (and
 * a handshake failure reaches the callback), verification by CA and name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "tls.h"

static char dir[] = "/tmp/test_tls.XXXXXX";
static char cert1[64], key1[64], cert2[64], key2[64], junk[64];

static void
make_cert(const char *certpath, const char *keypath, const char *cn)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *fp;

	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	{
		X509V3_CTX v3;
		X509_EXTENSION *ext;
		char san[128];

		snprintf(san, sizeof(san), "DNS:%s", cn);
		X509V3_set_ctx_nodb(&v3);
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		    san);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ext = X509V3_EXT_conf_nid(NULL, &v3,
		    NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	fp = fopen(certpath, "w");
	assert_non_null(fp);
	PEM_write_X509(fp, x);
	fclose(fp);
	fp = fopen(keypath, "w");
	assert_non_null(fp);
	PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static int
setup(void **state)
{
	FILE *fp;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert1, sizeof(cert1), "%s/cert1.pem", dir);
	snprintf(key1, sizeof(key1), "%s/key1.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/cert2.pem", dir);
	snprintf(key2, sizeof(key2), "%s/key2.pem", dir);
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	make_cert(cert1, key1, "localhost");
	make_cert(cert2, key2, "mx.example");
	if ((fp = fopen(junk, "w")) == NULL)
		return -1;
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
	    "-----END CERTIFICATE-----\n", fp);
	fclose(fp);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(cert1);
	unlink(key1);
	unlink(cert2);
	unlink(key2);
	unlink(junk);
	rmdir(dir);
	return 0;
}

static struct tls_server *
server(const char *cert, const char *key, const char *minv,
    const char *ciphers, const char *suites, char *err, size_t errlen)
{
	struct tls_server_params p;

	memset(&p, 0, sizeof(p));
	p.cert_file = cert;
	p.key_file = key;
	p.min_version = minv;
	p.ciphers = ciphers;
	p.ciphersuites = suites;
	return tls_server_new(&p, err, errlen);
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(tls_version_parse("TLSv1"), TLS1_VERSION);
	assert_int_equal(tls_version_parse("TLSv1.0"), TLS1_VERSION);
	assert_int_equal(tls_version_parse("TLSv1.1"), TLS1_1_VERSION);
	assert_int_equal(tls_version_parse("tlsv1.2"), TLS1_2_VERSION);
	assert_int_equal(tls_version_parse("TLSv1.3"), TLS1_3_VERSION);
	assert_int_equal(tls_version_parse("SSLv3"), -1);
	assert_int_equal(tls_version_parse("TLSv1.4"), -1);
	assert_int_equal(tls_version_parse(""), -1);
	assert_int_equal(tls_backend_mode_parse("off"), TLS_BACKEND_OFF);
	assert_int_equal(tls_backend_mode_parse("opportunistic"),
	    TLS_BACKEND_OPPORTUNISTIC);
	assert_int_equal(tls_backend_mode_parse("required"),
	    TLS_BACKEND_REQUIRED);
	assert_int_equal(tls_backend_mode_parse("Required"), -1);
	assert_int_equal(tls_backend_mode_parse("on"), -1);
}

static void
test_server_errors(void **state)
{
	char err[512], want[512];
	struct tls_server *s;

	(void)state;
	assert_null(server(NULL, key1, NULL, NULL, NULL, err, sizeof(err)));
	assert_string_equal(err, "tls needs both cert and key");
	assert_null(server(cert1, NULL, NULL, NULL, NULL, err, sizeof(err)));
	assert_string_equal(err, "tls needs both cert and key");

	assert_null(server("/nonexistent/c.pem", key1, NULL, NULL, NULL, err,
	    sizeof(err)));
	assert_int_equal(strncmp(err, "cert /nonexistent/c.pem: ", 25), 0);
	assert_null(server(junk, key1, NULL, NULL, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "cert %s: ", junk);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);
	assert_null(server(cert1, "/nonexistent/k.pem", NULL, NULL, NULL,
	    err, sizeof(err)));
	assert_int_equal(strncmp(err, "key /nonexistent/k.pem: ", 24), 0);
	/* The key of another certificate. */
	assert_null(server(cert1, key2, NULL, NULL, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "key %s: key values mismatch", key2);
	assert_string_equal(err, want);
	/* A certificate given as key. */
	assert_null(server(cert1, cert1, NULL, NULL, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "key %s: ", cert1);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);

	assert_null(server(cert1, key1, "SSLv3", NULL, NULL, err,
	    sizeof(err)));
	assert_string_equal(err, "tls_min_version SSLv3: expected TLSv1, "
	    "TLSv1.1, TLSv1.2 or TLSv1.3");
	assert_null(server(cert1, key1, NULL, "NO-SUCH-CIPHER", NULL, err,
	    sizeof(err)));
	assert_int_equal(strncmp(err, "tls_ciphers NO-SUCH-CIPHER: ", 28), 0);
	assert_null(server(cert1, key1, NULL, NULL, "TLS_NOPE", err,
	    sizeof(err)));
	assert_int_equal(strncmp(err, "tls_ciphersuites TLS_NOPE: ", 27), 0);

	s = server(cert1, key1, "TLSv1.3", TLS_DEFAULT_CIPHERS,
	    "TLS_AES_128_GCM_SHA256", err, sizeof(err));
	assert_non_null(s);
	tls_server_describe(s, want, sizeof(want));
	assert_non_null(strstr(want, "subject=/CN=localhost not_after="));
	assert_null(strstr(want, "expired"));
	tls_server_unref(s);
	tls_server_unref(NULL);
}

static void
test_swap(void **state)
{
	struct tls_server_params p;
	struct tls_server *slot, *old;
	char err[512], desc[512];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.cert_file = cert1;
	p.key_file = key1;
	slot = tls_server_new(&p, err, sizeof(err));
	assert_non_null(slot);
	old = tls_server_ref(slot);	/* a session still using it */

	p.cert_file = junk;
	assert_int_equal(tls_server_swap(&slot, &p, err, sizeof(err)), -1);
	assert_ptr_equal(slot, old);
	p.cert_file = cert2;		/* key1 does not match */
	assert_int_equal(tls_server_swap(&slot, &p, err, sizeof(err)), -1);
	assert_ptr_equal(slot, old);
	tls_server_describe(slot, desc, sizeof(desc));
	assert_non_null(strstr(desc, "CN=localhost"));

	p.key_file = key2;
	assert_int_equal(tls_server_swap(&slot, &p, err, sizeof(err)), 0);
	assert_ptr_not_equal(slot, old);
	tls_server_describe(slot, desc, sizeof(desc));
	assert_non_null(strstr(desc, "CN=mx.example"));
	/* The old one lives on for its session. */
	tls_server_describe(old, desc, sizeof(desc));
	assert_non_null(strstr(desc, "CN=localhost"));
	tls_server_unref(old);
	tls_server_unref(slot);
}

static void
test_client_errors(void **state)
{
	struct tls_client_params p;
	struct tls_client *c;
	char err[512];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.ca_file = "/nonexistent/ca.pem";
	assert_null(tls_client_new(&p, err, sizeof(err)));
	assert_int_equal(strncmp(err, "backend_tls_ca /nonexistent/ca.pem: ",
	    36), 0);
	p.ca_file = NULL;
	p.min_version = "TLSv2";
	assert_null(tls_client_new(&p, err, sizeof(err)));
	assert_string_equal(err, "tls_min_version TLSv2: expected TLSv1, "
	    "TLSv1.1, TLSv1.2 or TLSv1.3");
	p.min_version = NULL;
	p.ciphers = "NOPE";
	assert_null(tls_client_new(&p, err, sizeof(err)));
	assert_int_equal(strncmp(err, "tls_ciphers NOPE: ", 18), 0);
	p.ciphers = NULL;
	c = tls_client_new(&p, err, sizeof(err));
	assert_non_null(c);
	assert_ptr_equal(tls_client_ref(c), c);
	tls_client_unref(c);
	tls_client_unref(c);
	tls_client_unref(NULL);
}

static void
test_plain_facts(void **state)
{
	struct event_base *base = event_base_new();
	struct bufferevent *bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	struct tls_info ti;
	char why[64];

	(void)state;
	assert_false(tls_is_tls(bev));
	assert_false(tls_is_tls(NULL));
	assert_int_equal(tls_get_info(bev, &ti), -1);
	assert_string_equal(ti.version, "");
	assert_string_equal(ti.cipher, "");
	assert_int_equal(tls_get_info(NULL, &ti), -1);
	assert_int_equal(tls_bev_fd(bev), -1);
	assert_int_equal(tls_output_pending(bev), 0);
	evbuffer_add(bufferevent_get_output(bev), "250 ok\r\n", 8);
	assert_int_equal(tls_output_pending(bev), 8);
	tls_close_notify(bev);
	assert_int_equal(tls_output_pending(bev), 8);
	tls_error_string(bev, why, sizeof(why));
	assert_string_equal(why, "unknown");
	bufferevent_free(bev);
	/* Nothing queued: freed at once. */
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	tls_free_after_flush(bev, 100);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* libevent's finalizers */
	event_base_free(base);
}

/* ---- handshakes over a bufferevent pair --------------------------------- */

struct side {
	int		 connected;
	int		 error;
	int		 eof;
	char		 why[256];
	char		 got[256];
	size_t		 ngot;
};

static void
side_read(struct bufferevent *bev, void *arg)
{
	struct side *sd = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	if (n > sizeof(sd->got) - 1 - sd->ngot)
		n = sizeof(sd->got) - 1 - sd->ngot;
	evbuffer_remove(in, sd->got + sd->ngot, n);
	sd->ngot += n;
	sd->got[sd->ngot] = '\0';
}

static void
side_event(struct bufferevent *bev, short what, void *arg)
{
	struct side *sd = arg;

	if (what & BEV_EVENT_CONNECTED)
		sd->connected = 1;
	if (what & BEV_EVENT_ERROR) {
		sd->error = 1;
		tls_error_string(bev, sd->why, sizeof(sd->why));
	}
	if (what & BEV_EVENT_EOF)
		sd->eof = 1;
}

/* Run the loop until *flag or a bound on turns (no clock needed). */
static void
run_until(struct event_base *base, const int *flag1, const int *flag2)
{
	int i;

	for (i = 0; i < 10000 && !(*flag1 && *flag2); i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

struct rig {
	struct event_base	*base;
	struct bufferevent	*p[2];
	struct tls_server	*srv;
	struct tls_client	*cl;
	struct bufferevent	*s, *c;
	struct side		 ss, cs;
	size_t			 discarded;
};

static void
rig_init(struct rig *r, const char *ca, const char *name)
{
	struct tls_client_params cp;
	char err[512];

	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	assert_int_equal(bufferevent_pair_new(r->base, BEV_OPT_CLOSE_ON_FREE,
	    r->p), 0);
	bufferevent_enable(r->p[0], EV_READ | EV_WRITE);
	bufferevent_enable(r->p[1], EV_READ | EV_WRITE);
	r->srv = server(cert1, key1, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(r->srv);
	memset(&cp, 0, sizeof(cp));
	cp.ca_file = ca;
	cp.verify_name = name;
	r->cl = tls_client_new(&cp, err, sizeof(err));
	assert_non_null(r->cl);
}

static void
rig_free(struct rig *r)
{
	bufferevent_free(r->s ? r->s : r->p[0]);
	bufferevent_free(r->c ? r->c : r->p[1]);
	tls_server_unref(r->srv);
	tls_client_unref(r->cl);
	event_base_loop(r->base, EVLOOP_NONBLOCK);
	event_base_free(r->base);
}

static void
test_starttls_discards(void **state)
{
	struct rig r;
	struct tls_info si, ci;

	(void)state;
	rig_init(&r, cert1, "localhost");
	/* What the client pipelined behind STARTTLS, in the server's input. */
	bufferevent_write(r.p[1], "RSET\r\nQUIT\r\n", 12);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(r.p[0])),
	    12);
	/* The 220 queued before the wrap goes out first, in clear. */
	evbuffer_add(bufferevent_get_output(r.p[0]), "220 go\r\n", 8);
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_DISCARD_PLAINTEXT,
	    &r.discarded, side_read, NULL, side_event, &r.ss);
	assert_non_null(r.s);
	assert_int_equal(r.discarded, 12);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(r.p[0])),
	    0);
	assert_true(tls_is_tls(r.s));
	assert_ptr_equal(bufferevent_get_underlying(r.s), r.p[0]);
	/* Callbacks only from the loop. */
	assert_int_equal(r.ss.connected + r.ss.error, 0);

	/* The client reads the plaintext 220 off the pair, then wraps. */
	{
		char buf[16];
		int i;

		for (i = 0; i < 100 && evbuffer_get_length(
		    bufferevent_get_input(r.p[1])) < 8; i++)
			event_base_loop(r.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		assert_int_equal(evbuffer_remove(bufferevent_get_input(r.p[1]),
		    buf, 8), 8);
		assert_memory_equal(buf, "220 go\r\n", 8);
	}
	r.c = tls_client_wrap(r.cl, r.p[1], "localhost", &r.discarded,
	    side_read, NULL, side_event, &r.cs);
	assert_non_null(r.c);
	assert_int_equal(r.discarded, 0);
	run_until(r.base, &r.ss.connected, &r.cs.connected);
	assert_true(r.ss.connected);
	assert_true(r.cs.connected);
	assert_false(r.ss.error || r.cs.error);

	assert_int_equal(tls_get_info(r.s, &si), 0);
	assert_int_equal(tls_get_info(r.c, &ci), 0);
	assert_string_equal(si.version, "TLSv1.3");
	assert_string_equal(ci.version, "TLSv1.3");
	assert_string_equal(si.cipher, ci.cipher);
	assert_true(si.bits >= 128);
	assert_true(ci.verified);
	assert_false(si.verified);
	assert_int_equal(tls_bev_fd(r.s), -1);	/* a pair has no fd */

	/* The first bytes the server reads over TLS are the client's. */
	bufferevent_write(r.c, "NOOP\r\n", 6);
	bufferevent_write(r.s, "250 ok\r\n", 8);
	{
		int i;

		for (i = 0; i < 1000 && (r.ss.ngot < 6 || r.cs.ngot < 8); i++)
			event_base_loop(r.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	assert_string_equal(r.ss.got, "NOOP\r\n");
	assert_string_equal(r.cs.got, "250 ok\r\n");

	/* close_notify reaches the other side as a clean EOF. */
	tls_close_notify(r.c);
	{
		int one = 1;

		run_until(r.base, &r.ss.eof, &one);
	}
	assert_true(r.ss.eof);
	assert_false(r.ss.error);
	rig_free(&r);
}

static void
test_implicit_keeps(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, NULL, NULL);
	/* Plaintext where a ClientHello should be: kept, fed to OpenSSL. */
	bufferevent_write(r.p[1], "EHLO x\r\n", 8);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(r.p[0])),
	    8);
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_KEEP_BUFFERED, &r.discarded,
	    side_read, NULL, side_event, &r.ss);
	assert_non_null(r.s);
	assert_int_equal(r.discarded, 0);
	/* Not a single callback yet: the handshake step is deferred. */
	assert_int_equal(r.ss.error, 0);
	{
		int one = 1;

		run_until(r.base, &r.ss.error, &one);
	}
	assert_true(r.ss.error);
	assert_false(r.ss.connected);
	assert_int_equal(r.ss.ngot, 0);		/* never read as data */
	assert_string_not_equal(r.ss.why, "unknown");
	/*
	 * Nothing but a TLS alert may come back (OpenSSL sends none for
	 * bytes that are not TLS at all; test_tls.py checks the
	 * protocol_version alert for TLS 1.1 reaching the client).
	 */
	{
		struct evbuffer *cin = bufferevent_get_input(r.p[1]);
		unsigned char rec;
		int i;

		for (i = 0; i < 100; i++)
			event_base_loop(r.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (evbuffer_get_length(cin) > 0) {
			evbuffer_copyout(cin, &rec, 1);
			assert_int_equal(rec, 0x15);
		}
	}
	tls_free_after_flush(r.s, 100);
	event_base_loop(r.base, EVLOOP_NONBLOCK);
	bufferevent_free(r.p[1]);
	tls_server_unref(r.srv);
	tls_client_unref(r.cl);
	event_base_loop(r.base, EVLOOP_NONBLOCK);
	event_base_free(r.base);
}

static void
test_implicit_handshake(void **state)
{
	struct rig r;
	struct tls_info ci;

	(void)state;
	rig_init(&r, NULL, NULL);
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_KEEP_BUFFERED, NULL,
	    side_read, NULL, side_event, &r.ss);
	r.c = tls_client_wrap(r.cl, r.p[1], "127.0.0.1", NULL, side_read,
	    NULL, side_event, &r.cs);
	run_until(r.base, &r.ss.connected, &r.cs.connected);
	assert_true(r.ss.connected && r.cs.connected);
	assert_int_equal(tls_get_info(r.c, &ci), 0);
	assert_false(ci.verified);	/* no CA: encrypted only */
	rig_free(&r);
}

static void
test_verify_fails(void **state)
{
	struct rig r;
	int one = 1;

	(void)state;
	/* Right CA, wrong name. */
	rig_init(&r, cert1, "mx.other.example");
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_DISCARD_PLAINTEXT, NULL,
	    side_read, NULL, side_event, &r.ss);
	r.c = tls_client_wrap(r.cl, r.p[1], "localhost", NULL, side_read,
	    NULL, side_event, &r.cs);
	run_until(r.base, &r.cs.error, &one);
	assert_true(r.cs.error);
	assert_false(r.cs.connected);
	assert_string_equal(r.cs.why,
	    "certificate verify failed: hostname mismatch");
	rig_free(&r);

	/* Wrong CA; the host name connected to is the name checked. */
	rig_init(&r, cert2, NULL);
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_DISCARD_PLAINTEXT, NULL,
	    side_read, NULL, side_event, &r.ss);
	r.c = tls_client_wrap(r.cl, r.p[1], "localhost", NULL, side_read,
	    NULL, side_event, &r.cs);
	run_until(r.base, &r.cs.error, &one);
	assert_true(r.cs.error);
	assert_int_equal(strncmp(r.cs.why, "certificate verify failed: ", 27),
	    0);
	rig_free(&r);

	/* Right CA, the name from the host connected to. */
	rig_init(&r, cert1, NULL);
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_DISCARD_PLAINTEXT, NULL,
	    side_read, NULL, side_event, &r.ss);
	r.c = tls_client_wrap(r.cl, r.p[1], "localhost", NULL, side_read,
	    NULL, side_event, &r.cs);
	run_until(r.base, &r.ss.connected, &r.cs.connected);
	assert_true(r.cs.connected);
	rig_free(&r);
}

/* The client side discards what the server sent after its 220, too. */
static void
test_client_discards(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, NULL, NULL);
	bufferevent_write(r.p[0], "250 injected\r\n", 14);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(r.p[1])),
	    14);
	r.c = tls_client_wrap(r.cl, r.p[1], "localhost", &r.discarded,
	    side_read, NULL, side_event, &r.cs);
	assert_non_null(r.c);
	assert_int_equal(r.discarded, 14);
	/* The ClientHello is already on its way. */
	assert_true(tls_output_pending(r.c) > 0 ||
	    evbuffer_get_length(bufferevent_get_input(r.p[0])) > 0);
	r.s = tls_server_wrap(r.srv, r.p[0], TLS_KEEP_BUFFERED, NULL,
	    side_read, NULL, side_event, &r.ss);
	run_until(r.base, &r.ss.connected, &r.cs.connected);
	assert_true(r.ss.connected && r.cs.connected);
	assert_int_equal(r.cs.ngot, 0);
	rig_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_server_errors),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_plain_facts),
		cmocka_unit_test(test_starttls_discards),
		cmocka_unit_test(test_implicit_keeps),
		cmocka_unit_test(test_implicit_handshake),
		cmocka_unit_test(test_verify_fails),
		cmocka_unit_test(test_client_discards),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
