# fuzz: msg
FUZZ_TARGETS += fuzz_mime
fuzz_mime_SOURCES = tests/fuzz/fuzz_mime.c
fuzz_mime_CFLAGS = $(AM_CFLAGS)
fuzz_mime_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_mime_LDADD = librules.a libcommon.a $(PCRE2_LIBS) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_mime/t1.eml tests/fuzz/seeds/fuzz_mime/t5.eml \
	tests/fuzz/seeds/fuzz_mime/t8.eml tests/fuzz/seeds/fuzz_mime/u1.eml \
	tests/fuzz/seeds/fuzz_mime/u3.eml tests/fuzz/seeds/fuzz_mime/v5.eml
