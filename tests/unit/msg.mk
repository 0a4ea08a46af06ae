# unit tests: msg
UNIT_TESTS += test_msg
test_msg_SOURCES = tests/unit/test_msg.c
test_msg_CFLAGS = $(TEST_CFLAGS)
test_msg_LDADD = $(RULES_LIBS) $(CMOCKA_LIBS)
