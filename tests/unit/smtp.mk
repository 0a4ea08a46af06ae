# unit tests: smtp
UNIT_TESTS += test_smtp_line test_smtp_cmd test_smtp_reply
test_smtp_line_SOURCES = tests/unit/test_smtp_line.c
test_smtp_line_CFLAGS = $(TEST_CFLAGS)
test_smtp_line_LDADD = $(UNIT_LIBS)
test_smtp_cmd_SOURCES = tests/unit/test_smtp_cmd.c
test_smtp_cmd_CFLAGS = $(TEST_CFLAGS)
test_smtp_cmd_LDADD = $(UNIT_LIBS)
test_smtp_reply_SOURCES = tests/unit/test_smtp_reply.c
test_smtp_reply_CFLAGS = $(TEST_CFLAGS)
test_smtp_reply_LDADD = $(UNIT_LIBS)
UNIT_TESTS += test_smtp_esmtp
test_smtp_esmtp_SOURCES = tests/unit/test_smtp_esmtp.c
test_smtp_esmtp_CFLAGS = $(TEST_CFLAGS)
test_smtp_esmtp_LDADD = $(UNIT_LIBS)
