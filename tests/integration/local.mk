# Integration tests: real Postfix, real moatd, on loopback.  See
# tests/integration/README.md.  Each test file starts its own private
# Postfix and moatd on free ports, so the files run in parallel
# (make -j2 check).  They SKIP (77) unless run as root with postfix
# installed and moatd built.
INTEGRATION_TESTS = \
	tests/integration/test_postfix.py \
	tests/integration/test_delivery.py \
	tests/integration/test_backend.py \
	tests/integration/test_smuggling.py \
	tests/integration/test_relay.py \
	tests/integration/test_limits.py \
	tests/integration/test_session.py \
	tests/integration/test_control.py \
	tests/integration/test_identity.py \
	tests/integration/test_mta_defects.py

TESTS += $(INTEGRATION_TESTS)
TEST_EXTENSIONS = .py
PY_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/integration/run.sh
AM_TESTS_ENVIRONMENT = MOATD=$(abs_top_builddir)/moatd; export MOATD; \
	MOATCTL=$(abs_top_builddir)/moatctl; export MOATCTL; \
	PYTHON3='$(PYTHON3)'; export PYTHON3;
EXTRA_DIST += $(INTEGRATION_TESTS) \
	tests/integration/moattest.py \
	tests/integration/run.sh \
	tests/integration/README.md

# Only the integration tests (moatd is built first by check).
.PHONY: integration
integration:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(INTEGRATION_TESTS)"
