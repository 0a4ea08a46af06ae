# unit tests: sender authentication (engine/sauth_ar.c, issue 16): result
# -> facts -> rules/auth.rules, Authentication-Results, DNS list syntax.
UNIT_TESTS += test_sauth
test_sauth_SOURCES = tests/unit/test_sauth.c
test_sauth_CFLAGS = $(TEST_CFLAGS)
test_sauth_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
test_sauth_LDADD = libproxy.a $(ENGINE_TEST_LIBS)
