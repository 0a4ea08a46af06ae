# proxy/: moatd only: the daemon (main, workers, privilege separation),
# the session, the backend link, DNS, TLS, the spool, the metrics and the
# policy glue.  The libraries it links are the other folders'.
sbin_PROGRAMS += moatd
moatd_SOURCES = $(ENGINE_SOURCES) proxy/main.c proxy/daemon.h proxy/worker.c \
	proxy/privsep.c proxy/privsep.h \
	proxy/session.c proxy/upstream.c proxy/upstream.h \
	proxy/msgstore.c proxy/msgstore.h proxy/dns.c proxy/dns.h \
	proxy/policy.c proxy/policy.h proxy/bayes_live.c proxy/bayes_live.h \
	proxy/tls.c proxy/tls.h proxy/snapshot.c proxy/snapshot.h
moatd_LDADD = libstore.a libauth.a libconf.a libengine.a libsmtp.a \
	libscoring.a librules.a libcommon.a $(LMDB_LIBS) $(MATH_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(OPENSSL_LIBS) \
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
