# proxy/: libbayesdb.a, the Bayes token store over LMDB (proxy/bayes_db.h),
# linked by moatd and moatctl.
noinst_LIBRARIES += libbayesdb.a
libbayesdb_a_SOURCES = proxy/bayes_db.h proxy/bayes_db.c \
	proxy/bayes_redis.h proxy/bayes_redis.c
libbayesdb_a_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(HIREDIS_CFLAGS)
BAYES_LIBS = libbayesdb.a libscoring.a librules.a libcommon.a $(LMDB_LIBS) \
	$(HIREDIS_LIBS) $(MATH_LIBS)
