# integration tests: ESMTP transparency (issue 12): CHUNKING/BDAT, DSN,
# extensions that follow the backend's EHLO.
INTEGRATION_TESTS += tests/integration/test_chunking.py \
	tests/integration/test_esmtp_ext.py
