/*
 * tls.h: TLS for moatd (OpenSSL 3 through libevent's bufferevent_openssl):
 * the server side (STARTTLS on a session's socket, RFC 3207; implicit TLS
 * on port 465, RFC 8314), the client side toward the backend, and the
 * facts that go into log lines.
 *
 * Design: every TLS connection is a *filter* bufferevent over the
 * session's existing socket bufferevent (bufferevent_openssl_filter_new),
 * never a second bufferevent on the same fd.  So the 220 "ready to start
 * TLS" already queued on the socket goes out, in order, before the first
 * handshake byte; nothing has to be flushed and torn down first; and the
 * same code serves STARTTLS, implicit TLS after a PROXY header, and the
 * backend.  The wrapped bufferevent is owned by the TLS one from then on:
 * freeing the returned bufferevent frees both and closes the socket.
 *
 * CVE-2011-0411: plaintext the client pipelined after STARTTLS sits in
 * the socket bufferevent's input.  tls_server_wrap() makes the caller say
 * what happens to it: TLS_DISCARD_PLAINTEXT (STARTTLS, always) or
 * TLS_KEEP_BUFFERED (implicit TLS: the bytes after a PROXY header are the
 * ClientHello).  Nothing read before the handshake is ever replayed as
 * protected input.
 *
 * Contexts are refcounted: sessions keep the context they began with
 * (each SSL also holds the SSL_CTX), and a reload builds a new one and
 * swaps it only if it loaded (tls_server_swap).
 *
 * Callbacks: set by the wrap call itself, before any handshake progress,
 * and deferred (BEV_OPT_DEFER_CALLBACKS): they always come from the event
 * loop.  The handshake's end is BEV_EVENT_CONNECTED; a failure is
 * BEV_EVENT_ERROR (tls_error_string() says why); the handshake timeout is
 * the caller's timer.  A TCP close without close_notify is BEV_EVENT_EOF
 * (mail clients drop the connection after QUIT; that is not an attack).
 */
#ifndef MOAT_TLS_H
#define MOAT_TLS_H

#include <stddef.h>

#include <event2/bufferevent.h>

struct tls_server;
struct tls_client;

/* Defaults (doc/tls-auth.md). */
#define TLS_DEFAULT_MIN_VERSION	"TLSv1.2"
/*
 * TLS <= 1.2: forward secrecy only, no RC4/3DES/MD5, AEAD first (OpenSSL's
 * HIGH ordering).  Broader than Mozilla "intermediate" on purpose: on port
 * 25 a sender that cannot agree on a cipher falls back to plaintext.
 */
#define TLS_DEFAULT_CIPHERS \
	"HIGH:!aNULL:!eNULL:!kRSA:!PSK:!SRP:!MD5:!RC4:!3DES:!CAMELLIA:!ARIA:!DSS"

struct tls_server_params {
	const char	*cert_file;	/* PEM: certificate, then chain */
	const char	*key_file;	/* PEM private key */
	const char	*min_version;	/* NULL: TLS_DEFAULT_MIN_VERSION */
	const char	*ciphers;	/* TLS <= 1.2; NULL: the default */
	const char	*ciphersuites;	/* TLS 1.3; NULL: OpenSSL's */
};

/*
 * tls_version_parse: "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
 * (case-insensitive) into an OpenSSL version number; -1 if unknown.
 */
int	tls_version_parse(const char *);

/*
 * tls_server_new: a server context from p.  Checks that the certificate
 * chain and key load and that the key matches the certificate, and that
 * the version and cipher settings are valid.  Returns a context with one
 * reference (caller owns), or NULL with a reason in err ("cert FILE: ...").
 * Reads the files now only: call it at start and on reload.
 */
struct tls_server *tls_server_new(const struct tls_server_params *p,
	    char *err, size_t errlen);
struct tls_server *tls_server_ref(struct tls_server *);
void	tls_server_unref(struct tls_server *);	/* NULL: no-op */

/*
 * tls_server_swap: build a context from p; on success drop the reference
 * in *slot and put the new one there, return 0; on failure leave *slot
 * alone (the old context keeps serving) and return -1 with err set.
 * Not thread-safe in itself: *slot belongs to a config being built.
 */
int	tls_server_swap(struct tls_server **slot,
	    const struct tls_server_params *p, char *err, size_t errlen);

/* Subject and notAfter of the context's certificate, for startup logs. */
void	tls_server_describe(const struct tls_server *, char *buf, size_t n);

enum tls_plaintext {
	TLS_DISCARD_PLAINTEXT,	/* STARTTLS: drop what is buffered */
	TLS_KEEP_BUFFERED,	/* implicit TLS: buffered bytes are TLS */
};

/*
 * tls_server_wrap: start a server handshake over bev (a socket
 * bufferevent, or any bufferevent on that base).  what says what becomes
 * of input already buffered in bev (see above); *discarded (may be NULL)
 * gets the number of bytes dropped, for the log.  readcb/writecb/eventcb/
 * arg are installed on the new bufferevent before the handshake starts;
 * EV_READ|EV_WRITE are enabled.  Read watermarks and timeouts are the
 * caller's to set again on the new bufferevent.
 * Returns the TLS bufferevent, which owns bev from now on; bev must not
 * be used or freed by the caller again.  NULL only if OpenSSL or libevent
 * cannot allocate: then bev is still the caller's (close the session).
 */
struct bufferevent *tls_server_wrap(struct tls_server *, struct bufferevent *bev,
	    enum tls_plaintext what, size_t *discarded,
	    bufferevent_data_cb readcb, bufferevent_data_cb writecb,
	    bufferevent_event_cb eventcb, void *arg);

/* ---- the backend side ---------------------------------------------------- */

enum tls_backend_mode {
	TLS_BACKEND_OFF,		/* never STARTTLS */
	TLS_BACKEND_OPPORTUNISTIC,	/* if offered; go on in clear if not */
	TLS_BACKEND_REQUIRED,		/* not offered or failed: 4xx */
};

/* "off", "opportunistic", "required" -> mode; -1 if unknown. */
int	tls_backend_mode_parse(const char *);

struct tls_client_params {
	const char	*ca_file;	/* NULL: do not verify the backend */
	const char	*verify_name;	/* name the certificate must carry;
					   NULL: the host connected to */
	const char	*min_version;	/* NULL: TLS_DEFAULT_MIN_VERSION */
	const char	*ciphers;	/* NULL: the default */
};

/*
 * tls_client_new: a client context (one reference, caller owns), or NULL
 * with err set (unreadable CA file, bad version or ciphers).  With a CA
 * file the backend's chain must verify to it and carry the name
 * (RFC 6125 via X509_check_host); without one the channel is encrypted
 * but not authenticated (acceptable toward a backend on a trusted
 * network, and what "opportunistic" means anyway).
 */
struct tls_client *tls_client_new(const struct tls_client_params *,
	    char *err, size_t errlen);
struct tls_client *tls_client_ref(struct tls_client *);
void	tls_client_unref(struct tls_client *);

/*
 * tls_client_wrap: after the backend's 220 to STARTTLS, start the client
 * handshake over bev.  Input still buffered (anything the server sent
 * after its 220) is discarded, as on the server side (RFC 3207 5);
 * *discarded gets the count.  host: the name or address connected to,
 * used for SNI (names only) and, when the context has no verify_name, as
 * the name to verify.  Callbacks and ownership as for tls_server_wrap.
 */
struct bufferevent *tls_client_wrap(struct tls_client *, struct bufferevent *bev,
	    const char *host, size_t *discarded,
	    bufferevent_data_cb readcb, bufferevent_data_cb writecb,
	    bufferevent_event_cb eventcb, void *arg);

/* ---- facts ------------------------------------------------------------- */

/*
 * What the log lines say about a TLS connection (tls=, cipher=).  Empty
 * strings for a bufferevent that is not TLS or has not finished its
 * handshake.
 */
struct tls_info {
	char	version[16];	/* "TLSv1.3" */
	char	cipher[64];	/* "TLS_AES_256_GCM_SHA384" */
	int	bits;		/* secret bits of the cipher */
	int	verified;	/* client side: peer verified against the CA */
};

/* 0 and *out filled when bev is a TLS bufferevent past its handshake. */
int	tls_get_info(struct bufferevent *bev, struct tls_info *out);

/* 1 if bev is a TLS bufferevent (from one of the wrap calls). */
int	tls_is_tls(struct bufferevent *bev);

/*
 * tls_error_string: why the handshake or connection failed, from the
 * OpenSSL errors queued on bev (and the verification result on the
 * client side), e.g. "unsupported protocol"; "unknown" if none.
 */
void	tls_error_string(struct bufferevent *bev, char *buf, size_t n);

/*
 * tls_bev_fd: the socket under bev, TLS or not (bufferevent_getfd() says
 * -1 for a filter); for shutdown(2) and getsockopt.
 */
int	tls_bev_fd(struct bufferevent *bev);

/*
 * tls_output_pending: bytes written to bev and not yet handed to the
 * kernel, counting the socket bufferevent under a TLS one (a filter's own
 * output empties before the socket's does: check this, not
 * bufferevent_get_output(), before shutdown(2) or close).
 */
size_t	tls_output_pending(struct bufferevent *bev);

/*
 * tls_close_notify: queue a TLS close_notify alert on bev's socket
 * (RFC 8446 6.1) before a clean close; a no-op on a plain bufferevent.
 * The caller then waits for the output to drain as it does for a 221.
 */
void	tls_close_notify(struct bufferevent *bev);

/*
 * tls_free_after_flush: give bev up (TLS or plain): queue a close_notify
 * if a TLS session is established, write out what is queued (a final
 * reply, or the alert a failed handshake left behind, so the client
 * learns why), then free it and close the socket; at most timeout_ms
 * later in any case.  No callback of bev is called again.  Use it
 * instead of bufferevent_free() when the peer should see the last bytes.
 */
void	tls_free_after_flush(struct bufferevent *bev, int timeout_ms);

#endif
