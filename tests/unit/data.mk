# unit tests: data
UNIT_TESTS += test_smtp_data test_proxy_proto
test_smtp_data_SOURCES = tests/unit/test_smtp_data.c
test_smtp_data_CFLAGS = $(TEST_CFLAGS)
test_smtp_data_LDADD = $(UNIT_LIBS)
test_proxy_proto_SOURCES = tests/unit/test_proxy_proto.c
test_proxy_proto_CFLAGS = $(TEST_CFLAGS)
test_proxy_proto_LDADD = $(UNIT_LIBS)
UNIT_TESTS += test_smtp_bdat
test_smtp_bdat_SOURCES = tests/unit/test_smtp_bdat.c
test_smtp_bdat_CFLAGS = $(TEST_CFLAGS)
test_smtp_bdat_LDADD = $(UNIT_LIBS)
