/*
 * fuzz_starttls.c: the input handling of the STARTTLS transition (issue 5,
 * RFC 3207 4.2, CVE-2011-0411).  The input is split in two: the plaintext a
 * client pipelined behind STARTTLS (already buffered when the session wraps
 * its socket in TLS), and what it sends after.  tls_server_wrap() with
 * TLS_DISCARD_PLAINTEXT must drop every byte of the first part, and since
 * the second part is not a real TLS client, the application must never see
 * a single byte as if it had come over TLS: only an error (or nothing).
 * Any read callback with data is a smuggling bug: abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct tls_server *srv;
static struct event_base *base;

static void
init_server(void)
{
	char dir[] = "/tmp/fuzz_starttls.XXXXXX", cert[64], key[64];
	char err[256];
	struct tls_server_params p;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *fp;

	if (mkdtemp(dir) == NULL || pk == NULL || x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"fuzz.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		abort();
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	if ((fp = fopen(cert, "w")) == NULL)
		abort();
	PEM_write_X509(fp, x);
	fclose(fp);
	if ((fp = fopen(key, "w")) == NULL)
		abort();
	PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(pk);
	memset(&p, 0, sizeof(p));
	p.cert_file = cert;
	p.key_file = key;
	if ((srv = tls_server_new(&p, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_starttls: %s\n", err);
		abort();
	}
	unlink(cert);
	unlink(key);
	rmdir(dir);
	base = event_base_new();
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* Bytes that did not come through a TLS handshake. */
		fprintf(stderr, "fuzz_starttls: plaintext reached the "
		    "application after STARTTLS\n");
		abort();
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	int *done = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* Only a real ClientHello can complete a handshake. */
		fprintf(stderr, "fuzz_starttls: handshake completed\n");
		abort();
	}
	*done = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bufferevent *pair[2], *tls;
	size_t cut, discarded = 0;
	int done = 0, i;

	if (srv == NULL)
		init_server();
	if (size < 1)
		return 0;
	cut = data[0] % (size);
	data++;
	size--;
	if (cut > size)
		cut = size;
	if (bufferevent_pair_new(base, 0, pair) == -1)
		abort();
	bufferevent_enable(pair[0], EV_READ | EV_WRITE);
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	/* The client's pipelined plaintext, buffered before the wrap. */
	bufferevent_write(pair[1], data, cut);
	event_base_loop(base, EVLOOP_NONBLOCK);
	tls = tls_server_wrap(srv, pair[0], TLS_DISCARD_PLAINTEXT, &discarded,
	    read_cb, NULL, event_cb, &done);
	if (tls == NULL)
		abort();
	if (discarded != cut) {
		fprintf(stderr, "fuzz_starttls: %zu of %zu buffered bytes "
		    "discarded\n", discarded, cut);
		abort();
	}
	/* What the client sends afterwards. */
	bufferevent_write(pair[1], data + cut, size - cut);
	for (i = 0; i < 8 && !done; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	bufferevent_free(tls);
	bufferevent_free(pair[1]);
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
