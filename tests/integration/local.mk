# Integration tests: real Postfix, real moatd, on loopback.  See
# tests/integration/README.md.
