# fuzz: the Bayes tokenizer, seeded with the MIME fuzzer's messages
FUZZ_TARGETS += fuzz_bayes_tok
fuzz_bayes_tok_SOURCES = tests/fuzz/fuzz_bayes_tok.c
fuzz_bayes_tok_CFLAGS = $(AM_CFLAGS)
fuzz_bayes_tok_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_bayes_tok_LDADD = librules.a libcommon.a $(PCRE2_LIBS) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_bayes_tok/t1.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/t5.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/t8.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/u1.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/u3.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/v5.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/b1.eml
