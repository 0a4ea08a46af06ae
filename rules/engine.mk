# rule language: loader, evaluator (rules/rule.h)
librules_a_SOURCES += rules/rule.h rules/rule_int.h rules/rule_load.c \
	rules/rule_eval.c rules/rule_relays.c \
	rules/rule_prefilter.c rules/rule_core.c rules/rule_hs.c \
	rules/rule_saeval.h rules/rule_saeval_int.h rules/rule_saeval.c \
	rules/rule_saeval_mime.c rules/rule_saeval_html.c \
	rules/rule_bigre.c
dist_pkgdata_DATA = rules/default.rules
EXTRA_DIST += doc/rules.md bench/rules-scan.sh

# The SpamAssassin agreement figure (doc/rules.md).  Not part of `make
# check`: it needs the corpus and Debian's spamassassin package.
#   make sa-agreement CORPUS=/work/shared/corpus
CORPUS ?= ../shared/corpus
sa-agreement: moatctl$(EXEEXT)
	./moatctl$(EXEEXT) agree --sa-stock $(CORPUS)
.PHONY: sa-agreement
