# unit tests: engine (rules/rule_*.c, scoring/score.c)
ENGINE_TEST_LIBS = libscoring.a $(RULES_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS)
UNIT_TESTS += test_rule_load test_rule_eval test_rule_hs test_score
test_rule_load_SOURCES = tests/unit/test_rule_load.c
test_rule_load_CFLAGS = $(TEST_CFLAGS)
test_rule_load_LDADD = $(ENGINE_TEST_LIBS)
test_rule_eval_SOURCES = tests/unit/test_rule_eval.c
test_rule_eval_CFLAGS = $(TEST_CFLAGS)
test_rule_eval_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
test_rule_eval_LDADD = $(ENGINE_TEST_LIBS)
test_rule_hs_SOURCES = tests/unit/test_rule_hs.c
test_rule_hs_CFLAGS = $(TEST_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
test_rule_hs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/rules
test_rule_hs_LDADD = $(ENGINE_TEST_LIBS)
test_score_SOURCES = tests/unit/test_score.c
test_score_CFLAGS = $(TEST_CFLAGS)
test_score_LDADD = $(ENGINE_TEST_LIBS)
EXTRA_DIST += tests/unit/data/engine/sample-spam.txt \
	tests/unit/data/engine/sample-nonspam.txt
# SpamAssassin's evals, natively (rules/rule_saeval*.c)
UNIT_TESTS += test_rule_saeval
test_rule_saeval_SOURCES = tests/unit/test_rule_saeval.c
test_rule_saeval_CFLAGS = $(TEST_CFLAGS)
test_rule_saeval_LDADD = $(ENGINE_TEST_LIBS)
