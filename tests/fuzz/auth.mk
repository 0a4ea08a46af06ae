# fuzz targets: SASL (issue 5).  Only sasl.o is pulled from libauth.a.
FUZZ_TARGETS += fuzz_sasl
fuzz_sasl_SOURCES = tests/fuzz/fuzz_sasl.c
fuzz_sasl_CFLAGS = $(AM_CFLAGS)
fuzz_sasl_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_sasl_LDADD = libauth.a $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_sasl/plain \
	tests/fuzz/seeds/fuzz_sasl/login \
	tests/fuzz/seeds/fuzz_sasl/cancel \
	tests/fuzz/seeds/fuzz_sasl/bad

# The STARTTLS transition: plaintext buffered before the wrap never reaches
# the application (RFC 3207 4.2, CVE-2011-0411).
FUZZ_TARGETS += fuzz_starttls
fuzz_starttls_SOURCES = tests/fuzz/fuzz_starttls.c
fuzz_starttls_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
fuzz_starttls_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_starttls_LDADD = libauth.a $(FUZZ_LIBS) $(OPENSSL_LIBS) $(LIBEVENT_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_starttls/rset \
	tests/fuzz/seeds/fuzz_starttls/clienthello-ish
