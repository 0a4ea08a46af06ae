# integration tests: TLS (issue 5).  tests/tls_driver is a tiny SMTP-ish
# server over proxy/tls.c; test_tls.py drives it with openssl s_client
# and Python's ssl module.  Needs no root and no Postfix.
check_PROGRAMS += tls_driver
tls_driver_SOURCES = tests/tls_driver.c
tls_driver_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
tls_driver_LDADD = $(AUTH_LIBS)
INTEGRATION_TESTS += tests/integration/test_tls.py
INTEGRATION_TESTS += tests/integration/test_privsep.py
