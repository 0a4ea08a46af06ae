/*
 * tls.c: OpenSSL contexts and TLS bufferevents for moatd (see tls.h).
 *
 * Purpose: one place that knows OpenSSL: build and check server and
 * client contexts (versions, ciphers, certificate and key), turn a
 * session's or backend connection's socket bufferevent into a TLS one
 * without ever treating pre-handshake plaintext as protected input
 * (RFC 3207 5, CVE-2011-0411), and describe a connection for the logs.
 *
 * Deliberately not done here: no SMTP (the session sends 220 and resets
 * its state after the handshake), no timers (the session times the
 * handshake), no logging (the caller logs, with the session id), no
 * client certificates.
 *
 * Invariants: a context is immutable once built and freed when its last
 * reference goes (SSLs in flight hold the SSL_CTX themselves); a wrap
 * call installs the caller's callbacks before the handshake can make
 * progress, so no handshake event is ever lost; the underlying
 * bufferevent's input is empty when a handshake starts, except for the
 * bytes the caller declared to be TLS (TLS_KEEP_BUFFERED), which are
 * handed to OpenSSL and to nothing else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "filesrc.h"
#include "tls.h"
#include "xmalloc.h"

struct tls_server {
	atomic_int	 refs;
	SSL_CTX		*ctx;
	char		 desc[512];
};

struct tls_client {
	atomic_int	 refs;
	SSL_CTX		*ctx;
	int		 verify;
	char		*verify_name;
};

/* The first OpenSSL error queued (the root cause), then clear the queue. */
static void
ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	char buf[256];

	if (e && r == NULL) {
		ERR_error_string_n(e, buf, sizeof(buf));
		r = buf;
	}
	snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "",
	    file ? file : "", r ? r : "failed");
	ERR_clear_error();
}

int
tls_version_parse(const char *s)
{
	if (strcasecmp(s, "TLSv1") == 0 || strcasecmp(s, "TLSv1.0") == 0)
		return TLS1_VERSION;
	if (strcasecmp(s, "TLSv1.1") == 0)
		return TLS1_1_VERSION;
	if (strcasecmp(s, "TLSv1.2") == 0)
		return TLS1_2_VERSION;
	if (strcasecmp(s, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	return -1;
}

/* What server and client contexts share. */
static int
ctx_common(SSL_CTX *ctx, const char *minv, const char *ciphers,
    const char *suites, char *err, size_t errlen)
{
	int v;

	if ((v = tls_version_parse(minv ? minv :
	    TLS_DEFAULT_MIN_VERSION)) == -1) {
		snprintf(err, errlen, "tls_min_version %s: expected TLSv1, "
		    "TLSv1.1, TLSv1.2 or TLSv1.3", minv);
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, v) != 1) {
		ssl_err(err, errlen, "tls_min_version", minv);
		return -1;
	}
	if (SSL_CTX_set_cipher_list(ctx, ciphers ? ciphers :
	    TLS_DEFAULT_CIPHERS) != 1) {
		ssl_err(err, errlen, "tls_ciphers", ciphers);
		return -1;
	}
	if (suites && SSL_CTX_set_ciphersuites(ctx, suites) != 1) {
		ssl_err(err, errlen, "tls_ciphersuites", suites);
		return -1;
	}
	/*
	 * Renegotiation only serves attacks on a mail server (CPU, and
	 * the 2009 prefix injection); compression is CRIME.  Idle SMTP
	 * sessions are many: give their buffers back.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

static void
describe_cert(SSL_CTX *ctx, char *buf, size_t n)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char subj[256] = "", until[64] = "";
	BIO *b;
	int len;

	if (x == NULL) {
		snprintf(buf, n, "no certificate");
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		ASN1_TIME_print(b, X509_get0_notAfter(x));
		len = BIO_read(b, until, sizeof(until) - 1);
		until[len > 0 ? len : 0] = '\0';
		BIO_free(b);
	}
	snprintf(buf, n, "subject=%s not_after=%s%s", subj, until,
	    X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ?
	    " (expired)" : "");
}

/*
 * use_cert_key: the certificate chain (server first) and the key, from
 * bytes rather than by file name, so that under privilege separation they
 * can come from the root parent (filesrc.c: a 0600 key the daemon's user
 * cannot open).  0, or -1 with err set as the _file calls would.
 */
static int
use_cert_key(SSL_CTX *ctx, const struct tls_server_params *p, char *err,
    size_t errlen)
{
	char *data = NULL;
	size_t len;
	BIO *b = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (filesrc_read(p->cert_file, &data, &len) == -1) {
		snprintf(err, errlen, "cert %s: %s", p->cert_file,
		    strerror(errno));
		return -1;
	}
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1) {
		ssl_err(err, errlen, "cert", p->cert_file);
		goto done;
	}
	SSL_CTX_clear_chain_certs(ctx);
	for (;;) {
		X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);

		if (ca == NULL)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			ssl_err(err, errlen, "cert", p->cert_file);
			goto done;
		}
	}
	/* The loop ends on "no start line" after the last certificate. */
	ERR_clear_error();
	BIO_free(b);
	b = NULL;
	OPENSSL_cleanse(data, len);
	free(data);
	data = NULL;
	if (filesrc_read(p->key_file, &data, &len) == -1) {
		snprintf(err, errlen, "key %s: %s", p->key_file,
		    strerror(errno));
		goto done;
	}
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, k) != 1) {
		ssl_err(err, errlen, "key", p->key_file);
		goto done;
	}
	rc = 0;
done:
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(b);
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	return rc;
}

struct tls_server *
tls_server_new(const struct tls_server_params *p, char *err, size_t errlen)
{
	struct tls_server *srv;
	SSL_CTX *ctx;

	if (p->cert_file == NULL || p->key_file == NULL) {
		snprintf(err, errlen, "tls needs both cert and key");
		return NULL;
	}
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	if (ctx_common(ctx, p->min_version, p->ciphers, p->ciphersuites,
	    err, errlen) == -1)
		goto fail;
	if (use_cert_key(ctx, p, err, errlen) == -1)
		goto fail;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key %s does not match cert %s",
		    p->key_file, p->cert_file);
		goto fail;
	}
	/* TLS 1.2 clients: our order, which puts AEAD and ECDHE first. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"moat", 4);

	srv = xcalloc(1, sizeof(*srv));
	atomic_init(&srv->refs, 1);
	srv->ctx = ctx;
	describe_cert(ctx, srv->desc, sizeof(srv->desc));
	return srv;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_server *
tls_server_ref(struct tls_server *srv)
{
	atomic_fetch_add(&srv->refs, 1);
	return srv;
}

void
tls_server_unref(struct tls_server *srv)
{
	if (srv == NULL || atomic_fetch_sub(&srv->refs, 1) != 1)
		return;
	SSL_CTX_free(srv->ctx);
	free(srv);
}

int
tls_server_swap(struct tls_server **slot, const struct tls_server_params *p,
    char *err, size_t errlen)
{
	struct tls_server *n;

	if ((n = tls_server_new(p, err, errlen)) == NULL)
		return -1;
	tls_server_unref(*slot);
	*slot = n;
	return 0;
}

void
tls_server_describe(const struct tls_server *srv, char *buf, size_t n)
{
	snprintf(buf, n, "%s", srv->desc);
}

/*
 * The common part of both wraps.  Input buffered in bev is moved aside
 * while the TLS bufferevent is made, because making it runs the first
 * handshake step at once, before any callback could be installed: a
 * failure there would be reported to nobody.  Discarded bytes are simply
 * never put back.
 */
static struct bufferevent *
wrap(SSL *ssl, struct bufferevent *bev, enum bufferevent_ssl_state state,
    enum tls_plaintext what, size_t *discarded, bufferevent_data_cb readcb,
    bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev), *keep = NULL;
	struct bufferevent *tb;
	size_t n = evbuffer_get_length(in);

	if (discarded)
		*discarded = 0;
	if (n > 0 && what == TLS_KEEP_BUFFERED) {
		keep = evbuffer_new();
		if (keep == NULL || evbuffer_add_buffer(keep, in) != 0) {
			evbuffer_free(keep);
			SSL_free(ssl);
			return NULL;
		}
	} else if (n > 0) {
		/*
		 * RFC 3207 5 / CVE-2011-0411: what the client pipelined
		 * behind STARTTLS was sent in clear and must never be taken
		 * as if it came over TLS.  Dropped before the first
		 * handshake step could read it.
		 */
		evbuffer_drain(in, n);
		if (discarded)
			*discarded = n;
	}
	/*
	 * XXX(#5): if libevent fails to allocate here it may already have
	 * freed ssl; leak it rather than risk a double free.
	 */
	tb = bufferevent_openssl_filter_new(bufferevent_get_base(bev), bev,
	    ssl, state, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tb == NULL) {
		if (keep) {
			evbuffer_prepend_buffer(in, keep);
			evbuffer_free(keep);
		}
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	bufferevent_setcb(tb, readcb, writecb, eventcb, arg);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	if (keep) {
		/* libevent freezes the end of an input buffer; we refill. */
		evbuffer_unfreeze(in, 0);
		evbuffer_add_buffer(in, keep);
		evbuffer_freeze(in, 0);
		evbuffer_free(keep);
		/* Deferred: the handshake step runs from the loop. */
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
	}
	return tb;
}

struct bufferevent *
tls_server_wrap(struct tls_server *srv, struct bufferevent *bev,
    enum tls_plaintext what, size_t *discarded, bufferevent_data_cb readcb,
    bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *arg)
{
	SSL *ssl;

	if ((ssl = SSL_new(srv->ctx)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	return wrap(ssl, bev, BUFFEREVENT_SSL_ACCEPTING, what, discarded,
	    readcb, writecb, eventcb, arg);
}

/* ---- client ------------------------------------------------------------ */

int
tls_backend_mode_parse(const char *s)
{
	if (strcmp(s, "off") == 0)
		return TLS_BACKEND_OFF;
	if (strcmp(s, "opportunistic") == 0)
		return TLS_BACKEND_OPPORTUNISTIC;
	if (strcmp(s, "required") == 0)
		return TLS_BACKEND_REQUIRED;
	return -1;
}

struct tls_client *
tls_client_new(const struct tls_client_params *p, char *err, size_t errlen)
{
	struct tls_client *cl;
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	if (ctx_common(ctx, p->min_version, p->ciphers, NULL, err,
	    errlen) == -1)
		goto fail;
	if (p->ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, p->ca_file,
		    NULL) != 1) {
			ssl_err(err, errlen, "backend_tls_ca", p->ca_file);
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	cl = xcalloc(1, sizeof(*cl));
	atomic_init(&cl->refs, 1);
	cl->ctx = ctx;
	cl->verify = p->ca_file != NULL;
	cl->verify_name = p->verify_name ? xstrdup(p->verify_name) : NULL;
	return cl;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_client *
tls_client_ref(struct tls_client *cl)
{
	atomic_fetch_add(&cl->refs, 1);
	return cl;
}

void
tls_client_unref(struct tls_client *cl)
{
	if (cl == NULL || atomic_fetch_sub(&cl->refs, 1) != 1)
		return;
	SSL_CTX_free(cl->ctx);
	free(cl->verify_name);
	free(cl);
}

static int
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

struct bufferevent *
tls_client_wrap(struct tls_client *cl, struct bufferevent *bev,
    const char *host, size_t *discarded, bufferevent_data_cb readcb,
    bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *arg)
{
	const char *name = cl->verify_name ? cl->verify_name : host;
	SSL *ssl;

	if ((ssl = SSL_new(cl->ctx)) == NULL)
		goto fail;
	/* RFC 6066 3: SNI carries host names only, never addresses. */
	if (host && !is_ip(host) && SSL_set_tlsext_host_name(ssl,
	    (char *)host) != 1)
		goto fail;
	if (cl->verify && name) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if (is_ip(name)) {
			if (X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1)
				goto fail;
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(ssl, name) != 1)
				goto fail;
		}
	}
	return wrap(ssl, bev, BUFFEREVENT_SSL_CONNECTING,
	    TLS_DISCARD_PLAINTEXT, discarded, readcb, writecb, eventcb, arg);
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

/* ---- facts ------------------------------------------------------------- */

int
tls_is_tls(struct bufferevent *bev)
{
	return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}

int
tls_get_info(struct bufferevent *bev, struct tls_info *out)
{
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	const SSL_CIPHER *c;

	memset(out, 0, sizeof(*out));
	if (ssl == NULL || !SSL_is_init_finished(ssl))
		return -1;
	snprintf(out->version, sizeof(out->version), "%s",
	    SSL_get_version(ssl));
	if ((c = SSL_get_current_cipher(ssl)) != NULL) {
		snprintf(out->cipher, sizeof(out->cipher), "%s",
		    SSL_CIPHER_get_name(c));
		out->bits = SSL_CIPHER_get_bits(c, NULL);
	}
	out->verified = (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) &&
	    SSL_get0_peer_certificate(ssl) != NULL &&
	    SSL_get_verify_result(ssl) == X509_V_OK;
	return 0;
}

void
tls_error_string(struct bufferevent *bev, char *buf, size_t n)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e[16], root = 0;
	size_t ne = 0, i;
	int syscall = 0;
	const char *r;
	long vr;

	/*
	 * libevent hands the errors back last first, and pushes
	 * SSL_get_error()'s code (SSL_ERROR_SSL, SSL_ERROR_SYSCALL) before
	 * the queue; the root cause is the earliest real OpenSSL error.
	 */
	while ((e[ne] = bufferevent_get_openssl_error(bev)) != 0)
		if (ne < sizeof(e) / sizeof(e[0]) - 1)
			ne++;
	for (i = ne; i-- > 0;) {
		if (ERR_GET_LIB(e[i]) == 0) {
			if (e[i] == SSL_ERROR_SYSCALL)
				syscall = 1;
			continue;
		}
		root = e[i];
		break;
	}
	if (ssl && SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER &&
	    (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(buf, n, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		return;
	}
	if (root == 0) {
		snprintf(buf, n, "%s", syscall ? "connection closed" :
		    "unknown");
		return;
	}
	if ((r = ERR_reason_error_string(root)) != NULL)
		snprintf(buf, n, "%s", r);
	else
		ERR_error_string_n(root, buf, n);
}

int
tls_bev_fd(struct bufferevent *bev)
{
	struct bufferevent *u;

	while ((u = bufferevent_get_underlying(bev)) != NULL)
		bev = u;
	return bufferevent_getfd(bev);
}

size_t
tls_output_pending(struct bufferevent *bev)
{
	size_t n = 0;

	while (bev != NULL) {
		n += evbuffer_get_length(bufferevent_get_output(bev));
		bev = bufferevent_get_underlying(bev);
	}
	return n;
}

void
tls_close_notify(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl == NULL || !SSL_is_init_finished(ssl))
		return;
	/* One call queues our alert; we do not wait for the peer's. */
	if (SSL_shutdown(ssl) < 0)
		ERR_clear_error();
}

static void
flush_write_cb(struct bufferevent *u, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(u)) == 0)
		bufferevent_free(arg);
}

static void
flush_event_cb(struct bufferevent *u, short what, void *arg)
{
	(void)u;
	(void)what;
	bufferevent_free(arg);
}

/*
 * The socket bufferevent's callbacks are taken over from the TLS layer:
 * after an error or close_notify it has nothing left to do but write.
 */
void
tls_free_after_flush(struct bufferevent *bev, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct bufferevent *u = bev, *next;

	tls_close_notify(bev);
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(bev, EV_READ);
	if (tls_output_pending(bev) == 0) {
		bufferevent_free(bev);
		return;
	}
	while ((next = bufferevent_get_underlying(u)) != NULL)
		u = next;
	bufferevent_setcb(u, NULL, flush_write_cb, flush_event_cb, bev);
	bufferevent_setwatermark(u, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(u, NULL, &tv);
	bufferevent_disable(u, EV_READ);
	bufferevent_enable(u, EV_WRITE);
}
