# milter/: moat-milter, the libmilter front end over the engine (issue 15).
sbin_PROGRAMS += moat-milter
# The engine (libengine.a) as moatd links it, and the daemons' shared
# part (libdaemon.a: the root parent, the config snapshot).
moat_milter_SOURCES = milter/milter.h milter/milter_main.c \
	milter/milter_bridge.c milter/milter_cb.c milter/milter_eng.c \
	milter/milter_wire.c
moat_milter_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PCRE2_CFLAGS) \
	$(OPENSSL_CFLAGS) $(MILTER_CFLAGS)
moat_milter_LDADD = libdaemon.a $(ENGINE_LIBS) $(MILTER_LIBS) $(SAUTH_LIBS) \
	$(OPENSSL_LIBS) $(CRYPT_LIBS) $(LMDB_LIBS) $(MATH_LIBS) \
	$(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(LIBEVENT_LIBS) \
	$(PTHREAD_LIBS)

# Its tests: miltertest scripts (tests/milter/) run by the integration
# harness; test_milter.py needs no root, the Postfix ones do.
MILTER_TESTS = tests/integration/test_milter.py \
	tests/integration/test_milter_postfix.py \
	tests/integration/test_milter_tcp.py
TESTS += $(MILTER_TESTS)
EXTRA_DIST += $(MILTER_TESTS) tests/integration/mltest.py \
	tests/milter/send.lua tests/milter/milter.rules
AM_TESTS_ENVIRONMENT += MOAT_MILTER=$(abs_top_builddir)/moat-milter; \
	export MOAT_MILTER;

dist_man_MANS += doc/moat-milter.8
dist_doc_DATA += contrib/moat-milter.service
# A moat.conf for moat-milter alone (no listen, no backend).
dist_doc_DATA += contrib/moat-milter.conf

# Postfix alone vs Postfix + moat-milter vs Postfix + rspamd's milter
# (when rspamd is installed), smtp-source at 1 and 50 sessions, and the
# added latency per transaction (bench/README.md).  Needs root, postfix;
# 15 minutes.  make bench-milter BENCH_ARGS="--rounds 2 --sockets unix,tcp".
EXTRA_DIST += bench/milter.py
.PHONY: bench-milter
bench-milter: moat-milter$(EXEEXT)
	$(PYTHON3) $(top_srcdir)/bench/milter.py \
	    --milter $(abs_top_builddir)/moat-milter$(EXEEXT) $(BENCH_ARGS)
