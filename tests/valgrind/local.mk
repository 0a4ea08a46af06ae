# make check-valgrind (issue 15): integration tests with moatd and
# moat-milter under valgrind (tests/valgrind/run.sh); not part of check.
# Needs root (Postfix) and valgrind; about ten minutes.
VALGRIND_TESTS = tests/integration/test_session.py \
	tests/integration/test_milter.py \
	tests/integration/test_greylist.py \
	tests/integration/test_auth.py
EXTRA_DIST += tests/valgrind/run.sh tests/valgrind/moat.supp

.PHONY: check-valgrind
check-valgrind: moatd$(EXEEXT) moat-milter$(EXEEXT) moatctl$(EXEEXT)
	PYTHON3='$(PYTHON3)' $(SHELL) $(top_srcdir)/tests/valgrind/run.sh \
	    $(top_srcdir) $(top_builddir) $(VALGRIND_TESTS)
