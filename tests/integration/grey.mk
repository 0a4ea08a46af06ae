# Integration tests of the greylist store: a real redis-server on a unix
# socket, driven by store_driver (tests/store_driver.c, built by check).
INTEGRATION_TESTS += tests/integration/test_store_redis.py
EXTRA_DIST += tests/integration/test_store_redis.py
