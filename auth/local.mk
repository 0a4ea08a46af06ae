# auth/: libauth.a, SMTP AUTH (issue 5).  sasl.c and sender_map.c are
# pure; passwd.c runs its hashing on common/jobpool.c.  TLS (proxy/tls.c)
# is moatd's: the programs that test it list it in their sources.
noinst_LIBRARIES += libauth.a
libauth_a_SOURCES = auth/sasl.c auth/sasl.h \
	auth/passwd.c auth/passwd.h \
	auth/sender_map.c auth/sender_map.h
libauth_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
AUTH_LIBS = libauth.a libsmtp.a libcommon.a $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) -levent_pthreads $(CRYPT_LIBS) $(PTHREAD_LIBS)
