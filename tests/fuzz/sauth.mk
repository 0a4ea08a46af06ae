# fuzz target: Authentication-Results and DNS list syntax (issue 16).
FUZZ_TARGETS += fuzz_authres
fuzz_authres_SOURCES = tests/fuzz/fuzz_authres.c
fuzz_authres_CFLAGS = $(AM_CFLAGS)
fuzz_authres_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_authres_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_authres/ours \
	tests/fuzz/seeds/fuzz_authres/comments \
	tests/fuzz/seeds/fuzz_authres/sites \
	tests/fuzz/seeds/fuzz_authres/writer \
	tests/fuzz/seeds/fuzz_authres/uri \
	tests/fuzz/seeds/fuzz_authres/strip
