# proxy/: libbayesdb.a, the Bayes token store over LMDB (proxy/bayes_db.h),
# linked by moatd and moatctl.
noinst_LIBRARIES += libbayesdb.a
libbayesdb_a_SOURCES = proxy/bayes_db.h proxy/bayes_db.c
libbayesdb_a_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS)
BAYES_LIBS = libbayesdb.a libscoring.a librules.a libcommon.a $(LMDB_LIBS) \
	$(MATH_LIBS)
