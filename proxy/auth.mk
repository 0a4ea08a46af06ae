# libauth.a: TLS and SMTP AUTH (issue 5).  sasl.c and sender_map.c are
# pure; passwd.c runs its hashing on common/jobpool.c; tls.c wraps OpenSSL.
# Included from tests/unit/auth.mk, so that the library exists whenever
# its tests do; moatd links it once the session uses it.
noinst_LIBRARIES += libauth.a
libauth_a_SOURCES = proxy/sasl.c proxy/sasl.h \
	proxy/passwd.c proxy/passwd.h \
	proxy/sender_map.c proxy/sender_map.h \
	proxy/tls.c proxy/tls.h
libauth_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
AUTH_LIBS = libauth.a libproxy.a libcommon.a $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) -levent_pthreads $(CRYPT_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += doc/tls-auth.md
