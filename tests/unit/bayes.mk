# unit tests: the Bayes tokenizer and combiner (test_bayes), the LMDB
# store (test_bayes_db)
UNIT_TESTS += test_bayes test_bayes_db
test_bayes_SOURCES = tests/unit/test_bayes.c
test_bayes_CFLAGS = $(TEST_CFLAGS)
test_bayes_LDADD = libscoring.a $(RULES_LIBS) $(MATH_LIBS) $(CMOCKA_LIBS)
test_bayes_db_SOURCES = tests/unit/test_bayes_db.c
test_bayes_db_CFLAGS = $(TEST_CFLAGS)
test_bayes_db_LDADD = $(BAYES_LIBS) $(PCRE2_LIBS) $(HS_LIBS) $(CMOCKA_LIBS)
