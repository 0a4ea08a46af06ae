# unit tests: sender authentication (engine/sauth_ar.c, issue 16): result
# -> facts -> rules/auth.rules, Authentication-Results, DNS list syntax.
UNIT_TESTS += test_sauth
test_sauth_SOURCES = tests/unit/test_sauth.c
test_sauth_CFLAGS = $(TEST_CFLAGS)
test_sauth_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
test_sauth_LDADD = libproxy.a $(ENGINE_TEST_LIBS)
# The pool (engine/sauth_pool.c) against a resolver that never answers: a
# UDP socket on loopback; about 4 s.
UNIT_TESTS += test_sauth_pool
test_sauth_pool_SOURCES = tests/unit/test_sauth_pool.c
test_sauth_pool_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_sauth_pool_LDADD = libsauth.a libproxy.a libcommon.a $(SAUTH_LIBS) \
	$(LIBEVENT_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS)
