# Sender authentication (issue 16): moatctl authcheck against a private
# dnsmasq (tests/integration/dnstest.py) with python3-dkim signatures.
INTEGRATION_TESTS += tests/integration/test_sender_auth.py
EXTRA_DIST += tests/integration/dnstest.py
