# moatctl greylist against the Redis a real moatd greylists through
# (tests/integration/test_moatctl_grey.py: redis-server, Postfix, moatd,
# and $(MOATCTL), exported by AM_TESTS_ENVIRONMENT in local.mk).  The file
# reaches the tarball through EXTRA_DIST += $(INTEGRATION_TESTS).
INTEGRATION_TESTS += tests/integration/test_moatctl_grey.py
# The Bayesian classifier: moatctl learn/bayes/scan --bayes-db, and moatd
# with bayes on (tests/integration/test_bayes.py).
INTEGRATION_TESTS += tests/integration/test_bayes.py
# The same with bayes_store redis against a private redis-server.
INTEGRATION_TESTS += tests/integration/test_bayes_redis.py
# moatd and moatctl scan give the same score (issue 13, score_rules).
INTEGRATION_TESTS += tests/integration/test_score_agree.py
