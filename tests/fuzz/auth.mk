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
