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

# Rules and scoring through moatd.
INTEGRATION_TESTS += tests/integration/test_rules.py
# Greylisting through moatd.
INTEGRATION_TESTS += tests/integration/test_greylist.py
# TLS toward clients through moatd.
INTEGRATION_TESTS += tests/integration/test_starttls.py
# SMTP AUTH through moatd.
INTEGRATION_TESTS += tests/integration/test_auth.py
# STARTTLS toward the backend.
INTEGRATION_TESTS += tests/integration/test_backend_tls.py
# AUTH checked by the MTA (Postfix with a private Dovecot SASL).
INTEGRATION_TESTS += tests/integration/test_auth_backend.py
# moatctl scan and rules, offline (no Postfix).
INTEGRATION_TESTS += tests/integration/test_moatctl_scan.py

# moatctl greylist against the Redis a real moatd greylists through
# (tests/integration/test_moatctl_grey.py: redis-server, Postfix, moatd,
# and $(MOATCTL), exported by AM_TESTS_ENVIRONMENT above).  The file
# reaches the tarball through EXTRA_DIST += $(INTEGRATION_TESTS).
INTEGRATION_TESTS += tests/integration/test_moatctl_grey.py
# The Bayesian classifier: moatctl learn/bayes/scan --bayes-db, and moatd
# with bayes on (tests/integration/test_bayes.py).
INTEGRATION_TESTS += tests/integration/test_bayes.py
# The same with bayes_store redis against a private redis-server.
INTEGRATION_TESTS += tests/integration/test_bayes_redis.py
# moatd and moatctl scan give the same score (issue 13, score_rules).
INTEGRATION_TESTS += tests/integration/test_score_agree.py

# Integration test of the client's forward-confirmed reverse name against
# a real resolver: a private dnsmasq on loopback (Debian: dnsmasq-base),
# moatd with reverse_dns on and dns_resolver pointing at it, Postfix
# behind.  SKIP (77) when dnsmasq is not installed.  Distributed through
# INTEGRATION_TESTS.
INTEGRATION_TESTS += tests/integration/test_dns.py

# Integration tests of the greylist store: a real redis-server on a unix
# socket, driven by store_driver (tests/store_driver.c, built by check).
INTEGRATION_TESTS += tests/integration/test_store_redis.py
EXTRA_DIST += tests/integration/test_store_redis.py

# integration tests: TLS (issue 5).  tests/tls_driver is a tiny SMTP-ish
# server over proxy/tls.c (listed in its sources); test_tls.py drives it with openssl s_client
# and Python's ssl module.  Needs no root and no Postfix.
check_PROGRAMS += tls_driver
tls_driver_SOURCES = tests/tls_driver.c proxy/tls.c proxy/tls.h
tls_driver_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
tls_driver_LDADD = $(AUTH_LIBS)
INTEGRATION_TESTS += tests/integration/test_tls.py
INTEGRATION_TESTS += tests/integration/test_privsep.py

# integration tests: ESMTP transparency (issue 12): CHUNKING/BDAT, DSN,
# extensions that follow the backend's EHLO.
INTEGRATION_TESTS += tests/integration/test_chunking.py \
	tests/integration/test_esmtp_ext.py

# integration tests: what a postmaster runs beside moatd (issue 17): the
# fail2ban filter and moatctl report against real moatd log lines.
# test_deb.py builds, installs and purges the Debian package: it changes
# the system and takes minutes, so only contrib/quickstart.sh test runs it.
INTEGRATION_TESTS += tests/integration/test_fail2ban.py \
	tests/integration/test_report.py \
	tests/integration/test_check.py \
	tests/integration/test_demo.py \
	tests/integration/test_metrics.py
EXTRA_DIST += tests/integration/test_deb.py

# The systemd unit's hardening score (systemd-analyze --offline).
TESTS += tests/integration/test_unit.sh
EXTRA_DIST += tests/integration/test_unit.sh

# Sender authentication (issue 16): moatctl authcheck against a private
# dnsmasq (tests/integration/dnstest.py) with python3-dkim signatures.
INTEGRATION_TESTS += tests/integration/test_sender_auth.py
# ... and through moatd: the engine's steps (engine/eng_sauth.c).
INTEGRATION_TESTS += tests/integration/test_sauth_moatd.py
EXTRA_DIST += tests/integration/dnstest.py
