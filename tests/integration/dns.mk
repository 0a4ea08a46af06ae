# Integration test of the client's forward-confirmed reverse name against
# a real resolver: a private dnsmasq on loopback (Debian: dnsmasq-base),
# moatd with reverse_dns on and dns_resolver pointing at it, Postfix
# behind.  SKIP (77) when dnsmasq is not installed.  Distributed through
# INTEGRATION_TESTS (tests/integration/local.mk).
INTEGRATION_TESTS += tests/integration/test_dns.py
