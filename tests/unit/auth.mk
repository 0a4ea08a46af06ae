# unit tests: TLS/AUTH (issue 5)
UNIT_TESTS += test_sasl test_passwd test_sender_map test_tls
test_sasl_SOURCES = tests/unit/test_sasl.c
test_sasl_CFLAGS = $(TEST_CFLAGS)
test_sasl_LDADD = libauth.a $(UNIT_LIBS)
test_passwd_SOURCES = tests/unit/test_passwd.c
test_passwd_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_passwd_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
test_sender_map_SOURCES = tests/unit/test_sender_map.c
test_sender_map_CFLAGS = $(TEST_CFLAGS)
test_sender_map_LDADD = libauth.a $(UNIT_LIBS)
test_tls_SOURCES = tests/unit/test_tls.c
test_tls_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
test_tls_LDADD = $(AUTH_LIBS) $(CMOCKA_LIBS)
# privilege separation's file bundle (issue 17)
UNIT_TESTS += test_filesrc
test_filesrc_SOURCES = tests/unit/test_filesrc.c
test_filesrc_CFLAGS = $(TEST_CFLAGS)
test_filesrc_LDADD = $(UNIT_LIBS)
