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
