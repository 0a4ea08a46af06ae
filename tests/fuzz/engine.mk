# fuzz: engine (the rule loader)
FUZZ_TARGETS += fuzz_rule_load
fuzz_rule_load_SOURCES = tests/fuzz/fuzz_rule_load.c
fuzz_rule_load_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
fuzz_rule_load_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_rule_load_LDADD = $(RULES_LIBS) $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_rule_load/native \
	tests/fuzz/seeds/fuzz_rule_load/sa \
	tests/fuzz/seeds/fuzz_rule_load/replace \
	tests/fuzz/seeds/fuzz_rule_load/meta \
	tests/fuzz/seeds/fuzz_rule_load/replace-blowup \
	tests/fuzz/seeds/fuzz_rule_load/core \
	tests/fuzz/seeds/fuzz_rule_load/lang-empty \
	tests/fuzz/seeds/fuzz_rule_load/starts \
	tests/fuzz/seeds/fuzz_rule_load/evals
