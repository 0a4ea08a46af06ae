# unit test: proxy/metrics.c, the exposition and the lock-free table.
UNIT_TESTS += test_metrics
test_metrics_SOURCES = tests/unit/test_metrics.c
test_metrics_CFLAGS = $(TEST_CFLAGS)
test_metrics_LDADD = libproxy.a libscoring.a libcommon.a $(CMOCKA_LIBS) \
	$(MATH_LIBS) $(PTHREAD_LIBS)
