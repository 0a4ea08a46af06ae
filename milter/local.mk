# milter/: moat-milter, the libmilter front end over the engine (issue 15).
sbin_PROGRAMS += moat-milter
moat_milter_SOURCES = milter/milter.h milter/milter_main.c \
	milter/milter_bridge.c milter/milter_cb.c milter/milter_eng.c \
	proxy/privsep.c proxy/privsep.h proxy/policy.c proxy/policy.h
moat_milter_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS) \
	$(MILTER_CFLAGS)
moat_milter_LDADD = libstore.a libproxy.a libbayesdb.a librules.a \
	libscoring.a libcommon.a $(MILTER_LIBS) $(LMDB_LIBS) $(MATH_LIBS) \
	$(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(LIBEVENT_LIBS) \
	$(PTHREAD_LIBS)
