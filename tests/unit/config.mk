# unit tests: config, log, netaddr
UNIT_TESTS += test_config test_log test_netaddr
test_config_SOURCES = tests/unit/test_config.c
test_config_CFLAGS = $(TEST_CFLAGS)
test_config_LDADD = $(UNIT_LIBS)
test_log_SOURCES = tests/unit/test_log.c
test_log_CFLAGS = $(TEST_CFLAGS)
test_log_LDADD = $(UNIT_LIBS)
test_netaddr_SOURCES = tests/unit/test_netaddr.c
test_netaddr_CFLAGS = $(TEST_CFLAGS)
test_netaddr_LDADD = $(UNIT_LIBS)
