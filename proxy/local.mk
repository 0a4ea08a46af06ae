# proxy/: moatd.  libproxy.a holds the pure modules (parsers, config, log,
# address sets) so unit tests, fuzzers and tools link them without the daemon.
noinst_LIBRARIES += libproxy.a
libproxy_a_SOURCES = proxy/smtp_fsm.c proxy/smtp_fsm.h proxy/relay.c proxy/relay.h
include proxy/parsers.mk
include proxy/data.mk
include proxy/config.mk
include proxy/store.mk
include proxy/auth.mk

sbin_PROGRAMS += moatd
moatd_SOURCES = proxy/main.c proxy/daemon.h proxy/worker.c \
	proxy/privsep.c proxy/privsep.h \
	proxy/session.c proxy/upstream.c proxy/upstream.h \
	proxy/msgstore.c proxy/msgstore.h proxy/dns.c proxy/dns.h \
	proxy/policy.c proxy/policy.h proxy/bayes_live.c proxy/bayes_live.h
moatd_LDADD = libauth.a libstore.a libproxy.a libbayesdb.a librules.a \
	libscoring.a libcommon.a $(LMDB_LIBS) $(MATH_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) $(CRYPT_LIBS) $(PTHREAD_LIBS)
moatd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS) \
	$(OPENSSL_CFLAGS)
include proxy/bayes.mk
include proxy/metrics.mk
# The leaves below the session (issue 13): AUTH glue, greylist replay.
moatd_SOURCES += proxy/sess_auth.c proxy/sess_auth.h \
	proxy/sess_replay.c proxy/sess_replay.h
