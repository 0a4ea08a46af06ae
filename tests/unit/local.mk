# Unit tests (cmocka), no sockets, no clock.  Each fragment adds programs to
# UNIT_TESTS; they link the pure libraries only.
UNIT_TESTS =
UNIT_LIBS = libproxy.a libcommon.a $(CMOCKA_LIBS) $(PTHREAD_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
include tests/unit/fsm.mk
include tests/unit/smtp.mk
include tests/unit/data.mk
include tests/unit/config.mk
include tests/unit/msg.mk
include tests/unit/engine.mk
include tests/unit/grey.mk
include tests/unit/auth.mk
include tests/unit/bayes.mk
include tests/unit/sauth.mk
include tests/unit/metrics.mk
if HAVE_CMOCKA
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
endif
# The bounded job pool (common/jobpool.c) shared by passwd.c and
# sauth_pool.c: bound, cancel, completion on the loop, shutdown.
UNIT_TESTS += test_jobpool
test_jobpool_SOURCES = tests/unit/test_jobpool.c
test_jobpool_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_CFLAGS)
test_jobpool_LDADD = libcommon.a $(LIBEVENT_LIBS) -levent_pthreads \
	$(CMOCKA_LIBS) $(PTHREAD_LIBS)
# The leaves below moatd's session: AUTH glue, greylist replay (issue 13).
UNIT_TESTS += test_sess_leaves
test_sess_leaves_SOURCES = tests/unit/test_sess_leaves.c \
	proxy/sess_auth.c proxy/sess_replay.c
test_sess_leaves_CFLAGS = $(TEST_CFLAGS)
test_sess_leaves_LDADD = $(UNIT_LIBS)
