# unit tests: the session state machine table
UNIT_TESTS += test_smtp_fsm
test_smtp_fsm_SOURCES = tests/unit/test_smtp_fsm.c
test_smtp_fsm_CFLAGS = $(TEST_CFLAGS)
test_smtp_fsm_LDADD = $(UNIT_LIBS)
