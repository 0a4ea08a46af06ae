# proxy/: the daemons.  libdaemon.a is what moatd and moat-milter share
# (privilege separation, the config snapshot, TLS contexts); the rest is
# moatd: main, workers, the session, the backend link, the spool, the
# metrics.  The libraries it links are the other folders'.
noinst_LIBRARIES += libdaemon.a
libdaemon_a_SOURCES = proxy/privsep.c proxy/privsep.h \
	proxy/tls.c proxy/tls.h proxy/snapshot.c proxy/snapshot.h
libdaemon_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS) \
	$(OPENSSL_CFLAGS)
sbin_PROGRAMS += moatd
moatd_SOURCES = proxy/main.c proxy/daemon.h proxy/worker.c \
	proxy/session.c proxy/upstream.c proxy/upstream.h \
	proxy/msgstore.c proxy/msgstore.h
moatd_LDADD = libdaemon.a $(ENGINE_LIBS) $(LMDB_LIBS) $(MATH_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) $(CRYPT_LIBS) $(PTHREAD_LIBS)
# libspf2, libopendkim, libopendmarc: engine/eng_sauth.c's checks.
moatd_LDADD += $(SAUTH_LIBS)
moatd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS) \
	$(OPENSSL_CFLAGS)
# proxy/metrics.*: the counters and their exposition (pure, tested alone
# by test_metrics) and the metrics_listen HTTP endpoint (needs libevent).
moatd_SOURCES += proxy/metrics.c proxy/metrics.h proxy/metrics_http.c
# The leaves below the session (issue 13): AUTH glue, greylist replay.
moatd_SOURCES += proxy/sess_auth.c proxy/sess_auth.h \
	proxy/sess_replay.c proxy/sess_replay.h
