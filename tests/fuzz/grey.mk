# fuzz target: scoring/greylist.c (normalisation, names, key split)
FUZZ_TARGETS += fuzz_greylist
fuzz_greylist_SOURCES = tests/fuzz/fuzz_greylist.c
fuzz_greylist_CFLAGS = $(AM_CFLAGS)
fuzz_greylist_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_greylist_LDADD = libscoring.a
EXTRA_DIST += tests/fuzz/seeds/fuzz_greylist/srs0 \
	tests/fuzz/seeds/fuzz_greylist/srs1 \
	tests/fuzz/seeds/fuzz_greylist/batv \
	tests/fuzz/seeds/fuzz_greylist/verp \
	tests/fuzz/seeds/fuzz_greylist/name
