# fuzz targets: data
FUZZ_TARGETS += fuzz_smtp_data fuzz_proxy_proto
fuzz_smtp_data_SOURCES = tests/fuzz/fuzz_smtp_data.c
fuzz_smtp_data_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_data_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_data_LDADD = $(FUZZ_LIBS)
fuzz_proxy_proto_SOURCES = tests/fuzz/fuzz_proxy_proto.c
fuzz_proxy_proto_CFLAGS = $(AM_CFLAGS)
fuzz_proxy_proto_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_proxy_proto_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_data tests/fuzz/seeds/fuzz_proxy_proto
# fuzz target: BDAT chunk reader (issue 12)
FUZZ_TARGETS += fuzz_smtp_bdat
fuzz_smtp_bdat_SOURCES = tests/fuzz/fuzz_smtp_bdat.c
fuzz_smtp_bdat_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_bdat_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_bdat_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_bdat
