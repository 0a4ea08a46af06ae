# unit tests: greylisting (scoring/greylist.c) and the memory store
# (proxy/store_mem.c); the store driver for tests/integration/test_store_redis.py.
STORE_LIBS = libstore.a libscoring.a libproxy.a libcommon.a \
	$(LIBEVENT_LIBS) $(HIREDIS_LIBS) $(PTHREAD_LIBS)
UNIT_TESTS += test_greylist test_store_mem
test_greylist_SOURCES = tests/unit/test_greylist.c
test_greylist_CFLAGS = $(TEST_CFLAGS)
test_greylist_LDADD = libscoring.a $(CMOCKA_LIBS)
test_store_mem_SOURCES = tests/unit/test_store_mem.c
test_store_mem_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_store_mem_LDADD = $(STORE_LIBS) $(CMOCKA_LIBS)
check_PROGRAMS += store_driver
store_driver_SOURCES = tests/store_driver.c
store_driver_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(HIREDIS_CFLAGS)
store_driver_LDADD = $(STORE_LIBS)
UNIT_TESTS += test_store_cfg
test_store_cfg_SOURCES = tests/unit/test_store_cfg.c
test_store_cfg_CFLAGS = $(TEST_CFLAGS)
test_store_cfg_LDADD = $(STORE_LIBS) $(CMOCKA_LIBS)
