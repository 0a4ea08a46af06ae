# integration tests: what a postmaster runs beside moatd (issue 17): the
# fail2ban filter and moatctl report against real moatd log lines.
INTEGRATION_TESTS += tests/integration/test_fail2ban.py \
	tests/integration/test_report.py
EXTRA_DIST += contrib/fail2ban/filter.d/moat.conf \
	contrib/fail2ban/jail.d/moat.local
