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
