# make check-valgrind (issue 15): integration tests with moatd and
# moat-milter under valgrind (tests/valgrind/run.sh); not part of check.
# Needs root (Postfix), valgrind and miltertest; about five minutes.
# test_privsep.py covers the forked privsep child (user set), the
# milter ones moat-milter through miltertest and through Postfix.
VALGRIND_TESTS = tests/integration/test_session.py \
	tests/integration/test_milter.py \
	tests/integration/test_milter_postfix.py \
	tests/integration/test_greylist.py \
	tests/integration/test_auth.py \
	tests/integration/test_privsep.py \
	tests/integration/test_rules.py
EXTRA_DIST += tests/valgrind/run.sh tests/valgrind/moat.supp

.PHONY: check-valgrind
check-valgrind: moatd$(EXEEXT) moat-milter$(EXEEXT) moatctl$(EXEEXT)
	PYTHON3='$(PYTHON3)' $(SHELL) $(top_srcdir)/tests/valgrind/run.sh \
	    $(top_srcdir) $(top_builddir) $(VALGRIND_TESTS)

# run.sh writes its wrappers and logs in tests/valgrind/out/.
.PHONY: clean-valgrind
clean-local: clean-valgrind
clean-valgrind:
	rm -rf tests/valgrind/out
