# unit tests: the session state machine table
UNIT_TESTS += test_smtp_fsm
test_smtp_fsm_SOURCES = tests/unit/test_smtp_fsm.c
test_smtp_fsm_CFLAGS = $(TEST_CFLAGS)
test_smtp_fsm_LDADD = $(UNIT_LIBS)

# unit tests: moatd's policy glue (header edits, thresholds)
UNIT_TESTS += test_policy
test_policy_SOURCES = tests/unit/test_policy.c proxy/policy.c
test_policy_CFLAGS = $(TEST_CFLAGS) $(PCRE2_CFLAGS)
test_policy_LDADD = libstore.a libproxy.a librules.a libscoring.a \
	libcommon.a $(PCRE2_LIBS) $(HS_LIBS) $(HIREDIS_LIBS) $(LIBEVENT_LIBS) \
	$(CMOCKA_LIBS) $(PTHREAD_LIBS)
