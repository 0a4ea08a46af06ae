# Rules and scoring through moatd.
INTEGRATION_TESTS += tests/integration/test_rules.py
