# Bayes tokenizer (rules/bayes_tok.h): a message's tokens, pure
librules_a_SOURCES += rules/bayes_tok.h rules/bayes_tok.c
